//! Python ServeHTTP throughput, beside a baseline measured in the same run: a 256 MiB request body
//! streamed through the runtime's ServeHTTP bridge (`http_bridge::forward`, as the host calls it)
//! into a plugin process that echoes it, the response streamed back out, checked and counted.
//! - ours: `python/sdk_http_echo.py`, a plugin on the SDK whose `async def serve_http` writes back
//!   each chunk of `request.body`;
//! - baselines: `python/raw_http_echo.py`, the same bidi RPC on raw grpc.aio with no SDK, sending
//!   the host the same frames, as a plain async generator (`serial`: it reads the next frame only
//!   once the last echo is sent) and with a task reading ahead into a small queue (`read-ahead`:
//!   reading and sending overlap, as they do in the SDK, so the gap to it is the SDK's own cost).
//!
//! Rounds of the three rotate, so machine noise hits each alike. Goals: ours ≥ 0.9× each
//! baseline's MB/s, and the host's plus the plugin's RSS growth while streaming ≤ 32 MiB (a
//! failed memory bound fails the bench: streaming holds a few frames, never a body's worth).
//!
//! The interpreter is `MM_BENCH_PYTHON` (set by `cargo xtask bench`), else the workspace's
//! `.venv/bin/python`. Run with `cargo xtask bench` (or
//! `cargo bench -p mattermost-plugin-devhost --bench python_http`).

#[path = "../../tools/bench_figure.rs"]
mod bench_figure;
#[path = "python_support.rs"]
mod python_support;

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use bench_figure::{Better, Figure, Stats, check_plausible};
use futures_util::StreamExt;
use mattermost_plugin_api::{CallContext, PluginHooksClient};
use mattermost_plugin_devhost::backend::memory::MemoryBackend;
use mattermost_plugin_runtime::api_server::{ApiServer, ApiServerConfig, TokenRegistry};
use mattermost_plugin_runtime::http_bridge::{self, RequestInfo, ServeHttp};
use mattermost_plugin_runtime::supervisor::{CommandSpec, Supervisor, SupervisorConfig};

const MIB: u64 = 1 << 20;

/// The bound on the host's plus the plugin's RSS growth while streaming.
const RSS_BOUND: u64 = 32 * MIB;

/// Longest one transfer may take: 256 MiB at the slowest plausible rate (20 MB/s) is 13 s, so
/// past this the plugin is stuck and the bench fails rather than wait out the bridge's timeouts.
const TRANSFER_LIMIT: Duration = Duration::from_secs(120);

/// How much to measure: the full run under `cargo bench`, a smoke run under `cargo test` (which
/// runs bench targets without `--bench`) so the bench keeps working between benchmark runs.
struct Sizes {
    /// Bytes per transfer.
    size: u64,
    /// Transfers per subject before the measured ones (counted for memory, not throughput).
    warmup: usize,
    /// Measured transfers per subject.
    rounds: usize,
    /// Whether the goals and plausibility checks apply.
    checked: bool,
}

const FULL: Sizes = Sizes {
    size: 256 * MIB,
    warmup: 1,
    // 256 MiB takes about a second at the rates seen: 8 rounds keep the whole bench under 40 s
    // while a median over them rides out a noisy round or two.
    rounds: 8,
    checked: true,
};

const SMOKE: Sizes = Sizes {
    size: 4 * MIB,
    warmup: 0,
    rounds: 1,
    checked: false,
};

fn fail(message: impl std::fmt::Display) -> ! {
    eprintln!("python_http bench: {message}");
    std::process::exit(1)
}

/// VmRSS of `/proc/<pid>/status` (`self` for this process), in bytes.
fn rss(pid: &str) -> Option<u64> {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map(|kb| kb * 1024)
}

/// Peak RSS of the host (this process) and one plugin process while a transfer runs, sampled by
/// a plain thread so the sampling never waits behind the runtime's busy workers.
struct RssPeaks {
    host: Arc<AtomicU64>,
    plugin: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    thread: std::thread::JoinHandle<()>,
}

impl RssPeaks {
    fn start(plugin_pid: u32) -> RssPeaks {
        let (host, plugin) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (host, plugin, stop) = (host.clone(), plugin.clone(), stop.clone());
            let pid = plugin_pid.to_string();
            std::thread::spawn(move || {
                loop {
                    // Sampled once more after the stop flag, so the end of the transfer counts.
                    // A failed read counts as 0, which never raises a peak.
                    let last = stop.load(Ordering::Relaxed);
                    host.fetch_max(rss("self").unwrap_or(0), Ordering::Relaxed);
                    plugin.fetch_max(rss(&pid).unwrap_or(0), Ordering::Relaxed);
                    if last {
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(5));
                }
            })
        };
        RssPeaks {
            host,
            plugin,
            stop,
            thread,
        }
    }

    /// (host peak, plugin peak).
    fn finish(self) -> (u64, u64) {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.join().expect("the RSS sampler does not panic");
        (
            self.host.load(Ordering::Relaxed),
            self.plugin.load(Ordering::Relaxed),
        )
    }
}

