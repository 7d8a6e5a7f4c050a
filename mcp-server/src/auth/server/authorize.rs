//! `GET /authorize` and `POST /consent`.
//!
//! Order of checks: the client must be known and the `redirect_uri` one it registered (else
//! the 400 error page: nothing is sent to an unverified address); then `response_type=code`,
//! S256 PKCE, `resource` and `scope` (errors go back to the verified redirect URI with the
//! `state`). The request becomes a [`Transaction`]; the consent page is shown unless the
//! browser holds this client's signed consent cookie; then the user is sent to the upstream
//! with our own callback, `state` and PKCE challenge.

use super::cimd::CimdError;
use super::common::{
    Params, ct_eq, found, random_token, redirect_error, redirect_matches, s256, valid_challenge,
    with_query,
};
use super::config::State;
use super::forwarded::ForwardedRejection;
use super::page::{error_page, escape, html_page};
use super::store::{StoredClient, Transaction};
use crate::auth::util::now_secs;
use crate::body::Body;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use http::header::{COOKIE, SET_COOKIE};
use http::request::Parts;
use http::{HeaderValue, Response, StatusCode};
use sha2::Sha256;

fn mac(st: &State, parts: &[&str]) -> String {
    // HMAC takes keys of any length; should that ever fail, fail closed with a value nobody
    // can present.
    let Ok(mut m) = <Hmac<Sha256> as Mac>::new_from_slice(&st.cfg.secret) else {
        return random_token();
    };
    for p in parts {
        m.update(p.as_bytes());
        m.update(b"\x1f");
    }
    URL_SAFE_NO_PAD.encode(m.finalize().into_bytes())
}

/// The CSRF token of the consent form of transaction `tx`.
pub(crate) fn csrf_token(st: &State, tx: &str) -> String {
    mac(st, &["csrf", tx])
}

/// The client's address (from the transport's `RemoteAddr`).
pub(crate) fn peer_ip(parts: &Parts) -> Option<std::net::IpAddr> {
    parts
        .extensions
        .get::<crate::transport::http::RemoteAddr>()
        .map(|a| a.0.ip())
}

/// `503` with `Retry-After` while metadata-document fetches are saturated.
fn busy_page() -> Response<Body> {
    let mut res = html_page(
        StatusCode::SERVICE_UNAVAILABLE,
        "Busy",
        "<h1>Busy</h1><p>The server is busy; try again in a few seconds.</p>",
    );
    res.headers_mut().insert(
        http::header::RETRY_AFTER,
        HeaderValue::from(BUSY_RETRY_AFTER),
    );
    res
}

fn cookie_name(client_id: &str) -> String {
    format!("mcp_consent_{}", &super::common::hash_hex(client_id)[..16])
}

/// The signed value remembering consent for `client_id` until `exp`.
fn cookie_value(st: &State, client_id: &str, exp: u64) -> String {
    format!(
        "{exp}.{}",
        mac(st, &["consent", client_id, &exp.to_string()])
    )
}

fn has_consent(st: &State, parts: &Parts, client_id: &str) -> bool {
    let name = cookie_name(client_id);
    parts
        .headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .filter(|(n, _)| *n == name)
        .any(|(_, value)| {
            let Some((exp, _)) = value.split_once('.') else {
                return false;
            };
            exp.parse::<u64>()
                .is_ok_and(|e| e > now_secs() && ct_eq(value, &cookie_value(st, client_id, e)))
        })
}

fn consent_cookie(st: &State, client_id: &str) -> Option<HeaderValue> {
    let ttl = st.cfg.consent_ttl.as_secs();
    let value = cookie_value(st, client_id, now_secs() + ttl);
    let secure = if st.cookie_secure() { "; Secure" } else { "" };
    let path = if st.base_path.is_empty() {
        "/"
    } else {
        &st.base_path
    };
    HeaderValue::from_str(&format!(
        "{}={value}; Max-Age={ttl}; Path={path}; HttpOnly; SameSite=Lax{secure}",
        cookie_name(client_id)
    ))
    .ok()
}

/// Why [`find_client`] found no client.
pub(crate) enum NoClient {
    /// Unknown, or an unusable metadata document: a description safe to show.
    Unknown(String),
    /// Too many metadata-document fetches in progress: retry shortly (503).
    Busy,
}

