//! A local OAuth issuer for tests (feature `auth-testing`): OIDC discovery, RFC 8414 metadata,
//! JWKS, an authorization endpoint and a token endpoint (client credentials, authorization code
//! with PKCE, refresh token) on `127.0.0.1:<random port>`, signing RS256 and ES256 tokens shaped
//! like Keycloak and Entra (v1, v2 delegated, v2 app-only), with key rotation and outage
//! switches.
//!
//! # Authorization-code flow
//! `GET /authorize` (also `/protocol/openid-connect/auth` and `/<tenant>/oauth2/v2.0/authorize`)
//! checks the `client_id` (added with [`TestIssuer::add_client`] or
//! [`TestIssuer::add_public_client`]) and the exact `redirect_uri` (added with
//! [`TestIssuer::add_redirect_uri`]); either wrong → `400` HTML page, no redirect. Then it
//! requires `response_type=code` (else `error=unsupported_response_type`),
//! `code_challenge_method=S256` with a well-formed `code_challenge` (else
//! `error=invalid_request`) and allowed scopes (else `error=invalid_scope`), each sent to the
//! redirect URI with `state`. Otherwise the configured test user ([`TestIssuer::set_user`]) is
//! logged in without UI: `302` to `redirect_uri?code=...&state=...`. Codes live 60 s.
//!
//! `POST /token` with `grant_type=authorization_code` authenticates the client
//! (`client_secret_basic` / `client_secret_post` as advertised, or `client_id` alone for a
//! public client), then requires the code to be live, unused and issued to that client (else
//! `invalid_grant`; a second use also revokes the refresh tokens issued from it), the same
//! `redirect_uri` and a `code_verifier` matching the challenge (else `invalid_grant`; the code is
//! spent). The answer has `access_token` (shape set by [`TestIssuer::set_token_shape`]),
//! `refresh_token`, `scope`, `expires_in` and, when `openid` was granted, an `id_token`
//! (`aud` = the client, `nonce` from the authorization request). `grant_type=refresh_token`
//! requires a live refresh token issued to the same client, and rotates it (the old one is
//! spent); `scope` may narrow the grant. Every other grant but `client_credentials` →
//! `unsupported_grant_type`.
//!
//! RSA keys are generated once per process and shared by all issuers (RSA key generation is
//! slow); EC keys are generated per rotation.
//!
//! ```
//! use mcp_rs_server::auth::testing::TestIssuer;
//! use mcp_rs_server::auth::{AuthorizationResult, JwtValidator, TokenValidator};
//! # tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap().block_on(async {
//! let idp = TestIssuer::start().await.unwrap();
//! let validator = JwtValidator::builder()
//!     .jwks_url(idp.jwks_url())
//!     .issuer(idp.issuer())
//!     .audience("mcp-server")
//!     .build()
//!     .unwrap();
//! let token = idp.keycloak("mcp-server").subject("alice").scopes(["mcp:read"]).sign();
//! let AuthorizationResult::Allow(ctx) = validator.validate(&token).await else { panic!() };
//! assert!(ctx.scopes.contains("mcp:read"));
//! # });
//! ```

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use bytes::Bytes;
use http::header::{AUTHORIZATION, CACHE_CONTROL, CONTENT_TYPE};
use http::{HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use serde_json::{Map, Value, json};
use std::collections::HashMap;
use std::convert::Infallible;
use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{SystemTime, UNIX_EPOCH};

mod code_flow;

struct RsaMaterial {
    encoding: EncodingKey,
    n: String,
    e: String,
    public_pem: String,
}

const RSA_POOL_SIZE: usize = 3;

fn rsa_pool() -> &'static [RsaMaterial] {
    static POOL: OnceLock<Vec<RsaMaterial>> = OnceLock::new();
    POOL.get_or_init(|| {
        std::thread::scope(|s| {
            let handles: Vec<_> = (0..RSA_POOL_SIZE).map(|_| s.spawn(gen_rsa)).collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("RSA key generation panicked"))
                .collect()
        })
    })
}

fn gen_rsa() -> RsaMaterial {
    use rsa::pkcs1::EncodeRsaPrivateKey;
    use rsa::pkcs8::{EncodePublicKey, LineEnding};
    use rsa::traits::PublicKeyParts;
    let key = rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048).expect("RSA keygen");
    let der = key.to_pkcs1_der().expect("PKCS#1 encoding");
    let public = key.to_public_key();
    RsaMaterial {
        encoding: EncodingKey::from_rsa_der(der.as_bytes()),
        n: URL_SAFE_NO_PAD.encode(public.n().to_bytes_be()),
        e: URL_SAFE_NO_PAD.encode(public.e().to_bytes_be()),
        public_pem: public
            .to_public_key_pem(LineEnding::LF)
            .expect("PEM encoding"),
    }
}

struct EcMaterial {
    encoding: EncodingKey,
    x: String,
    y: String,
}

fn gen_ec() -> EcMaterial {
    use p256::elliptic_curve::sec1::ToEncodedPoint;
    use p256::pkcs8::EncodePrivateKey;
    let key = p256::SecretKey::random(&mut p256::elliptic_curve::rand_core::OsRng);
    let der = key.to_pkcs8_der().expect("PKCS#8 encoding");
    let point = key.public_key().to_encoded_point(false);
    EcMaterial {
        encoding: EncodingKey::from_ec_der(der.as_bytes()),
        x: URL_SAFE_NO_PAD.encode(point.x().map(|x| x.to_vec()).unwrap_or_default()),
        y: URL_SAFE_NO_PAD.encode(point.y().map(|y| y.to_vec()).unwrap_or_default()),
    }
}

