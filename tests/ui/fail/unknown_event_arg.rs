#[ferrio::socketio_events]
pub trait Chat {
    #[emit(rename = "hi")]
    fn hello(name: String);
}

fn main() {}
