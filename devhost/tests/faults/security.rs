//! Hostile callers on the same machine: the host's API socket refuses calls without a live
//! plugin token, the plugin's hook socket refuses calls without the host's credential (a foreign
//! Shutdown must not cost a restart), sockets live in private directories, and nothing listens
//! beyond loopback.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use mattermost_plugin_api::{CallContext, PluginApi, PluginApiClient};
use mattermost_plugin_runtime::supervisor::{PluginAddress, call_shutdown, connect, health_check};

use crate::support::{Host, PluginDir, children_of};

/// Sockets under `dir` (recursively), e.g. the API socket and the plugin's.
fn sockets(dir: &Path) -> Vec<PathBuf> {
    use std::os::unix::fs::FileTypeExt;
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        match entry.file_type() {
            Ok(t) if t.is_dir() => out.extend(sockets(&path)),
            Ok(t) if t.is_socket() => out.push(path),
            _ => {}
        }
    }
    out
}

/// Local addresses of the TCP sockets `pid` listens on, from /proc.
fn tcp_listeners(pid: u32) -> Vec<String> {
    let mut inodes = std::collections::HashSet::new();
    if let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) {
        for fd in fds.flatten() {
            if let Ok(target) = std::fs::read_link(fd.path()) {
                let target = target.to_string_lossy().into_owned();
                if let Some(inode) = target
                    .strip_prefix("socket:[")
                    .and_then(|t| t.strip_suffix(']'))
                {
                    inodes.insert(inode.to_string());
                }
            }
        }
    }
    let mut out = Vec::new();
    for table in ["tcp", "tcp6"] {
        let Ok(text) = std::fs::read_to_string(format!("/proc/{pid}/net/{table}")) else {
            continue;
        };
        for line in text.lines().skip(1) {
            let fields: Vec<&str> = line.split_whitespace().collect();
            // local_address, st (0A = LISTEN), inode.
            if fields.len() > 9 && fields[3] == "0A" && inodes.contains(fields[9]) {
                out.push(format!("{table}:{}", fields[1]));
            }
        }
    }
    out
}

/// Whether a /proc/net/tcp{,6} hex address is on loopback.
fn is_loopback_hex(entry: &str) -> bool {
    let (table, address) = entry.split_once(':').unwrap();
    let ip = address.split(':').next().unwrap();
    if table == "tcp" {
        // Little-endian IPv4: 0100007F is 127.0.0.1; the first octet is the last byte.
        ip.len() == 8 && &ip[6..8] == "7F"
    } else {
        ip == "00000000000000000000000001000000"
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn foreign_callers_are_refused_and_nothing_listens_beyond_loopback() {
    let _serial = crate::serial().await;
    let plugin = PluginDir::new("com.example.faults-security", crate::faults::load::PLUGIN);
    let host = Host::start(&plugin, &[]);
    let found = sockets(&host.tmpdir());
    let api = found
        .iter()
        .find(|p| p.file_name().is_some_and(|n| n == "api.sock"))
        .unwrap_or_else(|| panic!("no API socket in the host's TMPDIR: {found:?}"));
    let hooks = found
        .iter()
        .find(|p| p.file_name().is_some_and(|n| n != "api.sock"))
        .unwrap_or_else(|| panic!("no plugin socket in the host's TMPDIR: {found:?}"));
    // Private directories: only this user can even connect.
    for socket in [api, hooks] {
        let mode = std::fs::metadata(socket.parent().unwrap())
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o700, "{} is not private", socket.display());
    }

    // The API socket: no token, a forged token.
    let channel = connect(&PluginAddress::Unix(api.clone())).await.unwrap();
    let anonymous = PluginApiClient::new(channel.clone());
    let forged = PluginApiClient::new(channel)
        .with_metadata("mm-plugin-token", "0123456789abcdef")
        .unwrap();
    for client in [anonymous, forged] {
        let error = client
            .get_server_version(&CallContext::default())
            .await
            .unwrap_err()
            .to_string();
        assert!(
            error.to_lowercase().contains("unauthenticated") || error.contains("mm-plugin-token"),
            "{error}"
        );
    }

    // The hook socket: health and Shutdown without the host's credential.
    let channel = connect(&PluginAddress::Unix(hooks.clone())).await.unwrap();
    let health = health_check(channel.clone(), "").await;
    assert!(health.is_err(), "an anonymous health check was answered");
    let shutdown = call_shutdown(channel.clone(), "not-the-token")
        .await
        .unwrap_err();
    assert_eq!(shutdown.code(), tonic::Code::Unauthenticated, "{shutdown}");
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let (status, state) = crate::support::ping(host.addr).await;
    assert_eq!(status, 200, "{state}");
    assert_eq!(
        state["plugin"]["generation"], 1,
        "a foreign Shutdown cost a restart: {state}"
    );

    // Listeners: the host's HTTP server on loopback; the plugin listens on no TCP port at all.
    let host_listeners = tcp_listeners(host.pid());
    assert!(!host_listeners.is_empty());
    for entry in &host_listeners {
        assert!(
            is_loopback_hex(entry),
            "host listens beyond loopback: {entry}"
        );
    }
    for pid in children_of(host.pid()) {
        let listeners = tcp_listeners(pid);
        assert!(
            listeners.is_empty(),
            "plugin {pid} listens on TCP: {listeners:?}"
        );
    }
}
