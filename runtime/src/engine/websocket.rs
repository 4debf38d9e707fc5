//! The websocket transport: one Engine.IO packet per websocket message, text or binary (in
//! revision 3, a binary message starts with its packet type byte, `4`).
//! Outgoing frames are fed into tungstenite's write buffer and flushed once per batch, so
//! a burst of emits costs one `write` call, not one per event. Reading and writing are
//! polled by the engine side by side: a write the peer does not take never stops the
//! reading.

use std::collections::VecDeque;
use std::task::{ready, Context, Poll};

use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::error::ProtocolError;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{self, Message, Utf8Bytes};
use tokio_tungstenite::WebSocketStream;

use super::connect::{self, Stream};
use super::{EngineConfig, Incoming, Queued, TransportError};
use crate::protocol::engine::{self, Frame, Revision};
use crate::TransportKind;

/// An open websocket to the server.
pub(crate) struct WsTransport {
    ws: WebSocketStream<Stream>,
    /// Binary packets go as `b<base64>` text (socket.io: `forceBase64`).
    base64: bool,
    /// Frames were written and the flush has not completed.
    unflushed: bool,
    /// The session's Engine.IO revision.
    revision: Revision,
}

impl WsTransport {
    /// Opens `ws(s)://host/path?EIO=<revision>&transport=websocket[&sid=..]`.
    pub(crate) async fn open(
        cfg: &EngineConfig,
        sid: Option<&str>,
        revision: Revision,
    ) -> Result<Self, TransportError> {
        let url = cfg.url(TransportKind::Websocket, sid, revision);
        let mut request = url
            .as_str()
            .into_client_request()
            .map_err(|e| TransportError::Handshake(e.to_string()))?;
        for (name, value) in &cfg.headers {
            request.headers_mut().append(name, value.clone());
        }
        if let Some(protocols) = &cfg.ws_protocols {
            // tungstenite then requires the server to pick one of them.
            request
                .headers_mut()
                .insert(http::header::SEC_WEBSOCKET_PROTOCOL, protocols.clone());
        }
        cfg.cookies.apply(request.headers_mut());
        let stream = connect::connect(cfg).await?;
        let config = WebSocketConfig::default()
            // A small read buffer keeps thousands of idle connections cheap; it grows
            // as needed for large messages.
            .read_buffer_size(4 * 1024)
            .write_buffer_size(64 * 1024)
            .max_message_size(Some(cfg.max_frame))
            .max_frame_size(Some(cfg.max_frame));
        let (ws, response) =
            tokio_tungstenite::client_async_with_config(request, stream, Some(config))
                .await
                .map_err(|e| match e {
                    tungstenite::Error::Http(response) => {
                        TransportError::Status(response.status().as_u16(), String::new())
                    }
                    other => TransportError::Handshake(other.to_string()),
                })?;
        cfg.cookies.store(response.headers());
        Ok(WsTransport {
            ws,
            base64: cfg.force_base64,
            unflushed: false,
            revision,
        })
    }

    /// The session's Engine.IO revision.
    pub(crate) fn revision(&self) -> Revision {
        self.revision
    }

    /// A binary packet that came as text (`b...`) or as a binary message, per revision.
    fn binary(&self, message: Message) -> Result<Incoming, TransportError> {
        let decoded = match (&message, self.revision) {
            (Message::Text(text), Revision::V4) => engine::decode_base64_message(&text[1..]),
            (Message::Text(text), Revision::V3) => match engine::decode_text_v3(text) {
                Ok(engine::PollingSegment::Binary(bytes)) => Ok(bytes),
                Ok(engine::PollingSegment::Text(_)) => return Ok(Incoming::Text(text.clone())),
                Err(e) => Err(e),
            },
            (Message::Binary(bytes), Revision::V3) => engine::decode_binary_v3(bytes),
            (Message::Binary(bytes), Revision::V4) => Ok(bytes.clone()),
            _ => return Err(TransportError::Protocol("not a data message".into())),
        };
        decoded
            .map(Incoming::Binary)
            .map_err(|e| TransportError::Protocol(e.to_string()))
    }

