//! The ServeHTTP bridge (`http_bridge::forward`) against a fake plugin answering an arbitrary
//! sequence of response frames: statuses in and out of range, header names and values that are
//! not valid HTTP, empty streams, frames after `body_complete`, errors before and mid-stream.
//! The bridge must return the response the frames describe (with the documented fallbacks), and
//! that response, written by hyper's HTTP/1.1 server, must be well-formed on the wire.

use std::future::Future;
use std::sync::Mutex;
use std::time::Duration;

use axum::body::Body;
use http::{HeaderName, HeaderValue, StatusCode};
use mattermost_plugin_api::{ApiError, BoxStream, CallContext, PluginHooks, pb};
use mattermost_plugin_runtime::http_bridge::{self, RequestInfo, ServeHttp};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::Bytes;

#[derive(Debug, Clone)]
pub struct Head {
    pub status: i32,
    pub headers: Vec<(String, Vec<String>)>,
}

#[derive(Debug, Clone)]
pub enum Step {
    Frame {
        head: Option<Head>,
        chunk: Vec<u8>,
        flush: bool,
        complete: bool,
    },
    /// The plugin's stream fails here.
    Fail(String),
}

#[derive(Debug, Clone)]
pub struct Case {
    /// The hook call itself fails (no stream at all).
    pub call_fails: bool,
    pub steps: Vec<Step>,
}

pub const STATUSES: &[i32] = &[
    200,
    201,
    204,
    206,
    301,
    304,
    404,
    418,
    500,
    599,
    600,
    999,
    1000,
    99,
    100,
    101,
    103,
    199,
    0,
    -1,
    i32::MAX,
    i32::MIN,
];
pub const HEADER_NAMES: &[&str] = &[
    "Content-Type",
    "X-Multi",
    "x-lower",
    "Set-Cookie",
    "",
    "bad name",
    "bad:name",
    "Ünicode",
    "\r\nInjected",
    "tab\t",
    "Content-Length",
    "Transfer-Encoding",
    "Connection",
    "Upgrade",
    "Keep-Alive",
    "TE",
    "Trailer",
];
pub const HEADER_VALUES: &[&str] = &[
    "text/plain",
    "a",
    "",
    " lead",
    "trail ",
    "line\r\nbreak",
    "nul\u{0}",
    "é",
    "\u{7f}",
    "0",
    "5",
    "-1",
    "+5",
    " 5",
    "5 ",
    "99999999999999999999",
    "chunked",
    "gzip, chunked",
    "close",
    "websocket",
];

impl Case {
    pub fn decode(b: &mut Bytes) -> Case {
        let call_fails = b.below(16) == 0;
        let count = b.below(7);
        let steps = (0..count)
            .map(|_| {
                if b.below(8) == 0 {
                    return Step::Fail(b.string(12));
                }
                let head = b.bool().then(|| Head {
                    status: if b.below(8) == 0 {
                        b.i32()
                    } else {
                        b.pick(STATUSES)
                    },
                    headers: (0..b.below(4))
                        .map(|_| {
                            let name = if b.below(6) == 0 {
                                b.string(8)
                            } else {
                                b.pick(HEADER_NAMES).to_string()
                            };
                            let values = (0..b.below(3))
                                .map(|_| {
                                    if b.below(6) == 0 {
                                        b.string(8)
                                    } else {
                                        b.pick(HEADER_VALUES).to_string()
                                    }
                                })
                                .collect();
                            (name, values)
                        })
                        .collect(),
                });
                Step::Frame {
                    head,
                    chunk: b.bytes(24),
                    flush: b.bool(),
                    complete: b.below(3) == 0,
                }
            })
            .collect();
        Case { call_fails, steps }
    }

