//! The pages of `docs/` and the README as doctests: every Rust code block in them is compiled
//! (and run unless marked `no_run`) by `cargo test -p mcp-rs-server --all-features --doc docs_tests`.
//! `docs/ARCHITECTURE.md` and `docs/performance.md` hold no Rust blocks.

#[doc = include_str!("../../docs/getting-started.md")]
#[allow(dead_code)]
struct GettingStarted;

#[doc = include_str!("../../docs/server-builder.md")]
#[allow(dead_code)]
struct ServerBuilder;

#[doc = include_str!("../../docs/request-context.md")]
#[allow(dead_code)]
struct RequestContextGuide;

#[doc = include_str!("../../docs/transports.md")]
#[allow(dead_code)]
struct Transports;

#[doc = include_str!("../../docs/protocol-eras.md")]
#[allow(dead_code)]
struct ProtocolEras;

#[cfg(feature = "auth")]
#[doc = include_str!("../../docs/authorization.md")]
#[allow(dead_code)]
struct Authorization;

#[cfg(feature = "redis")]
#[doc = include_str!("../../docs/scaling-out.md")]
#[allow(dead_code)]
struct ScalingOut;

#[doc = include_str!("../../docs/custom-methods.md")]
#[allow(dead_code)]
struct CustomMethods;

#[doc = include_str!("../../docs/hooks.md")]
#[allow(dead_code)]
struct Hooks;

#[doc = include_str!("../../docs/tasks.md")]
#[allow(dead_code)]
struct Tasks;

#[cfg(feature = "auth")]
#[doc = include_str!("../../docs/access-policy.md")]
#[allow(dead_code)]
struct AccessPolicyGuide;

#[doc = include_str!("../../docs/macros.md")]
#[allow(dead_code)]
struct Macros;

#[doc = include_str!("../../README.md")]
#[allow(dead_code)]
struct Readme;

#[doc = include_str!("../../docs/examples.md")]
#[allow(dead_code)]
struct Examples;
