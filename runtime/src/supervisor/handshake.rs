//! The go-plugin handshake line: `CORE|APP|NETWORK|ADDRESS|PROTOCOL[|SERVER_CERT]`.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;

/// go-plugin's core protocol version: the first field of the handshake line.
pub use mattermost_plugin_api::protocol::CORE_PROTOCOL_VERSION;
use mattermost_plugin_api::protocol::HANDSHAKE_PROTOCOL;

/// Where a plugin serves gRPC, as announced in its handshake.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PluginAddress {
    /// A Unix domain socket (network `unix`).
    Unix(PathBuf),
    /// A TCP address (network `tcp`), e.g. `127.0.0.1:1234`.
    Tcp(SocketAddr),
}

impl fmt::Display for PluginAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PluginAddress::Unix(path) => write!(f, "unix:{}", path.display()),
            PluginAddress::Tcp(addr) => write!(f, "tcp:{addr}"),
        }
    }
}

/// A parsed handshake line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Handshake {
    /// Core protocol version (always [`CORE_PROTOCOL_VERSION`] once validated).
    pub core_version: u32,
    /// Application protocol version (the one the host asked for once validated).
    pub app_version: u32,
    /// Where the plugin's gRPC server listens.
    pub address: PluginAddress,
    /// Wire protocol (always `grpc` once validated).
    pub protocol: String,
    /// go-plugin's optional sixth field (AutoMTLS server certificate); this host never asks for
    /// AutoMTLS, so it is kept only for logging.
    pub server_cert: Option<String>,
}

/// Why a handshake line was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HandshakeError {
    /// The line does not have the `CORE|APP|NETWORK|ADDRESS|PROTOCOL` shape.
    #[error("malformed handshake: {reason}")]
    Malformed { reason: String },
    /// The core protocol version is not go-plugin's.
    #[error("core protocol version {got} is not supported (this host speaks {expected})")]
    CoreProtocolVersion { got: u32, expected: u32 },
    /// The application protocol version is not the one the host asked for.
    #[error("app protocol version {got} is not supported (this host speaks {expected})")]
    AppProtocolVersion { got: u32, expected: u32 },
    /// A network other than `unix` or `tcp`.
    #[error("network {network:?} is not supported (expected \"unix\" or \"tcp\")")]
    UnsupportedNetwork { network: String },
    /// A TCP address that is not on this machine's loopback interface: the plugin is a local
    /// child process, so anything else would send hook traffic (and the host's credential) away.
    #[error(
        "tcp address {address} is not a loopback address; plugins must listen on 127.0.0.1 or ::1"
    )]
    NotLoopback { address: SocketAddr },
    /// A protocol other than `grpc` (e.g. go-plugin's `netrpc`).
    #[error("protocol {protocol:?} is not supported (expected \"grpc\")")]
    UnsupportedProtocol { protocol: String },
}

/// Whether a stdout line is meant as the handshake: its first `|`-separated field is a number.
///
/// Anything else printed before the handshake is noise (a plugin's library logging to stdout,
/// a banner, …): it is logged and skipped. A line that *is* a candidate but does not parse is an
/// error, not noise, so a broken handshake fails fast instead of waiting for the start timeout.
pub fn is_handshake_candidate(line: &str) -> bool {
    match line.trim().split_once('|') {
        Some((first, _)) => !first.is_empty() && first.bytes().all(|b| b.is_ascii_digit()),
        None => false,
    }
}

