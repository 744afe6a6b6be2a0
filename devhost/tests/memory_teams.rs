//! Teams and team membership in the in-memory backend.

#[path = "memory_support.rs"]
mod support;

use mattermost_plugin_api::{PluginApi, pb};
use mattermost_plugin_devhost::backend::memory::{MemoryBackend, is_valid_id};
use support::{UNKNOWN_ID, World, ctx, expect_status};

fn team(name: &str) -> pb::Team {
    pb::Team {
        name: name.into(),
        display_name: format!("Team {name}"),
        r#type: "O".into(),
        ..Default::default()
    }
}

#[tokio::test]
async fn create_team_fills_fields_and_creates_default_channels() {
    let backend = MemoryBackend::new();
    let created = backend
        .create_team(&ctx(), Some(team("dev-ops")))
        .await
        .unwrap()
        .unwrap();
    assert!(is_valid_id(&created.id));
    assert!(is_valid_id(&created.invite_id));
    assert!(created.create_at > 0 && created.update_at == created.create_at);

    for name in ["town-square", "off-topic"] {
        let channel = backend
            .get_channel_by_name(&ctx(), created.id.clone(), name.into(), false)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (channel.r#type.as_str(), channel.team_id.as_str()),
            ("O", created.id.as_str())
        );
    }
    let fetched = backend.get_team(&ctx(), created.id.clone()).await.unwrap();
    let by_name = backend
        .get_team_by_name(&ctx(), "dev-ops".into())
        .await
        .unwrap();
    assert_eq!(fetched.as_ref(), Some(&created));
    assert_eq!(by_name, Some(created));
}

#[tokio::test]
async fn invalid_and_duplicate_teams_are_400() {
    let backend = MemoryBackend::new();
    backend.seed_team("taken").unwrap();
    let cases = [
        ("a", "O", "model.team.is_valid.characters.app_error"),
        ("My Team", "O", "model.team.is_valid.characters.app_error"),
        ("-edge", "O", "model.team.is_valid.characters.app_error"),
        ("admin-stuff", "O", "model.team.is_valid.reserved.app_error"),
        ("fine-name", "X", "model.team.is_valid.type.app_error"),
        ("taken", "I", "app.team.save.existing.app_error"),
    ];
    for (name, kind, id) in cases {
        let input = pb::Team {
            r#type: kind.into(),
            ..team(name)
        };
        let e = expect_status(
            backend.create_team(&ctx(), Some(input)).await,
            400,
            "CreateTeam",
        );
        assert_eq!(e.id, id, "team {name:?}");
    }
    let no_display = pb::Team {
        display_name: String::new(),
        ..team("ok-name")
    };
    expect_status(
        backend.create_team(&ctx(), Some(no_display)).await,
        400,
        "CreateTeam",
    );
    assert_eq!(backend.get_teams(&ctx()).await.unwrap().len(), 1);
}

#[tokio::test]
async fn unknown_and_malformed_team_ids() {
    let backend = MemoryBackend::new();
    expect_status(
        backend.get_team(&ctx(), UNKNOWN_ID.into()).await,
        404,
        "GetTeam",
    );
    expect_status(
        backend.get_team(&ctx(), "short".into()).await,
        400,
        "GetTeam",
    );
    expect_status(
        backend.get_team_by_name(&ctx(), "none".into()).await,
        404,
        "GetTeamByName",
    );
    let user = backend.seed_user("zed").unwrap();
    expect_status(
        backend
            .create_team_member(&ctx(), UNKNOWN_ID.into(), user.id)
            .await,
        404,
        "CreateTeamMember",
    );
}

#[tokio::test]
async fn update_team_keeps_server_fields_and_unique_names() {
    let backend = MemoryBackend::new();
    let first = backend.seed_team("first").unwrap();
    backend.seed_team("second").unwrap();
    let mut changed = first.clone();
    changed.display_name = "Renamed".into();
    changed.create_at = 42;
    changed.invite_id.clear();
    let updated = backend
        .update_team(&ctx(), Some(changed))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(updated.display_name, "Renamed");
    assert_eq!(updated.create_at, first.create_at);
    assert_eq!(updated.invite_id, first.invite_id);

    let mut clash = updated.clone();
    clash.name = "second".into();
    expect_status(
        backend.update_team(&ctx(), Some(clash)).await,
        400,
        "UpdateTeam",
    );
}

