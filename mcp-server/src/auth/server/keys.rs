//! ES256 (P-256) signing keys of the built-in authorization server.
//!
//! - [`SigningKeys::generate`] makes a fresh key in memory; [`SigningKeys::load_or_generate`]
//!   keeps the key set in a private JWK Set file (created with mode `0600`; a file that other
//!   users can read or write is refused with [`KeyError::Permissions`]), so tokens stay valid
//!   across restarts.
//! - Each key's `kid` is its RFC 7638 JWK thumbprint.
//! - [`rotate`](SigningKeys::rotate) makes a new current key; the previous keys (at most
//!   [`MAX_PREVIOUS_KEYS`]) stay in the JWKS and keep validating until
//!   [`retire_previous`](SigningKeys::retire_previous) removes them.
//! - [`mint`](SigningKeys::mint) signs [`AccessTokenClaims`] as an RFC 9068 JWT
//!   (`typ: at+jwt`, `alg: ES256`, `kid`).
//! - [`jwks`](SigningKeys::jwks) is the public key set (never `d`), served with
//!   [`JWKS_CACHE_CONTROL`]; [`validator`](SigningKeys::validator) is a [`JwtValidator`] over the
//!   same keys in memory (it sees rotations at once, no HTTP fetch).
//!
//! ```
//! use mcp_rs_server::auth::server::keys::{AccessTokenClaims, SigningKeys};
//! use mcp_rs_server::auth::{AuthorizationResult, TokenValidator};
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let keys = SigningKeys::generate()?;
//! let claims = AccessTokenClaims::new("https://as.example.com", "alice", "https://api.example.com/mcp")
//!     .scope("mcp:read")
//!     .client_id("client-1")
//!     .lifetime(std::time::Duration::from_secs(300));
//! let token = keys.mint(&claims)?;
//! let validator = keys.validator("https://as.example.com", "https://api.example.com/mcp")?;
//! let AuthorizationResult::Allow(ctx) = validator.validate(&token).await else { panic!() };
//! assert_eq!(ctx.subject, "alice");
//! # Ok::<_, Box<dyn std::error::Error>>(())
//! # }).unwrap();
//! ```

use crate::auth::ConfigError;
use crate::auth::jwt::{JwtValidator, ScopeClaim, SharedKeys, StaticKey};
use crate::body::Body;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::header::{CACHE_CONTROL, CONTENT_TYPE};
use http::{HeaderValue, Response};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header};
use p256::elliptic_curve::sec1::ToEncodedPoint;
use p256::pkcs8::EncodePrivateKey;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::Duration;

#[cfg(test)]
mod tests;

/// `Cache-Control` of the JWKS response: resource servers may cache it for five minutes, so a
/// rotated-in key is picked up within that time (and at once by a `kid` miss).
pub const JWKS_CACHE_CONTROL: &str = "public, max-age=300";

/// Previous keys kept after [`SigningKeys::rotate`]; older ones are dropped.
pub const MAX_PREVIOUS_KEYS: usize = 4;

/// Largest key file accepted (a JWK Set of [`MAX_PREVIOUS_KEYS`] + 1 keys is ~1.5 KiB).
const MAX_KEY_FILE: u64 = 64 * 1024;

/// The claims of an access token minted by the built-in authorization server (RFC 9068).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessTokenClaims {
    /// Issuer: the authorization server's public base URL.
    pub iss: String,
    /// Subject: the authenticated user.
    pub sub: String,
    /// Audience: the MCP resource URL.
    pub aud: String,
    /// Granted scopes, space-separated.
    pub scope: String,
    /// The OAuth client the token was issued to.
    pub client_id: String,
    /// Expiry, seconds since the Unix epoch.
    pub exp: u64,
    /// Issued at, seconds since the Unix epoch.
    pub iat: u64,
    /// A unique token id.
    pub jti: String,
}

impl AccessTokenClaims {
    /// Claims for `sub` at `aud` from `iss`, issued now, valid five minutes, with a random
    /// `jti`, no scope and an empty `client_id`.
    #[must_use]
    pub fn new(iss: impl Into<String>, sub: impl Into<String>, aud: impl Into<String>) -> Self {
        let iat = crate::auth::util::now_secs();
        AccessTokenClaims {
            iss: iss.into(),
            sub: sub.into(),
            aud: aud.into(),
            scope: String::new(),
            client_id: String::new(),
            exp: iat + 300,
            iat,
            jti: uuid::Uuid::new_v4().to_string(),
        }
    }

