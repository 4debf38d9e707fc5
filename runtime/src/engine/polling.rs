//! The HTTP long-polling transport: a GET that the server holds open until it has
//! packets, and a POST for what the client sends. One GET and one POST are in flight at
//! most, each on its own keep-alive connection, and a POST carries as many queued
//! packets as the server's `maxPayload` allows.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use http::header::{CONTENT_TYPE, HOST};
use http::{Method, Request, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper::client::conn::http1::{self, SendRequest};
use hyper_util::rt::TokioIo;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Utf8Bytes;

use super::{connector, EngineConfig, Incoming, TransportError};
use crate::protocol::engine::{self, EnginePacket, Frame, Handshake, PollingSegment};
use crate::TransportKind;

/// One keep-alive HTTP/1.1 connection, reopened when the server closed it.
struct HttpConnection {
    cfg: Arc<EngineConfig>,
    sender: Option<SendRequest<Full<Bytes>>>,
}

impl HttpConnection {
    fn new(cfg: Arc<EngineConfig>) -> Self {
        HttpConnection { cfg, sender: None }
    }

    /// Sends one request and returns the body of a 200 response.
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
                let stream = connector::connect(&cfg).await?;
                let (sender, connection) = http1::handshake(TokioIo::new(stream))
                    .await
                    .map_err(|e| TransportError::Http(e.to_string()))?;
                tokio::spawn(connection);
                slot.insert(sender)
            }
        };
        sender
            .ready()
            .await
            .map_err(|e| TransportError::Http(e.to_string()))?;
        let url = cfg.url(TransportKind::Polling, sid);
        let path_and_query = &url[url::Position::BeforePath..];
        let mut request = Request::builder()
            .method(method)
            .uri(path_and_query)
            .header(HOST, cfg.host_header())
            .body(Full::new(body.clone()))
            .map_err(|e| TransportError::Http(e.to_string()))?;
        let headers = request.headers_mut();
        for (name, value) in &cfg.headers {
            headers.append(name, value.clone());
        }
        if !body.is_empty() {
            headers.insert(
                CONTENT_TYPE,
                http::HeaderValue::from_static("text/plain;charset=UTF-8"),
            );
        }
        cfg.cookies.apply(headers);
        let response = sender.send_request(request).await.map_err(|e| {
            self.sender = None;
            TransportError::Http(e.to_string())
        })?;
        cfg.cookies.store(response.headers());
        let status = response.status();
        let body = Limited::new(response.into_body(), cfg.max_frame.saturating_mul(2))
            .collect()
            .await
            .map_err(|e| TransportError::Http(e.to_string()))?
            .to_bytes();
        if status != StatusCode::OK {
            return Err(TransportError::Status(status.as_u16()));
        }
        Ok(body)
    }
}

/// Performs the Engine.IO handshake with a polling GET. The connection is kept for the
/// first poll.
pub(crate) async fn handshake(
    cfg: &Arc<EngineConfig>,
) -> Result<(Handshake, PollingTransport), TransportError> {
    let mut get = HttpConnection::new(cfg.clone());
    let body = get.request(Method::GET, None, Bytes::new()).await?;
    let body = std::str::from_utf8(&body)
        .map_err(|_| TransportError::Handshake("the handshake is not UTF-8".into()))?;
    if engine::is_legacy_payload(body) {
        return Err(TransportError::LegacyServer);
    }
    let mut segments = engine::decode_payload(body);
    let handshake = match segments.next() {
        Some(Ok(PollingSegment::Text(text))) => match engine::decode_text(text) {
            Ok(EnginePacket::Open(handshake)) => handshake,
            Ok(_) => {
                return Err(TransportError::Handshake(format!(
                    "expected an open packet, got {body:?}"
                )))
            }
            Err(e) => return Err(TransportError::Handshake(e.to_string())),
        },
        Some(Err(e)) => return Err(TransportError::Handshake(e.to_string())),
        _ => {
            return Err(TransportError::Handshake(format!(
                "expected an open packet, got {body:?}"
            )))
        }
    };
    let transport = PollingTransport::start(
        cfg.clone(),
        get,
        handshake.sid.clone(),
        handshake.max_payload,
    );
    Ok((handshake, transport))
}

/// The running polling transport: a GET loop and a POST loop, each its own task.
pub(crate) struct PollingTransport {
    incoming: mpsc::Receiver<Result<Incoming, TransportError>>,
    outgoing: Option<mpsc::UnboundedSender<Frame>>,
    paused: Arc<AtomicBool>,
    tasks: Vec<JoinHandle<()>>,
}

