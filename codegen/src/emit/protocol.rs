//! The protocol constants a plugin and its host share: the go-plugin handshake, the environment
//! a host gives a plugin process, gRPC metadata keys, service names and sizes. One table, emitted
//! as the Rust crate's `src/protocol.rs` and the Python package's `protocol.py`; the runtime, the
//! dev host, the generated adapters and the Python SDK import them from there instead of repeating
//! the literals.
//!
//! These do not come from Mattermost's Go source (go-plugin's handshake values are Mattermost's
//! own; the rest is this project's), so they are data here rather than part of the IR.

/// A constant's value, as each language types it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Value {
    /// `&str` / `str`.
    Str(&'static str),
    /// `u32` / `int`.
    U32(u32),
    /// `usize` / `int`: a size in bytes.
    Usize(usize),
}

/// One constant: its name (the same in every language), value and what it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Constant {
    /// Upper snake case, the name in every language.
    pub name: &'static str,
    pub value: Value,
    /// One or two sentences for the generated docs.
    pub doc: &'static str,
}

const fn c(name: &'static str, value: Value, doc: &'static str) -> Constant {
    Constant { name, value, doc }
}

/// Every protocol constant, in the order the generated files list them.
pub const CONSTANTS: &[Constant] = &[
    // The go-plugin handshake.
    c(
        "MAGIC_COOKIE_KEY",
        Value::Str("MATTERMOST_PLUGIN"),
        "The environment variable of go-plugin's magic cookie: a plugin started without it (or with another value) was not started by a host and refuses to run.",
    ),
    c(
        "MAGIC_COOKIE_VALUE",
        Value::Str("Securely message teams, anywhere."),
        "The value of the magic cookie Mattermost's hosts set.",
    ),
    c(
        "CORE_PROTOCOL_VERSION",
        Value::U32(1),
        "go-plugin's core protocol version: the first field of the handshake line `CORE|APP|NETWORK|ADDRESS|PROTOCOL`.",
    ),
    c(
        "APP_PROTOCOL_VERSION",
        Value::U32(1),
        "The application protocol version Mattermost's plugins speak: the second field of the handshake line, offered in `ENV_PROTOCOL_VERSIONS`.",
    ),
    c(
        "HANDSHAKE_PROTOCOL",
        Value::Str("grpc"),
        "The last field of the handshake line: the plugin serves go-plugin's gRPC flavour (not `netrpc`).",
    ),
    c(
        "ENV_PROTOCOL_VERSIONS",
        Value::Str("PLUGIN_PROTOCOL_VERSIONS"),
        "go-plugin's environment variable listing the application protocol versions the host speaks.",
    ),
    // The environment a host gives a plugin process.
    c(
        "ENV_PLUGIN_ID",
        Value::Str("MM_PLUGIN_ID"),
        "Environment variable carrying the plugin's id.",
    ),
    c(
        "ENV_API_ADDR",
        Value::Str("MM_PLUGIN_API_ADDR"),
        "Environment variable carrying the address of the host's API server, as a gRPC target (`unix:///path` or `host:port`).",
    ),
    c(
        "ENV_API_TOKEN",
        Value::Str("MM_PLUGIN_API_TOKEN"),
        "Environment variable carrying the process's API token (fresh for every start), sent as `API_TOKEN_METADATA` on every API call.",
    ),
    c(
        "ENV_HOOK_TOKEN",
        Value::Str("MM_PLUGIN_HOOK_TOKEN"),
        "Environment variable carrying the secret the host sends as `HOOK_TOKEN_METADATA` with every call into the plugin (fresh for every start): the plugin refuses calls without it.",
    ),
    c(
        "ENV_SOCKET_DIR",
        Value::Str("MM_PLUGIN_SOCKET_DIR"),
        "Environment variable naming the private (0700) directory the host made for the plugin's socket; the host removes it once the process is gone.",
    ),
    // gRPC metadata.
    c(
        "API_TOKEN_METADATA",
        Value::Str("mm-plugin-token"),
        "gRPC metadata key of the plugin's API token on every call to the host's API server.",
    ),
    c(
        "HOOK_TOKEN_METADATA",
        Value::Str("mm-plugin-hook-token"),
        "gRPC metadata key of the host's hook token on every call into the plugin (hooks, health, Shutdown).",
    ),
    c(
        "PLUGIN_ID_METADATA",
        Value::Str("mm-plugin-id"),
        "gRPC metadata key of the calling plugin's id, set by the API server from the caller's token.",
    ),
    // Services and the socket.
    c(
        "HEALTH_SERVICE",
        Value::Str("plugin"),
        "The service name a plugin reports SERVING for in `grpc.health.v1`, as go-plugin registers it.",
    ),
    c(
        "CONTROLLER_SERVICE",
        Value::Str("plugin.GRPCController"),
        "go-plugin's controller service, whose `Shutdown` asks the plugin to exit.",
    ),
    c(
        "SHUTDOWN_PATH",
        Value::Str("/plugin.GRPCController/Shutdown"),
        "The gRPC path of the controller's `Shutdown` (`google.protobuf.Empty` in and out).",
    ),
    c(
        "SOCKET_FILE",
        Value::Str("plugin.sock"),
        "The file name of the plugin's Unix socket inside its socket directory.",
    ),
    c(
        "SOCKET_DIR_PREFIX",
        Value::Str("mm-plugin-"),
        "Name prefix of the private socket directories made under TMPDIR: by the host for each plugin process, or by a plugin started without `ENV_SOCKET_DIR`.",
    ),
    // Sizes.
    c(
        "MAX_CHUNK",
        Value::Usize(64 * 1024),
        "The largest byte chunk in one stream frame (64 KiB): HTTP bodies, uploads and files are cut into chunks of at most this many bytes.",
    ),
];

