//! Analysis of an annotated function: its parameters (injected, `Params<T>` or plain
//! arguments), their attributes (`///`, `#[schema(...)]`, `#[complete(...)]`), its doc comment
//! and its return type.

use crate::attr::{Kind, parse_str_array};
use crate::ctxt::Ctxt;
use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned};
use syn::ext::IdentExt;
use syn::parse::{ParseStream, Parser};
use syn::spanned::Spanned;
use syn::{
    Attribute, Expr, FnArg, GenericArgument, Ident, LitStr, Meta, Pat, PathArguments, ReturnType,
    Signature, Token, Type,
};

/// How the generated code calls the function.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Receiver {
    /// A free function: `f(args)`.
    None,
    /// A method of an `#[mcp_server]` impl taking `&self`: `this.f(args)`.
    RefSelf,
    /// An associated function of an `#[mcp_server]` impl: `Self::f(args)`.
    Assoc,
}

/// A completion source for a prompt or template argument.
pub(crate) enum Complete {
    Values(Vec<LitStr>),
    Provider(Expr),
}

/// A parameter that is a property of the input (tool) or an argument (prompt) or a URI
/// variable (template).
pub(crate) struct Plain {
    pub(crate) name: String,
    pub(crate) ident: Ident,
    pub(crate) ty: Type,
    pub(crate) optional: bool,
    pub(crate) docs: Option<String>,
    pub(crate) title: Option<LitStr>,
    pub(crate) description: Option<LitStr>,
    /// Extra JSON Schema keywords from `#[schema(...)]`: (JSON key, value tokens for `json!`).
    pub(crate) keywords: Vec<(String, TokenStream)>,
    pub(crate) complete: Option<(Span, Complete)>,
}

impl Plain {
    /// The description: `#[schema(description)]` wins over the doc comment.
    pub(crate) fn description(&self) -> Option<String> {
        self.description
            .as_ref()
            .map(LitStr::value)
            .or_else(|| self.docs.clone())
    }
}

pub(crate) enum Param {
    /// `RequestContext` (by value) or `&RequestContext`.
    Context {
        by_ref: bool,
    },
    /// `CancellationToken`.
    Cancel,
    /// `Params<T>`: the whole argument object.
    Params {
        ty: Box<Type>,
        inner: Box<Type>,
    },
    Plain(Box<Plain>),
}

/// What is known about the return type.
pub(crate) struct Ret {
    /// The span used for conversion errors.
    pub(crate) span: Span,
    /// `T` of a `Json<T>` or `Result<Json<T>, E>` return.
    pub(crate) json: Option<Type>,
}

pub(crate) struct FnInfo {
    pub(crate) ident: Ident,
    /// The function name without `r#`.
    pub(crate) name: String,
    pub(crate) docs: Option<String>,
    pub(crate) params: Vec<Param>,
    pub(crate) ret: Ret,
    pub(crate) receiver: Receiver,
}

impl FnInfo {
    pub(crate) fn plain(&self) -> impl Iterator<Item = &Plain> {
        self.params.iter().filter_map(|p| match p {
            Param::Plain(p) => Some(&**p),
            _ => None,
        })
    }

    pub(crate) fn params_type(&self) -> Option<(&Type, &Type)> {
        self.params.iter().find_map(|p| match p {
            Param::Params { ty, inner } => Some((&**ty, &**inner)),
            _ => None,
        })
    }
}

/// Collects `///` lines: each line trimmed, leading and trailing blank lines dropped.
/// Returns `None` without doc attributes; `#[doc = include_str!(..)]` and other non-literal docs
/// are skipped.
pub(crate) fn doc_text(attrs: &[Attribute]) -> Option<String> {
    let mut lines = Vec::new();
    for attr in attrs {
        if !attr.path().is_ident("doc") {
            continue;
        }
        if let Meta::NameValue(nv) = &attr.meta
            && let Expr::Lit(syn::ExprLit {
                lit: syn::Lit::Str(s),
                ..
            }) = &nv.value
        {
            for line in s.value().lines() {
                lines.push(line.trim().to_owned());
            }
        }
    }
    while lines.first().is_some_and(String::is_empty) {
        lines.remove(0);
    }
    while lines.last().is_some_and(String::is_empty) {
        lines.pop();
    }
    if lines.is_empty() {
        None
    } else {
        Some(lines.join("\n"))
    }
}

/// The last path segment of `ty` and its generic arguments, if `ty` is a path type.
fn last_segment(ty: &Type) -> Option<&syn::PathSegment> {
    match ty {
        Type::Path(p) if p.qself.is_none() => p.path.segments.last(),
        Type::Group(g) => last_segment(&g.elem),
        Type::Paren(p) => last_segment(&p.elem),
        _ => None,
    }
}

