//! CIMD: URL and address rules as pure functions, document validation, and fetching from a
//! local server through the insecure options (caching, limits, redirects, timeouts).

use super::*;
use serde_json::json;
use std::sync::atomic::{AtomicUsize, Ordering};

#[test]
fn client_id_url_rules() {
    for ok in [
        "https://app.example.com/oauth/client.json",
        "https://app.example.com:8443/c",
        "https://app.example.com/c?v=1",
        "https://app.example.com/v%2e1/client.json",
        "https://[2001:4860::1]/client",
    ] {
        assert!(is_cimd_client_id(ok), "{ok}");
    }
    for bad in [
        "http://app.example.com/client.json",
        "https://app.example.com",
        "https://app.example.com/",
        "https://app.example.com/client#frag",
        "https://user:pw@app.example.com/client",
        "https://user@app.example.com/client",
        "https://app.example.com/a/../client",
        "https://app.example.com/./client",
        "https://app.example.com/a/%2e%2e/client",
        "https://app.example.com/a/%2E/client",
        "https://app.example.com/a/.%2e/client",
        "client-123",
        "urn:example:client",
        "",
    ] {
        assert!(!is_cimd_client_id(bad), "{bad}");
    }
    let long = format!("https://app.example.com/{}", "a".repeat(MAX_CLIENT_ID_LEN));
    assert!(!is_cimd_client_id(&long));
    // http only through the insecure switch.
    assert!(check_client_id("http://127.0.0.1:9/c", true).is_ok());
    assert_eq!(
        check_client_id("http://127.0.0.1:9/c", false).unwrap_err(),
        CimdError::InvalidClientId
    );
}

#[test]
fn only_public_addresses() {
    for blocked in [
        "127.0.0.1",
        "127.8.9.10",
        "10.1.2.3",
        "172.16.0.1",
        "172.31.255.255",
        "192.168.0.1",
        "169.254.169.254",
        "0.0.0.0",
        "0.1.2.3",
        "100.64.0.1",
        "100.127.255.254",
        "192.0.0.8",
        "192.0.2.1",
        "198.18.0.1",
        "198.51.100.1",
        "203.0.113.9",
        "224.0.0.1",
        "240.0.0.1",
        "255.255.255.255",
        "::",
        "::1",
        "fc00::1",
        "fd12:3456::1",
        "fe80::1",
        "fec0::1",
        "ff02::1",
        "2001:db8::1",
        "::ffff:127.0.0.1",
        "::ffff:10.0.0.1",
        "::ffff:169.254.169.254",
        "64:ff9b::a9fe:a9fe",
        "64:ff9b::7f00:1",
        "2002:7f00:1::",
        "2001:0:4136:e378::1",
        "::127.0.0.1",
    ] {
        let ip: IpAddr = blocked.parse().unwrap();
        assert!(!is_public_address(ip), "{blocked}");
    }
    for public in [
        "93.184.216.34",
        "1.1.1.1",
        "8.8.8.8",
        "100.63.255.255",
        "100.128.0.1",
        "172.32.0.1",
        "2606:4700:4700::1111",
        "2a00:1450:4001::200e",
        "::ffff:93.184.216.34",
        "64:ff9b::808:808",
    ] {
        let ip: IpAddr = public.parse().unwrap();
        assert!(is_public_address(ip), "{public}");
    }
}

const ID: &str = "https://app.example.com/oauth/client.json";

fn doc(extra: Value) -> Vec<u8> {
    let mut v = json!({
        "client_id": ID,
        "client_name": "Example <b>MCP</b> Client",
        "redirect_uris": ["http://127.0.0.1:33418/callback", "https://app.example.com/cb"],
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "token_endpoint_auth_method": "none",
        "client_uri": "https://app.example.com",
        "logo_uri": "https://app.example.com/logo.png",
        "scope": "mcp:read",
        "unknown_field": {"ignored": true},
    });
    if let (Value::Object(m), Value::Object(e)) = (&mut v, extra) {
        for (k, val) in e {
            if val.is_null() {
                m.remove(&k);
            } else {
                m.insert(k, val);
            }
        }
    }
    serde_json::to_vec(&v).unwrap()
}

