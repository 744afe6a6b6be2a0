//! `SearchPostsInTeam` and `SearchPostsInTeamForUser` in the in-memory backend.

#[path = "memory_support.rs"]
mod support;

use std::time::Duration;

use mattermost_plugin_api::{PluginApi, pb};
use support::{UNKNOWN_ID, World, ctx, expect_status};

async fn post(world: &World, user: &pb::User, channel_id: &str, message: &str) -> pb::Post {
    let created = world
        .backend
        .create_post(
            &ctx(),
            Some(pb::Post {
                user_id: user.id.clone(),
                channel_id: channel_id.into(),
                message: message.into(),
                ..Default::default()
            }),
        )
        .await
        .expect("create post")
        .expect("a post");
    world.backend.advance_clock(Duration::from_millis(5));
    created
}

fn terms(text: &str) -> pb::SearchParams {
    pb::SearchParams {
        terms: text.into(),
        ..Default::default()
    }
}

async fn search(world: &World, params: Vec<pb::SearchParams>) -> Vec<String> {
    world
        .backend
        .search_posts_in_team(&ctx(), world.team.id.clone(), params)
        .await
        .expect("search")
        .into_iter()
        .map(|p| p.message)
        .collect()
}

#[tokio::test]
async fn terms_match_case_insensitively_newest_first() {
    let world = World::seeded();
    let ch = world.channel.id.clone();
    post(&world, &world.alice, &ch, "Deploy the API today").await;
    post(&world, &world.bob, &ch, "lunch?").await;
    post(&world, &world.bob, &ch, "the deploy went fine").await;

    assert_eq!(
        search(&world, vec![terms("DEPLOY")]).await,
        ["the deploy went fine", "Deploy the API today"]
    );
    // Every term must match, unless or_terms.
    assert_eq!(
        search(&world, vec![terms("deploy api")]).await,
        ["Deploy the API today"]
    );
    let either = pb::SearchParams {
        or_terms: true,
        ..terms("lunch api")
    };
    assert_eq!(
        search(&world, vec![either]).await,
        ["lunch?", "Deploy the API today"]
    );
    let excluded = pb::SearchParams {
        excluded_terms: "api".into(),
        ..terms("deploy")
    };
    assert_eq!(
        search(&world, vec![excluded]).await,
        ["the deploy went fine"]
    );
    assert_eq!(
        search(&world, vec![terms(r#""went fine""#)]).await,
        ["the deploy went fine"]
    );
    assert!(
        search(&world, vec![terms("")]).await.is_empty(),
        "nothing to look for"
    );
}

#[tokio::test]
async fn channel_and_user_filters_use_names() {
    let world = World::seeded();
    let ops = world
        .backend
        .seed_channel(&world.team.id, "ops")
        .expect("seed ops");
    world
        .backend
        .seed_channel_member(&ops.id, &world.alice.id)
        .expect("join ops");
    post(&world, &world.alice, &world.channel.id, "status: green").await;
    post(&world, &world.bob, &world.channel.id, "status: red").await;
    post(&world, &world.alice, &ops.id, "status: amber").await;

    let in_ops = pb::SearchParams {
        in_channels: vec!["ops".into()],
        ..terms("status")
    };
    assert_eq!(search(&world, vec![in_ops]).await, ["status: amber"]);
    let from_bob = pb::SearchParams {
        from_users: vec!["bob".into()],
        ..terms("status")
    };
    assert_eq!(search(&world, vec![from_bob]).await, ["status: red"]);
    let not_alice = pb::SearchParams {
        excluded_users: vec!["alice".into()],
        ..terms("status")
    };
    assert_eq!(search(&world, vec![not_alice]).await, ["status: red"]);
    // Several searches: the union, each post once.
    let found = search(&world, vec![terms("green"), terms("status: g")]).await;
    assert_eq!(found, ["status: green"]);
}

#[tokio::test]
async fn other_teams_deleted_posts_and_archived_channels_are_not_found() {
    let world = World::seeded();
    let other = world.backend.seed_team("other").expect("seed team");
    world
        .backend
        .seed_team_member(&other.id, &world.alice.id)
        .expect("join");
    let elsewhere = world
        .backend
        .seed_channel(&other.id, "elsewhere")
        .expect("seed channel");
    world
        .backend
        .seed_channel_member(&elsewhere.id, &world.alice.id)
        .expect("join");
    post(&world, &world.alice, &elsewhere.id, "needle abroad").await;
    let gone = post(&world, &world.alice, &world.channel.id, "needle deleted").await;
    world.backend.delete_post(&ctx(), gone.id).await.unwrap();
    let archived = world
        .backend
        .seed_channel(&world.team.id, "attic")
        .expect("seed channel");
    world
        .backend
        .seed_channel_member(&archived.id, &world.alice.id)
        .expect("join");
    post(&world, &world.alice, &archived.id, "needle archived").await;
    world
        .backend
        .delete_channel(&ctx(), archived.id.clone())
        .await
        .unwrap();

    assert!(search(&world, vec![terms("needle")]).await.is_empty());
    let with_archived = pb::SearchParams {
        include_deleted_channels: true,
        ..terms("needle")
    };
    assert_eq!(
        search(&world, vec![with_archived]).await,
        ["needle archived"]
    );
}

async fn search_as(
    world: &World,
    user: &pb::User,
    text: &str,
    page: Option<i64>,
    per_page: Option<i64>,
) -> pb::PostSearchResults {
    let params = pb::SearchParameter {
        terms: Some(text.into()),
        page,
        per_page,
        ..Default::default()
    };
    world
        .backend
        .search_posts_in_team_for_user(&ctx(), world.team.id.clone(), user.id.clone(), Some(params))
        .await
        .expect("search")
        .expect("results")
}

#[tokio::test]
async fn for_user_searches_only_the_users_channels_and_pages() {
    let world = World::seeded();
    let private = world
        .backend
        .seed_channel(&world.team.id, "alices-corner")
        .expect("seed channel");
    world
        .backend
        .seed_channel_member(&private.id, &world.alice.id)
        .expect("join");
    let dm = world
        .backend
        .get_direct_channel(&ctx(), world.alice.id.clone(), world.bob.id.clone())
        .await
        .unwrap()
        .unwrap();
    let shared = post(&world, &world.bob, &world.channel.id, "report one").await;
    let secret = post(&world, &world.alice, &private.id, "report two").await;
    let direct = post(&world, &world.alice, &dm.id, "report three from alice").await;

    let bob = search_as(&world, &world.bob, "report", None, None).await;
    assert_eq!(bob.order, [direct.id.clone(), shared.id.clone()]);
    assert_eq!(bob.matches[&shared.id].values, ["report"]);
    assert!(!bob.posts.contains_key(&secret.id));

    let alice = search_as(&world, &world.alice, "report from:alice", None, None).await;
    assert_eq!(alice.order, [direct.id.clone(), secret.id.clone()]);
    let second_page = search_as(&world, &world.alice, "report", Some(1), Some(2)).await;
    assert_eq!(second_page.order, [shared.id]);
    let excluded = search_as(
        &world,
        &world.alice,
        "report -three in:alices-corner",
        None,
        None,
    )
    .await;
    assert_eq!(excluded.order, [secret.id]);
}

#[tokio::test]
async fn bad_ids_and_missing_params_are_app_errors() {
    let world = World::seeded();
    let b = &world.backend;
    expect_status(
        b.search_posts_in_team(&ctx(), "bad".into(), vec![terms("x")])
            .await,
        400,
        "SearchPostsInTeam",
    );
    expect_status(
        b.search_posts_in_team(&ctx(), UNKNOWN_ID.into(), vec![terms("x")])
            .await,
        404,
        "SearchPostsInTeam",
    );
    let params = || Some(pb::SearchParameter::default());
    expect_status(
        b.search_posts_in_team_for_user(&ctx(), world.team.id.clone(), UNKNOWN_ID.into(), params())
            .await,
        404,
        "SearchPostsInTeamForUser",
    );
    expect_status(
        b.search_posts_in_team_for_user(
            &ctx(),
            world.team.id.clone(),
            world.alice.id.clone(),
            None,
        )
        .await,
        400,
        "SearchPostsInTeamForUser",
    );
}
