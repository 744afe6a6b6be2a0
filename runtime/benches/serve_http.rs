//! Runtime figures, each beside a baseline measured in the same run:
//! - ServeHTTP: a 256 MiB body echoed through the host's bridge to the Rust test plugin and back
//!   (MiB/s per round), against the same HTTP exchange forwarded as the same 64 KiB frames over a
//!   raw tonic bidi stream to a raw tonic echo in another process (this bench, re-run), rounds
//!   rotating (an in-process axum echo is printed for scale); goal 0.9×; the host's peak RSS
//!   growth is checked against 32 MiB;
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
use futures_util::StreamExt;
use mattermost_plugin_api::pb;
use mattermost_plugin_api::{CallContext, PluginApi, PluginHooks, PluginHooksClient};
use mattermost_plugin_runtime::api_server::{ApiServer, ApiServerConfig, TokenRegistry};
use mattermost_plugin_runtime::http_bridge::{self, RequestInfo, ServeHttp};
use mattermost_plugin_runtime::supervisor::{CommandSpec, Supervisor, SupervisorConfig};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};

#[path = "../../tools/bench_figure.rs"]
mod bench_figure;

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

/// Set (to a socket path) in the child that serves the raw baseline.
const RAW_ECHO_ENV: &str = "MM_SERVE_HTTP_BENCH_RAW_ECHO";
const RAW_ECHO_PATH: &str = "/bench.RawHttpEcho/ServeHTTP";
/// The bridge's frame size, which the raw baseline uses too.
const FRAME: usize = 64 << 10;

/// The baseline's plugin: tonic's own streaming machinery answering each ServeHTTP frame with one
/// response frame of the same bytes (the head with the first), with no trait or bridge between.
#[derive(Clone)]
struct RawHttpEcho;

impl tonic::server::NamedService for RawHttpEcho {
    const NAME: &'static str = "bench.RawHttpEcho";
}

struct RawEchoFrames;

impl tonic::server::StreamingService<pb::ServeHttpRequest> for RawEchoFrames {
    type Response = pb::ServeHttpResponse;
    type ResponseStream =
        futures_util::stream::BoxStream<'static, Result<pb::ServeHttpResponse, tonic::Status>>;
    type Future = std::future::Ready<Result<tonic::Response<Self::ResponseStream>, tonic::Status>>;

    fn call(
        &mut self,
        request: tonic::Request<tonic::Streaming<pb::ServeHttpRequest>>,
    ) -> Self::Future {
        let frames = request.into_inner().enumerate().map(|(i, frame)| {
            let frame = frame?;
            Ok(pb::ServeHttpResponse {
                head: (i == 0).then(|| pb::HttpResponseHead {
                    status_code: 200,
                    headers: Vec::new(),
                }),
                body_chunk: frame.body_chunk,
                body_complete: frame.body_complete,
                ..Default::default()
            })
        });
        std::future::ready(Ok(tonic::Response::new(Box::pin(frames))))
    }
}

impl tower::Service<http::Request<tonic::body::Body>> for RawHttpEcho {
    type Response = http::Response<tonic::body::Body>;
    type Error = std::convert::Infallible;
    type Future = std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<Self::Response, Self::Error>> + Send>,
    >;

    fn poll_ready(
        &mut self,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<tonic::body::Body>) -> Self::Future {
        Box::pin(async move {
            let mut grpc = tonic::server::Grpc::new(tonic_prost::ProstCodec::default());
            Ok(grpc.streaming(RawEchoFrames, request).await)
        })
    }
}

/// The child process of the baseline: serves `RawHttpEcho` on the socket at `path` until killed.
async fn serve_raw_echo(path: &str) {
    let listener = tokio::net::UnixListener::bind(path).expect("bind the raw echo's socket");
    tonic::transport::Server::builder()
        .add_service(RawHttpEcho)
        .serve_with_incoming(tokio_stream::wrappers::UnixListenerStream::new(listener))
        .await
        .expect("raw echo server");
}

