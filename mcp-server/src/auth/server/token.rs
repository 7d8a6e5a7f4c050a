//! `POST /token`: `authorization_code` and `refresh_token` only.
//!
//! The client authenticates as it registered (`none`: `client_id` only; `client_secret_basic`;
//! `client_secret_post`), else `invalid_client` (401, with `WWW-Authenticate: Basic` when Basic
//! was tried). Codes are single use: a replayed code is refused with `invalid_grant` and every
//! refresh token issued from it is revoked. PKCE is verified here. Refresh tokens are bound to
//! their client and rotated on every use; a rotated-out token used again revokes its family.

use super::authorize::{BUSY_RETRY_AFTER, NoClient};
use super::callback::{UpstreamFailure, upstream_token};
use super::common::{OAuthError, Params, ct_eq, hash_hex, random_token, s256, valid_verifier};
use super::config::State;
use super::keys::AccessTokenClaims;
use super::store::{Grant, Redeemed, StoredClient, UpstreamTokens};
use crate::auth::util::{json_response, now_secs};
use crate::body::Body;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use http::header::AUTHORIZATION;
use http::request::Parts;
use http::{Response, StatusCode};
use serde_json::json;

/// Credentials from `Authorization: Basic`, form-decoded (RFC 6749 §2.3.1).
fn basic(parts: &Parts) -> Result<Option<(String, String)>, OAuthError> {
    let Some(h) = parts.headers.get(AUTHORIZATION) else {
        return Ok(None);
    };
    let bad = || OAuthError::invalid_client("Malformed Basic credentials", true);
    let h = h.to_str().map_err(|_| bad())?;
    let Some(b64) = h
        .strip_prefix("Basic ")
        .or_else(|| h.strip_prefix("basic "))
    else {
        return Err(OAuthError::invalid_client(
            "Only Basic client authentication is supported",
            true,
        ));
    };
    let raw = STANDARD.decode(b64.trim()).map_err(|_| bad())?;
    let raw = String::from_utf8(raw).map_err(|_| bad())?;
    let (id, secret) = raw.split_once(':').ok_or_else(bad)?;
    let dec = |s: &str| {
        url::form_urlencoded::parse(format!("x={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    };
    Ok(Some((dec(id), dec(secret))))
}

/// `503 temporarily_unavailable` while metadata-document fetches are saturated.
fn busy() -> OAuthError {
    OAuthError {
        retry_after: Some(BUSY_RETRY_AFTER),
        ..OAuthError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "temporarily_unavailable",
            "The server is busy; try again shortly",
        )
    }
}

/// Authenticates the client as it registered.
async fn client(st: &State, parts: &Parts, p: &Params) -> Result<StoredClient, OAuthError> {
    let basic = basic(parts)?;
    let tried_basic = basic.is_some();
    let fail = |d: &str| OAuthError::invalid_client(d, tried_basic);
    let (id, secret, method) = match (&basic, p.get("client_secret")) {
        (Some(_), Some(_)) => {
            return Err(OAuthError::invalid_request(
                "Use one client authentication method",
            ));
        }
        (Some((id, secret)), None) => {
            if p.get("client_id").is_some_and(|f| f != id) {
                return Err(OAuthError::invalid_request(
                    "client_id does not match the credentials",
                ));
            }
            (id.as_str(), Some(secret.as_str()), "client_secret_basic")
        }
        (None, Some(secret)) => (
            p.require("client_id")
                .map_err(|_| fail("client_id is required"))?,
            Some(secret),
            "client_secret_post",
        ),
        (None, None) => (
            p.get("client_id")
                .ok_or_else(|| fail("Client authentication failed"))?,
            None,
            "none",
        ),
    };
    let peer = super::authorize::peer_ip(parts);
    let c = match super::authorize::find_client(st, id, peer).await {
        Ok(c) => c,
        Err(NoClient::Unknown(_)) => return Err(fail("Client authentication failed")),
        Err(NoClient::Busy) => return Err(busy()),
    };
    if c.auth_method != method {
        return Err(fail("Client authentication failed"));
    }
    if let (Some(secret), Some(hash)) = (secret, &c.secret_hash) {
        if !ct_eq(&hash_hex(secret), hash) {
            return Err(fail("Client authentication failed"));
        }
    }
    Ok(c)
}

/// `POST /token` with the form body already read.
pub(crate) async fn token(st: &State, parts: &Parts, body: &[u8]) -> Response<Body> {
    let result = async {
        let p = Params::parse(body).map_err(OAuthError::invalid_request)?;
        let grant_type = p.require("grant_type")?;
        if grant_type != "authorization_code" && grant_type != "refresh_token" {
            return Err(OAuthError::bad(
                "unsupported_grant_type",
                "Only authorization_code and refresh_token are supported",
            ));
        }
        let client = client(st, parts, &p).await?;
        if grant_type == "authorization_code" {
            code_grant(st, &client, &p).await
        } else {
            refresh_grant(st, &client, &p).await
        }
    }
    .await;
    match result {
        Ok(res) => res,
        Err(e) => e.into_response(),
    }
}

async fn code_grant(
    st: &State,
    client: &StoredClient,
    p: &Params,
) -> Result<Response<Body>, OAuthError> {
    let code = p.require("code")?;
    let redirect_uri = p.require("redirect_uri")?;
    let verifier = p.require("code_verifier")?;
    let grant = match st.cfg.store.redeem_code(&hash_hex(code)).await {
        Redeemed::Fresh(g) => *g,
        Redeemed::Replayed(family) => {
            st.cfg.store.revoke_family(&family).await;
            tracing::warn!(target: "mcp_rs_server::auth::audit", client = %client.client_id, "authorization code replayed; its tokens are revoked");
            return Err(OAuthError::invalid_grant(
                "The authorization code was already used",
            ));
        }
        Redeemed::Missing => {
            return Err(OAuthError::invalid_grant(
                "The authorization code is invalid or expired",
            ));
        }
    };
    if grant.expires_at <= now_secs() {
        return Err(OAuthError::invalid_grant(
            "The authorization code is invalid or expired",
        ));
    }
    if grant.client_id != client.client_id {
        return Err(OAuthError::invalid_grant(
            "The authorization code was issued to another client",
        ));
    }
    if grant.redirect_uri != redirect_uri {
        return Err(OAuthError::invalid_grant(
            "redirect_uri does not match the authorization request",
        ));
    }
    if !valid_verifier(verifier) || !ct_eq(&s256(verifier), &grant.code_challenge) {
        return Err(OAuthError::invalid_grant("PKCE verification failed"));
    }
    check_resource(st, p)?;
    st.cfg.store.touch_client(&client.client_id).await;
    issue(st, grant).await
}

fn check_resource(st: &State, p: &Params) -> Result<(), OAuthError> {
    match p.get("resource") {
        Some(r) if r.trim_end_matches('/') != st.cfg.resource.trim_end_matches('/') => Err(
            OAuthError::bad("invalid_target", "resource is not this server's resource"),
        ),
        _ => Ok(()),
    }
}

async fn refresh_grant(
    st: &State,
    client: &StoredClient,
    p: &Params,
) -> Result<Response<Body>, OAuthError> {
    let token = p.require("refresh_token")?;
    let hash = hash_hex(token);
    let invalid = || OAuthError::invalid_grant("The refresh token is invalid or expired");
    let Some(current) = st.cfg.store.refresh(&hash).await else {
        if let Redeemed::Replayed(family) = st.cfg.store.redeem_refresh(&hash).await {
            st.cfg.store.revoke_family(&family).await;
            tracing::warn!(target: "mcp_rs_server::auth::audit", client = %client.client_id, "rotated refresh token reused; its family is revoked");
        }
        return Err(invalid());
    };
    if current.client_id != client.client_id {
        return Err(OAuthError::invalid_grant(
            "The refresh token was issued to another client",
        ));
    }
    if let Some(scope) = p.get("scope") {
        let granted: Vec<&str> = current.scope.as_deref().unwrap_or("").split(' ').collect();
        if scope
            .split(' ')
            .any(|s| !s.is_empty() && !granted.contains(&s))
        {
            return Err(OAuthError::bad(
                "invalid_scope",
                "The requested scope exceeds the granted scope",
            ));
        }
    }
    check_resource(st, p)?;
    let Redeemed::Fresh(grant) = st.cfg.store.redeem_refresh(&hash).await else {
        return Err(invalid());
    };
    let mut grant = *grant;
    if let Some(old) = grant.upstream.clone() {
        grant.upstream = Some(refresh_upstream(st, &hash, &grant, old).await?);
    }
    st.cfg.store.touch_client(&client.client_id).await;
    issue(st, grant).await
}

/// Refreshes the upstream tokens behind our refresh token.
async fn refresh_upstream(
    st: &State,
    hash: &str,
    grant: &Grant,
    old: UpstreamTokens,
) -> Result<UpstreamTokens, OAuthError> {
    let (Some(up), Some(rt)) = (st.cfg.upstream.as_ref(), old.refresh_token.as_deref()) else {
        return Err(OAuthError::invalid_grant(
            "The refresh token is invalid or expired",
        ));
    };
    let mut form = vec![("grant_type", "refresh_token"), ("refresh_token", rt)];
    if let Some(s) = grant.scope.as_deref() {
        form.push(("scope", s));
    }
    match upstream_token(up, form).await {
        Ok(mut t) => {
            if t.refresh_token.is_none() {
                t.refresh_token = old.refresh_token;
            }
            Ok(t)
        }
        Err(UpstreamFailure::Rejected) => {
            st.cfg.store.revoke_family(&grant.family).await;
            Err(OAuthError::invalid_grant(
                "The refresh token is invalid or expired",
            ))
        }
        Err(UpstreamFailure::Unavailable) => {
            // Give the client its token back: nothing was used up.
            let _ = st.cfg.store.put_refresh(hash, grant.clone()).await;
            Err(OAuthError {
                retry_after: Some(BUSY_RETRY_AFTER),
                ..OAuthError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "temporarily_unavailable",
                    "The identity provider is unavailable; try again later",
                )
            })
        }
    }
}

/// The access token for `grant`: minted (built-in mode) or the upstream's (façade), with its
/// lifetime and scope; and whether a refresh token of ours goes with it.
fn access_token(
    st: &State,
    grant: &Grant,
) -> Result<(String, Option<u64>, Option<String>, bool), OAuthError> {
    let server_error =
        |d: &str| OAuthError::new(StatusCode::INTERNAL_SERVER_ERROR, "server_error", d);
    if let Some(b) = &st.cfg.builtin {
        let Some(sub) = grant.subject.as_deref() else {
            return Err(server_error("No identity for this grant"));
        };
        let scope = grant.scope.clone().unwrap_or_default();
        let claims = AccessTokenClaims::new(&st.cfg.issuer, sub, &st.cfg.resource)
            .scope(scope.clone())
            .client_id(grant.client_id.clone())
            .lifetime(b.access_ttl);
        let token = b
            .keys
            .mint(&claims)
            .map_err(|_| server_error("Signing failed"))?;
        return Ok((token, Some(b.access_ttl.as_secs()), Some(scope), true));
    }
    let Some(up) = &grant.upstream else {
        return Err(server_error("No access token can be issued"));
    };
    let scope = up.scope.clone().or_else(|| grant.scope.clone());
    Ok((
        up.access_token.clone(),
        up.expires_in,
        scope,
        up.refresh_token.is_some(),
    ))
}

/// The token response for `grant`: the access token and a new refresh token of the same
/// family.
async fn issue(st: &State, grant: Grant) -> Result<Response<Body>, OAuthError> {
    let (access, expires_in, scope, with_refresh) = access_token(st, &grant)?;
    let mut body = json!({ "access_token": access, "token_type": "Bearer" });
    if let Some(e) = expires_in {
        body["expires_in"] = json!(e);
    }
    if let Some(s) = scope.filter(|s| !s.is_empty()) {
        body["scope"] = json!(s);
    }
    if with_refresh {
        let rt = random_token();
        let stored = Grant {
            expires_at: now_secs() + st.cfg.refresh_ttl.as_secs(),
            ..grant.clone()
        };
        if st
            .cfg
            .store
            .put_refresh(&hash_hex(&rt), stored)
            .await
            .is_ok()
        {
            body["refresh_token"] = json!(rt);
        }
    }
    tracing::info!(target: "mcp_rs_server::auth::audit", client = %grant.client_id, "tokens issued");
    Ok(json_response(StatusCode::OK, &body, "no-store"))
}
