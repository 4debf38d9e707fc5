//! Opening the byte stream under both transports: TCP, and TLS through rustls for
//! `https`/`wss`. One connector serves the websocket and the polling transport, so both
//! trust the same roots and behave the same behind the same proxy or load balancer.

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpSocket, TcpStream};
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;

use super::EngineConfig;
use crate::Error;

/// The TLS client configuration used when none is given: the Mozilla roots of
/// `webpki-roots`, plus any extra roots the builder added.
pub(crate) fn tls_config(
    extra_roots: &[rustls::pki_types::CertificateDer<'static>],
) -> Result<Arc<rustls::ClientConfig>, Error> {
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    for cert in extra_roots {
        roots
            .add(cert.clone())
            .map_err(|e| Error::Tls(e.to_string()))?;
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::Tls(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// A TCP stream, wrapped in TLS for secure URLs.
pub(crate) enum Stream {
    /// `http` / `ws`.
    Plain(TcpStream),
    /// `https` / `wss`.
    Tls(Box<TlsStream<TcpStream>>),
}

/// Connects to the server of `cfg`, with TLS when it is `https`/`wss`, from its local
/// address when one is set.
pub(crate) async fn connect(cfg: &EngineConfig) -> io::Result<Stream> {
    let (host, port, tls) = (cfg.host.as_str(), cfg.port, cfg.tls.as_ref());
    let tcp = match cfg.local_address {
        None => TcpStream::connect((host, port)).await?,
        Some(local) => connect_from(local, host, port).await?,
    };
    // Events are small and latency matters more than a few saved packets.
    tcp.set_nodelay(true)?;
    let Some(config) = tls else {
        return Ok(Stream::Plain(tcp));
    };
    let name = ServerName::try_from(
        host.trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned(),
    )
    .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
    let tls = TlsConnector::from(config.clone())
        .connect(name, tcp)
        .await?;
    Ok(Stream::Tls(Box::new(tls)))
}

/// Connects from `local` (socket.io: `localAddress`) to the first address of `host` in the
/// same family.
async fn connect_from(local: IpAddr, host: &str, port: u16) -> io::Result<TcpStream> {
    let mut failure = None;
    for addr in tokio::net::lookup_host((host, port)).await? {
        if addr.is_ipv4() != local.is_ipv4() {
            continue;
        }
        let socket = if local.is_ipv4() {
            TcpSocket::new_v4()?
        } else {
            TcpSocket::new_v6()?
        };
        socket.bind(SocketAddr::new(local, 0))?;
        match socket.connect(addr).await {
            Ok(tcp) => return Ok(tcp),
            Err(e) => failure = Some(e),
        }
    }
    Err(failure.unwrap_or_else(|| {
        io::Error::new(
            io::ErrorKind::AddrNotAvailable,
            format!("{host} has no address of the local address's family ({local})"),
        )
    }))
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
