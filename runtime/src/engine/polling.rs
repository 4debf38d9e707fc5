//! The HTTP long-polling transport: a GET that the server holds open until it has packets,
//! and a POST for what the client sends. One GET and one POST are in flight at most, each
//! on its own keep-alive connection, and a POST carries as many queued packets as the
//! server's `maxPayload` allows (and the user's `polling_post_limit`: some servers lose a
//! body with too many packets or too many bytes).
//!
//! The transport is polled by the engine, never run as tasks of its own: the next GET
//! starts only once everything the last one brought was taken (a client that does not keep
//! up stops polling instead of buffering), and the next POST only once the last one was
//! answered (a stalled POST holds the packets back in the engine's queue, where the flow
//! control sees them). Pausing for an upgrade starts no new request and lets the ones in
//! flight finish, while the engine keeps taking what they bring.
//!
//! The handshake's body tells the Engine.IO revision: a socket.io 2 server frames its
//! bodies with lengths (revision 3), whatever the request asked for, so with
//! [`ServerVersion::Auto`] the session simply goes on in revision 3 (engine.io 3 reads no
//! `EIO` parameter). Binary from such a server comes in its binary body framing (it was not
//! asked for base64, and need not be: both framings are read); the client always sends
//! text bodies, binary as `b4<base64>`.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use bytes::Bytes;
use http::header::{CONTENT_TYPE, HOST};
use http::{Method, Request, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper::client::conn::http1::{self, SendRequest};
use hyper_util::rt::TokioIo;
use tokio_tungstenite::tungstenite::Utf8Bytes;

use super::{connect, EngineConfig, Incoming, Queued, TransportError};
use crate::protocol::engine::{self, EnginePacket, Handshake, PollingSegment, Revision};
use crate::{ServerVersion, TransportKind};

/// One keep-alive HTTP/1.1 connection, reopened when the server closed it.
struct HttpConnection {
    cfg: Arc<EngineConfig>,
    sender: Option<SendRequest<Full<Bytes>>>,
    /// The `EIO` the requests carry.
    revision: Revision,
    /// The task driving the connection, which ends with the connection's own error (a TLS
    /// alert, a reset): a request then only learns that the channel closed.
    connection: Option<tokio::task::JoinHandle<Result<(), String>>>,
}

impl HttpConnection {
    fn new(cfg: Arc<EngineConfig>, revision: Revision) -> Self {
        HttpConnection {
            cfg,
            sender: None,
            revision,
            connection: None,
        }
    }

    /// A request's error, or the connection's own when the request only saw it close.
    async fn failure(&mut self, e: hyper::Error) -> TransportError {
        self.sender = None;
        let connection = self.connection.take();
        if let (true, Some(task)) = (e.is_closed() || e.is_canceled(), connection) {
            // The task is ending (its channel is gone); bounded all the same, briefly.
            let limit = std::time::Duration::from_millis(500).min(self.cfg.probe_timeout);
            if let Ok(Ok(Err(cause))) = tokio::time::timeout(limit, task).await {
                return TransportError::Http(cause);
            }
        }
        TransportError::Http(with_causes(&e))
    }

    /// Sends one request and returns the body of a 200 response, at most the configured
    /// `max_payload` bytes.
    async fn request(
        &mut self,
        method: Method,
        sid: Option<&str>,
        body: Bytes,
    ) -> Result<Bytes, TransportError> {
        let cfg = self.cfg.clone();
        let sender = match &mut self.sender {
            Some(sender) if !sender.is_closed() => sender,
            slot => {
                let stream = connect::connect(&cfg).await?;
                let (sender, connection) = http1::handshake(TokioIo::new(stream))
                    .await
                    .map_err(|e| TransportError::Http(with_causes(&e)))?;
                // Ends when the sender is dropped (with this transport) or the server closes.
                self.connection = Some(tokio::spawn(async move {
                    connection.await.map_err(|e| with_causes(&e))
                }));
                slot.insert(sender)
            }
        };
        if let Err(e) = sender.ready().await {
            return Err(self.failure(e).await);
        }
        let url = cfg.url(TransportKind::Polling, sid, self.revision);
        let path_and_query = &url[url::Position::BeforePath..];
        let has_body = !body.is_empty();
        let mut request = Request::builder()
            .method(method)
            .uri(path_and_query)
            .header(HOST, cfg.host_header())
            .body(Full::new(body))
            .map_err(|e| TransportError::Http(with_causes(&e)))?;
        let headers = request.headers_mut();
        for (name, value) in &cfg.headers {
            headers.append(name, value.clone());
        }
        if has_body {
            headers.insert(
                CONTENT_TYPE,
                http::HeaderValue::from_static("text/plain;charset=UTF-8"),
            );
        }
        cfg.cookies.apply(headers);
        let response = match sender.send_request(request).await {
            Ok(response) => response,
            Err(e) => return Err(self.failure(e).await),
        };
        cfg.cookies.store(response.headers());
        let status = response.status();
        let body = Limited::new(response.into_body(), cfg.max_frame)
            .collect()
            .await
            .map_err(|e| TransportError::Http(with_causes(&*e)))?
            .to_bytes();
        if status != StatusCode::OK {
            // The start of the body says why (socket.io: `{"code":1,"message":"Session ID
            // unknown"}`), printable characters only.
            let why: String = String::from_utf8_lossy(&body)
                .chars()
                .filter(|c| !c.is_control())
                .take(200)
                .collect();
            return Err(TransportError::Status(status.as_u16(), why));
        }
        Ok(body)
    }
}

/// An error with its causes: hyper's own message ("connection error") says little, the
/// cause (a TLS alert, a reset) says what happened.
fn with_causes(e: &(dyn std::error::Error + 'static)) -> String {
    let mut message = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        message.push_str(": ");
        message.push_str(&c.to_string());
        cause = c.source();
    }
    message
}

/// Performs the Engine.IO handshake with a polling GET. The connection is kept for the
/// first poll.
pub(crate) async fn handshake(
    cfg: &Arc<EngineConfig>,
) -> Result<(Handshake, PollingTransport), TransportError> {
    let mut get = HttpConnection::new(cfg.clone(), cfg.asked_revision());
    let body = get
        .request(Method::GET, None, Bytes::new())
        .await
        .map_err(|e| match e {
            TransportError::Status(400, _) if get.revision == Revision::V3 => {
                TransportError::Handshake(format!("{e}{}", super::V2_REFUSED))
            }
            e => e,
        })?;
    let revision = match (engine::is_legacy_payload(&body), cfg.version) {
        (true, ServerVersion::V3OrLater) => return Err(TransportError::LegacyServer),
        (true, _) => Revision::V3,
        (false, ServerVersion::V2) => {
            return Err(TransportError::Handshake(
                "the server does not speak Engine.IO v3: it is not a socket.io 2 server".into(),
            ))
        }
        (false, _) => Revision::V4,
    };
    get.revision = revision;
    cfg.saw_v2(revision == Revision::V3);
    // A socket.io 2 server's handshake body also holds the root namespace's CONNECT.
    let mut received = VecDeque::new();
    split_body(revision, body.clone(), &mut received);
    let shown = || String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned();
    let handshake = match received.pop_front() {
        Some(Ok(Incoming::Text(text))) => match engine::decode_text(&text) {
            Ok(EnginePacket::Open(handshake)) => handshake,
            Ok(_) => {
                return Err(TransportError::Handshake(format!(
                    "expected an open packet, got {:?}",
                    shown()
                )))
            }
            Err(e) => return Err(TransportError::Handshake(e.to_string())),
        },
        Some(Err(e)) => return Err(TransportError::Handshake(e.to_string())),
        _ => {
            return Err(TransportError::Handshake(format!(
                "expected an open packet, got {:?}",
                shown()
            )))
        }
    };
    let transport = PollingTransport {
        sid: handshake.sid.as_str().into(),
        max_payload: usize::try_from(handshake.max_payload)
            .unwrap_or(usize::MAX)
            .min(cfg.post_limit.1)
            .max(1),
        max_post_packets: cfg.post_limit.0.max(1),
        get: Side::Idle(get),
        post: Side::Idle(HttpConnection::new(cfg.clone(), revision)),
        received,
        paused: false,
        revision,
    };
    Ok((handshake, transport))
}

/// Splits a GET body into its packets, onto `received`. Text packets are slices of the body
/// (no copy); a malformed segment ends the list with its error, after the packets before it.
fn split_body(
    revision: Revision,
    body: Bytes,
    received: &mut VecDeque<Result<Incoming, TransportError>>,
) {
    let item = |segment: Result<PollingSegment<'_>, crate::protocol::ProtocolError>| match segment {
        Ok(PollingSegment::Binary(bytes)) => Ok(Incoming::Binary(bytes)),
        Ok(PollingSegment::Text(segment)) => {
            Utf8Bytes::try_from(body.slice_ref(segment.as_bytes()))
                .map(Incoming::Text)
                .map_err(|e| TransportError::Protocol(e.to_string()))
        }
        Err(e) => Err(TransportError::Protocol(e.to_string())),
    };
    let mut push = |item: Result<Incoming, TransportError>| {
        let failed = item.is_err();
        received.push_back(item);
        !failed
    };
    match revision {
        Revision::V3 => {
            for segment in engine::decode_payload_v3(&body) {
                if !push(item(segment)) {
                    return;
                }
            }
        }
        Revision::V4 => {
            let Ok(text) = std::str::from_utf8(&body) else {
                push(Err(TransportError::Protocol(
                    "a polling body is not UTF-8".into(),
                )));
                return;
            };
            for segment in engine::decode_payload(text) {
                if !push(item(segment)) {
                    return;
                }
            }
        }
    }
}