/// The signing algorithm of a test token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum SigningAlg {
    /// RSA PKCS#1 v1.5 with SHA-256.
    #[default]
    Rs256,
    /// ECDSA P-256 with SHA-256.
    Es256,
}

struct KeyRing {
    generation: usize,
    /// Published keys: (kid, generation).
    published: Vec<usize>,
    ec: HashMap<usize, Arc<EcMaterial>>,
}

impl KeyRing {
    fn rsa_kid(g: usize) -> String {
        format!("rsa-{g}")
    }
    fn ec_kid(g: usize) -> String {
        format!("ec-{g}")
    }
}

/// A request received by the token endpoint.
#[derive(Debug, Clone)]
pub struct RecordedRequest {
    /// The `Authorization` header, if any.
    pub authorization: Option<String>,
    /// The form parameters.
    pub form: HashMap<String, String>,
}

struct Client {
    /// `None`: a public client (authenticates with `client_id` alone, no client credentials).
    secret: Option<String>,
    scopes: Vec<String>,
}

/// The shape of access tokens from the authorization-code and refresh-token grants (set with
/// [`TestIssuer::set_token_shape`]; client-credentials tokens are always Keycloak-shaped).
/// The audience is [`TestIssuer::set_token_audience`]'s; the subject is the test user.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum TokenShape {
    /// `iss` = [`TestIssuer::issuer`], `aud` = `[audience, "account"]`, `azp` = the client,
    /// `scope` = the granted scopes (OIDC scopes included), `typ: Bearer`.
    #[default]
    Keycloak,
    /// Entra v2 delegated: `iss` = `<base>/<tenant>/v2.0`, `aud` = audience, `ver: 2.0`,
    /// `azp` = the client, `tid`, `oid`, `scp` = the granted API scopes with any
    /// `api://<app>/` prefix removed (`.default` grants all of the client's scopes).
    EntraV2 {
        /// The tenant id (`tid`).
        tenant: String,
    },
    /// Entra v1 delegated: `iss` = `<base>/<tenant>/`, `aud` = audience, `ver: 1.0`,
    /// `appid` = the client, `tid`, `oid`, `upn`, `scp` as for v2.
    EntraV1 {
        /// The tenant id (`tid`).
        tenant: String,
    },
}

struct State {
    base: String,
    issuer: String,
    path: String,
    keys: Mutex<KeyRing>,
    outage: AtomicBool,
    jwks_fetches: AtomicUsize,
    jwks_max_age: AtomicU64,
    clients: Mutex<HashMap<String, Client>>,
    token_requests: Mutex<Vec<RecordedRequest>>,
    token_auth_methods: Mutex<Vec<String>>,
    default_audience: Mutex<String>,
    opaque: Mutex<HashMap<String, Value>>,
    flow: Mutex<code_flow::CodeFlow>,
}

/// A running local issuer. Dropping it stops the server.
///
/// See the [module docs](self) for an example.
pub struct TestIssuer {
    state: Arc<State>,
    addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl fmt::Debug for TestIssuer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TestIssuer")
            .field("issuer", &self.state.issuer)
            .finish_non_exhaustive()
    }
}

impl Drop for TestIssuer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

impl TestIssuer {
    /// Starts an issuer whose identifier is `http://127.0.0.1:<port>` (no path).
    ///
    /// # Errors
    /// When the listener cannot be bound.
    pub async fn start() -> io::Result<TestIssuer> {
        Self::start_with_path("").await
    }

