//! A Node program of the suites that serves on a free loopback port (the zod-sockets server,
//! the TypeScript round-trip server): started with `node <args>` in its folder, ready once it
//! prints `LISTENING <port>`, stopped by closing its stdin (killed after a deadline), killed
//! on drop.

use std::path::Path;
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::process::{Child, ChildStdin, Command};

use crate::peer::START_DEADLINE;

const STOP_DEADLINE: Duration = Duration::from_secs(5);

/// A running Node server program.
pub struct NodeServer {
    name: &'static str,
    child: Child,
    stdin: Option<ChildStdin>,
    port: u16,
    stderr: Arc<Mutex<String>>,
}

impl NodeServer {
    /// Runs `node <args>` in `dir` and waits for its `LISTENING <port>` line; `name` says
    /// which server in messages and echoed output.
    pub async fn start(name: &'static str, dir: &Path, args: &[&str]) -> NodeServer {
        crate::peer::require_node(false);
        let mut command =
            Command::new(std::env::var_os("FERRIO_NODE").unwrap_or_else(|| "node".into()));
        command
            .args(args)
            .current_dir(dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let mut child = command
            .spawn()
            .unwrap_or_else(|e| panic!("run the {name}: {e}"));
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
                        println!("{name}: {line}");
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
                    "the {name} did not print LISTENING within {START_DEADLINE:?} ({}); \
                     stderr:\n{}",
                    if outcome.is_ok() {
                        "it exited"
                    } else {
                        "timed out"
                    },
                    stderr.lock().map(|s| s.clone()).unwrap_or_default()
                );
            }
        };
        NodeServer {
            name,
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

    /// What the server wrote to stderr so far.
    pub fn stderr(&self) -> String {
        self.stderr.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// Closes the server's stdin and waits for it to exit (killing it after a deadline).
    pub async fn stop(mut self) -> ExitStatus {
        self.stdin = None;
        match tokio::time::timeout(STOP_DEADLINE, self.child.wait()).await {
            Ok(status) => status.unwrap_or_else(|e| panic!("wait for the {}: {e}", self.name)),
            Err(_) => {
                let _ = self.child.start_kill();
                let _ = tokio::time::timeout(STOP_DEADLINE, self.child.wait()).await;
                panic!(
                    "the {} did not exit within {STOP_DEADLINE:?} of its stdin closing",
                    self.name
                );
            }
        }
    }
}

impl Drop for NodeServer {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let stderr = self.stderr();
            if !stderr.trim().is_empty() {
                eprintln!("--- {} stderr ---\n{stderr}", self.name);
            }
        }
        // Killed on drop (`kill_on_drop`) if still running.
    }
}
