//! The serving end of a byte stream the server pulls from the plugin (the plugin side of
//! `serveIOReader` in Mattermost's `plugin/io_rpc.go`): the file of `InstallPlugin`, the data of
//! `UploadData`, a PluginHTTP request body. The mirror of [`crate::remote_reader`].
//!
//! The plugin allocates a broker id, accepts the stream the server dials for it (from its
//! handler, so the id goes in the call's arguments and the accept waits beside the call), and
//! answers each zig-zag varint ask with up to that many bytes, written in pieces of at most
//! 64 KiB as the child's chunks arrive, so at most one chunk is held here. An answer shorter
//! than the ask means the end, and the stream is closed (FIN). If the child's stream fails
//! midway the stream is reset instead, so the server reads an error, not a short file.

use std::sync::{Arc, Mutex};

use futures_util::StreamExt;
use mattermost_plugin_api::ByteStream;
use mattermost_plugin_runtime::http_bridge::MAX_CHUNK;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::task::AbortHandle;

use crate::broker::MuxBroker;
use crate::mux;

/// A byte stream waiting to be served; taken once the server has dialed. Until then the caller
/// can take it back (PluginHTTP falls back to the buffered call when the streamed one is missing).
pub type Pending = Arc<Mutex<Option<ByteStream>>>;

/// Ends the serving task when dropped (its stream then closes or resets).
#[derive(Debug)]
pub struct Lease(AbortHandle);

impl Drop for Lease {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Serves `data` on a fresh broker id: returns the id for the call's arguments and the lease
/// that keeps the serving alive. `what` names the method in logs.
pub fn serve(broker: &MuxBroker, what: &'static str, data: ByteStream) -> (u32, Lease) {
    serve_pending(broker, what, Arc::new(Mutex::new(Some(data))))
}

/// Like [`serve`], taking the bytes from `pending` only once the server has dialed.
pub fn serve_pending(broker: &MuxBroker, what: &'static str, pending: Pending) -> (u32, Lease) {
    let id = broker.next_id();
    let broker = broker.clone();
    let task = tokio::spawn(async move {
        let stream = match broker.accept(id).await {
            Ok(stream) => stream,
            Err(e) => {
                tracing::debug!(
                    method = what,
                    id,
                    "the server did not pull the byte stream: {e}"
                );
                return;
            }
        };
        let data = pending.lock().ok().and_then(|mut p| p.take());
        let Some(data) = data else {
            // Taken back by the caller: the server reads an empty stream.
            close(stream, what).await;
            return;
        };
        if let Err(e) = serve_on(stream, data, what).await {
            tracing::warn!(method = what, "serving a byte stream to the server: {e}");
        }
    });
    (id, Lease(task.abort_handle()))
}

async fn close(mut stream: mux::Stream, what: &str) {
    if let Err(e) = stream.shutdown().await {
        tracing::debug!(method = what, "closing a served byte stream: {e}");
    }
}

/// Answers the server's asks from `data` until the data ends (FIN) or the server closes its
/// side. An error drops the stream open, which resets it.
async fn serve_on(stream: mux::Stream, mut data: ByteStream, what: &str) -> Result<(), String> {
    let mut stream = BufReader::new(stream);
    let mut chunk: Vec<u8> = Vec::new();
    let mut at = 0usize;
    let mut ended = false;
    loop {
        let ask = match read_varint(&mut stream).await {
            Ok(Some(n)) => n,
            // The server closed its side: it has read what it wanted.
            Ok(None) => break,
            Err(e) => return Err(format!("reading the server's ask: {e}")),
        };
        // Go writes nothing for an ask of zero or less, and goes on.
        let mut want = u64::try_from(ask).unwrap_or(0);
        while want > 0 {
            if at == chunk.len() {
                if ended {
                    break;
                }
                match data.next().await {
                    Some(Ok(next)) => {
                        (chunk, at) = (next, 0);
                        continue;
                    }
                    Some(Err(e)) => return Err(format!("the plugin's byte stream failed: {e}")),
                    None => {
                        ended = true;
                        chunk = Vec::new();
                        at = 0;
                        break;
                    }
                }
            }
            let n = (chunk.len() - at)
                .min(MAX_CHUNK)
                .min(usize::try_from(want).unwrap_or(usize::MAX));
            stream
                .get_mut()
                .write_all(&chunk[at..at + n])
                .await
                .map_err(|e| format!("writing to the server: {e}"))?;
            at += n;
            want -= n as u64;
        }
        stream
            .get_mut()
            .flush()
            .await
            .map_err(|e| format!("writing to the server: {e}"))?;
        if want > 0 {
            // Short answer: the end.
            break;
        }
    }
    close(stream.into_inner(), what).await;
    Ok(())
}

/// Go's `binary.ReadVarint`; `None` at a clean end before the first byte.
async fn read_varint<R: AsyncRead + Unpin>(r: &mut R) -> std::io::Result<Option<i64>> {
    let mut u: u64 = 0;
    for i in 0..10 {
        let mut byte = [0u8; 1];
        let n = r.read(&mut byte).await?;
        if n == 0 {
            if i == 0 {
                return Ok(None);
            }
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        let b = byte[0];
        if i == 9 && b > 1 {
            break;
        }
        u |= u64::from(b & 0x7f) << (7 * i);
        if b < 0x80 {
            let v = (u >> 1) as i64;
            return Ok(Some(if u & 1 != 0 { !v } else { v }));
        }
    }
    Err(std::io::Error::new(
        std::io::ErrorKind::InvalidData,
        "varint overflows a 64-bit integer",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::remote_reader::put_varint;

    #[tokio::test]
    async fn varints_read_back() {
        for v in [0i64, 1, -1, 65536, i64::MAX, i64::MIN, 32 * 1024] {
            let mut bytes = Vec::new();
            put_varint(v, &mut bytes);
            let mut r = BufReader::new(&bytes[..]);
            assert_eq!(read_varint(&mut r).await.unwrap(), Some(v));
            assert_eq!(read_varint(&mut r).await.unwrap(), None);
        }
        let mut r = BufReader::new(&[0x80u8][..]);
        assert!(read_varint(&mut r).await.is_err());
    }
}
