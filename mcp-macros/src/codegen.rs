//! Code generation: one expression per item that evaluates to its `ToolDef` / `ResourceDef` /
//! `ResourceTemplateDef` / `PromptDef`. The expression runs once, when the server is built: it
//! generates the schemas and wraps the user's function in a handler closure.
//!
//! Every path goes through `::mcp_rs_server::__private`, so users need no other dependency, except
//! the public `::mcp_rs_server::builder::{HandlerSet, Definitions}` that `#[mcp_server]` implements.

use crate::attr::{Icon, Kind, Options};
use crate::ctxt::Ctxt;
use crate::func::{Complete, FnInfo, Param, Plain, Receiver, opt_lit, opt_str};
use crate::uri_template;
use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;

/// The hidden support module every generated path starts with.
pub(crate) fn pv() -> TokenStream {
    quote!(::mcp_rs_server::__private)
}

/// Whether `name` is a valid tool name: 1 to 64 of `[A-Za-z0-9._/-]`.
pub(crate) fn valid_tool_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '/'))
}

/// Checks that belong to the item as a whole (names, templates). Errors go to `cx`.
pub(crate) fn check(kind: Kind, info: &FnInfo, opts: &Options, cx: &mut Ctxt) {
    let name = opts.name.as_ref().map_or(info.name.clone(), |n| n.value());
    match kind {
        Kind::Tool if !valid_tool_name(&name) => {
            let msg = format!(
                "invalid tool name `{name}`: a tool name is 1 to 64 characters from A-Z, a-z, 0-9, `_`, `-`, `.` and `/`"
            );
            match &opts.name {
                Some(lit) => cx.error_spanned_by(lit, msg),
                None => cx
                    .error_spanned_by(&info.ident, format!("{msg}; set one with `name = \"...\"`")),
            }
        }
        _ if name.is_empty() => {
            if let Some(lit) = &opts.name {
                cx.error_spanned_by(lit, "`name` cannot be empty");
            }
        }
        _ => {}
    }
    match kind {
        Kind::Resource if opts.uri.is_none() => cx.error_at(
            Span::call_site(),
            "#[mcp_resource] needs the resource's URI: `#[mcp_resource(uri = \"scheme://path\")]`",
        ),
        Kind::Template => match &opts.uri_template {
            None => cx.error_at(
                Span::call_site(),
                "#[mcp_resource_template] needs a URI template: `#[mcp_resource_template(uri_template = \"scheme://{var}\")]`",
            ),
            Some(lit) => match uri_template::variables(&lit.value()) {
                Err(msg) => cx.error_spanned_by(lit, msg),
                Ok(vars) => {
                    if vars.is_empty() {
                        cx.error_spanned_by(
                            lit,
                            "this URI template has no `{variable}`: use #[mcp_resource(uri = \"...\")] for a fixed URI",
                        );
                    }
                    for v in &vars {
                        if !info.plain().any(|p| p.name == v.name) {
                            cx.error_spanned_by(
                                lit,
                                format!(
                                    "URI template variable `{}` has no matching argument: add `{}: String` to `{}`",
                                    v.name, v.name, info.name
                                ),
                            );
                        }
                    }
                    for p in info.plain() {
                        if !vars.iter().any(|v| v.name == p.name) {
                            cx.error_spanned_by(
                                &p.ident,
                                format!(
                                    "argument `{}` is not a variable of the URI template \"{}\"",
                                    p.name,
                                    lit.value()
                                ),
                            );
                        }
                    }
                }
            },
        },
        _ => {}
    }
}

/// The location of the item, for duplicate reports: `"src/main.rs:12"`.
fn location(info: &FnInfo) -> TokenStream {
    quote_spanned!(info.ident.span()=> ::core::concat!(::core::file!(), ":", ::core::line!()))
}

