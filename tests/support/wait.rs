//! Deadlines: every wait in the suites is event-driven and bounded.
//!
//! - [`within`] fails the test with a clear message (and the caller's location) when a future
//!   does not finish in time.
//! - [`Inbox`] collects values sent from listeners (through an unbounded tokio mpsc channel) and
//!   hands them out one at a time, each with a deadline.

use std::fmt::Debug;
use std::future::Future;
use std::panic::Location;
use std::time::Duration;

use tokio::sync::mpsc;

/// The deadline most single steps of a test get: generous for a loaded 2-core CI machine, yet a
/// hang still fails quickly.
pub const STEP: Duration = Duration::from_secs(5);

/// Awaits `fut`, failing the test if it does not finish within `deadline`.
#[track_caller]
pub fn within<F: Future>(deadline: Duration, fut: F) -> impl Future<Output = F::Output> {
    let at = Location::caller();
    async move {
        match tokio::time::timeout(deadline, fut).await {
            Ok(v) => v,
            Err(_) => panic!("deadline of {deadline:?} passed (waiting at {at})"),
        }
    }
}

/// Awaits `fut`, failing the test with `what` if it does not finish within `deadline`.
#[track_caller]
pub fn within_for<F: Future>(
    deadline: Duration,
    what: impl std::fmt::Display,
    fut: F,
) -> impl Future<Output = F::Output> {
    let at = Location::caller();
    let what = what.to_string();
    async move {
        match tokio::time::timeout(deadline, fut).await {
            Ok(v) => v,
            Err(_) => panic!("deadline of {deadline:?} passed waiting for {what} (at {at})"),
        }
    }
}

/// Polls `cond` every few milliseconds until it holds, failing the test after `deadline`. For
/// state that has no event to await (e.g. a flag that a background task flips).
#[track_caller]
pub fn until(
    deadline: Duration,
    what: impl std::fmt::Display,
    mut cond: impl FnMut() -> bool,
) -> impl Future<Output = ()> {
    until_async(deadline, what, move || std::future::ready(cond()))
}

