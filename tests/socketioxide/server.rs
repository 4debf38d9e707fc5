//! socketioxide (the Rust Socket.IO server) in this process, with the handlers of the Node
//! peer that the shared groups (`groups.rs`) use, written against socketioxide's API:
//! `echo`, `ack`, `noAck`, `describe`, `getBinary`, `askForAck`, `emitN`,
//! `emitBinaryThenText`, `getId`, `getTransport`, `disconnectMe`, in the namespaces `/`, `/foo` and `/bar`; `/no` refuses every socket.

use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::{SerializeMap, SerializeSeq, Serializer};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use socketioxide::adapter::Adapter;
use socketioxide::extract::{AckSender, Data, SocketRef};
use socketioxide::handler::{ConnectHandler as _, FromMessageParts};
use socketioxide::socket::Socket;
use socketioxide::{ParserConfig, SocketIo};

/// A payload value that keeps binary data binary (socketioxide reads a binary attachment
/// into a `serde_json::Value` as a list of numbers): what the handlers echo and describe.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Dynamic {
    /// `null`
    Null,
    /// A boolean.
    Bool(bool),
    /// A number.
    Number(serde_json::Number),
    /// A string.
    Str(String),
    /// Binary data (an attachment, or a msgpack `bin`).
    Bin(Bytes),
    /// An array.
    List(Vec<Dynamic>),
    /// An object, in its order.
    Map(Vec<(String, Dynamic)>),
}

impl Dynamic {
    /// As the Node peer's `describe` shows it: binary data as `{"$binary": "<hex>"}`.
    pub(crate) fn described(&self) -> Value {
        match self {
            Dynamic::Null => Value::Null,
            Dynamic::Bool(b) => Value::Bool(*b),
            Dynamic::Number(n) => Value::Number(n.clone()),
            Dynamic::Str(s) => Value::String(s.clone()),
            Dynamic::Bin(b) => {
                let hex: String = b.iter().map(|byte| format!("{byte:02x}")).collect();
                json!({ "$binary": hex })
            }
            Dynamic::List(items) => items.iter().map(Dynamic::described).collect(),
            Dynamic::Map(entries) => Value::Object(
                entries
                    .iter()
                    .map(|(k, v)| (k.clone(), v.described()))
                    .collect(),
            ),
        }
    }
}

impl Serialize for Dynamic {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Dynamic::Null => serializer.serialize_unit(),
            Dynamic::Bool(b) => serializer.serialize_bool(*b),
            Dynamic::Number(n) => n.serialize(serializer),
            Dynamic::Str(s) => serializer.serialize_str(s),
            Dynamic::Bin(b) => serializer.serialize_bytes(b),
            Dynamic::List(items) => {
                let mut seq = serializer.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(item)?;
                }
                seq.end()
            }
            Dynamic::Map(entries) => {
                let mut map = serializer.serialize_map(Some(entries.len()))?;
                for (k, v) in entries {
                    map.serialize_entry(k, v)?;
                }
                map.end()
            }
        }
    }
}

