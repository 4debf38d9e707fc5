//! The measuring side of the bench client, written anew after the external harness's common
//! measuring code (nothing of the harness is needed to build or run it): arguments, the
//! runtime flavour, the timed
//! window (wall clock, own CPU, own context switches, the server's CPU from `/proc`), peak
//! RSS, percentiles and the one `RESULT` line the harness reads.
//!
//! CPU time and context switches come from `getrusage(RUSAGE_SELF)` through `nix` (the
//! workspace forbids `unsafe`, so no raw `libc` call), i.e. every thread of the process.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use nix::sys::resource::{getrusage, UsageWho};

/// The scenarios of the harness, in its order: the four default ones, then the opt-in ones
/// (the harness's README, "Opt-in scenarios (contracts)").
pub(crate) const SCENARIOS: [&str; 7] = [
    "emit_throughput",
    "ack_latency",
    "server_push",
    "many_connections",
    "polling_emit_throughput",
    "binary_throughput",
    "reconnect_storm",
];

/// The size of the one attachment of every `bin` event (binary_throughput).
pub(crate) const BIN_SIZE: usize = 65536;

/// Whether the client uses HTTP long-polling only (never upgrading): `BENCH_TRANSPORT=polling`
/// (the harness sets it for polling_emit_throughput), or, without the variable, the scenario
/// polling_emit_throughput itself; `BENCH_TRANSPORT=websocket` or nothing: websocket only.
pub(crate) fn use_polling(scenario: &str) -> bool {
    match std::env::var("BENCH_TRANSPORT").as_deref() {
        Ok("polling") => true,
        Ok("websocket") => false,
        _ => scenario == "polling_emit_throughput",
    }
}

/// The URL of connection number `i`: `BENCH_PORTS=n` (default 1) says the server listens on
/// the url's port .. port+n-1, and connection `i` goes to port + i mod n.
pub(crate) fn url_for(base: &str, i: usize) -> String {
    let ports: usize = std::env::var("BENCH_PORTS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1);
    if ports <= 1 {
        return base.to_owned();
    }
    let base = base.trim_end_matches('/');
    match base.rsplit_once(':') {
        Some((host, port)) => match port.parse::<usize>() {
            Ok(port) => format!("{host}:{}", port + i % ports),
            Err(_) => base.to_owned(),
        },
        None => base.to_owned(),
    }
}

/// `<url> <scenario> <n>`.
#[derive(Debug, Clone)]
pub(crate) struct Args {
    pub(crate) url: String,
    pub(crate) scenario: String,
    pub(crate) n: usize,
}

/// Reads the command line; prints the usage and exits with 2 when it is wrong.
pub(crate) fn parse_args(client: &str) -> Args {
    let a: Vec<String> = std::env::args().collect();
    let n = a.get(3).and_then(|n| n.parse().ok());
    match (a.get(1), a.get(2), n) {
        (Some(url), Some(scenario), Some(n)) if SCENARIOS.contains(&scenario.as_str()) => Args {
            url: url.trim_end_matches('/').to_owned(),
            scenario: scenario.clone(),
            n,
        },
        _ => {
            eprintln!(
                "usage: {client} <server-url e.g. http://127.0.0.1:3000> <{}> <n>",
                SCENARIOS.join("|")
            );
            std::process::exit(2);
        }
    }
}

/// The tokio runtime: multi-thread (one worker per core) unless `BENCH_RT=current_thread`.
pub(crate) fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    let mut builder = match std::env::var("BENCH_RT").as_deref() {
        Ok("current_thread") => tokio::runtime::Builder::new_current_thread(),
        _ => tokio::runtime::Builder::new_multi_thread(),
    };
    builder.enable_all().build()
}

/// The flavour actually used, for the note.
pub(crate) fn runtime_name() -> &'static str {
    match std::env::var("BENCH_RT").as_deref() {
        Ok("current_thread") => "current_thread",
        _ => "multi_thread",
    }
}

