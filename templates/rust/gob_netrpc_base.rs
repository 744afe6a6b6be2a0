//! What the generated net/rpc halves (`netrpc.rs`) need from a transport: somewhere to register
//! `Plugin.<Method>` handlers ([`Registry`]) and a way to call them on the other side
//! ([`Caller`]), including the broker streams of the API methods that take an `io.Reader` and
//! plugin-to-plugin HTTP. The shim implements both over go-plugin's yamux streams; [`Loopback`]
//! does it in memory, through real gob bytes, for tests (without broker streams).
//!
//! Hand-written: the generator copies this file verbatim from `templates/rust/`.

// See the API crate's `support.rs`: `ApiError` is large on purpose.
#![allow(clippy::result_large_err)]

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, RwLock};

use gobwire::{Decode, Encode};
use mattermost_plugin_api::support::{BoxStream, ByteStream};
use mattermost_plugin_api::{ApiError, pb};

/// Where `Plugin.<Method>` handlers go: `A` is decoded from the request, `R` sent as the reply;
/// an `Err` becomes net/rpc's `Response.Error`.
pub trait Registry: Sized {
    fn method<A, R, F, Fut>(self, name: &str, f: F) -> Self
    where
        A: Decode + Default + Send + 'static,
        R: Encode + Send + 'static,
        F: Fn(A) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<R, String>> + Send + 'static;
}

/// Why a net/rpc call did not return a reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallFailure {
    /// The other side has no such method: an older server without a newer API method.
    NoMethod,
    /// The method returned an error, or the connection failed.
    Failed(String),
}

/// A byte stream being served to the other side on a broker stream, for as long as this lives.
pub struct ServedStream {
    /// The broker id the other side dials to pull the bytes.
    pub id: u32,
    /// Dropped when the call is over: stops the serving if the other side never dialed.
    pub lease: Box<dyn std::any::Any + Send + Sync>,
}

/// The frames of one plugin-to-plugin HTTP response.
pub type PluginHttpFrames = BoxStream<Result<pb::PluginHttpResponse, ApiError>>;

/// Calls `Plugin.<Method>` on the other side, plus what the methods whose Go signature takes a
/// byte stream or an HTTP exchange need from the transport.
pub trait Caller: Clone + Send + Sync + 'static {
    fn call<A, R>(
        &self,
        service_method: &'static str,
        args: A,
    ) -> impl Future<Output = Result<R, CallFailure>> + Send
    where
        A: Encode + Send + 'static,
        R: Decode + Default + Send + 'static;

    /// Serves `data` on a fresh broker id for the other side to pull (an `io.Reader` argument,
    /// as go-plugin carries one), and gives the id to put in the call's arguments.
    fn serve_stream(
        &self,
        method: &'static str,
        data: ByteStream,
    ) -> impl Future<Output = Result<ServedStream, CallFailure>> + Send;

    /// Plugin-to-plugin HTTP through the other side (`PluginHTTP`): request frames in, response
    /// frames out. Its net/rpc form is the transport's.
    fn plugin_http(
        &self,
        method: &'static str,
        frames: BoxStream<Result<pb::PluginHttpRequest, ApiError>>,
    ) -> impl Future<Output = Result<PluginHttpFrames, ApiError>> + Send;
}

/// A call from a generated method: a server without the method answers as the dev host does
/// for one it does not implement (501, naming the method).
pub async fn call<C: Caller, A, R>(
    caller: &C,
    method: &'static str,
    service_method: &'static str,
    args: A,
) -> Result<R, ApiError>
where
    A: Encode + Send + 'static,
    R: Decode + Default + Send + 'static,
{
    caller
        .call(service_method, args)
        .await
        .map_err(|failure| failure_error(method, failure))
}

