//! Expansion of an item macro on a free function: the function itself (unchanged but for the
//! macro's own parameter attributes) plus a registration in the distributed slice that
//! `Server::builder().discover()` collects.

use crate::attr::{Kind, parse_options};
use crate::codegen;
use crate::ctxt::Ctxt;
use crate::func::analyse;
use proc_macro2::TokenStream;
use quote::{ToTokens, quote};
use syn::ItemFn;

pub(crate) fn expand(kind: Kind, args: TokenStream, input: TokenStream) -> TokenStream {
    let mut item: ItemFn = match syn::parse2(input) {
        Ok(f) => f,
        Err(e) => {
            return syn::Error::new(
                e.span(),
                format!(
                    "{} applies to an `async fn` (methods: put #[mcp_server] on the impl block)",
                    kind.attr()
                ),
            )
            .into_compile_error();
        }
    };
    let mut cx = Ctxt::new();
    let opts = parse_options(kind, args, &mut cx);
    let info = analyse(kind, &mut item.sig, &item.attrs, false, &mut cx);
    codegen::check(kind, &info, &opts, &mut cx);
    if let Err(e) = cx.check() {
        // Keep the function so that its uses elsewhere do not cascade into more errors.
        let mut out = item.into_token_stream();
        out.extend(e.into_compile_error());
        return out;
    }
    let expr = codegen::def_expr(kind, &info, &opts);
    let (def_ty, slice) = codegen::def_type_and_slice(kind);
    quote! {
        #item

        #[doc(hidden)]
        const _: () = {
            #[::mcp_rs_server::__private::linkme::distributed_slice(#slice)]
            #[linkme(crate = ::mcp_rs_server::__private::linkme)]
            static __MCP_REGISTRATION: fn() -> #def_ty = __mcp_definition;

            fn __mcp_definition() -> #def_ty {
                #expr
            }
        };
    }
}
