//! The generated documentation: the user's doc comments with ferrio's own text after
//! them, and the descriptions of argument lists.

use proc_macro2::TokenStream;
use quote::{quote, ToTokens};

use crate::model::{DocPiece, Docs, Event};

/// `with the arguments `a`, `b`` for the docs.
pub(super) fn describe_args(event: &Event) -> String {
    match event.args.len() {
        0 => "(no arguments)".to_owned(),
        1 => format!("with the argument `{}`", event.args[0].name),
        _ => format!("with the arguments {}", arg_names(event)),
    }
}

/// `(`a`, `b`)`.
pub(super) fn arg_names(event: &Event) -> String {
    let names: Vec<String> = event.args.iter().map(|a| format!("`{}`", a.name)).collect();
    format!("({})", names.join(", "))
}

/// The forwarded doc attributes, then a paragraph of the macro's own.
pub(super) fn with_own_docs(docs: &Docs, own: &str) -> TokenStream {
    let forwarded = &docs.attrs;
    let separator = (!docs.attrs.is_empty()).then(|| quote!(#[doc = ""]));
    let own = own.lines().map(|line| {
        let line = format!(" {line}");
        quote!(#[doc = #line])
    });
    quote! {
        #(#forwarded)*
        #separator
        #(#own)*
    }
}

/// The doc text as a `String` expression for the contract: a literal, or `concat!` of the
/// pieces, one per line, when some come from an expression (`#[doc = include_str!(..)]`).
pub(super) fn doc_string(p: &TokenStream, docs: &Docs) -> TokenStream {
    match docs.text.as_slice() {
        [] => quote!(#p::String::new()),
        [DocPiece::Text(text)] => quote!(#p::From::from(#text)),
        pieces => {
            let mut parts = Vec::new();
            for (i, piece) in pieces.iter().enumerate() {
                if i > 0 {
                    parts.push(quote!("\n"));
                }
                parts.push(match piece {
                    DocPiece::Text(text) => text.to_token_stream(),
                    DocPiece::Expr(expr) => expr.to_token_stream(),
                });
            }
            quote!(#p::From::from(#p::concat!(#(#parts),*)))
        }
    }
}
