//! The WorkOS AuthKit, Auth0, Okta and Google presets against the in-repo test issuer dressed
//! as each provider (its JWKS served at the provider's path, tokens with the provider's
//! claims), and the authorization-server metadata pass-through route.

use mcp_rs_server::auth::auth0::Auth0Config;
use mcp_rs_server::auth::google::GoogleConfig;
use mcp_rs_server::auth::okta::OktaConfig;
use mcp_rs_server::auth::testing::TestIssuer;
use mcp_rs_server::auth::workos::AuthKitConfig;
use mcp_rs_server::auth::{
    AuthorizationLayer, AuthorizationResult, ConfigError, JwtValidator, MetadataPassthroughLayer,
    TokenValidator,
};
use mcp_rs_server::body::Body;
use serde_json::json;
use std::time::Duration;
use tower::{Layer, ServiceExt};

const RESOURCE: &str = "https://mcp.example.com/mcp";
const PRM: &str = "https://mcp.example.com/.well-known/oauth-protected-resource/mcp";
const WELL_KNOWN: &str = "/.well-known/oauth-authorization-server";

fn denied(r: AuthorizationResult) -> String {
    match r {
        AuthorizationResult::Unauthorized { description } => description,
        other => panic!("expected 401, got {other:?}"),
    }
}

