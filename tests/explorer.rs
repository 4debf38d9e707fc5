//! A seeded, randomized fault explorer (issue 10): from a seed, a schedule of server
//! behaviours (the scriptable server of `support/script.rs`) and client actions is generated,
//! run against ferrio through its public API with real timing, and checked against invariants.
//!
//! ```sh
//! cargo test -p ferrio-suite --test explorer -- --nocapture                  # the CI budget
//! EXPLORER_SCHEDULES=500 cargo test -p ferrio-suite --test explorer -- --nocapture
//! EXPLORER_SEED=1234 cargo test -p ferrio-suite --test explorer -- --nocapture  # replay one
//! ```
//!
//! - `EXPLORER_SCHEDULES` (default 100: about 1 s per passing schedule, under 2 minutes on
//!   2 cores): how many schedules, with
//!   the seeds `EXPLORER_FIRST` (default 1) and up;
//! - `EXPLORER_SEED`: replays that one seed, printing its schedule and every violation;
//! - `EXPLORER_MAX_FAILURES` (default 5): stop after that many failing seeds;
//! - `EXPLORER_AVOID=freeze,drop`: steer clear of known findings to look for others (the
//!   schedule then depends on it too: replay with the same value);
//! - `EXPLORER_VERBOSE`: a line per schedule; `EXPLORER_PLAN_ONLY`: print the schedules, run
//!   nothing.
//!
//! One schedule in three runs the client's futures on threads of their own under `block_on`
//! (the body of `#[tokio::main]`), where an emit with ack runs a step of the connection task
//! itself (`manager/runner.rs`); the others run them as tasks.
//!
//! The schedule is a pure function of the seed (fastrand); timing is real, so a seed that
//! depends on a race may not fail on every replay. Every failing seed prints ONE line with its
//! replay command.
//!
//! Invariants, checked after each schedule (every wait has a deadline, a frozen client is a
//! violation, never a hung test):
//! 1. every client future (connect, emit, volatile emit, emit_with_ack with its timeout and
//!    retries) resolves within a bound derived from the configured timeouts and the heartbeat;
//! 2. once the server behaves again (the clean point), the client is back within
//!    `RECOVER` (a ping timeout, a reconnection delay, an open), echoes, and receives a final
//!    burst whole and in order;
//! 3. events the server sent are received in order per socket (no duplicate, no reordering),
//!    and with no gap on the final socket; binary attachments are the ones sent; no socket is
//!    disconnected with `parse error` (the server sends nothing malformed; a CONNECT reply
//!    without `sid` is that socket's `connect_error`, as in socket.io-client);
//! 4. every acked emit arrived at the server at least once, its ack carried its own echo, and
//!    first arrivals are in emit order (separately for emits with and without retries);
//! 5. after the handles are dropped (after `close()`, `disconnect()`, or nothing), every TCP
//!    connection to the server ends and the client's runtime has no task left (nor a client
//!    thread running), within `TEARDOWN`; no client task panicked.
//!
//! One schedule in four (drawn apart, so it changes nothing else in the schedule) runs
//! against the scripted server speaking as a socket.io 2 one (`ScriptConfig::legacy`): the
//! client's Engine.IO v3 engine and v2 namespace handshake under the same faults and
//! invariants, except that the root namespace's final socket may start past event 0 (a 2.x
//! server connects `/` at the open, and what it sends a `/` the client does not want yet is
//! lost by the protocol).

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use ferrio::{DisconnectReason, Manager, ServerVersion, Socket, TransportKind};
use ferrio_suite::script::{
    AckReply, Act, ConnectReply, ProbeReply, ScriptConfig, ScriptServer, Seen, When,
};
use ferrio_suite::{json, poll_once, PanicCounter};
use serde_json::Value;

const PING_INTERVAL: Duration = Duration::from_millis(300);
const PING_TIMEOUT: Duration = Duration::from_millis(300);
/// pingInterval + pingTimeout: how long a client may go without a ping.
const HEARTBEAT: Duration = Duration::from_millis(600);
const RECONNECT_DELAY_MAX: Duration = Duration::from_millis(200);
/// The manager's `timeout` (opening a connection, `connect()`).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// Scheduling noise on a loaded 2-core machine.
const SLACK: Duration = Duration::from_millis(1500);
/// From the clean point to a working client: a ping timeout on a broken session, a
/// reconnection delay, an open.
const RECOVER: Duration = Duration::from_millis(600 + 200 + 2000 + 1500);
/// From the handles dropped to no connection and no task: the engine's close (a flush and a
/// pause of at most 1 s each), a heartbeat.
const TEARDOWN: Duration = Duration::from_millis(2000 + 600 + 1500);

fn ms(v: u64) -> Duration {
    Duration::from_millis(v)
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

// ----- schedules --------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Wire {
    /// The default: polling, then the upgrade.
    Upgrade,
    Polling,
    Websocket,
}

