//! The Node reference server (`tests/peer/server.js`, the official `socket.io` package pinned
//! by `tests/peer/package-lock.json`), started as a child process on a loopback port.
//!
//! - `npm ci` runs when `tests/peer/node_modules` is missing, once per process (a tokio
//!   `OnceCell`) and once across processes (an atomic `mkdir` lock with a deadline).
//! - The child is spawned with `kill_on_drop(true)` and a piped stdin: the server exits when its
//!   stdin closes, so even a test process that dies leaves nothing behind.
//! - `stop()`, `kill()` and `restart()` act on the child handle, never on a process name;
//!   `restart()` listens on the same port again (reconnection tests).
//! - Every stdout line after `LISTENING <port>` (e.g. the `EVENT {...}` lines of `log_events`) is
//!   kept, across restarts, for [`NodePeer::lines`] and [`NodePeer::wait_for_events`].

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::process::{Child, ChildStdin, Command};
use tokio::sync::{Notify, OnceCell};

/// How long the server may take to print `LISTENING` after it was spawned.
pub const START_DEADLINE: Duration = Duration::from_secs(30);
/// How long `npm ci` may take (it only runs on a fresh checkout).
pub const INSTALL_DEADLINE: Duration = Duration::from_secs(300);

/// Options of the reference server; each maps to one of `server.js`'s options.
#[derive(Debug, Clone, Default)]
pub struct PeerOptions {
    /// Port to listen on; 0 (the default) picks a free one.
    pub port: u16,
    /// Engine.IO `pingInterval` (socket.io default 25 s).
    pub ping_interval: Option<Duration>,
    /// Engine.IO `pingTimeout` (socket.io default 20 s).
    pub ping_timeout: Option<Duration>,
    /// `maxHttpBufferSize` in bytes (socket.io default 1e6).
    pub max_http_buffer_size: Option<u64>,
    /// Server transports, e.g. `["websocket"]` (default polling and websocket).
    pub transports: Option<Vec<String>>,
    /// `allowUpgrades` (default true).
    pub allow_upgrades: Option<bool>,
    /// Engine `cookie` option: the cookie's name (sticky sessions).
    pub cookie: Option<String>,
    /// Enables `connectionStateRecovery` (server-wide: every namespace).
    pub recovery: bool,
    /// `connectionStateRecovery.maxDisconnectionDuration` (default 2 min).
    pub recovery_duration: Option<Duration>,
    /// `connectionStateRecovery.skipMiddlewares` (default true).
    pub recovery_skip_middlewares: Option<bool>,
    /// Delays every engine request (the handshake included) by this much (`allowRequest`).
    pub allow_request_delay: Option<Duration>,
    /// socket.io `connectTimeout` (default 45 s).
    pub connect_timeout: Option<Duration>,
    /// Prints an `EVENT {...}` line for every event the server receives.
    pub log_events: bool,
    /// The engine's path (default `/socket.io/`).
    pub path: Option<String>,
    /// Serve HTTPS with this certificate chain and key (PEM files): `TLS_CERT`, `TLS_KEY`.
    pub tls: Option<(PathBuf, PathBuf)>,
    /// The listening address (`HOST`); `None` is `127.0.0.1`.
    pub host: Option<std::net::IpAddr>,
    /// With `tls`: mutual TLS, clients must present a certificate signed by this CA (PEM
    /// file): `TLS_CA`.
    pub tls_client_ca: Option<PathBuf>,
    /// The official msgpack parser instead of the default one (`PARSER=msgpack`).
    pub msgpack: bool,
    /// The npm folder the server's packages come from (`MODULES`), installed like the
    /// peer's; `None` is `tests/peer` (socket.io 4.x). See [`peer_v3_dir`].
    pub modules: Option<PathBuf>,
    /// The peer's folder (its `server.js` and lockfile); `None` is [`peer_dir`], the 4.x
    /// peer. [`PeerOptions::v2`] picks the socket.io 2.x peer of `tests/peer-v2/`.
    pub dir: Option<PathBuf>,
}

