//! HTTP requests to and from a plugin's `ServeHTTP` (or `ServeMetrics`), streamed both ways.
//!
//! The request body is read from the client only as fast as the plugin takes it (gRPC flow
//! control pulls the frame stream, which pulls the body), in chunks of at most 64 KiB; the
//! response body goes back chunk by chunk as the plugin writes it. Nothing is buffered whole. The
//! plugin may answer before the request body is complete, and a client that disconnects drops the
//! response stream, which cancels the plugin's stream.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use futures_util::{Stream, StreamExt};
use mattermost_plugin_api::pb;
use mattermost_plugin_api::{ApiError, BoxStream, CallContext, PluginHooks};

/// The largest body chunk in one frame.
pub use mattermost_plugin_api::protocol::MAX_CHUNK;

/// One of the two HTTP hooks, as frames.
pub trait HttpHook: Send + Sync + 'static {
    type Request: Send + 'static;
    type Response: Send + 'static;
    const NAME: &'static str;

    fn head_frame(context: pb::PluginContext, head: pb::HttpRequestHead) -> Self::Request;
    fn chunk_frame(chunk: Vec<u8>) -> Self::Request;
    fn complete_frame() -> Self::Request;
    /// (head, body chunk, flush, complete) of a response frame.
    fn response_parts(frame: Self::Response)
    -> (Option<pb::HttpResponseHead>, Vec<u8>, bool, bool);
    fn call<H: PluginHooks>(
        hooks: &H,
        ctx: &CallContext,
        frames: BoxStream<Result<Self::Request, ApiError>>,
    ) -> impl std::future::Future<
        Output = Result<BoxStream<Result<Self::Response, ApiError>>, ApiError>,
    > + Send;
}

macro_rules! http_hook {
    ($name:ident, $go:literal, $req:ident, $resp:ident, $method:ident) => {
        #[doc = concat!("The `", $go, "` hook.")]
        pub struct $name;

        impl HttpHook for $name {
            type Request = pb::$req;
            type Response = pb::$resp;
            const NAME: &'static str = $go;

            fn head_frame(context: pb::PluginContext, head: pb::HttpRequestHead) -> Self::Request {
                pb::$req {
                    context: Some(context),
                    head: Some(head),
                    ..Default::default()
                }
            }

            fn chunk_frame(chunk: Vec<u8>) -> Self::Request {
                pb::$req {
                    body_chunk: chunk,
                    ..Default::default()
                }
            }

            fn complete_frame() -> Self::Request {
                pb::$req {
                    body_complete: true,
                    ..Default::default()
                }
            }

            fn response_parts(
                frame: Self::Response,
            ) -> (Option<pb::HttpResponseHead>, Vec<u8>, bool, bool) {
                (
                    frame.head,
                    frame.body_chunk,
                    frame.flush,
                    frame.body_complete,
                )
            }

            fn call<H: PluginHooks>(
                hooks: &H,
                ctx: &CallContext,
                frames: BoxStream<Result<Self::Request, ApiError>>,
            ) -> impl std::future::Future<
                Output = Result<BoxStream<Result<Self::Response, ApiError>>, ApiError>,
            > + Send {
                hooks.$method(ctx, frames)
            }
        }
    };
}

http_hook!(
    ServeHttp,
    "ServeHTTP",
    ServeHttpRequest,
    ServeHttpResponse,
    serve_http
);
http_hook!(
    ServeMetrics,
    "ServeMetrics",
    ServeMetricsRequest,
    ServeMetricsResponse,
    serve_metrics
);

/// Everything about the incoming request the plugin sees besides its body.
pub struct RequestInfo {
    pub method: String,
    /// Path and query as the plugin sees them (Mattermost strips `/plugins/<id>`).
    pub url: String,
    /// The original request URI.
    pub request_uri: String,
    pub version: http::Version,
    pub headers: http::HeaderMap,
    pub remote_addr: Option<SocketAddr>,
    pub context: pb::PluginContext,
}