/// The overall deadline of one run: `BENCH_TIMEOUT` seconds, 120 by default.
pub(crate) fn deadline() -> Duration {
    Duration::from_secs(
        std::env::var("BENCH_TIMEOUT")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(120),
    )
}

/// user+sys CPU time of this process (all threads) in µs, and its voluntary + involuntary
/// context switches.
fn own_usage() -> (u64, u64) {
    match getrusage(UsageWho::RUSAGE_SELF) {
        Ok(usage) => {
            let us =
                |t: nix::sys::time::TimeVal| t.tv_sec() as u64 * 1_000_000 + t.tv_usec() as u64;
            let cpu = us(usage.user_time()) + us(usage.system_time());
            let csw = usage.voluntary_context_switches() + usage.involuntary_context_switches();
            (cpu, csw as u64)
        }
        Err(_) => (0, 0),
    }
}

/// Peak resident set size of this process (VmHWM) in KiB.
pub(crate) fn vm_hwm_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

/// Clock ticks per second of `/proc/<pid>/stat` (USER_HZ).
fn clk_tck() -> f64 {
    match nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK) {
        Ok(Some(t)) if t > 0 => t as f64,
        _ => 100.0,
    }
}

/// utime + stime (clock ticks) of a `/proc/.../stat` file.
fn stat_ticks(path: &str) -> Option<u64> {
    let s = std::fs::read_to_string(path).ok()?;
    let rest = s.get(s.rfind(')')? + 2..)?;
    let f: Vec<&str> = rest.split(' ').collect();
    Some(f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?)
}

/// The server's CPU at one instant: the whole process and each thread (ticks).
struct ServerSnapshot {
    total: u64,
    threads: HashMap<String, u64>,
}

fn server_snapshot() -> Option<ServerSnapshot> {
    let pid: u32 = std::env::var("BENCH_SERVER_PID").ok()?.parse().ok()?;
    let total = stat_ticks(&format!("/proc/{pid}/stat"))?;
    let mut threads = HashMap::new();
    if let Ok(dir) = std::fs::read_dir(format!("/proc/{pid}/task")) {
        for entry in dir.flatten() {
            let tid = entry.file_name().to_string_lossy().into_owned();
            if let Some(t) = stat_ticks(&format!("/proc/{pid}/task/{tid}/stat")) {
                threads.insert(tid, t);
            }
        }
    }
    Some(ServerSnapshot { total, threads })
}

/// Heap allocations so far (count, bytes), when built with `--features count-allocs`.
pub(crate) type AllocProbe = fn() -> (u64, u64);

/// A timed window: wall clock, own CPU, own context switches, server CPU, allocations.
pub(crate) struct Window {
    t0: Instant,
    cpu0: u64,
    csw0: u64,
    server0: Option<ServerSnapshot>,
    allocs0: Option<(u64, u64)>,
    probe: Option<AllocProbe>,
}

/// What a window measured.
pub(crate) struct Done {
    pub(crate) secs: f64,
    pub(crate) cpu_us: u64,
    pub(crate) csw: u64,
    /// (server CPU ms, server util, busiest server thread util)
    pub(crate) server: Option<(f64, f64, f64)>,
    /// (allocations, bytes) during the window
    pub(crate) allocs: Option<(u64, u64)>,
}

impl Window {
    /// Starts the clock (the server's CPU is read first, our own CPU last).
    pub(crate) fn start(probe: Option<AllocProbe>) -> Self {
        let server0 = server_snapshot();
        let allocs0 = probe.map(|p| p());
        let (cpu0, csw0) = own_usage();
        Window {
            t0: Instant::now(),
            cpu0,
            csw0,
            server0,
            allocs0,
            probe,
        }
    }

