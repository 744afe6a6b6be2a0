//! yamux, the stream multiplexer under go-plugin's net/rpc protocol.
//!
//! The Mattermost server dials the plugin's socket and runs hashicorp/yamux as the **client**;
//! the plugin is the yamux **server** (even stream ids). This module drives the `yamux` crate
//! (rust-yamux 0.14) in one task and hands out streams with tokio's `AsyncRead`/`AsyncWrite`.
//!
//! # Why rust-yamux, and what it needs to interoperate with hashicorp/yamux
//!
//! Both Rust implementations on crates were run against hashicorp/yamux v0.1.2 with short
//! timeouts (`tests/go/yamux_test.go` keeps the checks that matter):
//!
//! * `tokio-yamux` 0.3 ACKs streams on accept, but it cannot carry this protocol. Each stream
//!   gets a channel of 8 frames, and when one is full the session stops reading the socket
//!   altogether, so a stream nobody reads for a moment (200 small writes) stops the pongs too
//!   and hashicorp ends the session (`keepalive failed: connection write timeout`). A writer
//!   waiting for send window is only woken while the same stream is also being read, so a
//!   4 MiB echo deadlocked.
//! * `yamux` 0.14.1 buffers every stream separately (no head-of-line blocking) and answers
//!   pings whenever the connection is polled. Three things need handling here:
//!   1. **ACK on accept.** rust-yamux sets ACK on a stream's first outbound frame only;
//!      hashicorp closes the *whole session* when a stream it opened is not ACKed within
//!      `StreamOpenTimeout` (75 s). The plugin never writes to the control stream before the
//!      first call and the server never reads stdout/stderr back, so the driver ACKs every
//!      inbound stream at once with a zero-length write (an empty DATA frame carrying ACK,
//!      which hashicorp accepts). Without it the interop test dies after its 1 s timeout.
//!   2. **Frame size.** rust-yamux refuses frames over 1 MiB but auto-tunes receive windows
//!      past that; hashicorp sends up to a whole window in one frame, and the 256 MiB echo
//!      failed with `frame body is too large (1572864)`. Capping the connection's receive
//!      window at `max_num_streams × 256 KiB` leaves no room for any stream window to grow.
//!   3. **Keep polling.** hashicorp pings every 30 s and ends the session when a pong is 10 s
//!      late; rust-yamux answers only while the connection is polled, so the connection lives
//!      in its own task that never waits on the application.
//!
//! Split streams (read and write halves in different tasks) are fine in 0.14.1, which sends
//! window updates on their own channel.

use std::collections::VecDeque;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_util::io::AsyncWrite as _;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::{mpsc, oneshot};
use tokio_util::compat::{Compat, FuturesAsyncReadCompatExt, TokioAsyncReadCompatExt};

/// Streams a session may have open at once. rust-yamux ends the whole connection when the
/// peer opens one more, and hashicorp has no such limit, so this is generous; it costs nothing
/// until streams exist (each buffers at most its 256 KiB window).
pub const MAX_STREAMS: usize = 16_384;

/// The yamux default window; the receive window of every stream stays at this size.
pub const STREAM_WINDOW: usize = 256 * 1024;

fn config() -> yamux::Config {
    let mut cfg = yamux::Config::default();
    // Order matters: each setter asserts window >= streams × 256 KiB.
    cfg.set_max_connection_receive_window(Some(MAX_STREAMS * STREAM_WINDOW));
    cfg.set_max_num_streams(MAX_STREAMS);
    cfg
}

/// One multiplexed stream: tokio `AsyncRead` + `AsyncWrite`.
///
/// `shutdown()` half-closes (yamux FIN), as hashicorp's `Close` does. Dropping a stream that is
/// still open both ways resets it (RST); dropping one the peer already closed sends FIN.
#[derive(Debug)]
pub struct Stream {
    inner: Compat<yamux::Stream>,
    id: u32,
}

