//! Real proxy servers for the proxy suite (`tests/proxy.rs`), started as child processes on
//! loopback like the Node peer:
//!
//! - [`ProxyServer::http`]: Debian's `tinyproxy` (HTTP `CONNECT`, optional basic auth);
//! - [`ProxyServer::socks5`]: Debian's `microsocks` (SOCKS5, optional username/password,
//!   names resolved by the proxy as `socks5h` asks);
//! - [`ProxyServer::https`]: Debian's `stunnel4` terminating TLS in front of a tinyproxy of
//!   its own: an `https://` proxy.
//!
//! Both make their outgoing connections from [`ProxyServer::OUTGOING`] (`127.0.0.3`), so a
//! server that sees a client at that address knows it came through the proxy.
//!
//! A missing binary is installed with `apt-get install -y` (after `apt-get update` when the
//! package lists don't know it), once per process and under a lock across processes. When
//! that is impossible (no apt, not root, no network), [`ProxyServer::http`] and
//! [`ProxyServer::socks5`] return `Err(reason)`, and [`skip`] prints one line saying so; with
//! `FERRIO_REQUIRE_PROXY_SERVERS=1` a missing server fails the test instead.
//!
//! The child is spawned with `kill_on_drop(true)`; `stop()` and `start_again()` act on its
//! handle, never on a process name; `start_again()` listens on the same port (a proxy that
//! cut its tunnels and came back).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use tokio::io::AsyncReadExt;
use tokio::process::{Child, Command};
use tokio::sync::OnceCell;

use crate::process::run_to_end;

/// How long a proxy may take to accept connections after it was spawned.
pub const PROXY_START_DEADLINE: Duration = Duration::from_secs(15);
/// How long installing a package may take.
pub const APT_DEADLINE: Duration = Duration::from_secs(300);

/// Which server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProxyProtocol {
    /// HTTP `CONNECT` (tinyproxy).
    Http,
    /// SOCKS5 (microsocks).
    Socks5,
    /// HTTP `CONNECT` over TLS (stunnel in front of tinyproxy).
    Https,
}

impl ProxyProtocol {
    fn binary(self) -> &'static str {
        match self {
            ProxyProtocol::Http => "tinyproxy",
            ProxyProtocol::Socks5 => "microsocks",
            ProxyProtocol::Https => "stunnel4",
        }
    }
}

/// A running proxy server. Dropping it kills the process.
pub struct ProxyServer {
    protocol: ProxyProtocol,
    auth: Option<(String, String)>,
    port: u16,
    child: Option<Child>,
    stderr: Arc<Mutex<String>>,
    dir: PathBuf,
    /// [`ProxyProtocol::Https`]: the certificate and key it presents, and the tinyproxy it
    /// forwards to.
    tls: Option<(PathBuf, PathBuf, Box<ProxyServer>)>,
}

impl std::fmt::Debug for ProxyServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProxyServer")
            .field("protocol", &self.protocol)
            .field("port", &self.port)
            .field("running", &self.child.is_some())
            .finish()
    }
}