impl PeerOptions {
    /// The defaults of socket.io.
    pub fn new() -> Self {
        Self::default()
    }
    /// The socket.io 2.x peer (`tests/peer-v2/`, Engine.IO v3), with its defaults; the
    /// options it does not know (recovery, cookies, TLS...) are ignored by it.
    pub fn v2() -> Self {
        PeerOptions {
            dir: Some(peer_v2_dir()),
            ..Self::default()
        }
    }
    /// The folder of the peer these options start.
    pub fn peer_dir(&self) -> PathBuf {
        self.dir.clone().unwrap_or_else(peer_dir)
    }
    /// Sets `pingInterval`.
    pub fn ping_interval(mut self, d: Duration) -> Self {
        self.ping_interval = Some(d);
        self
    }
    /// Sets `pingTimeout`.
    pub fn ping_timeout(mut self, d: Duration) -> Self {
        self.ping_timeout = Some(d);
        self
    }
    /// Sets `maxHttpBufferSize`.
    pub fn max_http_buffer_size(mut self, bytes: u64) -> Self {
        self.max_http_buffer_size = Some(bytes);
        self
    }
    /// Sets the server's transports (`"polling"`, `"websocket"`).
    pub fn transports(mut self, t: &[&str]) -> Self {
        self.transports = Some(t.iter().map(|s| s.to_string()).collect());
        self
    }
    /// Sets `allowUpgrades`.
    pub fn allow_upgrades(mut self, on: bool) -> Self {
        self.allow_upgrades = Some(on);
        self
    }
    /// Sets the engine cookie's name.
    pub fn cookie(mut self, name: &str) -> Self {
        self.cookie = Some(name.to_string());
        self
    }
    /// Turns connection state recovery on or off.
    pub fn recovery(mut self, on: bool) -> Self {
        self.recovery = on;
        self
    }
    /// Sets the recovery window.
    pub fn recovery_duration(mut self, d: Duration) -> Self {
        self.recovery_duration = Some(d);
        self
    }
    /// Sets whether a recovered connection skips the middlewares.
    pub fn recovery_skip_middlewares(mut self, on: bool) -> Self {
        self.recovery_skip_middlewares = Some(on);
        self
    }
    /// Delays every engine request.
    pub fn allow_request_delay(mut self, d: Duration) -> Self {
        self.allow_request_delay = Some(d);
        self
    }
    /// Sets socket.io's `connectTimeout`.
    pub fn connect_timeout(mut self, d: Duration) -> Self {
        self.connect_timeout = Some(d);
        self
    }
    /// Turns the `EVENT` lines on.
    pub fn log_events(mut self, on: bool) -> Self {
        self.log_events = on;
        self
    }
    /// Sets the engine's path, e.g. `/custom/`.
    pub fn path(mut self, path: &str) -> Self {
        self.path = Some(path.to_string());
        self
    }
    /// Serves HTTPS (and WSS) with this certificate chain and private key, both PEM files.
    pub fn tls(mut self, cert: PathBuf, key: PathBuf) -> Self {
        self.tls = Some((cert, key));
        self
    }
    /// With [`tls`](Self::tls): asks every client for a certificate signed by this CA (PEM
    /// file) and refuses those without one (mutual TLS).
    pub fn tls_client_ca(mut self, ca: PathBuf) -> Self {
        self.tls_client_ca = Some(ca);
        self
    }
    /// Listens on this address instead of `127.0.0.1` (e.g. `::1`).
    pub fn host(mut self, host: std::net::IpAddr) -> Self {
        self.host = Some(host);
        self
    }
    /// Uses the official msgpack parser (`socket.io-msgpack-parser`).
    pub fn msgpack(mut self, on: bool) -> Self {
        self.msgpack = on;
        self
    }
    /// Runs the same server on the packages of another npm folder, e.g. [`peer_v3_dir`].
    pub fn modules(mut self, dir: PathBuf) -> Self {
        self.modules = Some(dir);
        self
    }
    /// The npm folder the server's packages come from.
    fn modules_dir(&self) -> PathBuf {
        self.modules.clone().unwrap_or_else(peer_dir)
    }
    /// Sets the port (0 = any free port).
    pub fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    /// The command-line arguments of `server.js` for these options and a port.
    fn args(&self, port: u16) -> Vec<String> {
        let ms = |d: Duration| d.as_millis().to_string();
        let mut a = vec![port.to_string()];
        let mut push = |k: &str, v: String| a.push(format!("--{k}={v}"));
        if let Some(d) = self.ping_interval {
            push("ping-interval", ms(d));
        }
        if let Some(d) = self.ping_timeout {
            push("ping-timeout", ms(d));
        }
        if let Some(b) = self.max_http_buffer_size {
            push("max-http-buffer-size", b.to_string());
        }
        if let Some(t) = &self.transports {
            push("transports", t.join(","));
        }
        if let Some(on) = self.allow_upgrades {
            push("allow-upgrades", if on { "1" } else { "0" }.into());
        }
        if let Some(c) = &self.cookie {
            push("cookie", c.clone());
        }
        push("recovery", if self.recovery { "1" } else { "0" }.into());
        if let Some(d) = self.recovery_duration {
            push("recovery-duration", ms(d));
        }
        if let Some(on) = self.recovery_skip_middlewares {
            push(
                "recovery-skip-middlewares",
                if on { "1" } else { "0" }.into(),
            );
        }
        if let Some(d) = self.allow_request_delay {
            push("allow-request-delay", ms(d));
        }
        if let Some(d) = self.connect_timeout {
            push("connect-timeout", ms(d));
        }
        if let Some(p) = &self.path {
            push("path-prefix", p.clone());
        }
        if let Some((cert, key)) = &self.tls {
            push("tls-cert", cert.display().to_string());
            push("tls-key", key.display().to_string());
        }
        if let Some(ca) = &self.tls_client_ca {
            push("tls-ca", ca.display().to_string());
        }
        if let Some(h) = self.host {
            push("host", h.to_string());
        }
        push("log-events", if self.log_events { "1" } else { "0" }.into());
        if self.msgpack {
            push("parser", "msgpack".into());
        }
        if let Some(dir) = &self.modules {
            push("modules", dir.display().to_string());
        }
        a
    }
}

