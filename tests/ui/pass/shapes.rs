//! Every event shape, and the types of the generated API.

use std::time::Duration;

use bytes::Bytes;
use ferrio::schema::{AckDef, Direction};
use ferrio::{Acked, EventContract, EventStream, ListenerId, Manager, Responder, Socket};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, JsonSchema)]
pub struct ChatMessage {
    pub user: String,
    pub text: String,
}

#[derive(Serialize, Deserialize, JsonSchema)]
pub struct RoomInfo {
    pub name: String,
    pub members: u32,
}

#[derive(Serialize, Deserialize, JsonSchema)]
pub struct Upload {
    pub name: String,
    #[schemars(with = "Vec<u8>")]
    pub data: Bytes,
}

/// The chat namespace.
#[ferrio::socketio_events(namespace = "/chat")]
pub trait ChatEvents {
    /// Fire and forget, no arguments.
    #[emit]
    fn ping();
    /// Fire and forget, one argument.
    #[emit]
    fn hello(name: String);
    /// An ack with a value.
    #[emit]
    fn join(room: String) -> RoomInfo;
    /// Another wire name, several arguments, an empty ack.
    #[emit(name = "chat message")]
    fn say(room: String, text: String) -> ferrio::Acked;
    /// An empty ack spelled through the import.
    #[emit]
    fn leave(room: String) -> Acked;
    /// Binary data, an explicit unit return (no ack).
    #[emit]
    fn upload(file: Upload) -> ();
    /// Server push.
    #[on]
    fn message(msg: ChatMessage);
    /// Server push, several arguments.
    #[on]
    fn typing(user: String, active: bool);
    /// Server push, no arguments.
    #[on]
    fn tick();
    /// The server asks; the listener's output is the ack.
    #[on]
    fn poll(question: String, choices: Vec<String>) -> u8;
    /// The server asks for an empty ack.
    #[on(name = "are-you-there")]
    fn are_you_there() -> Acked;
    /// The same wire name in the other direction is another event.
    #[on(name = "hello")]
    fn hello_back(name: String);
    /// An ack with several values: `callback(n, text)`.
    #[emit]
    fn roll(sides: u8) -> (u8, String);
    /// Node's `callback(err, data)`.
    #[emit]
    fn find(id: u32) -> Result<RoomInfo, String>;
    /// One ack value that is a pair.
    #[emit]
    fn pair() -> ((u8, u8),);
    /// The server asks for several values.
    #[on]
    fn vote(question: String) -> (bool, String);
    /// The server asks, Node-style.
    #[on]
    fn lookup(id: u32) -> std::result::Result<u32, String>;
}

