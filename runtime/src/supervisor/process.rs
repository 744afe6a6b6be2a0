//! One plugin process: spawn, handshake, connect, health, stop, reap.

use std::ffi::OsStr;
use std::io;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::sync::Arc;
use std::time::Duration;

use hyper_util::rt::TokioIo;
use mattermost_plugin_api::PluginHooksClient;
use tokio::io::BufReader;
use tokio::net::UnixStream;
use tokio::process::{Child, ChildStderr, ChildStdout, Command};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio::time::{Instant, sleep_until, timeout, timeout_at};
use tonic::codegen::http::Uri;
use tonic::codegen::http::uri::PathAndQuery;
use tonic::transport::{Channel, Endpoint};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

use super::config::{
    CommandSpec, ENV_API_ADDR, ENV_API_TOKEN, ENV_HOOK_TOKEN, ENV_PLUGIN_ID, ENV_PROTOCOL_VERSIONS,
    ENV_SOCKET_DIR, HEALTH_SERVICE, HOOK_TOKEN_METADATA, MAGIC_COOKIE_KEY, MAGIC_COOKIE_VALUE,
    SupervisorConfig, TokenIssuer, random_token,
};
use super::error::{HealthError, StartError, StartPhase};
use super::handshake::{HandshakeError, PluginAddress, is_handshake_candidate, parse_handshake};
use super::output::{StderrBuffer, StderrLines, emit_line, emit_stderr, read_line_capped};
use super::spawner;

/// gRPC path of go-plugin's controller shutdown call (`google.protobuf.Empty` in and out).
pub use mattermost_plugin_api::protocol::SHUTDOWN_PATH;
use mattermost_plugin_api::protocol::{SOCKET_DIR_PREFIX, SOCKET_FILE};

/// After SIGKILL, how long to wait for the kernel to deliver it before giving up on reaping.
const KILL_WAIT: Duration = Duration::from_secs(5);
/// After the process exited, how long its stdout/stderr readers may take to flush their last lines.
const DRAIN_WAIT: Duration = Duration::from_millis(250);
/// Longest path for a plugin's socket directory. A Unix socket path holds at most 107 bytes; this
/// leaves the plugin 19 of them for `/` and its socket's name (`plugin.sock` needs 12).
const MAX_SOCKET_DIR_LEN: usize = 88;
const _: () = assert!(MAX_SOCKET_DIR_LEN + 1 + SOCKET_FILE.len() <= 107);

/// A live connection to one plugin process (one *generation*).
#[derive(Clone)]
pub struct PluginConnection {
    /// 1 for the first process, +1 for every later spawn (restart attempts included).
    pub generation: u64,
    /// The process id (also its process group id).
    pub pid: u32,
    /// Where the plugin serves gRPC.
    pub address: PluginAddress,
    /// A channel to the plugin's gRPC server. The plugin refuses calls without
    /// [`hook_token`](Self::hook_token): build hook clients with [`hooks_client`](Self::hooks_client).
    pub channel: Channel,
    /// This process's `MM_PLUGIN_HOOK_TOKEN`, to send as `mm-plugin-hook-token` metadata on every
    /// call to the plugin.
    pub hook_token: String,
}

impl PluginConnection {
    /// A hooks client for this generation that sends the hook token on every call.
    ///
    /// Panics if `hook_token` is not a valid metadata value (the supervisor's are hex).
    pub fn hooks_client(&self) -> PluginHooksClient {
        PluginHooksClient::new(self.channel.clone())
            .with_metadata(HOOK_TOKEN_METADATA, &self.hook_token)
            .expect("hook tokens are valid metadata")
    }
}

// By hand, to keep the token out of logs.
impl std::fmt::Debug for PluginConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PluginConnection")
            .field("generation", &self.generation)
            .field("pid", &self.pid)
            .field("address", &self.address)
            .finish_non_exhaustive()
    }
}

/// How a stop ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopOutcome {
    /// There was no process to stop (already stopped, failed, or between restarts).
    NotRunning,
    /// The process had already exited on its own.
    AlreadyExited,
    /// It exited after `GRPCController/Shutdown`.
    Shutdown,
    /// It exited after SIGTERM.
    Terminated,
    /// It had to be SIGKILLed.
    Killed,
}

/// What [`super::Supervisor::stop`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StopReport {
    /// How the process ended.
    pub outcome: StopOutcome,
    /// Its exit status, when it was reaped.
    pub exit_status: Option<ExitStatus>,
    /// The generation that was stopped (the last one when nothing was running).
    pub generation: u64,
}

