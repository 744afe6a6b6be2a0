//! Posts, threads, reactions and ephemeral posts in the in-memory backend.

#[path = "memory_support.rs"]
mod support;

use std::time::Duration;

use mattermost_plugin_api::{PluginApi, pb};
use mattermost_plugin_devhost::backend::memory::is_valid_id;
use support::{UNKNOWN_ID, World, ctx, expect_status};

fn post(world: &World, message: &str, root_id: &str) -> pb::Post {
    pb::Post {
        user_id: world.alice.id.clone(),
        channel_id: world.channel.id.clone(),
        root_id: root_id.into(),
        message: message.into(),
        ..Default::default()
    }
}

async fn create(world: &World, message: &str, root_id: &str) -> pb::Post {
    let created = world
        .backend
        .create_post(&ctx(), Some(post(world, message, root_id)))
        .await
        .expect("create post")
        .expect("a post");
    // Distinct timestamps make the expected orders unambiguous.
    world.backend.advance_clock(Duration::from_millis(10));
    created
}

#[tokio::test]
async fn create_post_fills_id_and_times_and_counts_in_the_channel() {
    let world = World::seeded();
    let created = create(&world, "hello", "").await;
    assert!(is_valid_id(&created.id));
    assert!(created.create_at > 0);
    assert_eq!(created.update_at, created.create_at);
    assert_eq!((created.edit_at, created.delete_at), (0, 0));
    assert_eq!(created.message, "hello");

    let fetched = world
        .backend
        .get_post(&ctx(), created.id.clone())
        .await
        .unwrap();
    assert_eq!(fetched, Some(created.clone()));
    let channel = world
        .backend
        .get_channel(&ctx(), world.channel.id.clone())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (channel.total_msg_count, channel.last_post_at),
        (1, created.create_at)
    );
}

#[tokio::test]
async fn invalid_posts_are_rejected() {
    let world = World::seeded();
    let backend = &world.backend;
    let base = post(&world, "x", "");
    let bad_request = [
        pb::Post {
            user_id: "short".into(),
            ..base.clone()
        },
        pb::Post {
            channel_id: String::new(),
            ..base.clone()
        },
        pb::Post {
            id: UNKNOWN_ID.into(),
            ..base.clone()
        },
        pb::Post {
            root_id: "not-an-id".into(),
            ..base.clone()
        },
        pb::Post {
            message: "a".repeat(16384),
            ..base.clone()
        },
        pb::Post {
            r#type: "weird".into(),
            ..base.clone()
        },
    ];
    for input in bad_request {
        expect_status(
            backend.create_post(&ctx(), Some(input)).await,
            400,
            "CreatePost",
        );
    }
    let not_found = [
        pb::Post {
            user_id: UNKNOWN_ID.into(),
            ..base.clone()
        },
        pb::Post {
            channel_id: UNKNOWN_ID.into(),
            ..base.clone()
        },
    ];
    for input in not_found {
        expect_status(
            backend.create_post(&ctx(), Some(input)).await,
            404,
            "CreatePost",
        );
    }
    let custom = pb::Post {
        r#type: "custom_poll".into(),
        ..base.clone()
    };
    assert!(backend.create_post(&ctx(), Some(custom)).await.is_ok());

    backend
        .delete_channel(&ctx(), world.channel.id.clone())
        .await
        .unwrap();
    let e = expect_status(
        backend.create_post(&ctx(), Some(base)).await,
        400,
        "CreatePost",
    );
    assert_eq!(e.id, "api.post.create_post.can_not_post_to_deleted.error");
}

#[tokio::test]
async fn replies_need_a_live_root_in_the_same_channel() {
    let world = World::seeded();
    let backend = &world.backend;
    let root = create(&world, "root", "").await;
    let reply = create(&world, "reply", &root.id).await;

    let e = expect_status(
        backend
            .create_post(&ctx(), Some(post(&world, "orphan", UNKNOWN_ID)))
            .await,
        400,
        "CreatePost",
    );
    assert_eq!(e.id, "api.post.create_post.root_id.app_error");
    expect_status(
        backend
            .create_post(&ctx(), Some(post(&world, "nested", &reply.id)))
            .await,
        400,
        "CreatePost",
    );
    let elsewhere = world
        .backend
        .seed_channel(&world.team.id, "elsewhere")
        .unwrap();
    let mut moved = post(&world, "wrong channel", &root.id);
    moved.channel_id = elsewhere.id;
    let e = expect_status(
        backend.create_post(&ctx(), Some(moved)).await,
        400,
        "CreatePost",
    );
    assert_eq!(e.id, "api.post.create_post.channel_root_id.app_error");
}

