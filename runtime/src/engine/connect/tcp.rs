//! TCP connections the happy-eyeballs way (RFC 8305): the host's addresses are tried in
//! the resolver's order with the two families interleaved, the next attempt starting when
//! the last failed or after 250 ms without an answer (the "connection attempt delay"); the
//! first that connects wins and the others are dropped. Each attempt has its own deadline,
//! and the connection has `TCP_NODELAY`.

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use futures_util::stream::{FuturesUnordered, StreamExt};
use tokio::net::{TcpSocket, TcpStream};

/// RFC 8305 §5: the recommended connection attempt delay.
const ATTEMPT_DELAY: Duration = Duration::from_millis(250);

/// Connects to `host:port` (a name or an IP literal), from `local` when given (only the
/// host's addresses of its family are tried), the name resolution and each address given
/// at most `per_address`.
pub(crate) async fn connect(
    host: &str,
    port: u16,
    local: Option<IpAddr>,
    per_address: Duration,
) -> io::Result<TcpStream> {
    let resolved: Vec<SocketAddr> = match host.parse::<IpAddr>() {
        Ok(ip) => vec![SocketAddr::new(ip, port)],
        // The resolver gets the same deadline as one attempt.
        Err(_) => tokio::time::timeout(per_address, tokio::net::lookup_host((host, port)))
            .await
            .map_err(|_| {
                io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("resolving {host} took longer than {per_address:?}"),
                )
            })??
            .collect(),
    };
    let candidates: Vec<SocketAddr> = resolved
        .iter()
        .copied()
        .filter(|a| local.is_none_or(|l| a.is_ipv4() == l.is_ipv4()))
        .collect();
    if candidates.is_empty() {
        return Err(match local {
            Some(local) => io::Error::new(
                io::ErrorKind::AddrNotAvailable,
                format!("{host} has no address of the local address's family ({local})"),
            ),
            None => io::Error::new(io::ErrorKind::NotFound, format!("{host} has no address")),
        });
    }
    let tcp = race(interleave(candidates), local, per_address).await?;
    // Events are small and latency matters more than a few saved packets.
    tcp.set_nodelay(true)?;
    Ok(tcp)
}

/// RFC 8305 §4: the families alternate, starting with the family of the first address;
/// within a family, the resolver's order is kept.
fn interleave(addrs: Vec<SocketAddr>) -> Vec<SocketAddr> {
    let first_v6 = addrs.first().is_some_and(SocketAddr::is_ipv6);
    let (mut preferred, mut other): (Vec<_>, Vec<_>) =
        addrs.into_iter().partition(|a| a.is_ipv6() == first_v6);
    preferred.reverse();
    other.reverse();
    let mut out = Vec::with_capacity(preferred.len() + other.len());
    loop {
        match (preferred.pop(), other.pop()) {
            (None, None) => return out,
            (a, b) => out.extend(a.into_iter().chain(b)),
        }
    }
}

/// One attempt: a socket (bound to `local` when given) connecting to `addr` within
/// `deadline`.
async fn attempt(
    addr: SocketAddr,
    local: Option<IpAddr>,
    deadline: Duration,
) -> Result<TcpStream, (SocketAddr, io::Error)> {
    let connect = async {
        let socket = if addr.is_ipv4() {
            TcpSocket::new_v4()?
        } else {
            TcpSocket::new_v6()?
        };
        if let Some(local) = local {
            socket.bind(SocketAddr::new(local, 0))?;
        }
        socket.connect(addr).await
    };
    match tokio::time::timeout(deadline, connect).await {
        Ok(Ok(tcp)) => Ok(tcp),
        Ok(Err(e)) => Err((addr, e)),
        Err(_) => Err((
            addr,
            io::Error::new(
                io::ErrorKind::TimedOut,
                format!("connecting took longer than {deadline:?}"),
            ),
        )),
    }
}

