//! Supervisor tests against the fake plugin (`fake-plugin/`, bin `mm-fake-plugin`).
//!
//! Every test records the pids the fake plugin processes wrote (`FAKE_RECORD_FILE`) and checks at
//! the end that none of them is left: not running, and not a zombie of ours.

use std::collections::HashMap;
use std::io::Read;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use mattermost_plugin_api::{PluginApi, pb};
use mattermost_plugin_runtime::api_server::{ApiServer, ApiServerConfig, TokenRegistry};
use mattermost_plugin_runtime::supervisor::{
    CommandSpec, HOOK_TOKEN_METADATA, HandshakeError, PluginAddress, PluginConnection, StartError,
    StartPhase, StopOutcome, Supervisor, SupervisorConfig, SupervisorState, SupervisorStatus,
    TokenIssuer, call_shutdown, connect, health_check, random_token,
};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;

const FAKE: &str = env!("CARGO_BIN_EXE_mm-fake-plugin");
const WAIT: Duration = Duration::from_secs(20);

struct Fixture {
    dir: tempfile::TempDir,
}

/// One line of the fake plugin's record file.
#[derive(Debug, Clone)]
struct Record {
    pid: u32,
    fields: HashMap<String, String>,
}

impl Fixture {
    fn new() -> Fixture {
        Fixture {
            dir: tempfile::tempdir().expect("tempdir"),
        }
    }

    fn record_file(&self) -> PathBuf {
        self.dir.path().join("record.txt")
    }

    fn config(&self, plugin_id: &str, mode: &str) -> SupervisorConfig {
        test_config(self.dir.path(), plugin_id, mode)
    }

    /// Makes the mode apply to the first start only.
    fn once(&self, mut config: SupervisorConfig) -> SupervisorConfig {
        config.command = config
            .command
            .env("FAKE_ONCE_FILE", self.dir.path().join("once"));
        config
    }

    fn records(&self) -> Vec<Record> {
        records(&self.record_file())
    }

    fn grandchildren(&self) -> Vec<u32> {
        std::fs::read_to_string(self.record_file())
            .unwrap_or_default()
            .lines()
            .filter_map(|line| line.strip_prefix("grandchild="))
            .map(|pid| pid.parse().expect("grandchild pid"))
            .collect()
    }

    /// Every recorded plugin process is reaped right now (stop and failed starts reap
    /// synchronously): `kill(pid, 0)` says ESRCH, so it is neither running nor a zombie.
    fn assert_reaped_now(&self) {
        let records = self.records();
        assert!(!records.is_empty(), "the fake plugin recorded no pid");
        for record in records {
            assert!(
                reaped(record.pid),
                "plugin process {} is still there: {}",
                record.pid,
                proc_state(record.pid)
            );
        }
        self.assert_grandchildren_gone();
    }

    /// Grandchildren are reparented to init when their parent exits, so reaping them is init's
    /// job: they must be dead (a zombie not ours at most), within a bounded wait.
    fn assert_grandchildren_gone(&self) {
        for pid in self.grandchildren() {
            let deadline = Instant::now() + Duration::from_secs(3);
            while !(reaped(pid) || zombie_not_ours(pid)) {
                assert!(
                    Instant::now() < deadline,
                    "grandchild {pid} survived: {}",
                    proc_state(pid)
                );
                std::thread::sleep(Duration::from_millis(10));
            }
        }
    }
}

/// Fast timings: health every 50 ms, 3 failures → restart, backoff 10 ms.
fn test_config(dir: &Path, plugin_id: &str, mode: &str) -> SupervisorConfig {
    let command = CommandSpec::new(FAKE)
        .env("FAKE_MODE", mode)
        .env("FAKE_RECORD_FILE", dir.join("record.txt"))
        .env("FAKE_SOCKET_DIR", dir);
    let mut config = SupervisorConfig::new(plugin_id, command, "unix:///nonexistent/api.sock");
    config.start_timeout = Duration::from_secs(10);
    config.health_interval = Duration::from_millis(50);
    config.health_timeout = Duration::from_millis(200);
    config.health_failures_before_restart = 3;
    config.max_restarts = 3;
    config.restart_window = Duration::from_secs(60);
    config.restart_backoff = Duration::from_millis(10);
    config.restart_backoff_max = Duration::from_millis(100);
    config.shutdown_timeout = Duration::from_secs(2);
    config.stop_grace = Duration::from_secs(2);
    config
}

fn records(file: &Path) -> Vec<Record> {
    let Ok(text) = std::fs::read_to_string(file) else {
        return Vec::new();
    };
    text.lines()
        .filter(|line| line.starts_with("pid="))
        .map(|line| {
            let fields: HashMap<String, String> = line
                .split(' ')
                .filter_map(|kv| kv.split_once('='))
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            Record {
                pid: fields["pid"].parse().expect("pid"),
                fields,
            }
        })
        .collect()
}

