//! `mm-fake-plugin`: a configurable fake Mattermost plugin speaking go-plugin's gRPC flavour, for
//! the supervisor tests.
//!
//! It checks the magic cookie, serves `grpc.health.v1.Health` (service `plugin` SERVING) and
//! `plugin.GRPCController/Shutdown` on a Unix socket (or loopback TCP), and prints the handshake.
//! Like a real plugin it refuses calls without the host's `MM_PLUGIN_HOOK_TOKEN` (when set) and
//! puts its socket in `MM_PLUGIN_SOCKET_DIR` (when set).
//!
//! Environment:
//! - `FAKE_MODE`: `normal` (default) | `slow_start` (sleeps `FAKE_DELAY_MS` before the handshake)
//!   | `noise` (stdout lines before the handshake) | `malformed` | `bad_core_version` |
//!   `bad_app_version` | `bad_protocol` (handshake variants) | `crash_at_start` |
//!   `crash_after:<ms>` | `hang_after:<ms>` (health calls never answered from then on, process
//!   stays) | `not_serving_after:<ms>` (health answers NOT_SERVING) | `ignore_sigterm` (ignores
//!   SIGTERM, and Shutdown is answered but not obeyed);
//! - `FAKE_DELAY_MS`: the `slow_start` delay (default 1000);
//! - `FAKE_ONCE_FILE`: if set, `FAKE_MODE` applies only when this file does not exist yet (it is
//!   created); later starts use `FAKE_LATER_MODE` (default `normal`) — e.g. "misbehave once,
//!   then recover after a restart";
//! - `FAKE_RECORD_FILE`: a line `pid=… token=… plugin_id=… api_addr=… versions=… hook_token=…
//!   socket_dir=…` is appended per start (plus `grandchild=…` lines), so tests can check the
//!   environment and the cleanup;
//! - `FAKE_NETWORK`: `unix` (default) or `tcp`;
//! - `FAKE_SOCKET_DIR`: where the socket goes (default: `MM_PLUGIN_SOCKET_DIR`, else a fresh
//!   directory under the temp dir, removed on a clean exit);
//! - `FAKE_GRANDCHILD=1`: also starts a `sleep 300` child in the same process group.
#![cfg_attr(test, allow(dead_code, unused_imports))]

use std::convert::Infallible;
use std::io::Write;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use mattermost_plugin_api::protocol::{
    CONTROLLER_SERVICE, ENV_API_ADDR, ENV_API_TOKEN, ENV_HOOK_TOKEN, ENV_PLUGIN_ID,
    ENV_PROTOCOL_VERSIONS, ENV_SOCKET_DIR, HEALTH_SERVICE, MAGIC_COOKIE_KEY as COOKIE_KEY,
    MAGIC_COOKIE_VALUE as COOKIE_VALUE, SHUTDOWN_PATH,
};
use mattermost_plugin_runtime::plugin_side::HookTokenLayer;
use tokio::net::{TcpListener, UnixListener};
use tokio::sync::Notify;
use tokio_stream::wrappers::{TcpListenerStream, UnixListenerStream};
use tonic::body::Body;
use tonic::codegen::http;
use tonic::server::NamedService;
use tonic_health::ServingStatus;

