//! SEP-2243 request headers of the 2026-07-28 Streamable HTTP transport.
//!
//! A stateless-era client mirrors parts of the JSON-RPC body into HTTP headers so that load
//! balancers and gateways can route without parsing JSON:
//!
//! * `Mcp-Method` carries the request (or notification) method on every message;
//! * `Mcp-Name` carries `params.name` of `tools/call` and `prompts/get` and `params.uri` of
//!   `resources/read`;
//! * `Mcp-Param-{Name}` carries a `tools/call` argument whose property in the tool's
//!   `inputSchema` is annotated `"x-mcp-header": "{Name}"`.
//!
//! The server checks that each header agrees with the body and answers HTTP 400 with JSON-RPC
//! error `-32020` (HeaderMismatch) when one is missing or differs. Header *names* are
//! case-insensitive (HTTP), header *values* are case-sensitive, and optional whitespace around a
//! value is ignored (RFC 9110 §5.5). A custom-header value may be sent as `=?base64?…?=`, which
//! is decoded (strictly: canonical padding, standard alphabet, UTF-8) before the comparison; a
//! value without that exact wrapper is literal.
//!
//! [`ParamHeaders::from_input_schema`] validates a tool's `x-mcp-header` declarations once, at
//! registration; a tool with an invalid declaration must be rejected there.
// Used by the HTTP transport; a stdio-only build (no `http` feature) keeps it for the
// stateless era's envelope rules without calling every helper.
#![cfg_attr(not(feature = "http"), allow(dead_code))]

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use http::HeaderMap;
use mcp_rs_core::ErrorObject;
use serde_json::{Map, Value, json};
use std::fmt;

/// `Mcp-Method`: the JSON-RPC method of the message.
pub(crate) const MCP_METHOD: &str = "mcp-method";
/// `Mcp-Name`: `params.name` (`tools/call`, `prompts/get`), `params.uri` (`resources/read`) or
/// `params.taskId` (`tasks/get`, `tasks/update`, `tasks/cancel`).
pub(crate) const MCP_NAME: &str = "mcp-name";
/// Prefix of the custom headers that mirror `x-mcp-header` tool arguments.
pub(crate) const MCP_PARAM_PREFIX: &str = "mcp-param-";
/// The JSON Schema annotation that marks a tool argument as mirrored into a header.
pub(crate) const X_MCP_HEADER: &str = "x-mcp-header";

/// The longest header value echoed back in an error message (longer ones are cut).
const ECHO_LIMIT: usize = 80;

/// The body value that `Mcp-Name` must mirror for `method`, if that method has one.
#[must_use]
pub(crate) fn name_param_of(method: &str) -> Option<&'static str> {
    match method {
        "tools/call" | "prompts/get" => Some("name"),
        "resources/read" => Some("uri"),
        "tasks/get" | "tasks/update" | "tasks/cancel" => Some("taskId"),
        _ => None,
    }
}

/// Checks the standard headers `Mcp-Method` and `Mcp-Name` against the message body.
///
/// `params` is the message's `params` member, when any.
///
/// # Errors
/// `-32020` (HeaderMismatch) when `Mcp-Method` is missing, repeated or differs from `method`,
/// or when `Mcp-Name` is missing, repeated or differs from the body's name/uri.
pub(crate) fn check_standard_headers(
    headers: &HeaderMap,
    method: &str,
    params: Option<&Value>,
) -> Result<(), ErrorObject> {
    match single_header(headers, MCP_METHOD, "Mcp-Method")? {
        None => {
            return Err(ErrorObject::header_mismatch(format!(
                "Header mismatch: required header Mcp-Method is missing (body method '{}')",
                echo(method)
            ))
            .with_data(json!({ "missing": ["header Mcp-Method"] })));
        }
        Some(value) if value != method => {
            return Err(ErrorObject::header_mismatch(format!(
                "Header mismatch: Mcp-Method header value '{}' does not match body value '{}'",
                echo(value),
                echo(method)
            )));
        }
        Some(_) => {}
    }
    let Some(field) = name_param_of(method) else {
        return Ok(());
    };
    let body = params.and_then(|p| p.get(field)).and_then(Value::as_str);
    let header = single_header(headers, MCP_NAME, "Mcp-Name")?;
    match (header, body) {
        (None, None) => Ok(()),
        (None, Some(b)) => Err(ErrorObject::header_mismatch(format!(
            "Header mismatch: required header Mcp-Name is missing (body value '{}')",
            echo(b)
        ))
        .with_data(json!({ "missing": ["header Mcp-Name"] }))),
        (Some(h), None) => Err(ErrorObject::header_mismatch(format!(
            "Header mismatch: Mcp-Name header value '{}' has no counterpart params.{field} in the body",
            echo(h)
        ))),
        (Some(h), Some(b)) if h != b => Err(ErrorObject::header_mismatch(format!(
            "Header mismatch: Mcp-Name header value '{}' does not match body value '{}'",
            echo(h),
            echo(b)
        ))),
        _ => Ok(()),
    }
}