/// The folder of the Node peer: `FERRIO_PEER_DIR`, else `<workspace>/tests/peer`.
pub fn peer_dir() -> PathBuf {
    match std::env::var_os("FERRIO_PEER_DIR") {
        Some(d) => PathBuf::from(d),
        None => Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests")
            .join("peer"),
    }
}

/// The npm folder of socket.io 3.x (`tests/peer-v3`): [`PeerOptions::modules`] runs the
/// peer's `server.js` on it.
pub fn peer_v3_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("peer-v3")
}

/// The folder of the socket.io 2.x peer: `<workspace>/tests/peer-v2`.
pub fn peer_v2_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("peer-v2")
}

fn node_bin() -> String {
    std::env::var("FERRIO_NODE").unwrap_or_else(|_| "node".to_string())
}

fn npm_bin() -> String {
    std::env::var("FERRIO_NPM").unwrap_or_else(|_| "npm".to_string())
}

/// The oldest Node.js the suites run on.
pub const NODE_MIN_MAJOR: u32 = 18;

/// What a suite that needs Node says, on one line, when `node` or `npm` cannot be run.
pub const NODE_NEEDED: &str = "node and npm are needed for this test (Node 18+): install them, \
     or run the tests that need neither: cargo test -p ferrio -p ferrio-macros (README.md, \
     \"Tests without Node\", lists the others)";

/// Makes sure Node.js 18+ can be run (`node`, or `FERRIO_NODE`), and npm too (`npm`, or
/// `FERRIO_NPM`) when `npm` is true. Checked once per process and program; when one is
/// missing, the test process writes [`NODE_NEEDED`] and why on one line of its standard
/// error, past the test harness's output capture, and exits with status 101 (a failed test
/// binary's): one clear line per suite instead of a panic in each of its tests. Failing
/// rather than skipping keeps a machine without Node from passing a run that tested nothing.
pub fn require_node(npm: bool) {
    static NODE: std::sync::OnceLock<Result<(), String>> = std::sync::OnceLock::new();
    static NPM: std::sync::OnceLock<Result<(), String>> = std::sync::OnceLock::new();
    let mut checked = NODE.get_or_init(check_node).clone();
    if npm && checked.is_ok() {
        checked = NPM
            .get_or_init(|| version_of(&npm_bin()).map(|_| ()))
            .clone();
    }
    if let Err(why) = checked {
        use std::io::Write as _;
        // One write of one line, straight to the process's stderr: the harness captures
        // `eprintln!` per test and would lose it at the exit.
        let line = format!("{NODE_NEEDED} ({why})\n");
        let _ = std::io::stderr().lock().write_all(line.as_bytes());
        std::process::exit(101);
    }
}