/// `eprintln!`/`println!` that ignore write errors: once the host is gone the pipes are broken,
/// and a panic there would keep the fake from shutting down.
macro_rules! say_err {
    ($($arg:tt)*) => {{
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}
macro_rules! say_out {
    ($($arg:tt)*) => {{
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, $($arg)*);
        let _ = out.flush();
    }};
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Normal,
    SlowStart,
    Noise,
    Malformed,
    BadCoreVersion,
    BadAppVersion,
    BadProtocol,
    CrashAtStart,
    CrashAfter(u64),
    HangAfter(u64),
    NotServingAfter(u64),
    IgnoreSigterm,
}

fn parse_mode(text: &str) -> Mode {
    let (name, arg) = match text.split_once(':') {
        Some((name, arg)) => (name, arg.parse::<u64>().ok()),
        None => (text, None),
    };
    let ms = || arg.unwrap_or_else(|| fail(&format!("FAKE_MODE={text}: needs :<ms>")));
    match name {
        "" | "normal" => Mode::Normal,
        "slow_start" => Mode::SlowStart,
        "noise" => Mode::Noise,
        "malformed" => Mode::Malformed,
        "bad_version" | "bad_core_version" => Mode::BadCoreVersion,
        "bad_app_version" => Mode::BadAppVersion,
        "bad_protocol" => Mode::BadProtocol,
        "crash_at_start" => Mode::CrashAtStart,
        "crash_after" => Mode::CrashAfter(ms()),
        "hang_after" => Mode::HangAfter(ms()),
        "not_serving_after" => Mode::NotServingAfter(ms()),
        "ignore_sigterm" => Mode::IgnoreSigterm,
        other => fail(&format!("unknown FAKE_MODE {other:?}")),
    }
}

fn fail(message: &str) -> ! {
    say_err!("mm-fake-plugin: {message}");
    std::process::exit(64)
}

fn env(key: &str) -> Option<String> {
    std::env::var(key).ok().filter(|v| !v.is_empty())
}

fn record(line: &str) {
    if let Some(path) = env("FAKE_RECORD_FILE") {
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .unwrap_or_else(|e| fail(&format!("cannot open {path}: {e}")));
        file.write_all(format!("{line}\n").as_bytes())
            .unwrap_or_else(|e| fail(&format!("cannot write {path}: {e}")));
    }
}

fn main() {
    if std::env::var(COOKIE_KEY).as_deref() != Ok(COOKIE_VALUE) {
        say_err!(
            "This binary is a plugin. These are not meant to be executed directly. \
             Please execute the program that consumes these plugins, which will load any \
             plugins automatically ({COOKIE_KEY} magic cookie missing)"
        );
        std::process::exit(1);
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| fail(&format!("runtime: {e}")));
    runtime.block_on(run());
}

async fn run() {
    let pid = std::process::id();
    record(&format!(
        "pid={pid} token={} plugin_id={} api_addr={} versions={} hook_token={} socket_dir={}",
        env(ENV_API_TOKEN).unwrap_or_default(),
        env(ENV_PLUGIN_ID).unwrap_or_default(),
        env(ENV_API_ADDR).unwrap_or_default(),
        env(ENV_PROTOCOL_VERSIONS).unwrap_or_default(),
        env(ENV_HOOK_TOKEN).unwrap_or_default(),
        env(ENV_SOCKET_DIR).unwrap_or_default(),
    ));

    let mut mode = parse_mode(&env("FAKE_MODE").unwrap_or_default());
    if let Some(once) = env("FAKE_ONCE_FILE") {
        if std::path::Path::new(&once).exists() {
            mode = parse_mode(&env("FAKE_LATER_MODE").unwrap_or_default());
        } else {
            std::fs::write(&once, format!("{pid}\n"))
                .unwrap_or_else(|e| fail(&format!("cannot create {once}: {e}")));
        }
    }

    if env("FAKE_GRANDCHILD").as_deref() == Some("1") {
        let child = std::process::Command::new("sleep")
            .arg("300")
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap_or_else(|e| fail(&format!("cannot start grandchild: {e}")));
        record(&format!("grandchild={}", child.id()));
        // Never waited for: cleaning up the group is the supervisor's job.
        drop(child);
    }

    match mode {
        Mode::CrashAtStart => {
            say_err!("fake plugin: crashing at start as asked (FAKE_MODE=crash_at_start)");
            std::process::exit(3);
        }
        Mode::SlowStart => {
            let delay: u64 = env("FAKE_DELAY_MS")
                .and_then(|v| v.parse().ok())
                .unwrap_or(1000);
            say_err!("fake plugin: slow start, {delay} ms");
            tokio::time::sleep(Duration::from_millis(delay)).await;
        }
        Mode::Noise => {
            say_out!("fake plugin starting up, pid {pid}");
            say_out!("some library printed this to stdout");
            say_out!("a|b|c (pipes, but not a handshake)");
        }
        Mode::IgnoreSigterm => {
            // SAFETY: setting a signal disposition at startup, before any other thread matters.
            unsafe {
                libc::signal(libc::SIGTERM, libc::SIG_IGN);
            }
        }
        _ => {}
    }

    // The gRPC services.
    let (reporter, health) = tonic_health::server::health_reporter();
    reporter
        .set_service_status(HEALTH_SERVICE, ServingStatus::Serving)
        .await;
    let hung = Arc::new(AtomicBool::new(false));
    let shutdown = Arc::new(Notify::new());
    let controller = Controller {
        shutdown: shutdown.clone(),
        obey: mode != Mode::IgnoreSigterm,
    };
    // An immediate hang applies from the first call (the host checks health right after the handshake).
    if mode == Mode::HangAfter(0) {
        hung.store(true, Ordering::SeqCst);
    }
    let router = tonic::transport::Server::builder()
        .layer(HookTokenLayer::new(env(ENV_HOOK_TOKEN)))
        .add_service(HangGate {
            inner: health,
            hung: hung.clone(),
        })
        .add_service(controller);

    // Listen, then announce.
    let given_dir = env("FAKE_SOCKET_DIR").or_else(|| env(ENV_SOCKET_DIR));
    let socket_dir = match &given_dir {
        Some(dir) => PathBuf::from(dir),
        None => std::env::temp_dir().join(format!("mm-fake-plugin-{pid}")),
    };
    let tcp = env("FAKE_NETWORK").as_deref() == Some("tcp");
    let (network, address, incoming) = if tcp {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap_or_else(|e| fail(&format!("bind tcp: {e}")));
        let addr = listener.local_addr().expect("local addr");
        (
            "tcp",
            addr.to_string(),
            Incoming::Tcp(TcpListenerStream::new(listener)),
        )
    } else {
        std::fs::create_dir_all(&socket_dir)
            .unwrap_or_else(|e| fail(&format!("mkdir {}: {e}", socket_dir.display())));
        let path = socket_dir.join(format!("plugin-{pid}.sock"));
        let _ = std::fs::remove_file(&path);
        let listener = UnixListener::bind(&path)
            .unwrap_or_else(|e| fail(&format!("bind {}: {e}", path.display())));
        (
            "unix",
            path.display().to_string(),
            Incoming::Unix(UnixListenerStream::new(listener)),
        )
    };
    let handshake = match mode {
        Mode::Malformed => format!("1|1|{network}"),
        Mode::BadCoreVersion => format!("2|1|{network}|{address}|grpc"),
        Mode::BadAppVersion => format!("1|7|{network}|{address}|grpc"),
        Mode::BadProtocol => format!("1|1|{network}|{address}|netrpc"),
        _ => format!("1|1|{network}|{address}|grpc"),
    };
    {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{handshake}");
        let _ = out.flush();
    }
    say_out!("fake plugin: serving on {address}");
    say_err!(
        r#"{{"@level":"warn","@message":"fake plugin warning","@module":"fake","@timestamp":"2024-01-01T00:00:00.000Z","answer":42}}"#
    );
    say_err!("fake plugin: plain stderr line");

    // Scheduled misbehaviour.
    match mode {
        Mode::CrashAfter(ms) => {
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_millis(ms)).await;
                say_err!("fake plugin: crashing after {ms} ms as asked");
                std::process::exit(2);
            });
        }
        Mode::HangAfter(ms) => {
            let hung = hung.clone();
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_millis(ms)).await;
                say_err!("fake plugin: no longer answering health checks");
                hung.store(true, Ordering::SeqCst);
            });
        }
        Mode::NotServingAfter(ms) => {
            let reporter = reporter.clone();
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_millis(ms)).await;
                say_err!("fake plugin: reporting NOT_SERVING");
                reporter
                    .set_service_status(HEALTH_SERVICE, ServingStatus::NotServing)
                    .await;
            });
        }
        _ => {}
    }
    if mode != Mode::IgnoreSigterm {
        let shutdown = shutdown.clone();
        tokio::spawn(async move {
            if let Ok(mut term) =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            {
                term.recv().await;
                say_err!("fake plugin: SIGTERM, exiting");
                shutdown.notify_one();
            }
        });
    }

    let stop = {
        let shutdown = shutdown.clone();
        async move {
            shutdown.notified().await;
            // Exit even if a hung call keeps the graceful shutdown waiting.
            tokio::spawn(async {
                tokio::time::sleep(Duration::from_secs(1)).await;
                std::process::exit(0);
            });
        }
    };
    let served = match incoming {
        Incoming::Unix(incoming) => router.serve_with_incoming_shutdown(incoming, stop).await,
        Incoming::Tcp(incoming) => router.serve_with_incoming_shutdown(incoming, stop).await,
    };
    if !tcp && given_dir.is_none() {
        let _ = std::fs::remove_dir_all(&socket_dir);
    }
    if let Err(e) = served {
        fail(&format!("serve: {e}"));
    }
    say_err!("fake plugin: exiting cleanly");
    std::process::exit(0);
}

