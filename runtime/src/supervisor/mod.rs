//! Plugin process supervision (HashiCorp go-plugin's gRPC flavour, as Mattermost uses it).
//!
//! [`Supervisor::start`] spawns the plugin executable with the go-plugin magic cookie
//! (`MATTERMOST_PLUGIN`), `PLUGIN_PROTOCOL_VERSIONS=1` and our own variables (`MM_PLUGIN_ID`,
//! `MM_PLUGIN_API_ADDR`, `MM_PLUGIN_API_TOKEN`, `MM_PLUGIN_HOOK_TOKEN`, `MM_PLUGIN_SOCKET_DIR`),
//! reads the handshake line
//! `1|1|unix|/path/sock|grpc` from its stdout (earlier lines are logged as noise), connects a
//! tonic [`Channel`](tonic::transport::Channel) and checks `grpc.health.v1.Health/Check` for
//! service `plugin` once. It then returns a [`Supervisor`] whose background task
//!
//! - pings health every [`health_interval`](SupervisorConfig::health_interval) and restarts the
//!   plugin after [`health_failures_before_restart`](SupervisorConfig::health_failures_before_restart)
//!   consecutive failures;
//! - restarts it when it exits unexpectedly (crash), with exponential backoff;
//! - allows [`max_restarts`](SupervisorConfig::max_restarts) restarts within
//!   [`restart_window`](SupervisorConfig::restart_window): the failure that would need one more
//!   leaves it [`Failed`](SupervisorState::Failed) (with the defaults: generations 1–4, then
//!   `Failed`). A restart whose start fails counts as a restart too.
//!
//! ## Channel and token across restarts
//!
//! Every process is a new *generation* with a new socket, a new [`Channel`](tonic::transport::Channel)
//! and a new API token. [`Supervisor::channel`] / [`Supervisor::connection`] always return the
//! current one; [`Supervisor::watch_connection`] yields each new [`PluginConnection`] (generation,
//! pid, address, channel, hook token): rebuild hook clients ([`PluginConnection::hooks_client`])
//! and call `OnActivate` again when it changes.
//!
//! Tokens come from the config's [`TokenIssuer`]: `issue` right before each spawn (the token is
//! valid from the child's first instruction), `revoke` once that process has been reaped. Pass the
//! API server's [`TokenRegistry`](crate::api_server::TokenRegistry) with
//! [`SupervisorConfig::with_tokens`] and the server accepts exactly the live processes' tokens.
//! [`Supervisor::token`] also returns the current token (`None` while no process is up).
//!
//! ## Stopping
//!
//! Mattermost calls the plugin's `OnDeactivate` before killing it: do it in the hook of
//! [`Supervisor::stop_with`] (it gets the live connection and runs before anything else; bound it
//! with your own timeout), or call it yourself before [`Supervisor::stop`]. Stop then calls
//! `plugin.GRPCController/Shutdown`, waits [`shutdown_timeout`](SupervisorConfig::shutdown_timeout),
//! sends SIGTERM to the process group, waits [`stop_grace`](SupervisorConfig::stop_grace), sends
//! SIGKILL, and always reaps. Dropping every `Supervisor` handle stops the plugin the same way.
//!
//! ## Process hygiene
//!
//! Each plugin runs in its own process group (stop signals the whole group, and whatever is left
//! of the group after the leader exits is SIGKILLed), with `PR_SET_PDEATHSIG = SIGKILL` on Linux so
//! it dies with the host (children are forked from one long-lived thread, since the signal follows
//! the forking *thread*), `kill_on_drop`, and every child is reaped.
//!
//! ## Logs
//!
//! Plugin stdout (after the handshake) and stderr lines become `tracing` events with target
//! `mattermost_plugin_runtime::plugin` and fields `plugin_id`, `generation`, `stream`. Plain lines
//! are INFO; stderr lines in hclog JSON (`{"@level":"warn","@message":…}`) keep their level, with
//! `module` and the other keys (`fields`, as JSON).

