//! `mm-echo-plugin`: a Rust test plugin for the HTTP bridge, the dev host and the benchmarks,
//! built only from the generated crate and `plugin_side`.
//!
//! ServeHTTP routes (under `/plugins/<id>`):
//! - `/echo`: streams the request body back as it arrives;
//! - `/early`: answers 202 at once without reading the body;
//! - `/status/<n>`: answers with status `n` (whatever it is);
//! - `/headers`: two `X-Multi` values, and the number of `X-Req` values as the body;
//! - `/flush`: writes `first`, flushes, waits for `/flush-release`, then writes `second`;
//! - `/forever`: writes a chunk every 10 ms until the client goes away;
//! - `/cancelled`: how many `/forever` streams were cancelled.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use futures_util::StreamExt;
use mattermost_plugin_api::pb;
use mattermost_plugin_api::{
    ApiError, BoxStream, CallContext, PluginApi, PluginApiClient, PluginHooks,
};
use tokio::sync::{Notify, mpsc};

type Frames = BoxStream<Result<pb::ServeHttpRequest, ApiError>>;
type Out = BoxStream<Result<pb::ServeHttpResponse, ApiError>>;

struct Echo {
    api: PluginApiClient,
    cancelled: Arc<AtomicUsize>,
    release: Arc<Notify>,
}

fn head(status: i32, headers: Vec<(&str, Vec<&str>)>) -> pb::ServeHttpResponse {
    pb::ServeHttpResponse {
        head: Some(pb::HttpResponseHead {
            status_code: status,
            headers: headers
                .into_iter()
                .map(|(n, v)| pb::HttpHeader {
                    name: n.into(),
                    values: v.into_iter().map(String::from).collect(),
                })
                .collect(),
        }),
        ..Default::default()
    }
}

fn chunk(bytes: &[u8]) -> pb::ServeHttpResponse {
    pb::ServeHttpResponse {
        body_chunk: bytes.to_vec(),
        ..Default::default()
    }
}

fn done() -> pb::ServeHttpResponse {
    pb::ServeHttpResponse {
        body_complete: true,
        ..Default::default()
    }
}

fn whole(status: i32, body: &str) -> Out {
    let mut frame = head(status, vec![("Content-Type", vec!["text/plain"])]);
    frame.body_chunk = body.as_bytes().to_vec();
    frame.body_complete = true;
    Box::pin(futures_util::stream::iter([Ok(frame)]))
}

/// Counts a `/forever` stream that ended without completing.
struct CancelGuard(Arc<AtomicUsize>);

impl Drop for CancelGuard {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

impl PluginHooks for Echo {
    async fn implemented(&self, _ctx: &CallContext) -> Result<Vec<String>, ApiError> {
        Ok([
            "OnActivate",
            "ServeHTTP",
            "ExecuteCommand",
            "MessageWillBePosted",
        ]
        .map(String::from)
        .to_vec())
    }

    async fn on_activate(&self, _ctx: &CallContext) -> Result<(), ApiError> {
        // Proves the API callback path works from inside a hook.
        let version = self
            .api
            .get_server_version(&CallContext::default())
            .await
            .unwrap_or_default();
        // A server runs ExecuteCommand only for triggers the plugin registered.
        let echo = pb::Command {
            trigger: "echo".into(),
            auto_complete: true,
            ..Default::default()
        };
        self.api
            .register_command(&CallContext::default(), Some(echo))
            .await?;
        self.api
            .log_info(
                &CallContext::default(),
                format!("echo plugin activated on {version}"),
                Vec::new(),
            )
            .await
    }

    async fn execute_command(
        &self,
        _ctx: &CallContext,
        _context: Option<pb::PluginContext>,
        args: Option<pb::CommandArgs>,
    ) -> Result<Option<pb::CommandResponse>, ApiError> {
        let command = args.map(|a| a.command).unwrap_or_default();
        Ok(Some(pb::CommandResponse {
            response_type: "ephemeral".into(),
            text: format!("echo: {command}"),
            ..Default::default()
        }))
    }

