//! The AsyncAPI 3.0 document, written from the server's point of view.
//!
//! - **Channels**: one per namespace, keyed by the namespace as a camelCase identifier (`chat`,
//!   `main` for `/`), `address` = the namespace, `x-socketio-namespace` repeating it.
//! - **Messages**: one per event, named by its wire name, and one per ack (`<event>.ack`),
//!   defined under `components.messages` as `<channel>.<event>` and listed in the channel. An
//!   event whose wire name is used in both directions gets `.receive` / `.send` appended to
//!   its keys. Each payload is the Socket.IO argument array as a draft-07 tuple: an `items`
//!   list (each item titled with the argument's name), `minItems` and `maxItems`.
//! - **Operations**: `<channel>.receive.<event>` for `#[emit]` events (the client emits, the
//!   server receives) and `<channel>.send.<event>` for `#[on]` events. An ack is the
//!   operation's `reply`, on the same channel; `x-socketio-ack` says `none`, `empty`,
//!   `value` (one argument), `values` (several) or `result` (Node's `callback(err, data)`,
//!   the tuple `[err | null, data?]`).
//! - **Shared types**: under `components.schemas`, referenced as `#/components/schemas/<Type>`,
//!   converted from JSON Schema 2020-12 to draft 07 (`prefixItems` to `items` lists, no
//!   siblings next to `$ref`).
//! - `id`, `info` and `servers` come from [`ExportOptions`]; `defaultContentType` is
//!   `application/json`. Socket.IO details AsyncAPI has no binding for are `x-socketio-*`
//!   extensions (`x-socketio-event`, `x-socketio-direction`, `x-socketio-ack-of`) and the Rust
//!   method's name is `x-ferrio-rust-name`.

use crate::contract::{AckDef, Direction, EventDef};
use crate::export::{lower_first, ExportOptions, Model, Namespace, UniqueNames};
use crate::walk::{ack_tuple, argument_tuple, canonical_schema, to_draft07, Json};

/// The AsyncAPI version written.
pub const ASYNCAPI_VERSION: &str = "3.0.0";

const SCHEMAS: &str = "#/components/schemas/";

