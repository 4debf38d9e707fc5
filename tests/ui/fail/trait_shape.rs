#[ferrio::socketio_events]
pub trait Chat<T>: Send {
    const VERSION: u32;
    #[emit]
    fn hello(name: String);
}

fn main() {}
