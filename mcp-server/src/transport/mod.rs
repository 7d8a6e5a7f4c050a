//! Transports: how messages reach [`Server::handle`](crate::Server::handle).
//!
//! | transport | module | use |
//! |---|---|---|
//! | stdio | [`stdio`] | a subprocess of the client: newline-delimited JSON-RPC on stdin/stdout |
//! | in-memory | [`memory`] | tests: a client handle in the same process |
//! | Streamable HTTP | `http` (feature `http`) | remote clients |

#[cfg(feature = "http")]
#[cfg_attr(docsrs, doc(cfg(feature = "http")))]
pub mod http;
pub mod memory;
pub mod stdio;
