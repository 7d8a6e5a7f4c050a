use super::*;
use crate::identity::Scopes;
use serde_json::json;
use std::time::Duration;

fn who(sub: &str, scopes: &str) -> OAuthContext {
    OAuthContext::new(sub, Scopes::from_space_separated(scopes))
}

fn with_claims(mut ctx: OAuthContext, claims: serde_json::Value) -> OAuthContext {
    ctx.claims = claims.as_object().cloned().unwrap_or_default();
    ctx
}

fn notes_policy() -> AccessPolicy {
    AccessPolicy::builder()
        .default_deny()
        .rule(
            Rule::allow("readers")
                .scopes(["mcp:read"])
                .tools(["list_*"]),
        )
        .rule(
            Rule::allow("writers")
                .scopes(["mcp:write"])
                .tools(["add_*"]),
        )
        .rule(
            Rule::allow("admins")
                .roles(["admin"])
                .tools(["*"])
                .resources(["*"]),
        )
        .rule(
            Rule::deny("bots-never-reset")
                .clients(["ci-*"])
                .tools(["reset_*"]),
        )
        .rule(Rule::allow("everyone").prompts(["help"]))
        .build()
        .unwrap()
}

fn allow(rule: Option<&str>) -> Decision {
    Decision::Allow {
        rule: rule.map(Arc::from),
    }
}

#[test]
fn allow_rules_match_by_scope_role_subject_and_client() {
    let p = notes_policy();
    let reader = who("alice", "mcp:read");
    assert_eq!(
        p.decide(Some(&reader), Item::Tool("list_notes")),
        allow(Some("readers"))
    );
    let admin = with_claims(who("root", ""), json!({"roles": ["admin"]}));
    assert_eq!(
        p.decide(Some(&admin), Item::Tool("reset_notes")),
        allow(Some("admins"))
    );
    assert_eq!(
        p.decide(Some(&admin), Item::Resource("notes://all")),
        allow(Some("admins"))
    );
    let by_subject = AccessPolicy::builder()
        .default_deny()
        .rule(Rule::allow("bob").subjects(["bob"]).tools(["x"]))
        .build()
        .unwrap();
    assert!(
        by_subject
            .decide(Some(&who("bob", "")), Item::Tool("x"))
            .is_allowed()
    );
    assert!(
        !by_subject
            .decide(Some(&who("bobby", "")), Item::Tool("x"))
            .is_allowed()
    );
}

#[test]
fn deny_wins_over_allow() {
    let p = notes_policy();
    let mut bot = with_claims(who("ci", ""), json!({"roles": "admin"}));
    bot.client_id = Some("ci-runner".into());
    assert_eq!(
        p.decide(Some(&bot), Item::Tool("reset_notes")),
        Decision::Deny {
            rule: Some(Arc::from("bots-never-reset")),
            hide: true,
            step_up: vec![],
        }
    );
    assert!(p.decide(Some(&bot), Item::Tool("list_notes")).is_allowed());
}

#[test]
fn default_deny_names_the_scopes_that_would_help() {
    let p = notes_policy();
    let reader = who("alice", "mcp:read");
    assert_eq!(
        p.decide(Some(&reader), Item::Tool("add_note")),
        Decision::Deny {
            rule: None,
            hide: true,
            step_up: vec!["mcp:write".into()],
        }
    );
    // Only the role-based rule names reset_notes: no scope helps.
    assert_eq!(
        p.decide(Some(&reader), Item::Tool("reset_notes")),
        Decision::Deny {
            rule: None,
            hide: true,
            step_up: vec![],
        }
    );
}

#[test]
fn callers_without_identity_match_only_open_rules() {
    let p = notes_policy();
    assert!(!p.decide(None, Item::Tool("list_notes")).is_allowed());
    assert_eq!(
        p.decide(None, Item::Prompt("help")),
        allow(Some("everyone"))
    );
    assert_eq!(
        AccessPolicy::allow_all().decide(None, Item::Tool("anything")),
        allow(None)
    );
}

#[test]
fn roles_come_from_the_configured_claims() {
    let p = AccessPolicy::builder()
        .default_deny()
        .role_claims(["realm_access.roles"])
        .rule(Rule::allow("ops").roles(["ops"]).tools(["*"]))
        .build()
        .unwrap();
    let nested = with_claims(who("k", ""), json!({"realm_access": {"roles": ["ops"]}}));
    assert!(p.decide(Some(&nested), Item::Tool("t")).is_allowed());
    // `roles` is not among this policy's role claims.
    let top = with_claims(who("k", ""), json!({"roles": ["ops"]}));
    assert!(!p.decide(Some(&top), Item::Tool("t")).is_allowed());
    // The default role claims are `roles` and `groups`.
    let d = AccessPolicy::builder()
        .default_deny()
        .rule(Rule::allow("ops").roles(["ops"]).tools(["*"]))
        .build()
        .unwrap();
    let grouped = with_claims(who("k", ""), json!({"groups": ["ops", "dev"]}));
    assert!(d.decide(Some(&grouped), Item::Tool("t")).is_allowed());
}