#[derive(Debug, Clone)]
enum What {
    /// Acts on every live session.
    Server(Vec<Act>),
    SetConnect(ConnectReply),
    SetAck(AckReply),
    SetProbe(ProbeReply),
    SlowRead(Option<Duration>),
    Restart {
        accept_new: bool,
    },
    Accepting(bool),
    Emit,
    Volatile,
    EmitAck {
        timeout: Duration,
        retries: u32,
    },
    /// An emit_with_ack (no timeout) whose future is dropped after a while.
    DropEmit {
        after: Duration,
    },
    Disconnect,
    Connect,
    CloseManager,
}

#[derive(Debug, Clone)]
struct Step {
    after: Duration,
    what: What,
    /// The socket of a client action (0: `/`, 1: `/b`); for `SetConnect`, 1 is `/b` only
    /// and 0 every namespace.
    on: usize,
}

#[derive(Debug, Clone, Copy)]
enum Teardown {
    Close,
    Disconnect,
    Drop,
}

#[derive(Debug)]
struct Plan {
    /// The server speaks as a socket.io 2 one (Engine.IO v3, Socket.IO protocol 4): the
    /// client's v3 engine (framing, its own pings) and v2 namespace handshake.
    legacy: bool,
    wire: Wire,
    server_timeout: bool,
    probe: ProbeReply,
    hooks: Vec<(When, Vec<Act>, u32)>,
    /// Whether `/b` connects at the start too.
    second: bool,
    /// The client futures run on threads of their own under `block_on` (as in the body of
    /// `#[tokio::main]`), where an emit with ack runs a step of the connection task itself,
    /// instead of as tasks on the runtime's workers.
    off_worker: bool,
    steps: Vec<Step>,
    teardown: Teardown,
}

fn dur(rng: &mut fastrand::Rng, lo: u64, hi: u64) -> Duration {
    ms(rng.u64(lo..=hi))
}

/// Whether `EXPLORER_AVOID` (a comma-separated list) names a known finding to steer clear
/// of, so the explorer looks for others: `freeze` (no upgrade: the schedules that would
/// upgrade run over polling or websocket only, since any burst or stalled poll in the upgrade
/// window can freeze it), `drop` (no teardown by dropping an active socket's handles).
fn avoid(finding: &str) -> bool {
    std::env::var("EXPLORER_AVOID")
        .map(|v| v.split(',').any(|f| f.trim() == finding))
        .unwrap_or(false)
}

fn burst_of(rng: &mut fastrand::Rng, n: usize) -> Act {
    let binary_every = [0, 0, 0, 3, 50][rng.usize(0..5)];
    Act::Burst { n, binary_every }
}

fn burst(rng: &mut fastrand::Rng) -> Act {
    let n = match rng.u8(0..10) {
        0..=3 => rng.usize(1..20),
        4..=6 => rng.usize(20..300),
        _ => rng.usize(300..=2000),
    };
    burst_of(rng, n)
}

