//! RFC 7591 dynamic client registration (`POST /register`).
//!
//! Accepted: `redirect_uris` (1–10, each ≤ 1,024 bytes: `https`, `http` on a loopback host —
//! `127.0.0.1`, `[::1]`, `localhost` — or a private-use scheme with a dot such as
//! `com.example.app:/cb`; no fragment, no user info), `grant_types` ⊆ {`authorization_code`,
//! `refresh_token`} (default both), `response_types` ⊆ {`code`}, `token_endpoint_auth_method`
//! `none`, `client_secret_basic` (the RFC 7591 default) or `client_secret_post`,
//! `client_name` (≤ 200 characters), `scope` (≤ 1,000 bytes, each scope supported), and
//! `client_uri` / `logo_uri` / `policy_uri` / `tos_uri` (https only, ≤ 1,024 bytes). Every
//! other field is dropped. A confidential client's secret is returned once and stored as a
//! SHA-256 hash.

use super::common::{hash_hex, random_token};
use super::config::State;
use super::store::StoredClient;
use crate::auth::util::{json_response, now_secs};
use crate::body::Body;
use crate::transport::http::challenge::json_error;
use http::{Response, StatusCode};
use serde_json::{Map, Value, json};

use super::common::{MAX_URI, check_redirect_uri};
const MAX_REDIRECTS: usize = 10;
const MAX_NAME_CHARS: usize = 200;
const MAX_SCOPE: usize = 1000;
const URI_FIELDS: [&str; 4] = ["client_uri", "logo_uri", "policy_uri", "tos_uri"];
const AUTH_METHODS: [&str; 3] = ["none", "client_secret_basic", "client_secret_post"];

