//! Options that weaken token validation. Each one is a documented trade-off that a deployment
//! must choose by name; none is a default, and no preset turns one on. Building a validator
//! with one logs a warning (target `mcp_rs_server::auth`).

use super::google::GoogleConfig;
use super::jwt::JwtValidatorBuilder;

/// Accepts JWTs without an `iss` claim (Laravel Passport issues them by default). A token
/// that carries `iss` must still match a configured issuer; signature, audience and expiry are
/// checked as always.
///
/// Without the issuer check, any token signed by the configured keys for the configured
/// audience passes: use it only when the keys belong to this one authorization server (as a
/// Passport installation's `oauth-public.key` does), and prefer adding an `iss` claim there.
///
/// ```
/// use mcp_rs_server::auth::{insecure, passport::PassportConfig};
/// let validator = insecure::accept_missing_issuer(
///     PassportConfig::new(["9c4f-client-id"])
///         .jwks_url("https://app.example.com/oauth/jwks")
///         .builder()?,
/// )
/// .build()?;
/// # drop(validator);
/// # Ok::<_, mcp_rs_server::auth::ConfigError>(())
/// ```
pub fn accept_missing_issuer(builder: JwtValidatorBuilder) -> JwtValidatorBuilder {
    builder.accept_missing_issuer()
}

/// Accepts Google identity tokens of **any** Google account (for this resource's audience).
/// Anyone can mint such a token (a service account in their own project), so use it only
/// with an access policy that admits callers by subject or `email`, or for a public server.
/// Prefer [`GoogleConfig::hosted_domains`] or [`GoogleConfig::allowed_emails`]. Building the
/// validator logs a warning.
///
/// ```
/// use mcp_rs_server::auth::{google::GoogleConfig, insecure};
/// let validator =
///     insecure::accept_any_google_account(GoogleConfig::new("https://mcp.example.com/mcp"))
///         .validator()?;
/// # drop(validator);
/// # Ok::<_, mcp_rs_server::auth::ConfigError>(())
/// ```
pub fn accept_any_google_account(config: GoogleConfig) -> GoogleConfig {
    config.any_account()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::passport::PassportConfig;
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
        type Writer = Captured;
        fn make_writer(&'a self) -> Captured {
            self.clone()
        }
    }

    /// What `f` logs.
    fn logs(f: impl FnOnce()) -> String {
        let out = Captured::default();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(out.clone())
            .with_ansi(false)
            .finish();
        tracing::subscriber::with_default(subscriber, f);
        String::from_utf8(out.0.lock().unwrap().clone()).unwrap()
    }

    #[test]
    fn each_insecure_option_logs_a_warning_when_the_validator_is_built() {
        let passport = PassportConfig::new(["client"]).jwks_url("https://app.example.com/jwks");
        let log = logs(|| {
            accept_missing_issuer(passport.builder().unwrap())
                .build()
                .unwrap();
        });
        assert!(
            log.contains("WARN mcp_rs_server::auth: JWT validator: tokens WITHOUT an iss claim are accepted (insecure::accept_missing_issuer)"),
            "{log}"
        );
        let google = GoogleConfig::new("https://mcp.example.com/mcp");
        let log = logs(|| {
            accept_any_google_account(google.clone())
                .validator()
                .unwrap();
        });
        assert!(
            log.contains("WARN mcp_rs_server::auth: Google preset: tokens of ANY Google account are accepted (insecure::accept_any_google_account)"),
            "{log}"
        );
        // Without them: no warning.
        let log = logs(|| {
            passport
                .clone()
                .issuer("https://app.example.com")
                .validator()
                .unwrap();
            google
                .allowed_emails(["a@example.com"])
                .validator()
                .unwrap();
        });
        assert!(!log.contains("WARN"), "{log}");
    }
}