#[test]
fn document_validation() {
    let c = validate_document(ID, &doc(json!({}))).unwrap();
    assert_eq!(
        c,
        CimdClient {
            client_id: ID.into(),
            client_name: Some("Example <b>MCP</b> Client".into()),
            redirect_uris: vec![
                "http://127.0.0.1:33418/callback".into(),
                "https://app.example.com/cb".into()
            ],
            client_uri: Some("https://app.example.com".into()),
            logo_uri: Some("https://app.example.com/logo.png".into()),
            scope: Some("mcp:read".into()),
        }
    );
    // Minimal document: client_id and redirect_uris only.
    let minimal = json!({"client_id": ID, "redirect_uris": ["https://a.example/cb"]});
    assert!(validate_document(ID, minimal.to_string().as_bytes()).is_ok());

    let eleven: Vec<String> = (0..11).map(|i| format!("https://a.example/{i}")).collect();
    let cases = [
        (
            json!({"client_id": "https://app.example.com/other.json"}),
            "client_id does not equal the document URL",
        ),
        (
            json!({"client_id": null}),
            "client_id does not equal the document URL",
        ),
        (json!({"redirect_uris": null}), "redirect_uris is required"),
        (json!({"redirect_uris": []}), "redirect_uris is required"),
        (
            json!({"redirect_uris": eleven}),
            "redirect_uris has too many entries",
        ),
        (
            json!({"redirect_uris": ["http://evil.example/cb"]}),
            "http redirect URIs must use a loopback host",
        ),
        (
            json!({"redirect_uris": ["https://a.example/cb#x"]}),
            "redirect URI must not contain a fragment",
        ),
        (
            json!({"redirect_uris": "https://a.example/cb"}),
            "redirect_uris must be an array of strings",
        ),
        (
            json!({"token_endpoint_auth_method": "client_secret_basic"}),
            "token_endpoint_auth_method must be none",
        ),
        (
            json!({"token_endpoint_auth_method": "private_key_jwt"}),
            "token_endpoint_auth_method must be none",
        ),
        (
            json!({"client_secret": "s"}),
            "a metadata document must not contain a client secret",
        ),
        (
            json!({"grant_types": ["client_credentials"]}),
            "grant_types may only contain authorization_code and refresh_token",
        ),
        (
            json!({"response_types": ["token"]}),
            "response_types may only contain code",
        ),
        (
            json!({"client_name": "x".repeat(201)}),
            "client_name is too long",
        ),
        (json!({"client_name": 5}), "client_name must be a string"),
        (
            json!({"logo_uri": "javascript:alert(1)"}),
            "logo_uri must be an https URL",
        ),
        (
            json!({"client_uri": "http://app.example.com"}),
            "client_uri must be an https URL",
        ),
        (json!({"scope": "s".repeat(1001)}), "scope is too long"),
    ];
    for (extra, message) in cases {
        let err = validate_document(ID, &doc(extra.clone())).unwrap_err();
        assert_eq!(err, CimdError::InvalidDocument(message.into()), "{extra}");
        assert_eq!(
            err.description(),
            format!("the client metadata document is invalid: {message}")
        );
    }
    // 200 characters (not bytes) are fine.
    assert!(validate_document(ID, &doc(json!({"client_name": "é".repeat(200)}))).is_ok());
    assert_eq!(
        validate_document(ID, b"[1]").unwrap_err(),
        CimdError::InvalidDocument("not a JSON object".into())
    );
    assert_eq!(
        validate_document(ID, b"{").unwrap_err(),
        CimdError::InvalidDocument("not JSON".into())
    );
}

