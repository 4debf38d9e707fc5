//! Opening the byte stream under both transports: TCP (happy eyeballs, `tcp.rs`), through a
//! proxy when one applies (HTTP `CONNECT`, over TLS for an `https://` proxy, or SOCKS5,
//! `tunnel.rs`), and TLS through rustls for `https`/`wss` (`tls.rs`). One connector serves the websocket and the polling transport,
//! so both trust the same roots and behave the same behind the same proxy or load balancer.

mod proxy;
mod tcp;
mod tls;
mod tunnel;

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;

pub(crate) use proxy::from_env as proxy_from_env;
pub use proxy::Proxy;
pub(crate) use tls::{tls_config, TlsOptions};

use super::EngineConfig;

/// A TCP stream, wrapped in TLS for secure URLs (and for an `https://` proxy: TLS to the
/// proxy, and the server's TLS inside it).
pub(crate) enum Stream {
    /// `http` / `ws`.
    Plain(TcpStream),
    /// TLS over a stream: `https` / `wss`, or an `https://` proxy.
    Tls(Box<TlsStream<Stream>>),
}

/// Connects to the server of `cfg`: TCP to the server or to its proxy (from the local
/// address when one is set; TLS to an `https://` proxy), the proxy's tunnel, then TLS when
/// the URL is `https`/`wss`.
pub(crate) async fn connect(cfg: &EngineConfig) -> io::Result<Stream> {
    let (host, port) = (cfg.host.as_str(), cfg.port);
    let stream = match &cfg.proxy {
        None => {
            Stream::Plain(tcp::connect(host, port, cfg.local_address, cfg.connect_timeout).await?)
        }
        Some(proxy) => {
            let on_proxy = |e: io::Error| io::Error::new(e.kind(), format!("proxy {proxy}: {e}"));
            let tcp = tcp::connect(
                &proxy.host,
                proxy.port,
                cfg.local_address,
                cfg.connect_timeout,
            )
            .await
            .map_err(on_proxy)?;
            let mut stream = match (&cfg.proxy_tls, proxy.tls) {
                (Some(config), true) => tls_over(cfg, config, &proxy.host, Stream::Plain(tcp))
                    .await
                    .map_err(on_proxy)?,
                _ => Stream::Plain(tcp),
            };
            // A proxy that accepts the connection and never answers is told apart from a
            // slow server: its exchange has half the opening timeout.
            let limit = cfg.probe_timeout / 2;
            match tokio::time::timeout(limit, tunnel::open(&mut stream, proxy, host, port)).await {
                Ok(result) => result?,
                Err(_) => {
                    return Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        format!("proxy {proxy}: no answer to the tunnel request within {limit:?}"),
                    ))
                }
            }
            stream
        }
    };
    match cfg.tls.as_ref() {
        None => Ok(stream),
        Some(config) => tls_over(cfg, config, host, stream).await,
    }
}

/// The TLS handshake with `host` over `stream`.
async fn tls_over(
    cfg: &EngineConfig,
    config: &std::sync::Arc<rustls::ClientConfig>,
    host: &str,
    stream: Stream,
) -> io::Result<Stream> {
    let name = ServerName::try_from(host.to_owned())
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
    // Bounded here too: the connections the polling transport opens while a session is up
    // are not under the opening timeout.
    let limit = cfg.probe_timeout;
    let handshake = TlsConnector::from(config.clone()).connect(name, stream);
    match tokio::time::timeout(limit, handshake).await {
        Ok(tls) => Ok(Stream::Tls(Box::new(tls?))),
        Err(_) => Err(io::Error::new(
            io::ErrorKind::TimedOut,
            format!("the TLS handshake with {host} took longer than {limit:?}"),
        )),
    }
}

impl AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Tls(s) => Pin::new(s).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Stream::Tls(s) => Pin::new(s).poll_write(cx, buf),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            Stream::Tls(s) => Pin::new(s).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            Stream::Plain(s) => s.is_write_vectored(),
            Stream::Tls(s) => s.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_flush(cx),
            Stream::Tls(s) => Pin::new(s).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Stream::Tls(s) => Pin::new(s).poll_shutdown(cx),
        }
    }
}
