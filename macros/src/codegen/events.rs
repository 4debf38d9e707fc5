//! The methods of each event: `emit_<event>` (`#[emit]`), `on_<event>`, `once_<event>`
//! and `<event>_stream` (`#[on]`).

use proc_macro2::{Ident, Span, TokenStream};
use quote::{format_ident, quote, ToTokens};

use super::docs::{arg_names, describe_args, with_own_docs};
use super::{Cx, EventSlots};
use crate::model::{Ack, Event};

impl Cx<'_> {
    /// `emit_<event>(&self, args..) -> Result<Ack>`.
    pub(super) fn emit_method(&self, event: &Event, slots: &EventSlots) -> TokenStream {
        let p = &self.p;
        let vis = &self.contract.vis;
        let method = format_ident!("emit_{}", event.name, span = event.ident.span());
        let wire = &event.wire_name;
        let params = event.args.iter().map(|arg| {
            let (ident, ty) = (&arg.ident, &arg.ty);
            quote!(#ident: #ty)
        });
        let values = event.args.iter().zip(&slots.args).map(|(arg, n)| {
            let (ident, slot) = (&arg.ident, self.slot_type(*n));
            quote!(#p::Outgoing::<#slot>(#ident),)
        });
        let args = quote!((#(#values)*));
        let what = describe_args(event);
        let (own_docs, output, body) = match &event.ack {
            Ack::None => (
                format!(
                    "Emits `{wire}` {what}, without ack: resolves once the event is handed to \
                     the connection, or buffered while the socket is disconnected (dropped \
                     instead after [`Self::volatile`])."
                ),
                quote!(()),
                quote!(self.emitter().emit(#wire, #args).await),
            ),
            ack => {
                let ty = ack.ty().map(ToTokens::to_token_stream).unwrap_or_default();
                let (decoded, value) = self.received_ack(ack, slots);
                let reply = Ident::new("reply", Span::mixed_site());
                let answer = match ack {
                    Ack::Empty(_) => "when the server acknowledges it (an ack without value)",
                    Ack::Values(..) => "with the values the server acknowledges it with",
                    Ack::Result { .. } => {
                        "with the server's answer in Node's `callback(err, data)` convention: \
                         `Err(err)` when its first argument is not `null`, else `Ok(data)`"
                    }
                    _ => "with the value the server acknowledges it with",
                };
                (
                    format!(
                        "Emits `{wire}` {what} and resolves {answer}. Waits at most the \
                         socket's ack timeout, or the one of [`Self::timeout`]; fails with \
                         `ferrio::Error::Timeout` after it, and with `ferrio::Error::Decode` \
                         when the ack does not match the declared type."
                    ),
                    ty,
                    quote! {
                        let #reply = self
                            .emitter()
                            .emit_with_ack::<#decoded>(#wire, #args)
                            .await?;
                        #p::Ok(#value)
                    },
                )
            }
        };
        let docs = with_own_docs(&event.docs, &own_docs);
        quote! {
            #docs
            #vis async fn #method(&self, #(#params),*) -> #p::Result<#output> {
                #body
            }
        }
    }

    /// `on_<event>(listener)` (or `once_<event>`); the listener gets the arguments as
    /// parameters and its output is the ack.
    pub(super) fn on_method(&self, event: &Event, slots: &EventSlots, once: bool) -> TokenStream {
        let p = &self.p;
        let vis = &self.contract.vis;
        let (f, fut) = (&self.listener_ty, &self.future_ty);
        let (prefix, times, which) = match once {
            false => ("on", quote!(#p::Times::Every), ""),
            true => ("once", quote!(#p::Times::Once), " the next time only"),
        };
        let method = format_ident!("{prefix}_{}", event.name, span = event.ident.span());
        let wire = &event.wire_name;
        let listener = Ident::new("listener", Span::mixed_site());
        let arg_types = event.args.iter().map(|a| &a.ty);
        let decoded = self.decoded_args(slots);
        let (pattern, values) = decoded_pattern(event);
        let what = describe_args(event);
        let (output, register, send, reply_docs) = match &event.ack {
            Ack::None => (
                quote!(()),
                quote!(#p::on::<#decoded, _, _>),
                None,
                String::new(),
            ),
            ack => {
                let ty = ack.ty().map(ToTokens::to_token_stream).unwrap_or_default();
                let reply = match ack {
                    Ack::Empty(_) => {
                        " The server asks for an ack: it is sent (empty) when the \
                                      listener's future returns `ferrio::Acked`."
                    }
                    Ack::Values(..) => {
                        " The server asks for an ack: the listener's output tuple is sent \
                          back as the ack's arguments."
                    }
                    Ack::Result { .. } => {
                        " The server asks for an ack, in Node's `callback(err, data)` \
                          convention: `Ok(data)` is sent as `(null, data)`, `Err(err)` as \
                          `(err)`."
                    }
                    _ => {
                        " The server asks for an ack: the listener's output is sent back as \
                          the ack's value."
                    }
                };
                (
                    ty.clone(),
                    quote!(#p::on_with_ack::<#decoded, #ty, _, _>),
                    Some(self.send_reply(ack, slots)),
                    reply.to_owned(),
                )
            }
        };
        let docs = with_own_docs(
            &event.docs,
            &format!(
                "Listens to `{wire}`{which}: `listener` is called {what}.{reply_docs} A \
                 payload that does not match the declared types never reaches it; it goes \
                 to [`Self::on_payload_error`]. Returns the listener's id, for \
                 [`Self::off`]."
            ),
        );
        quote! {
            #docs
            #vis fn #method<#f, #fut>(&self, #listener: #f) -> #p::ListenerId
            where
                #f: #p::Fn(#(#arg_types),*) -> #fut + #p::Send + #p::Sync + 'static,
                #fut: #p::Future<Output = #output> + #p::Send + 'static,
            {
                #register(
                    &self.socket,
                    #wire,
                    #times,
                    move |#pattern| #listener(#(#values),*),
                    #send
                )
            }
        }
    }

    /// `<event>_stream()`: the events as a stream, with a responder when they want an ack.
    pub(super) fn stream_method(&self, event: &Event, slots: &EventSlots) -> TokenStream {
        let p = &self.p;
        let vis = &self.contract.vis;
        let method = format_ident!("{}_stream", event.name, span = event.ident.span());
        let wire = &event.wire_name;
        let decoded = self.decoded_args(slots);
        let (pattern, values) = decoded_pattern(event);
        let item = match event.args.as_slice() {
            [one] => one.ty.to_token_stream(),
            args => {
                let types = args.iter().map(|a| &a.ty);
                quote!((#(#types,)*))
            }
        };
        let map = if event.args.len() == 1 {
            quote!(|#pattern| #(#values)*)
        } else {
            quote!(|#pattern| (#(#values,)*))
        };
        let item_docs = match event.args.len() {
            0 => "`()`".to_owned(),
            1 => format!("the `{}` argument", event.args[0].name),
            _ => format!("the tuple {}", arg_names(event)),
        };
        let (output, body, reply_docs) = match &event.ack {
            Ack::None => (
                quote!(#p::EventStream<#item>),
                quote!(#p::stream::<#decoded, #item>(&self.socket, #wire, #map)),
                String::new(),
            ),
            ack => {
                let ty = ack.ty().map(ToTokens::to_token_stream).unwrap_or_default();
                let send = self.send_reply(ack, slots);
                (
                    quote!(#p::EventStream<(#item, #p::Responder<#ty>)>),
                    quote! {
                        #p::stream_with_ack::<#decoded, #item, #ty>(&self.socket, #wire, #map, #send)
                    },
                    " with the `ferrio::Responder` that sends the ack: the server waits for it, \
                     so call `respond`"
                        .to_owned(),
                )
            }
        };
        let docs = with_own_docs(
            &event.docs,
            &format!(
                "The `{wire}` events as a stream (`futures::Stream`, or `.next().await`): each \
                 item is {item_docs}{reply_docs}. Payloads that do not match the declared types \
                 are left out and reported to [`Self::on_payload_error`]. The listener behind \
                 the stream is removed when it is dropped."
            ),
        );
        quote! {
            #docs
            #vis fn #method(&self) -> #output {
                #body
            }
        }
    }
}

impl Cx<'_> {
    /// How a received ack decodes (the type `emit_with_ack` reads, through the slots) and the
    /// expression of the declared type it gives, from `reply`.
    fn received_ack(&self, ack: &Ack, slots: &EventSlots) -> (TokenStream, TokenStream) {
        let p = &self.p;
        let reply = Ident::new("reply", Span::mixed_site());
        let slot = |i: usize| self.slot_type(slots.ack[i]);
        match ack {
            Ack::Values(..) => {
                let items = (0..slots.ack.len()).map(|i| {
                    let slot = slot(i);
                    quote!(#p::Incoming<#slot>,)
                });
                let values = (0..slots.ack.len()).map(|i| {
                    let i = syn::Index::from(i);
                    quote!(#reply.#i.0,)
                });
                (quote!((#(#items)*)), quote!((#(#values)*)))
            }
            Ack::Result { .. } => {
                let (value, error) = (slot(0), slot(1));
                (quote!(#p::IncomingResult<#value, #error>), quote!(#reply.0))
            }
            _ => {
                let one = slot(0);
                (quote!((#p::Incoming<#one>,)), quote!(#reply.0 .0))
            }
        }
    }

    /// The `SendReply` function of an ack: the declared reply turned into the ack's argument
    /// list, through the slots (one value, each element, nothing, or `(err, data)`).
    fn send_reply(&self, ack: &Ack, slots: &EventSlots) -> TokenStream {
        let p = &self.p;
        let ty = ack.ty().map(ToTokens::to_token_stream).unwrap_or_default();
        let (event, reply) = (
            Ident::new("event", Span::mixed_site()),
            Ident::new("reply", Span::mixed_site()),
        );
        let slot = |i: usize| self.slot_type(slots.ack[i]);
        let (pattern, args) = match ack {
            Ack::Empty(_) => (quote!(_), quote!(())),
            Ack::Values(..) => {
                let names: Vec<Ident> = (0..slots.ack.len())
                    .map(|i| Ident::new(&format!("reply{i}"), Span::mixed_site()))
                    .collect();
                let values = names.iter().enumerate().map(|(i, name)| {
                    let slot = slot(i);
                    quote!(#p::Outgoing::<#slot>(#name),)
                });
                (quote!((#(#names,)*)), quote!((#(#values)*)))
            }
            Ack::Result { .. } => {
                let (value, error) = (slot(0), slot(1));
                (
                    quote!(#reply),
                    quote!(#p::OutgoingResult::<#value, #error>(#reply)),
                )
            }
            _ => {
                let one = slot(0);
                (quote!(#reply), quote!((#p::Outgoing::<#one>(#reply),)))
            }
        };
        quote! {
            |#event: &#p::Event, #pattern: #ty| #p::send_ack(#event, &#args)
        }
    }
}

/// The closure pattern of decoded arguments, `(arg0, arg1,)`, and the values it gives,
/// `arg0.0, arg1.0`.
fn decoded_pattern(event: &Event) -> (TokenStream, Vec<TokenStream>) {
    let names: Vec<Ident> = (0..event.args.len())
        .map(|i| Ident::new(&format!("arg{i}"), Span::mixed_site()))
        .collect();
    let values = names.iter().map(|n| quote!(#n.0)).collect();
    (quote!((#(#names,)*)), values)
}
