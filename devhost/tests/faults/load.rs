//! Load: hundreds of keep-alive clients on a Python plugin's HTTP routes plus a stream of posts
//! through MessageWillBePosted. Every request must succeed; p50/p99 and the host's RSS are reported.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::support::{Client, Host, Latencies, PluginDir, load_secs};

pub const PLUGIN: &str = r#"
import json

from mattermost_plugin import HTTPRequest, Plugin, ResponseWriter, hook, run_plugin
from mattermost_plugin_api import models


class Load(Plugin):
    @hook
    def message_will_be_posted(self, post: models.Post | None) -> tuple[models.Post | None, str]:
        if post is not None and "spam" in post.message:
            return None, "no spam"
        return post, ""

    @hook
    async def serve_http(self, request: HTTPRequest, response: ResponseWriter) -> None:
        if request.url.startswith("/stream"):
            for _ in range(4):
                await response.write(b"x" * 1024)
                await response.flush()
            return
        if request.url.startswith("/echo"):
            async for chunk in request.body:
                await response.write(chunk)
            return
        response.headers["Content-Type"] = ["application/json"]
        await response.write(json.dumps({"ok": True, "url": request.url}).encode())


run_plugin(Load)
"#;

/// Clients on plugin routes, each on its own keep-alive connection.
const HTTP_CLIENTS: usize = 200;
/// Posts per second through MessageWillBePosted.
const POSTS_PER_SEC: u64 = 10;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keep_alive_clients_and_posts_never_fail() {
    let _serial = crate::serial().await;
    let plugin = PluginDir::new("com.example.faults-load", PLUGIN);
    let host = Host::start(&plugin, &[]);
    let secs = load_secs(15);
    let addr = host.addr;
    let base = format!("/plugins/{}", plugin.id);

    // Warm up, then take the reference RSS.
    let mut warm = Client::connect(addr).await.unwrap();
    for _ in 0..20 {
        let (status, _) = warm
            .request("GET", &format!("{base}/status"), b"")
            .await
            .unwrap();
        assert_eq!(status, 200);
    }
    let rss_start = host.rss_kib();

    let stop = Arc::new(AtomicBool::new(false));
    let deadline = Instant::now() + Duration::from_secs(secs);
    let mut tasks = Vec::new();
    for i in 0..HTTP_CLIENTS {
        let base = base.clone();
        let stop = stop.clone();
        tasks.push(tokio::spawn(async move {
            let mut lat = Latencies::default();
            let mut client = match Client::connect(addr).await {
                Ok(c) => c,
                Err(e) => {
                    lat.failures.push(format!("connect: {e}"));
                    return lat;
                }
            };
            let mut n = 0usize;
            while !stop.load(Ordering::Relaxed) && Instant::now() < deadline {
                n += 1;
                let (method, path, body): (&str, String, Vec<u8>) = match (i + n) % 3 {
                    0 => ("GET", format!("{base}/status?n={n}"), Vec::new()),
                    1 => ("GET", format!("{base}/stream"), Vec::new()),
                    _ => ("POST", format!("{base}/echo"), vec![b'e'; 2048]),
                };
                let started = Instant::now();
                match client.request(method, &path, &body).await {
                    Ok((200, got)) => {
                        let expected = match (i + n) % 3 {
                            1 => 4096,
                            2 => 2048,
                            _ => got.len(),
                        };
                        if got.len() == expected {
                            lat.samples.push(started.elapsed());
                        } else {
                            lat.failures.push(format!(
                                "{method} {path}: {} of {expected} bytes",
                                got.len()
                            ));
                        }
                    }
                    Ok((status, got)) => lat.failures.push(format!(
                        "{method} {path}: {status} {}",
                        String::from_utf8_lossy(&got)
                    )),
                    Err(e) => {
                        lat.failures.push(format!("{method} {path}: {e}"));
                        // A broken connection is one failure; carry on with a new one.
                        match Client::connect(addr).await {
                            Ok(c) => client = c,
                            Err(_) => return lat,
                        }
                    }
                }
            }
            lat
        }));
    }
    // Posts at a fixed rate, each on its own task, so the rate holds however slow answers get.
    let posts = tokio::spawn(async move {
        let mut ticker = tokio::time::interval(Duration::from_millis(1000 / POSTS_PER_SEC));
        let mut sent = Vec::new();
        let mut n = 0u64;
        while Instant::now() < deadline {
            ticker.tick().await;
            n += 1;
            sent.push(tokio::spawn(async move {
                let spam = n % 5 == 0;
                let message = if spam {
                    "spam".to_string()
                } else {
                    format!("post {n}")
                };
                let body = serde_json::json!({ "message": message }).to_string();
                let started = Instant::now();
                let outcome = match Client::connect(addr).await {
                    Ok(mut client) => {
                        client
                            .request("POST", "/api/v4/posts", body.as_bytes())
                            .await
                    }
                    Err(e) => Err(format!("connect: {e}")),
                };
                match outcome {
                    Ok((400, _)) if spam => Ok(started.elapsed()),
                    Ok((201, _)) if !spam => Ok(started.elapsed()),
                    Ok((status, got)) => Err(format!(
                        "post {n}: {status} {}",
                        String::from_utf8_lossy(&got)
                    )),
                    Err(e) => Err(format!("post {n}: {e}")),
                }
            }));
        }
        let mut lat = Latencies::default();
        for post in sent {
            match post.await.unwrap() {
                Ok(elapsed) => lat.samples.push(elapsed),
                Err(failure) => lat.failures.push(failure),
            }
        }
        lat
    });

    // RSS over the run: sampled every second.
    let mut rss = Vec::new();
    while Instant::now() < deadline {
        tokio::time::sleep(Duration::from_secs(1)).await;
        rss.push(host.rss_kib());
    }
    stop.store(true, Ordering::Relaxed);
    let mut http = Latencies::default();
    for task in tasks {
        http.merge(task.await.unwrap());
    }
    let posts = posts.await.unwrap();
    if let Ok(path) = std::env::var("MM_FAULTS_KEEP_LOG") {
        let _ = std::fs::copy(&host.log, path);
    }
    let rss_end = host.rss_kib();
    let rss_peak = rss.iter().copied().max().unwrap_or(rss_end);
    println!("load: {HTTP_CLIENTS} keep-alive clients + {POSTS_PER_SEC} posts/s for {secs} s");
    println!("  {}", http.report("plugin HTTP"));
    println!("  {}", posts.report("posts"));
    println!(
        "  host RSS: {} KiB after warm-up, peak {} KiB, {} KiB at the end",
        rss_start, rss_peak, rss_end
    );
    let failures: Vec<&String> = http.failures.iter().chain(&posts.failures).collect();
    assert!(
        failures.is_empty(),
        "{} failed requests, first: {:?}\nhost log tail:\n{}",
        failures.len(),
        failures.iter().take(5).collect::<Vec<_>>(),
        tail(&host.log_text(), 30)
    );
    assert!(
        http.samples.len() > HTTP_CLIENTS,
        "too few requests completed"
    );
    assert!(posts.samples.len() as u64 >= secs * POSTS_PER_SEC * 9 / 10);
    // Flat: once every connection is open (a third into the run), requests leave nothing behind.
    let rss_steady = rss.get(rss.len() / 3).copied().unwrap_or(rss_start);
    println!("  host RSS a third into the run: {rss_steady} KiB");
    assert!(
        rss_end <= rss_steady + rss_steady / 5 + 4096,
        "host RSS grew from {rss_steady} KiB to {rss_end} KiB under steady load"
    );
    let log = host.log_text();
    assert!(
        !log.contains("locally-reset streams"),
        "the host reset plugin streams:\n{}",
        tail(&log, 30)
    );
}

