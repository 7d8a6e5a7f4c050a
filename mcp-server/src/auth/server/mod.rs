//! The OAuth 2.1 authorization server this crate can serve itself: a façade in front of an
//! upstream IdP, or a built-in authorization server minting its own access tokens.
//!
//! Work in progress (issue 14); see `CONTRACT.md` beside this file.

pub(crate) mod page;
