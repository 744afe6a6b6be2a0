//! HTTP requests to and from a plugin's `ServeHTTP` (or `ServeMetrics`), streamed both ways.
//!
//! The request body is read from the client only as fast as the plugin takes it (gRPC flow
//! control pulls the frame stream, which pulls the body), in chunks of at most 64 KiB; the
//! response body goes back chunk by chunk as the plugin writes it. Nothing is buffered whole. The
//! plugin may answer before the request body is complete, and a client that disconnects drops the
//! response stream, which cancels the plugin's stream.

use std::net::SocketAddr;

use axum::body::{Body, Bytes};
use futures_util::{Stream, StreamExt};
use mattermost_plugin_api::pb;
use mattermost_plugin_api::{ApiError, BoxStream, CallContext, PluginHooks};

/// The largest body chunk in one frame.
pub const MAX_CHUNK: usize = 64 * 1024;

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

/// Sends one HTTP request through the plugin's hook and returns the streamed response.
pub async fn forward<K: HttpHook, H: PluginHooks>(
    hooks: &H,
    ctx: &CallContext,
    info: RequestInfo,
    body: Body,
) -> http::Response<Body> {
    let first = futures_util::stream::once(futures_util::future::ready(Ok(K::head_frame(
        info.context.clone(),
        info.head(),
    ))));
    let frames: BoxStream<Result<K::Request, ApiError>> =
        Box::pin(first.chain(body_frames::<K>(body)));
    let mut responses = match K::call(hooks, ctx, frames).await {
        Ok(stream) => stream,
        Err(e) => {
            return plain_response(
                http::StatusCode::BAD_GATEWAY,
                format!("plugin {} failed: {e}\n", K::NAME),
            );
        }
    };
    let (head, first_chunk, complete) = match responses.next().await {
        Some(Ok(frame)) => {
            let (head, chunk, _flush, complete) = K::response_parts(frame);
            (head.unwrap_or_default(), chunk, complete)
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
    // Go's net/http accepts 100–999; anything else is the plugin's bug, reported as 500.
    let status = u16::try_from(head.status_code)
        .ok()
        .filter(|s| (100..=999).contains(s))
        .and_then(|s| http::StatusCode::from_u16(s).ok())
        .unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR);
    let rest: BoxStream<Result<Bytes, std::io::Error>> = if complete {
        Box::pin(futures_util::stream::empty())
    } else {
        Box::pin(
            until_complete(responses.map(|item| item.map(K::response_parts))).filter_map(
                |item| async move {
                    match item {
                        Ok((_, chunk, _, _)) if chunk.is_empty() => None,
                        Ok((_, chunk, _, _)) => Some(Ok(Bytes::from(chunk))),
                        Err(e) => Some(Err(std::io::Error::other(e.to_string()))),
                    }
                },
            ),
        )
    };
    let head_chunk =
        futures_util::stream::iter((!first_chunk.is_empty()).then(|| Ok(Bytes::from(first_chunk))));
    let mut response = http::Response::new(Body::from_stream(head_chunk.chain(rest)));
    *response.status_mut() = status;
    for header in head.headers {
        let Ok(name) = http::header::HeaderName::from_bytes(header.name.as_bytes()) else {
            continue;
        };
        for value in header.values {
            if let Ok(value) = http::HeaderValue::from_str(&value) {
                response.headers_mut().append(name.clone(), value);
            }
        }
    }
    response
}

/// Response frame parts: head, body chunk, flush, body complete.
type Parts = (Option<pb::HttpResponseHead>, Vec<u8>, bool, bool);

/// Ends a frame stream after the frame that completes the body (inclusive) or the first error.
fn until_complete(
    stream: impl Stream<Item = Result<Parts, ApiError>> + Send + 'static,
) -> BoxStream<Result<Parts, ApiError>> {
    Box::pin(futures_util::stream::unfold(
        (Box::pin(stream), false),
        |(mut stream, done)| async move {
            if done {
                return None;
            }
            let item = stream.next().await?;
            let complete = matches!(&item, Ok((_, _, _, true)) | Err(_));
            Some((item, (stream, complete)))
        },
    ))
}
