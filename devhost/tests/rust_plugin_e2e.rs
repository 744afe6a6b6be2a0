//! A plugin written in Rust against the generated crate only (hooks server + API client), driven
//! by an in-process host over real gRPC with the in-memory backend: OnActivate creates a bot and
//! stores its id in the KV store; MessageWillBePosted rejects spam; MessageHasBeenPosted replies in
//! the thread through the API.

use mattermost_plugin_api::pb;
use mattermost_plugin_api::{
    ApiError, CallContext, PluginApi, PluginApiClient, PluginApiServer, PluginHooks,
    PluginHooksClient, PluginHooksServer,
};
use mattermost_plugin_devhost::backend::memory::MemoryBackend;

const PLUGIN_ID: &str = "com.example.echo";

struct EchoPlugin {
    api: PluginApiClient,
}

impl EchoPlugin {
    fn ctx() -> CallContext {
        CallContext::new(PLUGIN_ID)
    }

    async fn bot_id(&self) -> Result<String, ApiError> {
        let raw = self.api.kv_get(&Self::ctx(), "bot_id".into()).await?;
        Ok(String::from_utf8_lossy(&raw).into_owned())
    }
}

impl PluginHooks for EchoPlugin {
    async fn implemented(&self, _ctx: &CallContext) -> Result<Vec<String>, ApiError> {
        Ok(
            ["OnActivate", "MessageWillBePosted", "MessageHasBeenPosted"]
                .map(String::from)
                .to_vec(),
        )
    }

    async fn on_activate(&self, _ctx: &CallContext) -> Result<(), ApiError> {
        let bot = pb::Bot {
            username: "echo-bot".into(),
            display_name: "Echo".into(),
            ..Default::default()
        };
        let bot_id = self.api.ensure_bot_user(&Self::ctx(), Some(bot)).await?;
        self.api
            .kv_set(&Self::ctx(), "bot_id".into(), bot_id.into_bytes())
            .await
    }

    async fn message_will_be_posted(
        &self,
        _ctx: &CallContext,
        _context: Option<pb::PluginContext>,
        post: Option<pb::Post>,
    ) -> Result<(Option<pb::Post>, String), ApiError> {
        let post = post.unwrap_or_default();
        if post.message.to_lowercase().contains("spam") {
            return Ok((None, "Echo does not allow spam".into()));
        }
        Ok((None, String::new()))
    }

    async fn message_has_been_posted(
        &self,
        _ctx: &CallContext,
        _context: Option<pb::PluginContext>,
        post: Option<pb::Post>,
    ) -> Result<(), ApiError> {
        let post = post.unwrap_or_default();
        let bot_id = self.bot_id().await?;
        if post.user_id == bot_id {
            return Ok(());
        }
        let reply = pb::Post {
            channel_id: post.channel_id,
            root_id: post.id,
            user_id: bot_id,
            message: format!("echo: {}", post.message),
            ..Default::default()
        };
        self.api
            .create_post(&Self::ctx(), Some(reply))
            .await
            .map(|_| ())
    }
}

async fn serve<S>(service: S) -> tonic::transport::Channel
where
    S: tower_service::Service<
            http::Request<tonic::body::Body>,
            Response = http::Response<tonic::body::Body>,
            Error = std::convert::Infallible,
        > + tonic::server::NamedService
        + Clone
        + Send
        + Sync
        + 'static,
    S::Future: Send + 'static,
{
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(service)
            .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener)),
    );
    tonic::transport::Endpoint::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_plugin_end_to_end_on_the_memory_backend() {
    // Host: the memory backend behind the API server.
    let backend = MemoryBackend::new();
    let api_channel = serve(PluginApiServer::new(backend.clone()).into_service(64 << 20)).await;
    // Plugin: the hooks server, calling back through an API client.
    let plugin = EchoPlugin {
        api: PluginApiClient::new(api_channel),
    };
    let hooks =
        PluginHooksClient::new(serve(PluginHooksServer::new(plugin).into_service(64 << 20)).await);

    let host = CallContext::new("host");
    let user = backend
        .create_user(
            &host,
            Some(pb::User {
                username: "alice".into(),
                email: "alice@example.com".into(),
                ..Default::default()
            }),
        )
        .await
        .unwrap()
        .unwrap();
    let team = backend
        .create_team(
            &host,
            Some(pb::Team {
                name: "team".into(),
                display_name: "Team".into(),
                r#type: "O".into(),
                ..Default::default()
            }),
        )
        .await
        .unwrap()
        .unwrap();
    let channel = backend
        .create_channel(
            &host,
            Some(pb::Channel {
                team_id: team.id.clone(),
                name: "town".into(),
                display_name: "Town".into(),
                r#type: "O".into(),
                ..Default::default()
            }),
        )
        .await
        .unwrap()
        .unwrap();

    // OnActivate: the plugin made a bot and remembered it in its own KV namespace.
    hooks.on_activate(&host).await.unwrap();
    let plugin_ctx = CallContext::new(PLUGIN_ID);
    let bot_id =
        String::from_utf8(backend.kv_get(&plugin_ctx, "bot_id".into()).await.unwrap()).unwrap();
    let bot = backend
        .get_user(&host, bot_id.clone())
        .await
        .unwrap()
        .unwrap();
    assert!(bot.is_bot);
    assert_eq!(bot.username, "echo-bot");
    assert!(
        backend
            .kv_get(&host, "bot_id".into())
            .await
            .unwrap()
            .is_empty(),
        "KV is per plugin"
    );

    // What the dev host does for a new post: MessageWillBePosted → store → MessageHasBeenPosted.
    let draft = |message: &str| pb::Post {
        channel_id: channel.id.clone(),
        user_id: user.id.clone(),
        message: message.into(),
        ..Default::default()
    };
    let (replacement, reason) = hooks
        .message_will_be_posted(&host, None, Some(draft("buy spam now")))
        .await
        .unwrap();
    assert!(replacement.is_none());
    assert_eq!(reason, "Echo does not allow spam");

    let (replacement, reason) = hooks
        .message_will_be_posted(&host, None, Some(draft("hello")))
        .await
        .unwrap();
    assert_eq!(reason, "");
    let stored = backend
        .create_post(&host, Some(replacement.unwrap_or_else(|| draft("hello"))))
        .await
        .unwrap()
        .unwrap();
    hooks
        .message_has_been_posted(&host, None, Some(stored.clone()))
        .await
        .unwrap();

    let thread = backend
        .get_post_thread(&host, stored.id.clone())
        .await
        .unwrap()
        .unwrap();
    let mut messages: Vec<(String, String)> = thread
        .posts
        .values()
        .map(|p| (p.user_id.clone(), p.message.clone()))
        .collect();
    messages.sort();
    let mut expected = vec![
        (user.id.clone(), "hello".to_string()),
        (bot_id.clone(), "echo: hello".to_string()),
    ];
    expected.sort();
    assert_eq!(messages, expected);
    let reply = thread.posts.values().find(|p| p.user_id == bot_id).unwrap();
    assert_eq!(reply.root_id, stored.id);
}
