//! The ferrio bench client: one run of one scenario against a running sink server, reported
//! as one `RESULT` line. The sink server of this repository is `examples/bench_server.rs`;
//! the README's table comes from an external comparison harness (not in this repository),
//! which runs this client as one more column next to other Socket.IO clients.
//!
//! ```sh
//! cargo build --release --example bench_server --example bench_client
//! target/release/examples/bench_server 19102 &
//! target/release/examples/bench_client http://127.0.0.1:19102 emit_throughput 200000
//! ```
//!
//! Usage: `bench_client <url> <scenario> <n>`, the scenario one of `emit_throughput`,
//! `ack_latency`, `server_push`, `many_connections` and the harness's opt-in ones,
//! `polling_emit_throughput`, `binary_throughput`, `reconnect_storm`.
//! Everything goes through the **typed** API: the harness's events are the `BenchEvents`
//! trait below, and `#[ferrio::socketio_events]` makes the `BenchEventsSocket` used here.
//! Websocket-only transport (polling only with `BENCH_TRANSPORT=polling`), no reconnection
//! except in `reconnect_storm`; the clock starts once the server accepted the namespace
//! (`connect()` resolved) and answered one `stats` (see `ready`), except in
//! `many_connections`, which times the connecting. Payloads are the ones of the harness's other clients:
//! `42["count",{"i":i,"text":"hello world"}]`, `42<id>["echo",{..}]`, `42<id>["stats"]`,
//! `42["blast",{"n":n}]`; received `42["push",{"i":i,"text":"hello world"}]`.
//!
//! - emit_throughput: `n` × `emit_count(..).await`, then `emit_stats()` until the server
//!   counted `n` (socketioxide runs each handler as a task, so a stats ack can overtake
//!   the last counts: re-polled for at most 10 s).
//! - polling_emit_throughput: the same over HTTP long-polling only (never upgraded); ok
//!   only if the last `stats` says the socket is still on `polling`.
//! - ack_latency: `n` sequential `emit_echo(..).await`, each checked to carry its own `i`.
//! - server_push: `emit_blast({n})`, the server pushes `n` events, each decoded into `Item`
//!   by the typed `on_push` listener (or, with `BENCH_PUSH=stream`, read from
//!   `push_stream()`); timed until the `n`th arrived, in order.
//! - binary_throughput: `n` × `emit_bin(Binary)` of 64 KiB each (one attachment), then
//!   `stats` until the server counted `n` of them and `n` × 64 KiB.
//! - many_connections: `n` managers connecting at once from this process, each with its
//!   own connection; timed until every namespace CONNECT arrived.
//! - reconnect_storm: `n` managers with reconnection on (ferrio's default backoff, or a
//!   first delay of `BENCH_RECONNECT_DELAY_MS`), all connected; socket 0 emits
//!   `storm_kick`, the server closes every engine.io connection, and the clock stops when
//!   every socket got its second namespace CONNECT (`on_connect`); p50/p99 are the
//!   per-socket times from the kick to that CONNECT.
//!
//! Environment: `BENCH_TIMEOUT` (seconds, default 120), `BENCH_SERVER_PID` (the server's
//! CPU in the window), `BENCH_RT=current_thread` (a current-thread tokio runtime instead of
//! the multi-thread one), `BENCH_PUSH=stream`, `BENCH_DRIVE=block_on` (the scenario runs on
//! the thread of `block_on` instead of as a spawned task, the default), `BENCH_TRANSPORT`
//! (`polling` or `websocket`), `BENCH_PORTS=k` (connection `i` of many_connections and
//! reconnect_storm goes to the url's port + i mod k), `BENCH_RECONNECT_DELAY_MS`. Built with `--features count-allocs`, a
//! counting global allocator reports the heap allocations of the window
//! (`allocs_per_ev=`); never use that build for timings.

#[path = "bench_client/measure.rs"]
mod measure;

use std::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ferrio::schema::schemars::JsonSchema;
use ferrio::{Binary, Manager, TransportKind};
use serde::{Deserialize, Serialize};
use tokio::sync::Notify;

use measure::{deadline, url_for, use_polling, Args, Done, Report, Window, BIN_SIZE};

const CLIENT: &str = "ferrio";
const TEXT: &str = "hello world";

/// `{"i":i,"text":"hello world"}`: the payload of `count`, `echo` and `push`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[schemars(crate = "ferrio::schema::schemars")]
struct Item {
    /// The sequence number.
    i: u64,
    /// Always `hello world`.
    text: String,
}

