//! `mm-python-shim`: the executable a **stock** Mattermost server starts for a Python plugin.
//!
//! Upward it is a go-plugin net/rpc plugin (the handshake line first, then yamux, gob net/rpc,
//! the `"hooks"` plugin); downward it runs the bundle's Python entry with the runtime's
//! supervisor over the project's gRPC contract, and serves that child an API whose every call
//! is a net/rpc call to the server on the stream `OnActivate` names.
//!
//! * The bundle is the nearest directory above the executable with a `plugin.json` (the
//!   server starts plugins without arguments, in its own working directory); see the crate's
//!   `bundle` module for the manifest.
//! * The interpreter: on a bundle's first start (one made by `cargo xtask bundle`, with
//!   `wheels/`), a virtualenv created from the bundled wheels without network with the
//!   host's Python 3.10 or newer (the plugin's `PythonInterpreter` setting, else
//!   `MM_PYTHON_SHIM_PYTHON`, else `python3`… on PATH), reused afterwards; see the `bundle`
//!   module. Without one the activation fails with that reason and an `[ERROR]` line in the
//!   server log.
//! * When the bundle records the plugin's hooks (`server/python-plugin.json`, written by
//!   `cargo xtask bundle`), `Implemented` answers from it at once and the child starts in
//!   `OnActivate`, after the plugin's configuration (the interpreter setting) is read from the
//!   server; a start failure is `OnActivate`'s error. Without a record (a development layout)
//!   the child starts beside the handshake and `Implemented` waits for it and asks it; a start
//!   failure is `Implemented`'s error.
//! * The child never sees this process's stdout (the host discards everything after the
//!   handshake line there) or stderr: its output becomes log lines of ours.
//! * Logs are hclog-style `[LEVEL] …` lines on stderr, which go-plugin turns into the server's
//!   log entries at that level (`MM_SHIM_LOG` filters them, `info` by default).
//! * The child is not restarted here: if it dies or stops answering, the shim exits and the
//!   server's health check restarts the whole plugin. `Control.Quit` stops the child (its
//!   process group) before the shim exits, within go-plugin's 2 s.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use mattermost_plugin_api::{Forwarding, PluginHooksClient};
use mattermost_plugin_gob::netrpc::NetRpcApi;
use mattermost_plugin_runtime::api_server::{ApiServer, ApiServerConfig, TokenRegistry};
use mattermost_plugin_runtime::supervisor::{
    CommandSpec, Supervisor, SupervisorConfig, SupervisorState, SupervisorStatus,
};
use mattermost_plugin_shim::bundle;
use mattermost_plugin_shim::handshake::{
    self, MATTERMOST_MAGIC_COOKIE_KEY, MATTERMOST_MAGIC_COOKIE_VALUE, MATTERMOST_PROTOCOL_VERSION,
};
use mattermost_plugin_shim::hooks::{LateStart, Started, hooks_service};
use mattermost_plugin_shim::netrpc::ApiConnection;
use mattermost_plugin_shim::plugin::{self, PluginSet, ServeEnd};
use mattermost_plugin_shim::rpc::{Empty, MethodError, Service};
use tokio::sync::watch;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

/// How long `OnActivate` may take in the Python plugin (other hooks: the runtime's 30 s).
const ON_ACTIVATE_TIMEOUT: Duration = Duration::from_secs(10 * 60);
/// How long a shim whose Python plugin could not start waits for the server to stop it.
const START_FAILURE_GRACE: Duration = Duration::from_secs(5);

