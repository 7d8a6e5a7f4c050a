//! `RedisAuthStore`: the authorization server's registrations, transactions, codes and refresh
//! tokens on a real `redis-server`, seen by two store handles (two instances), and the whole
//! flow across two in-process authorization servers sharing one Redis.
//!
//! Without `redis-server` on the PATH every test writes one `SKIPPED:` line and passes
//! (`MCP_REQUIRE_REDIS=1` turns that into a failure).

mod oauth_common;
mod redis_common;

use mcp_rs_server::Server;
use mcp_rs_server::auth::server::forwarded::ForwardedAuth;
use mcp_rs_server::auth::server::keys::SigningKeys;
use mcp_rs_server::auth::server::store::{
    AuthStore, Grant, Redeemed, StoreError, StoredClient, Transaction,
};
use mcp_rs_server::auth::server::{AuthServerConfig, AuthServerLayer, StoreLimits};
use mcp_rs_server::redis::{Redis, RedisAuthStore, RedisConfig};
use mcp_rs_server::transport::http::{
    DEFAULT_GRACE_PERIOD, HttpConfig, StreamableHttpService, serve_listener,
};
use oauth_common::{
    CHALLENGE, REDIRECT, REDIRECT_ENC, VERIFIER, hidden, location, no_redirects, query_of,
};
use redis_common::RedisServer;
use serde_json::{Value, json};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

// ---- redis-server (tests/tests/redis_common) ----

impl RedisServer {
    /// A store handle of its own (one per simulated instance).
    fn store(&self, limits: StoreLimits) -> RedisAuthStore {
        let cfg = RedisConfig::new(format!("redis://127.0.0.1:{}", self.port))
            .prefix("t")
            .timeout(Duration::from_millis(500));
        Redis::new(cfg).unwrap().auth_store().limits(limits)
    }

    fn keys(&self, pattern: &str) -> Vec<String> {
        let mut k: Vec<String> = self
            .cli(&["--scan", "--pattern", pattern])
            .lines()
            .map(str::to_owned)
            .collect();
        k.sort();
        k
    }

    fn ttl(&self, key: &str) -> i64 {
        self.cli(&["TTL", key]).parse().unwrap()
    }
}

// ---- values (the stored types are non-exhaustive: built from their JSON form) ----

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn client(id: &str, issued_at: u64) -> StoredClient {
    serde_json::from_value(json!({
        "client_id": id, "secret_hash": null, "auth_method": "none",
        "redirect_uris": [REDIRECT], "client_name": "cli", "scope": null, "uris": [],
        "issued_at": issued_at, "last_used": null
    }))
    .unwrap()
}

fn grant(family: &str, client: &str, ttl: u64) -> Grant {
    serde_json::from_value(json!({
        "family": family, "client_id": client, "redirect_uri": REDIRECT,
        "code_challenge": CHALLENGE, "scope": "mcp:read", "resource": null,
        "subject": "alice", "upstream": null, "expires_at": now() + ttl
    }))
    .unwrap()
}

fn tx(client: &str) -> Transaction {
    serde_json::from_value(json!({
        "client_id": client, "redirect_uri": REDIRECT, "state": "st",
        "code_challenge": CHALLENGE, "scope": null, "resource": null,
        "upstream_verifier": "v", "consented": false, "subject": "alice",
        "granted_scopes": ["mcp:read"]
    }))
    .unwrap()
}

async fn two_instances() -> Option<(RedisServer, RedisAuthStore, RedisAuthStore)> {
    let r = RedisServer::start().await?;
    let (a, b) = (
        r.store(StoreLimits::default()),
        r.store(StoreLimits::default()),
    );
    Some((r, a, b))
}

// ---- the store ----

#[tokio::test]
async fn a_registration_on_a_is_read_and_touched_on_b() {
    let Some((r, a, b)) = two_instances().await else {
        return;
    };
    let c = client("c1", now());
    a.put_client(c.clone(), "10.0.0.1".into()).await.unwrap();
    assert_eq!(b.client("c1").await, Some(c));
    assert_eq!(b.client("nope").await, None);
    // Unused: the unused TTL (24 h); used: the idle TTL (30 days), renewed by touch.
    let ttl = r.ttl("t:oauth:client:c1");
    assert!((86_000..=86_400).contains(&ttl), "{ttl}");
    b.touch_client("c1").await;
    let used = a.client("c1").await.unwrap().last_used.unwrap();
    assert!(used.abs_diff(now()) <= 1);
    let ttl = r.ttl("t:oauth:client:c1");
    assert!((2_591_000..=2_592_000).contains(&ttl), "{ttl}");
    // Touching an unknown client creates nothing.
    b.touch_client("ghost").await;
    assert_eq!(r.keys("t:oauth:client:*"), ["t:oauth:client:c1"]);
}