impl PollingTransport {
    fn start(cfg: Arc<EngineConfig>, get: HttpConnection, sid: String, max_payload: u64) -> Self {
        // A bounded queue: a client that does not keep up stops polling instead of
        // buffering without limit.
        let (in_tx, incoming) = mpsc::channel(256);
        let (outgoing, out_rx) = mpsc::unbounded_channel();
        let paused = Arc::new(AtomicBool::new(false));
        let sid: Arc<str> = sid.into();
        let poll = tokio::spawn(poll_loop(get, sid.clone(), in_tx.clone(), paused.clone()));
        let post = HttpConnection::new(cfg);
        let write = tokio::spawn(write_loop(post, sid, out_rx, in_tx, max_payload));
        PollingTransport {
            incoming,
            outgoing: Some(outgoing),
            paused,
            tasks: vec![poll, write],
        }
    }

    /// The next packet; `None` once both loops ended. Cancel-safe.
    pub(crate) async fn recv(&mut self) -> Option<Result<Incoming, TransportError>> {
        self.incoming.recv().await
    }

    /// Hands the queued frames to the POST loop.
    pub(crate) fn send(&mut self, queue: &mut VecDeque<Frame>) -> Result<(), TransportError> {
        let outgoing = self.outgoing.as_ref().ok_or(TransportError::Closed)?;
        for frame in queue.drain(..) {
            outgoing.send(frame).map_err(|_| TransportError::Closed)?;
        }
        Ok(())
    }

    /// Pauses for an upgrade: no new GET, the POST loop drains what it has, and both
    /// in-flight requests complete. Returns what the last GET brought.
    pub(crate) async fn pause(mut self) -> VecDeque<Result<Incoming, TransportError>> {
        self.paused.store(true, Ordering::Release);
        self.outgoing = None;
        for task in self.tasks.drain(..) {
            let _ = task.await;
        }
        let mut rest = VecDeque::new();
        while let Ok(item) = self.incoming.try_recv() {
            rest.push_back(item);
        }
        rest
    }

    /// Stops both loops.
    pub(crate) fn abort(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

impl Drop for PollingTransport {
    fn drop(&mut self) {
        self.abort();
    }
}

/// GET, decode, hand over, repeat, until paused, closed or failed.
async fn poll_loop(
    mut http: HttpConnection,
    sid: Arc<str>,
    tx: mpsc::Sender<Result<Incoming, TransportError>>,
    paused: Arc<AtomicBool>,
) {
    while !paused.load(Ordering::Acquire) {
        let body = match http.request(Method::GET, Some(&sid), Bytes::new()).await {
            Ok(body) => body,
            Err(e) => {
                let _ = tx.send(Err(e)).await;
                return;
            }
        };
        let Ok(text) = String::from_utf8(body.to_vec()) else {
            let _ = tx
                .send(Err(TransportError::Http(
                    "a polling body is not UTF-8".into(),
                )))
                .await;
            return;
        };
        for segment in engine::decode_payload(&text) {
            let item = match segment {
                Ok(PollingSegment::Binary(bytes)) => Ok(Incoming::Binary(bytes)),
                Ok(PollingSegment::Text(text)) => {
                    Ok(Incoming::Text(Utf8Bytes::from(text.to_owned())))
                }
                Err(e) => Err(TransportError::Protocol(e.to_string())),
            };
            let closing = item.is_err();
            if tx.send(item).await.is_err() || closing {
                return;
            }
        }
    }
}

/// POST whatever is queued, batched up to `max_payload` bytes per request.
async fn write_loop(
    mut http: HttpConnection,
    sid: Arc<str>,
    mut rx: mpsc::UnboundedReceiver<Frame>,
    errors: mpsc::Sender<Result<Incoming, TransportError>>,
    max_payload: u64,
) {
    let max = usize::try_from(max_payload).unwrap_or(usize::MAX).max(1);
    let mut next: Option<Frame> = None;
    loop {
        let first = match next.take() {
            Some(frame) => frame,
            None => match rx.recv().await {
                Some(frame) => frame,
                None => return,
            },
        };
        let mut batch = vec![first];
        let mut size = batch[0].polling_len();
        while let Ok(frame) = rx.try_recv() {
            if size + 1 + frame.polling_len() > max {
                next = Some(frame);
                break;
            }
            size += 1 + frame.polling_len();
            batch.push(frame);
        }
        let mut body = String::with_capacity(size);
        engine::encode_payload(&mut body, &batch);
        if let Err(e) = http
            .request(Method::POST, Some(&sid), Bytes::from(body))
            .await
        {
            let _ = errors.send(Err(e)).await;
            return;
        }
    }
}