fn icons(opts: &Options) -> TokenStream {
    let pv = pv();
    let list = opts.icons.iter().flatten().map(|Icon { src, mime_type, sizes, theme }| {
        let mime = opt_lit(mime_type.as_ref());
        let theme = opt_lit(theme.as_ref());
        quote!(#pv::IconSpec { src: #src, mime_type: #mime, sizes: &[#(#sizes),*], theme: #theme })
    });
    quote!(&[#(#list),*])
}

fn scopes(opts: &Options) -> (TokenStream, bool) {
    match &opts.scopes {
        Some(s) => {
            let list = &s.scopes;
            (quote!(&[#(#list),*]), s.any)
        }
        None => (quote!(&[]), false),
    }
}

fn meta(opts: &Options) -> TokenStream {
    let pv = pv();
    match &opts.meta {
        Some(group) => quote!(::core::option::Option::Some(#pv::serde_json::json!(#group))),
        None => quote!(::core::option::Option::None),
    }
}

fn description(info: &FnInfo, opts: &Options) -> TokenStream {
    match &opts.description {
        Some(d) => quote!(::core::option::Option::Some(#d)),
        None => opt_str(info.docs.clone()),
    }
}

fn name(info: &FnInfo, opts: &Options) -> TokenStream {
    match &opts.name {
        Some(n) => quote!(#n),
        None => {
            let n = &info.name;
            quote!(#n)
        }
    }
}

/// `__this` handling for methods: clone the `Arc<Self>` into each call.
fn this_clone(info: &FnInfo) -> TokenStream {
    if info.receiver == Receiver::RefSelf {
        quote!(let __this = ::std::sync::Arc::clone(&__this);)
    } else {
        TokenStream::new()
    }
}

fn var(i: usize) -> syn::Ident {
    format_ident!("__arg{}", i)
}

/// The call of the user's function with the extracted arguments.
fn call(info: &FnInfo) -> TokenStream {
    let args = info.params.iter().enumerate().map(|(i, p)| match p {
        Param::Context { by_ref: false } => quote!(::core::clone::Clone::clone(&__ctx)),
        Param::Context { by_ref: true } => quote!(&__ctx),
        Param::Cancel => quote!(::core::clone::Clone::clone(__ctx.cancellation())),
        Param::Params { .. } | Param::Plain(_) => {
            let v = var(i);
            quote!(#v)
        }
    });
    let ident = &info.ident;
    match info.receiver {
        Receiver::None => quote!(#ident(#(#args),*)),
        Receiver::RefSelf => quote!(__this.#ident(#(#args),*)),
        Receiver::Assoc => quote!(Self::#ident(#(#args),*)),
    }
}

fn keywords(p: &Plain) -> TokenStream {
    let pv = pv();
    if p.keywords.is_empty() {
        return quote!(::core::option::Option::None);
    }
    let entries = p.keywords.iter().map(|(k, v)| quote!(#k: #v));
    quote!(::core::option::Option::Some(#pv::serde_json::json!({ #(#entries),* })))
}

fn input_schema(info: &FnInfo) -> TokenStream {
    let pv = pv();
    if let Some((_, inner)) = info.params_type() {
        return quote_spanned!(inner.span()=> #pv::params_schema::<#inner>());
    }
    let props = info.plain().map(|p| {
        let ty = &p.ty;
        let name = &p.name;
        let required = !p.optional;
        let desc = opt_str(p.description());
        let title = opt_lit(p.title.as_ref());
        let kw = keywords(p);
        let add = quote_spanned!(ty.span()=> __schema.property::<#ty>);
        quote!(#add(#name, #required, #title, #desc, #kw);)
    });
    quote!({
        #[allow(unused_mut)]
        let mut __schema = #pv::InputSchema::new();
        #(#props)*
        __schema.finish()
    })
}

fn output_schema(info: &FnInfo, opts: &Options) -> TokenStream {
    let pv = pv();
    match opts.output_schema.as_ref().or(info.ret.json.as_ref()) {
        Some(ty) => {
            quote_spanned!(ty.span()=> ::core::option::Option::Some(#pv::output_schema::<#ty>()))
        }
        None => quote!(::core::option::Option::None),
    }
}

/// `task` and `task_start` of a `ToolSpec`.
fn task(opts: &Options) -> (TokenStream, TokenStream) {
    let pv = pv();
    let support = match opts.task.as_ref().map(syn::LitStr::value).as_deref() {
        Some("required") => quote!(::core::option::Option::Some(#pv::TaskSupport::Required)),
        Some(_) => quote!(::core::option::Option::Some(#pv::TaskSupport::Optional)),
        None => quote!(::core::option::Option::None),
    };
    let start = match opts.task_start.as_ref().map(syn::LitStr::value).as_deref() {
        Some("handler") => quote!(#pv::TaskStart::Handler),
        _ => quote!(#pv::TaskStart::Call),
    };
    (support, start)
}

fn flag(v: Option<bool>) -> TokenStream {
    match v {
        Some(b) => quote!(::core::option::Option::Some(#b)),
        None => quote!(::core::option::Option::None),
    }
}

/// Extraction of the arguments in a handler body. `extract(ty, name)` returns the expression
/// producing `Result<T, E>` for a plain argument; `on_err` is the early return.
fn extract_args(
    info: &FnInfo,
    plain: impl Fn(&Plain) -> TokenStream,
    params: impl Fn(&syn::Type) -> TokenStream,
    on_err: TokenStream,
) -> TokenStream {
    let lets = info.params.iter().enumerate().filter_map(|(i, p)| {
        let v = var(i);
        match p {
            Param::Plain(p) => {
                let e = plain(p);
                Some(quote!(let #v = match #e { ::core::result::Result::Ok(v) => v, ::core::result::Result::Err(e) => return #on_err };))
            }
            Param::Params { inner, .. } => {
                let e = params(inner);
                Some(quote!(let #v = match #e { ::core::result::Result::Ok(v) => v, ::core::result::Result::Err(e) => return #on_err };))
            }
            _ => None,
        }
    });
    quote!(#(#lets)*)
}

/// `ToolDef` expression.
pub(crate) fn tool(info: &FnInfo, opts: &Options) -> TokenStream {
    let pv = pv();
    let name = name(info, opts);
    let title = opt_lit(opts.title.as_ref());
    let description = description(info, opts);
    let (read_only, destructive, idempotent, open_world) = (
        flag(opts.read_only),
        flag(opts.destructive),
        flag(opts.idempotent),
        flag(opts.open_world),
    );
    let icons = icons(opts);
    let (scopes, scopes_any) = scopes(opts);
    let (task, task_start) = task(opts);
    let location = location(info);
    let meta = meta(opts);
    let input_schema = input_schema(info);
    let output_schema = output_schema(info, opts);
    let has_plain = info.plain().next().is_some();
    let args_pat = if has_plain {
        quote!(mut __args)
    } else {
        quote!(__args)
    };
    let extract = extract_args(
        info,
        |p| {
            let ty = &p.ty;
            let n = &p.name;
            let f = quote_spanned!(ty.span()=> #pv::tool_arg::<#ty>);
            quote!(#f(&mut __args, #n))
        },
        |inner| {
            let f = quote_spanned!(inner.span()=> #pv::tool_params::<#inner>);
            quote!(#f(__args))
        },
        quote!(#pv::ArgError::into_tool_result(e)),
    );
    let this = this_clone(info);
    let call = call(info);
    let convert =
        quote_spanned!(info.ret.span=> #pv::IntoCallToolResult::into_call_tool_result(__ret));
    quote!({
        let __input_schema = #input_schema;
        let __output_schema = #output_schema;
        #pv::tool_def(
            #pv::ToolSpec {
                name: #name,
                title: #title,
                description: #description,
                read_only: #read_only,
                destructive: #destructive,
                idempotent: #idempotent,
                open_world: #open_world,
                icons: #icons,
                scopes: #scopes,
                scopes_any: #scopes_any,
                task: #task,
                task_start: #task_start,
                location: #location,
            },
            #meta,
            __input_schema,
            __output_schema,
            #pv::tool_handler(move |__ctx: #pv::RequestContext, #args_pat: #pv::JsonObject| {
                #this
                async move {
                    #extract
                    let __ret = #call.await;
                    #convert
                }
            }),
        )
    })
}

/// `ResourceDef` expression.
pub(crate) fn resource(info: &FnInfo, opts: &Options) -> TokenStream {
    let pv = pv();
    let name = name(info, opts);
    let uri = opts.uri.as_ref().map_or_else(|| quote!(""), |u| quote!(#u));
    let title = opt_lit(opts.title.as_ref());
    let description = description(info, opts);
    let mime = opt_lit(opts.mime_type.as_ref());
    let size = match &opts.size {
        Some(s) => quote!(::core::option::Option::Some(#s)),
        None => quote!(::core::option::Option::None),
    };
    let icons = icons(opts);
    let (scopes, scopes_any) = scopes(opts);
    let location = location(info);
    let meta = meta(opts);
    let this = this_clone(info);
    let call = call(info);
    let convert = quote_spanned!(info.ret.span=> #pv::IntoReadResourceResult::into_read_resource_result(__ret, &__uri, #mime));
    quote!({
        #pv::resource_def(
            #pv::ResourceSpec {
                uri: #uri,
                name: #name,
                title: #title,
                description: #description,
                mime_type: #mime,
                size: #size,
                icons: #icons,
                scopes: #scopes,
                scopes_any: #scopes_any,
                location: #location,
            },
            #meta,
            #pv::resource_handler(move |__ctx: #pv::RequestContext, __uri: ::std::string::String| {
                #this
                async move {
                    let __ret = #call.await;
                    #convert
                }
            }),
        )
    })
}

/// Pushes the completion providers of the plain arguments onto `__completions`.
fn completions(info: &FnInfo) -> TokenStream {
    let pv = pv();
    let pushes = info.plain().map(|p| {
        let n = &p.name;
        match &p.complete {
            Some((span, Complete::Values(vals))) => quote_spanned!(*span=>
                __completions.push((#n, #pv::static_completions(&[#(#vals),*])));
            ),
            Some((_, Complete::Provider(expr))) => {
                let f = quote_spanned!(expr.span()=> #pv::completion_provider(#expr));
                quote!(__completions.push((#n, #f));)
            }
            None => {
                let ty = &p.ty;
                let f = quote_spanned!(ty.span()=> #pv::schema_completions::<#ty>());
                quote!(if let ::core::option::Option::Some(p) = #f { __completions.push((#n, p)); })
            }
        }
    });
    quote!(
        #[allow(unused_mut)]
        let mut __completions: ::std::vec::Vec<(&'static str, #pv::CompletionProviderRef)> = ::std::vec::Vec::new();
        #(#pushes)*
    )
}

/// `ResourceTemplateDef` expression.
pub(crate) fn template(info: &FnInfo, opts: &Options) -> TokenStream {
    let pv = pv();
    let name = name(info, opts);
    let uri_template = opts
        .uri_template
        .as_ref()
        .map_or_else(|| quote!(""), |u| quote!(#u));
    let title = opt_lit(opts.title.as_ref());
    let description = description(info, opts);
    let mime = opt_lit(opts.mime_type.as_ref());
    let icons = icons(opts);
    let (scopes, scopes_any) = scopes(opts);
    let location = location(info);
    let meta = meta(opts);
    let completions = completions(info);
    let extract = extract_args(
        info,
        |p| {
            let ty = &p.ty;
            let n = &p.name;
            let f = quote_spanned!(ty.span()=> #pv::template_var::<#ty>);
            quote!(#f(&__vars, #n))
        },
        |_| quote!(::core::result::Result::<(), #pv::McpError>::Ok(())),
        quote!(::core::result::Result::Err(e)),
    );
    let this = this_clone(info);
    let call = call(info);
    let convert = quote_spanned!(info.ret.span=> #pv::IntoReadResourceResult::into_read_resource_result(__ret, &__uri, #mime));
    quote!({
        #completions
        #pv::template_def(
            #pv::TemplateSpec {
                uri_template: #uri_template,
                name: #name,
                title: #title,
                description: #description,
                mime_type: #mime,
                icons: #icons,
                scopes: #scopes,
                scopes_any: #scopes_any,
                location: #location,
            },
            #meta,
            __completions,
            #pv::template_handler(move |__ctx: #pv::RequestContext, __uri: ::std::string::String, __vars: #pv::UriVars| {
                #this
                async move {
                    #extract
                    let __ret = #call.await;
                    #convert
                }
            }),
        )
    })
}

/// `PromptDef` expression.
pub(crate) fn prompt(info: &FnInfo, opts: &Options) -> TokenStream {
    let pv = pv();
    let name = name(info, opts);
    let title = opt_lit(opts.title.as_ref());
    let description = description(info, opts);
    let icons = icons(opts);
    let (scopes, scopes_any) = scopes(opts);
    let location = location(info);
    let meta = meta(opts);
    let completions = completions(info);
    let arguments = if let Some((_, inner)) = info.params_type() {
        quote_spanned!(inner.span()=> #pv::prompt_arguments_of::<#inner>())
    } else {
        let list = info.plain().map(|p| {
            let n = &p.name;
            let title = opt_lit(p.title.as_ref());
            let desc = opt_str(p.description());
            let required = !p.optional;
            quote!(#pv::prompt_argument(#n, #title, #desc, #required))
        });
        quote!(::std::vec![#(#list),*])
    };
    let extract = extract_args(
        info,
        |p| {
            let ty = &p.ty;
            let n = &p.name;
            let f = quote_spanned!(ty.span()=> #pv::prompt_arg::<#ty>);
            quote!(#f(&__args, #n))
        },
        |inner| {
            let f = quote_spanned!(inner.span()=> #pv::prompt_params::<#inner>);
            quote!(#f(&__args))
        },
        quote!(::core::result::Result::Err(e)),
    );
    let this = this_clone(info);
    let call = call(info);
    let convert =
        quote_spanned!(info.ret.span=> #pv::IntoGetPromptResult::into_get_prompt_result(__ret));
    quote!({
        #completions
        #pv::prompt_def(
            #pv::PromptSpec {
                name: #name,
                title: #title,
                description: #description,
                icons: #icons,
                scopes: #scopes,
                scopes_any: #scopes_any,
                location: #location,
            },
            #meta,
            #arguments,
            __completions,
            #pv::prompt_handler(move |__ctx: #pv::RequestContext, __args: #pv::JsonObject| {
                #this
                async move {
                    #extract
                    let __ret = #call.await;
                    #convert
                }
            }),
        )
    })
}

/// The def expression of `kind`.
pub(crate) fn def_expr(kind: Kind, info: &FnInfo, opts: &Options) -> TokenStream {
    match kind {
        Kind::Tool => tool(info, opts),
        Kind::Resource => resource(info, opts),
        Kind::Template => template(info, opts),
        Kind::Prompt => prompt(info, opts),
    }
}

/// The `Def` type and the distributed slice of `kind`.
pub(crate) fn def_type_and_slice(kind: Kind) -> (TokenStream, TokenStream) {
    let pv = pv();
    match kind {
        Kind::Tool => (quote!(#pv::ToolDef), quote!(#pv::TOOLS)),
        Kind::Resource => (quote!(#pv::ResourceDef), quote!(#pv::RESOURCES)),
        Kind::Template => (
            quote!(#pv::ResourceTemplateDef),
            quote!(#pv::RESOURCE_TEMPLATES),
        ),
        Kind::Prompt => (quote!(#pv::PromptDef), quote!(#pv::PROMPTS)),
    }
}

#[cfg(test)]
mod tests {
    use super::valid_tool_name;

    #[test]
    fn tool_names() {
        assert!(valid_tool_name("add"));
        assert!(valid_tool_name("admin.tools/list-users_v2"));
        assert!(valid_tool_name(&"a".repeat(64)));
        assert!(!valid_tool_name(&"a".repeat(65)));
        assert!(!valid_tool_name(""));
        assert!(!valid_tool_name("has space"));
        assert!(!valid_tool_name("añadir"));
    }
}