/// A refused registration: (`error`, description).
type Refusal = (&'static str, String);

fn meta(msg: impl Into<String>) -> Refusal {
    ("invalid_client_metadata", msg.into())
}

fn string_list(v: Option<&Value>, field: &str, max: usize) -> Result<Option<Vec<String>>, Refusal> {
    let Some(v) = v else { return Ok(None) };
    let arr = v
        .as_array()
        .filter(|a| a.len() <= max)
        .ok_or_else(|| meta(format!("{field} must be an array of at most {max} strings")))?;
    arr.iter()
        .map(|s| {
            s.as_str()
                .filter(|s| s.len() <= MAX_URI)
                .map(str::to_owned)
                .ok_or_else(|| meta(format!("{field} must be an array of short strings")))
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

fn opt_str<'a>(
    m: &'a Map<String, Value>,
    field: &str,
    max: usize,
) -> Result<Option<&'a str>, Refusal> {
    match m.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.len() <= max => Ok(Some(s)),
        Some(_) => Err(meta(format!(
            "{field} must be a string of at most {max} bytes"
        ))),
    }
}

fn redirect_uris(m: &Map<String, Value>) -> Result<Vec<String>, Refusal> {
    let uris = string_list(m.get("redirect_uris"), "redirect_uris", MAX_REDIRECTS)
        .map_err(|(_, d)| ("invalid_redirect_uri", d))?
        .unwrap_or_default();
    if uris.is_empty() {
        return Err((
            "invalid_redirect_uri",
            "at least one redirect URI is required".into(),
        ));
    }
    for u in &uris {
        check_redirect_uri(u).map_err(|d| ("invalid_redirect_uri", d))?;
    }
    Ok(uris)
}

fn grants(m: &Map<String, Value>) -> Result<(), Refusal> {
    let grant_types = string_list(m.get("grant_types"), "grant_types", 4)?.unwrap_or_default();
    if grant_types
        .iter()
        .any(|g| g != "authorization_code" && g != "refresh_token")
    {
        return Err(meta(
            "only the authorization_code and refresh_token grants are supported",
        ));
    }
    let response_types =
        string_list(m.get("response_types"), "response_types", 4)?.unwrap_or_default();
    if response_types.iter().any(|r| r != "code") {
        return Err(meta("only the code response type is supported"));
    }
    Ok(())
}

fn uris(m: &Map<String, Value>) -> Result<Vec<(String, String)>, Refusal> {
    let mut out = Vec::new();
    for field in URI_FIELDS {
        if let Some(u) = opt_str(m, field, MAX_URI)? {
            let ok =
                url::Url::parse(u).is_ok_and(|url| url.scheme() == "https" && url.host().is_some());
            if !ok {
                return Err(meta(format!("{field} must be an https URL")));
            }
            out.push((field.to_owned(), u.to_owned()));
        }
    }
    Ok(out)
}

fn scope(st: &State, m: &Map<String, Value>) -> Result<Option<String>, Refusal> {
    let Some(scope) = opt_str(m, "scope", MAX_SCOPE)? else {
        return Ok(None);
    };
    let supported = &st.cfg.scopes_supported;
    if !supported.is_empty() {
        if let Some(bad) = scope
            .split(' ')
            .find(|s| !s.is_empty() && !supported.iter().any(|x| x == s))
        {
            let bad: String = bad.chars().take(60).collect();
            return Err(meta(format!("scope {bad} is not supported")));
        }
    }
    Ok(Some(scope.to_owned()))
}

/// Validates a registration request into a client (without id and secret yet).
fn validate(st: &State, body: &[u8]) -> Result<StoredClient, Refusal> {
    let v: Value =
        serde_json::from_slice(body).map_err(|_| meta("the body is not a JSON object"))?;
    let m = v
        .as_object()
        .ok_or_else(|| meta("the body is not a JSON object"))?;
    let redirect_uris = redirect_uris(m)?;
    grants(m)?;
    let auth_method =
        opt_str(m, "token_endpoint_auth_method", 40)?.unwrap_or("client_secret_basic");
    if !AUTH_METHODS.contains(&auth_method) {
        return Err(meta(
            "token_endpoint_auth_method must be none, client_secret_basic or client_secret_post",
        ));
    }
    let client_name = match opt_str(m, "client_name", MAX_NAME_CHARS * 4)? {
        Some(n) if n.chars().count() > MAX_NAME_CHARS => {
            return Err(meta(format!(
                "client_name is longer than {MAX_NAME_CHARS} characters"
            )));
        }
        n => n.map(str::to_owned),
    };
    Ok(StoredClient {
        client_id: String::new(),
        secret_hash: None,
        auth_method: auth_method.to_owned(),
        redirect_uris,
        client_name,
        scope: scope(st, m)?,
        uris: uris(m)?,
        issued_at: now_secs(),
        last_used: None,
    })
}

fn response_body(c: &StoredClient, secret: Option<&str>) -> Value {
    let mut v = json!({
        "client_id": c.client_id,
        "client_id_issued_at": c.issued_at,
        "redirect_uris": c.redirect_uris,
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "token_endpoint_auth_method": c.auth_method,
    });
    if let Some(s) = secret {
        v["client_secret"] = json!(s);
        v["client_secret_expires_at"] = json!(0);
    }
    if let Some(n) = &c.client_name {
        v["client_name"] = json!(n);
    }
    if let Some(s) = &c.scope {
        v["scope"] = json!(s);
    }
    for (k, u) in &c.uris {
        v[k.as_str()] = json!(u);
    }
    v
}

/// `POST /register` with the body already read (size-capped).
pub(crate) async fn register(st: &State, body: &[u8], owner: String) -> Response<Body> {
    let mut client = match validate(st, body) {
        Ok(c) => c,
        Err((code, description)) => {
            return json_error(StatusCode::BAD_REQUEST, code, &description);
        }
    };
    client.client_id = random_token();
    let secret = (client.auth_method != "none").then(random_token);
    client.secret_hash = secret.as_deref().map(hash_hex);
    if st
        .cfg
        .store
        .put_client(client.clone(), owner)
        .await
        .is_err()
    {
        return json_error(
            StatusCode::SERVICE_UNAVAILABLE,
            "temporarily_unavailable",
            "Registration is unavailable; try again later",
        );
    }
    tracing::info!(
        target: "mcp_rs_server::auth::audit",
        client = %client.client_id,
        auth_method = %client.auth_method,
        "client registered"
    );
    json_response(
        StatusCode::CREATED,
        &response_body(&client, secret.as_deref()),
        "no-store",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirect_uri_rules() {
        for ok in [
            "https://app.example.com/cb",
            "http://localhost:6274/oauth/callback",
            "http://127.0.0.1:33418/",
            "http://[::1]:8080/cb",
            "com.example.app:/cb",
        ] {
            assert_eq!(check_redirect_uri(ok), Ok(()), "{ok}");
        }
        for (bad, why) in [
            (
                "http://evil.example.com/cb",
                "http redirect URIs must use a loopback host",
            ),
            ("javascript:alert(1)", "unsupported redirect URI scheme"),
            (
                "https://a.example/cb#frag",
                "redirect URI must not contain a fragment",
            ),
            (
                "https://u:p@a.example/cb",
                "redirect URI must not contain user information",
            ),
            ("/relative", "redirect URI is not an absolute URI"),
        ] {
            assert_eq!(check_redirect_uri(bad), Err(why.to_owned()), "{bad}");
        }
    }
}
