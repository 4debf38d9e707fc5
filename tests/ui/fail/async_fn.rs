#[ferrio::socketio_events]
pub trait Chat {
    #[emit]
    async fn join(room: String) -> u32;
}

fn main() {}