    /// Sets `scope` (space-separated).
    #[must_use]
    pub fn scope(mut self, scope: impl Into<String>) -> Self {
        self.scope = scope.into();
        self
    }

    /// Sets `client_id`.
    #[must_use]
    pub fn client_id(mut self, client_id: impl Into<String>) -> Self {
        self.client_id = client_id.into();
        self
    }

    /// Sets `exp` to `iat + lifetime`.
    #[must_use]
    pub fn lifetime(mut self, lifetime: Duration) -> Self {
        self.exp = self.iat.saturating_add(lifetime.as_secs());
        self
    }
}

/// Why a key operation failed. The message never contains key material.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// The key file could not be read, created or replaced.
    #[error("key file {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The key file can be read or written by other users.
    #[error(
        "key file {path} has mode {mode:o}: other users can read or write it; \
         restrict it with `chmod 600` (group read is allowed, world access and group write are not)"
    )]
    Permissions {
        /// The file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// The key file or JWK is not a usable private P-256 key set.
    #[error("invalid signing key{}: {reason}", path.as_ref().map(|p| format!(" in {}", p.display())).unwrap_or_default())]
    Invalid {
        /// The file, when the key came from one.
        path: Option<PathBuf>,
        /// What is wrong.
        reason: &'static str,
    },
    /// Signing or encoding failed.
    #[error("signing failed")]
    Signing,
}

fn invalid(reason: &'static str) -> KeyError {
    KeyError::Invalid { path: None, reason }
}

/// One key pair with its derived forms.
struct KeyPair {
    kid: String,
    secret: p256::SecretKey,
    encoding: EncodingKey,
    decoding: DecodingKey,
    x: String,
    y: String,
}

impl KeyPair {
    fn from_secret(secret: p256::SecretKey) -> Result<Self, KeyError> {
        let point = secret.public_key().to_encoded_point(false);
        let (Some(x), Some(y)) = (point.x(), point.y()) else {
            return Err(invalid("the public key is the point at infinity"));
        };
        let (x, y) = (URL_SAFE_NO_PAD.encode(x), URL_SAFE_NO_PAD.encode(y));
        let der = secret.to_pkcs8_der().map_err(|_| KeyError::Signing)?;
        let decoding = DecodingKey::from_ec_components(&x, &y).map_err(|_| KeyError::Signing)?;
        Ok(KeyPair {
            kid: thumbprint(&x, &y),
            encoding: EncodingKey::from_ec_der(der.as_bytes()),
            decoding,
            secret,
            x,
            y,
        })
    }

    fn generate() -> Result<Self, KeyError> {
        Self::from_secret(p256::SecretKey::random(
            &mut p256::elliptic_curve::rand_core::OsRng,
        ))
    }

    /// From a private JWK; `x`/`y`, when present, must match `d`.
    fn from_jwk(jwk: &Value) -> Result<Self, KeyError> {
        let field = |name: &str| jwk.get(name).and_then(Value::as_str);
        if field("kty") != Some("EC") || field("crv") != Some("P-256") {
            return Err(invalid(
                "only EC P-256 keys (kty EC, crv P-256) are supported",
            ));
        }
        let d = field("d")
            .and_then(|d| URL_SAFE_NO_PAD.decode(d).ok())
            .ok_or(invalid("the private key `d` is missing or not base64url"))?;
        if d.len() != 32 {
            return Err(invalid("the private key `d` must be 32 bytes"));
        }
        let secret = p256::SecretKey::from_slice(&d)
            .map_err(|_| invalid("the private key `d` is not a valid P-256 scalar"))?;
        let pair = Self::from_secret(secret)?;
        let matches = |name: &str, mine: &str| field(name).is_none_or(|v| v == mine);
        if !matches("x", &pair.x) || !matches("y", &pair.y) {
            return Err(invalid("`x`/`y` do not belong to the private key `d`"));
        }
        Ok(pair)
    }

