#[ferrio::socketio_events]
pub trait Chat {
    #[emit]
    #[emit(name = "hi")]
    fn hello(name: String);
}

fn main() {}