/// The `WWW-Authenticate` of a request to `/mcp` with `token`, behind `v`.
async fn challenge_for(v: JwtValidator, token: &str) -> (u16, String) {
    let layer = AuthorizationLayer::new(v, RESOURCE).unwrap();
    let svc = layer.layer(tower::service_fn(|_req: http::Request<Body>| async {
        Ok::<_, std::convert::Infallible>(http::Response::new(Body::from("in")))
    }));
    let req = http::Request::post("/mcp")
        .header("authorization", format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap();
    let res = svc.oneshot(req).await.unwrap();
    let h = res
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (res.status().as_u16(), h)
}

fn invalid_token(description: &str) -> String {
    format!(
        r#"Bearer error="invalid_token", error_description="{description}", resource_metadata="{PRM}""#
    )
}

#[tokio::test]
async fn workos_authkit_tokens_are_accepted_exactly_when_they_should_be() {
    let idp = TestIssuer::start().await.unwrap();
    // The test issuer plays the AuthKit domain; its keys are read at `<domain>/oauth2/jwks`.
    let authkit = AuthKitConfig::new(idp.issuer(), RESOURCE);
    let v = authkit.validator().unwrap();
    let claims = |aud: &str, iss: &str| {
        json!({"iss": iss, "aud": aud, "sub": "user_01HXYZ", "sid": "session_01",
               "org_id": "org_01", "scope": "openid mcp:read", "permissions": ["notes:write"]})
    };
    let ok = idp.custom(claims(RESOURCE, idp.issuer())).sign();
    let who = v.validate_shared(&ok).await.unwrap();
    assert_eq!(who.subject, "user_01HXYZ");
    assert_eq!(
        who.scopes.to_space_separated(),
        "mcp:read notes:write openid"
    );
    assert_eq!(idp.jwks_fetch_count(), 1);

    // A client that did not send `resource`: aud is its client id.
    let client_aud = idp.custom(claims("client_01ABC", idp.issuer())).sign();
    assert_eq!(
        denied(v.validate(&client_aud).await),
        "The access token is not intended for this resource"
    );
    let lenient = authkit
        .clone()
        .accept_client_audiences(["client_01ABC"])
        .validator()
        .unwrap();
    assert_eq!(
        lenient.validate_shared(&client_aud).await.unwrap().subject,
        "user_01HXYZ"
    );
    // The same client's ID token (aud = its client id too) is not an access token.
    for marker in [
        json!({"nonce": "n-0S6_WzA2Mj"}),
        json!({"at_hash": "HK6E_P6Dh8Y93mRNtsDB1Q"}),
    ] {
        let mut c = json!({"iss": idp.issuer(), "aud": "client_01ABC", "sub": "user_01HXYZ",
                           "email": "a@example.com"});
        c.as_object_mut()
            .unwrap()
            .extend(marker.as_object().unwrap().clone());
        let id_token = idp.custom(c).sign();
        assert_eq!(
            denied(lenient.validate(&id_token).await),
            "The token is not an access token",
            "{marker}"
        );
    }
    // Another AuthKit environment (staging vs production) is another issuer.
    let staging = idp
        .custom(claims(RESOURCE, "https://acme-staging.authkit.app"))
        .sign();
    assert_eq!(denied(v.validate(&staging).await), "Untrusted token issuer");
    assert_eq!(
        challenge_for(v, &client_aud).await,
        (
            401,
            invalid_token("The access token is not intended for this resource")
        )
    );
}

#[test]
fn workos_authkit_issuer_and_metadata_are_derived_from_the_domain() {
    let a = AuthKitConfig::new("acme.authkit.app/", RESOURCE);
    assert_eq!(a.issuer().unwrap(), "https://acme.authkit.app");
    assert_eq!(
        a.metadata_passthrough().unwrap().upstream_url(),
        "https://acme.authkit.app/.well-known/oauth-authorization-server"
    );
    assert_eq!(
        serde_json::to_value(a.protected_resource_metadata()).unwrap(),
        json!({"resource": RESOURCE, "authorization_servers": ["https://acme.authkit.app"],
               "bearer_methods_supported": ["header"]})
    );
    assert_eq!(
        AuthKitConfig::new("http://acme.authkit.app", RESOURCE)
            .validator()
            .unwrap_err(),
        ConfigError::InvalidUrl {
            option: "domain",
            message: "scheme must be https".into()
        }
    );
    assert_eq!(
        AuthKitConfig::new("acme.authkit.app", "")
            .validator()
            .unwrap_err(),
        ConfigError::Missing("resource")
    );
}

type Svc = tower::util::BoxCloneService<
    http::Request<Body>,
    http::Response<Body>,
    std::convert::Infallible,
>;

fn passthrough(layer: MetadataPassthroughLayer) -> Svc {
    tower::util::BoxCloneService::new(layer.layer(tower::service_fn(
        |_req: http::Request<Body>| async {
            Ok::<_, std::convert::Infallible>(http::Response::new(Body::from("inner")))
        },
    )))
}

async fn get(svc: &Svc, path: &str) -> (u16, http::HeaderMap, bytes::Bytes) {
    let req = http::Request::get(path).body(Body::empty()).unwrap();
    let res = svc.clone().oneshot(req).await.unwrap();
    let (parts, body) = res.into_parts();
    let body = http_body_util::BodyExt::collect(body)
        .await
        .unwrap()
        .to_bytes();
    (parts.status.as_u16(), parts.headers, body)
}

#[tokio::test]
async fn the_passthrough_route_serves_the_provider_document_byte_for_byte() {
    let idp = TestIssuer::start().await.unwrap();
    let upstream = reqwest::get(format!("{}{WELL_KNOWN}", idp.base_url()))
        .await
        .unwrap();
    let upstream_body = upstream.bytes().await.unwrap();
    let svc = passthrough(
        AuthKitConfig::new(idp.issuer(), RESOURCE)
            .metadata_passthrough()
            .unwrap(),
    );
    let (status, headers, body) = get(&svc, WELL_KNOWN).await;
    assert_eq!(status, 200);
    assert_eq!(body, upstream_body);
    assert_eq!(headers["content-type"], "application/json");
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(headers["cache-control"], "public, max-age=300");
    // Other paths reach the inner service; other methods are 405.
    assert_eq!(get(&svc, "/mcp").await.2, "inner");
    let post = http::Request::post(WELL_KNOWN).body(Body::empty()).unwrap();
    let res = svc.clone().oneshot(post).await.unwrap();
    assert_eq!(res.status(), 405);
    assert_eq!(res.headers()["allow"], "GET, HEAD");
    // Cached: the provider going down within the TTL does not change the answer.
    idp.set_outage(true);
    assert_eq!(get(&svc, WELL_KNOWN).await.2, upstream_body);
}

/// An upstream that answers every request with `response` (raw HTTP/1.1).
async fn canned_upstream(
    response: &'static str,
) -> (std::net::SocketAddr, tokio::task::JoinHandle<()>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf).await;
            let _ = s.write_all(response.as_bytes()).await;
            let _ = s.shutdown().await;
        }
    });
    (addr, task)
}