impl Plan {
    fn generate(seed: u64) -> Plan {
        let mut rng = fastrand::Rng::with_seed(seed);
        let rng = &mut rng;
        // The second namespace is drawn from a generator of its own, so that it decorates a
        // schedule without changing it.
        let mut ns_rng =
            fastrand::Rng::with_seed(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0x2f62);
        let second = ns_rng.u8(0..10) < 6;
        // Likewise the protocol: one schedule in four runs against a socket.io 2 server.
        let legacy = ns_rng.u8(0..4) == 0;
        // And where the client's futures run: one schedule in three off the workers.
        let off_worker = ns_rng.u8(0..3) == 0;
        let wire = match rng.u8(0..20) {
            0..=13 => Wire::Upgrade,
            14..=16 => Wire::Polling,
            _ => Wire::Websocket,
        };
        let server_timeout = rng.u8(0..10) < 3;
        let probe = match rng.u8(0..10) {
            0..=5 => ProbeReply::Answer,
            6..=8 => ProbeReply::Delay(dur(rng, 20, 500)),
            _ => ProbeReply::Never,
        };
        let mut hooks = Vec::new();
        if rng.bool() {
            let b = burst(rng);
            hooks.push((When::Connect, vec![b], rng.u32(1..=2)));
        }
        if wire == Wire::Upgrade && rng.u8(0..10) < 6 {
            let (when, acts) = match rng.u8(0..10) {
                0 => (When::Probe, vec![Act::StallGet(true)]),
                1 => (When::ProbeAnswer, vec![Act::StallGet(true)]),
                2..=4 => {
                    let n = rng.usize(100..=2000);
                    (When::ProbeAnswer, vec![burst_of(rng, n)])
                }
                5 => (When::Probe, vec![Act::HalfGet]),
                6 => (
                    When::Probe,
                    vec![Act::Reset {
                        close_frame: rng.bool(),
                    }],
                ),
                7 => (When::Upgrade, vec![burst(rng)]),
                8 => (When::Upgrade, vec![Act::StallWs(true)]),
                _ => (When::Probe, vec![Act::StallPost(true)]),
            };
            hooks.push((when, acts, 1));
        }

        let wire = match wire {
            Wire::Upgrade if avoid("freeze") && seed.is_multiple_of(2) => Wire::Polling,
            Wire::Upgrade if avoid("freeze") => Wire::Websocket,
            other => other,
        };
        let n = rng.usize(3..=7);
        // (base step index after which it comes, step): undoing a fault a little later
        let mut later: Vec<(usize, What, usize)> = Vec::new();
        let mut steps = Vec::new();
        for i in 0..n {
            let on = usize::from(ns_rng.u8(0..3) == 0);
            let mut undo = |rng: &mut fastrand::Rng, p: u8, what: What| {
                if rng.u8(0..100) < p {
                    later.push((i + rng.usize(0..=2), what, on));
                }
            };
            let what = match rng.u8(0..100) {
                0..=24 => What::EmitAck {
                    timeout: dur(rng, 150, 1000),
                    retries: [0, 0, 1, 2, 3][rng.usize(0..5)],
                },
                25..=29 => What::Emit,
                30..=32 => What::Volatile,
                33..=34 => What::DropEmit {
                    after: dur(rng, 0, 300),
                },
                35..=37 => {
                    undo(rng, 70, What::Connect);
                    What::Disconnect
                }
                38..=39 => {
                    undo(rng, 70, What::Connect);
                    What::CloseManager
                }
                40..=41 => What::Connect,
                42..=55 => What::Server(vec![burst(rng)]),
                56..=62 => {
                    let (on, off) = match rng.u8(0..3) {
                        0 => (Act::StallGet(true), Act::StallGet(false)),
                        1 => (Act::StallPost(true), Act::StallPost(false)),
                        _ => (Act::StallWs(true), Act::StallWs(false)),
                    };
                    undo(rng, 60, What::Server(vec![off]));
                    What::Server(vec![on])
                }
                63..=64 => What::Server(vec![Act::HalfGet]),
                65..=67 => What::Server(vec![Act::Fail502 {
                    gets: rng.u32(0..3),
                    posts: rng.u32(0..3),
                }]),
                68..=70 => {
                    undo(rng, 50, What::Server(vec![Act::Pinging(true)]));
                    What::Server(vec![Act::Pinging(false)])
                }
                71..=72 => What::Server(vec![Act::Close]),
                73..=76 => What::Server(vec![Act::Reset {
                    close_frame: rng.bool(),
                }]),
                77..=78 => What::Server(vec![Act::Kick]),
                79..=81 => {
                    let accept_new = rng.bool();
                    if !accept_new {
                        undo(rng, 80, What::Accepting(true));
                    }
                    What::Restart { accept_new }
                }
                82..=84 => {
                    undo(rng, 70, What::SetConnect(ConnectReply::Accept));
                    What::SetConnect(if rng.bool() {
                        ConnectReply::Refuse
                    } else {
                        ConnectReply::NoSid
                    })
                }
                85..=90 => {
                    undo(rng, 50, What::SetAck(AckReply::Now));
                    What::SetAck(match rng.u8(0..4) {
                        0 => AckReply::Late(dur(rng, 50, 800)),
                        1 => AckReply::Twice,
                        2 => AckReply::Never,
                        _ => AckReply::Stray,
                    })
                }
                91..=93 => {
                    undo(rng, 70, What::SlowRead(None));
                    What::SlowRead(Some(dur(rng, 1, 5)))
                }
                94..=95 => What::SetProbe(ProbeReply::Delay(dur(rng, 20, 500))),
                _ => {
                    let n = rng.usize(300..=2000);
                    What::Server(vec![burst_of(rng, n)])
                }
            };
            steps.push(Step {
                after: dur(rng, 0, 300),
                what,
                on,
            });
            let mut k = 0;
            while k < later.len() {
                if later[k].0 == i {
                    // the undo of a step concerns that step's socket or namespace
                    let (_, what, on) = later.remove(k);
                    steps.push(Step {
                        after: dur(rng, 50, 400),
                        what,
                        on,
                    });
                } else {
                    k += 1;
                }
            }
        }
        let teardown = match rng.u8(0..3) {
            0 => Teardown::Close,
            1 => Teardown::Disconnect,
            _ if avoid("drop") => Teardown::Disconnect,
            _ => Teardown::Drop,
        };
        Plan {
            legacy,
            wire,
            server_timeout,
            probe,
            hooks,
            second,
            off_worker,
            steps,
            teardown,
        }
    }
}

// ----- the client side ------------------------------------------------------------------

