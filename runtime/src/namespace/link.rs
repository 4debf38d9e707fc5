//! The way from a namespace's state to the connection task: the commands it serves, and
//! the weak link socket states keep (see [`Link`]).

use std::sync::{Arc, Weak};

use tokio::sync::mpsc;

use super::state::{Outgoing, Phase, SocketShared};
use crate::engine::Flow;
use crate::manager::{Assist, Runner};
use crate::{Error, Result};

/// What the connection task is asked to do.
pub(crate) enum Command {
    Connect(Arc<SocketShared>),
    /// The socket already left (see `SocketShared::leave`), from this phase; told once
    /// its DISCONNECT is written (see [`Closing`](crate::Closing)).
    Disconnect(Arc<SocketShared>, Phase, Written),
    /// Boxed: the channel allocates its first block of 32 commands up front, for every
    /// connection; unboxed, an idle connection would carry 32 packets' worth (3 KiB).
    Packet(Box<(Arc<SocketShared>, Outgoing)>),
    /// `Manager::close()`; told once the session's last writes are done.
    Close(Written),
    /// Reconnection was turned off while running: a loop waiting for its next attempt stops.
    StopReconnecting,
    /// A socket's `auth_fn` gave its value (or failed) for the CONNECT on connection number
    /// `.1` of the manager.
    AuthReady(
        Arc<SocketShared>,
        u64,
        std::result::Result<serde_json::Value, String>,
    ),
}

/// Told when what was queued is written (or will never be): a dropped sender says the
/// same as a sent one.
pub(crate) type Written = Option<tokio::sync::oneshot::Sender<()>>;

/// What a namespace socket's shared state holds of its manager: a weak way to the
/// connection task, so that the connection task (which holds the socket states) never
/// keeps itself alive through them. Only [`Manager`] handles (and the [`Socket`](crate::Socket)
/// handles, which hold one) keep the connection.
#[derive(Clone)]
pub(crate) struct Link {
    commands: mpsc::WeakUnboundedSender<Command>,
    flow: Arc<Flow>,
    runner: Weak<Runner>,
}

impl Link {
    pub(crate) fn new(
        commands: mpsc::WeakUnboundedSender<Command>,
        flow: Arc<Flow>,
        runner: Weak<Runner>,
    ) -> Self {
        Link {
            commands,
            flow,
            runner,
        }
    }

    /// For a caller about to hand over a packet and wait for its answer: off the runtime's
    /// workers, a step of the connection task it runs itself once the packet is handed over,
    /// so the packet is written without waking a worker (see [`Runner`]).
    pub(crate) fn assist(&self) -> Option<Assist> {
        self.runner.upgrade()?.assist()
    }

    /// Hands a packet to the connection task; `Error::Closed` once it is gone.
    pub(crate) fn send_packet(&self, socket: Arc<SocketShared>, out: Outgoing) -> Result<()> {
        let commands = self.commands.upgrade().ok_or(Error::Closed)?;
        let weight = out.weight();
        self.flow.add(weight);
        commands
            .send(Command::Packet(Box::new((socket, out))))
            .map_err(|_| {
                self.flow.done(weight);
                Error::Closed
            })
    }

    /// Hands a command to the connection task, if it is still there.
    pub(crate) fn command(&self, command: Command) {
        if let Some(commands) = self.commands.upgrade() {
            let _ = commands.send(command);
        }
    }

    /// Waits while the connection task is far behind (see [`Flow`]): emits then slow down
    /// to the pace of the network instead of queueing without bound.
    pub(crate) async fn room(&self) {
        self.flow.room().await;
    }

    /// Packets handed to the connection and not yet taken by the transport.
    pub(crate) fn backlog(&self) -> usize {
        self.flow.pending()
    }
}
