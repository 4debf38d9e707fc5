#[ferrio::socketio_events]
pub trait Chat {
    #[emit]
    fn hello(name: &str);
    #[on]
    fn news(text: std::borrow::Cow<'static, str>, by: std::borrow::Cow<'a, str>);
}

fn main() {}
