//! Proxies: what [`Proxy`] holds, which proxy a connection goes through (the builder's, or
//! the environment's the way curl and reqwest read it), and the hosts that bypass it
//! (`NO_PROXY`).

use std::fmt;
use std::net::IpAddr;

use crate::Error;

/// A proxy that connections go through (set with
/// [`ManagerBuilder::proxy`](crate::ManagerBuilder::proxy)).
///
/// - `http://[user:password@]host[:port]`: an HTTP proxy, asked for a tunnel with
///   `CONNECT host:port` (basic authentication with the user and password); default port
///   8080 as curl's. Every request (polling and websocket, `http` and `https`) goes through
///   the tunnel, TLS to the server inside it for `https`/`wss`; the proxy must allow
///   `CONNECT` to the server's port (squid's default rules allow only 443).
/// - `https://...`: the same HTTP proxy reached over TLS (default port 443), checked with the
///   manager's TLS settings (roots, [`tls_root_certificate_pem`], [`tls_config`]) against the
///   proxy's host name; for `https`/`wss` servers, their TLS runs inside that one.
/// - `socks5://[user:password@]host[:port]`: a SOCKS5 proxy (RFC 1928; username/password
///   authentication, RFC 1929), the server's name resolved here; default port 1080.
/// - `socks5h://...`: the same, the name resolved by the proxy (remote DNS).
///
/// The user and password may be percent-encoded in the URL, or given with
/// [`basic_auth`](Self::basic_auth). A proxy URL without a scheme is an HTTP proxy, as in
/// curl. The builder's [`local_address`](crate::ManagerBuilder::local_address) applies to the
/// connection to the proxy.
///
/// [`tls_root_certificate_pem`]: crate::ManagerBuilder::tls_root_certificate_pem
/// [`tls_config`]: crate::ManagerBuilder::tls_config
///
/// ```
/// let proxy = ferrio::Proxy::new("socks5h://user:secret@127.0.0.1:1080")?
///     .no_proxy("localhost, .internal.example");
/// let manager = ferrio::Manager::builder("https://example.com").proxy(proxy).build()?;
/// # Ok::<(), ferrio::Error>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Proxy {
    pub(crate) kind: ProxyKind,
    pub(crate) host: String,
    pub(crate) port: u16,
    pub(crate) auth: Option<(String, String)>,
    /// `https://`: the connection to the proxy itself is TLS.
    pub(crate) tls: bool,
    no_proxy: NoProxy,
}

/// The protocol spoken with the proxy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ProxyKind {
    /// HTTP `CONNECT`.
    Http,
    /// SOCKS5; `remote_dns`: the proxy resolves the server's name (`socks5h`).
    Socks5 { remote_dns: bool },
}

impl fmt::Debug for Proxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the password.
        f.debug_struct("Proxy")
            .field("url", &self.to_string())
            .field("user", &self.auth.as_ref().map(|(user, _)| user))
            .field("no_proxy", &self.no_proxy)
            .finish()
    }
}

/// The proxy's URL without its credentials, e.g. `socks5h://127.0.0.1:1080`.
impl fmt::Display for Proxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = match self.kind {
            ProxyKind::Http if self.tls => "https",
            ProxyKind::Http => "http",
            ProxyKind::Socks5 { remote_dns: false } => "socks5",
            ProxyKind::Socks5 { remote_dns: true } => "socks5h",
        };
        if self.host.contains(':') {
            write!(f, "{scheme}://[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{scheme}://{}:{}", self.host, self.port)
        }
    }
}

impl Proxy {
    /// Parses a proxy URL (`http://`, `https://`, `socks5://` or `socks5h://`, see
    /// [`Proxy`]); any other scheme (`socks4://`) is an [`Error::Config`].
    pub fn new(url: &str) -> Result<Proxy, Error> {
        let invalid = |why: &str| Error::Config(format!("invalid proxy URL {url:?}: {why}"));
        let full = if url.contains("://") {
            url.to_owned()
        } else {
            format!("http://{url}")
        };
        let parsed = url::Url::parse(&full).map_err(|e| invalid(&e.to_string()))?;
        let (kind, default_port) = match parsed.scheme() {
            "http" | "https" => (ProxyKind::Http, 8080),
            "socks5" => (ProxyKind::Socks5 { remote_dns: false }, 1080),
            "socks5h" => (ProxyKind::Socks5 { remote_dns: true }, 1080),
            other => {
                return Err(invalid(&format!(
                    "unsupported scheme {other:?} (http, https, socks5 or socks5h)"
                )))
            }
        };
        let host = parsed
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or_else(|| invalid("no host"))?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        let tls = parsed.scheme() == "https";
        let port = parsed
            .port()
            .unwrap_or(if tls { 443 } else { default_port });
        let auth = if parsed.username().is_empty() && parsed.password().is_none() {
            None
        } else {
            Some((
                percent_decode(parsed.username()),
                percent_decode(parsed.password().unwrap_or_default()),
            ))
        };
        Ok(Proxy {
            kind,
            host,
            port,
            auth,
            tls,
            no_proxy: NoProxy::default(),
        })
    }

