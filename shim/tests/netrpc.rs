//! The generated net/rpc halves (`mattermost-plugin-gob`) on the shim's net/rpc server and
//! client, over an in-memory stream: `Registry` for `rpc::Service`, `Caller` for `rpc::Client`
//! and the late-bound `ApiConnection`.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use mattermost_plugin_api::{ApiError, CallContext, PluginApi, PluginHooks, pb};
use mattermost_plugin_gob::netrpc::{NetRpcApi, NetRpcHooks, register_api, register_hooks};
use mattermost_plugin_shim::netrpc::ApiConnection;
use mattermost_plugin_shim::rpc::{Client, Server, Service};

const ADA: &str = "adaadaadaadaadaadaadaadaad";

struct Api;

impl PluginApi for Api {
    fn get_server_version(
        &self,
        _ctx: &CallContext,
    ) -> impl Future<Output = Result<String, ApiError>> + Send {
        std::future::ready(Ok("10.11.0".to_string()))
    }

    fn get_user(
        &self,
        _ctx: &CallContext,
        user_id: String,
    ) -> impl Future<Output = Result<Option<pb::User>, ApiError>> + Send {
        std::future::ready(if user_id == ADA {
            Ok(Some(pb::User {
                id: user_id,
                username: "ada".into(),
                email: "ada@example.com".into(),
                create_at: 1_700_000_000_123,
                ..Default::default()
            }))
        } else {
            Err(ApiError::app(
                404,
                "app.user.missing.app_error",
                "no such user",
            ))
        })
    }
}

/// A client whose calls a `"Plugin"` service built by `service` answers.
fn connect(service: Service) -> Client {
    let (ours, theirs) = tokio::io::duplex(64 << 10);
    tokio::spawn(async move {
        Server::new()
            .register("Plugin", service)
            .serve(theirs)
            .await
    });
    Client::new(ours)
}

fn ctx() -> CallContext {
    CallContext::new("com.example.shim")
}

#[tokio::test]
async fn api_calls_cross_the_shims_net_rpc() {
    let api = NetRpcApi::new(connect(register_api(Service::new(), Arc::new(Api), ctx())));
    assert_eq!(api.get_server_version(&ctx()).await.unwrap(), "10.11.0");
    let user = api.get_user(&ctx(), ADA.into()).await.unwrap().unwrap();
    assert_eq!(
        (
            user.id.as_str(),
            user.username.as_str(),
            user.email.as_str()
        ),
        (ADA, "ada", "ada@example.com")
    );
    assert_eq!(user.create_at, 1_700_000_000_123);
    match api.get_user(&ctx(), "x".repeat(26)).await {
        Err(ApiError::App(e)) => {
            assert_eq!(
                (e.status_code, e.id.as_str()),
                (404, "app.user.missing.app_error")
            );
        }
        other => panic!("expected the server's AppError, got {other:?}"),
    }
}

#[tokio::test]
async fn a_method_or_service_the_server_lacks_is_501() {
    // No such method on the "Plugin" service, then no "Plugin" service at all.
    let no_method = NetRpcApi::new(connect(Service::new()));
    let (ours, theirs) = tokio::io::duplex(64 << 10);
    tokio::spawn(async move { Server::new().serve(theirs).await });
    let no_service = NetRpcApi::new(Client::new(ours));
    for api in [no_method, no_service] {
        match api.get_user(&ctx(), ADA.into()).await {
            Err(ApiError::App(e)) => {
                assert_eq!(e.status_code, 501, "{e:?}");
                assert!(e.message.contains("GetUser"), "{e:?}");
            }
            other => panic!("expected 501, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn api_calls_wait_for_the_api_stream() {
    let connection = ApiConnection::new(Duration::from_secs(5));
    let api = NetRpcApi::new(connection.clone());
    let early = tokio::spawn(async move { api.get_server_version(&ctx()).await });
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(!early.is_finished(), "a call before OnActivate waits");
    connection.connect(connect(register_api(Service::new(), Arc::new(Api), ctx())));
    assert_eq!(early.await.unwrap().unwrap(), "10.11.0");

    // Never connected: the call fails after the wait, naming why.
    let api = NetRpcApi::new(ApiConnection::new(Duration::from_millis(20)));
    match api.get_server_version(&ctx()).await {
        Err(e) => assert!(e.to_string().contains("OnActivate"), "{e}"),
        Ok(v) => panic!("answered {v:?} without a server"),
    }
}

struct Shouty;

impl PluginHooks for Shouty {
    fn message_will_be_posted(
        &self,
        _ctx: &CallContext,
        _context: Option<pb::PluginContext>,
        post: Option<pb::Post>,
    ) -> impl Future<Output = Result<(Option<pb::Post>, String), ApiError>> + Send {
        let post = post.map(|p| pb::Post {
            message: p.message.to_uppercase(),
            ..p
        });
        std::future::ready(Ok((post, String::new())))
    }
}

#[tokio::test]
async fn hooks_are_served_on_the_shims_service() {
    let server = NetRpcHooks::new(connect(register_hooks(Service::new(), Arc::new(Shouty))));
    let (post, reason) = server
        .message_will_be_posted(
            &ctx(),
            Some(pb::PluginContext::default()),
            Some(pb::Post {
                message: "hello".into(),
                ..Default::default()
            }),
        )
        .await
        .unwrap();
    assert_eq!(
        (post.unwrap().message.as_str(), reason.as_str()),
        ("HELLO", "")
    );
}
