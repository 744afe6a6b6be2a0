//! The one task that writes a stream's outgoing messages, in the order they were encoded.
//!
//! Encoding happens under a lock in the caller and is all-or-nothing; the bytes then go through
//! a channel to this task. So a caller that is cancelled never leaves half a message on the
//! wire or a type definition the peer never received.

use std::io;

use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// Something to run once a message has been written and flushed.
pub(crate) type AfterSent = Box<dyn FnOnce() + Send>;

pub(crate) struct Outgoing {
    pub bytes: Vec<u8>,
    pub after: Option<AfterSent>,
}

/// Spawn the writer. It ends when every sender is dropped (after writing what was queued, then
/// half-closing the stream) or at the first write error, which it hands to `on_error`.
pub(crate) fn spawn_writer<W>(
    mut w: W,
    on_error: impl FnOnce(io::Error) + Send + 'static,
) -> (mpsc::UnboundedSender<Outgoing>, JoinHandle<()>)
where
    W: AsyncWrite + Unpin + Send + 'static,
{
    let (tx, mut rx) = mpsc::unbounded_channel::<Outgoing>();
    let task = tokio::spawn(async move {
        while let Some(msg) = rx.recv().await {
            let written = async {
                w.write_all(&msg.bytes).await?;
                w.flush().await
            }
            .await;
            if let Err(e) = written {
                on_error(e);
                return;
            }
            if let Some(after) = msg.after {
                after();
            }
        }
        let _ = w.shutdown().await;
    });
    (tx, task)
}
