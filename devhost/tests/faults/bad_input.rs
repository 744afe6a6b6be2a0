//! Bad input: malformed REST requests get 4xx and never disturb the plugin; plugins the server
//! would refuse (manifest) or that speak the protocol wrong (handshake) are refused before they
//! serve anything, with a message naming the problem, leaving nothing behind; oversize bodies are
//! refused from their declared length.

use std::time::Duration;

use crate::support::{Client, Host, PluginDir, free_port, wait_exit};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_requests_get_4xx_and_the_plugin_is_untouched() {
    let _serial = crate::serial().await;
    let plugin = PluginDir::new("com.example.faults-bad-rest", crate::faults::load::PLUGIN);
    let host = Host::start(&plugin, &[]);
    let config = format!("/api/v4/plugins/{}/config", plugin.id);
    let big = format!(r#"{{"message": "{}"}}"#, "x".repeat(8 << 20));
    let cases: Vec<(&str, &str, Vec<u8>)> = vec![
        ("POST", "/api/v4/posts", b"{not json".to_vec()),
        ("POST", "/api/v4/posts", b"[]".to_vec()),
        ("POST", "/api/v4/posts", br#"{"message": 3}"#.to_vec()),
        (
            "POST",
            "/api/v4/posts",
            br#"{"message": "hi", "channel_id": "nope"}"#.to_vec(),
        ),
        ("POST", "/api/v4/posts", big.into_bytes()),
        (
            "PUT",
            "/api/v4/posts/doesnotexist",
            br#"{"message": "x"}"#.to_vec(),
        ),
        (
            "POST",
            "/api/v4/channels/nope/members",
            br#"{"user_id": "nope"}"#.to_vec(),
        ),
        (
            "POST",
            "/api/v4/commands/execute",
            br#"{"command": ""}"#.to_vec(),
        ),
        ("PUT", &config, b"\xff\xfe not json".to_vec()),
        ("PUT", "/api/v4/plugins/someone.else/config", b"{}".to_vec()),
        ("POST", "/api/v4/files", b"no filename".to_vec()),
        ("GET", "/api/v4/files/doesnotexist", Vec::new()),
        ("GET", "/api/v4/posts/%ff%fe", Vec::new()),
    ];
    for (method, path, body) in &cases {
        // A new connection each time: refusing a body unread closes the connection.
        let mut client = Client::connect(host.addr).await.unwrap();
        let (status, answer) = client
            .request(method, path, body)
            .await
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        assert!(
            (400..500).contains(&status),
            "{method} {path}: {status} {}",
            String::from_utf8_lossy(&answer)
        );
    }
    // A declared upload past the 100 MiB limit is refused before its body is read.
    let mut stream = tokio::net::TcpStream::connect(host.addr).await.unwrap();
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    stream
        .write_all(b"POST /api/v4/files?filename=big.bin HTTP/1.1\r\nHost: x\r\nContent-Length: 209715200\r\n\r\n")
        .await
        .unwrap();
    let mut answer = vec![0u8; 512];
    let n = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut answer))
        .await
        .expect("an oversize upload is answered without sending its body")
        .unwrap();
    let answer = String::from_utf8_lossy(&answer[..n]);
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");

    let (status, state) = crate::support::ping(host.addr).await;
    assert_eq!(status, 200, "{state}");
    assert_eq!(state["plugin"]["generation"], 1, "{state}");
    let mut client = Client::connect(host.addr).await.unwrap();
    let (status, _) = client
        .request("GET", &format!("/plugins/{}/status", plugin.id), b"")
        .await
        .unwrap();
    assert_eq!(status, 200);
}

/// Runs `mm-plugin-host` on `dir` expecting it to refuse: returns its stderr.
fn refused(dir: &std::path::Path) -> String {
    let tmp = tempfile::tempdir().unwrap();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_mm-plugin-host"))
        .arg("run")
        .arg(dir)
        .args(["--listen", &format!("127.0.0.1:{}", free_port())])
        .env("TMPDIR", tmp.path())
        .env_remove("XDG_RUNTIME_DIR")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    assert!(
        wait_exit(&mut child, Duration::from_secs(30)),
        "the host did not give up"
    );
    let output = child.wait_with_output().unwrap();
    assert!(!output.status.success());
    let left: Vec<_> = std::fs::read_dir(tmp.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert!(left.is_empty(), "left in TMPDIR: {left:?}");
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// A plugin script that leaves a mark if it ever runs.
const MARKING: &str = "import pathlib, sys\npathlib.Path(sys.argv[0]).with_name('ran').touch()\n";

#[test]
fn plugins_a_server_would_refuse_never_start() {
    let _serial = crate::serial_blocking();
    let cases: Vec<(serde_json::Value, &str)> = vec![
        (
            serde_json::json!({"id": "com.example bad id", "server": {"runtime": "python", "executable": "plugin.py"}}),
            "id",
        ),
        (
            serde_json::json!({"id": "com.example/slash", "server": {"runtime": "python", "executable": "plugin.py"}}),
            "id",
        ),
        (
            serde_json::json!({"id": "com.example.escape", "server": {"runtime": "python", "executable": "../plugin.py"}}),
            "executable",
        ),
        (
            serde_json::json!({"id": "com.example.absolute", "server": {"executable": "/bin/true"}}),
            "executable",
        ),
        (
            serde_json::json!({"id": "com.example.future", "min_server_version": "99.0.0", "server": {"runtime": "python", "executable": "plugin.py"}}),
            "99.0.0",
        ),
        (
            serde_json::json!({"id": "com.example.badversion", "min_server_version": "soon", "server": {"runtime": "python", "executable": "plugin.py"}}),
            "min_server_version",
        ),
    ];
    for (manifest, mentions) in cases {
        let plugin = PluginDir::new("com.example.placeholder", MARKING);
        std::fs::write(plugin.path().join("plugin.json"), manifest.to_string()).unwrap();
        let stderr = refused(plugin.path());
        assert!(stderr.contains(mentions), "{manifest}: {stderr}");
        assert!(
            !plugin.path().join("ran").exists(),
            "{manifest}: the plugin ran"
        );
    }
}

#[test]
fn a_broken_handshake_is_refused_with_the_line() {
    let _serial = crate::serial_blocking();
    for (line, mentions) in [
        ("1|1|tcp|192.0.2.7:4321|grpc", "not a loopback address"),
        ("1|1|unix|/nonexistent/plugin.sock|netrpc", "netrpc"),
        ("9|1|unix|/x|grpc", "core protocol version"),
        ("1|1|garbage", "malformed handshake"),
    ] {
        let plugin = PluginDir::new(
            "com.example.faults-handshake",
            &format!("import os, time\nos.write(1, b'{line}\\n')\ntime.sleep(30)\n"),
        );
        let stderr = refused(plugin.path());
        assert!(
            stderr.contains(mentions) && stderr.contains("com.example.faults-handshake"),
            "{line}: {stderr}"
        );
    }
}
