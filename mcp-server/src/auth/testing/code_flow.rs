//! The authorization-code and refresh-token grants of the [`TestIssuer`](super::TestIssuer):
//! `GET /authorize` logs the configured test user in without UI and redirects with a one-time
//! code; `POST /token` exchanges it (PKCE S256, single use, bound to client and redirect URI)
//! and rotates refresh tokens.

use super::{Res, State, TokenShape, bad_request_page, json_res, now, oauth_error, sign_rs256};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bytes::Bytes;
use http::header::{CACHE_CONTROL, LOCATION};
use http::{HeaderValue, Response, StatusCode};
use http_body_util::Full;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};
use std::collections::{HashMap, VecDeque};

/// Codes live this long (seconds).
const CODE_TTL: i64 = 60;
/// Refresh tokens live this long (seconds).
const REFRESH_TTL: i64 = 86_400;
/// At most this many live codes and refresh tokens each; the soonest to expire is evicted.
const MAX_GRANTS: usize = 10_000;
/// At most this many recorded authorization requests (oldest dropped).
const MAX_RECORDED: usize = 100;
/// Scopes every client may ask for; they never reach Entra's `scp`.
const OIDC_SCOPES: [&str; 4] = ["openid", "profile", "email", "offline_access"];

/// Mutable state of the code flow, inside the issuer's [`State`].
pub(super) struct CodeFlow {
    pub(super) redirect_uris: HashMap<String, Vec<String>>,
    pub(super) user: String,
    pub(super) fail_next: Option<String>,
    pub(super) shape: TokenShape,
    pub(super) access_ttl: i64,
    pub(super) authorize_requests: VecDeque<HashMap<String, String>>,
    codes: HashMap<String, CodeGrant>,
    refresh: HashMap<String, RefreshGrant>,
}

impl Default for CodeFlow {
    fn default() -> Self {
        CodeFlow {
            redirect_uris: HashMap::new(),
            user: DEFAULT_USER.to_owned(),
            fail_next: None,
            shape: TokenShape::Keycloak,
            access_ttl: 300,
            authorize_requests: VecDeque::new(),
            codes: HashMap::new(),
            refresh: HashMap::new(),
        }
    }
}

/// The subject logged in by `/authorize` unless [`set_user`](super::TestIssuer::set_user) says
/// otherwise.
pub(super) const DEFAULT_USER: &str = "test-user";

struct CodeGrant {
    client_id: String,
    redirect_uri: String,
    challenge: String,
    scopes: Vec<String>,
    nonce: Option<String>,
    user: String,
    expires: i64,
    used: bool,
}

struct RefreshGrant {
    client_id: String,
    scopes: Vec<String>,
    user: String,
    expires: i64,
    /// The code the chain started from (a replay of that code revokes the chain).
    from_code: String,
}

fn random_token() -> String {
    URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>())
}

/// Keeps `map` under [`MAX_GRANTS`]: drops expired entries, then the soonest to expire.
fn make_room<T>(map: &mut HashMap<String, T>, expires: impl Fn(&T) -> i64) {
    let t = now();
    map.retain(|_, v| expires(v) > t);
    while map.len() >= MAX_GRANTS {
        let Some(k) = map
            .iter()
            .min_by_key(|(_, v)| expires(v))
            .map(|(k, _)| k.clone())
        else {
            break;
        };
        map.remove(&k);
    }
}

fn redirect(uri: &url::Url) -> Res {
    let mut r = Response::new(Full::new(Bytes::new()));
    *r.status_mut() = StatusCode::FOUND;
    if let Ok(v) = HeaderValue::from_str(uri.as_str()) {
        r.headers_mut().insert(LOCATION, v);
    }
    r.headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

/// A redirect to the (validated) client redirect URI with `params` and `state` appended.
fn redirect_with(mut uri: url::Url, params: &[(&str, &str)], state: Option<&String>) -> Res {
    {
        let mut q = uri.query_pairs_mut();
        for (k, v) in params {
            q.append_pair(k, v);
        }
        if let Some(s) = state {
            q.append_pair("state", s);
        }
    }
    redirect(&uri)
}

/// RFC 7636 `code_challenge`: 43–128 characters of the unreserved set.
fn valid_challenge(c: &str) -> bool {
    (43..=128).contains(&c.len())
        && c.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

/// The scope value as it appears in a token of `shape` (`api://app/mcp.read` → `mcp.read`
/// for Entra).
fn token_scope_name<'a>(shape: &TokenShape, requested: &'a str) -> &'a str {
    match shape {
        TokenShape::Keycloak => requested,
        TokenShape::EntraV2 { .. } | TokenShape::EntraV1 { .. } => {
            if requested.contains("://") {
                requested.rsplit_once('/').map_or(requested, |(_, s)| s)
            } else {
                requested
            }
        }
    }
}