#[tokio::test]
async fn the_passthrough_route_never_copies_the_providers_headers() {
    // A provider (or whoever answers for it) declaring HTML, setting a cookie and a CORS
    // grant: the JSON object is served, as application/json, and nothing else is copied.
    let body = r#"{"issuer":"x","note":"<script>alert(1)</script>"}"#;
    let response: &'static str = Box::leak(
        format!(
            "HTTP/1.1 200 OK\r\ncontent-type: text/html\r\nset-cookie: sid=upstream\r\n\
             access-control-allow-origin: *\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        )
        .into_boxed_str(),
    );
    let (addr, task) = canned_upstream(response).await;
    let svc =
        passthrough(MetadataPassthroughLayer::new(format!("http://{addr}{WELL_KNOWN}")).unwrap());
    let (status, headers, got) = get(&svc, WELL_KNOWN).await;
    assert_eq!(status, 200);
    assert_eq!(got, body);
    assert_eq!(headers["content-type"], "application/json");
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert!(headers.get("set-cookie").is_none());
    assert!(headers.get("access-control-allow-origin").is_none());
    task.abort();
}

#[tokio::test]
async fn the_passthrough_route_refuses_a_document_of_another_issuer() {
    // What another environment (or a misrouted host) answers: a valid document naming
    // another issuer. For an issuer's layer it is not served: 503 as for an outage.
    let body = r#"{"issuer":"https://staging.authkit.app","authorization_endpoint":"https://staging.authkit.app/oauth2/authorize"}"#;
    let response: &'static str = Box::leak(
        format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\
             connection: close\r\n\r\n{body}",
            body.len()
        )
        .into_boxed_str(),
    );
    let (addr, task) = canned_upstream(response).await;
    let svc = passthrough(MetadataPassthroughLayer::for_issuer(&format!("http://{addr}")).unwrap());
    assert_unavailable(&svc).await;
    // A layer given the URL alone serves it (it has no issuer to compare with).
    let svc =
        passthrough(MetadataPassthroughLayer::new(format!("http://{addr}{WELL_KNOWN}")).unwrap());
    assert_eq!(get(&svc, WELL_KNOWN).await.2, body);
    task.abort();
}

async fn assert_unavailable(svc: &Svc) {
    let (status, headers, body) = get(svc, WELL_KNOWN).await;
    assert_eq!(status, 503);
    assert_eq!(headers["retry-after"], "10");
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&body).unwrap(),
        json!({"error": "temporarily_unavailable",
               "error_description": "The authorization server metadata is temporarily unavailable"})
    );
}

#[tokio::test]
async fn the_passthrough_route_is_503_with_retry_after_when_the_provider_is_down() {
    // The provider answers 503.
    let idp = TestIssuer::start().await.unwrap();
    idp.set_outage(true);
    let svc = passthrough(MetadataPassthroughLayer::for_issuer(idp.issuer()).unwrap());
    assert_unavailable(&svc).await;
    // Within Retry-After the provider is not asked again, even when it is back.
    idp.set_outage(false);
    let (status, headers, _) = get(&svc, WELL_KNOWN).await;
    assert_eq!(status, 503);
    let wait: u64 = headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=10).contains(&wait), "{wait}");

    // Nothing listens.
    let addr = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let svc = passthrough(MetadataPassthroughLayer::for_issuer(&format!("http://{addr}")).unwrap());
    assert_unavailable(&svc).await;

    // It accepts the connection and never answers: the fetch timeout ends the wait.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = silent.local_addr().unwrap();
    let hold = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((s, _)) = silent.accept().await {
            held.push(s);
        }
    });
    let layer = MetadataPassthroughLayer::for_issuer(&format!("http://{addr}"))
        .unwrap()
        .timeout(Duration::from_millis(200));
    let started = std::time::Instant::now();
    assert_unavailable(&passthrough(layer)).await;
    assert!(started.elapsed() < Duration::from_secs(2));
    hold.abort();

    // A document over the size cap is not served.
    let big = passthrough(
        MetadataPassthroughLayer::for_issuer(idp.issuer())
            .unwrap()
            .max_bytes(64),
    );
    assert_unavailable(&big).await;
}

