//! Compile-time reading of RFC 6570 URI templates: which variables does `users://{id}/profile`
//! bind?

/// One variable of a template.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Var {
    pub(crate) name: String,
    /// Bound by a form-style query expression (`{?x}` / `{&x}`): may be absent from a URI.
    pub(crate) optional: bool,
}

/// The variables of `template` in order of appearance, or a message describing the first
/// syntax error.
pub(crate) fn variables(template: &str) -> Result<Vec<Var>, String> {
    let mut vars: Vec<Var> = Vec::new();
    let mut rest = template;
    while let Some(open) = rest.find(['{', '}']) {
        if rest[open..].starts_with('}') {
            return Err("unbalanced `}` in URI template".into());
        }
        let after = &rest[open + 1..];
        let Some(close) = after.find('}') else {
            return Err("unclosed `{` in URI template".into());
        };
        let expr = &after[..close];
        if expr.contains('{') {
            return Err("nested `{` in URI template".into());
        }
        let (optional, body) = match expr.chars().next() {
            Some(op @ ('+' | '#' | '.' | '/' | ';' | '?' | '&')) => {
                (matches!(op, '?' | '&'), &expr[op.len_utf8()..])
            }
            _ => (false, expr),
        };
        if body.is_empty() {
            return Err(format!("empty expression `{{{expr}}}` in URI template"));
        }
        for spec in body.split(',') {
            let name = spec
                .split_once(':')
                .map_or(spec, |(n, _)| n)
                .trim_end_matches('*');
            let valid = !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.' || c == '%');
            if !valid {
                return Err(format!(
                    "invalid variable name `{spec}` in URI template (letters, digits and `_`)"
                ));
            }
            if vars.iter().any(|v| v.name == name) {
                return Err(format!("variable `{name}` appears twice in URI template"));
            }
            vars.push(Var {
                name: name.to_owned(),
                optional,
            });
        }
        rest = &after[close + 1..];
    }
    Ok(vars)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(t: &str) -> Vec<(String, bool)> {
        variables(t)
            .unwrap()
            .into_iter()
            .map(|v| (v.name, v.optional))
            .collect()
    }

    #[test]
    fn levels() {
        assert_eq!(names("users://{id}/profile"), vec![("id".into(), false)]);
        assert_eq!(
            names("file:///{+path}{?q,limit}"),
            vec![
                ("path".into(), false),
                ("q".into(), true),
                ("limit".into(), true)
            ]
        );
        assert_eq!(
            names("x://{a:3}/{b*}"),
            vec![("a".into(), false), ("b".into(), false)]
        );
        assert!(names("config://app").is_empty());
    }

    #[test]
    fn errors() {
        assert_eq!(
            variables("a://{x").unwrap_err(),
            "unclosed `{` in URI template"
        );
        assert_eq!(
            variables("a://x}").unwrap_err(),
            "unbalanced `}` in URI template"
        );
        assert_eq!(
            variables("a://{}").unwrap_err(),
            "empty expression `{}` in URI template"
        );
        assert_eq!(
            variables("a://{x}/{x}").unwrap_err(),
            "variable `x` appears twice in URI template"
        );
        assert!(
            variables("a://{a-b}")
                .unwrap_err()
                .starts_with("invalid variable name `a-b`")
        );
    }
}