enum Incoming {
    Unix(UnixListenerStream),
    Tcp(TcpListenerStream),
}

type BoxFuture<T> = Pin<Box<dyn std::future::Future<Output = Result<T, Infallible>> + Send>>;

/// Wraps the health service: once `hung` is set, calls are never answered.
#[derive(Clone)]
struct HangGate<S> {
    inner: S,
    hung: Arc<AtomicBool>,
}

impl<S: NamedService> NamedService for HangGate<S> {
    const NAME: &'static str = S::NAME;
}

impl<S> tower::Service<http::Request<Body>> for HangGate<S>
where
    S: tower::Service<http::Request<Body>, Response = http::Response<Body>, Error = Infallible>,
    S::Future: Send + 'static,
{
    type Response = http::Response<Body>;
    type Error = Infallible;
    type Future = BoxFuture<http::Response<Body>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<Body>) -> Self::Future {
        if self.hung.load(Ordering::SeqCst) {
            Box::pin(std::future::pending())
        } else {
            Box::pin(self.inner.call(request))
        }
    }
}

/// go-plugin's `plugin.GRPCController`: `Shutdown(Empty) returns (Empty)`.
#[derive(Clone)]
struct Controller {
    shutdown: Arc<Notify>,
    /// `false`: answer Shutdown but keep running (a stuck plugin).
    obey: bool,
}

