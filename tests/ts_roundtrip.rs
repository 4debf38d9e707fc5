//! The round trip across languages: a TypeScript socket.io server typed by the declarations
//! ferrio-schema exports from the chat contract, and the typed Rust client of that contract.
//!
//! The test installs `tests/ts-server/` from its lockfile (`npm ci`, when `node_modules` is
//! missing), writes the contract's declarations to `tests/ts-server/generated/events.d.ts`,
//! compiles `server.ts` with `tsc --strict` (a type error, or a `@ts-expect-error` line that
//! type-checks, fails the test), runs it with node on a free loopback port, and has two
//! `ChatEventsSocket` clients talk to it over every event shape of the contract: fire and
//! forget, an ack with a value, an empty ack, several arguments, server pushes, the server
//! asking a client for an ack, a binary field, renamed events, acks of several values both
//! ways and Node's `callback(err, data)` convention. Every wait has a deadline;
//! the server is stopped through its child handle (its stdin closes and it exits).

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use bytes::Bytes;
use ferrio::schema::TYPESCRIPT_FILE;
use ferrio::{Acked, Manager, PayloadError};
use ferrio_suite::peer::ensure_installed_in;
use ferrio_suite::{inbox, within_for, Inbox, NodeServer, STEP};
use tokio::process::Command;

// The contract, shared with the examples and the other suites (`pub`: this suite uses only
// part of it).
#[path = "../examples/common/chat_contract.rs"]
pub mod chat_contract;

use chat_contract::{Auth, ChatEventsSocket, ChatMessage, RoomInfo, SharedFile};

/// How long `tsc` may take to compile the server.
const COMPILE_DEADLINE: Duration = Duration::from_secs(120);
/// `tests/ts-server/`.
fn server_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/ts-server")
}

/// `node`, or `FERRIO_NODE` (as for the Node peer).
fn node() -> Command {
    ferrio_suite::require_node(false);
    Command::new(std::env::var_os("FERRIO_NODE").unwrap_or_else(|| "node".into()))
}

/// Writes the contract's TypeScript declarations to `generated/events.d.ts` (through a
/// temporary file, so a concurrent reader never sees half of it).
fn write_declarations(dir: &Path) {
    let generated = dir.join("generated");
    std::fs::create_dir_all(&generated).expect("create tests/ts-server/generated");
    let declarations = chat_contract::exporter().typescript(&chat_contract::export_options());
    let temporary = generated.join(format!(".{TYPESCRIPT_FILE}.{}", std::process::id()));
    std::fs::write(&temporary, declarations).expect("write the declarations");
    std::fs::rename(&temporary, generated.join(TYPESCRIPT_FILE))
        .expect("move the declarations in place");
}

