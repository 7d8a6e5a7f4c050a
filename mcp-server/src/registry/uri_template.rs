//! RFC 6570 URI templates, matched in reverse: given a concrete URI, find the variable values.
//!
//! Supported: level 1 `{var}` (one path segment: no `/ ? # &`), reserved expansion
//! `{+path}` (may contain `/`), and form-style query expansion `{?a,b}` (optional, any
//! order). Values are percent-decoded.

use std::collections::HashMap;
use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Literal(String),
    Simple(String),
    Reserved(String),
    Query(Vec<String>),
}

/// A parsed URI template.
#[derive(Clone, PartialEq, Eq)]
pub struct UriTemplate {
    source: String,
    parts: Vec<Part>,
    literal_len: usize,
}

/// Why a template did not parse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateError(pub String);

impl fmt::Display for TemplateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for TemplateError {}

fn valid_var_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.' || b == b'%')
}

impl UriTemplate {
    /// Parses `template`.
    ///
    /// # Errors
    /// Unbalanced braces, empty or invalid variable names, unsupported operators
    /// (`#`, `.`, `/`, `;`, `&`), several variables in `{a,b}` or `{+a,b}`, two adjacent
    /// variables without a literal between them, or a `{?…}` that is not last.
    pub fn parse(template: &str) -> Result<Self, TemplateError> {
        let mut parts = Vec::new();
        let mut rest = template;
        while !rest.is_empty() {
            match rest.find('{') {
                Some(0) => {
                    let end = rest
                        .find('}')
                        .ok_or_else(|| TemplateError("unclosed '{'".into()))?;
                    let expr = &rest[1..end];
                    rest = &rest[end + 1..];
                    let (op, names) = match expr.chars().next() {
                        Some(c @ ('+' | '?')) => (Some(c), &expr[1..]),
                        Some(c @ ('#' | '.' | '/' | ';' | '&' | '=' | ',' | '!' | '@' | '|')) => {
                            return Err(TemplateError(format!("operator '{c}' is not supported")));
                        }
                        _ => (None, expr),
                    };
                    let names: Vec<String> = names.split(',').map(str::to_owned).collect();
                    if let Some(bad) = names.iter().find(|n| !valid_var_name(n)) {
                        return Err(TemplateError(format!("invalid variable name {bad:?}")));
                    }
                    if matches!(parts.last(), Some(Part::Simple(_) | Part::Reserved(_)))
                        && op != Some('?')
                    {
                        return Err(TemplateError(
                            "two variables need a literal between them".into(),
                        ));
                    }
                    match op {
                        Some('?') => parts.push(Part::Query(names)),
                        _ if names.len() > 1 => {
                            return Err(TemplateError(format!(
                                "{{{expr}}}: only one variable per expression is supported"
                            )));
                        }
                        Some('+') => parts.push(Part::Reserved(names[0].clone())),
                        _ => parts.push(Part::Simple(names[0].clone())),
                    }
                }
                Some(i) => {
                    parts.push(Part::Literal(rest[..i].to_owned()));
                    rest = &rest[i..];
                }
                None => {
                    if rest.contains('}') {
                        return Err(TemplateError("unmatched '}'".into()));
                    }
                    parts.push(Part::Literal(rest.to_owned()));
                    rest = "";
                }
            }
            if let Some(Part::Literal(l)) = parts.last()
                && l.contains('}')
            {
                return Err(TemplateError("unmatched '}'".into()));
            }
        }
        if let Some(pos) = parts.iter().position(|p| matches!(p, Part::Query(_)))
            && pos != parts.len() - 1
        {
            return Err(TemplateError("{?...} must be the last expression".into()));
        }
        let literal_len = parts
            .iter()
            .map(|p| if let Part::Literal(l) = p { l.len() } else { 0 })
            .sum();
        Ok(UriTemplate {
            source: template.to_owned(),
            parts,
            literal_len,
        })
    }