/// Races the attempts as RFC 8305 §5 says; all failed: the error of each address.
async fn race(
    addrs: Vec<SocketAddr>,
    local: Option<IpAddr>,
    per_address: Duration,
) -> io::Result<TcpStream> {
    let total = addrs.len();
    let mut waiting = addrs.into_iter();
    let mut running = FuturesUnordered::new();
    let mut failures: Vec<(SocketAddr, io::Error)> = Vec::new();
    if let Some(first) = waiting.next() {
        running.push(attempt(first, local, per_address));
    }
    let delay = tokio::time::sleep(ATTEMPT_DELAY);
    tokio::pin!(delay);
    loop {
        tokio::select! {
            done = running.next(), if !running.is_empty() => match done {
                Some(Ok(tcp)) => return Ok(tcp),
                Some(Err(failure)) => {
                    failures.push(failure);
                    // A failure starts the next attempt at once.
                    if let Some(next) = waiting.next() {
                        running.push(attempt(next, local, per_address));
                        delay.as_mut().reset(tokio::time::Instant::now() + ATTEMPT_DELAY);
                    } else if running.is_empty() {
                        break;
                    }
                }
                None => break,
            },
            () = &mut delay, if waiting.len() > 0 => {
                if let Some(next) = waiting.next() {
                    running.push(attempt(next, local, per_address));
                }
                delay.as_mut().reset(tokio::time::Instant::now() + ATTEMPT_DELAY);
            }
        }
    }
    if total == 1 {
        if let Some((_, e)) = failures.pop() {
            return Err(e);
        }
    }
    let kind = failures
        .first()
        .map_or(io::ErrorKind::NotConnected, |(_, e)| e.kind());
    let list: Vec<String> = failures
        .iter()
        .map(|(addr, e)| format!("{addr}: {e}"))
        .collect();
    Err(io::Error::new(kind, list.join("; ")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(s: &str) -> SocketAddr {
        s.parse().expect("an address")
    }

    #[test]
    fn families_alternate_from_the_first_one() {
        let order = interleave(vec![
            a("[::1]:1"),
            a("[::2]:1"),
            a("[::3]:1"),
            a("10.0.0.1:1"),
        ]);
        assert_eq!(
            order,
            [a("[::1]:1"), a("10.0.0.1:1"), a("[::2]:1"), a("[::3]:1")]
        );
        let order = interleave(vec![a("10.0.0.1:1"), a("10.0.0.2:1"), a("[::1]:1")]);
        assert_eq!(order, [a("10.0.0.1:1"), a("[::1]:1"), a("10.0.0.2:1")]);
    }

    /// An address that never answers does not hold the connection back: the next one is
    /// tried after the attempt delay and wins.
    #[tokio::test]
    async fn a_silent_address_gives_way_to_the_next() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("listener");
        let good = listener.local_addr().expect("address");
        // A loopback listener whose accept queue is full and never served drops SYNs: a
        // connection to it hangs, as to a host that does not answer.
        let silent_socket = TcpSocket::new_v4().expect("socket");
        silent_socket.bind(a("127.0.0.1:0")).expect("bind");
        let silent_listener = silent_socket.listen(0).expect("listen");
        let silent = silent_listener.local_addr().expect("address");
        let mut fillers = Vec::new();
        for _ in 0..8 {
            match tokio::time::timeout(Duration::from_millis(300), TcpStream::connect(silent)).await
            {
                Ok(Ok(tcp)) => fillers.push(tcp),
                Ok(Err(e)) => panic!("filling the accept queue: {e}"),
                Err(_) => break,
            }
        }
        assert!(fillers.len() < 8, "the accept queue never filled");
        let started = std::time::Instant::now();
        let tcp = race(vec![silent, good], None, Duration::from_secs(10))
            .await
            .expect("the second address connects");
        assert_eq!(tcp.peer_addr().expect("peer"), good);
        assert!(started.elapsed() < Duration::from_secs(5));
    }

    #[tokio::test]
    async fn every_failure_is_reported() {
        let refused = {
            let l = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("listener");
            l.local_addr().expect("address")
        };
        let e = race(vec![refused, refused], None, Duration::from_secs(5))
            .await
            .expect_err("refused");
        assert_eq!(
            e.to_string().matches(&refused.to_string()).count(),
            2,
            "{e}"
        );
    }
}