/// The granted scopes (names as they appear in tokens, OIDC scopes included), or `None` when a
/// requested scope is not allowed for the client.
fn grant_scopes(
    shape: &TokenShape,
    allowed: &[String],
    requested: Option<&String>,
) -> Option<Vec<String>> {
    let Some(requested) = requested.filter(|r| !r.trim().is_empty()) else {
        return Some(allowed.to_vec());
    };
    let mut granted: Vec<String> = Vec::new();
    for r in requested.split_ascii_whitespace() {
        let name = token_scope_name(shape, r);
        if name == ".default" {
            granted.extend(allowed.iter().cloned());
        } else if OIDC_SCOPES.contains(&name) || allowed.iter().any(|a| a == name) {
            granted.push(name.to_owned());
        } else {
            return None;
        }
    }
    granted.dedup();
    Some(granted)
}

/// `GET /authorize`.
pub(super) fn authorize(st: &State, query: Option<&str>) -> Res {
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(query.unwrap_or("").as_bytes())
        .into_owned()
        .collect();
    let params: HashMap<String, String> = pairs.iter().cloned().collect();
    let Ok(mut flow) = st.flow.lock() else {
        return bad_request_page("the test issuer is unavailable");
    };
    if flow.authorize_requests.len() >= MAX_RECORDED {
        flow.authorize_requests.pop_front();
    }
    flow.authorize_requests.push_back(params.clone());
    if params.len() != pairs.len() {
        return bad_request_page("a parameter was given more than once");
    }
    let client_id = params.get("client_id").map(String::as_str).unwrap_or("");
    let allowed = st
        .clients
        .lock()
        .ok()
        .and_then(|c| c.get(client_id).map(|c| c.scopes.clone()));
    let Some(allowed) = allowed else {
        return bad_request_page("unknown client_id");
    };
    let redirect_uri = params.get("redirect_uri").map(String::as_str).unwrap_or("");
    let registered = flow
        .redirect_uris
        .get(client_id)
        .is_some_and(|uris| uris.iter().any(|u| u == redirect_uri));
    let Some(target) = url::Url::parse(redirect_uri).ok().filter(|_| registered) else {
        return bad_request_page("redirect_uri is not registered for this client");
    };
    let state = params.get("state");
    match check_and_issue(&mut flow, &params, &allowed) {
        Ok(code) => redirect_with(target, &[("code", code.as_str())], state),
        Err((error, None)) => redirect_with(target, &[("error", error.as_str())], state),
        Err((error, Some(description))) => redirect_with(
            target,
            &[
                ("error", error.as_str()),
                ("error_description", description),
            ],
            state,
        ),
    }
}

/// The checks after the client and redirect URI are known good, then a new code; `Err` is
/// `(error, description)` for the redirect.
fn check_and_issue(
    flow: &mut CodeFlow,
    params: &HashMap<String, String>,
    allowed: &[String],
) -> Result<String, (String, Option<&'static str>)> {
    let fail = |e: &str, d: &'static str| Err((e.to_owned(), Some(d)));
    if params.get("response_type").map(String::as_str) != Some("code") {
        return fail("unsupported_response_type", "response_type must be code");
    }
    if params.get("code_challenge_method").map(String::as_str) != Some("S256") {
        return fail("invalid_request", "code_challenge_method must be S256");
    }
    let challenge = params
        .get("code_challenge")
        .map(String::as_str)
        .unwrap_or("");
    if !valid_challenge(challenge) {
        return fail("invalid_request", "code_challenge is missing or malformed");
    }
    let Some(scopes) = grant_scopes(&flow.shape, allowed, params.get("scope")) else {
        return fail(
            "invalid_scope",
            "a requested scope is not allowed for this client",
        );
    };
    if let Some(error) = flow.fail_next.take() {
        return Err((error, None));
    }
    let code = random_token();
    make_room(&mut flow.codes, |g| g.expires);
    let grant = CodeGrant {
        client_id: params.get("client_id").cloned().unwrap_or_default(),
        redirect_uri: params.get("redirect_uri").cloned().unwrap_or_default(),
        challenge: challenge.to_owned(),
        scopes,
        nonce: params.get("nonce").cloned(),
        user: flow.user.clone(),
        expires: now() + CODE_TTL,
        used: false,
    };
    flow.codes.insert(code.clone(), grant);
    Ok(code)
}

