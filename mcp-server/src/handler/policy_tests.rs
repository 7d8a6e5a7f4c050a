//! The access policy as clients see it: lists, calls, reloads, over the in-memory transport
//! (no HTTP) and as the outcome the HTTP transport maps.

use crate::identity::{OAuthContext, Scopes};
use crate::policy::{AccessPolicy, PolicyHandle, Rule};
use crate::prelude::*;
use crate::prompt::PromptDef;
use crate::resource::{ResourceDef, ResourceTemplateDef};
use crate::scope::ScopeRequirement;
use crate::tool::ToolDef;
use crate::transport::memory::{self, MemoryClient};
use serde_json::{Map, Value, json};

type Args = Map<String, Value>;

fn tool(name: &str) -> ToolDef {
    ToolDef::builder(name).handler_fn(|_c, _a: Args| async { "ok" })
}

fn scoped_tool(name: &str, scope: &str) -> ToolDef {
    ToolDef::builder(name)
        .scopes(ScopeRequirement::all([scope]))
        .handler_fn(|_c, _a: Args| async { "ok" })
}

fn notebook() -> crate::ServerBuilder {
    Server::builder()
        .tool(tool("list_notes"))
        .tool(scoped_tool("add_note", "mcp:write"))
        .tool(tool("reset_notes"))
        .tool(tool("admin_wipe"))
        .resource(ResourceDef::builder("notes://all", "all").handler_fn(|_c, _u| async { "[]" }))
        .resource(ResourceDef::builder("secret://keys", "keys").handler_fn(|_c, _u| async { "k" }))
        .resource_template(
            ResourceTemplateDef::builder("notes://{id}", "note")
                .handler_fn(|_c, u, _v| async move { u }),
        )
        .prompt(PromptDef::builder("summarize").handler_fn(|_c, _a| async { "s" }))
        .prompt(PromptDef::builder("admin_prompt").handler_fn(|_c, _a| async { "a" }))
}

fn policy() -> AccessPolicy {
    AccessPolicy::builder()
        .default_deny()
        .rule(
            Rule::allow("readers")
                .scopes(["mcp:read"])
                .tools(["list_*"])
                .resources(["notes://*"])
                .prompts(["summarize"]),
        )
        .rule(
            Rule::allow("writers")
                .scopes(["mcp:write"])
                .tools(["add_*", "list_*"]),
        )
        .rule(
            Rule::allow("admins")
                .roles(["admin"])
                .tools(["*"])
                .prompts(["*"]),
        )
        .rule(
            Rule::deny("no-wipe")
                .subjects(["*"])
                .tools(["admin_wipe"])
                .hide(false),
        )
        .build()
        .unwrap()
}

fn user(sub: &str, scopes: &str, roles: &[&str]) -> OAuthContext {
    let mut ctx = OAuthContext::new(sub, Scopes::from_space_separated(scopes));
    ctx.claims.insert("roles".into(), json!(roles));
    ctx
}

async fn connected(builder: crate::ServerBuilder, who: Option<OAuthContext>) -> MemoryClient {
    let server = builder.build();
    let client = memory::connect(&server);
    client.initialize().await.unwrap();
    client.set_identity(who);
    client
}

async fn names(client: &MemoryClient, method: &str, key: &str, field: &str) -> Vec<String> {
    let r = client.request(method, json!({})).await.unwrap();
    r[key]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i[field].as_str().unwrap().to_owned())
        .collect()
}

async fn tools(client: &MemoryClient) -> Vec<String> {
    names(client, "tools/list", "tools", "name").await
}

#[tokio::test]
async fn lists_leave_out_what_the_policy_hides() {
    let reader = user("alice", "mcp:read", &[]);
    let c = connected(notebook().access_policy(policy()), Some(reader)).await;
    // add_note: scopes would help, listed (hiding is off); reset_notes: hidden;
    // admin_wipe: denied by a rule that keeps it listed.
    assert_eq!(tools(&c).await, ["add_note", "admin_wipe", "list_notes"]);
    assert_eq!(
        names(&c, "resources/list", "resources", "uri").await,
        ["notes://all"]
    );
    assert_eq!(
        names(
            &c,
            "resources/templates/list",
            "resourceTemplates",
            "uriTemplate"
        )
        .await,
        ["notes://{id}"]
    );
    assert_eq!(
        names(&c, "prompts/list", "prompts", "name").await,
        ["summarize"]
    );
}

