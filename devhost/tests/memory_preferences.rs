//! User preferences in the in-memory backend.

#[path = "memory_support.rs"]
mod support;

use mattermost_plugin_api::{PluginApi, pb};
use support::{UNKNOWN_ID, World, ctx, expect_status};

fn pref(user: &pb::User, category: &str, name: &str, value: &str) -> pb::Preference {
    pb::Preference {
        user_id: user.id.clone(),
        category: category.into(),
        name: name.into(),
        value: value.into(),
    }
}

#[tokio::test]
async fn update_get_list_and_delete_preferences() {
    let world = World::seeded();
    let (backend, alice) = (&world.backend, &world.alice);
    let display = pref(alice, "display_settings", "use_military_time", "true");
    let flag = pref(alice, "flagged_post", UNKNOWN_ID, "true");
    backend
        .update_preferences_for_user(
            &ctx(),
            alice.id.clone(),
            vec![display.clone(), flag.clone()],
        )
        .await
        .unwrap();

    let one = backend
        .get_preference_for_user(
            &ctx(),
            alice.id.clone(),
            "display_settings".into(),
            "use_military_time".into(),
        )
        .await
        .unwrap();
    assert_eq!(one, Some(display.clone()));
    let all = backend
        .get_preferences_for_user(&ctx(), alice.id.clone())
        .await
        .unwrap();
    assert_eq!(all, vec![display.clone(), flag.clone()]);
    let bobs = backend
        .get_preferences_for_user(&ctx(), world.bob.id.clone())
        .await
        .unwrap();
    assert!(bobs.is_empty());

    let changed = pref(alice, "display_settings", "use_military_time", "false");
    backend
        .update_preferences_for_user(&ctx(), alice.id.clone(), vec![changed.clone()])
        .await
        .unwrap();
    backend
        .delete_preferences_for_user(&ctx(), alice.id.clone(), vec![flag])
        .await
        .unwrap();
    let all = backend
        .get_preferences_for_user(&ctx(), alice.id.clone())
        .await
        .unwrap();
    assert_eq!(all, vec![changed]);
    expect_status(
        backend
            .get_preference_for_user(
                &ctx(),
                alice.id.clone(),
                "flagged_post".into(),
                UNKNOWN_ID.into(),
            )
            .await,
        404,
        "GetPreferenceForUser",
    );
}

#[tokio::test]
async fn preferences_are_validated_and_owned() {
    let world = World::seeded();
    let (backend, alice) = (&world.backend, &world.alice);
    let bobs = pref(&world.bob, "display_settings", "x", "1");
    let e = expect_status(
        backend
            .update_preferences_for_user(&ctx(), alice.id.clone(), vec![bobs.clone()])
            .await,
        403,
        "UpdatePreferencesForUser",
    );
    assert_eq!(
        e.id,
        "api.preference.update_preferences.set_details.app_error"
    );
    expect_status(
        backend
            .delete_preferences_for_user(&ctx(), alice.id.clone(), vec![bobs])
            .await,
        403,
        "DeletePreferencesForUser",
    );

    let invalid = [
        pref(alice, "", "x", "1"),
        pref(alice, &"c".repeat(33), "x", "1"),
        pref(alice, "display_settings", &"n".repeat(33), "1"),
        pref(alice, "theme", "", "not json"),
    ];
    for p in invalid {
        // A valid preference in the same batch must not be saved either.
        let batch = vec![pref(alice, "ok", "ok", "1"), p];
        expect_status(
            backend
                .update_preferences_for_user(&ctx(), alice.id.clone(), batch)
                .await,
            400,
            "UpdatePreferencesForUser",
        );
    }
    assert!(
        backend
            .get_preferences_for_user(&ctx(), alice.id.clone())
            .await
            .unwrap()
            .is_empty()
    );
    backend
        .update_preferences_for_user(
            &ctx(),
            alice.id.clone(),
            vec![pref(alice, "theme", "", r##"{"sidebarBg":"#fff"}"##)],
        )
        .await
        .expect("a JSON theme is valid");
    expect_status(
        backend
            .get_preferences_for_user(&ctx(), UNKNOWN_ID.into())
            .await,
        404,
        "GetPreferencesForUser",
    );
}