#[tokio::test]
async fn team_membership_lifecycle() {
    let backend = MemoryBackend::new();
    let team = backend.seed_team("crew").unwrap();
    let user = backend.seed_user("uma").unwrap();

    let member = backend
        .create_team_member(&ctx(), team.id.clone(), user.id.clone())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (member.roles.as_str(), member.scheme_user, member.delete_at),
        ("team_user", true, 0)
    );
    let again = backend
        .create_team_member(&ctx(), team.id.clone(), user.id.clone())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(again, member, "joining twice is idempotent");

    let listed = backend
        .get_team_members(&ctx(), team.id.clone(), 0, 10)
        .await
        .unwrap();
    assert_eq!(listed, vec![member.clone()]);
    let for_user = backend
        .get_team_members_for_user(&ctx(), user.id.clone(), 0, 10)
        .await
        .unwrap();
    assert_eq!(for_user, vec![member.clone()]);
    let teams = backend
        .get_teams_for_user(&ctx(), user.id.clone())
        .await
        .unwrap();
    assert_eq!(teams, vec![team.clone()]);

    backend
        .delete_team_member(&ctx(), team.id.clone(), user.id.clone(), String::new())
        .await
        .unwrap();
    let removed = backend
        .get_team_member(&ctx(), team.id.clone(), user.id.clone())
        .await
        .unwrap()
        .unwrap();
    assert!(
        removed.delete_at > 0,
        "a removed membership is kept with delete_at set"
    );
    assert!(
        backend
            .get_team_members(&ctx(), team.id.clone(), 0, 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        backend
            .get_teams_for_user(&ctx(), user.id.clone())
            .await
            .unwrap()
            .is_empty()
    );
    expect_status(
        backend
            .delete_team_member(&ctx(), team.id.clone(), user.id.clone(), String::new())
            .await,
        404,
        "DeleteTeamMember",
    );

    let rejoined = backend
        .create_team_member(&ctx(), team.id.clone(), user.id.clone())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(rejoined.delete_at, 0);
}

#[tokio::test]
async fn joining_a_team_joins_its_default_channels_and_leaving_leaves_them() {
    let world = World::seeded();
    let backend = &world.backend;
    let town_square = backend
        .get_channel_by_name(&ctx(), world.team.id.clone(), "town-square".into(), false)
        .await
        .unwrap()
        .unwrap();
    let member = backend
        .get_channel_member(&ctx(), town_square.id.clone(), world.alice.id.clone())
        .await
        .unwrap();
    assert!(member.is_some());

    backend
        .delete_team_member(
            &ctx(),
            world.team.id.clone(),
            world.alice.id.clone(),
            String::new(),
        )
        .await
        .unwrap();
    for channel_id in [&town_square.id, &world.channel.id] {
        expect_status(
            backend
                .get_channel_member(&ctx(), channel_id.clone(), world.alice.id.clone())
                .await,
            404,
            "GetChannelMember",
        );
    }
}

#[tokio::test]
async fn bulk_membership_reports_failures() {
    let backend = MemoryBackend::new();
    let team = backend.seed_team("bulk").unwrap();
    let a = backend.seed_user("anna").unwrap();
    let b = backend.seed_user("bert").unwrap();
    let results = backend
        .create_team_members_gracefully(
            &ctx(),
            team.id.clone(),
            vec![a.id.clone(), UNKNOWN_ID.into()],
            String::new(),
        )
        .await
        .unwrap();
    assert_eq!(results.len(), 2);
    assert!(results[0].member.is_some() && results[0].error.is_none());
    let error = results[1]
        .error
        .as_ref()
        .expect("an error for the unknown user");
    assert_eq!(
        (error.status_code, error.r#where.as_str()),
        (404, "CreateTeamMembersGracefully")
    );

    let members = backend
        .create_team_members(
            &ctx(),
            team.id.clone(),
            vec![a.id.clone(), b.id.clone()],
            String::new(),
        )
        .await
        .unwrap();
    assert_eq!(members.len(), 2);
    expect_status(
        backend
            .create_team_members(&ctx(), team.id.clone(), vec!["bad".into()], String::new())
            .await,
        400,
        "CreateTeamMembers",
    );
}

#[tokio::test]
async fn delete_team_archives_it() {
    let world = World::seeded();
    let backend = &world.backend;
    backend
        .delete_team(&ctx(), world.team.id.clone())
        .await
        .unwrap();
    let archived = backend
        .get_team(&ctx(), world.team.id.clone())
        .await
        .unwrap()
        .unwrap();
    assert!(archived.delete_at > 0);
    assert_eq!(
        backend.get_teams(&ctx()).await.unwrap().len(),
        1,
        "GetTeams lists archived teams"
    );
    let teams = backend
        .get_teams_for_user(&ctx(), world.alice.id.clone())
        .await
        .unwrap();
    assert!(teams.is_empty(), "but a user's teams are live ones");
}

#[tokio::test]
async fn team_stats_and_member_roles() {
    let world = World::seeded();
    let backend = &world.backend;
    backend
        .delete_user(&ctx(), world.bob.id.clone())
        .await
        .unwrap();
    let stats = backend
        .get_team_stats(&ctx(), world.team.id.clone())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (stats.total_member_count, stats.active_member_count),
        (2, 1)
    );

    let admin = backend
        .update_team_member_roles(
            &ctx(),
            world.team.id.clone(),
            world.alice.id.clone(),
            "team_user team_admin".into(),
        )
        .await
        .unwrap()
        .unwrap();
    assert!(admin.scheme_admin && admin.scheme_user);
    assert_eq!(admin.roles, "team_user team_admin");
}
