#[ferrio::socketio_events]
pub trait Chat {
    #[on]
    fn disconnect(reason: String);
    #[emit(name = "newListener")]
    fn listen(event: String);
}

fn main() {}
