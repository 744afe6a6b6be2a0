//! Group channels, profile images and the command lists of the in-memory backend.

#[path = "memory_support.rs"]
mod support;

use mattermost_plugin_api::{PluginApi, pb};
use mattermost_plugin_devhost::backend::memory::MemoryBackend;
use support::{UNKNOWN_ID, World, ctx, ctx_of, expect_status};

// --- GetGroupChannel ---------------------------------------------------------------------

#[tokio::test]
async fn group_channels_are_found_or_created_once_per_set_of_users() {
    let world = World::seeded();
    let b = &world.backend;
    let carol = b.seed_user("carol").expect("seed carol");
    let ids = vec![
        carol.id.clone(),
        world.alice.id.clone(),
        world.bob.id.clone(),
    ];
    let channel = b
        .get_group_channel(&ctx(), ids.clone())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(channel.r#type, "G");
    assert!(channel.team_id.is_empty());
    // Named by the SHA-1 of the sorted ids, shown as the sorted usernames.
    assert_eq!(channel.name.len(), 40);
    assert!(channel.name.bytes().all(|c| c.is_ascii_hexdigit()));
    assert_eq!(channel.display_name, "alice, bob, carol");
    let members = b
        .get_channel_members(&ctx(), channel.id.clone(), 0, 10)
        .await
        .unwrap();
    assert_eq!(members.len(), 3);

    // Any order, and duplicates, find the same channel.
    let mut again = ids.clone();
    again.reverse();
    again.push(world.bob.id.clone());
    let found = b.get_group_channel(&ctx(), again).await.unwrap().unwrap();
    assert_eq!(found.id, channel.id);
    let by_name = b
        .get_channel_by_name(&ctx(), String::new(), channel.name.clone(), false)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(by_name.id, channel.id);
}

#[tokio::test]
async fn group_channels_take_three_to_eight_known_users() {
    let world = World::seeded();
    let b = &world.backend;
    let two = vec![world.alice.id.clone(), world.bob.id.clone()];
    let e = expect_status(
        b.get_group_channel(&ctx(), two.clone()).await,
        400,
        "GetGroupChannel",
    );
    assert_eq!(e.id, "api.channel.create_group.bad_size.app_error");
    let mut nine = two.clone();
    for i in 0..7 {
        nine.push(b.seed_user(&format!("user{i}")).expect("seed").id);
    }
    expect_status(
        b.get_group_channel(&ctx(), nine).await,
        400,
        "GetGroupChannel",
    );
    let mut unknown = two.clone();
    unknown.push(UNKNOWN_ID.into());
    expect_status(
        b.get_group_channel(&ctx(), unknown).await,
        404,
        "GetGroupChannel",
    );
    let mut malformed = two;
    malformed.push("nope".into());
    expect_status(
        b.get_group_channel(&ctx(), malformed).await,
        400,
        "GetGroupChannel",
    );
}

// --- GetProfileImage / SetProfileImage ----------------------------------------------------

const PNG_SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";

#[tokio::test]
async fn users_without_a_picture_get_a_stable_default_png() {
    let world = World::seeded();
    let b = &world.backend;
    let first = b
        .get_profile_image(&ctx(), world.alice.id.clone())
        .await
        .unwrap();
    assert!(first.starts_with(PNG_SIGNATURE));
    let second = b
        .get_profile_image(&ctx(), world.alice.id.clone())
        .await
        .unwrap();
    assert_eq!(first, second);
    let bobs = b
        .get_profile_image(&ctx(), world.bob.id.clone())
        .await
        .unwrap();
    assert_ne!(first, bobs, "the colour comes from the user id");
}

#[tokio::test]
async fn a_set_picture_is_returned_and_dated() {
    let world = World::seeded();
    let b = &world.backend;
    let image = [b"GIF89a".as_slice(), &[1, 2, 3]].concat();
    b.set_profile_image(&ctx(), world.alice.id.clone(), image.clone())
        .await
        .unwrap();
    assert_eq!(
        b.get_profile_image(&ctx(), world.alice.id.clone())
            .await
            .unwrap(),
        image
    );
    let alice = b
        .get_user(&ctx(), world.alice.id.clone())
        .await
        .unwrap()
        .unwrap();
    assert!(alice.last_picture_update > 0);
}

#[tokio::test]
async fn profile_images_refuse_non_images_and_unknown_users() {
    let world = World::seeded();
    let b = &world.backend;
    for data in [Vec::new(), b"hello".to_vec()] {
        expect_status(
            b.set_profile_image(&ctx(), world.alice.id.clone(), data)
                .await,
            400,
            "SetProfileImage",
        );
    }
    expect_status(
        b.set_profile_image(&ctx(), UNKNOWN_ID.into(), PNG_SIGNATURE.to_vec())
            .await,
        404,
        "SetProfileImage",
    );
    expect_status(
        b.get_profile_image(&ctx(), UNKNOWN_ID.into()).await,
        404,
        "GetProfileImage",
    );
    expect_status(
        b.get_profile_image(&ctx(), "bad".into()).await,
        400,
        "GetProfileImage",
    );
}

// --- ListCommands and friends -------------------------------------------------------------

fn command(trigger: &str, team_id: &str) -> Option<pb::Command> {
    Some(pb::Command {
        trigger: trigger.into(),
        team_id: team_id.into(),
        auto_complete: true,
        ..Default::default()
    })
}

fn triggers(commands: &[pb::Command]) -> Vec<&str> {
    commands.iter().map(|c| c.trigger.as_str()).collect()
}

#[tokio::test]
async fn command_lists_combine_built_in_and_plugin_commands() {
    let b = MemoryBackend::new();
    let team = "t".repeat(26);
    b.register_command(&ctx(), command("todo", ""))
        .await
        .unwrap();
    b.register_command(&ctx_of("other.plugin"), command("deploy", &team))
        .await
        .unwrap();
    b.register_command(&ctx(), command("elsewhere", &"e".repeat(26)))
        .await
        .unwrap();

    let built_in = b.list_built_in_commands(&ctx()).await.unwrap();
    assert!(triggers(&built_in).contains(&"echo"));
    assert!(built_in.iter().all(|c| c.plugin_id.is_empty()));

    let plugin = b.list_plugin_commands(&ctx(), team.clone()).await.unwrap();
    assert_eq!(triggers(&plugin), ["todo", "deploy"]);
    assert_eq!(plugin[1].plugin_id, "other.plugin");

    let all = b.list_commands(&ctx(), team.clone()).await.unwrap();
    assert_eq!(all.len(), built_in.len() + plugin.len());
    assert!(triggers(&all).ends_with(&["todo", "deploy"]));
    assert!(!triggers(&all).contains(&"elsewhere"));

    assert!(
        b.list_custom_commands(&ctx(), team)
            .await
            .unwrap()
            .is_empty()
    );
}