impl Value {
    /// The value as a Python literal (a JSON string literal is one too).
    pub fn python_literal(self) -> String {
        match self {
            Value::Str(s) => serde_json::to_string(s).unwrap_or_default(),
            Value::U32(n) => n.to_string(),
            Value::Usize(n) => n.to_string(),
        }
    }

    /// The Python annotation: `Final[str]` or `Final[int]`.
    pub fn python_type(self) -> &'static str {
        match self {
            Value::Str(_) => "Final[str]",
            Value::U32(_) | Value::Usize(_) => "Final[int]",
        }
    }
}

/// `text` cut into lines of at most `width` characters at spaces (a longer word stays whole).
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && line.len() + 1 + word.len() > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_upper_snake_case() {
        let mut seen = std::collections::BTreeSet::new();
        for k in CONSTANTS {
            assert!(seen.insert(k.name), "{} twice", k.name);
            assert!(
                k.name
                    .bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_'),
                "{}",
                k.name
            );
            // Docs go into Python docstrings and Rust doc comments as they are.
            assert!(!k.doc.contains('"') && !k.doc.contains('\\'), "{}", k.name);
            assert!(k.doc.ends_with('.'), "{}", k.name);
        }
    }

    #[test]
    fn shutdown_path_names_the_controller() {
        let get = |name: &str| {
            CONSTANTS
                .iter()
                .find(|k| k.name == name)
                .map(|k| k.value)
                .unwrap()
        };
        let (Value::Str(service), Value::Str(path)) =
            (get("CONTROLLER_SERVICE"), get("SHUTDOWN_PATH"))
        else {
            panic!("strings");
        };
        assert_eq!(path, format!("/{service}/Shutdown"));
    }

    #[test]
    fn wrap_cuts_at_spaces() {
        assert_eq!(wrap("a bb ccc dddd", 6), ["a bb", "ccc", "dddd"]);
        assert_eq!(wrap("toolongword x", 4), ["toolongword", "x"]);
        assert!(wrap("", 10).is_empty());
    }
}
