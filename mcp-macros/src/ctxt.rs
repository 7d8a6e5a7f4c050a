//! Error collection: report every misuse at once, each on the user's tokens.

use proc_macro2::Span;
use quote::ToTokens;
use std::fmt::Display;

/// Collects errors while an item is analysed; [`Ctxt::check`] turns them into one `syn::Error`.
#[derive(Default)]
pub(crate) struct Ctxt {
    errors: Vec<syn::Error>,
}

impl Ctxt {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// An error on the span of `tokens` (first to last token).
    pub(crate) fn error_spanned_by(&mut self, tokens: impl ToTokens, msg: impl Display) {
        self.errors.push(syn::Error::new_spanned(tokens, msg));
    }

    /// An error on `span`.
    pub(crate) fn error_at(&mut self, span: Span, msg: impl Display) {
        self.errors.push(syn::Error::new(span, msg));
    }

    /// Adds an error produced elsewhere.
    pub(crate) fn push(&mut self, err: syn::Error) {
        self.errors.push(err);
    }

    /// `Ok` when nothing was reported, else all errors combined.
    pub(crate) fn check(self) -> syn::Result<()> {
        let mut iter = self.errors.into_iter();
        match iter.next() {
            None => Ok(()),
            Some(mut first) => {
                for e in iter {
                    first.combine(e);
                }
                Err(first)
            }
        }
    }
}
