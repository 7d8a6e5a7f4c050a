//! Parsing of the macro options: `#[mcp_tool(name = "x", read_only, scopes = ["a"])]`.
//!
//! One parser serves all four item macros; each [`Kind`] allows a subset of the keys, and a key
//! that belongs to another macro gets a message that names the right one.

use crate::ctxt::Ctxt;
use proc_macro2::{Span, TokenStream, TokenTree};
use syn::ext::IdentExt;
use syn::parse::{ParseStream, Parser};
use syn::punctuated::Punctuated;
use syn::{Ident, LitBool, LitInt, LitStr, Token, Type, bracketed, token};

/// Which item macro is being expanded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Tool,
    Resource,
    Template,
    Prompt,
}

impl Kind {
    /// The attribute as users write it, for messages.
    pub(crate) fn attr(self) -> &'static str {
        match self {
            Kind::Tool => "#[mcp_tool]",
            Kind::Resource => "#[mcp_resource]",
            Kind::Template => "#[mcp_resource_template]",
            Kind::Prompt => "#[mcp_prompt]",
        }
    }

    /// The option keys this macro accepts, in the order they are documented.
    fn allowed(self) -> &'static [&'static str] {
        match self {
            Kind::Tool => &[
                NAME,
                TITLE,
                DESCRIPTION,
                READ_ONLY,
                DESTRUCTIVE,
                IDEMPOTENT,
                OPEN_WORLD,
                OUTPUT_SCHEMA,
                ICONS,
                META,
                SCOPES,
                SCOPES_ANY,
                TASK,
                TASK_START,
            ],
            Kind::Resource => &[
                URI,
                NAME,
                TITLE,
                DESCRIPTION,
                MIME_TYPE,
                SIZE,
                ICONS,
                META,
                SCOPES,
                SCOPES_ANY,
            ],
            Kind::Template => &[
                URI_TEMPLATE,
                NAME,
                TITLE,
                DESCRIPTION,
                MIME_TYPE,
                ICONS,
                META,
                SCOPES,
                SCOPES_ANY,
            ],
            Kind::Prompt => &[NAME, TITLE, DESCRIPTION, ICONS, META, SCOPES, SCOPES_ANY],
        }
    }
}

pub(crate) const NAME: &str = "name";
pub(crate) const TITLE: &str = "title";
pub(crate) const DESCRIPTION: &str = "description";
pub(crate) const READ_ONLY: &str = "read_only";
pub(crate) const DESTRUCTIVE: &str = "destructive";
pub(crate) const IDEMPOTENT: &str = "idempotent";
pub(crate) const OPEN_WORLD: &str = "open_world";
pub(crate) const OUTPUT_SCHEMA: &str = "output_schema";
pub(crate) const ICONS: &str = "icons";
pub(crate) const META: &str = "meta";
pub(crate) const SCOPES: &str = "scopes";
pub(crate) const SCOPES_ANY: &str = "scopes_any";
pub(crate) const URI: &str = "uri";
pub(crate) const URI_TEMPLATE: &str = "uri_template";
pub(crate) const MIME_TYPE: &str = "mime_type";
pub(crate) const SIZE: &str = "size";
pub(crate) const TASK: &str = "task";
pub(crate) const TASK_START: &str = "task_start";

/// One icon of `icons = [...]`.
pub(crate) struct Icon {
    pub(crate) src: LitStr,
    pub(crate) mime_type: Option<LitStr>,
    pub(crate) sizes: Vec<LitStr>,
    pub(crate) theme: Option<LitStr>,
}

/// Required scopes: `scopes = [...]` (all of) or `scopes_any = [...]` (any of).
pub(crate) struct Scopes {
    pub(crate) any: bool,
    pub(crate) scopes: Vec<LitStr>,
}

/// Every option of every item macro; [`Kind::allowed`] decides which may be set.
#[derive(Default)]
pub(crate) struct Options {
    pub(crate) name: Option<LitStr>,
    pub(crate) title: Option<LitStr>,
    pub(crate) description: Option<LitStr>,
    pub(crate) read_only: Option<bool>,
    pub(crate) destructive: Option<bool>,
    pub(crate) idempotent: Option<bool>,
    pub(crate) open_world: Option<bool>,
    pub(crate) output_schema: Option<Type>,
    pub(crate) icons: Option<Vec<Icon>>,
    pub(crate) meta: Option<TokenStream>,
    pub(crate) scopes: Option<Scopes>,
    pub(crate) uri: Option<LitStr>,
    pub(crate) uri_template: Option<LitStr>,
    pub(crate) mime_type: Option<LitStr>,
    pub(crate) size: Option<LitInt>,
    /// `task = "optional" | "required"`.
    pub(crate) task: Option<LitStr>,
    /// `task_start = "call" | "handler"`.
    pub(crate) task_start: Option<LitStr>,
}

