// A method without `#[emit]` or `#[on]`; the other events still generate.
#[ferrio::socketio_events]
pub trait Chat {
    #[emit]
    fn hello(name: String);
    fn goodbye(name: String);
}

fn main() {
    let _ = ChatSocket::emit_hello;
}
