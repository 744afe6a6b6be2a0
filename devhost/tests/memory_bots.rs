//! Bots in the in-memory backend: `EnsureBotUser` and the bot CRUD methods.

#[path = "memory_support.rs"]
mod support;

use mattermost_plugin_api::{ApiError, PluginApi, pb};
use mattermost_plugin_devhost::backend::memory::{LogLevel, MemoryBackend, is_valid_id};
use support::{PLUGIN_ID, UNKNOWN_ID, ctx, ctx_of, expect_status};

fn bot(username: &str, display_name: &str) -> pb::Bot {
    pb::Bot {
        username: username.into(),
        display_name: display_name.into(),
        description: format!("{display_name} bot"),
        ..Default::default()
    }
}

#[tokio::test]
async fn ensure_bot_user_creates_once_and_then_returns_the_same_bot() {
    let backend = MemoryBackend::new();
    let id = backend
        .ensure_bot_user(&ctx(), Some(bot("helper", "Helper")))
        .await
        .unwrap();
    assert!(is_valid_id(&id));

    let user = backend.get_user(&ctx(), id.clone()).await.unwrap().unwrap();
    assert!(user.is_bot);
    assert_eq!(
        (user.username.as_str(), user.first_name.as_str()),
        ("helper", "Helper")
    );
    let record = backend
        .get_bot(&ctx(), id.clone(), false)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        record.owner_id, PLUGIN_ID,
        "the plugin owns the bots it ensures"
    );

    let again = backend
        .ensure_bot_user(&ctx(), Some(bot("helper", "Helper v2")))
        .await
        .unwrap();
    assert_eq!(again, id);
    let record = backend
        .get_bot(&ctx(), id.clone(), false)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        record.display_name, "Helper v2",
        "an ensured bot is kept in sync"
    );
    assert_eq!(
        backend.kv_get(&ctx(), "mmi_botid".into()).await.unwrap(),
        id.as_bytes(),
        "the server remembers the bot in the plugin's KV namespace"
    );
    let bots = backend
        .get_bots(
            &ctx(),
            Some(pb::BotGetOptions {
                per_page: 10,
                ..Default::default()
            }),
        )
        .await
        .unwrap();
    assert_eq!(bots.len(), 1);
}

#[tokio::test]
async fn ensure_bot_user_adopts_existing_accounts() {
    let backend = MemoryBackend::new();
    let other_plugin = ctx_of("com.example.other");
    let created = backend
        .create_bot(&other_plugin, Some(bot("shared-bot", "Shared")))
        .await
        .unwrap()
        .unwrap();
    let adopted = backend
        .ensure_bot_user(&ctx(), Some(bot("shared-bot", "Shared")))
        .await
        .unwrap();
    assert_eq!(adopted, created.user_id);

    let human = backend.seed_user("human").unwrap();
    let returned = backend
        .ensure_bot_user(
            &ctx_of("com.example.third"),
            Some(bot("human", "Not a bot")),
        )
        .await
        .unwrap();
    assert_eq!(
        returned, human.id,
        "the server returns the account but complains"
    );
    let complaint = backend
        .logs()
        .into_iter()
        .find(|r| r.level == LogLevel::Error && r.plugin_id == "com.example.third")
        .expect("an error log about the human account");
    assert_eq!(complaint.field_str("username"), Some("human"));
}

#[tokio::test]
async fn ensure_bot_user_without_username_fails() {
    let backend = MemoryBackend::new();
    let result = backend
        .ensure_bot_user(&ctx(), Some(bot("", "Nameless")))
        .await;
    match result {
        Err(ApiError::Error(e)) => assert!(e.message.contains("EnsureBotUser"), "{e:?}"),
        other => panic!("expected a plain error, got {other:?}"),
    }
    assert!(backend.ensure_bot_user(&ctx(), None).await.is_err());
}

#[tokio::test]
async fn bot_crud() {
    let backend = MemoryBackend::new();
    let created = backend
        .create_bot(&ctx(), Some(bot("Builder", "Builder")))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(created.username, "builder");
    assert!(created.create_at > 0);
    let e = expect_status(
        backend
            .create_bot(&ctx(), Some(bot("builder", "Again")))
            .await,
        400,
        "CreateBot",
    );
    assert_eq!(e.id, "app.user.save.username_exists.app_error");
    expect_status(
        backend
            .create_bot(&ctx_of(""), Some(bot("ownerless", "x")))
            .await,
        400,
        "CreateBot",
    );
    expect_status(
        backend.create_bot(&ctx(), Some(bot("bad name", "x"))).await,
        400,
        "CreateBot",
    );

    let patch = pb::BotPatch {
        username: Some("renamed".into()),
        display_name: None,
        description: Some("new description".into()),
    };
    let patched = backend
        .patch_bot(&ctx(), created.user_id.clone(), Some(patch))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (patched.username.as_str(), patched.display_name.as_str()),
        ("renamed", "Builder")
    );
    let user = backend
        .get_user(&ctx(), created.user_id.clone())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (user.username.as_str(), user.bot_description.as_str()),
        ("renamed", "new description")
    );

    backend
        .update_bot_active(&ctx(), created.user_id.clone(), false)
        .await
        .unwrap();
    expect_status(
        backend
            .get_bot(&ctx(), created.user_id.clone(), false)
            .await,
        404,
        "GetBot",
    );
    let hidden = backend
        .get_bot(&ctx(), created.user_id.clone(), true)
        .await
        .unwrap()
        .unwrap();
    assert!(hidden.delete_at > 0);
    let active_only = backend
        .get_bots(
            &ctx(),
            Some(pb::BotGetOptions {
                per_page: 10,
                ..Default::default()
            }),
        )
        .await
        .unwrap();
    assert!(active_only.is_empty());

    backend
        .permanent_delete_bot(&ctx(), created.user_id.clone())
        .await
        .unwrap();
    expect_status(
        backend.get_bot(&ctx(), created.user_id.clone(), true).await,
        404,
        "GetBot",
    );
    expect_status(
        backend.get_user(&ctx(), created.user_id).await,
        404,
        "GetUser",
    );
    expect_status(
        backend
            .permanent_delete_bot(&ctx(), UNKNOWN_ID.into())
            .await,
        404,
        "PermanentDeleteBot",
    );
}