    /// Starts an issuer whose identifier is `http://127.0.0.1:<port><path>`, e.g.
    /// `/realms/mcp` for a Keycloak-like layout.
    ///
    /// # Errors
    /// When the listener cannot be bound.
    pub async fn start_with_path(path: &str) -> io::Result<TestIssuer> {
        tokio::task::spawn_blocking(rsa_pool)
            .await
            .map_err(io::Error::other)?;
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let base = format!("http://{addr}");
        let path = path.trim_end_matches('/').to_owned();
        let mut ec = HashMap::new();
        ec.insert(0, Arc::new(gen_ec()));
        let state = Arc::new(State {
            issuer: format!("{base}{path}"),
            base,
            path,
            keys: Mutex::new(KeyRing {
                generation: 0,
                published: vec![0],
                ec,
            }),
            outage: AtomicBool::new(false),
            jwks_fetches: AtomicUsize::new(0),
            jwks_max_age: AtomicU64::new(300),
            clients: Mutex::new(HashMap::new()),
            token_requests: Mutex::new(Vec::new()),
            token_auth_methods: Mutex::new(vec![
                "client_secret_basic".to_owned(),
                "client_secret_post".to_owned(),
            ]),
            default_audience: Mutex::new("mcp-server".to_owned()),
            opaque: Mutex::new(HashMap::new()),
            flow: Mutex::new(code_flow::CodeFlow::default()),
        });
        let st = state.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let st = st.clone();
                tokio::spawn(async move {
                    let svc = hyper::service::service_fn(move |req| {
                        let st = st.clone();
                        async move { Ok::<_, Infallible>(handle(&st, req).await) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), svc)
                        .await;
                });
            }
        });
        Ok(TestIssuer { state, addr, task })
    }

    /// The issuer identifier (`iss` of Keycloak-shaped tokens).
    #[must_use]
    pub fn issuer(&self) -> &str {
        &self.state.issuer
    }

    /// `http://127.0.0.1:<port>`.
    #[must_use]
    pub fn base_url(&self) -> &str {
        &self.state.base
    }

    /// The socket address.
    #[must_use]
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The JWKS URL (`<issuer>/jwks`). Also served: `<issuer>/protocol/openid-connect/certs`
    /// (Keycloak), `<issuer>/oauth2/jwks` (WorkOS AuthKit), `<issuer>/v1/keys` (Okta),
    /// `<issuer>/.well-known/jwks.json` (Auth0) and Entra's `/<tenant>/discovery/v2.0/keys`.
    #[must_use]
    pub fn jwks_url(&self) -> String {
        format!("{}/jwks", self.state.issuer)
    }

    /// The token endpoint (`<issuer>/token`).
    #[must_use]
    pub fn token_endpoint(&self) -> String {
        format!("{}/token", self.state.issuer)
    }

    /// The authorization endpoint (`<issuer>/authorize`).
    #[must_use]
    pub fn authorization_endpoint(&self) -> String {
        format!("{}/authorize", self.state.issuer)
    }

    /// The Entra v2 issuer for `tenant`: `<base>/<tenant>/v2.0` (use [`base_url`](Self::base_url)
    /// as the Entra authority).
    #[must_use]
    pub fn entra_v2_issuer(&self, tenant: &str) -> String {
        format!("{}/{tenant}/v2.0", self.state.base)
    }

    /// The Entra v1 issuer for `tenant`: `<base>/<tenant>/` (use [`base_url`](Self::base_url)
    /// as the v1 issuer base).
    #[must_use]
    pub fn entra_v1_issuer(&self, tenant: &str) -> String {
        format!("{}/{tenant}/", self.state.base)
    }

    /// When `true`, every endpoint answers 503 (IdP outage).
    pub fn set_outage(&self, down: bool) {
        self.state.outage.store(down, Ordering::SeqCst);
    }

    /// How many times the JWKS was served.
    #[must_use]
    pub fn jwks_fetch_count(&self) -> usize {
        self.state.jwks_fetches.load(Ordering::SeqCst)
    }

    /// The `Cache-Control: max-age` of JWKS responses (default 300).
    pub fn set_jwks_max_age(&self, secs: u64) {
        self.state.jwks_max_age.store(secs, Ordering::SeqCst);
    }

    /// Rotates the signing keys: new tokens use new keys (new `kid`s); the old keys stay
    /// published until [`retire_old_keys`](Self::retire_old_keys).
    pub fn rotate_keys(&self) {
        let Ok(mut ring) = self.state.keys.lock() else {
            return;
        };
        ring.generation += 1;
        let g = ring.generation;
        ring.published.push(g);
        ring.ec.insert(g, Arc::new(gen_ec()));
    }

    /// Unpublishes every key but the current ones.
    pub fn retire_old_keys(&self) {
        let Ok(mut ring) = self.state.keys.lock() else {
            return;
        };
        let g = ring.generation;
        ring.published.retain(|p| *p == g);
        ring.ec.retain(|k, _| *k == g);
    }

    /// The `kid` of the current RSA (or EC) signing key.
    #[must_use]
    pub fn current_kid(&self, alg: SigningAlg) -> String {
        let g = self.state.keys.lock().map(|r| r.generation).unwrap_or(0);
        match alg {
            SigningAlg::Rs256 => KeyRing::rsa_kid(g),
            SigningAlg::Es256 => KeyRing::ec_kid(g),
        }
    }

    /// The current RSA public key as PEM (for "HS256 signed with the public key" attacks).
    #[must_use]
    pub fn rsa_public_key_pem(&self) -> String {
        let g = self.state.keys.lock().map(|r| r.generation).unwrap_or(0);
        rsa_pool()[g % RSA_POOL_SIZE].public_pem.clone()
    }

    /// Registers a confidential client for the client-credentials grant, allowed `scopes`.
    pub fn add_client<I, S>(&self, client_id: &str, secret: &str, scopes: I)
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        if let Ok(mut c) = self.state.clients.lock() {
            c.insert(
                client_id.to_owned(),
                Client {
                    secret: Some(secret.to_owned()),
                    scopes: scopes.into_iter().map(Into::into).collect(),
                },
            );
        }
    }

    /// Registers a public client (no secret: it authenticates at the token endpoint with
    /// `client_id` alone and PKCE) allowed `scopes`. Add its redirect URIs with
    /// [`add_redirect_uri`](Self::add_redirect_uri). It cannot use client credentials.
    pub fn add_public_client<I, S>(&self, client_id: &str, scopes: I)
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        if let Ok(mut c) = self.state.clients.lock() {
            c.insert(
                client_id.to_owned(),
                Client {
                    secret: None,
                    scopes: scopes.into_iter().map(Into::into).collect(),
                },
            );
        }
    }

    /// Allows `uri` (exact string match) as a `redirect_uri` of `client_id` at `/authorize`.
    /// Independent of [`add_client`](Self::add_client), which may be called before or after.
    pub fn add_redirect_uri(&self, client_id: &str, uri: &str) {
        if let Ok(mut f) = self.state.flow.lock() {
            f.redirect_uris
                .entry(client_id.to_owned())
                .or_default()
                .push(uri.to_owned());
        }
    }

    /// The subject (`sub`, and `preferred_username` / `oid` / `upn` as the shape has them) that
    /// `/authorize` logs in from now on (default `test-user`).
    pub fn set_user(&self, subject: &str) {
        if let Ok(mut f) = self.state.flow.lock() {
            subject.clone_into(&mut f.user);
        }
    }

    /// The next `/authorize` request that passes the client and redirect-URI checks redirects
    /// with `error=<error>` (and `state`) instead of a code, like a user who declines
    /// (`access_denied`) or an IdP failure (`server_error`). One-shot.
    pub fn fail_next_authorize(&self, error: &str) {
        if let Ok(mut f) = self.state.flow.lock() {
            f.fail_next = Some(error.to_owned());
        }
    }

    /// The shape of tokens from the authorization-code and refresh-token grants (default
    /// [`TokenShape::Keycloak`]).
    pub fn set_token_shape(&self, shape: TokenShape) {
        if let Ok(mut f) = self.state.flow.lock() {
            f.shape = shape;
        }
    }

    /// `expires_in` (and `exp - iat`) of tokens from the authorization-code and refresh-token
    /// grants, in seconds (default 300).
    pub fn set_access_token_lifetime(&self, secs: u32) {
        if let Ok(mut f) = self.state.flow.lock() {
            f.access_ttl = i64::from(secs);
        }
    }

    /// The query parameters of the latest `/authorize` requests (at most 100, oldest first).
    #[must_use]
    pub fn authorize_requests(&self) -> Vec<HashMap<String, String>> {
        self.state
            .flow
            .lock()
            .map(|f| f.authorize_requests.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// Revokes every refresh token issued so far (the next refresh → `invalid_grant`).
    pub fn revoke_refresh_tokens(&self) {
        code_flow::revoke_all(&self.state);
    }

    /// How many refresh tokens are live (issued, not expired, not spent or revoked).
    #[must_use]
    pub fn live_refresh_tokens(&self) -> usize {
        code_flow::live_refresh_tokens(&self.state)
    }

    /// The audience of tokens from the token endpoint (default `mcp-server`).
    pub fn set_token_audience(&self, audience: &str) {
        if let Ok(mut a) = self.state.default_audience.lock() {
            *a = audience.to_owned();
        }
    }

    /// The advertised `token_endpoint_auth_methods_supported` (default basic and post); the
    /// token endpoint accepts only these.
    pub fn set_token_auth_methods<I, S>(&self, methods: I)
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        if let Ok(mut m) = self.state.token_auth_methods.lock() {
            *m = methods.into_iter().map(Into::into).collect();
        }
    }

    /// Requests received by the token endpoint so far.
    #[must_use]
    pub fn token_requests(&self) -> Vec<RecordedRequest> {
        self.state
            .token_requests
            .lock()
            .map(|r| r.clone())
            .unwrap_or_default()
    }

    /// The RFC 7662 introspection endpoint (`<issuer>/introspect`). It requires HTTP Basic
    /// authentication of a client added with [`add_client`](Self::add_client) and knows the
    /// opaque tokens added with [`add_opaque_token`](Self::add_opaque_token).
    #[must_use]
    pub fn introspection_endpoint(&self) -> String {
        format!("{}/introspect", self.state.issuer)
    }

    /// Makes `token` an active opaque token whose introspection response is `claims` plus
    /// `"active": true`.
    pub fn add_opaque_token(&self, token: &str, claims: Value) {
        if let Ok(mut o) = self.state.opaque.lock() {
            o.insert(token.to_owned(), claims);
        }
    }

    /// Revokes an opaque token: introspection answers `{"active": false}` from now on.
    pub fn revoke_opaque_token(&self, token: &str) {
        if let Ok(mut o) = self.state.opaque.lock() {
            o.remove(token);
        }
    }

    fn builder(&self, claims: Value) -> TokenBuilder<'_> {
        let mut map = match claims {
            Value::Object(m) => m,
            _ => Map::new(),
        };
        let t = now();
        map.entry("iat").or_insert(json!(t));
        map.entry("nbf").or_insert(json!(t));
        map.entry("exp").or_insert(json!(t + 3600));
        TokenBuilder {
            issuer: self,
            claims: map,
            header: Map::new(),
            alg: SigningAlg::Rs256,
            kid: None,
        }
    }

    /// A Keycloak-shaped access token: `iss` = [`issuer`](Self::issuer), `aud` =
    /// `[audience, "account"]`, `azp`, `scope` = `"openid profile email"`, `typ: Bearer`,
    /// `preferred_username`.
    pub fn keycloak(&self, audience: &str) -> TokenBuilder<'_> {
        self.builder(json!({
            "iss": self.state.issuer,
            "aud": [audience, "account"],
            "sub": "f1b6c1de-6e33-4b57-9d3f-0c2b7f6f2a10",
            "typ": "Bearer",
            "azp": "mcp-client",
            "jti": uuid::Uuid::new_v4().to_string(),
            "preferred_username": "demo",
            "scope": "openid profile email",
            "realm_access": {"roles": ["default-roles-mcp"]},
        }))
    }

    /// An Entra v1 delegated token: `iss` = `<base>/<tenant>/`, `aud` = `api://<app_id>`,
    /// `ver: 1.0`, `appid`, `tid`, `oid`, `upn`; add scopes with [`TokenBuilder::scp`].
    pub fn entra_v1(&self, tenant: &str, app_id: &str) -> TokenBuilder<'_> {
        self.builder(json!({
            "iss": self.entra_v1_issuer(tenant),
            "aud": format!("api://{app_id}"),
            "sub": "hQb1u2Y0dWvq2Xk9v3Y7a8d1c5e4f3g2h1i0j9k8l7m",
            "ver": "1.0",
            "appid": "0b1d4a4c-2a3e-4a53-9bd8-1b2c3d4e5f60",
            "appidacr": "0",
            "tid": tenant,
            "oid": "7c2f5e12-9a1b-4c3d-8e7f-6a5b4c3d2e1f",
            "upn": "demo@contoso.example",
            "unique_name": "demo@contoso.example",
            "scp": "",
        }))
    }

    /// An Entra v2 delegated token: `iss` = `<base>/<tenant>/v2.0`, `aud` = `<app_id>`,
    /// `ver: 2.0`, `azp`, `tid`, `oid`; add scopes with [`TokenBuilder::scp`].
    pub fn entra_v2_delegated(&self, tenant: &str, app_id: &str) -> TokenBuilder<'_> {
        self.builder(json!({
            "iss": self.entra_v2_issuer(tenant),
            "aud": app_id,
            "sub": "AAAAAAAAAAAAAAAAAAAAAIkzqFVrSaSaFHy782bbtaQ",
            "ver": "2.0",
            "azp": "0b1d4a4c-2a3e-4a53-9bd8-1b2c3d4e5f60",
            "azpacr": "0",
            "tid": tenant,
            "oid": "7c2f5e12-9a1b-4c3d-8e7f-6a5b4c3d2e1f",
            "preferred_username": "demo@contoso.example",
            "name": "Demo User",
            "scp": "",
        }))
    }

    /// An Entra v2 app-only token (client credentials): like
    /// [`entra_v2_delegated`](Self::entra_v2_delegated) without user claims; `sub` = `oid` of
    /// the calling service principal; add app roles with [`TokenBuilder::roles`].
    pub fn entra_v2_app(&self, tenant: &str, app_id: &str) -> TokenBuilder<'_> {
        self.builder(json!({
            "iss": self.entra_v2_issuer(tenant),
            "aud": app_id,
            "sub": "3f0e8a2b-5c6d-4e7f-8a9b-0c1d2e3f4a5b",
            "oid": "3f0e8a2b-5c6d-4e7f-8a9b-0c1d2e3f4a5b",
            "ver": "2.0",
            "azp": "9e8d7c6b-5a49-4382-a716-d5c4b3a29180",
            "azpacr": "1",
            "idtyp": "app",
            "tid": tenant,
            "roles": [],
        }))
    }

    /// A token with only the claims given (plus `iat`, `nbf`, `exp`).
    pub fn custom(&self, claims: Value) -> TokenBuilder<'_> {
        self.builder(claims)
    }

    fn encoding_key(&self, alg: SigningAlg, kid: Option<&str>) -> (String, EncodingKey) {
        let ring = self.state.keys.lock().expect("key ring poisoned");
        let g = ring.generation;
        match alg {
            SigningAlg::Rs256 => {
                let kid = kid.map_or_else(|| KeyRing::rsa_kid(g), str::to_owned);
                (kid, rsa_pool()[g % RSA_POOL_SIZE].encoding.clone())
            }
            SigningAlg::Es256 => {
                let kid = kid.map_or_else(|| KeyRing::ec_kid(g), str::to_owned);
                (kid, ring.ec[&g].encoding.clone())
            }
        }
    }
}