#[derive(Debug, Clone, Copy)]
enum Limit {
    /// Resolves by then.
    At(Instant),
    /// An emit with retries: waits for the connection, so its bound counts from the clean
    /// point: `(retries + 1) * timeout`, after the emits with retries before it (they take
    /// turns).
    Turn { timeout: Duration, retries: u32 },
    /// Not checked (a dropped emit).
    None,
}

#[derive(Debug)]
struct Tracked {
    label: String,
    limit: Limit,
    /// The client counter of an acked emit (`e`), whether it has retries, its socket.
    emit: Option<(u64, bool, usize)>,
    result: Option<(Instant, Result<Value, String>)>,
}

#[derive(Default)]
struct Record {
    /// See [`Plan::off_worker`].
    off_worker: bool,
    /// The threads of the client futures, when they run off the workers.
    threads: Vec<std::thread::JoinHandle<()>>,
    tracked: Vec<Tracked>,
    /// (socket id, n, attachment ok) of the numbered events, in the order listeners got them.
    events: Vec<(String, u64, bool)>,
    /// (namespace, reason) of every disconnect.
    disconnects: Vec<(&'static str, DisconnectReason)>,
}

type Shared = Arc<Mutex<Record>>;

type BoxFut = Pin<Box<dyn Future<Output = Result<Value, String>> + Send>>;

/// Polls `fut` once (so it is queued now, in call order), then lets it finish on a task and
/// records when. Off the workers, both happen on a thread of its own under `block_on`, and
/// this waits for the first poll only.
async fn track(
    rec: &Shared,
    label: String,
    limit: Limit,
    emit: Option<(u64, bool, usize)>,
    mut fut: BoxFut,
) {
    let idx = {
        let mut r = lock(rec);
        r.tracked.push(Tracked {
            label,
            limit,
            emit,
            result: None,
        });
        r.tracked.len() - 1
    };
    if lock(rec).off_worker {
        let (polled, first_poll) = tokio::sync::oneshot::channel();
        let (record, runtime) = (rec.clone(), tokio::runtime::Handle::current());
        let thread = std::thread::spawn(move || {
            runtime.block_on(async move {
                let first = poll_once(&mut fut).await;
                let _ = polled.send(());
                let out = match first {
                    Some(out) => out,
                    None => fut.await,
                };
                lock(&record).tracked[idx].result = Some((Instant::now(), out));
            });
        });
        lock(rec).threads.push(thread);
        let _ = first_poll.await;
        return;
    }
    if let Some(out) = poll_once(&mut fut).await {
        lock(rec).tracked[idx].result = Some((Instant::now(), out));
        return;
    }
    let rec = rec.clone();
    tokio::spawn(async move {
        let out = fut.await;
        lock(&rec).tracked[idx].result = Some((Instant::now(), out));
    });
}

fn listen(socket: &Socket, rec: &Shared, nsp: &'static str) {
    let r = rec.clone();
    socket.on_disconnect(move |reason: DisconnectReason| {
        lock(&r).disconnects.push((nsp, reason));
        async {}
    });
    for name in ["s", "b"] {
        let rec = rec.clone();
        socket.on(name, move |event| {
            let tag = event.arg::<Value>(0).unwrap_or(Value::Null);
            let k = tag["k"].as_str().unwrap_or("?").to_owned();
            let n = tag["n"].as_u64().unwrap_or(u64::MAX);
            let ok = match event.name() {
                "b" => event
                    .attachments()
                    .first()
                    .is_some_and(|a| a.as_ref() == n.to_be_bytes()),
                _ => true,
            };
            lock(&rec).events.push((k, n, ok));
            async {}
        });
    }
}

struct Run {
    server: ScriptServer,
    manager: Option<Manager>,
    sockets: Vec<Option<Socket>>,
    /// The sockets the schedule used (connected, or emitted on).
    used: [bool; 2],
    rec: Shared,
    next_c: u64,
    violations: Vec<String>,
    /// A socket.io 2 server: it connects `/` at every session's open, whether the client
    /// wants `/` then or not, and numbers the root's events from there.
    legacy: bool,
}

impl Run {
    fn socket(&self, i: usize) -> Socket {
        self.sockets[i].clone().expect("socket")
    }

