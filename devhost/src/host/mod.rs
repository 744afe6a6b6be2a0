//! `mm-plugin-host run <plugin-dir>`: one plugin on the in-memory backend, with its HTTP routes
//! and a small REST surface that fires hooks the way a Mattermost server would.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use axum::Json;
use axum::body::Body;
use axum::extract::{ConnectInfo, Path as UrlPath, State};
use axum::http::{Request, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post, put};
use axum::serve::ListenerExt;
use mattermost_plugin_api::pb;
use mattermost_plugin_api::{ApiError, CallContext, PluginApi, PluginHooks, PluginHooksClient};
use mattermost_plugin_runtime::api_calls::ApiCalls;
use mattermost_plugin_runtime::api_server::{ApiServer, ApiServerConfig, TokenRegistry};
use mattermost_plugin_runtime::http_bridge::{
    self, HttpHook, HttpTimeouts, RequestInfo, ServeHttp, ServeMetrics,
};
use mattermost_plugin_runtime::manifest::Manifest;
use mattermost_plugin_runtime::supervisor::{
    CommandSpec, Supervisor, SupervisorConfig, SupervisorState, SupervisorStatus,
};
use serde_json::{Value, json};

use crate::backend::memory::MemoryBackend;

mod calls;
mod files;
mod observe;
mod post_hooks;
pub mod watch;

/// How to run the host.
#[derive(Debug, Clone)]
pub struct HostConfig {
    pub plugin_dir: PathBuf,
    /// Where the HTTP server listens; port 0 picks a free one.
    pub http_addr: SocketAddr,
    /// Timeout for unary hooks.
    pub hook_timeout: Duration,
    /// Time limits of the plugin's HTTP responses (ServeHTTP, ServeMetrics).
    pub http_timeouts: HttpTimeouts,
}

impl HostConfig {
    pub fn new(plugin_dir: impl Into<PathBuf>) -> Self {
        HostConfig {
            plugin_dir: plugin_dir.into(),
            http_addr: SocketAddr::from(([127, 0, 0, 1], 8065)),
            hook_timeout: PluginHooksClient::DEFAULT_TIMEOUT,
            http_timeouts: HttpTimeouts::default(),
        }
    }
}

/// The longest a stop waits for the plugin's OnDeactivate.
pub const DEACTIVATE_LIMIT: Duration = Duration::from_secs(10);

/// Seeded data the REST surface uses as defaults.
#[derive(Debug, Clone)]
pub struct Seed {
    pub user: pb::User,
    pub team: pb::Team,
    pub channel: pb::Channel,
}

struct Shared {
    plugin_id: String,
    backend: MemoryBackend,
    hooks: RwLock<PluginHooksClient>,
    seed: Seed,
    timeout: Duration,
    http_timeouts: HttpTimeouts,
    status: tokio::sync::watch::Receiver<SupervisorStatus>,
    /// Every API call the plugin made, and scripted answers (`calls.rs`).
    calls: ApiCalls,
}