#[tokio::test]
async fn hiding_unauthorized_items_also_hides_policy_scope_shortfalls() {
    let builder = notebook()
        .access_policy(policy())
        .hide_unauthorized_items(true);
    let c = connected(builder, Some(user("alice", "mcp:read", &[]))).await;
    assert_eq!(tools(&c).await, ["admin_wipe", "list_notes"]);
    // The admin role passes the policy everywhere, but add_note itself needs mcp:write.
    c.set_identity(Some(user("root", "", &["admin"])));
    assert_eq!(tools(&c).await, ["admin_wipe", "list_notes", "reset_notes"]);
    assert_eq!(
        names(&c, "prompts/list", "prompts", "name").await,
        ["admin_prompt", "summarize"]
    );
}

#[tokio::test]
async fn hidden_items_cannot_be_used_and_answer_as_unknown() {
    let c = connected(
        notebook().access_policy(policy()),
        Some(user("alice", "mcp:read", &[])),
    )
    .await;
    let e = c
        .request("tools/call", json!({"name": "reset_notes"}))
        .await
        .unwrap_err();
    assert_eq!(
        (e.code, e.message.as_str()),
        (-32602, "Unknown tool: reset_notes")
    );
    let e = c
        .request("resources/read", json!({"uri": "secret://keys"}))
        .await
        .unwrap_err();
    assert_eq!(e.code, -32002);
    assert_eq!(e.data, Some(json!({"uri": "secret://keys"})));
    let e = c
        .request("prompts/get", json!({"name": "admin_prompt"}))
        .await
        .unwrap_err();
    assert_eq!(
        (e.code, e.message.as_str()),
        (-32602, "Unknown prompt: admin_prompt")
    );
    // Allowed items work, a template read is checked with its concrete URI.
    let r = c
        .request("tools/call", json!({"name": "list_notes"}))
        .await
        .unwrap();
    assert_eq!(
        r,
        json!({"content": [{"type": "text", "text": "ok"}], "isError": false})
    );
    let r = c
        .request("resources/read", json!({"uri": "notes://7"}))
        .await
        .unwrap();
    assert_eq!(r["contents"][0]["text"], "notes://7");
}

#[tokio::test]
async fn denials_say_why_without_http() {
    let c = connected(
        notebook().access_policy(policy()),
        Some(user("alice", "mcp:read", &[])),
    )
    .await;
    // A listed deny: a JSON-RPC error naming the item.
    let e = c
        .request("tools/call", json!({"name": "admin_wipe"}))
        .await
        .unwrap_err();
    assert_eq!(
        (e.code, e.message.as_str()),
        (
            -32602,
            "Access denied: the access policy does not allow tool admin_wipe for this caller"
        )
    );
    // A default deny that mcp:write would lift: the tool result of a scope shortfall.
    let r = c
        .request("tools/call", json!({"name": "add_note"}))
        .await
        .unwrap();
    assert_eq!(
        r,
        json!({"content": [{"type": "text", "text": "insufficient scope: requires mcp:write"}], "isError": true})
    );
}

#[tokio::test]
async fn the_policy_and_the_items_scopes_both_apply() {
    // The admin role passes the policy for add_note, but the tool itself needs mcp:write.
    let c = connected(
        notebook().access_policy(policy()),
        Some(user("root", "", &["admin"])),
    )
    .await;
    let r = c
        .request("tools/call", json!({"name": "add_note"}))
        .await
        .unwrap();
    assert_eq!(r["isError"], true);
    assert_eq!(
        r["content"][0]["text"],
        "insufficient scope: requires mcp:write"
    );
    c.set_identity(Some(user("root", "mcp:write", &["admin"])));
    let r = c
        .request("tools/call", json!({"name": "add_note"}))
        .await
        .unwrap();
    assert_eq!(r["isError"], false);
}

