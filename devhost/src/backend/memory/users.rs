//! Users and their statuses.

use mattermost_plugin_api::pb;

use super::State;
use super::errors::{Fault, Outcome};
use super::ids::{new_id, require_id};
use super::rules::{self, paginate, runes};

pub(super) const SYSTEM_USER_ROLE: &str = "system_user";
const DEFAULT_LOCALE: &str = "en";
const NAME_MAX_RUNES: usize = 64;
const POSITION_MAX_RUNES: usize = 128;
const STATUS_OFFLINE: &str = "offline";
const KNOWN_STATUSES: &[&str] = &["online", "away", "dnd", STATUS_OFFLINE];

pub(super) fn user_not_found(id: &str) -> Fault {
    Fault::not_found("app.user.missing_account.const", "no such user")
        .detail(format!("user_id={id}"))
}

/// Mattermost's `InvalidUserError`: one id per offending field.
fn invalid_user(field: &str, value: &str) -> Fault {
    Fault::bad_request(
        format!("model.user.is_valid.{field}.app_error"),
        format!("{field} is not valid"),
    )
    .detail(format!("{field}={value}"))
}

fn validate_user(user: &pb::User) -> Outcome<()> {
    if !rules::is_valid_username(&user.username) {
        return Err(invalid_user("username", &user.username));
    }
    if !rules::is_valid_email(&user.email) {
        return Err(invalid_user("email", &user.email));
    }
    let limits = [
        ("nickname", &user.nickname, NAME_MAX_RUNES),
        ("first_name", &user.first_name, NAME_MAX_RUNES),
        ("last_name", &user.last_name, NAME_MAX_RUNES),
        ("position", &user.position, POSITION_MAX_RUNES),
    ];
    for (field, value, max) in limits {
        if runes(value) > max {
            return Err(invalid_user(field, value));
        }
    }
    Ok(())
}

/// Secrets are not modelled: the backend never keeps or returns passwords or MFA secrets
/// (Mattermost keeps only a hash and sanitizes what it returns).
fn forget_secrets(user: &mut pb::User) {
    user.password.clear();
    user.mfa_secret.clear();
    user.mfa_used_timestamps.clear();
    if user.auth_data.as_deref() == Some("") {
        user.auth_data = None;
    }
}

/// Whether a space-separated role list contains `role`.
pub(super) fn has_role(roles: &str, role: &str) -> bool {
    roles.split_whitespace().any(|r| r == role)
}

impl State {
    /// The user `id`: 400 for a malformed id, 404 for an unknown one.
    pub(super) fn user(&self, id: &str) -> Outcome<&pb::User> {
        require_id("user_id", id)?;
        self.users.get(id).ok_or_else(|| user_not_found(id))
    }

    /// `CreateUser`: the id is assigned by the server.
    pub(super) fn create_user(&mut self, user: pb::User) -> Outcome<pb::User> {
        if !user.id.is_empty() {
            return Err(Fault::bad_request(
                "app.user.save.existing.app_error",
                "the user has an id already: update it instead",
            )
            .detail(format!("user_id={}", user.id)));
        }
        self.insert_user(user)
    }

    /// Fills the server-side fields (as `User.PreSave`), validates and stores a new user.
    pub(super) fn insert_user(&mut self, mut user: pb::User) -> Outcome<pb::User> {
        user.id = new_id();
        if user.username.is_empty() {
            // Mattermost's NewUsername: a letter first so the name is valid.
            user.username = format!("a{}", new_id());
        }
        user.username = user.username.to_lowercase();
        user.email = user.email.to_lowercase();
        if user.create_at == 0 {
            user.create_at = self.now();
        }
        user.update_at = user.create_at;
        if user.roles.is_empty() {
            user.roles = SYSTEM_USER_ROLE.to_string();
        }
        if user.locale.is_empty() {
            user.locale = DEFAULT_LOCALE.to_string();
        }
        forget_secrets(&mut user);
        validate_user(&user)?;
        self.ensure_unique_identity(&user)?;
        self.users.insert(user.id.clone(), user.clone());
        Ok(user)
    }

