//! Plugin-to-plugin HTTP (`API.PluginHTTP`) as Mattermost's plugin side makes the call
//! (`apiRPCClient.PluginHTTP` in `plugin/client_rpc.go`), from the child's request frames to its
//! response frames.
//!
//! Newer servers have `Plugin.PluginHTTPStream`: the request head goes in the arguments with two
//! broker ids this side accepts, the request body (served on demand, [`served_reader`]) and the
//! response body, which the server writes raw and closes at its end; the reply is the status and
//! headers. The body is served until the response ends, since the other plugin may read it while
//! answering. Servers without it (server/public v0.1.x answers "can't find method") get the
//! buffered `Plugin.PluginHTTP`: the whole request body in the arguments (up to
//! [`MAX_BUFFERED_BODY`]), the response with its whole body in the reply. Both ways the child
//! gets the head first, then the body in chunks of at most 64 KiB.

// The contract's `ApiError` is large on purpose (see its crate's `support.rs`).
#![allow(clippy::result_large_err)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use futures_util::StreamExt;
use gobwire::{BinaryBytes, Gob};
use mattermost_plugin_api::support::BoxStream;
use mattermost_plugin_api::{ApiError, ByteStream, pb};
use mattermost_plugin_gob::netrpc_base::{CallFailure, PluginHttpFrames, unavailable};
use mattermost_plugin_runtime::http_bridge::MAX_CHUNK;
use tokio::io::AsyncReadExt;

use crate::broker::MuxBroker;
use crate::http::{HttpRequestSubset, canonical_header_key};
use crate::mux;
use crate::netrpc::call_failure;
use crate::rpc::Client;
use crate::served_reader::{self, Lease, Pending};

/// The most request body the buffered form (servers without `PluginHTTPStream`) carries: it
/// travels in one gob message.
pub const MAX_BUFFERED_BODY: usize = 64 << 20;

/// `Z_PluginHTTPStreamArgs`.
#[derive(Gob, Debug, Default, Clone, PartialEq)]
#[gob(name = "Z_PluginHTTPStreamArgs")]
pub struct PluginHttpStreamArgs {
    #[gob(name = "ResponseBodyStream")]
    pub response_body_stream: u32,
    #[gob(name = "Request")]
    pub request: Option<HttpRequestSubset>,
    #[gob(name = "RequestBodyStream")]
    pub request_body_stream: u32,
}

/// `Z_PluginHTTPStreamReturns`.
#[derive(Gob, Debug, Default, Clone, PartialEq)]
#[gob(name = "Z_PluginHTTPStreamReturns")]
pub struct PluginHttpStreamReturns {
    #[gob(name = "StatusCode")]
    pub status_code: i64,
    #[gob(name = "Header")]
    pub header: HashMap<String, Vec<String>>,
}

/// `Z_PluginHTTPArgs`. Older releases declare `Request` as `*http.Request`; gob matches fields
/// by name, and the subset's are all `http.Request`'s.
#[derive(Gob, Debug, Default, Clone, PartialEq)]
#[gob(name = "Z_PluginHTTPArgs")]
pub struct PluginHttpArgs {
    #[gob(name = "Request")]
    pub request: Option<HttpRequestSubset>,
    #[gob(name = "RequestBody")]
    pub request_body: Vec<u8>,
}

/// The fields of Go's `http.Response` the contract carries (gob skips the others).
#[derive(Gob, Debug, Default, Clone, PartialEq)]
#[gob(name = "Response")]
pub struct HttpResponse {
    #[gob(name = "StatusCode")]
    pub status_code: i64,
    #[gob(name = "Header")]
    pub header: HashMap<String, Vec<String>>,
}

/// `Z_PluginHTTPReturns`.
#[derive(Gob, Debug, Default, Clone, PartialEq)]
#[gob(name = "Z_PluginHTTPReturns")]
pub struct PluginHttpReturns {
    #[gob(name = "Response")]
    pub response: Option<HttpResponse>,
    #[gob(name = "ResponseBody")]
    pub response_body: Vec<u8>,
}

const STREAM_METHOD: &str = "Plugin.PluginHTTPStream";
const BUFFERED_METHOD: &str = "Plugin.PluginHTTP";

fn failed(method: &str, message: impl std::fmt::Display) -> ApiError {
    unavailable(method, format!("{method}: {message}"))
}

