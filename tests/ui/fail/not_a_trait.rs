#[ferrio::socketio_events]
pub struct Chat;

fn main() {}
