//! `HasPermissionTo`, `HasPermissionToTeam` and `HasPermissionToChannel`: the dev host's small
//! role policy (system admins have everything, members have member permissions, others none).

#[path = "memory_support.rs"]
mod support;

use mattermost_plugin_api::{PluginApi, pb};
use support::{UNKNOWN_ID, World, ctx};

fn permission(id: &str) -> Option<pb::Permission> {
    Some(pb::Permission {
        id: id.into(),
        ..Default::default()
    })
}

/// A user in no team and no channel.
fn outsider(world: &World) -> pb::User {
    world.backend.seed_user("olga").expect("seed outsider")
}

#[tokio::test]
async fn system_admins_have_every_permission_everywhere() {
    let world = World::seeded();
    let admin = outsider(&world);
    world
        .backend
        .update_user_roles(&ctx(), admin.id.clone(), "system_user system_admin".into())
        .await
        .unwrap();
    let b = &world.backend;
    assert!(
        b.has_permission_to(&ctx(), admin.id.clone(), permission("manage_system"))
            .await
            .unwrap()
    );
    assert!(
        b.has_permission_to_team(
            &ctx(),
            admin.id.clone(),
            world.team.id.clone(),
            permission("manage_team")
        )
        .await
        .unwrap()
    );
    // Not a member of the channel, yet allowed.
    assert!(
        b.has_permission_to_channel(
            &ctx(),
            admin.id.clone(),
            world.channel.id.clone(),
            permission("create_post")
        )
        .await
        .unwrap()
    );
}

#[tokio::test]
async fn plain_users_have_only_system_user_permissions_at_system_scope() {
    let world = World::seeded();
    let b = &world.backend;
    let alice = world.alice.id.clone();
    assert!(
        b.has_permission_to(&ctx(), alice.clone(), permission("create_team"))
            .await
            .unwrap()
    );
    for denied in ["manage_system", "create_post", "made_up_permission"] {
        assert!(
            !b.has_permission_to(&ctx(), alice.clone(), permission(denied))
                .await
                .unwrap(),
            "{denied}"
        );
    }
}

#[tokio::test]
async fn team_members_have_member_permissions_in_their_team_only() {
    let world = World::seeded();
    let b = &world.backend;
    let olga = outsider(&world);
    let team = world.team.id.clone();
    let can = |user: String, perm: &'static str| {
        let team = team.clone();
        async move {
            b.has_permission_to_team(&ctx(), user, team, permission(perm))
                .await
                .unwrap()
        }
    };
    assert!(can(world.alice.id.clone(), "create_public_channel").await);
    assert!(
        can(world.alice.id.clone(), "create_team").await,
        "system_user carries over"
    );
    assert!(!can(world.alice.id.clone(), "manage_team").await);
    assert!(!can(olga.id.clone(), "create_public_channel").await);

    b.update_team_member_roles(
        &ctx(),
        team.clone(),
        world.alice.id.clone(),
        "team_user team_admin".into(),
    )
    .await
    .unwrap();
    assert!(can(world.alice.id.clone(), "manage_team").await);

    // Leaving the team takes the permissions away.
    b.delete_team_member(&ctx(), team.clone(), world.bob.id.clone(), String::new())
        .await
        .unwrap();
    assert!(!can(world.bob.id.clone(), "view_team").await);
}

#[tokio::test]
async fn channel_members_can_post_and_non_members_cannot() {
    let world = World::seeded();
    let b = &world.backend;
    let quiet = b
        .seed_channel(&world.team.id, "quiet")
        .expect("seed channel");
    b.seed_channel_member(&quiet.id, &world.alice.id)
        .expect("join");
    let can = |user: &str, channel: &str, perm: &'static str| {
        let (user, channel) = (user.to_string(), channel.to_string());
        async move {
            b.has_permission_to_channel(&ctx(), user, channel, permission(perm))
                .await
                .unwrap()
        }
    };
    for perm in ["create_post", "read_channel", "add_reaction", "upload_file"] {
        assert!(can(&world.alice.id, &quiet.id, perm).await, "{perm}");
        assert!(!can(&world.bob.id, &quiet.id, perm).await, "{perm}");
    }
    // Team permissions apply in the team's channels, member or not.
    assert!(can(&world.bob.id, &quiet.id, "read_public_channel").await);
    assert!(!can(&world.alice.id, &quiet.id, "manage_channel_roles").await);
    b.update_channel_member_roles(
        &ctx(),
        quiet.id.clone(),
        world.alice.id.clone(),
        "channel_user channel_admin".into(),
    )
    .await
    .unwrap();
    assert!(can(&world.alice.id, &quiet.id, "manage_channel_roles").await);
}

#[tokio::test]
async fn direct_channel_members_can_post() {
    let world = World::seeded();
    let b = &world.backend;
    let dm = b
        .get_direct_channel(&ctx(), world.alice.id.clone(), world.bob.id.clone())
        .await
        .unwrap()
        .unwrap();
    let olga = outsider(&world);
    for (user, expected) in [(&world.alice.id, true), (&olga.id, false)] {
        let allowed = b
            .has_permission_to_channel(
                &ctx(),
                user.clone(),
                dm.id.clone(),
                permission("create_post"),
            )
            .await
            .unwrap();
        assert_eq!(allowed, expected);
    }
}

#[tokio::test]
async fn deactivated_unknown_and_malformed_answer_false() {
    let world = World::seeded();
    let b = &world.backend;
    let (alice, team, channel) = (
        world.alice.id.clone(),
        world.team.id.clone(),
        world.channel.id.clone(),
    );
    let checks = [
        (
            UNKNOWN_ID.to_string(),
            team.clone(),
            channel.clone(),
            permission("read_channel"),
        ),
        (
            "not-an-id".to_string(),
            team.clone(),
            channel.clone(),
            permission("read_channel"),
        ),
        (
            alice.clone(),
            UNKNOWN_ID.to_string(),
            UNKNOWN_ID.to_string(),
            permission("read_channel"),
        ),
        (
            alice.clone(),
            "bad".to_string(),
            "bad".to_string(),
            permission("read_channel"),
        ),
        (alice.clone(), team.clone(), channel.clone(), None),
        (alice.clone(), team.clone(), channel.clone(), permission("")),
    ];
    for (user, team, channel, perm) in checks {
        let label = format!("{user} {team} {perm:?}");
        assert!(
            !b.has_permission_to_team(&ctx(), user.clone(), team, perm.clone())
                .await
                .unwrap(),
            "{label}"
        );
        assert!(
            !b.has_permission_to_channel(&ctx(), user, channel, perm)
                .await
                .unwrap(),
            "{label}"
        );
    }
    b.update_user_active(&ctx(), alice.clone(), false)
        .await
        .unwrap();
    assert!(
        !b.has_permission_to_channel(&ctx(), alice, channel, permission("read_channel"))
            .await
            .unwrap()
    );
}