/// `Some(T)` if `ty` is `<name><T>`.
pub(crate) fn single_generic<'a>(ty: &'a Type, name: &str) -> Option<&'a Type> {
    let seg = last_segment(ty)?;
    if seg.ident != name {
        return None;
    }
    match &seg.arguments {
        PathArguments::AngleBracketed(a) => {
            let mut types = a.args.iter().filter_map(|g| match g {
                GenericArgument::Type(t) => Some(t),
                _ => None,
            });
            let first = types.next()?;
            Some(first)
        }
        _ => None,
    }
}

fn is_named(ty: &Type, name: &str) -> bool {
    last_segment(ty).is_some_and(|s| s.ident == name && s.arguments.is_none())
}

/// Analyses `sig` and strips the macro's own parameter attributes from it.
pub(crate) fn analyse(
    kind: Kind,
    sig: &mut Signature,
    attrs: &[Attribute],
    in_server_impl: bool,
    cx: &mut Ctxt,
) -> FnInfo {
    let attr_name = kind.attr();
    if sig.asyncness.is_none() {
        cx.error_spanned_by(
            sig.fn_token,
            format!(
                "{attr_name} functions must be `async`: write `async fn {}`",
                sig.ident
            ),
        );
    }
    if let Some(c) = &sig.constness {
        cx.error_spanned_by(c, format!("{attr_name} functions cannot be `const`"));
    }
    if let Some(u) = &sig.unsafety {
        cx.error_spanned_by(u, format!("{attr_name} functions cannot be `unsafe`"));
    }
    if let Some(a) = &sig.abi {
        cx.error_spanned_by(a, format!("{attr_name} functions cannot have an ABI"));
    }
    if !sig.generics.params.is_empty() || sig.generics.where_clause.is_some() {
        cx.error_spanned_by(
            &sig.generics,
            format!("{attr_name} functions cannot be generic: the macro needs concrete argument types to build the schema"),
        );
    }
    if let Some(v) = &sig.variadic {
        cx.error_spanned_by(v, format!("{attr_name} functions cannot be variadic"));
    }

    let ident = sig.ident.clone();
    let name = ident.unraw().to_string();
    let mut receiver = if in_server_impl {
        Receiver::Assoc
    } else {
        Receiver::None
    };
    let mut params = Vec::new();

    for input in sig.inputs.iter_mut() {
        match input {
            FnArg::Receiver(r) => {
                if !in_server_impl {
                    cx.error_spanned_by(
                        &*r,
                        format!("{attr_name} on a method needs `#[mcp_server]` on the enclosing `impl` block"),
                    );
                } else if r.reference.is_none() || r.mutability.is_some() || r.colon_token.is_some()
                {
                    cx.error_spanned_by(
                        &*r,
                        "handler methods take `&self`: the server shares one instance between concurrent requests (use interior mutability for state)",
                    );
                } else {
                    receiver = Receiver::RefSelf;
                }
            }
            FnArg::Typed(pt) => {
                let mut own = OwnAttrs::default();
                pt.attrs.retain(|a| own.take(a, cx));
                params.push(classify(kind, pt, own, cx));
            }
        }
    }

    if params.iter().any(|p| matches!(p, Param::Params { .. })) {
        let n_params = params
            .iter()
            .filter(|p| matches!(p, Param::Params { .. }))
            .count();
        if n_params > 1 {
            cx.error_spanned_by(
                &sig.inputs,
                "only one `Params<T>` argument is allowed: it receives the whole argument object",
            );
        }
        for (input, p) in sig
            .inputs
            .iter()
            .filter(|i| matches!(i, FnArg::Typed(_)))
            .zip(&params)
        {
            if let Param::Plain(_) = p {
                cx.error_spanned_by(
                    input,
                    "`Params<T>` cannot be mixed with plain arguments: either take every argument as a parameter, or move this one into the `Params` struct",
                );
            }
        }
    }

    let ret = match &sig.output {
        ReturnType::Default => Ret {
            span: sig.ident.span(),
            json: None,
        },
        ReturnType::Type(_, ty) => {
            let inner = single_generic(ty, "Result").unwrap_or(ty);
            Ret {
                span: ty.span(),
                json: single_generic(inner, "Json").cloned(),
            }
        }
    };

    FnInfo {
        ident,
        name,
        docs: doc_text(attrs),
        params,
        ret,
        receiver,
    }
}

/// Attributes on a parameter that belong to the macro (and are removed from the output).
#[derive(Default)]
struct OwnAttrs {
    docs: Vec<Attribute>,
    schema: Vec<Attribute>,
    complete: Vec<Attribute>,
}