fn reaped(pid: u32) -> bool {
    // SAFETY: signal 0 only checks for existence.
    let r = unsafe { libc::kill(pid as libc::pid_t, 0) };
    r == -1 && std::io::Error::last_os_error().raw_os_error() == Some(libc::ESRCH)
}

/// `(state, ppid)` from /proc/<pid>/stat.
fn stat(pid: u32) -> Option<(char, u32)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &text[text.rfind(')')? + 2..];
    let mut fields = rest.split(' ');
    let state = fields.next()?.chars().next()?;
    let ppid = fields.next()?.parse().ok()?;
    Some((state, ppid))
}

fn zombie_not_ours(pid: u32) -> bool {
    matches!(stat(pid), Some(('Z', ppid)) if ppid != std::process::id())
}

fn proc_state(pid: u32) -> String {
    match stat(pid) {
        Some((state, ppid)) => format!("state {state}, ppid {ppid}"),
        None => "no /proc entry".to_string(),
    }
}

async fn wait_status(
    supervisor: &Supervisor,
    what: &str,
    predicate: impl FnMut(&SupervisorStatus) -> bool,
) -> SupervisorStatus {
    match tokio::time::timeout(WAIT, supervisor.wait_for(predicate)).await {
        Ok(Some(status)) => status,
        Ok(None) => panic!("supervisor ended before {what}: {:?}", supervisor.status()),
        Err(_) => panic!("timed out waiting for {what}: {:?}", supervisor.status()),
    }
}

/// A health check as the host makes it (with the hook token).
async fn serving(connection: &PluginConnection) -> bool {
    health_check(connection.channel.clone(), &connection.hook_token)
        .await
        .is_ok()
}

async fn start_err(config: SupervisorConfig) -> StartError {
    match Supervisor::start(config).await {
        Ok(supervisor) => {
            supervisor.stop().await;
            panic!("start unexpectedly succeeded")
        }
        Err(error) => error,
    }
}

/// A [`TokenIssuer`] that remembers what it issued and revoked.
#[derive(Default)]
struct RecordingTokens {
    issued: Mutex<Vec<String>>,
    revoked: Mutex<Vec<String>>,
}

impl TokenIssuer for RecordingTokens {
    fn issue(&self, _plugin_id: &str) -> std::io::Result<String> {
        let token = random_token()?;
        self.issued.lock().unwrap().push(token.clone());
        Ok(token)
    }

    fn revoke(&self, token: &str) {
        self.revoked.lock().unwrap().push(token.to_string());
    }
}

/// Captures `tracing` output of the current thread (tests run on a current-thread runtime, so
/// the supervisor's tasks log here too).
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

#[test]
fn handles_and_errors_are_thread_safe() {
    fn send_sync_static<T: Send + Sync + 'static>() {}
    send_sync_static::<Supervisor>();
    send_sync_static::<StartError>();
    send_sync_static::<SupervisorConfig>();
}

#[tokio::test]
async fn normal_start_runs_and_stops_cleanly() {
    let fixture = Fixture::new();
    let tokens = Arc::new(RecordingTokens::default());
    let config = fixture
        .config("com.example.normal", "normal")
        .with_tokens(tokens.clone());
    let supervisor = Supervisor::start(config).await.expect("start");

    let status = supervisor.status();
    assert_eq!(status.state, SupervisorState::Running);
    assert_eq!(status.generation, 1);
    assert_eq!(supervisor.plugin_id(), "com.example.normal");
    let records = fixture.records();
    assert_eq!(records.len(), 1);
    let record = &records[0];
    assert_eq!(supervisor.pid(), Some(record.pid));
    assert_eq!(supervisor.connection().pid, record.pid);
    assert_eq!(supervisor.connection().generation, 1);

    // The environment the plugin saw.
    let token = supervisor.token().expect("a live process has a token");
    assert_eq!(token.len(), 64);
    assert!(token.bytes().all(|b| b.is_ascii_hexdigit()));
    assert_eq!(record.fields["token"], token);
    assert_eq!(*tokens.issued.lock().unwrap(), vec![token.clone()]);
    assert_eq!(record.fields["plugin_id"], "com.example.normal");
    assert_eq!(record.fields["api_addr"], "unix:///nonexistent/api.sock");
    assert_eq!(record.fields["versions"], "1");
    let hook_token = &supervisor.connection().hook_token;
    assert_eq!(hook_token.len(), 64);
    assert_ne!(*hook_token, token, "the hook token is not the API token");
    assert_eq!(&record.fields["hook_token"], hook_token);

    // The channel is usable by the caller.
    assert!(serving(&supervisor.connection()).await);

    let started = Instant::now();
    let report = supervisor.stop().await;
    assert_eq!(report.outcome, StopOutcome::Shutdown);
    assert_eq!(report.exit_status.and_then(|s| s.code()), Some(0));
    assert_eq!(report.generation, 1);
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(supervisor.state(), SupervisorState::Stopped);
    assert_eq!(supervisor.token(), None);
    assert_eq!(*tokens.revoked.lock().unwrap(), vec![token]);
    fixture.assert_reaped_now();

    // Idempotent.
    assert_eq!(supervisor.stop().await.outcome, StopOutcome::NotRunning);
}