impl Stream {
    fn new(stream: yamux::Stream) -> Self {
        let id = stream.id().val();
        Self {
            inner: stream.compat(),
            id,
        }
    }

    /// The yamux stream id (odd: opened by the server; even: opened by this side).
    pub fn id(&self) -> u32 {
        self.id
    }
}

impl AsyncRead for Stream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// Why a session ended.
#[derive(Debug, Clone, thiserror::Error)]
pub enum SessionError {
    /// The session is closed (by either side, or because the connection ended).
    #[error("yamux session closed")]
    Closed,
    /// The connection failed (a protocol error or an I/O error).
    #[error("yamux session failed: {0}")]
    Failed(String),
}

enum Command {
    Open(oneshot::Sender<Result<Stream, SessionError>>),
    Close(oneshot::Sender<()>),
}

/// A handle to a running session: opens streams, closes the session. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Session {
    commands: mpsc::UnboundedSender<Command>,
}

impl std::fmt::Debug for Command {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Command::Open(_) => "Open",
            Command::Close(_) => "Close",
        })
    }
}

/// The streams the peer opens, in the order their SYN arrived, each already ACKed.
#[derive(Debug)]
pub struct Incoming {
    streams: mpsc::UnboundedReceiver<Stream>,
    ended: oneshot::Receiver<Option<SessionError>>,
    end: Option<Option<SessionError>>,
}

impl Incoming {
    /// The next stream the peer opened; `Err` once the session has ended (`Closed` for an
    /// orderly end, `Failed` otherwise).
    pub async fn accept(&mut self) -> Result<Stream, SessionError> {
        if let Some(stream) = self.streams.recv().await {
            return Ok(stream);
        }
        if self.end.is_none() {
            self.end = Some((&mut self.ended).await.unwrap_or(None));
        }
        Err(self.end.clone().flatten().unwrap_or(SessionError::Closed))
    }
}

/// Start the yamux **server** side of `io` (the plugin's side of go-plugin's connection) on the
/// current tokio runtime. The session lives until the peer closes it, the connection fails or
/// [`Session::close`] is called.
pub fn server<T>(io: T) -> (Session, Incoming)
where
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    start(io, yamux::Mode::Server)
}

/// Start the yamux **client** side (what the Mattermost server runs). Used by tests.
pub fn client<T>(io: T) -> (Session, Incoming)
where
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    start(io, yamux::Mode::Client)
}

fn start<T>(io: T, mode: yamux::Mode) -> (Session, Incoming)
where
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let connection = yamux::Connection::new(io.compat(), config(), mode);
    let (commands_tx, commands_rx) = mpsc::unbounded_channel();
    let (streams_tx, streams_rx) = mpsc::unbounded_channel();
    let (ended_tx, ended_rx) = oneshot::channel();
    let driver = Driver {
        connection,
        commands: commands_rx,
        streams: streams_tx,
        opening: VecDeque::new(),
        closing: Vec::new(),
    };
    tokio::spawn(async move {
        let end = driver.run().await;
        match &end {
            None => tracing::debug!("yamux session closed"),
            Some(e) => tracing::debug!("yamux session ended: {e}"),
        }
        let _ = ended_tx.send(end);
    });
    (
        Session {
            commands: commands_tx,
        },
        Incoming {
            streams: streams_rx,
            ended: ended_rx,
            end: None,
        },
    )
}

impl Session {
    /// Open a stream to the peer. rust-yamux sends the SYN with the stream's first frame, so
    /// write something (the broker writes the id at once).
    pub async fn open(&self) -> Result<Stream, SessionError> {
        let (tx, rx) = oneshot::channel();
        self.commands
            .send(Command::Open(tx))
            .map_err(|_| SessionError::Closed)?;
        rx.await.map_err(|_| SessionError::Closed)?
    }

    /// Close the session (GoAway, then the connection) and wait until it is closed.
    pub async fn close(&self) {
        let (tx, rx) = oneshot::channel();
        if self.commands.send(Command::Close(tx)).is_ok() {
            let _ = rx.await;
        }
    }