/// A call from a generated method whose Go signature takes an `io.Reader`: `data` is served on
/// a broker stream whose id `args` puts in the arguments, until the reply is in.
pub async fn call_with_stream<C: Caller, A, R>(
    caller: &C,
    method: &'static str,
    service_method: &'static str,
    data: ByteStream,
    args: impl FnOnce(u32) -> A + Send,
) -> Result<R, ApiError>
where
    A: Encode + Send + 'static,
    R: Decode + Default + Send + 'static,
{
    let served = caller
        .serve_stream(method, data)
        .await
        .map_err(|failure| failure_error(method, failure))?;
    let reply = call(caller, method, service_method, args(served.id)).await;
    // The other side has stopped reading by the time it replies.
    drop(served.lease);
    reply
}

/// How a failed call reaches the plugin: a server without the method answers 501 naming it;
/// any other failure is the transport's.
pub fn failure_error(method: &str, failure: CallFailure) -> ApiError {
    match failure {
        CallFailure::NoMethod => ApiError::not_implemented(method),
        CallFailure::Failed(message) => unavailable(method, message),
    }
}

/// A transport failure of `method` (gRPC `UNAVAILABLE` to the plugin).
pub fn unavailable(method: &str, message: impl Into<String>) -> ApiError {
    ApiError::transport(method, tonic::Status::unavailable(message.into()))
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;
type Handler = dyn Fn(Vec<u8>) -> BoxFuture<Result<Vec<u8>, String>> + Send + Sync;

/// Registry and caller in one, in memory: each call is gob-encoded, decoded by the handler,
/// and its reply encoded and decoded again, exactly as the bytes would cross a stream.
#[derive(Clone, Default)]
pub struct Loopback {
    handlers: Arc<RwLock<HashMap<String, Arc<Handler>>>>,
}

impl Registry for Loopback {
    fn method<A, R, F, Fut>(self, name: &str, f: F) -> Self
    where
        A: Decode + Default + Send + 'static,
        R: Encode + Send + 'static,
        F: Fn(A) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<R, String>> + Send + 'static,
    {
        let f = Arc::new(f);
        let handler = move |bytes: Vec<u8>| -> BoxFuture<Result<Vec<u8>, String>> {
            let f = f.clone();
            Box::pin(async move {
                let args: A = decode(&bytes)?;
                let reply = f(args).await?;
                gobwire::Encoder::new()
                    .encode(&reply)
                    .map_err(|e| e.to_string())
            })
        };
        self.handlers
            .write()
            .expect("not poisoned")
            .insert(name.to_string(), Arc::new(handler));
        self
    }
}

impl Caller for Loopback {
    fn call<A, R>(
        &self,
        service_method: &'static str,
        args: A,
    ) -> impl Future<Output = Result<R, CallFailure>> + Send
    where
        A: Encode + Send + 'static,
        R: Decode + Default + Send + 'static,
    {
        let handler = self
            .handlers
            .read()
            .expect("not poisoned")
            .get(service_method)
            .cloned();
        async move {
            let handler = handler.ok_or(CallFailure::NoMethod)?;
            let bytes = gobwire::Encoder::new()
                .encode(&args)
                .map_err(|e| CallFailure::Failed(e.to_string()))?;
            let reply = handler(bytes).await.map_err(CallFailure::Failed)?;
            decode(&reply).map_err(CallFailure::Failed)
        }
    }

    /// Handlers here take gob values only, so no method needing a broker stream is registered:
    /// the call answers as a server without the method.
    fn serve_stream(
        &self,
        _method: &'static str,
        data: ByteStream,
    ) -> impl Future<Output = Result<ServedStream, CallFailure>> + Send {
        drop(data);
        std::future::ready(Err(CallFailure::NoMethod))
    }

    /// Not carried in memory: answers as a server without the method.
    fn plugin_http(
        &self,
        method: &'static str,
        frames: BoxStream<Result<pb::PluginHttpRequest, ApiError>>,
    ) -> impl Future<Output = Result<PluginHttpFrames, ApiError>> + Send {
        drop(frames);
        std::future::ready(Err(ApiError::not_implemented(method)))
    }
}

fn decode<T: Decode + Default>(bytes: &[u8]) -> Result<T, String> {
    gobwire::StreamDecoder::new(bytes)
        .decode()
        .map(Option::unwrap_or_default)
        .map_err(|e| e.to_string())
}
