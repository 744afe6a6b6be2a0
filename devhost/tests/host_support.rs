//! Helpers of the `host_*` tests, which include this file with
//! `#[path = "host_support.rs"] mod support;`. (Cargo also builds it as a test target of its own;
//! it has no tests of its own.)
#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The test plugin binary, built on demand when this package is tested on its own.
pub fn echo_plugin() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let bin_dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .unwrap()
        .to_path_buf();
    let plugin = bin_dir.join("mm-echo-plugin");
    if !plugin.is_file() {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let status = std::process::Command::new(cargo)
            .args([
                "build",
                "-p",
                "mattermost-plugin-runtime",
                "--bin",
                "mm-echo-plugin",
            ])
            .status()
            .unwrap();
        assert!(status.success(), "building mm-echo-plugin");
    }
    plugin
}

/// A minimal HTTP/1.1 exchange: (status, body), bounded.
pub async fn http(addr: SocketAddr, method: &str, path: &str, body: &str) -> (u16, String) {
    let exchange = async {
        let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        let request = format!(
            "{method} {path} HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).await.unwrap();
        String::from_utf8_lossy(&raw).into_owned()
    };
    let text = tokio::time::timeout(Duration::from_secs(30), exchange)
        .await
        .expect("an answer within 30 s");
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}