/// `node --version` is 18 or later.
fn check_node() -> Result<(), String> {
    let bin = node_bin();
    let version = version_of(&bin)?;
    let major = version
        .trim()
        .trim_start_matches('v')
        .split('.')
        .next()
        .and_then(|m| m.parse::<u32>().ok())
        .ok_or_else(|| format!("`{bin} --version` printed {:?}", version.trim()))?;
    if major < NODE_MIN_MAJOR {
        return Err(format!("`{bin}` is {}", version.trim()));
    }
    Ok(())
}

/// What `bin --version` prints, or why it could not be run.
fn version_of(bin: &str) -> Result<String, String> {
    let out = std::process::Command::new(bin)
        .arg("--version")
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run `{bin}`: {e}"))?;
    if !out.status.success() {
        return Err(format!("`{bin} --version` failed ({})", out.status));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// `node_modules` is complete: npm writes `node_modules/.package-lock.json` last.
fn installed(dir: &Path) -> bool {
    let modules = dir.join("node_modules");
    // Every dependency of package.json, so a checkout that added one installs again.
    let dependencies = std::fs::read(dir.join("package.json"))
        .ok()
        .and_then(|json| serde_json::from_slice::<serde_json::Value>(&json).ok())
        .and_then(|json| json.get("dependencies")?.as_object().cloned())
        .unwrap_or_default();
    modules.join(".package-lock.json").is_file()
        && modules.join("socket.io").join("package.json").is_file()
        && dependencies
            .keys()
            .all(|name| modules.join(name).join("package.json").is_file())
}

/// Makes sure `tests/peer/node_modules` exists, running `npm ci` at most once per process and
/// once across concurrent processes. Returns a readable error when it cannot.
pub async fn ensure_installed() -> Result<(), String> {
    ensure_installed_in(&peer_dir()).await
}

/// Makes sure the npm package in `dir` (a `package.json` depending on `socket.io` and its
/// `package-lock.json`) has its `node_modules`, running `npm ci` in `dir` at most once per
/// process and folder and once across concurrent processes, like [`ensure_installed`] does
/// for the Node peer. Returns a readable error when it cannot.
pub async fn ensure_installed_in(dir: &Path) -> Result<(), String> {
    type Once = Arc<OnceCell<Result<(), String>>>;
    static INSTALLS: Mutex<Vec<(PathBuf, Once)>> = Mutex::new(Vec::new());
    let once = {
        let mut installs = INSTALLS.lock().unwrap_or_else(|e| e.into_inner());
        match installs.iter().find(|(d, _)| d == dir) {
            Some((_, once)) => once.clone(),
            None => {
                let once = Once::default();
                installs.push((dir.to_path_buf(), once.clone()));
                once
            }
        }
    };
    once.get_or_init(|| async {
        require_node(!installed(dir));
        if installed(dir) {
            return Ok(());
        }
        if !dir.join("package-lock.json").is_file() {
            return Err(format!(
                "{} has no package-lock.json (set FERRIO_PEER_DIR?)",
                dir.display()
            ));
        }
        install_locked(dir).await
    })
    .await
    .clone()
}

async fn install_locked(dir: &Path) -> Result<(), String> {
    crate::install_lock::once_across_processes(
        &dir.join(".npm-ci.lock"),
        INSTALL_DEADLINE,
        "`npm ci`",
        || installed(dir),
        |deadline| run_npm_ci(dir, deadline),
    )
    .await
}

async fn run_npm_ci(dir: &Path, deadline: Instant) -> Result<(), String> {
    let mut cmd = Command::new(npm_bin());
    cmd.args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let child = cmd.spawn().map_err(|e| {
        format!(
            "cannot run `npm ci` in {} ({e}); is Node.js installed?",
            dir.display()
        )
    })?;
    let left = deadline.saturating_duration_since(Instant::now());
    match tokio::time::timeout(left, child.wait_with_output()).await {
        Err(_) => Err(format!(
            "`npm ci` in {} took longer than {INSTALL_DEADLINE:?}",
            dir.display()
        )),
        Ok(Err(e)) => Err(format!("`npm ci` in {} failed: {e}", dir.display())),
        Ok(Ok(out)) if !out.status.success() => Err(format!(
            "`npm ci` in {} failed ({}):\n{}{}",
            dir.display(),
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )),
        Ok(Ok(_)) if !installed(dir) => Err(format!(
            "`npm ci` in {} left no node_modules/socket.io",
            dir.display()
        )),
        Ok(Ok(_)) => Ok(()),
    }
}

/// Output shared by every incarnation of one server process (restarts append to it): its
/// stdout lines, and the tail of its stderr. Also the one of `process::ServerProcess`.
#[derive(Default)]
pub(crate) struct Output {
    lines: Mutex<Vec<String>>,
    stderr: Mutex<String>,
    notify: Notify,
}

impl Output {
    /// Every stdout line kept so far, in order.
    pub(crate) fn lines(&self) -> Vec<String> {
        self.lines.lock().map(|l| l.clone()).unwrap_or_default()
    }

    /// The tail of stderr.
    pub(crate) fn stderr(&self) -> String {
        self.stderr.lock().map(|s| s.clone()).unwrap_or_default()
    }

    pub(crate) fn push_line(&self, line: String) {
        if let Ok(mut l) = self.lines.lock() {
            l.push(line);
        }
        self.notify.notify_waiters();
    }
    pub(crate) fn push_stderr(&self, chunk: &str) {
        if let Ok(mut s) = self.stderr.lock() {
            // keep the tail only
            s.push_str(chunk);
            if s.len() > 64 * 1024 {
                let cut = s.len() - 32 * 1024;
                let cut = (cut..s.len())
                    .find(|&i| s.is_char_boundary(i))
                    .unwrap_or(s.len());
                s.drain(..cut);
            }
        }
    }
}

/// A running reference server. Dropping it kills the process.
pub struct NodePeer {
    options: PeerOptions,
    port: u16,
    child: Option<Child>,
    stdin: Option<ChildStdin>,
    output: Arc<Output>,
}

impl std::fmt::Debug for NodePeer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NodePeer")
            .field("port", &self.port)
            .field("running", &self.child.is_some())
            .field("options", &self.options)
            .finish()
    }
}

