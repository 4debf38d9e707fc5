//! The HTTP long-polling transport: a GET that the server holds open until it has packets,
//! and a POST for what the client sends. One GET and one POST are in flight at most, each
//! on its own keep-alive connection, and a POST carries as many queued packets as the
//! server's `maxPayload` allows.
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
}

impl HttpConnection {
    fn new(cfg: Arc<EngineConfig>, revision: Revision) -> Self {
        HttpConnection {
            cfg,
            sender: None,
            revision,
        }
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
                tokio::spawn(connection);
                slot.insert(sender)
            }
        };
        sender
            .ready()
            .await
            .map_err(|e| TransportError::Http(with_causes(&e)))?;
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
        let response = sender.send_request(request).await.map_err(|e| {
            self.sender = None;
            TransportError::Http(with_causes(&e))
        })?;
        cfg.cookies.store(response.headers());
        let status = response.status();
        let body = Limited::new(response.into_body(), cfg.max_frame)
            .collect()
            .await
            .map_err(|e| TransportError::Http(with_causes(&*e)))?
            .to_bytes();
        if status != StatusCode::OK {
            return Err(TransportError::Status(status.as_u16()));
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
            TransportError::Status(400) if get.revision == Revision::V3 => {
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
            .max(1),
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
    max_payload: usize,
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

    /// Takes frames from the front of `queue` into one body, up to `maxPayload` bytes (at
    /// least one frame). Gives the body and how many packets it completes.
    fn batch(&self, queue: &mut VecDeque<Queued>) -> (String, usize) {
        let mut size = 0;
        let mut taken = 0;
        for queued in queue.iter() {
            let framing = match self.revision {
                Revision::V4 => usize::from(taken > 0),
                // `<length>:`, and the type after a binary packet's `b`.
                Revision::V3 => 12,
            };
            let len = queued.frame.polling_len() + framing;
            if taken > 0 && size + len > self.max_payload {
                break;
            }
            size += len;
            taken += 1;
        }
        let mut body = String::with_capacity(size);
        let frames = queue.iter().take(taken).map(|q| &q.frame);
        match self.revision {
            Revision::V4 => engine::encode_payload(&mut body, frames),
            Revision::V3 => engine::encode_payload_v3(&mut body, frames),
        }
        let packets = queue.drain(..taken).filter(|q| q.ends_packet).count();
        (body, packets)
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
