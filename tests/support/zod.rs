//! The zod-sockets server of `tests/zod-server/` (a real peer: zod-sockets over the official
//! socket.io server, running the zod contract of `contract.js`), for the import suite
//! (`tests/contract_zod.rs`): [`documentation`] is the AsyncAPI document zod-sockets
//! generates for it, [`ZodServer`] the server, on a free loopback port, stopped through its
//! child handle.
//!
//! Both install `tests/zod-server/` from its lockfile (`npm ci`) when `node_modules` is
//! missing, like the Node peer.

use std::path::PathBuf;
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::process::{Child, ChildStdin, Command};

use crate::peer::{ensure_installed_in, START_DEADLINE};

/// How long the server may take to exit once its stdin closed.
const STOP_DEADLINE: Duration = Duration::from_secs(5);

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

/// The zod-sockets server, running.
#[derive(Debug)]
pub struct ZodServer {
    child: Child,
    stdin: Option<ChildStdin>,
    port: u16,
    stderr: Arc<Mutex<String>>,
}

impl ZodServer {
    /// Starts `node server.js` on a free loopback port and waits for its `LISTENING <port>`.
    pub async fn start() -> ZodServer {
        install().await;
        let mut command = node();
        command
            .arg("server.js")
            .current_dir(zod_server_dir())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let mut child = command.spawn().expect("run node server.js");
        let stdin = child.stdin.take().expect("stdin pipe");
        let stdout = child.stdout.take().expect("stdout pipe");
        let mut stderr_pipe = child.stderr.take().expect("stderr pipe");

        // Both pipes are drained until the process exits, so it never blocks on a full pipe.
        let stderr = Arc::new(Mutex::new(String::new()));
        let tail = stderr.clone();
        tokio::spawn(async move {
            let mut buf = vec![0u8; 4096];
            while let Ok(n @ 1..) = stderr_pipe.read(&mut buf).await {
                if let Ok(mut tail) = tail.lock() {
                    tail.push_str(&String::from_utf8_lossy(&buf[..n]));
                }
            }
        });
        let (port_tx, port_rx) = tokio::sync::oneshot::channel();
        tokio::spawn(async move {
            let mut lines = BufReader::new(stdout).lines();
            let mut port_tx = Some(port_tx);
            while let Ok(Some(line)) = lines.next_line().await {
                let port = line
                    .strip_prefix("LISTENING ")
                    .and_then(|p| p.trim().parse::<u16>().ok());
                match (port, port_tx.take()) {
                    (Some(port), Some(tx)) => {
                        let _ = tx.send(port);
                    }
                    (_, tx) => {
                        port_tx = tx;
                        println!("zod-server: {line}");
                    }
                }
            }
        });
        let port = match tokio::time::timeout(START_DEADLINE, port_rx).await {
            Ok(Ok(port)) => port,
            outcome => {
                let _ = child.start_kill();
                let _ = tokio::time::timeout(STOP_DEADLINE, child.wait()).await;
                panic!(
                    "the zod-sockets server did not print LISTENING within {START_DEADLINE:?} \
                     ({}); stderr:\n{}",
                    if outcome.is_ok() {
                        "it exited"
                    } else {
                        "timed out"
                    },
                    stderr.lock().map(|s| s.clone()).unwrap_or_default()
                );
            }
        };
        ZodServer {
            child,
            stdin: Some(stdin),
            port,
            stderr,
        }
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// What the server wrote to stderr so far (zod-sockets logs warnings and errors there,
    /// such as a payload that failed its zod validation).
    pub fn stderr(&self) -> String {
        self.stderr.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// Closes the server's stdin and waits for it to exit (killing it after a deadline).
    pub async fn stop(mut self) -> ExitStatus {
        self.stdin = None;
        match tokio::time::timeout(STOP_DEADLINE, self.child.wait()).await {
            Ok(status) => status.expect("wait for the zod-sockets server"),
            Err(_) => {
                let _ = self.child.start_kill();
                let _ = tokio::time::timeout(STOP_DEADLINE, self.child.wait()).await;
                panic!("the zod-sockets server did not exit within {STOP_DEADLINE:?} of its stdin closing");
            }
        }
    }
}

impl Drop for ZodServer {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let stderr = self.stderr();
            if !stderr.trim().is_empty() {
                eprintln!("--- zod-sockets server stderr ---\n{stderr}");
            }
        }
        // Killed on drop (`kill_on_drop`) if still running.
    }
}