mod config;
mod error;
mod handshake;
mod hook_watch;
mod output;
mod process;
mod spawner;

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::{Instant, MissedTickBehavior, sleep};
use tracing::Instrument;

pub use config::{
    APP_PROTOCOL_VERSION, CommandSpec, ENV_API_ADDR, ENV_API_TOKEN, ENV_HOOK_TOKEN, ENV_PLUGIN_ID,
    ENV_PROTOCOL_VERSIONS, ENV_SOCKET_DIR, HEALTH_SERVICE, HOOK_TOKEN_METADATA, MAGIC_COOKIE_KEY,
    MAGIC_COOKIE_VALUE, RandomTokens, SupervisorConfig, TokenIssuer, random_token,
};
pub use error::{HealthError, StartError, StartPhase};
pub use handshake::{
    CORE_PROTOCOL_VERSION, Handshake, HandshakeError, PluginAddress, is_handshake_candidate,
    parse_handshake,
};
pub use output::StderrTail;
pub use process::{
    PluginConnection, SHUTDOWN_PATH, StopOutcome, StopReport, call_shutdown, connect, health_check,
};

use process::{PluginProcess, health_check_within};

/// Where a supervised plugin is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SupervisorState {
    /// A (re)started process is handshaking / connecting / passing its first health check.
    Starting,
    /// The current generation passed its start and is being health-checked.
    Running,
    /// The previous generation crashed or failed its health checks; it is being killed, or the
    /// supervisor is waiting out the backoff.
    Restarting,
    /// Too many restarts within the window: no process runs and none will be started.
    Failed,
    /// Stopped on request (or every handle was dropped).
    Stopped,
}

/// A snapshot of the supervisor, published on every change (see [`Supervisor::subscribe`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SupervisorStatus {
    /// The state.
    pub state: SupervisorState,
    /// Generation of the current (or last) process: 1 for the first, +1 per spawn.
    pub generation: u64,
    /// Pid of the current process, if one is alive.
    pub pid: Option<u32>,
    /// Restarts counted in the current restart window.
    pub restarts_in_window: u32,
    /// Why the last restart happened or the last restart attempt failed; never cleared, so it
    /// is still there once `Running` again (and says why when `Failed`).
    pub last_error: Option<String>,
}

/// The `before_shutdown` hook of [`Supervisor::stop_with`], boxed.
type StopHook =
    Box<dyn FnOnce(PluginConnection) -> Pin<Box<dyn Future<Output = ()> + Send>> + Send>;

/// One health check in flight.
type HealthPing = Pin<Box<dyn Future<Output = Result<(), HealthError>> + Send>>;

enum Request {
    Stop {
        before_shutdown: Option<StopHook>,
        reply: oneshot::Sender<StopReport>,
    },
}

/// A running, supervised plugin. Cheap to clone (a handle); the plugin is stopped when
/// [`stop`](Supervisor::stop) is called or the last handle is dropped.
#[derive(Clone)]
pub struct Supervisor {
    shared: Arc<Shared>,
}

struct Shared {
    plugin_id: String,
    requests: mpsc::UnboundedSender<Request>,
    /// Hook clients report stuck generations here (a channel of its own, so observers kept by
    /// clients do not keep the supervisor alive once every handle is dropped).
    stuck: mpsc::UnboundedSender<hook_watch::Stuck>,
    hook_timeouts_before_restart: u32,
    status: watch::Receiver<SupervisorStatus>,
    connection: watch::Receiver<PluginConnection>,
    token: Arc<Mutex<Option<String>>>,
}

impl std::fmt::Debug for Supervisor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Supervisor")
            .field("plugin_id", &self.shared.plugin_id)
            .field("status", &*self.shared.status.borrow())
            .finish_non_exhaustive()
    }
}