/// One exchange: the child's request frames to the server, its response back as frames.
pub async fn exchange(
    client: &Client,
    broker: &MuxBroker,
    method: &'static str,
    mut frames: BoxStream<Result<pb::PluginHttpRequest, ApiError>>,
) -> Result<PluginHttpFrames, ApiError> {
    let first = match frames.next().await {
        Some(Ok(frame)) => frame,
        Some(Err(e)) => return Err(e),
        None => return Err(failed(method, "the request ended before its head")),
    };
    let Some(head) = first.head else {
        return Err(failed(method, "the first request frame has no head"));
    };
    let request = request_subset(&head);
    let body_done = first.body_complete;
    let body: ByteStream = Box::pin(
        futures_util::stream::iter((!first.body_chunk.is_empty()).then(|| Ok(first.body_chunk)))
            .chain(body_chunks(frames, body_done)),
    );
    let pending: Pending = Arc::new(Mutex::new(Some(body)));

    // Both accepts wait beside the call: the server dials them from its handler.
    let (body_id, body_lease) = served_reader::serve_pending(broker, method, pending.clone());
    let response_id = broker.next_id();
    let response_stream = {
        let broker = broker.clone();
        tokio::spawn(async move { broker.accept(response_id).await })
    };
    let abort_response = AbortOnDrop(response_stream.abort_handle());
    let args = PluginHttpStreamArgs {
        response_body_stream: response_id,
        request: Some(request.clone()),
        request_body_stream: body_id,
    };
    let reply: Result<PluginHttpStreamReturns, _> = client.call(STREAM_METHOD, &args).await;
    match reply.map_err(call_failure) {
        Ok(returns) => {
            if returns.status_code == 0 {
                // The other side had no response to give; its response stream never closes.
                return Err(failed(method, "the server returned no response"));
            }
            let stream = match response_stream.await {
                Ok(Ok(stream)) => stream,
                Ok(Err(e)) => {
                    return Err(failed(method, format!("the response body stream: {e}")));
                }
                Err(e) => return Err(failed(method, format!("the response body stream: {e}"))),
            };
            drop(abort_response);
            let head = response_head(returns.status_code, &returns.header);
            Ok(streamed_response(method, head, stream, body_lease))
        }
        Err(CallFailure::NoMethod) => {
            drop(abort_response);
            drop(body_lease);
            let body = pending.lock().ok().and_then(|mut p| p.take());
            let Some(body) = body else {
                return Err(failed(
                    method,
                    "the server took the request body, then had no PluginHTTPStream",
                ));
            };
            buffered(client, method, request, body).await
        }
        Err(CallFailure::Failed(e)) => Err(failed(method, e)),
    }
}

/// The request body chunks from the frames after the first, up to the one completing it.
fn body_chunks(
    frames: BoxStream<Result<pb::PluginHttpRequest, ApiError>>,
    done: bool,
) -> impl futures_util::Stream<Item = Result<Vec<u8>, ApiError>> + Send + 'static {
    futures_util::stream::unfold((frames, done), |(mut frames, done)| async move {
        loop {
            if done {
                return None;
            }
            match frames.next().await? {
                Ok(frame) => {
                    let done = frame.body_complete;
                    if !frame.body_chunk.is_empty() {
                        return Some((Ok(frame.body_chunk), (frames, done)));
                    }
                    if done {
                        return None;
                    }
                }
                Err(e) => return Some((Err(e), (frames, true))),
            }
        }
    })
}

fn proto_version(proto: &str) -> (String, i64, i64) {
    let parsed = proto.strip_prefix("HTTP/").and_then(|v| {
        let (major, minor) = v.split_once('.')?;
        Some((major.parse().ok()?, minor.parse().ok()?))
    });
    match parsed {
        Some((major, minor)) => (proto.to_owned(), major, minor),
        None => ("HTTP/1.1".to_owned(), 1, 1),
    }
}

/// The request as the server's `HTTPRequestSubset`: header names in Go's canonical form.
fn request_subset(head: &pb::HttpRequestHead) -> HttpRequestSubset {
    let (proto, proto_major, proto_minor) = proto_version(&head.proto);
    let mut header: HashMap<String, Vec<String>> = HashMap::new();
    for h in &head.headers {
        header
            .entry(canonical_header_key(&h.name))
            .or_default()
            .extend(h.values.iter().cloned());
    }
    HttpRequestSubset {
        method: if head.method.is_empty() {
            "GET".to_owned()
        } else {
            head.method.clone()
        },
        url: BinaryBytes(head.url.clone().into_bytes()),
        proto,
        proto_major,
        proto_minor,
        header,
        host: head.host.clone(),
        remote_addr: head.remote_addr.clone(),
        request_uri: head.request_uri.clone(),
    }
}

fn response_head(status: i64, header: &HashMap<String, Vec<String>>) -> pb::PluginHttpResponse {
    let mut names: Vec<&String> = header.keys().collect();
    names.sort();
    pb::PluginHttpResponse {
        head: Some(pb::HttpResponseHead {
            status_code: i32::try_from(status).unwrap_or(500),
            headers: names
                .into_iter()
                .map(|name| pb::HttpHeader {
                    name: name.clone(),
                    values: header[name].clone(),
                })
                .collect(),
        }),
        ..Default::default()
    }
}

