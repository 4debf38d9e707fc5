//! The websocket transport: one Engine.IO packet per websocket message, text or binary.
//! Outgoing frames are fed into tungstenite's write buffer and flushed once per batch, so
//! a burst of emits costs one `write` call, not one per event.

use std::collections::VecDeque;
use std::future::poll_fn;

use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{self, Message, Utf8Bytes};
use tokio_tungstenite::WebSocketStream;

use super::connector::{self, Stream};
use super::{EngineConfig, Incoming, TransportError};
use crate::protocol::engine::{self, Frame};
use crate::TransportKind;

/// An open websocket to the server.
pub(crate) struct WsTransport {
    ws: WebSocketStream<Stream>,
    /// Binary packets go as `b<base64>` text (socket.io: `forceBase64`).
    base64: bool,
}

impl WsTransport {
    /// Opens `ws(s)://host/path?EIO=4&transport=websocket[&sid=..]`.
    pub(crate) async fn open(
        cfg: &EngineConfig,
        sid: Option<&str>,
    ) -> Result<Self, TransportError> {
        let url = cfg.url(TransportKind::Websocket, sid);
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
        let stream = connector::connect(cfg).await?;
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
                        TransportError::Status(response.status().as_u16())
                    }
                    other => TransportError::Handshake(other.to_string()),
                })?;
        cfg.cookies.store(response.headers());
        Ok(WsTransport {
            ws,
            base64: cfg.force_base64,
        })
    }

    /// The next packet; `None` once the websocket closed. Cancel-safe.
    pub(crate) async fn recv(&mut self) -> Option<Result<Incoming, TransportError>> {
        loop {
            let message = match self.ws.next().await? {
                Ok(message) => message,
                Err(e) => return Some(Err(TransportError::from_ws(e))),
            };
            return Some(Ok(match message {
                // A binary packet as text: what a server sends a client that asked for
                // base64 (engine.io-parser reads it whatever was asked).
                Message::Text(text) if text.starts_with('b') => {
                    match engine::decode_base64_message(&text.as_str()[1..]) {
                        Ok(bytes) => Incoming::Binary(bytes),
                        Err(e) => return Some(Err(TransportError::Protocol(e.to_string()))),
                    }
                }
                Message::Text(text) => Incoming::Text(text),
                Message::Binary(bytes) => Incoming::Binary(bytes),
                Message::Close(_) => return None,
                // tungstenite answers websocket-level pings by itself.
                Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => continue,
            }));
        }
    }

    /// Writes the queued frames and flushes once. Frames leave the queue only once the
    /// websocket took them, so a cancelled call loses nothing.
    pub(crate) async fn send(&mut self, queue: &mut VecDeque<Frame>) -> Result<(), TransportError> {
        while !queue.is_empty() {
            // Wait for room first, then take the frame: nothing is lost if this is cancelled
            // while waiting, and nothing is copied.
            poll_fn(|cx| self.ws.poll_ready_unpin(cx))
                .await
                .map_err(TransportError::from_ws)?;
            let Some(frame) = queue.pop_front() else {
                break;
            };
            // The size of the frame as text (`b<base64>` for binary).
            let text_len = frame.polling_len();
            let message = match frame {
                Frame::Text(text) => Message::Text(Utf8Bytes::from(text)),
                Frame::Binary(bytes) if self.base64 => {
                    let mut text = String::with_capacity(text_len);
                    engine::encode_base64_message(&bytes, &mut text);
                    Message::Text(Utf8Bytes::from(text))
                }
                Frame::Binary(bytes) => Message::Binary(bytes),
                Frame::Control(text) => Message::Text(Utf8Bytes::from_static(text)),
            };
            self.ws
                .start_send_unpin(message)
                .map_err(TransportError::from_ws)?;
        }
        self.ws.flush().await.map_err(TransportError::from_ws)
    }

    /// Sends one frame now (used by the upgrade probe).
    pub(crate) async fn send_now(&mut self, frame: Frame) -> Result<(), TransportError> {
        self.send(&mut VecDeque::from([frame])).await
    }

    /// Closes the websocket.
    pub(crate) async fn close(&mut self) {
        let _ = self.ws.close(None).await;
    }
}