impl Shared {
    fn hooks(&self) -> PluginHooksClient {
        match self.hooks.read() {
            Ok(h) => h.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    fn ctx(&self) -> CallContext {
        CallContext::new(self.plugin_id.clone())
    }

    fn plugin_context(&self) -> pb::PluginContext {
        pb::PluginContext {
            request_id: mattermost_plugin_runtime::api_server::random_token().unwrap_or_default()
                [..26]
                .to_string(),
            ..Default::default()
        }
    }
}

/// A running dev host.
pub struct DevHost {
    shared: Arc<Shared>,
    supervisor: Supervisor,
    api: Option<ApiServer>,
    http_addr: SocketAddr,
    http_task: tokio::task::JoinHandle<()>,
    manifest: Manifest,
    implemented: Vec<String>,
    /// The canonical plugin directory, read again by [`restart_plugin`](Self::restart_plugin).
    plugin_dir: PathBuf,
    /// Feeds `Shared::status` from the current supervisor (`watch.rs`).
    status: watch::StatusFeed,
}

#[derive(Debug)]
pub struct HostError(pub String);

impl std::fmt::Display for HostError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for HostError {}

fn err(context: &str, e: impl std::fmt::Display) -> HostError {
    HostError(format!("{context}: {e}"))
}

impl DevHost {
    /// Starts the backend, the API server, the plugin, and the HTTP server; activates the plugin.
    pub async fn start(config: HostConfig) -> Result<DevHost, HostError> {
        let dir = config.plugin_dir.canonicalize().map_err(|e| {
            err(
                &format!("plugin directory {}", config.plugin_dir.display()),
                e,
            )
        })?;
        let manifest = Manifest::load(&dir).map_err(|e| err("manifest", e))?;
        // Refused before anything starts, as a server refuses to activate it.
        manifest
            .check_server_version(crate::backend::memory::DEFAULT_SERVER_VERSION)
            .map_err(|e| err("manifest", e))?;
        let launch = manifest.launch(&dir).map_err(|e| err("manifest", e))?;
        let plugin_id = manifest.id.clone();

        let backend = MemoryBackend::new();
        let seed = seed(&backend)
            .await
            .map_err(|e| err("seeding the backend", e))?;
        // A server starts a plugin with its settings' defaults in the configuration.
        if let Some(defaults) = setting_defaults(&manifest) {
            backend
                .set_plugin_config_json(&plugin_id, defaults.to_string().as_bytes())
                .map_err(|e| err("the settings' defaults", e))?;
        }
        let tokens = TokenRegistry::default();
        let calls = ApiCalls::new();
        let api = ApiServer::start(
            Arc::new(backend.clone()),
            tokens.clone(),
            ApiServerConfig {
                calls: Some(calls.clone()),
                ..ApiServerConfig::default()
            },
        )
        .await
        .map_err(|e| err("starting the plugin API server", e))?;

        let supervisor = Supervisor::start(supervisor_config(&plugin_id, &launch, &api))
            .await
            .map_err(|e| err(&format!("starting plugin {plugin_id}"), e))?;

        let hooks = supervisor
            .hooks_client(&supervisor.connection())
            .with_timeout(config.hook_timeout);
        let (status, status_receiver) = watch::StatusFeed::follow(&supervisor);
        let shared = Arc::new(Shared {
            plugin_id: plugin_id.clone(),
            backend,
            hooks: RwLock::new(hooks),
            seed,
            timeout: config.hook_timeout,
            http_timeouts: config.http_timeouts,
            status: status_receiver,
            calls,
        });
        let implemented = activate(&shared).await?;
        // From activation on, as a server's post hooks run only for active plugins.
        shared
            .backend
            .set_post_hooks(Arc::new(post_hooks::PluginPostHooks(Arc::downgrade(
                &shared,
            ))));
        follow_restarts(shared.clone(), &supervisor);
        follow_config_saves(shared.clone());

        let listener = tokio::net::TcpListener::bind(config.http_addr)
            .await
            .map_err(|e| err(&format!("listening on {}", config.http_addr), e))?;
        let http_addr = listener.local_addr().map_err(|e| err("local address", e))?;
        // Without TCP_NODELAY a streamed response's small writes wait on the client's delayed
        // ACK (~40 ms each on a reused connection).
        let listener = listener.tap_io(|tcp| {
            if let Err(e) = tcp.set_nodelay(true) {
                tracing::debug!(error = %e, "could not set TCP_NODELAY");
            }
        });
        let app = router(shared.clone());
        let http_task = tokio::spawn(async move {
            let service = app.into_make_service_with_connect_info::<SocketAddr>();
            if let Err(e) = axum::serve(listener, service).await {
                tracing::error!(error = %e, "HTTP server stopped");
            }
        });
        Ok(DevHost {
            shared,
            supervisor,
            api: Some(api),
            http_addr,
            http_task,
            manifest,
            implemented,
            plugin_dir: dir,
            status,
        })
    }

    pub fn http_addr(&self) -> SocketAddr {
        self.http_addr
    }

    pub fn plugin_id(&self) -> &str {
        &self.shared.plugin_id
    }

    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// The hooks the plugin said it implements.
    pub fn implemented(&self) -> &[String] {
        &self.implemented
    }

    /// The record of the plugin's API calls, and its scripts.
    pub fn api_calls(&self) -> &ApiCalls {
        &self.shared.calls
    }

    pub fn backend(&self) -> &MemoryBackend {
        &self.shared.backend
    }

    pub fn seed(&self) -> &Seed {
        &self.shared.seed
    }

    pub fn supervisor(&self) -> &Supervisor {
        &self.supervisor
    }

    /// OnDeactivate, then the supervisor's stop sequence, then the servers.
    ///
    /// Bounded: OnDeactivate gets at most [`DEACTIVATE_LIMIT`] (or the hook timeout, if
    /// shorter), then the supervisor's Shutdown → SIGTERM → SIGKILL sequence runs. To end it at
    /// once (a second Ctrl-C), call [`Supervisor::kill_now`] on [`supervisor`](Self::supervisor)
    /// meanwhile.
    pub async fn stop(mut self) {
        let report = deactivate_and_stop(&self.shared, &self.supervisor).await;
        tracing::info!(outcome = ?report.outcome, "plugin stopped");
        self.http_task.abort();
        if let Some(api) = self.api.take() {
            api.shutdown().await;
        }
    }

    /// Stops the plugin as [`stop`](Self::stop) does and starts it again from its directory
    /// (`plugin.json` read anew; the id must stay), then OnConfigurationChange and OnActivate:
    /// a redeploy. The HTTP server, the API server and the backend's data stay. On error no
    /// plugin runs, and the plugin's routes and `/api/v4/system/ping` answer 503 `failed` with
    /// the reason until a restart succeeds. For `mm-plugin-host run --watch` (`watch.rs`).
    pub async fn restart_plugin(&mut self) -> Result<(), HostError> {
        watch::restart(self).await
    }
}

/// OnDeactivate (bounded, see [`DevHost::stop`]), then the supervisor's stop sequence.
async fn deactivate_and_stop(
    shared: &Arc<Shared>,
    supervisor: &Supervisor,
) -> mattermost_plugin_runtime::supervisor::StopReport {
    let shared = shared.clone();
    let limit = shared.timeout.min(DEACTIVATE_LIMIT);
    supervisor
        .stop_with(move |_connection| async move {
            let hooks = shared.hooks().with_hook_timeout("OnDeactivate", limit);
            // The client answers Go's default (and logs) when the limit passes.
            if let Err(e) = hooks.on_deactivate(&shared.ctx()).await {
                tracing::warn!(error = %e, "OnDeactivate failed");
            }
        })
        .await
}

/// How the supervisor runs the plugin `launch` describes, with tokens from `api`'s registry (so
/// the API server accepts exactly the live process's token).
fn supervisor_config(
    plugin_id: &str,
    launch: &mattermost_plugin_runtime::manifest::Launch,
    api: &ApiServer,
) -> SupervisorConfig {
    let command = CommandSpec::new(&launch.program)
        .args(launch.args.clone())
        .cwd(&launch.cwd);
    SupervisorConfig::new(plugin_id, command, api.addr().target())
        .with_tokens(Arc::new(api.tokens().clone()))
}

/// A user in a team; joining the team puts them in its town-square, the default channel.
async fn seed(backend: &MemoryBackend) -> Result<Seed, ApiError> {
    let user = backend.seed_user("dev.user")?;
    let team = backend.seed_team("dev")?;
    backend.seed_team_member(&team.id, &user.id)?;
    let channel = backend
        .get_channel_by_name(
            &CallContext::default(),
            team.id.clone(),
            "town-square".into(),
            false,
        )
        .await?
        .ok_or_else(|| ApiError::app(500, "devhost.seed", "the team has no town-square"))?;
    Ok(Seed {
        user,
        team,
        channel,
    })
}

/// `{key: default}` for the settings in the manifest's schema that declare a default.
fn setting_defaults(manifest: &Manifest) -> Option<Value> {
    let settings = manifest
        .settings_schema
        .as_ref()?
        .get("settings")?
        .as_array()?;
    let defaults: serde_json::Map<String, Value> = settings
        .iter()
        .filter_map(|s| {
            let key = s.get("key")?.as_str().filter(|k| !k.is_empty())?;
            let default = s.get("default").filter(|d| !d.is_null())?;
            Some((key.to_string(), default.clone()))
        })
        .collect();
    (!defaults.is_empty()).then_some(Value::Object(defaults))
}

/// OnConfigurationChange then OnActivate, as Mattermost does; returns the implemented hooks.
async fn activate(shared: &Shared) -> Result<Vec<String>, HostError> {
    let hooks = shared.hooks();
    let mut implemented: Vec<String> = hooks
        .implemented_hooks()
        .await
        .map_err(|e| err("asking the plugin for its hooks", e))?
        .iter()
        .cloned()
        .collect();
    implemented.sort();
    hooks
        .on_configuration_change(&shared.ctx())
        .await
        .map_err(|e| err("OnConfigurationChange", e))?;
    hooks
        .on_activate(&shared.ctx())
        .await
        .map_err(|e| err("OnActivate", e))?;
    Ok(implemented)
}

/// After the plugin saves its configuration (SavePluginConfig), `OnConfigurationChange`, as a
/// server's configuration listener fires it; in a task of its own, since the save may come from
/// inside a hook.
fn follow_config_saves(shared: Arc<Shared>) {
    let mut saves = shared.backend.plugin_config_saves();
    tokio::spawn(async move {
        while saves.changed().await.is_ok() {
            let plugin_id = saves.borrow_and_update().1.clone();
            if plugin_id != shared.plugin_id {
                continue;
            }
            if let Err(e) = shared.hooks().on_configuration_change(&shared.ctx()).await {
                tracing::warn!(error = %e, "OnConfigurationChange after SavePluginConfig failed");
            }
        }
    });
}

/// After a restart, talk to the new process and activate it again.
fn follow_restarts(shared: Arc<Shared>, supervisor: &Supervisor) {
    let mut connections = supervisor.watch_connection();
    let clients = supervisor.hook_clients();
    tokio::spawn(async move {
        connections.borrow_and_update();
        while connections.changed().await.is_ok() {
            let client = clients.client(&connections.borrow_and_update());
            if let Ok(mut hooks) = shared.hooks.write() {
                *hooks = client.with_timeout(shared.timeout);
            }
            if let Err(e) = activate(&shared).await {
                tracing::error!(error = %e, "re-activating the restarted plugin failed");
            }
        }
    });
}

fn router(shared: Arc<Shared>) -> axum::Router {
    // Routes that call the plugin answer 503 with its state while it is not running, instead of
    // a transport error from a dead socket.
    let through_plugin = axum::Router::new()
        .route("/plugins/{plugin_id}", any(plugin_http))
        .route("/plugins/{plugin_id}/", any(plugin_http))
        .route("/plugins/{plugin_id}/{*rest}", any(plugin_http))
        // Mattermost serves plugin metrics on its metrics listener at /plugins/<id>/metrics.
        .route("/metrics/plugins/{plugin_id}/{*rest}", any(plugin_metrics))
        .route("/api/v4/posts", post(create_post))
        .route("/api/v4/posts/{post_id}", put(update_post))
        .route(
            "/api/v4/channels/{channel_id}/members",
            post(add_channel_member),
        )
        .route("/api/v4/commands/execute", post(execute_command))
        .route("/api/v4/plugins/{plugin_id}/config", put(set_config))
        .route("/api/v4/files", post(files::upload_file))
        .route("/api/v4/files/{file_id}", get(files::download_file))
        .route("/api/v4/users", post(observe::create_user))
        .route(
            "/api/v4/teams/{team_id}/members",
            post(observe::add_team_member),
        )
        .route("/api/v4/channels", post(observe::create_channel))
        .route("/api/v4/channels/direct", post(observe::direct_channel))
        .route("/api/v4/reactions", post(observe::add_reaction))
        .route_layer(axum::middleware::from_fn_with_state(
            shared.clone(),
            require_running,
        ));
    axum::Router::new()
        .route("/api/v4/system/ping", get(ping))
        .route("/api/v4/posts/{post_id}", get(get_post))
        .route("/api/v4/posts/{post_id}/thread", get(get_thread))
        .route("/api/v4/logs", get(logs))
        .route(
            "/api/v4/channels/{channel_id}/posts",
            get(observe::channel_posts),
        )
        .route(
            "/api/v4/posts/{post_id}/reactions",
            get(observe::post_reactions),
        )
        .route("/api/v4/dev/seed", get(observe::seed))
        .route(
            "/api/v4/users/username/{username}",
            get(observe::user_by_username),
        )
        .route(
            "/api/v4/dev/users/{user_id}/ephemeral_posts",
            get(observe::ephemeral_posts),
        )
        .route(
            "/api/v4/dev/websocket_events",
            get(observe::websocket_events),
        )
        .route("/api/v4/dev/dialogs", get(observe::dialogs))
        .route("/api/v4/dev/mails", get(observe::mails))
        .merge(calls::routes())
        .merge(through_plugin)
        .with_state(shared)
}

/// The supervisor's view of the plugin, as JSON.
fn plugin_state(status: &SupervisorStatus) -> Value {
    json!({
        "state": state_word(status.state),
        "generation": status.generation,
        "pid": status.pid,
        "restarts_in_window": status.restarts_in_window,
        "last_error": status.last_error,
    })
}

/// `running`, `restarting`, `failed`, …
fn state_word(state: SupervisorState) -> String {
    format!("{state:?}").to_lowercase()
}

async fn require_running(
    State(shared): State<Arc<Shared>>,
    request: Request<Body>,
    next: axum::middleware::Next,
) -> Response {
    let status = shared.status.borrow().clone();
    if status.state != SupervisorState::Running {
        return unavailable(&shared, &status, None);
    }
    let response = next.run(request).await;
    match response.extensions().get::<PluginUnreachable>() {
        // The plugin went away during the call (a crash; the supervisor may not know yet).
        Some(PluginUnreachable(error)) => {
            let status = shared.status.borrow().clone();
            unavailable(&shared, &status, Some(error))
        }
        None => response,
    }
}

/// 503 naming the plugin, its state and what failed.
fn unavailable(shared: &Shared, status: &SupervisorStatus, call_error: Option<&str>) -> Response {
    let mut message = format!(
        "plugin {} is {}",
        shared.plugin_id,
        state_word(status.state)
    );
    if let Some(error) = call_error {
        message.push_str(&format!(" and could not be reached: {error}"));
    }
    if let Some(error) = &status.last_error {
        message.push_str(&format!(" (last error: {error})"));
    }
    (
        StatusCode::SERVICE_UNAVAILABLE,
        Json(json!({ "error": message, "plugin": plugin_state(status) })),
    )
        .into_response()
}

fn api_error(e: ApiError) -> Response {
    if let ApiError::Transport { .. } = e {
        // Only calls into the plugin fail in transport; `require_running` adds its state.
        let mut response = (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "error": e.to_string() })),
        )
            .into_response();
        response
            .extensions_mut()
            .insert(PluginUnreachable(e.to_string()));
        return response;
    }
    let status = e
        .status_code()
        .and_then(|s| u16::try_from(s).ok())
        .and_then(|s| StatusCode::from_u16(s).ok())
        .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (status, Json(json!({ "error": e.to_string() }))).into_response()
}