struct Subject {
    name: &'static str,
    supervisor: Supervisor,
    hooks: PluginHooksClient,
    pid: u32,
    /// MB/s of each measured transfer.
    rates: Vec<f64>,
    /// The plugin's RSS before its first full-size transfer, and its peak over all of them.
    plugin_before: u64,
    plugin_peak: u64,
    /// The host's peak RSS over this subject's transfers.
    host_peak: u64,
}

async fn start(
    name: &'static str,
    python: &Path,
    script: &Path,
    mode: Option<&str>,
    api_target: &str,
    tokens: &TokenRegistry,
) -> Subject {
    let command = CommandSpec::new(python).arg(script).args(mode);
    let config = SupervisorConfig::new("com.example.bench", command, api_target)
        .with_tokens(Arc::new(tokens.clone()));
    let supervisor = Supervisor::start(config).await.unwrap_or_else(|e| {
        let stderr = e.stderr().map(|t| format!("\n{t}")).unwrap_or_default();
        fail(format!("starting {}: {e}{stderr}", script.display()))
    });
    let hooks = supervisor.connection().hooks_client();
    let pid = supervisor
        .pid()
        .unwrap_or_else(|| fail(format!("{name}: no process after a start")));
    Subject {
        name,
        supervisor,
        hooks,
        pid,
        rates: Vec::new(),
        plugin_before: 0,
        plugin_peak: 0,
        host_peak: 0,
    }
}

/// Byte `i` of the body is `i % 256`, so a chunk lost, repeated or reordered shows.
fn pattern() -> Bytes {
    (0..MIB).map(|i| i as u8).collect::<Vec<u8>>().into()
}

/// Whether `chunk`, found at `offset` in the echoed body, is what was sent there.
fn matches(chunk: &[u8], offset: u64, pattern: &[u8]) -> bool {
    let mut at = 0;
    while at < chunk.len() {
        let start = ((offset + at as u64) % 256) as usize;
        let n = (chunk.len() - at).min(pattern.len() - start);
        if chunk[at..at + n] != pattern[start..start + n] {
            return false;
        }
        at += n;
    }
    true
}

/// One exchange through the bridge: `size` bytes sent in 1 MiB pieces (the bridge cuts them into
/// 64 KiB frames) while the echo is read and checked as it streams back. Returns its duration.
async fn echo(subject: &Subject, size: u64, pattern: &Bytes) -> Duration {
    let body = {
        let pattern = pattern.clone();
        let pieces = futures_util::stream::iter(0..size / MIB)
            .map(move |_| Ok::<_, std::io::Error>(pattern.clone()));
        Body::from_stream(pieces)
    };
    let mut headers = http::HeaderMap::new();
    headers.insert(http::header::CONTENT_LENGTH, size.into());
    headers.insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/octet-stream"),
    );
    let info = RequestInfo {
        method: "POST".into(),
        url: "/echo".into(),
        request_uri: "/plugins/com.example.bench/echo".into(),
        version: http::Version::HTTP_11,
        headers,
        remote_addr: None,
        context: Default::default(),
    };
    let ctx = CallContext::new("bench");
    let exchange = async {
        let started = Instant::now();
        let response = http_bridge::forward::<ServeHttp, _>(&subject.hooks, &ctx, info, body).await;
        if response.status() != http::StatusCode::OK {
            fail(format!(
                "{}: the echo answered {}",
                subject.name,
                response.status()
            ));
        }
        let mut stream = response.into_body().into_data_stream();
        let mut received = 0u64;
        while let Some(chunk) = stream.next().await {
            let chunk = chunk
                .unwrap_or_else(|e| fail(format!("{}: the echo broke off: {e}", subject.name)));
            if !matches(&chunk, received, pattern) {
                fail(format!(
                    "{}: the echo differs from the body within {} bytes of byte {received}",
                    subject.name,
                    chunk.len()
                ));
            }
            received += chunk.len() as u64;
        }
        let elapsed = started.elapsed();
        if received != size {
            fail(format!(
                "{}: echoed {received} of {size} bytes",
                subject.name
            ));
        }
        elapsed
    };
    tokio::time::timeout(TRANSFER_LIMIT, exchange)
        .await
        .unwrap_or_else(|_| {
            fail(format!(
                "{}: a transfer took over {TRANSFER_LIMIT:?}",
                subject.name
            ))
        })
}

