//! Plugin logging in the in-memory backend.

#[path = "memory_support.rs"]
mod support;

use mattermost_plugin_api::PluginApi;
use mattermost_plugin_api::pb::AnyValue as Value;
use mattermost_plugin_api::support::any;
use mattermost_plugin_devhost::backend::memory::{LogLevel, MemoryBackend};
use support::{PLUGIN_ID, ctx};

fn text(s: &str) -> Value {
    any::string(s)
}

fn number(n: i64) -> Value {
    any::int(n)
}

#[tokio::test]
async fn every_level_is_recorded_with_its_fields() {
    let backend = MemoryBackend::new();
    backend.log_debug(&ctx(), "d".into(), vec![]).await.unwrap();
    backend
        .log_info(
            &ctx(),
            "user joined".into(),
            vec![text("user_id"), text("abc"), text("count"), number(2)],
        )
        .await
        .unwrap();
    backend.log_warn(&ctx(), "w".into(), vec![]).await.unwrap();
    backend
        .log_error(&ctx(), "e".into(), vec![text("err")])
        .await
        .unwrap();

    let logs = backend.logs();
    let levels: Vec<_> = logs.iter().map(|r| (r.level, r.message.as_str())).collect();
    assert_eq!(
        levels,
        [
            (LogLevel::Debug, "d"),
            (LogLevel::Info, "user joined"),
            (LogLevel::Warn, "w"),
            (LogLevel::Error, "e")
        ]
    );
    let info = &logs[1];
    assert_eq!(info.plugin_id, PLUGIN_ID);
    assert_eq!(info.field_str("user_id"), Some("abc"));
    assert_eq!(info.field("count"), Some(&number(2)));
    assert!(info.at > 0);
    assert_eq!(
        logs[3].field_str("!BADKEY"),
        Some("err"),
        "a value without a key, as Go's slog names it"
    );
}

#[tokio::test]
async fn take_logs_drains_the_records() {
    let backend = MemoryBackend::new();
    backend
        .log_info(&ctx(), "once".into(), vec![])
        .await
        .unwrap();
    let taken = backend.take_logs();
    assert_eq!(taken.len(), 1);
    assert!(backend.logs().is_empty());
}
