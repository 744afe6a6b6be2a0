//! Hangs: a hung ServeHTTP, a blocked event loop, a hung OnDeactivate. Each ends with a clear
//! answer to the client, a WARN naming what hung, and a plugin that serves again (restarted when
//! it cannot recover by itself).

use std::time::{Duration, Instant};

use crate::support::{Client, Host, PluginDir, children_of, wait_exit, wait_for_log};

const PLUGIN: &str = r#"
import asyncio
import time

from mattermost_plugin import HTTPRequest, Plugin, ResponseWriter, hook, run_plugin
from mattermost_plugin_api import models


class Hangs(Plugin):
    @hook
    def on_activate(self) -> None:
        for trigger in ("hang", "ok"):
            self.api.register_command(command=models.Command(trigger=trigger))

    @hook
    async def message_will_be_posted(self, post: models.Post | None) -> tuple[models.Post | None, str]:
        if post is not None and post.message == "block the loop":
            time.sleep(600)  # blocks the event loop: nothing else is served
        if post is not None and "spam" in post.message:
            return None, "no spam"
        return post, ""

    @hook
    def execute_command(self, args: models.CommandArgs | None) -> models.CommandResponse:
        if args is not None and args.command.startswith("/hang"):
            time.sleep(600)  # a hung sync handler: holds its worker thread
        return models.CommandResponse(text="fine")

    @hook
    def on_deactivate(self) -> None:
        if self.configuration.get("HangOnDeactivate"):
            time.sleep(600)

    @hook
    async def serve_http(self, request: HTTPRequest, response: ResponseWriter) -> None:
        if request.url.startswith("/hang"):
            await asyncio.sleep(600)
        await response.write(b"ok")


run_plugin(Hangs)
"#;

async fn post(client: &mut Client, message: &str) -> (u16, String) {
    let body = serde_json::json!({ "message": message }).to_string();
    let (status, body) = client
        .request("POST", "/api/v4/posts", body.as_bytes())
        .await
        .expect("the host answers");
    (status, String::from_utf8_lossy(&body).into_owned())
}

