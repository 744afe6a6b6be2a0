//! `DevHost::restart_plugin` (what `mm-plugin-host run --watch` calls on a change) on the Rust test
//! plugin: a new process is activated while the backend's data and the HTTP server stay; a
//! restart that cannot start the plugin leaves the host up and saying why, and the next one
//! recovers. The file watching itself is tested end to end in `tests/python/test_watch.py`.

#[path = "host_support.rs"]
mod support;

use std::path::Path;
use std::time::Duration;

use mattermost_plugin_devhost::host::{DevHost, HostConfig};
use support::{echo_plugin, http};

fn write_manifest(dir: &Path, executable: &str) {
    let manifest = serde_json::json!({
        "id": "com.example.rust-echo",
        "name": "Rust echo",
        "version": "0.1.0",
        "server": { "executable": executable },
    });
    std::fs::write(dir.join("plugin.json"), manifest.to_string()).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_replaces_the_process_and_keeps_the_data() {
    let dir = tempfile::tempdir().unwrap();
    // A server runs only executables inside the plugin's directory.
    std::fs::copy(echo_plugin(), dir.path().join("mm-echo-plugin")).unwrap();
    write_manifest(dir.path(), "mm-echo-plugin");
    let config = HostConfig {
        http_addr: "127.0.0.1:0".parse().unwrap(),
        hook_timeout: Duration::from_secs(10),
        ..HostConfig::new(dir.path())
    };
    let mut host = DevHost::start(config)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let addr = host.http_addr();
    let first_pid = host.supervisor().pid().expect("running");
    let (status, body) = http(addr, "POST", "/api/v4/posts", r#"{"message":"hello"}"#).await;
    assert_eq!(status, 201, "{body}");
    let post: serde_json::Value = serde_json::from_str(&body).unwrap();
    let post_path = format!("/api/v4/posts/{}", post["id"].as_str().unwrap());

    host.restart_plugin()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let second_pid = host.supervisor().pid().expect("running again");
    assert_ne!(first_pid, second_pid);
    assert_eq!(host.http_addr(), addr);
    assert_eq!(http(addr, "GET", &post_path, "").await.0, 200);
    let (status, body) = http(addr, "GET", "/plugins/com.example.rust-echo/status/201", "").await;
    assert_eq!(status, 201, "{body}");
    // Activated again: OnActivate logged a second time.
    let activations = host
        .backend()
        .logs()
        .iter()
        .filter(|l| l.message.starts_with("echo plugin activated on"))
        .count();
    assert_eq!(activations, 2);

    // plugin.json now names an executable that is not there: the restart fails, the host stays
    // up, and the plugin's routes and ping say why.
    write_manifest(dir.path(), "missing-plugin");
    let error = host.restart_plugin().await.expect_err("no executable");
    assert!(error.to_string().contains("missing-plugin"), "{error}");
    let (status, body) = http(addr, "GET", "/api/v4/system/ping", "").await;
    assert_eq!(status, 503, "{body}");
    let ping: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(ping["plugin"]["state"], "failed", "{body}");
    assert!(
        ping["plugin"]["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("missing-plugin")),
        "{body}"
    );
    let (status, body) = http(addr, "GET", "/plugins/com.example.rust-echo/status/201", "").await;
    assert_eq!(status, 503, "{body}");

    // Fixed: the next restart runs it again, with the data still there.
    write_manifest(dir.path(), "mm-echo-plugin");
    host.restart_plugin()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(http(addr, "GET", "/api/v4/system/ping", "").await.0, 200);
    assert_eq!(http(addr, "GET", &post_path, "").await.0, 200);

    // An id of another plugin is refused: a restart keeps the plugin it serves.
    let manifest = serde_json::json!({
        "id": "com.example.other",
        "name": "Other",
        "version": "0.1.0",
        "server": { "executable": "mm-echo-plugin" },
    });
    std::fs::write(dir.path().join("plugin.json"), manifest.to_string()).unwrap();
    let error = host.restart_plugin().await.expect_err("another id");
    assert!(error.to_string().contains("id changed"), "{error}");

    host.stop().await;
}
