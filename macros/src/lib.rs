//! `#[socketio_events]`: typed Socket.IO sockets from a trait, checked at compile time.
//!
//! Use it through the `ferrio` crate (`#[ferrio::socketio_events]`), which re-exports it and
//! holds everything the expansion names; see [`socketio_events`].
//!
//! The macro works in four steps, one module each: `attrs` parses its attributes, `model`
//! lowers the trait into a contract, `validate` checks the rules (every broken rule is one
//! spanned error), and `codegen` writes the marker type and the typed socket. Errors are
//! combined; the items are generated anyway from what is valid, so a mistake shows as one
//! error, not as a cascade of unresolved names.

mod attrs;
mod codegen;
mod model;
mod validate;

use proc_macro2::TokenStream;
use quote::quote;

/// Turns a trait that declares Socket.IO events into a typed socket and an event contract.
///
/// ```ignore
/// use ferrio::{socketio_events, Acked};
/// use serde::{Deserialize, Serialize};
///
/// #[derive(Serialize, Deserialize, schemars::JsonSchema)]
/// pub struct ChatMessage { pub user: String, pub text: String }
///
/// #[derive(Serialize, Deserialize, schemars::JsonSchema)]
/// pub struct RoomInfo { pub name: String, pub members: u32 }
///
/// /// The chat namespace.
/// #[socketio_events(namespace = "/chat")]
/// pub trait ChatEvents {
///     /// Say hello; fire and forget.
///     #[emit] fn hello(name: String);
///     /// Join a room; the server acks with the room's info.
///     #[emit] fn join(room: String) -> RoomInfo;
///     /// The wire name differs from the Rust name; the server acks without a value.
///     #[emit(name = "chat message")] fn say(room: String, text: String) -> Acked;
///     /// A message for this client.
///     #[on] fn message(msg: ChatMessage);
///     /// The server asks; the listener's output is the ack.
///     #[on] fn poll(question: String) -> u8;
/// }
///
/// # async fn run(manager: ferrio::Manager) -> Result<(), ferrio::Error> {
/// let chat = ChatEventsSocket::connect(&manager).await?;
/// chat.on_message(|msg| async move { println!("{}: {}", msg.user, msg.text) });
/// chat.on_poll(|question| async move { 7 });
/// chat.emit_hello("ferris".into()).await?;
/// let room: RoomInfo = chat.emit_join("rust".into()).await?;
/// chat.timeout(std::time::Duration::from_secs(1))
///     .emit_say("rust".into(), "hi".into())
///     .await?;
/// # Ok(()) }
/// ```
///
/// # The trait
///
/// - Arguments of `#[socketio_events(...)]`: `namespace = "/chat"` (default `/`), and
///   `rename_all = "camelCase"` to derive wire names from method names (serde's rules:
///   `lowercase`, `UPPERCASE`, `PascalCase`, `camelCase`, `snake_case`,
///   `SCREAMING_SNAKE_CASE`, `kebab-case`, `SCREAMING-KEBAB-CASE`), and
///   `crate = "my_app::ferrio"` when the `ferrio` crate is renamed in `Cargo.toml` or
///   re-exported by another crate (the expansion names it through that path).
/// - Each method declares one event: `#[emit]` for the client to send it, `#[on]` for the
///   server to send it; `#[emit(name = "chat message")]` gives it another wire name.
/// - Arguments travel positionally after the event name: `fn say(room, text)` is
///   `["chat message", room, text]` on the wire.
/// - The return type declares the ack, the arguments of the callback (`callback(a, b)`):
///   - none (or `()`): no ack;
///   - a type whose last path segment is `Acked` (`ferrio::Acked`, or `Acked` imported): an
///     ack without value (`callback()`);
///   - a tuple `(A, B, ..)`: an ack with one argument per element (`callback(a, b)`); `(A,)`
///     is one argument, so `((A, B),)` is one argument holding a pair;
///   - `Result<T, E>` (a path ending in `Result` with two type arguments): Node's
///     `callback(err, data)` convention: `Ok(data)` is `callback(null, data)`, `Err(err)` is
///     `callback(err)`; received, a first argument other than `null` is the `Err`;
///   - any other type `T`: an ack with one value of type `T` (a peer that acks with more
///     arguments: the first is the value).
///
///   The macro sees only the syntax: `Acked` must be ferrio's (the expansion checks it), an
///   own type meant as an ack value must not be called `Acked`, and a type alias of a tuple
///   or of `Result` is one value (spell the tuple or the `Result` out).
/// - Payload types are owned and concrete: `Serialize` for what the client sends (`#[emit]`
///   arguments, `#[on]` acks), `DeserializeOwned` for what it receives (`#[on]` arguments,
///   `#[emit]` acks), `JsonSchema` for all (the contract describes them), and `Send + 'static`.
///   `bytes::Bytes` anywhere in a payload travels as a binary attachment.
///
/// # Generated items
///
/// With the trait's visibility, its doc comments, and docs of their own:
///
/// - `struct ChatEvents;`, a marker implementing `ferrio::EventContract`: the namespace, and
///   per event the wire and Rust names, direction, docs, argument names, argument and ack
///   schemas. The exporters of `ferrio::schema` turn it into JSON Schema, AsyncAPI and
///   TypeScript.
/// - `struct ChatEventsSocket`, a cheap `Clone` typed socket over a `ferrio::Socket`:
///   `connect(&manager)`, `connect_with_auth(&manager, auth)`, `build(&manager)` (not
///   connected yet, to register listeners first), `from_socket(socket)`, `socket()`,
///   `NAMESPACE`, `timeout(d)` and `volatile()` (copies with that emit flag),
///   `on_payload_error(listener)`, and per event:
///   - `#[emit]`: `async fn emit_<name>(&self, args..) -> Result<(), ferrio::Error>`, or
///     `-> Result<Ack, ferrio::Error>` awaiting the ack;
///   - `#[on]`: `fn on_<name>(&self, listener) -> ListenerId`, the listener an async closure
///     taking the arguments as separate parameters, whose output is the ack when the event has
///     one; and `fn <name>_stream(&self) -> EventStream<Item>`, whose items are the arguments
///     (one value, or a tuple), with a `ferrio::Responder` for events with an ack.
///
/// A received payload that does not match the declared types never reaches a listener or a
/// stream: it goes to `on_payload_error` (and to a `tracing` warning), and the connection
/// goes on.
///
/// # Without a direct dependency on schemars
///
/// The expansion needs neither serde_json nor schemars in the user's `Cargo.toml`. To derive
/// `JsonSchema` without depending on schemars, use the one ferrio re-exports and tell the
/// derive where it is:
///
/// ```ignore
/// #[derive(serde::Serialize, serde::Deserialize, ferrio::schema::schemars::JsonSchema)]
/// #[schemars(crate = "ferrio::schema::schemars")]
/// pub struct ChatMessage { pub user: String, pub text: String }
/// ```
///
/// # Compile-time errors
///
/// Each is spanned at the offending token and says what to write instead: a method without
/// `#[emit]`/`#[on]` or with both; a receiver, a body, generics, `async` or a pattern in a
/// method; a wire name used twice in one direction; a reserved name (`connect`,
/// `connect_error`, `disconnect`, `disconnecting`, `newListener`, `removeListener`); an
/// unknown attribute argument (the message lists the valid ones); a borrowed payload type. A
/// payload type missing `Serialize`, `Deserialize` or `JsonSchema` is reported once, at that
/// type.
#[proc_macro_attribute]
pub fn socketio_events(
    attr: proc_macro::TokenStream,
    item: proc_macro::TokenStream,
) -> proc_macro::TokenStream {
    expand(attr.into(), item.into()).into()
}