impl Supervisor {
    /// Spawns the plugin, waits for its handshake, connects and checks its health once; then
    /// supervises it in a background task (on the current tokio runtime).
    ///
    /// On error the process has been killed and reaped and its token revoked.
    pub async fn start(config: SupervisorConfig) -> Result<Supervisor, StartError> {
        let span = tracing::info_span!("plugin_supervisor", plugin_id = %config.plugin_id);
        let process = PluginProcess::start(&config, 1)
            .instrument(span.clone())
            .await?;
        let connection = process
            .connection()
            .cloned()
            .expect("a started process has a connection");
        let (status_tx, status_rx) = watch::channel(SupervisorStatus {
            state: SupervisorState::Running,
            generation: 1,
            pid: Some(process.pid()),
            restarts_in_window: 0,
            last_error: None,
        });
        let (connection_tx, connection_rx) = watch::channel(connection);
        let (requests_tx, requests_rx) = mpsc::unbounded_channel();
        let (stuck_tx, stuck_rx) = mpsc::unbounded_channel();
        let token = Arc::new(Mutex::new(process.token().map(str::to_owned)));
        let task = Task {
            cfg: config.clone(),
            requests: requests_rx,
            stuck: stuck_rx,
            status: status_tx,
            connection: connection_tx,
            token: token.clone(),
            generation: 1,
            restarts: VecDeque::new(),
        };
        tokio::spawn(task.run(process).instrument(span));
        Ok(Supervisor {
            shared: Arc::new(Shared {
                hook_timeouts_before_restart: config.hook_timeouts_before_restart,
                plugin_id: config.plugin_id,
                requests: requests_tx,
                stuck: stuck_tx,
                status: status_rx,
                connection: connection_rx,
                token,
            }),
        })
    }

    /// The plugin id.
    pub fn plugin_id(&self) -> &str {
        &self.shared.plugin_id
    }

    /// The current state.
    pub fn state(&self) -> SupervisorState {
        self.shared.status.borrow().state
    }

    /// The current status.
    pub fn status(&self) -> SupervisorStatus {
        self.shared.status.borrow().clone()
    }

    /// Status changes: `wait_for`/`changed` on the receiver. Intermediate states may be skipped
    /// by a slow reader (it is a `watch`), the latest is never missed.
    pub fn subscribe(&self) -> watch::Receiver<SupervisorStatus> {
        self.shared.status.clone()
    }

    /// Waits until the status satisfies `predicate` (checked against the current one first) and
    /// returns it; `None` if the supervisor task ended without it ever doing so.
    pub async fn wait_for(
        &self,
        predicate: impl FnMut(&SupervisorStatus) -> bool,
    ) -> Option<SupervisorStatus> {
        let mut status = self.subscribe();
        status.wait_for(predicate).await.ok().map(|s| s.clone())
    }

    /// A channel to the current (latest started) generation. After a restart this returns the
    /// new one; one obtained earlier keeps pointing at the old, dead process.
    pub fn channel(&self) -> tonic::transport::Channel {
        self.shared.connection.borrow().channel.clone()
    }

    /// The current (latest started) generation's connection.
    pub fn connection(&self) -> PluginConnection {
        self.shared.connection.borrow().clone()
    }

    /// A hooks client for `connection` (see [`PluginConnection::hooks_client`]) whose timeouts
    /// count towards the restart policy: after
    /// [`hook_timeouts_before_restart`](SupervisorConfig::hook_timeouts_before_restart)
    /// consecutive timeouts that generation is restarted.
    pub fn hooks_client(
        &self,
        connection: &PluginConnection,
    ) -> mattermost_plugin_api::PluginHooksClient {
        self.hook_clients().client(connection)
    }

    /// Makes [`hooks_client`](Self::hooks_client)s without holding the supervisor (for a task
    /// that follows restarts: a `Supervisor` handle there would keep the plugin alive).
    pub fn hook_clients(&self) -> HookClients {
        HookClients {
            plugin_id: self.shared.plugin_id.clone(),
            threshold: self.shared.hook_timeouts_before_restart,
            stuck: self.shared.stuck.clone(),
        }
    }

    /// Yields every new generation's connection once it passed its start (marked changed
    /// each time); the current one is available immediately with `borrow()`.
    pub fn watch_connection(&self) -> watch::Receiver<PluginConnection> {
        self.shared.connection.clone()
    }