#[tokio::test]
async fn a_replaced_policy_applies_to_the_next_request() {
    let handle = PolicyHandle::new(policy());
    let c = connected(
        notebook().access_policy(handle.clone()),
        Some(user("alice", "mcp:read", &[])),
    )
    .await;
    assert_eq!(tools(&c).await, ["add_note", "admin_wipe", "list_notes"]);
    handle.replace(
        AccessPolicy::builder()
            .rule(Rule::deny("lockdown").tools(["*"]))
            .build()
            .unwrap(),
    );
    assert_eq!(tools(&c).await, Vec::<String>::new());
    let e = c
        .request("tools/call", json!({"name": "list_notes"}))
        .await
        .unwrap_err();
    assert_eq!(e.message, "Unknown tool: list_notes");
}

#[tokio::test]
async fn without_identity_only_open_rules_apply() {
    let p = AccessPolicy::builder()
        .default_deny()
        .rule(Rule::allow("local").tools(["list_*"]))
        .build()
        .unwrap();
    let c = connected(notebook().access_policy(p), None).await;
    assert_eq!(tools(&c).await, ["list_notes"]);
}

#[cfg(feature = "http")]
#[tokio::test]
async fn over_http_a_scope_shortfall_is_a_forbidden_outcome() {
    use crate::server::{Exchange, Outcome};
    use mcp_rs_core::jsonrpc::{JsonRpcMessage, RequestId};
    use std::sync::Arc;

    let server = notebook().access_policy(policy()).build();
    let session = server.create_detached_session();
    let init = json!({"protocolVersion": "2025-11-25", "capabilities": {},
        "clientInfo": {"name": "c", "version": "1"}});
    let msg = JsonRpcMessage::request(1, "initialize", Some(init));
    server
        .handle(msg, Exchange::with_session(session.clone()))
        .await;
    let call = |id: i64, name: &str| {
        let (mut parts, ()) = http::Request::new(()).into_parts();
        parts
            .extensions
            .insert(Arc::new(user("alice", "mcp:read", &[])));
        let ex = Exchange {
            session: Some(session.clone()),
            http: Some(Arc::new(parts)),
            ..Exchange::default()
        };
        let msg = JsonRpcMessage::request(id, "tools/call", Some(json!({"name": name})));
        (msg, ex)
    };
    let (msg, ex) = call(2, "add_note");
    assert_eq!(
        server.handle(msg, ex).await,
        Outcome::Forbidden {
            id: RequestId::Number(2),
            required: ScopeRequirement::any(["mcp:write"]),
        }
    );
    let (msg, ex) = call(3, "reset_notes");
    let Outcome::Reply(JsonRpcMessage::Error(e)) = server.handle(msg, ex).await else {
        panic!("a hidden tool is an error reply")
    };
    assert_eq!(
        (e.error.code, e.error.message.as_str()),
        (-32602, "Unknown tool: reset_notes")
    );
}

#[tokio::test]
async fn a_percent_encoded_template_read_cannot_step_around_a_deny_rule() {
    let p = AccessPolicy::builder()
        .rule(Rule::deny("secret").resources(["notes://secret", "notes://private/*"]))
        .build()
        .unwrap();
    let c = connected(notebook().access_policy(p), Some(user("alice", "", &[]))).await;
    // The template notes://{id} hands the handler the decoded id: each of these is the
    // denied resource, and each answers as an unknown resource (-32002, the URI as sent).
    for uri in [
        "notes://secret",
        "notes://%73ecret",
        "notes://%73%65%63%72%65%74",
        "notes://private%2Fplans",
    ] {
        let e = c
            .request("resources/read", json!({"uri": uri}))
            .await
            .unwrap_err();
        assert_eq!(
            (e.code, e.data),
            (-32002, Some(json!({"uri": uri}))),
            "{uri}"
        );
    }
    // An encoded URI that decodes to an allowed one still reads.
    let r = c
        .request("resources/read", json!({"uri": "notes://%37"}))
        .await
        .unwrap();
    assert_eq!(r["contents"][0]["text"], "notes://%37");
}

