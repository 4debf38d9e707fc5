// A return type named `Acked` declares an empty ack; it must be ferrio's.
#[derive(serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct Acked;

#[ferrio::socketio_events]
pub trait Chat {
    #[emit]
    fn say(text: String) -> Acked;
}

fn main() {}