#[test]
fn templates_and_uris_match_resource_globs() {
    let p = AccessPolicy::builder()
        .default_deny()
        .rule(Rule::allow("notes").resources(["notes://*"]))
        .build()
        .unwrap();
    assert!(p.decide(None, Item::Resource("notes://all")).is_allowed());
    assert!(p.decide(None, Item::Resource("notes://a/b/c")).is_allowed());
    assert!(
        p.decide(None, Item::ResourceTemplate("notes://{id}"))
            .is_allowed()
    );
    assert!(
        !p.decide(None, Item::Resource("files:///etc/passwd"))
            .is_allowed()
    );
    assert!(!p.decide(None, Item::Tool("notes://x")).is_allowed());
}

#[test]
fn a_deny_rule_can_keep_items_listed() {
    let p = AccessPolicy::builder()
        .rule(Rule::deny("visible").tools(["a"]).hide(false))
        .rule(Rule::deny("hidden").tools(["b"]))
        .build()
        .unwrap();
    assert!(matches!(
        p.decide(None, Item::Tool("a")),
        Decision::Deny { hide: false, .. }
    ));
    assert!(matches!(
        p.decide(None, Item::Tool("b")),
        Decision::Deny { hide: true, .. }
    ));
    let shown = AccessPolicy::builder()
        .hide_denied(false)
        .rule(Rule::deny("d").tools(["b"]))
        .build()
        .unwrap();
    assert!(matches!(
        shown.decide(None, Item::Tool("b")),
        Decision::Deny { hide: false, .. }
    ));
}

#[test]
fn bad_rules_are_refused_when_built() {
    let e = AccessPolicy::builder()
        .rule(Rule::allow("x").roles(["a"]))
        .build()
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "rule `x` names no tools, resources or prompts"
    );
    let e = AccessPolicy::builder()
        .rule(Rule::allow("").tools(["[a-"]))
        .build()
        .unwrap_err();
    assert!(
        e.to_string()
            .starts_with("rule `rule 1`: invalid pattern `[a-`: "),
        "{e}"
    );
}

const JSON_POLICY: &str = r#"{
  "default": "deny",
  "rules": [
    {"name": "readers", "effect": "allow", "scopes": ["mcp:read"], "tools": ["list_*"]},
    {"name": "no-reset", "effect": "deny", "subjects": ["*"], "tools": ["reset_*"]}
  ]
}"#;

