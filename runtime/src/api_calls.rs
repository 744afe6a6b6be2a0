//! Every `PluginAPI` call recorded, and any unary method answered from a script, at the gRPC
//! layer: the method name and the request and response messages as their encoded bytes. Nothing
//! here is per method, so it covers every method the contract has; a test decodes the bytes with
//! the generated messages (`mattermost_plugin_api.api_specs` in Python) to see typed values.
//!
//! The record is bounded ([`MAX_RECORDED_CALLS`], [`MAX_RECORDED_MESSAGE`]) so a long run or a
//! large upload cannot grow the host's memory without limit; what is left out is counted or
//! marked, never silently lost.

use std::collections::{HashMap, VecDeque};
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::Frame;
use http_body_util::{BodyExt, Full, StreamBody};
use mattermost_plugin_api::api::{API_METHODS, STREAMING_API_METHODS};
use mattermost_plugin_api::protocol::PLUGIN_ID_METADATA;
use tonic::body::Body;
use tonic::server::NamedService;

/// Calls kept; older ones are dropped first and counted in [`CallLog::dropped`].
pub const MAX_RECORDED_CALLS: usize = 10_000;
/// Bytes of messages kept over all recorded calls; older calls are dropped first.
pub const MAX_RECORDED_BYTES: usize = 64 << 20;
/// Larger messages are recorded by size only ([`Message::Omitted`]).
pub const MAX_RECORDED_MESSAGE: usize = 1 << 20;

/// One message of a call as recorded.
#[derive(Debug, Clone, PartialEq)]
pub enum Message {
    /// The encoded protobuf message.
    Bytes(Bytes),
    /// Too large to keep, or not a single uncompressed frame: its size in bytes.
    Omitted { len: usize },
    /// A stream of frames (uploads, plugin HTTP): passed through, not kept.
    Streamed,
}

impl Message {
    fn kept_bytes(&self) -> usize {
        match self {
            Message::Bytes(b) => b.len(),
            Message::Omitted { .. } | Message::Streamed => 0,
        }
    }
}

/// How a call ended.
#[derive(Debug, Clone, PartialEq)]
pub enum CallOutcome {
    /// A response message (which may carry the method's own AppError or error).
    Response(Message),
    /// A gRPC status other than OK (e.g. UNIMPLEMENTED for a method nobody models).
    Status { code: i32, message: String },
}

/// One recorded call.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiCall {
    /// Increases by one per call, from 1.
    pub seq: u64,
    pub plugin_id: String,
    /// The gRPC method, which is the Go method name (`GetUser`).
    pub method: String,
    pub request: Message,
    pub outcome: CallOutcome,
    /// Answered from a script rather than by the backend.
    pub scripted: bool,
}

impl ApiCall {
    fn kept_bytes(&self) -> usize {
        self.request.kept_bytes()
            + match &self.outcome {
                CallOutcome::Response(m) => m.kept_bytes(),
                CallOutcome::Status { message, .. } => message.len(),
            }
    }
}

/// What a scripted method answers.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    /// An encoded response message of the method.
    Response(Bytes),
    /// A gRPC status instead of a response.
    Status { code: tonic::Code, message: String },
}

/// The record, from some sequence number on.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CallLog {
    pub calls: Vec<ApiCall>,
    /// Calls dropped from the front since the start (or the last clear) to stay within bounds.
    pub dropped: u64,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ScriptError {
    #[error("`{0}` is not a PluginAPI method")]
    UnknownMethod(String),
    #[error(
        "`{0}` streams its request or response; only methods with one request and one response can be scripted"
    )]
    Streaming(String),
    #[error("`times` must be at least 1 (leave it out to answer every call)")]
    ZeroTimes,
}

struct Script {
    reply: Reply,
    /// Calls left before the method goes back to the backend; `None` answers every call.
    remaining: Option<u32>,
}

#[derive(Default)]
struct Inner {
    next_seq: u64,
    calls: VecDeque<ApiCall>,
    /// Bytes of the messages in `calls`.
    bytes: usize,
    dropped: u64,
    scripts: HashMap<String, Script>,
}

/// A cloneable handle on the record and the scripts of one API server.
#[derive(Clone, Default)]
pub struct ApiCalls {
    inner: Arc<Mutex<Inner>>,
}

impl std::fmt::Debug for ApiCalls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.with(|i| {
            f.debug_struct("ApiCalls")
                .field("recorded", &i.calls.len())
                .field("scripted", &i.scripts.len())
                .finish()
        })
    }
}

