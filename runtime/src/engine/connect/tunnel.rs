//! Tunnels through a proxy: HTTP `CONNECT` (RFC 9110 §9.3.6) and SOCKS5 (RFC 1928, with the
//! username/password authentication of RFC 1929). Each turns a stream to the proxy into a
//! stream to the server; what a proxy answers is checked and bounded, and a refusal is an
//! error that says what the proxy said.

use std::io;
use std::net::IpAddr;

use base64::Engine as _;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use super::proxy::{Proxy, ProxyKind};

/// The longest `CONNECT` answer head accepted from a proxy.
const MAX_HEAD: usize = 16 * 1024;

fn proxy_error(kind: io::ErrorKind, proxy: &Proxy, message: String) -> io::Error {
    io::Error::new(kind, format!("proxy {proxy}: {message}"))
}

/// Asks `proxy`, at the other end of `stream`, for a tunnel to `host:port`.
pub(crate) async fn open<S>(stream: &mut S, proxy: &Proxy, host: &str, port: u16) -> io::Result<()>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    match proxy.kind {
        ProxyKind::Http => http_connect(stream, proxy, host, port).await,
        ProxyKind::Socks5 { remote_dns } => {
            let target = match host.parse::<IpAddr>() {
                Ok(ip) => Target::Ip(ip),
                Err(_) if remote_dns => Target::Name(host),
                Err(_) => Target::Ip(resolve(host, port).await?),
            };
            socks5(stream, proxy, target, port).await
        }
    }
}

/// `socks5://`: the server's name is resolved here; its first address is used.
async fn resolve(host: &str, port: u16) -> io::Result<IpAddr> {
    tokio::net::lookup_host((host, port))
        .await?
        .next()
        .map(|a| a.ip())
        .ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::NotFound,
                format!("{host} has no address to give the SOCKS5 proxy"),
            )
        })
}

