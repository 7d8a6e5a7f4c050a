//! `GET /oauth/callback`: the upstream sends the user back here (the only redirect URI
//! registered there). The upstream code is exchanged server-side with our PKCE verifier and
//! client secret; the client then gets a one-time code of ours, bound to it, its redirect URI
//! and its code challenge. The upstream code and tokens never reach the client's browser.

use super::common::{Params, found, hash_hex, random_token, redirect_error, with_query};
use super::config::{State, UpstreamConfig};
use super::page::error_page;
use super::store::{Grant, Transaction, UpstreamTokens};
use crate::auth::util::now_secs;
use crate::body::Body;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use http::Response;
use http::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE};
use http::request::Parts;
use serde::Deserialize;

/// Upstream errors that mean the user (or the IdP on their behalf) said no.
const DENIALS: [&str; 4] = [
    "access_denied",
    "login_required",
    "consent_required",
    "interaction_required",
];

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    #[serde(default)]
    expires_in: Option<u64>,
    #[serde(default)]
    refresh_token: Option<String>,
    #[serde(default)]
    scope: Option<String>,
    #[serde(default)]
    id_token: Option<String>,
}

/// What an upstream token request returned.
pub(crate) struct Exchanged {
    pub(crate) tokens: UpstreamTokens,
    pub(crate) id_token: Option<String>,
    pub(crate) issuer: String,
}

/// Why an upstream token request failed.
pub(crate) enum UpstreamFailure {
    /// The upstream answered 4xx (e.g. `invalid_grant`): the grant is dead.
    Rejected,
    /// Network trouble, 5xx, or an unusable answer.
    Unavailable,
}

/// A token request to the upstream with our client authentication.
pub(crate) async fn upstream_token(
    up: &UpstreamConfig,
    form: Vec<(&str, &str)>,
) -> Result<UpstreamTokens, UpstreamFailure> {
    upstream_exchange(up, form).await.map(|e| e.tokens)
}

/// [`upstream_token`] with the ID token and the upstream's issuer.
pub(crate) async fn upstream_exchange(
    up: &UpstreamConfig,
    mut form: Vec<(&str, &str)>,
) -> Result<Exchanged, UpstreamFailure> {
    let meta = up.metadata().await.ok_or(UpstreamFailure::Unavailable)?;
    let endpoint = meta
        .token_endpoint
        .clone()
        .ok_or(UpstreamFailure::Unavailable)?;
    let methods = &meta.token_endpoint_auth_methods_supported;
    let use_post = methods.iter().any(|m| m == "client_secret_post")
        && !methods.iter().any(|m| m == "client_secret_basic");
    let mut req = up.client.post(&endpoint).header(ACCEPT, "application/json");
    form.push(("client_id", &up.client_id));
    match (&up.client_secret, use_post) {
        (Some(secret), true) => form.push(("client_secret", secret)),
        (Some(secret), false) => {
            let enc =
                |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
            let creds = format!("{}:{}", enc(&up.client_id), enc(secret));
            req = req.header(AUTHORIZATION, format!("Basic {}", STANDARD.encode(creds)));
        }
        (None, _) => {}
    }
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(form)
        .finish();
    let res = req
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .map_err(|_| UpstreamFailure::Unavailable)?;
    let status = res.status();
    if status.is_client_error() {
        return Err(UpstreamFailure::Rejected);
    }
    if !status.is_success() {
        return Err(UpstreamFailure::Unavailable);
    }
    let bytes = res
        .bytes()
        .await
        .map_err(|_| UpstreamFailure::Unavailable)?;
    if bytes.len() > 256 * 1024 {
        return Err(UpstreamFailure::Unavailable);
    }
    let t: TokenResponse =
        serde_json::from_slice(&bytes).map_err(|_| UpstreamFailure::Unavailable)?;
    Ok(Exchanged {
        tokens: UpstreamTokens {
            access_token: t.access_token,
            expires_in: t.expires_in,
            refresh_token: t.refresh_token,
            scope: t.scope,
        },
        id_token: t.id_token,
        issuer: meta.issuer.clone(),
    })
}