    fn public_jwk(&self) -> Value {
        json!({
            "kty": "EC", "crv": "P-256", "x": self.x, "y": self.y,
            "kid": self.kid, "use": "sig", "alg": "ES256",
        })
    }

    fn private_jwk(&self) -> Value {
        let mut jwk = self.public_jwk();
        jwk["d"] = json!(URL_SAFE_NO_PAD.encode(self.secret.to_bytes()));
        jwk
    }
}

/// RFC 7638 thumbprint of a P-256 public key: SHA-256 over the required members in
/// lexicographic order, base64url.
fn thumbprint(x: &str, y: &str) -> String {
    let canonical = format!(r#"{{"crv":"P-256","kty":"EC","x":"{x}","y":"{y}"}}"#);
    URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()))
}

struct Ring {
    /// Current key first, then previous keys, newest first.
    keys: Vec<Arc<KeyPair>>,
    path: Option<PathBuf>,
}

/// The signing key set. Cheap to clone; clones share the keys, so a rotation is seen by every
/// clone and by every [`validator`](Self::validator) made from it.
///
/// See the [module docs](self).
#[derive(Clone)]
pub struct SigningKeys {
    ring: Arc<RwLock<Ring>>,
    shared: SharedKeys,
}

impl fmt::Debug for SigningKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKeys")
            .field("kids", &self.kids())
            .finish_non_exhaustive()
    }
}

impl SigningKeys {
    fn from_ring(keys: Vec<Arc<KeyPair>>, path: Option<PathBuf>) -> Self {
        let s = SigningKeys {
            ring: Arc::new(RwLock::new(Ring { keys, path })),
            shared: Arc::new(RwLock::new(Vec::new())),
        };
        s.publish();
        s
    }

    /// A fresh key, kept in memory only (tokens die with the process).
    ///
    /// # Errors
    /// [`KeyError::Signing`] if the key cannot be encoded (does not happen with `p256`).
    pub fn generate() -> Result<Self, KeyError> {
        Ok(Self::from_ring(vec![Arc::new(KeyPair::generate()?)], None))
    }

    /// Keys from a JWK Set (`{"keys": [...]}`, current key first) or a single JWK, with the
    /// private parts (`d`): e.g. from a secret store. Kept in memory; rotations are not
    /// persisted.
    ///
    /// # Errors
    /// [`KeyError::Invalid`] when the JSON is not a private P-256 JWK (Set).
    pub fn from_jwk_json(json: &str) -> Result<Self, KeyError> {
        Ok(Self::from_ring(parse_jwk_set(json)?, None))
    }

    /// Loads the key set from `path`, or generates a key and creates the file (mode `0600`,
    /// parent directory must exist). Rotations are written back to the file (atomically:
    /// temporary file, then rename).
    ///
    /// # Errors
    /// [`KeyError::Permissions`] when the file can be read by everyone or written by others;
    /// [`KeyError::Invalid`] when its content is not a private P-256 JWK Set;
    /// [`KeyError::Io`] when it cannot be read or created.
    pub fn load_or_generate(path: impl AsRef<Path>) -> Result<Self, KeyError> {
        let path = path.as_ref().to_path_buf();
        match file::read_private(&path) {
            Ok(text) => Self::from_file_text(&text, path),
            Err(KeyError::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
                let keys = vec![Arc::new(KeyPair::generate()?)];
                match file::create_new_atomic(&path, &jwk_set_text(&keys)) {
                    Ok(()) => Ok(Self::from_ring(keys, Some(path))),
                    // Another process created it first: use its key.
                    Err(KeyError::Io { source, .. })
                        if source.kind() == std::io::ErrorKind::AlreadyExists =>
                    {
                        Self::load_existing(path)
                    }
                    Err(e) => Err(e),
                }
            }
            Err(e) => Err(e),
        }
    }

    fn load_existing(path: PathBuf) -> Result<Self, KeyError> {
        let text = file::read_private(&path)?;
        Self::from_file_text(&text, path)
    }

