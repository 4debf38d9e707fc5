//! The expansion: the marker type with its `EventContract`, and the typed socket.
//!
//! ```text
//! pub struct ChatEvents;                  // marker, docs of the trait + its own
//! pub struct ChatEventsSocket { .. }      // typed socket over a ferrio::Socket
//! const _: () = {
//!     struct __FerrioSlot<const N: usize>; // one slot per distinct payload type:
//!     impl Payload for __FerrioSlot<0> { type Type = String; }  // checked here, once
//!     impl Sent for __FerrioSlot<0> {}                          // and each way it travels
//!     impl EventContract for ChatEvents { .. }
//!     impl Clone, Debug for ChatEventsSocket { .. }
//!     impl ChatEventsSocket { connect, .., emit_*, on_*, *_stream }
//! };
//! ```
//!
//! The files, by what they generate: `marker` (the marker, the payload slots, the
//! `EventContract` impl), `socket` (the typed socket and its event-independent methods),
//! `events` (the methods of each event), `docs` (the generated documentation).
//!
//! Every path goes through `::ferrio::__private` (or the `crate = "..."` path), so the
//! expansion works without a prelude
//! and without the user depending on serde_json or schemars. Payload types appear in the
//! generated signatures as written; the bodies reach them through their slots
//! (`__private::Outgoing<Slot>`, `Incoming<Slot>`), so trait bounds are checked only where the
//! slot is implemented, with the type's span.

mod docs;
mod events;
mod marker;
mod socket;

use std::collections::HashSet;

use proc_macro2::{Ident, Literal, Span, TokenStream, TokenTree};
use quote::{format_ident, quote, ToTokens};

use crate::model::{Contract, Event};

/// The expansion of a contract; events whose `keep` is false are left out.
pub(crate) fn expand(contract: &Contract, keep: &[bool]) -> TokenStream {
    let events: Vec<&Event> = contract
        .events
        .iter()
        .zip(keep)
        .filter_map(|(event, keep)| keep.then_some(event))
        .collect();
    let cx = Cx::new(contract, &events);
    let marker = cx.marker();
    let socket_struct = cx.socket_struct();
    let slot_items = cx.slot_items(&events);
    let describe = cx.describe(&events);
    let socket_impls = cx.socket_impls(&events);
    quote! {
        #marker
        #socket_struct
        const _: () = {
            #slot_items
            #describe
            #socket_impls
        };
    }
}

/// Where each payload type of an event lives: its slot numbers.
struct EventSlots {
    args: Vec<usize>,
    /// One per [`Ack::slot_types`](crate::model::Ack::slot_types).
    ack: Vec<usize>,
}

/// What every part of the expansion needs.
struct Cx<'a> {
    contract: &'a Contract,
    /// `::ferrio::__private`.
    p: TokenStream,
    /// The marker type (the trait's name).
    marker: &'a Ident,
    /// The typed socket type (`<Trait>Socket`).
    socket: Ident,
    /// The private slot type of the expansion.
    slot: Ident,
    /// Names of the listener generics, chosen not to shadow a payload type.
    listener_ty: Ident,
    future_ty: Ident,
    /// The slots of the events kept, in order.
    slots: Vec<EventSlots>,
}

impl<'a> Cx<'a> {
    fn new(contract: &'a Contract, events: &[&Event]) -> Self {
        // One slot per distinct type (as written): its traits are checked once.
        let mut numbers = std::collections::HashMap::new();
        let mut slot_of = |ty: &syn::Type| {
            let next = numbers.len();
            *numbers
                .entry(ty.to_token_stream().to_string())
                .or_insert(next)
        };
        let slots = events
            .iter()
            .map(|event| EventSlots {
                args: event.args.iter().map(|a| slot_of(&a.ty)).collect(),
                ack: event
                    .ack
                    .slot_types()
                    .into_iter()
                    .map(&mut slot_of)
                    .collect(),
            })
            .collect();
        let mut used = HashSet::new();
        for event in events {
            for ty in event.args.iter().map(|a| &a.ty).chain(event.ack.ty()) {
                collect_idents(ty.to_token_stream(), &mut used);
            }
        }
        let fresh = |candidates: &[&str]| {
            let name = candidates
                .iter()
                .find(|c| !used.contains(**c))
                .copied()
                .unwrap_or("__FerrioGeneric");
            Ident::new(name, Span::call_site())
        };
        Cx {
            contract,
            p: {
                let krate = &contract.krate;
                quote!(#krate::__private)
            },
            marker: &contract.ident,
            socket: format_ident!("{}Socket", contract.ident),
            slot: Ident::new("__FerrioSlot", Span::call_site()),
            listener_ty: fresh(&["F", "Listener", "__FerrioListener"]),
            future_ty: fresh(&["Fut", "ListenerFuture", "__FerrioFuture"]),
            slots,
        }
    }

    /// `__FerrioSlot<n>`.
    fn slot_type(&self, n: usize) -> TokenStream {
        let slot = &self.slot;
        let n = Literal::usize_unsuffixed(n);
        quote!(#slot<#n>)
    }

    /// The tuple received arguments decode into: `(Incoming<Slot<n>>, ..)`.
    fn decoded_args(&self, slots: &EventSlots) -> TokenStream {
        let p = &self.p;
        let items = slots.args.iter().map(|n| {
            let slot = self.slot_type(*n);
            quote!(#p::Incoming<#slot>,)
        });
        quote!((#(#items)*))
    }
}

/// Every identifier in `tokens`.
fn collect_idents(tokens: TokenStream, out: &mut HashSet<String>) {
    for token in tokens {
        match token {
            TokenTree::Ident(ident) => {
                out.insert(ident.to_string());
            }
            TokenTree::Group(group) => collect_idents(group.stream(), out),
            _ => {}
        }
    }
}