    /// The next packet; `None` once the websocket closed, with or without a close frame
    /// (socket.io-client's `transport close`); an error is a `transport error`.
    pub(crate) fn poll_recv(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Incoming, TransportError>>> {
        loop {
            let message = match ready!(self.ws.poll_next_unpin(cx)) {
                None => return Poll::Ready(None),
                Some(Ok(message)) => message,
                // The peer went away without the closing handshake (a killed server): the
                // websocket closed, as browsers and Node's `ws` report it (code 1006).
                Some(Err(tungstenite::Error::Protocol(
                    ProtocolError::ResetWithoutClosingHandshake,
                ))) => return Poll::Ready(None),
                Some(Err(e)) => return Poll::Ready(Some(Err(TransportError::from_ws(e)))),
            };
            return Poll::Ready(Some(match message {
                // A binary packet as text: what a server sends a client that asked for
                // base64 (engine.io-parser reads it whatever was asked).
                Message::Text(ref text) if text.starts_with('b') => self.binary(message),
                Message::Text(text) => Ok(Incoming::Text(text)),
                Message::Binary(_) => self.binary(message),
                Message::Close(_) => return Poll::Ready(None),
                // tungstenite answers websocket-level pings by itself.
                Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => continue,
            }));
        }
    }

    /// Writes the queued frames and flushes once. Frames leave the queue only once the
    /// websocket took them; `Ready(Ok(n))` when all were written, `n` the packets among
    /// them.
    pub(crate) fn poll_send(
        &mut self,
        cx: &mut Context<'_>,
        queue: &mut VecDeque<Queued>,
    ) -> Poll<Result<usize, TransportError>> {
        let mut packets = 0;
        while !queue.is_empty() {
            // Wait for room first, then take the frame: nothing is lost while waiting, and
            // nothing is copied.
            match self.ws.poll_ready_unpin(cx) {
                Poll::Ready(Ok(())) => {}
                Poll::Ready(Err(e)) => return Poll::Ready(Err(TransportError::from_ws(e))),
                Poll::Pending if packets > 0 => return Poll::Ready(Ok(packets)),
                Poll::Pending => return Poll::Pending,
            }
            let Some(queued) = queue.pop_front() else {
                break;
            };
            packets += queued.weight;
            let message = self.message(queued.frame);
            self.ws
                .start_send_unpin(message)
                .map_err(TransportError::from_ws)?;
            self.unflushed = true;
        }
        if self.unflushed {
            match self.ws.poll_flush_unpin(cx) {
                Poll::Ready(Ok(())) => self.unflushed = false,
                Poll::Ready(Err(e)) => return Poll::Ready(Err(TransportError::from_ws(e))),
                Poll::Pending if packets > 0 => return Poll::Ready(Ok(packets)),
                Poll::Pending => return Poll::Pending,
            }
        }
        Poll::Ready(Ok(packets))
    }

    /// Whether written frames wait for the flush to complete.
    pub(crate) fn is_flushing(&self) -> bool {
        self.unflushed
    }

    fn message(&self, frame: Frame) -> Message {
        // The size of the frame as text (`b<base64>` for binary).
        let text_len = frame.polling_len();
        match frame {
            Frame::Text(text) => Message::Text(Utf8Bytes::from(text)),
            Frame::Binary(bytes) if self.base64 => {
                let mut text = String::with_capacity(text_len + 1);
                engine::encode_base64_message(&bytes, &mut text);
                if self.revision == Revision::V3 {
                    // `b4<base64>`: the type of the packet follows the `b`.
                    text.insert(1, '4');
                }
                Message::Text(Utf8Bytes::from(text))
            }
            Frame::Binary(bytes) if self.revision == Revision::V3 => {
                let mut framed = Vec::with_capacity(1 + bytes.len());
                framed.push(4);
                framed.extend_from_slice(&bytes);
                Message::Binary(framed.into())
            }
            Frame::Binary(bytes) => Message::Binary(bytes),
            Frame::Control(text) => Message::Text(Utf8Bytes::from_static(text)),
        }
    }

    /// Sends one frame now (the upgrade probe, the close packet).
    pub(crate) async fn send_now(&mut self, frame: Frame) -> Result<(), TransportError> {
        let mut queue = VecDeque::from([Queued { frame, weight: 0 }]);
        while !queue.is_empty() || self.unflushed {
            std::future::poll_fn(|cx| self.poll_send(cx, &mut queue)).await?;
        }
        Ok(())
    }

    /// The next packet (the probe's answer).
    pub(crate) async fn recv(&mut self) -> Option<Result<Incoming, TransportError>> {
        std::future::poll_fn(|cx| self.poll_recv(cx)).await
    }

    /// Closes the websocket.
    pub(crate) async fn close(&mut self) {
        let _ = self.ws.close(None).await;
    }
}