    fn frames(&self) -> Vec<Result<pb::ServeHttpResponse, ApiError>> {
        self.steps
            .iter()
            .map(|step| match step {
                Step::Frame {
                    head,
                    chunk,
                    flush,
                    complete,
                } => Ok(pb::ServeHttpResponse {
                    head: head.as_ref().map(|h| pb::HttpResponseHead {
                        status_code: h.status,
                        headers: h
                            .headers
                            .iter()
                            .map(|(name, values)| pb::HttpHeader {
                                name: name.clone(),
                                values: values.clone(),
                            })
                            .collect(),
                    }),
                    body_chunk: chunk.clone(),
                    flush: *flush,
                    body_complete: *complete,
                }),
                Step::Fail(message) => Err(ApiError::plain(message.clone())),
            })
            .collect()
    }
}

/// A plugin whose ServeHTTP answers with a fixed frame sequence.
struct Fake {
    call_fails: bool,
    frames: Mutex<Vec<Result<pb::ServeHttpResponse, ApiError>>>,
}

impl PluginHooks for Fake {
    fn serve_http(
        &self,
        _ctx: &CallContext,
        frames: BoxStream<Result<pb::ServeHttpRequest, ApiError>>,
    ) -> impl Future<Output = Result<BoxStream<Result<pb::ServeHttpResponse, ApiError>>, ApiError>> + Send
    {
        let out = std::mem::take(&mut *self.frames.lock().unwrap());
        let call_fails = self.call_fails;
        async move {
            drop(frames);
            if call_fails {
                return Err(ApiError::plain("the hook call failed"));
            }
            let stream: BoxStream<Result<pb::ServeHttpResponse, ApiError>> =
                Box::pin(futures_util::stream::iter(out));
            Ok(stream)
        }
    }
}

/// How much response body the bridge buffers before it commits the head (its
/// `COMMIT_THRESHOLD`). The cases here stay far below it, so only flushes and completion commit.
const COMMIT_AT: usize = 4096;

/// Connection-level headers the bridge never passes on from a plugin.
const HOP_BY_HOP: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

/// What the bridge must make of a case.
struct Expected {
    status: StatusCode,
    /// The plugin's headers that are valid HTTP, in order; `None` for the bridge's own 502.
    headers: Option<Vec<(HeaderName, HeaderValue)>>,
    /// The body, or `Err` when the stream fails or ends before the body is complete.
    body: Result<Vec<u8>, ()>,
}

fn expected(case: &Case) -> Expected {
    let bad_gateway = Expected {
        status: StatusCode::BAD_GATEWAY,
        headers: None,
        body: Ok(Vec::new()),
    };
    if case.call_fails {
        return bad_gateway;
    }
    let Some(Step::Frame {
        head,
        chunk,
        flush,
        complete,
    }) = case.steps.first()
    else {
        return bad_gateway;
    };
    let head = head.clone().unwrap_or(Head {
        status: 0,
        headers: Vec::new(),
    });
    // The head is committed on the first flush, the completing frame, or once COMMIT_AT bytes
    // are buffered; a failure (or the stream ending) before that is the bridge's own 502.
    let mut body = chunk.clone();
    let (mut flushed, mut complete) = (*flush, *complete);
    let mut rest = case.steps[1..].iter();
    while !complete && !flushed && body.len() < COMMIT_AT {
        match rest.next() {
            Some(Step::Frame {
                chunk,
                flush,
                complete: done,
                ..
            }) => {
                body.extend_from_slice(chunk);
                (flushed, complete) = (*flush, *done);
            }
            Some(Step::Fail(_)) | None => return bad_gateway,
        }
    }
    // After it the body streams to the completing frame (heads after the first frame and frames
    // after the completing one are ignored); a failure or an early end fails the body.
    let complete_at_commit = complete;
    let mut outcome = Ok(());
    if !complete {
        outcome = Err(());
        for step in rest {
            match step {
                Step::Frame {
                    chunk,
                    complete: done,
                    ..
                } => {
                    body.extend_from_slice(chunk);
                    if *done {
                        outcome = Ok(());
                        break;
                    }
                }
                Step::Fail(_) => break,
            }
        }
    }
    // Only final statuses: 1xx and anything outside 100–999 become 500.
    let status = u16::try_from(head.status)
        .ok()
        .filter(|s| (200..=999).contains(s))
        .and_then(|s| StatusCode::from_u16(s).ok())
        .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    // Valid names and values pass, except framing: hop-by-hop headers never, and Content-Length
    // only as one entry with one decimal number, for a body that was still streaming when the
    // head went out.
    let lengths: Vec<&String> = head
        .headers
        .iter()
        .filter(|(name, _)| name.eq_ignore_ascii_case("content-length"))
        .flat_map(|(_, values)| values)
        .collect();
    let declared: Option<usize> = match lengths.as_slice() {
        [value]
            if !complete_at_commit
                && !value.is_empty()
                && value.bytes().all(|b| b.is_ascii_digit()) =>
        {
            value.parse().ok()
        }
        _ => None,
    };
    let mut headers = Vec::new();
    for (name, values) in &head.headers {
        let Ok(name) = HeaderName::from_bytes(name.as_bytes()) else {
            continue;
        };
        if HOP_BY_HOP.contains(&name.as_str()) {
            continue;
        }
        if name == http::header::CONTENT_LENGTH && declared.is_none() {
            continue;
        }
        for value in values {
            if let Ok(value) = HeaderValue::from_str(value) {
                headers.push((name.clone(), value));
            }
        }
    }
    // A kept length cuts a longer body there; a body that completes short of it fails.
    if let Some(declared) = declared {
        if body.len() > declared {
            body.truncate(declared);
            outcome = Ok(());
        } else if body.len() < declared {
            outcome = Err(());
        }
    }
    Expected {
        status,
        headers: Some(headers),
        body: outcome.map(|()| body),
    }
}