#[tokio::test]
async fn tcp_network_is_supported() {
    let fixture = Fixture::new();
    let config = fixture.config("tcp", "normal");
    let mut config = config;
    config.command = config.command.env("FAKE_NETWORK", "tcp");
    let supervisor = Supervisor::start(config).await.expect("start");
    assert!(
        supervisor
            .connection()
            .address
            .to_string()
            .starts_with("tcp:127.0.0.1:")
    );
    assert!(serving(&supervisor.connection()).await);
    assert_eq!(supervisor.stop().await.outcome, StopOutcome::Shutdown);
    fixture.assert_reaped_now();
}

#[tokio::test]
async fn slow_start_within_the_timeout_succeeds() {
    let fixture = Fixture::new();
    let mut config = fixture.config("slow", "slow_start");
    config.command = config.command.env("FAKE_DELAY_MS", "300");
    config.start_timeout = Duration::from_secs(5);
    let started = Instant::now();
    let supervisor = Supervisor::start(config).await.expect("start");
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert_eq!(supervisor.state(), SupervisorState::Running);
    supervisor.stop().await;
    fixture.assert_reaped_now();
}

#[tokio::test]
async fn slow_start_beyond_the_timeout_fails_and_kills() {
    let fixture = Fixture::new();
    let mut config = fixture.config("too-slow", "slow_start");
    config.command = config.command.env("FAKE_DELAY_MS", "30000");
    config.start_timeout = Duration::from_millis(300);
    let started = Instant::now();
    let error = start_err(config).await;
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    match &error {
        StartError::Timeout {
            plugin_id,
            phase,
            timeout,
            ..
        } => {
            assert_eq!(plugin_id, "too-slow");
            assert_eq!(*phase, StartPhase::Handshake);
            assert_eq!(*timeout, Duration::from_millis(300));
        }
        other => panic!("expected a timeout, got {other:?}"),
    }
    let message = error.to_string();
    assert!(
        message.contains("too-slow") && message.contains("300ms"),
        "{message}"
    );
    assert!(
        message.contains("slow start, 30000 ms"),
        "stderr tail missing: {message}"
    );
    fixture.assert_reaped_now();
}

#[tokio::test]
async fn stdout_noise_before_the_handshake_is_tolerated_and_output_is_logged() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .with_max_level(tracing::Level::DEBUG)
        .finish();
    // With a single registered subscriber, tracing decides a call site's interest from the
    // default of whichever thread hits it first: a parallel test's thread (no subscriber) would
    // disable call sites for good. A second, idle one makes it ask every registered subscriber.
    let _second = tracing::Dispatch::new(tracing::subscriber::NoSubscriber::default());
    let _guard = tracing::subscriber::set_default(subscriber);

    let fixture = Fixture::new();
    let supervisor = Supervisor::start(fixture.config("noisy", "noise"))
        .await
        .expect("start");
    assert_eq!(supervisor.state(), SupervisorState::Running);
    supervisor.stop().await; // also flushes the output readers
    fixture.assert_reaped_now();

    let logs = captured.text();
    let line_with = |needle: &str| {
        logs.lines()
            .find(|line| line.contains(needle))
            .unwrap_or_else(|| panic!("no log line with {needle:?} in:\n{logs}"))
            .to_string()
    };
    let noise = line_with("some library printed this to stdout");
    assert!(
        noise.contains("before handshake") && noise.contains("noisy"),
        "{noise}"
    );
    assert!(line_with("a|b|c (pipes, but not a handshake)").contains("INFO"));
    let stdout = line_with("fake plugin: serving on");
    assert!(
        stdout.contains("INFO") && stdout.contains("stdout") && stdout.contains("noisy"),
        "{stdout}"
    );
    let hclog = line_with("fake plugin warning");
    assert!(hclog.contains("WARN") && hclog.contains("noisy"), "{hclog}");
    assert!(
        hclog.contains("module") && hclog.contains("answer"),
        "{hclog}"
    );
    assert!(
        !hclog.contains("@level"),
        "hclog JSON should be unpacked: {hclog}"
    );
    let plain = line_with("fake plugin: plain stderr line");
    assert!(
        plain.contains("INFO") && plain.contains("stderr"),
        "{plain}"
    );
}

