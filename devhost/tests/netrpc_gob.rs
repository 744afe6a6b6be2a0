//! The generated go-plugin net/rpc halves (`mattermost-plugin-gob`) over an in-memory transport
//! that still gob-encodes every call: the API the shim offers a plugin, served here by the dev
//! host's in-memory Mattermost, and hooks served from a plugin's `PluginHooks`.

use std::sync::Arc;

use mattermost_plugin_api::{ApiError, CallContext, PluginApi, PluginHooks, pb};
use mattermost_plugin_devhost::backend::memory::MemoryBackend;
use mattermost_plugin_gob::netrpc::{NetRpcApi, NetRpcHooks, register_api, register_hooks};
use mattermost_plugin_gob::netrpc_base::Loopback;

fn ctx() -> CallContext {
    CallContext::new("com.example.netrpc")
}

#[tokio::test]
async fn api_calls_cross_gob_and_reach_the_server() {
    let backend = MemoryBackend::new();
    let user = backend.seed_user("ada").expect("seed a user");
    let transport = register_api(Loopback::default(), Arc::new(backend.clone()), ctx());
    let api = NetRpcApi::new(transport);

    let fetched = api
        .get_user(&ctx(), user.id.clone())
        .await
        .expect("GetUser");
    assert_eq!(fetched.as_ref().map(|u| u.username.as_str()), Some("ada"));
    assert_eq!(
        fetched,
        backend.get_user(&ctx(), user.id.clone()).await.unwrap()
    );

    let version = api
        .get_server_version(&ctx())
        .await
        .expect("GetServerVersion");
    assert_eq!(version, backend.get_server_version(&ctx()).await.unwrap());

    // The configuration travels as JSON bytes (upstream's own net/rpc shape for it).
    backend
        .set_plugin_config_json("com.example.netrpc", br#"{"Greeting":"Ahoy","Retries":3}"#)
        .expect("set the configuration");
    let ctx_of_plugin = ctx();
    let direct = backend
        .load_plugin_configuration(&ctx_of_plugin)
        .await
        .unwrap();
    assert_eq!(
        api.load_plugin_configuration(&ctx_of_plugin).await.unwrap(),
        direct,
        "LoadPluginConfiguration"
    );

    // An AppError crosses as Mattermost's *model.AppError and comes back whole.
    match api.get_user(&ctx(), "x".repeat(26)).await {
        Err(ApiError::App(e)) => {
            assert_eq!(e.status_code, 404, "{e:?}");
            assert!(!e.id.is_empty() && !e.message.is_empty(), "{e:?}");
        }
        other => panic!("expected a 404 AppError, got {other:?}"),
    }
}

#[tokio::test]
async fn a_method_the_server_lacks_is_not_implemented_by_this_server() {
    // An older server has no `Plugin.GetUser`-style method it never heard of.
    let api = NetRpcApi::new(Loopback::default());
    match api.get_user(&ctx(), "u".repeat(26)).await {
        Err(ApiError::App(e)) => {
            assert_eq!(e.status_code, 501, "{e:?}");
            assert!(e.message.contains("GetUser"), "{e:?}");
        }
        other => panic!("expected 501, got {other:?}"),
    }
}

/// A plugin's hooks, in Rust: shouts posts back, refuses to activate.
struct Shouty;

impl PluginHooks for Shouty {
    fn message_will_be_posted(
        &self,
        _ctx: &CallContext,
        _context: Option<pb::PluginContext>,
        post: Option<pb::Post>,
    ) -> impl std::future::Future<Output = Result<(Option<pb::Post>, String), ApiError>> + Send
    {
        let post = post.map(|p| pb::Post {
            message: p.message.to_uppercase(),
            ..p
        });
        std::future::ready(Ok((post, String::new())))
    }

    fn on_activate(
        &self,
        _ctx: &CallContext,
    ) -> impl std::future::Future<Output = Result<(), ApiError>> + Send {
        std::future::ready(Err(ApiError::plain("no configuration")))
    }
}

#[tokio::test]
async fn hooks_are_served_over_gob_with_their_results_and_errors() {
    let transport = register_hooks(Loopback::default(), Arc::new(Shouty));
    let server_side = NetRpcHooks::new(transport);
    let post = pb::Post {
        message: "hello".into(),
        props: Some(mattermost_plugin_api::support::any::map([(
            "n",
            mattermost_plugin_api::support::any::int(9_007_199_254_740_993),
        )])),
        ..Default::default()
    };
    let (replacement, reason) = server_side
        .message_will_be_posted(
            &ctx(),
            Some(pb::PluginContext::default()),
            Some(post.clone()),
        )
        .await
        .expect("MessageWillBePosted");
    assert_eq!(reason, "");
    let replacement = replacement.expect("a replacement");
    assert_eq!(replacement.message, "HELLO");
    assert_eq!(
        replacement.props, post.props,
        "props keep their kinds across gob"
    );

    // A Go `error` crosses as Mattermost's ErrorString and keeps its text.
    match server_side.on_activate(&ctx()).await {
        Err(ApiError::Error(e)) => assert_eq!(e.message, "no configuration"),
        other => panic!("expected the plugin's error, got {other:?}"),
    }
}
