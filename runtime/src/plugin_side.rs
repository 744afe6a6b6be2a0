//! The plugin side of the protocol, for plugins written in Rust: what `run_plugin` is for Python.
//!
//! [`serve`] checks it was started by a host, connects the API client (token attached to every
//! call), serves the plugin's hooks with gRPC health and go-plugin's `GRPCController` on a private
//! Unix socket, prints the handshake line, and returns when the host asks it to shut down.

use std::convert::Infallible;
use std::path::PathBuf;
use std::sync::Arc;

use mattermost_plugin_api::{PluginApiClient, PluginHooks, PluginHooksServer};
use tonic::codegen::{BoxFuture, Service, http};

use crate::api_server::TOKEN_METADATA;
use crate::supervisor::{MAGIC_COOKIE_KEY, MAGIC_COOKIE_VALUE, PluginAddress, connect};

/// Environment variables the host sets for a plugin process.
pub const ENV_PLUGIN_ID: &str = "MM_PLUGIN_ID";
pub const ENV_API_ADDR: &str = "MM_PLUGIN_API_ADDR";
pub const ENV_API_TOKEN: &str = "MM_PLUGIN_API_TOKEN";

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
        .with_metadata(TOKEN_METADATA, &token)
        .map_err(|_| PluginSideError::MissingEnv(ENV_API_TOKEN))
}

/// go-plugin's `plugin.GRPCController`: `Shutdown` asks the plugin to exit.
#[derive(Clone)]
struct Controller {
    shutdown: Arc<tokio::sync::Notify>,
}

impl tonic::server::NamedService for Controller {
    const NAME: &'static str = "plugin.GRPCController";
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
            if request.uri().path() != "/plugin.GRPCController/Shutdown" {
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
    let api = api_client_from_env().await?;
    let hooks = make_hooks(api);

    let dir = tempfile::Builder::new().prefix("mm-plugin-").tempdir()?;
    let socket = dir.path().join("plugin.sock");
    let listener = tokio::net::UnixListener::bind(&socket)?;
    let (reporter, health) = tonic_health::server::health_reporter();
    reporter
        .set_service_status("plugin", tonic_health::ServingStatus::Serving)
        .await;
    let shutdown = Arc::new(tokio::sync::Notify::new());
    let controller = Controller {
        shutdown: shutdown.clone(),
    };

    println!("1|1|unix|{}|grpc", socket.display());
    use std::io::Write;
    std::io::stdout().flush()?;

    let stop = async move { shutdown.notified().await };
    tonic::transport::Server::builder()
        .add_service(health)
        .add_service(controller)
        .add_service(
            PluginHooksServer::new(hooks).into_service(crate::api_server::DEFAULT_MAX_MESSAGE_SIZE),
        )
        .serve_with_incoming_shutdown(
            tokio_stream::wrappers::UnixListenerStream::new(listener),
            stop,
        )
        .await?;
    Ok(())
}
