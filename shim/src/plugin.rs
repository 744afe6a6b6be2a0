//! The plugin side of go-plugin's net/rpc protocol (`rpc_server.go`, `server.go`).
//!
//! On the host's connection: a yamux server session; the first three streams the host opens
//! are **control**, **stdout** and **stderr**, in that order (each ACKed at once by
//! [`crate::mux`]); every later stream belongs to the [`MuxBroker`]. The control stream serves
//! net/rpc `Control.Ping`, `Control.Quit` and `Dispenser.Dispense`. `Dispense(name)` allocates
//! a broker id, replies with it, accepts that id and serves the plugin's net/rpc service there
//! under the name `"Plugin"`.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::sync::{Notify, mpsc};

use crate::broker::MuxBroker;
use crate::handshake::{self, HandshakeError, PluginListener};
use crate::mux::{self, SessionError};
use crate::rpc::{BoxFuture, Empty, MethodError, Server, Service};

/// Builds the `"Plugin"` service for one `Dispense` (go-plugin's `Plugin.Server(broker)`). The
/// build may take a while (a child process starting): the dispensed stream is accepted at once
/// and the host's calls on it wait until the service is ready. An `Err` is logged and closes
/// the stream.
pub type PluginFactory = Arc<dyn Fn(MuxBroker) -> BoxFuture<Result<Service, String>> + Send + Sync>;

/// The plugin types the host may dispense, by name (Mattermost dispenses `"hooks"`).
#[derive(Clone, Default)]
pub struct PluginSet {
    plugins: HashMap<String, PluginFactory>,
}

impl std::fmt::Debug for PluginSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.plugins.keys()).finish()
    }
}

impl PluginSet {
    pub fn new() -> Self {
        Self::default()
    }

    /// Add plugin type `name`; `factory` runs once per `Dispense` of it.
    pub fn with(
        self,
        name: &str,
        factory: impl Fn(MuxBroker) -> Service + Send + Sync + 'static,
    ) -> Self {
        self.with_async(name, move |broker| {
            let service = factory(broker);
            async move { Ok(service) }
        })
    }

    /// Add plugin type `name` whose service takes time to build (see [`PluginFactory`]).
    pub fn with_async<F, Fut>(mut self, name: &str, factory: F) -> Self
    where
        F: Fn(MuxBroker) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Service, String>> + Send + 'static,
    {
        let factory: PluginFactory = Arc::new(move |broker| Box::pin(factory(broker)));
        self.plugins.insert(name.to_owned(), factory);
        self
    }
}

/// Chunks waiting for the stdout/stderr stream (kept until the host opens it).
const STDIO_BACKLOG: usize = 1024;

/// A writer to the host's stdout or stderr stream (Mattermost logs what arrives there as
/// `plugin_stdout` / `plugin_stderr`). Usable before the host connects: up to 1024 writes wait
/// for the stream. Cheap to clone.
#[derive(Debug, Clone)]
pub struct StdioWriter {
    tx: mpsc::Sender<Vec<u8>>,
}

impl StdioWriter {
    /// Queue `data`, waiting while the backlog is full. `false` once the stream is gone.
    pub async fn write(&self, data: impl Into<Vec<u8>>) -> bool {
        self.tx.send(data.into()).await.is_ok()
    }

    /// Queue `data` unless the backlog is full or the stream is gone.
    pub fn try_write(&self, data: impl Into<Vec<u8>>) -> bool {
        self.tx.try_send(data.into()).is_ok()
    }
}

/// The receiving ends of [`StdioWriter`]s, for [`serve_conn`].
#[derive(Debug)]
pub struct StdioSources {
    stdout: mpsc::Receiver<Vec<u8>>,
    stderr: mpsc::Receiver<Vec<u8>>,
}

/// Writers for the stdout and stderr streams, and their sources for [`serve_conn`].
pub fn stdio() -> (StdioWriter, StdioWriter, StdioSources) {
    let (out_tx, out_rx) = mpsc::channel(STDIO_BACKLOG);
    let (err_tx, err_rx) = mpsc::channel(STDIO_BACKLOG);
    (
        StdioWriter { tx: out_tx },
        StdioWriter { tx: err_tx },
        StdioSources {
            stdout: out_rx,
            stderr: err_rx,
        },
    )
}

/// How serving ended.
#[derive(Debug)]
pub enum ServeEnd {
    /// The host called `Control.Quit`; its reply has been sent.
    Quit,
    /// The session ended without a `Quit` (the host closed it or went away).
    SessionClosed(SessionError),
}

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(transparent)]
    Handshake(#[from] HandshakeError),
    #[error("writing the handshake line to stdout: {0}")]
    Stdout(std::io::Error),
    #[error("accepting the host's connection: {0}")]
    Accept(std::io::Error),
    #[error("accepting the {which} stream: {source}")]
    Stream {
        which: &'static str,
        source: SessionError,
    },
}

/// After `Quit` the host closes its streams and the session (go-plugin `RPCClient.Close`) and
/// gives the process 2 s to exit; the plugin waits this long for that close, then closes the
/// session itself (flushing what is queued) and returns.
const QUIT_WAIT: Duration = Duration::from_millis(1500);
const QUIT_FLUSH: Duration = Duration::from_millis(300);

