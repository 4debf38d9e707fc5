//! Typed events: a chat declared as a trait, two typed clients, every event shape.
//!
//! ```sh
//! cargo run --example chat                          # against an embedded socketioxide server
//! cargo run --example chat -- http://127.0.0.1:3000 # against a server with the same /chat events
//! ```
//!
//! The `ChatEvents` trait (in `common/chat_contract.rs`, shared with the export command
//! `export_schema` and the suites) is the whole contract: `#[ferrio::socketio_events]` turns it
//! into `ChatEventsSocket`, whose methods take and return the declared types, and into the
//! `ChatEvents` marker that describes the events (JSON Schema, AsyncAPI, TypeScript through
//! `ferrio::schema`). The embedded server (module `embedded_server`, socketioxide in this
//! process on a free loopback port) is the reference implementation of the other side.
//!
//! Alice and Bob connect, and the conversation shows each shape: fire and forget (`typing`),
//! an ack with a value (`join`), an empty ack under another wire name (`say` is
//! `"chat message"` on the wire), several arguments (`say`, `user joined`), server pushes
//! (`message`, `user joined`, `typing`, `file`), a binary field (`SharedFile::data` travels
//! as a binary attachment), and the server asking a client for an ack (`question`, answered
//! by the listener's return value).

use std::time::Duration;

use bytes::Bytes;
use ferrio::schema::schemars;
use ferrio::{Acked, EventContract, Manager};
use tokio::sync::mpsc;

// The contract, shared with the export command and the suites (`pub`: this program uses only
// part of it).
#[path = "common/chat_contract.rs"]
pub mod chat_contract;

use chat_contract::{Auth, ChatEvents, ChatEventsSocket, SharedFile};

/// How long any one step may take.
const STEP: Duration = Duration::from_secs(5);

/// One chat client: the typed socket and what its listeners heard.
struct Client {
    name: &'static str,
    chat: ChatEventsSocket,
    heard: mpsc::UnboundedReceiver<String>,
}

impl Client {
    /// Connects with listeners for every server push, registered before connecting.
    async fn connect(url: &str, name: &'static str) -> Result<Client, Box<dyn std::error::Error>> {
        let manager = Manager::builder(url).ack_timeout(STEP).build()?;
        // Built, not connected yet, with the auth the server reads the name from; the
        // listeners below are in place before any event can arrive.
        let socket = manager
            .socket(ChatEventsSocket::NAMESPACE)
            .auth(Auth { name: name.into() })
            .build();
        let chat = ChatEventsSocket::from_socket(socket);
        let (tx, heard) = mpsc::unbounded_channel();

        let out = tx.clone();
        chat.on_message(move |msg| {
            let out = out.clone();
            async move {
                let _ = out.send(format!("[{}] {}: {}", msg.room, msg.user, msg.text));
            }
        });
        let out = tx.clone();
        chat.on_user_joined(move |user, room| {
            let out = out.clone();
            async move {
                let _ = out.send(format!("[{room}] {user} joined"));
            }
        });
        let out = tx.clone();
        chat.on_someone_typing(move |user, room| {
            let out = out.clone();
            async move {
                let _ = out.send(format!("[{room}] {user} is typing..."));
            }
        });
        let out = tx.clone();
        chat.on_file(move |from, file| {
            let out = out.clone();
            async move {
                let _ = out.send(format!(
                    "{from} shared {} ({} bytes: {:?})",
                    file.name,
                    file.data.len(),
                    String::from_utf8_lossy(&file.data)
                ));
            }
        });
        let out = tx.clone();
        chat.on_question(move |from, question| {
            let out = out.clone();
            async move {
                let answer = if question.contains("tabs") {
                    "spaces, obviously"
                } else {
                    "no idea"
                };
                let _ = out.send(format!("{from} asks {question:?}; answering {answer:?}"));
                answer.to_owned()
            }
        });
        chat.on_payload_error(|error| async move { eprintln!("unexpected payload: {error}") });

        tokio::time::timeout(STEP, chat.socket().connect()).await??;
        Ok(Client { name, chat, heard })
    }