/// Parses and validates a handshake line against the core protocol and `app_version`.
pub fn parse_handshake(line: &str, app_version: u32) -> Result<Handshake, HandshakeError> {
    let fields: Vec<&str> = line.trim().split('|').collect();
    if !(5..=6).contains(&fields.len()) {
        return Err(HandshakeError::Malformed {
            reason: format!(
                "expected 5 fields CORE|APP|NETWORK|ADDRESS|PROTOCOL, got {}",
                fields.len()
            ),
        });
    }
    // Digits only: Rust's integer parser also takes a leading '+', which would accept lines
    // that `is_handshake_candidate` (and go-plugin) do not.
    let version = |what: &str, field: &str| {
        field
            .bytes()
            .all(|b| b.is_ascii_digit())
            .then(|| field.parse::<u32>().ok())
            .flatten()
            .ok_or_else(|| HandshakeError::Malformed {
                reason: format!("{what} protocol version {field:?} is not a number"),
            })
    };
    let core_version = version("core", fields[0])?;
    if core_version != CORE_PROTOCOL_VERSION {
        return Err(HandshakeError::CoreProtocolVersion {
            got: core_version,
            expected: CORE_PROTOCOL_VERSION,
        });
    }
    let app = version("app", fields[1])?;
    if app != app_version {
        return Err(HandshakeError::AppProtocolVersion {
            got: app,
            expected: app_version,
        });
    }
    let address = match (fields[2], fields[3]) {
        (_, "") => {
            return Err(HandshakeError::Malformed {
                reason: "empty address".to_string(),
            });
        }
        ("unix", path) => PluginAddress::Unix(PathBuf::from(path)),
        ("tcp", addr) => {
            let address: SocketAddr = addr.parse().map_err(|_| HandshakeError::Malformed {
                reason: format!("tcp address {addr:?} is not host:port"),
            })?;
            // Checked before anything connects: the host never dials out on a plugin's word.
            if !address.ip().is_loopback() {
                return Err(HandshakeError::NotLoopback { address });
            }
            PluginAddress::Tcp(address)
        }
        (network, _) => {
            return Err(HandshakeError::UnsupportedNetwork {
                network: network.to_string(),
            });
        }
    };
    let protocol = fields[4];
    if protocol != HANDSHAKE_PROTOCOL {
        return Err(HandshakeError::UnsupportedProtocol {
            protocol: protocol.to_string(),
        });
    }
    Ok(Handshake {
        core_version,
        app_version: app,
        address,
        protocol: protocol.to_string(),
        server_cert: fields
            .get(5)
            .filter(|c| !c.is_empty())
            .map(|c| c.to_string()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_unix_and_tcp() {
        let h = parse_handshake("1|1|unix|/tmp/plugin123/sock|grpc\n", 1).unwrap();
        assert_eq!(h.address, PluginAddress::Unix("/tmp/plugin123/sock".into()));
        assert_eq!(h.protocol, "grpc");
        assert_eq!(h.server_cert, None);
        let h = parse_handshake("1|1|tcp|127.0.0.1:4321|grpc|", 1).unwrap();
        assert_eq!(
            h.address,
            PluginAddress::Tcp("127.0.0.1:4321".parse().unwrap())
        );
    }

    #[test]
    fn rejects_bad_lines() {
        use HandshakeError::*;
        assert!(matches!(
            parse_handshake("1|1|unix", 1),
            Err(Malformed { .. })
        ));
        assert!(matches!(
            parse_handshake("1|x|unix|/s|grpc", 1),
            Err(Malformed { .. })
        ));
        assert!(matches!(
            parse_handshake("+1|1|unix|/s|grpc", 1),
            Err(Malformed { .. })
        ));
        assert!(matches!(
            parse_handshake("1|1|unix||grpc", 1),
            Err(Malformed { .. })
        ));
        assert!(matches!(
            parse_handshake("1|1|tcp|nope|grpc", 1),
            Err(Malformed { .. })
        ));
        assert_eq!(
            parse_handshake("2|1|unix|/s|grpc", 1),
            Err(CoreProtocolVersion {
                got: 2,
                expected: 1
            })
        );
        assert_eq!(
            parse_handshake("1|3|unix|/s|grpc", 1),
            Err(AppProtocolVersion {
                got: 3,
                expected: 1
            })
        );
        assert!(matches!(
            parse_handshake("1|1|udp|/s|grpc", 1),
            Err(UnsupportedNetwork { .. })
        ));
        assert!(matches!(
            parse_handshake("1|1|unix|/s|netrpc", 1),
            Err(UnsupportedProtocol { .. })
        ));
    }

    #[test]
    fn tcp_must_be_loopback() {
        for line in [
            "1|1|tcp|127.0.0.1:4321|grpc",
            "1|1|tcp|127.8.9.10:4321|grpc",
            "1|1|tcp|[::1]:4321|grpc",
        ] {
            assert!(parse_handshake(line, 1).is_ok(), "{line}");
        }
        for line in [
            "1|1|tcp|0.0.0.0:4321|grpc",
            "1|1|tcp|10.1.2.3:4321|grpc",
            "1|1|tcp|192.0.2.7:80|grpc",
            "1|1|tcp|[::]:4321|grpc",
            "1|1|tcp|[2001:db8::1]:4321|grpc",
            "1|1|tcp|[::ffff:192.0.2.7]:4321|grpc",
        ] {
            let error = parse_handshake(line, 1).unwrap_err();
            assert!(
                matches!(error, HandshakeError::NotLoopback { .. }),
                "{line}: {error}"
            );
            assert!(error.to_string().contains("not a loopback address"));
        }
    }

    #[test]
    fn candidates() {
        assert!(is_handshake_candidate("1|1|unix|/s|grpc"));
        assert!(is_handshake_candidate("1|garbage"));
        assert!(!is_handshake_candidate("starting up..."));
        assert!(!is_handshake_candidate("a|b|c"));
        assert!(!is_handshake_candidate("|1|1"));
        assert!(!is_handshake_candidate(r#"{"@level":"info"}"#));
    }
}
