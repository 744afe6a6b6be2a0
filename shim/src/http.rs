//! `Plugin.ServeHTTP` and `Plugin.ServeMetrics` as Mattermost's plugin side serves them
//! (`hooksRPCServer.ServeHTTP` in `plugin/client_rpc.go`, the response writer in
//! `plugin/http.go`, the body reader in `plugin/io_rpc.go`), carried to the child's streaming
//! hook (the runtime's [`HttpHook`] frames).
//!
//! The server sends the request head (`HTTPRequestSubset`) with two broker ids it is already
//! accepting, for 5 s only: `ResponseWriterStream`, where it serves a net/rpc `"Plugin"`
//! service over its `http.ResponseWriter` (`Header`, `SyncHeader`, `WriteHeader`, `Write`,
//! `Flush`), and `RequestBodyStream` (0 for no body), where it copies the request body on
//! demand ([`RemoteReader`]). Both are dialed at once, before the child is asked anything.
//!
//! The body goes to the child in chunks of at most 64 KiB, each asked for while the child
//! takes the one before, so no faster than the child reads. The child's response is
//! held until it flushes, completes the body or has buffered 4 KiB (as Go's `ResponseWriter`
//! commits); until then a failure becomes the call's error and the server answers 500, as for
//! any failed plugin call. The head is then the server's own headers (`Header`) with the
//! child's set over them (names in Go's canonical form), sent with `SyncHeader`, then
//! `WriteHeader` (a status outside 100–999 is sent as 500), then one `Write` per chunk and a
//! `Flush` per flush, each waiting for its reply (net/rpc runs concurrent calls in any order).
//! A failure after that is logged and ends the response where it is. The writer stream is
//! closed before the reply, as Go does.

use std::collections::HashMap;
use std::sync::Arc;

use futures_util::StreamExt;
use gobwire::{BinaryBytes, Gob};
use mattermost_plugin_api::{ApiError, BoxStream, CallContext, PluginHooks, pb};
use mattermost_plugin_gob::model::PluginContext;
use mattermost_plugin_gob::netrpc::HTTP_STREAM_HOOKS;
use mattermost_plugin_gob::netrpc_base::CallFailure;
use mattermost_plugin_runtime::http_bridge::{HttpHook, ServeHttp, ServeMetrics, drain};

use crate::broker::MuxBroker;
use crate::mux;
use crate::remote_reader::RemoteReader;
use crate::rpc::{Client, Empty, MethodError, Service};

/// Mattermost's `plugin.HTTPRequestSubset` (its `Body` is a nil interface, never sent).
#[derive(Gob, Debug, Default, Clone, PartialEq)]
#[gob(name = "HTTPRequestSubset")]
pub struct HttpRequestSubset {
    #[gob(name = "Method")]
    pub method: String,
    /// `*url.URL`, a `BinaryMarshaler`: the bytes are `URL.String()`.
    #[gob(name = "URL")]
    pub url: BinaryBytes,
    #[gob(name = "Proto")]
    pub proto: String,
    #[gob(name = "ProtoMajor")]
    pub proto_major: i64,
    #[gob(name = "ProtoMinor")]
    pub proto_minor: i64,
    #[gob(name = "Header")]
    pub header: HashMap<String, Vec<String>>,
    #[gob(name = "Host")]
    pub host: String,
    #[gob(name = "RemoteAddr")]
    pub remote_addr: String,
    #[gob(name = "RequestURI")]
    pub request_uri: String,
}

/// `Z_ServeHTTPArgs` and `Z_ServeMetricsArgs` (one shape); the reply is `struct{}`.
#[derive(Gob, Debug, Default, Clone, PartialEq)]
#[gob(name = "Z_ServeHTTPArgs")]
pub struct ServeHttpArgs {
    #[gob(name = "ResponseWriterStream")]
    pub response_writer_stream: u32,
    #[gob(name = "Request")]
    pub request: Option<HttpRequestSubset>,
    #[gob(name = "Context")]
    pub context: Option<PluginContext>,
    #[gob(name = "RequestBodyStream")]
    pub request_body_stream: u32,
}

/// `http.Header` on the wire.
type Header = HashMap<String, Vec<String>>;

/// Response bytes held before the head is committed (Go's `ResponseWriter` buffers 4 KiB).
const COMMIT_THRESHOLD: usize = 4096;

/// Whether `hook` is one of the streamed HTTP hooks (the generated [`HTTP_STREAM_HOOKS`], from
/// the generator's special-case table) that this module carries: those the runtime has a
/// frame form for.
pub fn carries(hook: &str) -> bool {
    HTTP_STREAM_HOOKS.contains(&hook) && (hook == ServeHttp::NAME || hook == ServeMetrics::NAME)
}

