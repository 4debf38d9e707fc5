//! The zod-sockets server of `tests/zod-server/` (a real peer: zod-sockets over the official
//! socket.io server, running the zod contract of `contract.js`), for the import suite
//! (`tests/contract_zod.rs`): [`documentation`] is the AsyncAPI document zod-sockets
//! generates for it, [`ZodServer`] the server, on a free loopback port, stopped through its
//! child handle.
//!
//! Both install `tests/zod-server/` from its lockfile (`npm ci`) when `node_modules` is
//! missing, like the Node peer.

use std::path::PathBuf;
use std::process::Stdio;

use tokio::process::Command;

use crate::node_server::NodeServer;
use crate::peer::{ensure_installed_in, START_DEADLINE};

/// `tests/zod-server/`.
pub fn zod_server_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/zod-server")
}

/// `node`, or `FERRIO_NODE` (as for the Node peer).
fn node() -> Command {
    crate::peer::require_node(false);
    Command::new(std::env::var_os("FERRIO_NODE").unwrap_or_else(|| "node".into()))
}

async fn install() {
    if let Err(error) = ensure_installed_in(&zod_server_dir()).await {
        panic!("cannot install tests/zod-server: {error}");
    }
}

/// The AsyncAPI 3.0 document (YAML) zod-sockets' `Documentation` writes for the contract
/// (`node server.js --docs`).
pub async fn documentation() -> String {
    install().await;
    let mut command = node();
    command
        .args(["server.js", "--docs"])
        .current_dir(zod_server_dir())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let child = command
        .spawn()
        .expect("run node server.js --docs (is Node.js installed?)");
    let output = match tokio::time::timeout(START_DEADLINE, child.wait_with_output()).await {
        Ok(output) => output.expect("wait for node server.js --docs"),
        Err(_) => panic!("node server.js --docs took longer than {START_DEADLINE:?}"),
    };
    assert!(
        output.status.success(),
        "node server.js --docs failed ({}):\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("the documentation is UTF-8")
}

/// The zod-sockets server of `tests/zod-server/`.
pub struct ZodServer;

impl ZodServer {
    /// Starts `node server.js` on a free loopback port and waits for its `LISTENING <port>`
    /// (zod-sockets logs warnings and errors, such as a payload that failed its zod
    /// validation, to the server's stderr).
    pub async fn start() -> NodeServer {
        install().await;
        NodeServer::start("zod-sockets server", &zod_server_dir(), &["server.js"]).await
    }
}