/// Serve go-plugin's net/rpc protocol on the host's connection until `Control.Quit` or the end
/// of the session. On `Quit` the reply is written and the session closed before this returns.
pub async fn serve_conn<T>(
    io: T,
    plugins: PluginSet,
    stdio: StdioSources,
) -> Result<ServeEnd, ServeError>
where
    T: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (session, mut incoming) = mux::server(io);
    let mut accept = async |which| {
        incoming
            .accept()
            .await
            .map_err(|source| ServeError::Stream { which, source })
    };
    let control = accept("control").await?;
    let stdout = accept("stdout").await?;
    let stderr = accept("stderr").await?;
    tokio::spawn(pump(stdio.stdout, stdout));
    tokio::spawn(pump(stdio.stderr, stderr));

    let broker = MuxBroker::new(session.clone());
    let mut broker_run = {
        let broker = broker.clone();
        tokio::spawn(async move { broker.run(incoming).await })
    };

    let quit = Arc::new(Notify::new());
    let server = Server::new()
        .register("Control", control_service(quit.clone()))
        .register("Dispenser", dispenser_service(broker, plugins));
    tokio::spawn(async move {
        if let Err(e) = server.serve(control).await {
            tracing::debug!("control stream: {e}");
        }
    });

    tokio::select! {
        // A Quit whose reply made the host close the session is still a Quit.
        biased;
        () = quit.notified() => {
            // Leaving first would race the host's own close of its streams, which go-plugin
            // then reports as an error and answers with SIGKILL.
            if tokio::time::timeout(QUIT_WAIT, &mut broker_run).await.is_err() {
                let _ = tokio::time::timeout(QUIT_FLUSH, session.close()).await;
            }
            Ok(ServeEnd::Quit)
        }
        end = &mut broker_run => Ok(ServeEnd::SessionClosed(end.unwrap_or(SessionError::Closed))),
    }
}

fn control_service(quit: Arc<Notify>) -> Service {
    Service::new()
        // Mattermost's health check: `Control.Ping(true)` → `struct{}`.
        .method("Ping", |_: bool| async { Ok::<_, MethodError>(Empty {}) })
        .method_then("Quit", move |_: bool| {
            let quit = quit.clone();
            async move {
                // Serving ends only once the reply is on its way.
                let after: Box<dyn FnOnce() + Send> = Box::new(move || quit.notify_one());
                (Ok::<_, MethodError>(Empty {}), Some(after))
            }
        })
}

fn dispenser_service(broker: MuxBroker, plugins: PluginSet) -> Service {
    let plugins = Arc::new(plugins);
    Service::new().method("Dispense", move |name: String| {
        let broker = broker.clone();
        let plugins = plugins.clone();
        async move {
            let Some(factory) = plugins.plugins.get(&name).cloned() else {
                return Err(MethodError(format!("unknown plugin type: {name}")));
            };
            let service = factory(broker.clone());
            let id = broker.next_id();
            tokio::spawn(async move {
                // Accepted at once (the host dials within 5 s); calls queue until the
                // service is ready.
                let (stream, service) = tokio::join!(broker.accept(id), service);
                match (stream, service) {
                    (Ok(stream), Ok(service)) => {
                        let server = Server::new().register("Plugin", service);
                        if let Err(e) = server.serve(stream).await {
                            tracing::debug!(plugin = %name, "plugin stream: {e}");
                        }
                    }
                    (Err(e), _) => tracing::error!("go-plugin: plugin dispense error: {name}: {e}"),
                    (Ok(_), Err(e)) => tracing::error!("plugin {name} cannot be served: {e}"),
                }
            });
            Ok(id)
        }
    })
}

async fn pump(mut source: mpsc::Receiver<Vec<u8>>, mut stream: mux::Stream) {
    while let Some(chunk) = source.recv().await {
        if stream.write_all(&chunk).await.is_err() {
            return;
        }
        let _ = stream.flush().await;
    }
    let _ = stream.shutdown().await;
}

/// Everything go-plugin's `Serve` does for a net/rpc plugin, after the caller checked the magic
/// cookie ([`handshake::check_magic_cookie_env`]): negotiate the protocol version, listen on a
/// Unix socket, print the handshake line to stdout, ignore SIGINT, serve the host's connection
/// ([`serve_conn`]) and remove the socket file.
pub async fn serve(
    supported_versions: &[u32],
    plugins: PluginSet,
    stdio: StdioSources,
) -> Result<ServeEnd, ServeError> {
    let version = handshake::negotiate_protocol_version(
        supported_versions,
        std::env::var(handshake::ENV_PROTOCOL_VERSIONS)
            .ok()
            .as_deref(),
    );
    let listener = PluginListener::bind_from_env()?;
    {
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        // The host waits (3 s at Mattermost) for this to be the first line on stdout.
        let line = handshake::handshake_line(version, listener.path());
        if let Err(e) = out.write_all(line.as_bytes()).and_then(|()| out.flush()) {
            return Err(ServeError::Stdout(e));
        }
    }
    ignore_sigint();
    let conn = listener.accept().await.map_err(ServeError::Accept)?;
    let end = serve_conn(conn, plugins, stdio).await;
    drop(listener);
    end
}

/// go-plugin's plugins ignore SIGINT (a Ctrl-C in the server's terminal reaches the whole
/// process group; the host stops its plugins itself).
fn ignore_sigint() {
    match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt()) {
        Ok(mut sigint) => {
            tokio::spawn(async move {
                while sigint.recv().await.is_some() {
                    tracing::trace!("plugin received interrupt signal, ignoring");
                }
            });
        }
        Err(e) => tracing::warn!("cannot ignore SIGINT: {e}"),
    }
}