    /// The template text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// The variable names, in order.
    #[must_use]
    pub fn variables(&self) -> Vec<&str> {
        let mut out = Vec::new();
        for p in &self.parts {
            match p {
                Part::Simple(n) | Part::Reserved(n) => out.push(n.as_str()),
                Part::Query(ns) => out.extend(ns.iter().map(String::as_str)),
                Part::Literal(_) => {}
            }
        }
        out
    }

    /// How many literal characters the template has: more literal text = more specific.
    #[must_use]
    pub fn specificity(&self) -> usize {
        self.literal_len
    }

    /// The variable values if `uri` matches. Query variables absent from the URI are absent
    /// from the map.
    #[must_use]
    pub fn matches(&self, uri: &str) -> Option<HashMap<String, String>> {
        let mut vars = HashMap::new();
        match_parts(&self.parts, uri, &mut vars).then_some(vars)
    }
}

impl fmt::Debug for UriTemplate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("UriTemplate").field(&self.source).finish()
    }
}

impl fmt::Display for UriTemplate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

fn match_parts(parts: &[Part], uri: &str, vars: &mut HashMap<String, String>) -> bool {
    let Some((first, rest)) = parts.split_first() else {
        return uri.is_empty();
    };
    match first {
        Part::Literal(l) => uri
            .strip_prefix(l.as_str())
            .is_some_and(|tail| match_parts(rest, tail, vars)),
        Part::Simple(name) | Part::Reserved(name) => {
            let reserved = matches!(first, Part::Reserved(_));
            // Longest allowed run first, then backtrack.
            let max = uri
                .char_indices()
                .find(|&(_, c)| {
                    !reserved && matches!(c, '/' | '?' | '#' | '&')
                        || reserved && matches!(c, '?' | '#')
                })
                .map_or(uri.len(), |(i, _)| i);
            let mut ends: Vec<usize> = uri[..max]
                .char_indices()
                .map(|(i, c)| i + c.len_utf8())
                .collect();
            ends.reverse();
            for end in ends {
                let Some(value) = percent_decode(&uri[..end]) else {
                    continue;
                };
                if match_parts(rest, &uri[end..], vars) {
                    vars.insert(name.clone(), value);
                    return true;
                }
            }
            false
        }
        Part::Query(names) => {
            if uri.is_empty() {
                return true;
            }
            let Some(query) = uri.strip_prefix('?') else {
                return false;
            };
            let mut found = HashMap::new();
            for pair in query.split('&').filter(|p| !p.is_empty()) {
                let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
                if !names.iter().any(|n| n == k) {
                    return false;
                }
                let Some(v) = percent_decode(v) else {
                    return false;
                };
                found.insert(k.to_owned(), v);
            }
            vars.extend(found);
            true
        }
    }
}

