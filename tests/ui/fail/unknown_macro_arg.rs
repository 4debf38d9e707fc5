#[ferrio::socketio_events(namespace = "/chat", rename = "camelCase")]
pub trait Chat {
    #[emit]
    fn hello(name: String);
}

fn main() {}
