// Generated method names must not collide.
#[ferrio::socketio_events]
pub trait Chat {
    #[emit]
    fn hello(name: String);
    #[emit(name = "hello-again")]
    fn hello(name: String, times: u32);
    #[on]
    fn payload_error(text: String);
    #[on(name = "left")]
    fn disconnect(reason: String);
}

fn main() {
    let _ = ChatSocket::emit_hello;
}
