//! Users in the in-memory backend: creation, lookup, update, deactivation, listing, status.

#[path = "memory_support.rs"]
mod support;

use std::time::Duration;

use mattermost_plugin_api::{PluginApi, pb};
use mattermost_plugin_devhost::backend::memory::{MemoryBackend, is_valid_id};
use support::{UNKNOWN_ID, World, ctx, expect_status};

fn user(username: &str, email: &str) -> pb::User {
    pb::User {
        username: username.into(),
        email: email.into(),
        ..Default::default()
    }
}

async fn create(backend: &MemoryBackend, username: &str, email: &str) -> pb::User {
    backend
        .create_user(&ctx(), Some(user(username, email)))
        .await
        .expect("create user")
        .expect("a user")
}

#[tokio::test]
async fn create_user_fills_server_fields_and_normalizes() {
    let backend = MemoryBackend::new();
    let mut input = user("Carol", "Carol@Example.COM");
    input.password = "hunter22".into();
    let created = backend
        .create_user(&ctx(), Some(input))
        .await
        .unwrap()
        .unwrap();
    assert!(is_valid_id(&created.id), "{}", created.id);
    assert!(created.create_at > 0);
    assert_eq!(created.update_at, created.create_at);
    assert_eq!(created.delete_at, 0);
    assert_eq!(created.username, "carol");
    assert_eq!(created.email, "carol@example.com");
    assert_eq!(created.roles, "system_user");
    assert_eq!(created.locale, "en");
    assert!(created.password.is_empty(), "passwords are never returned");
}

#[tokio::test]
async fn users_are_found_by_id_username_and_email() {
    let backend = MemoryBackend::new();
    let dave = create(&backend, "dave", "dave@example.com").await;
    let by_id = backend.get_user(&ctx(), dave.id.clone()).await.unwrap();
    let by_name = backend
        .get_user_by_username(&ctx(), "DAVE".into())
        .await
        .unwrap();
    let by_email = backend
        .get_user_by_email(&ctx(), "Dave@Example.com".into())
        .await
        .unwrap();
    assert_eq!(by_id.as_ref(), Some(&dave));
    assert_eq!(by_name.as_ref(), Some(&dave));
    assert_eq!(by_email.as_ref(), Some(&dave));
}

#[tokio::test]
async fn malformed_user_id_is_400_and_unknown_is_404() {
    let backend = MemoryBackend::new();
    expect_status(
        backend.get_user(&ctx(), "nope".into()).await,
        400,
        "GetUser",
    );
    expect_status(
        backend.get_user(&ctx(), "A".repeat(26)).await,
        400,
        "GetUser",
    );
    let e = expect_status(
        backend.get_user(&ctx(), UNKNOWN_ID.into()).await,
        404,
        "GetUser",
    );
    assert_eq!(e.id, "app.user.missing_account.const");
    expect_status(
        backend.get_user_by_username(&ctx(), "ghost".into()).await,
        404,
        "GetUserByUsername",
    );
    expect_status(
        backend
            .get_user_by_email(&ctx(), "ghost@example.com".into())
            .await,
        404,
        "GetUserByEmail",
    );
}

#[tokio::test]
async fn usernames_and_emails_are_unique() {
    let backend = MemoryBackend::new();
    create(&backend, "erin", "erin@example.com").await;
    let e = expect_status(
        backend
            .create_user(&ctx(), Some(user("Erin", "other@example.com")))
            .await,
        400,
        "CreateUser",
    );
    assert_eq!(e.id, "app.user.save.username_exists.app_error");
    let e = expect_status(
        backend
            .create_user(&ctx(), Some(user("erin2", "ERIN@example.com")))
            .await,
        400,
        "CreateUser",
    );
    assert_eq!(e.id, "app.user.save.email_exists.app_error");
}

#[tokio::test]
async fn invalid_users_are_rejected() {
    let backend = MemoryBackend::new();
    let cases = [
        user("all", "all@example.com"),
        user("has space", "space@example.com"),
        user("ok", "not-an-email"),
        user("ok", "<ok@example.com>"),
        user(&"x".repeat(65), "long@example.com"),
        pb::User {
            id: UNKNOWN_ID.into(),
            ..user("preset", "preset@example.com")
        },
    ];
    for input in cases {
        let result = backend.create_user(&ctx(), Some(input.clone())).await;
        expect_status(result, 400, "CreateUser");
    }
    expect_status(backend.create_user(&ctx(), None).await, 400, "CreateUser");
    let all = backend
        .get_users(
            &ctx(),
            Some(pb::UserGetOptions {
                per_page: 100,
                ..Default::default()
            }),
        )
        .await
        .unwrap();
    assert!(all.is_empty(), "nothing was stored: {all:?}");
}

#[tokio::test]
async fn update_user_changes_profile_and_keeps_server_fields() {
    let backend = MemoryBackend::new();
    let frank = create(&backend, "frank", "frank@example.com").await;
    backend.advance_clock(Duration::from_secs(5));
    let mut changed = frank.clone();
    changed.first_name = "Frank".into();
    changed.username = "franky".into();
    changed.roles = "system_admin".into();
    changed.create_at = 1;
    let updated = backend
        .update_user(&ctx(), Some(changed))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(updated.first_name, "Frank");
    assert_eq!(updated.username, "franky");
    assert_eq!(updated.roles, "system_user", "roles need UpdateUserRoles");
    assert_eq!(updated.create_at, frank.create_at);
    assert!(updated.update_at >= frank.update_at + 5_000);
    let fetched = backend.get_user(&ctx(), frank.id.clone()).await.unwrap();
    assert_eq!(fetched, Some(updated));

    let roles = backend
        .update_user_roles(&ctx(), frank.id.clone(), "system_user  system_admin".into())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(roles.roles, "system_user system_admin");
}

