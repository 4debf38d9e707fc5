#[ferrio::socketio_events]
pub trait Chat {
    #[emit]
    fn hello(&self, name: String);
}

fn main() {}