/// The head, then the response body as the server writes it, in chunks of at most 64 KiB; the
/// request body stays served (the lease) until the response ends or is dropped.
fn streamed_response(
    method: &'static str,
    head: pb::PluginHttpResponse,
    stream: mux::Stream,
    body_lease: Lease,
) -> PluginHttpFrames {
    struct State {
        head: Option<pb::PluginHttpResponse>,
        stream: Option<mux::Stream>,
        _lease: Lease,
    }
    let state = State {
        head: Some(head),
        stream: Some(stream),
        _lease: body_lease,
    };
    Box::pin(futures_util::stream::unfold(
        state,
        move |mut state| async move {
            if let Some(head) = state.head.take() {
                return Some((Ok(head), state));
            }
            let stream = state.stream.as_mut()?;
            let mut chunk = vec![0u8; MAX_CHUNK];
            let mut filled = 0;
            let result = async {
                while filled < chunk.len() {
                    match stream.read(&mut chunk[filled..]).await? {
                        0 => return Ok::<bool, std::io::Error>(true),
                        n => filled += n,
                    }
                }
                Ok(false)
            }
            .await;
            match result {
                Ok(end) => {
                    chunk.truncate(filled);
                    if end {
                        // The server closed its side; dropping ours closes the stream.
                        state.stream = None;
                    }
                    Some((
                        Ok(pb::PluginHttpResponse {
                            body_chunk: chunk,
                            body_complete: end,
                            ..Default::default()
                        }),
                        state,
                    ))
                }
                Err(e) => {
                    state.stream = None;
                    Some((
                        Err(failed(method, format!("reading the response body: {e}"))),
                        state,
                    ))
                }
            }
        },
    ))
}

/// The buffered form, for servers without `PluginHTTPStream`.
async fn buffered(
    client: &Client,
    method: &'static str,
    request: HttpRequestSubset,
    mut body: ByteStream,
) -> Result<PluginHttpFrames, ApiError> {
    let mut request_body = Vec::new();
    while let Some(chunk) = body.next().await {
        let chunk = chunk?;
        if request_body.len() + chunk.len() > MAX_BUFFERED_BODY {
            return Err(failed(
                method,
                format!(
                    "this server takes the request body whole (it has no PluginHTTPStream), and it is over {} MiB",
                    MAX_BUFFERED_BODY >> 20
                ),
            ));
        }
        request_body.extend_from_slice(&chunk);
    }
    drop(body);
    let args = PluginHttpArgs {
        request: Some(request),
        request_body,
    };
    let reply: Result<PluginHttpReturns, _> = client.call(BUFFERED_METHOD, &args).await;
    let returns = match reply.map_err(call_failure) {
        Ok(returns) => returns,
        Err(CallFailure::NoMethod) => return Err(ApiError::not_implemented(method)),
        Err(CallFailure::Failed(e)) => return Err(failed(method, e)),
    };
    let Some(response) = returns.response else {
        return Err(failed(method, "the server returned no response"));
    };
    let head = response_head(response.status_code, &response.header);
    let body = returns.response_body;
    let chunks = body.len().div_ceil(MAX_CHUNK).max(1);
    let frames = std::iter::once(Ok(head)).chain((0..chunks).map(move |i| {
        let start = i * MAX_CHUNK;
        let end = (start + MAX_CHUNK).min(body.len());
        Ok(pb::PluginHttpResponse {
            body_chunk: body[start..end].to_vec(),
            body_complete: i + 1 == chunks,
            ..Default::default()
        })
    }));
    Ok(Box::pin(futures_util::stream::iter(frames)))
}

struct AbortOnDrop(tokio::task::AbortHandle);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protocol_versions() {
        assert_eq!(proto_version("HTTP/1.1"), ("HTTP/1.1".into(), 1, 1));
        assert_eq!(proto_version("HTTP/2.0"), ("HTTP/2.0".into(), 2, 0));
        assert_eq!(proto_version(""), ("HTTP/1.1".into(), 1, 1));
    }

    #[test]
    fn request_headers_are_canonical_and_merged() {
        let head = pb::HttpRequestHead {
            method: "POST".into(),
            url: "/plugins/x/y?z=1".into(),
            headers: vec![
                pb::HttpHeader {
                    name: "x-one".into(),
                    values: vec!["a".into()],
                },
                pb::HttpHeader {
                    name: "X-One".into(),
                    values: vec!["b".into()],
                },
            ],
            ..Default::default()
        };
        let r = request_subset(&head);
        assert_eq!(r.header["X-One"], vec!["a".to_string(), "b".to_string()]);
        assert_eq!(r.url.0, b"/plugins/x/y?z=1");
        assert_eq!((r.proto_major, r.proto_minor), (1, 1));
    }
}
