//! `#[mcp_server]` on an inherent impl block: its `#[mcp_tool]`, `#[mcp_resource]`,
//! `#[mcp_resource_template]` and `#[mcp_prompt]` methods become the items of a `HandlerSet`,
//! registered with `Server::builder().with_handler(value)`.

use crate::attr::{Kind, parse_options};
use crate::codegen;
use crate::ctxt::Ctxt;
use crate::func::analyse;
use proc_macro2::TokenStream;
use quote::{ToTokens, quote};
use syn::{ImplItem, ItemImpl, Meta};

fn kind_of(attr: &syn::Attribute) -> Option<Kind> {
    let last = attr.path().segments.last()?;
    match last.ident.to_string().as_str() {
        "mcp_tool" => Some(Kind::Tool),
        "mcp_resource" => Some(Kind::Resource),
        "mcp_resource_template" => Some(Kind::Template),
        "mcp_prompt" => Some(Kind::Prompt),
        _ => None,
    }
}

pub(crate) fn expand(args: TokenStream, input: TokenStream) -> TokenStream {
    let mut cx = Ctxt::new();
    if !args.is_empty() {
        cx.error_spanned_by(&args, "#[mcp_server] takes no options");
    }
    let mut item: ItemImpl = match syn::parse2(input) {
        Ok(i) => i,
        Err(e) => {
            return syn::Error::new(
                e.span(),
                "#[mcp_server] applies to an inherent `impl` block whose methods carry #[mcp_tool], #[mcp_resource], #[mcp_resource_template] or #[mcp_prompt]",
            )
            .into_compile_error();
        }
    };
    if let Some((_, path, _)) = &item.trait_ {
        cx.error_spanned_by(
            path,
            "#[mcp_server] applies to an inherent `impl` block, not a trait implementation",
        );
    }

    let mut tools = Vec::new();
    let mut resources = Vec::new();
    let mut templates = Vec::new();
    let mut prompts = Vec::new();

    for impl_item in &mut item.items {
        let ImplItem::Fn(method) = impl_item else {
            continue;
        };
        let mut found: Vec<(Kind, syn::Attribute)> = Vec::new();
        method.attrs.retain(|a| match kind_of(a) {
            Some(k) => {
                found.push((k, a.clone()));
                false
            }
            None => true,
        });
        let Some((kind, attr)) = found.first() else {
            continue;
        };
        for (_, extra) in found.iter().skip(1) {
            cx.error_spanned_by(
                extra,
                "a method can be only one MCP item: remove all but one of #[mcp_tool], #[mcp_resource], #[mcp_resource_template], #[mcp_prompt]",
            );
        }
        let opt_tokens = match &attr.meta {
            Meta::Path(_) => TokenStream::new(),
            Meta::List(l) => l.tokens.clone(),
            Meta::NameValue(nv) => {
                cx.error_spanned_by(
                    nv,
                    format!("expected {}(...) ", kind.attr().trim_end_matches(']')),
                );
                continue;
            }
        };
        let mut local = Ctxt::new();
        let opts = parse_options(*kind, opt_tokens, &mut local);
        let info = analyse(*kind, &mut method.sig, &method.attrs, true, &mut local);
        codegen::check(*kind, &info, &opts, &mut local);
        if let Err(e) = local.check() {
            cx.push(e);
            continue;
        }
        let expr = codegen::def_expr(*kind, &info, &opts);
        let push = quote!({
            let __this = ::std::sync::Arc::clone(&self);
            #expr
        });
        match kind {
            Kind::Tool => tools.push(push),
            Kind::Resource => resources.push(push),
            Kind::Template => templates.push(push),
            Kind::Prompt => prompts.push(push),
        }
    }

    if let Err(e) = cx.check() {
        let mut out = item.into_token_stream();
        out.extend(e.into_compile_error());
        return out;
    }

    let self_ty = &item.self_ty;
    let (impl_generics, _, where_clause) = item.generics.split_for_impl();
    quote! {
        #item

        impl #impl_generics ::mcp_rs_server::builder::HandlerSet for #self_ty #where_clause {
            #[allow(unused_variables, clippy::redundant_clone)]
            fn into_defs(self: ::std::sync::Arc<Self>) -> ::mcp_rs_server::builder::Definitions {
                ::mcp_rs_server::builder::Definitions {
                    tools: ::std::vec![#(#tools),*],
                    resources: ::std::vec![#(#resources),*],
                    templates: ::std::vec![#(#templates),*],
                    prompts: ::std::vec![#(#prompts),*],
                }
            }
        }
    }
}