#[tokio::test]
async fn a_code_is_redeemed_once_across_instances() {
    let Some((_r, a, b)) = two_instances().await else {
        return;
    };
    let g = grant("fam-1", "c1", 60);
    a.put_code("h1", g.clone()).await.unwrap();
    // Both instances race for it: exactly one wins, the other sees a replay.
    let (x, y) = tokio::join!(a.redeem_code("h1"), b.redeem_code("h1"));
    let mut got = [x, y];
    got.sort_by_key(|r| matches!(r, Redeemed::Fresh(_)));
    assert_eq!(
        got,
        [
            Redeemed::Replayed("fam-1".into()),
            Redeemed::Fresh(Box::new(g))
        ]
    );
    assert_eq!(
        a.redeem_code("h1").await,
        Redeemed::Replayed("fam-1".into())
    );
    assert_eq!(b.redeem_code("unknown").await, Redeemed::Missing);
}

#[tokio::test]
async fn refresh_rotation_and_replay_revoke_the_family() {
    let Some((r, a, b)) = two_instances().await else {
        return;
    };
    a.put_refresh("r1", grant("fam", "c1", 3600)).await.unwrap();
    a.put_refresh("other", grant("fam2", "c1", 3600))
        .await
        .unwrap();
    // Rotation on B: r1 used, r2 issued in the same family.
    assert_eq!(b.refresh("r1").await, Some(grant("fam", "c1", 3600)));
    assert!(matches!(b.redeem_refresh("r1").await, Redeemed::Fresh(_)));
    b.put_refresh("r2", grant("fam", "c1", 3600)).await.unwrap();
    // r1 again, on A: not usable, a replay naming the family; revoking it kills r2.
    assert_eq!(a.refresh("r1").await, None);
    assert_eq!(
        a.redeem_refresh("r1").await,
        Redeemed::Replayed("fam".into())
    );
    assert!(b.refresh("r2").await.is_some());
    a.revoke_family("fam").await;
    assert_eq!(b.refresh("r2").await, None);
    assert_eq!(b.redeem_refresh("r2").await, Redeemed::Missing);
    assert_eq!(b.redeem_refresh("r1").await, Redeemed::Missing);
    // Another family is untouched, and nothing of "fam" is left in Redis.
    assert!(b.refresh("other").await.is_some());
    assert_eq!(r.keys("t:oauth:refresh:*"), ["t:oauth:refresh:other"]);
    assert_eq!(r.cli(&["ZCARD", "t:oauth:refreshes:all"]), "1");
}

#[tokio::test]
async fn a_transaction_is_consented_once_and_taken_once() {
    let Some((_r, a, b)) = two_instances().await else {
        return;
    };
    a.put_transaction("tx-1", tx("c1"), "10.0.0.1".into())
        .await
        .unwrap();
    assert_eq!(b.transaction("tx-1").await, Some(tx("c1")));
    let mut consented = tx("c1");
    consented.consented = true;
    let (x, y) = tokio::join!(a.consent_transaction("tx-1"), b.consent_transaction("tx-1"));
    let mut got = [x, y];
    got.sort_by_key(Option::is_some);
    assert_eq!(got, [None, Some(consented.clone())]);
    assert_eq!(a.transaction("tx-1").await, Some(consented.clone()));
    assert_eq!(b.take_transaction("tx-1").await, Some(consented));
    assert_eq!(a.take_transaction("tx-1").await, None);
    assert_eq!(a.transaction("tx-1").await, None);
    assert_eq!(a.consent_transaction("tx-1").await, None);
}

#[tokio::test]
async fn every_key_has_a_ttl() {
    let Some((r, a, b)) = two_instances().await else {
        return;
    };
    a.put_client(client("c1", now()), "::1".into())
        .await
        .unwrap();
    b.touch_client("c1").await;
    a.put_transaction("tx", tx("c1"), "::1".into())
        .await
        .unwrap();
    a.put_code("code", grant("f", "c1", 60)).await.unwrap();
    assert!(matches!(b.redeem_code("code").await, Redeemed::Fresh(_)));
    b.put_refresh("rt", grant("f", "c1", 3600)).await.unwrap();
    let keys = r.keys("t:*");
    assert_eq!(keys.len(), 13, "{keys:?}");
    for k in &keys {
        let ttl = r.ttl(k);
        assert!(ttl > 0, "{k} has TTL {ttl}");
    }
    // Codes keep their expiry once used (the replay marker); transactions their 10 minutes.
    assert!((55..=60).contains(&r.ttl("t:oauth:code:code")));
    assert!((595..=600).contains(&r.ttl("t:oauth:tx:tx")));
}