/// Reads a header that may appear at most once, with optional whitespace trimmed.
fn single_header<'h>(
    headers: &'h HeaderMap,
    name: &str,
    display: &str,
) -> Result<Option<&'h str>, ErrorObject> {
    let mut values = headers.get_all(name).iter();
    let Some(first) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(ErrorObject::header_mismatch(format!(
            "Header mismatch: header {display} appears more than once"
        )));
    }
    let text = first.to_str().map_err(|_| {
        ErrorObject::header_mismatch(format!(
            "Header mismatch: header {display} contains characters outside visible ASCII"
        ))
    })?;
    Ok(Some(trim_ows(text)))
}

/// Trims RFC 9110 optional whitespace (spaces and horizontal tabs).
fn trim_ows(s: &str) -> &str {
    s.trim_matches([' ', '\t'])
}

/// Shortens a client-controlled value before it is echoed in an error message.
fn echo(s: &str) -> String {
    if s.chars().count() <= ECHO_LIMIT {
        s.to_owned()
    } else {
        let mut cut: String = s.chars().take(ECHO_LIMIT).collect();
        cut.push('…');
        cut
    }
}

/// The JSON type of an argument mirrored into a header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ParamKind {
    /// `"type": "string"`: compared as an exact, case-sensitive string.
    String,
    /// `"type": "integer"`: compared numerically (`42` and `42.0` agree).
    Integer,
    /// `"type": "boolean"`: `true` / `false`.
    Boolean,
}

/// One `x-mcp-header` declaration of a tool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParamHeader {
    name: String,
    header: String,
    path: Vec<String>,
    kind: ParamKind,
}

impl ParamHeader {
    /// The declared name, e.g. `Region` (the header is `Mcp-Param-Region`).
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The full header name in lower case, e.g. `mcp-param-region`.
    #[must_use]
    pub fn header_name(&self) -> &str {
        &self.header
    }

    /// The property path from the arguments object to the mirrored value.
    #[must_use]
    pub fn path(&self) -> &[String] {
        &self.path
    }

    /// The declared JSON type of the argument.
    #[must_use]
    pub fn kind(&self) -> ParamKind {
        self.kind
    }

    fn body_value<'a>(&self, arguments: Option<&'a Map<String, Value>>) -> Option<&'a Value> {
        let (first, rest) = self.path.split_first()?;
        let mut value = arguments?.get(first)?;
        for key in rest {
            value = value.as_object()?.get(key)?;
        }
        (!value.is_null()).then_some(value)
    }
}

/// Why a tool's `x-mcp-header` declarations are invalid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidHeaderDeclaration {
    pointer: String,
    reason: String,
}

impl InvalidHeaderDeclaration {
    fn new(pointer: &str, reason: impl Into<String>) -> Self {
        InvalidHeaderDeclaration {
            pointer: pointer.to_owned(),
            reason: reason.into(),
        }
    }

    /// JSON Pointer (into the input schema) of the offending annotation.
    #[must_use]
    pub fn pointer(&self) -> &str {
        &self.pointer
    }

    /// What is wrong with it.
    #[must_use]
    pub fn reason(&self) -> &str {
        &self.reason
    }
}

impl fmt::Display for InvalidHeaderDeclaration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid x-mcp-header at inputSchema{}: {}",
            self.pointer, self.reason
        )
    }
}

