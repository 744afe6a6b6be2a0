//! Log records written through `LogDebug`/`LogInfo`/`LogWarn`/`LogError`, kept in memory.

use mattermost_plugin_api::pb::AnyValue as Value;
use mattermost_plugin_api::support::any;

use super::State;

/// How many records are kept; older ones are dropped so a chatty plugin in a long-running
/// host cannot grow memory without bound.
const MAX_RECORDS: usize = 10_000;

/// Go's `slog` key for a trailing value that has no key.
const DANGLING_KEY: &str = "!BADKEY";

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LogLevel {
    Debug,
    Info,
    Warn,
    Error,
}

/// One log line and its key/value fields.
#[derive(Debug, Clone, PartialEq)]
pub struct LogRecord {
    pub level: LogLevel,
    /// The plugin that wrote it (from the call context).
    pub plugin_id: String,
    pub message: String,
    /// The Go `keyValuePairs`, paired up; keys are rendered as text.
    pub fields: Vec<(String, Value)>,
    /// Server time in milliseconds.
    pub at: i64,
}

impl LogRecord {
    /// The first field named `key`.
    pub fn field(&self, key: &str) -> Option<&Value> {
        self.fields.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// The first field named `key` if it is a string.
    pub fn field_str(&self, key: &str) -> Option<&str> {
        any::as_str(self.field(key)?)
    }
}

/// A key as Go's logger would print it: strings as they are, anything else as JSON.
fn key_text(value: &Value) -> String {
    match any::as_str(value) {
        Some(s) => s.to_string(),
        None => any::to_json(value).to_string(),
    }
}

/// Go's variadic `key1, value1, key2, value2, …` as pairs.
fn pair_up(values: Vec<Value>) -> Vec<(String, Value)> {
    let mut fields = Vec::with_capacity(values.len().div_ceil(2));
    let mut items = values.into_iter();
    while let Some(key) = items.next() {
        match items.next() {
            Some(value) => fields.push((key_text(&key), value)),
            None => fields.push((DANGLING_KEY.to_string(), key)),
        }
    }
    fields
}

fn string_value(s: &str) -> Value {
    any::string(s)
}

impl LogRecord {
    /// The record as JSON for the host's routes: level, plugin, message, fields by key, time.
    pub fn to_json(&self) -> serde_json::Value {
        let fields: serde_json::Map<String, serde_json::Value> = self
            .fields
            .iter()
            .map(|(k, v)| (k.clone(), any::to_json(v)))
            .collect();
        serde_json::json!({
            "level": self.level.as_str(),
            "plugin_id": self.plugin_id,
            "message": self.message,
            "fields": fields,
            "at": self.at,
        })
    }

    /// Shows the record on the host's console at its level, as a server's log would.
    fn emit(&self) {
        let fields = if self.fields.is_empty() {
            String::new()
        } else {
            let pairs: Vec<String> = self
                .fields
                .iter()
                .map(|(k, v)| format!("{k}={}", any::to_json(v)))
                .collect();
            format!(" {}", pairs.join(" "))
        };
        let (plugin_id, message) = (self.plugin_id.as_str(), self.message.as_str());
        macro_rules! log_event {
            ($level:expr) => {
                tracing::event!(target: "mattermost_plugin_devhost::plugin_log", $level, plugin_id, "{message}{fields}")
            };
        }
        match self.level {
            LogLevel::Debug => log_event!(tracing::Level::DEBUG),
            LogLevel::Info => log_event!(tracing::Level::INFO),
            LogLevel::Warn => log_event!(tracing::Level::WARN),
            LogLevel::Error => log_event!(tracing::Level::ERROR),
        }
    }
}

impl LogLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            LogLevel::Debug => "debug",
            LogLevel::Info => "info",
            LogLevel::Warn => "warn",
            LogLevel::Error => "error",
        }
    }
}

impl State {
    fn push_log(&mut self, record: LogRecord) {
        record.emit();
        if self.logs.len() >= MAX_RECORDS {
            self.logs.pop_front();
        }
        self.logs.push_back(record);
    }

    /// A record written by a plugin through the API.
    pub(super) fn log_plugin(
        &mut self,
        level: LogLevel,
        plugin_id: &str,
        message: String,
        pairs: Vec<Value>,
    ) {
        let record = LogRecord {
            level,
            plugin_id: plugin_id.to_string(),
            message,
            fields: pair_up(pairs),
            at: self.now(),
        };
        self.push_log(record);
    }

    /// A record the server writes about a plugin (e.g. a misused bot account).
    pub(super) fn log_server(
        &mut self,
        level: LogLevel,
        plugin_id: &str,
        message: &str,
        fields: &[(&str, &str)],
    ) {
        let record = LogRecord {
            level,
            plugin_id: plugin_id.to_string(),
            message: message.to_string(),
            fields: fields
                .iter()
                .map(|(k, v)| (k.to_string(), string_value(v)))
                .collect(),
            at: self.now(),
        };
        self.push_log(record);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_keys_with_values_and_flags_a_dangling_value() {
        let number = any::int(3);
        let fields = pair_up(vec![
            string_value("a"),
            number.clone(),
            string_value("lonely"),
        ]);
        assert_eq!(fields[0], ("a".to_string(), number.clone()));
        assert_eq!(
            fields[1],
            (DANGLING_KEY.to_string(), string_value("lonely"))
        );
        assert_eq!(pair_up(vec![number.clone(), number])[0].0, "3");
    }
}