    /// `UpdateUser`: fields the server owns (roles, activity, auth) keep their stored values,
    /// as Mattermost's untrusted user update does.
    pub(super) fn update_user(&mut self, mut user: pb::User) -> Outcome<pb::User> {
        let old = self.user(&user.id)?.clone();
        user.username = user.username.to_lowercase();
        user.email = user.email.to_lowercase();
        user.create_at = old.create_at;
        user.update_at = self.now();
        user.delete_at = old.delete_at;
        user.roles = old.roles.clone();
        user.is_bot = old.is_bot;
        user.auth_data = old.auth_data.clone();
        user.auth_service = old.auth_service.clone();
        user.mfa_active = old.mfa_active;
        user.last_password_update = old.last_password_update;
        user.failed_attempts = old.failed_attempts;
        user.email_verified = old.email_verified && user.email == old.email;
        if user.locale.is_empty() {
            user.locale = old.locale;
        }
        forget_secrets(&mut user);
        validate_user(&user)?;
        self.ensure_unique_identity(&user)?;
        self.users.insert(user.id.clone(), user.clone());
        Ok(user)
    }

    /// Usernames and emails are unique across all users, deactivated ones included.
    fn ensure_unique_identity(&self, user: &pb::User) -> Outcome<()> {
        let others = self.users.values().filter(|u| u.id != user.id);
        for other in others {
            if other.username == user.username {
                return Err(Fault::bad_request(
                    "app.user.save.username_exists.app_error",
                    "that username belongs to another account",
                )
                .detail(format!("username={}", user.username)));
            }
            if other.email == user.email {
                return Err(Fault::bad_request(
                    "app.user.save.email_exists.app_error",
                    "that email belongs to another account",
                )
                .detail(format!("email={}", user.email)));
            }
        }
        Ok(())
    }

    /// `UpdateUserActive` (and `DeleteUser`, which only deactivates): a deactivated user keeps
    /// existing with `delete_at` set. A bot's record follows its user.
    pub(super) fn set_user_active(&mut self, id: &str, active: bool) -> Outcome<()> {
        self.user(id)?;
        let now = self.now();
        let delete_at = if active { 0 } else { now };
        if let Some(user) = self.users.get_mut(id) {
            user.delete_at = delete_at;
            user.update_at = now;
        }
        if let Some(bot) = self.bots.get_mut(id) {
            bot.delete_at = delete_at;
            bot.update_at = now;
        }
        Ok(())
    }

    /// `UpdateUserRoles`: replaces the system roles.
    pub(super) fn update_user_roles(&mut self, id: &str, roles: &str) -> Outcome<pb::User> {
        self.user(id)?;
        let now = self.now();
        let user = self.users.get_mut(id).ok_or_else(|| user_not_found(id))?;
        user.roles = roles.split_whitespace().collect::<Vec<_>>().join(" ");
        user.update_at = now;
        Ok(user.clone())
    }

    pub(super) fn user_by_username(&self, username: &str) -> Outcome<pb::User> {
        let wanted = username.to_lowercase();
        self.users
            .values()
            .find(|u| u.username == wanted)
            .cloned()
            .ok_or_else(|| user_not_found(username))
    }

    pub(super) fn user_by_email(&self, email: &str) -> Outcome<pb::User> {
        let wanted = email.to_lowercase();
        self.users
            .values()
            .find(|u| u.email == wanted)
            .cloned()
            .ok_or_else(|| user_not_found(email))
    }

    /// The known users among `ids` (unknown ids are skipped, as the store query does).
    pub(super) fn users_by_ids(&self, ids: &[String]) -> Vec<pb::User> {
        ids.iter()
            .filter_map(|id| self.users.get(id))
            .cloned()
            .collect()
    }

    pub(super) fn users_by_usernames(&self, usernames: &[String]) -> Vec<pb::User> {
        usernames
            .iter()
            .filter_map(|name| self.user_by_username(name).ok())
            .collect()
    }

