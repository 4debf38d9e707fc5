// An event has one direction.
#[ferrio::socketio_events]
pub trait Chat {
    #[emit]
    #[on]
    fn hello(name: String);
}

fn main() {}