#[test]
fn json_policies_parse() {
    let p = AccessPolicy::from_json(JSON_POLICY).unwrap();
    assert_eq!(p.len(), 2);
    let r = who("a", "mcp:read");
    assert!(p.decide(Some(&r), Item::Tool("list_x")).is_allowed());
    assert_eq!(
        p.decide(Some(&r), Item::Tool("reset_x")).rule(),
        Some("no-reset")
    );
    let e = AccessPolicy::from_json(r#"{"default": "deny", "rulez": []}"#).unwrap_err();
    assert!(
        e.to_string().starts_with("policy: unknown field `rulez`"),
        "{e}"
    );
    let e =
        AccessPolicy::from_json(r#"{"rules": [{"effect": "maybe", "tools": ["x"]}]}"#).unwrap_err();
    assert!(e.to_string().contains("unknown variant `maybe`"), "{e}");
}

#[cfg(feature = "policy-toml")]
#[test]
fn toml_policies_parse() {
    let p = AccessPolicy::from_toml(
        r#"
default = "deny"
role_claims = ["roles"]

[[rule]]
name = "readers"
effect = "allow"
scopes = ["mcp:read"]
tools = ["list_*"]

[[rule]]
name = "ops"
effect = "allow"
roles = ["ops"]
tools = ["*"]
"#,
    )
    .unwrap();
    assert_eq!(p.len(), 2);
    let ops = with_claims(who("o", ""), json!({"roles": ["ops"]}));
    assert_eq!(p.decide(Some(&ops), Item::Tool("x")).rule(), Some("ops"));
    let e = AccessPolicy::from_toml("default = 3").unwrap_err();
    assert!(e.to_string().starts_with("policy: "), "{e}");
    assert!(e.to_string().contains("line 1"), "{e}");
}

fn temp_file(name: &str, text: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("mcp-rs-policy-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn a_handle_reloads_its_file_and_keeps_the_old_policy_on_error() {
    let path = temp_file("policy.json", JSON_POLICY);
    let handle = PolicyHandle::from_file(&path).unwrap();
    let r = who("a", "mcp:read");
    assert!(
        handle
            .current()
            .decide(Some(&r), Item::Tool("list_x"))
            .is_allowed()
    );
    std::fs::write(&path, r#"{"default": "deny"}"#).unwrap();
    handle.reload().unwrap();
    assert!(
        !handle
            .current()
            .decide(Some(&r), Item::Tool("list_x"))
            .is_allowed()
    );
    std::fs::write(&path, "{ not json").unwrap();
    let e = handle.reload().unwrap_err();
    assert!(
        e.to_string().starts_with(&path.display().to_string()),
        "{e}"
    );
    assert_eq!(handle.current().len(), 0);
    assert!(matches!(
        PolicyHandle::new(AccessPolicy::allow_all()).reload(),
        Err(PolicyError::NoFile)
    ));
    let e = PolicyHandle::from_file(path.with_file_name("missing.json")).unwrap_err();
    assert!(matches!(e, PolicyError::Io { .. }));
}

#[tokio::test]
async fn the_watcher_reloads_when_the_file_changes() {
    let path = temp_file("policy.json", r#"{"default": "allow"}"#);
    let handle = PolicyHandle::from_file(&path).unwrap();
    let task = handle.watch(Duration::from_millis(20));
    assert!(handle.current().decide(None, Item::Tool("t")).is_allowed());
    // A different length, so the change is seen even where mtime is coarse.
    std::fs::write(&path, r#"{"default": "deny", "hide_denied": true}"#).unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while handle.current().decide(None, Item::Tool("t")).is_allowed() {
        assert!(tokio::time::Instant::now() < deadline, "not reloaded");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    drop(handle);
    tokio::time::timeout(Duration::from_secs(5), task)
        .await
        .expect("the watcher ends when the handle is dropped")
        .unwrap();
}

#[cfg(feature = "policy-toml")]
#[test]
fn an_empty_policy_is_refused_so_a_truncated_file_cannot_open_the_server() {
    let deny = "default = \"deny\"\n";
    let path = temp_file("policy.toml", deny);
    let handle = PolicyHandle::from_file(&path).unwrap();
    let denied = |h: &PolicyHandle| !h.current().decide(None, Item::Tool("t")).is_allowed();
    assert!(denied(&handle));
    // What a reader sees while an editor rewrites the file: nothing, or its first comments.
    for text in ["", "  \n", "# The access policy\n# more comments\n"] {
        std::fs::write(&path, text).unwrap();
        let e = handle.reload().unwrap_err();
        assert_eq!(
            e.to_string(),
            format!("{}: {}", path.display(), super::config::EMPTY_POLICY),
            "{text:?}"
        );
        assert!(denied(&handle), "{text:?}: the old policy stays in force");
    }
    let json = path.with_file_name("policy.json");
    std::fs::write(&json, "{}").unwrap();
    assert!(matches!(
        AccessPolicy::from_file(&json),
        Err(PolicyError::Parse { ref message, .. }) if message == super::config::EMPTY_POLICY
    ));
    assert!(AccessPolicy::from_json(" { } ").is_err());
    assert!(AccessPolicy::from_toml("").is_err());
    // Allowing everything stays possible, explicitly.
    assert!(AccessPolicy::from_toml("default = \"allow\"").is_ok());
    assert!(AccessPolicy::from_json(r#"{"default": "allow"}"#).is_ok());
}

#[tokio::test]
async fn the_watcher_keeps_the_policy_when_the_file_is_emptied() {
    let path = temp_file("policy.json", r#"{"default": "deny"}"#);
    let handle = PolicyHandle::from_file(&path).unwrap();
    let task = handle.watch(Duration::from_millis(10));
    std::fs::write(&path, "").unwrap();
    // Many polls later, the emptied file has been read and refused.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!handle.current().decide(None, Item::Tool("t")).is_allowed());
    std::fs::write(&path, r#"{"default": "allow", "hide_denied": false}"#).unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !handle.current().decide(None, Item::Tool("t")).is_allowed() {
        assert!(tokio::time::Instant::now() < deadline, "not reloaded");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    task.abort();
}
