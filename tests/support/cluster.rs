//! A socket.io cluster as production runs one, for `tests/cluster.rs`, all on loopback:
//!
//! - Redis (Debian's `redis-server`, no persistence, config on the command line);
//! - two nodes of `tests/peer-cluster/server.js` (the official socket.io 4.8 server with
//!   `@socket.io/redis-adapter`, pinned by its `package-lock.json`, installed with `npm ci`
//!   like the Node peer), named `a` and `b`;
//! - HAProxy (Debian's `haproxy`) in front: round robin, sticky sessions by the cookie it
//!   inserts (`SERVERID=a|b`), websockets passed through, a node that stops accepting marked
//!   down by a TCP check within ~300 ms and its sessions sent to the other (`redispatch`).
//!
//! `redis-server` and `haproxy` are installed with apt when missing, like the proxy servers
//! (`proxy_servers::ensure_binary`); when they cannot be, [`Cluster::start`] gives
//! `Err(reason)` and [`skip`] prints one line (`FERRIO_REQUIRE_CLUSTER=1` fails instead).
//! Every process is a child stopped by its handle and killed on drop.

use std::sync::Mutex;
use std::time::Duration;

use crate::peer::ensure_installed_in;
use crate::process::{ProgramSpec, ServerProcess};
use crate::proxy_servers::{binary_path, ensure_binary, free_port, TempDir};

/// The cookie HAProxy pins a client to its node with.
pub const STICKY_COOKIE: &str = "SERVERID";

/// How often HAProxy checks that a node accepts connections.
pub const CHECK_INTERVAL: Duration = Duration::from_millis(300);

/// The running cluster. Dropping it kills every process.
#[derive(Debug)]
pub struct Cluster {
    nodes: Vec<ServerProcess>,
    balancer: ServerProcess,
    /// Kept for its life: killed on drop.
    _redis: ServerProcess,
    _dir: TempDir,
}

impl Cluster {
    /// The nodes' names, in order: `a`, `b`.
    pub const NODES: [&'static str; 2] = ["a", "b"];

    /// Starts Redis, the two nodes and HAProxy. `Err` only when a package cannot be
    /// installed; panics when one is there and does not start.
    pub async fn start() -> Result<Cluster, String> {
        ensure_binary("redis-server").await?;
        ensure_binary("haproxy").await?;
        let dir = crate::peer::peer_dir()
            .parent()
            .map(|tests| tests.join("peer-cluster"))
            .ok_or("no tests folder")?;
        ensure_installed_in(&dir).await?;
        let program = |name: &str| binary_path(name).ok_or(format!("{name} is not installed"));

        let redis_port = free_port().await?;
        let redis = ServerProcess::start(ProgramSpec {
            name: "redis-server".into(),
            program: program("redis-server")?,
            args: [
                "--port",
                "{port}",
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--daemonize",
                "no",
                "--loglevel",
                "warning",
            ]
            .map(String::from)
            .to_vec(),
            dir: std::env::temp_dir(),
            env: Vec::new(),
            port: Some(redis_port),
        })
        .await;

        let mut nodes = Vec::new();
        for name in Self::NODES {
            let node_program = std::env::var_os("FERRIO_NODE").unwrap_or_else(|| "node".into());
            nodes.push(
                ServerProcess::start(ProgramSpec {
                    name: format!("cluster node {name}"),
                    program: node_program.into(),
                    args: vec![
                        "server.js".into(),
                        "{port}".into(),
                        format!("--redis={redis_port}"),
                        format!("--name={name}"),
                    ],
                    dir: dir.clone(),
                    env: Vec::new(),
                    port: None,
                })
                .await,
            );
        }

        let temp = TempDir::new("ferrio-haproxy");
        let config = temp.path().join("haproxy.cfg");
        let balancer_port = free_port().await?;
        std::fs::write(&config, haproxy_config(balancer_port, &nodes))
            .map_err(|e| format!("{}: {e}", config.display()))?;
        let balancer = ServerProcess::start(ProgramSpec {
            name: "haproxy".into(),
            program: program("haproxy")?,
            // -db: stay in the foreground.
            args: vec!["-db".into(), "-f".into(), config.display().to_string()],
            dir: temp.path().to_path_buf(),
            env: Vec::new(),
            port: Some(balancer_port),
        })
        .await;
        Ok(Cluster {
            nodes,
            balancer,
            _redis: redis,
            _dir: temp,
        })
    }

    /// The load balancer's URL: what clients connect to.
    pub fn url(&self) -> String {
        self.balancer.url()
    }

    /// A node by name (`a` or `b`), to kill, restart or read its lines (`CONNECT <name>
    /// <nsp> <engine id>`).
    pub fn node(&mut self, name: &str) -> &mut ServerProcess {
        let i = Self::NODES
            .iter()
            .position(|n| *n == name)
            .unwrap_or_else(|| panic!("no node {name}"));
        &mut self.nodes[i]
    }
}

/// Round robin over the nodes; the cookie pins a session to its node, so every request of
/// a polling session and its websocket upgrade reach the node that knows the session.
fn haproxy_config(port: u16, nodes: &[ServerProcess]) -> String {
    let check = CHECK_INTERVAL.as_millis();
    let mut config = format!(
        "global\n\
         \x20 maxconn 1000\n\
         defaults\n\
         \x20 mode http\n\
         \x20 timeout connect 1s\n\
         \x20 timeout client 60s\n\
         \x20 timeout server 60s\n\
         \x20 timeout tunnel 60s\n\
         \x20 option redispatch\n\
         \x20 retries 2\n\
         frontend socketio\n\
         \x20 bind 127.0.0.1:{port}\n\
         \x20 default_backend nodes\n\
         backend nodes\n\
         \x20 balance roundrobin\n\
         \x20 cookie {STICKY_COOKIE} insert indirect nocache\n"
    );
    for (name, node) in Cluster::NODES.iter().zip(nodes) {
        config.push_str(&format!(
            "  server {name} 127.0.0.1:{} cookie {name} check inter {check}ms fall 1 rise 2\n",
            node.port()
        ));
    }
    config
}

/// For a test that could not get its cluster: prints one line (once per process and
/// reason) and returns true, so the test returns; panics instead when
/// `FERRIO_REQUIRE_CLUSTER=1`.
pub fn skip(reason: &str) -> bool {
    if std::env::var("FERRIO_REQUIRE_CLUSTER").is_ok_and(|v| v == "1") {
        panic!("no cluster (FERRIO_REQUIRE_CLUSTER=1): {reason}");
    }
    static SAID: Mutex<Vec<String>> = Mutex::new(Vec::new());
    let mut said = SAID.lock().unwrap_or_else(|e| e.into_inner());
    if !said.iter().any(|r| r == reason) {
        eprintln!("SKIPPED cluster tests (no cluster could be started: {reason})");
        said.push(reason.to_owned());
    }
    true
}