fn main() -> ExitCode {
    if handshake::check_magic_cookie_env(MATTERMOST_MAGIC_COOKIE_KEY, MATTERMOST_MAGIC_COOKIE_VALUE)
        .is_err()
    {
        eprint!("{}", handshake::NOT_A_PLUGIN_MESSAGE);
        return ExitCode::from(1);
    }
    init_logging();
    // One thread: the shim only moves bytes between sockets, and handing a call from task to
    // task without crossing threads saved 15-40 µs per hook round trip and raised ServeHTTP
    // MB/s by about 5% (stock_server bench, Rust and Python plugins through the shim).
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            tracing::error!("starting the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    let code = runtime.block_on(run());
    // Tasks still blocked on streams the host already closed must not hold the exit.
    runtime.shutdown_timeout(Duration::from_millis(100));
    code
}

/// The started child as the hooks service and the failure watch see it.
#[derive(Clone)]
struct Child {
    hooks: Arc<PluginHooksClient>,
    status: watch::Receiver<SupervisorStatus>,
}

/// What the hooks service waits for: the child, or why there is none.
type ChildHooks = Option<Result<Child, String>>;

async fn run() -> ExitCode {
    let (dir, manifest, entry) = match bundle::own_bundle().and_then(|dir| {
        let (manifest, entry) = bundle::python_entry(&dir)?;
        Ok((dir, manifest, entry))
    }) {
        Ok(found) => found,
        Err(e) => {
            tracing::error!("{e}");
            return ExitCode::from(1);
        }
    };
    let plugin_id = manifest.id.clone();
    let record = bundle::recorded_hooks(&dir).unwrap_or_else(|e| {
        tracing::error!("{e}; asking the plugin for its hooks instead");
        None
    });

    // The API the child calls: the server's, once OnActivate hands over its stream.
    let api = ApiConnection::default();
    let tokens = TokenRegistry::default();
    let api_server = match ApiServer::start(
        Arc::new(NetRpcApi::new(api.clone())),
        tokens.clone(),
        ApiServerConfig::default(),
    )
    .await
    {
        Ok(server) => server,
        Err(e) => {
            tracing::error!("starting the plugin API server: {e}");
            return ExitCode::from(1);
        }
    };

    let api_addr = api_server.addr().target();

    // The child starts once `launch` says with which interpreter: at once without a hook
    // record (beside the handshake, which must not wait for it, nor for the interpreter: a
    // bundle's first start creates its virtualenv from the bundled wheels), else in OnActivate.
    let (launch_tx, mut launch_rx) = watch::channel::<Option<bundle::PythonChoice>>(None);
    let (child_tx, child_rx) = watch::channel::<ChildHooks>(None);
    // The same outcome as the late hooks see it.
    let (started_tx, started_rx) = watch::channel::<Started<PluginHooksClient>>(None);
    let publish = move |child: Result<Child, String>| {
        started_tx.send_replace(Some(
            child
                .as_ref()
                .map(|c| c.hooks.clone())
                .map_err(Clone::clone),
        ));
        child_tx.send_replace(Some(child));
    };
    // Without a record the sender stays here, open until the end (the start waits on it).
    let (late, _launch) = match record {
        Some(recorded) => (
            Some(Arc::new(Forwarding(LateStart::new(
                recorded, launch_tx, started_rx,
            )))),
            None,
        ),
        None => {
            launch_tx.send_replace(Some(bundle::PythonChoice::default()));
            (None, Some(launch_tx))
        }
    };
    let child = tokio::spawn(async move {
        // None: the shim ends before any start was asked for.
        let choice = launch_rx
            .wait_for(Option::is_some)
            .await
            .ok()
            .and_then(|choice| choice.clone())?;
        let interpreter = {
            let (dir, manifest) = (dir.clone(), manifest.clone());
            tokio::task::spawn_blocking(move || {
                bundle::python_interpreter(&dir, &manifest, &choice)
            })
            .await
        };
        let python = match interpreter {
            Ok(Ok(python)) => python,
            Ok(Err(e)) => {
                publish(Err(e.to_string()));
                return None;
            }
            Err(e) => {
                publish(Err(format!("finding the interpreter: {e}")));
                return None;
            }
        };
        // -u: unbuffered, so the child's log lines reach the server as they are written.
        let command = CommandSpec::new(python).arg("-u").arg(&entry).cwd(&dir);
        let mut config =
            SupervisorConfig::new(plugin_id, command, api_addr).with_tokens(Arc::new(tokens));
        // The server restarts the whole plugin when it fails; the shim only reports it by exiting.
        config.max_restarts = 0;
        // Within go-plugin's 2 s between Control.Quit and SIGKILL.
        config.shutdown_timeout = Duration::from_millis(700);
        config.stop_grace = Duration::from_millis(300);
        match Supervisor::start(config).await {
            Ok(supervisor) => {
                // The server puts no limit on OnActivate; one cut short here would look
                // like a success (the client answers Go's default), so it gets a long one.
                let hooks = Arc::new(
                    supervisor
                        .hooks_client(&supervisor.connection())
                        .with_hook_timeout("OnActivate", ON_ACTIVATE_TIMEOUT),
                );
                let status = supervisor.subscribe();
                publish(Ok(Child { hooks, status }));
                Some(supervisor)
            }
            Err(e) => {
                publish(Err(format!("starting the Python plugin: {e}")));
                None
            }
        }
    });

    let plugins = PluginSet::new().with_async("hooks", {
        let child_rx = child_rx.clone();
        move |broker| {
            let (mut child_rx, api, late) = (child_rx.clone(), api.clone(), late.clone());
            async move {
                if let Some(late) = late {
                    // Answered from the record; the child comes in OnActivate.
                    return Ok(hooks_service(broker, late, api));
                }
                let child = child_rx
                    .wait_for(Option::is_some)
                    .await
                    .map_err(|_| "the Python plugin was never started".to_string())?
                    .clone()
                    .expect("waited for Some");
                Ok(match child {
                    Ok(child) => hooks_service(broker, child.hooks, api),
                    Err(why) => start_failure_service(why),
                })
            }
        }
    });
    // The yamux stdout/stderr streams stay unused: logs go to the real stderr, with levels.
    let (_stdout, _stderr, stdio) = plugin::stdio();
    let serving = plugin::serve(&[MATTERMOST_PROTOCOL_VERSION], plugins, stdio);

    let failed = child_failure(child_rx);
    let code = tokio::select! {
        end = serving => match end {
            Ok(ServeEnd::Quit) => {
                tracing::debug!("the server asked the plugin to quit");
                ExitCode::SUCCESS
            }
            Ok(ServeEnd::SessionClosed(e)) => {
                tracing::info!("the server closed the connection without Quit: {e}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                tracing::error!("{e}");
                ExitCode::from(1)
            }
        },
        why = failed => {
            tracing::error!("{why}; the plugin stops");
            ExitCode::from(1)
        }
    };
    // Stop the child (its whole process group), then the API server. A start still under way
    // is abandoned (the runtime kills and reaps what it spawned).
    if !child.is_finished() {
        child.abort();
    }
    if let Ok(Some(supervisor)) = child.await {
        let report = supervisor.stop().await;
        tracing::debug!(outcome = ?report.outcome, "Python plugin stopped");
    }
    api_server.shutdown().await;
    code
}

/// The hooks service of a plugin whose Python part could not start: `Implemented`, the
/// server's first call, answers why, so the activation fails with that message.
fn start_failure_service(why: String) -> Service {
    Service::new().method("Implemented", move |_: Empty| {
        let why = why.clone();
        async move { Err::<Vec<String>, _>(MethodError(why)) }
    })
}

/// Resolves when the child failed to start or its supervisor gave up on it (it crashed, or
/// stopped answering health checks or hooks).
async fn child_failure(mut child: watch::Receiver<ChildHooks>) -> String {
    let started = match child.wait_for(Option::is_some).await {
        Ok(c) => c.clone().expect("waited for Some"),
        Err(_) => return std::future::pending().await,
    };
    let mut status = match started {
        Ok(child) => child.status,
        Err(e) => {
            // The hooks stream answers the server's `Implemented` with this error, which fails
            // the activation with it, and the server then stops the plugin (Control.Quit).
            // Exiting at once would cut that answer off (the server would only see a reset
            // connection).
            tokio::time::sleep(START_FAILURE_GRACE).await;
            return e;
        }
    };
    match status
        .wait_for(|s| s.state == SupervisorState::Failed)
        .await
    {
        Ok(s) => format!(
            "the Python plugin failed: {}",
            s.last_error.as_deref().unwrap_or("no reason given")
        ),
        // The supervisor ended (stopped on request): nothing to report.
        Err(_) => std::future::pending().await,
    }
}

/// hclog-style lines on stderr: `[LEVEL] target: message key=value`.
fn init_logging() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env("MM_SHIM_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .event_format(Hclog)
        .init();
}

struct Hclog;

impl<S, N> FormatEvent<S, N> for Hclog
where
    S: tracing::Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &tracing::Event<'_>,
    ) -> std::fmt::Result {
        let meta = event.metadata();
        let level = match *meta.level() {
            tracing::Level::TRACE => "TRACE",
            tracing::Level::DEBUG => "DEBUG",
            tracing::Level::INFO => "INFO",
            tracing::Level::WARN => "WARN",
            tracing::Level::ERROR => "ERROR",
        };
        let mut line = String::new();
        ctx.field_format()
            .format_fields(Writer::new(&mut line), event)?;
        // One event, one line: go-plugin reads stderr line by line.
        let line = line.trim_end().replace('\n', "\\n");
        writeln!(writer, "[{level}] {}: {line}", meta.target())
    }
}
