//! Plugin and server configuration in the in-memory backend.

#[path = "memory_support.rs"]
mod support;

use mattermost_plugin_api::support::any;
use mattermost_plugin_api::{PluginApi, pb};
use mattermost_plugin_devhost::backend::memory::MemoryBackend;
use serde_json::json;
use support::{PLUGIN_ID, ctx, ctx_of, expect_status};

fn loaded(bytes: Vec<u8>) -> serde_json::Value {
    serde_json::from_slice(&bytes).expect("LoadPluginConfiguration returns JSON")
}

#[tokio::test]
async fn load_plugin_configuration_is_an_empty_object_by_default() {
    let backend = MemoryBackend::new();
    let bytes = backend.load_plugin_configuration(&ctx()).await.unwrap();
    assert_eq!(loaded(bytes), json!({}));
    let config = backend.get_plugin_config(&ctx()).await.unwrap().unwrap();
    assert!(config.entries.is_empty());
}

#[tokio::test]
async fn configuration_set_as_json_loads_back_as_the_same_json() {
    let backend = MemoryBackend::new();
    let config = json!({"ApiKey": "secret", "Retries": 3, "Ratio": 0.5, "Enabled": true, "Tags": ["a", "b"], "Nested": {"x": null}});
    backend
        .set_plugin_config_json(PLUGIN_ID, config.to_string().as_bytes())
        .unwrap();
    let bytes = backend.load_plugin_configuration(&ctx()).await.unwrap();
    assert_eq!(loaded(bytes), config, "integers stay integers");
    assert_eq!(loaded(backend.plugin_config_json(PLUGIN_ID)), config);

    let as_struct = backend.get_plugin_config(&ctx()).await.unwrap().unwrap();
    assert_eq!(
        as_struct.entries.get("ApiKey"),
        Some(&any::string("secret"))
    );
    assert_eq!(
        as_struct.entries.get("Retries"),
        Some(&any::int(3)),
        "a whole number is an integer, not a float"
    );

    let other = backend
        .load_plugin_configuration(&ctx_of("com.example.other"))
        .await
        .unwrap();
    assert_eq!(
        loaded(other),
        json!({}),
        "each plugin has its own configuration"
    );

    for bad in [&b"[1, 2]"[..], b"not json"] {
        let e = support::app_error(backend.set_plugin_config_json(PLUGIN_ID, bad));
        assert_eq!(e.status_code, 400);
    }
}

#[tokio::test]
async fn save_plugin_config_is_what_load_and_get_config_see() {
    let backend = MemoryBackend::new();
    let config = any::map([("Channel", any::string("town-square"))]);
    backend
        .save_plugin_config(&ctx(), Some(config.clone()))
        .await
        .unwrap();
    let bytes = backend.load_plugin_configuration(&ctx()).await.unwrap();
    assert_eq!(loaded(bytes), json!({"Channel": "town-square"}));

    let server_config = backend.get_config(&ctx()).await.unwrap().unwrap();
    let plugins = &server_config.plugin_settings.as_ref().unwrap().plugins;
    assert_eq!(
        plugins.get(PLUGIN_ID),
        Some(&config),
        "stored under PluginSettings.Plugins"
    );
}

#[tokio::test]
async fn server_config_has_defaults_and_can_be_replaced() {
    let backend = MemoryBackend::new();
    let config = backend.get_config(&ctx()).await.unwrap().unwrap();
    let site_url = config
        .service_settings
        .as_ref()
        .and_then(|s| s.site_url.clone());
    assert_eq!(site_url.as_deref(), Some("http://localhost:8065"));
    assert_eq!(
        config.plugin_settings.as_ref().and_then(|p| p.enable),
        Some(true)
    );

    let mut changed = config.clone();
    changed.service_settings = Some(pb::ServiceSettings {
        site_url: Some("https://chat.example.com".into()),
        ..Default::default()
    });
    backend
        .save_config(&ctx(), Some(changed.clone()))
        .await
        .unwrap();
    assert_eq!(
        backend.get_config(&ctx()).await.unwrap(),
        Some(changed.clone())
    );
    assert_eq!(
        backend.get_unsanitized_config(&ctx()).await.unwrap(),
        Some(changed)
    );
    expect_status(backend.save_config(&ctx(), None).await, 400, "SaveConfig");
}