#[tokio::test]
async fn an_unbounded_ttl_is_stored_with_a_finite_one() {
    let Some(r) = RedisServer::start().await else {
        return;
    };
    let mut limits = StoreLimits::default();
    limits.unused_client_ttl = Duration::MAX;
    limits.idle_client_ttl = Duration::MAX;
    let s = r.store(limits);
    s.put_client(client("c1", now()), "o".into()).await.unwrap();
    s.touch_client("c1").await;
    assert!(s.client("c1").await.unwrap().last_used.is_some());
    for k in r.keys("t:*") {
        assert!(r.ttl(&k) > 0, "{k}");
    }
}

#[tokio::test]
async fn one_owner_cannot_fill_the_store() {
    let Some(r) = RedisServer::start().await else {
        return;
    };
    let mut limits = StoreLimits::default();
    limits.max_clients = 4;
    limits.max_clients_per_owner = 2;
    limits.max_codes_per_client = 3;
    let (a, b) = (r.store(limits), r.store(limits));
    let t0 = now();
    a.put_client(client("good", t0), "10.0.0.2".into())
        .await
        .unwrap();
    // The abuser's registrations, from both instances: only its two newest stay.
    for i in 0..10 {
        let s = if i % 2 == 0 { &a } else { &b };
        s.put_client(client(&format!("x{i}"), t0 - 100 + i), "10.0.0.66".into())
            .await
            .unwrap();
    }
    assert_eq!(
        r.keys("t:oauth:client:*"),
        [
            "t:oauth:client:good",
            "t:oauth:client:x8",
            "t:oauth:client:x9"
        ]
    );
    assert_eq!(r.cli(&["ZCARD", "t:oauth:clients:all"]), "3");
    // At the total bound the registration closest to expiry goes, not a lockout.
    a.put_client(client("y", t0), "10.0.0.3".into())
        .await
        .unwrap();
    b.put_client(client("z", t0), "10.0.0.4".into())
        .await
        .unwrap();
    assert_eq!(
        r.keys("t:oauth:client:*"),
        [
            "t:oauth:client:good",
            "t:oauth:client:x9",
            "t:oauth:client:y",
            "t:oauth:client:z"
        ]
    );
    // Codes per client: the two soonest to expire were evicted.
    for i in 0..5 {
        a.put_code(&format!("k{i}"), grant("f", "c1", 60 + i))
            .await
            .unwrap();
    }
    assert_eq!(
        r.keys("t:oauth:code:*"),
        ["t:oauth:code:k2", "t:oauth:code:k3", "t:oauth:code:k4"]
    );
}

#[tokio::test]
async fn redis_down_is_unavailable_and_recovers() {
    let Some((mut r, a, b)) = two_instances().await else {
        return;
    };
    a.put_code("h", grant("f", "c1", 60)).await.unwrap();
    r.stop().await;
    let started = Instant::now();
    let err = a
        .put_client(client("c1", now()), "o".into())
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
    assert!(a.put_code("x", grant("f", "c1", 60)).await.is_err());
    assert_eq!(a.client("c1").await, None);
    assert_eq!(b.redeem_code("h").await, Redeemed::Missing);
    assert_eq!(b.refresh("h").await, None);
    b.revoke_family("f").await;
    b.touch_client("c1").await;
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    // Back (empty: no persistence): after the fast-fail second, everything works again.
    r.run().await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while a.put_client(client("c1", now()), "o".into()).await.is_err() {
        assert!(Instant::now() < deadline, "no recovery");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(b.client("c1").await.map(|c| c.client_id), Some("c1".into()));
}

// ---- two authorization servers sharing one Redis ----

struct As {
    origin: String,
    http: reqwest::Client,
    _stop: tokio::sync::oneshot::Sender<()>,
}

/// A built-in AS (users from a trusted proxy's headers) on a random port, on `store`.
async fn start_as(keys: &SigningKeys, store: RedisAuthStore) -> As {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let origin = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
    // Both instances present the same public URL in production; here each has its own port,
    // so each gets its own issuer: the shared state is what is under test.
    let cfg = AuthServerConfig::builtin(&origin, &format!("{origin}/mcp"), keys.clone())
        .unwrap()
        .signing_secret([7; 32])
        .forwarded(
            ForwardedAuth::new()
                .trusted_proxies(["127.0.0.1"])
                .unwrap()
                .group_scopes("readers", ["mcp:read"]),
        )
        .store(store);
    let server = Server::builder().name("as").version("1").build();
    let service = tower::ServiceBuilder::new()
        .layer(AuthServerLayer::new(cfg))
        .service(StreamableHttpService::new(
            server,
            HttpConfig::default().path("/mcp"),
        ));
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        let stop = async {
            let _ = rx.await;
        };
        serve_listener(listener, service, stop, DEFAULT_GRACE_PERIOD)
            .await
            .unwrap();
    });
    As {
        origin,
        http: no_redirects(),
        _stop: tx,
    }
}

