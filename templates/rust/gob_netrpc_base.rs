//! What the generated net/rpc halves (`netrpc.rs`) need from a transport: somewhere to register
//! `Plugin.<Method>` handlers ([`Registry`]) and a way to call them on the other side
//! ([`Caller`]). The shim implements both over go-plugin's yamux streams; [`Loopback`] does it in
//! memory, through real gob bytes, for tests.
//!
//! Hand-written: the generator copies this file verbatim from `templates/rust/`.

// See the API crate's `support.rs`: `ApiError` is large on purpose.
#![allow(clippy::result_large_err)]

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, RwLock};

use gobwire::{Decode, Encode};
use mattermost_plugin_api::ApiError;

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

/// Calls `Plugin.<Method>` on the other side.
pub trait Caller: Clone + Send + Sync + 'static {
    fn call<A, R>(
        &self,
        service_method: &'static str,
        args: A,
    ) -> impl Future<Output = Result<R, CallFailure>> + Send
    where
        A: Encode + Send + 'static,
        R: Decode + Default + Send + 'static;
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
        .map_err(|failure| match failure {
            CallFailure::NoMethod => ApiError::not_implemented(method),
            CallFailure::Failed(message) => {
                ApiError::transport(method, tonic::Status::unavailable(message))
            }
        })
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
}

fn decode<T: Decode + Default>(bytes: &[u8]) -> Result<T, String> {
    gobwire::StreamDecoder::new(bytes)
        .decode()
        .map(Option::unwrap_or_default)
        .map_err(|e| e.to_string())
}
