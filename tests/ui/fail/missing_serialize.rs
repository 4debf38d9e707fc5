// A type the client sends must be Serialize; reported once, at the type.
#[derive(serde::Deserialize, schemars::JsonSchema)]
pub struct Message {
    pub text: String,
}

#[ferrio::socketio_events]
pub trait Chat {
    #[emit]
    fn say(room: String, message: Message);
    #[on]
    fn message(message: Message);
}

fn main() {}