    /// Stops the clock.
    pub(crate) fn stop(self) -> Done {
        let secs = self.t0.elapsed().as_secs_f64();
        let (cpu, csw) = own_usage();
        let allocs = match (self.allocs0, self.probe) {
            (Some((n0, b0)), Some(p)) => {
                let (n1, b1) = p();
                Some((n1.saturating_sub(n0), b1.saturating_sub(b0)))
            }
            _ => None,
        };
        let server = match (self.server0, server_snapshot()) {
            (Some(a), Some(b)) => {
                let tck = clk_tck();
                let total = b.total.saturating_sub(a.total) as f64 / tck;
                let top = b
                    .threads
                    .iter()
                    .map(|(tid, t)| t.saturating_sub(a.threads.get(tid).copied().unwrap_or(0)))
                    .max()
                    .unwrap_or(0) as f64
                    / tck;
                Some((total * 1000.0, total / secs, top / secs))
            }
            _ => None,
        };
        Done {
            secs,
            cpu_us: cpu.saturating_sub(self.cpu0),
            csw: csw.saturating_sub(self.csw0),
            server,
            allocs,
        }
    }
}

/// Nearest-rank percentile of sorted nanoseconds, in µs.
pub(crate) fn pct_us(sorted_ns: &[u64], p: f64) -> f64 {
    if sorted_ns.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted_ns.len() as f64).ceil() as usize;
    sorted_ns[rank.clamp(1, sorted_ns.len()) - 1] as f64 / 1000.0
}

/// The outcome of one run, printed as the `RESULT` line.
pub(crate) struct Report<'a> {
    pub(crate) client: &'a str,
    pub(crate) scenario: &'a str,
    pub(crate) n: usize,
    pub(crate) ok: bool,
    pub(crate) done: Option<Done>,
    pub(crate) lat_ns: Option<Vec<u64>>,
    pub(crate) note: String,
}

impl Report<'_> {
    /// The line, with the fields (and their order) of the harness's other clients, plus
    /// `allocs_per_ev` when allocations were counted.
    pub(crate) fn line(mut self) -> String {
        let f = |v: f64, d: usize| {
            if v.is_finite() {
                format!("{v:.d$}")
            } else {
                "-".to_owned()
            }
        };
        let n = self.n.max(1) as f64;
        let (secs, rate, cpu_ms, cpu_per) = match &self.done {
            Some(d) => (
                f(d.secs, 4),
                f(self.n as f64 / d.secs, 0),
                f(d.cpu_us as f64 / 1000.0, 1),
                f(d.cpu_us as f64 / n, 2),
            ),
            None => ("-".into(), "-".into(), "-".into(), "-".into()),
        };
        let (p50, p99) = match self.lat_ns.as_mut() {
            Some(v) if !v.is_empty() => {
                v.sort_unstable();
                (f(pct_us(v, 50.0), 1), f(pct_us(v, 99.0), 1))
            }
            _ => ("-".into(), "-".into()),
        };
        let (srv_ms, srv_util, srv_top) = match self.done.as_ref().and_then(|d| d.server) {
            Some((a, b, c)) => (f(a, 0), f(b, 2), f(c, 2)),
            None => ("-".into(), "-".into(), "-".into()),
        };
        let csw = self
            .done
            .as_ref()
            .map_or_else(|| "-".to_owned(), |d| d.csw.to_string());
        let allocs = match self.done.as_ref().and_then(|d| d.allocs) {
            Some((count, bytes)) => format!(
                " allocs={count} allocs_per_ev={} alloc_bytes_per_ev={}",
                f(count as f64 / n, 2),
                f(bytes as f64 / n, 0)
            ),
            None => String::new(),
        };
        let note = if self.note.is_empty() {
            "-".to_owned()
        } else {
            self.note.replace(char::is_whitespace, "_")
        };
        format!(
            "RESULT client={} scenario={} n={} ok={} secs={secs} rate={rate} p50_us={p50} \
             p99_us={p99} cpu_ms={cpu_ms} cpu_us_per_ev={cpu_per} rss_kb={} srv_cpu_ms={srv_ms} \
             srv_util={srv_util} srv_top_thread_util={srv_top} csw={csw}{allocs} note={note}",
            self.client,
            self.scenario,
            self.n,
            self.ok,
            vm_hwm_kb(),
        )
    }
}
