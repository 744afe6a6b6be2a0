//! Crash under load: the plugin is SIGKILLed again and again while clients keep calling it. Every
//! request ends with a clear status (the plugin's answer, or 502/503 naming the plugin — never a
//! dropped connection or a hang), restarts follow the policy (3 in the window, then failed), the
//! failed state is reported, and once the host stops nothing is left behind.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::support::{Client, Host, Latencies, PluginDir, children_of, ping, signal};

const CLIENTS: usize = 40;

/// Waits until the ping's plugin state satisfies `predicate` (bounded).
async fn wait_state(
    addr: std::net::SocketAddr,
    limit: Duration,
    predicate: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    let deadline = Instant::now() + limit;
    loop {
        let (_, state) = ping(addr).await;
        if predicate(&state["plugin"]) {
            return state;
        }
        assert!(
            Instant::now() < deadline,
            "state never reached; last: {state}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_crashes_under_load_end_every_request_clearly() {
    let _serial = crate::serial().await;
    let plugin = PluginDir::new("com.example.faults-crash", crate::faults::load::PLUGIN);
    let mut host = Host::start(&plugin, &[]);
    let addr = host.addr;
    let base = format!("/plugins/{}", plugin.id);
    let stop = Arc::new(AtomicBool::new(false));
    let mut tasks = Vec::new();
    for i in 0..CLIENTS {
        let base = base.clone();
        let stop = stop.clone();
        let plugin_id = plugin.id.clone();
        tasks.push(tokio::spawn(async move {
            let mut ok = Latencies::default();
            let mut refused = 0usize;
            let mut client = Client::connect(addr).await.unwrap();
            let mut n = 0usize;
            while !stop.load(Ordering::Relaxed) {
                n += 1;
                let (method, path, body) = if (i + n) % 4 == 0 {
                    (
                        "POST",
                        "/api/v4/posts".to_string(),
                        br#"{"message":"hi"}"#.to_vec(),
                    )
                } else {
                    ("GET", format!("{base}/status"), Vec::new())
                };
                let started = Instant::now();
                // Bounded: a request that hangs is a failure too.
                let outcome = tokio::time::timeout(
                    Duration::from_secs(30),
                    client.request(method, &path, &body),
                )
                .await;
                match outcome {
                    Ok(Ok((200 | 201, _))) => ok.samples.push(started.elapsed()),
                    Ok(Ok((502 | 503, body))) => {
                        let body = String::from_utf8_lossy(&body);
                        if body.contains(&plugin_id)
                            || body.contains("ServeHTTP")
                            || body.contains("transport")
                        {
                            refused += 1;
                        } else {
                            ok.failures
                                .push(format!("{method} {path}: unclear error body {body}"));
                        }
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                    Ok(Ok((status, body))) => ok.failures.push(format!(
                        "{method} {path}: {status} {}",
                        String::from_utf8_lossy(&body)
                    )),
                    Ok(Err(e)) => {
                        ok.failures
                            .push(format!("{method} {path}: connection failed: {e}"));
                        client = Client::connect(addr).await.unwrap();
                    }
                    Err(_) => ok
                        .failures
                        .push(format!("{method} {path}: no answer in 30 s")),
                }
            }
            (ok, refused)
        }));
    }

    // Kill the plugin once per generation: 1 start + 3 restarts, then the policy gives up.
    let mut killed = Vec::new();
    for generation in 1..=4u64 {
        wait_state(addr, Duration::from_secs(60), |p| {
            p["state"] == "running" && p["generation"] == generation
        })
        .await;
        tokio::time::sleep(Duration::from_millis(700)).await;
        let pids = children_of(host.pid());
        assert_eq!(pids.len(), 1, "one plugin process, got {pids:?}");
        signal(pids[0], libc::SIGKILL);
        killed.push(pids[0]);
    }
    let failed = wait_state(addr, Duration::from_secs(60), |p| p["state"] == "failed").await;
    let (status, _) = ping(addr).await;
    assert_eq!(status, 503, "a failed plugin must not look healthy");
    assert_eq!(failed["status"], "UNHEALTHY");
    assert_eq!(failed["plugin"]["restarts_in_window"], 3, "{failed}");
    assert!(
        failed["plugin"]["last_error"]
            .as_str()
            .unwrap_or_default()
            .contains("exited unexpectedly"),
        "{failed}"
    );
    // Calls while failed say so.
    let mut client = Client::connect(addr).await.unwrap();
    let (status, body) = client
        .request("GET", &format!("{base}/status"), b"")
        .await
        .unwrap();
    let body = String::from_utf8_lossy(&body);
    assert_eq!(status, 503, "{body}");
    assert!(
        body.contains("is failed") && body.contains(&plugin.id),
        "{body}"
    );

    stop.store(true, Ordering::Relaxed);
    let mut all = Latencies::default();
    let mut refused = 0;
    for task in tasks {
        let (lat, r) = task.await.unwrap();
        all.merge(lat);
        refused += r;
    }
    println!("crash under load: {CLIENTS} clients, 4 kills");
    println!(
        "  {}; {refused} answered 502/503 naming the plugin",
        all.report("answered by the plugin")
    );
    assert!(
        all.failures.is_empty(),
        "{} unclear outcomes, first: {:?}",
        all.failures.len(),
        all.failures.iter().take(5).collect::<Vec<_>>()
    );
    assert!(!all.samples.is_empty());

    assert!(host.interrupt_and_wait(Duration::from_secs(30)));
    for pid in killed {
        assert!(
            !std::path::Path::new(&format!("/proc/{pid}")).exists(),
            "killed plugin {pid} was never reaped"
        );
    }
    crate::support::assert_empty_dir(&host.tmpdir());
}