    /// `GetUsers`: the supported filters of `UserGetOptions`, sorted by username, paged.
    pub(super) fn list_users(&self, options: &pb::UserGetOptions) -> Vec<pb::User> {
        let matching = self
            .users_sorted_by_username()
            .into_iter()
            .filter(|u| self.user_matches(u, options))
            .cloned();
        paginate(matching, options.page, options.per_page)
    }

    fn users_sorted_by_username(&self) -> Vec<&pb::User> {
        let mut users: Vec<&pb::User> = self.users.values().collect();
        users.sort_by(|a, b| a.username.cmp(&b.username));
        users
    }

    fn user_matches(&self, user: &pb::User, o: &pb::UserGetOptions) -> bool {
        let in_team = |team: &str| self.is_team_member(team, &user.id);
        let in_channel = |channel: &str| self.is_channel_member(channel, &user.id);
        let has_any_role = |roles: &[String]| roles.iter().any(|r| has_role(&user.roles, r));
        (o.in_team_id.is_empty() || in_team(&o.in_team_id))
            && (o.not_in_team_id.is_empty() || !in_team(&o.not_in_team_id))
            && (o.in_channel_id.is_empty() || in_channel(&o.in_channel_id))
            && (o.not_in_channel_id.is_empty() || !in_channel(&o.not_in_channel_id))
            && (!o.without_team || self.teams_of(&user.id).next().is_none())
            && (!o.inactive || user.delete_at != 0)
            && (!o.active || user.delete_at == 0)
            && (o.role.is_empty() || has_role(&user.roles, &o.role))
            && (o.roles.is_empty() || has_any_role(&o.roles))
    }

    /// `GetUsersInTeam`: active members of the team, sorted by username.
    pub(super) fn users_in_team(
        &self,
        team_id: &str,
        page: i64,
        per_page: i64,
    ) -> Outcome<Vec<pb::User>> {
        self.team(team_id)?;
        let members = self
            .users_sorted_by_username()
            .into_iter()
            .filter(|u| self.is_team_member(team_id, &u.id))
            .cloned();
        Ok(paginate(members, page, per_page))
    }

    /// `GetUsersInChannel`: members of the channel, sorted by username.
    pub(super) fn users_in_channel(
        &self,
        channel_id: &str,
        page: i64,
        per_page: i64,
    ) -> Outcome<Vec<pb::User>> {
        self.channel(channel_id)?;
        let members = self
            .users_sorted_by_username()
            .into_iter()
            .filter(|u| self.is_channel_member(channel_id, &u.id))
            .cloned();
        Ok(paginate(members, page, per_page))
    }

    /// A user's status; users nobody has set a status for are offline.
    pub(super) fn user_status(&self, id: &str) -> Outcome<pb::Status> {
        self.user(id)?;
        Ok(self
            .statuses
            .get(id)
            .cloned()
            .unwrap_or_else(|| pb::Status {
                user_id: id.to_string(),
                status: STATUS_OFFLINE.to_string(),
                ..Default::default()
            }))
    }

    pub(super) fn user_statuses(&self, ids: &[String]) -> Vec<pb::Status> {
        ids.iter()
            .filter_map(|id| self.user_status(id).ok())
            .collect()
    }

    /// `UpdateUserStatus`: one of online, away, dnd or offline, set manually.
    pub(super) fn update_user_status(&mut self, id: &str, status: &str) -> Outcome<pb::Status> {
        let previous = self.user_status(id)?;
        if !KNOWN_STATUSES.contains(&status) {
            return Err(Fault::bad_request(
                "api.plugin.update_user_status.bad_status",
                "status must be online, away, dnd or offline",
            )
            .detail(format!("status={status}")));
        }
        let updated = pb::Status {
            user_id: id.to_string(),
            status: status.to_string(),
            manual: true,
            last_activity_at: self.now(),
            prev_status: previous.status,
            ..Default::default()
        };
        self.statuses.insert(id.to_string(), updated.clone());
        Ok(updated)
    }
}
