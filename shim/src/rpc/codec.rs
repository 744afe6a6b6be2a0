//! gob framing over one stream: a stateful reader and writer per direction.
//!
//! gob sends a type's definition once per stream and the peer's decoder remembers it, so each
//! stream direction has exactly one [`gobwire::Encoder`] and each stream one
//! [`gobwire::Decoder`], and every value is fed to the decoder even when it is ignored.

use std::io;

use gobwire::{Decode, Decoder, Encode, Encoder, Gob, Progress};
use tokio::io::{AsyncRead, AsyncReadExt};

/// net/rpc's request header (`net/rpc.Request`; its unexported `next` field is not sent).
#[derive(Gob, Debug, Default, Clone, PartialEq, Eq)]
#[gob(name = "Request")]
pub struct RequestHeader {
    #[gob(name = "ServiceMethod")]
    pub service_method: String,
    #[gob(name = "Seq")]
    pub seq: u64,
}

/// net/rpc's response header (`net/rpc.Response`).
#[derive(Gob, Debug, Default, Clone, PartialEq, Eq)]
#[gob(name = "Response")]
pub struct ResponseHeader {
    #[gob(name = "ServiceMethod")]
    pub service_method: String,
    #[gob(name = "Seq")]
    pub seq: u64,
    #[gob(name = "Error")]
    pub error: String,
}

/// Go's `struct{}`: the reply of `Control.Ping`/`Quit`, the body net/rpc sends with an error
/// reply (`invalidRequest`), the argument of methods that take nothing.
#[derive(Gob, Debug, Default, Clone, Copy, PartialEq, Eq)]
#[gob(name = "Empty")]
pub struct Empty {}

/// Why reading a gob value failed.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("{0}")]
    Io(#[from] io::Error),
    #[error("{0}")]
    Gob(#[from] gobwire::Error),
}

/// Reads gob messages from one stream into its one decoder.
#[derive(Debug)]
pub struct GobReader<R> {
    reader: R,
    decoder: Decoder,
}

impl<R: AsyncRead + Unpin> GobReader<R> {
    pub fn new(reader: R) -> Self {
        Self {
            reader,
            decoder: Decoder::new(),
        }
    }

    /// Read messages (type definitions, then the value's one or more messages) until a value
    /// is complete. `Ok(false)` when the stream ends cleanly before the first message; an end
    /// after that is `UnexpectedEof`.
    pub async fn next_value(&mut self) -> Result<bool, ReadError> {
        let mut started = false;
        loop {
            let Some(body) = self.read_message(started).await? else {
                return Ok(false);
            };
            started = true;
            if self.decoder.push_message(&body)? == Progress::Ready {
                return Ok(true);
            }
        }
    }

    /// Decode the value [`next_value`](Self::next_value) buffered, merging into `dest` as Go does.
    pub fn decode_into<T: Decode + ?Sized>(&mut self, dest: &mut T) -> gobwire::Result<()> {
        self.decoder.decode_into(dest)
    }

    /// Decode the buffered value into a fresh `T::default()`.
    pub fn decode<T: Decode + Default>(&mut self) -> gobwire::Result<T> {
        self.decoder.decode()
    }

    /// Drop the buffered value (still recording the types it defines).
    pub fn discard(&mut self) -> gobwire::Result<()> {
        self.decoder.discard()
    }

    pub fn decoder(&mut self) -> &mut Decoder {
        &mut self.decoder
    }

    async fn read_message(&mut self, started: bool) -> Result<Option<Vec<u8>>, ReadError> {
        let mut first = [0u8; 1];
        match self.reader.read_exact(&mut first).await {
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
                return if started {
                    Err(gobwire::Error::UnexpectedEof.into())
                } else {
                    Ok(None)
                };
            }
            Err(e) => return Err(e.into()),
        }
        // gob's unsigned integer: < 0x80 is the value; otherwise the negated byte count of a
        // big-endian value follows.
        let n = if first[0] < 0x80 {
            u64::from(first[0])
        } else {
            let width = usize::from(first[0].wrapping_neg());
            if width > 8 {
                return Err(gobwire::Error::BadUint.into());
            }
            let mut b = [0u8; 8];
            self.reader
                .read_exact(&mut b[..width])
                .await
                .map_err(eof_is_unexpected)?;
            b[..width]
                .iter()
                .fold(0u64, |acc, &x| (acc << 8) | u64::from(x))
        };
        if n == 0 || n >= gobwire::MAX_MESSAGE_LEN {
            return Err(gobwire::Error::Corrupt(format!("invalid message length {n}")).into());
        }
        let mut body = Vec::new();
        (&mut self.reader).take(n).read_to_end(&mut body).await?;
        if body.len() as u64 != n {
            return Err(gobwire::Error::UnexpectedEof.into());
        }
        Ok(Some(body))
    }
}

fn eof_is_unexpected(e: io::Error) -> ReadError {
    if e.kind() == io::ErrorKind::UnexpectedEof {
        gobwire::Error::UnexpectedEof.into()
    } else {
        e.into()
    }
}

/// Encodes net/rpc messages for one stream direction. Encoding is synchronous and all-or-
/// nothing (a failed encode leaves the type state untouched), so a message's bytes are either
/// complete or absent; writing them is the caller's business.
#[derive(Debug, Default)]
pub struct GobWriter {
    encoder: Encoder,
}

impl GobWriter {
    pub fn new() -> Self {
        Self::default()
    }

    /// Append `value`'s message (and any type definitions it needs first) to `out`.
    pub fn encode_into<T: Encode + ?Sized>(
        &mut self,
        value: &T,
        out: &mut Vec<u8>,
    ) -> gobwire::Result<()> {
        self.encoder.encode_into(value, out)
    }
}