/// A request in flight: it owns its connection and gives it back with the outcome.
type InFlight =
    Pin<Box<dyn Future<Output = (HttpConnection, Result<Bytes, TransportError>)> + Send>>;

/// One side of the transport (the GET or the POST).
enum Side {
    Idle(HttpConnection),
    InFlight(InFlight),
    /// Failed: the transport is done.
    Gone,
}

impl Side {
    fn start(&mut self, method: Method, sid: &Arc<str>, body: Bytes) {
        if let Side::Idle(_) = self {
            let Side::Idle(mut http) = std::mem::replace(self, Side::Gone) else {
                return;
            };
            let sid = sid.clone();
            *self = Side::InFlight(Box::pin(async move {
                let result = http.request(method, Some(&sid), body).await;
                (http, result)
            }));
        }
    }

    /// Polls the request in flight; `Ready(None)` when none is.
    fn poll(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Bytes, TransportError>>> {
        let Side::InFlight(future) = self else {
            return Poll::Ready(None);
        };
        let (http, result) = ready!(future.as_mut().poll(cx));
        *self = match result {
            Ok(_) => Side::Idle(http),
            Err(_) => Side::Gone,
        };
        Poll::Ready(Some(result))
    }

    fn in_flight(&self) -> bool {
        matches!(self, Side::InFlight(_))
    }
}

/// The open polling transport.
pub(crate) struct PollingTransport {
    sid: Arc<str>,
    /// The most bytes one POST body carries: the server's `maxPayload`, or the user's
    /// smaller limit.
    max_payload: usize,
    /// The most Engine.IO packets one POST body carries (the user's limit).
    max_post_packets: usize,
    get: Side,
    post: Side,
    /// What the last GET brought and the engine has not taken yet.
    received: VecDeque<Result<Incoming, TransportError>>,
    /// Pausing for an upgrade: no new request.
    paused: bool,
    /// The session's Engine.IO revision: how bodies are framed.
    revision: Revision,
}

impl PollingTransport {
    /// The next packet. Polls again after the last one was taken; `Pending` while paused
    /// and nothing is left.
    pub(crate) fn poll_recv(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Incoming, TransportError>>> {
        loop {
            if let Some(item) = self.received.pop_front() {
                return Poll::Ready(Some(item));
            }
            if matches!(self.get, Side::Gone) {
                return Poll::Ready(None);
            }
            if !self.paused {
                self.get.start(Method::GET, &self.sid, Bytes::new());
            }
            match ready!(self.get.poll(cx)) {
                None => return Poll::Pending,
                Some(Ok(body)) => split_body(self.revision, body, &mut self.received),
                Some(Err(e)) => return Poll::Ready(Some(Err(e))),
            }
        }
    }

    /// The session's Engine.IO revision.
    pub(crate) fn revision(&self) -> Revision {
        self.revision
    }

    /// Writes what `queue` holds: completes the POST in flight, then starts the next one
    /// with as many frames as `maxPayload` allows. `Ready(Ok(n))` once the queue is empty
    /// (or, paused, once no POST is in flight), `n` the packets given to a POST.
    pub(crate) fn poll_send(
        &mut self,
        cx: &mut Context<'_>,
        queue: &mut VecDeque<Queued>,
    ) -> Poll<Result<usize, TransportError>> {
        let mut packets = 0;
        loop {
            match self.post.poll(cx) {
                Poll::Pending if packets > 0 => return Poll::Ready(Ok(packets)),
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Some(Err(e))) => return Poll::Ready(Err(e)),
                Poll::Ready(Some(Ok(_)) | None) => {}
            }
            if queue.is_empty() || self.paused {
                return Poll::Ready(Ok(packets));
            }
            let (body, n) = self.batch(queue);
            packets += n;
            self.post.start(Method::POST, &self.sid, Bytes::from(body));
        }
    }

