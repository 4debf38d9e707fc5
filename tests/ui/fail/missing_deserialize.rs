// A type the client receives must be Deserialize: an `#[on]` argument, an `#[emit]` ack.
#[derive(serde::Serialize, schemars::JsonSchema)]
pub struct Reply {
    pub text: String,
}

#[ferrio::socketio_events]
pub trait Chat {
    #[emit]
    fn ask(question: String) -> Reply;
    #[on]
    fn reply(reply: Reply);
}

fn main() {}