    async fn exec(&mut self, what: &What, on: usize) {
        let server = &self.server;
        if !matches!(what, What::SetConnect(_) | What::CloseManager) {
            self.used[on] = true;
        }
        match what {
            What::Server(acts) => server.act(acts.iter().cloned()),
            What::SetConnect(r) => {
                if on == 1 {
                    server.set_connect_for("/b", *r);
                } else {
                    server.set_connect(*r);
                }
                // a refusal is only seen by a CONNECT: that socket leaves and comes back
                if *r != ConnectReply::Accept {
                    self.socket(on).disconnect();
                    self.connect(on).await;
                }
            }
            What::SetAck(r) => server.set_ack(*r),
            What::SetProbe(r) => server.set_probe(*r),
            What::SlowRead(d) => server.set_slow_read(*d),
            What::Restart { accept_new } => server.restart(*accept_new),
            What::Accepting(b) => server.set_accepting(*b),
            What::Emit | What::Volatile => {
                let volatile = matches!(what, What::Volatile);
                let s = self.socket(on);
                let c = self.next_c;
                self.next_c += 1;
                let fut: BoxFut = Box::pin(async move {
                    let r = if volatile {
                        s.volatile().emit("v", json!({ "c": c })).await
                    } else {
                        s.emit("p", json!({ "c": c })).await
                    };
                    r.map(|()| Value::Null).map_err(|e| e.to_string())
                });
                let label = format!("{} #{c}", if volatile { "volatile emit" } else { "emit" });
                let limit = Limit::At(Instant::now() + HEARTBEAT + SLACK);
                track(&self.rec, label, limit, None, fut).await;
            }
            What::EmitAck { timeout, retries } => {
                let (timeout, retries) = (*timeout, *retries);
                let s = self.socket(on);
                let c = self.next_c;
                self.next_c += 1;
                let fut: BoxFut = Box::pin(async move {
                    s.timeout(timeout)
                        .retries(retries)
                        .emit_with_ack::<Value>("e", json!({ "c": c }))
                        .await
                        .map_err(|e| e.to_string())
                });
                let label = format!("emit_with_ack #{c} (timeout {timeout:?}, retries {retries})");
                let limit = match retries {
                    0 => Limit::At(Instant::now() + HEARTBEAT + timeout + SLACK),
                    _ => Limit::Turn { timeout, retries },
                };
                track(&self.rec, label, limit, Some((c, retries > 0, on)), fut).await;
            }
            What::DropEmit { after } => {
                let after = *after;
                let s = self.socket(on);
                let c = self.next_c;
                self.next_c += 1;
                let fut: BoxFut = Box::pin(async move {
                    tokio::select! {
                        r = s.emit_with_ack::<Value>("d", json!({ "c": c })) => r.map_err(|e| e.to_string()),
                        () = tokio::time::sleep(after) => Ok(Value::Null),
                    }
                });
                track(
                    &self.rec,
                    format!("dropped emit #{c}"),
                    Limit::None,
                    None,
                    fut,
                )
                .await;
            }
            What::Disconnect => {
                self.socket(on).disconnect();
            }
            What::Connect => self.connect(on).await,
            What::CloseManager => {
                if let Some(m) = &self.manager {
                    m.close();
                }
            }
        }
    }

    async fn connect(&mut self, on: usize) {
        self.used[on] = true;
        let s = self.socket(on);
        let fut: BoxFut = Box::pin(async move {
            s.connect()
                .await
                .map(|()| Value::Null)
                .map_err(|e| e.to_string())
        });
        let limit = Limit::At(Instant::now() + CONNECT_TIMEOUT + SLACK);
        track(
            &self.rec,
            format!("connect() of {}", s_name(on)),
            limit,
            None,
            fut,
        )
        .await;
    }

    fn violation(&mut self, v: String) {
        self.violations.push(v);
    }

    /// The clean point: the server heals; the client must be back, echo, and get a final
    /// burst whole.
    async fn recover(&mut self) -> Instant {
        self.server.heal();
        let healed = Instant::now();
        let end = healed + RECOVER;
        let mut finals = Vec::new();
        for i in 0..2 {
            if !self.used[i] {
                continue;
            }
            match self.echo_back(i, end).await {
                Some(sock) => finals.push(sock),
                None => return healed,
            }
        }
        // a final burst on each socket's session arrives whole and in order
        self.server.act([Act::Burst {
            n: 20,
            binary_every: 3,
        }]);
        for sock in &finals {
            self.final_burst(sock).await;
        }
        self.check_events(&finals);
        healed
    }

    /// Socket `i` is back (connects if it must) and echoes by `end`; its socket id.
    async fn echo_back(&mut self, i: usize, end: Instant) -> Option<String> {
        let s = self.socket(i);
        let connecting = Arc::new(AtomicBool::new(false));
        let mut echoed = false;
        let mut tries = 0u64;
        while Instant::now() < end {
            if !s.active() && !connecting.swap(true, Ordering::SeqCst) {
                let s2 = s.clone();
                let flag = connecting.clone();
                tokio::spawn(async move {
                    let _ = s2.connect().await;
                    flag.store(false, Ordering::SeqCst);
                });
            }
            if s.connected() {
                tries += 1;
                let left = end.saturating_duration_since(Instant::now());
                let r = s
                    .timeout(ms(1000).min(left))
                    .emit_with_ack::<Value>("final", json!({ "try": tries }))
                    .await;
                if r.is_ok() {
                    echoed = true;
                    break;
                }
            } else {
                tokio::time::sleep(ms(20)).await;
            }
        }
        if !echoed {
            let state = format!(
                "connected {}, active {}, transport {:?}, {} server session(s), {} open connection(s)",
                s.connected(),
                s.active(),
                self.manager.as_ref().and_then(Manager::transport),
                self.server.sessions(),
                self.server.open_connections()
            );
            let window = upgrade_window(&self.server.seen())
                .map(|w| format!("; {w}"))
                .unwrap_or_default();
            self.violation(format!(
                "[recover] {} not back {RECOVER:?} after the server healed (no echo): {state}{window}",
                s_name(i)
            ));
            return None;
        }
        let Some(sock) = s.id() else {
            self.violation("[recover] connected without a socket id".into());
            return None;
        };
        Some(sock)
    }

