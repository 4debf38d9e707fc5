//! The connection task, of which a caller about to wait may run a step itself.
//!
//! A caller on a thread that is not one of the runtime's workers (the body of
//! `#[tokio::main]`, anything under `block_on`) hands a packet to the connection task with a
//! wake-up of a worker thread, which writes it, and then sleeps until the answer: two thread
//! switches more per round trip than the answer's own. So the connection task's future is
//! kept here rather than inside the spawned task, and such a caller, about to wait for an
//! ack, runs a step of it itself ([`Runner::assist`]): the packet is written from the
//! caller's thread, and no worker is woken for it.
//!
//! How that stays correct:
//! - a mutex keeps the task and a caller from ever polling the future at the same time; a
//!   caller that finds it taken does nothing (the task is at work and sees the command);
//! - the future is always polled with one waker of the runner's ([`Relay`]), which wakes the
//!   task. While a caller assists, wake-ups are held back instead: those that came before its
//!   poll began are served by that poll (a channel keeps its items, a socket its readiness, a
//!   timer its deadline), and any that came later is passed on to the task when the caller is
//!   done. No wake-up is lost, and the one that the caller's own command causes costs nothing.

use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::task::{Context, Poll, Wake, Waker};

type Task = Pin<Box<dyn Future<Output = ()> + Send>>;

/// The connection task's future, and how it is woken.
pub(crate) struct Runner {
    /// `None` before the start and once the future completed.
    future: Mutex<Option<Task>>,
    relay: Arc<Relay>,
    /// The relay as a waker, made once.
    waker: Waker,
    /// The runtime the task runs on: only its threads may poll the future (its timers,
    /// sockets and the tasks it spawns belong there).
    runtime: OnceLock<tokio::runtime::Id>,
}

/// The waker the future is polled with: it wakes the task, unless a caller is assisting.
#[derive(Default)]
struct Relay {
    /// The spawned task's own waker, from its last poll.
    task: Mutex<Option<Waker>>,
    /// How many callers are assisting now.
    assisting: AtomicUsize,
    /// A wake-up came while a caller was assisting.
    held: AtomicBool,
}

impl Wake for Relay {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        // Held first, then checked: a caller that ends its assist after this load sees
        // `held` (it clears `assisting` before it looks).
        self.held.store(true, Ordering::SeqCst);
        if self.assisting.load(Ordering::SeqCst) == 0 {
            self.wake_task();
        }
    }
}

impl Relay {
    fn wake_task(&self) {
        if let Some(task) = lock(&self.task).as_ref() {
            task.wake_by_ref();
        }
    }
}

