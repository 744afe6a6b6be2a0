//! The reading end of a byte stream the server serves on a broker stream (`serveIOReader` in
//! Mattermost's `plugin/io_rpc.go`): the ServeHTTP request body and the file a
//! FileWillBeUploaded hook inspects.
//!
//! The reader asks for bytes by writing a zig-zag varint count (Go's `binary.PutVarint`); the
//! server answers with up to that many and closes the stream once its reader is exhausted, so
//! an answer shorter than the ask is the last.

use futures_util::Stream;
use mattermost_plugin_api::ApiError;
use mattermost_plugin_runtime::http_bridge::MAX_CHUNK;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::mux;

/// Go's `binary.PutVarint`: zig-zag, then base-128 groups, least significant first.
pub(crate) fn put_varint(v: i64, out: &mut Vec<u8>) {
    let mut u = ((v << 1) ^ (v >> 63)) as u64;
    while u >= 0x80 {
        out.push((u as u8) | 0x80);
        u >>= 7;
    }
    out.push(u as u8);
}

/// Pulls a server-side reader in chunks of at most [`MAX_CHUNK`], the next one asked for while
/// the caller takes the current one (so at most two chunks are in flight).
pub struct RemoteReader {
    stream: Option<mux::Stream>,
    /// A request for the next chunk is on the wire.
    asked: bool,
}

impl RemoteReader {
    /// A reader over `stream`; `None` reads as empty.
    pub fn new(stream: Option<mux::Stream>) -> Self {
        Self {
            stream,
            asked: false,
        }
    }

    async fn ask(stream: &mut mux::Stream) -> std::io::Result<()> {
        let mut ask = Vec::with_capacity(10);
        put_varint(MAX_CHUNK as i64, &mut ask);
        stream.write_all(&ask).await?;
        stream.flush().await
    }

    /// The next chunk, or `None` at the end. After the end or an error the stream is dropped:
    /// at the end the server has closed its side already, so that closes it cleanly.
    pub async fn next(&mut self) -> Option<std::io::Result<Vec<u8>>> {
        let stream = self.stream.as_mut()?;
        let asked = self.asked;
        let result = async {
            if !asked {
                Self::ask(stream).await?;
            }
            let mut chunk = vec![0u8; MAX_CHUNK];
            let mut filled = 0;
            while filled < chunk.len() {
                match stream.read(&mut chunk[filled..]).await? {
                    0 => break,
                    n => filled += n,
                }
            }
            chunk.truncate(filled);
            let more = filled == MAX_CHUNK;
            // Ask for the next chunk now, so it travels while the caller takes this one.
            let asked = more && Self::ask(stream).await.is_ok();
            Ok::<_, std::io::Error>((chunk, more, asked))
        }
        .await;
        match result {
            Ok((chunk, more, asked)) => {
                self.asked = asked;
                if !more {
                    self.stream = None;
                }
                if chunk.is_empty() {
                    None
                } else {
                    Some(Ok(chunk))
                }
            }
            Err(e) => {
                self.stream = None;
                Some(Err(e))
            }
        }
    }

    /// The chunks as contract frames made by `frame`, ending after the last chunk or the first
    /// error, which becomes an [`ApiError`] saying it happened reading `what`.
    pub fn frames<T: Send + 'static>(
        self,
        what: &'static str,
        frame: fn(Vec<u8>) -> T,
    ) -> impl Stream<Item = Result<T, ApiError>> + Send + 'static {
        futures_util::stream::unfold(self, move |mut reader| async move {
            let item = match reader.next().await? {
                Ok(chunk) => Ok(frame(chunk)),
                Err(e) => Err(ApiError::plain(format!("reading {what}: {e}"))),
            };
            Some((item, reader))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_match_go() {
        let enc = |v| {
            let mut out = Vec::new();
            put_varint(v, &mut out);
            out
        };
        // Go's binary.PutVarint.
        assert_eq!(enc(65536), vec![0x80, 0x80, 0x08]);
        assert_eq!(enc(1), vec![0x02]);
        assert_eq!(enc(-1), vec![0x01]);
        assert_eq!(enc(0), vec![0x00]);
    }
}
