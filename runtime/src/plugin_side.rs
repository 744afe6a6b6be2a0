//! The plugin side of the protocol, for plugins written in Rust: what `run_plugin` is for Python.
//!
//! [`serve`] checks it was started by a host, connects the API client (token attached to every
//! call), serves the plugin's hooks with gRPC health and go-plugin's `GRPCController` on a Unix
//! socket in the directory the host made for it (`MM_PLUGIN_SOCKET_DIR`; a private one of its own
//! when the host gave none), prints the handshake line, and returns when the host asks it to shut
//! down.
//!
//! Every call into the plugin must carry the host's `MM_PLUGIN_HOOK_TOKEN` as
//! `mm-plugin-hook-token` metadata, or it is refused with UNAUTHENTICATED: another process of the
//! same user that finds the socket cannot fire hooks or shut the plugin down. A plugin started
//! without that variable (by a host that does not send one) still serves, unauthenticated, and
//! says so with a warning on stderr.

use std::convert::Infallible;
use std::path::PathBuf;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures_util::future::{Either, Ready, ready};
use mattermost_plugin_api::{PluginApiClient, PluginHooks, PluginHooksServer};
use tonic::codegen::{BoxFuture, Service, http};

use mattermost_plugin_api::protocol::{
    API_TOKEN_METADATA, APP_PROTOCOL_VERSION, CONTROLLER_SERVICE, CORE_PROTOCOL_VERSION,
    HANDSHAKE_PROTOCOL, HEALTH_SERVICE, MAGIC_COOKIE_KEY, MAGIC_COOKIE_VALUE, SHUTDOWN_PATH,
    SOCKET_DIR_PREFIX, SOCKET_FILE,
};
/// Environment variables the host sets for a plugin process, and the hook token's metadata key.
pub use mattermost_plugin_api::protocol::{
    ENV_API_ADDR, ENV_API_TOKEN, ENV_HOOK_TOKEN, ENV_PLUGIN_ID, ENV_SOCKET_DIR, HOOK_TOKEN_METADATA,
};

use crate::supervisor::{PluginAddress, connect};

/// A `tower` layer for the plugin's gRPC server that refuses, with UNAUTHENTICATED, every call
/// whose `mm-plugin-hook-token` metadata is not the expected token. With no token it lets
/// everything through.
#[derive(Clone, Default)]
pub struct HookTokenLayer {
    token: Option<Arc<[u8]>>,
}

// By hand here and below, to keep the token out of logs.
impl std::fmt::Debug for HookTokenLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HookTokenLayer")
            .field("enforcing", &self.is_enforcing())
            .finish()
    }
}

impl HookTokenLayer {
    /// Requires `token` (when `Some` and not empty).
    pub fn new(token: Option<String>) -> Self {
        HookTokenLayer {
            token: token
                .filter(|t| !t.is_empty())
                .map(|t| Arc::from(t.into_bytes())),
        }
    }

    /// Requires the token in `MM_PLUGIN_HOOK_TOKEN`, if set.
    pub fn from_env() -> Self {
        Self::new(std::env::var(ENV_HOOK_TOKEN).ok())
    }

    /// Whether a token is required.
    pub fn is_enforcing(&self) -> bool {
        self.token.is_some()
    }
}

impl<S> tower::Layer<S> for HookTokenLayer {
    type Service = HookTokenCheck<S>;

    fn layer(&self, inner: S) -> Self::Service {
        HookTokenCheck {
            inner,
            token: self.token.clone(),
        }
    }
}

/// The service [`HookTokenLayer`] wraps around the plugin's routes.
#[derive(Clone)]
pub struct HookTokenCheck<S> {
    inner: S,
    token: Option<Arc<[u8]>>,
}

impl<S: std::fmt::Debug> std::fmt::Debug for HookTokenCheck<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HookTokenCheck")
            .field("inner", &self.inner)
            .field("enforcing", &self.token.is_some())
            .finish()
    }
}

impl<S, B> Service<http::Request<B>> for HookTokenCheck<S>
where
    S: Service<http::Request<B>, Response = http::Response<tonic::body::Body>>,
{
    type Response = http::Response<tonic::body::Body>;
    type Error = S::Error;
    type Future = Either<Ready<Result<Self::Response, S::Error>>, S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        if let Some(token) = &self.token {
            let presented = request
                .headers()
                .get(HOOK_TOKEN_METADATA)
                .map(|v| v.as_bytes());
            if !presented.is_some_and(|p| same_secret(p, token)) {
                let refusal = tonic::Status::unauthenticated(
                    "this socket serves only the plugin's host (missing or wrong hook token)",
                );
                return Either::Left(ready(Ok(refusal.into_http())));
            }
        }
        Either::Right(self.inner.call(request))
    }
}

/// Compares without an early exit, so timing does not tell how much of a guess was right.
fn same_secret(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// One hclog JSON line on stderr, which the host logs at `level`.
fn log_to_host(level: &str, message: &str) {
    let line =
        serde_json::json!({ "@level": level, "@message": message, "@module": "plugin_side" });
    eprintln!("{line}");
}

#[derive(Debug, thiserror::Error)]
pub enum PluginSideError {
    #[error(
        "this program is a Mattermost plugin: start it with `mm-plugin-host run <plugin-dir>` or a Mattermost server"
    )]
    NotStartedByHost,
    #[error("environment variable {0} is missing")]
    MissingEnv(&'static str),
    #[error("{ENV_API_ADDR}={0:?} is neither unix://<path> nor host:port")]
    BadApiAddr(String),
    #[error("connecting to the host's API at {addr}: {source}")]
    Connect {
        addr: String,
        source: tonic::transport::Error,
    },
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("serving hooks: {0}")]
    Serve(#[from] tonic::transport::Error),
}