impl OwnAttrs {
    /// Takes `attr` if it is ours; returns whether to keep it on the parameter.
    fn take(&mut self, attr: &Attribute, cx: &mut Ctxt) -> bool {
        let p = attr.path();
        if p.is_ident("doc") {
            self.docs.push(attr.clone());
            false
        } else if p.is_ident("schema") {
            self.schema.push(attr.clone());
            false
        } else if p.is_ident("complete") {
            self.complete.push(attr.clone());
            false
        } else if p.is_ident("cfg") || p.is_ident("cfg_attr") {
            cx.error_spanned_by(
                attr,
                "`#[cfg]` on a handler argument is not supported: the argument list is part of the generated schema",
            );
            false
        } else {
            true
        }
    }
}

fn classify(kind: Kind, pt: &syn::PatType, own: OwnAttrs, cx: &mut Ctxt) -> Param {
    let ty = &*pt.ty;
    let attr_name = kind.attr();
    let injected = |what: &str, cx: &mut Ctxt| {
        for a in own.schema.iter().chain(&own.complete) {
            cx.error_spanned_by(
                a,
                format!("{what} is injected by the server and is not part of the schema: this attribute does not apply"),
            );
        }
    };

    // Injected parameters.
    if is_named(ty, "RequestContext") {
        injected("`RequestContext`", cx);
        return Param::Context { by_ref: false };
    }
    if let Type::Reference(r) = ty
        && is_named(&r.elem, "RequestContext")
    {
        injected("`RequestContext`", cx);
        return Param::Context { by_ref: true };
    }
    if is_named(ty, "CancellationToken") {
        injected("`CancellationToken`", cx);
        return Param::Cancel;
    }
    if let Some(inner) = single_generic(ty, "Params") {
        if kind == Kind::Resource || kind == Kind::Template {
            cx.error_spanned_by(
                ty,
                format!("`Params<T>` is not supported by {attr_name}: take each URI variable as its own argument"),
            );
        }
        for a in own.schema.iter().chain(&own.complete) {
            cx.error_spanned_by(
                a,
                "attributes on a `Params<T>` argument do not apply: describe the fields on `T` with `///` and `#[schemars(...)]`",
            );
        }
        return Param::Params {
            ty: Box::new(ty.clone()),
            inner: Box::new(inner.clone()),
        };
    }

    // Plain arguments.
    if let Type::Reference(r) = ty {
        let hint = if is_named(&r.elem, "str") {
            "`String`"
        } else {
            "an owned type"
        };
        cx.error_spanned_by(
            ty,
            format!("handler arguments are deserialized from JSON and must be owned: use {hint} instead of a reference"),
        );
    }
    if let Type::ImplTrait(_) = ty {
        cx.error_spanned_by(
            ty,
            "`impl Trait` arguments are not supported: name a concrete type",
        );
    }
    let ident = match &*pt.pat {
        Pat::Ident(pi) if pi.subpat.is_none() => pi.ident.clone(),
        other => {
            cx.error_spanned_by(
                other,
                "use a plain identifier for this argument: its name becomes the argument's name in the schema",
            );
            Ident::new("__invalid", other.span())
        }
    };
    let name = ident.unraw().to_string();
    if kind == Kind::Resource {
        cx.error_spanned_by(
            &pt.pat,
            format!("#[mcp_resource] functions take no arguments besides `RequestContext` and `CancellationToken`: use #[mcp_resource_template(uri_template = \"...{{{name}}}\")] to bind URI variables"),
        );
    }

    let mut plain = Plain {
        name,
        ident,
        ty: ty.clone(),
        optional: single_generic(ty, "Option").is_some(),
        docs: doc_text(&own.docs),
        title: None,
        description: None,
        keywords: Vec::new(),
        complete: None,
    };
    for a in &own.schema {
        if let Err(e) = parse_schema_attr(kind, a, &mut plain) {
            cx.push(e);
        }
    }
    for a in &own.complete {
        if kind == Kind::Tool {
            cx.error_spanned_by(
                a,
                "`#[complete]` applies to prompt and resource template arguments only: MCP completion/complete does not cover tool arguments",
            );
            continue;
        }
        if plain.complete.is_some() {
            cx.error_spanned_by(a, "`#[complete]` specified more than once");
            continue;
        }
        match parse_complete(a) {
            Ok(c) => plain.complete = Some((a.span(), c)),
            Err(e) => cx.push(e),
        }
    }
    Param::Plain(Box::new(plain))
}

