//! The constructor of [`ChallengeInfo`] that needs the URL rules of RFC 9728: the type and
//! the `WWW-Authenticate` builder live with the HTTP transport, which reads the challenge
//! from request extensions without this feature.

use super::ConfigError;
use super::metadata::metadata_url_for;
use crate::transport::http::challenge::ChallengeInfo;

impl ChallengeInfo {
    /// The challenge for the protected resource `resource` (its public URL, e.g.
    /// `https://api.example.com/mcp`): the metadata URL is derived per RFC 9728 §3.1.
    ///
    /// # Errors
    /// [`ConfigError::InvalidUrl`] when `resource` is not an absolute http(s) URL without a
    /// fragment.
    pub fn for_resource(resource: &str) -> Result<Self, ConfigError> {
        Ok(Self::new(metadata_url_for(resource)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::header::CONTENT_TYPE;

    const PRM: &str = "https://api.example.com/.well-known/oauth-protected-resource/mcp";

    #[test]
    fn challenge_info_from_resource() {
        let info = ChallengeInfo::for_resource("https://api.example.com/mcp").unwrap();
        assert_eq!(info.resource_metadata_url(), PRM);
        let res = info.insufficient_scope(&["mcp:write".into()]);
        assert_eq!(res.status(), 403);
        assert_eq!(res.headers()[CONTENT_TYPE], "application/json");
    }
}
