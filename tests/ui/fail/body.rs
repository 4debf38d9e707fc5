#[ferrio::socketio_events]
pub trait Chat {
    #[emit]
    fn hello(name: String) {
        let _ = name;
    }
}

fn main() {}