/// The client a token request authenticated as.
pub(super) struct TokenClient {
    pub(super) id: String,
    pub(super) public: bool,
}

fn invalid_grant(description: &str) -> Res {
    oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", description)
}

/// `grant_type=authorization_code`.
pub(super) fn exchange_code(
    st: &State,
    client: &TokenClient,
    form: &HashMap<String, String>,
) -> Res {
    let Some(code) = form.get("code") else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "code is missing",
        );
    };
    let Ok(mut flow) = st.flow.lock() else {
        return oauth_error(StatusCode::INTERNAL_SERVER_ERROR, "server_error", "lock");
    };
    let t = now();
    let Some(grant) = flow.codes.get_mut(code).filter(|g| g.expires > t) else {
        return invalid_grant("the code is unknown or expired");
    };
    if grant.used {
        // Replay: revoke every refresh token issued from this code (RFC 9700 §4.5).
        flow.refresh.retain(|_, r| r.from_code != *code);
        return invalid_grant("the code was already used");
    }
    if grant.client_id != client.id {
        return invalid_grant("the code was issued to another client");
    }
    grant.used = true;
    if form.get("redirect_uri") != Some(&grant.redirect_uri) {
        return invalid_grant("redirect_uri does not match the authorization request");
    }
    let Some(verifier) = form.get("code_verifier") else {
        return invalid_grant("code_verifier is missing");
    };
    if URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes())) != grant.challenge {
        return invalid_grant("code_verifier does not match the code_challenge");
    }
    let (user, scopes, nonce) = (
        grant.user.clone(),
        grant.scopes.clone(),
        grant.nonce.clone(),
    );
    let refresh = issue_refresh(&mut flow, client, &user, &scopes, code.clone());
    let (shape, ttl) = (flow.shape.clone(), flow.access_ttl);
    drop(flow);
    token_response(
        st,
        &shape,
        ttl,
        client,
        &user,
        &scopes,
        nonce.as_deref(),
        &refresh,
    )
}

fn issue_refresh(
    flow: &mut CodeFlow,
    client: &TokenClient,
    user: &str,
    scopes: &[String],
    from_code: String,
) -> String {
    let token = random_token();
    make_room(&mut flow.refresh, |g| g.expires);
    flow.refresh.insert(
        token.clone(),
        RefreshGrant {
            client_id: client.id.clone(),
            scopes: scopes.to_vec(),
            user: user.to_owned(),
            expires: now() + REFRESH_TTL,
            from_code,
        },
    );
    token
}

/// `grant_type=refresh_token`: the old refresh token is spent, a new one is issued.
pub(super) fn refresh(st: &State, client: &TokenClient, form: &HashMap<String, String>) -> Res {
    let Some(presented) = form.get("refresh_token") else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "refresh_token is missing",
        );
    };
    let Ok(mut flow) = st.flow.lock() else {
        return oauth_error(StatusCode::INTERNAL_SERVER_ERROR, "server_error", "lock");
    };
    let t = now();
    let Some(grant) = flow.refresh.get(presented).filter(|g| g.expires > t) else {
        return invalid_grant("the refresh token is unknown, expired or revoked");
    };
    if grant.client_id != client.id {
        return invalid_grant("the refresh token was issued to another client");
    }
    let scopes = match form.get("scope").filter(|s| !s.trim().is_empty()) {
        None => grant.scopes.clone(),
        Some(requested) => {
            let shape = &flow.shape;
            let asked: Vec<String> = requested
                .split_ascii_whitespace()
                .map(|s| token_scope_name(shape, s).to_owned())
                .collect();
            if asked.iter().any(|a| !grant.scopes.contains(a)) {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_scope",
                    "a requested scope exceeds the original grant",
                );
            }
            asked
        }
    };
    let (user, from_code) = (grant.user.clone(), grant.from_code.clone());
    flow.refresh.remove(presented);
    let new_refresh = issue_refresh(&mut flow, client, &user, &scopes, from_code);
    let (shape, ttl) = (flow.shape.clone(), flow.access_ttl);
    drop(flow);
    token_response(st, &shape, ttl, client, &user, &scopes, None, &new_refresh)
}

