//! The README's "Typed events" example, kept compiling (copy it back when it changes).
#![allow(unused_variables, dead_code)]

use ferrio::{Acked, Manager};
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, schemars::JsonSchema)]
pub struct ChatMessage { pub user: String, pub text: String }

#[derive(Serialize, Deserialize, schemars::JsonSchema)]
pub struct RoomInfo { pub name: String, pub members: u32 }

/// The chat namespace.
#[ferrio::socketio_events(namespace = "/chat")]
pub trait ChatEvents {
    /// Say hello; fire and forget.
    #[emit] fn hello(name: String);
    /// Join a room; the server acks with the room's info.
    #[emit] fn join(room: String) -> RoomInfo;
    /// Another wire name, two arguments, an ack without value.
    #[emit(name = "chat message")] fn say(room: String, text: String) -> Acked;
    /// A message for this client.
    #[on] fn message(msg: ChatMessage);
    /// The server asks; the listener's output is the ack.
    #[on] fn poll(question: String) -> u8;
}

async fn chat(manager: &Manager) -> Result<(), ferrio::Error> {
    let chat = ChatEventsSocket::connect(manager).await?;     // the namespace comes from the trait
    chat.on_message(|msg| async move { println!("{}: {}", msg.user, msg.text) });
    chat.on_poll(|question| async move { 7 });                // 7 is the ack
    chat.emit_hello("ferris".into()).await?;                  // ["hello", "ferris"]
    let room: RoomInfo = chat.emit_join("rust".into()).await?;
    let Acked = chat.timeout(std::time::Duration::from_secs(1))
        .emit_say("rust".into(), "hi".into()).await?;         // ["chat message", "rust", "hi"]
    let _messages = chat.message_stream();                    // or as a Stream
    chat.on_payload_error(|e| async move { eprintln!("{e}") }); // payloads of the wrong type
    Ok(())
}

fn main() {}