#[tokio::test]
async fn malformed_handshake_is_rejected() {
    let fixture = Fixture::new();
    let error = start_err(fixture.config("malformed", "malformed")).await;
    match &error {
        StartError::Handshake { line, source, .. } => {
            assert_eq!(line, "1|1|unix");
            assert!(
                matches!(source, HandshakeError::Malformed { .. }),
                "{source:?}"
            );
        }
        other => panic!("expected a handshake error, got {other:?}"),
    }
    let message = error.to_string();
    assert!(
        message.contains("malformed") && message.contains("\"1|1|unix\""),
        "{message}"
    );
    fixture.assert_reaped_now();
}

#[tokio::test]
async fn wrong_core_protocol_version_is_rejected() {
    let fixture = Fixture::new();
    let error = start_err(fixture.config("core-v2", "bad_core_version")).await;
    assert!(
        matches!(
            &error,
            StartError::Handshake {
                source: HandshakeError::CoreProtocolVersion {
                    got: 2,
                    expected: 1
                },
                ..
            }
        ),
        "{error:?}"
    );
    assert!(
        error.to_string().contains("core protocol version 2"),
        "{error}"
    );
    fixture.assert_reaped_now();
}

#[tokio::test]
async fn wrong_app_protocol_version_is_rejected() {
    let fixture = Fixture::new();
    let error = start_err(fixture.config("app-v7", "bad_app_version")).await;
    assert!(
        matches!(
            &error,
            StartError::Handshake {
                source: HandshakeError::AppProtocolVersion {
                    got: 7,
                    expected: 1
                },
                ..
            }
        ),
        "{error:?}"
    );
    fixture.assert_reaped_now();
}

#[tokio::test]
async fn non_grpc_protocol_is_rejected() {
    let fixture = Fixture::new();
    let error = start_err(fixture.config("netrpc", "bad_protocol")).await;
    assert!(
        matches!(
            &error,
            StartError::Handshake {
                source: HandshakeError::UnsupportedProtocol { protocol },
                ..
            } if protocol == "netrpc"
        ),
        "{error:?}"
    );
    fixture.assert_reaped_now();
}

#[tokio::test]
async fn crash_at_start_reports_exit_status_and_stderr() {
    let fixture = Fixture::new();
    let error = start_err(fixture.config("crasher", "crash_at_start")).await;
    match &error {
        StartError::Exited {
            plugin_id,
            status,
            phase,
            stderr,
        } => {
            assert_eq!(plugin_id, "crasher");
            assert_eq!(status.code(), Some(3));
            assert_eq!(*phase, StartPhase::Handshake);
            assert!(
                stderr.lines.iter().any(|l| l.contains("crashing at start")),
                "{stderr:?}"
            );
        }
        other => panic!("expected an exit, got {other:?}"),
    }
    let message = error.to_string();
    assert!(message.contains("crashing at start as asked"), "{message}");
    assert!(message.contains("exit status: 3"), "{message}");
    fixture.assert_reaped_now();
}

#[tokio::test]
async fn missing_executable_is_a_spawn_error() {
    let mut config = Fixture::new().config("missing", "normal");
    config.command.program = "/nonexistent/mm-plugin".into();
    let error = start_err(config).await;
    assert!(matches!(&error, StartError::Spawn { .. }), "{error:?}");
    assert!(
        error.to_string().contains("/nonexistent/mm-plugin"),
        "{error}"
    );
}

#[tokio::test]
async fn crash_later_is_restarted_with_a_new_generation_channel_and_token() {
    let fixture = Fixture::new();
    let tokens = Arc::new(RecordingTokens::default());
    let config = fixture
        .once(fixture.config("crash-later", "crash_after:200"))
        .with_tokens(tokens.clone());
    let supervisor = Supervisor::start(config).await.expect("start");
    let first = supervisor.connection();
    let first_token = supervisor.token().expect("token");
    let mut connections = supervisor.watch_connection();
    connections.mark_unchanged();

    let status = wait_status(&supervisor, "generation 2 running", |s| {
        s.generation >= 2 && s.state == SupervisorState::Running
    })
    .await;
    assert_eq!(status.generation, 2);
    assert_eq!(status.restarts_in_window, 1);
    let reason = status.last_error.expect("restart reason");
    assert!(
        reason.contains("exited unexpectedly") && reason.contains("exit status: 2"),
        "{reason}"
    );
    assert!(reason.contains("crashing after 200 ms"), "{reason}");

    // The new generation: watch fired, new pid, new channel, new token; the old token revoked.
    assert!(connections.has_changed().unwrap());
    let second = connections.borrow_and_update().clone();
    assert_eq!(second.generation, 2);
    assert_ne!(second.pid, first.pid);
    assert_eq!(supervisor.connection().pid, second.pid);
    assert!(serving(&supervisor.connection()).await);
    let second_token = supervisor.token().expect("token");
    assert_ne!(second_token, first_token);
    assert!(tokens.revoked.lock().unwrap().contains(&first_token));
    let records = fixture.records();
    assert_eq!(records.len(), 2);
    assert_eq!(records[1].fields["token"], second_token);
    assert!(reaped(first.pid));

    assert_eq!(supervisor.stop().await.outcome, StopOutcome::Shutdown);
    assert!(tokens.revoked.lock().unwrap().contains(&second_token));
    fixture.assert_reaped_now();
}