impl NodePeer {
    /// Starts the server (installing it first when needed); panics with a readable message when
    /// it cannot.
    pub async fn start(options: PeerOptions) -> NodePeer {
        match Self::try_start(options).await {
            Ok(p) => p,
            Err(e) => panic!("cannot start the Node reference server: {e}"),
        }
    }

    /// Starts the server with socket.io's default options.
    pub async fn start_default() -> NodePeer {
        Self::start(PeerOptions::default()).await
    }

    /// Starts the server (installing it first when needed).
    pub async fn try_start(options: PeerOptions) -> Result<NodePeer, String> {
        match &options.dir {
            None => {
                ensure_installed().await?;
                ensure_installed_in(&options.modules_dir()).await?;
            }
            Some(dir) => ensure_installed_in(dir).await?,
        }
        let output = Arc::new(Output::default());
        let (child, stdin, port) = spawn(&options, options.port, &output).await?;
        Ok(NodePeer {
            options,
            port,
            child: Some(child),
            stdin: Some(stdin),
            output,
        })
    }

    /// `http://127.0.0.1:<port>` (`https://` when serving TLS; `http://[::1]:<port>` when
    /// listening on `::1`)
    pub fn url(&self) -> String {
        let scheme = if self.options.tls.is_some() {
            "https"
        } else {
            "http"
        };
        format!("{scheme}://{}", self.addr())
    }

    /// The URL of a namespace, e.g. `url_for("/foo")`.
    pub fn url_for(&self, nsp: &str) -> String {
        format!("{}{nsp}", self.url())
    }

    /// The listening port (kept across restarts).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The listening address.
    pub fn addr(&self) -> SocketAddr {
        let ip = self
            .options
            .host
            .unwrap_or(std::net::IpAddr::from([127, 0, 0, 1]));
        SocketAddr::new(ip, self.port)
    }

