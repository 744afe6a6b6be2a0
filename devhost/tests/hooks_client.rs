//! The host's hooks client against a Rust plugin served over real gRPC: hooks the plugin does not
//! declare are answered with Go's defaults without a call, a slow hook times out to its default,
//! and `Implemented` is asked exactly once.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use mattermost_plugin_api::pb;
use mattermost_plugin_api::{
    ApiError, BoxStream, CallContext, PluginHooks, PluginHooksClient, PluginHooksServer,
};

#[derive(Default)]
struct Counters {
    implemented: AtomicUsize,
    undeclared: AtomicUsize,
    posted: AtomicUsize,
}

/// Declares MessageWillBePosted and UserWillLogIn; overrides MessageWillBeUpdated without
/// declaring it, so any call that reaches it shows the client did not skip it.
struct TestPlugin {
    counters: Arc<Counters>,
}

impl PluginHooks for TestPlugin {
    async fn implemented(&self, _ctx: &CallContext) -> Result<Vec<String>, ApiError> {
        self.counters.implemented.fetch_add(1, Ordering::SeqCst);
        Ok(vec!["MessageWillBePosted".into(), "UserWillLogIn".into()])
    }

    async fn message_will_be_posted(
        &self,
        _ctx: &CallContext,
        _context: Option<pb::PluginContext>,
        post: Option<pb::Post>,
    ) -> Result<(Option<pb::Post>, String), ApiError> {
        self.counters.posted.fetch_add(1, Ordering::SeqCst);
        let mut post = post.unwrap_or_default();
        if post.message.contains("forbidden") {
            return Ok((None, "no forbidden words".into()));
        }
        post.message = post.message.to_uppercase();
        Ok((Some(post), String::new()))
    }

    async fn message_will_be_updated(
        &self,
        _ctx: &CallContext,
        _context: Option<pb::PluginContext>,
        _new_post: Option<pb::Post>,
        _old_post: Option<pb::Post>,
    ) -> Result<(Option<pb::Post>, String), ApiError> {
        self.counters.undeclared.fetch_add(1, Ordering::SeqCst);
        Ok((None, "must never be reached".into()))
    }

    async fn user_will_log_in(
        &self,
        _ctx: &CallContext,
        _context: Option<pb::PluginContext>,
        _user: Option<pb::User>,
    ) -> Result<String, ApiError> {
        tokio::time::sleep(Duration::from_secs(5)).await;
        Ok("rejected too late".into())
    }
}

async fn start() -> (PluginHooksClient, Arc<Counters>) {
    let counters = Arc::new(Counters::default());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let service = PluginHooksServer::new(TestPlugin {
        counters: counters.clone(),
    })
    .into_service(16 << 20);
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(service)
            .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener)),
    );
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect()
        .await
        .unwrap();
    (PluginHooksClient::new(channel), counters)
}

fn post(message: &str) -> Option<pb::Post> {
    Some(pb::Post {
        message: message.into(),
        ..Default::default()
    })
}

#[tokio::test]
async fn declared_hooks_are_called_and_their_results_arrive() {
    let (client, counters) = start().await;
    let ctx = CallContext::new("test");
    let (replacement, reason) = client
        .message_will_be_posted(&ctx, None, post("hello"))
        .await
        .unwrap();
    assert_eq!(replacement.unwrap().message, "HELLO");
    assert_eq!(reason, "");
    let (replacement, reason) = client
        .message_will_be_posted(&ctx, None, post("forbidden"))
        .await
        .unwrap();
    assert!(replacement.is_none());
    assert_eq!(reason, "no forbidden words");
    assert_eq!(counters.posted.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn undeclared_hooks_get_go_defaults_without_a_call() {
    let (client, counters) = start().await;
    let ctx = CallContext::new("test");
    let (replacement, reason) = client
        .message_will_be_updated(&ctx, None, post("new"), post("old"))
        .await
        .unwrap();
    assert!(replacement.is_none(), "zero value: no replacement");
    assert_eq!(reason, "");
    assert_eq!(
        counters.undeclared.load(Ordering::SeqCst),
        0,
        "the undeclared hook was not called"
    );

    // Unit-returning hooks: Ok(()) without a call.
    client.on_activate(&ctx).await.unwrap();

    // ServeHTTP: 404, like Go's http.NotFound.
    let frames: BoxStream<Result<pb::ServeHttpRequest, ApiError>> =
        Box::pin(futures_util::stream::iter([Ok(pb::ServeHttpRequest {
            head: Some(pb::HttpRequestHead {
                method: "GET".into(),
                url: "/x".into(),
                ..Default::default()
            }),
            body_complete: true,
            ..Default::default()
        })]));
    let responses: Vec<_> = client
        .serve_http(&ctx, frames)
        .await
        .unwrap()
        .collect()
        .await;
    let first = responses[0].as_ref().unwrap();
    assert_eq!(first.head.as_ref().unwrap().status_code, 404);
    assert!(first.body_complete);

    // FileWillBeUploaded: the uploaded file's info comes back unchanged.
    let info = pb::FileInfo {
        id: "f".repeat(26),
        name: "a.txt".into(),
        size: 3,
        ..Default::default()
    };
    let frames: BoxStream<Result<pb::FileWillBeUploadedRequest, ApiError>> =
        Box::pin(futures_util::stream::iter([
            Ok(pb::FileWillBeUploadedRequest {
                info: Some(info.clone()),
                ..Default::default()
            }),
            Ok(pb::FileWillBeUploadedRequest {
                file_chunk: b"abc".to_vec(),
                file_complete: true,
                ..Default::default()
            }),
        ]));
    let responses: Vec<_> = client
        .file_will_be_uploaded(&ctx, frames)
        .await
        .unwrap()
        .collect()
        .await;
    let last = responses.last().unwrap().as_ref().unwrap();
    assert_eq!(last.replacement.as_ref(), Some(&info));
    assert!(last.complete && last.rejection_reason.is_empty());
}

#[tokio::test]
async fn a_slow_hook_times_out_to_its_default() {
    let (client, _) = start().await;
    let client = client.with_hook_timeout("UserWillLogIn", Duration::from_millis(200));
    let started = Instant::now();
    let verdict = client
        .user_will_log_in(&CallContext::new("test"), None, None)
        .await
        .unwrap();
    assert_eq!(verdict, "", "the default lets the user log in");
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "returned at the timeout, not when the hook finished"
    );
}

#[tokio::test]
async fn implemented_is_asked_once() {
    let (client, counters) = start().await;
    let ctx = CallContext::new("test");
    for _ in 0..3 {
        client
            .message_will_be_posted(&ctx, None, post("x"))
            .await
            .unwrap();
        client
            .message_will_be_updated(&ctx, None, None, None)
            .await
            .unwrap();
        client.on_deactivate(&ctx).await.unwrap();
    }
    let clone = client.clone();
    clone
        .message_will_be_posted(&ctx, None, post("y"))
        .await
        .unwrap();
    assert_eq!(counters.implemented.load(Ordering::SeqCst), 1);
    let names = client.implemented_hooks().await.unwrap();
    assert!(names.contains("MessageWillBePosted") && names.contains("UserWillLogIn"));
}
