//! Channels, channel members and direct channels in the in-memory backend.

#[path = "memory_support.rs"]
mod support;

use std::collections::HashMap;

use mattermost_plugin_api::{PluginApi, pb};
use mattermost_plugin_devhost::backend::memory::is_valid_id;
use support::{UNKNOWN_ID, World, ctx, expect_status};

fn channel(team_id: &str, name: &str, kind: &str) -> pb::Channel {
    pb::Channel {
        team_id: team_id.into(),
        name: name.into(),
        display_name: name.to_uppercase(),
        r#type: kind.into(),
        ..Default::default()
    }
}

#[tokio::test]
async fn create_and_look_up_channels() {
    let world = World::seeded();
    let backend = &world.backend;
    let created = backend
        .create_channel(&ctx(), Some(channel(&world.team.id, "secret-plans", "P")))
        .await
        .unwrap()
        .unwrap();
    assert!(is_valid_id(&created.id));
    assert!(created.create_at > 0 && created.update_at == created.create_at);

    let by_id = backend
        .get_channel(&ctx(), created.id.clone())
        .await
        .unwrap();
    let by_name = backend
        .get_channel_by_name(&ctx(), world.team.id.clone(), "secret-plans".into(), false)
        .await
        .unwrap();
    let by_team_name = backend
        .get_channel_by_name_for_team_name(&ctx(), "core".into(), "secret-plans".into(), false)
        .await
        .unwrap();
    assert_eq!(by_id.as_ref(), Some(&created));
    assert_eq!(by_name.as_ref(), Some(&created));
    assert_eq!(by_team_name, Some(created));
    expect_status(
        backend
            .get_channel_by_name(&ctx(), world.team.id.clone(), "missing".into(), false)
            .await,
        404,
        "GetChannelByName",
    );
    expect_status(
        backend.get_channel(&ctx(), UNKNOWN_ID.into()).await,
        404,
        "GetChannel",
    );
    expect_status(
        backend.get_channel(&ctx(), "x".into()).await,
        400,
        "GetChannel",
    );
}

#[tokio::test]
async fn channel_names_are_unique_per_team_and_validated() {
    let world = World::seeded();
    let backend = &world.backend;
    let other_team = backend.seed_team("other").unwrap();
    let e = expect_status(
        backend
            .create_channel(&ctx(), Some(channel(&world.team.id, "general", "O")))
            .await,
        400,
        "CreateChannel",
    );
    assert_eq!(e.id, "store.sql_channel.save_channel.exists.app_error");
    let elsewhere = backend
        .create_channel(&ctx(), Some(channel(&other_team.id, "general", "O")))
        .await;
    assert!(
        elsewhere.is_ok(),
        "the same name in another team is fine: {elsewhere:?}"
    );

    let dm_like = format!("{}__{}", world.alice.id, world.bob.id);
    let invalid = [
        channel(&world.team.id, "Upper", "O"),
        channel(&world.team.id, "_leading", "O"),
        channel(&world.team.id, "", "O"),
        channel(&world.team.id, "fine", "Z"),
        channel(&world.team.id, "direct", "D"),
        channel(&world.team.id, &dm_like, "O"),
        pb::Channel {
            id: UNKNOWN_ID.into(),
            ..channel(&world.team.id, "preset", "O")
        },
    ];
    for input in invalid {
        let name = input.name.clone();
        let result = backend.create_channel(&ctx(), Some(input)).await;
        assert_eq!(
            support::app_error(result).status_code,
            400,
            "channel {name:?}"
        );
    }
    expect_status(
        backend
            .create_channel(&ctx(), Some(channel(UNKNOWN_ID, "orphan", "O")))
            .await,
        404,
        "CreateChannel",
    );
}

#[tokio::test]
async fn update_channel_keeps_team_and_creation_time() {
    let world = World::seeded();
    let backend = &world.backend;
    let mut changed = world.channel.clone();
    changed.header = "New header".into();
    changed.purpose = "Talk".into();
    changed.team_id = UNKNOWN_ID.into();
    changed.create_at = 7;
    let updated = backend
        .update_channel(&ctx(), Some(changed))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(updated.header, "New header");
    assert_eq!(updated.team_id, world.team.id);
    assert_eq!(updated.create_at, world.channel.create_at);
    let fetched = backend
        .get_channel(&ctx(), world.channel.id.clone())
        .await
        .unwrap();
    assert_eq!(fetched, Some(updated));
}