/// Builds and signs one token. Obtain it from a [`TestIssuer`] shape method.
#[must_use]
pub struct TokenBuilder<'a> {
    issuer: &'a TestIssuer,
    claims: Map<String, Value>,
    header: Map<String, Value>,
    alg: SigningAlg,
    kid: Option<String>,
}

impl fmt::Debug for TokenBuilder<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenBuilder")
            .field("claims", &self.claims)
            .finish_non_exhaustive()
    }
}

impl TokenBuilder<'_> {
    /// Sets `sub`.
    pub fn subject(self, sub: &str) -> Self {
        self.claim("sub", json!(sub))
    }

    /// Adds scopes to the space-separated `scope` claim.
    pub fn scopes<I, S>(self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        self.append_space_separated("scope", scopes)
    }

    /// Adds scopes to the space-separated `scp` claim (Entra delegated).
    pub fn scp<I, S>(self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        self.append_space_separated("scp", scopes)
    }

    fn append_space_separated<I, S>(mut self, claim: &str, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut all: Vec<String> = self
            .claims
            .get(claim)
            .and_then(Value::as_str)
            .map(|s| s.split_ascii_whitespace().map(str::to_owned).collect())
            .unwrap_or_default();
        all.extend(scopes.into_iter().map(|s| s.as_ref().to_owned()));
        self.claims.insert(claim.to_owned(), json!(all.join(" ")));
        self
    }

    /// Adds app roles to the `roles` array (Entra app-only).
    pub fn roles<I, S>(mut self, roles: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut all: Vec<Value> = self
            .claims
            .get("roles")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        all.extend(roles.into_iter().map(|r| json!(r.as_ref())));
        self.claims.insert("roles".to_owned(), Value::Array(all));
        self
    }

    /// Sets `aud` (a string).
    pub fn audience(self, aud: &str) -> Self {
        self.claim("aud", json!(aud))
    }

    /// Sets `iss`.
    pub fn issued_by(self, iss: &str) -> Self {
        self.claim("iss", json!(iss))
    }

    /// Sets any claim.
    pub fn claim(mut self, name: &str, value: Value) -> Self {
        self.claims.insert(name.to_owned(), value);
        self
    }

    /// Removes a claim.
    pub fn without_claim(mut self, name: &str) -> Self {
        self.claims.remove(name);
        self
    }

    /// `exp` relative to now, in seconds (negative: already expired).
    pub fn expires_in(self, secs: i64) -> Self {
        self.claim("exp", json!(now() + secs))
    }

    /// `nbf` relative to now, in seconds (positive: not yet valid).
    pub fn not_before_in(self, secs: i64) -> Self {
        self.claim("nbf", json!(now() + secs))
    }

    /// Sets a header parameter (e.g. `typ`, `nonce`).
    pub fn header(mut self, name: &str, value: Value) -> Self {
        self.header.insert(name.to_owned(), value);
        self
    }

    /// Signs with ES256 instead of RS256.
    pub fn alg(mut self, alg: SigningAlg) -> Self {
        self.alg = alg;
        self
    }

    /// Overrides the header `kid` (the current key still signs).
    pub fn kid(mut self, kid: &str) -> Self {
        self.kid = Some(kid.to_owned());
        self
    }

    fn header_json(&self, alg: &str, kid: &str) -> Value {
        let mut h = Map::new();
        h.insert("alg".into(), json!(alg));
        h.insert("typ".into(), json!("JWT"));
        h.insert("kid".into(), json!(kid));
        for (k, v) in &self.header {
            h.insert(k.clone(), v.clone());
        }
        Value::Object(h)
    }

    /// Signs the token with the issuer's current key.
    ///
    /// # Panics
    /// If signing fails (it does not with the generated keys).
    #[must_use]
    pub fn sign(self) -> String {
        let (kid, key) = self.issuer.encoding_key(self.alg, self.kid.as_deref());
        let alg = match self.alg {
            SigningAlg::Rs256 => Algorithm::RS256,
            SigningAlg::Es256 => Algorithm::ES256,
        };
        let header_alg = match self.alg {
            SigningAlg::Rs256 => "RS256",
            SigningAlg::Es256 => "ES256",
        };
        if self.header.is_empty() {
            let mut h = Header::new(alg);
            h.kid = Some(kid);
            return encode(&h, &self.claims, &key).expect("signing a test token");
        }
        // Custom header parameters: sign the compact form by hand with the same key.
        let header = self.header_json(header_alg, &kid);
        let signing_input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(Value::Object(self.claims.clone()).to_string())
        );
        let sig = jsonwebtoken::crypto::sign(signing_input.as_bytes(), &key, alg)
            .expect("signing a test token");
        format!("{signing_input}.{sig}")
    }

    /// An unsigned token with `alg: none` (attack helper).
    #[must_use]
    pub fn sign_alg_none(self) -> String {
        let header = json!({"alg": "none", "typ": "JWT"});
        format!(
            "{}.{}.",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(Value::Object(self.claims).to_string())
        )
    }

    /// A token signed with HS256 using `secret` (attack helper: pass the RSA public key PEM
    /// to forge "HS256 with the public key"). The header `kid` is the current RSA kid.
    #[must_use]
    pub fn sign_hs256(self, secret: &[u8]) -> String {
        let kid = self
            .kid
            .clone()
            .unwrap_or_else(|| self.issuer.current_kid(SigningAlg::Rs256));
        let mut h = Header::new(Algorithm::HS256);
        h.kid = Some(kid);
        encode(&h, &self.claims, &EncodingKey::from_secret(secret)).expect("HMAC signing")
    }
}

