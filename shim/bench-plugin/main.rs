//! `mm-shim-bench-plugin`: the stock-server bench's plugin in Rust, giving the same answers as
//! its Python plugin and the native Go one (`tests/mmhost/bench_test.go`). Started through the
//! shim (its bundle's `plugin.py` execs it), it measures what the shim itself costs, without
//! Python's own gRPC hop.
//!
//! - MessageWillBePosted: the post with " ok" appended;
//! - ExecuteCommand `/getuser <n>`: n GetUser calls for the caller, then "done"; else the pid;
//! - ServeHTTP: a POST answers its body's length; a GET streams `size=<n>` zero bytes.

use futures_util::StreamExt;
use mattermost_plugin_api::pb;
use mattermost_plugin_api::{
    ApiError, BoxStream, CallContext, PluginApi, PluginApiClient, PluginHooks,
};

type Frames = BoxStream<Result<pb::ServeHttpRequest, ApiError>>;
type Out = BoxStream<Result<pb::ServeHttpResponse, ApiError>>;

/// The same 64 KiB chunks as the Python plugin writes.
const BLOCK: usize = 64 << 10;

struct Bench {
    api: PluginApiClient,
}

fn head(status: i32, content_type: &str) -> pb::ServeHttpResponse {
    pb::ServeHttpResponse {
        head: Some(pb::HttpResponseHead {
            status_code: status,
            headers: vec![pb::HttpHeader {
                name: "Content-Type".into(),
                values: vec![content_type.into()],
            }],
        }),
        ..Default::default()
    }
}

impl PluginHooks for Bench {
    async fn implemented(&self, _ctx: &CallContext) -> Result<Vec<String>, ApiError> {
        Ok(["ServeHTTP", "ExecuteCommand", "MessageWillBePosted"]
            .map(String::from)
            .to_vec())
    }

    async fn execute_command(
        &self,
        ctx: &CallContext,
        _context: Option<pb::PluginContext>,
        args: Option<pb::CommandArgs>,
    ) -> Result<Option<pb::CommandResponse>, ApiError> {
        let args = args.unwrap_or_default();
        let fields: Vec<&str> = args.command.split_whitespace().collect();
        let text = match fields[..] {
            ["/getuser", n] => {
                let n: usize = n
                    .parse()
                    .map_err(|_| ApiError::plain(format!("not a count: {n}")))?;
                for _ in 0..n {
                    self.api.get_user(ctx, args.user_id.clone()).await?;
                }
                "done".to_string()
            }
            _ => std::process::id().to_string(),
        };
        Ok(Some(pb::CommandResponse {
            text,
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
        let message = format!("{} ok", post.message);
        Ok((Some(pb::Post { message, ..post }), String::new()))
    }

    async fn serve_http(&self, _ctx: &CallContext, mut frames: Frames) -> Result<Out, ApiError> {
        let first = frames.next().await.transpose()?.unwrap_or_default();
        let request = first.head.clone().unwrap_or_default();
        if request.method == "POST" {
            let mut length = first.body_chunk.len();
            let mut complete = first.body_complete;
            while !complete {
                let Some(frame) = frames.next().await.transpose()? else {
                    break;
                };
                length += frame.body_chunk.len();
                complete = frame.body_complete;
            }
            let mut answer = head(200, "text/plain");
            answer.body_chunk = length.to_string().into_bytes();
            answer.body_complete = true;
            return Ok(Box::pin(futures_util::stream::iter([Ok(answer)])));
        }
        let size: usize = request
            .url
            .split_once("size=")
            .and_then(|(_, n)| n.parse().ok())
            .unwrap_or(0);
        let zeros = vec![0u8; BLOCK];
        let chunks = (0..size.div_ceil(BLOCK)).map(move |i| pb::ServeHttpResponse {
            body_chunk: zeros[..BLOCK.min(size - i * BLOCK)].to_vec(),
            ..Default::default()
        });
        let complete = pb::ServeHttpResponse {
            body_complete: true,
            ..Default::default()
        };
        let frames = std::iter::once(head(200, "application/octet-stream"))
            .chain(chunks)
            .chain(std::iter::once(complete));
        Ok(Box::pin(futures_util::stream::iter(frames).map(Ok)))
    }
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match mattermost_plugin_runtime::plugin_side::serve(|api| Bench { api }).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("mm-shim-bench-plugin: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