    async fn final_burst(&mut self, sock: &str) {
        let sent = self.server.sent(sock);
        let deadline = Instant::now() + HEARTBEAT + SLACK;
        loop {
            let last = lock(&self.rec)
                .events
                .iter()
                .rev()
                .find(|(k, _, _)| k == sock)
                .map(|(_, n, _)| *n);
            if last.is_some_and(|n| n + 1 >= sent) {
                break;
            }
            if Instant::now() > deadline {
                self.violation(format!(
                    "[events] the final burst to {sock} did not arrive: last event n={last:?} of {sent} sent, within {:?}",
                    HEARTBEAT + SLACK
                ));
                break;
            }
            tokio::time::sleep(ms(10)).await;
        }
    }

    fn check_events(&mut self, finals: &[String]) {
        let events = std::mem::take(&mut lock(&self.rec).events);
        let mut last: HashMap<&str, u64> = HashMap::new();
        let mut found = Vec::new();
        for (k, n, ok) in &events {
            if !ok {
                found.push(format!(
                    "[events] socket {k}: binary event n={n} carried the wrong attachment"
                ));
            }
            match last.get(k.as_str()) {
                Some(prev) if *n <= *prev => found.push(format!(
                    "[events] socket {k}: event n={n} received after n={prev} (duplicate or reordered)"
                )),
                Some(prev) if finals.contains(k) && *n != prev + 1 => found.push(format!(
                    "[events] socket {k} (final): event n={n} received after n={prev} (a gap: lost events on a live session)"
                )),
                // socket.io 2: events the server sent `/` before the client connected it (a
                // socket that left, or was refused, when the session opened) went to nobody,
                // by the protocol; order and the absence of gaps afterwards still hold.
                None if self.legacy && !k.contains('#') => {}
                None if finals.contains(k) && *n != 0 => found.push(format!(
                    "[events] socket {k} (final): the first event received is n={n}, not 0"
                )),
                _ => {}
            }
            last.insert(k, *n);
        }
        // the server never sends anything malformed
        for (nsp, reason) in &lock(&self.rec).disconnects {
            if *reason == DisconnectReason::ParseError {
                found.push(format!(
                    "[parse] {nsp} disconnected with `parse error` though the server sent nothing malformed"
                ));
                break;
            }
        }
        found.truncate(4);
        for v in found {
            self.violation(v);
        }
    }

    /// Invariants 1 and 4.
    async fn check_futures(&mut self, healed: Instant) {
        // the deadlines
        let mut turns = RECOVER + SLACK;
        let limits: Vec<Option<Instant>> = lock(&self.rec)
            .tracked
            .iter()
            .map(|t| match t.limit {
                Limit::At(at) => Some(at),
                Limit::Turn { timeout, retries } => {
                    turns += timeout * (retries + 1);
                    Some(healed + turns)
                }
                Limit::None => None,
            })
            .collect();
        let latest = limits.iter().flatten().max().copied();
        if let Some(latest) = latest {
            while Instant::now() < latest {
                if lock(&self.rec).tracked.iter().all(|t| t.result.is_some()) {
                    break;
                }
                tokio::time::sleep(ms(20)).await;
            }
        }
        let now = Instant::now();
        let mut found = Vec::new();
        for (t, limit) in lock(&self.rec).tracked.iter().zip(&limits) {
            let Some(limit) = limit else { continue };
            match &t.result {
                None if now >= *limit => found.push(format!(
                    "[future] {} never resolved (bound: {:?} after the clean point)",
                    t.label,
                    limit.saturating_duration_since(healed)
                )),
                Some((at, _)) if at > limit => found.push(format!(
                    "[future] {} resolved {:?} after its bound",
                    t.label,
                    at.saturating_duration_since(*limit)
                )),
                _ => {}
            }
        }
        // acked emits: arrived, their own echo, first arrivals in order
        let seen = self.server.seen();
        let mut first: HashMap<u64, usize> = HashMap::new();
        for (i, s) in seen.iter().enumerate() {
            if let Seen::Event { name, args, .. } = s {
                if name == "e" {
                    if let Some(c) = args.first().and_then(|a| a["c"].as_u64()) {
                        first.entry(c).or_insert(i);
                    }
                }
            }
        }
        for class in [(false, 0), (true, 0), (false, 1), (true, 1)] {
            let mut prev: Option<(u64, usize)> = None;
            for t in lock(&self.rec).tracked.iter() {
                let (Some((c, retries, on)), Some((_, Ok(v)))) = (t.emit, &t.result) else {
                    continue;
                };
                if (retries, on) != class {
                    continue;
                }
                if *v != json!({ "c": c }) {
                    found.push(format!(
                        "[acks] {} was acked with {v} (not its own echo)",
                        t.label
                    ));
                }
                let Some(at) = first.get(&c).copied() else {
                    found.push(format!(
                        "[acks] {} was acked but never reached the server",
                        t.label
                    ));
                    continue;
                };
                if let Some((pc, pat)) = prev {
                    if at < pat {
                        found.push(format!(
                            "[acks] acked emits #{pc} and #{c} first reached the server in the reverse order"
                        ));
                    }
                }
                prev = Some((c, at));
            }
        }
        found.truncate(5);
        for v in found {
            self.violation(v);
        }
    }

