// The typo of an event name is a compile error, with the right name suggested.
#[ferrio::socketio_events(namespace = "/chat")]
pub trait ChatEvents {
    #[emit]
    fn hello(name: String);
}

async fn greet(chat: ChatEventsSocket) -> Result<(), ferrio::Error> {
    chat.emit_helo("ferris".to_owned()).await
}

fn main() {
    let _ = greet;
}
