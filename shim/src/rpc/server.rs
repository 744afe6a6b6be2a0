//! An async Go net/rpc server: requests are read in order, each call runs in its own task (Go
//! runs `go service.call`), replies are written whole, one at a time, in completion order.

use std::collections::HashMap;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use futures_util::FutureExt as _;
use gobwire::{Decode, Decoder, Encode};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::mpsc;
use tokio::task::JoinSet;

use super::codec::{Empty, GobReader, GobWriter, RequestHeader, ResponseHeader};
use super::writer::{AfterSent, Outgoing, spawn_writer};

pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// The error a method returns; its text becomes `Response.Error` (Go: `err.Error()`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MethodError(pub String);

impl MethodError {
    pub fn new(message: impl std::fmt::Display) -> Self {
        Self(message.to_string())
    }
}

impl std::fmt::Display for MethodError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for MethodError {}

impl From<String> for MethodError {
    fn from(s: String) -> Self {
        Self(s)
    }
}

impl From<&str> for MethodError {
    fn from(s: &str) -> Self {
        Self(s.to_owned())
    }
}

type Reply = Box<dyn Encode + Send>;

pub(crate) struct Outcome {
    result: Result<Reply, MethodError>,
    after: Option<AfterSent>,
}

/// Decodes a call's argument from the stream's decoder (synchronously, in request order) and
/// returns the call to run.
type Handler = dyn Fn(&mut Decoder) -> gobwire::Result<BoxFuture<Outcome>> + Send + Sync;

/// One net/rpc service: its methods by name.
#[derive(Clone, Default)]
pub struct Service {
    methods: HashMap<String, Arc<Handler>>,
}

impl std::fmt::Debug for Service {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut names: Vec<_> = self.methods.keys().collect();
        names.sort();
        f.debug_struct("Service").field("methods", &names).finish()
    }
}

impl Service {
    pub fn new() -> Self {
        Self::default()
    }

    /// Add method `name`: `A` is decoded from the request body (Go's `args`), `R` is sent as
    /// the reply (Go's `*reply`). An `Err` becomes `Response.Error`, with an empty-struct body.
    pub fn method<A, R, F, Fut>(self, name: &str, f: F) -> Self
    where
        A: Decode + Default + Send + 'static,
        R: Encode + Send + 'static,
        F: Fn(A) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<R, MethodError>> + Send + 'static,
    {
        self.method_then(name, move |a| {
            let fut = f(a);
            async move { (fut.await, None) }
        })
    }

    /// Like [`method`](Self::method); the call also returns something to run once its reply
    /// has been written and flushed (`Control.Quit` ends the process only then).
    pub(crate) fn method_then<A, R, F, Fut>(mut self, name: &str, f: F) -> Self
    where
        A: Decode + Default + Send + 'static,
        R: Encode + Send + 'static,
        F: Fn(A) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = (Result<R, MethodError>, Option<AfterSent>)> + Send + 'static,
    {
        let handler = move |d: &mut Decoder| -> gobwire::Result<BoxFuture<Outcome>> {
            let args: A = d.decode()?;
            let fut = f(args);
            Ok(Box::pin(async move {
                let (result, after) = fut.await;
                Outcome {
                    result: result.map(|r| Box::new(r) as Reply),
                    after,
                }
            }))
        };
        self.methods.insert(name.to_owned(), Arc::new(handler));
        self
    }

    /// The method names, unordered.
    pub fn method_names(&self) -> impl Iterator<Item = &str> {
        self.methods.keys().map(String::as_str)
    }
}

/// Why [`Server::serve`] stopped before a clean end of the stream.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// A request header could not be read (Go: `rpc: server cannot decode request: …`).
    #[error("rpc: server cannot decode request: {0}")]
    Decode(String),
    #[error("rpc: writing a reply: {0}")]
    Write(String),
}

/// A net/rpc server: services by name (`"Plugin"`, `"Control"`, …).
#[derive(Clone, Default)]
pub struct Server {
    services: Arc<HashMap<String, Service>>,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("services", &self.services)
            .finish()
    }
}

impl Server {
    pub fn new() -> Self {
        Self::default()
    }

    /// Register `service` as `name` (Go's `RegisterName`), replacing one of the same name.
    pub fn register(mut self, name: &str, service: Service) -> Self {
        Arc::make_mut(&mut self.services).insert(name.to_owned(), service);
        self
    }

    fn lookup(&self, service_method: &str) -> Result<Arc<Handler>, MethodError> {
        // net/rpc server.go, readRequestHeader: the last dot splits service and method.
        let Some(dot) = service_method.rfind('.') else {
            return Err(format!("rpc: service/method request ill-formed: {service_method}").into());
        };
        let (service, method) = (&service_method[..dot], &service_method[dot + 1..]);
        let Some(service) = self.services.get(service) else {
            return Err(format!("rpc: can't find service {service_method}").into());
        };
        service
            .methods
            .get(method)
            .cloned()
            .ok_or_else(|| format!("rpc: can't find method {service_method}").into())
    }