    /// The user and password the proxy asks for (HTTP basic authentication, or SOCKS5
    /// username/password); replaces those of the URL.
    pub fn basic_auth(mut self, user: &str, password: &str) -> Self {
        self.auth = Some((user.to_owned(), password.to_owned()));
        self
    }

    /// Hosts reached directly rather than through this proxy, in `NO_PROXY`'s syntax: a
    /// comma-separated list of host names (a name also covers its subdomains; a leading
    /// `.` or `*.` is allowed), IP addresses, CIDR ranges (`10.0.0.0/8`), or `*` for every
    /// host.
    pub fn no_proxy(mut self, hosts: &str) -> Self {
        self.no_proxy = NoProxy::parse(hosts);
        self
    }

    /// Whether connections to `host` go through this proxy.
    pub(crate) fn applies_to(&self, host: &str) -> bool {
        !self.no_proxy.matches(host)
    }
}

/// Decodes `%XX` escapes (the user and password of a URL); invalid escapes stay as they are.
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The hosts that bypass a proxy (`NO_PROXY`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct NoProxy {
    all: bool,
    /// Lower-case names without a leading dot: the name and its subdomains.
    domains: Vec<String>,
    /// Addresses and ranges: (network, prefix length).
    ranges: Vec<(IpAddr, u8)>,
}

impl NoProxy {
    pub(crate) fn parse(list: &str) -> NoProxy {
        let mut out = NoProxy::default();
        for entry in list.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            if entry == "*" {
                out.all = true;
                continue;
            }
            let bare = entry.trim_start_matches('[');
            let (addr, prefix) = match bare.split_once('/') {
                Some((a, p)) => (a, p.parse::<u8>().ok()),
                None => (bare.trim_end_matches(']'), None),
            };
            if let Ok(ip) = addr.trim_end_matches(']').parse::<IpAddr>() {
                let max = if ip.is_ipv4() { 32 } else { 128 };
                out.ranges.push((ip, prefix.unwrap_or(max).min(max)));
                continue;
            }
            // `host:port`: the port is not considered (as reqwest).
            let name = match entry.rsplit_once(':') {
                Some((name, port)) if port.parse::<u16>().is_ok() => name,
                _ => entry,
            };
            let name = name
                .trim_start_matches("*.")
                .trim_start_matches('.')
                .to_ascii_lowercase();
            if !name.is_empty() {
                out.domains.push(name);
            }
        }
        out
    }

    pub(crate) fn matches(&self, host: &str) -> bool {
        if self.all {
            return true;
        }
        let host = host.trim_start_matches('[').trim_end_matches(']');
        if let Ok(ip) = host.parse::<IpAddr>() {
            return self
                .ranges
                .iter()
                .any(|(net, len)| in_range(ip, *net, *len));
        }
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        self.domains.iter().any(|d| {
            host == *d
                || (host.len() > d.len()
                    && host.ends_with(d.as_str())
                    && host.as_bytes()[host.len() - d.len() - 1] == b'.')
        })
    }
}

fn in_range(ip: IpAddr, net: IpAddr, len: u8) -> bool {
    match (ip, net) {
        (IpAddr::V4(ip), IpAddr::V4(net)) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0);
            u32::from(ip) & mask == u32::from(net) & mask
        }
        (IpAddr::V6(ip), IpAddr::V6(net)) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(len)).unwrap_or(0);
            u128::from(ip) & mask == u128::from(net) & mask
        }
        _ => false,
    }
}

