//! The generated net/rpc halves of `mattermost-plugin-gob` over this crate's transport:
//! [`Registry`] for [`rpc::Service`](crate::rpc::Service) (hooks served to the server) and
//! [`Caller`] for [`rpc::Client`](crate::rpc::Client) (the server's API), plus
//! [`ApiConnection`], a caller that waits for the API stream the server hands over in
//! `OnActivate` and carries the API's byte streams and plugin-to-plugin HTTP over the
//! session's broker ([`crate::served_reader`], [`crate::plugin_http`]).

use std::future::Future;
use std::time::Duration;

use gobwire::{Decode, Encode};
use mattermost_plugin_api::support::BoxStream;
use mattermost_plugin_api::{ApiError, ByteStream, pb};
use mattermost_plugin_gob::netrpc_base::{
    CallFailure, Caller, PluginHttpFrames, Registry, ServedStream, failure_error, unavailable,
};
use tokio::sync::watch;

use crate::broker::MuxBroker;
use crate::rpc::{CallError, Client, MethodError, Service};

/// The generated code names methods `"Plugin.<Method>"`; a [`Service`] holds them by method
/// name, the service name being the one it is registered under (Mattermost uses `"Plugin"`
/// on every stream).
impl Registry for Service {
    fn method<A, R, F, Fut>(self, name: &str, f: F) -> Self
    where
        A: Decode + Default + Send + 'static,
        R: Encode + Send + 'static,
        F: Fn(A) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<R, String>> + Send + 'static,
    {
        let method = name.rsplit_once('.').map_or(name, |(_, m)| m);
        Service::method(self, method, move |args: A| {
            let call = f(args);
            async move { call.await.map_err(MethodError) }
        })
    }
}

/// Go net/rpc's texts for a call the other side cannot dispatch (`net/rpc/server.go`).
const NO_METHOD: &str = "rpc: can't find method ";
const NO_SERVICE: &str = "rpc: can't find service ";

/// How a net/rpc failure looks to the generated code: a method or service the server does not
/// have (an older server) is [`CallFailure::NoMethod`]; everything else is `Failed`.
pub fn call_failure(error: CallError) -> CallFailure {
    match error {
        CallError::Server(text) if text.starts_with(NO_METHOD) || text.starts_with(NO_SERVICE) => {
            CallFailure::NoMethod
        }
        CallError::Server(text) => CallFailure::Failed(text),
        other => CallFailure::Failed(other.to_string()),
    }
}

impl Caller for Client {
    fn call<A, R>(
        &self,
        service_method: &'static str,
        args: A,
    ) -> impl Future<Output = Result<R, CallFailure>> + Send
    where
        A: Encode + Send + 'static,
        R: Decode + Default + Send + 'static,
    {
        let reply = self.send(service_method, &args);
        async move { reply.await.map_err(call_failure) }
    }

    /// A bare client has no broker to serve a stream on (see [`ApiConnection`]).
    fn serve_stream(
        &self,
        method: &'static str,
        data: ByteStream,
    ) -> impl Future<Output = Result<ServedStream, CallFailure>> + Send {
        drop(data);
        std::future::ready(Err(no_broker(method)))
    }

    fn plugin_http(
        &self,
        method: &'static str,
        frames: BoxStream<Result<pb::PluginHttpRequest, ApiError>>,
    ) -> impl Future<Output = Result<PluginHttpFrames, ApiError>> + Send {
        drop(frames);
        std::future::ready(Err(unavailable(method, message_no_broker(method))))
    }
}

fn message_no_broker(method: &str) -> String {
    format!("{method}: this connection to the server has no broker for its byte streams")
}

fn no_broker(method: &str) -> CallFailure {
    CallFailure::Failed(message_no_broker(method))
}

/// How long an API call made before the server handed over its API stream (in `OnActivate`)
/// waits for it. A Go plugin has no API at all before `OnActivate`.
pub const API_WAIT: Duration = Duration::from_secs(60);

