//! A blocking client over the async one (feature `blocking`), for programs without an async
//! runtime: the client runs on a runtime thread of its own, and each call waits for it.
//! The way from `rust_socketio`'s synchronous client.
//!
//! ```no_run
//! # fn f() -> Result<(), ferrio::Error> {
//! let socket = ferrio::blocking::Socket::build("http://127.0.0.1:3000/chat")?;
//! socket.on("message", |event| println!("got {:?}", event.values()));
//! socket.connect()?;
//! socket.emit("hello", ("world", 42))?;
//! let echoed: String = socket.emit_with_ack("echo", "ping", std::time::Duration::from_secs(2))?;
//! socket.disconnect(); // waits until the DISCONNECT is written
//! # Ok(()) }
//! ```
//!
//! Typed sockets work through [`Socket::block_on`]:
//! `socket.block_on(chat.emit_hello("ferris".into()))`.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::{Error, Event, Io, ListenerId, Result};

/// A socket of the blocking client. Cloning is cheap; the client's runtime thread ends with
/// the last clone.
#[derive(Clone)]
pub struct Socket {
    socket: crate::Socket,
    runtime: Arc<tokio::runtime::Runtime>,
}

impl std::fmt::Debug for Socket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("blocking::Socket")
            .field("socket", &self.socket)
            .finish()
    }
}

impl Socket {
    /// The socket of `url`'s namespace (as [`crate::io`]), not connected yet: register
    /// listeners, then [`connect`](Self::connect).
    pub fn build(url: &str) -> Result<Socket> {
        Self::build_with(Io::new(url))
    }

    /// The same with `io()` options (manager options, `force_new`...).
    pub fn build_with(io: Io) -> Result<Socket> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("ferrio-blocking")
            .enable_all()
            .build()
            .map_err(|e| Error::Config(format!("cannot start the client's runtime: {e}")))?;
        let socket = runtime.block_on(async { io.build() })?;
        Ok(Socket {
            socket,
            runtime: Arc::new(runtime),
        })
    }

    /// Runs a future of the async API (a typed socket's emit, for instance) on the client's
    /// runtime and waits for it.
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.runtime.block_on(future)
    }

    /// See [`crate::Socket::connect`].
    pub fn connect(&self) -> Result<()> {
        self.block_on(self.socket.connect())
    }

    /// See [`crate::Socket::emit`].
    pub fn emit(&self, event: &str, args: impl Serialize) -> Result<()> {
        self.block_on(self.socket.emit(event, args))
    }

    /// See [`crate::Socket::emit_with_ack`]; waits at most `timeout`.
    pub fn emit_with_ack<T: DeserializeOwned>(
        &self,
        event: &str,
        args: impl Serialize,
        timeout: Duration,
    ) -> Result<T> {
        self.block_on(self.socket.timeout(timeout).emit_with_ack(event, args))
    }

    /// Listens to an event with a plain closure. It runs on the client's thread, one event
    /// at a time: keep it short (hand long work to a thread of yours).
    pub fn on(&self, event: &str, listener: impl Fn(Event) + Send + Sync + 'static) -> ListenerId {
        let listener = Arc::new(listener);
        self.socket.on(event, move |event| {
            let listener = listener.clone();
            async move { listener(event) }
        })
    }

    /// See [`crate::Socket::off`].
    pub fn off(&self, id: ListenerId) {
        self.socket.off(id);
    }

    /// Disconnects the namespace and waits until the DISCONNECT is written (see
    /// [`crate::Socket::disconnect`]).
    pub fn disconnect(&self) {
        self.block_on(async { self.socket.disconnect().await });
    }

    /// Closes the connection and waits until its last writes are done (see
    /// [`crate::Manager::close`]).
    pub fn close(&self) {
        self.block_on(async { self.socket.manager().close().await });
    }

    /// The async socket underneath, for everything else (its state, `on_disconnect`...).
    pub fn socket(&self) -> &crate::Socket {
        &self.socket
    }
}