/// Adds `Plugin.<Hook>` for every hook in [`HTTP_STREAM_HOOKS`] this module carries; any
/// other is left out (so also out of `Implemented`) with a warning.
pub fn register_all<T: PluginHooks>(
    mut service: Service,
    broker: &MuxBroker,
    hooks: &Arc<T>,
) -> Service {
    for &hook in HTTP_STREAM_HOOKS {
        service = if hook == ServeHttp::NAME {
            register::<ServeHttp, T>(service, broker.clone(), hooks.clone())
        } else if hook == ServeMetrics::NAME {
            register::<ServeMetrics, T>(service, broker.clone(), hooks.clone())
        } else {
            tracing::warn!(
                "streamed HTTP hook {hook} has no frame form in the runtime; not carried"
            );
            service
        };
    }
    service
}

/// Adds `Plugin.<K::NAME>` to the hooks service.
pub fn register<K: HttpHook, T: PluginHooks>(
    service: Service,
    broker: MuxBroker,
    hooks: Arc<T>,
) -> Service {
    service.method(K::NAME, move |args: ServeHttpArgs| {
        let (broker, hooks) = (broker.clone(), hooks.clone());
        async move { serve::<K, T>(&broker, &*hooks, args).await }
    })
}

async fn serve<K: HttpHook, T: PluginHooks>(
    broker: &MuxBroker,
    hooks: &T,
    args: ServeHttpArgs,
) -> Result<Empty, MethodError> {
    // Both dials first: the server's Accepts give up after 5 s.
    let body_id = args.request_body_stream;
    let (writer, body) = tokio::join!(broker.dial(args.response_writer_stream), async {
        if body_id == 0 {
            Ok(None)
        } else {
            broker.dial(body_id).await.map(Some)
        }
    });
    let writer = writer.map_err(|e| {
        tracing::error!("Can't connect to remote response writer stream, error: {e}");
        MethodError::new(e)
    })?;
    let body = body.map_err(|e| {
        tracing::error!("Can't connect to remote request body stream, error: {e}");
        MethodError::new(e)
    })?;
    let writer = Client::new(writer);
    let request = args.request.unwrap_or_default();
    let target = format!(
        "{} {}",
        request.method,
        String::from_utf8_lossy(&request.url.0)
    );
    let head = K::head_frame(
        args.context
            .map(pb::PluginContext::from)
            .unwrap_or_default(),
        request_head(&request),
    );
    let frames: BoxStream<Result<K::Request, ApiError>> =
        Box::pin(futures_util::stream::once(async move { Ok(head) }).chain(body_frames::<K>(body)));
    let ctx = CallContext::default();
    let result = respond::<K, T>(hooks, &ctx, frames, &writer, &target).await;
    // Go closes the writer stream before replying.
    drop(writer);
    result.map(|()| Empty {})
}

/// The request head the contract carries.
fn request_head(r: &HttpRequestSubset) -> pb::HttpRequestHead {
    let mut names: Vec<&String> = r.header.keys().collect();
    names.sort();
    let headers = names
        .into_iter()
        .map(|name| pb::HttpHeader {
            name: name.clone(),
            values: r.header[name].clone(),
        })
        .collect();
    let content_length = r
        .header
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.first())
        .and_then(|v| v.trim().parse::<i64>().ok())
        .unwrap_or(-1);
    pb::HttpRequestHead {
        method: r.method.clone(),
        url: String::from_utf8_lossy(&r.url.0).into_owned(),
        proto: r.proto.clone(),
        headers,
        host: r.host.clone(),
        remote_addr: r.remote_addr.clone(),
        request_uri: r.request_uri.clone(),
        content_length,
    }
}

/// The request body as frames, then the frame that completes it.
fn body_frames<K: HttpHook>(
    body: Option<mux::Stream>,
) -> impl futures_util::Stream<Item = Result<K::Request, ApiError>> + Send + 'static {
    let chunks = RemoteReader::new(body).frames("the request body", K::chunk_frame);
    chunks.chain(futures_util::stream::once(async {
        Ok(K::complete_frame())
    }))
}

/// Go's `textproto.CanonicalMIMEHeaderKey`: `content-type` → `Content-Type`; a name with a
/// byte outside the token characters is left as it is.
pub fn canonical_header_key(name: &str) -> String {
    let token = |b: u8| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b);
    if name.is_empty() || !name.bytes().all(token) {
        return name.to_owned();
    }
    let mut upper = true;
    name.bytes()
        .map(|b| {
            let c = if upper {
                b.to_ascii_uppercase()
            } else {
                b.to_ascii_lowercase()
            };
            upper = b == b'-';
            c as char
        })
        .collect()
}