type Res = Response<Full<Bytes>>;

fn json_res(status: StatusCode, v: &Value) -> Res {
    let mut r = Response::new(Full::new(Bytes::from(v.to_string())));
    *r.status_mut() = status;
    r.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    r
}

fn metadata(st: &State, issuer: &str, strict: bool) -> Value {
    let scopes: Vec<String> = st
        .clients
        .lock()
        .map(|c| {
            let mut all: Vec<String> = c.values().flat_map(|c| c.scopes.clone()).collect();
            all.sort();
            all.dedup();
            all
        })
        .unwrap_or_default();
    let methods = st
        .token_auth_methods
        .lock()
        .map(|m| m.clone())
        .unwrap_or_default();
    let mut m = json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{}/authorize", st.issuer),
        "token_endpoint": format!("{}/token", st.issuer),
        "jwks_uri": format!("{}/jwks", st.issuer),
        "response_types_supported": ["code"],
        "grant_types_supported": ["authorization_code", "client_credentials", "refresh_token"],
        "token_endpoint_auth_methods_supported": methods,
        "scopes_supported": scopes,
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256", "ES256"],
    });
    if strict {
        m["code_challenge_methods_supported"] = json!(["S256"]);
    }
    m
}

fn jwks(st: &State) -> Res {
    st.jwks_fetches.fetch_add(1, Ordering::SeqCst);
    let keys: Vec<Value> = {
        let Ok(ring) = st.keys.lock() else {
            return json_res(StatusCode::INTERNAL_SERVER_ERROR, &json!({}));
        };
        ring.published
            .iter()
            .flat_map(|g| {
                let rsa = &rsa_pool()[g % RSA_POOL_SIZE];
                let mut v = vec![json!({
                    "kty": "RSA", "use": "sig", "alg": "RS256", "kid": KeyRing::rsa_kid(*g),
                    "n": rsa.n, "e": rsa.e,
                })];
                if let Some(ec) = ring.ec.get(g) {
                    v.push(json!({
                        "kty": "EC", "use": "sig", "alg": "ES256", "crv": "P-256",
                        "kid": KeyRing::ec_kid(*g), "x": ec.x, "y": ec.y,
                    }));
                }
                v
            })
            .collect()
    };
    let mut r = json_res(StatusCode::OK, &json!({ "keys": keys }));
    let max_age = st.jwks_max_age.load(Ordering::SeqCst);
    if let Ok(v) = HeaderValue::from_str(&format!("public, max-age={max_age}")) {
        r.headers_mut().insert(CACHE_CONTROL, v);
    }
    r
}