/// The whole expansion: parse -> model -> validate -> codegen, plus the combined errors.
fn expand(attr: TokenStream, item: TokenStream) -> TokenStream {
    let mut errors = Errors::default();
    let args = attrs::contract_args(attr, &mut errors);
    let item: syn::ItemTrait = match syn::parse2(item.clone()) {
        Ok(item) => item,
        Err(_) => {
            let error = syn::Error::new(
                item_keyword_span(&item),
                "`#[socketio_events]` goes on a trait whose methods declare the events",
            );
            let error = error.to_compile_error();
            return quote!(#error #item);
        }
    };
    let contract = model::lower(args, &item, &mut errors);
    let keep = validate::events(&contract.events, &mut errors);
    let items = codegen::expand(&contract, &keep);
    let errors = errors.to_compile_errors();
    quote!(#errors #items)
}

/// The span of the keyword of an item that is not a trait (`struct`, `fn`...), for the error
/// that says the macro wants a trait.
fn item_keyword_span(item: &TokenStream) -> proc_macro2::Span {
    use syn::spanned::Spanned;
    match syn::parse2::<syn::Item>(item.clone()) {
        Ok(syn::Item::Struct(s)) => s.struct_token.span(),
        Ok(syn::Item::Enum(e)) => e.enum_token.span(),
        Ok(syn::Item::Fn(f)) => f.sig.fn_token.span(),
        Ok(syn::Item::Impl(i)) => i.impl_token.span(),
        Ok(syn::Item::Mod(m)) => m.mod_token.span(),
        Ok(syn::Item::Union(u)) => u.union_token.span(),
        Ok(syn::Item::Type(t)) => t.type_token.span(),
        _ => proc_macro2::Span::call_site(),
    }
}

/// The errors of one expansion, combined into one `syn::Error`.
#[derive(Default)]
pub(crate) struct Errors {
    combined: Option<syn::Error>,
    count: usize,
}

impl Errors {
    /// Adds an error.
    pub(crate) fn push(&mut self, error: syn::Error) {
        self.count += 1;
        match &mut self.combined {
            Some(combined) => combined.combine(error),
            None => self.combined = Some(error),
        }
    }

    /// How many errors were pushed so far.
    pub(crate) fn count(&self) -> usize {
        self.count
    }

    /// `compile_error!`s for every error, or nothing.
    fn to_compile_errors(&self) -> TokenStream {
        self.combined
            .as_ref()
            .map(syn::Error::to_compile_error)
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod snapshot;