impl ProxyServer {
    /// The address the proxies connect to servers from.
    pub const OUTGOING: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 3));

    /// Starts tinyproxy on a free loopback port, asking for `auth` when given (tinyproxy
    /// takes no spaces, `:`, `@` or `/` in them). `Err` only when tinyproxy is missing and
    /// cannot be installed; panics when it is there and does not start.
    pub async fn http(auth: Option<(&str, &str)>) -> Result<ProxyServer, String> {
        Self::start(ProxyProtocol::Http, auth).await
    }

    /// Starts microsocks on a free loopback port, asking for `auth` when given. `Err` only
    /// when microsocks is missing and cannot be installed; panics when it does not start.
    pub async fn socks5(auth: Option<(&str, &str)>) -> Result<ProxyServer, String> {
        Self::start(ProxyProtocol::Socks5, auth).await
    }

    /// Starts an `https://` proxy: stunnel on a free loopback port with the certificate
    /// `cert` (and its `key`), forwarding to a tinyproxy of its own that asks for `auth`.
    /// `Err` only when one of them is missing and cannot be installed.
    pub async fn https(
        auth: Option<(&str, &str)>,
        cert: PathBuf,
        key: PathBuf,
    ) -> Result<ProxyServer, String> {
        let inner = Self::http(auth).await?;
        Self::start_with(
            ProxyProtocol::Https,
            None,
            Some((cert, key, Box::new(inner))),
        )
        .await
    }

    async fn start(
        protocol: ProxyProtocol,
        auth: Option<(&str, &str)>,
    ) -> Result<ProxyServer, String> {
        Self::start_with(protocol, auth, None).await
    }

    async fn start_with(
        protocol: ProxyProtocol,
        auth: Option<(&str, &str)>,
        tls: Option<(PathBuf, PathBuf, Box<ProxyServer>)>,
    ) -> Result<ProxyServer, String> {
        ensure_binary(protocol.binary()).await?;
        let dir = std::env::temp_dir().join(format!(
            "ferrio-{}-{}-{}",
            protocol.binary(),
            std::process::id(),
            unique()
        ));
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let mut server = ProxyServer {
            protocol,
            auth: auth.map(|(u, p)| (u.to_owned(), p.to_owned())),
            port: 0,
            child: None,
            stderr: Arc::default(),
            dir,
            tls,
        };
        // A free port is found by binding port 0 and letting it go; another process may take
        // it in between, so a server that does not come up is tried on a new port.
        // Only a server that cannot be installed is a reason to skip: one that is there and
        // does not start fails the test.
        let mut last = String::new();
        for _ in 0..3 {
            let port = match free_port().await {
                Ok(port) => port,
                Err(e) => panic!("{e}"),
            };
            match server.spawn(port).await {
                Ok(()) => return Ok(server),
                Err(e) => last = e,
            }
        }
        panic!("cannot start {}: {last}", protocol.binary())
    }

    /// `http://127.0.0.1:<port>` or `socks5h://127.0.0.1:<port>`, without credentials.
    pub fn url(&self) -> String {
        self.url_with_scheme(match self.protocol {
            ProxyProtocol::Http => "http",
            ProxyProtocol::Socks5 => "socks5h",
            ProxyProtocol::Https => "https",
        })
    }

    /// The proxy's URL with another scheme (`socks5` for names resolved by the client).
    pub fn url_with_scheme(&self, scheme: &str) -> String {
        format!("{scheme}://127.0.0.1:{}", self.port)
    }

    /// The URL with `user:password@` (percent-encoding is the caller's business).
    pub fn url_with_auth(&self, user: &str, password: &str) -> String {
        self.url()
            .replacen("://", &format!("://{user}:{password}@"), 1)
    }

    /// The listening port (kept across `start_again`).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The tail of the server's output, for failure messages.
    pub fn output(&self) -> String {
        self.stderr.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// Kills the server (every tunnel through it is cut) and waits until it is gone.
    pub async fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.start_kill();
            let _ = tokio::time::timeout(Duration::from_secs(10), child.wait()).await;
        }
    }

    /// Starts the server again on its port after [`stop`](Self::stop).
    pub async fn start_again(&mut self) -> Result<(), String> {
        if self.child.is_some() {
            return Ok(());
        }
        // The port was just released by our own child and may be held a moment longer:
        // retried until the deadline.
        let deadline = Instant::now() + PROXY_START_DEADLINE;
        loop {
            match self.spawn(self.port).await {
                Ok(()) => return Ok(()),
                Err(e) if Instant::now() > deadline => return Err(e),
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    }

    fn config(&self, port: u16) -> Result<Vec<String>, String> {
        Ok(match self.protocol {
            ProxyProtocol::Http => {
                let mut conf = format!(
                    "Port {port}\nListen 127.0.0.1\nBind {}\nTimeout 600\nMaxClients 200\n\
                     LogLevel Connect\nDisableViaHeader Yes\n",
                    Self::OUTGOING
                );
                if let Some((user, password)) = &self.auth {
                    conf.push_str(&format!("BasicAuth {user} {password}\n"));
                }
                let file = self.dir.join(format!("tinyproxy-{port}.conf"));
                std::fs::write(&file, conf).map_err(|e| format!("{}: {e}", file.display()))?;
                vec!["-d".into(), "-c".into(), file.display().to_string()]
            }
            ProxyProtocol::Socks5 => {
                let mut args = vec![
                    "-i".into(),
                    "127.0.0.1".into(),
                    "-p".into(),
                    port.to_string(),
                    "-b".into(),
                    Self::OUTGOING.to_string(),
                ];
                if let Some((user, password)) = &self.auth {
                    args.extend(["-u".into(), user.clone(), "-P".into(), password.clone()]);
                }
                args
            }
            ProxyProtocol::Https => {
                let (cert, key, inner) = self.tls.as_ref().ok_or("no certificate")?;
                let conf = format!(
                    "foreground = yes\npid =\ndebug = notice\n[proxy]\n\
                     accept = 127.0.0.1:{port}\nconnect = 127.0.0.1:{}\ncert = {}\nkey = {}\n",
                    inner.port(),
                    cert.display(),
                    key.display()
                );
                let file = self.dir.join(format!("stunnel-{port}.conf"));
                std::fs::write(&file, conf).map_err(|e| format!("{}: {e}", file.display()))?;
                vec![file.display().to_string()]
            }
        })
    }

    async fn spawn(&mut self, port: u16) -> Result<(), String> {
        let binary = binary_path(self.protocol.binary())
            .ok_or_else(|| format!("{} is not installed", self.protocol.binary()))?;
        let mut child = Command::new(&binary)
            .args(self.config(port)?)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| format!("cannot run {}: {e}", binary.display()))?;
        for pipe in [
            child
                .stdout
                .take()
                .map(|p| Box::new(p) as Box<dyn AsyncRead>),
            child
                .stderr
                .take()
                .map(|p| Box::new(p) as Box<dyn AsyncRead>),
        ]
        .into_iter()
        .flatten()
        {
            let tail = self.stderr.clone();
            tokio::spawn(drain(pipe, tail));
        }
        // Ready once the port accepts a connection; an exit before that is a failure.
        let deadline = tokio::time::Instant::now() + PROXY_START_DEADLINE;
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                return Err(format!(
                    "{} exited before listening on {port} ({status}): {}",
                    self.protocol.binary(),
                    self.output()
                ));
            }
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                self.port = port;
                self.child = Some(child);
                return Ok(());
            }
            if tokio::time::Instant::now() > deadline {
                let _ = child.start_kill();
                return Err(format!(
                    "{} did not listen on {port} within {PROXY_START_DEADLINE:?}: {}",
                    self.protocol.binary(),
                    self.output()
                ));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for ProxyServer {
    fn drop(&mut self) {
        if let Some(child) = &mut self.child {
            let _ = child.start_kill();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

trait AsyncRead: tokio::io::AsyncRead + Unpin + Send {}
impl<T: tokio::io::AsyncRead + Unpin + Send> AsyncRead for T {}

async fn drain(mut pipe: Box<dyn AsyncRead>, tail: Arc<Mutex<String>>) {
    let mut buf = vec![0u8; 4096];
    loop {
        match pipe.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if let Ok(mut t) = tail.lock() {
                    t.push_str(&String::from_utf8_lossy(&buf[..n]));
                    if t.len() > 32 * 1024 {
                        let cut = t.len() - 16 * 1024;
                        let cut = (cut..t.len())
                            .find(|&i| t.is_char_boundary(i))
                            .unwrap_or(t.len());
                        t.drain(..cut);
                    }
                }
            }
        }
    }
}

pub(crate) async fn free_port() -> Result<u16, String> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| format!("cannot bind a loopback port: {e}"))?;
    listener
        .local_addr()
        .map(|a: SocketAddr| a.port())
        .map_err(|e| e.to_string())
}