#[tokio::test]
async fn strict_default_refuses_local_targets_without_fetching() {
    let f = CimdFetcher::default();
    assert_eq!(
        f.fetch("http://127.0.0.1:9/c.json").await,
        Err(CimdError::InvalidClientId)
    );
    for id in [
        "https://127.0.0.1:9/c.json",
        "https://[::1]:9/c.json",
        "https://10.0.0.1/c.json",
        "https://169.254.169.254/latest/meta-data",
        "https://localhost:9/c.json",
    ] {
        assert_eq!(f.fetch(id).await, Err(CimdError::Blocked), "{id}");
    }
    // Only http through the insecure switch: the address check still applies.
    let http_only = CimdFetcher::new(
        CimdConfig::default().insecure(InsecureCimdOptions::new().allow_http(true)),
    );
    assert_eq!(
        http_only.fetch("http://127.0.0.1:9/c.json").await,
        Err(CimdError::Blocked)
    );
}

/// A local document server: `/client.json` (valid, `max-age=120`), `/big.json` (6 KiB),
/// `/redirect` (302), `/slow` (answers after 2 s), `/mismatch` (wrong client_id), `/gone`
/// (404). Returns its origin and the hit counter.
async fn doc_server() -> (String, Arc<AtomicUsize>) {
    use axum::http::header::{CACHE_CONTROL, LOCATION};
    use axum::response::IntoResponse;
    use axum::routing::get;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let origin = format!("http://{}", listener.local_addr().unwrap());
    let hits = Arc::new(AtomicUsize::new(0));
    let o = origin.clone();
    let h = hits.clone();
    let app = axum::Router::new().route(
        "/{name}",
        get(
            move |axum::extract::Path(name): axum::extract::Path<String>| {
                let (o, h) = (o.clone(), h.clone());
                async move {
                    h.fetch_add(1, Ordering::SeqCst);
                    let body = |id: String| {
                        json!({"client_id": id, "client_name": "Local",
                               "redirect_uris": ["http://127.0.0.1:5555/cb"]})
                        .to_string()
                    };
                    match name.as_str() {
                        "client.json" => (
                            [(CACHE_CONTROL, "public, max-age=120")],
                            body(format!("{o}/client.json")),
                        )
                            .into_response(),
                        "nostore.json" => (
                            [(CACHE_CONTROL, "no-store")],
                            body(format!("{o}/nostore.json")),
                        )
                            .into_response(),
                        "big.json" => "x".repeat(6 * 1024).into_response(),
                        "redirect" => (
                            axum::http::StatusCode::FOUND,
                            [(LOCATION, format!("{o}/client.json"))],
                        )
                            .into_response(),
                        "slow" => {
                            tokio::time::sleep(Duration::from_secs(2)).await;
                            body(format!("{o}/slow")).into_response()
                        }
                        "mismatch" => body(format!("{o}/client.json")).into_response(),
                        _ => axum::http::StatusCode::NOT_FOUND.into_response(),
                    }
                }
            },
        ),
    );
    tokio::spawn(async move { axum::serve(listener, app).await });
    (origin, hits)
}

