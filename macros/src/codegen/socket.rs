//! The typed socket: `pub struct ChatEventsSocket`, its `Clone`, `Debug` and
//! `FromSocket`, and its methods that do not depend on an event (constructors, builder,
//! flags, lifecycle listeners).

use proc_macro2::{Ident, Span, TokenStream};
use quote::{quote, quote_spanned};

use super::docs::with_own_docs;
use super::Cx;
use crate::attrs::Direction;
use crate::model::Event;

impl Cx<'_> {
    /// `pub struct ChatEventsSocket { .. }`
    pub(super) fn socket_struct(&self) -> TokenStream {
        let Cx {
            p, marker, socket, ..
        } = self;
        let vis = &self.contract.vis;
        let docs = with_own_docs(
            &self.contract.docs,
            &format!(
                "The typed socket of the [`{marker}`] events, in the namespace `{nsp}`.\n\n\
                 Each `#[emit]` event has an `emit_<name>` method, each `#[on]` event an \
                 `on_<name>` listener and a `<name>_stream`; arguments and acks have the \
                 declared types, `once_<name>` listens to the next one only. Cloning is \
                 cheap (the same socket); `timeout()`, `volatile()` and `retries()` give a \
                 copy whose emits carry that flag. Get one with [`{socket}::builder`] (auth, \
                 ack timeout, retries), [`{socket}::build`], [`{socket}::connect`] or \
                 [`{socket}::from_socket`].",
                nsp = self.contract.namespace,
            ),
        );
        // Spanned at the trait's name, where "method not found in this struct" then points.
        quote_spanned! {marker.span()=>
            #docs
            #[allow(dead_code)]
            #vis struct #socket {
                socket: #p::Socket,
                timeout: #p::Option<#p::Duration>,
                volatile: bool,
                retries: #p::Option<u32>,
            }
        }
    }

    /// `Clone`, `Debug` and the methods of the typed socket.
    pub(super) fn socket_impls(&self, events: &[&Event]) -> TokenStream {
        let Cx { p, socket, .. } = self;
        let vis = &self.contract.vis;
        let namespace = &self.contract.namespace;
        let socket_name = socket.to_string();
        let namespace_doc = format!(" The namespace of these events: `{namespace}`.");
        let (f, fut) = (&self.listener_ty, &self.future_ty);
        let listener = Ident::new("listener", Span::mixed_site());
        let emitter = Ident::new("emitter", Span::mixed_site());
        let event_methods =
            events
                .iter()
                .zip(&self.slots)
                .map(|(event, slots)| match event.direction {
                    Direction::Emit => self.emit_method(event, slots),
                    Direction::On => {
                        let on = self.on_method(event, slots, false);
                        let once = self.on_method(event, slots, true);
                        let stream = self.stream_method(event, slots);
                        quote!(#on #once #stream)
                    }
                });
        quote! {
            impl #p::Clone for #socket {
                fn clone(&self) -> Self {
                    Self {
                        socket: #p::Clone::clone(&self.socket),
                        timeout: self.timeout,
                        volatile: self.volatile,
                        retries: self.retries,
                    }
                }
            }

            impl #p::FromSocket for #socket {
                const NAMESPACE: &'static str = #namespace;

                fn from_socket(socket: #p::Socket) -> Self {
                    Self { socket, timeout: #p::None, volatile: false, retries: #p::None }
                }
            }

            impl #p::fmt::Debug for #socket {
                fn fmt(&self, f: &mut #p::fmt::Formatter<'_>) -> #p::fmt::Result {
                    f.debug_struct(#socket_name)
                        .field("socket", &self.socket)
                        .field("timeout", &self.timeout)
                        .field("volatile", &self.volatile)
                        .field("retries", &self.retries)
                        .finish()
                }
            }

            #[allow(dead_code)]
            impl #socket {
                #[doc = #namespace_doc]
                #vis const NAMESPACE: &'static str = #namespace;

                /// Options of the typed socket on `manager` (auth, async auth function, ack
                /// timeout, retries), then `build()` or `connect()`.
                #vis fn builder(manager: &#p::Manager) -> #p::TypedBuilder<Self> {
                    #p::TypedBuilder::new(manager)
                }

                /// Builds the typed socket on `manager`, in [`Self::NAMESPACE`], without
                /// connecting it: register listeners first, then connect with
                /// `.socket().connect().await`, so that no event can arrive before its
                /// listener. A manager has one socket per namespace: building it again
                /// gives the same socket.
                #vis fn build(manager: &#p::Manager) -> Self {
                    Self::from_socket(manager.socket(Self::NAMESPACE).build())
                }

                /// Connects to [`Self::NAMESPACE`] through `manager` and resolves when the
                /// server accepted the namespace (socket.io: `manager.socket(nsp).connect()`).
                /// Fails with `ferrio::Error::ConnectError` when the server refuses.
                #vis async fn connect(manager: &#p::Manager) -> #p::Result<Self> {
                    let socket = manager.socket(Self::NAMESPACE).connect().await?;
                    #p::Ok(Self::from_socket(socket))
                }

                /// Like [`Self::connect`], sending `auth` with the CONNECT (socket.io:
                /// `auth`, read by the server as `socket.handshake.auth`); it must serialize
                /// to a JSON object.
                #vis async fn connect_with_auth(
                    manager: &#p::Manager,
                    auth: impl #p::Serialize,
                ) -> #p::Result<Self> {
                    let socket = manager.socket(Self::NAMESPACE).auth(auth).connect().await?;
                    #p::Ok(Self::from_socket(socket))
                }

                /// The typed socket over `socket`, which should be in [`Self::NAMESPACE`]
                /// (built with any options: auth, ack timeout, retries).
                #vis fn from_socket(socket: #p::Socket) -> Self {
                    <Self as #p::FromSocket>::from_socket(socket)
                }

                /// The untyped socket underneath: connection state, `disconnect()`,
                /// `on_any`, `off(id)`, events this contract does not declare.
                #vis fn socket(&self) -> &#p::Socket {
                    &self.socket
                }

                /// A copy whose emits await their ack at most `timeout` (socket.io:
                /// `socket.timeout(ms)`), failing with `ferrio::Error::Timeout` after it.
                #vis fn timeout(&self, timeout: #p::Duration) -> Self {
                    Self { timeout: #p::Some(timeout), ..#p::Clone::clone(self) }
                }

                /// A copy whose emits are dropped rather than buffered while the socket is
                /// disconnected (socket.io: `socket.volatile`).
                #vis fn volatile(&self) -> Self {
                    Self { volatile: true, ..#p::Clone::clone(self) }
                }

                /// A copy whose acknowledged emits are retried `retries` times (socket.io:
                /// `socket.retries(n)`): after an ack timeout, or a disconnection after the
                /// packet was sent; at-least-once delivery.
                #vis fn retries(&self, retries: u32) -> Self {
                    Self { retries: #p::Some(retries), ..#p::Clone::clone(self) }
                }

                /// Listens to the namespace connection, at every (re)connection (socket.io:
                /// `socket.on("connect")`).
                #vis fn on_connect<#f, #fut>(&self, #listener: #f) -> #p::ListenerId
                where
                    #f: #p::Fn() -> #fut + #p::Send + #p::Sync + 'static,
                    #fut: #p::Future<Output = ()> + #p::Send + 'static,
                {
                    self.socket.on_connect(#listener)
                }

                /// Listens to connection failures (socket.io: `socket.on("connect_error")`).
                #vis fn on_connect_error<#f, #fut>(&self, #listener: #f) -> #p::ListenerId
                where
                    #f: #p::Fn(#p::ConnectError) -> #fut + #p::Send + #p::Sync + 'static,
                    #fut: #p::Future<Output = ()> + #p::Send + 'static,
                {
                    self.socket.on_connect_error(#listener)
                }

                /// Listens to disconnections, with the reason (socket.io:
                /// `socket.on("disconnect")`).
                #vis fn on_disconnect<#f, #fut>(&self, #listener: #f) -> #p::ListenerId
                where
                    #f: #p::Fn(#p::DisconnectReason) -> #fut + #p::Send + #p::Sync + 'static,
                    #fut: #p::Future<Output = ()> + #p::Send + 'static,
                {
                    self.socket.on_disconnect(#listener)
                }

                /// Removes one listener registered on this socket, typed or not (socket.io:
                /// `socket.off(event, listener)`).
                #vis fn off(&self, id: #p::ListenerId) {
                    self.socket.off(id)
                }

                /// Listens to received events whose payload does not match the declared
                /// types: such an event never reaches its typed listener, and the connection
                /// goes on. The error names the event and says what did not match (it is
                /// also logged as a `tracing` warning).
                #vis fn on_payload_error<#f, #fut>(&self, #listener: #f) -> #p::ListenerId
                where
                    #f: #p::Fn(#p::PayloadError) -> #fut + #p::Send + #p::Sync + 'static,
                    #fut: #p::Future<Output = ()> + #p::Send + 'static,
                {
                    self.socket.on_payload_error(#listener)
                }

                fn emitter(&self) -> #p::Emitter<'_> {
                    let mut #emitter = self.socket.emitter();
                    if let #p::Some(timeout) = self.timeout {
                        #emitter = #emitter.timeout(timeout);
                    }
                    if self.volatile {
                        #emitter = #emitter.volatile();
                    }
                    if let #p::Some(retries) = self.retries {
                        #emitter = #emitter.retries(retries);
                    }
                    #emitter
                }

                #(#event_methods)*
            }
        }
    }
}