#[tokio::test]
async fn hung_plugin_fails_health_checks_and_is_restarted() {
    let fixture = Fixture::new();
    let config = fixture.once(fixture.config("hung", "hang_after:100"));
    let supervisor = Supervisor::start(config).await.expect("start");
    let first_pid = supervisor.pid().expect("pid");
    let status = wait_status(&supervisor, "generation 2 running", |s| {
        s.generation >= 2 && s.state == SupervisorState::Running
    })
    .await;
    let reason = status.last_error.expect("restart reason");
    assert!(
        reason.contains("3 consecutive health checks failed"),
        "{reason}"
    );
    assert!(reason.contains("no answer within 200ms"), "{reason}");
    // The hung process was alive: it needed SIGTERM, and is reaped.
    assert!(reaped(first_pid));
    assert!(serving(&supervisor.connection()).await);
    supervisor.stop().await;
    fixture.assert_reaped_now();
}

#[tokio::test]
async fn not_serving_plugin_is_restarted() {
    let fixture = Fixture::new();
    let config = fixture.once(fixture.config("not-serving", "not_serving_after:100"));
    let supervisor = Supervisor::start(config).await.expect("start");
    let status = wait_status(&supervisor, "generation 2 running", |s| {
        s.generation >= 2 && s.state == SupervisorState::Running
    })
    .await;
    let reason = status.last_error.expect("restart reason");
    assert!(reason.contains("NOT_SERVING"), "{reason}");
    supervisor.stop().await;
    fixture.assert_reaped_now();
}

#[tokio::test]
async fn three_restarts_then_failed() {
    let fixture = Fixture::new();
    let config = fixture.config("flaky", "crash_after:100");
    let supervisor = Supervisor::start(config).await.expect("start");

    // Record every state the supervisor passes through.
    let mut updates = supervisor.subscribe();
    let seen = tokio::spawn(async move {
        let mut seen = vec![updates.borrow_and_update().state];
        while updates.changed().await.is_ok() {
            let state = updates.borrow_and_update().state;
            if seen.last() != Some(&state) {
                seen.push(state);
            }
            if state == SupervisorState::Failed {
                break;
            }
        }
        seen
    });

    let status = wait_status(&supervisor, "Failed", |s| {
        s.state == SupervisorState::Failed
    })
    .await;
    assert_eq!(status.generation, 4, "first start + 3 restarts");
    assert_eq!(status.restarts_in_window, 3);
    assert_eq!(status.pid, None);
    assert!(status.last_error.unwrap().contains("crashing after 100 ms"));
    assert_eq!(supervisor.token(), None);
    let seen = seen.await.unwrap();
    assert!(seen.contains(&SupervisorState::Restarting), "{seen:?}");
    assert_eq!(seen.last(), Some(&SupervisorState::Failed), "{seen:?}");
    assert_eq!(
        seen.iter()
            .filter(|s| **s == SupervisorState::Running)
            .count(),
        4,
        "every generation ran: {seen:?}"
    );

    assert_eq!(fixture.records().len(), 4);
    fixture.assert_reaped_now();
    assert_eq!(supervisor.stop().await.outcome, StopOutcome::NotRunning);
    assert_eq!(supervisor.state(), SupervisorState::Stopped);
}

#[tokio::test]
async fn stop_escalates_to_sigkill_when_sigterm_is_ignored() {
    let fixture = Fixture::new();
    let mut config = fixture.config("stubborn", "ignore_sigterm");
    config.shutdown_timeout = Duration::from_millis(200);
    config.stop_grace = Duration::from_millis(500);
    let supervisor = Supervisor::start(config).await.expect("start");
    let started = Instant::now();
    let report = supervisor.stop().await;
    let elapsed = started.elapsed();
    assert_eq!(report.outcome, StopOutcome::Killed);
    assert_eq!(
        report.exit_status.and_then(|s| s.signal()),
        Some(libc::SIGKILL)
    );
    assert!(elapsed >= Duration::from_millis(700), "{elapsed:?}");
    assert!(elapsed < Duration::from_millis(700 + 1500), "{elapsed:?}");
    fixture.assert_reaped_now();
}