    /// Prints the next thing this client's listeners heard.
    async fn hears(&mut self) -> Result<(), Box<dyn std::error::Error>> {
        let line = tokio::time::timeout(STEP, self.heard.recv())
            .await?
            .ok_or("the listeners are gone")?;
        println!("    {} hears: {line}", self.name);
        Ok(())
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = match std::env::args().nth(1) {
        Some(url) => url,
        None => embedded_server::start().await?,
    };
    println!("chat server: {url}");
    let contract = ChatEvents::describe(&mut schemars::SchemaGenerator::default());
    println!("contract {} in {}:", contract.name, contract.namespace);
    for event in &contract.events {
        let side = match event.direction {
            ferrio::schema::Direction::Emit => "client -> server",
            ferrio::schema::Direction::On => "server -> client",
        };
        println!("  {side}  {:?}", event.wire_name);
    }
    println!();

    let mut alice = Client::connect(&url, "alice").await?;
    let mut bob = Client::connect(&url, "bob").await?;

    // An ack with a value; the server pushes `user joined` (two arguments) to the room.
    let room = alice.chat.emit_join("rust".into()).await?;
    println!("alice joined {}: members {:?}", room.name, room.members);
    let room = bob.chat.emit_join("rust".into()).await?;
    println!("bob joined {}: members {:?}", room.name, room.members);
    alice.hears().await?;

    // Fire and forget; the server pushes `typing` to the others.
    bob.chat.emit_typing("rust".into()).await?;
    println!("bob is typing (no ack)");
    alice.hears().await?;

    // Two arguments, an empty ack, another wire name ("chat message"); a push to Bob.
    let Acked = alice
        .chat
        .emit_say("rust".into(), "hi Bob, borrow checker happy today?".into())
        .await?;
    println!("alice's message was delivered (empty ack)");
    bob.hears().await?;

    // A binary field: the bytes travel as an attachment, both ways.
    let size = bob
        .chat
        .emit_share(
            "rust".into(),
            SharedFile {
                name: "notes.txt".into(),
                data: Bytes::from_static(b"lifetimes are fine"),
            },
        )
        .await?;
    println!("bob shared a file; the server got {size} bytes");
    alice.hears().await?;

    // The server asks Bob for an ack; his listener's return value answers it.
    let answers = alice
        .chat
        .timeout(STEP)
        .emit_ask("rust".into(), "tabs or spaces?".into())
        .await?;
    bob.hears().await?;
    println!("alice's question was answered: {answers:?}");

    alice.chat.socket().disconnect();
    bob.chat.socket().disconnect();
    println!("\ndone");
    Ok(())
}

/// The other side of the `ChatEvents` contract: a socketioxide server in this process.
mod embedded_server {
    use std::collections::HashMap;
    use std::sync::{Arc, Mutex};

    use futures_util::StreamExt;
    use socketioxide::extract::{AckSender, Data, SocketRef};
    use socketioxide::socket::Sid;
    use socketioxide::SocketIo;

    use crate::chat_contract::{Auth, ChatMessage, RoomInfo, SharedFile};

    /// Who is who: socket id -> the name given in the auth.
    type Names = Arc<Mutex<HashMap<Sid, String>>>;

    fn name_of(names: &Names, id: Sid) -> String {
        let names = names.lock().unwrap_or_else(|e| e.into_inner());
        names.get(&id).cloned().unwrap_or_else(|| id.to_string())
    }

    /// Starts the server on a free loopback port and returns its URL.
    pub(crate) async fn start() -> std::io::Result<String> {
        let (layer, io) = SocketIo::new_layer();
        let names = Names::default();
        io.ns(
            "/chat",
            async move |socket: SocketRef, Data::<Auth>(auth)| {
                names
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(socket.id, auth.name);

                let n = names.clone();
                socket.on(
                    "typing",
                    async move |socket: SocketRef, Data::<String>(room)| {
                        let user = name_of(&n, socket.id);
                        let _ = socket
                            .to(room.clone())
                            .emit("typing", &(&user, &room))
                            .await;
                    },
                );

                let n = names.clone();
                socket.on(
                    "join",
                    async move |socket: SocketRef, Data::<String>(room), ack: AckSender| {
                        let user = name_of(&n, socket.id);
                        let _ = socket
                            .to(room.clone())
                            .emit("user joined", &(&user, &room))
                            .await;
                        socket.join(room.clone());
                        let mut members: Vec<String> = socket
                            .within(room.clone())
                            .sockets()
                            .iter()
                            .map(|s| name_of(&n, s.id))
                            .collect();
                        members.sort();
                        let _ = ack.send(&RoomInfo {
                            name: room,
                            members,
                        });
                    },
                );

                let n = names.clone();
                socket.on(
                    "chat message",
                    async move |socket: SocketRef,
                                Data::<(String, String)>((room, text)),
                                ack: AckSender| {
                        let msg = ChatMessage {
                            room: room.clone(),
                            user: name_of(&n, socket.id),
                            text,
                        };
                        let _ = socket.to(room).emit("message", &msg).await;
                        let _ = ack.send(&());
                    },
                );

                let n = names.clone();
                socket.on(
                    "share",
                    async move |socket: SocketRef,
                                Data::<(String, SharedFile)>((room, file)),
                                ack: AckSender| {
                        let size = file.data.len() as u64;
                        let _ = socket
                            .to(room)
                            .emit("file", &(name_of(&n, socket.id), file))
                            .await;
                        let _ = ack.send(&size);
                    },
                );

                let n = names.clone();
                socket.on(
                    "ask",
                    async move |socket: SocketRef,
                                Data::<(String, String)>((room, question)),
                                ack: AckSender| {
                        let from = name_of(&n, socket.id);
                        let mut answers = Vec::new();
                        if let Ok(acks) = socket
                            .to(room)
                            .emit_with_ack::<_, String>("question", &(&from, &question))
                            .await
                        {
                            let mut acks = std::pin::pin!(acks);
                            while let Some((id, answer)) = acks.next().await {
                                if let Ok(answer) = answer {
                                    answers.push(format!("{}: {answer}", name_of(&n, id)));
                                }
                            }
                        }
                        let _ = ack.send(&answers);
                    },
                );
            },
        );
        let app = axum::Router::new().layer(layer);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}", listener.local_addr()?);
        tokio::spawn(async move { axum::serve(listener, app).await });
        Ok(url)
    }
}