    fn from_file_text(text: &str, path: PathBuf) -> Result<Self, KeyError> {
        let keys = parse_jwk_set(text).map_err(|e| match e {
            KeyError::Invalid { reason, .. } => KeyError::Invalid {
                path: Some(path.clone()),
                reason,
            },
            other => other,
        })?;
        Ok(Self::from_ring(keys, Some(path)))
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Ring> {
        self.ring
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Copies the public keys into the validators' shared list.
    fn publish(&self) {
        let keys: Vec<StaticKey> = self
            .read()
            .keys
            .iter()
            .map(|k| (Some(k.kid.clone()), k.decoding.clone(), Algorithm::ES256))
            .collect();
        if let Ok(mut shared) = self.shared.write() {
            *shared = keys;
        }
    }

    /// The `kid`s, current first.
    #[must_use]
    pub fn kids(&self) -> Vec<String> {
        self.read().keys.iter().map(|k| k.kid.clone()).collect()
    }

    /// The `kid` of the current key.
    #[must_use]
    pub fn current_kid(&self) -> String {
        self.read()
            .keys
            .first()
            .map(|k| k.kid.clone())
            .unwrap_or_default()
    }

    /// Signs `claims` with the current key: `alg: ES256`, `typ: at+jwt`, `kid`.
    ///
    /// # Errors
    /// [`KeyError::Signing`] if signing fails.
    pub fn mint(&self, claims: &AccessTokenClaims) -> Result<String, KeyError> {
        let key = self.read().keys.first().cloned().ok_or(KeyError::Signing)?;
        let mut header = Header::new(Algorithm::ES256);
        header.typ = Some("at+jwt".to_owned());
        header.kid = Some(key.kid.clone());
        jsonwebtoken::encode(&header, claims, &key.encoding).map_err(|_| KeyError::Signing)
    }

    /// The public JWK Set (current and previous keys; never a private part).
    #[must_use]
    pub fn jwks(&self) -> Value {
        let keys: Vec<Value> = self.read().keys.iter().map(|k| k.public_jwk()).collect();
        json!({ "keys": keys })
    }

    /// [`jwks`](Self::jwks) as a `200` JSON response with `Cache-Control:`
    /// [`JWKS_CACHE_CONTROL`].
    #[must_use]
    pub fn jwks_response(&self) -> Response<Body> {
        let mut res = Response::new(Body::json(&self.jwks()));
        res.headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        res.headers_mut()
            .insert(CACHE_CONTROL, HeaderValue::from_static(JWKS_CACHE_CONTROL));
        res
    }

    /// Makes a new current key; the old current key becomes the newest previous key (at most
    /// [`MAX_PREVIOUS_KEYS`] are kept). Written to the key file when there is one.
    ///
    /// # Errors
    /// [`KeyError::Io`] when the key file cannot be replaced (the key set is then unchanged).
    pub fn rotate(&self) -> Result<(), KeyError> {
        let fresh = Arc::new(KeyPair::generate()?);
        self.update(|keys| {
            keys.insert(0, fresh);
            keys.truncate(MAX_PREVIOUS_KEYS + 1);
        })
    }

    /// Removes every previous key: tokens they signed stop validating at once.
    ///
    /// # Errors
    /// [`KeyError::Io`] when the key file cannot be replaced (the key set is then unchanged).
    pub fn retire_previous(&self) -> Result<(), KeyError> {
        self.update(|keys| keys.truncate(1))
    }

    fn update(&self, change: impl FnOnce(&mut Vec<Arc<KeyPair>>)) -> Result<(), KeyError> {
        {
            let mut ring = self
                .ring
                .write()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let mut keys = ring.keys.clone();
            change(&mut keys);
            if let Some(path) = &ring.path {
                file::replace_private(path, &jwk_set_text(&keys))?;
            }
            ring.keys = keys;
        }
        self.publish();
        Ok(())
    }

    /// A [`JwtValidator`] for tokens minted by these keys: ES256 only, `typ: at+jwt` required,
    /// `iss` = `issuer`, `aud` = `audience`, scopes from `scope`. It reads the keys in memory
    /// (rotations and retirements apply at once) and keeps no verified-token cache, so a
    /// retired key stops validating immediately.
    ///
    /// # Errors
    /// [`ConfigError`] for an empty issuer or audience.
    pub fn validator(&self, issuer: &str, audience: &str) -> Result<JwtValidator, ConfigError> {
        if issuer.is_empty() {
            return Err(ConfigError::Missing("issuer"));
        }
        if audience.is_empty() {
            return Err(ConfigError::Missing("audience"));
        }
        JwtValidator::builder()
            .shared_keys(self.shared.clone())
            .issuer(issuer)
            .audience(audience)
            .algorithms([Algorithm::ES256])
            .require_at_jwt_typ(true)
            .scope_claims([ScopeClaim::Scope])
            .cache_capacity(0)
            .build()
    }
}

fn parse_jwk_set(text: &str) -> Result<Vec<Arc<KeyPair>>, KeyError> {
    let v: Value = serde_json::from_str(text).map_err(|_| invalid("not JSON"))?;
    let jwks: Vec<&Value> = match v.get("keys") {
        Some(Value::Array(keys)) => keys.iter().collect(),
        Some(_) => return Err(invalid("`keys` is not an array")),
        None => vec![&v],
    };
    if jwks.is_empty() {
        return Err(invalid("the key set is empty"));
    }
    jwks.into_iter()
        .take(MAX_PREVIOUS_KEYS + 1)
        .map(|j| KeyPair::from_jwk(j).map(Arc::new))
        .collect()
}

fn jwk_set_text(keys: &[Arc<KeyPair>]) -> String {
    let keys: Vec<Value> = keys.iter().map(|k| k.private_jwk()).collect();
    json!({ "keys": keys }).to_string()
}

/// Private key files: created `0600`, refused when others can read or write them.
mod file {
    use super::{KeyError, MAX_KEY_FILE};
    use std::io::{Read, Write};
    use std::path::{Path, PathBuf};

    fn io(path: &Path) -> impl FnOnce(std::io::Error) -> KeyError + '_ {
        move |source| KeyError::Io {
            path: path.to_path_buf(),
            source,
        }
    }

    #[cfg(unix)]
    fn check_mode(path: &Path, meta: &std::fs::Metadata) -> Result<(), KeyError> {
        use std::os::unix::fs::PermissionsExt;
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o026 != 0 {
            return Err(KeyError::Permissions {
                path: path.to_path_buf(),
                mode,
            });
        }
        Ok(())
    }

    #[cfg(not(unix))]
    fn check_mode(_: &Path, _: &std::fs::Metadata) -> Result<(), KeyError> {
        Ok(())
    }

    pub(super) fn read_private(path: &Path) -> Result<String, KeyError> {
        let file = std::fs::File::open(path).map_err(io(path))?;
        let meta = file.metadata().map_err(io(path))?;
        check_mode(path, &meta)?;
        if !meta.is_file() || meta.len() > MAX_KEY_FILE {
            return Err(KeyError::Invalid {
                path: Some(path.to_path_buf()),
                reason: "not a regular file of at most 64 KiB",
            });
        }
        let mut text = String::new();
        file.take(MAX_KEY_FILE)
            .read_to_string(&mut text)
            .map_err(io(path))?;
        Ok(text)
    }

    fn open_new(path: &Path) -> std::io::Result<std::fs::File> {
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        options.open(path)
    }

    pub(super) fn create_private(path: &Path, text: &str) -> Result<(), KeyError> {
        let mut f = open_new(path).map_err(io(path))?;
        f.write_all(text.as_bytes()).map_err(io(path))?;
        f.sync_all().map_err(io(path))
    }

    fn temp_path(path: &Path) -> PathBuf {
        let mut tmp = PathBuf::from(path);
        tmp.as_mut_os_string()
            .push(format!(".{}.tmp", uuid::Uuid::new_v4().simple()));
        tmp
    }

    /// Creates `path` with `text`, complete or not at all: written to a temporary file, then
    /// hard-linked into place (which fails with `AlreadyExists` instead of replacing).
    pub(super) fn create_new_atomic(path: &Path, text: &str) -> Result<(), KeyError> {
        let tmp = temp_path(path);
        create_private(&tmp, text)?;
        let linked = std::fs::hard_link(&tmp, path).map_err(io(path));
        let _ = std::fs::remove_file(&tmp);
        linked
    }

    pub(super) fn replace_private(path: &Path, text: &str) -> Result<(), KeyError> {
        let tmp = temp_path(path);
        let written =
            create_private(&tmp, text).and_then(|()| std::fs::rename(&tmp, path).map_err(io(path)));
        if written.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        written
    }
}
