//! Helpers shared by the provider presets (`workos`, `auth0`, `okta`, `google`).

use super::ConfigError;

/// Parses a provider URL: `https`, or `http` on a loopback host (local development and the
/// test issuer). A bare host name is read as `https://<host>`.
pub(crate) fn provider_url(option: &'static str, value: &str) -> Result<url::Url, ConfigError> {
    let invalid = |message: String| ConfigError::InvalidUrl { option, message };
    let value = value.trim();
    let with_scheme = if value.contains("://") {
        value.to_owned()
    } else {
        format!("https://{value}")
    };
    let url = url::Url::parse(&with_scheme).map_err(|e| invalid(e.to_string()))?;
    let loopback = match url.host() {
        Some(url::Host::Domain(d)) => d == "localhost",
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => return Err(invalid("must have a host".into())),
    };
    match url.scheme() {
        "https" => {}
        "http" if loopback => {}
        _ => return Err(invalid("scheme must be https".into())),
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(invalid("must not have a query or fragment".into()));
    }
    Ok(url)
}

/// `scheme://host[:port]` plus the path without a trailing `/`.
pub(crate) fn without_trailing_slash(url: &url::Url) -> String {
    let origin = url.origin().ascii_serialization();
    format!("{origin}{}", url.path().trim_end_matches('/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_provider_urls() {
        let u = provider_url("domain", "acme.authkit.app").unwrap();
        assert_eq!(without_trailing_slash(&u), "https://acme.authkit.app");
        let u = provider_url("issuer", "https://acme.okta.com/oauth2/default/").unwrap();
        assert_eq!(
            without_trailing_slash(&u),
            "https://acme.okta.com/oauth2/default"
        );
        let u = provider_url("issuer", "http://127.0.0.1:8080").unwrap();
        assert_eq!(without_trailing_slash(&u), "http://127.0.0.1:8080");
        assert_eq!(
            provider_url("issuer", "http://acme.okta.com").unwrap_err(),
            ConfigError::InvalidUrl {
                option: "issuer",
                message: "scheme must be https".into()
            }
        );
        assert!(matches!(
            provider_url("issuer", "https://acme.okta.com/?x=1"),
            Err(ConfigError::InvalidUrl {
                option: "issuer",
                ..
            })
        ));
    }
}
