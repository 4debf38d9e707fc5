//! AsyncAPI 3.x and 2.x documents of Socket.IO services.

use serde_json::Value;

use super::{
    ack_args, check_refs, escape_pointer, follow, text, tuple_args, ArgDoc, ContractDocument,
    DocumentKind, EventDoc, NamespaceDoc, Perspective, ReadError,
};
use crate::export::ServerInfo;

/// Reads an AsyncAPI 3.x document, or a 2.x one whose acks are `x-ack` extensions.
pub fn read_asyncapi(root: Value, perspective: Perspective) -> Result<ContractDocument, ReadError> {
    let version = text(&root, "asyncapi").to_owned();
    let (kind, namespaces) = if version.starts_with("2.") {
        (DocumentKind::AsyncApi2, read_v2(&root, perspective)?)
    } else {
        (DocumentKind::AsyncApi3, read_v3(&root, perspective)?)
    };
    let info = root.get("info").cloned().unwrap_or(Value::Null);
    let mut servers = Vec::new();
    if let Some(Value::Object(map)) = root.get("servers") {
        for (name, server) in map {
            let (server, _) = follow(&root, server, &format!("/servers/{}", escape_pointer(name)))?;
            if version.starts_with("2.") {
                if let Some(mut found) = ServerInfo::from_url(name.as_str(), text(server, "url")) {
                    if let Some(protocol) = server.get("protocol").and_then(Value::as_str) {
                        found.protocol = protocol.to_owned();
                    }
                    servers.push(found);
                }
                continue;
            }
            let mut found = ServerInfo::new(
                name.as_str(),
                text(server, "host"),
                text(server, "protocol"),
            );
            found.pathname = text(server, "pathname").to_owned();
            if let Some(description) = server.get("description").and_then(Value::as_str) {
                found.description = Some(description.to_owned());
            }
            servers.push(found);
        }
    }
    let mut schemas = Vec::new();
    if let Some(map) = root.pointer("/components/schemas") {
        let Value::Object(map) = map else {
            return Err(ReadError::at("/components/schemas", "not an object"));
        };
        for (name, schema) in map {
            let pointer = format!("/components/schemas/{}", escape_pointer(name));
            check_refs(&root, schema, &pointer)?;
            schemas.push((name.clone(), schema.clone()));
        }
    }
    Ok(ContractDocument {
        kind,
        title: text(&info, "title").to_owned(),
        version: text(&info, "version").to_owned(),
        description: text(&info, "description").to_owned(),
        id: root.get("id").and_then(Value::as_str).map(str::to_owned),
        servers,
        namespaces,
        schemas,
        root,
    })
}

/// The namespace of a channel: `x-socketio-namespace`, else its `address`, else `/`.
fn namespace_of(channel: &Value, key: &str, pointer: &str) -> Result<String, ReadError> {
    let path = channel
        .get("x-socketio-namespace")
        .or_else(|| channel.get("address"))
        .and_then(Value::as_str)
        .map(str::to_owned)
        .unwrap_or_else(|| {
            if key.starts_with('/') {
                key.to_owned()
            } else {
                "/".to_owned()
            }
        });
    if !path.starts_with('/') {
        return Err(ReadError::at(
            pointer,
            format!(
                "the channel's address {path:?} is no Socket.IO namespace (they start with `/`)"
            ),
        ));
    }
    Ok(path)
}

