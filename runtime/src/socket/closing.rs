//! The future `disconnect()` and `close()` give: the disconnection happens when they are
//! called; awaiting it waits until the connection has written what it had to (the
//! DISCONNECT, the close packet), within a deadline.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::sync::oneshot;

use crate::namespace::Written;

/// Resolves once a [`disconnect`](crate::Socket::disconnect) or a
/// [`close`](crate::Manager::close) has been written to the network: the DISCONNECT and what
/// was emitted before it, or the session's close. At most the manager's `timeout` (20 s by
/// default); at once when there was nothing to write (not connected). Dropping it cancels
/// nothing: the disconnection was made by the call.
///
/// Await it before a program ends, so the server sees the client leave (its reason:
/// `client namespace disconnect`) rather than a dropped connection:
///
/// ```no_run
/// # async fn f(socket: ferrio::Socket) {
/// socket.emit("bye", ()).await.ok();
/// socket.disconnect().await; // "bye" and the DISCONNECT are on the wire
/// # }
/// ```
pub struct Closing {
    wait: Option<Pin<Box<dyn Future<Output = ()> + Send>>>,
}

impl std::fmt::Debug for Closing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Closing")
            .field("waiting", &self.wait.is_some())
            .finish()
    }
}

impl Closing {
    /// A closing to wait for, and the sender the connection task resolves. Outside a
    /// tokio runtime nothing can be waited for: it resolves at once.
    pub(crate) fn new(deadline: Duration) -> (Closing, Written) {
        if tokio::runtime::Handle::try_current().is_err() {
            return (Closing { wait: None }, None);
        }
        let (tx, rx) = oneshot::channel();
        let wait = Box::pin(async move {
            let _ = tokio::time::timeout(deadline, rx).await;
        });
        (Closing { wait: Some(wait) }, Some(tx))
    }
}

impl Future for Closing {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        match &mut self.wait {
            None => Poll::Ready(()),
            Some(wait) => wait.as_mut().poll(cx),
        }
    }
}
