//! Content blocks: text, image, audio, embedded resources, resource links and the
//! sampling-only tool use / tool result blocks.

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

use super::common::{Annotations, Icon, JsonObject, Meta};
use super::resources::{BlobResourceContents, ResourceContents, TextResourceContents};

/// One content block, tagged on `"type"`.
///
/// Each block struct writes its own `"type"` member; parsing a [`Content`] reads `"type"` first
/// and rejects unknown kinds (a block struct parsed on its own does not check the tag).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Content {
    /// `"text"`.
    Text(TextContent),
    /// `"image"`: base64 image data.
    Image(ImageContent),
    /// `"audio"`: base64 audio data (2025-03-26+).
    Audio(AudioContent),
    /// `"resource"`: an embedded resource.
    Resource(EmbeddedResource),
    /// `"resource_link"`: a link to a resource (2025-06-18+).
    ResourceLink(ResourceLink),
    /// `"tool_use"`: a model's tool call (sampling with tools, 2025-11-25+).
    ToolUse(ToolUseContent),
    /// `"tool_result"`: the result of a tool call (sampling with tools, 2025-11-25+).
    ToolResult(ToolResultContent),
}

/// The content-block kinds allowed in tool results and prompts (`ContentBlock` in the schema).
pub type ContentBlock = Content;

impl Content {
    /// A text block.
    pub fn text(text: impl Into<String>) -> Self {
        Content::Text(TextContent::new(text))
    }

    /// An image block from base64 `data` and its MIME type.
    pub fn image(data: impl Into<String>, mime_type: impl Into<String>) -> Self {
        Content::Image(ImageContent {
            data: data.into(),
            mime_type: mime_type.into(),
            annotations: None,
            meta: None,
        })
    }

    /// An audio block from base64 `data` and its MIME type.
    pub fn audio(data: impl Into<String>, mime_type: impl Into<String>) -> Self {
        Content::Audio(AudioContent {
            data: data.into(),
            mime_type: mime_type.into(),
            annotations: None,
            meta: None,
        })
    }

    /// An embedded text resource.
    pub fn embedded_text(
        uri: impl Into<String>,
        mime_type: impl Into<String>,
        text: impl Into<String>,
    ) -> Self {
        Content::Resource(EmbeddedResource::new(ResourceContents::Text(
            TextResourceContents {
                uri: uri.into(),
                mime_type: Some(mime_type.into()),
                text: text.into(),
                meta: None,
            },
        )))
    }

    /// An embedded binary resource (`blob` is base64).
    pub fn embedded_blob(
        uri: impl Into<String>,
        mime_type: impl Into<String>,
        blob: impl Into<String>,
    ) -> Self {
        Content::Resource(EmbeddedResource::new(ResourceContents::Blob(
            BlobResourceContents {
                uri: uri.into(),
                mime_type: Some(mime_type.into()),
                blob: blob.into(),
                meta: None,
            },
        )))
    }

    /// A link to the resource at `uri` named `name`.
    pub fn resource_link(uri: impl Into<String>, name: impl Into<String>) -> Self {
        Content::ResourceLink(ResourceLink::new(uri, name))
    }

    /// The text of a text block.
    pub fn as_text(&self) -> Option<&str> {
        match self {
            Content::Text(t) => Some(&t.text),
            _ => None,
        }
    }

    /// The annotations of this block, when its kind has them.
    pub fn annotations(&self) -> Option<&Annotations> {
        match self {
            Content::Text(c) => c.annotations.as_ref(),
            Content::Image(c) => c.annotations.as_ref(),
            Content::Audio(c) => c.annotations.as_ref(),
            Content::Resource(c) => c.annotations.as_ref(),
            Content::ResourceLink(c) => c.annotations.as_ref(),
            Content::ToolUse(_) | Content::ToolResult(_) => None,
        }
    }

    /// Sets the annotations of this block (no effect on tool use / tool result blocks).
    #[must_use]
    pub fn with_annotations(mut self, annotations: Annotations) -> Self {
        let slot = match &mut self {
            Content::Text(c) => &mut c.annotations,
            Content::Image(c) => &mut c.annotations,
            Content::Audio(c) => &mut c.annotations,
            Content::Resource(c) => &mut c.annotations,
            Content::ResourceLink(c) => &mut c.annotations,
            Content::ToolUse(_) | Content::ToolResult(_) => return self,
        };
        *slot = Some(annotations);
        self
    }
}

impl<'de> Deserialize<'de> for Content {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = Value::deserialize(d)?;
        let kind = match v.get("type") {
            Some(Value::String(t)) => t.clone(),
            Some(_) => return Err(D::Error::custom("content \"type\" must be a string")),
            None => return Err(D::Error::missing_field("type")),
        };
        let r = match kind.as_str() {
            "text" => serde_json::from_value(v).map(Content::Text),
            "image" => serde_json::from_value(v).map(Content::Image),
            "audio" => serde_json::from_value(v).map(Content::Audio),
            "resource" => serde_json::from_value(v).map(Content::Resource),
            "resource_link" => serde_json::from_value(v).map(Content::ResourceLink),
            "tool_use" => serde_json::from_value(v).map(Content::ToolUse),
            "tool_result" => serde_json::from_value(v).map(Content::ToolResult),
            other => return Err(D::Error::custom(format!("unknown content type {other:?}"))),
        };
        r.map_err(D::Error::custom)
    }
}