/// Seconds a client is asked to wait when metadata-document fetches are saturated.
pub(crate) const BUSY_RETRY_AFTER: u64 = 5;

/// The client of `client_id`: a registration, or (when enabled) a Client ID Metadata
/// Document for a URL, fetched on behalf of `peer` (its per-address cache bound).
pub(crate) async fn find_client(
    st: &State,
    client_id: &str,
    peer: Option<std::net::IpAddr>,
) -> Result<StoredClient, NoClient> {
    let unknown =
        || NoClient::Unknown("The application is not registered with this server.".into());
    if !client_id.contains("://") {
        return st.cfg.store.client(client_id).await.ok_or_else(unknown);
    }
    let Some(fetcher) = &st.cfg.cimd else {
        return Err(unknown());
    };
    let fetched = match peer {
        Some(ip) => fetcher.fetch_for(client_id, ip).await,
        None => fetcher.fetch(client_id).await,
    };
    let doc = fetched.map_err(|e| match e {
        CimdError::Busy => NoClient::Busy,
        e => NoClient::Unknown(e.description()),
    })?;
    let uris = [("client_uri", doc.client_uri), ("logo_uri", doc.logo_uri)]
        .into_iter()
        .filter_map(|(k, v)| v.map(|v| (k.to_owned(), v)))
        .collect();
    Ok(StoredClient {
        client_id: doc.client_id,
        secret_hash: None,
        auth_method: "none".to_owned(),
        redirect_uris: doc.redirect_uris,
        client_name: doc.client_name,
        scope: doc.scope,
        uris,
        issued_at: now_secs(),
        last_used: None,
    })
}

/// Checks after the redirect URI is known to be good: `Err((error, description))`.
fn check_request(st: &State, p: &Params) -> Result<(), (&'static str, String)> {
    if p.get("response_type") != Some("code") {
        return Err((
            "unsupported_response_type",
            "response_type must be code".into(),
        ));
    }
    if p.get("code_challenge_method") != Some("S256") {
        return Err((
            "invalid_request",
            "PKCE with code_challenge_method=S256 is required".into(),
        ));
    }
    if !p.get("code_challenge").is_some_and(valid_challenge) {
        return Err((
            "invalid_request",
            "code_challenge must be an S256 challenge".into(),
        ));
    }
    if let Some(r) = p.get("resource") {
        if r.trim_end_matches('/') != st.cfg.resource.trim_end_matches('/') {
            return Err((
                "invalid_target",
                "resource is not this server's resource".into(),
            ));
        }
    }
    if let Some(scope) = p.get("scope") {
        let supported = &st.cfg.scopes_supported;
        if scope.len() > 1000
            || (!supported.is_empty()
                && scope
                    .split(' ')
                    .any(|s| !s.is_empty() && !supported.iter().any(|x| x == s)))
        {
            return Err(("invalid_scope", "a requested scope is not supported".into()));
        }
    }
    Ok(())
}