    /// Whether the session's task has ended.
    pub fn is_closed(&self) -> bool {
        self.commands.is_closed()
    }
}

struct Driver<T> {
    connection: yamux::Connection<Compat<T>>,
    commands: mpsc::UnboundedReceiver<Command>,
    streams: mpsc::UnboundedSender<Stream>,
    opening: VecDeque<oneshot::Sender<Result<Stream, SessionError>>>,
    closing: Vec<oneshot::Sender<()>>,
}

impl<T> Driver<T>
where
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    async fn run(mut self) -> Option<SessionError> {
        let end = std::future::poll_fn(|cx| self.poll_active(cx)).await;
        if self.closing.is_empty() && end.is_none() {
            // The peer closed the session (GoAway or EOF): nothing more to do.
        } else {
            let _ = std::future::poll_fn(|cx| self.connection.poll_close(cx)).await;
        }
        for waiter in self.opening.drain(..) {
            let _ = waiter.send(Err(end.clone().unwrap_or(SessionError::Closed)));
        }
        for waiter in self.closing.drain(..) {
            let _ = waiter.send(());
        }
        end
    }

    /// Drive the connection until it ends (`Ready(None)`: closed, `Ready(Some)`: failed) or a
    /// close is requested (`Ready(None)` with `closing` non-empty).
    fn poll_active(&mut self, cx: &mut Context<'_>) -> Poll<Option<SessionError>> {
        loop {
            // Requests from the application.
            while let Poll::Ready(cmd) = self.commands.poll_recv(cx) {
                match cmd {
                    Some(Command::Open(reply)) => self.opening.push_back(reply),
                    Some(Command::Close(reply)) => {
                        self.closing.push(reply);
                        return Poll::Ready(None);
                    }
                    // Every `Session` handle is gone; keep serving the streams that remain.
                    None => break,
                }
            }

            let mut progress = false;
            while !self.opening.is_empty() {
                match self.connection.poll_new_outbound(cx) {
                    Poll::Ready(Ok(stream)) => {
                        let reply = self.opening.pop_front().expect("non-empty");
                        let _ = reply.send(Ok(Stream::new(stream)));
                        progress = true;
                    }
                    Poll::Ready(Err(e)) => {
                        let reply = self.opening.pop_front().expect("non-empty");
                        let _ = reply.send(Err(SessionError::Failed(e.to_string())));
                        progress = true;
                    }
                    Poll::Pending => break,
                }
            }

            // Reading the connection also writes queued frames and answers pings.
            match self.connection.poll_next_inbound(cx) {
                Poll::Ready(Some(Ok(mut stream))) => {
                    // ACK at once, in this task: see the module docs.
                    if !try_ack(&mut stream, cx) {
                        // A fresh stream has a free command slot and a full send window, so
                        // this does not happen; if it did, its first write would carry the ACK.
                        tracing::warn!(stream = stream.id().val(), "could not ACK a new stream");
                    }
                    let _ = self.streams.send(Stream::new(stream));
                }
                Poll::Ready(Some(Err(e))) => {
                    return Poll::Ready(Some(SessionError::Failed(e.to_string())));
                }
                Poll::Ready(None) => return Poll::Ready(None),
                Poll::Pending if !progress => return Poll::Pending,
                Poll::Pending => {}
            }
        }
    }
}

/// Queue a zero-length DATA frame, which carries the ACK flag of a freshly accepted stream.
/// `false` if the frame could not be queued (no free slot in the stream's command channel).
fn try_ack(stream: &mut yamux::Stream, cx: &mut Context<'_>) -> bool {
    match Pin::new(stream).poll_write(cx, &[]) {
        Poll::Ready(Ok(_)) => true,
        // A stream the peer reset at once: nothing to acknowledge.
        Poll::Ready(Err(_)) => true,
        Poll::Pending => false,
    }
}