/// The `stats` ack: `{count, total, conns, bin_count, bin_bytes, transport}` (the last
/// three are the harness's later additions, so optional).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[schemars(crate = "ferrio::schema::schemars")]
struct Stats {
    /// `count` events this socket sent.
    count: u64,
    /// `count` events of every socket.
    total: u64,
    /// Connected sockets.
    conns: u64,
    /// `bin` events this socket sent.
    #[serde(default)]
    bin_count: u64,
    /// The bytes of their attachments.
    #[serde(default)]
    bin_bytes: u64,
    /// The asking socket's transport on the server: `polling` or `websocket`.
    #[serde(default)]
    transport: String,
}

/// The argument of `blast`: `{n}`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[schemars(crate = "ferrio::schema::schemars")]
struct Blast {
    /// How many `push` events the server sends.
    n: u64,
}

/// The events of the sink servers (`examples/bench_server.rs`, and the external harness's),
/// namespace `/`.
#[ferrio::socketio_events]
trait BenchEvents {
    /// Fire and forget: the server counts it for this socket.
    #[emit]
    fn count(item: Item);
    /// The server acks this socket's count, the total and the number of connections.
    #[emit]
    fn stats() -> Stats;
    /// The server sets this socket's count to 0 and acks `true`.
    #[emit]
    fn reset() -> bool;
    /// The server acks the argument.
    #[emit]
    fn echo(item: Item) -> Item;
    /// The server pushes `n` `push` events to this socket (no ack asked).
    #[emit]
    fn blast(args: Blast);
    /// Fire and forget, one binary attachment: the server counts it and its bytes.
    #[emit]
    fn bin(data: Binary);
    /// The server closes the engine.io connection of every socket (they reconnect).
    #[emit]
    fn storm_kick();
    /// One event of a blast.
    #[on]
    fn push(item: Item);
}

#[cfg(feature = "count-allocs")]
#[global_allocator]
static GLOBAL: &stats_alloc::StatsAlloc<std::alloc::System> = &stats_alloc::INSTRUMENTED_SYSTEM;

/// Allocations (including reallocations) and allocated bytes so far.
#[cfg(feature = "count-allocs")]
fn alloc_probe() -> Option<measure::AllocProbe> {
    Some(|| {
        let s = GLOBAL.stats();
        (
            (s.allocations + s.reallocations) as u64,
            (s.bytes_allocated + s.bytes_reallocated.max(0) as usize) as u64,
        )
    })
}

#[cfg(not(feature = "count-allocs"))]
fn alloc_probe() -> Option<measure::AllocProbe> {
    None
}

type Outcome = Result<(bool, Done, Option<Vec<u64>>, String), String>;

fn item(i: usize) -> Item {
    Item {
        i: i as u64,
        text: TEXT.to_owned(),
    }
}

/// A manager of its own: websocket only (long-polling only, never upgrading, with
/// `BENCH_TRANSPORT=polling`), no reconnection.
fn manager(url: &str, polling: bool) -> Result<Manager, String> {
    let transport = match polling {
        true => TransportKind::Polling,
        false => TransportKind::Websocket,
    };
    Manager::builder(url)
        .transports(&[transport])
        .upgrade(!polling)
        .reconnection(false)
        .timeout(Duration::from_secs(30))
        .build()
        .map_err(|e| format!("manager: {e}"))
}

/// Connects the namespace; resolves once the server accepted it.
async fn connect(url: &str, polling: bool) -> Result<BenchEventsSocket, String> {
    let manager = manager(url, polling)?;
    BenchEventsSocket::connect(&manager)
        .await
        .map_err(|e| format!("connect: {e}"))
}

async fn stats(bench: &BenchEventsSocket) -> Result<Stats, String> {
    bench.emit_stats().await.map_err(|e| format!("stats: {e}"))
}

/// Waits until the server answers `stats`, before the clock starts. socketioxide 0.18 sends
/// the namespace CONNECT before its (async) connect handler has registered the event
/// handlers, so an event sent right after CONNECT can be dropped: the harness's raw floor
/// client then hangs in a few percent of its `server_push` runs, sioc's `ack_latency` on
/// echo #0. One `stats` round trip, retried every 200 ms, makes the start reliable.
/// Gives the number of tries.
async fn ready(bench: &BenchEventsSocket) -> Result<u32, String> {
    let probe = bench.timeout(Duration::from_millis(200));
    for tries in 1..=50 {
        match probe.emit_stats().await {
            Ok(_) => return Ok(tries),
            Err(ferrio::Error::Timeout) => continue,
            Err(e) => return Err(format!("stats before the start: {e}")),
        }
    }
    Err("the server never answered stats".to_owned())
}