/// `GET /authorize`.
pub(crate) async fn authorize(st: &State, parts: &Parts, owner: String) -> Response<Body> {
    let p = match Params::parse(parts.uri.query().unwrap_or("").as_bytes()) {
        Ok(p) => p,
        Err(d) => return error_page("invalid_request", &d),
    };
    let client = match p.get("client_id") {
        Some(id) => find_client(st, id, peer_ip(parts)).await,
        None => Err(NoClient::Unknown(
            "The request names no application (client_id).".into(),
        )),
    };
    let client = match client {
        Ok(c) => c,
        Err(NoClient::Unknown(d)) => return error_page("invalid_client", &d),
        Err(NoClient::Busy) => return busy_page(),
    };
    let Some(redirect) = p
        .get("redirect_uri")
        .filter(|r| client.redirect_uris.iter().any(|u| redirect_matches(u, r)))
    else {
        return error_page(
            "invalid_request",
            "The redirect URI is missing or not registered for this application.",
        );
    };
    let state = p.get("state");
    if state.is_some_and(|s| s.len() > 1024) {
        return error_page("invalid_request", "The state parameter is too long.");
    }
    if let Err((code, d)) = check_request(st, &p) {
        return redirect_error(redirect, code, &d, state, &st.cfg.issuer);
    }
    let (subject, granted_scopes) = match forwarded_user(st, parts, p.get("scope")) {
        Ok(user) => user,
        Err(rej) => return rejection_page(&rej),
    };
    let tx = Transaction {
        client_id: client.client_id.clone(),
        redirect_uri: redirect.to_owned(),
        state: state.map(str::to_owned),
        code_challenge: p.get("code_challenge").unwrap_or_default().to_owned(),
        scope: p.get("scope").map(str::to_owned),
        resource: p.get("resource").map(str::to_owned),
        upstream_verifier: random_token(),
        consented: false,
        subject,
        granted_scopes,
    };
    let id = random_token();
    if st
        .cfg
        .store
        .put_transaction(&id, tx.clone(), owner)
        .await
        .is_err()
    {
        return redirect_error(
            redirect,
            "temporarily_unavailable",
            "try again later",
            state,
            &st.cfg.issuer,
        );
    }
    if has_consent(st, parts, &client.client_id) {
        let approved = st.cfg.store.consent_transaction(&id).await;
        if let Some(tx) = approved {
            return login(st, &id, &tx).await;
        }
    }
    consent_page(st, &id, &client, &tx)
}

/// The subject and granted scopes a login established, if any.
type LoginUser = (Option<String>, Option<Vec<String>>);

/// The 400/401/403 page for a request the trusted proxy did not vouch for.
fn rejection_page(rej: &ForwardedRejection) -> Response<Body> {
    let body = format!(
        "<h1>Sign-in required</h1><p>{}</p>",
        escape(rej.description())
    );
    html_page(rej.status(), "Sign-in required", &body)
}

/// Built-in mode with a trusted reverse proxy: the user it vouches for, and the scopes granted
/// (requested ∩ the user's, or all the user's when none were requested). `Ok((None, None))`
/// in every other mode; `Err` is the 401/403 page.
fn forwarded_user(
    st: &State,
    parts: &Parts,
    requested: Option<&str>,
) -> Result<LoginUser, ForwardedRejection> {
    let (Some(_), Some(fw)) = (&st.cfg.builtin, &st.cfg.forwarded) else {
        return Ok((None, None));
    };
    let user = fw.authenticate(parts)?;
    let granted = match requested {
        Some(r) => r
            .split(' ')
            .filter(|s| !s.is_empty() && user.scopes.iter().any(|u| u == s))
            .map(str::to_owned)
            .collect(),
        None => user.scopes.clone(),
    };
    Ok((Some(user.subject), Some(granted)))
}

fn consent_page(st: &State, id: &str, client: &StoredClient, tx: &Transaction) -> Response<Body> {
    let name = client
        .client_name
        .as_deref()
        .unwrap_or("An unnamed application");
    let host = url::Url::parse(&tx.redirect_uri)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_else(|| tx.redirect_uri.chars().take(100).collect());
    let scopes = match tx.scope.as_deref() {
        Some(s) => s
            .split(' ')
            .filter(|s| !s.is_empty())
            .map(|s| format!("<li><code>{}</code></li>", escape(s)))
            .collect::<String>(),
        None => "<li>the default access of this server</li>".to_owned(),
    };
    let body = format!(
        "<h1>Allow access?</h1>\
         <p><strong>{name}</strong> (client <code>{cid}</code>) wants to access this MCP server \
         on your behalf. After you sign in, you will be sent back to <strong>{host}</strong>.</p>\
         <p>Requested access:</p><ul>{scopes}</ul>\
         <form method=\"post\" action=\"{action}\">\
         <input type=\"hidden\" name=\"tx\" value=\"{id}\">\
         <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
         <button type=\"submit\" name=\"decision\" value=\"approve\">Allow</button>\
         <button type=\"submit\" name=\"decision\" value=\"deny\">Deny</button></form>\
         <p><small>Only allow applications you trust and recognise.</small></p>",
        name = escape(name),
        cid = escape(&client.client_id),
        host = escape(&host),
        action = escape(&st.path("/consent")),
        id = escape(id),
        csrf = escape(&csrf_token(st, id)),
    );
    html_page(StatusCode::OK, "Allow access?", &body)
}