#[tokio::test]
async fn threads_list_root_and_replies_newest_first() {
    let world = World::seeded();
    let root = create(&world, "root", "").await;
    let first = create(&world, "first", &root.id).await;
    let second = create(&world, "second", &root.id).await;
    create(&world, "unrelated", "").await;

    for from in [&root.id, &second.id] {
        let thread = world
            .backend
            .get_post_thread(&ctx(), from.clone())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            thread.order,
            vec![second.id.clone(), first.id.clone(), root.id.clone()]
        );
        assert_eq!(thread.posts.len(), 3);
        let listed_root = &thread.posts[&root.id];
        assert_eq!(
            (listed_root.reply_count, listed_root.last_reply_at),
            (2, second.create_at)
        );
    }
    let fetched_root = world
        .backend
        .get_post(&ctx(), root.id.clone())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(fetched_root.reply_count, 2);
    expect_status(
        world
            .backend
            .get_post_thread(&ctx(), UNKNOWN_ID.into())
            .await,
        404,
        "GetPostThread",
    );
}

#[tokio::test]
async fn update_post_edits_the_message_only() {
    let world = World::seeded();
    let original = create(&world, "draft", "").await;
    let mut changed = original.clone();
    changed.message = "final".into();
    changed.channel_id = UNKNOWN_ID.into();
    changed.user_id = world.bob.id.clone();
    changed.is_pinned = true;
    let updated = world
        .backend
        .update_post(&ctx(), Some(changed))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(updated.message, "final");
    assert!(updated.edit_at >= original.create_at && updated.edit_at > 0);
    assert!(updated.update_at > original.update_at);
    assert!(updated.is_pinned);
    assert_eq!(updated.channel_id, original.channel_id);
    assert_eq!(updated.user_id, original.user_id);

    let ghost = pb::Post {
        id: UNKNOWN_ID.into(),
        ..updated
    };
    expect_status(
        world.backend.update_post(&ctx(), Some(ghost)).await,
        404,
        "UpdatePost",
    );
}

#[tokio::test]
async fn deleting_a_root_deletes_its_thread() {
    let world = World::seeded();
    let root = create(&world, "root", "").await;
    let reply = create(&world, "reply", &root.id).await;
    let other = create(&world, "other", "").await;
    world
        .backend
        .delete_post(&ctx(), root.id.clone())
        .await
        .unwrap();
    for id in [&root.id, &reply.id] {
        expect_status(
            world.backend.get_post(&ctx(), id.clone()).await,
            404,
            "GetPost",
        );
    }
    expect_status(
        world.backend.delete_post(&ctx(), root.id.clone()).await,
        404,
        "DeletePost",
    );
    let listed = world
        .backend
        .get_posts_for_channel(&ctx(), world.channel.id.clone(), 0, 10)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(listed.order, vec![other.id]);
}

#[tokio::test]
async fn channel_posts_page_newest_first_with_thread_context() {
    let world = World::seeded();
    let root = create(&world, "root", "").await;
    let middle = create(&world, "middle", "").await;
    let reply = create(&world, "reply", &root.id).await;
    let backend = &world.backend;
    let channel = world.channel.id.clone();

    let first_page = backend
        .get_posts_for_channel(&ctx(), channel.clone(), 0, 2)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(first_page.order, vec![reply.id.clone(), middle.id.clone()]);
    assert!(
        first_page.posts.contains_key(&root.id),
        "a reply's root comes along for context"
    );
    let second_page = backend
        .get_posts_for_channel(&ctx(), channel.clone(), 1, 2)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(second_page.order, vec![root.id.clone()]);

    let since = backend
        .get_posts_since(&ctx(), channel.clone(), middle.create_at)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(since.order, vec![reply.id.clone()]);
    let before = backend
        .get_posts_before(&ctx(), channel.clone(), reply.id.clone(), 0, 10)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(before.order, vec![middle.id.clone(), root.id.clone()]);
    let after = backend
        .get_posts_after(&ctx(), channel.clone(), root.id.clone(), 0, 1)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        after.order,
        vec![middle.id.clone()],
        "the closest newer post"
    );
    expect_status(
        backend
            .get_posts_for_channel(&ctx(), UNKNOWN_ID.into(), 0, 10)
            .await,
        404,
        "GetPostsForChannel",
    );
}