/// camelCase wire names.
#[ferrio::socketio_events(rename_all = "camelCase")]
pub(crate) trait Presence {
    #[emit]
    fn set_status(status: String);
    #[on]
    fn user_joined(r#type: String);
    #[on(name = "explicit_name")]
    fn user_left(user: String);
}

// The generated signatures, checked by the compiler; never run.
#[allow(dead_code, unused_variables)]
async fn api(manager: Manager, socket: Socket) -> Result<(), ferrio::Error> {
    let chat: ChatEventsSocket = ChatEventsSocket::connect(&manager).await?;
    let chat = ChatEventsSocket::connect_with_auth(&manager, serde_json::json!({ "token": "t" })).await?;
    let built = ChatEventsSocket::build(&manager);
    let chat = ChatEventsSocket::from_socket(socket);
    let _: &Socket = chat.socket();
    let _: &'static str = ChatEventsSocket::NAMESPACE;
    let copy: ChatEventsSocket = chat.clone();
    let _ = format!("{copy:?} {:?}", ChatEvents);

    let (): () = chat.emit_ping().await?;
    let (): () = chat.emit_hello("ferris".to_owned()).await?;
    let _: RoomInfo = chat.emit_join("rust".to_owned()).await?;
    let Acked = chat.timeout(Duration::from_secs(1)).emit_say("rust".into(), "hi".into()).await?;
    let Acked = chat.volatile().emit_leave("rust".into()).await?;
    chat.emit_upload(Upload { name: "a".into(), data: Bytes::from_static(b"\x00\x01") }).await?;

    let _: ListenerId = chat.on_message(|msg: ChatMessage| async move { println!("{}", msg.text) });
    let _: ListenerId = chat.on_typing(|user: String, active: bool| async move {});
    let _: ListenerId = chat.on_tick(|| async {});
    let _: ListenerId = chat.on_poll(|question: String, choices: Vec<String>| async move {
        choices.len() as u8
    });
    let _: ListenerId = chat.on_are_you_there(|| async { Acked });
    let _: ListenerId = chat.on_hello_back(|name| async move { drop(name) });
    let _: ListenerId = chat.on_payload_error(|error: ferrio::PayloadError| async move {
        eprintln!("{} {}", error.event, error.error);
    });

    let (_, _): (u8, String) = chat.emit_roll(6).await?;
    let _: Result<RoomInfo, String> = chat.emit_find(1).await?;
    let ((_, _),): ((u8, u8),) = chat.emit_pair().await?;
    let _: ListenerId = chat.on_vote(|question: String| async move { (true, question) });
    let _: ListenerId = chat.on_lookup(|id: u32| async move {
        if id == 0 { Err("no such id".to_owned()) } else { Ok(id) }
    });
    let mut votes: EventStream<(String, Responder<(bool, String)>)> = chat.vote_stream();
    if let Some((question, responder)) = votes.next().await {
        responder.respond((false, question)).await?;
    }
    let mut lookups: EventStream<(u32, Responder<Result<u32, String>>)> = chat.lookup_stream();
    if let Some((id, responder)) = lookups.next().await {
        responder.respond(Err(format!("{id}?"))).await?;
    }

    let _: EventStream<ChatMessage> = chat.message_stream();
    let _: EventStream<(String, bool)> = chat.typing_stream();
    let _: EventStream<()> = chat.tick_stream();
    let mut polls: EventStream<((String, Vec<String>), Responder<u8>)> = chat.poll_stream();
    if let Some(((question, choices), responder)) = polls.next().await {
        responder.respond(0).await?;
    }
    let _: EventStream<((), Responder<Acked>)> = chat.are_you_there_stream();

    let presence = PresenceSocket::from_socket(chat.socket().clone());
    presence.emit_set_status("away".into()).await?;
    presence.on_user_joined(|kind| async move { drop(kind) });
    Ok(())
}

fn main() {
    let contract = ChatEvents::describe(&mut schemars::SchemaGenerator::default());
    assert_eq!(contract.name, "ChatEvents");
    assert_eq!(contract.namespace, "/chat");
    assert_eq!(ChatEventsSocket::NAMESPACE, "/chat");
    assert_eq!(contract.docs, "The chat namespace.");
    let shapes: Vec<(&str, &str, Direction, Vec<&str>, &str)> = contract
        .events
        .iter()
        .map(|e| {
            let ack = e.ack.kind();
            let args = e.args.iter().map(|a| a.name.as_str()).collect();
            (e.wire_name.as_str(), e.rust_name.as_str(), e.direction, args, ack)
        })
        .collect();
    use Direction::{Emit, On};
    assert_eq!(
        shapes,
        vec![
            ("ping", "ping", Emit, vec![], "none"),
            ("hello", "hello", Emit, vec!["name"], "none"),
            ("join", "join", Emit, vec!["room"], "value"),
            ("chat message", "say", Emit, vec!["room", "text"], "empty"),
            ("leave", "leave", Emit, vec!["room"], "empty"),
            ("upload", "upload", Emit, vec!["file"], "none"),
            ("message", "message", On, vec!["msg"], "none"),
            ("typing", "typing", On, vec!["user", "active"], "none"),
            ("tick", "tick", On, vec![], "none"),
            ("poll", "poll", On, vec!["question", "choices"], "value"),
            ("are-you-there", "are_you_there", On, vec![], "empty"),
            ("hello", "hello_back", On, vec!["name"], "none"),
            ("roll", "roll", Emit, vec!["sides"], "values"),
            ("find", "find", Emit, vec!["id"], "result"),
            ("pair", "pair", Emit, vec![], "values"),
            ("vote", "vote", On, vec!["question"], "values"),
            ("lookup", "lookup", On, vec!["id"], "result"),
        ]
    );
    match &contract.events[12].ack {
        AckDef::Values(args) => {
            let names: Vec<&str> = args.iter().map(|a| a.name.as_str()).collect();
            assert_eq!(names, ["ack0", "ack1"]);
        }
        other => panic!("roll: {other:?}"),
    }
    assert!(matches!(contract.events[13].ack, AckDef::Result { .. }));
    match &contract.events[14].ack {
        AckDef::Values(args) => assert_eq!(args.len(), 1),
        other => panic!("pair: {other:?}"),
    }
    assert_eq!(contract.events[3].docs, "Another wire name, several arguments, an empty ack.");

    let presence = Presence::describe(&mut schemars::SchemaGenerator::default());
    assert_eq!(presence.namespace, "/");
    let names: Vec<(&str, &str)> =
        presence.events.iter().map(|e| (e.wire_name.as_str(), e.rust_name.as_str())).collect();
    assert_eq!(
        names,
        [("setStatus", "set_status"), ("userJoined", "user_joined"), ("explicit_name", "user_left")]
    );
    assert_eq!(presence.events[1].args[0].name, "type");
}