/// `POST /consent` with the form body already read.
pub(crate) async fn consent(st: &State, parts: &Parts, body: &[u8]) -> Response<Body> {
    let Ok(p) = Params::parse(body) else {
        return error_page("invalid_request", "A form field is repeated.");
    };
    let (Some(id), Some(csrf)) = (p.get("tx"), p.get("csrf")) else {
        return error_page("invalid_request", "The consent form is incomplete.");
    };
    if !ct_eq(csrf, &csrf_token(st, id)) {
        return error_page("invalid_request", "The consent form is not valid.");
    }
    let decision = p.get("decision");
    if decision == Some("deny") {
        let Some(tx) = st
            .cfg
            .store
            .take_transaction(id)
            .await
            .filter(|t| !t.consented)
        else {
            return error_page(
                "invalid_request",
                "This authorization request has expired or was already answered.",
            );
        };
        audit(&tx.client_id, "consent denied");
        return redirect_error(
            &tx.redirect_uri,
            "access_denied",
            "the user denied access",
            tx.state.as_deref(),
            &st.cfg.issuer,
        );
    }
    if decision != Some("approve") {
        return error_page("invalid_request", "The consent decision is missing.");
    }
    // Forwarded-user mode: the approving request must come through the proxy for the same user.
    if let Some(tx) = st.cfg.store.transaction(id).await {
        match forwarded_user(st, parts, None) {
            Err(rej) => return rejection_page(&rej),
            Ok((Some(who), _)) if Some(&who) != tx.subject.as_ref() => {
                return error_page(
                    "access_denied",
                    "This authorization request belongs to another user.",
                );
            }
            Ok(_) => {}
        }
    }
    let approved = st.cfg.store.consent_transaction(id).await;
    let Some(tx) = approved else {
        return error_page(
            "invalid_request",
            "This authorization request has expired or was already answered.",
        );
    };
    audit(&tx.client_id, "consent approved");
    let mut res = login(st, id, &tx).await;
    if let Some(cookie) = consent_cookie(st, &tx.client_id) {
        res.headers_mut().append(SET_COOKIE, cookie);
    }
    res
}

fn audit(client: &str, what: &'static str) {
    tracing::info!(target: "mcp_rs_server::auth::audit", client = %client, "{what}");
}

/// After consent: the code at once (forwarded-user mode), else the upstream login with our
/// callback, state and PKCE.
async fn login(st: &State, id: &str, tx: &Transaction) -> Response<Body> {
    if st.cfg.builtin.is_some() && st.cfg.forwarded.is_some() {
        return match st.cfg.store.take_transaction(id).await {
            Some(tx) => super::callback::issue_code(st, &tx, tx.subject.clone(), None).await,
            None => error_page("invalid_request", "This authorization request has expired."),
        };
    }
    let fail = || {
        redirect_error(
            &tx.redirect_uri,
            "server_error",
            "the identity provider is unavailable",
            tx.state.as_deref(),
            &st.cfg.issuer,
        )
    };
    let Some(up) = &st.cfg.upstream else {
        return fail();
    };
    let Some(meta) = up.metadata().await else {
        return fail();
    };
    let Some(endpoint) = meta.authorization_endpoint.as_deref() else {
        return fail();
    };
    let mut scopes: Vec<&str> = tx
        .scope
        .as_deref()
        .unwrap_or("")
        .split(' ')
        .filter(|s| !s.is_empty())
        .collect();
    let openid = st.cfg.builtin.is_some().then_some("openid");
    for s in up.extra_scopes.iter().map(String::as_str).chain(openid) {
        if !scopes.contains(&s) {
            scopes.push(s);
        }
    }
    let callback = st.url("/oauth/callback");
    let challenge = s256(&tx.upstream_verifier);
    let scope = scopes.join(" ");
    let mut params = vec![
        ("response_type", "code"),
        ("client_id", up.client_id.as_str()),
        ("redirect_uri", callback.as_str()),
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
    ];
    if !scope.is_empty() {
        params.push(("scope", &scope));
    }
    if up.send_resource {
        if let Some(r) = &tx.resource {
            params.push(("resource", r));
        }
    }
    found(&with_query(endpoint, &params, Some(id)))
}
