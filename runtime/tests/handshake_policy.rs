//! The supervisor refuses a handshake naming a TCP address off this machine before it connects
//! anywhere (the plugin here is a shell script that only prints the line; nothing listens at the
//! address, and nothing is sent to it).

use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use mattermost_plugin_runtime::supervisor::{
    CommandSpec, HandshakeError, StartError, Supervisor, SupervisorConfig,
};

fn script(dir: &std::path::Path, handshake: &str) -> std::path::PathBuf {
    let path = dir.join("plugin.sh");
    std::fs::write(
        &path,
        format!("#!/bin/sh\necho '{handshake}'\nexec sleep 30\n"),
    )
    .unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

#[tokio::test]
async fn a_non_loopback_tcp_handshake_is_refused_before_connecting() {
    let dir = tempfile::tempdir().unwrap();
    // TEST-NET-1: documentation-only, never routed.
    let plugin = script(dir.path(), "1|1|tcp|192.0.2.7:4321|grpc");
    let mut config =
        SupervisorConfig::new("com.example.far", CommandSpec::new(plugin), "unix:///x");
    config.start_timeout = Duration::from_secs(20);
    let started = std::time::Instant::now();
    let error = Supervisor::start(config).await.unwrap_err();
    match &error {
        StartError::Handshake { source, .. } => assert!(
            matches!(source, HandshakeError::NotLoopback { .. }),
            "{error}"
        ),
        other => panic!("expected a refused handshake, got: {other}"),
    }
    let message = error.to_string();
    assert!(
        message.contains("com.example.far") && message.contains("not a loopback address"),
        "{message}"
    );
    // Refused at once: a connect attempt to an unrouted address would hang until the timeout.
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_loopback_tcp_handshake_is_connected_to() {
    let dir = tempfile::tempdir().unwrap();
    // Nothing listens on this loopback port: the start gets as far as connecting, and fails there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let plugin = script(dir.path(), &format!("1|1|tcp|127.0.0.1:{port}|grpc"));
    let mut config =
        SupervisorConfig::new("com.example.near", CommandSpec::new(plugin), "unix:///x");
    config.start_timeout = Duration::from_secs(20);
    let error = Supervisor::start(config).await.unwrap_err();
    assert!(
        matches!(error, StartError::Connect { .. }),
        "expected a connect failure, got: {error}"
    );
}
