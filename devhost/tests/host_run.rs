//! `mm-plugin-host run` on a real plugin process (the Rust test plugin `mm-echo-plugin`): it starts,
//! activates (calling back into the API), serves HTTP, fires hooks from the REST surface, and
//! stops cleanly.

#[path = "host_support.rs"]
mod support;

use std::time::Duration;

use mattermost_plugin_devhost::host::{DevHost, HostConfig};
use support::{echo_plugin, http};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn plugin_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    // A server runs only executables inside the plugin's directory.
    std::fs::copy(echo_plugin(), dir.path().join("mm-echo-plugin")).unwrap();
    let manifest = serde_json::json!({
        "id": "com.example.rust-echo",
        "name": "Rust echo",
        "version": "0.1.0",
        "server": { "executable": "mm-echo-plugin" },
    });
    std::fs::write(dir.path().join("plugin.json"), manifest.to_string()).unwrap();
    dir
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_a_rust_plugin_end_to_end() {
    let dir = plugin_dir();
    let config = HostConfig {
        plugin_dir: dir.path().to_path_buf(),
        http_addr: "127.0.0.1:0".parse().unwrap(),
        hook_timeout: Duration::from_secs(10),
        ..HostConfig::new(dir.path())
    };
    let host = DevHost::start(config)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let addr = host.http_addr();
    assert!(
        host.implemented().iter().any(|h| h == "ServeHTTP"),
        "{:?}",
        host.implemented()
    );
    let pid = host.supervisor().pid().expect("running");

    // OnActivate called back into the API: GetServerVersion and LogInfo reached the backend.
    let logs = host.backend().logs();
    assert!(
        logs.iter()
            .any(|l| l.message.starts_with("echo plugin activated on")),
        "{logs:?}"
    );

    // The plugin's HTTP routes are served through ServeHTTP.
    let (status, _) = http(addr, "GET", "/plugins/com.example.rust-echo/status/201", "").await;
    assert_eq!(status, 201);
    let (status, _) = http(addr, "GET", "/plugins/com.example.rust-echo/nowhere", "").await;
    assert_eq!(status, 404);
    // ServeMetrics is not implemented by this plugin: Go's default, 404, without a call.
    let (status, body) = http(
        addr,
        "GET",
        "/metrics/plugins/com.example.rust-echo/metrics",
        "",
    )
    .await;
    assert_eq!(status, 404);
    assert!(body.contains("404 page not found"), "{body}");

    // A post runs MessageWillBePosted (which may rewrite or reject it), then is stored.
    let (status, body) = http(addr, "POST", "/api/v4/posts", r#"{"message":"hello"}"#).await;
    assert_eq!(status, 201, "{body}");
    let post: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(post["message"], "hello (echoed)");
    let (status, body) = http(
        addr,
        "GET",
        &format!("/api/v4/posts/{}", post["id"].as_str().unwrap()),
        "",
    )
    .await;
    assert_eq!(status, 200, "{body}");
    // Updating runs MessageWillBeUpdated (not implemented here: the edit passes unchanged).
    let post_id = post["id"].as_str().unwrap().to_string();
    let (status, body) = http(
        addr,
        "PUT",
        &format!("/api/v4/posts/{post_id}"),
        r#"{"message":"edited"}"#,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"message\":\"edited\""), "{body}");
    let (_, body) = http(addr, "GET", &format!("/api/v4/posts/{post_id}/thread"), "").await;
    assert!(body.contains("edited"), "{body}");

    // Adding a member runs ChannelMemberWillBeAdded → add → UserHasJoinedChannel.
    let newcomer = host.backend().seed_user("newcomer").unwrap();
    host.backend()
        .seed_team_member(&host.seed().team.id, &newcomer.id)
        .unwrap();
    let channel = host
        .backend()
        .seed_channel(&host.seed().team.id, "side")
        .unwrap();
    let (status, body) = http(
        addr,
        "POST",
        &format!("/api/v4/channels/{}/members", channel.id),
        &format!(r#"{{"user_id":"{}"}}"#, newcomer.id),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    assert!(body.contains(&newcomer.id), "{body}");

    let (status, body) = http(
        addr,
        "POST",
        "/api/v4/posts",
        r#"{"message":"please reject me"}"#,
    )
    .await;
    assert_eq!(status, 400);
    assert!(body.contains("the echo plugin rejects this"), "{body}");

    // A slash command reaches ExecuteCommand.
    let (status, body) = http(
        addr,
        "POST",
        "/api/v4/commands/execute",
        r#"{"command":"/echo hi"}"#,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("echo: /echo hi"), "{body}");

    // Configuration changes are stored and announced.
    let (status, body) = http(
        addr,
        "PUT",
        "/api/v4/plugins/com.example.rust-echo/config",
        r#"{"Greeting":"hi"}"#,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        host.backend().plugin_config_json("com.example.rust-echo"),
        br#"{"Greeting":"hi"}"#
    );

    // Uploads go straight to the store when the plugin has no FileWillBeUploaded; downloads
    // pass FileWillBeDownloaded's default (allow).
    let (status, body) = http(
        addr,
        "POST",
        "/api/v4/files?filename=notes/report.txt",
        "quarterly figures",
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let file: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(file["name"], "report.txt");
    assert_eq!(file["size"], 17);
    assert_eq!(file["channel_id"], host.seed().channel.id.as_str());
    let (status, body) = http(
        addr,
        "GET",
        &format!("/api/v4/files/{}", file["id"].as_str().unwrap()),
        "",
    )
    .await;
    assert_eq!((status, body.as_str()), (200, "quarterly figures"));
    let (status, body) = http(addr, "POST", "/api/v4/files", "x").await;
    assert_eq!(status, 400);
    assert!(body.contains("`filename` is required"), "{body}");
    let (status, _) = http(addr, "GET", "/api/v4/files/nosuchfile0000000000000000", "").await;
    assert_eq!(status, 404);
    // Too large is refused from the declared length, before any of the body is read.
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(
            b"POST /api/v4/files?filename=huge.bin HTTP/1.1\r\nHost: test\r\nContent-Length: 200000000\r\nConnection: close\r\n\r\n",
        )
        .await
        .unwrap();
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).await.unwrap();
    assert_eq!(&head, b"HTTP/1.1 413");

    let (status, body) = http(addr, "GET", "/api/v4/system/ping", "").await;
    assert_eq!(status, 200);
    assert!(body.contains("MessageWillBePosted"), "{body}");

    host.stop().await;
    let gone = unsafe { libc_kill(pid as i32, 0) } != 0;
    assert!(gone, "the plugin process {pid} is gone after stop");
}

unsafe extern "C" {
    #[link_name = "kill"]
    fn libc_kill(pid: i32, sig: i32) -> i32;
}
