//! Typed JSON-RPC envelopes: `XxxRequest`, `XxxNotification` and `XxxResultResponse`
//! structs that pin the method name and the params/result type of one message.

use serde::de::Error as _;
use serde::{Deserialize, Deserializer};

use crate::jsonrpc::{JSONRPC_VERSION, RequestId};

#[derive(Deserialize)]
pub(crate) struct RawEnvelope<P> {
    #[serde(default)]
    pub(crate) jsonrpc: Option<String>,
    #[serde(default)]
    pub(crate) id: Option<RequestId>,
    #[serde(default)]
    pub(crate) method: Option<String>,
    #[serde(default = "Option::default")]
    pub(crate) params: Option<P>,
}

#[derive(Deserialize)]
pub(crate) struct RawResponse<R> {
    pub(crate) jsonrpc: String,
    pub(crate) id: RequestId,
    pub(crate) result: R,
}

/// Reads an envelope and checks `jsonrpc` (when `need_jsonrpc`) and `method`.
pub(crate) fn read_envelope<'de, D: Deserializer<'de>, P: Deserialize<'de>>(
    d: D,
    method: &str,
    need_jsonrpc: bool,
) -> Result<RawEnvelope<P>, D::Error> {
    let raw = RawEnvelope::<P>::deserialize(d)?;
    check_jsonrpc::<D::Error>(raw.jsonrpc.as_deref(), need_jsonrpc)?;
    match raw.method.as_deref() {
        Some(m) if m == method => Ok(raw),
        Some(m) => Err(D::Error::custom(format!(
            "expected method {method:?}, found {m:?}"
        ))),
        None => Err(D::Error::missing_field("method")),
    }
}

pub(crate) fn check_jsonrpc<E: serde::de::Error>(v: Option<&str>, need: bool) -> Result<(), E> {
    match v {
        Some(JSONRPC_VERSION) => Ok(()),
        Some(other) => Err(E::custom(format!(
            "\"jsonrpc\" must be \"2.0\", found {other:?}"
        ))),
        None if need => Err(E::missing_field("jsonrpc")),
        None => Ok(()),
    }
}