impl Default for Runner {
    fn default() -> Self {
        let relay = Arc::new(Relay::default());
        Runner {
            future: Mutex::new(None),
            waker: Waker::from(relay.clone()),
            relay,
            runtime: OnceLock::new(),
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

impl Runner {
    /// Puts `future` here and spawns the task that runs it on `runtime`.
    pub(crate) fn start(
        self: &Arc<Self>,
        runtime: &tokio::runtime::Handle,
        future: impl Future<Output = ()> + Send + 'static,
    ) {
        *lock(&self.future) = Some(Box::pin(future));
        let _ = self.runtime.set(runtime.id());
        let this = self.clone();
        runtime.spawn(std::future::poll_fn(move |cx| this.poll_task(cx)));
    }

    /// The task's poll: records its waker, then polls the future.
    fn poll_task(&self, cx: &mut Context<'_>) -> Poll<()> {
        {
            let mut task = lock(&self.relay.task);
            match &mut *task {
                Some(known) => known.clone_from(cx.waker()),
                None => *task = Some(cx.waker().clone()),
            }
        }
        let mut future = lock(&self.future);
        let done = self.poll_future(&mut future);
        if done.is_ready() {
            // The relay keeps no way back to the finished task.
            *lock(&self.relay.task) = None;
        }
        done
    }

    /// Polls the future with the relay's waker; empties the slot once it is done (or
    /// panicked: the connection task's panic ends it, as a spawned task's would, and never
    /// reaches a caller that assists).
    fn poll_future(&self, future: &mut Option<Task>) -> Poll<()> {
        let Some(running) = future.as_mut() else {
            return Poll::Ready(());
        };
        let mut cx = Context::from_waker(&self.waker);
        match catch_unwind(AssertUnwindSafe(|| running.as_mut().poll(&mut cx))) {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(())) | Err(_) => {
                *future = None;
                Poll::Ready(())
            }
        }
    }

    /// Begins a caller's step, to be taken before the caller hands its command over (so the
    /// wake-up the command causes is held back): `None` unless this thread is inside the
    /// task's runtime but not in a task (a worker runs the connection task next on the same
    /// thread anyway) and the task has started.
    pub(crate) fn assist(self: &Arc<Self>) -> Option<Assist> {
        let here = tokio::runtime::Handle::try_current().ok()?.id();
        if Some(&here) != self.runtime.get() || tokio::task::try_id().is_some() {
            return None;
        }
        self.relay.assisting.fetch_add(1, Ordering::SeqCst);
        Some(Assist {
            runner: self.clone(),
        })
    }
}

/// A caller's step of the connection task, begun by [`Runner::assist`]: run it with
/// [`Assist::run`] once the command is handed over; dropped without running, it only passes
/// on what it held back.
pub(crate) struct Assist {
    runner: Arc<Runner>,
}

impl Assist {
    /// Polls the connection task's future once on this thread, unless the task is polling it
    /// right now.
    pub(crate) fn run(self) {
        let runner = &self.runner;
        let Ok(mut future) = runner.future.try_lock() else {
            return;
        };
        // What woke the task until now, this poll serves.
        runner.relay.held.store(false, Ordering::SeqCst);
        if runner.poll_future(&mut future).is_ready() {
            // The task polls once more, finds nothing, and ends.
            runner.relay.held.store(true, Ordering::SeqCst);
        }
    }
}

impl Drop for Assist {
    fn drop(&mut self) {
        let relay = &self.runner.relay;
        // Cleared first, then `held` looked at: a wake-up after this point goes straight
        // to the task; one before it is seen here.
        relay.assisting.fetch_sub(1, Ordering::SeqCst);
        if relay.held.swap(false, Ordering::SeqCst) {
            relay.wake_task();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::thread::ThreadId;
    use std::time::Duration;
    use tokio::sync::mpsc;

    /// A connection task stand-in: serves two channels, reporting each item with the
    /// thread that served it.
    async fn serve(
        mut callers: mpsc::UnboundedReceiver<u64>,
        mut others: mpsc::UnboundedReceiver<u64>,
        out: mpsc::UnboundedSender<(u64, ThreadId)>,
    ) {
        loop {
            let item = tokio::select! {
                Some(i) = callers.recv() => i,
                Some(i) = others.recv() => i,
                else => return,
            };
            let _ = out.send((item, std::thread::current().id()));
        }
    }

    /// From the thread of `block_on`, an assisted command is served on that thread; from a
    /// task, never (the task serves it). Meanwhile a plain thread feeds the other channel
    /// without any assist: its items all arrive too, though wake-ups are held back while
    /// callers assist (none is lost).
    #[test]
    fn assisted_steps_run_on_the_caller_and_lose_no_wake_up() {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let runner = Arc::new(Runner::default());
        let (to_task, callers) = mpsc::unbounded_channel();
        let (to_other, others) = mpsc::unbounded_channel();
        let (out, mut served) = mpsc::unbounded_channel();
        runner.start(rt.handle(), serve(callers, others, out));
        const N: u64 = 2_000;
        let feeder = std::thread::spawn(move || {
            for i in 0..N {
                let _ = to_other.send(1_000_000 + i);
                if i % 64 == 0 {
                    std::thread::sleep(Duration::from_micros(50));
                }
            }
        });
        let me = std::thread::current().id();
        let (mut on_caller, mut other_seen) = (0, 0);
        rt.block_on(async {
            for i in 0..N {
                let assist = runner.assist();
                assert!(assist.is_some() || i == 0, "no assist from block_on");
                to_task.send(i).expect("task alive");
                if let Some(assist) = assist {
                    assist.run();
                }
                loop {
                    let (item, thread) =
                        tokio::time::timeout(Duration::from_secs(5), served.recv())
                            .await
                            .expect("served within 5 s (a lost wake-up?)")
                            .expect("task alive");
                    if item >= 1_000_000 {
                        other_seen += 1;
                        continue;
                    }
                    assert_eq!(item, i);
                    on_caller += u64::from(thread == me);
                    break;
                }
            }
            feeder.join().expect("feeder");
            while other_seen < N {
                let (item, _) = tokio::time::timeout(Duration::from_secs(5), served.recv())
                    .await
                    .expect("the plain thread's items all served (a lost wake-up?)")
                    .expect("task alive");
                assert!(item >= 1_000_000);
                other_seen += 1;
            }
            // From a task: no assist, the task serves.
            let runner = runner.clone();
            let from_task = tokio::spawn(async move { runner.assist().is_none() });
            assert!(from_task.await.expect("no panic"));
        });
        // Assisted commands are served on the caller's thread, not all of them: the task may
        // be polling (serving the other channel) when the caller tries.
        assert!(
            on_caller > N / 10,
            "only {on_caller} of {N} served on the caller"
        );
        drop(to_task);
    }
}
