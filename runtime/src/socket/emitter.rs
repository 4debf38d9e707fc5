//! One emit with its flags (socket.io: `socket.timeout(ms).volatile.emit(..)`): encoding,
//! flow control, ack waiting, timeouts and retries.

use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::Serialize;
use tokio::sync::oneshot;

use super::Socket;
use crate::namespace::{OutgoingEvent, SocketShared};
use crate::protocol::{binary, packet};
use crate::{Error, Result};

/// One emit with flags (socket.io: the chain `socket.timeout(ms).volatile.emit(..)`).
#[must_use = "an Emitter does nothing until `emit` or `emit_with_ack`"]
pub struct Emitter<'a> {
    socket: &'a Socket,
    timeout: Option<Duration>,
    volatile: bool,
    retries: u32,
}

impl<'a> Emitter<'a> {
    pub(super) fn new(socket: &'a Socket, timeout: Option<Duration>, retries: u32) -> Self {
        Emitter {
            socket,
            timeout,
            volatile: false,
            retries,
        }
    }

    /// Awaits the ack at most `timeout` (socket.io: `timeout(ms)`).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Drops the packet instead of buffering it while disconnected (socket.io: `volatile`).
    pub fn volatile(mut self) -> Self {
        self.volatile = true;
        self
    }

    /// Compression flag (socket.io: `compress(bool)`); no effect, see [`Socket::compress`].
    pub fn compress(self, _compress: bool) -> Self {
        self
    }

    /// Retries an unacknowledged emit `retries` times (socket.io: `retries`): after an ack
    /// timeout, or when the connection dropped after the packet was sent. Each try is a new
    /// request with a new ack id, so the server may see an event more than once
    /// (at-least-once delivery). As in socket.io-client, emits with retries take turns (one
    /// in flight at a time, in call order) and each try waits for the connection, however
    /// long that takes; only `emit_with_ack` retries (a plain `emit` has no ack to wait for).
    pub fn retries(mut self, retries: u32) -> Self {
        self.retries = retries;
        self
    }

    fn check_name(event: &str) -> Result<()> {
        if packet::is_reserved(event) {
            return Err(Error::ReservedEvent(event.to_owned()));
        }
        Ok(())
    }

    /// What `on_any_outgoing` listeners will see of this emit, if there are any: the
    /// arguments spread by the same rule as on the wire, as JSON values. They see it when
    /// the packet is sent (socket.io-client's order), not if it is dropped.
    fn shown<T: Serialize + ?Sized>(&self, event: &str, args: &T) -> Option<OutgoingEvent> {
        let shared = &self.socket.shared;
        if !shared.listeners.has_outgoing() {
            return None;
        }
        let mut json = vec![b'['];
        binary::write_args(&mut json, args, false, &mut Vec::new()).ok()?;
        json.push(b']');
        let args = serde_json::from_slice(&json).ok()?;
        Some(OutgoingEvent {
            name: event.to_owned(),
            args,
        })
    }

    /// Emits the event; see [`Socket::emit`]. A volatile emit never waits: it is dropped
    /// when the transport cannot take it now.
    pub async fn emit(self, event: &str, args: impl Serialize) -> Result<()> {
        Self::check_name(event)?;
        let shared = &self.socket.shared;
        let packet = packet::encode_event(&shared.nsp, event, &args, None)?;
        let shown = self.shown(event, &args);
        if !self.volatile {
            shared.room().await;
        }
        shared.send_packet(shared.outgoing(packet, self.volatile, None, shown))
    }

    /// Emits the event and awaits the ack; see [`Socket::emit_with_ack`].
    pub async fn emit_with_ack<T: DeserializeOwned>(
        self,
        event: &str,
        args: impl Serialize,
    ) -> Result<T> {
        Self::check_name(event)?;
        let shared = &self.socket.shared;
        let mut id = shared.next_ack_id();
        let first = packet::encode_event(&shared.nsp, event, &args, Some(id))?;
        let shown = self.shown(event, &args);
        let mut tries_left = self.retries;
        // Retries resend the same data under a new ack id; keep a copy only if needed.
        let original = (tries_left > 0).then(|| first.clone());
        let mut packet = Some(first);
        // With retries, emits take turns and each try waits for the connection, so the
        // server sees them in call order and no try is spent while disconnected.
        let _turn = match tries_left {
            0 => None,
            _ => Some(shared.retry_turn.lock().await),
        };
        loop {
            // A try: (with retries) wait for the connection, send, await the ack. Its
            // timeout covers all of it, so a socket that never connects again cannot keep
            // the emit waiting.
            let (tx, rx) = oneshot::channel();
            let this_try = async {
                if self.retries > 0 {
                    shared.wait_connected().await?;
                }
                shared.register_ack(id, tx);
                let packet = match packet.take() {
                    Some(packet) => packet,
                    None => original
                        .as_ref()
                        .ok_or(Error::Timeout)?
                        .with_ack_id(&shared.nsp, id),
                };
                shared.room().await;
                // About to wait for the answer: the packet should leave now.
                let assist = shared.link.assist();
                shared.send_packet(shared.outgoing(
                    packet,
                    self.volatile,
                    Some(id),
                    shown.clone(),
                ))?;
                if let Some(assist) = assist {
                    assist.run();
                }
                rx.await.map_err(|_| Error::Closed)?
            };
            let _guard = AckGuard { shared, id };
            let outcome = match self.timeout {
                None => this_try.await,
                Some(timeout) => tokio::time::timeout(timeout, this_try)
                    .await
                    .unwrap_or(Err(Error::Timeout)),
            };
            match outcome {
                Ok(args) => return Ok(args.decode()?),
                // Timed out, or sent and then the connection dropped: with retries left,
                // send it again (it waits for the reconnection).
                Err(Error::Timeout | Error::Disconnected) if tries_left > 0 => {
                    tries_left -= 1;
                    id = shared.next_ack_id();
                }
                Err(e) => return Err(e),
            }
        }
    }
}

/// Forgets a pending ack when its emit is dropped or timed out, so the ack table never
/// keeps what nobody awaits.
struct AckGuard<'a> {
    shared: &'a SocketShared,
    id: u64,
}

impl Drop for AckGuard<'_> {
    fn drop(&mut self) {
        self.shared.forget_ack(self.id);
    }
}