#[tokio::test]
async fn stop_with_runs_the_deactivate_hook_first() {
    let fixture = Fixture::new();
    let supervisor = Supervisor::start(fixture.config("hooked", "normal"))
        .await
        .expect("start");
    let ran = Arc::new(Mutex::new(None));
    let ran_in_hook = ran.clone();
    let report = supervisor
        .stop_with(move |connection| async move {
            // Stands in for OnDeactivate: the plugin is still up and reachable.
            let alive = serving(&connection).await;
            *ran_in_hook.lock().unwrap() = Some((connection.generation, alive));
        })
        .await;
    assert_eq!(*ran.lock().unwrap(), Some((1, true)));
    assert_eq!(report.outcome, StopOutcome::Shutdown);
    fixture.assert_reaped_now();
}

#[tokio::test]
async fn stop_kills_the_whole_process_group() {
    let fixture = Fixture::new();
    let mut config = fixture.config("family", "normal");
    config.command = config.command.env("FAKE_GRANDCHILD", "1");
    let supervisor = Supervisor::start(config).await.expect("start");
    let grandchildren = fixture.grandchildren();
    assert_eq!(grandchildren.len(), 1);
    assert!(
        !reaped(grandchildren[0]),
        "the grandchild should be running"
    );
    supervisor.stop().await;
    fixture.assert_reaped_now();
}

#[tokio::test]
async fn stop_during_restart_backoff_stops_at_once() {
    let fixture = Fixture::new();
    let mut config = fixture.config("backoff", "crash_after:100");
    config.restart_backoff = Duration::from_secs(30);
    config.restart_backoff_max = Duration::from_secs(30);
    let supervisor = Supervisor::start(config).await.expect("start");
    wait_status(&supervisor, "restart backoff", |s| {
        s.state == SupervisorState::Restarting && s.restarts_in_window == 1
    })
    .await;
    let started = Instant::now();
    let report = supervisor.stop().await;
    assert_eq!(report.outcome, StopOutcome::NotRunning);
    assert!(started.elapsed() < Duration::from_secs(1));
    assert_eq!(supervisor.state(), SupervisorState::Stopped);
    assert_eq!(fixture.records().len(), 1);
    fixture.assert_reaped_now();
}

#[tokio::test]
async fn stop_during_a_restart_start_kills_the_starting_process() {
    let fixture = Fixture::new();
    let mut config = fixture.once(fixture.config("restart-slow", "crash_after:100"));
    config.command = config
        .command
        .env("FAKE_LATER_MODE", "slow_start")
        .env("FAKE_DELAY_MS", "30000");
    let supervisor = Supervisor::start(config).await.expect("start");
    let status = wait_status(&supervisor, "generation 2 starting", |s| {
        s.state == SupervisorState::Starting && s.generation == 2 && s.pid.is_some()
    })
    .await;
    assert!(
        supervisor.token().is_some(),
        "the starting process has a token"
    );
    // Let it get as far as recording itself (it is in its 30 s slow start then).
    let deadline = Instant::now() + WAIT;
    while fixture.records().len() < 2 {
        assert!(Instant::now() < deadline, "generation 2 never ran");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let started = Instant::now();
    let report = supervisor.stop().await;
    assert_eq!(report.outcome, StopOutcome::Killed);
    assert_eq!(report.generation, 2);
    assert_eq!(
        report.exit_status.and_then(|s| s.signal()),
        Some(libc::SIGKILL)
    );
    assert!(started.elapsed() < Duration::from_secs(1));
    assert_eq!(supervisor.state(), SupervisorState::Stopped);
    assert_eq!(supervisor.token(), None);
    let records = fixture.records();
    assert_eq!(records.len(), 2);
    assert_eq!(Some(records[1].pid), status.pid);
    fixture.assert_reaped_now();
}

#[tokio::test]
async fn dropping_every_handle_stops_the_plugin() {
    let fixture = Fixture::new();
    let supervisor = Supervisor::start(fixture.config("dropped", "normal"))
        .await
        .expect("start");
    let mut status = supervisor.subscribe();
    drop(supervisor);
    let stopped = tokio::time::timeout(
        WAIT,
        status.wait_for(|s| s.state == SupervisorState::Stopped),
    )
    .await
    .expect("stopped in time")
    .is_ok();
    assert!(stopped);
    fixture.assert_reaped_now();
}

#[test]
fn fake_plugin_refuses_to_run_without_the_magic_cookie() {
    let mut child = std::process::Command::new(FAKE)
        .env_remove("MATTERMOST_PLUGIN")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn fake");
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(1));
    assert!(stderr.contains("magic cookie missing"), "{stderr}");
}

/// In the child "host" of [`plugin_dies_with_its_killed_host`]: start a plugin, say so, hang.
const HOST_DIR_ENV: &str = "MM_SUPERVISOR_TEST_HOST_DIR";