async fn forward(case: &Case) -> http::Response<Body> {
    let fake = Fake {
        call_fails: case.call_fails,
        frames: Mutex::new(case.frames()),
    };
    let info = RequestInfo {
        method: "GET".into(),
        url: "/".into(),
        request_uri: "/plugins/fuzz/".into(),
        version: http::Version::HTTP_11,
        headers: http::HeaderMap::new(),
        remote_addr: None,
        context: Default::default(),
    };
    http_bridge::forward::<ServeHttp, _>(&fake, &CallContext::new("fuzz"), info, Body::empty())
        .await
}

thread_local! {
    static RUNTIME: tokio::runtime::Runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a Tokio runtime");
}

/// Runs both checks on one case; a hang counts as a failure.
pub fn check(case: &Case) {
    RUNTIME.with(|rt| {
        rt.block_on(async {
            tokio::time::timeout(Duration::from_secs(10), async {
                check_response(case).await;
                check_wire(case).await;
            })
            .await
            .unwrap_or_else(|_| panic!("the bridge hung on {case:?}"))
        })
    });
}

/// The `http::Response` itself: status, headers and body as the frames describe.
async fn check_response(case: &Case) {
    let want = expected(case);
    let response = forward(case).await;
    assert_eq!(response.status(), want.status, "{case:?}");
    match &want.headers {
        Some(headers) => {
            assert_eq!(response.headers().len(), headers.len(), "{case:?}");
            for (name, _) in headers {
                let got: Vec<&HeaderValue> = response.headers().get_all(name).iter().collect();
                let wanted: Vec<&HeaderValue> = headers
                    .iter()
                    .filter(|(n, _)| n == name)
                    .map(|(_, v)| v)
                    .collect();
                assert_eq!(got, wanted, "header {name} of {case:?}");
            }
        }
        None => assert!(
            response.headers().contains_key(http::header::CONTENT_TYPE),
            "{case:?}"
        ),
    }
    let body = axum::body::to_bytes(response.into_body(), usize::MAX).await;
    match (&want.body, body) {
        (Ok(expected), Ok(got)) if want.headers.is_some() => {
            assert_eq!(got.as_ref(), expected.as_slice(), "body of {case:?}")
        }
        (Ok(_), Ok(got)) => assert!(!got.is_empty(), "the 502 explains itself"),
        (Err(()), Err(_)) => {}
        (want, got) => panic!("body {got:?}, expected {want:?}, for {case:?}"),
    }
}

