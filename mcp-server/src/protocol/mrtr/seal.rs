//! [`StateSealer`]: HMAC-SHA256 sealing of `requestState`, bound to a request and expiring.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use mcp_rs_core::ErrorObject;
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use subtle::ConstantTimeEq;

/// The shortest accepted HMAC key, in bytes.
pub const MIN_KEY_LEN: usize = 32;
/// How long a sealed `requestState` stays valid unless configured otherwise.
pub const DEFAULT_STATE_TTL: Duration = Duration::from_secs(600);
/// The longest `requestState` accepted from a client, in bytes.
pub const MAX_SEALED_LEN: usize = 64 * 1024;

const TOKEN_PREFIX: &str = "mrs1.";
const MAC_DOMAIN: &[u8] = b"mcp-rs/requestState/v1\0";

type HmacSha256 = Hmac<Sha256>;

/// The key was shorter than [`MIN_KEY_LEN`] bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyTooShort {
    len: usize,
}

impl fmt::Display for KeyTooShort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "requestState HMAC key must be at least {MIN_KEY_LEN} bytes (got {})",
            self.len
        )
    }
}

impl std::error::Error for KeyTooShort {}

/// Which request a sealed state belongs to: a state minted for one tool is refused by another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StateBinding<'a> {
    /// The JSON-RPC method (`tools/call`, `prompts/get`, `resources/read`).
    pub method: &'a str,
    /// The tool or prompt name, or the resource URI.
    pub target: &'a str,
    /// The authenticated principal, when the request carries one
    /// ([`OAuthContext::principal_key`](crate::identity::OAuthContext::principal_key)).
    pub principal: Option<&'a str>,
}

/// Why a `requestState` was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum StateError {
    /// Not a state this server minted (bad format, bad encoding, too long).
    Malformed,
    /// The signature does not verify: the state was altered or signed with another key.
    Tampered,
    /// The state is past its expiry.
    Expired,
    /// The state was minted for another request (method, name or principal differ).
    WrongRequest,
}

impl fmt::Display for StateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            StateError::Malformed => "requestState is malformed",
            StateError::Tampered => "requestState failed its integrity check",
            StateError::Expired => "requestState has expired",
            StateError::WrongRequest => "requestState belongs to a different request",
        })
    }
}

impl std::error::Error for StateError {}

impl StateError {
    /// The JSON-RPC error sent to the client: `-32602` (Invalid params).
    #[must_use]
    pub fn to_error_object(self) -> ErrorObject {
        ErrorObject::invalid_params(format!("Invalid requestState: {self}"))
    }
}

impl From<StateError> for ErrorObject {
    fn from(e: StateError) -> Self {
        e.to_error_object()
    }
}

#[derive(Serialize, Deserialize)]
struct Sealed<'a> {
    /// The handler's state, verbatim.
    s: std::borrow::Cow<'a, str>,
    /// Expiry, seconds since the Unix epoch.
    x: u64,
    /// Method.
    m: std::borrow::Cow<'a, str>,
    /// Target (tool/prompt name or URI).
    t: std::borrow::Cow<'a, str>,
    /// Principal, when bound to one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    p: Option<std::borrow::Cow<'a, str>>,
}

/// Seals and opens `requestState` values with HMAC-SHA256.
///
/// Token: `mrs1.` + base64url(JSON payload) + `.` + base64url(HMAC-SHA256(key, domain ‖ payload)).
/// The tag is compared in constant time.
#[derive(Clone)]
pub struct StateSealer {
    key: std::sync::Arc<[u8]>,
    ttl: Duration,
}

impl fmt::Debug for StateSealer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StateSealer")
            .field("key", &"<redacted>")
            .field("ttl", &self.ttl)
            .finish()
    }
}

impl StateSealer {
    /// A sealer with this key and the default lifetime ([`DEFAULT_STATE_TTL`]).
    ///
    /// Use the same key on every instance behind a load balancer, so that a retry may land on
    /// any of them.
    ///
    /// # Errors
    /// [`KeyTooShort`] when `key` has fewer than [`MIN_KEY_LEN`] bytes.
    pub fn new(key: impl AsRef<[u8]>) -> Result<Self, KeyTooShort> {
        let key = key.as_ref();
        if key.len() < MIN_KEY_LEN {
            return Err(KeyTooShort { len: key.len() });
        }
        Ok(StateSealer {
            key: key.into(),
            ttl: DEFAULT_STATE_TTL,
        })
    }

    /// A sealer with a fresh random 32-byte key: states do not survive a restart and are not
    /// accepted by other instances.
    #[must_use]
    pub fn random() -> Self {
        let key: [u8; 32] = rand::random();
        StateSealer {
            key: key.as_slice().into(),
            ttl: DEFAULT_STATE_TTL,
        }
    }

