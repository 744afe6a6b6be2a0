//! Server facts, the server configuration and per-plugin configuration.
//!
//! Plugin configuration lives where Mattermost keeps it, in
//! `Config.PluginSettings.Plugins[plugin_id]`, so `GetConfig` and `GetPluginConfig` agree.

use serde_json::Value as Json;

use mattermost_plugin_api::pb::{self, AnyMap};
use mattermost_plugin_api::support::any;

use super::State;
use super::errors::{Fault, Outcome};
use super::ids::new_id;

/// The newest version `server/public` v0.4.4 knows (first entry of `model/version.go`): what
/// `GetServerVersion` reports unless changed, and what the dev host checks a plugin's
/// `min_server_version` against.
pub const DEFAULT_SERVER_VERSION: &str = "11.11.0";
const DEFAULT_SITE_URL: &str = "http://localhost:8065";

/// Facts `GetServerVersion`, `GetSystemInstallDate` and `GetDiagnosticId` report.
pub(super) struct ServerFacts {
    pub(super) version: String,
    pub(super) install_date: i64,
    pub(super) diagnostic_id: String,
}

impl Default for ServerFacts {
    fn default() -> Self {
        ServerFacts {
            version: DEFAULT_SERVER_VERSION.to_string(),
            install_date: 0,
            diagnostic_id: new_id(),
        }
    }
}

/// A default configuration with the few settings plugins commonly read filled in.
pub(super) fn default_config() -> pb::Config {
    pb::Config {
        service_settings: Some(pb::ServiceSettings {
            site_url: Some(DEFAULT_SITE_URL.to_string()),
            ..Default::default()
        }),
        plugin_settings: Some(pb::PluginSettings {
            enable: Some(true),
            enable_uploads: Some(false),
            ..Default::default()
        }),
        ..Default::default()
    }
}

impl State {
    /// `GetPluginConfig`: the stored map, or an empty one.
    pub(super) fn plugin_config(&self, plugin_id: &str) -> AnyMap {
        self.config
            .plugin_settings
            .as_ref()
            .and_then(|settings| settings.plugins.get(plugin_id))
            .cloned()
            .unwrap_or_default()
    }

    /// `SavePluginConfig`.
    pub(super) fn set_plugin_config(&mut self, plugin_id: &str, config: AnyMap) {
        self.config
            .plugin_settings
            .get_or_insert_with(Default::default)
            .plugins
            .insert(plugin_id.to_string(), config);
    }
}

/// The JSON object `LoadPluginConfiguration` hands the plugin to decode.
pub(super) fn struct_to_json_bytes(config: &AnyMap) -> Vec<u8> {
    struct_to_json(config).to_string().into_bytes()
}

fn struct_to_json(s: &AnyMap) -> Json {
    any::map_to_json(s)
}

/// Parses a JSON object into a `map[string]any`; anything else is a 400. Whole numbers stay
/// integers, as a Go plugin decoding the configuration would see them.
pub(super) fn json_to_struct(bytes: &[u8]) -> Outcome<AnyMap> {
    let parsed: Json = serde_json::from_slice(bytes).map_err(|e| {
        Fault::bad_request(
            "api.plugin.config.invalid_json.app_error",
            "the plugin configuration is not valid JSON",
        )
        .detail(e.to_string())
    })?;
    match parsed {
        Json::Object(entries) => Ok(any::map_from_json(&entries)),
        _ => Err(Fault::bad_request(
            "api.plugin.config.not_an_object.app_error",
            "the plugin configuration must be a JSON object",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_round_trip_keeps_every_number_as_it_was() {
        let text = br#"{"a":1,"big":9007199254740993,"u":18446744073709551615,"neg":-0.0,"b":[true,null,"x"],"c":{"d":1.5}}"#;
        let config = json_to_struct(text).ok().unwrap_or_default();
        assert_eq!(config.entries["big"], any::int(9_007_199_254_740_993));
        assert_eq!(config.entries["u"], any::uint(u64::MAX));
        let back: Json = serde_json::from_slice(&struct_to_json_bytes(&config)).unwrap_or_default();
        assert_eq!(
            back,
            serde_json::json!({"a":1,"big":9007199254740993u64,"u":u64::MAX,"neg":-0.0,"b":[true,null,"x"],"c":{"d":1.5}})
        );
    }

    #[test]
    fn non_objects_and_garbage_are_rejected() {
        assert!(json_to_struct(b"[1]").is_err());
        assert!(json_to_struct(b"{").is_err());
    }
}
