//! Trusted-proxy identity: who is trusted, what is read, the limits.

use super::*;
use http::HeaderValue;

fn auth() -> ForwardedAuth {
    ForwardedAuth::new()
        .trusted_proxies(["10.0.0.0/8", "192.168.1.7", "::1"])
        .unwrap()
        .group_scopes("mcp-admins", ["mcp:write", "mcp:admin"])
        .group_scopes("staff", ["mcp:read"])
        .default_scopes(["profile"])
}

fn parts(peer: Option<&str>, headers: &[(&str, &[u8])]) -> Parts {
    let mut req = http::Request::get("/authorize").body(()).unwrap();
    for (name, value) in headers {
        req.headers_mut().append(
            HeaderName::from_bytes(name.as_bytes()).unwrap(),
            HeaderValue::from_bytes(value).unwrap(),
        );
    }
    if let Some(peer) = peer {
        req.extensions_mut()
            .insert(RemoteAddr(peer.parse().unwrap()));
    }
    req.into_parts().0
}

/// A header name and raw value.
type Header<'a> = (&'a str, &'a [u8]);

const ALICE: &[Header<'_>] = &[
    ("x-forwarded-user", b"alice"),
    ("x-forwarded-email", b"alice@example.com"),
    ("x-forwarded-groups", b" staff,,mcp-admins , staff ,other"),
];

#[test]
fn trusted_proxy_identity_with_mapped_scopes() {
    let user = auth()
        .authenticate(&parts(Some("10.9.8.7:4000"), ALICE))
        .unwrap();
    assert_eq!(
        user,
        ForwardedUser {
            subject: "alice".into(),
            email: Some("alice@example.com".into()),
            groups: vec!["staff".into(), "mcp-admins".into(), "other".into()],
            scopes: vec![
                "mcp:admin".into(),
                "mcp:read".into(),
                "mcp:write".into(),
                "profile".into()
            ],
        }
    );
    // Exact address, IPv6 loopback, IPv4-mapped IPv6 of a trusted network.
    for peer in ["192.168.1.7:1", "[::1]:1", "[::ffff:10.1.2.3]:1"] {
        assert!(
            auth().authenticate(&parts(Some(peer), ALICE)).is_ok(),
            "{peer}"
        );
    }
    // Only the user header: no email, no groups, default scopes.
    let user = auth()
        .authenticate(&parts(Some("10.0.0.1:1"), &[("x-forwarded-user", b"bob")]))
        .unwrap();
    assert_eq!(
        (user.email, user.groups, user.scopes),
        (None, vec![], vec!["profile".to_owned()])
    );
    assert_eq!(
        auth().all_scopes(),
        ["mcp:admin", "mcp:read", "mcp:write", "profile"]
    );
}

#[test]
fn untrusted_or_unknown_peers_are_refused_with_403() {
    for peer in [
        Some("192.168.1.8:1"),
        Some("11.0.0.1:1"),
        Some("[::2]:1"),
        Some("127.0.0.1:1"),
        None,
    ] {
        let err = auth().authenticate(&parts(peer, ALICE)).unwrap_err();
        assert_eq!(err, ForwardedRejection::UntrustedPeer, "{peer:?}");
        assert_eq!(err.status(), StatusCode::FORBIDDEN);
    }
    // The default trusts nobody, not even loopback.
    let err = ForwardedAuth::new()
        .authenticate(&parts(Some("127.0.0.1:1"), ALICE))
        .unwrap_err();
    assert_eq!(err, ForwardedRejection::UntrustedPeer);
    // An untrusted peer's headers are not even parsed: a malformed one still gives 403.
    let dup: &[(&str, &[u8])] = &[("x-forwarded-user", b"a"), ("x-forwarded-user", b"b")];
    let err = auth()
        .authenticate(&parts(Some("8.8.8.8:1"), dup))
        .unwrap_err();
    assert_eq!(err, ForwardedRejection::UntrustedPeer);
}

#[test]
fn missing_user_is_401() {
    let peer = Some("10.0.0.1:1");
    for headers in [
        &[("x-forwarded-email", &b"a@example.com"[..])][..],
        &[("x-forwarded-user", &b"   "[..])][..],
        &[][..],
    ] {
        let err = auth().authenticate(&parts(peer, headers)).unwrap_err();
        assert_eq!(err, ForwardedRejection::MissingUser);
        assert_eq!(err.status(), StatusCode::UNAUTHORIZED);
    }
}