    async fn message_will_be_posted(
        &self,
        _ctx: &CallContext,
        _context: Option<pb::PluginContext>,
        post: Option<pb::Post>,
    ) -> Result<(Option<pb::Post>, String), ApiError> {
        let post = post.unwrap_or_default();
        if post.message.contains("reject") {
            return Ok((None, "the echo plugin rejects this".into()));
        }
        Ok((
            Some(pb::Post {
                message: format!("{} (echoed)", post.message),
                ..post
            }),
            String::new(),
        ))
    }

    async fn serve_http(&self, _ctx: &CallContext, mut frames: Frames) -> Result<Out, ApiError> {
        let first = frames.next().await.transpose()?.unwrap_or_default();
        let request = first.head.unwrap_or_default();
        let path = request
            .url
            .split('?')
            .next()
            .unwrap_or_default()
            .to_string();
        Ok(match path.as_str() {
            "/echo" => {
                // A bounded channel: the plugin reads the next request chunk only when the
                // previous one has been taken, so nothing piles up.
                let (tx, rx) = mpsc::channel::<Result<pb::ServeHttpResponse, ApiError>>(4);
                tokio::spawn(async move {
                    if tx
                        .send(Ok(head(
                            200,
                            vec![("Content-Type", vec!["application/octet-stream"])],
                        )))
                        .await
                        .is_err()
                    {
                        return;
                    }
                    if !first.body_chunk.is_empty()
                        && tx.send(Ok(chunk(&first.body_chunk))).await.is_err()
                    {
                        return;
                    }
                    while let Some(frame) = frames.next().await {
                        let frame = match frame {
                            Ok(f) => f,
                            Err(e) => {
                                let _ = tx.send(Err(e)).await;
                                return;
                            }
                        };
                        if !frame.body_chunk.is_empty()
                            && tx.send(Ok(chunk(&frame.body_chunk))).await.is_err()
                        {
                            return;
                        }
                        if frame.body_complete {
                            break;
                        }
                    }
                    let _ = tx.send(Ok(done())).await;
                });
                Box::pin(tokio_stream::wrappers::ReceiverStream::new(rx))
            }
            "/early" => {
                drop(frames);
                whole(202, "early")
            }
            "/headers" => {
                let count = request
                    .headers
                    .iter()
                    .filter(|h| h.name.eq_ignore_ascii_case("x-req"))
                    .map(|h| h.values.len())
                    .sum::<usize>();
                let mut frame = head(200, vec![("X-Multi", vec!["a", "b"])]);
                frame.body_chunk = count.to_string().into_bytes();
                frame.body_complete = true;
                Box::pin(futures_util::stream::iter([Ok(frame)]))
            }
            "/flush" => {
                let release = self.release.clone();
                let (tx, rx) = mpsc::channel(4);
                tokio::spawn(async move {
                    let _ = tx.send(Ok(head(200, vec![]))).await;
                    let mut first = chunk(b"first");
                    first.flush = true;
                    let _ = tx.send(Ok(first)).await;
                    release.notified().await;
                    let _ = tx.send(Ok(chunk(b"second"))).await;
                    let _ = tx.send(Ok(done())).await;
                });
                Box::pin(tokio_stream::wrappers::ReceiverStream::new(rx))
            }
            "/flush-release" => {
                self.release.notify_one();
                whole(200, "released")
            }
            "/forever" => {
                let cancelled = self.cancelled.clone();
                let (tx, rx) = mpsc::channel(4);
                tokio::spawn(async move {
                    let _guard = CancelGuard(cancelled);
                    if tx.send(Ok(head(200, vec![]))).await.is_err() {
                        return;
                    }
                    loop {
                        tokio::time::sleep(Duration::from_millis(10)).await;
                        if tx.send(Ok(chunk(b"tick\n"))).await.is_err() {
                            return;
                        }
                    }
                });
                Box::pin(tokio_stream::wrappers::ReceiverStream::new(rx))
            }
            "/cancelled" => whole(200, &self.cancelled.load(Ordering::SeqCst).to_string()),
            other => match other
                .strip_prefix("/status/")
                .and_then(|s| s.parse::<i32>().ok())
            {
                Some(status) => whole(status, "status"),
                None => whole(404, "404 page not found\n"),
            },
        })
    }
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let result = mattermost_plugin_runtime::plugin_side::serve(|api| Echo {
        api,
        cancelled: Arc::new(AtomicUsize::new(0)),
        release: Arc::new(Notify::new()),
    })
    .await;
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("mm-echo-plugin: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