impl From<String> for Content {
    fn from(s: String) -> Self {
        Content::text(s)
    }
}

impl From<&str> for Content {
    fn from(s: &str) -> Self {
        Content::text(s)
    }
}

/// Text content.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(tag = "type", rename = "text")]
pub struct TextContent {
    /// The text.
    pub text: String,
    /// Display hints.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<Annotations>,
    /// Metadata.
    #[serde(rename = "_meta", default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Meta>,
}

impl TextContent {
    /// Text content without annotations.
    pub fn new(text: impl Into<String>) -> Self {
        TextContent {
            text: text.into(),
            annotations: None,
            meta: None,
        }
    }
}

/// Image content.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "type", rename = "image")]
pub struct ImageContent {
    /// Base64-encoded image data.
    pub data: String,
    /// The image MIME type.
    pub mime_type: String,
    /// Display hints.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<Annotations>,
    /// Metadata.
    #[serde(rename = "_meta", default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Meta>,
}

/// Audio content (2025-03-26+).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "type", rename = "audio")]
pub struct AudioContent {
    /// Base64-encoded audio data.
    pub data: String,
    /// The audio MIME type.
    pub mime_type: String,
    /// Display hints.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<Annotations>,
    /// Metadata.
    #[serde(rename = "_meta", default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Meta>,
}

/// A resource embedded in a message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename = "resource")]
pub struct EmbeddedResource {
    /// The resource contents.
    pub resource: ResourceContents,
    /// Display hints.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<Annotations>,
    /// Metadata.
    #[serde(rename = "_meta", default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Meta>,
}

impl EmbeddedResource {
    /// Embeds `resource` without annotations.
    pub fn new(resource: ResourceContents) -> Self {
        EmbeddedResource {
            resource,
            annotations: None,
            meta: None,
        }
    }
}

/// A link to a resource the client can read (2025-06-18+). Same fields as a
/// [`Resource`](super::Resource).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "type", rename = "resource_link")]
pub struct ResourceLink {
    /// The resource URI.
    pub uri: String,
    /// Programmatic name.
    pub name: String,
    /// Display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// MIME type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mime_type: Option<String>,
    /// Size in bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    /// Display hints.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<Annotations>,
    /// Icons.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub icons: Option<Vec<Icon>>,
    /// Metadata.
    #[serde(rename = "_meta", default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Meta>,
}

impl ResourceLink {
    /// A link to `uri` named `name`.
    pub fn new(uri: impl Into<String>, name: impl Into<String>) -> Self {
        ResourceLink {
            uri: uri.into(),
            name: name.into(),
            ..Default::default()
        }
    }
}

/// A model's request to call a tool (sampling with tools, 2025-11-25+).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(tag = "type", rename = "tool_use")]
pub struct ToolUseContent {
    /// Unique id of this tool use, matched by [`ToolResultContent::tool_use_id`].
    pub id: String,
    /// The tool name.
    pub name: String,
    /// The tool arguments.
    pub input: JsonObject,
    /// Metadata.
    #[serde(rename = "_meta", default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Meta>,
}

/// The result of a tool use (sampling with tools, 2025-11-25+).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "type", rename = "tool_result")]
pub struct ToolResultContent {
    /// The id of the [`ToolUseContent`] this answers.
    pub tool_use_id: String,
    /// Unstructured result.
    pub content: Vec<Content>,
    /// Structured result (an object up to 2025-11-25, any JSON value from 2026-07-28).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub structured_content: Option<Value>,
    /// Whether the tool use failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_error: Option<bool>,
    /// Metadata.
    #[serde(rename = "_meta", default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Meta>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn block_structs_write_their_type_tag() {
        let t: TextContent = serde_json::from_value(json!({"type": "text", "text": "hi"})).unwrap();
        assert_eq!(t.text, "hi");
        assert_eq!(
            serde_json::to_value(&t).unwrap(),
            json!({"type": "text", "text": "hi"})
        );
        assert_eq!(
            serde_json::to_value(Content::Text(t)).unwrap(),
            json!({"type": "text", "text": "hi"})
        );
    }

    #[test]
    fn content_dispatches_on_type() {
        let bad = serde_json::from_value::<Content>(json!({"type": "video", "data": "x"}));
        assert_eq!(
            bad.unwrap_err().to_string(),
            "unknown content type \"video\""
        );
        let missing = serde_json::from_value::<Content>(json!({"text": "x"}));
        assert_eq!(missing.unwrap_err().to_string(), "missing field `type`");
        let wrong = serde_json::from_value::<Content>(json!({"type": "image", "text": "x"}));
        assert!(
            wrong
                .unwrap_err()
                .to_string()
                .contains("missing field `data`")
        );
    }
}