/// The proxy the environment gives for a server, the way curl and reqwest read it:
/// `https_proxy`/`HTTPS_PROXY` for `https`/`wss`, `http_proxy`/`HTTP_PROXY` for
/// `http`/`ws`, else `all_proxy`/`ALL_PROXY` (lower case first); none when the host is in
/// `no_proxy`/`NO_PROXY`. An empty variable counts as unset. `var` reads one variable.
pub(crate) fn from_env(
    secure: bool,
    host: &str,
    var: impl Fn(&str) -> Option<String>,
) -> Result<Option<Proxy>, Error> {
    let read = |name: &str| {
        [name.to_ascii_lowercase(), name.to_owned()]
            .into_iter()
            .find_map(|n| var(&n).filter(|v| !v.trim().is_empty()).map(|v| (n, v)))
    };
    let scheme_var = if secure { "HTTPS_PROXY" } else { "HTTP_PROXY" };
    let Some((name, value)) = read(scheme_var).or_else(|| read("ALL_PROXY")) else {
        return Ok(None);
    };
    let proxy = Proxy::new(value.trim()).map_err(|e| {
        Error::Config(format!(
            "{name}: {e} (ManagerBuilder::proxy_from_env(false) ignores the environment)"
        ))
    })?;
    let no_proxy = read("NO_PROXY").map(|(_, v)| v).unwrap_or_default();
    let proxy = proxy.no_proxy(&no_proxy);
    Ok(proxy.applies_to(host).then_some(proxy))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| {
            vars.iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| (*v).to_owned())
        }
    }

    #[test]
    fn proxy_urls_parse() {
        let p = Proxy::new("http://us%40er:p%3Ass@proxy.example:3128").expect("valid");
        assert_eq!(p.kind, ProxyKind::Http);
        assert_eq!((p.host.as_str(), p.port), ("proxy.example", 3128));
        assert_eq!(p.auth, Some(("us@er".into(), "p:ss".into())));
        assert_eq!(p.to_string(), "http://proxy.example:3128");
        assert!(
            !format!("{p:?}").contains("p:ss"),
            "the password is not shown"
        );

        let p = Proxy::new("socks5h://[::1]").expect("valid");
        assert_eq!(p.kind, ProxyKind::Socks5 { remote_dns: true });
        assert_eq!((p.host.as_str(), p.port), ("::1", 1080));
        assert_eq!(p.to_string(), "socks5h://[::1]:1080");

        let p = Proxy::new("127.0.0.1:8888").expect("no scheme: http");
        assert_eq!((p.kind, p.port), (ProxyKind::Http, 8888));
        assert_eq!(Proxy::new("http://h").expect("valid").port, 8080);

        let p = Proxy::new("https://proxy.example").expect("valid");
        assert_eq!((p.kind, p.tls, p.port), (ProxyKind::Http, true, 443));
        assert_eq!(p.to_string(), "https://proxy.example:443");
        assert!(!Proxy::new("http://h").expect("valid").tls);

        for bad in ["socks4://h:1", "http://", "ftp://h"] {
            assert!(
                matches!(Proxy::new(bad), Err(Error::Config(_))),
                "{bad} is refused"
            );
        }
    }

    #[test]
    fn no_proxy_matches_names_suffixes_addresses_and_ranges() {
        let n = NoProxy::parse(
            " localhost, .corp.example ,*.svc, 10.0.0.0/8, ::1, [fd00::]/8, x.y:8080",
        );
        for host in [
            "localhost",
            "LOCALHOST",
            "corp.example",
            "a.corp.example",
            "b.svc",
            "10.1.2.3",
            "::1",
            "[::1]",
            "fd12::1",
            "x.y",
        ] {
            assert!(n.matches(host), "{host} bypasses");
        }
        for host in [
            "notcorp.example",
            "11.0.0.1",
            "::2",
            "svc.other",
            "127.0.0.1",
        ] {
            assert!(!n.matches(host), "{host} goes through the proxy");
        }
        assert!(NoProxy::parse("*").matches("anything"));
        assert!(!NoProxy::parse("").matches("anything"));
    }

    #[test]
    fn the_environment_is_read_as_curl_does() {
        let vars = [
            ("http_proxy", "http://lower:1"),
            ("HTTP_PROXY", "http://upper:2"),
            ("HTTPS_PROXY", "socks5h://secure:3"),
            ("ALL_PROXY", "socks5://all:4"),
            ("NO_PROXY", "skip.example"),
        ];
        let proxy = |secure, host| {
            from_env(secure, host, env(&vars))
                .expect("valid")
                .map(|p| p.to_string())
        };
        assert_eq!(proxy(false, "a.example").as_deref(), Some("http://lower:1"));
        assert_eq!(
            proxy(true, "a.example").as_deref(),
            Some("socks5h://secure:3")
        );
        assert_eq!(proxy(true, "www.skip.example"), None);
        let only_all = [("all_proxy", "socks5://all:4"), ("no_proxy", "*")];
        assert_eq!(from_env(false, "h", env(&only_all)).expect("valid"), None);
        let only_all = [("all_proxy", "socks5://all:4"), ("https_proxy", "")];
        assert_eq!(
            from_env(true, "h", env(&only_all))
                .expect("valid")
                .map(|p| p.to_string())
                .as_deref(),
            Some("socks5://all:4")
        );
        assert_eq!(from_env(true, "h", env(&[])).expect("valid"), None);
        let bad = [("HTTPS_PROXY", "socks4://h:1")];
        let error = from_env(true, "h", env(&bad)).expect_err("unsupported");
        assert!(error.to_string().contains("HTTPS_PROXY"), "{error}");
    }
}
