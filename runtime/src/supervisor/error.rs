//! Typed errors, each naming the plugin and carrying what the plugin said on stderr.

use std::fmt;
use std::process::ExitStatus;
use std::time::Duration;

use super::handshake::{HandshakeError, PluginAddress};
use super::output::StderrTail;

/// The step of a start that failed or timed out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartPhase {
    /// Waiting for the handshake line on stdout.
    Handshake,
    /// Connecting to the address from the handshake.
    Connect,
    /// The first `grpc.health.v1.Health/Check`.
    HealthCheck,
}

impl fmt::Display for StartPhase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            StartPhase::Handshake => "the handshake",
            StartPhase::Connect => "connecting",
            StartPhase::HealthCheck => "the first health check",
        })
    }
}

/// Why a health check failed.
#[derive(Debug, thiserror::Error)]
pub enum HealthError {
    /// No answer in time.
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    /// The call failed.
    #[error("health check call failed: {0}")]
    Rpc(#[from] tonic::Status),
    /// The plugin answered, but not SERVING.
    #[error("plugin reports {0}, not SERVING")]
    NotServing(String),
}

/// Why a plugin process could not be started.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The token issuer failed.
    #[error("plugin {plugin_id}: could not issue an API token: {source}")]
    Token {
        plugin_id: String,
        source: std::io::Error,
    },
    /// The executable could not be spawned (missing, not executable, …).
    #[error("plugin {plugin_id}: could not spawn {program}: {source}")]
    Spawn {
        plugin_id: String,
        program: String,
        source: std::io::Error,
    },
    /// The process exited during the start.
    #[error("plugin {plugin_id}: process exited ({status}) before {phase} completed{stderr}")]
    Exited {
        plugin_id: String,
        status: ExitStatus,
        phase: StartPhase,
        stderr: StderrTail,
    },
    /// The start took longer than `start_timeout`.
    #[error(
        "plugin {plugin_id}: {phase} did not complete within the start timeout of {timeout:?}{stderr}"
    )]
    Timeout {
        plugin_id: String,
        phase: StartPhase,
        timeout: Duration,
        stderr: StderrTail,
    },
    /// The handshake line was malformed or announced something this host does not speak.
    #[error("plugin {plugin_id}: rejected handshake line {line:?}: {source}{stderr}")]
    Handshake {
        plugin_id: String,
        line: String,
        source: HandshakeError,
        stderr: StderrTail,
    },
    /// Could not connect to the announced address.
    #[error("plugin {plugin_id}: could not connect to {address}: {source}{stderr}")]
    Connect {
        plugin_id: String,
        address: PluginAddress,
        source: tonic::transport::Error,
        stderr: StderrTail,
    },
    /// The first health check failed.
    #[error("plugin {plugin_id}: first health check failed: {source}{stderr}")]
    HealthCheck {
        plugin_id: String,
        source: HealthError,
        stderr: StderrTail,
    },
    /// An I/O error while starting: reading the plugin's stdout, or waiting for the process.
    #[error("plugin {plugin_id}: {context} failed during the start: {source}{stderr}")]
    Io {
        plugin_id: String,
        context: &'static str,
        source: std::io::Error,
        stderr: StderrTail,
    },
}

impl StartError {
    /// The plugin the error is about.
    pub fn plugin_id(&self) -> &str {
        match self {
            StartError::Token { plugin_id, .. }
            | StartError::Spawn { plugin_id, .. }
            | StartError::Exited { plugin_id, .. }
            | StartError::Timeout { plugin_id, .. }
            | StartError::Handshake { plugin_id, .. }
            | StartError::Connect { plugin_id, .. }
            | StartError::HealthCheck { plugin_id, .. }
            | StartError::Io { plugin_id, .. } => plugin_id,
        }
    }

    /// What the plugin wrote to stderr last, when the error carries it.
    pub fn stderr(&self) -> Option<&StderrTail> {
        match self {
            StartError::Token { .. } | StartError::Spawn { .. } => None,
            StartError::Exited { stderr, .. }
            | StartError::Timeout { stderr, .. }
            | StartError::Handshake { stderr, .. }
            | StartError::Connect { stderr, .. }
            | StartError::HealthCheck { stderr, .. }
            | StartError::Io { stderr, .. } => Some(stderr),
        }
    }
}