fn read_v3(root: &Value, perspective: Perspective) -> Result<Vec<NamespaceDoc>, ReadError> {
    let mut namespaces: Vec<(String, NamespaceDoc)> = Vec::new();
    if let Some(channels) = root.get("channels") {
        let Value::Object(channels) = channels else {
            return Err(ReadError::at("/channels", "not an object"));
        };
        for (key, channel) in channels {
            let pointer = format!("/channels/{}", escape_pointer(key));
            let (channel, _) = follow(root, channel, &pointer)?;
            if !channel.is_object() {
                return Err(ReadError::at(&pointer, "a channel is not an object"));
            }
            namespaces.push((
                format!("#{pointer}"),
                NamespaceDoc {
                    path: namespace_of(channel, key, &pointer)?,
                    title: channel
                        .get("title")
                        .and_then(Value::as_str)
                        .map(str::to_owned),
                    docs: text(channel, "description").to_owned(),
                    pointer,
                    events: Vec::new(),
                },
            ));
        }
    }
    let Some(operations) = root.get("operations") else {
        return Ok(namespaces.into_iter().map(|(_, n)| n).collect());
    };
    let Value::Object(operations) = operations else {
        return Err(ReadError::at("/operations", "not an object"));
    };
    for (key, operation) in operations {
        let pointer = format!("/operations/{}", escape_pointer(key));
        let (operation, pointer) = follow(root, operation, &pointer)?;
        let sends = match text(operation, "action") {
            "send" => true,
            "receive" => false,
            other => {
                return Err(ReadError::at(
                    &format!("{pointer}/action"),
                    format!("the action {other:?} is neither `send` nor `receive`"),
                ))
            }
        };
        let channel_ref = operation
            .pointer("/channel/$ref")
            .and_then(Value::as_str)
            .ok_or_else(|| ReadError::at(&format!("{pointer}/channel"), "no channel `$ref`"))?;
        let Some(index) = namespaces.iter().position(|(r, _)| r == channel_ref) else {
            return Err(ReadError::at(
                &format!("{pointer}/channel/$ref"),
                format!("unresolved $ref {channel_ref:?}"),
            ));
        };
        let docs = first_text(operation, &["description", "summary"]);
        let messages = message_list(root, operation, &pointer)?;
        if messages.is_empty() {
            return Err(ReadError::at(
                &format!("{pointer}/messages"),
                "an operation without messages",
            ));
        }
        let ack =
            match operation.get("reply") {
                None => None,
                Some(reply) => {
                    let reply_pointer = format!("{pointer}/reply");
                    let (reply, reply_pointer) = follow(root, reply, &reply_pointer)?;
                    let replies = message_list(root, reply, &reply_pointer)?;
                    match replies.as_slice() {
                        [] => Some((Vec::new(), None, false)),
                        [(message, message_pointer)] => {
                            let payload_pointer = format!("{message_pointer}/payload");
                            let (args, rest, result) = match message.get("payload") {
                                // zod-sockets reads the ack of an event it emits with
                                // `emitWithAck`, whose value is the first ack argument, and
                                // validates that one value against the whole tuple: the
                                // client acks with one argument, the tuple.
                                Some(payload) if sends && is_zod_sockets_reply(reply) => {
                                    check_refs(root, payload, &payload_pointer)?;
                                    let mut schema = payload.clone();
                                    if let Value::Object(map) = &mut schema {
                                        map.insert(
                                            "description".into(),
                                            "one argument holding the whole tuple (zod-sockets \
                                             validates the first ack argument of an event it \
                                             emits against the tuple)"
                                                .into(),
                                        );
                                    }
                                    let packed = ArgDoc {
                                        name: Some("ack".into()),
                                        optional: false,
                                        schema,
                                        pointer: payload_pointer.clone(),
                                    };
                                    (vec![packed], None, false)
                                }
                                Some(payload) => {
                                    check_refs(root, payload, &payload_pointer)?;
                                    ack_args(root, payload, &payload_pointer)?
                                }
                                None => (Vec::new(), None, false),
                            };
                            if rest.is_some() && args.is_empty() {
                                // An ack of any arguments: one value of any type.
                                let rest = rest.map(|r| ArgDoc {
                                    optional: false,
                                    ..r
                                });
                                Some((
                                    rest.into_iter().collect(),
                                    Some(message_pointer.clone()),
                                    false,
                                ))
                            } else {
                                Some((args, Some(message_pointer.clone()), result))
                            }
                        }
                        _ => return Err(ReadError::at(
                            &format!("{reply_pointer}/messages"),
                            "a reply of several messages (a Socket.IO ack is one argument list)",
                        )),
                    }
                }
            };
        for (message, message_pointer) in messages {
            let wire_name = first_text(message, &["x-socketio-event", "name"]);
            let wire_name = if wire_name.is_empty() {
                match text(operation, "title") {
                    "" => message_pointer
                        .rsplit('/')
                        .next()
                        .unwrap_or_default()
                        .to_owned(),
                    title => title.to_owned(),
                }
            } else {
                wire_name
            };
            let payload_pointer = format!("{message_pointer}/payload");
            let (args, rest) = match message.get("payload") {
                Some(payload) => {
                    check_refs(root, payload, &payload_pointer)?;
                    tuple_args(root, payload, &payload_pointer)?
                }
                None => (Vec::new(), None),
            };
            let docs = if docs.is_empty() {
                first_text(message, &["description", "summary"])
            } else {
                docs.clone()
            };
            // No reply: an `x-ack` on the message (sio-asyncapi 1.x) declares the ack.
            let (ack, message_ack_pointer, ack_result) = match &ack {
                Some((args, pointer, result)) => (Some(args.clone()), pointer.clone(), *result),
                None => match x_ack(root, message, &message_pointer)? {
                    Some((args, pointer)) => (Some(args), Some(pointer), false),
                    None => (None, None, false),
                },
            };
            namespaces[index].1.events.push(EventDoc {
                wire_name,
                rust_name: message
                    .get("x-ferrio-rust-name")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
                direction: perspective.direction(sends),
                docs,
                pointer: message_pointer,
                args,
                rest,
                ack,
                ack_pointer: message_ack_pointer,
                ack_result,
            });
        }
    }
    Ok(namespaces.into_iter().map(|(_, n)| n).collect())
}