#[tokio::test]
async fn a_hidden_resource_cannot_be_watched() {
    let server = notebook()
        .access_policy(policy())
        .resource(
            ResourceDef::builder("notes://admin", "admin notes")
                .scopes(ScopeRequirement::all(["notes:admin"]))
                .handler_fn(|_c, _u| async { "a" }),
        )
        .build();
    let c = memory::connect(&server);
    c.initialize().await.unwrap();
    c.set_identity(Some(user("alice", "mcp:read", &[])));
    // Hidden by the policy: answered as for an unknown URI, and nothing is subscribed.
    for uri in ["secret://keys", "no://such-resource", "notes://all"] {
        let r = c
            .request("resources/subscribe", json!({"uri": uri}))
            .await
            .unwrap();
        assert_eq!(r, json!({}), "{uri}");
    }
    // A resource the policy allows but whose own scopes the caller lacks: the read's error.
    let e = c
        .request("resources/subscribe", json!({"uri": "notes://admin"}))
        .await
        .unwrap_err();
    assert_eq!(
        (e.code, e.message.as_str()),
        (-32602, "insufficient scope: requires notes:admin")
    );
    server.notify_resource_updated("secret://keys");
    server.notify_resource_updated("notes://admin");
    server.notify_resource_updated("notes://all");
    let note = c
        .recv_timeout(std::time::Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(
        note.to_value(),
        json!({"jsonrpc": "2.0", "method": "notifications/resources/updated",
               "params": {"uri": "notes://all"}})
    );
    assert!(c.try_recv().await.is_none());
}

#[tokio::test]
async fn a_deny_rule_naming_a_template_also_denies_reads_through_it() {
    let read = |c: &MemoryClient, uri: &'static str| {
        let c = c.clone();
        async move { c.request("resources/read", json!({"uri": uri})).await }
    };
    // Hidden: left out of resources/templates/list, and a read through it is an unknown URI.
    let p = AccessPolicy::builder()
        .rule(Rule::deny("no-notes-template").resources(["notes://{id}"]))
        .build()
        .unwrap();
    let c = connected(notebook().access_policy(p), Some(user("alice", "", &[]))).await;
    assert_eq!(
        names(
            &c,
            "resources/templates/list",
            "resourceTemplates",
            "uriTemplate"
        )
        .await,
        Vec::<String>::new()
    );
    let e = read(&c, "notes://7").await.unwrap_err();
    assert_eq!(
        (e.code, e.data),
        (-32002, Some(json!({"uri": "notes://7"})))
    );
    // A concrete resource beside it is not concerned.
    assert!(read(&c, "notes://all").await.is_ok());
    // Listed: the denial names the template.
    let p = AccessPolicy::builder()
        .rule(
            Rule::deny("no-notes-template")
                .resources(["notes://{id}"])
                .hide(false),
        )
        .build()
        .unwrap();
    let c = connected(notebook().access_policy(p), Some(user("alice", "", &[]))).await;
    let e = read(&c, "notes://7").await.unwrap_err();
    assert_eq!(
        (e.code, e.message.as_str()),
        (
            -32602,
            "Access denied: the access policy does not allow resource template notes://{id} for this caller"
        )
    );
    // A template only default-denied does not block reads its concrete URIs are allowed.
    let p = AccessPolicy::builder()
        .default_deny()
        .rule(Rule::allow("seven").resources(["notes://7"]))
        .build()
        .unwrap();
    let c = connected(notebook().access_policy(p), Some(user("alice", "", &[]))).await;
    assert_eq!(
        read(&c, "notes://7").await.unwrap()["contents"][0]["text"],
        "notes://7"
    );
    assert_eq!(read(&c, "notes://8").await.unwrap_err().code, -32002);
}