impl std::error::Error for InvalidHeaderDeclaration {}

/// The validated `x-mcp-header` declarations of one tool, compiled once at registration.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ParamHeaders {
    params: Vec<ParamHeader>,
}

impl ParamHeaders {
    /// Reads and validates the `x-mcp-header` annotations of a tool's `inputSchema`.
    ///
    /// A declaration is valid when its value is an RFC 9110 token (`1*tchar`), unique among the
    /// tool's declarations ignoring case, placed on a property reachable from the root through
    /// `properties` keys only (not under `items`, `$defs`, `anyOf`, `if`, …), and that property
    /// has `"type"` `"string"`, `"integer"` or `"boolean"`.
    ///
    /// # Errors
    /// The first invalid declaration found, with its JSON Pointer.
    pub fn from_input_schema(schema: &Value) -> Result<Self, InvalidHeaderDeclaration> {
        let mut params = Vec::new();
        visit(schema, "", Some(&[]), &mut params)?;
        Ok(ParamHeaders { params })
    }

    /// Whether the tool declares no custom header.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.params.is_empty()
    }

    /// The declarations, in schema order.
    pub fn iter(&self) -> std::slice::Iter<'_, ParamHeader> {
        self.params.iter()
    }

    /// Checks the `Mcp-Param-*` headers of a `tools/call` against its `arguments`.
    ///
    /// An argument that is absent or `null` expects no header; a present one requires its
    /// header with an equal value.
    ///
    /// # Errors
    /// `-32020` when a header is missing, repeated, not decodable, present without a body
    /// value, or different from the body value.
    pub fn check(
        &self,
        headers: &HeaderMap,
        arguments: Option<&Map<String, Value>>,
    ) -> Result<(), ErrorObject> {
        for p in &self.params {
            let display = format!("Mcp-Param-{}", p.name);
            let header = single_header(headers, &p.header, &display)?;
            let body = p.body_value(arguments);
            match (header, body) {
                (None, None) => {}
                (None, Some(b)) => {
                    return Err(ErrorObject::header_mismatch(format!(
                        "Header mismatch: required header {display} is missing (body value '{}')",
                        echo(&body_text(b))
                    )));
                }
                (Some(_), None) => {
                    return Err(ErrorObject::header_mismatch(format!(
                        "Header mismatch: header {display} is present but argument '{}' is absent",
                        p.path.join(".")
                    )));
                }
                (Some(raw), Some(b)) => {
                    let decoded = decode_param_value(raw).map_err(|why| {
                        ErrorObject::header_mismatch(format!(
                            "Header mismatch: header {display} {why}"
                        ))
                    })?;
                    if !value_matches(p.kind, &decoded, b) {
                        return Err(ErrorObject::header_mismatch(format!(
                            "Header mismatch: {display} header value '{}' does not match body value '{}'",
                            echo(&decoded),
                            echo(&body_text(b))
                        )));
                    }
                }
            }
        }
        Ok(())
    }
}

impl<'a> IntoIterator for &'a ParamHeaders {
    type Item = &'a ParamHeader;
    type IntoIter = std::slice::Iter<'a, ParamHeader>;
    fn into_iter(self) -> Self::IntoIter {
        self.params.iter()
    }
}

/// Validates the `x-mcp-header` declarations of a tool definition.
///
/// Registries call this once per tool; see [`ParamHeaders::from_input_schema`].
///
/// # Errors
/// The first invalid declaration.
pub(crate) fn validate_tool_headers(
    tool: &mcp_rs_core::schema::Tool,
) -> Result<ParamHeaders, InvalidHeaderDeclaration> {
    let mut params = Vec::new();
    visit_object(&tool.input_schema, "", Some(&[]), &mut params)?;
    Ok(ParamHeaders { params })
}

/// Keywords whose values are data, not subschemas: never searched for annotations.
const DATA_KEYWORDS: [&str; 4] = ["const", "enum", "default", "examples"];