impl RequestInfo {
    fn head(&self) -> pb::HttpRequestHead {
        let mut headers: Vec<pb::HttpHeader> = Vec::new();
        for name in self.headers.keys() {
            let values = self
                .headers
                .get_all(name)
                .iter()
                .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
                .collect();
            headers.push(pb::HttpHeader {
                name: canonical_header(name.as_str()),
                values,
            });
        }
        let header = |n: http::header::HeaderName| {
            self.headers
                .get(n)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        pb::HttpRequestHead {
            method: self.method.clone(),
            url: self.url.clone(),
            proto: format!("{:?}", self.version),
            headers,
            host: header(http::header::HOST).unwrap_or_default(),
            remote_addr: self.remote_addr.map(|a| a.to_string()).unwrap_or_default(),
            request_uri: self.request_uri.clone(),
            content_length: header(http::header::CONTENT_LENGTH)
                .and_then(|v| v.parse().ok())
                .unwrap_or(-1),
        }
    }
}

/// `content-type` → `Content-Type`, as Go's net/http presents header names.
fn canonical_header(name: &str) -> String {
    name.split('-')
        .map(|part| {
            let mut chars = part.chars();
            match chars.next() {
                Some(first) => {
                    first.to_ascii_uppercase().to_string() + &chars.as_str().to_ascii_lowercase()
                }
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join("-")
}

/// The request body as frames: chunks of at most [`MAX_CHUNK`], then one `body_complete` frame.
fn body_frames<K: HttpHook>(
    body: Body,
) -> impl Stream<Item = Result<K::Request, ApiError>> + Send + 'static {
    let chunks = body.into_data_stream().flat_map(|item| {
        let pieces: Vec<Result<K::Request, ApiError>> = match item {
            Ok(bytes) => bytes
                .chunks(MAX_CHUNK)
                .map(|c| Ok(K::chunk_frame(c.to_vec())))
                .collect(),
            Err(e) => vec![Err(ApiError::plain(format!(
                "reading the request body: {e}"
            )))],
        };
        futures_util::stream::iter(pieces)
    });
    chunks.chain(futures_util::stream::once(async {
        Ok(K::complete_frame())
    }))
}

fn plain_response(status: http::StatusCode, message: String) -> http::Response<Body> {
    let mut response = http::Response::new(Body::from(message));
    *response.status_mut() = status;
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

/// Time limits of one exchange with the plugin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HttpTimeouts {
    /// From the request to the plugin's response head; past it the client gets 504 and the
    /// plugin's stream is cancelled. Default 60 s.
    pub head: Duration,
    /// Longest gap between two response frames once the head arrived; past it the response is
    /// aborted (the client sees a truncated body) and the plugin's stream cancelled. Default
    /// 300 s, the write timeout a Mattermost server applies to every response.
    pub idle: Duration,
}

impl Default for HttpTimeouts {
    fn default() -> Self {
        HttpTimeouts {
            head: Duration::from_secs(60),
            idle: Duration::from_secs(300),
        }
    }
}

/// Set on the response (as an extension) when the bridge gave up waiting for the plugin's head,
/// so the host can count it like a hook timeout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PluginTimedOut {
    pub hook: &'static str,
    pub limit: Duration,
}

/// Response bytes held back before the head is committed (Go's ResponseWriter buffers 4 KiB).
const COMMIT_THRESHOLD: usize = 4096;

/// How long the plugin may take to end its stream after the frame that completed the body.
const DRAIN_LIMIT: Duration = Duration::from_secs(10);

/// Sends one HTTP request through the plugin's hook and returns the streamed response, with the
/// default [`HttpTimeouts`].
pub async fn forward<K: HttpHook, H: PluginHooks>(
    hooks: &H,
    ctx: &CallContext,
    info: RequestInfo,
    body: Body,
) -> http::Response<Body> {
    forward_with::<K, H>(hooks, ctx, info, body, HttpTimeouts::default()).await
}

/// [`forward`] with explicit time limits.
pub async fn forward_with<K: HttpHook, H: PluginHooks>(
    hooks: &H,
    ctx: &CallContext,
    info: RequestInfo,
    body: Body,
    timeouts: HttpTimeouts,
) -> http::Response<Body> {
    let started = Instant::now();
    let target = format!("{} {}", info.method, info.url);
    let first = futures_util::stream::once(futures_util::future::ready(Ok(K::head_frame(
        info.context.clone(),
        info.head(),
    ))));
    let frames: BoxStream<Result<K::Request, ApiError>> =
        Box::pin(first.chain(body_frames::<K>(body)));
    let head = async {
        let mut responses = K::call(hooks, ctx, frames).await?;
        let first = responses.next().await;
        Ok::<_, ApiError>((responses, first))
    };
    let (responses, first) = match tokio::time::timeout(timeouts.head, head).await {
        Ok(Ok(answer)) => answer,
        Ok(Err(e)) => {
            return plain_response(
                http::StatusCode::BAD_GATEWAY,
                format!("plugin {} failed: {e}\n", K::NAME),
            );
        }
        Err(_) => {
            tracing::warn!(plugin_id = %ctx.plugin_id, hook = K::NAME, request = %target,
                elapsed = ?started.elapsed(), "plugin sent no response head in time; answering 504");
            let mut response = plain_response(
                http::StatusCode::GATEWAY_TIMEOUT,
                format!(
                    "plugin {} {} sent no response within {:?}\n",
                    ctx.plugin_id,
                    K::NAME,
                    timeouts.head
                ),
            );
            response.extensions_mut().insert(PluginTimedOut {
                hook: K::NAME,
                limit: timeouts.head,
            });
            return response;
        }
    };
    let (head, first_chunk, flushed, complete) = match first {
        Some(Ok(frame)) => {
            let (head, chunk, flush, complete) = K::response_parts(frame);
            (head.unwrap_or_default(), chunk, flush, complete)
        }
        Some(Err(e)) => {
            return plain_response(
                http::StatusCode::BAD_GATEWAY,
                format!("plugin {} failed: {e}\n", K::NAME),
            );
        }
        None => {
            return plain_response(
                http::StatusCode::BAD_GATEWAY,
                format!("plugin {} sent no response\n", K::NAME),
            );
        }
    };
    // Like Go's ResponseWriter, the head is committed on the first flush, once a few KiB are
    // buffered, or when the body is complete. Until then the exchange can still fail cleanly: a
    // plugin that dies mid-response gets the client a 502, not a truncated 200.
    let mut responses = responses;
    let mut pending: VecDeque<Bytes> = VecDeque::new();
    let mut buffered = first_chunk.len();
    if !first_chunk.is_empty() {
        pending.push_back(Bytes::from(first_chunk));
    }
    let (mut flushed, mut complete) = (flushed, complete);
    while !complete && !flushed && buffered < COMMIT_THRESHOLD {
        match tokio::time::timeout(timeouts.idle, responses.next()).await {
            Ok(Some(Ok(frame))) => {
                let (_, chunk, flush, done) = K::response_parts(frame);
                buffered += chunk.len();
                if !chunk.is_empty() {
                    pending.push_back(Bytes::from(chunk));
                }
                (flushed, complete) = (flush, done);
            }
            Ok(Some(Err(e))) => {
                return plain_response(
                    http::StatusCode::BAD_GATEWAY,
                    format!("plugin {} {} failed midway: {e}\n", ctx.plugin_id, K::NAME),
                );
            }
            Ok(None) => {
                return plain_response(
                    http::StatusCode::BAD_GATEWAY,
                    format!(
                        "plugin {} {} ended its response without completing the body\n",
                        ctx.plugin_id,
                        K::NAME
                    ),
                );
            }
            Err(_) => {
                tracing::warn!(plugin_id = %ctx.plugin_id, hook = K::NAME, request = %target,
                    idle = ?timeouts.idle, "plugin response stalled before its head was sent; answering 504");
                return plain_response(
                    http::StatusCode::GATEWAY_TIMEOUT,
                    format!(
                        "plugin {} {} stalled for {:?}\n",
                        ctx.plugin_id,
                        K::NAME,
                        timeouts.idle
                    ),
                );
            }
        }
    }
    // Go's net/http accepts 100–999; anything else is the plugin's bug, reported as 500.
    // 1xx is not a final status (a 101 would need a connection upgrade the bridge cannot make).
    let status = u16::try_from(head.status_code)
        .ok()
        .filter(|s| (200..=999).contains(s))
        .and_then(|s| http::StatusCode::from_u16(s).ok())
        .unwrap_or_else(|| {
            tracing::warn!(plugin_id = %ctx.plugin_id, hook = K::NAME, request = %target,
                status = head.status_code, "plugin answered with no valid final status; sending 500");
            http::StatusCode::INTERNAL_SERVER_ERROR
        });
    // The plugin's Content-Length is kept only when it can be true: one entry with one decimal
    // length, for a body still streaming (a complete one gets its exact length below).
    let declared_length = {
        let mut lengths = head
            .headers
            .iter()
            .filter(|h| h.name.eq_ignore_ascii_case("content-length"))
            .flat_map(|h| h.values.iter());
        match (lengths.next(), lengths.next()) {
            (Some(value), None)
                if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) =>
            {
                value.parse::<u64>().ok()
            }
            _ => None,
        }
    }
    .filter(|_| !complete);
    let body = if complete {
        // The whole body is here: send it with its exact length, whatever the plugin declared.
        drain(responses, ctx.plugin_id.clone());
        let whole: Vec<u8> = pending
            .iter()
            .flat_map(|chunk| chunk.iter().copied())
            .collect();
        Body::from(whole)
    } else {
        let state = BodyState::<K> {
            responses: Some(responses),
            pending,
            declared_length,
            sent: 0,
            complete,
            idle: timeouts.idle,
            plugin_id: ctx.plugin_id.clone(),
            target,
        };
        Body::from_stream(state.into_stream())
    };
    let mut response = http::Response::new(body);
    *response.status_mut() = status;
    for header in head.headers {
        let Ok(name) = http::header::HeaderName::from_bytes(header.name.as_bytes()) else {
            continue;
        };
        // Framing belongs to the host's HTTP server, not the plugin.
        if HOP_BY_HOP.contains(&name.as_str()) {
            continue;
        }
        if name == http::header::CONTENT_LENGTH && declared_length.is_none() {
            continue;
        }
        for value in header.values {
            if let Ok(value) = http::HeaderValue::from_str(&value) {
                response.headers_mut().append(name.clone(), value);
            }
        }
    }
    response
}

/// Headers about one connection's framing, which the plugin cannot know (RFC 9110 §7.6.1).
const HOP_BY_HOP: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

/// The response body as it streams out of the plugin's frames.
struct BodyState<K: HttpHook> {
    /// `None` once handed to the drain task (or ended).
    responses: Option<BoxStream<Result<K::Response, ApiError>>>,
    /// Chunks received but not yet passed on.
    pending: VecDeque<Bytes>,
    /// The plugin's Content-Length, when the response carries it: the body is cut there, and
    /// one that ends short is an error (the client sees a cut-short body, as from Go).
    declared_length: Option<u64>,
    /// Body bytes passed on so far.
    sent: u64,
    /// The plugin sent the frame that completes the body.
    complete: bool,
    idle: Duration,
    plugin_id: String,
    target: String,
}

impl<K: HttpHook> BodyState<K> {
    fn into_stream(self) -> impl Stream<Item = Result<Bytes, std::io::Error>> + Send + 'static {
        futures_util::stream::unfold(self, |state| async move {
            let (item, state) = Self::next_item(state).await?;
            if item.is_err() {
                // Give the HTTP server a turn to write what it holds (the head, flushed chunks)
                // before the error aborts the response: the client then sees a cut-short body,
                // not an empty reply.
                tokio::task::yield_now().await;
            }
            Some((item, state))
        })
    }