impl As {
    fn alice(&self, r: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        r.header("x-forwarded-user", "alice")
            .header("x-forwarded-groups", "readers")
    }

    async fn register(&self) -> String {
        let res = self
            .http
            .post(format!("{}/register", self.origin))
            .json(&json!({"client_name": "cli", "redirect_uris": [REDIRECT], "token_endpoint_auth_method": "none"}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 201);
        let body: Value = res.json().await.unwrap();
        body["client_id"].as_str().unwrap().to_owned()
    }

    async fn consent_page(&self, client: &str) -> String {
        let url = format!(
            "{}/authorize?response_type=code&client_id={client}&redirect_uri={REDIRECT_ENC}&code_challenge={CHALLENGE}&code_challenge_method=S256&state=st&scope=mcp%3Aread",
            self.origin
        );
        let res = self.alice(self.http.get(url)).send().await.unwrap();
        assert_eq!(res.status(), 200);
        res.text().await.unwrap()
    }

    async fn approve(&self, page: &str) -> String {
        let form = [
            ("tx", hidden(page, "tx")),
            ("csrf", hidden(page, "csrf")),
            ("decision", "approve".to_owned()),
        ];
        let res = self
            .alice(self.http.post(format!("{}/consent", self.origin)))
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 302);
        query_of(&location(&res))["code"].clone()
    }

    async fn token(&self, form: &[(&str, &str)]) -> (u16, Value) {
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

    async fn refresh(&self, client: &str, rt: &str) -> (u16, Value) {
        self.token(&[
            ("grant_type", "refresh_token"),
            ("client_id", client),
            ("refresh_token", rt),
        ])
        .await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn register_on_a_authorize_on_b_refresh_across_both() {
    let Some(r) = RedisServer::start().await else {
        return;
    };
    let keys = SigningKeys::generate().unwrap();
    let a = start_as(&keys, r.store(StoreLimits::default())).await;
    let b = start_as(&keys, r.store(StoreLimits::default())).await;
    // Registered on A, authorized on B, consented on A, code redeemed on B.
    let client = a.register().await;
    let page = b.consent_page(&client).await;
    let code = a.approve(&page).await;
    let exchange = [
        ("grant_type", "authorization_code"),
        ("client_id", client.as_str()),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT),
        ("code_verifier", VERIFIER),
    ];
    let (status, tok) = b.token(&exchange).await;
    assert_eq!(status, 200, "{tok}");
    assert_eq!(tok["scope"], "mcp:read");
    // Refresh on A (rotation), then the rotated-out token on B: refused, and the family
    // revoked, so A's new token is dead too.
    let rt1 = tok["refresh_token"].as_str().unwrap();
    let (status, t2) = a.refresh(&client, rt1).await;
    assert_eq!(status, 200, "{t2}");
    let rt2 = t2["refresh_token"].as_str().unwrap();
    assert_ne!(rt1, rt2);
    let (status, replay) = b.refresh(&client, rt1).await;
    assert_eq!(
        (status, replay["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    let (status, dead) = a.refresh(&client, rt2).await;
    assert_eq!(
        (status, dead["error"].as_str()),
        (400, Some("invalid_grant"))
    );

    // A second grant: its code replayed on the other instance revokes its refresh token.
    let code = b.approve(&a.consent_page(&client).await).await;
    let exchange = [
        ("grant_type", "authorization_code"),
        ("client_id", client.as_str()),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT),
        ("code_verifier", VERIFIER),
    ];
    let (status, tok) = a.token(&exchange).await;
    assert_eq!(status, 200, "{tok}");
    let (status, again) = b.token(&exchange).await;
    assert_eq!(
        (status, again["error_description"].as_str()),
        (400, Some("The authorization code was already used"))
    );
    let rt = tok["refresh_token"].as_str().unwrap();
    let (status, dead) = a.refresh(&client, rt).await;
    assert_eq!(
        (status, dead["error"].as_str()),
        (400, Some("invalid_grant"))
    );
}