async fn emit_throughput(a: &Args) -> Outcome {
    let bench = connect(&a.url, use_polling(&a.scenario)).await?;
    let tries = ready(&bench).await?;
    let w = Window::start(alloc_probe());
    for i in 0..a.n {
        bench
            .emit_count(item(i))
            .await
            .map_err(|e| format!("emit #{i}: {e}"))?;
    }
    let mut last = stats(&bench).await?;
    let (mut polls, t1) = (1, Instant::now());
    while last.count < a.n as u64 && t1.elapsed() < Duration::from_secs(10) {
        last = stats(&bench).await?;
        polls += 1;
    }
    let d = w.stop();
    bench.socket().disconnect();
    let (got, transport) = (last.count, last.transport);
    // Over polling, the server must still see the socket on polling (no upgrade).
    let transport_ok = !use_polling(&a.scenario) || transport == "polling";
    Ok((
        got == a.n as u64 && transport_ok,
        d,
        None,
        format!("server_count={got} stats_polls={polls} transport={transport} ready_tries={tries}"),
    ))
}

async fn binary_throughput(a: &Args) -> Outcome {
    let bench = connect(&a.url, use_polling(&a.scenario)).await?;
    let tries = ready(&bench).await?;
    // One buffer, shared by every event (`Bytes` clones are reference counts).
    let data = Binary::from(vec![0xab_u8; BIN_SIZE]);
    let w = Window::start(alloc_probe());
    for i in 0..a.n {
        bench
            .emit_bin(data.clone())
            .await
            .map_err(|e| format!("bin #{i}: {e}"))?;
    }
    let mut last = stats(&bench).await?;
    let (mut polls, t1) = (1, Instant::now());
    while last.bin_count < a.n as u64 && t1.elapsed() < Duration::from_secs(10) {
        last = stats(&bench).await?;
        polls += 1;
    }
    let d = w.stop();
    bench.socket().disconnect();
    let (count, bytes) = (last.bin_count, last.bin_bytes);
    Ok((
        count == a.n as u64 && bytes == (a.n * BIN_SIZE) as u64,
        d,
        None,
        format!(
            "server_bin_count={count} server_bin_bytes={bytes} stats_polls={polls} ready_tries={tries}"
        ),
    ))
}

async fn ack_latency(a: &Args) -> Outcome {
    let bench = connect(&a.url, use_polling(&a.scenario)).await?;
    let tries = ready(&bench).await?;
    let mut lat = Vec::with_capacity(a.n);
    let mut bad = 0usize;
    let w = Window::start(alloc_probe());
    for i in 0..a.n {
        let t = Instant::now();
        let back = bench
            .emit_echo(item(i))
            .await
            .map_err(|e| format!("echo #{i}: {e}"))?;
        lat.push(t.elapsed().as_nanos() as u64);
        if back.i != i as u64 {
            bad += 1;
        }
    }
    let d = w.stop();
    bench.socket().disconnect();
    Ok((
        bad == 0,
        d,
        Some(lat),
        format!("mismatched_acks={bad} ready_tries={tries}"),
    ))
}