    /// Sets how long a sealed state stays valid.
    #[must_use]
    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }

    /// The configured lifetime.
    #[must_use]
    pub fn state_ttl(&self) -> Duration {
        self.ttl
    }

    /// Seals `state` for the request described by `binding`.
    #[must_use]
    pub fn seal(&self, state: &str, binding: &StateBinding<'_>) -> String {
        self.seal_at(state, binding, now_secs())
    }

    /// Verifies a sealed state and returns the handler's original state.
    ///
    /// # Errors
    /// A [`StateError`]; map it to the wire with [`StateError::to_error_object`] (`-32602`).
    pub fn open(&self, sealed: &str, binding: &StateBinding<'_>) -> Result<String, StateError> {
        self.open_at(sealed, binding, now_secs())
    }

    fn mac(&self, payload_b64: &str) -> HmacSha256 {
        // HMAC accepts keys of any length; `new_from_slice` cannot fail.
        let mut mac = <HmacSha256 as Mac>::new_from_slice(&self.key)
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        mac.update(MAC_DOMAIN);
        mac.update(payload_b64.as_bytes());
        mac
    }

    fn seal_at(&self, state: &str, binding: &StateBinding<'_>, now: u64) -> String {
        let payload = Sealed {
            s: state.into(),
            x: now.saturating_add(self.ttl.as_secs()),
            m: binding.method.into(),
            t: binding.target.into(),
            p: binding.principal.map(Into::into),
        };
        // Serialising a struct of strings and an integer cannot fail.
        let json = serde_json::to_vec(&payload).unwrap_or_default();
        let payload_b64 = URL_SAFE_NO_PAD.encode(json);
        let tag = self.mac(&payload_b64).finalize().into_bytes();
        format!(
            "{TOKEN_PREFIX}{payload_b64}.{}",
            URL_SAFE_NO_PAD.encode(tag)
        )
    }

    fn open_at(
        &self,
        sealed: &str,
        binding: &StateBinding<'_>,
        now: u64,
    ) -> Result<String, StateError> {
        if sealed.len() > MAX_SEALED_LEN {
            return Err(StateError::Malformed);
        }
        let body = sealed
            .strip_prefix(TOKEN_PREFIX)
            .ok_or(StateError::Malformed)?;
        let (payload_b64, tag_b64) = body.split_once('.').ok_or(StateError::Malformed)?;
        let tag = URL_SAFE_NO_PAD
            .decode(tag_b64)
            .map_err(|_| StateError::Tampered)?;
        let expected = self.mac(payload_b64).finalize().into_bytes();
        if tag.len() != expected.len() || !bool::from(expected[..].ct_eq(&tag)) {
            return Err(StateError::Tampered);
        }
        let json = URL_SAFE_NO_PAD
            .decode(payload_b64)
            .map_err(|_| StateError::Malformed)?;
        let payload: Sealed<'_> =
            serde_json::from_slice(&json).map_err(|_| StateError::Malformed)?;
        if payload.m != binding.method
            || payload.t != binding.target
            || payload.p.as_deref() != binding.principal
        {
            return Err(StateError::WrongRequest);
        }
        if now > payload.x {
            return Err(StateError::Expired);
        }
        Ok(payload.s.into_owned())
    }
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    const B: StateBinding<'static> = StateBinding {
        method: "tools/call",
        target: "t",
        principal: None,
    };

    fn sealer() -> StateSealer {
        StateSealer::new([7u8; 32]).unwrap()
    }

    #[test]
    fn key_must_be_32_bytes() {
        assert_eq!(
            StateSealer::new([0u8; 31]).unwrap_err().to_string(),
            "requestState HMAC key must be at least 32 bytes (got 31)"
        );
        assert!(StateSealer::new([0u8; 32]).is_ok());
        assert!(!format!("{:?}", sealer()).contains("7, 7"));
    }

    #[test]
    fn roundtrip_and_binding() {
        let s = sealer();
        let sealed = s.seal(r#"{"step":1}"#, &B);
        assert!(sealed.starts_with("mrs1."));
        assert_eq!(s.open(&sealed, &B).unwrap(), r#"{"step":1}"#);
        let other_tool = StateBinding { target: "u", ..B };
        assert_eq!(s.open(&sealed, &other_tool), Err(StateError::WrongRequest));
        let other_method = StateBinding {
            method: "prompts/get",
            ..B
        };
        assert_eq!(
            s.open(&sealed, &other_method),
            Err(StateError::WrongRequest)
        );
        let someone = StateBinding {
            principal: Some("alice"),
            ..B
        };
        assert_eq!(s.open(&sealed, &someone), Err(StateError::WrongRequest));
        let bound = s.seal("x", &someone);
        assert_eq!(s.open(&bound, &someone).unwrap(), "x");
        assert_eq!(s.open(&bound, &B), Err(StateError::WrongRequest));
    }

    #[test]
    fn tampering_is_detected() {
        let s = sealer();
        let sealed = s.seal("state", &B);
        assert_eq!(
            s.open(&format!("{sealed}-TAMPERED"), &B),
            Err(StateError::Tampered)
        );
        // Flip one character of the payload.
        let mut bytes = sealed.clone().into_bytes();
        bytes[6] = if bytes[6] == b'A' { b'B' } else { b'A' };
        assert_eq!(
            s.open(std::str::from_utf8(&bytes).unwrap(), &B),
            Err(StateError::Tampered)
        );
        // Another key.
        let other = StateSealer::new([8u8; 32]).unwrap();
        assert_eq!(other.open(&sealed, &B), Err(StateError::Tampered));
        assert_eq!(s.open("state", &B), Err(StateError::Malformed));
        assert_eq!(s.open("mrs1.nodot", &B), Err(StateError::Malformed));
        assert_eq!(
            s.open(&"mrs1.".repeat(20_000), &B),
            Err(StateError::Malformed)
        );
        let e = StateError::Tampered.to_error_object();
        assert_eq!(
            (e.code, e.message.as_str()),
            (
                -32602,
                "Invalid requestState: requestState failed its integrity check"
            )
        );
    }

    #[test]
    fn expiry() {
        let s = sealer().ttl(Duration::from_secs(60));
        let sealed = s.seal_at("v", &B, 1_000);
        assert_eq!(s.open_at(&sealed, &B, 1_060).unwrap(), "v");
        assert_eq!(s.open_at(&sealed, &B, 1_061), Err(StateError::Expired));
    }
}