    /// The process id of the running server (`None` when stopped); the `pid` of its `EVENT`
    /// lines.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().and_then(|c| c.id())
    }

    /// The server's own counters, from `GET /peer-state` (plain HTTP, outside the engine):
    /// `{pid, clients, handshakes, handshakeTransports, requests, connections}` (see
    /// `server.js`). Panics when the server does not answer within [`STATE_DEADLINE`].
    pub async fn state(&self) -> Value {
        match tokio::time::timeout(STATE_DEADLINE, peer_state(self.addr())).await {
            Ok(Ok(v)) => v,
            Ok(Err(e)) => panic!("GET /peer-state on {} failed: {e}", self.addr()),
            Err(_) => panic!(
                "GET /peer-state on {} took longer than {STATE_DEADLINE:?}",
                self.addr()
            ),
        }
    }

    /// `state()["clients"]`: how many Engine.IO sessions are open on the server.
    pub async fn clients_count(&self) -> u64 {
        self.state().await["clients"].as_u64().unwrap_or(u64::MAX)
    }

    /// The options the server was started with.
    pub fn options(&self) -> &PeerOptions {
        &self.options
    }

    /// Whether a server process is running (it has not been stopped or killed, and has not
    /// exited by itself).
    pub fn is_running(&mut self) -> bool {
        match &mut self.child {
            Some(c) => matches!(c.try_wait(), Ok(None)),
            None => false,
        }
    }

    /// Kills the process (SIGKILL) and waits until it is gone, so the port is free.
    pub async fn kill(&mut self) {
        self.stdin = None;
        if let Some(mut child) = self.child.take() {
            let _ = child.start_kill();
            let _ = tokio::time::timeout(Duration::from_secs(10), child.wait()).await;
        }
    }

    /// Stops the process: closes its stdin (the server exits at once), falls back to a kill
    /// after a deadline, and waits until it is gone.
    pub async fn stop(&mut self) {
        self.stdin = None; // EOF on the server's stdin
        if let Some(mut child) = self.child.take() {
            if tokio::time::timeout(Duration::from_secs(3), child.wait())
                .await
                .is_err()
            {
                let _ = child.start_kill();
                let _ = tokio::time::timeout(Duration::from_secs(10), child.wait()).await;
            }
        }
    }

    /// Stops the server (if running) and starts it again on the same port with the same options.
    pub async fn restart(&mut self) {
        self.stop().await;
        self.start_again().await;
    }

    /// Starts the server again on its port after `stop()`/`kill()` (or after it exited).
    pub async fn start_again(&mut self) {
        if self.is_running() {
            return;
        }
        self.child = None;
        self.stdin = None;
        match spawn(&self.options, self.port, &self.output).await {
            Ok((child, stdin, port)) => {
                assert_eq!(
                    port, self.port,
                    "the restarted server listens on another port"
                );
                self.child = Some(child);
                self.stdin = Some(stdin);
            }
            Err(e) => panic!(
                "cannot restart the Node reference server on port {}: {e}",
                self.port
            ),
        }
    }

    /// Every stdout line printed after `LISTENING`, by every incarnation, in order.
    pub fn lines(&self) -> Vec<String> {
        self.output.lines()
    }

    /// The tail of the server's stderr (every incarnation).
    pub fn stderr(&self) -> String {
        self.output.stderr()
    }

    /// The `EVENT` lines (see `PeerOptions::log_events`), parsed:
    /// `{"nsp": .., "sid": .., "key": .., "event": .., "args": [..]}`.
    pub fn events(&self) -> Vec<Value> {
        parse_events(&self.lines())
    }

    /// Waits until `done(&events)` holds, up to `deadline`; panics with the events seen when the
    /// deadline passes. Returns the events.
    pub async fn wait_for_events(
        &self,
        deadline: Duration,
        mut done: impl FnMut(&[Value]) -> bool,
    ) -> Vec<Value> {
        let end = tokio::time::Instant::now() + deadline;
        loop {
            let notified = self.output.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let events = self.events();
            if done(&events) {
                return events;
            }
            if tokio::time::timeout_at(end, notified).await.is_err() {
                let events = self.events();
                if done(&events) {
                    return events;
                }
                panic!(
                    "deadline of {deadline:?} passed waiting for the server's events; it logged {} events (last: {:?})",
                    events.len(),
                    events.last()
                );
            }
        }
    }
}

impl Drop for NodePeer {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let err = self.stderr();
            if !err.trim().is_empty() {
                eprintln!(
                    "--- Node reference server stderr (port {}) ---\n{err}",
                    self.port
                );
            }
        }
        self.stdin = None;
        if let Some(child) = &mut self.child {
            let _ = child.start_kill();
        }
    }
}

/// How long `GET /peer-state` may take.
pub const STATE_DEADLINE: Duration = Duration::from_secs(5);

