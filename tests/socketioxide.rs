//! socketioxide (issue 14, point 5): the Rust Socket.IO server, in this process, with the
//! Node peer's handlers the shared groups use (`socketioxide/server.rs`); the groups
//! (`support/groups.rs`) run on the three transport modes, with its default parser and with
//! its msgpack parser (the `msgpack` feature of socketioxide 0.18).

#[path = "socketioxide/server.rs"]
mod server;

use ferrio::Parser;
use ferrio_suite::groups::{Served, Target};
use ferrio_suite::*;
use server::SocketioxideServer;

impl Served for SocketioxideServer {
    fn target(&self) -> Target {
        Target {
            addr: self.addr(),
            parser: match self.msgpack() {
                true => Parser::MsgPack,
                false => Parser::Json,
            },
        }
    }
}

async fn start() -> SocketioxideServer {
    SocketioxideServer::start(false).await
}

server_groups!(start => connect, namespaces, emit, acks, binary, reconnection, server_disconnect);

mod msgpack {
    use super::*;

    async fn start() -> SocketioxideServer {
        SocketioxideServer::start(true).await
    }

    server_groups!(start => connect, namespaces, emit, acks, binary, reconnection, server_disconnect);
}