/// [`until`] for a condition that must be asked for, such as the server's view of things
/// (`server::stats`), which no event announces.
#[track_caller]
pub fn until_async<F: Future<Output = bool>>(
    deadline: Duration,
    what: impl std::fmt::Display,
    mut cond: impl FnMut() -> F,
) -> impl Future<Output = ()> {
    let at = Location::caller();
    let what = what.to_string();
    async move {
        let end = tokio::time::Instant::now() + deadline;
        loop {
            if cond().await {
                return;
            }
            if tokio::time::Instant::now() >= end {
                panic!("deadline of {deadline:?} passed waiting until {what} (at {at})");
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
}

/// Polls `fut` exactly once (so an emit is queued) and leaves it pending for later.
pub async fn poll_once<F: Future + Unpin>(fut: &mut F) -> Option<F::Output> {
    use std::task::Poll;
    std::future::poll_fn(|cx| match std::pin::Pin::new(&mut *fut).poll(cx) {
        Poll::Ready(v) => Poll::Ready(Some(v)),
        Poll::Pending => Poll::Ready(None),
    })
    .await
}

/// A sender that listeners use to report values to the test.
pub type Outbox<T> = mpsc::UnboundedSender<T>;

/// Collects values reported by listeners; every read has a deadline.
#[derive(Debug)]
pub struct Inbox<T> {
    rx: mpsc::UnboundedReceiver<T>,
    tx: mpsc::UnboundedSender<T>,
    name: String,
}

/// A new inbox named `name` (the name appears in failure messages).
pub fn inbox<T>(name: impl Into<String>) -> Inbox<T> {
    let (tx, rx) = mpsc::unbounded_channel();
    Inbox {
        rx,
        tx,
        name: name.into(),
    }
}

impl<T> Inbox<T> {
    /// A sender for this inbox (clone it into listeners).
    pub fn sender(&self) -> Outbox<T> {
        self.tx.clone()
    }

    /// The inbox's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The next value, failing the test after `deadline`.
    #[track_caller]
    pub fn next(&mut self, deadline: Duration) -> impl Future<Output = T> + '_ {
        let at = Location::caller();
        async move {
            match tokio::time::timeout(deadline, self.rx.recv()).await {
                Ok(Some(v)) => v,
                Ok(None) => panic!("inbox `{}` closed (at {at})", self.name),
                Err(_) => panic!(
                    "deadline of {deadline:?} passed waiting for `{}` (at {at})",
                    self.name
                ),
            }
        }
    }

    /// The next value within `deadline`, or `None` (for bounded checks that something does NOT
    /// happen; keep such deadlines short).
    pub async fn try_next(&mut self, deadline: Duration) -> Option<T> {
        tokio::time::timeout(deadline, self.rx.recv())
            .await
            .ok()
            .flatten()
    }

    /// The next value that satisfies `pred` (others are dropped), failing after `deadline`.
    #[track_caller]
    pub fn next_matching<'a>(
        &'a mut self,
        deadline: Duration,
        mut pred: impl FnMut(&T) -> bool + 'a,
    ) -> impl Future<Output = T> + 'a {
        let at = Location::caller();
        async move {
            let end = tokio::time::Instant::now() + deadline;
            loop {
                match tokio::time::timeout_at(end, self.rx.recv()).await {
                    Ok(Some(v)) if pred(&v) => return v,
                    Ok(Some(_)) => continue,
                    Ok(None) => panic!("inbox `{}` closed (at {at})", self.name),
                    Err(_) => panic!(
                        "deadline of {deadline:?} passed waiting for a matching `{}` (at {at})",
                        self.name
                    ),
                }
            }
        }
    }

    /// The next `n` values, failing after `deadline` (for all of them).
    #[track_caller]
    pub fn take(&mut self, n: usize, deadline: Duration) -> impl Future<Output = Vec<T>> + '_ {
        let at = Location::caller();
        async move {
            let end = tokio::time::Instant::now() + deadline;
            let mut out = Vec::with_capacity(n);
            while out.len() < n {
                match tokio::time::timeout_at(end, self.rx.recv()).await {
                    Ok(Some(v)) => out.push(v),
                    Ok(None) => panic!(
                        "inbox `{}` closed after {} of {n} values (at {at})",
                        self.name,
                        out.len()
                    ),
                    Err(_) => panic!(
                        "deadline of {deadline:?} passed with {} of {n} `{}` values (at {at})",
                        out.len(),
                        self.name
                    ),
                }
            }
            out
        }
    }

    /// Everything received so far, without waiting.
    pub fn drain(&mut self) -> Vec<T> {
        let mut out = Vec::new();
        while let Ok(v) = self.rx.try_recv() {
            out.push(v);
        }
        out
    }
}

impl<T: Debug> Inbox<T> {
    /// Fails the test if a value arrives within `window` (a bounded check of an absence).
    #[track_caller]
    pub fn assert_quiet(&mut self, window: Duration) -> impl Future<Output = ()> + '_ {
        let at = Location::caller();
        async move {
            if let Ok(Some(v)) = tokio::time::timeout(window, self.rx.recv()).await {
                panic!(
                    "`{}` got an unexpected value within {window:?}: {v:?} (at {at})",
                    self.name
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn poll_once_leaves_pending() {
        let mut f = Box::pin(tokio::time::sleep(Duration::from_millis(30)));
        assert!(poll_once(&mut f).await.is_none());
        let mut g = Box::pin(async { 3 });
        assert_eq!(poll_once(&mut g).await, Some(3));
    }

    #[tokio::test]
    async fn within_passes_through() {
        assert_eq!(within(STEP, async { 7 }).await, 7);
    }

    #[tokio::test]
    #[should_panic(expected = "deadline of 20ms passed")]
    async fn within_fails_clearly() {
        within(Duration::from_millis(20), std::future::pending::<()>()).await;
    }

    #[tokio::test]
    async fn inbox_hands_out_in_order() {
        let mut ib = inbox::<u32>("numbers");
        let tx = ib.sender();
        tokio::spawn(async move {
            for i in 0..5 {
                let _ = tx.send(i);
            }
        });
        assert_eq!(ib.next(STEP).await, 0);
        assert_eq!(ib.next_matching(STEP, |v| *v == 3).await, 3);
        assert_eq!(ib.take(1, STEP).await, vec![4]);
        assert_eq!(ib.try_next(Duration::from_millis(10)).await, None);
        ib.assert_quiet(Duration::from_millis(10)).await;
    }

    #[tokio::test]
    #[should_panic(expected = "waiting for `late`")]
    async fn inbox_deadline_fails_clearly() {
        let mut ib = inbox::<u32>("late");
        ib.next(Duration::from_millis(10)).await;
    }
}