    /// The API token of the live process (`MM_PLUGIN_API_TOKEN`); `None` while none is alive.
    /// Changes on every (re)start. The config's [`TokenIssuer`] sees the same tokens earlier
    /// (at issue time) and is the race-free way for an API server to check them.
    pub fn token(&self) -> Option<String> {
        self.shared
            .token
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Pid of the live process, if any.
    pub fn pid(&self) -> Option<u32> {
        self.shared.status.borrow().pid
    }

    /// SIGKILLs the live process's group now, whatever the supervisor is doing: a stop in
    /// progress (waiting on OnDeactivate or Shutdown) then finishes at once, reaping it and
    /// removing its files; otherwise it counts as a crash. For an impatient operator's second
    /// Ctrl-C.
    pub fn kill_now(&self) {
        if let Some(pid) = self.pid() {
            tracing::warn!(plugin_id = %self.shared.plugin_id, pid, "killing the plugin at once");
            // SAFETY: kill(2) on the process group the supervisor made for this child (pgid ==
            // pid); the pid is only published while that child is unreaped.
            unsafe {
                libc::kill(-(pid as libc::pid_t), libc::SIGKILL);
            }
        }
    }

    /// Stops the plugin (Shutdown call, SIGTERM, SIGKILL; reaps) and ends supervision. The caller
    /// should have called the plugin's `OnDeactivate` first, or use [`stop_with`](Self::stop_with).
    /// Idempotent: later calls report [`StopOutcome::NotRunning`].
    pub async fn stop(&self) -> StopReport {
        self.request_stop(None).await
    }

    /// Like [`stop`](Self::stop), but first runs `before_shutdown` with the live connection
    /// (e.g. calls `OnDeactivate`), with health checks and restarts already suspended. Not run
    /// when no process is up. Bound it with your own timeout.
    pub async fn stop_with<F, Fut>(&self, before_shutdown: F) -> StopReport
    where
        F: FnOnce(PluginConnection) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let hook: StopHook = Box::new(move |connection| Box::pin(before_shutdown(connection)));
        self.request_stop(Some(hook)).await
    }

    async fn request_stop(&self, before_shutdown: Option<StopHook>) -> StopReport {
        let (reply, response) = oneshot::channel();
        let sent = self.shared.requests.send(Request::Stop {
            before_shutdown,
            reply,
        });
        let not_running = || StopReport {
            outcome: StopOutcome::NotRunning,
            exit_status: None,
            generation: self.shared.status.borrow().generation,
        };
        match sent {
            Ok(()) => response.await.unwrap_or_else(|_| not_running()),
            Err(_) => not_running(),
        }
    }
}

/// See [`Supervisor::hook_clients`].
#[derive(Clone)]
pub struct HookClients {
    plugin_id: String,
    threshold: u32,
    stuck: mpsc::UnboundedSender<hook_watch::Stuck>,
}

impl HookClients {
    /// A hooks client for `connection` whose timeouts count towards the restart policy.
    pub fn client(
        &self,
        connection: &PluginConnection,
    ) -> mattermost_plugin_api::PluginHooksClient {
        let watch = hook_watch::HookWatch {
            plugin_id: self.plugin_id.clone(),
            generation: connection.generation,
            threshold: self.threshold,
            consecutive: Default::default(),
            reports: self.stuck.clone(),
        };
        connection.hooks_client().with_observer(Arc::new(watch))
    }
}

/// Why supervision of one generation ended.
enum Exit {
    Stop(Option<StopHook>, oneshot::Sender<StopReport>),
    /// Every handle was dropped.
    Abandoned,
    Restart(String),
}

struct Task {
    cfg: SupervisorConfig,
    requests: mpsc::UnboundedReceiver<Request>,
    stuck: mpsc::UnboundedReceiver<hook_watch::Stuck>,
    status: watch::Sender<SupervisorStatus>,
    connection: watch::Sender<PluginConnection>,
    token: Arc<Mutex<Option<String>>>,
    generation: u64,
    /// When each restart in the window happened.
    restarts: VecDeque<Instant>,
}