    /// Serve one connection until it ends. Calls still running when the peer closes its side
    /// are waited for (as Go's `ServeCodec` does), then the stream is half-closed.
    pub async fn serve<S>(&self, stream: S) -> Result<(), ServeError>
    where
        S: AsyncRead + AsyncWrite + Send + 'static,
    {
        let (rd, wr) = tokio::io::split(stream);
        let mut reader = GobReader::new(rd);
        let write_error = Arc::new(Mutex::new(None::<String>));
        let (tx, writer_task) = {
            let write_error = write_error.clone();
            spawn_writer(wr, move |e| {
                *write_error.lock().expect("not poisoned") = Some(e.to_string());
            })
        };
        let replies = Replier {
            tx,
            writer: Arc::new(Mutex::new(GobWriter::new())),
        };
        let mut calls = JoinSet::new();
        let mut result = Ok(());
        loop {
            while calls.try_join_next().is_some() {}
            match reader.next_value().await {
                Ok(true) => {}
                Ok(false) => break,
                Err(e) => {
                    result = Err(ServeError::Decode(e.to_string()));
                    break;
                }
            }
            let header: RequestHeader = match reader.decode() {
                Ok(h) => h,
                Err(e) => {
                    result = Err(ServeError::Decode(e.to_string()));
                    break;
                }
            };
            // The body follows, even for a call that cannot be served.
            let body = match reader.next_value().await {
                Ok(true) => Ok(()),
                Ok(false) => Err(gobwire::Error::UnexpectedEof.to_string()),
                Err(e) => Err(e.to_string()),
            };
            if let Err(text) = body {
                replies.send(&header, Err(MethodError(text.clone())), None);
                result = Err(ServeError::Decode(text));
                break;
            }
            match self.lookup(&header.service_method) {
                Err(e) => {
                    if let Err(d) = reader.discard() {
                        result = Err(ServeError::Decode(d.to_string()));
                        break;
                    }
                    replies.send(&header, Err(e), None);
                }
                Ok(handler) => match handler(reader.decoder()) {
                    // Go replies with the decode error's text and keeps reading.
                    Err(e) => replies.send(&header, Err(MethodError(e.to_string())), None),
                    Ok(call) => {
                        let replies = replies.clone();
                        calls.spawn(async move {
                            // A panicking method still gets a reply, so its caller does not
                            // wait forever (Go's net/rpc would crash the process instead).
                            match AssertUnwindSafe(call).catch_unwind().await {
                                Ok(outcome) => replies.send(&header, outcome.result, outcome.after),
                                Err(_) => replies.send(
                                    &header,
                                    Err(MethodError(format!(
                                        "rpc: method {} panicked",
                                        header.service_method
                                    ))),
                                    None,
                                ),
                            }
                        });
                    }
                },
            }
        }
        while calls.join_next().await.is_some() {}
        drop(replies);
        let _ = writer_task.await;
        if let Some(e) = write_error.lock().expect("not poisoned").take()
            && result.is_ok()
        {
            result = Err(ServeError::Write(e));
        }
        result
    }
}

#[derive(Clone)]
struct Replier {
    tx: mpsc::UnboundedSender<Outgoing>,
    writer: Arc<Mutex<GobWriter>>,
}

impl Replier {
    /// Encode and queue a reply: the header, then the reply value (or an empty struct with an
    /// error). A reply that cannot be encoded is sent as an error instead (Go logs and drops
    /// the connection there).
    fn send(
        &self,
        request: &RequestHeader,
        result: Result<Reply, MethodError>,
        after: Option<AfterSent>,
    ) {
        let mut bytes = Vec::new();
        {
            let mut w = self.writer.lock().expect("not poisoned");
            // The body first, into its own buffer, so an encoding failure can still become an
            // error reply. Type ids need not be in order; definitions only precede their use.
            let mut body = Vec::new();
            let error = match result {
                Ok(reply) => match w.encode_into(&*reply, &mut body) {
                    Ok(()) => String::new(),
                    Err(e) => {
                        tracing::error!(method = %request.service_method, "rpc: gob error encoding body: {e}");
                        format!("rpc: gob error encoding body: {e}")
                    }
                },
                Err(e) => e.0,
            };
            if !error.is_empty() {
                body.clear();
                w.encode_into(&Empty {}, &mut body)
                    .expect("an empty struct encodes");
            }
            let header = ResponseHeader {
                service_method: request.service_method.clone(),
                seq: request.seq,
                error,
            };
            w.encode_into(&header, &mut bytes)
                .expect("a response header encodes");
            bytes.extend_from_slice(&body);
            // Queue while still holding the lock: the channel order is the encoding order.
            let _ = self.tx.send(Outgoing { bytes, after });
        }
    }
}