/// A host killed with SIGKILL cannot stop its plugins: the parent-death signal must.
/// The test re-runs itself as that host (a child process selected by [`HOST_DIR_ENV`]).
#[test]
fn plugin_dies_with_its_killed_host() {
    if let Ok(dir) = std::env::var(HOST_DIR_ENV) {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let dir = PathBuf::from(dir);
            let supervisor = Supervisor::start(test_config(&dir, "orphan", "normal"))
                .await
                .expect("start in host");
            std::fs::write(dir.join("host-ready"), "").unwrap();
            std::future::pending::<()>().await;
            drop(supervisor);
        });
        return;
    }

    let fixture = Fixture::new();
    let mut host = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "plugin_dies_with_its_killed_host",
            "--test-threads=1",
        ])
        .env(HOST_DIR_ENV, fixture.dir.path())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn host");
    let deadline = Instant::now() + WAIT;
    while !fixture.dir.path().join("host-ready").exists() {
        assert!(Instant::now() < deadline, "host never started its plugin");
        assert!(host.try_wait().unwrap().is_none(), "host exited early");
        std::thread::sleep(Duration::from_millis(10));
    }
    let plugin = fixture.records()[0].pid;
    assert!(!reaped(plugin), "the plugin should be running");
    host.kill().unwrap(); // SIGKILL: no destructor, no stop.
    host.wait().unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    while !(reaped(plugin) || zombie_not_ours(plugin)) {
        if Instant::now() >= deadline {
            let state = proc_state(plugin);
            // SAFETY: plain kill(2) of the orphan this test made, so the failure leaks nothing.
            unsafe { libc::kill(plugin as libc::pid_t, libc::SIGKILL) };
            panic!("plugin {plugin} outlived its host: {state}");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// An API with nothing implemented, for the Rust test plugin.
struct NoApi;
impl PluginApi for NoApi {}

/// Another process of the same user that finds the plugin's socket gets nowhere without the
/// host's hook token: not Shutdown, not a hook, not even health; and the plugin serves on.
#[tokio::test]
async fn callers_without_the_hook_token_are_refused_and_the_plugin_keeps_running() {
    let tokens = TokenRegistry::default();
    let api = ApiServer::start(Arc::new(NoApi), tokens.clone(), ApiServerConfig::default())
        .await
        .expect("API server");
    let command = CommandSpec::new(env!("CARGO_BIN_EXE_mm-echo-plugin"));
    let mut config =
        SupervisorConfig::new("echo", command, api.addr().target()).with_tokens(Arc::new(tokens));
    config.health_interval = Duration::from_millis(50);
    config.health_timeout = Duration::from_millis(500);
    let supervisor = Supervisor::start(config).await.expect("start");
    let connection = supervisor.connection();
    let pid = connection.pid;

    let foreign = connect(&connection.address)
        .await
        .expect("the socket itself accepts connections");
    let refused = |what: &str, status: tonic::Status| {
        assert_eq!(
            status.code(),
            tonic::Code::Unauthenticated,
            "{what}: {status:?}"
        );
    };
    let wrong = random_token().unwrap();
    for token in ["", wrong.as_str()] {
        let status = call_shutdown(foreign.clone(), token)
            .await
            .expect_err("Shutdown must be refused");
        refused("Shutdown", status);
    }
    let mut hooks = pb::plugin_hooks_client::PluginHooksClient::new(foreign.clone());
    let status = hooks
        .on_activate(pb::OnActivateRequest {})
        .await
        .expect_err("a hook must be refused");
    refused("OnActivate", status);
    let mut with_wrong_token = tonic::Request::new(pb::ImplementedRequest {});
    with_wrong_token
        .metadata_mut()
        .insert(HOOK_TOKEN_METADATA, wrong.parse().unwrap());
    let status = hooks
        .implemented(with_wrong_token)
        .await
        .expect_err("Implemented must be refused");
    refused("Implemented", status);
    let status = HealthClient::new(foreign)
        .check(HealthCheckRequest {
            service: "plugin".into(),
        })
        .await
        .expect_err("health must be refused");
    refused("Health/Check", status);

    // Several of the host's health pings later: the same process, never restarted.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let status = supervisor.status();
    assert_eq!(
        (status.state, status.generation, status.pid),
        (SupervisorState::Running, 1, Some(pid)),
        "{status:?}"
    );
    assert!(!reaped(pid));
    // The host's own clients carry the token and are let in.
    let implemented = connection
        .hooks_client()
        .implemented_hooks()
        .await
        .expect("the host's hooks client is let in")
        .clone();
    assert!(implemented.contains("ServeHTTP"), "{implemented:?}");
    assert!(serving(&connection).await);
    assert_eq!(supervisor.stop().await.outcome, StopOutcome::Shutdown);
    assert!(reaped(pid));
}

/// A config whose socket directory is left to the host (no `FAKE_SOCKET_DIR`), with a private
/// TMPDIR for the child; returns that TMPDIR.
fn private_tmp_config(
    fixture: &Fixture,
    plugin_id: &str,
    mode: &str,
) -> (SupervisorConfig, PathBuf) {
    let tmp = fixture.dir.path().join("tmp");
    std::fs::create_dir_all(&tmp).unwrap();
    let mut config = fixture.config(plugin_id, mode);
    config
        .command
        .env
        .retain(|(key, _)| key != "FAKE_SOCKET_DIR");
    config.command = config.command.env("TMPDIR", &tmp);
    (config, tmp)
}

fn entries(dir: &Path) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .collect();
    found.sort();
    found
}

fn socket_dir_of(record: &Record) -> PathBuf {
    PathBuf::from(&record.fields["socket_dir"])
}

#[tokio::test]
async fn the_host_makes_a_private_socket_dir_and_removes_it_after_a_clean_stop() {
    use std::os::unix::fs::PermissionsExt;
    let fixture = Fixture::new();
    let (config, tmp) = private_tmp_config(&fixture, "sockets", "normal");
    let supervisor = Supervisor::start(config).await.expect("start");
    let dir = socket_dir_of(&fixture.records()[0]);
    assert_eq!(entries(&tmp), vec![dir.clone()]);
    let mode = std::fs::metadata(&dir).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o700, "{mode:o}");
    match &supervisor.connection().address {
        PluginAddress::Unix(socket) => assert_eq!(socket.parent(), Some(dir.as_path())),
        other => panic!("expected a Unix socket, got {other}"),
    }
    assert_eq!(supervisor.stop().await.outcome, StopOutcome::Shutdown);
    assert_eq!(entries(&tmp), Vec::<PathBuf>::new());
    fixture.assert_reaped_now();
}