impl NamedService for Controller {
    const NAME: &'static str = CONTROLLER_SERVICE;
}

struct ShutdownCall(Controller);

impl tonic::server::UnaryService<()> for ShutdownCall {
    type Response = ();
    type Future = Pin<
        Box<dyn std::future::Future<Output = Result<tonic::Response<()>, tonic::Status>> + Send>,
    >;

    fn call(&mut self, _request: tonic::Request<()>) -> Self::Future {
        let controller = self.0.clone();
        Box::pin(async move {
            if controller.obey {
                say_err!("fake plugin: Shutdown requested");
                controller.shutdown.notify_one();
            } else {
                say_err!("fake plugin: Shutdown requested, ignoring it");
            }
            Ok(tonic::Response::new(()))
        })
    }
}

impl tower::Service<http::Request<Body>> for Controller {
    type Response = http::Response<Body>;
    type Error = Infallible;
    type Future = BoxFuture<http::Response<Body>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<Body>) -> Self::Future {
        let controller = self.clone();
        Box::pin(async move {
            if request.uri().path() == SHUTDOWN_PATH {
                let mut grpc =
                    tonic::server::Grpc::new(tonic_prost::ProstCodec::<(), ()>::default());
                Ok(grpc.unary(ShutdownCall(controller), request).await)
            } else {
                Ok(tonic::Status::unimplemented("unknown method").into_http())
            }
        })
    }
}
