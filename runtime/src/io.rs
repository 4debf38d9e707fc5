//! `io(url)`: socket.io's one-call entry point, with its manager cache. Calls for the same
//! server share one [`Manager`] (one connection, multiplexed), unless the namespace is
//! already in use on it, or the call asks for a connection of its own (`force_new`,
//! `multiplex(false)`). The cache holds managers weakly: a manager whose handles are all
//! dropped is not kept alive by it, and the next call makes a new one.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use crate::manager::WeakManager;
use crate::{Error, Manager, ManagerBuilder, Result, Socket};

/// Connects to a namespace in one call (socket.io: `io(url)`): the URL's path is the
/// namespace (`http://host:3000/admin` is `/admin`, no path is `/`), its query goes to the
/// server (`socket.handshake.query`). Calls for the same server share one [`Manager`] (see
/// [`Io`] for the rules and the options).
///
/// Listeners registered right after it returns still get the events the server sent on
/// connection (see [`Socket::on`]); registering them before connecting, with
/// [`Io::build`], is the way that needs no grace period:
///
/// ```no_run
/// # async fn f() -> Result<(), ferrio::Error> {
/// let socket = ferrio::Io::new("http://127.0.0.1:3000/chat").build()?;
/// socket.on("welcome", |event| async move { println!("{:?}", event.values()) });
/// socket.connect().await?;
/// # Ok(()) }
/// ```
pub async fn io(url: &str) -> Result<Socket> {
    Io::new(url).connect().await
}

/// `io(url, options)`: the socket of a URL's namespace, on a cached or a new [`Manager`].
///
/// As socket.io's `lookup`, a call reuses the manager of an earlier call for the same
/// server (scheme, host and port) unless [`force_new`](Self::force_new) is set,
/// [`multiplex`](Self::multiplex) is off, or that manager already has a socket in this
/// namespace; the options of [`manager`](Self::manager) apply only when a new manager is
/// made.
#[must_use = "an Io does nothing until `build()` or `connect()`"]
pub struct Io {
    url: String,
    force_new: bool,
    multiplex: bool,
    configure: Option<Box<dyn FnOnce(ManagerBuilder) -> ManagerBuilder>>,
}

impl std::fmt::Debug for Io {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Io")
            .field("url", &self.url)
            .field("force_new", &self.force_new)
            .field("multiplex", &self.multiplex)
            .finish()
    }
}

impl Io {
    /// The namespace of `url`, with socket.io's defaults.
    pub fn new(url: &str) -> Io {
        Io {
            url: url.to_owned(),
            force_new: false,
            multiplex: true,
            configure: None,
        }
    }

    /// A new manager even when one for the same server exists (socket.io: `forceNew`,
    /// default false).
    pub fn force_new(mut self, force_new: bool) -> Self {
        self.force_new = force_new;
        self
    }

    /// Whether to share a manager with other calls (socket.io: `multiplex`, default true).
    pub fn multiplex(mut self, multiplex: bool) -> Self {
        self.multiplex = multiplex;
        self
    }

    /// Options of the manager, when this call makes one (socket.io: the manager options
    /// given to `io()`).
    pub fn manager(
        mut self,
        configure: impl FnOnce(ManagerBuilder) -> ManagerBuilder + 'static,
    ) -> Self {
        self.configure = Some(Box::new(configure));
        self
    }

    /// The socket, not connected yet: register listeners, then [`Socket::connect`].
    pub fn build(self) -> Result<Socket> {
        let parsed = url::Url::parse(&self.url)
            .map_err(|e| Error::Config(format!("invalid URL {:?}: {e}", self.url)))?;
        let namespace = match parsed.path() {
            "" => "/".to_owned(),
            path => path.to_owned(),
        };
        let id = format!(
            "{}://{}:{}",
            parsed.scheme(),
            parsed.host_str().unwrap_or_default(),
            parsed.port_or_known_default().unwrap_or_default()
        );
        let shared = self.multiplex && !self.force_new;
        let mut cache = cache().lock().unwrap_or_else(|e| e.into_inner());
        cache.retain(|_, manager| manager.upgrade().is_some());
        let reused = cache
            .get(&id)
            .and_then(WeakManager::upgrade)
            .filter(|manager| shared && !manager.has_socket(&namespace));
        let manager = match reused {
            Some(manager) => manager,
            None => {
                // The manager keeps the URL's query and replaces its path by the endpoint
                // path.
                let builder = Manager::builder(&self.url);
                let builder = match self.configure {
                    Some(configure) => configure(builder),
                    None => builder,
                };
                let manager = builder.build()?;
                if shared {
                    cache.insert(id, manager.downgrade());
                }
                manager
            }
        };
        drop(cache);
        Ok(manager.socket(&namespace).build())
    }

    /// The socket, connected (see [`Socket::connect`]).
    pub async fn connect(self) -> Result<Socket> {
        let socket = self.build()?;
        socket.connect().await?;
        Ok(socket)
    }
}

/// The managers of earlier `io()` calls, by server.
fn cache() -> &'static Mutex<HashMap<String, WeakManager>> {
    static CACHE: OnceLock<Mutex<HashMap<String, WeakManager>>> = OnceLock::new();
    CACHE.get_or_init(Default::default)
}