/// `GET /peer-state` over a plain TCP connection (`Connection: close`): the JSON body.
async fn peer_state(addr: SocketAddr) -> Result<Value, String> {
    use tokio::io::AsyncWriteExt;
    let mut s = tokio::net::TcpStream::connect(addr)
        .await
        .map_err(|e| e.to_string())?;
    s.write_all(
        format!("GET /peer-state HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").as_bytes(),
    )
    .await
    .map_err(|e| e.to_string())?;
    let mut out = String::new();
    s.read_to_string(&mut out)
        .await
        .map_err(|e| e.to_string())?;
    let body = out
        .split_once("\r\n\r\n")
        .map(|(_, b)| b)
        .ok_or_else(|| format!("no HTTP body in {out:?}"))?;
    serde_json::from_str(body).map_err(|e| format!("{e} in {body:?}"))
}

fn parse_events(lines: &[String]) -> Vec<Value> {
    lines
        .iter()
        .filter_map(|l| l.strip_prefix("EVENT "))
        .filter_map(|j| serde_json::from_str(j).ok())
        .collect()
}

async fn spawn(
    options: &PeerOptions,
    port: u16,
    output: &Arc<Output>,
) -> Result<(Child, ChildStdin, u16), String> {
    let dir = options.peer_dir();
    let mut cmd = Command::new(node_bin());
    cmd.arg("server.js")
        .args(options.args(port))
        .current_dir(&dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let mut child = cmd.spawn().map_err(|e| {
        format!(
            "cannot run `node server.js` in {} ({e}); is Node.js installed?",
            dir.display()
        )
    })?;
    let stdin = child.stdin.take().ok_or("no stdin pipe")?;
    let stdout = child.stdout.take().ok_or("no stdout pipe")?;
    let mut stderr = child.stderr.take().ok_or("no stderr pipe")?;

    // stderr: drained into the shared tail, for failure messages.
    let out = output.clone();
    tokio::spawn(async move {
        let mut buf = vec![0u8; 8192];
        loop {
            match stderr.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => out.push_stderr(&String::from_utf8_lossy(&buf[..n])),
            }
        }
    });

    // stdout: the first LISTENING line gives the port; later lines are kept. The pipe is
    // drained until the process exits, so the server never blocks on a full pipe.
    let (tx, rx) = tokio::sync::oneshot::channel::<u16>();
    let out = output.clone();
    tokio::spawn(async move {
        let mut lines = BufReader::new(stdout).lines();
        let mut tx = Some(tx);
        while let Ok(Some(line)) = lines.next_line().await {
            if tx.is_some() {
                if let Some(p) = line
                    .strip_prefix("LISTENING ")
                    .and_then(|p| p.trim().parse().ok())
                {
                    if let Some(tx) = tx.take() {
                        let _ = tx.send(p);
                    }
                    continue;
                }
            }
            out.push_line(line);
        }
    });

    match tokio::time::timeout(START_DEADLINE, rx).await {
        Ok(Ok(port)) => Ok((child, stdin, port)),
        Ok(Err(_)) => {
            let status = tokio::time::timeout(Duration::from_secs(5), child.wait()).await;
            // let the stderr task catch up
            tokio::time::sleep(Duration::from_millis(50)).await;
            Err(format!(
                "the server exited before listening ({status:?}); stderr:\n{}",
                output.stderr()
            ))
        }
        Err(_) => {
            let _ = child.start_kill();
            Err(format!(
                "the server did not print LISTENING within {START_DEADLINE:?}; stderr:\n{}",
                output.stderr()
            ))
        }
    }
}

/// The address of a shared reference server, started once per test process with socket.io's
/// default options and kept for the life of the process (on a thread and runtime of its own, so
/// it outlives each test's runtime). Use it for tests that do not stop, restart or disturb the
/// whole server; the process exits with the test process (its stdin closes).
#[derive(Debug, Clone, Copy)]
pub struct SharedPeer {
    port: u16,
}

impl SharedPeer {
    /// `http://127.0.0.1:<port>`
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
    /// The URL of a namespace, e.g. `url_for("/foo")`.
    pub fn url_for(&self, nsp: &str) -> String {
        format!("{}{nsp}", self.url())
    }
    /// The listening port.
    pub fn port(&self) -> u16 {
        self.port
    }
    /// The listening address.
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }
}

static SHARED: OnceCell<Result<SharedPeer, String>> = OnceCell::const_new();
static SHARED_V2: OnceCell<Result<SharedPeer, String>> = OnceCell::const_new();

/// The process-wide shared reference server (see [`SharedPeer`]).
pub async fn shared_peer() -> SharedPeer {
    shared(&SHARED, PeerOptions::default).await
}

