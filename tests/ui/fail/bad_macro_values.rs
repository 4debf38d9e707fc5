#[ferrio::socketio_events(namespace = "chat")]
pub trait Chat {
    #[emit]
    fn hello(name: String);
}

#[ferrio::socketio_events(rename_all = "camel")]
pub trait Other {
    #[emit]
    fn hello(name: String);
}

fn main() {}
