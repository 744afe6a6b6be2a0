//! What to run and the supervision policy.

use std::ffi::OsString;
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

// The protocol's names and values come from the generated crate, shared with the Python SDK.
pub use mattermost_plugin_api::protocol::{
    APP_PROTOCOL_VERSION, ENV_API_ADDR, ENV_API_TOKEN, ENV_HOOK_TOKEN, ENV_PLUGIN_ID,
    ENV_PROTOCOL_VERSIONS, ENV_SOCKET_DIR, HEALTH_SERVICE, HOOK_TOKEN_METADATA, MAGIC_COOKIE_KEY,
    MAGIC_COOKIE_VALUE,
};

/// How to launch the plugin executable.
///
/// The child inherits the host's environment, plus [`CommandSpec::env`], plus the protocol
/// variables (magic cookie, `MM_PLUGIN_*`, `PLUGIN_PROTOCOL_VERSIONS`), which win over both. Its
/// socket directory goes under the `TMPDIR` it sees (set in `env`, else the host's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandSpec {
    /// The executable (a path, or a name looked up in `PATH`).
    pub program: PathBuf,
    /// Its arguments.
    pub args: Vec<OsString>,
    /// Working directory (the host's when `None`).
    pub cwd: Option<PathBuf>,
    /// Extra environment variables.
    pub env: Vec<(OsString, OsString)>,
}

impl CommandSpec {
    /// A command with no arguments, no working directory and no extra env.
    pub fn new(program: impl Into<PathBuf>) -> Self {
        CommandSpec {
            program: program.into(),
            args: Vec::new(),
            cwd: None,
            env: Vec::new(),
        }
    }

    /// Appends an argument.
    pub fn arg(mut self, arg: impl Into<OsString>) -> Self {
        self.args.push(arg.into());
        self
    }

    /// Appends arguments.
    pub fn args<I: IntoIterator<Item = S>, S: Into<OsString>>(mut self, args: I) -> Self {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    /// Sets the working directory.
    pub fn cwd(mut self, dir: impl Into<PathBuf>) -> Self {
        self.cwd = Some(dir.into());
        self
    }

    /// Adds an environment variable.
    pub fn env(mut self, key: impl Into<OsString>, value: impl Into<OsString>) -> Self {
        self.env.push((key.into(), value.into()));
        self
    }
}

/// Issues the per-start API token a plugin process receives in `MM_PLUGIN_API_TOKEN`, and revokes
/// it once that process is gone.
///
/// The supervisor calls [`issue`](TokenIssuer::issue) right before every spawn (so the token is
/// valid from the child's first instruction, before the handshake) and
/// [`revoke`](TokenIssuer::revoke) once that process has been reaped or its start failed. The
/// API server checks incoming tokens against the same registry. Implemented for
/// [`crate::api_server::TokenRegistry`]; [`RandomTokens`] is the default.
pub trait TokenIssuer: Send + Sync + 'static {
    /// A fresh token for a new process of `plugin_id`.
    fn issue(&self, plugin_id: &str) -> std::io::Result<String>;
    /// Forgets a token: its process is gone.
    fn revoke(&self, token: &str);
}

/// The default [`TokenIssuer`]: 32 random bytes from `/dev/urandom`, hex encoded; keeps no
/// registry (use [`super::Supervisor::token`] to learn the current one).
#[derive(Debug, Clone, Copy, Default)]
pub struct RandomTokens;

impl TokenIssuer for RandomTokens {
    fn issue(&self, _plugin_id: &str) -> std::io::Result<String> {
        random_token()
    }

    fn revoke(&self, _token: &str) {}
}

impl TokenIssuer for crate::api_server::TokenRegistry {
    fn issue(&self, plugin_id: &str) -> std::io::Result<String> {
        crate::api_server::TokenRegistry::issue(self, plugin_id)
    }

    fn revoke(&self, token: &str) {
        crate::api_server::TokenRegistry::revoke(self, token)
    }
}

/// Per-start tokens are the API server's (one generator for the whole runtime).
pub use crate::api_server::random_token;

