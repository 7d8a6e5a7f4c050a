//! The HTML pages of the authorization server: the error page for `/authorize` problems that
//! must not redirect (unknown client, unregistered redirect URI). Minimal inline CSS, no
//! external assets, strict security headers, every dynamic string HTML-escaped.

use crate::body::Body;
use http::header::{CACHE_CONTROL, CONTENT_TYPE, HeaderName, X_FRAME_OPTIONS};
use http::{HeaderValue, Response, StatusCode};

/// `Content-Security-Policy` of every page: nothing external, inline style only, forms post
/// to this origin only, no framing.
pub(crate) const PAGE_CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; \
     form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:34rem;margin:3rem auto;\
     padding:0 1rem;color:#222}h1{font-size:1.3rem}code{background:#f2f2f2;padding:0 .2rem}\
     button{font-size:1rem;padding:.4rem 1.2rem;margin-right:.6rem}";

/// Escapes `s` for HTML text and double-quoted attribute values.
pub(crate) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

/// A complete HTML page with the security headers; `body_html` must already be escaped.
pub(crate) fn html_page(status: StatusCode, title: &str, body_html: &str) -> Response<Body> {
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width\"><title>{}</title>\
         <style>{STYLE}</style></head><body>{body_html}</body></html>",
        escape(title)
    );
    let mut res = Response::new(Body::from(html));
    *res.status_mut() = status;
    let h = res.headers_mut();
    h.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        HeaderName::from_static("content-security-policy"),
        HeaderValue::from_static(PAGE_CSP),
    );
    h.insert(
        HeaderName::from_static("referrer-policy"),
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(
        http::header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    res
}

/// The `400` page for an authorization request that cannot be answered with a redirect.
/// `error` is an RFC 6749 error code, `description` plain text (escaped here).
pub(crate) fn error_page(error: &str, description: &str) -> Response<Body> {
    let body = format!(
        "<h1>Authorization request refused</h1><p>{}</p><p>Error: <code>{}</code></p>\
         <p>Nothing was sent to the application that started this request.</p>",
        escape(description),
        escape(error)
    );
    html_page(StatusCode::BAD_REQUEST, "Authorization error", &body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_quotes() {
        assert_eq!(
            escape(r#"<script>"x"&'y'</script>"#),
            "&lt;script&gt;&quot;x&quot;&amp;&#39;y&#39;&lt;/script&gt;"
        );
        assert_eq!(escape("a\u{0}b"), "a\u{fffd}b");
    }

    #[test]
    fn error_page_headers() {
        let res = error_page("invalid_request", "Unknown client <b>");
        assert_eq!(res.status(), StatusCode::BAD_REQUEST);
        assert_eq!(res.headers()["x-frame-options"], "DENY");
        assert_eq!(res.headers()["cache-control"], "no-store");
        assert_eq!(res.headers()["content-security-policy"], PAGE_CSP);
    }
}