async fn server_push(a: &Args) -> Outcome {
    let n = a.n;
    let manager = manager(&a.url, use_polling(&a.scenario))?;
    // Built first, so the listener is in place before anything can arrive.
    let bench = BenchEventsSocket::build(&manager);
    let use_stream = std::env::var("BENCH_PUSH").is_ok_and(|v| v == "stream");
    let got = Arc::new(AtomicUsize::new(0));
    let out_of_order = Arc::new(AtomicU64::new(0));
    let all_in = Arc::new(Notify::new());
    let mut stream = None;
    if use_stream {
        stream = Some(bench.push_stream());
    } else {
        let (got, out_of_order, all_in) = (got.clone(), out_of_order.clone(), all_in.clone());
        // Listeners of a socket run one at a time, in arrival order.
        bench.on_push(move |item| {
            let k = got.fetch_add(1, Ordering::Relaxed);
            if item.i != k as u64 {
                out_of_order.fetch_add(1, Ordering::Relaxed);
            }
            if k + 1 == n {
                all_in.notify_one();
            }
            std::future::ready(())
        });
    }
    bench
        .socket()
        .connect()
        .await
        .map_err(|e| format!("connect: {e}"))?;
    let tries = ready(&bench).await?;
    let w = Window::start(alloc_probe());
    bench
        .emit_blast(Blast { n: n as u64 })
        .await
        .map_err(|e| format!("blast: {e}"))?;
    match stream.as_mut() {
        Some(stream) => {
            let mut k = 0usize;
            while k < n {
                let Some(item) = stream.next().await else {
                    return Err(format!("the push stream ended after {k}"));
                };
                if item.i != k as u64 {
                    out_of_order.fetch_add(1, Ordering::Relaxed);
                }
                k += 1;
            }
            got.store(k, Ordering::Relaxed);
        }
        None if n > 0 => {
            let waited = tokio::time::timeout(deadline(), all_in.notified()).await;
            if waited.is_err() {
                let (got, ooo) = (
                    got.load(Ordering::Relaxed),
                    out_of_order.load(Ordering::Relaxed),
                );
                return Err(format!("timeout: received {got}/{n} (out of order {ooo})"));
            }
        }
        None => {}
    }
    let d = w.stop();
    bench.socket().disconnect();
    let got = got.load(Ordering::Relaxed);
    let ooo = out_of_order.load(Ordering::Relaxed);
    Ok((
        got == n && ooo == 0,
        d,
        None,
        format!(
            "received={got} out_of_order={ooo} via={} ready_tries={tries}",
            if use_stream { "stream" } else { "listener" }
        ),
    ))
}

async fn many_connections(a: &Args) -> Outcome {
    let w = Window::start(alloc_probe());
    let mut set = tokio::task::JoinSet::new();
    let polling = use_polling(&a.scenario);
    for i in 0..a.n {
        let url = url_for(&a.url, i);
        set.spawn(async move { connect(&url, polling).await });
    }
    let mut conns = Vec::with_capacity(a.n);
    let mut errors = 0usize;
    let mut first_error = String::new();
    while let Some(joined) = set.join_next().await {
        match joined.map_err(|e| e.to_string()).and_then(|r| r) {
            Ok(bench) => conns.push(bench),
            Err(e) => {
                errors += 1;
                if first_error.is_empty() {
                    first_error = e;
                }
            }
        }
    }
    let d = w.stop();
    let server_conns = match conns.first() {
        Some(bench) => stats(bench).await?.conns,
        None => 0,
    };
    let connected = conns.len();
    for bench in &conns {
        bench.socket().disconnect();
    }
    let ok = errors == 0 && connected == a.n && server_conns >= a.n as u64;
    Ok((
        ok,
        d,
        None,
        format!("connected={connected} errors={errors} server_conns={server_conns} {first_error}"),
    ))
}

/// What the sockets of a reconnect storm count.
struct Storm {
    /// Namespace CONNECTs per socket.
    connects: Vec<AtomicU32>,
    connected: AtomicUsize,
    reconnected: AtomicUsize,
    /// The kick, once sent.
    kicked: std::sync::OnceLock<Instant>,
    /// Per socket, kick → second CONNECT (ns).
    lat: Mutex<Vec<u64>>,
    all_connected: Notify,
    all_reconnected: Notify,
}

/// A manager of a storm: websocket only, reconnection on with ferrio's default backoff, or
/// with a first delay of `BENCH_RECONNECT_DELAY_MS` (0: no backoff at all).
fn storm_manager(url: &str) -> Result<Manager, String> {
    let mut builder = Manager::builder(url)
        .transports(&[TransportKind::Websocket])
        .reconnection(true)
        .timeout(Duration::from_secs(30));
    if let Some(ms) = std::env::var("BENCH_RECONNECT_DELAY_MS")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        builder = builder.reconnection_delay(Duration::from_millis(ms));
    }
    builder.build().map_err(|e| format!("manager: {e}"))
}