/// Everything the supervisor needs: what to run and the supervision policy.
///
/// [`SupervisorConfig::new`] fills in Mattermost's policy: health ping every 30 s, restart after 3
/// consecutive failed pings, at most 3 restarts within 60 minutes, then `Failed`.
#[derive(Clone)]
pub struct SupervisorConfig {
    /// The plugin id (`MM_PLUGIN_ID`, and the tag on every log line).
    pub plugin_id: String,
    /// The executable to run.
    pub command: CommandSpec,
    /// The API server address handed to the plugin (`MM_PLUGIN_API_ADDR`).
    pub api_addr: String,
    /// Where per-start API tokens come from. Default: [`RandomTokens`].
    pub tokens: Arc<dyn TokenIssuer>,
    /// The app protocol version to require in the handshake. Default 1.
    pub app_protocol_version: u32,
    /// From spawn to a SERVING answer to the first health check. Default 60 s (go-plugin's).
    pub start_timeout: Duration,
    /// Time between health pings while running. Default 30 s.
    pub health_interval: Duration,
    /// How long one health ping may take before it counts as failed. Default 5 s.
    pub health_timeout: Duration,
    /// Consecutive failed pings that trigger a restart. Default 3.
    pub health_failures_before_restart: u32,
    /// Consecutive unary hook timeouts (through [`Supervisor::hooks_client`](super::Supervisor::hooks_client))
    /// that trigger a restart: the plugin answers health checks but cannot serve hooks. 0 never
    /// restarts. Default 3.
    pub hook_timeouts_before_restart: u32,
    /// Restarts allowed within [`restart_window`](Self::restart_window); the failure that would
    /// need one more puts the supervisor in `Failed`. Default 3.
    pub max_restarts: u32,
    /// The window restarts are counted in. Default 60 min.
    pub restart_window: Duration,
    /// Delay before the first restart in the window; doubles for each further restart in the
    /// window, up to [`restart_backoff_max`](Self::restart_backoff_max). Default 1 s.
    pub restart_backoff: Duration,
    /// Longest restart delay. Default 30 s.
    pub restart_backoff_max: Duration,
    /// On stop, how long the process has to exit after `GRPCController/Shutdown` before SIGTERM.
    /// Default 2 s (go-plugin's).
    pub shutdown_timeout: Duration,
    /// After SIGTERM, how long before SIGKILL. Default 5 s.
    pub stop_grace: Duration,
}

impl SupervisorConfig {
    /// A config with Mattermost's defaults.
    pub fn new(
        plugin_id: impl Into<String>,
        command: CommandSpec,
        api_addr: impl Into<String>,
    ) -> Self {
        SupervisorConfig {
            plugin_id: plugin_id.into(),
            command,
            api_addr: api_addr.into(),
            tokens: Arc::new(RandomTokens),
            app_protocol_version: APP_PROTOCOL_VERSION,
            start_timeout: Duration::from_secs(60),
            health_interval: Duration::from_secs(30),
            health_timeout: Duration::from_secs(5),
            health_failures_before_restart: 3,
            hook_timeouts_before_restart: 3,
            max_restarts: 3,
            restart_window: Duration::from_secs(60 * 60),
            restart_backoff: Duration::from_secs(1),
            restart_backoff_max: Duration::from_secs(30),
            shutdown_timeout: Duration::from_secs(2),
            stop_grace: Duration::from_secs(5),
        }
    }

    /// Uses `tokens` to issue and revoke API tokens (e.g. the API server's registry).
    pub fn with_tokens(mut self, tokens: Arc<dyn TokenIssuer>) -> Self {
        self.tokens = tokens;
        self
    }

    /// The delay before a restart when `restarts_in_window` restarts already happened.
    pub(crate) fn backoff(&self, restarts_in_window: usize) -> Duration {
        let factor = 1u32 << restarts_in_window.min(16);
        self.restart_backoff
            .saturating_mul(factor)
            .min(self.restart_backoff_max.max(self.restart_backoff))
    }
}

impl fmt::Debug for SupervisorConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SupervisorConfig")
            .field("plugin_id", &self.plugin_id)
            .field("command", &self.command)
            .field("api_addr", &self.api_addr)
            .field("app_protocol_version", &self.app_protocol_version)
            .field("start_timeout", &self.start_timeout)
            .field("health_interval", &self.health_interval)
            .field("health_timeout", &self.health_timeout)
            .field(
                "health_failures_before_restart",
                &self.health_failures_before_restart,
            )
            .field(
                "hook_timeouts_before_restart",
                &self.hook_timeouts_before_restart,
            )
            .field("max_restarts", &self.max_restarts)
            .field("restart_window", &self.restart_window)
            .field("restart_backoff", &self.restart_backoff)
            .field("restart_backoff_max", &self.restart_backoff_max)
            .field("shutdown_timeout", &self.shutdown_timeout)
            .field("stop_grace", &self.stop_grace)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_caps() {
        let mut c = SupervisorConfig::new("p", CommandSpec::new("x"), "unix:///s");
        c.restart_backoff = Duration::from_millis(100);
        c.restart_backoff_max = Duration::from_millis(350);
        assert_eq!(c.backoff(0), Duration::from_millis(100));
        assert_eq!(c.backoff(1), Duration::from_millis(200));
        assert_eq!(c.backoff(2), Duration::from_millis(350));
        assert_eq!(c.backoff(60), Duration::from_millis(350));
    }

    #[test]
    fn tokens_are_fresh_hex() {
        let a = RandomTokens.issue("p").unwrap();
        let b = RandomTokens.issue("p").unwrap();
        assert_eq!(a.len(), 64);
        assert!(a.bytes().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
    }
}
