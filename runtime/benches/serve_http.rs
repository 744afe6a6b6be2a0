//! Runtime figures, each beside a baseline measured in the same run:
//! - ServeHTTP: a 256 MiB body echoed through the host to the Rust test plugin and back (MB/s,
//!   and the host's peak RSS growth), against the same exchange with an in-process axum echo;
//! - cold start of a plugin: spawn → handshake → healthy → OnActivate done, against spawning the
//!   same executable and waiting for it to exit (it refuses to run without the host's cookie).
//!
//! Run with `cargo xtask bench` (or `cargo bench -p mattermost-plugin-runtime --bench serve_http`).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::State;
use axum::http::Request;
use mattermost_plugin_api::{CallContext, PluginApi, PluginHooks, PluginHooksClient};
use mattermost_plugin_runtime::api_server::{ApiServer, ApiServerConfig, TokenRegistry};
use mattermost_plugin_runtime::http_bridge::{self, RequestInfo, ServeHttp};
use mattermost_plugin_runtime::supervisor::{CommandSpec, Supervisor, SupervisorConfig};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};

const SIZE: u64 = 256 << 20;

/// Just enough API for the test plugin's OnActivate.
struct NoApi;

impl PluginApi for NoApi {
    async fn get_server_version(
        &self,
        _ctx: &CallContext,
    ) -> Result<String, mattermost_plugin_api::ApiError> {
        Ok("bench".into())
    }

    async fn log_info(
        &self,
        _ctx: &CallContext,
        _msg: String,
        _key_value_pairs: Vec<mattermost_plugin_api::pb::AnyValue>,
    ) -> Result<(), mattermost_plugin_api::ApiError> {
        Ok(())
    }

    // The echo plugin registers its /echo command in OnActivate.
    async fn register_command(
        &self,
        _ctx: &CallContext,
        _command: Option<mattermost_plugin_api::pb::Command>,
    ) -> Result<(), mattermost_plugin_api::ApiError> {
        Ok(())
    }
}

fn echo_plugin() -> std::path::PathBuf {
    // Benches run from target/<profile>/deps; the bins sit one level up.
    let exe = std::env::current_exe().expect("current exe");
    exe.parent()
        .and_then(|d| d.parent())
        .expect("target dir")
        .join("mm-echo-plugin")
}

fn rss() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

async fn bridge(
    State(hooks): State<PluginHooksClient>,
    request: Request<Body>,
) -> axum::response::Response {
    let (parts, body) = request.into_parts();
    let info = RequestInfo {
        method: parts.method.to_string(),
        url: "/echo".into(),
        request_uri: parts.uri.to_string(),
        version: parts.version,
        headers: parts.headers,
        remote_addr: None,
        context: Default::default(),
    };
    http_bridge::forward::<ServeHttp, _>(&hooks, &CallContext::new("echo"), info, body).await
}

/// The baseline: an in-process handler returning the request body as the response body.
async fn direct_echo(request: Request<Body>) -> axum::response::Response {
    axum::response::Response::new(Body::from_stream(request.into_body().into_data_stream()))
}

async fn serve(app: axum::Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await.expect("serve") });
    addr
}

