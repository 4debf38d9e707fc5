#[ferrio::socketio_events]
pub trait Chat {
    #[emit]
    fn hello<T: serde::Serialize>(name: T);
}

fn main() {}