/// The ack a message declares with the `x-ack` extension: asynction's `{args: schema}` or
/// sio-asyncapi's schema itself, with its pointer.
fn x_ack(
    root: &Value,
    message: &Value,
    message_pointer: &str,
) -> Result<Option<(Vec<ArgDoc>, String)>, ReadError> {
    let ack_pointer = format!("{message_pointer}/x-ack");
    match message.get("x-ack") {
        None | Some(Value::Null) => Ok(None),
        Some(ack @ Value::Object(map)) => {
            let (schema, schema_pointer) = match map.get("args") {
                Some(args) => (args, format!("{ack_pointer}/args")),
                None => (ack, ack_pointer.clone()),
            };
            check_refs(root, schema, &schema_pointer)?;
            let (args, _) = tuple_args(root, schema, &schema_pointer)?;
            Ok(Some((args, ack_pointer)))
        }
        Some(_) => Err(ReadError::at(
            &ack_pointer,
            "`x-ack` is not an object (a schema, or `{args: schema}`)",
        )),
    }
}

/// Whether a reply is written by zod-sockets' documentation generator (its address says
/// the acknowledgement handler is the last argument).
fn is_zod_sockets_reply(reply: &Value) -> bool {
    reply.pointer("/address/location").and_then(Value::as_str) == Some("$message.payload#")
        && reply
            .pointer("/address/description")
            .and_then(Value::as_str)
            == Some("Last argument: acknowledgement handler")
}

/// The first non-empty string of `keys` in `value`.
fn first_text(value: &Value, keys: &[&str]) -> String {
    keys.iter()
        .map(|key| text(value, key).trim())
        .find(|t| !t.is_empty())
        .unwrap_or_default()
        .to_owned()
}

