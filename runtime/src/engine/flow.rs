//! Flow control of what callers send: how much was handed to the connection and not yet
//! given to the transport. Emits wait above a high mark, so a network that takes nothing (a
//! stalled POST, a websocket whose peer stopped reading) slows the callers down instead of
//! growing a queue; a volatile packet is dropped while anything waits (socket.io drops it
//! when the transport is not writable).
//!
//! The count is in packets weighed by their size ([`weight`]: one, plus one per
//! [`WEIGHT_UNIT`] of text and attachments), so that it bounds both the number of packets
//! waiting (at most [`HIGH_WATER`] small ones) and their bytes (about `HIGH_WATER` ×
//! `WEIGHT_UNIT` = 64 MiB of large ones), whatever mix callers send.
//!
//! The count goes up when a packet is handed to the connection task and down when the
//! engine hands it to the transport, or when it is dropped or put back in a socket's send
//! buffer on the way; each time by the same packet's weight. Closing the flow (the
//! connection task ended) releases every waiter.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use tokio::sync::Notify;

/// Above this weight of packets waiting for the transport, emits wait; they resume under
/// [`LOW_WATER`].
pub(crate) const HIGH_WATER: usize = 8192;
/// See [`HIGH_WATER`].
pub(crate) const LOW_WATER: usize = HIGH_WATER / 2;
/// A packet weighs one more for each this many bytes of text and attachments.
pub(crate) const WEIGHT_UNIT: usize = 8 * 1024;

/// The flow-control weight of a packet of `bytes` bytes (text and attachments together).
pub(crate) fn weight(bytes: usize) -> usize {
    1 + bytes / WEIGHT_UNIT
}

/// The shared counter of one manager's connection.
#[derive(Debug, Default)]
pub(crate) struct Flow {
    pending: AtomicUsize,
    drained: Notify,
    closed: AtomicBool,
}

impl Flow {
    /// A packet of this [`weight`] was handed to the connection task.
    pub(crate) fn add(&self, weight: usize) {
        self.pending.fetch_add(weight, Ordering::AcqRel);
    }

    /// Packets of this total weight `n` left the count: given to the transport, dropped or
    /// put back in a send buffer.
    pub(crate) fn done(&self, n: usize) {
        if n == 0 {
            return;
        }
        let before = self
            .pending
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |p| {
                Some(p.saturating_sub(n))
            })
            .unwrap_or(0);
        if before >= LOW_WATER && before.saturating_sub(n) < LOW_WATER {
            self.drained.notify_waiters();
        }
    }

    /// The weight of the packets handed over and not yet given to the transport.
    pub(crate) fn pending(&self) -> usize {
        self.pending.load(Ordering::Acquire)
    }

    /// The connection task is gone: nothing will drain the count any more.
    pub(crate) fn close(&self) {
        self.closed.store(true, Ordering::Release);
        self.drained.notify_waiters();
    }

    /// Waits while packets of [`HIGH_WATER`] weight or more wait for the transport.
    pub(crate) async fn room(&self) {
        loop {
            if self.closed.load(Ordering::Acquire) || self.pending() < HIGH_WATER {
                return;
            }
            let drained = self.drained.notified();
            tokio::pin!(drained);
            drained.as_mut().enable();
            if self.closed.load(Ordering::Acquire) || self.pending() < HIGH_WATER {
                return;
            }
            drained.await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn waits_above_the_high_mark_until_under_the_low_one() {
        let flow = std::sync::Arc::new(Flow::default());
        for _ in 0..HIGH_WATER {
            flow.add(1);
        }
        let waiter = tokio::spawn({
            let flow = flow.clone();
            async move { flow.room().await }
        });
        tokio::task::yield_now().await;
        assert!(!waiter.is_finished());
        flow.done(HIGH_WATER - LOW_WATER);
        assert!(!waiter.is_finished(), "at the low mark, still waiting");
        flow.done(1);
        tokio::time::timeout(std::time::Duration::from_secs(5), waiter)
            .await
            .expect("released under the low mark")
            .expect("no panic");
    }

    #[test]
    fn large_packets_weigh_more() {
        assert_eq!(weight(0), 1);
        assert_eq!(weight(WEIGHT_UNIT - 1), 1);
        assert_eq!(weight(64 * 1024), 9);
        // The bound in bytes: what fits under the high mark, in 64 KiB packets.
        assert!(HIGH_WATER / weight(64 * 1024) * 64 * 1024 <= 64 * 1024 * 1024);
    }

    #[tokio::test]
    async fn closing_releases_waiters() {
        let flow = std::sync::Arc::new(Flow::default());
        for _ in 0..HIGH_WATER {
            flow.add(1);
        }
        let waiter = tokio::spawn({
            let flow = flow.clone();
            async move { flow.room().await }
        });
        tokio::task::yield_now().await;
        flow.close();
        tokio::time::timeout(std::time::Duration::from_secs(5), waiter)
            .await
            .expect("released by close")
            .expect("no panic");
    }
}