    /// Invariant 5.
    async fn teardown(&mut self, how: Teardown, baseline: usize) {
        let sockets: Vec<Socket> = self.sockets.iter_mut().filter_map(Option::take).collect();
        let manager = self.manager.take();
        match how {
            Teardown::Close => {
                if let Some(m) = &manager {
                    m.close();
                }
            }
            Teardown::Disconnect => {
                for s in &sockets {
                    s.disconnect();
                }
            }
            Teardown::Drop => {}
        }
        drop(sockets);
        drop(manager);
        let end = Instant::now() + TEARDOWN;
        let metrics = tokio::runtime::Handle::current().metrics();
        loop {
            let conns = self.server.open_connections();
            let tasks = metrics.num_alive_tasks();
            let threads = {
                let mut rec = lock(&self.rec);
                rec.threads.retain(|t| !t.is_finished());
                rec.threads.len()
            };
            if conns == 0 && tasks <= baseline && threads == 0 {
                return;
            }
            if Instant::now() > end {
                self.violation(format!(
                    "[teardown] {TEARDOWN:?} after the handles were dropped ({how:?}): {conns} connection(s) still open to the server, {} client task(s) alive, {threads} client thread(s) running",
                    tasks.saturating_sub(baseline)
                ));
                return;
            }
            tokio::time::sleep(ms(20)).await;
        }
    }
}

/// When the last session that was probed had `3probe` answered but never switched: what the
/// polls around the answer carried (the upgrade window of issue 10).
fn upgrade_window(seen: &[Seen]) -> Option<String> {
    let sid = seen.iter().rev().find_map(|s| match s {
        Seen::ProbeAnswered { sid } => Some(sid.clone()),
        _ => None,
    })?;
    let upgraded = seen
        .iter()
        .any(|s| matches!(s, Seen::Upgraded { sid: u } if *u == sid));
    if upgraded {
        return None;
    }
    let answered = seen
        .iter()
        .position(|s| matches!(s, Seen::ProbeAnswered { sid: a } if *a == sid))?;
    let polls = |range: &[Seen]| -> Vec<usize> {
        range
            .iter()
            .filter_map(|s| match s {
                Seen::Polled { sid: p, packets } if *p == sid => Some(*packets),
                _ => None,
            })
            .collect()
    };
    let before = polls(&seen[..answered]);
    let after = polls(&seen[answered..]);
    Some(format!(
        "UPGRADE WINDOW: session {sid} had 3probe answered and never upgraded; the last poll before the answer carried {:?} packet(s), polls after it: {after:?}",
        before.last()
    ))
}

async fn run_plan(plan: &Plan, server: ScriptServer) -> Vec<String> {
    let baseline = tokio::runtime::Handle::current()
        .metrics()
        .num_alive_tasks();
    server.set_probe(plan.probe);
    for (when, acts, times) in &plan.hooks {
        server.on(*when, acts.iter().cloned(), *times);
    }
    let transports: &[TransportKind] = match plan.wire {
        Wire::Upgrade => &[TransportKind::Polling, TransportKind::Websocket],
        Wire::Polling => &[TransportKind::Polling],
        Wire::Websocket => &[TransportKind::Websocket],
    };
    // A websocket handshake does not tell a socket.io 2 server: the manager is told.
    let version = match (plan.legacy, plan.wire) {
        (true, Wire::Websocket) => ServerVersion::V2,
        _ => ServerVersion::Auto,
    };
    let manager = match Manager::builder(server.url())
        .server_version(version)
        .transports(transports)
        .reconnection_delay(ms(50))
        .reconnection_delay_max(RECONNECT_DELAY_MAX)
        .randomization_factor(0.0)
        .timeout(CONNECT_TIMEOUT)
        .build()
    {
        Ok(m) => m,
        Err(e) => return vec![format!("the manager does not build: {e}")],
    };
    let sockets = [manager.socket("/").build(), manager.socket("/b").build()];
    let rec: Shared = Arc::default();
    lock(&rec).off_worker = plan.off_worker;
    for (i, s) in sockets.iter().enumerate() {
        listen(s, &rec, s_name(i));
    }
    let mut run = Run {
        server,
        manager: Some(manager),
        sockets: sockets.into_iter().map(Some).collect(),
        used: [false; 2],
        rec,
        next_c: 0,
        violations: Vec::new(),
        legacy: plan.legacy,
    };
    run.connect(0).await;
    if plan.second {
        run.connect(1).await;
    }
    for step in &plan.steps {
        tokio::time::sleep(step.after).await;
        run.exec(&step.what, step.on).await;
    }
    let healed = run.recover().await;
    run.check_futures(healed).await;
    run.teardown(plan.teardown, baseline).await;
    run.violations
}

/// Runs one seed on a runtime of its own (so a frozen client's tasks die with it); returns
/// the violations.
fn run_seed(seed: u64, verbose: bool) -> Vec<String> {
    let plan = Plan::generate(seed);
    if verbose {
        println!("explorer: seed {seed}: {plan:#?}");
    } else if std::env::var_os("EXPLORER_VERBOSE").is_some() {
        println!(
            "explorer: seed {seed}: {:?}{}{}, {} step(s), {} hook(s) {:?}, teardown {:?}",
            plan.wire,
            if plan.legacy { " (socket.io 2)" } else { "" },
            if plan.second { " + /b" } else { "" },
            plan.steps.len(),
            plan.hooks.len(),
            plan.hooks.iter().map(|h| h.0).collect::<Vec<_>>(),
            plan.teardown
        );
    }
    let server = ScriptServer::start(ScriptConfig {
        ping_interval: PING_INTERVAL,
        ping_timeout: PING_TIMEOUT,
        upgrades: true,
        server_timeout: plan.server_timeout,
        legacy: plan.legacy,
    });
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return vec![format!("no runtime: {e}")],
    };
    let panics = PanicCounter::start();
    let steps: Duration = plan.steps.iter().map(|s| s.after).sum();
    // a backstop over the bounds every wait already has
    let cap = steps + RECOVER * 2 + TEARDOWN + ms(20_000);
    let mut violations = match rt.block_on(async {
        tokio::time::timeout(
            cap,
            tokio::spawn(async move { run_plan(&plan, server).await }),
        )
        .await
    }) {
        Ok(Ok(v)) => v,
        Ok(Err(e)) => vec![format!("[panic] the schedule's task failed: {e}")],
        Err(_) => vec![format!(
            "[hang] the schedule did not finish within {cap:?} (a hang)"
        )],
    };
    rt.shutdown_background();
    if panics.count() > 0 {
        violations.push(format!(
            "[panic] {} client task(s) panicked",
            panics.count()
        ));
    }
    violations
}