/// The process-wide shared socket.io 2.x server (`PeerOptions::v2()`, see [`SharedPeer`]).
pub async fn shared_peer_v2() -> SharedPeer {
    shared(&SHARED_V2, PeerOptions::v2).await
}

async fn shared(
    cell: &'static OnceCell<Result<SharedPeer, String>>,
    options: fn() -> PeerOptions,
) -> SharedPeer {
    let r = cell
        .get_or_init(|| async {
            let (tx, rx) = tokio::sync::oneshot::channel::<Result<u16, String>>();
            let spawned = std::thread::Builder::new()
                .name("ferrio-shared-peer".into())
                .spawn(move || {
                    let rt = match tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                    {
                        Ok(rt) => rt,
                        Err(e) => {
                            let _ = tx.send(Err(format!("cannot build a runtime: {e}")));
                            return;
                        }
                    };
                    rt.block_on(async move {
                        match NodePeer::try_start(options()).await {
                            Ok(peer) => {
                                let _ = tx.send(Ok(peer.port()));
                                // Keep the peer (and the tasks draining its pipes) for the life of
                                // the process.
                                std::future::pending::<()>().await;
                                drop(peer);
                            }
                            Err(e) => {
                                let _ = tx.send(Err(e));
                            }
                        }
                    });
                });
            if let Err(e) = spawned {
                return Err(format!("cannot spawn the shared peer's thread: {e}"));
            }
            match rx.await {
                Ok(Ok(port)) => Ok(SharedPeer { port }),
                Ok(Err(e)) => Err(e),
                Err(_) => Err("the shared peer's thread ended".to_string()),
            }
        })
        .await;
    match r {
        Ok(p) => *p,
        Err(e) => panic!("cannot start the shared Node reference server: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn args_carry_options() {
        let a = PeerOptions::new()
            .ping_interval(Duration::from_millis(300))
            .transports(&["websocket"])
            .recovery(true)
            .args(1234);
        assert_eq!(a[0], "1234");
        assert!(a.contains(&"--ping-interval=300".to_string()));
        assert!(a.contains(&"--transports=websocket".to_string()));
        assert!(a.contains(&"--recovery=1".to_string()));
    }

    #[test]
    fn events_are_parsed() {
        let lines = vec![
            "noise".to_string(),
            r#"EVENT {"nsp":"/","sid":"a","key":"a","event":"num","args":[1]}"#.to_string(),
        ];
        let ev = parse_events(&lines);
        assert_eq!(ev.len(), 1);
        assert_eq!(ev[0]["args"][0], 1);
    }

    /// An Engine.IO polling handshake by hand: returns the response body.
    async fn handshake(port: u16) -> std::io::Result<String> {
        use tokio::io::AsyncWriteExt;
        let mut s = tokio::net::TcpStream::connect(("127.0.0.1", port)).await?;
        s.write_all(
            b"GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
        )
        .await?;
        let mut out = String::new();
        s.read_to_string(&mut out).await?;
        Ok(out)
    }

    #[tokio::test]
    async fn starts_stops_and_restarts_on_the_same_port() {
        let mut peer =
            NodePeer::start(PeerOptions::new().ping_interval(Duration::from_millis(700))).await;
        let port = peer.port();
        assert!(port > 0);
        let body = handshake(port).await.expect("handshake");
        assert!(
            body.contains("\"sid\"") && body.contains("\"pingInterval\":700"),
            "{body}"
        );

        peer.kill().await;
        assert!(!peer.is_running());
        assert!(
            handshake(port).await.is_err(),
            "a killed server still answers"
        );

        peer.start_again().await;
        assert_eq!(peer.port(), port);
        assert!(handshake(port)
            .await
            .expect("handshake after restart")
            .contains("\"sid\""));

        peer.restart().await;
        assert!(handshake(port)
            .await
            .expect("handshake after restart")
            .contains("\"sid\""));
        peer.stop().await;
        assert!(
            handshake(port).await.is_err(),
            "a stopped server still answers"
        );
    }

    #[tokio::test]
    async fn shared_peer_is_started_once() {
        let a = shared_peer().await;
        let b = shared_peer().await;
        assert_eq!(a.port(), b.port());
        assert!(handshake(a.port())
            .await
            .expect("handshake")
            .contains("\"sid\""));
    }
}
