//! The state of a namespace connection, below both the user handles ([`crate::Socket`],
//! [`crate::Manager`]) and the connection task that serves them: phase, send buffer, ack
//! table, listeners and the hand-off of events to them, and the link to the connection
//! task. Nothing here knows the public handle types, so the layers above meet only here.
//!
//! - `state`: [`SocketShared`], one namespace's state, and the packets on their way out.
//! - `link`: the commands the connection task serves, and the weak link a socket state
//!   keeps to it (socket states never keep the connection alive).
//! - `event`: what listeners receive ([`Event`], [`OutgoingEvent`], [`PayloadError`]).
//! - `listeners`: the listener lists and the dispatcher task that calls them in order.
//! - `handoff`: the queue between the connection task and a dispatcher.

mod event;
mod handoff;
mod link;
mod listeners;
mod state;

pub(crate) use event::Name;
pub use event::{Event, OutgoingEvent, PayloadError};
pub(crate) use link::{Command, Link, Written};
pub use listeners::ListenerId;
pub(crate) use listeners::{handler, Dispatch, Handler, Slot};
pub(crate) use state::{Auth, AuthFuture, Outgoing, Phase, SocketShared};
