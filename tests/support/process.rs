//! A server program of the suites run as a child process (the python-socketio peer, the
//! cluster's Node servers, Redis, HAProxy): started with its port as an argument, ready once
//! it prints `LISTENING <port>` (or, for a program that prints nothing of the kind, once its
//! port accepts connections), every later stdout line kept, stopped by closing its stdin
//! (killed after a deadline) or killed outright, started again on the same port, killed on
//! drop.

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::process::{Child, ChildStdin, Command};

use crate::peer::{Output, START_DEADLINE};

const STOP_DEADLINE: Duration = Duration::from_secs(5);

/// What a program is run with. `{port}` in an argument is replaced by the port (0 at the
/// first start, unless `port` is set: the program picks a free one and prints it).
#[derive(Debug, Clone)]
pub struct ProgramSpec {
    /// Says which server in messages.
    pub name: String,
    /// The executable.
    pub program: PathBuf,
    /// Its arguments; `{port}` is the port.
    pub args: Vec<String>,
    /// Its working directory.
    pub dir: PathBuf,
    /// Extra environment variables.
    pub env: Vec<(String, OsString)>,
    /// `Some(port)`: the program listens there and is ready once it accepts a connection
    /// (it prints no `LISTENING` line); `None`: it picks its port and prints it.
    pub port: Option<u16>,
}

/// A running server program (see the module's documentation).
pub struct ServerProcess {
    spec: ProgramSpec,
    port: u16,
    child: Option<Child>,
    stdin: Option<ChildStdin>,
    output: Arc<Output>,
}

impl std::fmt::Debug for ServerProcess {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerProcess")
            .field("name", &self.spec.name)
            .field("port", &self.port)
            .field("running", &self.child.is_some())
            .finish()
    }
}

impl ServerProcess {
    /// Starts the program on a port of its choice; panics when it does not print
    /// `LISTENING <port>` within [`START_DEADLINE`].
    pub async fn start(spec: ProgramSpec) -> ServerProcess {
        let port = spec.port.unwrap_or(0);
        let mut server = ServerProcess {
            spec,
            port,
            child: None,
            stdin: None,
            output: Arc::default(),
        };
        if let Err(e) = server.spawn(port).await {
            panic!("{e}");
        }
        server
    }

    /// The port it listens on (kept across [`start_again`](Self::start_again)).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Every stdout line after `LISTENING`, across restarts.
    pub fn lines(&self) -> Vec<String> {
        self.output.lines()
    }

    /// What the program wrote to stderr (the tail).
    pub fn stderr(&self) -> String {
        self.output.stderr()
    }

    /// Closes its stdin (the program exits) and waits until it is gone, killing it after a
    /// deadline.
    pub async fn stop(&mut self) {
        self.stdin = None;
        if let Some(mut child) = self.child.take() {
            if tokio::time::timeout(STOP_DEADLINE, child.wait())
                .await
                .is_err()
            {
                let _ = child.start_kill();
                let _ = tokio::time::timeout(STOP_DEADLINE, child.wait()).await;
            }
        }
    }

    /// Kills it (SIGKILL: no goodbye to its clients) and waits until it is gone.
    pub async fn kill(&mut self) {
        self.stdin = None;
        if let Some(mut child) = self.child.take() {
            let _ = child.start_kill();
            let _ = tokio::time::timeout(STOP_DEADLINE, child.wait()).await;
        }
    }

