//! The go-plugin handshake line parser: never panics; an accepted line round-trips through its
//! rendering and is recognised as a handshake candidate; an accepted TCP address is loopback.

use mattermost_plugin_runtime::supervisor::{
    APP_PROTOCOL_VERSION, Handshake, PluginAddress, is_handshake_candidate, parse_handshake,
};

use super::Bytes;

/// The handshake line a plugin would print for `h`.
pub fn render(h: &Handshake) -> String {
    let (network, address) = match &h.address {
        PluginAddress::Unix(path) => ("unix", path.to_string_lossy().into_owned()),
        PluginAddress::Tcp(addr) => ("tcp", addr.to_string()),
    };
    let mut line = format!(
        "{}|{}|{network}|{address}|{}",
        h.core_version, h.app_version, h.protocol
    );
    if let Some(cert) = &h.server_cert {
        line.push('|');
        line.push_str(cert);
    }
    line
}

/// Never panics; whatever is accepted re-renders to a line that parses to the same handshake.
pub fn check(line: &str) {
    let _ = is_handshake_candidate(line);
    let Ok(handshake) = parse_handshake(line, APP_PROTOCOL_VERSION) else {
        return;
    };
    let rendered = render(&handshake);
    assert!(
        is_handshake_candidate(&rendered),
        "{line:?} was accepted but its rendering {rendered:?} is not a candidate"
    );
    assert_eq!(
        parse_handshake(&rendered, APP_PROTOCOL_VERSION).as_ref(),
        Ok(&handshake),
        "{line:?} does not round-trip through {rendered:?}"
    );
}

/// A line the parser accepts is one the supervisor would have picked out of the plugin's
/// stdout as a candidate (otherwise it is skipped as noise).
pub fn check_accepted_lines_are_candidates(line: &str) {
    if parse_handshake(line, APP_PROTOCOL_VERSION).is_ok() {
        assert!(
            is_handshake_candidate(line),
            "{line:?} parses as a handshake but is not recognised as a candidate"
        );
    }
}

/// The host only dials a plugin on this machine.
pub fn check_tcp_is_loopback(line: &str) {
    if let Ok(Handshake {
        address: PluginAddress::Tcp(addr),
        ..
    }) = parse_handshake(line, APP_PROTOCOL_VERSION)
    {
        assert!(
            addr.ip().to_canonical().is_loopback(),
            "{line:?} was accepted with the non-loopback address {addr}"
        );
    }
}

pub const VERSIONS: &[&str] = &["1", "01", "+1", "2", "0", "4294967296", "", " 1", "x"];
pub const NETWORKS: &[&str] = &["unix", "tcp", "udp", "", "UNIX", "tcp6", " unix"];
pub const ADDRESSES: &[&str] = &[
    "/tmp/plugin/sock",
    "127.0.0.1:1234",
    "127.8.9.10:1",
    "[::1]:80",
    "0.0.0.0:80",
    "10.0.0.1:5",
    "[::]:80",
    "[::ffff:127.0.0.1]:80",
    "[fe80::1%2]:80",
    "localhost:80",
    "::1:80",
    "127.0.0.1",
    "127.0.0.1:99999",
    " /s ",
    "",
    "é/ü",
];
pub const PROTOCOLS: &[&str] = &["grpc", "netrpc", "GRPC", "", "grpc ", " grpc"];
pub const EDGES: &[&str] = &["", " ", "\n", "\r\n", "\t", "|", "\u{0}", "\u{feff}"];

/// A line assembled from plausible fields (so acceptance is reached often), driven by `b`.
pub fn line_from(b: &mut Bytes) -> String {
    if b.below(4) == 0 {
        return b.string(64);
    }
    let mut fields = vec![
        b.pick(VERSIONS).to_string(),
        b.pick(VERSIONS).to_string(),
        b.pick(NETWORKS).to_string(),
        if b.bool() {
            b.pick(ADDRESSES).to_string()
        } else {
            b.string(24).replace('|', "")
        },
        b.pick(PROTOCOLS).to_string(),
    ];
    if b.bool() {
        fields.push(b.string(16));
    }
    format!("{}{}{}", b.pick(EDGES), fields.join("|"), b.pick(EDGES))
}