async fn handle(st: &State, req: Request<Incoming>) -> Res {
    if st.outage.load(Ordering::SeqCst) {
        return json_res(
            StatusCode::SERVICE_UNAVAILABLE,
            &json!({"error": "temporarily_unavailable"}),
        );
    }
    let path = req.uri().path().to_owned();
    let p = st.path.as_str();
    let is = |candidates: &[String]| candidates.contains(&path);
    if req.method() == Method::GET {
        if is(&[
            format!("{p}/jwks"),
            format!("{p}/protocol/openid-connect/certs"),
            format!("{p}/oauth2/jwks"),
            format!("{p}/v1/keys"),
            format!("{p}/.well-known/jwks.json"),
        ]) || path.ends_with("/discovery/v2.0/keys")
            || path.ends_with("/discovery/keys")
        {
            return jwks(st);
        }
        if is(&[
            format!("/.well-known/oauth-authorization-server{p}"),
            format!("/.well-known/openid-configuration{p}"),
            format!("{p}/.well-known/openid-configuration"),
        ]) {
            return json_res(StatusCode::OK, &metadata(st, &st.issuer, true));
        }
        // Entra-style per-tenant v2 discovery (no PKCE advertisement, like Entra).
        if let Some(tenant) = path
            .strip_prefix('/')
            .and_then(|r| r.strip_suffix("/v2.0/.well-known/openid-configuration"))
        {
            if !tenant.contains('/') {
                let iss = format!("{}/{tenant}/v2.0", st.base);
                return json_res(StatusCode::OK, &metadata(st, &iss, false));
            }
        }
        if is(&[
            format!("{p}/authorize"),
            format!("{p}/protocol/openid-connect/auth"),
        ]) || path.ends_with("/oauth2/v2.0/authorize")
        {
            return code_flow::authorize(st, req.uri().query());
        }
    }
    if req.method() == Method::POST
        && (path == format!("{p}/token")
            || path == format!("{p}/protocol/openid-connect/token")
            || path.ends_with("/oauth2/v2.0/token"))
    {
        return token(st, req).await;
    }
    if req.method() == Method::POST && path == format!("{p}/introspect") {
        return introspect(st, req).await;
    }
    json_res(StatusCode::NOT_FOUND, &json!({"error": "not_found"}))
}