    /// Starts it again on its port after [`stop`](Self::stop) or [`kill`](Self::kill). The
    /// port was just released by our own child and may be held a moment: retried until
    /// [`START_DEADLINE`], then panics.
    pub async fn start_again(&mut self) {
        if self.child.is_some() {
            return;
        }
        let end = tokio::time::Instant::now() + START_DEADLINE;
        loop {
            match self.spawn(self.port).await {
                Ok(()) => return,
                Err(e) if tokio::time::Instant::now() > end => panic!("{e}"),
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    }

    async fn spawn(&mut self, port: u16) -> Result<(), String> {
        let name = self.spec.name.clone();
        let args: Vec<String> = self
            .spec
            .args
            .iter()
            .map(|a| a.replace("{port}", &port.to_string()))
            .collect();
        let mut child = Command::new(&self.spec.program)
            .args(&args)
            .envs(self.spec.env.iter().map(|(k, v)| (k, v)))
            .current_dir(&self.spec.dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| {
                format!(
                    "cannot run the {name} ({}): {e}",
                    self.spec.program.display()
                )
            })?;
        let (Some(stdin), Some(stdout), Some(mut stderr)) =
            (child.stdin.take(), child.stdout.take(), child.stderr.take())
        else {
            return Err(format!("the {name} has no pipes"));
        };
        // Both pipes are drained until the process exits, so it never blocks on a full pipe.
        let output = self.output.clone();
        tokio::spawn(async move {
            let mut buf = vec![0u8; 4096];
            while let Ok(n @ 1..) = stderr.read(&mut buf).await {
                output.push_stderr(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        let (port_tx, port_rx) = tokio::sync::oneshot::channel();
        let output = self.output.clone();
        tokio::spawn(async move {
            let mut lines = BufReader::new(stdout).lines();
            let mut port_tx = Some(port_tx);
            while let Ok(Some(line)) = lines.next_line().await {
                let listening = line
                    .strip_prefix("LISTENING ")
                    .and_then(|p| p.trim().parse::<u16>().ok());
                match (listening, port_tx.take()) {
                    (Some(port), Some(tx)) => {
                        let _ = tx.send(port);
                    }
                    (_, tx) => {
                        port_tx = tx;
                        output.push_line(line);
                    }
                }
            }
        });
        let ready = async {
            match self.spec.port {
                None => port_rx.await.ok(),
                Some(port) => loop {
                    if tokio::net::TcpStream::connect(("127.0.0.1", port))
                        .await
                        .is_ok()
                    {
                        break Some(port);
                    }
                    if !matches!(child.try_wait(), Ok(None)) {
                        break None;
                    }
                    tokio::time::sleep(Duration::from_millis(20)).await;
                },
            }
        };
        match tokio::time::timeout(START_DEADLINE, ready).await {
            Ok(Some(listening)) => {
                self.port = listening;
                self.child = Some(child);
                self.stdin = Some(stdin);
                Ok(())
            }
            outcome => {
                let _ = child.start_kill();
                let _ = tokio::time::timeout(STOP_DEADLINE, child.wait()).await;
                Err(format!(
                    "the {name} did not listen within {START_DEADLINE:?} ({}); \
                     output:\n{}",
                    if outcome.is_ok() {
                        "it exited"
                    } else {
                        "timed out"
                    },
                    self.stderr()
                ))
            }
        }
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let stderr = self.stderr();
            if !stderr.trim().is_empty() {
                eprintln!("--- {} stderr ---\n{stderr}", self.spec.name);
            }
        }
        // Killed on drop (`kill_on_drop`) if still running.
    }
}

/// Runs an install step (`pip`, `apt-get`...) to its end, by `deadline`: `Err` names the
/// command and gives the last line it wrote to stderr when it fails.
pub(crate) async fn run_to_end(command: &mut Command, deadline: Instant) -> Result<(), String> {
    let shown = format!("{:?}", command.as_std());
    let child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("cannot run {shown}: {e}"))?;
    let left = deadline.saturating_duration_since(Instant::now());
    match tokio::time::timeout(left, child.wait_with_output()).await {
        Err(_) => Err(format!("{shown} did not finish within {left:?}")),
        Ok(Err(e)) => Err(format!("{shown} failed: {e}")),
        Ok(Ok(out)) if !out.status.success() => {
            let err = String::from_utf8_lossy(&out.stderr);
            let last = err
                .lines()
                .rev()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("");
            Err(format!("{shown} failed ({}): {last}", out.status))
        }
        Ok(Ok(_)) => Ok(()),
    }
}