/// Parses the attribute arguments of an item macro. Errors go to `cx`; parsing goes on after
/// an unknown or misplaced key so that every problem is reported at once.
pub(crate) fn parse_options(kind: Kind, args: TokenStream, cx: &mut Ctxt) -> Options {
    let mut opts = Options::default();
    let parser = |input: ParseStream<'_>| -> syn::Result<()> {
        while !input.is_empty() {
            let key = input.call(Ident::parse_any)?;
            let key_str = key.to_string();
            let allowed = kind.allowed();
            if !allowed.contains(&key_str.as_str()) {
                cx.error_spanned_by(&key, misplaced_key_message(kind, &key_str));
                skip_value(input)?;
            } else if let Err(e) = parse_value(&mut opts, &key, &key_str, input) {
                cx.push(e);
                skip_value(input)?;
            }
            if input.is_empty() {
                break;
            }
            input.parse::<Token![,]>()?;
        }
        Ok(())
    };
    if let Err(e) = parser.parse2(args) {
        cx.push(e);
    }
    if opts.read_only == Some(true) && opts.destructive == Some(true) {
        cx.error_at(
            Span::call_site(),
            "a `read_only` tool cannot be `destructive` (destructiveHint only applies to tools that modify their environment)",
        );
    }
    opts
}

fn misplaced_key_message(kind: Kind, key: &str) -> String {
    let expected = kind
        .allowed()
        .iter()
        .map(|k| format!("`{k}`"))
        .collect::<Vec<_>>()
        .join(", ");
    match (kind, key) {
        (Kind::Tool, URI_TEMPLATE) => format!(
            "`uri_template` is not an option of #[mcp_tool]: a URI template declares a resource template, use #[mcp_resource_template(uri_template = \"...\")]; expected one of {expected}"
        ),
        (Kind::Tool | Kind::Prompt, URI) => format!(
            "`uri` is not an option of {}: a URI declares a resource, use #[mcp_resource(uri = \"...\")]; expected one of {expected}",
            kind.attr()
        ),
        (Kind::Resource, URI_TEMPLATE) => format!(
            "`uri_template` is not an option of #[mcp_resource]: use #[mcp_resource_template(uri_template = \"...\")] for parameterised URIs; expected one of {expected}"
        ),
        (Kind::Template, URI) => format!(
            "`uri` is not an option of #[mcp_resource_template]: write `uri_template = \"...\"`, or use #[mcp_resource] for a fixed URI; expected one of {expected}"
        ),
        _ if [
            NAME,
            TITLE,
            DESCRIPTION,
            READ_ONLY,
            DESTRUCTIVE,
            IDEMPOTENT,
            OPEN_WORLD,
            OUTPUT_SCHEMA,
            ICONS,
            META,
            SCOPES,
            SCOPES_ANY,
            URI,
            URI_TEMPLATE,
            MIME_TYPE,
            SIZE,
            TASK,
            TASK_START,
        ]
        .contains(&key) =>
        {
            format!(
                "`{key}` is not an option of {}; expected one of {expected}",
                kind.attr()
            )
        }
        _ => format!(
            "unknown option `{key}` for {}; expected one of {expected}",
            kind.attr()
        ),
    }
}

/// Skips the rest of a `key = value` entry up to the next top-level comma.
fn skip_value(input: ParseStream<'_>) -> syn::Result<()> {
    while !input.is_empty() && !input.peek(Token![,]) {
        input.parse::<TokenTree>()?;
    }
    Ok(())
}

fn duplicate(key: &Ident) -> syn::Error {
    syn::Error::new_spanned(key, format!("`{key}` specified more than once"))
}

fn set_once<T>(slot: &mut Option<T>, key: &Ident, value: T) -> syn::Result<()> {
    if slot.is_some() {
        return Err(duplicate(key));
    }
    *slot = Some(value);
    Ok(())
}

fn parse_eq(key: &Ident, input: ParseStream<'_>, what: &str) -> syn::Result<()> {
    if input.peek(Token![=]) {
        input.parse::<Token![=]>()?;
        Ok(())
    } else {
        Err(syn::Error::new_spanned(
            key,
            format!("`{key}` needs a value: `{key} = {what}`"),
        ))
    }
}