/// Defines a full JSON-RPC request struct `{jsonrpc, id, method, params}`.
macro_rules! request {
    ($(#[$doc:meta])* $name:ident = $method:expr, $params:ty) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq)]
        pub struct $name {
            /// The request id.
            pub id: $crate::jsonrpc::RequestId,
            /// The parameters.
            pub params: $params,
        }

        impl $name {
            /// The method name.
            pub const METHOD: &'static str = $method;

            /// A request with this id and params.
            pub fn new(id: impl Into<$crate::jsonrpc::RequestId>, params: $params) -> Self {
                $name { id: id.into(), params }
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                use serde::ser::SerializeMap;
                let mut m = s.serialize_map(Some(4))?;
                m.serialize_entry("jsonrpc", $crate::jsonrpc::JSONRPC_VERSION)?;
                m.serialize_entry("id", &self.id)?;
                m.serialize_entry("method", Self::METHOD)?;
                m.serialize_entry("params", &self.params)?;
                m.end()
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                use serde::de::Error as _;
                let raw = $crate::schema::envelope::read_envelope::<D, $params>(d, Self::METHOD, true)?;
                Ok($name {
                    id: raw.id.ok_or_else(|| D::Error::missing_field("id"))?,
                    params: raw.params.ok_or_else(|| D::Error::missing_field("params"))?,
                })
            }
        }
    };
    ($(#[$doc:meta])* $name:ident = $method:expr, optional $params:ty) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq)]
        pub struct $name {
            /// The request id.
            pub id: $crate::jsonrpc::RequestId,
            /// The parameters (optional up to 2025-11-25; always sent from 2026-07-28).
            pub params: Option<$params>,
        }

        impl $name {
            /// The method name.
            pub const METHOD: &'static str = $method;

            /// A request with this id and params.
            pub fn new(id: impl Into<$crate::jsonrpc::RequestId>, params: Option<$params>) -> Self {
                $name { id: id.into(), params }
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                use serde::ser::SerializeMap;
                let mut m = s.serialize_map(None)?;
                m.serialize_entry("jsonrpc", $crate::jsonrpc::JSONRPC_VERSION)?;
                m.serialize_entry("id", &self.id)?;
                m.serialize_entry("method", Self::METHOD)?;
                if let Some(p) = &self.params {
                    m.serialize_entry("params", p)?;
                }
                m.end()
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                use serde::de::Error as _;
                let raw = $crate::schema::envelope::read_envelope::<D, $params>(d, Self::METHOD, true)?;
                Ok($name { id: raw.id.ok_or_else(|| D::Error::missing_field("id"))?, params: raw.params })
            }
        }
    };
}
pub(crate) use request;

/// Defines a server-to-client request as embedded in `inputRequests` (2026-07-28):
/// `{method, params}`, with an optional `id` and no `jsonrpc` member.
macro_rules! embedded_request {
    ($(#[$doc:meta])* $name:ident = $method:expr, $params:ty, $($optional:ident)?) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq)]
        pub struct $name {
            /// The request id, when sent as a standalone message (handshake era).
            pub id: Option<$crate::jsonrpc::RequestId>,
            /// The parameters.
            pub params: embedded_request!(@ty $params, $($optional)?),
        }

        impl $name {
            /// The method name.
            pub const METHOD: &'static str = $method;

            /// A request with these params and no id (as embedded in `inputRequests`).
            pub fn new(params: embedded_request!(@ty $params, $($optional)?)) -> Self {
                $name { id: None, params }
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                use serde::ser::SerializeMap;
                let mut m = s.serialize_map(None)?;
                if let Some(id) = &self.id {
                    m.serialize_entry("id", id)?;
                }
                m.serialize_entry("method", Self::METHOD)?;
                embedded_request!(@ser m, self.params, $($optional)?);
                m.end()
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                #[allow(unused_imports)]
                use serde::de::Error as _;
                let raw = $crate::schema::envelope::read_envelope::<D, $params>(d, Self::METHOD, false)?;
                Ok($name { id: raw.id, params: embedded_request!(@de raw.params, $($optional)?) })
            }
        }
    };
    (@ty $params:ty, optional) => { Option<$params> };
    (@ty $params:ty, ) => { $params };
    (@ser $m:ident, $p:expr, optional) => { if let Some(p) = &$p { $m.serialize_entry("params", p)?; } };
    (@ser $m:ident, $p:expr, ) => { $m.serialize_entry("params", &$p)? };
    (@de $p:expr, optional) => { $p };
    (@de $p:expr, ) => { $p.ok_or_else(|| D::Error::missing_field("params"))? };
}
pub(crate) use embedded_request;

/// Defines a JSON-RPC notification struct `{jsonrpc, method, params}`.
macro_rules! notification {
    ($(#[$doc:meta])* $name:ident = $method:expr, $params:ty) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq)]
        pub struct $name {
            /// The parameters.
            pub params: $params,
        }

        impl $name {
            /// The method name.
            pub const METHOD: &'static str = $method;

            /// A notification with these params.
            pub fn new(params: $params) -> Self {
                $name { params }
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                use serde::ser::SerializeMap;
                let mut m = s.serialize_map(Some(3))?;
                m.serialize_entry("jsonrpc", $crate::jsonrpc::JSONRPC_VERSION)?;
                m.serialize_entry("method", Self::METHOD)?;
                m.serialize_entry("params", &self.params)?;
                m.end()
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                use serde::de::Error as _;
                let raw = $crate::schema::envelope::read_envelope::<D, $params>(d, Self::METHOD, true)?;
                Ok($name { params: raw.params.ok_or_else(|| D::Error::missing_field("params"))? })
            }
        }
    };
    ($(#[$doc:meta])* $name:ident = $method:expr, optional $params:ty) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Default)]
        pub struct $name {
            /// The parameters, when present.
            pub params: Option<$params>,
        }

        impl $name {
            /// The method name.
            pub const METHOD: &'static str = $method;

            /// A notification with these params.
            pub fn new(params: Option<$params>) -> Self {
                $name { params }
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                use serde::ser::SerializeMap;
                let mut m = s.serialize_map(None)?;
                m.serialize_entry("jsonrpc", $crate::jsonrpc::JSONRPC_VERSION)?;
                m.serialize_entry("method", Self::METHOD)?;
                if let Some(p) = &self.params {
                    m.serialize_entry("params", p)?;
                }
                m.end()
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let raw = $crate::schema::envelope::read_envelope::<D, $params>(d, Self::METHOD, true)?;
                Ok($name { params: raw.params })
            }
        }
    };
}
pub(crate) use notification;

/// Defines a JSON-RPC success response struct `{jsonrpc, id, result}`.
macro_rules! response {
    ($(#[$doc:meta])* $name:ident, $result:ty) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq)]
        pub struct $name {
            /// The id of the request this answers.
            pub id: $crate::jsonrpc::RequestId,
            /// The result.
            pub result: $result,
        }

        impl $name {
            /// A response to request `id`.
            pub fn new(id: impl Into<$crate::jsonrpc::RequestId>, result: $result) -> Self {
                $name { id: id.into(), result }
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                use serde::ser::SerializeMap;
                let mut m = s.serialize_map(Some(3))?;
                m.serialize_entry("jsonrpc", $crate::jsonrpc::JSONRPC_VERSION)?;
                m.serialize_entry("id", &self.id)?;
                m.serialize_entry("result", &self.result)?;
                m.end()
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let raw = <$crate::schema::envelope::RawResponse<$result>>::deserialize(d)?;
                $crate::schema::envelope::check_jsonrpc::<D::Error>(Some(&raw.jsonrpc), true)?;
                Ok($name { id: raw.id, result: raw.result })
            }
        }
    };
}
pub(crate) use response;