/// A well-formed HTTP/1.1 response on the wire: a status line and headers that parse; a final
/// status; and, when the plugin left framing to the host, a body framed as sent, or cut short
/// (so the client can tell) when the plugin's stream failed.
async fn check_wire(case: &Case) {
    let want = expected(case);
    let response = forward(case).await;
    let raw = serve_once(response).await;
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut parsed = httparse::Response::new(&mut headers);
    let head_len = match parsed.parse(&raw) {
        Ok(httparse::Status::Complete(n)) => n,
        other => panic!(
            "not an HTTP response ({other:?}): {:?} for {case:?}",
            String::from_utf8_lossy(&raw)
        ),
    };
    let code = parsed.code.expect("a parsed response has a code");
    assert!(
        code >= 200,
        "the client got {code} instead of a final response, for {case:?}"
    );
    let framing_by_plugin = want.headers.iter().flatten().any(|(name, _)| {
        name == http::header::CONTENT_LENGTH || name == http::header::TRANSFER_ENCODING
    });
    if framing_by_plugin {
        return;
    }
    let header = |n: &str| {
        parsed
            .headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(n))
            .map(|h| String::from_utf8_lossy(h.value).into_owned())
    };
    let rest = &raw[head_len..];
    let no_body = code == 204 || code == 304;
    let body = if no_body {
        assert!(rest.is_empty(), "{code} with a body, for {case:?}");
        Some(Vec::new())
    } else if header("transfer-encoding").is_some_and(|t| t.contains("chunked")) {
        dechunk(rest)
    } else if let Some(len) = header("content-length").and_then(|l| l.parse::<usize>().ok()) {
        (rest.len() == len).then(|| rest.to_vec())
    } else {
        Some(rest.to_vec())
    };
    if code != want.status.as_u16() || no_body {
        return;
    }
    match (&want.body, body) {
        (Ok(expected), Some(got)) if want.headers.is_some() => {
            assert_eq!(&got, expected, "wire body of {case:?}")
        }
        (Ok(_), Some(_)) => {}
        (Err(()), None) => {}
        (want, got) => panic!(
            "wire body {got:?}, expected {want:?} (complete when Ok), for {case:?}: {:?}",
            String::from_utf8_lossy(&raw)
        ),
    }
}

/// Serves `response` to one GET over an in-memory connection; returns the bytes written.
async fn serve_once(response: http::Response<Body>) -> Vec<u8> {
    let (mut client, server) = tokio::io::duplex(1 << 16);
    let response = Mutex::new(Some(response));
    let service = hyper::service::service_fn(move |_request| {
        let response = response.lock().unwrap().take().unwrap_or_default();
        async move { Ok::<_, std::convert::Infallible>(response) }
    });
    let connection = hyper::server::conn::http1::Builder::new()
        .serve_connection(hyper_util::rt::TokioIo::new(server), service);
    // A failing body ends the connection with an error: that is the expected outcome then.
    let served = tokio::spawn(async move {
        let _ = connection.await;
    });
    client
        .write_all(b"GET /plugins/fuzz/ HTTP/1.1\r\nHost: fuzz\r\nConnection: close\r\n\r\n")
        .await
        .expect("writing the request");
    let mut raw = Vec::new();
    let _ = client.read_to_end(&mut raw).await;
    let _ = served.await;
    raw
}

/// A complete chunked body, or `None` when it is cut short or malformed.
fn dechunk(mut rest: &[u8]) -> Option<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let line_end = rest.windows(2).position(|w| w == b"\r\n")?;
        let size_text = std::str::from_utf8(&rest[..line_end]).ok()?;
        let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
        rest = &rest[line_end + 2..];
        if size == 0 {
            // Trailers (none expected), then the final CRLF.
            return rest.starts_with(b"\r\n").then_some(body);
        }
        if rest.len() < size + 2 || &rest[size..size + 2] != b"\r\n" {
            return None;
        }
        body.extend_from_slice(&rest[..size]);
        rest = &rest[size + 2..];
    }
}