/// `s` with its `%XX` escapes decoded; `None` for a bad escape or a result that is not UTF-8.
pub(crate) fn percent_decode(s: &str) -> Option<String> {
    if !s.contains('%') {
        return Some(s.to_owned());
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(t: &str, uri: &str) -> Option<Vec<(String, String)>> {
        let mut v: Vec<_> = UriTemplate::parse(t)
            .unwrap()
            .matches(uri)?
            .into_iter()
            .collect();
        v.sort();
        Some(v)
    }

    fn kv(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn simple_variables_match_one_segment() {
        assert_eq!(
            m("users://{id}/profile", "users://42/profile"),
            Some(kv(&[("id", "42")]))
        );
        assert_eq!(m("users://{id}/profile", "users://a/b/profile"), None);
        assert_eq!(m("users://{id}/profile", "users:///profile"), None);
        assert_eq!(m("users://{id}", "users://42/x"), None);
        assert_eq!(
            m("db://{table}/{id}", "db://t/7"),
            Some(kv(&[("id", "7"), ("table", "t")]))
        );
        assert_eq!(m("a://{x}", "a://h%C3%A9llo"), Some(kv(&[("x", "héllo")])));
    }

    #[test]
    fn reserved_expansion_spans_slashes() {
        assert_eq!(
            m("file:///{+path}", "file:///etc/hosts"),
            Some(kv(&[("path", "etc/hosts")]))
        );
        assert_eq!(
            m("file:///{+path}.md", "file:///docs/a.b.md"),
            Some(kv(&[("path", "docs/a.b")]))
        );
    }

    #[test]
    fn query_expansion_is_optional_and_unordered() {
        assert_eq!(
            m("search://{q}{?limit,page}", "search://rust"),
            Some(kv(&[("q", "rust")]))
        );
        assert_eq!(
            m("search://{q}{?limit,page}", "search://rust?page=2&limit=10"),
            Some(kv(&[("limit", "10"), ("page", "2"), ("q", "rust")]))
        );
        assert_eq!(m("search://{q}{?limit}", "search://rust?other=1"), None);
    }

    #[test]
    fn parse_errors() {
        for bad in [
            "a://{",
            "a://}",
            "a://{}",
            "a://{#x}",
            "a://{x}{y}",
            "a://{x,y}",
            "a://{?q}/x",
            "a://{a b}",
        ] {
            assert!(UriTemplate::parse(bad).is_err(), "{bad} should not parse");
        }
        let t = UriTemplate::parse("a://{x}/b{?q}").unwrap();
        assert_eq!(t.variables(), vec!["x", "q"]);
        assert_eq!(t.specificity(), "a:///b".len());
    }

    /// Found by `fuzz_templates_round_trip`: a variable matches one character at least, so
    /// `res://{v}/` does not match `res:///` (an empty name is no resource).
    #[test]
    fn variables_never_match_empty() {
        assert_eq!(m("res://{v}/", "res:///"), None);
        assert_eq!(m("res://{+p}", "res://"), None);
        assert_eq!(m("res://{v}/", "res://x/"), Some(kv(&[("v", "x")])));
    }

    /// `value` percent-encoded except ALPHA / DIGIT.
    fn encode(value: &str) -> String {
        let mut out = String::new();
        for b in value.bytes() {
            if b.is_ascii_alphanumeric() {
                out.push(char::from(b));
            } else {
                out.push_str(&format!("%{b:02X}"));
            }
        }
        out
    }

    proptest::proptest! {
        /// Arbitrary templates and URIs never panic; a parsed template shows its source.
        #[test]
        fn fuzz_templates_never_panic(template in ".{0,40}", uri in ".{0,60}") {
            if let Ok(t) = UriTemplate::parse(&template) {
                proptest::prop_assert_eq!(t.as_str(), template.as_str());
                let _ = t.matches(&uri);
                let _ = t.specificity();
            }
        }

        /// `scheme://{v0}/lit{v1}/…`: expanding any non-empty values (percent-encoded) and
        /// matching the result gives the values back (an empty value never matches, see
        /// `variables_never_match_empty`).
        #[test]
        fn fuzz_templates_round_trip(
            literals in proptest::collection::vec("[a-z0-9.:-]{0,6}", 1..4),
            values in proptest::collection::vec("\\PC{1,12}", 4),
        ) {
            let mut template = String::from("res://");
            let mut uri = String::from("res://");
            for (i, lit) in literals.iter().enumerate() {
                template.push_str(&format!("{{v{i}}}/{lit}"));
                uri.push_str(&format!("{}/{lit}", encode(&values[i])));
            }
            let t = UriTemplate::parse(&template).unwrap();
            let vars = t.matches(&uri);
            proptest::prop_assert!(vars.is_some(), "{template} did not match {uri}");
            let vars = vars.unwrap();
            for i in 0..literals.len() {
                proptest::prop_assert_eq!(&vars[&format!("v{i}")], &values[i]);
            }
        }
    }
}
