//! The Entra example with its authorization-server façade, in-process, in front of the in-repo
//! test IdP in Entra v2 shape; and a headless OAuth client that drives DCR → authorize →
//! consent → upstream login → callback → token with exact checks at every hop.

#![allow(dead_code)]

use base64::Engine as _;
use entra_example::{Config, run};
use mcp_rs_server::auth::testing::{TestIssuer, TokenShape};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::collections::HashMap;

pub(crate) const TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
pub(crate) const APP: &str = "6e2b1f0a-3c4d-4e5f-8a9b-0c1d2e3f4a5b";
pub(crate) const REDIRECT: &str = "http://127.0.0.1:3334/callback";
pub(crate) const REDIRECT_ENC: &str = "http%3A%2F%2F127.0.0.1%3A3334%2Fcallback";
/// RFC 7636 Appendix B.
pub(crate) const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
pub(crate) const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

pub(crate) struct Example {
    pub(crate) origin: String,
    pub(crate) url: String,
    pub(crate) http: reqwest::Client,
    _stop: tokio::sync::oneshot::Sender<()>,
}

/// The IdP the façade fronts: APP is its confidential client with the façade's callback.
pub(crate) async fn idp() -> TestIssuer {
    let idp = TestIssuer::start().await.unwrap();
    idp.add_client(APP, "api-secret", ["mcp.read", "mcp.write", "mcp.admin"]);
    idp.set_token_shape(TokenShape::EntraV2 {
        tenant: TENANT.to_owned(),
    });
    idp.set_token_audience(APP);
    idp
}

pub(crate) fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

pub(crate) async fn start(idp: &TestIssuer) -> Example {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let origin = format!("http://127.0.0.1:{port}");
    idp.add_redirect_uri(APP, &format!("{origin}/oauth/callback"));
    let env = [
        ("ENTRA_TENANT_ID", TENANT.to_owned()),
        ("ENTRA_CLIENT_ID", APP.to_owned()),
        ("ENTRA_CLIENT_SECRET", "api-secret".to_owned()),
        ("ENTRA_AUTHORITY", idp.base_url().to_owned()),
        ("MCP_PUBLIC_URL", format!("{origin}/mcp")),
    ];
    let config = Config::from_vars(|k| env.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone()))
        .expect("valid configuration");
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        run(config, listener, async {
            let _ = rx.await;
        })
        .await
        .expect("entra example runs");
    });
    Example {
        url: format!("{origin}/mcp"),
        origin,
        http: no_redirects(),
        _stop: tx,
    }
}

pub(crate) fn location(res: &reqwest::Response) -> String {
    res.headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default()
}

pub(crate) fn query_of(url: &str) -> HashMap<String, String> {
    url::Url::parse(url)
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect()
}

pub(crate) fn s256(verifier: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// The value of the hidden input `name` of the consent page.
pub(crate) fn hidden(page: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = page.find(&marker).expect("hidden input") + marker.len();
    page[start..].split('"').next().unwrap().to_owned()
}

pub(crate) fn scope() -> String {
    format!("api://{APP}/mcp.read api://{APP}/mcp.write")
}

impl Example {
    pub(crate) async fn register(&self, body: Value) -> (u16, Value) {
        let res = self
            .http
            .post(format!("{}/register", self.origin))
            .json(&body)
            .send()
            .await
            .unwrap();
        (
            res.status().as_u16(),
            res.json().await.unwrap_or(Value::Null),
        )
    }

    /// A public client with `REDIRECT`.
    pub(crate) async fn public_client(&self, name: &str) -> String {
        let (status, v) = self
            .register(json!({"client_name": name, "redirect_uris": [REDIRECT],
                             "token_endpoint_auth_method": "none"}))
            .await;
        assert_eq!(status, 201, "{v}");
        v["client_id"].as_str().unwrap().to_owned()
    }

    pub(crate) fn authorize_query(&self, client: &str, state: &str) -> String {
        let scope: String = url::form_urlencoded::byte_serialize(scope().as_bytes()).collect();
        let resource: String = url::form_urlencoded::byte_serialize(self.url.as_bytes()).collect();
        format!(
            "response_type=code&client_id={client}&redirect_uri={REDIRECT_ENC}&code_challenge={CHALLENGE}&code_challenge_method=S256&state={state}&scope={scope}&resource={resource}"
        )
    }

    pub(crate) async fn get(&self, url: &str, cookie: Option<&str>) -> reqwest::Response {
        let mut req = self.http.get(url);
        if let Some(c) = cookie {
            req = req.header("cookie", c);
        }
        req.send().await.unwrap()
    }

    pub(crate) async fn authorize(&self, query: &str, cookie: Option<&str>) -> reqwest::Response {
        self.get(&format!("{}/authorize?{query}", self.origin), cookie)
            .await
    }

    pub(crate) async fn consent(&self, tx: &str, csrf: &str, decision: &str) -> reqwest::Response {
        self.http
            .post(format!("{}/consent", self.origin))
            .form(&[("tx", tx), ("csrf", csrf), ("decision", decision)])
            .send()
            .await
            .unwrap()
    }

    /// From the consent page's approval to the client's redirect: the IdP login, then our
    /// callback. Returns the consent answer's `Set-Cookie` and the final `Location`.
    pub(crate) async fn approve_and_login(&self, page: &str) -> (String, String) {
        let res = self
            .consent(&hidden(page, "tx"), &hidden(page, "csrf"), "approve")
            .await;
        assert_eq!(res.status(), 302);
        let cookie = res
            .headers()
            .get("set-cookie")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        let to_idp = location(&res);
        (cookie, self.finish_login(&to_idp).await)
    }

    /// IdP login (302 to our callback), then the callback (302 to the client).
    pub(crate) async fn finish_login(&self, to_idp: &str) -> String {
        let res = self.get(to_idp, None).await;
        assert_eq!(res.status(), 302, "IdP login");
        let to_callback = location(&res);
        assert!(
            to_callback.starts_with(&format!("{}/oauth/callback?", self.origin)),
            "{to_callback}"
        );
        let res = self.get(&to_callback, None).await;
        assert_eq!(res.status(), 302, "callback");
        location(&res)
    }

    /// The whole browser part for a public client: authorize → consent → login → code.
    pub(crate) async fn code_for(&self, client: &str) -> String {
        let res = self
            .authorize(&self.authorize_query(client, "st"), None)
            .await;
        assert_eq!(res.status(), 200, "consent page");
        let page = res.text().await.unwrap();
        let (_, back) = self.approve_and_login(&page).await;
        query_of(&back)["code"].clone()
    }

    pub(crate) async fn token(&self, form: &[(&str, &str)]) -> (u16, Value) {
        let res = self
            .http
            .post(format!("{}/token", self.origin))
            .form(form)
            .send()
            .await
            .unwrap();
        let status = res.status().as_u16();
        (status, res.json().await.unwrap_or(Value::Null))
    }

    pub(crate) async fn exchange(&self, client: &str, code: &str) -> (u16, Value) {
        self.token(&[
            ("grant_type", "authorization_code"),
            ("client_id", client),
            ("code", code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", VERIFIER),
        ])
        .await
    }

    pub(crate) async fn refresh(&self, client: &str, rt: &str) -> (u16, Value) {
        self.token(&[
            ("grant_type", "refresh_token"),
            ("client_id", client),
            ("refresh_token", rt),
        ])
        .await
    }
}

pub(crate) fn err(code: &str, description: &str) -> Value {
    json!({"error": code, "error_description": description})
}
