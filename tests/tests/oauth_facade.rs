//! The authorization-server façade of the Entra example, end to end against the in-repo test
//! IdP: registration rules, the authorization request checks, consent (CSRF, single use,
//! cookie per client, denial), the upstream leg with our own callback, the token endpoint
//! (client authentication, PKCE, code replay, refresh rotation and binding), rate limits.

mod oauth_common;

use mcp_tests::bearer::Client;
use oauth_common::*;
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_flow_public_client_then_mcp_calls_and_refresh() {
    let idp = idp().await;
    let ex = start(&idp).await;
    let client = ex.public_client("<b>Evil</b> & Co").await;

    // Consent page: escaped name, redirect host, scopes; strict headers.
    let res = ex.authorize(&ex.authorize_query(&client, "st"), None).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["cache-control"], "no-store");
    assert_eq!(res.headers()["x-frame-options"], "DENY");
    assert!(
        res.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .starts_with("default-src 'none'")
    );
    let page = res.text().await.unwrap();
    assert!(
        page.contains("<strong>&lt;b&gt;Evil&lt;/b&gt; &amp; Co</strong>"),
        "{page}"
    );
    assert!(!page.contains("<b>Evil</b>"));
    assert!(page.contains("<strong>127.0.0.1</strong>"), "{page}");
    assert!(
        page.contains(&format!("<code>api://{APP}/mcp.write</code>")),
        "{page}"
    );

    // Approval: to the IdP with OUR client id, callback, state and PKCE; cookie remembered.
    let tx = hidden(&page, "tx");
    let res = ex.consent(&tx, &hidden(&page, "csrf"), "approve").await;
    assert_eq!(res.status(), 302);
    let cookie = res.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(cookie.starts_with("mcp_consent_"), "{cookie}");
    assert!(
        cookie.ends_with("; Max-Age=2592000; Path=/; HttpOnly; SameSite=Lax"),
        "{cookie}"
    );
    let to_idp = location(&res);
    assert!(
        to_idp.starts_with(&idp.authorization_endpoint()),
        "{to_idp}"
    );
    let q = query_of(&to_idp);
    assert_eq!(q["client_id"], APP);
    assert_eq!(q["redirect_uri"], format!("{}/oauth/callback", ex.origin));
    assert_eq!(q["state"], tx);
    assert_eq!(q["code_challenge_method"], "S256");
    assert_ne!(q["code_challenge"], CHALLENGE, "our own PKCE pair upstream");
    assert_eq!(q["scope"], format!("{} offline_access", scope()));
    assert!(!q.contains_key("resource"));

    // IdP → our callback → the client, with our own code (not the IdP's), state and iss.
    let res = ex.get(&to_idp, None).await;
    let to_callback = location(&res);
    let upstream_code = query_of(&to_callback)["code"].clone();
    let res = ex.get(&to_callback, None).await;
    assert_eq!(res.status(), 302);
    let back = location(&res);
    assert!(back.starts_with(&format!("{REDIRECT}?code=")), "{back}");
    let q = query_of(&back);
    assert_eq!(q.len(), 3, "{back}");
    assert_eq!(q["state"], "st");
    assert_eq!(q["iss"], ex.origin);
    assert_ne!(q["code"], upstream_code);
    assert_eq!(q["code"].len(), 43);

    // Token: the IdP's access token (for this API) and a refresh token of ours.
    let (status, tok) = ex.exchange(&client, &q["code"]).await;
    assert_eq!(status, 200, "{tok}");
    assert_eq!(tok["token_type"], "Bearer");
    assert_eq!(tok["expires_in"], 300);
    let access = tok["access_token"].as_str().unwrap().to_owned();
    let rt = tok["refresh_token"].as_str().unwrap().to_owned();
    assert_eq!(rt.len(), 43);

    // The token works on the MCP endpoint.
    let mut mcp = Client::new(&ex.url, &access);
    assert_eq!(mcp.initialize("facade-test").await.status, 200);
    let r = mcp.call("whoami", json!({})).await;
    assert_eq!((r.status, r.challenge.as_str()), (200, ""));
    let who = &r.body["result"]["structuredContent"];
    assert_eq!(who["subject"], "test-user", "{}", r.body);
    assert_eq!(who["client_id"], APP);

    // Refresh rotates; the old one is then dead, and reusing it revokes the new one too.
    let (status, t2) = ex.refresh(&client, &rt).await;
    assert_eq!(status, 200, "{t2}");
    let rt2 = t2["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(rt2, rt);
    assert!(t2["access_token"].is_string());
    let dead = err("invalid_grant", "The refresh token is invalid or expired");
    assert_eq!(ex.refresh(&client, &rt).await, (400, dead.clone()));
    assert_eq!(ex.refresh(&client, &rt2).await, (400, dead));

    // The remembered consent skips the page for this client only.
    let res = ex
        .authorize(
            &ex.authorize_query(&client, "again"),
            Some(cookie.split(';').next().unwrap()),
        )
        .await;
    assert_eq!(res.status(), 302);
    assert!(location(&res).starts_with(&idp.authorization_endpoint()));
    let other = ex.public_client("other").await;
    let res = ex
        .authorize(
            &ex.authorize_query(&other, "x"),
            Some(cookie.split(';').next().unwrap()),
        )
        .await;
    assert_eq!(res.status(), 200, "another client's cookie does not count");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn codes_and_refresh_tokens_are_bound_to_their_client_and_single_use() {
    let idp = idp().await;
    let ex = start(&idp).await;
    let a = ex.public_client("a").await;
    let b = ex.public_client("b").await;

    // B cannot redeem A's code (and the attempt burns it).
    let code = ex.code_for(&a).await;
    assert_eq!(
        ex.exchange(&b, &code).await,
        (
            400,
            err(
                "invalid_grant",
                "The authorization code was issued to another client"
            )
        )
    );
    assert_eq!(
        ex.exchange(&a, &code).await,
        (
            400,
            err("invalid_grant", "The authorization code was already used")
        )
    );

    // A replayed code revokes the refresh token issued for it.
    let code = ex.code_for(&a).await;
    let (status, tok) = ex.exchange(&a, &code).await;
    assert_eq!(status, 200);
    let rt = tok["refresh_token"].as_str().unwrap().to_owned();
    assert_eq!(
        ex.exchange(&a, &code).await,
        (
            400,
            err("invalid_grant", "The authorization code was already used")
        )
    );
    assert_eq!(
        ex.refresh(&a, &rt).await,
        (
            400,
            err("invalid_grant", "The refresh token is invalid or expired")
        )
    );

    // B cannot use A's refresh token; A still can afterwards.
    let code = ex.code_for(&a).await;
    let rt = ex.exchange(&a, &code).await.1["refresh_token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        ex.refresh(&b, &rt).await,
        (
            400,
            err(
                "invalid_grant",
                "The refresh token was issued to another client"
            )
        )
    );
    assert_eq!(ex.refresh(&a, &rt).await.0, 200);

    // Wrong verifier, wrong redirect URI, unknown code, missing verifier.
    for (form, body) in [
        (
            vec![("code_verifier", "x".repeat(43))],
            err("invalid_grant", "PKCE verification failed"),
        ),
        (
            vec![("redirect_uri", "http://127.0.0.1:3334/other".to_owned())],
            err(
                "invalid_grant",
                "redirect_uri does not match the authorization request",
            ),
        ),
    ] {
        let code = ex.code_for(&a).await;
        let mut f: Vec<(&str, String)> = vec![
            ("grant_type", "authorization_code".into()),
            ("client_id", a.clone()),
            ("code", code),
            ("redirect_uri", REDIRECT.into()),
            ("code_verifier", VERIFIER.into()),
        ];
        for (k, v) in form {
            f.retain(|(k2, _)| *k2 != k);
            f.push((k, v));
        }
        let f: Vec<(&str, &str)> = f.iter().map(|(k, v)| (*k, v.as_str())).collect();
        assert_eq!(ex.token(&f).await, (400, body));
    }
    assert_eq!(
        ex.exchange(&a, "not-a-code").await,
        (
            400,
            err(
                "invalid_grant",
                "The authorization code is invalid or expired"
            )
        )
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consent_is_csrf_protected_single_use_and_can_be_denied() {
    let idp = idp().await;
    let ex = start(&idp).await;
    let client = ex.public_client("c").await;
    let page = ex
        .authorize(&ex.authorize_query(&client, "s1"), None)
        .await
        .text()
        .await
        .unwrap();
    let tx = hidden(&page, "tx");
    let csrf = hidden(&page, "csrf");

    // A forged token, and a token of another transaction, are refused.
    let res = ex.consent(&tx, "forged", "approve").await;
    assert_eq!(res.status(), 400);
    let other = ex
        .authorize(&ex.authorize_query(&client, "s2"), None)
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(
        ex.consent(&tx, &hidden(&other, "csrf"), "approve")
            .await
            .status(),
        400
    );

    // Deny: back to the client with access_denied and the state.
    let res = ex.consent(&tx, &csrf, "deny").await;
    assert_eq!(res.status(), 302);
    assert_eq!(
        location(&res),
        format!(
            "{REDIRECT}?error=access_denied&error_description=the+user+denied+access&iss={}&state=s1",
            url::form_urlencoded::byte_serialize(ex.origin.as_bytes()).collect::<String>()
        )
    );
    // Single use: the same form again is refused.
    let res = ex.consent(&tx, &csrf, "approve").await;
    assert_eq!(res.status(), 400);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("expired or was already answered")
    );

    // Approve twice: the second is refused.
    let (tx2, csrf2) = (hidden(&other, "tx"), hidden(&other, "csrf"));
    assert_eq!(ex.consent(&tx2, &csrf2, "approve").await.status(), 302);
    assert_eq!(ex.consent(&tx2, &csrf2, "approve").await.status(), 400);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upstream_errors_reach_the_client_as_access_denied_or_server_error() {
    let idp = idp().await;
    let ex = start(&idp).await;
    let client = ex.public_client("c").await;
    let iss: String = url::form_urlencoded::byte_serialize(ex.origin.as_bytes()).collect();
    for (upstream, expected) in [
        (
            "access_denied",
            format!(
                "{REDIRECT}?error=access_denied&error_description=the+sign-in+was+not+completed&iss={iss}&state=st"
            ),
        ),
        (
            "server_error",
            format!(
                "{REDIRECT}?error=server_error&error_description=the+identity+provider+reported+an+error&iss={iss}&state=st"
            ),
        ),
    ] {
        idp.fail_next_authorize(upstream);
        let page = ex
            .authorize(&ex.authorize_query(&client, "st"), None)
            .await
            .text()
            .await
            .unwrap();
        let (_, back) = ex.approve_and_login(&page).await;
        assert_eq!(back, expected);
    }
    // A callback with an unknown state: the error page, no redirect.
    let res = ex
        .get(
            &format!("{}/oauth/callback?state=nope&code=x", ex.origin),
            None,
        )
        .await;
    assert_eq!(res.status(), 400);
    assert!(res.headers().get("location").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authorize_checks_resource_scope_and_pkce() {
    let idp = idp().await;
    let ex = start(&idp).await;
    let client = ex.public_client("c").await;
    let ok = ex.authorize_query(&client, "st");
    let iss: String = url::form_urlencoded::byte_serialize(ex.origin.as_bytes()).collect();
    let resource: String = url::form_urlencoded::byte_serialize(ex.url.as_bytes()).collect();
    for (query, error, description) in [
        (
            ok.replace(&resource, "https%3A%2F%2Fother.example%2Fmcp"),
            "invalid_target",
            "resource+is+not+this+server%27s+resource",
        ),
        (
            ok.replace("mcp.write", "mcp.everything"),
            "invalid_scope",
            "a+requested+scope+is+not+supported",
        ),
        (
            ok.replace("S256", "plain"),
            "invalid_request",
            "PKCE+with+code_challenge_method%3DS256+is+required",
        ),
        (
            ok.replace(CHALLENGE, "short"),
            "invalid_request",
            "code_challenge+must+be+an+S256+challenge",
        ),
        (
            ok.replace("response_type=code", "response_type=token"),
            "unsupported_response_type",
            "response_type+must+be+code",
        ),
    ] {
        let res = ex.authorize(&query, None).await;
        assert_eq!(res.status(), 302, "{query}");
        assert_eq!(
            location(&res),
            format!("{REDIRECT}?error={error}&error_description={description}&iss={iss}&state=st")
        );
    }
    // A loopback redirect URI may use another port (RFC 8252), nothing else may differ.
    let res = ex.authorize(&ok.replace("3334", "50123"), None).await;
    assert_eq!(res.status(), 200);
    let res = ex
        .authorize(&ok.replace("callback", "callbackx"), None)
        .await;
    assert_eq!(res.status(), 400);
    assert!(res.headers().get("location").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn confidential_clients_authenticate_as_registered() {
    let idp = idp().await;
    let ex = start(&idp).await;
    let (status, reg) = ex
        .register(json!({"client_name": "conf", "redirect_uris": [REDIRECT]}))
        .await;
    assert_eq!(status, 201);
    assert_eq!(reg["token_endpoint_auth_method"], "client_secret_basic");
    assert_eq!(reg["client_secret_expires_at"], 0);
    let id = reg["client_id"].as_str().unwrap().to_owned();
    let secret = reg["client_secret"].as_str().unwrap().to_owned();
    let code = ex.code_for(&id).await;
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT),
        ("code_verifier", VERIFIER),
    ];
    let post = |user: &str, pass: &str| {
        ex.http
            .post(format!("{}/token", ex.origin))
            .basic_auth(user, Some(pass))
            .form(&form)
            .send()
    };
    // No secret: 401 without a Basic challenge; a wrong one: 401 with it. Nothing redeemed.
    let (status, body) = ex
        .token(&[form.as_slice(), &[("client_id", id.as_str())]].concat())
        .await;
    assert_eq!(
        (status, body),
        (401, err("invalid_client", "Client authentication failed"))
    );
    let res = post(&id, "wrong").await.unwrap();
    assert_eq!(res.status(), 401);
    assert_eq!(
        res.headers()["www-authenticate"],
        "Basic realm=\"oauth\", charset=\"UTF-8\""
    );
    assert_eq!(
        res.json::<Value>().await.unwrap(),
        err("invalid_client", "Client authentication failed")
    );
    let res = post(&id, &secret).await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.json::<Value>().await.unwrap()["access_token"].is_string());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registration_rules() {
    let idp = idp().await;
    let ex = start(&idp).await;
    let (status, v) = ex
        .register(
            json!({"redirect_uris": [REDIRECT], "token_endpoint_auth_method": "none",
                         "client_uri": "https://app.example.com", "evil": "x".repeat(1000),
                         "software_statement": "y"}),
        )
        .await;
    assert_eq!(status, 201);
    assert_eq!(v["client_uri"], "https://app.example.com");
    assert!(
        v.get("evil").is_none() && v.get("software_statement").is_none(),
        "{v}"
    );
    assert!(v.get("client_secret").is_none());
    for (body, code, description) in [
        (
            json!({"redirect_uris": [REDIRECT], "logo_uri": "javascript:alert(1)"}),
            "invalid_client_metadata",
            "logo_uri must be an https URL",
        ),
        (
            json!({"redirect_uris": [REDIRECT], "tos_uri": "http://app.example.com/tos"}),
            "invalid_client_metadata",
            "tos_uri must be an https URL",
        ),
        (
            json!({"redirect_uris": ["http://evil.example.com/cb"]}),
            "invalid_redirect_uri",
            "http redirect URIs must use a loopback host",
        ),
        (
            json!({"redirect_uris": ["javascript:alert(1)"]}),
            "invalid_redirect_uri",
            "unsupported redirect URI scheme",
        ),
        (
            json!({"redirect_uris": []}),
            "invalid_redirect_uri",
            "at least one redirect URI is required",
        ),
        (
            json!({"redirect_uris": [REDIRECT], "grant_types": ["client_credentials"]}),
            "invalid_client_metadata",
            "only the authorization_code and refresh_token grants are supported",
        ),
        (
            json!({"redirect_uris": [REDIRECT], "token_endpoint_auth_method": "private_key_jwt"}),
            "invalid_client_metadata",
            "token_endpoint_auth_method must be none, client_secret_basic or client_secret_post",
        ),
        (
            json!({"redirect_uris": [REDIRECT], "client_name": "n".repeat(201)}),
            "invalid_client_metadata",
            "client_name is longer than 200 characters",
        ),
        (
            json!({"redirect_uris": [REDIRECT], "scope": "root"}),
            "invalid_client_metadata",
            "scope root is not supported",
        ),
        (
            json!([1]),
            "invalid_client_metadata",
            "the body is not a JSON object",
        ),
    ] {
        assert_eq!(
            ex.register(body.clone()).await,
            (400, err(code, description)),
            "{body}"
        );
    }
    let res = ex
        .http
        .post(format!("{}/register", ex.origin))
        .header("content-type", "application/json")
        .body(format!(
            "{{\"redirect_uris\":[\"{REDIRECT}\"],\"x\":\"{}\"}}",
            "a".repeat(60_000)
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 413);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn per_address_rate_limit_leaves_other_addresses_served() {
    let idp = idp().await;
    let ex = start(&idp).await;
    let meta = format!("{}/.well-known/oauth-authorization-server", ex.origin);
    let mut limited = None;
    for _ in 0..200 {
        let res = ex.http.get(&meta).send().await.unwrap();
        if res.status() == 429 {
            limited = Some(res);
            break;
        }
        assert_eq!(res.status(), 200);
    }
    let res = limited.expect("the limit is reached within 200 requests");
    assert_eq!(res.headers()["retry-after"], "1");
    assert_eq!(res.json::<Value>().await.unwrap()["error"], "slow_down");
    // Another address (127.0.0.2, same host) is still served.
    let other = reqwest::Client::builder()
        .local_address("127.0.0.2".parse::<std::net::IpAddr>().unwrap())
        .build()
        .unwrap();
    let res = other.get(&meta).send().await.unwrap();
    assert_eq!(res.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refresh_during_an_idp_outage_is_503_and_keeps_the_refresh_token() {
    let idp = idp().await;
    let ex = start(&idp).await;
    let client = ex.public_client("c").await;
    let code = ex.code_for(&client).await;
    let (status, tok) = ex.exchange(&client, &code).await;
    assert_eq!(status, 200);
    let rt = tok["refresh_token"].as_str().unwrap().to_owned();
    idp.set_outage(true);
    let res = ex
        .http
        .post(format!("{}/token", ex.origin))
        .form(&[
            ("grant_type", "refresh_token"),
            ("client_id", client.as_str()),
            ("refresh_token", rt.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 503);
    assert_eq!(res.headers()["retry-after"], "5");
    assert_eq!(
        res.json::<Value>().await.unwrap(),
        err(
            "temporarily_unavailable",
            "The identity provider is unavailable; try again later"
        )
    );
    idp.set_outage(false);
    let (status, t2) = ex.refresh(&client, &rt).await;
    assert_eq!(status, 200, "the same refresh token still works: {t2}");
}