fn local_fetcher(config: CimdConfig) -> CimdFetcher {
    CimdFetcher::new(
        config.insecure(
            InsecureCimdOptions::new()
                .allow_http(true)
                .allow_private_addresses(true),
        ),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fetch_cache_limits_and_negative_cache() {
    let (origin, hits) = doc_server().await;
    let f = local_fetcher(CimdConfig::default().timeout(Duration::from_millis(500)));
    let id = format!("{origin}/client.json");
    let c = f.fetch(&id).await.unwrap();
    assert_eq!(c.client_id, id);
    assert_eq!(c.redirect_uris, ["http://127.0.0.1:5555/cb"]);
    assert_eq!(f.fetch(&id).await.unwrap(), c, "served from the cache");
    assert_eq!(hits.load(Ordering::SeqCst), 1);
    let ttl = f.inner.cache.lock().unwrap()[&id].expires - Instant::now();
    assert!(
        ttl > Duration::from_secs(110) && ttl <= Duration::from_secs(120),
        "{ttl:?}"
    );
    // no-store is clamped up to the minimum cache time.
    let ns = format!("{origin}/nostore.json");
    f.fetch(&ns).await.unwrap();
    let ttl = f.inner.cache.lock().unwrap()[&ns].expires - Instant::now();
    assert!(
        ttl > Duration::from_secs(50) && ttl <= Duration::from_secs(60),
        "{ttl:?}"
    );

    let cases = [
        ("big.json", CimdError::TooLarge),
        ("redirect", CimdError::Fetch("redirects are not followed")),
        ("slow", CimdError::Fetch("timed out")),
        ("gone", CimdError::Fetch("the server did not answer 200")),
        (
            "mismatch",
            CimdError::InvalidDocument("client_id does not equal the document URL".into()),
        ),
    ];
    for (path, expected) in cases {
        let id = format!("{origin}/{path}");
        let before = hits.load(Ordering::SeqCst);
        assert_eq!(f.fetch(&id).await, Err(expected.clone()), "{path}");
        // Failures are cached briefly: no second request.
        assert_eq!(f.fetch(&id).await, Err(expected), "{path}");
        assert_eq!(hits.load(Ordering::SeqCst), before + 1, "{path}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cache_is_bounded_and_hosts_are_limited() {
    let (origin, hits) = doc_server().await;
    let f = local_fetcher(
        CimdConfig::default()
            .max_entries(2)
            .negative_ttl(Duration::from_secs(30)),
    );
    for p in ["a", "b", "c"] {
        let _ = f.fetch(&format!("{origin}/{p}")).await;
    }
    assert_eq!(f.inner.cache.lock().unwrap().len(), 2);
    assert_eq!(hits.load(Ordering::SeqCst), 3);

    // Expired entries are dropped at the next insert (memory returns after an abuser stops).
    let f = local_fetcher(CimdConfig::default().negative_ttl(Duration::from_millis(50)));
    for p in ["x1", "x2", "x3"] {
        let _ = f.fetch(&format!("{origin}/{p}")).await;
    }
    assert_eq!(f.inner.cache.lock().unwrap().len(), 3);
    tokio::time::sleep(Duration::from_millis(80)).await;
    let _ = f.fetch(&format!("{origin}/client.json")).await.unwrap();
    assert_eq!(f.inner.cache.lock().unwrap().len(), 1);

    // Per requester: one address holds at most 2 entries (its soonest to expire goes first);
    // another address's entries are untouched.
    let f = local_fetcher(CimdConfig::default().max_per_requester(2));
    let (a, b): (IpAddr, IpAddr) = (
        "203.0.113.1".parse().unwrap(),
        "::ffff:203.0.113.2".parse().unwrap(),
    );
    let _ = f.fetch_for(&format!("{origin}/b1"), b).await;
    for p in ["a1", "a2", "a3"] {
        let _ = f.fetch_for(&format!("{origin}/{p}"), a).await;
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let mut keys: Vec<String> = f.inner.cache.lock().unwrap().keys().cloned().collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            format!("{origin}/a2"),
            format!("{origin}/a3"),
            format!("{origin}/b1")
        ]
    );
    assert_eq!(
        f.inner.cache.lock().unwrap()[&format!("{origin}/b1")].owner,
        Some("203.0.113.2".parse().unwrap()),
        "IPv4-mapped requesters count as IPv4"
    );

    // One slot per host: while it is taken, a fetch waits at most the timeout, then Busy.
    let f = local_fetcher(
        CimdConfig::default()
            .max_per_host(1)
            .timeout(Duration::from_millis(200)),
    );
    let held = f.slots("127.0.0.1").await.unwrap();
    let id = format!("{origin}/client.json");
    let started = Instant::now();
    assert_eq!(f.fetch(&id).await, Err(CimdError::Busy));
    assert!(started.elapsed() >= Duration::from_millis(200));
    // Another host is not affected by this host's slot.
    let other = format!("{}/client.json", origin.replace("127.0.0.1", "localhost"));
    assert_eq!(
        f.fetch(&other).await.unwrap_err(),
        CimdError::InvalidDocument("client_id does not equal the document URL".into())
    );
    drop(held);
    // Busy is not cached: with the slot free the same client id is fetched.
    assert_eq!(f.fetch(&id).await.unwrap().client_id, id);
}
