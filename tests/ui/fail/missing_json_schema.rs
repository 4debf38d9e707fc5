// Every payload type must be JsonSchema: the contract describes it.
#[derive(serde::Serialize, serde::Deserialize)]
pub struct Message {
    pub text: String,
}

#[ferrio::socketio_events]
pub trait Chat {
    #[emit]
    fn say(message: Message);
}

fn main() {}