fn parse_str(key: &Ident, input: ParseStream<'_>) -> syn::Result<LitStr> {
    parse_eq(key, input, "\"...\"")?;
    input
        .parse::<LitStr>()
        .map_err(|e| syn::Error::new(e.span(), format!("`{key}` expects a string literal")))
}

/// A string literal that must be one of `choices`.
fn parse_choice(key: &Ident, input: ParseStream<'_>, choices: &[&str]) -> syn::Result<LitStr> {
    let v = parse_str(key, input)?;
    if choices.contains(&v.value().as_str()) {
        return Ok(v);
    }
    let list = choices
        .iter()
        .map(|c| format!("\"{c}\""))
        .collect::<Vec<_>>()
        .join(" or ");
    Err(syn::Error::new_spanned(
        &v,
        format!("`{key}` must be {list}"),
    ))
}

fn parse_flag(key: &Ident, input: ParseStream<'_>) -> syn::Result<bool> {
    if input.peek(Token![=]) {
        input.parse::<Token![=]>()?;
        let b: LitBool = input.parse().map_err(|e| {
            syn::Error::new(
                e.span(),
                format!("`{key}` expects `true` or `false` (or write `{key}` alone for true)"),
            )
        })?;
        Ok(b.value)
    } else {
        Ok(true)
    }
}

pub(crate) fn parse_str_array(key: &Ident, input: ParseStream<'_>) -> syn::Result<Vec<LitStr>> {
    parse_eq(key, input, "[\"...\", ...]")?;
    parse_str_list(key, input)
}

fn parse_str_list(key: &Ident, input: ParseStream<'_>) -> syn::Result<Vec<LitStr>> {
    if !input.peek(token::Bracket) {
        return Err(input.error(format!(
            "`{key}` expects a list of string literals: `[\"...\", ...]`"
        )));
    }
    let content;
    bracketed!(content in input);
    let list = Punctuated::<LitStr, Token![,]>::parse_terminated(&content).map_err(|e| {
        syn::Error::new(
            e.span(),
            format!("`{key}` expects a list of string literals"),
        )
    })?;
    Ok(list.into_iter().collect())
}

fn parse_value(
    opts: &mut Options,
    key: &Ident,
    key_str: &str,
    input: ParseStream<'_>,
) -> syn::Result<()> {
    match key_str {
        NAME => {
            let v = parse_str(key, input)?;
            set_once(&mut opts.name, key, v)
        }
        TITLE => {
            let v = parse_str(key, input)?;
            set_once(&mut opts.title, key, v)
        }
        DESCRIPTION => {
            let v = parse_str(key, input)?;
            set_once(&mut opts.description, key, v)
        }
        MIME_TYPE => {
            let v = parse_str(key, input)?;
            let s = v.value();
            let valid = s.split_once('/').is_some_and(|(a, b)| {
                !a.is_empty() && !b.is_empty() && !s.chars().any(char::is_whitespace)
            });
            if !valid {
                return Err(syn::Error::new_spanned(
                    &v,
                    "`mime_type` must be a media type such as \"text/plain\" or \"application/json\"",
                ));
            }
            set_once(&mut opts.mime_type, key, v)
        }
        URI => {
            let v = parse_str(key, input)?;
            // Recorded even when invalid, so that it is not also reported as missing.
            let valid = has_scheme(&v.value());
            set_once(&mut opts.uri, key, v.clone())?;
            if !valid {
                return Err(syn::Error::new_spanned(
                    &v,
                    "`uri` must be an absolute URI with a scheme, such as \"config://app\" or \"file:///etc/app.toml\"",
                ));
            }
            Ok(())
        }
        URI_TEMPLATE => {
            let v = parse_str(key, input)?;
            set_once(&mut opts.uri_template, key, v)
        }
        TASK => {
            let v = parse_choice(key, input, &["optional", "required"])?;
            set_once(&mut opts.task, key, v)
        }
        TASK_START => {
            let v = parse_choice(key, input, &["call", "handler"])?;
            set_once(&mut opts.task_start, key, v)
        }
        READ_ONLY => {
            let v = parse_flag(key, input)?;
            set_once(&mut opts.read_only, key, v)
        }
        DESTRUCTIVE => {
            let v = parse_flag(key, input)?;
            set_once(&mut opts.destructive, key, v)
        }
        IDEMPOTENT => {
            let v = parse_flag(key, input)?;
            set_once(&mut opts.idempotent, key, v)
        }
        OPEN_WORLD => {
            let v = parse_flag(key, input)?;
            set_once(&mut opts.open_world, key, v)
        }
        SIZE => {
            parse_eq(key, input, "<bytes>")?;
            let v: LitInt = input.parse().map_err(|e| {
                syn::Error::new(e.span(), "`size` expects an integer literal (bytes)")
            })?;
            v.base10_parse::<u64>()?;
            set_once(&mut opts.size, key, v)
        }
        OUTPUT_SCHEMA => {
            parse_eq(key, input, "Type")?;
            let v: Type = input.parse()?;
            set_once(&mut opts.output_schema, key, v)
        }
        META => {
            parse_eq(key, input, "{ \"key\": value, ... }")?;
            if !input.peek(token::Brace) {
                return Err(
                    input.error("`meta` expects a JSON object: `meta = { \"key\": \"value\" }`")
                );
            }
            let group: proc_macro2::Group = input.parse()?;
            set_once(&mut opts.meta, key, group.to_token_stream_owned())
        }
        SCOPES | SCOPES_ANY => {
            let list = parse_str_array(key, input)?;
            if list.is_empty() {
                return Err(syn::Error::new_spanned(
                    key,
                    format!("`{key}` needs at least one scope"),
                ));
            }
            for s in &list {
                let v = s.value();
                if v.is_empty()
                    || v.chars()
                        .any(|c| c == ' ' || c == '"' || c == '\\' || c.is_control())
                {
                    return Err(syn::Error::new_spanned(
                        s,
                        "a scope is a non-empty token without spaces, quotes or backslashes (RFC 6749 §3.3)",
                    ));
                }
            }
            if opts.scopes.is_some() {
                return Err(syn::Error::new_spanned(
                    key,
                    "only one of `scopes` (all required) and `scopes_any` (any one suffices) may be given, once",
                ));
            }
            opts.scopes = Some(Scopes {
                any: key_str == SCOPES_ANY,
                scopes: list,
            });
            Ok(())
        }
        ICONS => {
            parse_eq(key, input, "[\"https://...\", ...]")?;
            let icons = parse_icons(input)?;
            set_once(&mut opts.icons, key, icons)
        }
        _ => Err(syn::Error::new_spanned(key, "unsupported option")),
    }
}