    async fn next_item(mut state: Self) -> Option<(Result<Bytes, std::io::Error>, Self)> {
        loop {
            if let Some(mut chunk) = state.pending.pop_front() {
                if let Some(declared) = state.declared_length {
                    let room = declared.saturating_sub(state.sent);
                    if (chunk.len() as u64) > room {
                        tracing::warn!(plugin_id = %state.plugin_id, hook = K::NAME, request = %state.target,
                            declared, "plugin wrote more than its Content-Length; cutting the body there");
                        chunk.truncate(room as usize);
                        state.pending.clear();
                        state.complete = true;
                        state.declared_length = None;
                    }
                }
                state.sent += chunk.len() as u64;
                if chunk.is_empty() {
                    continue;
                }
                return Some((Ok(chunk), state));
            }
            if state.complete {
                if let Some(declared) = state.declared_length.take().filter(|d| *d != state.sent) {
                    let message = format!(
                        "plugin sent {} of the {declared} bytes its Content-Length declared",
                        state.sent
                    );
                    tracing::warn!(plugin_id = %state.plugin_id, hook = K::NAME, request = %state.target, "{message}");
                    if let Some(responses) = state.responses.take() {
                        drain(responses, state.plugin_id.clone());
                    }
                    return Some((Err(std::io::Error::other(message)), state));
                }
                // Let the plugin's stream end on its own (its trailers arrive), so a normal
                // exchange never resets an HTTP/2 stream: a connection resets only so many
                // before its peer is told to go away, failing every call on it.
                if let Some(responses) = state.responses.take() {
                    drain(responses, state.plugin_id.clone());
                }
                return None;
            }
            let responses = state.responses.as_mut()?;
            match tokio::time::timeout(state.idle, responses.next()).await {
                Ok(Some(Ok(frame))) => {
                    let (_, chunk, _, complete) = K::response_parts(frame);
                    state.complete = complete;
                    if !chunk.is_empty() {
                        state.pending.push_back(Bytes::from(chunk));
                    }
                }
                Ok(Some(Err(e))) => {
                    state.responses = None;
                    tracing::warn!(plugin_id = %state.plugin_id, hook = K::NAME, request = %state.target,
                            error = %e, "plugin response failed midway");
                    return Some((Err(std::io::Error::other(e.to_string())), state));
                }
                Ok(None) => {
                    state.responses = None;
                    let message = "plugin ended its response without completing the body";
                    tracing::warn!(plugin_id = %state.plugin_id, hook = K::NAME, request = %state.target, message);
                    return Some((Err(std::io::Error::other(message)), state));
                }
                Err(_) => {
                    state.responses = None;
                    tracing::warn!(plugin_id = %state.plugin_id, hook = K::NAME, request = %state.target,
                            idle = ?state.idle, "plugin response stalled; aborting it");
                    return Some((
                        Err(std::io::Error::new(
                            std::io::ErrorKind::TimedOut,
                            format!("plugin {} sent nothing for {:?}", K::NAME, state.idle),
                        )),
                        state,
                    ));
                }
            }
        }
    }
}

/// Reads a frame stream to its end in the background, bounded by [`DRAIN_LIMIT`].
pub fn drain<T: Send + 'static>(mut stream: BoxStream<Result<T, ApiError>>, plugin_id: String) {
    tokio::spawn(async move {
        let ended = tokio::time::timeout(DRAIN_LIMIT, async {
            let mut extra = 0usize;
            while let Some(item) = stream.next().await {
                if item.is_ok() {
                    extra += 1;
                }
            }
            extra
        })
        .await;
        match ended {
            Ok(0) => {}
            Ok(extra) => tracing::debug!(%plugin_id, extra, "plugin sent frames after completing"),
            Err(_) => {
                tracing::warn!(%plugin_id, "plugin kept its stream open {DRAIN_LIMIT:?} after completing; cancelling it")
            }
        }
    });
}