/// Walks a schema. `reachable` is the property path when the node is reachable from the root
/// through `properties` keys only (`Some(&[])` at the root), `None` otherwise.
fn visit(
    node: &Value,
    pointer: &str,
    reachable: Option<&[String]>,
    out: &mut Vec<ParamHeader>,
) -> Result<(), InvalidHeaderDeclaration> {
    match node {
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                visit(item, &format!("{pointer}/{i}"), None, out)?;
            }
            Ok(())
        }
        Value::Object(map) => visit_object(map, pointer, reachable, out),
        _ => Ok(()),
    }
}

fn visit_object(
    map: &Map<String, Value>,
    pointer: &str,
    reachable: Option<&[String]>,
    out: &mut Vec<ParamHeader>,
) -> Result<(), InvalidHeaderDeclaration> {
    if let Some(decl) = map.get(X_MCP_HEADER) {
        declare(map, decl, pointer, reachable, out)?;
    }
    for (key, child) in map {
        if key == X_MCP_HEADER || DATA_KEYWORDS.contains(&key.as_str()) {
            continue;
        }
        let child_pointer = format!("{pointer}/{}", escape_pointer(key));
        if let ("properties", Value::Object(props)) = (key.as_str(), child) {
            for (prop, schema) in props {
                let prop_pointer = format!("{child_pointer}/{}", escape_pointer(prop));
                let path = reachable.map(|p| {
                    let mut p = p.to_vec();
                    p.push(prop.clone());
                    p
                });
                visit(schema, &prop_pointer, path.as_deref(), out)?;
            }
            continue;
        }
        visit(child, &child_pointer, None, out)?;
    }
    Ok(())
}

fn declare(
    map: &Map<String, Value>,
    decl: &Value,
    pointer: &str,
    reachable: Option<&[String]>,
    out: &mut Vec<ParamHeader>,
) -> Result<(), InvalidHeaderDeclaration> {
    let at = format!("{pointer}/{X_MCP_HEADER}");
    let Some(name) = decl.as_str() else {
        return Err(InvalidHeaderDeclaration::new(
            &at,
            "the value must be a string",
        ));
    };
    if name.is_empty() || !name.bytes().all(is_tchar) {
        return Err(InvalidHeaderDeclaration::new(
            &at,
            format!("{name:?} is not an HTTP token (RFC 9110 tchar)"),
        ));
    }
    let path = match reachable {
        Some(p) if !p.is_empty() => p.to_vec(),
        _ => {
            return Err(InvalidHeaderDeclaration::new(
                &at,
                "the annotated schema is not reachable from the root through `properties` alone",
            ));
        }
    };
    let kind = match map.get("type").and_then(Value::as_str) {
        Some("string") => ParamKind::String,
        Some("integer") => ParamKind::Integer,
        Some("boolean") => ParamKind::Boolean,
        other => {
            return Err(InvalidHeaderDeclaration::new(
                &at,
                format!(
                    "the annotated property must have type string, integer or boolean (found {})",
                    other.map_or_else(
                        || map.get("type").map_or("none".to_owned(), Value::to_string),
                        str::to_owned
                    )
                ),
            ));
        }
    };
    let header = format!("{MCP_PARAM_PREFIX}{}", name.to_ascii_lowercase());
    if out.iter().any(|p| p.header == header) {
        return Err(InvalidHeaderDeclaration::new(
            &at,
            format!("{name:?} is declared more than once (names are case-insensitive)"),
        ));
    }
    out.push(ParamHeader {
        name: name.to_owned(),
        header,
        path,
        kind,
    });
    Ok(())
}

/// RFC 9110 §5.6.2 `tchar`.
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

fn escape_pointer(s: &str) -> String {
    s.replace('~', "~0").replace('/', "~1")
}

/// Decodes a custom-header value: `=?base64?…?=` strictly, anything else literally.
///
/// # Errors
/// A short reason when the wrapped payload is not canonical Base64 of UTF-8 text.
pub(crate) fn decode_param_value(raw: &str) -> Result<String, &'static str> {
    const PREFIX: &str = "=?base64?";
    const SUFFIX: &str = "?=";
    let raw = trim_ows(raw);
    let wrapped = raw.len() >= PREFIX.len() + SUFFIX.len()
        && raw
            .get(..PREFIX.len())
            .is_some_and(|p| p.eq_ignore_ascii_case(PREFIX))
        && raw.ends_with(SUFFIX);
    if !wrapped {
        return Ok(raw.to_owned());
    }
    let payload = &raw[PREFIX.len()..raw.len() - SUFFIX.len()];
    let bytes = STANDARD
        .decode(payload)
        .map_err(|_| "is not valid Base64 (=?base64?…?=)")?;
    String::from_utf8(bytes).map_err(|_| "does not decode to UTF-8 text")
}

