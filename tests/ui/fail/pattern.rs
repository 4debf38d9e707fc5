#[ferrio::socketio_events]
pub trait Chat {
    #[emit]
    fn point((x, y): (i32, i32));
    #[emit]
    fn anonymous(_: u32);
}

fn main() {}
