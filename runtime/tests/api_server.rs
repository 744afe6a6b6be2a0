//! The plugin API server: only callers with a live token get in, the token decides the plugin id,
//! and the Unix socket sits in a directory only this user can enter.

use std::os::unix::fs::PermissionsExt;
use std::sync::Arc;

use mattermost_plugin_api::{ApiError, CallContext, PluginApi, PluginApiClient};
use mattermost_plugin_runtime::api_server::{
    ApiAddr, ApiServer, ApiServerConfig, TOKEN_METADATA, TokenRegistry, Transport,
};
use mattermost_plugin_runtime::supervisor::{PluginAddress, connect};

/// Answers GetServerVersion with the caller's plugin id, to show what the server decided.
struct WhoAmI;

impl PluginApi for WhoAmI {
    async fn get_server_version(&self, ctx: &CallContext) -> Result<String, ApiError> {
        Ok(format!("caller={}", ctx.plugin_id))
    }
}

async fn client_for(addr: &ApiAddr) -> PluginApiClient {
    let address = match addr {
        ApiAddr::Unix(path) => PluginAddress::Unix(path.clone()),
        ApiAddr::Tcp(a) => PluginAddress::Tcp(*a),
    };
    PluginApiClient::new(connect(&address).await.unwrap())
}

async fn check_tokens(transport: Transport) {
    let tokens = TokenRegistry::default();
    let server = ApiServer::start(
        Arc::new(WhoAmI),
        tokens.clone(),
        ApiServerConfig {
            transport,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let token = tokens.issue("com.example.real").unwrap();
    let anonymous = client_for(server.addr()).await;

    let refused = anonymous
        .get_server_version(&CallContext::default())
        .await
        .unwrap_err();
    assert!(
        matches!(&refused, ApiError::Transport { status, .. } if status.code() == tonic::Code::Unauthenticated),
        "{refused:?}"
    );

    let wrong = anonymous
        .clone()
        .with_metadata(TOKEN_METADATA, "not-a-token")
        .unwrap();
    let refused = wrong
        .get_server_version(&CallContext::default())
        .await
        .unwrap_err();
    assert!(
        matches!(&refused, ApiError::Transport { status, .. } if status.code() == tonic::Code::Unauthenticated),
        "{refused:?}"
    );

    // A caller claiming another plugin id still acts as the plugin its token belongs to.
    let good = anonymous
        .clone()
        .with_metadata(TOKEN_METADATA, &token)
        .unwrap();
    let version = good
        .get_server_version(&CallContext::new("com.example.impostor"))
        .await
        .unwrap();
    assert_eq!(version, "caller=com.example.real");

    tokens.revoke(&token);
    assert!(
        good.get_server_version(&CallContext::default())
            .await
            .is_err(),
        "a revoked token is refused"
    );
    server.shutdown().await;
}

#[tokio::test]
async fn unix_socket_requires_a_live_token() {
    check_tokens(Transport::Unix).await;
}

#[tokio::test]
async fn tcp_fallback_requires_a_live_token() {
    check_tokens(Transport::Tcp).await;
}

#[tokio::test]
async fn the_socket_directory_is_private_and_removed_on_shutdown() {
    let server = ApiServer::start(
        Arc::new(WhoAmI),
        TokenRegistry::default(),
        ApiServerConfig::default(),
    )
    .await
    .unwrap();
    let dir = server
        .socket_dir()
        .expect("unix transport by default")
        .to_path_buf();
    let mode = std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o700, "{}", dir.display());
    assert!(server.addr().target().starts_with("unix://"));
    server.shutdown().await;
    assert!(!dir.exists(), "the socket directory is removed");
}