/// A full-size transfer with the RSS sampled throughout; the rate is returned when measured.
async fn transfer(subject: &mut Subject, sizes: &Sizes, pattern: &Bytes) -> f64 {
    let peaks = RssPeaks::start(subject.pid);
    let elapsed = echo(subject, sizes.size, pattern).await;
    let (host, plugin) = peaks.finish();
    subject.host_peak = subject.host_peak.max(host);
    subject.plugin_peak = subject.plugin_peak.max(plugin);
    sizes.size as f64 / 1e6 / elapsed.as_secs_f64()
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / MIB as f64
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let smoke = !std::env::args().any(|a| a == "--bench");
    let sizes = if smoke { &SMOKE } else { &FULL };
    if smoke {
        println!(
            "python_http smoke run (no --bench): {} MiB once each, so the figures mean nothing; \
             `cargo xtask bench` measures",
            sizes.size / MIB
        );
    }
    let (python, scripts) = python_support::ready(smoke, "python_http").unwrap_or_else(|e| fail(e));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let (subjects, host_before) = rt.block_on(async {
        let tokens = TokenRegistry::default();
        let api = ApiServer::start(
            Arc::new(MemoryBackend::new()),
            tokens.clone(),
            ApiServerConfig::default(),
        )
        .await
        .expect("API server");
        let target = api.addr().target();
        let (sdk, raw) = (
            scripts.join("sdk_http_echo.py"),
            scripts.join("raw_http_echo.py"),
        );
        let mut subjects = [
            start("SDK serve_http", &python, &sdk, None, &target, &tokens).await,
            start(
                "raw grpc.aio echo, serial",
                &python,
                &raw,
                Some("serial"),
                &target,
                &tokens,
            )
            .await,
            start(
                "raw grpc.aio echo, read-ahead",
                &python,
                &raw,
                Some("read-ahead"),
                &target,
                &tokens,
            )
            .await,
        ];
        let pattern = pattern();
        // A small exchange first, so memory is counted from a plugin that has served a request
        // (its handler's first-call set-up is not streaming cost).
        for subject in &subjects {
            echo(subject, MIB, &pattern).await;
        }
        let unreadable = |pid: &str| fail(format!("cannot read the VmRSS of /proc/{pid}/status"));
        let host_before = rss("self").unwrap_or_else(|| unreadable("self"));
        for subject in &mut subjects {
            let pid = subject.pid.to_string();
            subject.plugin_before = rss(&pid).unwrap_or_else(|| unreadable(&pid));
        }
        for round in 0..sizes.warmup + sizes.rounds {
            // Each round starts one subject later, so each takes every place in the order.
            let n = subjects.len();
            for i in 0..n {
                let subject = &mut subjects[(round + i) % n];
                let rate = transfer(subject, sizes, &pattern).await;
                if round >= sizes.warmup {
                    subject.rates.push(rate);
                }
            }
        }
        for subject in &subjects {
            subject.supervisor.stop().await;
        }
        api.shutdown().await;
        (subjects, host_before)
    });
    let [ours, baselines @ ..] = &subjects;

    let stats = |s: &Subject| {
        Stats::of(&s.rates).unwrap_or_else(|| fail(format!("{}: no measured rounds", s.name)))
    };
    let rounds = |s: &Subject| {
        s.rates
            .iter()
            .map(|r| format!("{r:.0}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    println!("per round (MB/s, in run order):");
    for subject in &subjects {
        println!("  {}: {}", subject.name, rounds(subject));
    }
    let figures: Vec<Figure> = baselines
        .iter()
        .map(|baseline| Figure {
            name: format!(
                "Python ServeHTTP {} MiB echo, plugin on the SDK",
                sizes.size / MIB
            ),
            baseline_name: baseline.name.into(),
            unit: "MB/s".into(),
            ours: stats(ours),
            baseline: stats(baseline),
            better: Better::Higher,
            goal_ratio: 0.9,
            note: String::new(),
        })
        .collect();
    for figure in &figures {
        figure.report();
    }
    // Growth from before the first full-size transfer to the peak over all of them: a transient
    // buffer and a leak across transfers both show. The host is one process for all subjects, so
    // its growth is counted from one sample taken before any of them.
    let growth = |s: &Subject| {
        (
            s.host_peak.saturating_sub(host_before),
            s.plugin_peak.saturating_sub(s.plugin_before),
        )
    };
    let (ours_host, ours_plugin) = growth(ours);
    let ours_total = ours_host + ours_plugin;
    println!(
        "RSS growth while streaming, {} × {} MiB per subject (peak − before the first):",
        sizes.warmup + sizes.rounds,
        sizes.size / MIB
    );
    println!(
        "  {}: host +{:.1} MiB, plugin +{:.1} MiB, together +{:.1} MiB (bound {} MiB: {})",
        ours.name,
        mib(ours_host),
        mib(ours_plugin),
        mib(ours_total),
        RSS_BOUND / MIB,
        if ours_total <= RSS_BOUND {
            "met"
        } else {
            "not met"
        },
    );
    for baseline in baselines {
        let (host, plugin) = growth(baseline);
        println!(
            "  {}: host +{:.1} MiB, plugin +{:.1} MiB",
            baseline.name,
            mib(host),
            mib(plugin)
        );
    }
    if sizes.checked {
        for figure in &figures {
            check_plausible(
                &format!("Python ServeHTTP echo, {}", figure.baseline_name),
                &figure.baseline,
                20.0,
                20_000.0,
                "MB/s",
            );
        }
        if ours_total > RSS_BOUND {
            fail(format!(
                "the host's and the SDK plugin's RSS grew by {:.1} MiB while streaming, over the {} MiB bound",
                mib(ours_total),
                RSS_BOUND / MIB
            ));
        }
    }
}