fn unique() -> u128 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default()
}

/// Where `name` is: on `PATH`, or in `/usr/bin` / `/usr/sbin` (not always on a root `PATH`).
pub(crate) fn binary_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/bin"), PathBuf::from("/usr/sbin")])
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

/// Makes sure `package` (whose binary has the same name) is installed: `apt-get install`
/// when it is missing, at most once per process and package, under a lock across processes.
pub async fn ensure_binary(package: &str) -> Result<(), String> {
    type Once = Arc<OnceCell<Result<(), String>>>;
    static INSTALLS: Mutex<Vec<(String, Once)>> = Mutex::new(Vec::new());
    let once = {
        let mut installs = INSTALLS.lock().unwrap_or_else(|e| e.into_inner());
        match installs.iter().find(|(p, _)| p == package) {
            Some((_, once)) => once.clone(),
            None => {
                let once = Once::default();
                installs.push((package.to_owned(), once.clone()));
                once
            }
        }
    };
    once.get_or_init(|| async {
        if binary_path(package).is_some() {
            return Ok(());
        }
        apt_install_locked(package).await?;
        match binary_path(package) {
            Some(_) => Ok(()),
            None => Err(format!(
                "`apt-get install {package}` left no {package} binary"
            )),
        }
    })
    .await
    .clone()
}