fn parse_form(body: &[u8]) -> HashMap<String, String> {
    url::form_urlencoded::parse(body).into_owned().collect()
}

fn basic_credentials(authorization: Option<&str>) -> Option<(String, String)> {
    let b64 = authorization?.strip_prefix("Basic ")?;
    let raw = String::from_utf8(STANDARD.decode(b64).ok()?).ok()?;
    let (id, secret) = raw.split_once(':')?;
    let dec = |s: &str| {
        url::form_urlencoded::parse(format!("x={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
    };
    Some((dec(id)?, dec(secret)?))
}

async fn introspect(st: &State, req: Request<Incoming>) -> Res {
    let authorization = req
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let authenticated = basic_credentials(authorization.as_deref()).is_some_and(|(id, secret)| {
        st.clients.lock().is_ok_and(|c| {
            c.get(&id)
                .is_some_and(|c| c.secret.as_ref() == Some(&secret))
        })
    });
    if !authenticated {
        return json_res(
            StatusCode::UNAUTHORIZED,
            &json!({"error": "invalid_client"}),
        );
    }
    let Ok(body) = req.into_body().collect().await else {
        return json_res(
            StatusCode::BAD_REQUEST,
            &json!({"error": "invalid_request"}),
        );
    };
    let form = parse_form(&body.to_bytes());
    let known = form
        .get("token")
        .and_then(|t| st.opaque.lock().ok().and_then(|o| o.get(t).cloned()));
    match known {
        Some(Value::Object(mut claims)) => {
            claims.insert("active".into(), json!(true));
            json_res(StatusCode::OK, &Value::Object(claims))
        }
        _ => json_res(StatusCode::OK, &json!({"active": false})),
    }
}

/// A `400` HTML page for `/authorize` requests that must not redirect; `message` is static
/// text, never request input.
fn bad_request_page(message: &str) -> Res {
    let html = format!(
        "<!doctype html><html><head><title>Test issuer: bad request</title></head>\
         <body><h1>Bad request</h1><p>{message}</p></body></html>"
    );
    let mut r = Response::new(Full::new(Bytes::from(html)));
    *r.status_mut() = StatusCode::BAD_REQUEST;
    r.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    r
}

/// An RFC 6749 error with a description.
fn oauth_error(status: StatusCode, error: &str, description: &str) -> Res {
    json_res(
        status,
        &json!({"error": error, "error_description": description}),
    )
}

/// Signs `claims` with the current RSA key (RS256, `kid` = the current RSA kid).
fn sign_rs256(st: &State, claims: &Value) -> Option<String> {
    let g = st.keys.lock().map(|r| r.generation).unwrap_or(0);
    let mut h = Header::new(Algorithm::RS256);
    h.kid = Some(KeyRing::rsa_kid(g));
    encode(&h, claims, &rsa_pool()[g % RSA_POOL_SIZE].encoding).ok()
}

/// Client authentication at the token endpoint: the advertised secret methods, or `client_id`
/// alone (no credentials) for a public client.
fn authenticate_client(
    st: &State,
    authorization: Option<&str>,
    form: &HashMap<String, String>,
) -> Option<(code_flow::TokenClient, Vec<String>)> {
    let methods = st
        .token_auth_methods
        .lock()
        .map(|m| m.clone())
        .unwrap_or_default();
    let basic = basic_credentials(authorization);
    let clients = st.clients.lock().ok()?;
    if basic.is_none() && authorization.is_none() && form.get("client_secret").is_none() {
        let id = form.get("client_id")?;
        let c = clients.get(id).filter(|c| c.secret.is_none())?;
        let client = code_flow::TokenClient {
            id: id.clone(),
            public: true,
        };
        return Some((client, c.scopes.clone()));
    }
    let (id, secret) = match (basic, form.get("client_id"), form.get("client_secret")) {
        (Some(c), _, _) if methods.iter().any(|m| m == "client_secret_basic") => c,
        (None, Some(id), Some(secret)) if methods.iter().any(|m| m == "client_secret_post") => {
            (id.clone(), secret.clone())
        }
        _ => return None,
    };
    let c = clients
        .get(&id)
        .filter(|c| c.secret.as_ref() == Some(&secret))?;
    let scopes = c.scopes.clone();
    Some((code_flow::TokenClient { id, public: false }, scopes))
}

async fn token(st: &State, req: Request<Incoming>) -> Res {
    let authorization = req
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let Ok(body) = req.into_body().collect().await else {
        return json_res(
            StatusCode::BAD_REQUEST,
            &json!({"error": "invalid_request"}),
        );
    };
    let form = parse_form(&body.to_bytes());
    if let Ok(mut r) = st.token_requests.lock() {
        r.push(RecordedRequest {
            authorization: authorization.clone(),
            form: form.clone(),
        });
    }
    let Some((client, allowed)) = authenticate_client(st, authorization.as_deref(), &form) else {
        return json_res(
            StatusCode::UNAUTHORIZED,
            &json!({"error": "invalid_client"}),
        );
    };
    match form.get("grant_type").map(String::as_str) {
        Some("client_credentials") if !client.public => {
            client_credentials(st, &client.id, allowed, &form)
        }
        Some("client_credentials") => oauth_error(
            StatusCode::BAD_REQUEST,
            "unauthorized_client",
            "public clients cannot use client credentials",
        ),
        Some("authorization_code") => code_flow::exchange_code(st, &client, &form),
        Some("refresh_token") => code_flow::refresh(st, &client, &form),
        _ => json_res(
            StatusCode::BAD_REQUEST,
            &json!({"error": "unsupported_grant_type"}),
        ),
    }
}

fn client_credentials(
    st: &State,
    client_id: &str,
    allowed: Vec<String>,
    form: &HashMap<String, String>,
) -> Res {
    let granted: Vec<String> = match form.get("scope") {
        Some(requested) => {
            let requested: Vec<&str> = requested.split_ascii_whitespace().collect();
            if requested.iter().any(|r| !allowed.iter().any(|a| a == *r)) {
                return json_res(StatusCode::BAD_REQUEST, &json!({"error": "invalid_scope"}));
            }
            requested.into_iter().map(str::to_owned).collect()
        }
        None => allowed,
    };
    let audience = st
        .default_audience
        .lock()
        .map(|a| a.clone())
        .unwrap_or_default();
    let t = now();
    let claims = json!({
        "iss": st.issuer, "aud": [audience, "account"], "sub": format!("service-account-{client_id}"),
        "azp": client_id, "typ": "Bearer", "scope": granted.join(" "),
        "iat": t, "nbf": t, "exp": t + 300, "jti": uuid::Uuid::new_v4().to_string(),
    });
    let Some(token) = sign_rs256(st, &claims) else {
        return json_res(
            StatusCode::INTERNAL_SERVER_ERROR,
            &json!({"error": "server_error"}),
        );
    };
    let mut r = json_res(
        StatusCode::OK,
        &json!({"access_token": token, "token_type": "Bearer", "expires_in": 300, "scope": granted.join(" ")}),
    );
    r.headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}
