//! A sink server for the bench client (`examples/bench_client.rs`), so the client runs
//! without the external comparison harness the README's numbers come from: socketioxide on
//! loopback, speaking the harness's contract (namespace `/`):
//!
//! - `count {i, text}`: counted for the socket and in the total, no ack;
//! - `stats`: acks `{count, total, conns, bin_count, bin_bytes, transport}` (this socket's
//!   count, every socket's, the connected sockets, this socket's `bin` events and their
//!   bytes, and its transport, `polling` or `websocket`);
//! - `bin <binary>`: counted for the socket, with the attachment's bytes, no ack;
//! - `reset`: sets the socket's count to 0, acks `true`;
//! - `echo {i, text}`: acks its argument;
//! - `blast {n}`: pushes `n` events `push {i, text: "hello world"}` to the socket, in order.
//!
//! ```sh
//! cargo build --release --example bench_server --example bench_client
//! target/release/examples/bench_server 19102 &     # prints `READY 19102` once listening
//! target/release/examples/bench_client http://127.0.0.1:19102 emit_throughput 200000
//! ```
//!
//! Usage: `bench_server [port]` (default 19102; 0 picks a free one). It is a sink for the
//! client's measurements, not a benchmark of socketioxide: the harness's own servers are
//! what the README's table was measured against. It has no `storm_kick` (the harness's
//! `reconnect_storm` needs the harness's servers) and listens on one port.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use socketioxide::extract::{AckSender, Data, SocketRef};
use socketioxide::{SendError, SocketError, SocketIo};

const TEXT: &str = "hello world";

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let port: u16 = match std::env::args().nth(1) {
        Some(p) => p.parse().map_err(|e| format!("port {p:?}: {e}"))?,
        None => 19102,
    };
    let total = Arc::new(AtomicU64::new(0));
    let conns = Arc::new(AtomicU64::new(0));
    // A blast queues thousands of packets at once; past the buffer `push` waits (below).
    let (layer, io) = SocketIo::builder().max_buffer_size(4096).build_layer();
    io.ns("/", async move |socket: SocketRef| {
        conns.fetch_add(1, Ordering::Relaxed);
        let count = Arc::new(AtomicU64::new(0));
        let (bin_count, bin_bytes) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
        socket.on("bin", {
            let (bin_count, bin_bytes) = (bin_count.clone(), bin_bytes.clone());
            async move |Data::<bytes::Bytes>(data)| {
                bin_count.fetch_add(1, Ordering::Relaxed);
                bin_bytes.fetch_add(data.len() as u64, Ordering::Relaxed);
            }
        });
        socket.on("count", {
            let (count, total) = (count.clone(), total.clone());
            async move |Data::<Value>(_)| {
                count.fetch_add(1, Ordering::Relaxed);
                total.fetch_add(1, Ordering::Relaxed);
            }
        });
        socket.on("stats", {
            let (count, total, conns) = (count.clone(), total.clone(), conns.clone());
            async move |socket: SocketRef, ack: AckSender| {
                let transport = match socket.transport_type() {
                    socketioxide::TransportType::Polling => "polling",
                    socketioxide::TransportType::Websocket => "websocket",
                };
                let _ = ack.send(&json!({
                    "count": count.load(Ordering::Relaxed),
                    "total": total.load(Ordering::Relaxed),
                    "conns": conns.load(Ordering::Relaxed),
                    "bin_count": bin_count.load(Ordering::Relaxed),
                    "bin_bytes": bin_bytes.load(Ordering::Relaxed),
                    "transport": transport,
                }));
            }
        });
        socket.on("reset", {
            let count = count.clone();
            async move |ack: AckSender| {
                count.store(0, Ordering::Relaxed);
                let _ = ack.send(&true);
            }
        });
        socket.on("echo", async |Data::<Value>(item), ack: AckSender| {
            let _ = ack.send(&item);
        });
        socket.on("blast", async |socket: SocketRef, Data::<Value>(args)| {
            let n = args["n"].as_u64().unwrap_or(0);
            for i in 0..n {
                if push(&socket, i).await.is_err() {
                    return;
                }
            }
        });
        socket.on_disconnect({
            let conns = conns.clone();
            async move || {
                conns.fetch_sub(1, Ordering::Relaxed);
            }
        });
    });
    let app = axum::Router::new().layer(layer);
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    println!("READY {}", listener.local_addr()?.port());
    axum::serve(listener, app).await?;
    Ok(())
}

/// Emits `push {i, text}`, waiting while the socket's buffer is full; `Err` once the socket
/// is gone.
async fn push(socket: &SocketRef, i: u64) -> Result<(), SendError> {
    let item = json!({ "i": i, "text": TEXT });
    loop {
        match socket.emit("push", &item) {
            Err(SendError::Socket(SocketError::InternalChannelFull)) => {
                tokio::time::sleep(Duration::from_micros(100)).await;
            }
            other => return other,
        }
    }
}
