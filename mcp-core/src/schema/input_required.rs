//! Multi-round-trip requests (2026-07-28): a server that needs client input answers
//! `tools/call`, `prompts/get` or `resources/read` with an [`InputRequiredResult`]; the client
//! retries the request with `inputResponses` and the echoed `requestState`.

use std::collections::BTreeMap;

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

use super::common::{Meta, ResultType};
use super::elicitation::{ElicitRequest, ElicitResult};
use super::roots::{ListRootsRequest, ListRootsResult};
use super::sampling::{CreateMessageRequest, CreateMessageResult};
use crate::method;

/// One request the server needs the client to fulfil, tagged by `method`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum InputRequest {
    /// `sampling/createMessage`.
    CreateMessage(CreateMessageRequest),
    /// `elicitation/create`.
    Elicit(ElicitRequest),
    /// `roots/list`.
    ListRoots(ListRootsRequest),
}

impl<'de> Deserialize<'de> for InputRequest {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = Value::deserialize(d)?;
        let m = v
            .get("method")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let r = match m.as_str() {
            method::SAMPLING_CREATE_MESSAGE => {
                serde_json::from_value(v).map(InputRequest::CreateMessage)
            }
            method::ELICITATION_CREATE => serde_json::from_value(v).map(InputRequest::Elicit),
            method::ROOTS_LIST => serde_json::from_value(v).map(InputRequest::ListRoots),
            other => {
                return Err(D::Error::custom(format!(
                    "unsupported input request method {other:?}"
                )));
            }
        };
        r.map_err(D::Error::custom)
    }
}

impl InputRequest {
    /// The method name.
    pub fn method(&self) -> &'static str {
        match self {
            InputRequest::CreateMessage(_) => method::SAMPLING_CREATE_MESSAGE,
            InputRequest::Elicit(_) => method::ELICITATION_CREATE,
            InputRequest::ListRoots(_) => method::ROOTS_LIST,
        }
    }
}

/// The client's answer to one [`InputRequest`] (told apart by shape).
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum InputResponse {
    /// Answer to `sampling/createMessage`.
    CreateMessage(CreateMessageResult),
    /// Answer to `roots/list`.
    ListRoots(ListRootsResult),
    /// Answer to `elicitation/create`.
    Elicit(ElicitResult),
}

/// Input requests keyed by a server-chosen name.
pub type InputRequests = BTreeMap<String, InputRequest>;

/// Input responses keyed by the names of the [`InputRequests`] they answer.
pub type InputResponses = BTreeMap<String, InputResponse>;

/// A result saying the server needs client input before it can complete the request.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InputRequiredResult {
    /// Always [`ResultType::InputRequired`] (checked when parsing).
    #[serde(deserialize_with = "input_required_type")]
    pub result_type: ResultType,
    /// What the server needs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_requests: Option<InputRequests>,
    /// Opaque state the client must echo back unchanged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_state: Option<String>,
    /// Metadata.
    #[serde(rename = "_meta", default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Meta>,
}

impl InputRequiredResult {
    /// A result asking for `input_requests`, carrying `request_state`.
    pub fn new(input_requests: InputRequests, request_state: Option<String>) -> Self {
        InputRequiredResult {
            result_type: ResultType::InputRequired,
            input_requests: Some(input_requests),
            request_state,
            meta: None,
        }
    }
}

fn input_required_type<'de, D: Deserializer<'de>>(d: D) -> Result<ResultType, D::Error> {
    match ResultType::deserialize(d)? {
        ResultType::InputRequired => Ok(ResultType::InputRequired),
        other => Err(D::Error::custom(format!(
            "expected resultType \"input_required\", found {:?}",
            other.as_str()
        ))),
    }
}

/// Parameters of a retried request carrying only input responses (`InputResponseRequestParams`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InputResponseRequestParams {
    /// The answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_responses: Option<InputResponses>,
    /// The echoed state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_state: Option<String>,
    /// Metadata.
    #[serde(rename = "_meta", default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Meta>,
}
