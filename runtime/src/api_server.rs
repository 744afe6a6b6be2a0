//! The `PluginAPI` gRPC server plugins call back, served to them only.
//!
//! By default it listens on a Unix socket inside a private directory (mode 0700), so only this
//! user can even connect; loopback TCP is the fallback where Unix sockets are unavailable. Either
//! way every call must carry the token the host issued to that plugin process in the
//! `mm-plugin-token` metadata, or it is refused with UNAUTHENTICATED. The token also decides the
//! caller's plugin id (`mm-plugin-id`), so one plugin cannot act as another.

use std::collections::HashMap;
use std::io::Read;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use mattermost_plugin_api::protocol::PLUGIN_ID_METADATA;
use mattermost_plugin_api::{PluginApi, PluginApiServer};
use tokio::sync::oneshot;

/// Metadata key of the per-plugin token.
pub use mattermost_plugin_api::protocol::API_TOKEN_METADATA as TOKEN_METADATA;

/// Largest message the API server accepts or sends: 256 MiB, above Mattermost's default maximum
/// file size (100 MB) so `UploadFile` and friends fit in one message.
pub const DEFAULT_MAX_MESSAGE_SIZE: usize = 256 << 20;

/// Tokens issued to running plugin processes: token → plugin id.
#[derive(Clone, Default)]
pub struct TokenRegistry {
    tokens: Arc<RwLock<HashMap<String, String>>>,
}

impl TokenRegistry {
    /// A fresh random token for a plugin process.
    pub fn issue(&self, plugin_id: &str) -> std::io::Result<String> {
        let token = random_token()?;
        if let Ok(mut tokens) = self.tokens.write() {
            tokens.insert(token.clone(), plugin_id.to_string());
        }
        Ok(token)
    }

    /// Forgets a token (its process stopped or was replaced).
    pub fn revoke(&self, token: &str) {
        if let Ok(mut tokens) = self.tokens.write() {
            tokens.remove(token);
        }
    }

    pub fn plugin_for(&self, token: &str) -> Option<String> {
        self.tokens.read().ok()?.get(token).cloned()
    }
}

/// 32 bytes from the kernel's CSPRNG, hex encoded.
pub fn random_token() -> std::io::Result<String> {
    let mut bytes = [0u8; 32];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut bytes)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// Where the API server listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiAddr {
    Unix(PathBuf),
    Tcp(SocketAddr),
}

impl ApiAddr {
    /// The address as plugins receive it in `MM_PLUGIN_API_ADDR` (a gRPC target string).
    pub fn target(&self) -> String {
        match self {
            ApiAddr::Unix(path) => format!("unix://{}", path.display()),
            ApiAddr::Tcp(addr) => format!("{addr}"),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// A Unix socket in a fresh private directory.
    Unix,
    /// Loopback TCP on an ephemeral port.
    Tcp,
}

#[derive(Debug, Clone)]
pub struct ApiServerConfig {
    pub transport: Transport,
    pub max_message_size: usize,
    /// Record every call here (and answer scripted ones from it): a development host's view.
    pub calls: Option<crate::api_calls::ApiCalls>,
}

impl Default for ApiServerConfig {
    fn default() -> Self {
        ApiServerConfig {
            transport: if cfg!(unix) {
                Transport::Unix
            } else {
                Transport::Tcp
            },
            max_message_size: DEFAULT_MAX_MESSAGE_SIZE,
            calls: None,
        }
    }
}

/// A running API server; dropping it stops the server and removes its socket directory.
pub struct ApiServer {
    addr: ApiAddr,
    tokens: TokenRegistry,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
    _dir: Option<tempfile::TempDir>,
}

impl ApiServer {
    pub async fn start<T: PluginApi>(
        backend: Arc<T>,
        tokens: TokenRegistry,
        config: ApiServerConfig,
    ) -> std::io::Result<ApiServer> {
        let service = PluginApiServer::from_arc(backend).into_service(config.max_message_size);
        // Inside the token check: only authenticated calls are recorded or scripted, and the
        // record names the caller's plugin id.
        let service = match &config.calls {
            Some(calls) => calls.layer(service),
            None => crate::api_calls::Recorded::passthrough(service),
        };
        let check = tokens.clone();
        let service = tonic::service::interceptor::InterceptedService::new(
            service,
            move |mut request: tonic::Request<()>| {
                let token = request
                    .metadata()
                    .get(TOKEN_METADATA)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default();
                let Some(plugin_id) = (!token.is_empty())
                    .then(|| check.plugin_for(token))
                    .flatten()
                else {
                    return Err(tonic::Status::unauthenticated(format!(
                        "missing or unknown `{TOKEN_METADATA}`"
                    )));
                };
                let value = plugin_id
                    .parse()
                    .map_err(|_| tonic::Status::internal("plugin id is not valid metadata"))?;
                request.metadata_mut().insert(PLUGIN_ID_METADATA, value);
                Ok(request)
            },
        );
        let (stop, stopped) = oneshot::channel::<()>();
        let router = tonic::transport::Server::builder().add_service(service);
        let shutdown = async move {
            let _ = stopped.await;
        };
        let (addr, dir, task) = match config.transport {
            Transport::Unix => {
                let dir = private_dir()?;
                let path = dir.path().join("api.sock");
                let listener = tokio::net::UnixListener::bind(&path)?;
                let incoming = tokio_stream::wrappers::UnixListenerStream::new(listener);
                let task = tokio::spawn(async move {
                    if let Err(e) = router
                        .serve_with_incoming_shutdown(incoming, shutdown)
                        .await
                    {
                        tracing::error!(error = %e, "plugin API server stopped");
                    }
                });
                (ApiAddr::Unix(path), Some(dir), task)
            }
            Transport::Tcp => {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
                let addr = listener.local_addr()?;
                let incoming = tokio_stream::wrappers::TcpListenerStream::new(listener);
                let task = tokio::spawn(async move {
                    if let Err(e) = router
                        .serve_with_incoming_shutdown(incoming, shutdown)
                        .await
                    {
                        tracing::error!(error = %e, "plugin API server stopped");
                    }
                });
                (ApiAddr::Tcp(addr), None, task)
            }
        };
        Ok(ApiServer {
            addr,
            tokens,
            stop: Some(stop),
            task: Some(task),
            _dir: dir,
        })
    }

    pub fn addr(&self) -> &ApiAddr {
        &self.addr
    }

    pub fn tokens(&self) -> &TokenRegistry {
        &self.tokens
    }

    /// The socket's directory, for Unix transport.
    pub fn socket_dir(&self) -> Option<&Path> {
        match &self.addr {
            ApiAddr::Unix(path) => path.parent(),
            ApiAddr::Tcp(_) => None,
        }
    }

    /// Stops serving and waits for the server task.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for ApiServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// A new directory only this user can enter (0700).
fn private_dir() -> std::io::Result<tempfile::TempDir> {
    let base = std::env::var_os("XDG_RUNTIME_DIR")
        .map(PathBuf::from)
        .filter(|p| p.is_dir())
        .unwrap_or_else(std::env::temp_dir);
    crate::private_dir::private_dir(&base, "mm-plugin-api-")
}