fn body_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn value_matches(kind: ParamKind, header: &str, body: &Value) -> bool {
    match (kind, body) {
        (ParamKind::String, Value::String(s)) => header == s,
        (ParamKind::Boolean, Value::Bool(b)) => header == if *b { "true" } else { "false" },
        (ParamKind::Integer, Value::Number(n)) => {
            if let (Ok(h), Some(b)) = (header.parse::<i64>(), n.as_i64()) {
                return h == b;
            }
            match (header.parse::<f64>(), n.as_f64()) {
                (Ok(h), Some(b)) => h.is_finite() && h == b,
                _ => false,
            }
        }
        // The body does not have the declared type: schema validation reports that; the
        // header can only agree with its textual form.
        (_, other) => header == body_text(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;
    use serde_json::json;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                http::header::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        h
    }

    fn code(r: Result<(), ErrorObject>) -> i32 {
        r.unwrap_err().code
    }

    #[test]
    fn method_header_required_and_exact() {
        let p = json!({});
        assert!(
            check_standard_headers(
                &headers(&[("Mcp-Method", "tools/list")]),
                "tools/list",
                Some(&p)
            )
            .is_ok()
        );
        assert!(
            check_standard_headers(
                &headers(&[("mcp-method", "tools/list")]),
                "tools/list",
                None
            )
            .is_ok()
        );
        assert!(
            check_standard_headers(
                &headers(&[("MCP-METHOD", " tools/list\t")]),
                "tools/list",
                None
            )
            .is_ok()
        );
        assert_eq!(
            code(check_standard_headers(&headers(&[]), "tools/list", None)),
            -32020
        );
        assert_eq!(
            code(check_standard_headers(
                &headers(&[("Mcp-Method", "TOOLS/LIST")]),
                "tools/list",
                None
            )),
            -32020
        );
        assert_eq!(
            code(check_standard_headers(
                &headers(&[("Mcp-Method", "prompts/list")]),
                "tools/list",
                None
            )),
            -32020
        );
        let twice = headers(&[("Mcp-Method", "tools/list"), ("mcp-method", "tools/list")]);
        let e = check_standard_headers(&twice, "tools/list", None).unwrap_err();
        assert_eq!(e.code, -32020);
        assert!(e.message.contains("more than once"), "{}", e.message);
    }

    #[test]
    fn name_header_for_call_get_read() {
        let call = json!({"name": "echo", "arguments": {}});
        let ok = headers(&[("Mcp-Method", "tools/call"), ("Mcp-Name", "  echo  ")]);
        assert!(check_standard_headers(&ok, "tools/call", Some(&call)).is_ok());
        let missing = headers(&[("Mcp-Method", "tools/call")]);
        assert_eq!(
            code(check_standard_headers(&missing, "tools/call", Some(&call))),
            -32020
        );
        let wrong = headers(&[("Mcp-Method", "tools/call"), ("Mcp-Name", "Echo")]);
        let e = check_standard_headers(&wrong, "tools/call", Some(&call)).unwrap_err();
        assert_eq!(
            e.message,
            "Header mismatch: Mcp-Name header value 'Echo' does not match body value 'echo'"
        );
        let read = json!({"uri": "test://a"});
        let h = headers(&[("Mcp-Method", "resources/read"), ("Mcp-Name", "test://a")]);
        assert!(check_standard_headers(&h, "resources/read", Some(&read)).is_ok());
        // Methods without a name ignore Mcp-Name.
        let h = headers(&[("Mcp-Method", "tools/list"), ("Mcp-Name", "whatever")]);
        assert!(check_standard_headers(&h, "tools/list", None).is_ok());
        // A header with no body counterpart is a mismatch.
        let h = headers(&[("Mcp-Method", "prompts/get"), ("Mcp-Name", "p")]);
        assert_eq!(
            code(check_standard_headers(&h, "prompts/get", Some(&json!({})))),
            -32020
        );
    }

    fn schema_with(prop: Value) -> Value {
        json!({"type": "object", "properties": {"region": prop, "query": {"type": "string"}}})
    }

    #[test]
    fn declarations_are_validated() {
        let ok = ParamHeaders::from_input_schema(&schema_with(
            json!({"type": "string", "x-mcp-header": "Region"}),
        ))
        .unwrap();
        let p = ok.iter().next().unwrap();
        assert_eq!(
            (p.name(), p.header_name(), p.kind()),
            ("Region", "mcp-param-region", ParamKind::String)
        );
        assert_eq!(p.path(), ["region".to_owned()]);

        for (bad, why) in [
            (json!({"type": "string", "x-mcp-header": ""}), "token"),
            (
                json!({"type": "string", "x-mcp-header": "Has Space"}),
                "token",
            ),
            (json!({"type": "string", "x-mcp-header": "a\r\nb"}), "token"),
            (
                json!({"type": "string", "x-mcp-header": 5}),
                "must be a string",
            ),
            (
                json!({"type": "number", "x-mcp-header": "N"}),
                "type string, integer or boolean",
            ),
            (
                json!({"type": "object", "x-mcp-header": "O"}),
                "type string, integer or boolean",
            ),
            (json!({"x-mcp-header": "T"}), "found none"),
        ] {
            let e = ParamHeaders::from_input_schema(&schema_with(bad)).unwrap_err();
            assert!(e.reason().contains(why), "{e}");
            assert_eq!(e.pointer(), "/properties/region/x-mcp-header");
        }
        let dup = json!({"type": "object", "properties": {
            "a": {"type": "string", "x-mcp-header": "Tenant"},
            "b": {"type": "string", "x-mcp-header": "tenant"}}});
        assert!(
            ParamHeaders::from_input_schema(&dup)
                .unwrap_err()
                .reason()
                .contains("more than once")
        );
        for unreachable in [
            json!({"type": "object", "x-mcp-header": "Root"}),
            json!({"type": "object", "properties": {"l": {"type": "array", "items": {"type": "string", "x-mcp-header": "I"}}}}),
            json!({"type": "object", "anyOf": [{"properties": {"a": {"type": "string", "x-mcp-header": "A"}}}]}),
            json!({"type": "object", "$defs": {"d": {"type": "string", "x-mcp-header": "D"}}}),
        ] {
            let e = ParamHeaders::from_input_schema(&unreachable).unwrap_err();
            assert!(e.reason().contains("not reachable"), "{e}");
        }
        // Nested objects reached through properties only are fine; data keywords are skipped.
        let nested = json!({"type": "object", "properties": {"o": {"type": "object", "properties": {
            "n": {"type": "integer", "x-mcp-header": "N"}}}, "e": {"type": "string", "default": {"x-mcp-header": 1}}}});
        let n = ParamHeaders::from_input_schema(&nested).unwrap();
        assert_eq!(
            n.iter().next().unwrap().path(),
            ["o".to_owned(), "n".to_owned()]
        );
        assert!(
            ParamHeaders::from_input_schema(&json!({"type": "object"}))
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn base64_decoding_is_strict() {
        assert_eq!(decode_param_value("=?base64?SGVsbG8=?=").unwrap(), "Hello");
        assert_eq!(
            decode_param_value(" =?BASE64?SGVsbG8=?= ").unwrap(),
            "Hello"
        );
        assert!(decode_param_value("=?base64?SGVsbG8?=").is_err()); // missing padding
        assert!(decode_param_value("=?base64?SGVs!!!bG8=?=").is_err()); // bad alphabet
        assert!(decode_param_value("=?base64?/w==?=").is_err()); // not UTF-8
        assert_eq!(decode_param_value("SGVsbG8=").unwrap(), "SGVsbG8="); // literal
        assert_eq!(
            decode_param_value("=?base64?SGVsbG8=").unwrap(),
            "=?base64?SGVsbG8="
        ); // no suffix
        assert_eq!(decode_param_value("=?base64??=").unwrap(), "");
    }

    #[test]
    fn param_headers_check_values() {
        let schema = json!({"type": "object", "properties": {
            "region": {"type": "string", "x-mcp-header": "Region"},
            "n": {"type": "integer", "x-mcp-header": "N"},
            "b": {"type": "boolean", "x-mcp-header": "Flag"}}});
        let ph = ParamHeaders::from_input_schema(&schema).unwrap();
        let args = |v: Value| v.as_object().cloned().unwrap();
        let a = args(json!({"region": "us-west1", "n": 42, "b": true}));
        let h = headers(&[
            ("mcp-param-region", "us-west1"),
            ("MCP-PARAM-N", "42"),
            ("Mcp-Param-Flag", "true"),
        ]);
        assert!(ph.check(&h, Some(&a)).is_ok());
        let h = headers(&[
            ("mcp-param-region", "=?base64?dXMtd2VzdDE=?="),
            ("mcp-param-n", "42.0"),
            ("mcp-param-flag", "true"),
        ]);
        assert!(ph.check(&h, Some(&a)).is_ok());
        // Value case matters.
        let h = headers(&[
            ("mcp-param-region", "US-WEST1"),
            ("mcp-param-n", "42"),
            ("mcp-param-flag", "true"),
        ]);
        assert_eq!(code(ph.check(&h, Some(&a))), -32020);
        // Missing header while the body has a value.
        let h = headers(&[("mcp-param-n", "42"), ("mcp-param-flag", "true")]);
        let e = ph.check(&h, Some(&a)).unwrap_err();
        assert_eq!(
            e.message,
            "Header mismatch: required header Mcp-Param-Region is missing (body value 'us-west1')"
        );
        // Absent or null arguments expect no header.
        assert!(
            ph.check(&headers(&[]), Some(&args(json!({"region": null}))))
                .is_ok()
        );
        assert!(ph.check(&headers(&[]), None).is_ok());
        // A header without a body value is refused.
        assert_eq!(
            code(ph.check(&headers(&[("mcp-param-n", "1")]), None)),
            -32020
        );
        // Invalid base64 is refused.
        let h = headers(&[
            ("mcp-param-region", "=?base64?SGVsbG8?="),
            ("mcp-param-n", "42"),
            ("mcp-param-flag", "true"),
        ]);
        assert!(
            ph.check(&h, Some(&a))
                .unwrap_err()
                .message
                .contains("not valid Base64")
        );
        // Numbers compare numerically.
        let h = headers(&[
            ("mcp-param-region", "us-west1"),
            ("mcp-param-n", "43"),
            ("mcp-param-flag", "true"),
        ]);
        assert_eq!(code(ph.check(&h, Some(&a))), -32020);
    }

    proptest::proptest! {
        /// `Mcp-Param-*` values: any text round-trips through `=?base64?…?=` (prefix in any
        /// case) and through a declared string parameter's check; arbitrary values, wrapped or
        /// not, never panic, and unwrapped ones come back as sent (trimmed).
        #[test]
        fn fuzz_param_values_round_trip(text in "\\PC{0,64}", raw in ".{0,80}", upper in proptest::bool::ANY) {
            use base64::Engine as _;
            let b64 = base64::engine::general_purpose::STANDARD.encode(text.as_bytes());
            let prefix = if upper { "=?BASE64?" } else { "=?base64?" };
            let wrapped = format!("{prefix}{b64}?=");
            proptest::prop_assert_eq!(decode_param_value(&wrapped), Ok(text.clone()));
            let schema = json!({"type": "object", "properties": {
                "q": {"type": "string", "x-mcp-header": "Q"}}});
            let ph = ParamHeaders::from_input_schema(&schema).unwrap();
            let args = json!({"q": text}).as_object().cloned().unwrap();
            proptest::prop_assert!(ph.check(&headers(&[("mcp-param-q", &wrapped)]), Some(&args)).is_ok());
            let _ = decode_param_value(&format!("=?base64?{raw}?="));
            if let Ok(v) = decode_param_value(&raw) {
                if !raw.trim_matches([' ', '\t']).to_ascii_lowercase().starts_with("=?base64?") {
                    proptest::prop_assert_eq!(v, raw.trim_matches([' ', '\t']));
                }
            }
        }
    }
}