#[test]
fn malformed_headers_are_400_and_never_echoed() {
    let peer = Some("10.0.0.1:1");
    let long_user = vec![b'u'; MAX_USER_LEN + 1];
    let ok_user = vec![b'u'; MAX_USER_LEN];
    let many_groups = (0..=MAX_GROUPS)
        .map(|i| format!("g{i}"))
        .collect::<Vec<_>>()
        .join(",");
    let max_groups = (0..MAX_GROUPS)
        .map(|i| format!("g{i}"))
        .collect::<Vec<_>>()
        .join(",");
    let long_email = vec![b'e'; MAX_EMAIL_LEN + 1];
    let bad: Vec<(Vec<Header<'_>>, &str)> = vec![
        (
            vec![("x-forwarded-user", b"a"), ("x-forwarded-user", b"b")],
            "x-forwarded-user",
        ),
        (vec![("x-forwarded-user", &long_user)], "x-forwarded-user"),
        (vec![("x-forwarded-user", b"al\tice")], "x-forwarded-user"),
        (vec![("x-forwarded-user", b"\xff\xfe")], "x-forwarded-user"),
        (
            vec![
                ("x-forwarded-user", b"a"),
                ("x-forwarded-email", &long_email),
            ],
            "x-forwarded-email",
        ),
        (
            vec![
                ("x-forwarded-user", b"a"),
                ("x-forwarded-groups", many_groups.as_bytes()),
            ],
            "x-forwarded-groups",
        ),
    ];
    for (headers, name) in bad {
        let err = auth().authenticate(&parts(peer, &headers)).unwrap_err();
        assert_eq!(err, ForwardedRejection::InvalidHeader(name.to_owned()));
        assert_eq!(err.status(), StatusCode::BAD_REQUEST);
        assert_eq!(
            err.to_string(),
            format!("the proxy header {name} is invalid")
        );
        assert_eq!(
            err.description(),
            "The proxy sent an invalid identity header."
        );
    }
    // At the limits, and UTF-8 names: accepted.
    let ok: &[(&str, &[u8])] = &[
        ("x-forwarded-user", &ok_user),
        ("x-forwarded-groups", max_groups.as_bytes()),
    ];
    let user = auth().authenticate(&parts(peer, ok)).unwrap();
    assert_eq!(user.groups.len(), MAX_GROUPS);
    let user = auth()
        .authenticate(&parts(peer, &[("x-forwarded-user", "José".as_bytes())]))
        .unwrap();
    assert_eq!(user.subject, "José");
}

#[test]
fn custom_header_names() {
    let auth = auth()
        .user_header(HeaderName::from_static("x-auth-request-user"))
        .email_header(HeaderName::from_static("x-auth-request-email"))
        .groups_header(HeaderName::from_static("x-auth-request-groups"));
    let user = auth
        .authenticate(&parts(
            Some("10.0.0.1:1"),
            &[
                ("x-auth-request-user", b"carol"),
                ("x-auth-request-email", b"carol@example.com"),
                ("x-auth-request-groups", b"staff"),
                ("x-forwarded-user", b"mallory"),
            ],
        ))
        .unwrap();
    assert_eq!(user.subject, "carol");
    assert_eq!(user.scopes, ["mcp:read", "profile"]);
    let err = auth
        .authenticate(&parts(
            Some("10.0.0.1:1"),
            &[("x-forwarded-user", b"mallory")],
        ))
        .unwrap_err();
    assert_eq!(err, ForwardedRejection::MissingUser);
}

#[test]
fn trusted_proxy_configuration_errors() {
    for (value, message) in [
        (
            "proxy.local",
            "invalid configuration: trusted proxy `proxy.local` is not an IP address or CIDR network",
        ),
        (
            "10.0.0.0/33",
            "invalid configuration: trusted proxy `10.0.0.0/33` is not an IP address or CIDR network",
        ),
        (
            "0.0.0.0/0",
            "invalid configuration: trusted proxy `0.0.0.0/0` covers every address: anyone could choose their identity",
        ),
        (
            "::/0",
            "invalid configuration: trusted proxy `::/0` covers every address: anyone could choose their identity",
        ),
    ] {
        let err = ForwardedAuth::new().trusted_proxies([value]).unwrap_err();
        assert_eq!(err.to_string(), message);
    }
    // A host address with a prefix is normalised to its network.
    let auth = ForwardedAuth::new()
        .trusted_proxies([" 10.1.2.3/16 "])
        .unwrap();
    assert!(auth.is_trusted("10.1.200.1".parse().unwrap()));
    assert!(!auth.is_trusted("10.2.0.1".parse().unwrap()));
}