trait GroupExt {
    fn to_token_stream_owned(&self) -> TokenStream;
}

impl GroupExt for proc_macro2::Group {
    fn to_token_stream_owned(&self) -> TokenStream {
        TokenTree::Group(self.clone()).into()
    }
}

/// Whether `uri` starts with an RFC 3986 scheme followed by `:`.
fn has_scheme(uri: &str) -> bool {
    match uri.split_once(':') {
        Some((scheme, _)) => {
            let mut chars = scheme.chars();
            chars.next().is_some_and(|c| c.is_ascii_alphabetic())
                && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
        }
        None => false,
    }
}

/// `[ "https://x/icon.png", { src = "...", mime_type = "image/png", sizes = ["48x48"], theme = "dark" } ]`
fn parse_icons(input: ParseStream<'_>) -> syn::Result<Vec<Icon>> {
    if !input.peek(token::Bracket) {
        return Err(input.error(
            "`icons` expects a list: `[\"https://...\", { src = \"...\", mime_type = \"image/png\", sizes = [\"48x48\"], theme = \"dark\" }]`",
        ));
    }
    let content;
    bracketed!(content in input);
    let mut icons = Vec::new();
    while !content.is_empty() {
        if content.peek(LitStr) {
            icons.push(Icon {
                src: content.parse()?,
                mime_type: None,
                sizes: Vec::new(),
                theme: None,
            });
        } else if content.peek(token::Brace) {
            let inner;
            syn::braced!(inner in content);
            let brace_span = inner.span();
            let mut src = None;
            let mut mime_type = None;
            let mut sizes = None;
            let mut theme = None;
            while !inner.is_empty() {
                let key = inner.call(Ident::parse_any)?;
                match key.to_string().as_str() {
                    "src" => set_once(&mut src, &key, parse_str(&key, &inner)?)?,
                    "mime_type" => set_once(&mut mime_type, &key, parse_str(&key, &inner)?)?,
                    "sizes" => set_once(&mut sizes, &key, parse_str_array(&key, &inner)?)?,
                    "theme" => {
                        let t = parse_str(&key, &inner)?;
                        if t.value() != "light" && t.value() != "dark" {
                            return Err(syn::Error::new_spanned(
                                &t,
                                "an icon `theme` is \"light\" or \"dark\"",
                            ));
                        }
                        set_once(&mut theme, &key, t)?
                    }
                    other => {
                        return Err(syn::Error::new_spanned(
                            &key,
                            format!(
                                "unknown icon field `{other}`; expected one of `src`, `mime_type`, `sizes`, `theme`"
                            ),
                        ));
                    }
                }
                if inner.is_empty() {
                    break;
                }
                inner.parse::<Token![,]>()?;
            }
            let Some(src) = src else {
                return Err(syn::Error::new(brace_span, "an icon needs `src = \"...\"`"));
            };
            icons.push(Icon {
                src,
                mime_type,
                sizes: sizes.unwrap_or_default(),
                theme,
            });
        } else {
            return Err(content.error(
                "an icon is a string literal (its URL) or `{ src = \"...\", mime_type = \"...\", sizes = [...], theme = \"...\" }`",
            ));
        }
        if content.is_empty() {
            break;
        }
        content.parse::<Token![,]>()?;
    }
    Ok(icons)
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::quote;

    fn parse(kind: Kind, ts: TokenStream) -> (Options, Result<(), String>) {
        let mut cx = Ctxt::new();
        let o = parse_options(kind, ts, &mut cx);
        (o, cx.check().map_err(|e| e.to_string()))
    }

    #[test]
    fn parses_all_tool_options() {
        let (o, r) = parse(
            Kind::Tool,
            quote!(name = "x", title = "X", read_only, idempotent = false, scopes_any = ["a", "b"],
                   icons = ["https://i/a.png", { src = "https://i/b.svg", sizes = ["any"], theme = "dark" }],
                   meta = { "k": 1 }, output_schema = Vec<String>),
        );
        assert_eq!(r, Ok(()));
        assert_eq!(o.name.unwrap().value(), "x");
        assert_eq!(o.read_only, Some(true));
        assert_eq!(o.idempotent, Some(false));
        let s = o.scopes.unwrap();
        assert!(s.any);
        assert_eq!(s.scopes.len(), 2);
        let icons = o.icons.unwrap();
        assert_eq!(icons.len(), 2);
        assert_eq!(icons[1].theme.as_ref().unwrap().value(), "dark");
        assert!(o.meta.is_some() && o.output_schema.is_some());
    }

    #[test]
    fn task_options_take_one_of_their_values() {
        let (o, r) = parse(
            Kind::Tool,
            quote!(task = "required", task_start = "handler"),
        );
        assert_eq!(r, Ok(()));
        assert_eq!(o.task.unwrap().value(), "required");
        assert_eq!(o.task_start.unwrap().value(), "handler");
        let (_, r) = parse(Kind::Tool, quote!(task = "sometimes"));
        assert_eq!(
            r.unwrap_err(),
            "`task` must be \"optional\" or \"required\""
        );
        let (_, r) = parse(Kind::Tool, quote!(task_start = "later"));
        assert_eq!(
            r.unwrap_err(),
            "`task_start` must be \"call\" or \"handler\""
        );
        let (_, r) = parse(Kind::Prompt, quote!(task = "optional"));
        assert!(
            r.unwrap_err()
                .starts_with("`task` is not an option of #[mcp_prompt]")
        );
    }

    #[test]
    fn reports_every_bad_key() {
        let (_, r) = parse(
            Kind::Tool,
            quote!(nme = "x", uri_template = "a://{b}", name = "y"),
        );
        let msg = r.unwrap_err();
        assert!(
            msg.starts_with("unknown option `nme` for #[mcp_tool]"),
            "{msg}"
        );
    }

    #[test]
    fn duplicates_and_conflicts() {
        let (_, r) = parse(Kind::Prompt, quote!(name = "a", name = "b"));
        assert_eq!(r.unwrap_err(), "`name` specified more than once");
        let (_, r) = parse(Kind::Tool, quote!(scopes = ["a"], scopes_any = ["b"]));
        assert!(r.unwrap_err().starts_with("only one of `scopes`"));
        let (_, r) = parse(Kind::Tool, quote!(read_only, destructive));
        assert!(
            r.unwrap_err()
                .starts_with("a `read_only` tool cannot be `destructive`")
        );
    }

    #[test]
    fn validates_uri_and_mime() {
        let (_, r) = parse(Kind::Resource, quote!(uri = "no-scheme"));
        assert!(r.unwrap_err().starts_with("`uri` must be an absolute URI"));
        let (_, r) = parse(Kind::Resource, quote!(uri = "a://b", mime_type = "json"));
        assert!(
            r.unwrap_err()
                .starts_with("`mime_type` must be a media type")
        );
        let (o, r) = parse(Kind::Resource, quote!(uri = "config://app", size = 12));
        assert_eq!(r, Ok(()));
        assert_eq!(o.size.unwrap().base10_parse::<u64>().unwrap(), 12);
    }
}