#[tokio::test]
async fn update_user_cannot_take_a_used_username_or_unknown_id() {
    let world = World::seeded();
    let mut alice = world.alice.clone();
    alice.username = "bob".into();
    let e = expect_status(
        world.backend.update_user(&ctx(), Some(alice)).await,
        400,
        "UpdateUser",
    );
    assert_eq!(e.id, "app.user.save.username_exists.app_error");
    let ghost = pb::User {
        id: UNKNOWN_ID.into(),
        ..user("ghost", "ghost@example.com")
    };
    expect_status(
        world.backend.update_user(&ctx(), Some(ghost)).await,
        404,
        "UpdateUser",
    );
}

#[tokio::test]
async fn delete_user_deactivates_and_update_user_active_restores() {
    let world = World::seeded();
    let backend = &world.backend;
    backend
        .delete_user(&ctx(), world.bob.id.clone())
        .await
        .unwrap();
    let bob = backend
        .get_user(&ctx(), world.bob.id.clone())
        .await
        .unwrap()
        .unwrap();
    assert!(
        bob.delete_at > 0,
        "DeleteUser deactivates, the user still exists"
    );

    let active = pb::UserGetOptions {
        active: true,
        per_page: 10,
        ..Default::default()
    };
    let inactive = pb::UserGetOptions {
        inactive: true,
        per_page: 10,
        ..Default::default()
    };
    let names = |users: Vec<pb::User>| users.into_iter().map(|u| u.username).collect::<Vec<_>>();
    assert_eq!(
        names(
            backend
                .get_users(&ctx(), Some(active.clone()))
                .await
                .unwrap()
        ),
        ["alice"]
    );
    assert_eq!(
        names(backend.get_users(&ctx(), Some(inactive)).await.unwrap()),
        ["bob"]
    );

    backend
        .update_user_active(&ctx(), world.bob.id.clone(), true)
        .await
        .unwrap();
    assert_eq!(
        names(backend.get_users(&ctx(), Some(active)).await.unwrap()),
        ["alice", "bob"]
    );
    expect_status(
        backend.delete_user(&ctx(), UNKNOWN_ID.into()).await,
        404,
        "DeleteUser",
    );
}

#[tokio::test]
async fn get_users_filters_sorts_and_pages() {
    let world = World::seeded();
    let backend = &world.backend;
    let outsider = backend.seed_user("aaron").unwrap();
    let page = |page, per_page, in_team_id: &str| pb::UserGetOptions {
        page,
        per_page,
        in_team_id: in_team_id.to_string(),
        ..Default::default()
    };
    let names = |users: Vec<pb::User>| users.into_iter().map(|u| u.username).collect::<Vec<_>>();
    let all = backend
        .get_users(&ctx(), Some(page(0, 10, "")))
        .await
        .unwrap();
    assert_eq!(names(all), ["aaron", "alice", "bob"]);
    let second = backend
        .get_users(&ctx(), Some(page(1, 2, "")))
        .await
        .unwrap();
    assert_eq!(names(second), ["bob"]);
    let in_team = backend
        .get_users(&ctx(), Some(page(0, 10, &world.team.id)))
        .await
        .unwrap();
    assert_eq!(names(in_team), ["alice", "bob"]);
    let without_team = pb::UserGetOptions {
        without_team: true,
        per_page: 10,
        ..Default::default()
    };
    let lonely = backend.get_users(&ctx(), Some(without_team)).await.unwrap();
    assert_eq!(names(lonely), [outsider.username]);

    let in_channel = backend
        .get_users_in_channel(&ctx(), world.channel.id.clone(), "username".into(), 0, 10)
        .await
        .unwrap();
    assert_eq!(names(in_channel), ["alice", "bob"]);
    let in_team = backend
        .get_users_in_team(&ctx(), world.team.id.clone(), 0, 1)
        .await
        .unwrap();
    assert_eq!(names(in_team), ["alice"]);
}

#[tokio::test]
async fn bulk_lookups_skip_unknown_users() {
    let world = World::seeded();
    let by_ids = world
        .backend
        .get_users_by_ids(
            &ctx(),
            vec![world.bob.id.clone(), UNKNOWN_ID.into(), "junk".into()],
        )
        .await
        .unwrap();
    assert_eq!(by_ids, vec![world.bob.clone()]);
    let by_names = world
        .backend
        .get_users_by_usernames(&ctx(), vec!["alice".into(), "nobody".into()])
        .await
        .unwrap();
    assert_eq!(by_names, vec![world.alice.clone()]);
}

#[tokio::test]
async fn user_status_defaults_to_offline_and_can_be_set() {
    let world = World::seeded();
    let backend = &world.backend;
    let status = backend
        .get_user_status(&ctx(), world.alice.id.clone())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(status.status, "offline");
    let set = backend
        .update_user_status(&ctx(), world.alice.id.clone(), "dnd".into())
        .await
        .unwrap()
        .unwrap();
    assert_eq!((set.status.as_str(), set.manual), ("dnd", true));
    let statuses = backend
        .get_user_statuses_by_ids(&ctx(), vec![world.alice.id.clone(), world.bob.id.clone()])
        .await
        .unwrap();
    let values: Vec<_> = statuses.iter().map(|s| s.status.as_str()).collect();
    assert_eq!(values, ["dnd", "offline"]);
    expect_status(
        backend
            .update_user_status(&ctx(), world.alice.id.clone(), "sleeping".into())
            .await,
        400,
        "UpdateUserStatus",
    );
}