pub(crate) fn render(model: &Model<'_>, options: &ExportOptions) -> String {
    let rewrite = model.ref_rewriter(SCHEMAS);
    let schema = |value: &serde_json::Value| canonical_schema(&to_draft07(value), &rewrite);

    let mut channels = Json::object();
    let mut operations = Json::object();
    let mut messages = Json::object();
    let mut channel_ids = UniqueNames::default();
    let mut operation_ids = UniqueNames::default();
    for namespace in &model.namespaces {
        let channel = channel_ids.claim(&lower_first(&namespace.ident));
        let channel_ref = Json::object().with("$ref", format!("#/channels/{channel}"));
        let mut channel_messages = Json::object();
        let mut message_keys = UniqueNames::default();
        for event in &namespace.events {
            let action = match event.direction {
                Direction::Emit => "receive",
                Direction::On => "send",
            };
            let wire_key = key(&event.wire_name);
            let mut base = wire_key.clone();
            if used_both_ways(namespace, event) {
                base = format!("{base}.{action}");
            }
            let event_key = message_keys.claim(&base);
            let args = argument_tuple(event.args.iter().map(|a| (a.name.as_str(), &a.schema)));
            let message = Json::object()
                .with("name", event.wire_name.as_str())
                .with("title", event.wire_name.as_str())
                .with_text("description", event.docs.trim())
                .with("payload", schema(&args))
                .with("x-socketio-event", event.wire_name.as_str())
                .with("x-socketio-direction", event.direction.as_str())
                .with("x-ferrio-rust-name", event.rust_name.as_str());
            let component = format!("{channel}.{event_key}");
            channel_messages.push(
                event_key.as_str(),
                Json::object().with("$ref", format!("#/components/messages/{component}")),
            );
            messages.push(component, message);

            let mut operation = Json::object()
                .with("action", action)
                .with("channel", channel_ref.clone())
                .with("title", event.wire_name.as_str())
                .with_text("description", event.docs.trim())
                .with(
                    "messages",
                    vec![Json::object()
                        .with("$ref", format!("#/channels/{channel}/messages/{event_key}"))],
                );
            if let Some(payload) = ack_tuple(&event.ack) {
                let ack_key = message_keys.claim(&format!("{event_key}.ack"));
                let (from, to) = match event.direction {
                    Direction::Emit => ("server", "client"),
                    Direction::On => ("client", "server"),
                };
                let ack_docs = match event.ack {
                    AckDef::Empty => format!(
                        "The acknowledgement the {from} sends the {to} for `{}`, without a \
                         value.",
                        event.wire_name
                    ),
                    _ => format!(
                        "The acknowledgement the {from} sends the {to} for `{}`.",
                        event.wire_name
                    ),
                };
                let message = Json::object()
                    .with("name", format!("{}.ack", event.wire_name))
                    .with("title", format!("{} (ack)", event.wire_name))
                    .with("description", ack_docs)
                    .with("payload", schema(&payload))
                    .with("x-socketio-ack-of", event.wire_name.as_str());
                let component = format!("{channel}.{ack_key}");
                channel_messages.push(
                    ack_key.as_str(),
                    Json::object().with("$ref", format!("#/components/messages/{component}")),
                );
                messages.push(component, message);
                operation.push(
                    "reply",
                    Json::object().with("channel", channel_ref.clone()).with(
                        "messages",
                        vec![Json::object()
                            .with("$ref", format!("#/channels/{channel}/messages/{ack_key}"))],
                    ),
                );
            }
            operation.push("x-socketio-ack", event.ack.kind());
            operations.push(
                operation_ids.claim(&format!("{channel}.{action}.{wire_key}")),
                operation,
            );
        }
        channels.push(
            channel.as_str(),
            Json::object()
                .with("address", namespace.path)
                .with("title", namespace.title())
                .with_text("description", &namespace.docs())
                .with("messages", channel_messages)
                .with("x-socketio-namespace", namespace.path),
        );
    }

    let mut schemas = Json::object();
    for def in &model.defs {
        schemas.push(def.ident.as_str(), schema(&def.schema));
    }

    let mut info = Json::object()
        .with("title", options.title.as_str())
        .with("version", options.version.as_str())
        .with("description", model.description(options));
    if let Some(contact) = &options.contact {
        info.push(
            "contact",
            Json::object()
                .with("name", contact.name.as_str())
                .with("url", contact.url.as_str())
                .with("email", contact.email.as_str()),
        );
    }
    if let Some(license) = &options.license {
        let mut object = Json::object().with("name", license.name.as_str());
        if let Some(url) = &license.url {
            object.push("url", url.as_str());
        }
        info.push("license", object);
    }

    let mut document = Json::object()
        .with("asyncapi", ASYNCAPI_VERSION)
        .with("id", options.document_id())
        .with("info", info);
    if !options.servers.is_empty() {
        let mut servers = Json::object();
        for server in &options.servers {
            let mut object = Json::object()
                .with("host", server.host.as_str())
                .with("protocol", server.protocol.as_str())
                .with("pathname", server.pathname.as_str());
            if let Some(description) = &server.description {
                object.push("description", description.as_str());
            }
            servers.push(server.name.as_str(), object);
        }
        document.push("servers", servers);
    }
    document
        .with("defaultContentType", "application/json")
        .with("channels", channels)
        .with("operations", operations)
        .with(
            "components",
            Json::object()
                .with("schemas", schemas)
                .with("messages", messages),
        )
        .to_pretty()
}

/// Whether the event's wire name is also used in the other direction in its namespace.
fn used_both_ways(namespace: &Namespace<'_>, event: &EventDef) -> bool {
    namespace
        .events
        .iter()
        .any(|other| other.wire_name == event.wire_name && other.direction != event.direction)
}

/// A wire name as a component key (letters, digits, `_`, `-`; anything else becomes `_`).
fn key(wire_name: &str) -> String {
    let key: String = wire_name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if key.is_empty() {
        "_".into()
    } else {
        key
    }
}
