//! The ServeHTTP bridge against a real plugin process (`mm-echo-plugin`): bodies stream both ways
//! with bounded host memory, early responses, client disconnects, invalid statuses, multi-value
//! headers and flushes.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{ConnectInfo, State};
use axum::http::Request;
use mattermost_plugin_api::{CallContext, PluginApi, PluginHooksClient};
use mattermost_plugin_runtime::api_server::{ApiServer, ApiServerConfig, TokenRegistry};
use mattermost_plugin_runtime::http_bridge::{self, RequestInfo, ServeHttp};
use mattermost_plugin_runtime::supervisor::{CommandSpec, Supervisor, SupervisorConfig};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

/// An API with nothing implemented: every call answers 501.
struct NoApi;
impl PluginApi for NoApi {}

struct Host {
    addr: SocketAddr,
    supervisor: Supervisor,
    _api: ApiServer,
}

async fn bridge(
    State(hooks): State<PluginHooksClient>,
    ConnectInfo(remote): ConnectInfo<SocketAddr>,
    request: Request<Body>,
) -> axum::response::Response {
    let (parts, body) = request.into_parts();
    let url = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/")
        .trim_start_matches("/plugins/echo")
        .to_string();
    let info = RequestInfo {
        method: parts.method.to_string(),
        url,
        request_uri: parts.uri.to_string(),
        version: parts.version,
        headers: parts.headers,
        remote_addr: Some(remote),
        context: Default::default(),
    };
    http_bridge::forward::<ServeHttp, _>(&hooks, &CallContext::new("echo"), info, body).await
}

async fn start() -> Host {
    let tokens = TokenRegistry::default();
    let api = ApiServer::start(Arc::new(NoApi), tokens.clone(), ApiServerConfig::default())
        .await
        .unwrap();
    let command = CommandSpec::new(env!("CARGO_BIN_EXE_mm-echo-plugin"));
    let config =
        SupervisorConfig::new("echo", command, api.addr().target()).with_tokens(Arc::new(tokens));
    let supervisor = Supervisor::start(config).await.unwrap();
    let hooks = supervisor.connection().hooks_client();
    let app = axum::Router::new()
        .route("/plugins/echo/{*rest}", axum::routing::any(bridge))
        .with_state(hooks);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        .unwrap();
    });
    Host {
        addr,
        supervisor,
        _api: api,
    }
}

/// A response read off the wire: status, headers, and the body so far.
struct Head {
    status: u16,
    headers: Vec<(String, String)>,
    chunked: bool,
}

async fn read_head<R: tokio::io::AsyncBufRead + Unpin>(reader: &mut R) -> Head {
    let mut line = String::new();
    reader.read_line(&mut line).await.unwrap();
    let status = line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let mut headers = Vec::new();
    loop {
        line.clear();
        reader.read_line(&mut line).await.unwrap();
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        if let Some((k, v)) = l.split_once(':') {
            headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
        }
    }
    let chunked = headers
        .iter()
        .any(|(k, v)| k == "transfer-encoding" && v.contains("chunked"));
    Head {
        status,
        headers,
        chunked,
    }
}

/// The next piece of a chunked body, `None` at its end.
async fn read_chunk<R: tokio::io::AsyncBufRead + Unpin>(reader: &mut R) -> Option<Vec<u8>> {
    let mut line = String::new();
    reader.read_line(&mut line).await.ok()?;
    let size = usize::from_str_radix(line.trim(), 16).ok()?;
    let mut data = vec![0u8; size + 2];
    reader.read_exact(&mut data).await.ok()?;
    data.truncate(size);
    (size > 0).then_some(data)
}

async fn read_body<R: tokio::io::AsyncBufRead + Unpin>(reader: &mut R, head: &Head) -> Vec<u8> {
    if head.chunked {
        let mut body = Vec::new();
        while let Some(chunk) = read_chunk(reader).await {
            body.extend(chunk);
        }
        body
    } else {
        let len = head
            .headers
            .iter()
            .find(|(k, _)| k == "content-length")
            .and_then(|(_, v)| v.parse().ok())
            .unwrap_or(0);
        let mut body = vec![0u8; len];
        reader.read_exact(&mut body).await.unwrap();
        body
    }
}

async fn get(addr: SocketAddr, path: &str, extra: &str) -> (Head, Vec<u8>) {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(
            format!(
                "GET /plugins/echo{path} HTTP/1.1\r\nHost: test\r\n{extra}Connection: close\r\n\r\n"
            )
            .as_bytes(),
        )
        .await
        .unwrap();
    let mut reader = BufReader::new(stream);
    let head = read_head(&mut reader).await;
    let body = read_body(&mut reader, &head).await;
    (head, body)
}

