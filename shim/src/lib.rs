//! The transport of a Rust plugin executable that a **stock** Mattermost server starts:
//! HashiCorp go-plugin's net/rpc protocol, i.e. Go `net/rpc` with `encoding/gob` over a
//! hashicorp/yamux session on a Unix socket.
//!
//! Layers, bottom up:
//!
//! * [`mux`] — yamux (the `yamux` crate, made to interoperate with hashicorp/yamux: see its
//!   docs for the interop findings and why not `tokio-yamux`).
//! * [`rpc`] — Go net/rpc framing with gob ([`gobwire`]): an async server dispatching
//!   `"Service.Method"` to registered handlers and an async client matching replies by `Seq`.
//! * [`broker`] — go-plugin's `MuxBroker`: extra streams named by a `u32` id.
//! * [`plugin`] — the plugin side of go-plugin: control/stdout/stderr streams, `Control.Ping`,
//!   `Control.Quit`, `Dispenser.Dispense` serving a caller-supplied `"Plugin"` service.
//! * [`handshake`] — magic cookie, protocol version, the Unix socket, the handshake line.
//!
//! On top, for a plugin reached over the gRPC contract (the `mm-python-shim` binary):
//!
//! * [`netrpc`] — the generated net/rpc halves (`mattermost-plugin-gob`) on this transport;
//! * [`hooks`] — the `"Plugin"` hooks service, with `Implemented` and `OnActivate`;
//! * [`http`] — `ServeHTTP` / `ServeMetrics` over the server's broker streams;
//! * [`upload`] — `FileWillBeUploaded`: the file and its replacement over broker streams;
//! * [`remote_reader`] — the varint-asked reader both read the server's bytes with;
//! * [`served_reader`] — the other direction: a byte stream of the API's (`InstallPlugin`,
//!   `UploadData`, …) served to the server's asks on a broker stream;
//! * [`plugin_http`] — `PluginHTTP`: streamed over broker streams, or buffered on older servers;
//! * [`bundle`] — the plugin bundle from the executable's path, and its Python entry.
//!
//! The wire protocol is described in the project's shim brief (`shim_protocol.md`); the Go
//! tests in `tests/go/` run it against hashicorp's own go-plugin and yamux.

pub mod broker;
pub mod bundle;
pub mod handshake;
pub mod hooks;
pub mod http;
pub mod mux;
pub mod netrpc;
pub mod plugin;
pub mod plugin_http;
pub mod remote_reader;
pub mod rpc;
pub mod served_reader;
pub mod upload;

pub use gobwire;