pub fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// Streamed responses on a reused connection are as quick as on a new one. Without TCP_NODELAY on
/// the host's accepted sockets each flushed chunk after the first waits for the client's delayed
/// ACK (about 40 ms), so keep-alive — what browsers do — was ~15× slower than a new connection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streamed_responses_on_keep_alive_are_not_delayed() {
    let _serial = crate::serial().await;
    let plugin = PluginDir::new("com.example.faults-nodelay", PLUGIN);
    let host = Host::start(&plugin, &[]);
    let path = format!("/plugins/{}/stream", plugin.id);
    let mut reused = Latencies::default();
    let mut fresh = Latencies::default();
    let mut keep_alive = Client::connect(host.addr).await.unwrap();
    for _ in 0..3 {
        keep_alive.request("GET", &path, b"").await.unwrap();
    }
    // Interleaved, so both see the same machine.
    for _ in 0..30 {
        let started = Instant::now();
        let (status, body) = keep_alive.request("GET", &path, b"").await.unwrap();
        assert_eq!((status, body.len()), (200, 4096));
        reused.samples.push(started.elapsed());
        let started = Instant::now();
        let mut client = Client::connect(host.addr).await.unwrap();
        let (status, body) = client.request("GET", &path, b"").await.unwrap();
        assert_eq!((status, body.len()), (200, 4096));
        fresh.samples.push(started.elapsed());
    }
    println!("  {}", reused.report("streamed, keep-alive"));
    println!("  {}", fresh.report("streamed, new connection"));
    let (reused, fresh) = (reused.percentile(0.5), fresh.percentile(0.5));
    assert!(
        reused < fresh * 4 + Duration::from_millis(20),
        "keep-alive p50 {reused:?} vs new connection p50 {fresh:?}: small writes are being delayed"
    );
}