impl Task {
    async fn run(mut self, mut process: PluginProcess) {
        loop {
            match self.supervise(&mut process).await {
                Exit::Stop(hook, reply) => {
                    let report = self.stop(process, hook).await;
                    let _ = reply.send(report);
                    return;
                }
                Exit::Abandoned => {
                    tracing::info!("every supervisor handle was dropped; stopping the plugin");
                    self.stop(process, None).await;
                    return;
                }
                Exit::Restart(reason) => match self.restart(process, reason).await {
                    Some(next) => process = next,
                    None => return,
                },
            }
        }
    }

    /// Watches one running generation until it must be stopped or restarted.
    async fn supervise(&mut self, process: &mut PluginProcess) -> Exit {
        enum Event {
            Request(Option<Request>),
            Exited(std::io::Result<std::process::ExitStatus>),
            Tick,
            Health(Result<(), HealthError>),
            Stuck(hook_watch::Stuck),
        }
        let connection = match process.connection() {
            Some(connection) => connection.clone(),
            None => return Exit::Restart("process has no connection".into()),
        };
        let period = self
            .cfg
            .health_interval
            .max(std::time::Duration::from_millis(1));
        let mut ticker = tokio::time::interval_at(Instant::now() + period, period);
        ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut failures = 0u32;
        let mut ping: Option<HealthPing> = None;
        loop {
            let event = tokio::select! {
                request = self.requests.recv() => Event::Request(request),
                Some(stuck) = self.stuck.recv() => Event::Stuck(stuck),
                status = process.wait() => Event::Exited(status),
                _ = ticker.tick(), if ping.is_none() => Event::Tick,
                result = async { ping.as_mut().expect("guarded").await }, if ping.is_some() => Event::Health(result),
            };
            match event {
                Event::Request(None) => return Exit::Abandoned,
                Event::Request(Some(Request::Stop {
                    before_shutdown,
                    reply,
                })) => return Exit::Stop(before_shutdown, reply),
                Event::Exited(status) => {
                    let status = match status {
                        Ok(status) => status.to_string(),
                        Err(error) => format!("wait failed: {error}"),
                    };
                    let reason = format!(
                        "process exited unexpectedly ({status}){}",
                        process.stderr_tail()
                    );
                    return Exit::Restart(reason);
                }
                Event::Stuck(stuck) if stuck.generation == process.generation() => {
                    return Exit::Restart(stuck.reason);
                }
                // About an earlier generation, already replaced.
                Event::Stuck(_) => {}
                Event::Tick => {
                    ping = Some(Box::pin(health_check_within(
                        connection.clone(),
                        self.cfg.health_timeout,
                    )))
                }
                Event::Health(result) => {
                    ping = None;
                    match result {
                        Ok(()) => failures = 0,
                        Err(error) => {
                            failures += 1;
                            tracing::warn!(generation = process.generation(), failures, %error, "plugin health check failed");
                            if failures >= self.cfg.health_failures_before_restart.max(1) {
                                return Exit::Restart(format!(
                                    "{failures} consecutive health checks failed, the last: {error}"
                                ));
                            }
                        }
                    }
                }
            }
        }
    }

    fn update(&self, change: impl FnOnce(&mut SupervisorStatus)) {
        self.status.send_modify(change);
    }

    fn set_token(&self, token: Option<&str>) {
        *self.token.lock().unwrap_or_else(|e| e.into_inner()) = token.map(str::to_owned);
    }

    async fn stop(&mut self, mut process: PluginProcess, hook: Option<StopHook>) -> StopReport {
        if let (Some(hook), Some(connection)) = (hook, process.connection().cloned()) {
            hook(connection).await;
        }
        let (outcome, exit_status) = process.shutdown(&self.cfg).await;
        drop(process);
        self.set_token(None);
        self.update(|s| {
            s.state = SupervisorState::Stopped;
            s.pid = None;
        });
        tracing::info!(
            generation = self.generation,
            ?outcome,
            ?exit_status,
            "plugin stopped"
        );
        StopReport {
            outcome,
            exit_status,
            generation: self.generation,
        }
    }