#[tokio::test]
async fn auth0_tokens_need_the_trailing_slash_issuer_and_the_api_identifier() {
    let idp = TestIssuer::start().await.unwrap();
    // The test issuer plays the tenant domain; keys at `<issuer>.well-known/jwks.json`.
    let auth0 = Auth0Config::new(idp.issuer(), RESOURCE);
    let iss = auth0.issuer().unwrap();
    assert_eq!(iss, format!("{}/", idp.issuer()));
    let v = auth0.validator().unwrap();
    let claims = |iss: &str, aud: serde_json::Value| {
        json!({"iss": iss, "aud": aud, "sub": "auth0|64f1", "azp": "Xy12client",
               "scope": "openid mcp:read", "permissions": ["mcp:write"]})
    };
    let ok = idp
        .custom(claims(&iss, json!([RESOURCE, format!("{iss}userinfo")])))
        .sign();
    let who = v.validate_shared(&ok).await.unwrap();
    assert_eq!(who.subject, "auth0|64f1");
    assert_eq!(who.scopes.to_space_separated(), "mcp:read mcp:write openid");
    assert_eq!(who.client_id.as_deref(), Some("Xy12client"));

    let no_slash = idp.custom(claims(idp.issuer(), json!(RESOURCE))).sign();
    assert_eq!(
        denied(v.validate(&no_slash).await),
        "Untrusted token issuer"
    );
    // An ID token: aud is the application's client id.
    let id_token = idp.custom(claims(&iss, json!("Xy12client"))).sign();
    assert_eq!(
        denied(v.validate(&id_token).await),
        "The access token is not intended for this resource"
    );

    for domain in [
        "acme.us.auth0.com",
        "https://acme.us.auth0.com",
        "https://acme.us.auth0.com/",
    ] {
        assert_eq!(
            Auth0Config::new(domain, RESOURCE).issuer().unwrap(),
            "https://acme.us.auth0.com/"
        );
    }
    assert_eq!(
        Auth0Config::new("https://acme.us.auth0.com/api", RESOURCE)
            .issuer()
            .unwrap_err(),
        ConfigError::InvalidUrl {
            option: "domain",
            message: "an Auth0 domain has no path".into()
        }
    );
    assert_eq!(
        Auth0Config::new("acme.us.auth0.com", "")
            .validator()
            .unwrap_err(),
        ConfigError::Missing("audience")
    );
}

#[tokio::test]
async fn okta_tokens_need_the_custom_server_issuer_without_slash_and_scp() {
    let idp = TestIssuer::start_with_path("/oauth2/default")
        .await
        .unwrap();
    // Given with a trailing slash; Okta's `iss` has none. Keys at `<issuer>/v1/keys`.
    let okta = OktaConfig::new(format!("{}/", idp.issuer()), "api://mcp");
    assert_eq!(okta.issuer().unwrap(), idp.issuer());
    let v = okta.validator().unwrap();
    let claims = |iss: &str, aud: &str| {
        json!({"ver": 1, "iss": iss, "aud": aud, "sub": "alice@example.com",
               "cid": "0oa1client", "uid": "00u1", "scp": ["mcp:read", "mcp:write"]})
    };
    let ok = idp.custom(claims(idp.issuer(), "api://mcp")).sign();
    let who = v.validate_shared(&ok).await.unwrap();
    assert_eq!(who.subject, "alice@example.com");
    assert_eq!(who.scopes.to_space_separated(), "mcp:read mcp:write");
    assert_eq!(who.client_id.as_deref(), Some("0oa1client"));

    // allowed_clients: only the named applications of the tenant (Okta's `cid`).
    let only_other_app = OktaConfig::new(idp.issuer(), "api://mcp")
        .allowed_clients(["0oa2other"])
        .validator()
        .unwrap();
    assert_eq!(
        denied(only_other_app.validate(&ok).await),
        "The token was issued to a client that is not allowed"
    );
    let only_this_app = OktaConfig::new(idp.issuer(), "api://mcp")
        .allowed_clients(["0oa1client"])
        .validator()
        .unwrap();
    assert!(only_this_app.validate_shared(&ok).await.is_ok());

    let slash = idp
        .custom(claims(&format!("{}/", idp.issuer()), "api://mcp"))
        .sign();
    assert_eq!(denied(v.validate(&slash).await), "Untrusted token issuer");
    let other_api = idp.custom(claims(idp.issuer(), "api://default")).sign();
    assert_eq!(
        denied(v.validate(&other_api).await),
        "The access token is not intended for this resource"
    );
    let e = OktaConfig::new("https://acme.okta.com", "api://mcp")
        .validator()
        .unwrap_err();
    assert!(
        matches!(e, ConfigError::Invalid(ref m) if m.starts_with("Okta issuer: use a custom authorization server")),
        "{e}"
    );
}