/// Why a start step failed, before the plugin id and stderr are attached.
enum Failure {
    Exited(ExitStatus, StartPhase),
    Timeout(StartPhase),
    Handshake(String, HandshakeError),
    Connect(PluginAddress, tonic::transport::Error),
    Health(HealthError),
    Io(&'static str, io::Error),
}

type HandshakeLine = io::Result<String>;

/// One spawned plugin process. Dropping it SIGKILLs its process group (tokio reaps the leader).
pub(crate) struct PluginProcess {
    plugin_id: Arc<str>,
    generation: u64,
    pid: u32,
    child: Child,
    exit_status: Option<ExitStatus>,
    /// Whether the process group may still have members (cleared once the final SIGKILL went out).
    group_armed: bool,
    stderr: StderrBuffer,
    handshake: Option<oneshot::Receiver<HandshakeLine>>,
    readers: Vec<JoinHandle<()>>,
    tokens: Arc<dyn TokenIssuer>,
    token: Option<String>,
    hook_token: String,
    /// The private directory made for this process's socket; removed once it is reaped (or on drop).
    socket_dir: Option<tempfile::TempDir>,
    connection: Option<PluginConnection>,
}

impl PluginProcess {
    /// Issues a token, makes the socket directory and spawns the executable with the protocol
    /// environment.
    pub(crate) async fn spawn(
        cfg: &SupervisorConfig,
        generation: u64,
    ) -> Result<PluginProcess, StartError> {
        let plugin_id: Arc<str> = Arc::from(cfg.plugin_id.as_str());
        let spec = &cfg.command;
        let spawn_error = |source: io::Error| StartError::Spawn {
            plugin_id: cfg.plugin_id.clone(),
            program: spec.program.display().to_string(),
            source,
        };
        // Made before anything that needs undoing: on error it is simply dropped (and removed).
        let socket_dir = socket_dir(spec).map_err(spawn_error)?;
        let hook_token = random_token().map_err(|source| StartError::Token {
            plugin_id: cfg.plugin_id.clone(),
            source,
        })?;
        let token = cfg
            .tokens
            .issue(&cfg.plugin_id)
            .map_err(|source| StartError::Token {
                plugin_id: cfg.plugin_id.clone(),
                source,
            })?;

        let mut command = Command::new(&spec.program);
        command
            .args(&spec.args)
            .envs(spec.env.iter().map(|(k, v)| (k, v)))
            .env(MAGIC_COOKIE_KEY, MAGIC_COOKIE_VALUE)
            .env(ENV_PLUGIN_ID, &cfg.plugin_id)
            .env(ENV_API_ADDR, &cfg.api_addr)
            .env(ENV_API_TOKEN, &token)
            .env(ENV_HOOK_TOKEN, &hook_token)
            .env(ENV_SOCKET_DIR, socket_dir.path())
            .env(ENV_PROTOCOL_VERSIONS, cfg.app_protocol_version.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .process_group(0);
        if let Some(dir) = &spec.cwd {
            command.current_dir(dir);
        }
        set_parent_death_signal(&mut command);

        let mut child = match spawner::spawn(command).await {
            Ok(child) => child,
            Err(source) => {
                cfg.tokens.revoke(&token);
                return Err(spawn_error(source));
            }
        };
        let pid = child.id().unwrap_or_default();
        tracing::debug!(plugin_id = %plugin_id, generation, pid, program = %spec.program.display(), "plugin process spawned");

        let stderr = StderrBuffer::default();
        let (handshake_tx, handshake_rx) = oneshot::channel();
        let mut readers = Vec::with_capacity(2);
        if let Some(out) = child.stdout.take() {
            readers.push(tokio::spawn(read_stdout(
                out,
                plugin_id.clone(),
                generation,
                handshake_tx,
            )));
        }
        if let Some(err) = child.stderr.take() {
            readers.push(tokio::spawn(read_stderr(
                err,
                plugin_id.clone(),
                generation,
                stderr.clone(),
            )));
        }
        Ok(PluginProcess {
            plugin_id,
            generation,
            pid,
            child,
            exit_status: None,
            group_armed: pid != 0,
            stderr,
            handshake: Some(handshake_rx),
            readers,
            tokens: cfg.tokens.clone(),
            token: Some(token),
            hook_token,
            socket_dir: Some(socket_dir),
            connection: None,
        })
    }

    /// Spawns, handshakes, connects and checks health once, all within `cfg.start_timeout`.
    /// On failure the process is killed and reaped before the error is returned.
    pub(crate) async fn start(
        cfg: &SupervisorConfig,
        generation: u64,
    ) -> Result<PluginProcess, StartError> {
        let deadline = Instant::now() + cfg.start_timeout;
        let mut process = Self::spawn(cfg, generation).await?;
        process.ready(cfg, deadline).await?;
        Ok(process)
    }

    /// Completes a start begun by [`spawn`](Self::spawn). If this future is dropped midway, call
    /// [`kill`](Self::kill).
    pub(crate) async fn ready(
        &mut self,
        cfg: &SupervisorConfig,
        deadline: Instant,
    ) -> Result<PluginConnection, StartError> {
        match self.ready_inner(cfg, deadline).await {
            Ok(connection) => {
                tracing::info!(plugin_id = %self.plugin_id, generation = self.generation, pid = self.pid,
                    address = %connection.address, "plugin started");
                self.connection = Some(connection.clone());
                Ok(connection)
            }
            Err(failure) => {
                self.kill().await;
                Err(self.start_error(failure, cfg))
            }
        }
    }

    async fn ready_inner(
        &mut self,
        cfg: &SupervisorConfig,
        deadline: Instant,
    ) -> Result<PluginConnection, Failure> {
        // 1. The handshake line.
        let mut handshake_rx = self.handshake.take().expect("ready() runs once");
        let mut stdout_open = true;
        let line = loop {
            tokio::select! {
                line = &mut handshake_rx, if stdout_open => match line {
                    Ok(Ok(line)) => break line,
                    Ok(Err(error)) => return Err(Failure::Io("reading stdout", error)),
                    // stdout closed without a handshake: the exit (or the deadline) tells the rest.
                    Err(_) => stdout_open = false,
                },
                status = self.wait() => return Err(exited(status, StartPhase::Handshake)),
                _ = sleep_until(deadline) => return Err(Failure::Timeout(StartPhase::Handshake)),
            }
        };
        let handshake = parse_handshake(&line, cfg.app_protocol_version)
            .map_err(|error| Failure::Handshake(line.clone(), error))?;
        if handshake.server_cert.is_some() {
            tracing::warn!(plugin_id = %self.plugin_id, "plugin sent an AutoMTLS certificate the host did not ask for; ignoring it");
        }
        tracing::debug!(plugin_id = %self.plugin_id, generation = self.generation, %line, "plugin handshake");

        // 2. Connect.
        let address = handshake.address;
        let channel = tokio::select! {
            channel = connect(&address) => channel.map_err(|error| Failure::Connect(address.clone(), error))?,
            status = self.wait() => return Err(exited(status, StartPhase::Connect)),
            _ = sleep_until(deadline) => return Err(Failure::Timeout(StartPhase::Connect)),
        };

        // 3. One health check.
        let hook_token = self.hook_token.clone();
        tokio::select! {
            health = health_check(channel.clone(), &hook_token) => health.map_err(Failure::Health)?,
            status = self.wait() => return Err(exited(status, StartPhase::HealthCheck)),
            _ = sleep_until(deadline) => return Err(Failure::Timeout(StartPhase::HealthCheck)),
        }
        Ok(PluginConnection {
            generation: self.generation,
            pid: self.pid,
            address,
            channel,
            hook_token,
        })
    }

    fn start_error(&self, failure: Failure, cfg: &SupervisorConfig) -> StartError {
        let plugin_id = cfg.plugin_id.clone();
        let stderr = self.stderr.snapshot();
        match failure {
            Failure::Exited(status, phase) => StartError::Exited {
                plugin_id,
                status,
                phase,
                stderr,
            },
            Failure::Timeout(phase) => StartError::Timeout {
                plugin_id,
                phase,
                timeout: cfg.start_timeout,
                stderr,
            },
            Failure::Handshake(line, source) => StartError::Handshake {
                plugin_id,
                line,
                source,
                stderr,
            },
            Failure::Connect(address, source) => StartError::Connect {
                plugin_id,
                address,
                source,
                stderr,
            },
            Failure::Health(source) => StartError::HealthCheck {
                plugin_id,
                source,
                stderr,
            },
            Failure::Io(context, source) => StartError::Io {
                plugin_id,
                context,
                source,
                stderr,
            },
        }
    }

    pub(crate) fn generation(&self) -> u64 {
        self.generation
    }

    pub(crate) fn pid(&self) -> u32 {
        self.pid
    }

    /// This process's API token, until it is revoked.
    pub(crate) fn token(&self) -> Option<&str> {
        self.token.as_deref()
    }

    /// The connection, once [`ready`](Self::ready) succeeded.
    pub(crate) fn connection(&self) -> Option<&PluginConnection> {
        self.connection.as_ref()
    }

    /// What the plugin wrote to stderr last.
    pub(crate) fn stderr_tail(&self) -> super::output::StderrTail {
        self.stderr.snapshot()
    }

    /// Waits for the process to exit and reaps it (cancel-safe; cached once reaped).
    pub(crate) async fn wait(&mut self) -> io::Result<ExitStatus> {
        if let Some(status) = self.exit_status {
            return Ok(status);
        }
        let status = self.child.wait().await?;
        self.exit_status = Some(status);
        Ok(status)
    }

    fn try_exited(&mut self) -> Option<ExitStatus> {
        if self.exit_status.is_none() {
            self.exit_status = self.child.try_wait().ok().flatten();
        }
        self.exit_status
    }

    fn signal_group(&self, signal: libc::c_int) {
        if self.group_armed {
            // SAFETY: plain kill(2) on our child's process group (pgid == pid, see process_group(0)).
            unsafe {
                libc::kill(-(self.pid as libc::pid_t), signal);
            }
        }
    }

    /// After the leader exited: SIGKILL whatever is left in its process group, let the output
    /// readers flush, revoke the token and remove the socket directory.
    async fn finish(&mut self) {
        self.signal_group(libc::SIGKILL);
        self.group_armed = false;
        let drain = async {
            for reader in self.readers.iter_mut() {
                let _ = reader.await;
            }
        };
        if timeout(DRAIN_WAIT, drain).await.is_err() {
            for reader in &self.readers {
                reader.abort();
            }
        }
        self.readers.clear();
        if let Some(token) = self.token.take() {
            self.tokens.revoke(&token);
        }
        if let Some(dir) = self.socket_dir.take() {
            let path = dir.path().to_path_buf();
            if let Err(error) = dir.close() {
                tracing::warn!(plugin_id = %self.plugin_id, path = %path.display(), %error, "could not remove the plugin's socket directory");
            }
        }
        tracing::debug!(plugin_id = %self.plugin_id, generation = self.generation, pid = self.pid,
            status = ?self.exit_status, "plugin process reaped");
    }

    /// SIGKILLs the process group and reaps the leader.
    pub(crate) async fn kill(&mut self) -> Option<ExitStatus> {
        if self.try_exited().is_none() {
            self.signal_group(libc::SIGKILL);
            match timeout(KILL_WAIT, self.wait()).await {
                Ok(Ok(_)) => {}
                Ok(Err(error)) => {
                    tracing::error!(plugin_id = %self.plugin_id, pid = self.pid, %error, "waiting for a killed plugin failed")
                }
                Err(_) => {
                    tracing::error!(plugin_id = %self.plugin_id, pid = self.pid, "plugin did not die within {KILL_WAIT:?} of SIGKILL")
                }
            }
        }
        self.finish().await;
        self.exit_status
    }

    /// SIGTERM to the process group, SIGKILL after `grace`; reaps.
    pub(crate) async fn terminate(&mut self, grace: Duration) -> (StopOutcome, Option<ExitStatus>) {
        if let Some(status) = self.try_exited() {
            self.finish().await;
            return (StopOutcome::AlreadyExited, Some(status));
        }
        self.signal_group(libc::SIGTERM);
        if let Ok(Ok(status)) = timeout(grace, self.wait()).await {
            self.finish().await;
            return (StopOutcome::Terminated, Some(status));
        }
        tracing::warn!(plugin_id = %self.plugin_id, pid = self.pid, "plugin still running {grace:?} after SIGTERM; sending SIGKILL");
        (StopOutcome::Killed, self.kill().await)
    }

    /// The full stop: `GRPCController/Shutdown`, then SIGTERM after `cfg.shutdown_timeout`, then
    /// SIGKILL after `cfg.stop_grace`; always reaps.
    pub(crate) async fn shutdown(
        &mut self,
        cfg: &SupervisorConfig,
    ) -> (StopOutcome, Option<ExitStatus>) {
        if let Some(status) = self.try_exited() {
            self.finish().await;
            return (StopOutcome::AlreadyExited, Some(status));
        }
        if let Some(connection) = &self.connection {
            let deadline = Instant::now() + cfg.shutdown_timeout;
            let shutdown = call_shutdown(connection.channel.clone(), &connection.hook_token);
            match timeout_at(deadline, shutdown).await {
                Ok(Ok(())) => {}
                // Exiting while answering is fine; the wait below tells.
                Ok(Err(status)) => {
                    tracing::debug!(plugin_id = %self.plugin_id, %status, "Shutdown call failed")
                }
                Err(_) => {
                    tracing::warn!(plugin_id = %self.plugin_id, "Shutdown call unanswered within {:?}", cfg.shutdown_timeout)
                }
            }
            if let Ok(Ok(status)) = timeout_at(deadline, self.wait()).await {
                self.finish().await;
                return (StopOutcome::Shutdown, Some(status));
            }
            tracing::warn!(plugin_id = %self.plugin_id, pid = self.pid, "plugin still running {:?} after Shutdown; sending SIGTERM", cfg.shutdown_timeout);
        }
        self.terminate(cfg.stop_grace).await
    }
}

impl Drop for PluginProcess {
    fn drop(&mut self) {
        // Only reached without a reap when a start or the supervisor task was cancelled:
        // no orphan may survive. tokio's kill_on_drop + orphan queue reap the leader.
        self.signal_group(libc::SIGKILL);
        for reader in &self.readers {
            reader.abort();
        }
        if let Some(token) = self.token.take() {
            self.tokens.revoke(&token);
        }
        // The group was just SIGKILLed, so nothing recreates the socket; removal is best effort.
        drop(self.socket_dir.take());
    }
}

/// A new private (0700) directory for one process's socket, under the TMPDIR the child will see
/// (the command's own, else the host's), or under `/tmp` when that path would be too long.
fn socket_dir(spec: &CommandSpec) -> io::Result<tempfile::TempDir> {
    let base = spec
        .env
        .iter()
        .rev()
        .find(|(key, _)| key == OsStr::new("TMPDIR"))
        .map(|(_, value)| PathBuf::from(value))
        .filter(|dir| !dir.as_os_str().is_empty())
        .unwrap_or_else(std::env::temp_dir);
    // `<base>/mm-plugin-XXXXXX`
    let fits = |base: &Path| {
        base.as_os_str().len() + 1 + SOCKET_DIR_PREFIX.len() + 6 <= MAX_SOCKET_DIR_LEN
    };
    let base = if fits(&base) {
        base
    } else {
        PathBuf::from("/tmp")
    };
    crate::private_dir::private_dir(&base, SOCKET_DIR_PREFIX).map_err(|error| {
        io::Error::new(
            error.kind(),
            format!(
                "making a socket directory under {}: {error}",
                base.display()
            ),
        )
    })
}

fn exited(status: io::Result<ExitStatus>, phase: StartPhase) -> Failure {
    match status {
        Ok(status) => Failure::Exited(status, phase),
        Err(error) => Failure::Io("waiting for the process", error),
    }
}

#[cfg(target_os = "linux")]
fn set_parent_death_signal(command: &mut Command) {
    let host = std::process::id() as libc::pid_t;
    // SAFETY: only async-signal-safe calls (prctl, getppid) between fork and exec, no allocation.
    unsafe {
        command.pre_exec(move || {
            if libc::prctl(
                libc::PR_SET_PDEATHSIG,
                libc::SIGKILL as libc::c_ulong,
                0,
                0,
                0,
            ) == -1
            {
                return Err(io::Error::last_os_error());
            }
            // The host died between fork and prctl: the signal will never come, so don't start.
            if libc::getppid() != host {
                return Err(io::Error::from_raw_os_error(libc::ESRCH));
            }
            Ok(())
        });
    }
}

#[cfg(not(target_os = "linux"))]
fn set_parent_death_signal(_command: &mut Command) {}

async fn read_stdout(
    stdout: ChildStdout,
    plugin_id: Arc<str>,
    generation: u64,
    handshake: oneshot::Sender<HandshakeLine>,
) {
    let mut reader = BufReader::new(stdout);
    let mut handshake = Some(handshake);
    let mut buf = Vec::new();
    loop {
        match read_line_capped(&mut reader, &mut buf).await {
            Ok(true) => {
                let line = String::from_utf8_lossy(&buf);
                match handshake.take() {
                    Some(tx) if is_handshake_candidate(&line) => {
                        let _ = tx.send(Ok(line.into_owned()));
                    }
                    Some(tx) => {
                        handshake = Some(tx);
                        tracing::info!(target: "mattermost_plugin_runtime::plugin", plugin_id = %plugin_id, generation,
                            stream = "stdout", "before handshake: {line}");
                    }
                    None => emit_line(&plugin_id, generation, "stdout", &line),
                }
            }
            Ok(false) => break,
            Err(error) => {
                match handshake.take() {
                    Some(tx) => {
                        let _ = tx.send(Err(error));
                    }
                    None => {
                        tracing::debug!(plugin_id = %plugin_id, %error, "reading plugin stdout failed")
                    }
                }
                break;
            }
        }
    }
}

async fn read_stderr(
    stderr: ChildStderr,
    plugin_id: Arc<str>,
    generation: u64,
    tail: StderrBuffer,
) {
    let mut reader = BufReader::new(stderr);
    let mut buf = Vec::new();
    let mut lines = StderrLines::default();
    while let Ok(true) = read_line_capped(&mut reader, &mut buf).await {
        let line = String::from_utf8_lossy(&buf);
        tail.push(&line);
        if let Some(event) = lines.push(&line) {
            emit_stderr(&plugin_id, generation, event);
        }
    }
    if let Some(event) = lines.finish() {
        emit_stderr(&plugin_id, generation, event);
    }
}

/// Connects a channel to the address a plugin announced.
pub async fn connect(address: &PluginAddress) -> Result<Channel, tonic::transport::Error> {
    match address {
        PluginAddress::Unix(path) => {
            let path: PathBuf = path.clone();
            // The URI is a placeholder: the connector ignores it and dials the socket.
            Endpoint::from_static("http://[::]:50051")
                .connect_with_connector(tower::service_fn(move |_: Uri| {
                    let path = path.clone();
                    async move { Ok::<_, io::Error>(TokioIo::new(UnixStream::connect(path).await?)) }
                }))
                .await
        }
        PluginAddress::Tcp(addr) => {
            Endpoint::from_shared(format!("http://{addr}"))?
                .tcp_nodelay(true)
                .connect()
                .await
        }
    }
}

/// A request carrying the plugin's hook token (none when `hook_token` is empty).
fn with_hook_token<T>(message: T, hook_token: &str) -> Result<tonic::Request<T>, tonic::Status> {
    let mut request = tonic::Request::new(message);
    if !hook_token.is_empty() {
        let value = hook_token
            .parse()
            .map_err(|_| tonic::Status::invalid_argument("hook token is not valid metadata"))?;
        request.metadata_mut().insert(HOOK_TOKEN_METADATA, value);
    }
    Ok(request)
}

/// One `grpc.health.v1.Health/Check` for service `plugin`, with the plugin's hook token; `Ok`
/// only for SERVING.
pub async fn health_check(channel: Channel, hook_token: &str) -> Result<(), HealthError> {
    let request = with_hook_token(
        HealthCheckRequest {
            service: HEALTH_SERVICE.to_string(),
        },
        hook_token,
    )?;
    let response = HealthClient::new(channel)
        .check(request)
        .await?
        .into_inner();
    match response.status() {
        ServingStatus::Serving => Ok(()),
        other => Err(HealthError::NotServing(other.as_str_name().to_string())),
    }
}

/// [`health_check`] of `connection` bounded by `limit`.
pub(crate) async fn health_check_within(
    connection: PluginConnection,
    limit: Duration,
) -> Result<(), HealthError> {
    timeout(
        limit,
        health_check(connection.channel, &connection.hook_token),
    )
    .await
    .unwrap_or(Err(HealthError::Timeout(limit)))
}

/// go-plugin's `plugin.GRPCController/Shutdown`, with the plugin's hook token.
pub async fn call_shutdown(channel: Channel, hook_token: &str) -> Result<(), tonic::Status> {
    let request = with_hook_token((), hook_token)?;
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready()
        .await
        .map_err(|error| tonic::Status::unavailable(format!("channel not ready: {error}")))?;
    grpc.unary(
        request,
        PathAndQuery::from_static(SHUTDOWN_PATH),
        tonic_prost::ProstCodec::<(), ()>::default(),
    )
    .await
    .map(|_| ())
}