    /// Answers a request received while no process is up, and ends in `Stopped`.
    fn stopped_while_down(&mut self, request: Option<Request>, report: StopReport) {
        if let Some(Request::Stop { reply, .. }) = request {
            let _ = reply.send(report);
        }
        self.set_token(None);
        self.update(|s| {
            s.state = SupervisorState::Stopped;
            s.pid = None;
        });
    }

    fn not_running(&self) -> StopReport {
        StopReport {
            outcome: StopOutcome::NotRunning,
            exit_status: None,
            generation: self.generation,
        }
    }

    /// Kills `old`, then starts new generations until one runs (`Some`), the restart budget is
    /// spent (waits in `Failed` for a stop, then `None`), or a stop arrives (`None`).
    async fn restart(&mut self, mut old: PluginProcess, reason: String) -> Option<PluginProcess> {
        tracing::warn!(generation = self.generation, %reason, "plugin needs a restart");
        self.update(|s| {
            s.state = SupervisorState::Restarting;
            s.last_error = Some(reason.clone());
        });
        old.terminate(self.cfg.stop_grace).await;
        drop(old);
        self.set_token(None);
        self.update(|s| s.pid = None);

        loop {
            let now = Instant::now();
            while self
                .restarts
                .front()
                .is_some_and(|t| now.duration_since(*t) >= self.cfg.restart_window)
            {
                self.restarts.pop_front();
            }
            if self.restarts.len() >= self.cfg.max_restarts as usize {
                tracing::error!(restarts = self.restarts.len(), window = ?self.cfg.restart_window,
                    "plugin keeps failing; giving up");
                let restarts = self.restarts.len() as u32;
                self.update(|s| {
                    s.state = SupervisorState::Failed;
                    s.restarts_in_window = restarts;
                });
                let request = self.requests.recv().await;
                let report = self.not_running();
                self.stopped_while_down(request, report);
                return None;
            }
            let delay = self.cfg.backoff(self.restarts.len());
            self.restarts.push_back(now);
            let restarts = self.restarts.len() as u32;
            self.update(|s| {
                s.state = SupervisorState::Restarting;
                s.restarts_in_window = restarts;
            });
            tokio::select! {
                _ = sleep(delay) => {}
                request = self.requests.recv() => {
                    let report = self.not_running();
                    self.stopped_while_down(request, report);
                    return None;
                }
            }

            self.generation += 1;
            let generation = self.generation;
            tracing::info!(generation, restart = restarts, "restarting plugin");
            self.update(|s| {
                s.state = SupervisorState::Starting;
                s.generation = generation;
                s.pid = None;
            });
            let deadline = Instant::now() + self.cfg.start_timeout;
            let mut next = match PluginProcess::spawn(&self.cfg, generation).await {
                Ok(next) => next,
                Err(error) => {
                    tracing::warn!(generation, %error, "plugin restart failed");
                    self.update(|s| s.last_error = Some(error.to_string()));
                    continue;
                }
            };
            self.set_token(next.token());
            let pid = next.pid();
            self.update(|s| s.pid = Some(pid));
            let started = tokio::select! {
                started = next.ready(&self.cfg, deadline) => Ok(started),
                request = self.requests.recv() => Err(request),
            };
            match started {
                Ok(Ok(connection)) => {
                    self.connection.send_replace(connection);
                    self.update(|s| s.state = SupervisorState::Running);
                    return Some(next);
                }
                Ok(Err(error)) => {
                    tracing::warn!(generation, %error, "plugin restart failed");
                    self.set_token(None);
                    self.update(|s| {
                        s.state = SupervisorState::Restarting;
                        s.pid = None;
                        s.last_error = Some(error.to_string());
                    });
                }
                Err(request) => {
                    let exit_status = next.kill().await;
                    drop(next);
                    let report = StopReport {
                        outcome: StopOutcome::Killed,
                        exit_status,
                        generation,
                    };
                    self.stopped_while_down(request, report);
                    return None;
                }
            }
        }
    }
}