/// The messages of an operation or reply (`messages: [$ref...]`), resolved, with pointers.
fn message_list<'a>(
    root: &'a Value,
    holder: &'a Value,
    pointer: &str,
) -> Result<Vec<(&'a Value, String)>, ReadError> {
    let mut out = Vec::new();
    match holder.get("messages") {
        None => {}
        Some(Value::Array(items)) => {
            for (index, item) in items.iter().enumerate() {
                let (message, message_pointer) =
                    follow(root, item, &format!("{pointer}/messages/{index}"))?;
                if !message.is_object() {
                    return Err(ReadError::at(
                        &message_pointer,
                        "a message is not an object",
                    ));
                }
                out.push((message, message_pointer));
            }
        }
        Some(_) => return Err(ReadError::at(&format!("{pointer}/messages"), "not a list")),
    }
    Ok(out)
}

fn read_v2(root: &Value, perspective: Perspective) -> Result<Vec<NamespaceDoc>, ReadError> {
    let mut namespaces = Vec::new();
    let Some(channels) = root.get("channels") else {
        return Ok(namespaces);
    };
    let Value::Object(channels) = channels else {
        return Err(ReadError::at("/channels", "not an object"));
    };
    for (key, channel) in channels {
        let pointer = format!("/channels/{}", escape_pointer(key));
        let (channel, _) = follow(root, channel, &pointer)?;
        let path = match channel.get("x-socketio-namespace").and_then(Value::as_str) {
            Some(path) => path.to_owned(),
            None if key.starts_with('/') => key.clone(),
            None => format!("/{key}"),
        };
        let mut namespace = NamespaceDoc {
            path,
            title: None,
            docs: text(channel, "description").to_owned(),
            pointer: pointer.clone(),
            events: Vec::new(),
        };
        // `publish`: other applications (clients) send to the server; `subscribe`: they
        // receive from it.
        for (verb, sends) in [("publish", false), ("subscribe", true)] {
            let Some(operation) = channel.get(verb) else {
                continue;
            };
            let op_pointer = format!("{pointer}/{verb}");
            let (operation, op_pointer) = follow(root, operation, &op_pointer)?;
            let docs = first_text(operation, &["description", "summary"]);
            let Some(message) = operation.get("message") else {
                continue;
            };
            let message_pointer = format!("{op_pointer}/message");
            let (message, message_pointer) = follow(root, message, &message_pointer)?;
            let mut messages = Vec::new();
            match message.get("oneOf") {
                Some(Value::Array(items)) => {
                    for (index, item) in items.iter().enumerate() {
                        messages.push(follow(
                            root,
                            item,
                            &format!("{message_pointer}/oneOf/{index}"),
                        )?);
                    }
                }
                Some(_) => {
                    return Err(ReadError::at(
                        &format!("{message_pointer}/oneOf"),
                        "not a list",
                    ))
                }
                None => messages.push((message, message_pointer)),
            }
            for (message, message_pointer) in messages {
                let wire_name = first_text(message, &["x-socketio-event", "name"]);
                if wire_name.is_empty() {
                    return Err(ReadError::at(
                        &message_pointer,
                        "a message without `name` (its Socket.IO event name)",
                    ));
                }
                let payload_pointer = format!("{message_pointer}/payload");
                let (args, rest) = match message.get("payload") {
                    Some(payload) => {
                        check_refs(root, payload, &payload_pointer)?;
                        tuple_args(root, payload, &payload_pointer)?
                    }
                    None => (Vec::new(), None),
                };
                let (ack, ack_pointer) = match x_ack(root, message, &message_pointer)? {
                    Some((args, pointer)) => (Some(args), Some(pointer)),
                    None => (None, None),
                };
                let message_docs = first_text(message, &["description", "summary"]);
                namespace.events.push(EventDoc {
                    wire_name,
                    rust_name: None,
                    direction: perspective.direction(sends),
                    docs: if message_docs.is_empty() {
                        docs.clone()
                    } else {
                        message_docs
                    },
                    pointer: message_pointer,
                    args,
                    rest,
                    ack,
                    ack_pointer,
                    ack_result: false,
                });
            }
        }
        namespaces.push(namespace);
    }
    Ok(namespaces)
}