impl<'de> Deserialize<'de> for Dynamic {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct DynamicVisitor;
        impl<'de> Visitor<'de> for DynamicVisitor {
            type Value = Dynamic;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any value")
            }
            fn visit_unit<E: de::Error>(self) -> Result<Dynamic, E> {
                Ok(Dynamic::Null)
            }
            fn visit_none<E: de::Error>(self) -> Result<Dynamic, E> {
                Ok(Dynamic::Null)
            }
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Dynamic, D::Error> {
                Dynamic::deserialize(d)
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Dynamic, E> {
                Ok(Dynamic::Bool(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Dynamic, E> {
                Ok(Dynamic::Number(v.into()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Dynamic, E> {
                Ok(Dynamic::Number(v.into()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Dynamic, E> {
                Ok(serde_json::Number::from_f64(v).map_or(Dynamic::Null, Dynamic::Number))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Dynamic, E> {
                Ok(Dynamic::Str(v.to_owned()))
            }
            fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Dynamic, E> {
                Ok(Dynamic::Bin(Bytes::copy_from_slice(v)))
            }
            fn visit_byte_buf<E: de::Error>(self, v: Vec<u8>) -> Result<Dynamic, E> {
                Ok(Dynamic::Bin(Bytes::from(v)))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Dynamic, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element()? {
                    items.push(item);
                }
                Ok(Dynamic::List(items))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Dynamic, A::Error> {
                let mut entries = Vec::new();
                while let Some(entry) = map.next_entry()? {
                    entries.push(entry);
                }
                Ok(Dynamic::Map(entries))
            }
        }
        deserializer.deserialize_any(DynamicVisitor)
    }
}

/// Every argument of an event or ack: socketioxide deserializes a type that asks for a
/// tuple from all the arguments, anything else from the first one.
pub(crate) struct Args(Vec<Dynamic>);

impl<'de> Deserialize<'de> for Args {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ArgsVisitor;
        impl<'de> Visitor<'de> for ArgsVisitor {
            type Value = Args;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("the arguments")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Args, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element()? {
                    items.push(item);
                }
                Ok(Args(items))
            }
        }
        deserializer.deserialize_tuple(usize::MAX, ArgsVisitor)
    }
}

/// A socketioxide server on a free loopback port; stopped when dropped.
pub(crate) struct SocketioxideServer {
    addr: SocketAddr,
    msgpack: bool,
    task: tokio::task::JoinHandle<()>,
}

impl fmt::Debug for SocketioxideServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SocketioxideServer")
            .field("addr", &self.addr)
            .finish()
    }
}

impl SocketioxideServer {
    /// Starts the server, with socketioxide's msgpack parser when `msgpack` is true.
    pub(crate) async fn start(msgpack: bool) -> SocketioxideServer {
        // socketioxide drops what a socket emits past 128 packets not yet written (`emit()`
        // errs): the groups' bursts of 200 need more room.
        let builder = SocketIo::builder().max_buffer_size(4096);
        let (layer, io) = match msgpack {
            true => builder.with_parser(ParserConfig::msgpack()).build_layer(),
            false => builder.build_layer(),
        };
        // socketioxide sends the CONNECT answer before it runs the connect handler, so
        // events a client emits at once could find no handler yet: the handlers are
        // installed by a middleware, which runs before the answer.
        for nsp in ["/", "/foo", "/bar"] {
            io.ns(nsp, (async || {}).with(install));
        }
        let refuse = async || Err::<(), _>("Auth failed (custom namespace)");
        io.ns("/no", (async || {}).with(refuse));
        let app = axum::Router::new().layer(layer);
        let listener = match tokio::net::TcpListener::bind("127.0.0.1:0").await {
            Ok(listener) => listener,
            Err(e) => panic!("cannot bind a loopback port for socketioxide: {e}"),
        };
        let addr = match listener.local_addr() {
            Ok(addr) => addr,
            Err(e) => panic!("no local address: {e}"),
        };
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        SocketioxideServer {
            addr,
            msgpack,
            task,
        }
    }

    /// The listening address.
    pub(crate) fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Whether it uses the msgpack parser.
    pub(crate) fn msgpack(&self) -> bool {
        self.msgpack
    }
}

impl Drop for SocketioxideServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The handlers every namespace gets (the Node peer's, same names and behaviour).
async fn install(socket: SocketRef) -> Result<(), std::convert::Infallible> {
    // echo: acks with the arguments, or emits them back as `echo-back`.
    socket.on(
        "echo",
        async |asked: Asked, socket: SocketRef, Data::<Args>(Args(args)), ack: AckSender| {
            ready(&socket).await;
            let _ = match ack_or_emit(asked, socket, ack, "echo-back") {
                Reply::Ack(ack) => send_spread(ack, &args),
                Reply::Emit(socket, event) => emit_spread(&socket, event, &args),
            };
        },
    );
    socket.on(
        "ack",
        async |socket: SocketRef, Data::<Args>(Args(args)), ack: AckSender| {
            ready(&socket).await;
            let _ = send_spread(ack, &args);
        },
    );
    socket.on("noAck", async || {});
    socket.on(
        "describe",
        async |asked: Asked, socket: SocketRef, Data::<Args>(Args(args)), ack: AckSender| {
            ready(&socket).await;
            let described: Vec<Value> = args.iter().map(Dynamic::described).collect();
            let _ = match ack_or_emit(asked, socket, ack, "described") {
                Reply::Ack(ack) => ack.send(&(described,)).map_err(|_| ()),
                Reply::Emit(socket, event) => socket.emit(event, &(described,)).map_err(|_| ()),
            };
        },
    );
    socket.on(
        "getBinary",
        async |asked: Asked, socket: SocketRef, ack: AckSender| {
            ready(&socket).await;
            let payload = (Bytes::from_static(b"asdfasdf"), json_with_bins(), "plain");
            let _ = match ack_or_emit(asked, socket, ack, "binary-data") {
                Reply::Ack(ack) => ack.send(&payload).map_err(|_| ()),
                Reply::Emit(socket, event) => socket.emit(event, &payload).map_err(|_| ()),
            };
        },
    );
    socket.on("getId", async |socket: SocketRef, ack: AckSender| {
        ready(&socket).await;
        let _ = ack.send(&socket.id.to_string());
    });
    socket.on("getTransport", async |socket: SocketRef, ack: AckSender| {
        ready(&socket).await;
        let name = match socket.transport_type() {
            socketioxide::TransportType::Polling => "polling",
            socketioxide::TransportType::Websocket => "websocket",
        };
        let _ = ack.send(&name);
    });
    // emitN({n, event = "num", binary = false}): emits `event` with 0..n-1 (and a byte
    // each), in one handler, so in order; acks n.
    socket.on(
        "emitN",
        async |socket: SocketRef, Data::<Value>(options), ack: AckSender| {
            ready(&socket).await;
            let n = options["n"].as_u64().unwrap_or(0).min(100_000);
            let event = options["event"].as_str().unwrap_or("num").to_owned();
            let binary = options["binary"].as_bool().unwrap_or(false);
            for i in 0..n {
                let _ = match binary {
                    true => socket.emit(event.clone(), &(i, Bytes::from(vec![i as u8]))),
                    false => socket.emit(event.clone(), &(i,)),
                };
            }
            let _ = ack.send(&n);
        },
    );
    // emitBinaryThenText: four `seq` events that must arrive in this order.
    socket.on("emitBinaryThenText", async |socket: SocketRef| {
        ready(&socket).await;
        let _ = socket.emit("seq", &(1, Bytes::from_static(&[1])));
        let _ = socket.emit("seq", &(2, "text"));
        let bin = Dynamic::Map(vec![(
            "b".into(),
            Dynamic::Bin(Bytes::from_static(&[3, 3])),
        )]);
        let _ = socket.emit("seq", &(3, bin));
        let _ = socket.emit("seq", &(4, "end"));
    });
    socket.on("disconnectMe", async |socket: SocketRef| {
        ready(&socket).await;
        let _ = socket.disconnect();
    });
    // askForAck({timeout, event = "ask", args = []}): asks the client for an ack, then emits
    // `askResult` with {ok, answer | error} and acks the caller with it.
    socket.on(
        "askForAck",
        async |socket: SocketRef, Data::<Value>(options), ack: AckSender| {
            ready(&socket).await;
            let event = options["event"].as_str().unwrap_or("ask").to_owned();
            let args: Vec<Value> =
                serde_json::from_value(options["args"].clone()).unwrap_or_default();
            let timeout = options["timeout"].as_u64().map(Duration::from_millis);
            let operators = socket.timeout(timeout.unwrap_or(Duration::from_secs(5)));
            let result = match operators.emit_with_ack::<_, Args>(event, &Spread(args)) {
                Ok(answer) => match answer.await {
                    Ok(Args(answer)) => json!({
                        "ok": true,
                        "answer": answer.iter().map(Dynamic::described).collect::<Vec<_>>(),
                    }),
                    Err(e) => json!({"ok": false, "error": e.to_string()}),
                },
                Err(e) => json!({"ok": false, "error": e.to_string()}),
            };
            let _ = socket.emit("askResult", &result);
            let _ = ack.send(&result);
        },
    );
    Ok(())
}

/// Waits until socketioxide marks the socket connected. It sends the CONNECT answer first
/// and sets the flag after, so an event the client emits at once can be handled in between,
/// when every `emit()` and ack fails with `Closed`; the flag follows within microseconds.
async fn ready(socket: &SocketRef) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(1);
    while !socket.connected() && tokio::time::Instant::now() < deadline {
        tokio::task::yield_now().await;
    }
}

/// The nested payload of `getBinary`, as the Node peer builds it.
fn json_with_bins() -> Dynamic {
    let bin = |b: &'static [u8]| Dynamic::Bin(Bytes::from_static(b));
    Dynamic::Map(vec![
        ("text".into(), Dynamic::Str("nested".into())),
        (
            "inner".into(),
            Dynamic::Map(vec![("bytes".into(), bin(&[1, 2, 3]))]),
        ),
        (
            "list".into(),
            Dynamic::List(vec![bin(&[4, 5]), Dynamic::Str("x".into()), bin(&[])]),
        ),
    ])
}

enum Reply {
    Ack(AckSender),
    Emit(SocketRef, &'static str),
}

/// Whether the client asked for an ack (socketioxide's `AckSender` does not tell).
struct Asked(bool);

impl<A: Adapter> FromMessageParts<A> for Asked {
    type Error = std::convert::Infallible;
    fn from_message_parts(
        _: &Arc<Socket<A>>,
        _: &mut socketioxide::handler::Value,
        ack_id: &Option<i64>,
    ) -> Result<Self, Self::Error> {
        Ok(Asked(ack_id.is_some()))
    }
}

/// The reply goes by the ack when the client asked for one, else by an event (the Node
/// peer's rule).
fn ack_or_emit(asked: Asked, socket: SocketRef, ack: AckSender, event: &'static str) -> Reply {
    match asked.0 {
        true => Reply::Ack(ack),
        false => Reply::Emit(socket, event),
    }
}

/// A list of arguments, spread as socketioxide spreads a tuple: several arguments.
struct Spread<T>(Vec<T>);

impl<T: Serialize> Serialize for Spread<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeTuple;
        let mut tuple = serializer.serialize_tuple(self.0.len())?;
        for item in &self.0 {
            tuple.serialize_element(item)?;
        }
        tuple.end()
    }
}

fn send_spread(ack: AckSender, args: &[Dynamic]) -> Result<(), ()> {
    ack.send(&Spread(args.to_vec())).map_err(|_| ())
}

fn emit_spread(socket: &SocketRef, event: &'static str, args: &[Dynamic]) -> Result<(), ()> {
    socket.emit(event, &Spread(args.to_vec())).map_err(|_| ())
}
