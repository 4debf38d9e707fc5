// Wire names are unique per direction; the same name both ways is fine.
#[ferrio::socketio_events]
pub trait Chat {
    #[emit]
    fn hello(name: String);
    #[emit(name = "hello")]
    fn greet(name: String, times: u32);
    #[on(name = "hello")]
    fn hello_back(name: String);
}

fn main() {}
