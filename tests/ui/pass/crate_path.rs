// `crate = "..."`: the expansion reaches ferrio through a re-export.
mod vendored {
    pub use ferrio as sio;
}

/// Events of a crate that re-exports ferrio.
#[ferrio::socketio_events(namespace = "/x", crate = "crate::vendored::sio")]
pub trait Vendored {
    /// Sent.
    #[emit]
    fn hello(name: String) -> u32;
    /// Received.
    #[on]
    fn message(text: String);
}

fn main() {
    let _ = VendoredSocket::emit_hello;
    let _ = VendoredSocket::once_message::<fn(String) -> std::future::Ready<()>, _>;
    let mut generator = vendored::sio::schema::schemars::SchemaGenerator::default();
    let contract = <Vendored as vendored::sio::EventContract>::describe(&mut generator);
    assert_eq!(contract.namespace, "/x");
}