fn s_name(i: usize) -> &'static str {
    ["/", "/b"][i]
}

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.trim().parse().ok())
}

#[test]
fn explorer() {
    let replay = env_u64("EXPLORER_SEED");
    let seeds: Vec<u64> = match replay {
        Some(seed) => vec![seed],
        None => {
            let first = env_u64("EXPLORER_FIRST").unwrap_or(1);
            let n = env_u64("EXPLORER_SCHEDULES").unwrap_or(100);
            (first..first + n).collect()
        }
    };
    if std::env::var_os("EXPLORER_PLAN_ONLY").is_some() {
        for &seed in &seeds {
            println!("explorer: seed {seed}: {:?}", Plan::generate(seed));
        }
        return;
    }
    let max_failures = env_u64("EXPLORER_MAX_FAILURES").unwrap_or(5) as usize;
    let started = Instant::now();
    let mut failed = Vec::new();
    let mut ran = 0;
    for &seed in &seeds {
        let t0 = Instant::now();
        let violations = run_seed(seed, replay.is_some());
        ran += 1;
        if replay.is_some() || std::env::var_os("EXPLORER_VERBOSE").is_some() {
            println!(
                "explorer: seed {seed}: {} violation(s) in {:?}",
                violations.len(),
                t0.elapsed()
            );
            for v in &violations {
                println!("  - {v}");
            }
        }
        if let Some(first) = violations.first() {
            println!(
                "explorer: seed {seed} FAILED ({first}{}); replay: EXPLORER_SEED={seed} cargo test -p ferrio-suite --test explorer -- --nocapture",
                match violations.len() {
                    1 => String::new(),
                    n => format!(" and {} more", n - 1),
                }
            );
            failed.push(seed);
            if failed.len() >= max_failures {
                break;
            }
        }
    }
    println!(
        "explorer: {ran} schedule(s) in {:?}, {} failed: {failed:?}",
        started.elapsed(),
        failed.len()
    );
    assert!(
        failed.is_empty(),
        "failing seeds: {failed:?} (replay lines above)"
    );
}