async fn ping(client: &mut Client) -> (u16, serde_json::Value) {
    let (status, body) = client
        .request("GET", "/api/v4/system/ping", b"")
        .await
        .expect("the host answers");
    (status, serde_json::from_slice(&body).unwrap_or_default())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_serve_http_gets_504_and_the_plugin_keeps_serving() {
    let _serial = crate::serial().await;
    let plugin = PluginDir::new("com.example.faults-hang-http", PLUGIN);
    let host = Host::start(&plugin, &["--http-timeout", "2"]);
    let mut client = Client::connect(host.addr).await.unwrap();
    let base = format!("/plugins/{}", plugin.id);
    let started = Instant::now();
    let (status, body) = client
        .request("GET", &format!("{base}/hang"), b"")
        .await
        .unwrap();
    let body = String::from_utf8_lossy(&body);
    println!(
        "hung ServeHTTP: {status} after {:?}: {body}",
        started.elapsed()
    );
    assert_eq!(status, 504, "{body}");
    assert!(
        body.contains(&plugin.id) && body.contains("ServeHTTP"),
        "{body}"
    );
    // The same keep-alive connection and the plugin both still work.
    let (status, body) = client
        .request("GET", &format!("{base}/fine"), b"")
        .await
        .unwrap();
    assert_eq!((status, &body[..]), (200, &b"ok"[..]));
    assert!(
        wait_for_log(
            &host,
            "plugin sent no response head in time",
            Duration::from_secs(5)
        )
        .await,
        "no WARN for the hung request:\n{}",
        host.log_text()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blocked_event_loop_is_reported_and_restarted() {
    let _serial = crate::serial().await;
    let plugin = PluginDir::new("com.example.faults-blocked-loop", PLUGIN);
    let host = Host::start(&plugin, &["--hook-timeout", "2"]);
    let mut client = Client::connect(host.addr).await.unwrap();
    let (status, state) = ping(&mut client).await;
    assert_eq!(status, 200, "{state}");
    assert_eq!(state["plugin"]["generation"], 1);

    // The first post blocks the loop; it and the next ones time out (Go's default lets them
    // through unfiltered) until the host restarts the stuck plugin.
    let (status, body) = post(&mut client, "block the loop").await;
    assert_eq!(status, 201, "{body}");
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut attempts = 0;
    loop {
        assert!(
            Instant::now() < deadline,
            "the plugin was not restarted:\n{}",
            host.log_text()
        );
        attempts += 1;
        let (status, body) = post(&mut client, "spam").await;
        // Filtered again: a new generation answers.
        if status == 400 {
            assert!(body.contains("no spam"), "{body}");
            break;
        }
        // While it restarts the host says so instead of failing with a transport error.
        assert!(
            status == 201 || status == 503,
            "unexpected answer while stuck: {status} {body}"
        );
        if status == 503 {
            assert!(body.contains(&plugin.id), "{body}");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    let (status, state) = ping(&mut client).await;
    assert_eq!(status, 200, "{state}");
    assert_eq!(state["plugin"]["state"], "running");
    assert!(
        state["plugin"]["generation"].as_u64().unwrap() >= 2,
        "{state}"
    );
    let last_error = state["plugin"]["last_error"].as_str().unwrap_or_default();
    assert!(
        last_error.contains("consecutive hook calls timed out"),
        "{state}"
    );
    let log = host.log_text();
    assert!(
        log.contains("did not answer the hook in time") && log.contains("MessageWillBePosted"),
        "no WARN naming the hook:\n{log}"
    );
    println!("blocked event loop: restarted after {attempts} more posts; {last_error}");
}

/// Hung sync handlers past the size of a default thread pool (6 threads on 2 cores) do not starve
/// the others: each overrun handler's thread is written off and replaced.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hung_sync_handlers_do_not_starve_the_others() {
    let _serial = crate::serial().await;
    let plugin = PluginDir::new("com.example.faults-hung-sync", PLUGIN);
    let host = Host::start(&plugin, &["--hook-timeout", "2"]);
    let addr = host.addr;
    let command = |line: &'static str| async move {
        let mut client = Client::connect(addr).await.unwrap();
        let body = serde_json::json!({ "command": line }).to_string();
        let (status, body) = client
            .request("POST", "/api/v4/commands/execute", body.as_bytes())
            .await
            .unwrap();
        (
            status,
            serde_json::from_slice::<serde_json::Value>(&body).unwrap_or_default(),
        )
    };
    let mut hung = Vec::new();
    for i in 0..12 {
        hung.push(tokio::spawn(command("/hang")));
        // Slower than hung handlers are written off (at their 2 s deadline), so at most four
        // are running at once: what is tested is that the written-off ones stop counting.
        tokio::time::sleep(Duration::from_millis(500)).await;
        let (status, answer) = command("/ok").await;
        assert_eq!(status, 200, "{answer}");
        assert_eq!(
            answer["text"], "fine",
            "call {i} got the default: the plugin is starved"
        );
    }
    for call in hung {
        // Each hung one timed out and got Go's default (an empty response).
        let (status, answer) = call.await.unwrap();
        assert_eq!(status, 200, "{answer}");
        assert_eq!(answer["text"], "", "{answer}");
    }
    let mut client = Client::connect(addr).await.unwrap();
    let (_, state) = ping(&mut client).await;
    assert_eq!(
        state["plugin"]["generation"], 1,
        "restarted although it kept answering: {state}"
    );
    let log = host.log_text();
    assert!(
        log.contains("ExecuteCommand") && log.contains("execute_command"),
        "no WARN naming the hook and the handler:\n{log}"
    );
}

fn hang_on_deactivate(host: &Host, plugin: &PluginDir) {
    let config = serde_json::json!({ "HangOnDeactivate": true }).to_string();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let mut client = Client::connect(host.addr).await.unwrap();
        let (status, _) = client
            .request(
                "PUT",
                &format!("/api/v4/plugins/{}/config", plugin.id),
                config.as_bytes(),
            )
            .await
            .unwrap();
        assert_eq!(status, 200);
    });
}

fn assert_nothing_left(host: &Host, plugin_pids: &[u32]) {
    for pid in plugin_pids {
        assert!(
            !std::path::Path::new(&format!("/proc/{pid}")).exists()
                || std::fs::read_to_string(format!("/proc/{pid}/stat"))
                    .map(|s| s.contains(") Z "))
                    .unwrap_or(true),
            "plugin process {pid} outlived the host"
        );
    }
    crate::support::assert_empty_dir(&host.tmpdir());
}

#[test]
fn a_hung_on_deactivate_bounds_the_stop() {
    let _serial = crate::serial_blocking();
    let plugin = PluginDir::new("com.example.faults-hung-deactivate", PLUGIN);
    let mut host = Host::start(&plugin, &[]);
    hang_on_deactivate(&host, &plugin);
    let plugin_pids = children_of(host.pid());
    assert!(!plugin_pids.is_empty());
    let started = Instant::now();
    // One Ctrl-C: OnDeactivate gets its 10 s, then the plugin is stopped (Shutdown, at worst
    // SIGTERM 2 s and SIGKILL 5 s later). Before the limit it waited the whole 30 s hook timeout
    // first (37 s in all).
    assert!(
        host.interrupt_and_wait(Duration::from_secs(25)),
        "the host did not stop within 25 s:\n{}",
        host.log_text()
    );
    println!("stop with a hung OnDeactivate: {:?}", started.elapsed());
    let log = host.log_text();
    assert!(
        log.contains("OnDeactivate"),
        "no word about OnDeactivate:\n{log}"
    );
    assert_nothing_left(&host, &plugin_pids);
}

#[test]
fn a_second_ctrl_c_kills_at_once() {
    let _serial = crate::serial_blocking();
    let plugin = PluginDir::new("com.example.faults-second-ctrl-c", PLUGIN);
    let mut host = Host::start(&plugin, &[]);
    hang_on_deactivate(&host, &plugin);
    let plugin_pids = children_of(host.pid());
    crate::support::signal(host.pid(), libc::SIGINT);
    std::thread::sleep(Duration::from_millis(500));
    let started = Instant::now();
    crate::support::signal(host.pid(), libc::SIGINT);
    assert!(
        wait_exit(&mut host.child, Duration::from_secs(20)),
        "the host ignored the second Ctrl-C:\n{}",
        host.log_text()
    );
    println!("second Ctrl-C: host gone {:?} after it", started.elapsed());
    // Well inside the 10 s OnDeactivate limit: the second Ctrl-C did not wait for it.
    assert!(
        !host.log_text().contains("OnDeactivate timed out")
            && !host.log_text().contains("did not answer the hook in time"),
        "the stop waited for OnDeactivate:\n{}",
        host.log_text()
    );
    assert!(host.log_text().contains("killing the plugin at once"));
    assert_nothing_left(&host, &plugin_pids);
}