/// Flushes the server's writer. Servers before the response writer's `Flush` (server/public
/// v0.1.x) answer "can't find method": the body still arrives whole, only not early, so the
/// flush is dropped for the rest of the response with a debug line.
async fn flush(writer: &Client, can_flush: &mut bool, hook: &str) -> Result<(), String> {
    if !*can_flush {
        return Ok(());
    }
    match writer.call::<_, Empty>("Plugin.Flush", &Empty {}).await {
        Ok(_) => Ok(()),
        Err(e) => match crate::netrpc::call_failure(e.clone()) {
            CallFailure::NoMethod => {
                tracing::debug!(hook, "this server's response writer cannot flush: {e}");
                *can_flush = false;
                Ok(())
            }
            CallFailure::Failed(_) => Err(call_error("Flush", e)),
        },
    }
}

fn call_error(what: &str, e: impl std::fmt::Display) -> String {
    format!("response writer {what}: {e}")
}

/// Runs the child's hook and forwards its response to the server's writer.
async fn respond<K: HttpHook, T: PluginHooks>(
    hooks: &T,
    ctx: &CallContext,
    frames: BoxStream<Result<K::Request, ApiError>>,
    writer: &Client,
    target: &str,
) -> Result<(), MethodError> {
    let name = K::NAME;
    let mut responses = K::call(hooks, ctx, frames)
        .await
        .map_err(|e| MethodError(format!("plugin {name} failed: {e}")))?;
    // Hold the response until it commits (see the module docs).
    let mut head: Option<pb::HttpResponseHead> = None;
    let mut pending: Vec<Vec<u8>> = Vec::new();
    let mut buffered = 0usize;
    let (mut flushed, mut complete) = (false, false);
    while !flushed && !complete && buffered < COMMIT_THRESHOLD {
        match responses.next().await {
            Some(Ok(frame)) => {
                let (h, chunk, flush, done) = K::response_parts(frame);
                if head.is_none() {
                    head = Some(h.unwrap_or_default());
                }
                buffered += chunk.len();
                if !chunk.is_empty() {
                    pending.push(chunk);
                }
                (flushed, complete) = (flush, done);
            }
            Some(Err(e)) => return Err(MethodError(format!("plugin {name} failed: {e}"))),
            None => {
                return Err(MethodError(format!(
                    "plugin {name} ended its response without completing the body"
                )));
            }
        }
    }
    let head = head.unwrap_or_default();
    let status = match head.status_code {
        s @ 100..=999 => s,
        s => {
            tracing::warn!(
                hook = name,
                request = target,
                status = s,
                "plugin answered with an invalid status; sending 500"
            );
            500
        }
    };
    // The server's headers, with the plugin's set over them.
    let mut header: Header = writer
        .call("Plugin.Header", &Empty {})
        .await
        .map_err(|e| MethodError(call_error("Header", e)))?;
    for h in head.headers {
        header.insert(canonical_header_key(&h.name), h.values);
    }
    writer
        .call::<_, Empty>("Plugin.SyncHeader", &header)
        .await
        .map_err(|e| MethodError(call_error("SyncHeader", e)))?;
    writer
        .call::<_, Empty>("Plugin.WriteHeader", &i64::from(status))
        .await
        .map_err(|e| MethodError(call_error("WriteHeader", e)))?;
    // Committed: from here on a failure can only end the response.
    let mut can_flush = true;
    let outcome = async {
        if !pending.is_empty() {
            let whole: Vec<u8> = pending.concat();
            writer
                .call::<_, Empty>("Plugin.Write", &whole)
                .await
                .map_err(|e| call_error("Write", e))?;
        }
        if flushed {
            flush(writer, &mut can_flush, name).await?;
        }
        while !complete {
            let frame = match responses.next().await {
                Some(Ok(frame)) => frame,
                Some(Err(e)) => return Err(format!("plugin {name} failed midway: {e}")),
                None => {
                    return Err(format!(
                        "plugin {name} ended its response without completing the body"
                    ));
                }
            };
            let (_, chunk, flush_now, done) = K::response_parts(frame);
            complete = done;
            if !chunk.is_empty() {
                writer
                    .call::<_, Empty>("Plugin.Write", &chunk)
                    .await
                    .map_err(|e| call_error("Write", e))?;
            }
            if flush_now {
                flush(writer, &mut can_flush, name).await?;
            }
        }
        Ok::<(), String>(())
    }
    .await;
    match outcome {
        // Let the child's stream end on its own rather than cancelling it.
        Ok(()) => drain(responses, String::new()),
        // Dropping the child's stream cancels it.
        Err(e) => tracing::error!(hook = name, request = target, "response cut short: {e}"),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_streamed_http_hook_is_carried() {
        for hook in HTTP_STREAM_HOOKS {
            assert!(carries(hook), "{hook} is not carried");
        }
        assert!(!carries("MessageWillBePosted"));
    }

    #[test]
    fn header_keys_are_canonical() {
        assert_eq!(canonical_header_key("content-type"), "Content-Type");
        assert_eq!(canonical_header_key("X-CUSTOM-thing"), "X-Custom-Thing");
        assert_eq!(canonical_header_key("etag"), "Etag");
        assert_eq!(canonical_header_key("bad header"), "bad header");
    }
}
