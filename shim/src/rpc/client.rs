//! An async Go net/rpc client: concurrent calls on one stream, replies matched by `Seq`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use gobwire::{Decode, Encode};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::{mpsc, oneshot};

use super::codec::{GobReader, GobWriter, RequestHeader, ResponseHeader};
use super::writer::{Outgoing, spawn_writer};

/// Why a call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallError {
    /// The method returned an error (Go's `rpc.ServerError`): its text.
    #[error("{0}")]
    Server(String),
    /// The connection is gone (Go's `rpc.ErrShutdown`, or the read error that ended it).
    #[error("connection is shut down: {0}")]
    Shutdown(String),
    /// The arguments could not be encoded.
    #[error("rpc: encoding arguments: {0}")]
    Encode(String),
    /// The reply could not be decoded into the expected type (Go: `reading body …`).
    #[error("reading body {0}")]
    Body(String),
}

type Complete = Box<dyn FnOnce(Result<&mut gobwire::Decoder, CallError>) + Send>;

struct State {
    seq: u64,
    writer: GobWriter,
    pending: HashMap<u64, Complete>,
    /// Set once the connection failed or ended; every later call fails with it.
    closed: Option<String>,
}

/// A net/rpc client over one stream. Cheap to clone; the connection is half-closed when the
/// last clone is dropped.
#[derive(Clone)]
pub struct Client {
    state: Arc<Mutex<State>>,
    tx: mpsc::UnboundedSender<Outgoing>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client").finish_non_exhaustive()
    }
}

impl Client {
    /// Start a client on `stream` (spawns its reader and writer tasks).
    pub fn new<S>(stream: S) -> Self
    where
        S: AsyncRead + AsyncWrite + Send + 'static,
    {
        let (rd, wr) = tokio::io::split(stream);
        let state = Arc::new(Mutex::new(State {
            seq: 0,
            writer: GobWriter::new(),
            pending: HashMap::new(),
            closed: None,
        }));
        let (tx, _writer) = {
            let state = state.clone();
            spawn_writer(wr, move |e| shut_down(&state, format!("write: {e}")))
        };
        tokio::spawn(read_loop(GobReader::new(rd), state.clone()));
        Self { state, tx }
    }

    /// Call `service_method` (`"Plugin.OnActivate"`) with `args` and decode the reply as `R`.
    pub async fn call<A, R>(&self, service_method: &str, args: &A) -> Result<R, CallError>
    where
        A: Encode + ?Sized,
        R: Decode + Default + Send + 'static,
    {
        self.send(service_method, args).await
    }

    /// Like [`call`](Self::call), but the request is encoded and queued before this returns,
    /// so the future borrows nothing (it is `Send + 'static` whatever `A` is).
    pub fn send<A, R>(
        &self,
        service_method: &str,
        args: &A,
    ) -> impl std::future::Future<Output = Result<R, CallError>> + Send + 'static + use<A, R>
    where
        A: Encode + ?Sized,
        R: Decode + Default + Send + 'static,
    {
        let queued = self.queue::<A, R>(service_method, args);
        async move {
            queued?
                .await
                .unwrap_or_else(|_| Err(CallError::Shutdown("call abandoned".into())))
        }
    }

    fn queue<A, R>(
        &self,
        service_method: &str,
        args: &A,
    ) -> Result<oneshot::Receiver<Result<R, CallError>>, CallError>
    where
        A: Encode + ?Sized,
        R: Decode + Default + Send + 'static,
    {
        let (done_tx, done_rx) = oneshot::channel::<Result<R, CallError>>();
        let complete: Complete = Box::new(move |outcome| {
            let result = outcome.and_then(|d| {
                let mut reply = R::default();
                d.decode_into(&mut reply)
                    .map(|()| reply)
                    .map_err(|e| CallError::Body(e.to_string()))
            });
            let _ = done_tx.send(result);
        });
        let mut st = self.state.lock().expect("not poisoned");
        if let Some(reason) = &st.closed {
            return Err(CallError::Shutdown(reason.clone()));
        }
        // Go's client numbers calls from 0; a zero Seq is omitted from the header.
        let seq = st.seq;
        let header = RequestHeader {
            service_method: service_method.to_owned(),
            seq,
        };
        let mut bytes = Vec::new();
        st.writer
            .encode_into(&header, &mut bytes)
            .map_err(|e| CallError::Encode(e.to_string()))?;
        let mut body = Vec::new();
        if let Err(e) = st.writer.encode_into(args, &mut body) {
            // The header's type definition (if any) is in `bytes` and recorded as sent:
            // send the header alone would break Go's stream, so fail the whole client.
            let reason = format!("encoding arguments of {service_method}: {e}");
            drop(st);
            shut_down(&self.state, reason);
            return Err(CallError::Encode(e.to_string()));
        }
        bytes.extend_from_slice(&body);
        st.seq += 1;
        st.pending.insert(seq, complete);
        // Queue under the lock: wire order is encoding order.
        if self.tx.send(Outgoing { bytes, after: None }).is_err() {
            st.pending.remove(&seq);
            return Err(CallError::Shutdown("writer stopped".into()));
        }
        Ok(done_rx)
    }

    /// Whether the connection has ended (calls fail at once).
    pub fn is_closed(&self) -> bool {
        self.state.lock().expect("not poisoned").closed.is_some()
    }
}

fn shut_down(state: &Mutex<State>, reason: String) {
    let pending = {
        let mut st = state.lock().expect("not poisoned");
        if st.closed.is_none() {
            st.closed = Some(reason.clone());
        }
        std::mem::take(&mut st.pending)
    };
    for (_, complete) in pending {
        complete(Err(CallError::Shutdown(reason.clone())));
    }
}

async fn read_loop<R: AsyncRead + Unpin>(mut reader: GobReader<R>, state: Arc<Mutex<State>>) {
    let reason = loop {
        match reader.next_value().await {
            Ok(true) => {}
            Ok(false) => break "EOF".to_owned(),
            Err(e) => break e.to_string(),
        }
        let header: ResponseHeader = match reader.decode() {
            Ok(h) => h,
            Err(e) => break format!("reading response header: {e}"),
        };
        match reader.next_value().await {
            Ok(true) => {}
            Ok(false) => break gobwire::Error::UnexpectedEof.to_string(),
            Err(e) => break e.to_string(),
        }
        let complete = state
            .lock()
            .expect("not poisoned")
            .pending
            .remove(&header.seq);
        match complete {
            // No such call (it failed to send): read and drop the body.
            None => {
                if let Err(e) = reader.discard() {
                    break e.to_string();
                }
            }
            Some(complete) if !header.error.is_empty() => {
                if let Err(e) = reader.discard() {
                    complete(Err(CallError::Server(header.error)));
                    break e.to_string();
                }
                complete(Err(CallError::Server(header.error)));
            }
            Some(complete) => complete(Ok(reader.decoder())),
        }
    };
    tracing::debug!("rpc client: connection ended: {reason}");
    shut_down(&state, reason);
}