    /// Takes frames from the front of `queue` into one body, up to `maxPayload` bytes and
    /// the packet limit (see [`batch`]).
    fn batch(&self, queue: &mut VecDeque<Queued>) -> (String, usize) {
        batch(
            queue,
            self.revision,
            self.max_payload,
            self.max_post_packets,
        )
    }

    /// Whether a POST is under way.
    pub(crate) fn is_posting(&self) -> bool {
        self.post.in_flight()
    }

    /// Pauses for an upgrade: no new GET or POST from now on.
    pub(crate) fn pause(&mut self) {
        self.paused = true;
    }

    /// Whether the pause is complete: no request in flight and nothing left to take.
    pub(crate) fn is_drained(&self) -> bool {
        !self.get.in_flight() && !self.post.in_flight() && self.received.is_empty()
    }

    /// Sends again after a pause (closing during an upgrade: the close goes by polling).
    pub(crate) fn resume(&mut self) {
        self.paused = false;
    }
}

/// Takes frames from the front of `queue` into one body, up to `max_bytes` and `max_frames`
/// (at least one frame; each frame is one Engine.IO packet, a binary attachment too: what
/// a server counts). Gives the body and how many Socket.IO packets it completes.
fn batch(
    queue: &mut VecDeque<Queued>,
    revision: Revision,
    max_bytes: usize,
    max_frames: usize,
) -> (String, usize) {
    let mut size = 0;
    let mut taken = 0;
    for queued in queue.iter() {
        let framing = match revision {
            Revision::V4 => usize::from(taken > 0),
            // `<length>:`, and the type after a binary packet's `b`.
            Revision::V3 => 12,
        };
        let len = queued.frame.polling_len() + framing;
        if taken > 0 && (size + len > max_bytes || taken == max_frames) {
            break;
        }
        size += len;
        taken += 1;
    }
    let mut body = String::with_capacity(size);
    let frames = queue.iter().take(taken).map(|q| &q.frame);
    match revision {
        Revision::V4 => engine::encode_payload(&mut body, frames),
        Revision::V3 => engine::encode_payload_v3(&mut body, frames),
    }
    let weight = queue.drain(..taken).map(|q| q.weight).sum();
    (body, weight)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::engine::Frame;

    fn text(s: &str) -> Queued {
        Queued {
            frame: Frame::Text(s.to_owned()),
            weight: 1,
        }
    }

    /// The frame limit counts Engine.IO packets (an attachment is one), the byte limit the
    /// body with its separators; what is left waits, in order, and one frame over the byte
    /// limit still goes alone.
    #[test]
    fn a_post_body_keeps_to_both_limits() {
        let mut queue: VecDeque<Queued> = (0..5).map(|i| text(&format!("42[{i}]"))).collect();
        assert_eq!(
            batch(&mut queue, Revision::V4, usize::MAX, 2),
            ("42[0]\x1e42[1]".into(), 2)
        );
        // A binary event: its header does not end the packet, its attachment does.
        queue.push_front(Queued {
            frame: Frame::Binary(bytes::Bytes::from_static(b"ab")),
            weight: 1,
        });
        queue.push_front(Queued {
            frame: Frame::Text(r#"451-["b",{"_placeholder":true,"num":0}]"#.into()),
            weight: 0,
        });
        let (body, packets) = batch(&mut queue, Revision::V4, usize::MAX, 2);
        assert_eq!(
            body,
            "451-[\"b\",{\"_placeholder\":true,\"num\":0}]\x1ebYWI="
        );
        assert_eq!(packets, 1);
        // 5 + 1 + 5 bytes fit in 11, a third frame does not.
        assert_eq!(
            batch(&mut queue, Revision::V4, 11, 16),
            ("42[2]\x1e42[3]".into(), 2)
        );
        queue.push_back(text(&"x".repeat(100)));
        assert_eq!(batch(&mut queue, Revision::V4, 11, 16), ("42[4]".into(), 1));
        assert_eq!(
            batch(&mut queue, Revision::V4, 11, 16),
            ("x".repeat(100), 1)
        );
        assert!(queue.is_empty());
    }
}