/// Parses `MM_PLUGIN_API_ADDR`: `unix:///path` or `host:port`.
pub fn parse_api_addr(target: &str) -> Option<PluginAddress> {
    if let Some(path) = target.strip_prefix("unix://") {
        return Some(PluginAddress::Unix(PathBuf::from(path)));
    }
    target.parse().ok().map(PluginAddress::Tcp)
}

/// Connects to the host's API as the environment describes, with the plugin's token on every call.
pub async fn api_client_from_env() -> Result<PluginApiClient, PluginSideError> {
    let target =
        std::env::var(ENV_API_ADDR).map_err(|_| PluginSideError::MissingEnv(ENV_API_ADDR))?;
    let token =
        std::env::var(ENV_API_TOKEN).map_err(|_| PluginSideError::MissingEnv(ENV_API_TOKEN))?;
    let addr =
        parse_api_addr(&target).ok_or_else(|| PluginSideError::BadApiAddr(target.clone()))?;
    let channel = connect(&addr)
        .await
        .map_err(|source| PluginSideError::Connect {
            addr: target,
            source,
        })?;
    PluginApiClient::new(channel)
        .with_metadata(API_TOKEN_METADATA, &token)
        .map_err(|_| PluginSideError::MissingEnv(ENV_API_TOKEN))
}

/// go-plugin's `plugin.GRPCController`: `Shutdown` asks the plugin to exit.
#[derive(Clone)]
struct Controller {
    shutdown: Arc<tokio::sync::Notify>,
}

impl tonic::server::NamedService for Controller {
    const NAME: &'static str = CONTROLLER_SERVICE;
}

struct ShutdownCall(Arc<tokio::sync::Notify>);

impl tonic::server::UnaryService<()> for ShutdownCall {
    type Response = ();
    type Future = std::future::Ready<Result<tonic::Response<()>, tonic::Status>>;

    fn call(&mut self, _request: tonic::Request<()>) -> Self::Future {
        self.0.notify_one();
        std::future::ready(Ok(tonic::Response::new(())))
    }
}

impl Service<http::Request<tonic::body::Body>> for Controller {
    type Response = http::Response<tonic::body::Body>;
    type Error = Infallible;
    type Future = BoxFuture<Self::Response, Self::Error>;

    fn poll_ready(
        &mut self,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<tonic::body::Body>) -> Self::Future {
        let shutdown = self.shutdown.clone();
        Box::pin(async move {
            if request.uri().path() != SHUTDOWN_PATH {
                return Ok(
                    tonic::Status::unimplemented("GRPCController has only Shutdown").into_http(),
                );
            }
            let mut grpc = tonic::server::Grpc::new(tonic_prost::ProstCodec::<(), ()>::default());
            Ok(grpc.unary(ShutdownCall(shutdown), request).await)
        })
    }
}

/// Runs a Rust plugin: builds the hooks from the API client and serves them until the host says
/// stop. Prints the handshake on stdout; nothing else should be printed there before it.
pub async fn serve<H, F>(make_hooks: F) -> Result<(), PluginSideError>
where
    H: PluginHooks,
    F: FnOnce(PluginApiClient) -> H,
{
    if std::env::var(MAGIC_COOKIE_KEY).as_deref() != Ok(MAGIC_COOKIE_VALUE) {
        return Err(PluginSideError::NotStartedByHost);
    }
    // Read once: the host's credential for this process.
    let gate = HookTokenLayer::from_env();
    if !gate.is_enforcing() {
        log_to_host(
            "warn",
            &format!(
                "{ENV_HOOK_TOKEN} is not set: the plugin's socket accepts calls from any process that can reach it"
            ),
        );
    }
    let api = api_client_from_env().await?;
    let hooks = make_hooks(api);

    // The host's directory is the host's to remove; one of our own goes when `own_dir` drops.
    let (socket, own_dir) = match std::env::var_os(ENV_SOCKET_DIR).filter(|d| !d.is_empty()) {
        Some(dir) => (PathBuf::from(dir).join(SOCKET_FILE), None),
        None => {
            let dir = crate::private_dir::private_dir(&std::env::temp_dir(), SOCKET_DIR_PREFIX)?;
            (dir.path().join(SOCKET_FILE), Some(dir))
        }
    };
    let listener = tokio::net::UnixListener::bind(&socket)?;
    let (reporter, health) = tonic_health::server::health_reporter();
    reporter
        .set_service_status(HEALTH_SERVICE, tonic_health::ServingStatus::Serving)
        .await;
    let shutdown = Arc::new(tokio::sync::Notify::new());
    let controller = Controller {
        shutdown: shutdown.clone(),
    };

    println!(
        "{CORE_PROTOCOL_VERSION}|{APP_PROTOCOL_VERSION}|unix|{}|{HANDSHAKE_PROTOCOL}",
        socket.display()
    );
    use std::io::Write;
    std::io::stdout().flush()?;

    let stop = async move { shutdown.notified().await };
    let served = tonic::transport::Server::builder()
        .layer(gate)
        .add_service(health)
        .add_service(controller)
        .add_service(
            PluginHooksServer::new(hooks).into_service(crate::api_server::DEFAULT_MAX_MESSAGE_SIZE),
        )
        .serve_with_incoming_shutdown(
            tokio_stream::wrappers::UnixListenerStream::new(listener),
            stop,
        )
        .await;
    let _ = std::fs::remove_file(&socket);
    drop(own_dir);
    served?;
    Ok(())
}