/// Marks a response whose hook call could not reach the plugin.
#[derive(Clone)]
struct PluginUnreachable(String);

/// A hook said no: the status and the plugin's reason.
fn rejected(status: StatusCode, reason: impl Into<String>) -> Response {
    (
        status,
        Json(json!({ "rejected": true, "reason": reason.into() })),
    )
        .into_response()
}

fn bad_request(message: impl Into<String>) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(json!({ "error": message.into() })),
    )
        .into_response()
}

async fn plugin_http(
    State(shared): State<Arc<Shared>>,
    ConnectInfo(remote): ConnectInfo<SocketAddr>,
    request: Request<Body>,
) -> Response {
    let prefix = format!("/plugins/{}", shared.plugin_id);
    forward::<ServeHttp>(&shared, remote, &prefix, request).await
}

async fn plugin_metrics(
    State(shared): State<Arc<Shared>>,
    ConnectInfo(remote): ConnectInfo<SocketAddr>,
    request: Request<Body>,
) -> Response {
    let prefix = format!("/metrics/plugins/{}", shared.plugin_id);
    forward::<ServeMetrics>(&shared, remote, &prefix, request).await
}

/// Strips `prefix` (the plugin sees paths relative to its mount point) and streams the exchange
/// through hook `K`.
async fn forward<K: HttpHook>(
    shared: &Shared,
    remote: SocketAddr,
    prefix: &str,
    request: Request<Body>,
) -> Response {
    let uri = request.uri().clone();
    let Some(rest) = uri.path().strip_prefix(prefix) else {
        return (StatusCode::NOT_FOUND, "no such plugin\n").into_response();
    };
    let path = if rest.is_empty() {
        "/".to_string()
    } else {
        rest.to_string()
    };
    let url = match uri.query() {
        Some(q) => format!("{path}?{q}"),
        None => path,
    };
    let (mut parts, body) = request.into_parts();
    // As a server: the user comes from the session, never from the client's own header. Here
    // `Authorization: Bearer <user id or username>` stands for a logged-in session.
    parts.headers.remove(MATTERMOST_USER_ID);
    if let Some(user_id) = session_user(shared, &parts.headers).await {
        match http::HeaderValue::from_str(&user_id) {
            Ok(value) => {
                parts.headers.insert(MATTERMOST_USER_ID, value);
            }
            Err(_) => return bad_request("the session's user id is not a header value"),
        }
    }
    parts.headers.remove(http::header::AUTHORIZATION);
    let mut context = shared.plugin_context();
    context.ip_address = remote.ip().to_string();
    context.user_agent = parts
        .headers
        .get(http::header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let info = RequestInfo {
        method: parts.method.to_string(),
        url,
        request_uri: uri.to_string(),
        version: parts.version,
        headers: parts.headers,
        remote_addr: Some(remote),
        context,
    };
    let hooks = shared.hooks();
    let response =
        http_bridge::forward_with::<K, _>(&hooks, &shared.ctx(), info, body, shared.http_timeouts)
            .await;
    // A plugin that cannot even send a response head is as stuck as one missing hook deadlines.
    if let (Some(timed_out), Some(observer)) = (
        response.extensions().get::<http_bridge::PluginTimedOut>(),
        hooks.observer(),
    ) {
        observer.timed_out(timed_out.hook, timed_out.limit);
    }
    response
}

/// The header a server sets on plugin requests to the logged-in user's id.
const MATTERMOST_USER_ID: &str = "Mattermost-User-Id";

/// The user a request's `Authorization: Bearer <user id or username>` names, if one exists.
async fn session_user(shared: &Shared, headers: &http::HeaderMap) -> Option<String> {
    let token = headers
        .get(http::header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")?
        .trim()
        .to_string();
    let ctx = shared.ctx();
    if let Ok(Some(user)) = shared.backend.get_user(&ctx, token.clone()).await {
        return Some(user.id);
    }
    match shared.backend.get_user_by_username(&ctx, token).await {
        Ok(Some(user)) => Some(user.id),
        _ => None,
    }
}

/// The host's health: OK (200) only while the plugin runs; otherwise 503 with its state and the
/// last error, so a monitor sees a failed plugin.
async fn ping(State(shared): State<Arc<Shared>>) -> Response {
    let status = shared.status.borrow().clone();
    let running = status.state == SupervisorState::Running;
    let implemented: Vec<String> = if running {
        match shared.hooks().implemented_hooks().await {
            Ok(set) => {
                let mut v: Vec<String> = set.iter().cloned().collect();
                v.sort();
                v
            }
            Err(e) => return api_error(e),
        }
    } else {
        Vec::new()
    };
    let body = json!({
        "status": if running { "OK" } else { "UNHEALTHY" },
        "plugin_id": shared.plugin_id,
        "plugin": plugin_state(&status),
        "implemented": implemented,
    });
    let code = if running {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (code, Json(body)).into_response()
}

pub fn post_json(p: &pb::Post) -> Value {
    json!({
        "id": p.id, "create_at": p.create_at, "update_at": p.update_at, "user_id": p.user_id,
        "channel_id": p.channel_id, "root_id": p.root_id, "message": p.message, "type": p.r#type,
    })
}

fn str_field<'a>(body: &'a Value, key: &str) -> Option<&'a str> {
    body.get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

/// MessageWillBePosted → store → MessageHasBeenPosted.
async fn create_post(State(shared): State<Arc<Shared>>, Json(body): Json<Value>) -> Response {
    let Some(message) = body.get("message").and_then(Value::as_str) else {
        return bad_request("`message` is required");
    };
    let draft = pb::Post {
        channel_id: str_field(&body, "channel_id")
            .unwrap_or(&shared.seed.channel.id)
            .to_string(),
        user_id: str_field(&body, "user_id")
            .unwrap_or(&shared.seed.user.id)
            .to_string(),
        root_id: str_field(&body, "root_id").unwrap_or_default().to_string(),
        message: message.to_string(),
        ..Default::default()
    };
    let post = match post_hooks::will_be_posted(&shared, draft).await {
        Ok(post) => post,
        Err(rejection) => return rejected(StatusCode::BAD_REQUEST, rejection),
    };
    let stored = match shared.backend.store_new_post(post) {
        Ok(post) => post,
        Err(e) => return api_error(e),
    };
    post_hooks::has_been_posted(&shared, stored.clone()).await;
    (StatusCode::CREATED, Json(post_json(&stored))).into_response()
}

/// MessageWillBeUpdated → store → MessageHasBeenUpdated.
async fn update_post(
    State(shared): State<Arc<Shared>>,
    UrlPath(post_id): UrlPath<String>,
    Json(body): Json<Value>,
) -> Response {
    let ctx = shared.ctx();
    let old = match shared.backend.get_post(&ctx, post_id).await {
        Ok(Some(p)) => p,
        Ok(None) => return api_error(ApiError::app(404, "app.post.get", "post not found")),
        Err(e) => return api_error(e),
    };
    let Some(message) = body.get("message").and_then(Value::as_str) else {
        return bad_request("`message` is required");
    };
    let new = pb::Post {
        message: message.to_string(),
        ..old.clone()
    };
    let new = match post_hooks::will_be_updated(&shared, new, old.clone()).await {
        Ok(post) => post,
        Err(rejection) => return rejected(StatusCode::BAD_REQUEST, rejection),
    };
    let stored = match shared.backend.store_post_edit(new) {
        Ok(post) => post,
        Err(e) => return api_error(e),
    };
    post_hooks::has_been_updated(&shared, stored.clone(), old).await;
    Json(post_json(&stored)).into_response()
}

async fn get_post(
    State(shared): State<Arc<Shared>>,
    UrlPath(post_id): UrlPath<String>,
) -> Response {
    match shared.backend.get_post(&shared.ctx(), post_id).await {
        Ok(Some(p)) => Json(post_json(&p)).into_response(),
        Ok(None) => api_error(ApiError::app(404, "app.post.get", "post not found")),
        Err(e) => api_error(e),
    }
}

async fn get_thread(
    State(shared): State<Arc<Shared>>,
    UrlPath(post_id): UrlPath<String>,
) -> Response {
    match shared.backend.get_post_thread(&shared.ctx(), post_id).await {
        Ok(Some(list)) => {
            let mut posts: Vec<&pb::Post> = list.posts.values().collect();
            posts.sort_by_key(|p| (p.create_at, p.id.clone()));
            Json(json!({ "posts": posts.into_iter().map(post_json).collect::<Vec<_>>() }))
                .into_response()
        }
        Ok(None) => api_error(ApiError::app(404, "app.post.get", "post not found")),
        Err(e) => api_error(e),
    }
}

/// ChannelMemberWillBeAdded → add → UserHasJoinedChannel.
async fn add_channel_member(
    State(shared): State<Arc<Shared>>,
    UrlPath(channel_id): UrlPath<String>,
    Json(body): Json<Value>,
) -> Response {
    let Some(user_id) = str_field(&body, "user_id").map(str::to_string) else {
        return bad_request("`user_id` is required");
    };
    let ctx = shared.ctx();
    let hooks = shared.hooks();
    // Already a member: the server answers with the membership and fires no hooks.
    if let Ok(Some(existing)) = shared
        .backend
        .get_channel_member(&ctx, channel_id.clone(), user_id.clone())
        .await
    {
        return (
            StatusCode::OK,
            Json(json!({ "channel_id": existing.channel_id, "user_id": existing.user_id })),
        )
            .into_response();
    }
    let proposed = pb::ChannelMember {
        channel_id: channel_id.clone(),
        user_id: user_id.clone(),
        ..Default::default()
    };
    match hooks
        .channel_member_will_be_added(&ctx, Some(shared.plugin_context()), Some(proposed))
        .await
    {
        Ok((_, rejection)) if !rejection.is_empty() => {
            return rejected(StatusCode::BAD_REQUEST, rejection);
        }
        Ok(_) => {}
        Err(e) => return api_error(e),
    }
    let member = match shared
        .backend
        .add_channel_member(&ctx, channel_id, user_id)
        .await
    {
        Ok(Some(m)) => m,
        Ok(None) => {
            return api_error(ApiError::app(
                500,
                "app.channel.add_member",
                "no member stored",
            ));
        }
        Err(e) => return api_error(e),
    };
    let actor = shared
        .backend
        .get_user(&ctx, shared.seed.user.id.clone())
        .await
        .ok()
        .flatten();
    if let Err(e) = hooks
        .user_has_joined_channel(
            &ctx,
            Some(shared.plugin_context()),
            Some(member.clone()),
            actor,
        )
        .await
    {
        tracing::warn!(error = %e, "UserHasJoinedChannel failed");
    }
    (
        StatusCode::CREATED,
        Json(json!({ "channel_id": member.channel_id, "user_id": member.user_id })),
    )
        .into_response()
}

/// ExecuteCommand with the command line as typed.
async fn execute_command(State(shared): State<Arc<Shared>>, Json(body): Json<Value>) -> Response {
    let Some(command) = str_field(&body, "command") else {
        return bad_request("`command` is required (e.g. \"/hello world\")");
    };
    let team_id = str_field(&body, "team_id").unwrap_or(&shared.seed.team.id);
    // A server runs a plugin's ExecuteCommand only for a trigger the plugin registered.
    if shared.backend.command_for_line(team_id, command).is_none() {
        let trigger = command.split_whitespace().next().unwrap_or(command);
        return (
            StatusCode::NOT_FOUND,
            Json(json!({
                "id": "api.command.execute_command.not_found.app_error",
                "message": format!("Command with a trigger of '{trigger}' not found."),
                "detailed_error": "register it with RegisterCommand (e.g. in OnActivate) first",
                "status_code": 404,
            })),
        )
            .into_response();
    }
    let args = pb::CommandArgs {
        command: command.to_string(),
        user_id: str_field(&body, "user_id")
            .unwrap_or(&shared.seed.user.id)
            .to_string(),
        channel_id: str_field(&body, "channel_id")
            .unwrap_or(&shared.seed.channel.id)
            .to_string(),
        team_id: team_id.to_string(),
        ..Default::default()
    };
    match shared.hooks().execute_command(&shared.ctx(), Some(shared.plugin_context()), Some(args)).await {
        Ok(Some(r)) => Json(json!({ "response_type": r.response_type, "text": r.text, "username": r.username, "goto_location": r.goto_location })).into_response(),
        Ok(None) => Json(json!({ "response_type": "", "text": "" })).into_response(),
        Err(e) => api_error(e),
    }
}

/// Replaces the plugin's configuration and fires OnConfigurationChange.
async fn set_config(
    State(shared): State<Arc<Shared>>,
    UrlPath(plugin_id): UrlPath<String>,
    body: axum::body::Bytes,
) -> Response {
    if plugin_id != shared.plugin_id {
        return (
            StatusCode::NOT_FOUND,
            Json(json!({ "error": "no such plugin" })),
        )
            .into_response();
    }
    if let Err(e) = shared.backend.set_plugin_config_json(&plugin_id, &body) {
        return api_error(e);
    }
    match shared.hooks().on_configuration_change(&shared.ctx()).await {
        Ok(()) => Json(json!({ "status": "OK" })).into_response(),
        Err(e) => api_error(e),
    }
}

async fn logs(State(shared): State<Arc<Shared>>) -> Response {
    let logs: Vec<Value> = shared.backend.logs().iter().map(|l| l.to_json()).collect();
    Json(json!({ "logs": logs })).into_response()
}

/// For the binary: an absolute path for display.
pub fn display_dir(dir: &Path) -> String {
    dir.canonicalize()
        .unwrap_or_else(|_| dir.to_path_buf())
        .display()
        .to_string()
}