#[tokio::test]
async fn a_sigkilled_plugins_socket_dir_is_removed_when_it_is_restarted() {
    let fixture = Fixture::new();
    let (config, tmp) = private_tmp_config(&fixture, "killed", "normal");
    let supervisor = Supervisor::start(config).await.expect("start");
    let first = supervisor.pid().expect("pid");
    // SAFETY: plain kill(2) of the plugin process this test started.
    unsafe { libc::kill(first as libc::pid_t, libc::SIGKILL) };
    wait_status(&supervisor, "generation 2 running", |s| {
        s.generation >= 2 && s.state == SupervisorState::Running
    })
    .await;
    let records = fixture.records();
    assert_eq!(records.len(), 2);
    assert_eq!(
        entries(&tmp),
        vec![socket_dir_of(&records[1])],
        "only the running generation's directory is left"
    );
    supervisor.stop().await;
    assert_eq!(entries(&tmp), Vec::<PathBuf>::new());
    fixture.assert_reaped_now();
}

#[tokio::test]
async fn the_socket_dir_is_removed_when_stop_escalates_to_sigkill() {
    let fixture = Fixture::new();
    let (mut config, tmp) = private_tmp_config(&fixture, "stubborn-dir", "ignore_sigterm");
    config.shutdown_timeout = Duration::from_millis(200);
    config.stop_grace = Duration::from_millis(300);
    let supervisor = Supervisor::start(config).await.expect("start");
    assert_eq!(entries(&tmp).len(), 1);
    assert_eq!(supervisor.stop().await.outcome, StopOutcome::Killed);
    assert_eq!(entries(&tmp), Vec::<PathBuf>::new());
    fixture.assert_reaped_now();
}

#[tokio::test]
async fn failed_starts_leave_no_socket_dir() {
    // Exits before the handshake; its handshake is refused after it bound its socket; it never
    // answers the first health check.
    for mode in ["crash_at_start", "bad_protocol", "hang_after:0"] {
        let fixture = Fixture::new();
        let (mut config, tmp) = private_tmp_config(&fixture, "failing", mode);
        config.start_timeout = Duration::from_millis(500);
        start_err(config).await;
        assert_eq!(entries(&tmp), Vec::<PathBuf>::new(), "{mode}");
        fixture.assert_reaped_now();
    }
}

/// A start dropped midway (the host interrupted while starting) kills the plugin and removes its
/// directory on drop.
#[tokio::test]
async fn an_abandoned_start_leaves_no_socket_dir() {
    let fixture = Fixture::new();
    let (config, tmp) = private_tmp_config(&fixture, "abandoned", "hang_after:0");
    let started = tokio::time::timeout(Duration::from_millis(500), Supervisor::start(config)).await;
    assert!(
        started.is_err(),
        "the start should still be waiting for health"
    );
    assert_eq!(entries(&tmp), Vec::<PathBuf>::new());
    let pid = fixture.records()[0].pid;
    let deadline = Instant::now() + WAIT;
    while !reaped(pid) {
        assert!(Instant::now() < deadline, "{pid}: {}", proc_state(pid));
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