fn parse_complete(attr: &Attribute) -> syn::Result<Complete> {
    let Meta::List(list) = &attr.meta else {
        return Err(syn::Error::new_spanned(
            attr,
            "expected `#[complete(values = [\"...\"])]` or `#[complete(provider = path)]`",
        ));
    };
    let parser = |input: ParseStream<'_>| -> syn::Result<Complete> {
        let key = input.call(Ident::parse_any)?;
        let out = match key.to_string().as_str() {
            "values" => Complete::Values(parse_str_array(&key, input)?),
            "provider" => {
                input.parse::<Token![=]>()?;
                Complete::Provider(input.parse()?)
            }
            other => {
                return Err(syn::Error::new_spanned(
                    &key,
                    format!(
                        "unknown option `{other}` for #[complete]; expected `values` or `provider`"
                    ),
                ));
            }
        };
        if input.peek(Token![,]) {
            input.parse::<Token![,]>()?;
        }
        if !input.is_empty() {
            return Err(input
                .error("#[complete] takes exactly one of `values = [...]` or `provider = path`"));
        }
        Ok(out)
    };
    parser.parse2(list.tokens.clone())
}

/// `#[schema(...)]` keys and the JSON Schema keyword each sets.
const SCHEMA_KEYWORDS: &[(&str, &str)] = &[
    ("minimum", "minimum"),
    ("maximum", "maximum"),
    ("exclusive_minimum", "exclusiveMinimum"),
    ("exclusive_maximum", "exclusiveMaximum"),
    ("multiple_of", "multipleOf"),
    ("min_length", "minLength"),
    ("max_length", "maxLength"),
    ("pattern", "pattern"),
    ("format", "format"),
    ("min_items", "minItems"),
    ("max_items", "maxItems"),
    ("unique_items", "uniqueItems"),
    ("default", "default"),
    ("examples", "examples"),
    ("deprecated", "deprecated"),
];

fn parse_schema_attr(kind: Kind, attr: &Attribute, plain: &mut Plain) -> syn::Result<()> {
    let Meta::List(list) = &attr.meta else {
        return Err(syn::Error::new_spanned(
            attr,
            "expected `#[schema(description = \"...\", minimum = 1, ...)]`",
        ));
    };
    let parser = |input: ParseStream<'_>| -> syn::Result<()> {
        while !input.is_empty() {
            let key = input.call(Ident::parse_any)?;
            let k = key.to_string();
            match k.as_str() {
                "description" | "title" => {
                    input.parse::<Token![=]>()?;
                    let v: LitStr = input.parse()?;
                    let slot = if k == "title" {
                        &mut plain.title
                    } else {
                        &mut plain.description
                    };
                    if slot.is_some() {
                        return Err(syn::Error::new_spanned(
                            &key,
                            format!("`{k}` specified more than once"),
                        ));
                    }
                    *slot = Some(v);
                }
                _ => {
                    let Some((_, json_key)) = SCHEMA_KEYWORDS.iter().find(|(r, _)| *r == k) else {
                        let expected = std::iter::once("description")
                            .chain(std::iter::once("title"))
                            .chain(SCHEMA_KEYWORDS.iter().map(|(r, _)| *r))
                            .map(|r| format!("`{r}`"))
                            .collect::<Vec<_>>()
                            .join(", ");
                        return Err(syn::Error::new_spanned(
                            &key,
                            format!(
                                "unknown option `{k}` for #[schema]; expected one of {expected}"
                            ),
                        ));
                    };
                    if kind == Kind::Prompt || kind == Kind::Template {
                        return Err(syn::Error::new_spanned(
                            &key,
                            format!(
                                "`{k}` does not apply to {} arguments: only `title` and `description` are published",
                                kind.attr()
                            ),
                        ));
                    }
                    if plain.keywords.iter().any(|(j, _)| j == json_key) {
                        return Err(syn::Error::new_spanned(
                            &key,
                            format!("`{k}` specified more than once"),
                        ));
                    }
                    let value = if k == "deprecated" && !input.peek(Token![=]) {
                        quote!(true)
                    } else {
                        input.parse::<Token![=]>()?;
                        let e: Expr = input.parse()?;
                        quote_spanned!(e.span()=> #e)
                    };
                    plain.keywords.push(((*json_key).to_owned(), value));
                }
            }
            if input.is_empty() {
                break;
            }
            input.parse::<Token![,]>()?;
        }
        Ok(())
    };
    parser.parse2(list.tokens.clone())
}

/// Tokens for `Option<&'static str>`.
pub(crate) fn opt_str(s: Option<String>) -> TokenStream {
    match s {
        Some(s) => quote!(::core::option::Option::Some(#s)),
        None => quote!(::core::option::Option::None),
    }
}

/// Tokens for `Option<&'static str>` from a literal, keeping its span.
pub(crate) fn opt_lit(s: Option<&LitStr>) -> TokenStream {
    match s {
        Some(s) => quote!(::core::option::Option::Some(#s)),
        None => quote!(::core::option::Option::None),
    }
}