impl ApiCalls {
    pub fn new() -> ApiCalls {
        ApiCalls::default()
    }

    fn with<R>(&self, f: impl FnOnce(&mut Inner) -> R) -> R {
        f(&mut self.inner.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// The recorded calls with a sequence number above `after`, oldest first.
    pub fn log(&self, after: u64) -> CallLog {
        self.with(|i| CallLog {
            calls: i.calls.iter().filter(|c| c.seq > after).cloned().collect(),
            dropped: i.dropped,
        })
    }

    /// Forgets the recorded calls (sequence numbers keep increasing).
    pub fn clear_log(&self) {
        self.with(|i| {
            i.calls.clear();
            i.bytes = 0;
            i.dropped = 0;
        });
    }

    /// From now on `method` answers `reply` instead of reaching the backend: for the next
    /// `times` calls, or for every call when `times` is `None`. Replaces an earlier script.
    pub fn respond(
        &self,
        method: &str,
        reply: Reply,
        times: Option<u32>,
    ) -> Result<(), ScriptError> {
        if !API_METHODS.contains(&method) {
            return Err(ScriptError::UnknownMethod(method.to_string()));
        }
        if STREAMING_API_METHODS.contains(&method) {
            return Err(ScriptError::Streaming(method.to_string()));
        }
        if times == Some(0) {
            return Err(ScriptError::ZeroTimes);
        }
        self.with(|i| {
            i.scripts.insert(
                method.to_string(),
                Script {
                    reply,
                    remaining: times,
                },
            )
        });
        Ok(())
    }

    /// Removes the script of `method`, or every script; returns how many were removed.
    pub fn clear_responses(&self, method: Option<&str>) -> usize {
        self.with(|i| match method {
            Some(m) => usize::from(i.scripts.remove(m).is_some()),
            None => std::mem::take(&mut i.scripts).len(),
        })
    }

    fn take_script(&self, method: &str) -> Option<Reply> {
        self.with(|i| {
            let script = i.scripts.get_mut(method)?;
            let reply = script.reply.clone();
            if let Some(n) = script.remaining.as_mut() {
                *n -= 1;
                if *n == 0 {
                    i.scripts.remove(method);
                }
            }
            Some(reply)
        })
    }

    fn record(
        &self,
        plugin_id: String,
        method: String,
        request: Message,
        outcome: CallOutcome,
        scripted: bool,
    ) {
        let call = ApiCall {
            seq: 0,
            plugin_id,
            method,
            request,
            outcome,
            scripted,
        };
        let call_bytes = call.kept_bytes();
        self.with(|i| {
            i.next_seq += 1;
            while !i.calls.is_empty()
                && (i.calls.len() >= MAX_RECORDED_CALLS
                    || i.bytes + call_bytes > MAX_RECORDED_BYTES)
            {
                if let Some(old) = i.calls.pop_front() {
                    i.bytes -= old.kept_bytes();
                    i.dropped += 1;
                }
            }
            i.bytes += call_bytes;
            i.calls.push_back(ApiCall {
                seq: i.next_seq,
                ..call
            });
        });
    }

    /// Wraps a `PluginAPI` gRPC service so that its calls go through this record.
    pub fn layer<S>(&self, inner: S) -> Recorded<S> {
        Recorded {
            calls: Some(self.clone()),
            inner,
        }
    }
}

/// A gRPC service whose calls are recorded and may be scripted (see [`ApiCalls::layer`]).
#[derive(Clone)]
pub struct Recorded<S> {
    /// `None` passes every call straight through.
    calls: Option<ApiCalls>,
    inner: S,
}

impl<S> Recorded<S> {
    /// `inner` with no record, when the host did not ask for one.
    pub fn passthrough(inner: S) -> Recorded<S> {
        Recorded { calls: None, inner }
    }
}

impl<S: NamedService> NamedService for Recorded<S> {
    const NAME: &'static str = S::NAME;
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

impl<S> tower::Service<http::Request<Body>> for Recorded<S>
where
    S: tower::Service<http::Request<Body>, Response = http::Response<Body>, Error = Infallible>
        + Clone
        + Send
        + 'static,
    S::Future: Send,
{
    type Response = http::Response<Body>;
    type Error = Infallible;
    type Future = BoxFuture<Result<http::Response<Body>, Infallible>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<Body>) -> Self::Future {
        // The ready service goes into the future; a fresh clone waits for the next call.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let Some(calls) = self.calls.clone() else {
            return Box::pin(inner.call(request));
        };
        Box::pin(async move {
            let method = request
                .uri()
                .path()
                .rsplit('/')
                .next()
                .unwrap_or_default()
                .to_string();
            let plugin_id = request
                .headers()
                .get(PLUGIN_ID_METADATA)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_string();
            if !API_METHODS.contains(&method.as_str()) {
                // Not a method of the contract: the service answers UNIMPLEMENTED itself.
                return inner.call(request).await;
            }
            if STREAMING_API_METHODS.contains(&method.as_str()) {
                let response = inner.call(request).await?;
                let outcome = match status_of(response.headers(), None) {
                    Some(status) => status,
                    None => CallOutcome::Response(Message::Streamed),
                };
                calls.record(plugin_id, method, Message::Streamed, outcome, false);
                return Ok(response);
            }
            let (parts, body) = request.into_parts();
            let body = match body.collect().await {
                Ok(collected) => collected.to_bytes(),
                Err(status) => return Ok(status.into_http()),
            };
            let recorded_request = unframe(&body);
            if let Some(reply) = calls.take_script(&method) {
                let (response, outcome) = scripted_response(reply);
                calls.record(plugin_id, method, recorded_request, outcome, true);
                return Ok(response);
            }
            let request = http::Request::from_parts(parts, Body::new(Full::new(body)));
            let response = inner.call(request).await?;
            let (parts, body) = response.into_parts();
            let collected = match body.collect().await {
                Ok(collected) => collected,
                Err(status) => {
                    let outcome = CallOutcome::Status {
                        code: status.code() as i32,
                        message: status.message().to_string(),
                    };
                    calls.record(plugin_id, method, recorded_request, outcome, false);
                    return Ok(status.into_http());
                }
            };
            let trailers = collected.trailers().cloned();
            let data = collected.to_bytes();
            let outcome = status_of(&parts.headers, trailers.as_ref())
                .unwrap_or_else(|| CallOutcome::Response(unframe(&data)));
            calls.record(plugin_id, method, recorded_request, outcome, false);
            Ok(http::Response::from_parts(
                parts,
                frames_body(data, trailers),
            ))
        })
    }
}

/// A non-OK gRPC status from the trailers, or from the headers of a trailers-only response.
fn status_of(headers: &http::HeaderMap, trailers: Option<&http::HeaderMap>) -> Option<CallOutcome> {
    let status = trailers
        .and_then(tonic::Status::from_header_map)
        .or_else(|| tonic::Status::from_header_map(headers))?;
    (status.code() != tonic::Code::Ok).then(|| CallOutcome::Status {
        code: status.code() as i32,
        message: status.message().to_string(),
    })
}

/// The message of a body holding exactly one uncompressed gRPC frame.
fn unframe(body: &Bytes) -> Message {
    let len = body.len();
    let Some((header, message)) = body.split_first_chunk::<5>() else {
        return Message::Omitted { len };
    };
    let declared = u32::from_be_bytes([header[1], header[2], header[3], header[4]]) as usize;
    if header[0] != 0 || declared != message.len() || declared > MAX_RECORDED_MESSAGE {
        return Message::Omitted { len: message.len() };
    }
    Message::Bytes(body.slice(5..))
}

/// One gRPC frame holding `message`.
fn frame(message: &[u8]) -> Bytes {
    let mut out = Vec::with_capacity(5 + message.len());
    out.push(0);
    out.extend_from_slice(&(message.len() as u32).to_be_bytes());
    out.extend_from_slice(message);
    Bytes::from(out)
}

/// A body of `data` followed by `trailers`, as the inner service sent them.
fn frames_body(data: Bytes, trailers: Option<http::HeaderMap>) -> Body {
    if data.is_empty() && trailers.is_none() {
        // A trailers-only answer (a failed call): the body must report its end at once, or the
        // client sees an empty DATA frame ending the stream without a status.
        return Body::empty();
    }
    let mut frames: Vec<Result<Frame<Bytes>, Infallible>> = Vec::with_capacity(2);
    if !data.is_empty() {
        frames.push(Ok(Frame::data(data)));
    }
    if let Some(trailers) = trailers {
        frames.push(Ok(Frame::trailers(trailers)));
    }
    Body::new(StreamBody::new(futures_util::stream::iter(frames)))
}

fn scripted_response(reply: Reply) -> (http::Response<Body>, CallOutcome) {
    match reply {
        Reply::Status { code, message } => {
            let outcome = CallOutcome::Status {
                code: code as i32,
                message: message.clone(),
            };
            (tonic::Status::new(code, message).into_http(), outcome)
        }
        Reply::Response(message) => {
            let mut trailers = http::HeaderMap::new();
            trailers.insert("grpc-status", http::HeaderValue::from_static("0"));
            let mut response = http::Response::new(frames_body(frame(&message), Some(trailers)));
            response.headers_mut().insert(
                http::header::CONTENT_TYPE,
                http::HeaderValue::from_static("application/grpc"),
            );
            (response, CallOutcome::Response(Message::Bytes(message)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(calls: &ApiCalls, method: &str, request: Message) {
        let outcome = CallOutcome::Response(Message::Bytes(Bytes::new()));
        calls.record("p".into(), method.into(), request, outcome, false);
    }

    #[test]
    fn scripts_name_their_mistakes_and_count_down() {
        let calls = ApiCalls::new();
        let reply = Reply::Response(Bytes::from_static(b"\x0a\x00"));
        assert_eq!(
            calls.respond("GetUsr", reply.clone(), None),
            Err(ScriptError::UnknownMethod("GetUsr".into()))
        );
        assert_eq!(
            calls.respond("PluginHTTP", reply.clone(), None),
            Err(ScriptError::Streaming("PluginHTTP".into()))
        );
        assert_eq!(
            calls.respond("GetUser", reply.clone(), Some(0)),
            Err(ScriptError::ZeroTimes)
        );
        calls.respond("GetUser", reply.clone(), Some(2)).unwrap();
        calls.respond("GetTeam", reply.clone(), None).unwrap();
        assert_eq!(calls.take_script("GetUser"), Some(reply.clone()));
        assert_eq!(calls.take_script("GetUser"), Some(reply.clone()));
        assert_eq!(
            calls.take_script("GetUser"),
            None,
            "two times, then the model"
        );
        for _ in 0..3 {
            assert_eq!(calls.take_script("GetTeam"), Some(reply.clone()));
        }
        assert_eq!(calls.clear_responses(Some("GetUser")), 0);
        assert_eq!(calls.clear_responses(None), 1);
        assert_eq!(calls.take_script("GetTeam"), None);
    }

    #[test]
    fn the_record_is_bounded_by_calls_and_bytes_and_counts_what_it_drops() {
        let calls = ApiCalls::new();
        for _ in 0..MAX_RECORDED_CALLS + 5 {
            record(&calls, "GetUser", Message::Bytes(Bytes::from_static(b"x")));
        }
        let log = calls.log(0);
        assert_eq!(log.calls.len(), MAX_RECORDED_CALLS);
        assert_eq!(log.dropped, 5);
        assert_eq!(log.calls[0].seq, 6, "the oldest go first");

        calls.clear_log();
        let big = Bytes::from(vec![0u8; MAX_RECORDED_MESSAGE]);
        let fit = MAX_RECORDED_BYTES / MAX_RECORDED_MESSAGE;
        for _ in 0..fit + 3 {
            record(&calls, "UploadFile", Message::Bytes(big.clone()));
        }
        let log = calls.log(0);
        assert_eq!(log.calls.len(), fit);
        assert_eq!(log.dropped, 3);
        let after = log.calls[fit - 2].seq;
        assert_eq!(calls.log(after).calls.len(), 1);
    }

    #[test]
    fn only_one_plain_frame_is_kept_as_a_message() {
        assert_eq!(
            unframe(&frame(b"abc")),
            Message::Bytes(Bytes::from_static(b"abc"))
        );
        assert_eq!(
            unframe(&Bytes::from_static(b"\0\0")),
            Message::Omitted { len: 2 }
        );
        let mut compressed = frame(b"abc").to_vec();
        compressed[0] = 1;
        assert_eq!(unframe(&compressed.into()), Message::Omitted { len: 3 });
        let mut two = frame(b"a").to_vec();
        two.extend_from_slice(&frame(b"b"));
        assert_eq!(unframe(&two.into()), Message::Omitted { len: 7 });
        let large = frame(&vec![7u8; MAX_RECORDED_MESSAGE + 1]);
        assert_eq!(
            unframe(&large),
            Message::Omitted {
                len: MAX_RECORDED_MESSAGE + 1
            }
        );
    }
}