/// The server's API as a [`Caller`] that exists before the API does: calls wait (up to
/// [`API_WAIT`]) until [`connect`](Self::connect) gives it the client on the API stream.
/// Cheap to clone; every clone sees the same connection.
#[derive(Clone)]
pub struct ApiConnection {
    client: watch::Receiver<Option<Connected>>,
    set: std::sync::Arc<watch::Sender<Option<Connected>>>,
    wait: Duration,
}

/// The API stream's client, and the session's broker for the API's byte streams.
#[derive(Clone)]
struct Connected {
    client: Client,
    broker: Option<MuxBroker>,
}

impl std::fmt::Debug for ApiConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiConnection")
            .field("connected", &self.client.borrow().is_some())
            .finish()
    }
}

impl Default for ApiConnection {
    fn default() -> Self {
        Self::new(API_WAIT)
    }
}

impl ApiConnection {
    /// Not yet connected; calls wait up to `wait` for [`connect`](Self::connect).
    pub fn new(wait: Duration) -> Self {
        let (tx, rx) = watch::channel(None);
        Self {
            client: rx,
            set: std::sync::Arc::new(tx),
            wait,
        }
    }

    /// Use `client` (on the stream `OnActivate` named) from now on, replacing any earlier one.
    /// Without a broker, the API's byte streams and plugin-to-plugin HTTP fail.
    pub fn connect(&self, client: Client) {
        self.set.send_replace(Some(Connected {
            client,
            broker: None,
        }));
    }

    /// [`connect`](Self::connect), with the session's broker for the API's byte streams.
    pub fn connect_with_broker(&self, client: Client, broker: MuxBroker) {
        self.set.send_replace(Some(Connected {
            client,
            broker: Some(broker),
        }));
    }

    /// The current client, if connected.
    pub fn client(&self) -> Option<Client> {
        self.client.borrow().as_ref().map(|c| c.client.clone())
    }

    async fn connected(&self) -> Result<Connected, CallFailure> {
        if let Some(c) = self.client.borrow().as_ref() {
            return Ok(c.clone());
        }
        let mut rx = self.client.clone();
        let got = tokio::time::timeout(self.wait, rx.wait_for(Option::is_some)).await;
        match got {
            Ok(Ok(connected)) => Ok(connected.clone().expect("waited for Some")),
            _ => Err(CallFailure::Failed(format!(
                "the server's API is not available: the server has not activated the plugin (no OnActivate within {:?})",
                self.wait
            ))),
        }
    }
}

impl Caller for ApiConnection {
    fn call<A, R>(
        &self,
        service_method: &'static str,
        args: A,
    ) -> impl Future<Output = Result<R, CallFailure>> + Send
    where
        A: Encode + Send + 'static,
        R: Decode + Default + Send + 'static,
    {
        let this = self.clone();
        async move {
            let connected = this.connected().await?;
            Caller::call(&connected.client, service_method, args).await
        }
    }

    fn serve_stream(
        &self,
        method: &'static str,
        data: ByteStream,
    ) -> impl Future<Output = Result<ServedStream, CallFailure>> + Send {
        let this = self.clone();
        async move {
            let broker = this.connected().await?.broker.ok_or(no_broker(method))?;
            let (id, lease) = crate::served_reader::serve(&broker, method, data);
            Ok(ServedStream {
                id,
                lease: Box::new(lease),
            })
        }
    }

    fn plugin_http(
        &self,
        method: &'static str,
        frames: BoxStream<Result<pb::PluginHttpRequest, ApiError>>,
    ) -> impl Future<Output = Result<PluginHttpFrames, ApiError>> + Send {
        let this = self.clone();
        async move {
            let connected = this
                .connected()
                .await
                .map_err(|f| failure_error(method, f))?;
            let Some(broker) = connected.broker else {
                return Err(unavailable(method, message_no_broker(method)));
            };
            crate::plugin_http::exchange(&connected.client, &broker, method, frames).await
        }
    }
}