async fn apt_install_locked(package: &str) -> Result<(), String> {
    crate::install_lock::once_across_processes(
        &std::env::temp_dir().join("ferrio-apt-install.lock"),
        APT_DEADLINE,
        "apt-get",
        || binary_path(package).is_some(),
        |deadline| apt_install(package, deadline),
    )
    .await
}

async fn apt_install(package: &str, deadline: Instant) -> Result<(), String> {
    if binary_path("apt-get").is_none() {
        return Err(format!(
            "{package} is missing and there is no apt-get to install it"
        ));
    }
    let install = ["install", "-y", "--no-install-recommends", package];
    match apt(&install, deadline).await {
        Ok(()) => Ok(()),
        // A fresh machine may have no package lists yet.
        Err(first) => {
            apt(&["update"], deadline)
                .await
                .map_err(|e| format!("{first}; then {e}"))?;
            apt(&install, deadline).await
        }
    }
}

async fn apt(args: &[&str], deadline: Instant) -> Result<(), String> {
    let mut apt = Command::new("apt-get");
    apt.args(args).env("DEBIAN_FRONTEND", "noninteractive");
    run_to_end(&mut apt, deadline).await
}

/// For a test that needs a proxy server it could not get: prints one line (once per process
/// and reason) and returns true, so the test returns; panics instead when
/// `FERRIO_REQUIRE_PROXY_SERVERS=1`.
pub fn skip(reason: &str) -> bool {
    if std::env::var("FERRIO_REQUIRE_PROXY_SERVERS").is_ok_and(|v| v == "1") {
        panic!("no proxy server (FERRIO_REQUIRE_PROXY_SERVERS=1): {reason}");
    }
    static SAID: Mutex<Vec<String>> = Mutex::new(Vec::new());
    let mut said = SAID.lock().unwrap_or_else(|e| e.into_inner());
    if !said.iter().any(|r| r == reason) {
        eprintln!("SKIPPED proxy tests (no proxy server could be started: {reason})");
        said.push(reason.to_owned());
    }
    true
}

/// The folder a test may keep files in for the life of a value (removed on drop).
#[derive(Debug)]
pub struct TempDir(PathBuf);

impl TempDir {
    /// A new empty folder under the system's temporary folder.
    pub fn new(prefix: &str) -> TempDir {
        let dir =
            std::env::temp_dir().join(format!("{prefix}-{}-{}", std::process::id(), unique()));
        if let Err(e) = std::fs::create_dir_all(&dir) {
            panic!("cannot create {}: {e}", dir.display());
        }
        TempDir(dir)
    }

    /// Its path.
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