/// Revokes every refresh token.
pub(super) fn revoke_all(st: &State) {
    if let Ok(mut flow) = st.flow.lock() {
        flow.refresh.clear();
    }
}

/// The number of live refresh tokens.
pub(super) fn live_refresh_tokens(st: &State) -> usize {
    let t = now();
    st.flow
        .lock()
        .map(|f| f.refresh.values().filter(|r| r.expires > t).count())
        .unwrap_or(0)
}

fn split_scopes(scopes: &[String]) -> (String, String) {
    let all = scopes.join(" ");
    let api: Vec<&str> = scopes
        .iter()
        .map(String::as_str)
        .filter(|s| !OIDC_SCOPES.contains(s))
        .collect();
    (all, api.join(" "))
}

/// `(iss, access-token claims)` in `shape`.
fn access_claims(
    st: &State,
    shape: &TokenShape,
    client: &TokenClient,
    user: &str,
    scopes: &[String],
) -> (String, Map<String, Value>) {
    let audience = st
        .default_audience
        .lock()
        .map(|a| a.clone())
        .unwrap_or_default();
    let (all, api) = split_scopes(scopes);
    let acr = if client.public { "0" } else { "1" };
    let (iss, claims) = match shape {
        TokenShape::Keycloak => (
            st.issuer.clone(),
            json!({
                "aud": [audience, "account"], "typ": "Bearer", "azp": client.id,
                "scope": all, "preferred_username": user,
            }),
        ),
        TokenShape::EntraV2 { tenant } => (
            format!("{}/{tenant}/v2.0", st.base),
            json!({
                "aud": audience, "ver": "2.0", "azp": client.id, "azpacr": acr, "tid": tenant,
                "oid": user, "preferred_username": user, "scp": api,
            }),
        ),
        TokenShape::EntraV1 { tenant } => (
            format!("{}/{tenant}/", st.base),
            json!({
                "aud": audience, "ver": "1.0", "appid": client.id, "appidacr": acr, "tid": tenant,
                "oid": user, "upn": user, "unique_name": user, "scp": api,
            }),
        ),
    };
    let Value::Object(mut claims) = claims else {
        return (iss, Map::new());
    };
    claims.insert("iss".into(), json!(iss));
    claims.insert("sub".into(), json!(user));
    (iss, claims)
}

#[allow(clippy::too_many_arguments)]
fn token_response(
    st: &State,
    shape: &TokenShape,
    ttl: i64,
    client: &TokenClient,
    user: &str,
    scopes: &[String],
    nonce: Option<&str>,
    refresh: &str,
) -> Res {
    let t = now();
    let (iss, mut claims) = access_claims(st, shape, client, user, scopes);
    for (k, v) in [
        ("iat", json!(t)),
        ("nbf", json!(t)),
        ("exp", json!(t + ttl)),
    ] {
        claims.insert(k.into(), v);
    }
    claims.insert("jti".into(), json!(uuid::Uuid::new_v4().to_string()));
    let Some(access) = sign_rs256(st, &Value::Object(claims)) else {
        return oauth_error(StatusCode::INTERNAL_SERVER_ERROR, "server_error", "signing");
    };
    let mut body = json!({
        "access_token": access, "token_type": "Bearer", "expires_in": ttl,
        "refresh_token": refresh, "scope": scopes.join(" "),
    });
    if scopes.iter().any(|s| s == "openid") {
        let mut id = json!({
            "iss": iss, "aud": client.id, "sub": user, "iat": t, "nbf": t, "exp": t + ttl,
            "preferred_username": user,
        });
        if let Some(n) = nonce {
            id["nonce"] = json!(n);
        }
        match shape {
            TokenShape::Keycloak => id["typ"] = json!("ID"),
            TokenShape::EntraV2 { tenant } | TokenShape::EntraV1 { tenant } => {
                // Entra ID tokens carry the version, tenant and object id.
                let v2 = matches!(shape, TokenShape::EntraV2 { .. });
                id["ver"] = json!(if v2 { "2.0" } else { "1.0" });
                id["tid"] = json!(tenant);
                id["oid"] = json!(user);
            }
        }
        if let Some(id_token) = sign_rs256(st, &id) {
            body["id_token"] = json!(id_token);
        }
    }
    let mut r = json_res(StatusCode::OK, &body);
    r.headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

#[cfg(test)]
mod tests;