async fn http_connect<S>(stream: &mut S, proxy: &Proxy, host: &str, port: u16) -> io::Result<()>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let authority = if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    };
    let mut request = format!("CONNECT {authority} HTTP/1.1\r\nHost: {authority}\r\n");
    if let Some((user, password)) = &proxy.auth {
        let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        request.push_str(&format!("Proxy-Authorization: Basic {token}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).await?;
    stream.flush().await?;

    // The answer head, read a byte at a time: nothing after it may be taken from the
    // tunnel (it belongs to the TLS or HTTP exchange that follows).
    let mut head = Vec::with_capacity(256);
    while !head.ends_with(b"\r\n\r\n") {
        if head.len() >= MAX_HEAD {
            return Err(proxy_error(
                io::ErrorKind::InvalidData,
                proxy,
                format!("its CONNECT answer is longer than {MAX_HEAD} bytes"),
            ));
        }
        let mut byte = [0u8];
        if stream.read(&mut byte).await? == 0 {
            return Err(proxy_error(
                io::ErrorKind::UnexpectedEof,
                proxy,
                if head.is_empty() {
                    "it closed the connection without answering CONNECT".to_owned()
                } else {
                    format!(
                        "it closed the connection in its CONNECT answer {:?}",
                        String::from_utf8_lossy(&head)
                    )
                },
            ));
        }
        head.push(byte[0]);
        // Not HTTP at all: no need to wait for a blank line that may never come.
        if head.len() == 5 && &head[..] != b"HTTP/" {
            return Err(not_http(proxy, &head));
        }
    }
    let status_line = head.split(|&b| b == b'\n').next().unwrap_or_default();
    let status_line = String::from_utf8_lossy(status_line).trim_end().to_owned();
    let mut parts = status_line.splitn(3, ' ');
    let (version, code) = (parts.next().unwrap_or_default(), parts.next());
    let code = match code.and_then(|c| c.parse::<u16>().ok()) {
        Some(code) if version.starts_with("HTTP/1.") => code,
        _ => return Err(not_http(proxy, &head)),
    };
    match code {
        200..=299 => Ok(()),
        // 407 is the proxy's own; some (tinyproxy) answer a CONNECT with 401 instead.
        401 | 407 => Err(proxy_error(
            io::ErrorKind::PermissionDenied,
            proxy,
            format!(
                "it refused the credentials ({}): {status_line}",
                if proxy.auth.is_some() {
                    "wrong user or password"
                } else {
                    "it asks for a user and password"
                }
            ),
        )),
        _ => Err(proxy_error(
            io::ErrorKind::ConnectionRefused,
            proxy,
            format!("it refused the tunnel to {authority}: {status_line}"),
        )),
    }
}

fn not_http(proxy: &Proxy, head: &[u8]) -> io::Error {
    let shown: String = String::from_utf8_lossy(&head[..head.len().min(64)])
        .chars()
        .collect();
    proxy_error(
        io::ErrorKind::InvalidData,
        proxy,
        format!("it answered CONNECT with something other than HTTP: {shown:?}"),
    )
}

/// Where a SOCKS5 proxy is asked to connect.
enum Target<'a> {
    Ip(IpAddr),
    Name(&'a str),
}

async fn socks5<S>(stream: &mut S, proxy: &Proxy, target: Target<'_>, port: u16) -> io::Result<()>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let bad = |message: String| proxy_error(io::ErrorKind::InvalidData, proxy, message);
    // Greeting: the methods offered, "no authentication" and/or "username/password".
    let greeting: &[u8] = match proxy.auth {
        Some(_) => &[5, 2, 0, 2],
        None => &[5, 1, 0],
    };
    stream.write_all(greeting).await?;
    let mut choice = [0u8; 2];
    read_exact(stream, proxy, &mut choice).await?;
    if choice[0] != 5 {
        return Err(bad(format!(
            "it does not speak SOCKS5 (it answered {:02x?})",
            choice
        )));
    }
    match (choice[1], &proxy.auth) {
        (0, _) => {}
        (2, Some((user, password))) => {
            let (user, password) = (user.as_bytes(), password.as_bytes());
            let (Ok(ulen), Ok(plen)) = (u8::try_from(user.len()), u8::try_from(password.len()))
            else {
                return Err(proxy_error(
                    io::ErrorKind::InvalidInput,
                    proxy,
                    "a SOCKS5 user or password is at most 255 bytes".to_owned(),
                ));
            };
            let mut auth = vec![1, ulen];
            auth.extend_from_slice(user);
            auth.push(plen);
            auth.extend_from_slice(password);
            stream.write_all(&auth).await?;
            let mut status = [0u8; 2];
            read_exact(stream, proxy, &mut status).await?;
            if status[1] != 0 {
                return Err(proxy_error(
                    io::ErrorKind::PermissionDenied,
                    proxy,
                    "it refused the credentials (wrong user or password)".to_owned(),
                ));
            }
        }
        (0xff, _) | (2, None) => {
            return Err(proxy_error(
                io::ErrorKind::PermissionDenied,
                proxy,
                if proxy.auth.is_some() {
                    "it accepts none of the authentication methods offered".to_owned()
                } else {
                    "it asks for a user and password".to_owned()
                },
            ))
        }
        (other, _) => {
            return Err(bad(format!(
                "it chose an authentication method not offered ({other})"
            )))
        }
    }

    let mut request = vec![5, 1, 0];
    match target {
        Target::Ip(IpAddr::V4(ip)) => {
            request.push(1);
            request.extend_from_slice(&ip.octets());
        }
        Target::Ip(IpAddr::V6(ip)) => {
            request.push(4);
            request.extend_from_slice(&ip.octets());
        }
        Target::Name(name) => {
            let len = u8::try_from(name.len()).map_err(|_| {
                proxy_error(
                    io::ErrorKind::InvalidInput,
                    proxy,
                    "a host name sent to a SOCKS5 proxy is at most 255 bytes".to_owned(),
                )
            })?;
            request.push(3);
            request.push(len);
            request.extend_from_slice(name.as_bytes());
        }
    }
    request.extend_from_slice(&port.to_be_bytes());
    stream.write_all(&request).await?;

    let mut reply = [0u8; 4];
    read_exact(stream, proxy, &mut reply).await?;
    if reply[0] != 5 {
        return Err(bad(format!("its answer is not SOCKS5 ({reply:02x?})")));
    }
    if reply[1] != 0 {
        let why = match reply[1] {
            1 => "general failure",
            2 => "connection not allowed by its rules",
            3 => "network unreachable",
            4 => "host unreachable",
            5 => "connection refused",
            6 => "TTL expired",
            7 => "command not supported",
            8 => "address type not supported",
            _ => "unknown error",
        };
        return Err(proxy_error(
            io::ErrorKind::ConnectionRefused,
            proxy,
            format!("it could not connect to the server: {why} ({})", reply[1]),
        ));
    }
    // The address the proxy bound: read and dropped.
    let rest = match reply[3] {
        1 => 4 + 2,
        4 => 16 + 2,
        3 => {
            let mut len = [0u8];
            read_exact(stream, proxy, &mut len).await?;
            usize::from(len[0]) + 2
        }
        other => {
            return Err(bad(format!(
                "its answer has an unknown address type {other}"
            )))
        }
    };
    let mut bound = vec![0u8; rest];
    read_exact(stream, proxy, &mut bound).await?;
    Ok(())
}

async fn read_exact<S>(stream: &mut S, proxy: &Proxy, buf: &mut [u8]) -> io::Result<()>
where
    S: AsyncRead + Unpin,
{
    match stream.read_exact(buf).await {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Err(proxy_error(
            io::ErrorKind::UnexpectedEof,
            proxy,
            "it closed the connection during the SOCKS5 exchange".to_owned(),
        )),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs `open` against a scripted proxy: what it answers, once the client wrote.
    async fn against(proxy: &str, answer: &'static [u8]) -> (io::Result<()>, Vec<u8>) {
        let proxy = Proxy::new(proxy).expect("valid");
        let (mut client, mut server) = tokio::io::duplex(64 * 1024);
        let peer = tokio::spawn(async move {
            let mut seen = vec![0u8; 4096];
            let n = server.read(&mut seen).await.unwrap_or(0);
            seen.truncate(n);
            let _ = server.write_all(answer).await;
            let _ = server.shutdown().await;
            // Then takes whatever comes (a SOCKS5 authentication) until the client is done.
            let mut sink = Vec::new();
            let _ = server.read_to_end(&mut sink).await;
            seen
        });
        let result = open(&mut client, &proxy, "example.com", 443).await;
        drop(client);
        let seen = peer.await.unwrap_or_default();
        (result, seen)
    }

    #[tokio::test]
    async fn connect_sends_credentials_and_accepts_a_2xx() {
        let (r, seen) = against(
            "http://u:p@proxy:1",
            b"HTTP/1.1 200 Connection established\r\n\r\n",
        )
        .await;
        r.expect("tunnel");
        let seen = String::from_utf8(seen).expect("text");
        assert!(
            seen.starts_with("CONNECT example.com:443 HTTP/1.1\r\n"),
            "{seen}"
        );
        assert!(
            seen.contains("Proxy-Authorization: Basic dTpw\r\n"),
            "{seen}"
        );
    }

    #[tokio::test]
    async fn connect_refusals_and_garbage_are_clear_errors() {
        let (r, _) = against(
            "http://proxy:1",
            b"HTTP/1.1 407 Proxy Authentication Required\r\n\r\n",
        )
        .await;
        let e = r.expect_err("407");
        assert_eq!(e.kind(), io::ErrorKind::PermissionDenied);
        assert!(
            e.to_string().contains("asks for a user and password"),
            "{e}"
        );

        let (r, _) = against("http://proxy:1", b"HTTP/1.1 403 Forbidden\r\n\r\n").await;
        assert!(r.expect_err("403").to_string().contains("403 Forbidden"));

        let (r, _) = against("http://proxy:1", b"SSH-2.0-OpenSSH\r\n").await;
        let e = r.expect_err("garbage");
        assert!(e.to_string().contains("other than HTTP"), "{e}");

        let (r, _) = against("http://proxy:1", b"HTTP/1.1 200 OK\r\n").await;
        let e = r.expect_err("cut");
        assert!(e.to_string().contains("closed the connection"), "{e}");
    }

    #[tokio::test]
    async fn socks5_refusals_are_clear_errors() {
        // Username/password chosen, then refused.
        let (r, seen) = against("socks5h://u:p@proxy:1", b"\x05\x02\x01\x01").await;
        assert_eq!(seen, [5, 2, 0, 2]);
        let e = r.expect_err("refused");
        assert!(e.to_string().contains("refused the credentials"), "{e}");
        // No acceptable method.
        let (r, _) = against("socks5h://proxy:1", b"\x05\xff").await;
        let e = r.expect_err("no method");
        assert!(
            e.to_string().contains("asks for a user and password"),
            "{e}"
        );
        // Not SOCKS5.
        let (r, _) = against("socks5h://proxy:1", b"HTTP/1.1 400 Bad\r\n\r\n").await;
        assert!(r.expect_err("http").to_string().contains("SOCKS5"));
    }
}