#[tokio::test]
async fn google_identity_tokens_for_this_resource_pass_and_sign_in_id_tokens_are_401() {
    let idp = TestIssuer::start().await.unwrap();
    // Google's issuer in the tokens; only the keys come from the test issuer.
    let v = GoogleConfig::new(RESOURCE)
        .jwks_url(idp.jwks_url())
        .allowed_emails(["ci@proj.iam.gserviceaccount.com"])
        .validator()
        .unwrap();
    let claims = |iss: &str, aud: &str| {
        json!({"iss": iss, "aud": aud, "sub": "110248495921238986420",
               "azp": "ci@proj.iam.gserviceaccount.com", "email": "ci@proj.iam.gserviceaccount.com",
               "email_verified": true})
    };
    for iss in ["https://accounts.google.com", "accounts.google.com"] {
        let ok = idp.custom(claims(iss, RESOURCE)).sign();
        let who = v.validate_shared(&ok).await.unwrap();
        assert_eq!(who.subject, "110248495921238986420");
        assert_eq!(who.issuer.as_deref(), Some(iss));
        assert!(who.scopes.is_empty());
    }
    let mut sign_in = claims(
        "https://accounts.google.com",
        "1234-abc.apps.googleusercontent.com",
    );
    sign_in["nonce"] = json!("n-0S6_WzA2Mj");
    let id_token = idp.custom(sign_in).sign();
    let why = "The token's audience is not this resource: a Google ID token issued to an OAuth client is not an access token";
    assert_eq!(denied(v.validate(&id_token).await), why);
    let elsewhere = idp.custom(claims("https://evil.example", RESOURCE)).sign();
    assert_eq!(
        denied(v.validate(&elsewhere).await),
        "Untrusted token issuer"
    );
    assert_eq!(challenge_for(v, &id_token).await, (401, invalid_token(why)));
}

#[tokio::test]
async fn google_tokens_of_accounts_outside_the_configured_domains_and_emails_are_401() {
    let idp = TestIssuer::start().await.unwrap();
    let google = GoogleConfig::new(RESOURCE).jwks_url(idp.jwks_url());
    // Without naming who may come in, the preset refuses to build: anyone can mint a Google
    // identity token for any audience.
    assert_eq!(
        google.clone().validator().unwrap_err(),
        ConfigError::Missing("hosted_domains or allowed_emails")
    );
    let v = google
        .clone()
        .hosted_domains(["Example.com"])
        .allowed_emails(["CI@proj.iam.gserviceaccount.com"])
        .validator()
        .unwrap();
    let token = |extra: serde_json::Value| {
        let mut c = json!({"iss": "https://accounts.google.com", "aud": RESOURCE,
                           "sub": "1102484959212", "email_verified": true});
        c.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        idp.custom(c).sign()
    };
    let why = mcp_rs_server::auth::google::ACCOUNT_NOT_ALLOWED_ERROR;
    assert_eq!(why, "The token's Google account is not allowed here");
    // Allowed: the Workspace domain, or a listed, verified email.
    let ok = token(json!({"hd": "example.com", "email": "bob@example.com"}));
    assert_eq!(
        v.validate_shared(&ok).await.unwrap().subject,
        "1102484959212"
    );
    let ok = token(json!({"email": "ci@proj.iam.gserviceaccount.com"}));
    assert!(v.validate_shared(&ok).await.is_ok());
    // Refused: an attacker's own service account, an unverified email, another domain.
    for extra in [
        json!({"email": "x@attacker-proj.iam.gserviceaccount.com"}),
        json!({"email": "ci@proj.iam.gserviceaccount.com", "email_verified": false}),
        json!({"email": "ci@proj.iam.gserviceaccount.com", "email_verified": "true"}),
        json!({"hd": "example.com.evil", "email": "eve@example.com.evil"}),
        json!({}),
    ] {
        let t = token(extra.clone());
        assert_eq!(denied(v.validate(&t).await), why, "{extra}");
    }
    let t = token(json!({"email": "x@attacker-proj.iam.gserviceaccount.com"}));
    assert_eq!(challenge_for(v, &t).await, (401, invalid_token(why)));
    // Every account, only by name.
    let any = mcp_rs_server::auth::insecure::accept_any_google_account(google)
        .validator()
        .unwrap();
    assert!(any.validate_shared(&t).await.is_ok());
}
