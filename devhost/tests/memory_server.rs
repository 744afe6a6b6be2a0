//! Server facts, slash command registration and unmodelled methods of the in-memory backend.

#[path = "memory_support.rs"]
mod support;

use std::time::Duration;

use mattermost_plugin_api::{PluginApi, pb};
use mattermost_plugin_devhost::backend::memory::{ID_LEN, MemoryBackend, is_valid_id, new_id};
use support::{PLUGIN_ID, app_error, ctx, ctx_of};

#[tokio::test]
async fn server_version_is_configurable() {
    let backend = MemoryBackend::new();
    assert_eq!(backend.get_server_version(&ctx()).await.unwrap(), "11.11.0");
    backend.set_server_version("9.11.2");
    assert_eq!(backend.get_server_version(&ctx()).await.unwrap(), "9.11.2");
    assert_eq!(backend.server_version(), "9.11.2");
}

#[tokio::test]
async fn install_date_and_diagnostic_id_are_stable() {
    let backend = MemoryBackend::new();
    let installed = backend.get_system_install_date(&ctx()).await.unwrap();
    assert!(installed > 0 && installed <= backend.now_millis());
    backend.advance_clock(Duration::from_secs(3600));
    assert_eq!(
        backend.get_system_install_date(&ctx()).await.unwrap(),
        installed
    );

    let diagnostic = backend.get_diagnostic_id(&ctx()).await.unwrap();
    assert!(is_valid_id(&diagnostic));
    assert_eq!(backend.get_diagnostic_id(&ctx()).await.unwrap(), diagnostic);
    assert_eq!(backend.get_telemetry_id(&ctx()).await.unwrap(), diagnostic);
    assert_ne!(
        MemoryBackend::new().diagnostic_id(),
        diagnostic,
        "each server has its own"
    );
}

#[tokio::test]
async fn runs_unlicensed() {
    let backend = MemoryBackend::new();
    assert_eq!(backend.get_license(&ctx()).await.unwrap(), None);
    assert!(!backend.is_enterprise_ready(&ctx()).await.unwrap());
    assert_eq!(backend.get_plugin_id(&ctx()).await.unwrap(), PLUGIN_ID);
}

#[test]
fn new_ids_look_like_mattermost_ids() {
    let ids: Vec<String> = (0..100).map(|_| new_id()).collect();
    for id in &ids {
        assert_eq!(id.len(), ID_LEN);
        assert!(
            id.bytes()
                .all(|b| b"ybndrfg8ejkmcpqxot1uwisza345h769".contains(&b)),
            "{id}"
        );
    }
    let mut unique = ids.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), ids.len());
}

#[tokio::test]
async fn unmodelled_methods_answer_501_naming_the_method() {
    let backend = MemoryBackend::new();
    let e = app_error(
        backend
            .create_oauth_app(&ctx(), Some(pb::OAuthApp::default()))
            .await,
    );
    assert_eq!(e.status_code, 501);
    assert!(
        e.message.contains("CreateOAuthApp") || e.r#where == "CreateOAuthApp",
        "{e:?}"
    );

    let e = app_error(backend.get_group(&ctx(), support::UNKNOWN_ID.into()).await);
    assert_eq!((e.status_code, e.r#where.as_str()), (501, "GetGroup"));
    let e = app_error(
        backend
            .search_channels(&ctx(), String::new(), "x".into())
            .await,
    );
    assert_eq!((e.status_code, e.r#where.as_str()), (501, "SearchChannels"));
}

#[tokio::test]
async fn plugin_commands_register_list_and_unregister() {
    let backend = MemoryBackend::new();
    let command = |trigger: &str, team_id: &str| pb::Command {
        trigger: trigger.into(),
        team_id: team_id.into(),
        auto_complete: true,
        auto_complete_desc: "Does things".into(),
        ..Default::default()
    };
    let team = support::UNKNOWN_ID;
    backend
        .register_command(&ctx(), Some(command("Todo", "")))
        .await
        .unwrap();
    backend
        .register_command(&ctx(), Some(command("todo", "")))
        .await
        .unwrap();
    backend
        .register_command(&ctx(), Some(command("local", team)))
        .await
        .unwrap();
    backend
        .register_command(&ctx_of("com.example.other"), Some(command("other", "")))
        .await
        .unwrap();

    let listed = backend
        .list_plugin_commands(&ctx(), team.into())
        .await
        .unwrap();
    let mut triggers: Vec<_> = listed
        .iter()
        .map(|c| (c.trigger.as_str(), c.plugin_id.as_str()))
        .collect();
    triggers.sort();
    assert_eq!(
        triggers,
        [
            ("local", PLUGIN_ID),
            ("other", "com.example.other"),
            ("todo", PLUGIN_ID)
        ],
        "triggers are lowercased and re-registering replaces"
    );
    let elsewhere = backend
        .list_plugin_commands(&ctx(), String::new())
        .await
        .unwrap();
    assert_eq!(elsewhere.len(), 2, "team commands only show for their team");

    backend
        .unregister_command(&ctx(), String::new(), "TODO".into())
        .await
        .unwrap();
    let listed = backend
        .list_plugin_commands(&ctx(), String::new())
        .await
        .unwrap();
    assert_eq!(
        listed
            .iter()
            .map(|c| c.trigger.as_str())
            .collect::<Vec<_>>(),
        ["other"]
    );

    assert!(
        backend
            .register_command(&ctx(), Some(command("two words", "")))
            .await
            .is_err()
    );
    assert!(
        backend
            .register_command(&ctx(), Some(command("  ", "")))
            .await
            .is_err()
    );
    assert!(backend.register_command(&ctx(), None).await.is_err());
}
