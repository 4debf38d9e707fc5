// Every payload type must be JsonSchema: the contract describes it. A type used several
// times, both ways, is one error.
#[derive(serde::Serialize, serde::Deserialize)]
pub struct Message {
    pub text: String,
}

#[ferrio::socketio_events]
pub trait Chat {
    #[emit]
    fn say(message: Message);
    #[emit]
    fn edit(id: u32, message: Message) -> Message;
    #[on]
    fn said(message: Message);
}

fn main() {}
