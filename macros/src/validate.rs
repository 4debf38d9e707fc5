//! The rules a `#[socketio_events]` trait must follow, each broken rule a spanned error that
//! says what to write instead.

use std::collections::HashMap;

use proc_macro2::{TokenStream, TokenTree};
use quote::ToTokens;
use syn::spanned::Spanned;
use syn::{FnArg, ItemTrait, LitStr, TraitItemFn, Type};

use crate::attrs::{self, Direction};
use crate::model::Event;
use crate::Errors;

/// Event names Socket.IO keeps for itself: a server never delivers them as events.
pub(crate) const RESERVED: [&str; 6] = [
    "connect",
    "connect_error",
    "disconnect",
    "disconnecting",
    "newListener",
    "removeListener",
];

/// The listeners a typed socket has of its own (`on_<name>`): an `#[on]` method of that
/// name would generate a second one.
const SOCKET_LISTENERS: [&str; 4] = ["payload_error", "connect", "connect_error", "disconnect"];

/// What the typed socket's own `on_<name>` listens to.
fn own_listener(name: &str) -> &'static str {
    match name {
        "payload_error" => "payloads that do not match",
        "connect" => "the namespace connection",
        "connect_error" => "connection failures",
        _ => "disconnections",
    }
}

/// The trait itself: no generics, supertraits, `unsafe`, `auto`, or attributes but docs.
pub(crate) fn trait_shape(item: &ItemTrait, errors: &mut Errors) {
    if let Some(unsafety) = &item.unsafety {
        errors.push(syn::Error::new(
            unsafety.span(),
            "a `#[socketio_events]` trait cannot be `unsafe`",
        ));
    }
    if let Some(auto) = &item.modifiers.auto_token {
        errors.push(syn::Error::new(
            auto.span(),
            "a `#[socketio_events]` trait cannot be `auto`",
        ));
    }
    if !item.generics.params.is_empty() {
        errors.push(syn::Error::new_spanned(
            &item.generics,
            "a `#[socketio_events]` trait takes no generic parameters: it declares concrete \
             events, and the generated marker and socket are concrete types",
        ));
    }
    if let Some(where_clause) = &item.generics.where_clause {
        errors.push(syn::Error::new_spanned(
            where_clause,
            "a `#[socketio_events]` trait takes no `where` clause",
        ));
    }
    if let Some(colon) = &item.colon_token {
        let supertraits = &item.supertraits;
        errors.push(syn::Error::new_spanned(
            quote::quote!(#colon #supertraits),
            "a `#[socketio_events]` trait has no supertraits: it is turned into a marker type \
             and a typed socket, never implemented",
        ));
    }
    for attr in &item.attrs {
        if !attrs::is_doc(attr) {
            errors.push(syn::Error::new_spanned(
                attr,
                "unsupported attribute on a `#[socketio_events]` trait: only doc comments go \
                 here (they are forwarded to the generated items)",
            ));
        }
    }
}

/// The namespace: a path starting with `/`.
pub(crate) fn namespace(lit: &LitStr, errors: &mut Errors) -> Option<String> {
    let value = lit.value();
    if !value.starts_with('/') {
        errors.push(syn::Error::new(
            lit.span(),
            format_args!("a namespace starts with `/`: write \"/{value}\""),
        ));
        return None;
    }
    Some(value)
}

/// One method's signature: a plain declaration, `fn name(arg: Type, ...) -> Ack;`.
pub(crate) fn method_shape(method: &TraitItemFn, errors: &mut Errors) {
    let sig = &method.sig;
    if let Some(FnArg::Receiver(receiver)) = sig.inputs.first() {
        errors.push(syn::Error::new_spanned(
            receiver,
            "an event method takes no `self`: it declares an event's arguments; the generated \
             socket has the methods to call",
        ));
    }
    if let Some(body) = &method.default {
        errors.push(syn::Error::new_spanned(
            body,
            "an event method has no body: end the declaration with `;` (the macro generates \
             the code)",
        ));
    }
    if let Some(asyncness) = &sig.asyncness {
        errors.push(syn::Error::new(
            asyncness.span(),
            "remove `async`: the generated `emit_*` methods are async already, and the return \
             type declares the ack",
        ));
    }
    if let Some(constness) = &sig.constness {
        errors.push(syn::Error::new(
            constness.span(),
            "an event method cannot be `const`",
        ));
    }
    if let syn::Safety::Unsafe(unsafety) = &sig.safety {
        errors.push(syn::Error::new(
            unsafety.span(),
            "an event method cannot be `unsafe`",
        ));
    }
    if let Some(abi) = &sig.abi {
        errors.push(syn::Error::new_spanned(abi, "an event method has no ABI"));
    }
    if !sig.generics.params.is_empty() {
        errors.push(syn::Error::new_spanned(
            &sig.generics,
            "an event method takes no generic parameters: every argument and ack has one \
             concrete type, which the contract describes",
        ));
    }
    if let Some(where_clause) = &sig.generics.where_clause {
        errors.push(syn::Error::new_spanned(
            where_clause,
            "an event method takes no `where` clause",
        ));
    }
    if let Some(variadic) = &sig.variadic {
        errors.push(syn::Error::new_spanned(
            variadic,
            "an event method cannot be variadic: declare each argument",
        ));
    }
}

/// A payload type: owned, concrete, nameable outside the trait.
pub(crate) fn payload_type(ty: &Type, errors: &mut Errors) {
    let problem = match ty {
        Type::Reference(_) => Some(
            "payload types are owned: a received value outlives the frame it came in, so \
             write `String` for `&str`, `Vec<T>` for `&[T]`, `T` for `&T`",
        ),
        Type::ImplTrait(_) => {
            Some("payload types are concrete: `impl Trait` cannot be sent or described")
        }
        Type::TraitObject(_) => {
            Some("payload types are concrete: a trait object cannot be sent or described")
        }
        Type::Infer(_) => Some("write the payload type: `_` cannot be inferred here"),
        Type::Never(_) => Some("`!` is no payload type: an event without ack has no return type"),
        Type::Ptr(_) | Type::FnPtr(_) => Some("payload types must be serializable data"),
        _ => None,
    };
    if let Some(problem) = problem {
        errors.push(syn::Error::new_spanned(ty, problem));
        return;
    }
    check_tokens(ty.to_token_stream(), errors);
}

/// Borrowed lifetimes and `Self` anywhere inside a type.
fn check_tokens(tokens: TokenStream, errors: &mut Errors) {
    let mut tokens = tokens.into_iter().peekable();
    while let Some(token) = tokens.next() {
        match token {
            TokenTree::Group(group) => check_tokens(group.stream(), errors),
            TokenTree::Ident(ident) if ident == "Self" => errors.push(syn::Error::new(
                ident.span(),
                "`Self` has no meaning in an event declaration: name the type",
            )),
            TokenTree::Punct(p) if p.as_char() == '\'' => {
                if let Some(TokenTree::Ident(lifetime)) = tokens.peek() {
                    if lifetime != "static" {
                        errors.push(syn::Error::new(
                            lifetime.span(),
                            "payload types are owned: a received value outlives the frame it \
                             came in, so use `'static` or an owned type (`String`, not `Cow<'a, str>`)",
                        ));
                    }
                }
            }
            _ => {}
        }
    }
}

/// Rules across events: unique wire names per direction, no reserved names, unique method
/// names, and no method name that clashes with one the typed socket already has. Returns,
/// per event, whether codegen can keep it (a second method of the same name cannot be).
pub(crate) fn events(events: &[Event], errors: &mut Errors) -> Vec<bool> {
    let mut keep = vec![true; events.len()];
    let mut wire: HashMap<(Direction, &str), &Event> = HashMap::new();
    let mut rust: HashMap<&str, &Event> = HashMap::new();
    for (i, event) in events.iter().enumerate() {
        let clashes =
            event.direction == Direction::On && SOCKET_LISTENERS.contains(&event.name.as_str());
        if clashes {
            keep[i] = false;
        }
        if RESERVED.contains(&event.wire_name.as_str()) {
            let fix = match event.explicit_name {
                true => "choose another wire name".to_owned(),
                // Renaming the method renames the event too; one error says both.
                false if clashes => format!(
                    "rename the method: the typed socket has `on_{}` of its own (for {})",
                    event.name,
                    own_listener(&event.name)
                ),
                false => format!(
                    "keep the method's name and give the event another wire name with \
                     `#[{}(name = \"...\")]`",
                    event.direction.attr()
                ),
            };
            errors.push(syn::Error::new(
                event.wire_span,
                format_args!(
                    "`{}` is a reserved Socket.IO event name (reserved: {}); {fix}",
                    event.wire_name,
                    RESERVED.join(", "),
                ),
            ));
        } else if event.wire_name.is_empty() {
            errors.push(syn::Error::new(
                event.wire_span,
                "an event's wire name cannot be empty",
            ));
        }
        match wire.get(&(event.direction, event.wire_name.as_str())) {
            Some(first) => {
                let side = match event.direction {
                    Direction::Emit => "`#[emit]` events (client to server)",
                    Direction::On => "`#[on]` events (server to client)",
                };
                let mut error = syn::Error::new(
                    event.wire_span,
                    format_args!(
                        "the wire name \"{}\" is used twice among the {side}: the receiver could \
                         not tell them apart; rename one with `#[{}(name = \"...\")]`",
                        event.wire_name,
                        event.direction.attr(),
                    ),
                );
                error.combine(syn::Error::new(
                    first.wire_span,
                    format_args!("\"{}\" is first used here", first.wire_name),
                ));
                errors.push(error);
            }
            None => {
                wire.insert((event.direction, &event.wire_name), event);
            }
        }
        if let Some(first) = rust.get(event.name.as_str()) {
            let mut error = syn::Error::new(
                event.ident.span(),
                format_args!(
                    "the method `{}` is declared twice; give the second one another Rust name \
                     (its wire name can stay the same with `#[{}(name = \"{}\")]`)",
                    event.name,
                    event.direction.attr(),
                    event.wire_name,
                ),
            );
            error.combine(syn::Error::new(
                first.ident.span(),
                format_args!("`{}` is first declared here", first.name),
            ));
            errors.push(error);
            keep[i] = false;
        } else {
            rust.insert(&event.name, event);
        }
        let reported = RESERVED.contains(&event.wire_name.as_str()) && !event.explicit_name;
        if clashes && !reported {
            errors.push(syn::Error::new(
                event.ident.span(),
                format_args!(
                    "an `#[on]` method named `{name}` would generate `on_{name}`, which the \
                     typed socket already has (for {what}); rename the method and keep the \
                     wire name with `#[on(name = \"{wire}\")]`",
                    name = event.name,
                    what = own_listener(&event.name),
                    wire = event.wire_name,
                ),
            ));
        }
    }
    keep
}
