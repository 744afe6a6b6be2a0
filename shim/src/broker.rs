//! go-plugin's `MuxBroker` (net/rpc flavour, `mux_broker.go`): extra yamux streams named by a
//! `u32` id that one side allocates and sends in an RPC, and the other side dials.
//!
//! There is no broker control stream. The dialer opens a stream and writes the id as 4 bytes
//! little-endian; the acceptor matches it to a pending [`MuxBroker::accept`] and writes the same
//! 4 bytes back as the ack. A stream that arrives before its `accept` is kept for
//! [`TIMEOUT`]; an `accept` waits [`TIMEOUT`] for its stream. Ids are per side: each side's
//! counter starts at 1 and only the side that accepts an id gives it meaning.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::oneshot;

use crate::mux::{Incoming, Session, SessionError, Stream};

/// go-plugin's 5 s for both an `Accept` waiting for its stream and a stream waiting for its
/// `Accept`.
pub const TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug, thiserror::Error)]
pub enum BrokerError {
    #[error("timeout waiting for accept")]
    AcceptTimeout,
    #[error("bad ack: {got} (expected {expected})")]
    BadAck { got: u32, expected: u32 },
    #[error("broker id {0} is already being accepted")]
    AlreadyAccepting(u32),
    #[error("{0}")]
    Session(#[from] SessionError),
    #[error("broker stream: {0}")]
    Io(#[from] std::io::Error),
}

/// One id's rendezvous: `run` takes `tx` when the stream arrives, `accept` takes `rx`.
struct Slot {
    tx: Option<oneshot::Sender<Stream>>,
    rx: Option<oneshot::Receiver<Stream>>,
}

impl Slot {
    fn new() -> Self {
        let (tx, rx) = oneshot::channel();
        Self {
            tx: Some(tx),
            rx: Some(rx),
        }
    }
}

/// The broker of one session. Cheap to clone.
#[derive(Clone)]
pub struct MuxBroker {
    session: Session,
    next_id: Arc<AtomicU32>,
    slots: Arc<Mutex<HashMap<u32, Slot>>>,
    timeout: Duration,
}

impl std::fmt::Debug for MuxBroker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MuxBroker")
            .field("next_id", &self.next_id.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl MuxBroker {
    pub fn new(session: Session) -> Self {
        Self::with_timeout(session, TIMEOUT)
    }

    /// A broker with another accept timeout (tests).
    pub fn with_timeout(session: Session, timeout: Duration) -> Self {
        Self {
            session,
            next_id: Arc::new(AtomicU32::new(0)),
            slots: Arc::default(),
            timeout,
        }
    }

    /// A fresh id for this side to [`accept`](Self::accept); the first is 1.
    pub fn next_id(&self) -> u32 {
        self.next_id.fetch_add(1, Ordering::Relaxed).wrapping_add(1)
    }

    /// Open a stream to the id the peer is accepting: write the id, wait for its ack.
    pub async fn dial(&self, id: u32) -> Result<Stream, BrokerError> {
        let mut stream = self.session.open().await?;
        stream.write_all(&id.to_le_bytes()).await?;
        stream.flush().await?;
        let mut ack = [0u8; 4];
        stream.read_exact(&mut ack).await?;
        let got = u32::from_le_bytes(ack);
        if got != id {
            let _ = stream.shutdown().await;
            return Err(BrokerError::BadAck { got, expected: id });
        }
        Ok(stream)
    }

    /// Wait (up to the timeout) for the peer to dial `id`, then ack it.
    pub async fn accept(&self, id: u32) -> Result<Stream, BrokerError> {
        let rx = {
            let mut slots = self.slots.lock().expect("not poisoned");
            slots.entry(id).or_insert_with(Slot::new).rx.take()
        };
        let Some(rx) = rx else {
            return Err(BrokerError::AlreadyAccepting(id));
        };
        let got = tokio::time::timeout(self.timeout, rx).await;
        self.slots.lock().expect("not poisoned").remove(&id);
        let mut stream = match got {
            Ok(Ok(stream)) => stream,
            Ok(Err(_)) => return Err(SessionError::Closed.into()),
            Err(_) => return Err(BrokerError::AcceptTimeout),
        };
        stream.write_all(&id.to_le_bytes()).await?;
        stream.flush().await?;
        Ok(stream)
    }

    /// Take every stream the peer opens from now on (after go-plugin's three fixed streams),
    /// read its id and hand it to the matching `accept`. Returns when the session ends.
    pub async fn run(&self, mut incoming: Incoming) -> SessionError {
        loop {
            let stream = match incoming.accept().await {
                Ok(s) => s,
                Err(e) => return e,
            };
            // Each stream reads its id in its own task, so a silent dialer delays nobody.
            let broker = self.clone();
            tokio::spawn(async move { broker.route(stream).await });
        }
    }

    async fn route(&self, mut stream: Stream) {
        let mut id = [0u8; 4];
        match tokio::time::timeout(self.timeout, stream.read_exact(&mut id)).await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => {
                tracing::debug!(stream = stream.id(), "broker: reading stream id: {e}");
                return;
            }
            Err(_) => {
                tracing::debug!(
                    stream = stream.id(),
                    "broker: no stream id within the timeout"
                );
                return;
            }
        }
        let id = u32::from_le_bytes(id);
        let tx = {
            let mut slots = self.slots.lock().expect("not poisoned");
            slots.entry(id).or_insert_with(Slot::new).tx.take()
        };
        let Some(tx) = tx else {
            tracing::debug!(id, "broker: a second stream for one id; dropped");
            return;
        };
        if tx.send(stream).is_err() {
            // The accept gave up (timed out) in the meantime.
            return;
        }
        // Unclaimed after the timeout: drop it (its receiver holds the stream).
        let slots = self.slots.clone();
        let timeout = self.timeout;
        tokio::spawn(async move {
            tokio::time::sleep(timeout).await;
            let mut slots = slots.lock().expect("not poisoned");
            if slots.get(&id).is_some_and(|s| s.rx.is_some()) {
                slots.remove(&id);
                tracing::debug!(id, "broker: stream not accepted in time; dropped");
            }
        });
    }

    /// The session this broker opens streams on.
    pub fn session(&self) -> &Session {
        &self.session
    }
}
