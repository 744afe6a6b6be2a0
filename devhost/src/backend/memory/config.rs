//! Server facts, the server configuration and per-plugin configuration.
//!
//! Plugin configuration lives where Mattermost keeps it, in
//! `Config.PluginSettings.Plugins[plugin_id]`, so `GetConfig` and `GetPluginConfig` agree.

use prost_types::value::Kind;
use prost_types::{ListValue, Struct, Value};
use serde_json::{Map, Number, Value as Json};

use mattermost_plugin_api::pb;

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
    pub(super) fn plugin_config(&self, plugin_id: &str) -> Struct {
        self.config
            .plugin_settings
            .as_ref()
            .and_then(|settings| settings.plugins.get(plugin_id))
            .cloned()
            .unwrap_or_default()
    }

    /// `SavePluginConfig`.
    pub(super) fn set_plugin_config(&mut self, plugin_id: &str, config: Struct) {
        self.config
            .plugin_settings
            .get_or_insert_with(Default::default)
            .plugins
            .insert(plugin_id.to_string(), config);
    }
}

/// The JSON object `LoadPluginConfiguration` hands the plugin to decode.
pub(super) fn struct_to_json_bytes(config: &Struct) -> Vec<u8> {
    struct_to_json(config).to_string().into_bytes()
}

fn struct_to_json(s: &Struct) -> Json {
    Json::Object(
        s.fields
            .iter()
            .map(|(k, v)| (k.clone(), value_to_json(v)))
            .collect::<Map<String, Json>>(),
    )
}

/// A protobuf `Value` as JSON. Whole numbers print without a fraction (so `3` decodes into
/// an integer field), and non-finite numbers, which JSON cannot hold, become null.
pub(super) fn value_to_json(value: &Value) -> Json {
    match &value.kind {
        None | Some(Kind::NullValue(_)) => Json::Null,
        Some(Kind::BoolValue(b)) => Json::Bool(*b),
        Some(Kind::StringValue(s)) => Json::String(s.clone()),
        Some(Kind::NumberValue(n)) => number_to_json(*n),
        Some(Kind::StructValue(s)) => struct_to_json(s),
        Some(Kind::ListValue(list)) => Json::Array(list.values.iter().map(value_to_json).collect()),
    }
}

fn number_to_json(n: f64) -> Json {
    // Integral values within ±2^53 are exactly representable as i64.
    const EXACT: f64 = 9_007_199_254_740_992.0;
    if n.fract() == 0.0 && n.abs() <= EXACT {
        return Json::Number(Number::from(n as i64));
    }
    Number::from_f64(n).map_or(Json::Null, Json::Number)
}

/// Parses a JSON object into a `Struct`; anything else is a 400.
pub(super) fn json_to_struct(bytes: &[u8]) -> Outcome<Struct> {
    let parsed: Json = serde_json::from_slice(bytes).map_err(|e| {
        Fault::bad_request(
            "api.plugin.config.invalid_json.app_error",
            "the plugin configuration is not valid JSON",
        )
        .detail(e.to_string())
    })?;
    match json_to_value(parsed).kind {
        Some(Kind::StructValue(s)) => Ok(s),
        _ => Err(Fault::bad_request(
            "api.plugin.config.not_an_object.app_error",
            "the plugin configuration must be a JSON object",
        )),
    }
}

fn json_to_value(json: Json) -> Value {
    let kind = match json {
        Json::Null => Kind::NullValue(0),
        Json::Bool(b) => Kind::BoolValue(b),
        Json::Number(n) => Kind::NumberValue(n.as_f64().unwrap_or_default()),
        Json::String(s) => Kind::StringValue(s),
        Json::Array(items) => Kind::ListValue(ListValue {
            values: items.into_iter().map(json_to_value).collect(),
        }),
        Json::Object(map) => Kind::StructValue(Struct {
            fields: map
                .into_iter()
                .map(|(k, v)| (k, json_to_value(v)))
                .collect(),
        }),
    };
    Value { kind: Some(kind) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_round_trip_keeps_integers_integral() {
        let config = json_to_struct(br#"{"a":1,"b":[true,null,"x"],"c":{"d":1.5}}"#);
        let config = config.ok().unwrap_or_default();
        let back: Json = serde_json::from_slice(&struct_to_json_bytes(&config)).unwrap_or_default();
        assert_eq!(
            back,
            serde_json::json!({"a":1,"b":[true,null,"x"],"c":{"d":1.5}})
        );
    }

    #[test]
    fn non_objects_and_garbage_are_rejected() {
        assert!(json_to_struct(b"[1]").is_err());
        assert!(json_to_struct(b"{").is_err());
    }

    #[test]
    fn non_finite_numbers_become_null() {
        assert_eq!(number_to_json(f64::NAN), Json::Null);
        assert_eq!(number_to_json(f64::INFINITY), Json::Null);
    }
}
