//! Test support for the ferrio end-to-end suites (`tests/*.rs`) and examples.
//!
//! - [`NodePeer`]: the official Node `socket.io` server of `tests/peer/` (installed with
//!   `npm ci` when needed, started on a free loopback port, stopped by its handle, restartable
//!   on the same port); [`shared_peer`] is one such server shared by a whole test binary;
//!   `PeerOptions::v2()` starts the socket.io 2.x peer of `tests/peer-v2/` instead.
//! - [`Proxy`]: a loopback TCP proxy that passes, stalls or cuts connections on command.
//! - [`ProxyServer`]: real HTTP `CONNECT` (tinyproxy) and SOCKS5 (microsocks) proxies,
//!   installed with apt-get when missing, on a free loopback port.
//! - [`HostileServer`]: a hand-written Engine.IO server that gets a client connected, then
//!   misbehaves on command (stops pinging, stalls mid-frame, sends garbage...).
//! - [`within`], [`Inbox`]: every wait has a deadline and fails with a clear message.
//! - [`zod::ZodServer`]: the zod-sockets server of `tests/zod-server/` and its AsyncAPI
//!   documentation ([`zod::documentation`]), for the import suite.
//! - [`cluster::Cluster`]: two socket.io nodes sharing events through Redis behind HAProxy
//!   (sticky sessions by cookie), all on loopback.
//! - [`python_peer::PythonPeer`]: the python-socketio server of `tests/peer-python/`
//!   (installed into a venv from pinned requirements when needed).
//! - [`process::ServerProcess`]: a server program run as a child (`LISTENING <port>`, its
//!   output lines, stop/kill/start again on the same port).
//! - [`Transports`] and [`transport_matrix!`]: run a scenario over websocket only, polling only
//!   and polling with the upgrade.
//! - [`groups`] and [`server_groups!`]: the main feature groups written once, run against each
//!   server implementation (socket.io 3.x, the msgpack parser, socketioxide).
//!
//! The handlers of the Node peer are documented at the top of `tests/peer/server.js`.

pub mod client;
pub mod cluster;
pub mod groups;
pub mod hostile;
mod install_lock;
pub mod node_server;
pub mod peer;
pub mod process;
pub mod proxy;
pub mod proxy_servers;
pub mod python_peer;
pub mod script;
pub mod wait;
mod wire;
pub mod zod;

pub use client::{
    any_events, builder, connect, connect_errors, connect_watched, connects, disconnects, events,
    manager, next_manager_event, outgoing_events, server, Transports,
};
pub use hostile::{HostileServer, PanicCounter};
pub use node_server::NodeServer;
pub use peer::{
    ensure_installed, peer_dir, peer_v2_dir, peer_v3_dir, require_node, shared_peer,
    shared_peer_v2, NodePeer, PeerOptions, SharedPeer,
};
pub use proxy::{Mode, Proxy};
pub use proxy_servers::{ProxyServer, TempDir};
pub use wait::{inbox, poll_once, until, until_async, within, within_for, Inbox, Outbox, STEP};

/// Re-exported so the suites and the support agree on one version.
pub use ferrio;
pub use serde_json;
pub use serde_json::json;

/// The README's Rust examples, compiled as doctests so the front page cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeExamples;

/// The `ferrio` crate's README (its crates.io page), compiled as doctests too.
#[cfg(doctest)]
#[doc = include_str!("../../runtime/README.md")]
pub struct CrateReadmeExamples;