fn rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_256_mib_body_streams_both_ways_with_bounded_memory() {
    let host = start().await;
    const SIZE: u64 = 256 << 20;
    let baseline = rss_bytes();
    let peak = Arc::new(AtomicU64::new(baseline));
    let sampler = {
        let peak = peak.clone();
        tokio::spawn(async move {
            loop {
                peak.fetch_max(rss_bytes(), Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
    };

    let stream = TcpStream::connect(host.addr).await.unwrap();
    let (read, mut write) = stream.into_split();
    let writer = tokio::spawn(async move {
        let header = format!(
            "POST /plugins/echo/echo HTTP/1.1\r\nHost: test\r\nContent-Length: {SIZE}\r\nConnection: close\r\n\r\n"
        );
        write.write_all(header.as_bytes()).await.unwrap();
        let block: Vec<u8> = (0..1 << 20).map(|i| (i % 251) as u8).collect();
        for _ in 0..(SIZE >> 20) {
            write.write_all(&block).await.unwrap();
        }
        write.flush().await.unwrap();
        write
    });
    let mut reader = BufReader::with_capacity(1 << 16, read);
    let head = read_head(&mut reader).await;
    assert_eq!(head.status, 200);
    assert!(head.chunked, "the response streams");
    let (mut received, mut position) = (0u64, 0u64);
    while let Some(chunk) = read_chunk(&mut reader).await {
        for b in &chunk {
            assert_eq!(
                *b,
                (position % (1 << 20) % 251) as u8,
                "byte {position} echoed unchanged"
            );
            position += 1;
        }
        received += chunk.len() as u64;
    }
    drop(writer.await.unwrap());
    sampler.abort();
    assert_eq!(received, SIZE);
    let growth = peak.load(Ordering::Relaxed).saturating_sub(baseline);
    assert!(
        growth < 64 << 20,
        "host memory grew by {} MiB while echoing 256 MiB",
        growth >> 20
    );
    host.supervisor.stop().await;
}

#[tokio::test]
async fn the_plugin_may_answer_before_the_body_is_complete() {
    let host = start().await;
    let mut stream = TcpStream::connect(host.addr).await.unwrap();
    // Announce 64 MiB but send only the head and a little of it.
    stream
        .write_all(b"POST /plugins/echo/early HTTP/1.1\r\nHost: test\r\nContent-Length: 67108864\r\n\r\nsome of the body")
        .await
        .unwrap();
    let mut reader = BufReader::new(stream);
    let head = tokio::time::timeout(Duration::from_secs(10), read_head(&mut reader))
        .await
        .expect("answered before the body ended");
    assert_eq!(head.status, 202);
    assert_eq!(read_body(&mut reader, &head).await, b"early");
    host.supervisor.stop().await;
}

#[tokio::test]
async fn a_client_disconnect_cancels_the_plugin_stream() {
    let host = start().await;
    {
        let mut stream = TcpStream::connect(host.addr).await.unwrap();
        stream
            .write_all(b"GET /plugins/echo/forever HTTP/1.1\r\nHost: test\r\n\r\n")
            .await
            .unwrap();
        let mut reader = BufReader::new(stream);
        let head = read_head(&mut reader).await;
        assert_eq!(head.status, 200);
        assert_eq!(read_chunk(&mut reader).await.unwrap(), b"tick\n");
    } // the connection drops here
    let mut cancelled = String::new();
    for _ in 0..100 {
        let (_, body) = get(host.addr, "/cancelled", "").await;
        cancelled = String::from_utf8(body).unwrap();
        if cancelled == "1" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        cancelled, "1",
        "the plugin saw its response stream cancelled"
    );
    host.supervisor.stop().await;
}

#[tokio::test]
async fn statuses_outside_100_to_999_become_500() {
    let host = start().await;
    assert_eq!(get(host.addr, "/status/201", "").await.0.status, 201);
    assert_eq!(get(host.addr, "/status/42", "").await.0.status, 500);
    assert_eq!(get(host.addr, "/status/1000", "").await.0.status, 500);
    assert_eq!(get(host.addr, "/missing", "").await.0.status, 404);
    host.supervisor.stop().await;
}

#[tokio::test]
async fn headers_with_several_values_survive_both_ways() {
    let host = start().await;
    let (head, body) = get(host.addr, "/headers", "X-Req: one\r\nX-Req: two\r\n").await;
    assert_eq!(body, b"2", "both request values reached the plugin");
    let multi: Vec<&str> = head
        .headers
        .iter()
        .filter(|(k, _)| k == "x-multi")
        .map(|(_, v)| v.as_str())
        .collect();
    assert_eq!(multi, ["a", "b"]);
    host.supervisor.stop().await;
}

#[tokio::test]
async fn flushed_data_reaches_the_client_before_the_response_ends() {
    let host = start().await;
    let mut stream = TcpStream::connect(host.addr).await.unwrap();
    stream
        .write_all(b"GET /plugins/echo/flush HTTP/1.1\r\nHost: test\r\n\r\n")
        .await
        .unwrap();
    let mut reader = BufReader::new(stream);
    let head = read_head(&mut reader).await;
    assert_eq!(head.status, 200);
    // The plugin holds "second" back until released, so "first" can only arrive if it was flushed.
    let first = tokio::time::timeout(Duration::from_secs(10), read_chunk(&mut reader))
        .await
        .expect("flushed");
    assert_eq!(first.unwrap(), b"first");
    assert_eq!(get(host.addr, "/flush-release", "").await.1, b"released");
    assert_eq!(read_chunk(&mut reader).await.unwrap(), b"second");
    assert!(read_chunk(&mut reader).await.is_none());
    host.supervisor.stop().await;
}