/// Sends SIZE bytes and reads the chunked echo concurrently; returns (seconds, peak RSS growth).
async fn echo_once(addr: SocketAddr, path: &str) -> (f64, u64) {
    let baseline = rss();
    let peak = Arc::new(AtomicU64::new(baseline));
    let sampler = {
        let peak = peak.clone();
        tokio::spawn(async move {
            loop {
                peak.fetch_max(rss(), Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
    };
    let start = Instant::now();
    let stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let (read, mut write) = stream.into_split();
    let header = format!(
        "POST {path} HTTP/1.1\r\nHost: bench\r\nContent-Length: {SIZE}\r\nConnection: close\r\n\r\n"
    );
    let writer = tokio::spawn(async move {
        write.write_all(header.as_bytes()).await.expect("write");
        let block = vec![7u8; 1 << 20];
        for _ in 0..(SIZE >> 20) {
            write.write_all(&block).await.expect("write");
        }
        write
    });
    let mut reader = BufReader::with_capacity(1 << 16, read);
    let mut line = String::new();
    loop {
        line.clear();
        reader.read_line(&mut line).await.expect("head");
        if line.trim_end().is_empty() {
            break;
        }
    }
    let mut received = 0u64;
    let mut buf = vec![0u8; 1 << 16];
    loop {
        line.clear();
        reader.read_line(&mut line).await.expect("chunk size");
        let size = usize::from_str_radix(line.trim(), 16).expect("chunked");
        if size == 0 {
            break;
        }
        let mut left = size + 2;
        while left > 0 {
            let n = reader
                .read(&mut buf[..left.min(1 << 16)])
                .await
                .expect("chunk");
            assert!(n > 0, "connection closed early");
            left -= n;
        }
        received += size as u64;
    }
    drop(writer.await.expect("writer"));
    let seconds = start.elapsed().as_secs_f64();
    sampler.abort();
    assert_eq!(received, SIZE);
    (
        seconds,
        peak.load(Ordering::Relaxed).saturating_sub(baseline),
    )
}

async fn cold_start(tokens: &TokenRegistry, api_target: &str) -> Duration {
    let start = Instant::now();
    let config = SupervisorConfig::new("bench", CommandSpec::new(echo_plugin()), api_target)
        .with_tokens(Arc::new(tokens.clone()));
    let supervisor = Supervisor::start(config).await.expect("plugin starts");
    let hooks = supervisor.connection().hooks_client();
    hooks
        .on_activate(&CallContext::new("bench"))
        .await
        .expect("OnActivate");
    let elapsed = start.elapsed();
    supervisor.stop().await;
    elapsed
}

async fn bare_spawn() -> Duration {
    let start = Instant::now();
    let status = tokio::process::Command::new(echo_plugin())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .await
        .expect("spawn");
    assert!(
        !status.success(),
        "without the cookie the plugin refuses to run"
    );
    start.elapsed()
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let tokens = TokenRegistry::default();
        let api = ApiServer::start(Arc::new(NoApi), tokens.clone(), ApiServerConfig::default()).await.expect("api");
        let config = SupervisorConfig::new("echo", CommandSpec::new(echo_plugin()), api.addr().target()).with_tokens(Arc::new(tokens.clone()));
        let supervisor = Supervisor::start(config).await.expect("plugin starts");
        let hooks = supervisor.connection().hooks_client();
        let bridged = serve(axum::Router::new().route("/echo", axum::routing::post(bridge)).with_state(hooks)).await;
        let direct = serve(axum::Router::new().route("/echo", axum::routing::post(direct_echo))).await;

        // Warm up both paths once, then alternate so machine noise hits both alike.
        echo_once(bridged, "/echo").await;
        echo_once(direct, "/echo").await;
        let (mut t_bridge, mut t_direct, mut rss_bridge, mut rss_direct) = (0.0, 0.0, 0u64, 0u64);
        let rounds = 3;
        for _ in 0..rounds {
            let (t, r) = echo_once(bridged, "/echo").await;
            t_bridge += t;
            rss_bridge = rss_bridge.max(r);
            let (t, r) = echo_once(direct, "/echo").await;
            t_direct += t;
            rss_direct = rss_direct.max(r);
        }
        let mbps = |t: f64| (SIZE as f64 / (1 << 20) as f64) * f64::from(rounds) / t;
        println!(
            "ServeHTTP 256 MiB echo: through the plugin {:.0} MiB/s (peak RSS +{} MiB); in-process axum echo {:.0} MiB/s (peak RSS +{} MiB); ratio {:.2}",
            mbps(t_bridge),
            rss_bridge >> 20,
            mbps(t_direct),
            rss_direct >> 20,
            t_bridge / t_direct
        );
        supervisor.stop().await;

        let (mut cold, mut bare) = (Duration::ZERO, Duration::ZERO);
        let starts = 5;
        for _ in 0..starts {
            cold += cold_start(&tokens, &api.addr().target()).await;
            bare += bare_spawn().await;
        }
        println!(
            "cold start (spawn → handshake → healthy → OnActivate): {:.1} ms; bare spawn and exit of the same binary: {:.1} ms",
            cold.as_secs_f64() * 1000.0 / f64::from(starts),
            bare.as_secs_f64() * 1000.0 / f64::from(starts)
        );
    });
}
