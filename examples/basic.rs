//! The untyped client in a few lines: connect, listen, emit, await an ack.
//!
//! ```sh
//! cargo run --example basic                         # against an embedded socketioxide server
//! cargo run --example basic -- http://127.0.0.1:3000  # against a server that has the
//!                                                   # `echo` and `ack` handlers of tests/peer
//! ```
//!
//! The embedded server runs in this process on a free loopback port, so the example needs
//! nothing installed. It answers `echo` by emitting `echo-back` with the same argument,
//! and `ack` by acknowledging with it.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

#[derive(Debug, Serialize, Deserialize)]
struct Greeting {
    from: String,
    text: String,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = match std::env::args().nth(1) {
        Some(url) => url,
        None => embedded_server::start().await?,
    };
    println!("connecting to {url}");

    // Listeners are registered before connecting, so no event can slip by.
    let socket = ferrio::Manager::builder(&url)
        .ack_timeout(Duration::from_secs(5))
        .build()?
        .socket("/")
        .build();
    let (tx, mut echoed) = mpsc::unbounded_channel();
    socket.on("echo-back", move |event| {
        let tx = tx.clone();
        async move {
            let _ = tx.send(event.args::<Greeting>());
        }
    });
    socket.on_disconnect(|reason| async move { println!("disconnected: {reason}") });
    socket.connect().await?;
    println!("connected, socket id {:?}", socket.id());

    // Fire and forget; the server answers with an `echo-back` event.
    let hello = Greeting {
        from: "ferrio".into(),
        text: "hello".into(),
    };
    socket.emit("echo", &hello).await?;
    let back = tokio::time::timeout(Duration::from_secs(5), echoed.recv())
        .await?
        .ok_or("the listener is gone")??;
    println!("received echo-back: {back:?}");

    // An emit that awaits the server's acknowledgement.
    let acked: Greeting = socket
        .emit_with_ack(
            "ack",
            Greeting {
                from: "ferrio".into(),
                text: "ack me".into(),
            },
        )
        .await?;
    println!("acknowledged with: {acked:?}");

    socket.disconnect();
    Ok(())
}

/// A socketioxide server in this process, with the `echo` and `ack` handlers.
mod embedded_server {
    use serde_json::Value;
    use socketioxide::extract::{AckSender, Data, SocketRef};
    use socketioxide::SocketIo;

    /// Starts the server on a free loopback port and returns its URL.
    pub(crate) async fn start() -> std::io::Result<String> {
        let (layer, io) = SocketIo::new_layer();
        io.ns("/", async |socket: SocketRef| {
            socket.on("echo", async |socket: SocketRef, Data::<Value>(data)| {
                let _ = socket.emit("echo-back", &data);
            });
            socket.on("ack", async |Data::<Value>(data), ack: AckSender| {
                let _ = ack.send(&data);
            });
        });
        let app = axum::Router::new().layer(layer);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}", listener.local_addr()?);
        tokio::spawn(async move { axum::serve(listener, app).await });
        Ok(url)
    }
}
