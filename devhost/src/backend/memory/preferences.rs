//! User preferences: (user, category, name) → value.

use mattermost_plugin_api::pb;

use super::State;
use super::errors::{Fault, Outcome};
use super::rules::runes;

/// (user id, category, name).
pub(super) type Key = (String, String, String);

const CATEGORY_MAX_LEN: usize = 32;
const NAME_MAX_LEN: usize = 32;
const VALUE_MAX_RUNES: usize = 20000;
/// Theme preferences must hold a JSON object of strings (the web app parses them).
const THEME_CATEGORY: &str = "theme";

fn key_of(p: &pb::Preference) -> Key {
    (p.user_id.clone(), p.category.clone(), p.name.clone())
}

fn invalid_preference(field: &str, message: &str) -> Fault {
    Fault::bad_request(
        format!("model.preference.is_valid.{field}.app_error"),
        message,
    )
}

/// `Preference.IsValid` (the user id is checked by the caller).
fn validate_preference(p: &pb::Preference) -> Outcome<()> {
    if p.category.is_empty() || p.category.len() > CATEGORY_MAX_LEN {
        return Err(invalid_preference("category", "Invalid category."));
    }
    if p.name.len() > NAME_MAX_LEN {
        return Err(invalid_preference("name", "Invalid name."));
    }
    if runes(&p.value) > VALUE_MAX_RUNES {
        return Err(invalid_preference("value", "the value is too long"));
    }
    let theme_ok =
        || serde_json::from_str::<std::collections::HashMap<String, String>>(&p.value).is_ok();
    if p.category == THEME_CATEGORY && !theme_ok() {
        return Err(invalid_preference("theme", "Invalid theme."));
    }
    Ok(())
}

/// A user may only change their own preferences.
fn require_owner(user_id: &str, preferences: &[pb::Preference], id: &'static str) -> Outcome<()> {
    match preferences.iter().find(|p| p.user_id != user_id) {
        Some(p) => Err(Fault::forbidden(id, "preferences belong to their own user")
            .detail(format!("userId={user_id}, preference.UserId={}", p.user_id))),
        None => Ok(()),
    }
}

impl State {
    /// `GetPreferencesForUser`.
    pub(super) fn preferences_for_user(&self, user_id: &str) -> Outcome<Vec<pb::Preference>> {
        self.user(user_id)?;
        Ok(self
            .preferences
            .iter()
            .filter(|((user, _, _), _)| user == user_id)
            .map(|((user, category, name), value)| pb::Preference {
                user_id: user.clone(),
                category: category.clone(),
                name: name.clone(),
                value: value.clone(),
            })
            .collect())
    }

    /// `GetPreferenceForUser`: 404 when that preference was never set.
    pub(super) fn preference_for_user(
        &self,
        user_id: &str,
        category: &str,
        name: &str,
    ) -> Outcome<pb::Preference> {
        self.user(user_id)?;
        let key = (user_id.to_string(), category.to_string(), name.to_string());
        let value = self.preferences.get(&key).ok_or_else(|| {
            Fault::not_found("app.preference.get.app_error", "no such preference")
                .detail(format!("category={category} name={name}"))
        })?;
        Ok(pb::Preference {
            user_id: key.0,
            category: key.1,
            name: key.2,
            value: value.clone(),
        })
    }

    /// `UpdatePreferencesForUser`: all are checked before any is saved.
    pub(super) fn update_preferences(
        &mut self,
        user_id: &str,
        preferences: Vec<pb::Preference>,
    ) -> Outcome<()> {
        self.user(user_id)?;
        require_owner(
            user_id,
            &preferences,
            "api.preference.update_preferences.set_details.app_error",
        )?;
        preferences.iter().try_for_each(validate_preference)?;
        for p in preferences {
            let key = key_of(&p);
            self.preferences.insert(key, p.value);
        }
        Ok(())
    }

    /// `DeletePreferencesForUser`: deleting one that is not set is fine.
    pub(super) fn delete_preferences(
        &mut self,
        user_id: &str,
        preferences: &[pb::Preference],
    ) -> Outcome<()> {
        self.user(user_id)?;
        require_owner(
            user_id,
            preferences,
            "api.preference.delete_preferences.delete.app_error",
        )?;
        for p in preferences {
            self.preferences.remove(&key_of(p));
        }
        Ok(())
    }
}