/// The `sub` of an ID token received directly from the upstream's token endpoint over the
/// connection we opened (OpenID Connect Core §3.1.3.7: TLS server validation stands in for the
/// signature check), after checking `iss`, `aud` and `exp`.
fn id_token_subject(id_token: &str, issuer: &str, client_id: &str) -> Option<String> {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let payload = id_token.split('.').nth(1)?;
    let claims: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).ok()?).ok()?;
    let iss_ok = claims["iss"].as_str()?.trim_end_matches('/') == issuer.trim_end_matches('/');
    let aud_ok = match &claims["aud"] {
        serde_json::Value::String(a) => a == client_id,
        serde_json::Value::Array(a) => a.iter().any(|x| x.as_str() == Some(client_id)),
        _ => false,
    };
    let exp_ok = claims["exp"].as_u64().is_some_and(|e| e + 60 > now_secs());
    let sub = claims["sub"]
        .as_str()
        .filter(|s| !s.is_empty() && s.len() <= 255)?;
    (iss_ok && aud_ok && exp_ok).then(|| sub.to_owned())
}

/// Stores a one-time code for `tx` and redirects the user to the client with it.
pub(crate) async fn issue_code(
    st: &State,
    tx: &Transaction,
    subject: Option<String>,
    upstream: Option<UpstreamTokens>,
) -> Response<Body> {
    let code = random_token();
    let grant = Grant {
        family: random_token(),
        client_id: tx.client_id.clone(),
        redirect_uri: tx.redirect_uri.clone(),
        code_challenge: tx.code_challenge.clone(),
        scope: match &tx.granted_scopes {
            Some(granted) => Some(granted.join(" ")),
            None => tx.scope.clone(),
        },
        resource: tx.resource.clone(),
        subject,
        upstream,
        expires_at: now_secs() + st.cfg.code_ttl.as_secs(),
    };
    if st
        .cfg
        .store
        .put_code(&hash_hex(&code), grant)
        .await
        .is_err()
    {
        return redirect_error(
            &tx.redirect_uri,
            "temporarily_unavailable",
            "try again later",
            tx.state.as_deref(),
            &st.cfg.issuer,
        );
    }
    tracing::info!(target: "mcp_rs_server::auth::audit", client = %tx.client_id, "authorization code issued");
    found(&with_query(
        &tx.redirect_uri,
        &[("code", &code), ("iss", &st.cfg.issuer)],
        tx.state.as_deref(),
    ))
}

/// `GET /oauth/callback`.
pub(crate) async fn callback(st: &State, parts: &Parts) -> Response<Body> {
    let Ok(p) = Params::parse(parts.uri.query().unwrap_or("").as_bytes()) else {
        return error_page("invalid_request", "A parameter is repeated.");
    };
    let tx = match p.get("state") {
        Some(id) => st.cfg.store.take_transaction(id).await,
        None => None,
    };
    let Some(tx) = tx.filter(|t| t.consented) else {
        return error_page(
            "invalid_request",
            "This sign-in has expired or is unknown; start again from the application.",
        );
    };
    let back = |code: &str, d: &str| {
        redirect_error(
            &tx.redirect_uri,
            code,
            d,
            tx.state.as_deref(),
            &st.cfg.issuer,
        )
    };
    if let Some(e) = p.get("error") {
        tracing::info!(target: "mcp_rs_server::auth::audit", client = %tx.client_id, "upstream login failed");
        return if DENIALS.contains(&e) {
            back("access_denied", "the sign-in was not completed")
        } else if e == "invalid_scope" {
            back(
                "invalid_scope",
                "the identity provider refused a requested scope",
            )
        } else {
            back("server_error", "the identity provider reported an error")
        };
    }
    let (Some(code), Some(up)) = (p.get("code"), st.cfg.upstream.as_ref()) else {
        return back("server_error", "the identity provider returned no code");
    };
    let callback = st.url("/oauth/callback");
    let form = vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", callback.as_str()),
        ("code_verifier", tx.upstream_verifier.as_str()),
    ];
    let Ok(exchanged) = upstream_exchange(up, form).await else {
        return back("server_error", "the identity provider did not issue tokens");
    };
    if st.cfg.builtin.is_none() {
        return issue_code(st, &tx, None, Some(exchanged.tokens)).await;
    }
    // Built-in mode: only the user's identity is taken from the upstream.
    let subject = exchanged
        .id_token
        .as_deref()
        .and_then(|t| id_token_subject(t, &exchanged.issuer, &up.client_id));
    match subject {
        Some(sub) => issue_code(st, &tx, Some(sub), None).await,
        None => back(
            "server_error",
            "the identity provider returned no usable identity",
        ),
    }
}
