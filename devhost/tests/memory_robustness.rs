//! Hostile inputs never panic the in-memory backend: every call answers, and failures are
//! client errors (4xx) naming the method.

#[path = "memory_support.rs"]
mod support;

use std::fmt::Debug;

use mattermost_plugin_api::{ApiError, PluginApi, pb};
use support::{World, ctx, ctx_of};

/// Strings that are empty, huge, non-ASCII, or almost ids.
fn nasty_strings() -> Vec<String> {
    vec![
        String::new(),
        " ".into(),
        "💥".repeat(7),
        "Z".repeat(26),
        "é".repeat(13),
        "a".repeat(10_000),
        "../../etc/passwd".into(),
        "a__b".into(),
        "\0\u{7f}\n".into(),
    ]
}

const NASTY_PAGES: [i64; 5] = [i64::MIN, -1, 0, 1, i64::MAX];

/// Success, or a 4xx AppError whose `where` is set, or a plain error.
fn check<T: Debug>(what: &str, result: Result<T, ApiError>) {
    match result {
        Ok(_) | Err(ApiError::Error(_)) => {}
        Err(ApiError::App(e)) => {
            assert!((400..500).contains(&e.status_code), "{what}: {e:?}");
            assert!(!e.r#where.is_empty(), "{what}: {e:?}");
        }
        Err(other) => panic!("{what}: unexpected {other:?}"),
    }
}

#[tokio::test]
async fn string_arguments() {
    let world = World::seeded();
    let b = &world.backend;
    for s in nasty_strings() {
        let c = ctx_of(&s);
        check("GetUser", b.get_user(&ctx(), s.clone()).await);
        check(
            "GetUserByUsername",
            b.get_user_by_username(&ctx(), s.clone()).await,
        );
        check("GetTeamByName", b.get_team_by_name(&ctx(), s.clone()).await);
        check(
            "GetChannelByName",
            b.get_channel_by_name(&ctx(), s.clone(), s.clone(), true)
                .await,
        );
        check(
            "GetDirectChannel",
            b.get_direct_channel(&ctx(), s.clone(), world.alice.id.clone())
                .await,
        );
        check(
            "AddChannelMember",
            b.add_channel_member(&ctx(), world.channel.id.clone(), s.clone())
                .await,
        );
        check("GetPostThread", b.get_post_thread(&ctx(), s.clone()).await);
        check(
            "UploadFile",
            b.upload_file(&ctx(), vec![], world.channel.id.clone(), s.clone())
                .await,
        );
        check(
            "KVSet",
            b.kv_set(&c, s.clone(), s.clone().into_bytes()).await,
        );
        check("KVGet", b.kv_get(&c, s.clone()).await);
        check(
            "KVSetWithExpiry",
            b.kv_set_with_expiry(&c, s.clone(), vec![1], i64::MIN).await,
        );
        check(
            "KVSetWithExpiry",
            b.kv_set_with_expiry(&c, s.clone(), vec![1], i64::MAX).await,
        );
        check(
            "KVCompareAndDelete",
            b.kv_compare_and_delete(&c, s.clone(), vec![1]).await,
        );
        check(
            "UpdateUserStatus",
            b.update_user_status(&ctx(), world.alice.id.clone(), s.clone())
                .await,
        );
        check(
            "EnsureBotUser",
            b.ensure_bot_user(
                &c,
                Some(pb::Bot {
                    username: s.clone(),
                    ..Default::default()
                }),
            )
            .await,
        );
        check(
            "RegisterCommand",
            b.register_command(
                &c,
                Some(pb::Command {
                    trigger: s.clone(),
                    ..Default::default()
                }),
            )
            .await,
        );
        check(
            "LogInfo",
            b.log_info(
                &c,
                s.clone(),
                vec![mattermost_plugin_api::pb::AnyValue::default()],
            )
            .await,
        );
        check(
            "CreatePost",
            b.create_post(
                &ctx(),
                Some(pb::Post {
                    user_id: world.alice.id.clone(),
                    channel_id: world.channel.id.clone(),
                    message: s.clone(),
                    r#type: s.clone(),
                    root_id: s.clone(),
                    ..Default::default()
                }),
            )
            .await,
        );
        check(
            "CreateUser",
            b.create_user(
                &ctx(),
                Some(pb::User {
                    username: s.clone(),
                    email: s.clone(),
                    ..Default::default()
                }),
            )
            .await,
        );
        check(
            "CreateTeam",
            b.create_team(
                &ctx(),
                Some(pb::Team {
                    name: s.clone(),
                    display_name: s.clone(),
                    r#type: s.clone(),
                    ..Default::default()
                }),
            )
            .await,
        );
        check(
            "AddReaction",
            b.add_reaction(
                &ctx(),
                Some(pb::Reaction {
                    user_id: s.clone(),
                    post_id: s.clone(),
                    emoji_name: s.clone(),
                    ..Default::default()
                }),
            )
            .await,
        );
    }
    assert!(b.set_plugin_config_json("p", &[0xff, 0xfe]).is_err());
}

#[tokio::test]
async fn paging_arguments() {
    let world = World::seeded();
    let b = &world.backend;
    for page in NASTY_PAGES {
        for per_page in NASTY_PAGES {
            check("KVList", b.kv_list(&ctx(), page, per_page).await);
            check(
                "GetTeamMembers",
                b.get_team_members(&ctx(), world.team.id.clone(), page, per_page)
                    .await,
            );
            check(
                "GetChannelMembers",
                b.get_channel_members(&ctx(), world.channel.id.clone(), page, per_page)
                    .await,
            );
            check(
                "GetPostsForChannel",
                b.get_posts_for_channel(&ctx(), world.channel.id.clone(), page, per_page)
                    .await,
            );
            check(
                "GetPostsSince",
                b.get_posts_since(&ctx(), world.channel.id.clone(), page)
                    .await,
            );
            check(
                "GetUsersInTeam",
                b.get_users_in_team(&ctx(), world.team.id.clone(), page, per_page)
                    .await,
            );
            check(
                "GetUsers",
                b.get_users(
                    &ctx(),
                    Some(pb::UserGetOptions {
                        page,
                        per_page,
                        ..Default::default()
                    }),
                )
                .await,
            );
            check(
                "GetBots",
                b.get_bots(
                    &ctx(),
                    Some(pb::BotGetOptions {
                        page,
                        per_page,
                        ..Default::default()
                    }),
                )
                .await,
            );
        }
    }
    let everything = b.kv_list(&ctx(), 0, i64::MAX).await.unwrap();
    assert!(everything.is_empty());
}

#[tokio::test]
async fn absent_messages_are_400() {
    let world = World::seeded();
    let b = &world.backend;
    let statuses = [
        support::app_error(b.create_user(&ctx(), None).await).status_code,
        support::app_error(b.create_team(&ctx(), None).await).status_code,
        support::app_error(b.create_channel(&ctx(), None).await).status_code,
        support::app_error(b.create_post(&ctx(), None).await).status_code,
        support::app_error(b.update_post(&ctx(), None).await).status_code,
        support::app_error(b.add_reaction(&ctx(), None).await).status_code,
        support::app_error(b.create_bot(&ctx(), None).await).status_code,
        support::app_error(b.get_users(&ctx(), None).await).status_code,
    ];
    assert!(statuses.iter().all(|s| *s == 400), "{statuses:?}");
}