#[tokio::test]
async fn delete_archives_and_restore_unarchives() {
    let world = World::seeded();
    let backend = &world.backend;
    let id = world.channel.id.clone();
    backend.delete_channel(&ctx(), id.clone()).await.unwrap();
    let archived = backend
        .get_channel(&ctx(), id.clone())
        .await
        .unwrap()
        .unwrap();
    assert!(archived.delete_at > 0);
    expect_status(
        backend
            .get_channel_by_name(&ctx(), world.team.id.clone(), "general".into(), false)
            .await,
        404,
        "GetChannelByName",
    );
    let included = backend
        .get_channel_by_name(&ctx(), world.team.id.clone(), "general".into(), true)
        .await
        .unwrap();
    assert_eq!(included.map(|c| c.id), Some(id.clone()));
    expect_status(
        backend.delete_channel(&ctx(), id.clone()).await,
        400,
        "DeleteChannel",
    );
    expect_status(
        backend.update_channel(&ctx(), Some(archived)).await,
        400,
        "UpdateChannel",
    );

    backend.restore_channel(&ctx(), id.clone()).await.unwrap();
    let restored = backend
        .get_channel(&ctx(), id.clone())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(restored.delete_at, 0);
    expect_status(
        backend.restore_channel(&ctx(), id).await,
        400,
        "RestoreChannel",
    );

    let town_square = backend
        .get_channel_by_name(&ctx(), world.team.id.clone(), "town-square".into(), false)
        .await
        .unwrap()
        .unwrap();
    expect_status(
        backend.delete_channel(&ctx(), town_square.id).await,
        400,
        "DeleteChannel",
    );
}

#[tokio::test]
async fn channel_members_lifecycle() {
    let world = World::seeded();
    let backend = &world.backend;
    let carl = backend.seed_user("carl").unwrap();
    let channel_id = world.channel.id.clone();

    let e = expect_status(
        backend
            .add_channel_member(&ctx(), channel_id.clone(), carl.id.clone())
            .await,
        404,
        "AddChannelMember",
    );
    assert_eq!(
        e.id, "app.team.get_member.missing.app_error",
        "carl is not in the team"
    );
    backend.seed_team_member(&world.team.id, &carl.id).unwrap();
    let member = backend
        .add_channel_member(&ctx(), channel_id.clone(), carl.id.clone())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (member.roles.as_str(), member.scheme_user),
        ("channel_user", true)
    );
    assert_eq!(
        member.notify_props.get("desktop").map(String::as_str),
        Some("default")
    );
    let again = backend
        .add_user_to_channel(
            &ctx(),
            channel_id.clone(),
            carl.id.clone(),
            world.alice.id.clone(),
        )
        .await
        .unwrap();
    assert_eq!(again, Some(member.clone()), "adding twice is idempotent");

    let members = backend
        .get_channel_members(&ctx(), channel_id.clone(), 0, 10)
        .await
        .unwrap();
    assert_eq!(members.len(), 3);
    let by_ids = backend
        .get_channel_members_by_ids(
            &ctx(),
            channel_id.clone(),
            vec![carl.id.clone(), UNKNOWN_ID.into()],
        )
        .await
        .unwrap();
    assert_eq!(by_ids, vec![member.clone()]);
    let for_user = backend
        .get_channel_members_for_user(&ctx(), world.team.id.clone(), carl.id.clone(), 0, 10)
        .await
        .unwrap();
    assert_eq!(for_user.len(), 3, "town-square, off-topic and general");

    let admin = backend
        .update_channel_member_roles(
            &ctx(),
            channel_id.clone(),
            carl.id.clone(),
            "channel_user channel_admin".into(),
        )
        .await
        .unwrap()
        .unwrap();
    assert!(admin.scheme_admin);
    let muted = backend
        .update_channel_member_notifications(
            &ctx(),
            channel_id.clone(),
            carl.id.clone(),
            HashMap::from([("push".to_string(), "none".to_string())]),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        muted.notify_props.get("push").map(String::as_str),
        Some("none")
    );
    assert_eq!(
        muted.notify_props.get("email").map(String::as_str),
        Some("default")
    );

    backend
        .delete_channel_member(&ctx(), channel_id.clone(), carl.id.clone())
        .await
        .unwrap();
    expect_status(
        backend
            .get_channel_member(&ctx(), channel_id.clone(), carl.id.clone())
            .await,
        404,
        "GetChannelMember",
    );
    expect_status(
        backend
            .delete_channel_member(&ctx(), channel_id, carl.id.clone())
            .await,
        404,
        "DeleteChannelMember",
    );
}

