//! Signing keys: minting, JWKS, validation over HTTP and in memory, rotation, key files.

use super::*;
use crate::auth::{AuthorizationResult, TokenValidator};

const ISS: &str = "https://as.example.com";
const AUD: &str = "https://api.example.com/mcp";

/// A P-256 key with `x`/`y` and RFC 7638 thumbprint computed independently (Python
/// `cryptography` + `hashlib`).
const D: &str = "jpsQnnGQmL-YBIffH1136cLV2kSTf6ly3W_x4dXDQnI";
const X: &str = "MptU7_lyPVRg-8Zf3IZOC72kgvQXcUPdwALlnO_W3aE";
const Y: &str = "YX6XkZaQ2bomAsuI63XTNz1nZvMCsiKmjYknFOFlJIM";
const THUMBPRINT: &str = "he80mmUcfhStDft1jZNlq46kwPBC8NdTK4HTOCEQDjg";

fn claims(sub: &str) -> AccessTokenClaims {
    AccessTokenClaims::new(ISS, sub, AUD)
        .scope("mcp:read mcp:write")
        .client_id("client-1")
}

fn decode_part(token: &str, i: usize) -> Value {
    let part = token.split('.').nth(i).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

async fn allowed(v: &JwtValidator, token: &str) -> Option<crate::identity::OAuthContext> {
    match v.validate(token).await {
        AuthorizationResult::Allow(ctx) => Some(ctx),
        _ => None,
    }
}

/// The 401 description of a refused token.
async fn refused(v: &JwtValidator, token: &str) -> String {
    match v.validate(token).await {
        AuthorizationResult::Unauthorized { description } => description,
        other => panic!("expected 401, got {other:?}"),
    }
}

/// Serves `keys.jwks_response()` at `http://127.0.0.1:<port>/jwks.json`.
async fn serve_jwks(keys: SigningKeys) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/jwks.json", listener.local_addr().unwrap());
    let app = axum::Router::new().route(
        "/jwks.json",
        axum::routing::get(move || {
            let keys = keys.clone();
            async move { keys.jwks_response() }
        }),
    );
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

#[test]
fn known_key_thumbprint_and_public_jwks() {
    let jwk = json!({"kty": "EC", "crv": "P-256", "d": D, "x": X, "y": Y}).to_string();
    let keys = SigningKeys::from_jwk_json(&jwk).unwrap();
    assert_eq!(keys.current_kid(), THUMBPRINT);
    assert_eq!(
        keys.jwks(),
        json!({"keys": [{"kty": "EC", "crv": "P-256", "x": X, "y": Y, "kid": THUMBPRINT,
                         "use": "sig", "alg": "ES256"}]})
    );
    // `x` of another key: refused; RSA: refused; missing `d`: refused.
    let wrong = json!({"kty": "EC", "crv": "P-256", "d": D, "x": Y, "y": Y}).to_string();
    let err = SigningKeys::from_jwk_json(&wrong).unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid signing key: `x`/`y` do not belong to the private key `d`"
    );
    assert!(!err.to_string().contains(D));
    let rsa = json!({"kty": "RSA", "n": "AQAB", "e": "AQAB", "d": "AQAB"}).to_string();
    assert!(matches!(
        SigningKeys::from_jwk_json(&rsa),
        Err(KeyError::Invalid { .. })
    ));
    let public = json!({"kty": "EC", "crv": "P-256", "x": X, "y": Y}).to_string();
    assert_eq!(
        SigningKeys::from_jwk_json(&public).unwrap_err().to_string(),
        "invalid signing key: the private key `d` is missing or not base64url"
    );
    assert!(
        !format!("{keys:?}").contains(D),
        "Debug never shows key material"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn minted_token_validates_against_the_served_jwks() {
    let keys = SigningKeys::generate().unwrap();
    let token = keys.mint(&claims("alice")).unwrap();
    let header = decode_part(&token, 0);
    assert_eq!(
        header,
        json!({"typ": "at+jwt", "alg": "ES256", "kid": keys.current_kid()})
    );
    let payload = decode_part(&token, 1);
    assert_eq!(payload["iss"], ISS);
    assert_eq!(payload["aud"], AUD);
    assert_eq!(payload["client_id"], "client-1");
    assert_eq!(
        payload["exp"].as_u64().unwrap() - payload["iat"].as_u64().unwrap(),
        300
    );

    let res = keys.jwks_response();
    assert_eq!(res.headers()["cache-control"], "public, max-age=300");
    assert_eq!(res.headers()["content-type"], "application/json");
    assert!(!keys.jwks().to_string().contains("\"d\""));

    let url = serve_jwks(keys.clone()).await;
    let over_http = JwtValidator::builder()
        .jwks_url(url)
        .issuer(ISS)
        .audience(AUD)
        .algorithms([Algorithm::ES256])
        .require_at_jwt_typ(true)
        .build()
        .unwrap();
    let ctx = allowed(&over_http, &token).await.expect("valid over HTTP");
    assert_eq!(ctx.subject, "alice");
    assert_eq!(ctx.client_id.as_deref(), Some("client-1"));
    assert!(ctx.scopes.contains("mcp:read") && ctx.scopes.contains("mcp:write"));

    let in_memory = keys.validator(ISS, AUD).unwrap();
    assert_eq!(allowed(&in_memory, &token).await.unwrap().subject, "alice");
    // Another audience or issuer, or an expired token: refused.
    let other = keys
        .validator(ISS, "https://other.example.com/mcp")
        .unwrap();
    assert_eq!(
        refused(&other, &token).await,
        "The access token is not intended for this resource"
    );
    let other = keys.validator("https://evil.example.com", AUD).unwrap();
    assert_eq!(refused(&other, &token).await, "Untrusted token issuer");
    let mut expired = claims("bob");
    expired.iat -= 3600;
    expired.exp = expired.iat + 300;
    let expired = keys.mint(&expired).unwrap();
    assert_eq!(
        refused(&in_memory, &expired).await,
        "The access token has expired"
    );
    let stranger = SigningKeys::generate()
        .unwrap()
        .mint(&claims("eve"))
        .unwrap();
    assert_eq!(refused(&in_memory, &stranger).await, "Unknown signing key");
}

#[tokio::test]
async fn validator_requires_at_jwt_typ() {
    let keys = SigningKeys::generate().unwrap();
    let key = keys.read().keys[0].clone();
    let mut header = Header::new(Algorithm::ES256);
    header.kid = Some(key.kid.clone());
    let plain_jwt = jsonwebtoken::encode(&header, &claims("alice"), &key.encoding).unwrap();
    let v = keys.validator(ISS, AUD).unwrap();
    // typ JWT (an ID token, say) is not an access token.
    assert_eq!(
        refused(&v, &plain_jwt).await,
        "The token is not an access token"
    );
    assert!(
        allowed(&v, &keys.mint(&claims("alice")).unwrap())
            .await
            .is_some()
    );
    assert!(matches!(
        keys.validator("", AUD),
        Err(ConfigError::Missing("issuer"))
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotated_out_key_validates_until_retired() {
    let keys = SigningKeys::generate().unwrap();
    let validator = keys.validator(ISS, AUD).unwrap();
    let old_kid = keys.current_kid();
    let old = keys.mint(&claims("alice")).unwrap();

    keys.rotate().unwrap();
    let new_kid = keys.current_kid();
    assert_ne!(new_kid, old_kid);
    assert_eq!(keys.kids(), [new_kid.clone(), old_kid.clone()]);
    let new = keys.mint(&claims("alice")).unwrap();
    assert_eq!(decode_part(&new, 0)["kid"], new_kid.as_str());
    assert!(
        allowed(&validator, &old).await.is_some(),
        "previous key still valid"
    );
    assert!(allowed(&validator, &new).await.is_some());
    // The JWKS served over HTTP has both, so a remote resource server agrees.
    let url = serve_jwks(keys.clone()).await;
    let remote = JwtValidator::builder()
        .jwks_url(url)
        .issuer(ISS)
        .audience(AUD)
        .build()
        .unwrap();
    assert!(allowed(&remote, &old).await.is_some());

    keys.retire_previous().unwrap();
    assert_eq!(keys.kids(), [new_kid]);
    assert_eq!(
        refused(&validator, &old).await,
        "Unknown signing key",
        "retired at once"
    );
    assert!(allowed(&validator, &new).await.is_some());

    // At most MAX_PREVIOUS_KEYS previous keys are kept.
    for _ in 0..MAX_PREVIOUS_KEYS + 3 {
        keys.rotate().unwrap();
    }
    assert_eq!(keys.kids().len(), MAX_PREVIOUS_KEYS + 1);
}

fn temp_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("mcp-keys-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir(&dir).unwrap();
    dir
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[cfg(unix)]
fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

#[cfg(unix)]
#[tokio::test]
async fn key_file_is_private_persistent_and_rotations_are_saved() {
    let dir = temp_dir();
    let path = dir.join("signing.jwks.json");
    let keys = SigningKeys::load_or_generate(&path).unwrap();
    assert_eq!(mode(&path), 0o600);
    let token = keys.mint(&claims("alice")).unwrap();

    // Reloaded: same key, and a token minted before the restart still validates.
    let again = SigningKeys::load_or_generate(&path).unwrap();
    assert_eq!(again.kids(), keys.kids());
    let v = again.validator(ISS, AUD).unwrap();
    assert!(allowed(&v, &token).await.is_some());

    keys.rotate().unwrap();
    assert_eq!(mode(&path), 0o600);
    let reloaded = SigningKeys::load_or_generate(&path).unwrap();
    assert_eq!(reloaded.kids(), keys.kids());
    assert_eq!(reloaded.kids().len(), 2);
    let leftovers: Vec<_> = std::fs::read_dir(&dir).unwrap().collect();
    assert_eq!(leftovers.len(), 1, "no temporary file left behind");

    // Group read is fine (e.g. a Kubernetes secret with fsGroup); world read or group write is not.
    set_mode(&path, 0o640);
    assert!(SigningKeys::load_or_generate(&path).is_ok());
    for bad in [0o644, 0o604, 0o660, 0o602] {
        set_mode(&path, bad);
        let err = SigningKeys::load_or_generate(&path).unwrap_err();
        assert!(
            matches!(err, KeyError::Permissions { mode, .. } if mode == bad),
            "{bad:o}"
        );
        assert_eq!(
            err.to_string(),
            format!(
                "key file {} has mode {bad:o}: other users can read or write it; restrict it \
                 with `chmod 600` (group read is allowed, world access and group write are not)",
                path.display()
            )
        );
    }

    // Garbage content: a clear error naming the file, never a fresh key over it.
    set_mode(&path, 0o600);
    std::fs::write(&path, "not json").unwrap();
    let err = SigningKeys::load_or_generate(&path).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("invalid signing key in {}: not JSON", path.display())
    );
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "not json");

    // A missing directory: an I/O error, no panic.
    let err = SigningKeys::load_or_generate(dir.join("no/such/dir/key.json")).unwrap_err();
    assert!(matches!(err, KeyError::Io { .. }));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn concurrent_first_starts_agree_on_one_key() {
    let dir = temp_dir();
    let path = dir.join("keys.json");
    let kids: Vec<Vec<String>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..8)
            .map(|_| s.spawn(|| SigningKeys::load_or_generate(&path).unwrap().kids()))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert!(kids.iter().all(|k| *k == kids[0]), "{kids:?}");
    let leftovers: Vec<_> = std::fs::read_dir(&dir).unwrap().collect();
    assert_eq!(leftovers.len(), 1, "only the key file, no temporary file");
    std::fs::remove_dir_all(&dir).unwrap();
}