/// `tsc -p tsconfig.json --strict` in `dir`: `dist/server.js`, or the compiler's messages.
async fn compile(dir: &Path) {
    let mut tsc = node();
    tsc.args([
        "node_modules/typescript/bin/tsc",
        "-p",
        "tsconfig.json",
        "--strict",
        "--pretty",
        "false",
    ])
    .current_dir(dir)
    .stdin(Stdio::null())
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .kill_on_drop(true);
    let child = tsc.spawn().expect("run tsc (is Node.js installed?)");
    let out = within_for(COMPILE_DEADLINE, "tsc", child.wait_with_output())
        .await
        .expect("wait for tsc");
    assert!(
        out.status.success(),
        "tsc --strict rejected tests/ts-server/server.ts against the exported declarations \
         ({}):\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// What a client's listeners heard: one variant per `#[on]` event of the contract.
#[derive(Debug)]
enum Heard {
    Message(ChatMessage),
    UserJoined(String, String),
    Typing(String, String),
    File(String, SharedFile),
    Question(String, String),
}

/// A typed client of the chat contract and what it heard.
struct Client {
    chat: ChatEventsSocket,
    heard: Inbox<Heard>,
    payload_errors: Inbox<String>,
}

impl Client {
    /// Connects as `name`, with a listener for every server push registered first; the
    /// listener of `question` answers with `answer`.
    async fn connect(url: &str, name: &'static str, answer: &'static str) -> Client {
        let manager = Manager::builder(url)
            .ack_timeout(STEP)
            .build()
            .expect("build the manager");
        let socket = manager
            .socket(ChatEventsSocket::NAMESPACE)
            .auth(Auth { name: name.into() })
            .build();
        let chat = ChatEventsSocket::from_socket(socket);
        let heard = inbox(format!("what {name} heard"));
        let payload_errors = inbox(format!("payload errors of {name}"));

        let out = heard.sender();
        chat.on_message(move |msg| {
            let _ = out.send(Heard::Message(msg));
            async {}
        });
        let out = heard.sender();
        chat.on_user_joined(move |user, room| {
            let _ = out.send(Heard::UserJoined(user, room));
            async {}
        });
        let out = heard.sender();
        chat.on_someone_typing(move |user, room| {
            let _ = out.send(Heard::Typing(user, room));
            async {}
        });
        let out = heard.sender();
        chat.on_file(move |from, file| {
            let _ = out.send(Heard::File(from, file));
            async {}
        });
        let out = heard.sender();
        chat.on_question(move |from, question| {
            let _ = out.send(Heard::Question(from, question));
            async move { answer.to_owned() }
        });
        let busy = name == "bob";
        chat.on_status(move || async move { (busy, format!("{name} is here")) });
        let out = payload_errors.sender();
        chat.on_payload_error(move |error: PayloadError| {
            let _ = out.send(error.to_string());
            async {}
        });

        within_for(STEP, format!("{name} to connect"), chat.socket().connect())
            .await
            .unwrap_or_else(|e| panic!("{name} cannot connect: {e}"));
        Client {
            chat,
            heard,
            payload_errors,
        }
    }
}

#[tokio::test]
async fn the_typescript_server_typed_by_the_export_talks_to_the_typed_rust_client() {
    let dir = server_dir();
    if let Err(error) = ensure_installed_in(&dir).await {
        panic!("cannot install tests/ts-server: {error}");
    }
    write_declarations(&dir);
    compile(&dir).await;
    let server = NodeServer::start("TypeScript server", &dir, &["dist/server.js"]).await;
    let url = server.url();

    let mut alice = Client::connect(&url, "alice", "no idea").await;
    let mut bob = Client::connect(&url, "bob", "spaces, obviously").await;

    // An ack with a value (`RoomInfo`); the room hears `user joined` (renamed, two arguments).
    let room: RoomInfo = within_for(STEP, "alice's join", alice.chat.emit_join("rust".into()))
        .await
        .expect("alice joins");
    assert_eq!(
        (room.name.as_str(), room.members),
        ("rust", vec!["alice".to_owned()])
    );
    let room = within_for(STEP, "bob's join", bob.chat.emit_join("rust".into()))
        .await
        .expect("bob joins");
    assert_eq!(room.members, ["alice", "bob"]);
    match alice.heard.next(STEP).await {
        Heard::UserJoined(user, room) => {
            assert_eq!((user.as_str(), room.as_str()), ("bob", "rust"))
        }
        other => panic!("alice expected `user joined`, heard {other:?}"),
    }

    // Fire and forget, both ways; the other hears `typing` (the same wire name, pushed).
    within_for(STEP, "bob's typing", bob.chat.emit_typing("rust".into()))
        .await
        .expect("bob types");
    match alice.heard.next(STEP).await {
        Heard::Typing(user, room) => assert_eq!((user.as_str(), room.as_str()), ("bob", "rust")),
        other => panic!("alice expected `typing`, heard {other:?}"),
    }
    within_for(
        STEP,
        "alice's typing",
        alice.chat.emit_typing("rust".into()),
    )
    .await
    .expect("alice types");
    match bob.heard.next(STEP).await {
        Heard::Typing(user, room) => assert_eq!((user.as_str(), room.as_str()), ("alice", "rust")),
        other => panic!("bob expected `typing`, heard {other:?}"),
    }

    // "chat message" (renamed), two arguments, an empty ack; the server pushes a `ChatMessage`.
    let text = "héllo Bob 👋, borrow checker happy today?";
    let Acked = within_for(
        STEP,
        "alice's chat message",
        alice
            .chat
            .timeout(STEP)
            .emit_say("rust".into(), text.into()),
    )
    .await
    .expect("alice's message is acked");
    match bob.heard.next(STEP).await {
        Heard::Message(msg) => {
            assert_eq!(
                (msg.room.as_str(), msg.user.as_str(), msg.text.as_str()),
                ("rust", "alice", text)
            );
        }
        other => panic!("bob expected `message`, heard {other:?}"),
    }

    // A binary field: every byte value travels as an attachment to the TypeScript server
    // (which acks with the `byteLength` it got, a `u64`) and on to Alice.
    let data: Bytes = (0..=255u8).collect::<Vec<u8>>().into();
    let size = within_for(
        STEP,
        "bob's share",
        bob.chat.emit_share(
            "rust".into(),
            SharedFile {
                name: "bytes.bin".into(),
                data: data.clone(),
            },
        ),
    )
    .await
    .expect("bob's file is acked");
    assert_eq!(size, 256);
    match alice.heard.next(STEP).await {
        Heard::File(from, file) => {
            assert_eq!((from.as_str(), file.name.as_str()), ("bob", "bytes.bin"));
            assert_eq!(file.data, data);
        }
        other => panic!("alice expected `file`, heard {other:?}"),
    }

    // The server asks Bob for an ack (`question`, answered by his listener's return value)
    // and acks Alice's `ask` with the answers.
    let answers = within_for(
        STEP * 2,
        "alice's ask",
        alice
            .chat
            .timeout(STEP * 2)
            .emit_ask("rust".into(), "tabs or spaces?".into()),
    )
    .await
    .expect("alice's question is answered");
    assert_eq!(answers, ["bob: spaces, obviously"]);
    match bob.heard.next(STEP).await {
        Heard::Question(from, question) => {
            assert_eq!(
                (from.as_str(), question.as_str()),
                ("alice", "tabs or spaces?")
            );
        }
        other => panic!("bob expected `question`, heard {other:?}"),
    }

    // Node's `(err, data)`: a room with members is `Ok`, an empty one the server's error.
    let found = within_for(STEP, "bob's lookup", bob.chat.emit_lookup("rust".into()))
        .await
        .expect("bob's lookup is acked");
    let found = found.expect("the room exists");
    assert_eq!(found.members, ["alice", "bob"]);
    let missing = within_for(STEP, "bob's lookup", bob.chat.emit_lookup("nowhere".into()))
        .await
        .expect("bob's second lookup is acked");
    assert_eq!(missing.map(|r| r.name), Err("no such room".to_owned()));

    // Acks of several values both ways: the server asks each client's `status` (two values
    // each; Bob is busy) and acks `stats` with two numbers.
    let (clients, busy) = within_for(STEP * 2, "alice's stats", alice.chat.emit_stats())
        .await
        .expect("alice's stats are acked");
    assert_eq!((clients, busy), (2, 1));

    // Nothing else was pushed, and every payload had the declared types.
    for client in [&mut alice, &mut bob] {
        let name = client.heard.name().to_owned();
        assert!(client.heard.drain().is_empty(), "{name}: unexpected pushes");
        let errors = client.payload_errors.drain();
        assert!(errors.is_empty(), "payloads of the wrong type: {errors:?}");
        client.chat.socket().disconnect();
    }

    let status = server.stop().await;
    assert!(
        status.success(),
        "the TypeScript server exited with {status}"
    );
}