/// Starts the baseline's plugin process (this bench, re-run) and connects to it.
async fn start_raw_echo(
    dir: &std::path::Path,
) -> (
    tokio::process::Child,
    tonic::client::Grpc<tonic::transport::Channel>,
) {
    let socket = dir.join("raw-echo.sock");
    let child = tokio::process::Command::new(std::env::current_exe().expect("current exe"))
        .env(RAW_ECHO_ENV, &socket)
        .kill_on_drop(true)
        .spawn()
        .expect("start the raw echo process");
    for _ in 0..500 {
        if socket.exists() {
            let channel = mattermost_plugin_runtime::supervisor::connect(
                &mattermost_plugin_runtime::supervisor::PluginAddress::Unix(socket.clone()),
            )
            .await
            .expect("connect to the raw echo");
            return (child, tonic::client::Grpc::new(channel));
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the raw echo process did not listen within 5 s");
}

/// The baseline's host side: the request body in 64 KiB frames over a raw tonic bidi stream, the
/// echoed frames back as the response body.
async fn raw_bridge(
    State(client): State<tonic::client::Grpc<tonic::transport::Channel>>,
    request: Request<Body>,
) -> axum::response::Response {
    let first = pb::ServeHttpRequest {
        head: Some(pb::HttpRequestHead {
            method: request.method().to_string(),
            url: "/echo".into(),
            ..Default::default()
        }),
        ..Default::default()
    };
    let body = request.into_body().into_data_stream().flat_map(|chunk| {
        let mut chunk = chunk.expect("request body");
        let mut frames = Vec::with_capacity(chunk.len().div_ceil(FRAME));
        while !chunk.is_empty() {
            let piece = chunk.split_to(chunk.len().min(FRAME));
            frames.push(pb::ServeHttpRequest {
                body_chunk: piece.to_vec(),
                ..Default::default()
            });
        }
        futures_util::stream::iter(frames)
    });
    let last = pb::ServeHttpRequest {
        body_complete: true,
        ..Default::default()
    };
    let frames = futures_util::stream::iter([first])
        .chain(body)
        .chain(futures_util::stream::iter([last]));
    let mut client = client;
    client.ready().await.expect("ready");
    let codec: tonic_prost::ProstCodec<pb::ServeHttpRequest, pb::ServeHttpResponse> =
        tonic_prost::ProstCodec::default();
    let responses = client
        .streaming(
            tonic::Request::new(frames),
            http::uri::PathAndQuery::from_static(RAW_ECHO_PATH),
            codec,
        )
        .await
        .expect("raw echo call")
        .into_inner();
    // The echo's stream ends when the request's does.
    let chunks = responses.map(|frame| frame.map(|f| bytes::Bytes::from(f.body_chunk)));
    axum::response::Response::new(Body::from_stream(chunks))
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

/// The bound on the host's peak RSS growth while 256 MiB stream through the plugin.
const RSS_BOUND: u64 = 32 << 20;

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    if let Some(socket) = std::env::var_os(RAW_ECHO_ENV) {
        let socket = socket.into_string().expect("a UTF-8 socket path");
        tokio::runtime::Runtime::new()
            .expect("runtime")
            .block_on(serve_raw_echo(&socket));
        return;
    }
    // `cargo test` runs bench targets without `--bench`: one small round keeps the bench working.
    let smoke = !std::env::args().any(|a| a == "--bench");
    let (rounds, starts) = if smoke { (1, 1) } else { (5, 10) };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let tokens = TokenRegistry::default();
        let api = ApiServer::start(Arc::new(NoApi), tokens.clone(), ApiServerConfig::default())
            .await
            .expect("api");
        let config =
            SupervisorConfig::new("echo", CommandSpec::new(echo_plugin()), api.addr().target())
                .with_tokens(Arc::new(tokens.clone()));
        let supervisor = Supervisor::start(config).await.expect("plugin starts");
        let hooks = supervisor.connection().hooks_client();
        let bridged = serve(
            axum::Router::new()
                .route("/echo", axum::routing::post(bridge))
                .with_state(hooks),
        )
        .await;
        let scratch = tempfile::tempdir().expect("scratch directory");
        let (mut raw_child, raw_client) = start_raw_echo(scratch.path()).await;
        let raw = serve(
            axum::Router::new()
                .route("/echo", axum::routing::post(raw_bridge))
                .with_state(raw_client),
        )
        .await;
        let direct =
            serve(axum::Router::new().route("/echo", axum::routing::post(direct_echo))).await;

        // Warm up each path once, then rotate so machine noise hits all alike.
        for addr in [bridged, raw, direct] {
            echo_once(addr, "/echo").await;
        }
        let (mut through_plugin, mut through_raw, mut in_process) =
            (Vec::new(), Vec::new(), Vec::new());
        let mut rss_growth = 0u64;
        let mib_per_s = |seconds: f64| (SIZE >> 20) as f64 / seconds;
        for round in 0..rounds {
            for which in (0..3).map(|i| (i + round) % 3) {
                match which {
                    0 => {
                        let (t, r) = echo_once(bridged, "/echo").await;
                        through_plugin.push(mib_per_s(t));
                        rss_growth = rss_growth.max(r);
                    }
                    1 => through_raw.push(mib_per_s(echo_once(raw, "/echo").await.0)),
                    _ => in_process.push(mib_per_s(echo_once(direct, "/echo").await.0)),
                }
            }
        }
        supervisor.stop().await;
        raw_child.kill().await.expect("stop the raw echo process");
        let baseline = bench_figure::Stats::of(&through_raw).expect("rounds");
        let in_process = bench_figure::Stats::of(&in_process).expect("rounds");
        if !smoke {
            // Loopback echoes move hundreds of MiB/s; a few would mean a throttled machine.
            bench_figure::check_plausible(
                "raw tonic bidi echo",
                &baseline,
                20.0,
                100_000.0,
                "MiB/s",
            );
        }
        bench_figure::Figure {
            name: "ServeHTTP 256 MiB echo through a Rust plugin (host bridge, plugin adapters)"
                .into(),
            baseline_name: "raw tonic bidi echo in a process, same 64 KiB frames".into(),
            unit: "MiB/s".into(),
            ours: bench_figure::Stats::of(&through_plugin).expect("rounds"),
            baseline,
            better: bench_figure::Better::Higher,
            goal_ratio: 0.9,
            note: String::new(),
        }
        .report();
        println!(
            "for scale: an in-process axum echo (no plugin process) moves {:.0} MiB/s",
            in_process.median
        );
        println!(
            "host peak RSS growth while streaming through the plugin: {:.1} MiB (bound {} MiB)",
            rss_growth as f64 / f64::from(1 << 20),
            RSS_BOUND >> 20
        );
        assert!(
            rss_growth <= RSS_BOUND,
            "the host's RSS grew by {} MiB while streaming 256 MiB, over the {} MiB bound",
            rss_growth >> 20,
            RSS_BOUND >> 20
        );

        let (mut cold, mut bare) = (Vec::new(), Vec::new());
        for _ in 0..starts {
            cold.push(cold_start(&tokens, &api.addr().target()).await);
            bare.push(bare_spawn().await);
        }
        let millis = |samples: &[Duration]| {
            let ms: Vec<f64> = samples.iter().map(|d| d.as_secs_f64() * 1e3).collect();
            bench_figure::Stats::of(&ms).expect("starts")
        };
        bench_figure::Figure {
            name: "cold start to OnActivate, Rust plugin (spawn, handshake, health, OnActivate)"
                .into(),
            baseline_name: "spawn and exit of the same binary".into(),
            unit: "ms".into(),
            ours: millis(&cold),
            baseline: millis(&bare),
            better: bench_figure::Better::Lower,
            // The handshake, the first health check and one hook over a new connection.
            goal_ratio: 5.0,
            note: String::new(),
        }
        .report();
    });
}
