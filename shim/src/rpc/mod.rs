//! Go's net/rpc with gob (`net/rpc/server.go`, `net/rpc/client.go`) over any byte stream.
//!
//! A request is a gob `Request{ServiceMethod, Seq}` followed by the arguments; a response is
//! a gob `Response{ServiceMethod, Seq, Error}` followed by the reply (an empty struct when
//! `Error` is set). Each stream direction has one encoder and each stream one decoder, since gob
//! defines a type once per stream. Values are encoded and decoded with [`gobwire`].

mod client;
mod codec;
mod server;
mod writer;

pub use client::{CallError, Client};
pub use codec::{Empty, GobReader, GobWriter, ReadError, RequestHeader, ResponseHeader};
pub use server::{BoxFuture, MethodError, ServeError, Server, Service};