async fn reconnect_storm(a: &Args) -> Outcome {
    let k = a.n;
    let storm = Arc::new(Storm {
        connects: (0..k).map(|_| AtomicU32::new(0)).collect(),
        connected: AtomicUsize::new(0),
        reconnected: AtomicUsize::new(0),
        kicked: std::sync::OnceLock::new(),
        lat: Mutex::new(Vec::with_capacity(k)),
        all_connected: Notify::new(),
        all_reconnected: Notify::new(),
    });
    let mut sockets = Vec::with_capacity(k);
    for i in 0..k {
        let bench = BenchEventsSocket::build(&storm_manager(&url_for(&a.url, i))?);
        let storm = storm.clone();
        bench.socket().on_connect(move || {
            // The first CONNECT is the initial one, the second the one after the kick.
            let (counter, all) = match storm.connects[i].fetch_add(1, Ordering::AcqRel) + 1 {
                1 => (&storm.connected, &storm.all_connected),
                2 => {
                    if let Some(kicked) = storm.kicked.get() {
                        let ns = kicked.elapsed().as_nanos() as u64;
                        storm.lat.lock().unwrap_or_else(|e| e.into_inner()).push(ns);
                    }
                    (&storm.reconnected, &storm.all_reconnected)
                }
                _ => return std::future::ready(()),
            };
            if counter.fetch_add(1, Ordering::AcqRel) + 1 == k {
                all.notify_one();
            }
            std::future::ready(())
        });
        sockets.push(bench);
    }
    let mut set = tokio::task::JoinSet::new();
    for bench in &sockets {
        let socket = bench.socket().clone();
        set.spawn(async move { socket.connect().await });
    }
    while let Some(joined) = set.join_next().await {
        joined
            .map_err(|e| e.to_string())?
            .map_err(|e| format!("initial connect: {e}"))?;
    }
    // `connect()` resolves before the connect listeners ran: wait for them too.
    if k > 0 {
        tokio::time::timeout(Duration::from_secs(60), storm.all_connected.notified())
            .await
            .map_err(|_| "the initial connect listeners did not all run".to_owned())?;
    }
    let Some(first) = sockets.first() else {
        return Err("no socket".to_owned());
    };
    let before = stats(first).await?.conns;
    let w = Window::start(alloc_probe());
    let _ = storm.kicked.set(Instant::now());
    first
        .emit_storm_kick()
        .await
        .map_err(|e| format!("storm_kick: {e}"))?;
    let waited = tokio::time::timeout(deadline(), storm.all_reconnected.notified()).await;
    let d = w.stop();
    let back = storm.reconnected.load(Ordering::Acquire);
    let after = match waited {
        Ok(()) => stats(first).await?.conns,
        Err(_) => 0,
    };
    for bench in &sockets {
        bench.socket().disconnect();
    }
    let lat = std::mem::take(&mut *storm.lat.lock().unwrap_or_else(|e| e.into_inner()));
    Ok((
        back == k,
        d,
        Some(lat),
        format!("reconnected={back} server_conns_before={before} server_conns_after={after}"),
    ))
}

/// Where the scenario runs: `task` (spawned, the default) or `block_on` (`BENCH_DRIVE`).
fn drive_name() -> &'static str {
    match std::env::var("BENCH_DRIVE").as_deref() {
        Ok("block_on") => "block_on",
        _ => "task",
    }
}

fn main() {
    let a = measure::parse_args("bench_client");
    let res = match measure::runtime() {
        Ok(rt) => rt.block_on(async {
            let args = a.clone();
            let scenario = async move {
                match args.scenario.as_str() {
                    "emit_throughput" => emit_throughput(&args).await,
                    "ack_latency" => ack_latency(&args).await,
                    "polling_emit_throughput" => emit_throughput(&args).await,
                    "server_push" => server_push(&args).await,
                    "binary_throughput" => binary_throughput(&args).await,
                    "reconnect_storm" => reconnect_storm(&args).await,
                    _ => many_connections(&args).await,
                }
            };
            // The scenario runs as a task, as application code does in a tokio service:
            // on a worker thread, where the tasks it wakes (the connection task) run next
            // on the same thread. `BENCH_DRIVE=block_on` runs it on the thread blocked in
            // `block_on` instead: every hand-off then crosses threads.
            let run = async {
                if drive_name() == "block_on" {
                    Ok(scenario.await)
                } else {
                    tokio::spawn(scenario).await
                }
            };
            match tokio::time::timeout(deadline(), run).await {
                Ok(Ok(r)) => r,
                Ok(Err(e)) => Err(format!("the scenario task failed: {e}")),
                Err(_) => Err("overall deadline exceeded".to_owned()),
            }
        }),
        Err(e) => Err(format!("runtime: {e}")),
    };
    let (ok, done, lat_ns, note) = match res {
        Ok((ok, d, lat, note)) => (ok, Some(d), lat, note),
        Err(e) => (false, None, None, format!("ERROR:{e}")),
    };
    let note = format!(
        "{note} rt={} drive={}",
        measure::runtime_name(),
        drive_name()
    );
    let report = Report {
        client: CLIENT,
        scenario: &a.scenario,
        n: a.n,
        ok,
        done,
        lat_ns,
        note,
    };
    println!("{}", report.line());
    // Do not wait for the connections' tasks to wind down.
    std::process::exit(if ok { 0 } else { 1 });
}