#[tokio::test]
async fn nobody_leaves_town_square() {
    let world = World::seeded();
    let town_square = world
        .backend
        .get_channel_by_name(&ctx(), world.team.id.clone(), "town-square".into(), false)
        .await
        .unwrap()
        .unwrap();
    expect_status(
        world
            .backend
            .delete_channel_member(&ctx(), town_square.id, world.alice.id.clone())
            .await,
        400,
        "DeleteChannelMember",
    );
}

#[tokio::test]
async fn direct_channels_are_named_by_sorted_ids_and_reused() {
    let world = World::seeded();
    let backend = &world.backend;
    let (a, b) = (world.alice.id.clone(), world.bob.id.clone());
    let dm = backend
        .get_direct_channel(&ctx(), a.clone(), b.clone())
        .await
        .unwrap()
        .unwrap();
    let (low, high) = if a < b { (&a, &b) } else { (&b, &a) };
    assert_eq!(dm.name, format!("{low}__{high}"));
    assert_eq!((dm.r#type.as_str(), dm.team_id.as_str()), ("D", ""));
    let reversed = backend
        .get_direct_channel(&ctx(), b.clone(), a.clone())
        .await
        .unwrap();
    assert_eq!(
        reversed.as_ref(),
        Some(&dm),
        "either order finds the same channel"
    );

    let members = backend
        .get_channel_members(&ctx(), dm.id.clone(), 0, 10)
        .await
        .unwrap();
    let mut member_ids: Vec<_> = members.into_iter().map(|m| m.user_id).collect();
    member_ids.sort();
    assert_eq!(member_ids, vec![low.clone(), high.clone()]);

    let by_name = backend
        .get_channel_by_name(&ctx(), world.team.id.clone(), dm.name.clone(), false)
        .await
        .unwrap();
    assert_eq!(by_name.as_ref(), Some(&dm), "DMs match any team");
    let mine = backend
        .get_channels_for_team_for_user(&ctx(), world.team.id.clone(), a.clone(), false)
        .await
        .unwrap();
    assert!(mine.iter().any(|c| c.id == dm.id));

    let carl = backend.seed_user("carl").unwrap();
    expect_status(
        backend
            .add_channel_member(&ctx(), dm.id.clone(), carl.id.clone())
            .await,
        400,
        "AddChannelMember",
    );
    expect_status(
        backend.delete_channel(&ctx(), dm.id.clone()).await,
        400,
        "DeleteChannel",
    );

    let self_dm = backend
        .get_direct_channel(&ctx(), a.clone(), a.clone())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(self_dm.name, format!("{a}__{a}"));
    expect_status(
        backend
            .get_direct_channel(&ctx(), a.clone(), UNKNOWN_ID.into())
            .await,
        404,
        "GetDirectChannel",
    );
    expect_status(
        backend.get_direct_channel(&ctx(), a, "nope".into()).await,
        400,
        "GetDirectChannel",
    );
}

#[tokio::test]
async fn public_channels_and_stats() {
    let world = World::seeded();
    let backend = &world.backend;
    backend
        .create_channel(&ctx(), Some(channel(&world.team.id, "hidden", "P")))
        .await
        .unwrap();
    let archived = backend.seed_channel(&world.team.id, "old").unwrap();
    backend.delete_channel(&ctx(), archived.id).await.unwrap();
    let public = backend
        .get_public_channels_for_team(&ctx(), world.team.id.clone(), 0, 10)
        .await
        .unwrap();
    let names: Vec<_> = public.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(
        names,
        ["general", "off-topic", "town-square"],
        "sorted by display name"
    );

    let stats = backend
        .get_channel_stats(&ctx(), world.channel.id.clone())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stats.member_count, 2);
}
