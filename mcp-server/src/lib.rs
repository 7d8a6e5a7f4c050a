//! # mcp-server (skeleton, filled by the server-core work)
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod identity;