#[tokio::test]
async fn reactions_are_added_listed_and_removed() {
    let world = World::seeded();
    let target = create(&world, "react to me", "").await;
    let reaction = |user: &pb::User, emoji: &str| pb::Reaction {
        user_id: user.id.clone(),
        post_id: target.id.clone(),
        emoji_name: emoji.into(),
        ..Default::default()
    };
    let backend = &world.backend;
    let added = backend
        .add_reaction(&ctx(), Some(reaction(&world.alice, "+1")))
        .await
        .unwrap()
        .unwrap();
    assert!(added.create_at > 0);
    assert_eq!(added.channel_id, world.channel.id);
    backend
        .add_reaction(&ctx(), Some(reaction(&world.alice, "+1")))
        .await
        .unwrap();
    backend
        .add_reaction(&ctx(), Some(reaction(&world.bob, "tada")))
        .await
        .unwrap();

    let listed = backend
        .get_reactions(&ctx(), target.id.clone())
        .await
        .unwrap();
    // Reactions made in the same millisecond have no defined order.
    let mut emojis: Vec<_> = listed.iter().map(|r| r.emoji_name.as_str()).collect();
    emojis.sort();
    assert_eq!(emojis, ["+1", "tada"], "one reaction per user and emoji");
    let fetched = backend
        .get_post(&ctx(), target.id.clone())
        .await
        .unwrap()
        .unwrap();
    assert!(fetched.has_reactions);

    backend
        .remove_reaction(&ctx(), Some(reaction(&world.alice, "+1")))
        .await
        .unwrap();
    backend
        .remove_reaction(&ctx(), Some(reaction(&world.alice, "+1")))
        .await
        .unwrap();
    let listed = backend
        .get_reactions(&ctx(), target.id.clone())
        .await
        .unwrap();
    assert_eq!(listed.len(), 1);

    expect_status(
        backend
            .add_reaction(&ctx(), Some(reaction(&world.alice, "bad emoji!")))
            .await,
        400,
        "AddReaction",
    );
    let mut ghost = reaction(&world.alice, "smile");
    ghost.post_id = UNKNOWN_ID.into();
    expect_status(
        backend.add_reaction(&ctx(), Some(ghost)).await,
        404,
        "AddReaction",
    );
    expect_status(
        backend.get_reactions(&ctx(), UNKNOWN_ID.into()).await,
        404,
        "GetReactions",
    );
}

#[tokio::test]
async fn ephemeral_posts_are_recorded_not_stored() {
    let world = World::seeded();
    let backend = &world.backend;
    let sent = backend
        .send_ephemeral_post(
            &ctx(),
            world.bob.id.clone(),
            Some(post(&world, "only you", "")),
        )
        .await
        .unwrap()
        .unwrap();
    assert!(is_valid_id(&sent.id));
    assert_eq!(sent.r#type, "system_ephemeral");
    expect_status(
        backend.get_post(&ctx(), sent.id.clone()).await,
        404,
        "GetPost",
    );

    let mut changed = sent.clone();
    changed.message = "changed".into();
    backend
        .update_ephemeral_post(&ctx(), world.bob.id.clone(), Some(changed))
        .await
        .unwrap();
    let recorded = backend.ephemeral_posts();
    assert_eq!(recorded.len(), 1);
    assert_eq!(
        (
            recorded[0].user_id.as_str(),
            recorded[0].post.message.as_str()
        ),
        (world.bob.id.as_str(), "changed")
    );

    backend
        .delete_ephemeral_post(&ctx(), world.bob.id.clone(), sent.id)
        .await
        .unwrap();
    assert!(backend.ephemeral_posts().is_empty());
}
