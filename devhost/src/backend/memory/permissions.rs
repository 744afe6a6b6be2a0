//! `HasPermissionTo`, `HasPermissionToTeam` and `HasPermissionToChannel` over a fixed,
//! small role table instead of Mattermost's editable roles and schemes.
//!
//! The policy:
//! - a user whose system roles contain `system_admin` has every permission, everywhere;
//! - otherwise a user has the permissions of their roles in the scope asked about and the
//!   scopes above it: system roles (`system_user`, …) everywhere; team roles (`team_user`,
//!   `team_admin`, `team_guest`) in the team and its channels while an active member;
//!   channel roles (`channel_user`, `channel_admin`, `channel_guest`) in the channel while a
//!   member. So a non-member of a team or channel gets none of its member permissions;
//! - deactivated users, unknown users, teams and channels, malformed ids and a missing
//!   permission answer `false` (the Go methods return only a bool);
//! - roles outside the table (custom roles) grant nothing.

use mattermost_plugin_api::pb;

use super::State;
use super::ids::is_valid_id;
use super::users::has_role;

const SYSTEM_ADMIN_ROLE: &str = "system_admin";

/// Permission ids (Mattermost's `model.Permission.Id`) each built-in role grants here.
const ROLE_PERMISSIONS: &[(&str, &[&str])] = &[
    (
        "system_user",
        &[
            "create_direct_channel",
            "create_group_channel",
            "create_team",
            "list_public_teams",
            "join_public_teams",
            "view_members",
            "create_emojis",
        ],
    ),
    (
        "system_guest",
        &["create_direct_channel", "create_group_channel"],
    ),
    (
        "team_user",
        &[
            "view_team",
            "list_team_channels",
            "join_public_channels",
            "read_public_channel",
            "create_public_channel",
            "create_private_channel",
            "invite_user",
            "add_user_to_team",
        ],
    ),
    ("team_guest", &["view_team"]),
    (
        "team_admin",
        &[
            "manage_team",
            "manage_team_roles",
            "remove_user_from_team",
            "manage_slash_commands",
            "manage_others_slash_commands",
            "manage_channel_roles",
            "delete_post",
            "delete_others_posts",
            "convert_public_channel_to_private",
            "convert_private_channel_to_public",
        ],
    ),
    (
        "channel_user",
        &[
            "read_channel",
            "read_channel_content",
            "create_post",
            "edit_post",
            "delete_post",
            "add_reaction",
            "remove_reaction",
            "upload_file",
            "get_public_link",
            "use_channel_mentions",
            "manage_public_channel_members",
            "manage_private_channel_members",
            "manage_public_channel_properties",
            "manage_private_channel_properties",
            "delete_public_channel",
            "delete_private_channel",
        ],
    ),
    (
        "channel_guest",
        &[
            "read_channel",
            "read_channel_content",
            "create_post",
            "edit_post",
            "add_reaction",
            "remove_reaction",
            "upload_file",
            "use_channel_mentions",
        ],
    ),
    (
        "channel_admin",
        &["manage_channel_roles", "use_group_mentions"],
    ),
];

/// Whether any role of a space-separated role list grants `permission`.
fn roles_grant(roles: &str, permission: &str) -> bool {
    roles.split_whitespace().any(|role| {
        ROLE_PERMISSIONS
            .iter()
            .any(|(name, granted)| *name == role && granted.contains(&permission))
    })
}

/// The permission id asked about, if there is one.
fn permission_id(permission: Option<&pb::Permission>) -> Option<&str> {
    permission
        .map(|p| p.id.as_str())
        .filter(|id| !id.is_empty())
}

impl State {
    /// The system roles of an active user.
    fn active_user_roles(&self, user_id: &str) -> Option<&str> {
        if !is_valid_id(user_id) {
            return None;
        }
        self.users
            .get(user_id)
            .filter(|u| u.delete_at == 0)
            .map(|u| u.roles.as_str())
    }

    /// The team roles of an active team member.
    fn team_roles(&self, team_id: &str, user_id: &str) -> Option<&str> {
        self.team_members
            .get(&(team_id.to_string(), user_id.to_string()))
            .filter(|m| m.delete_at == 0)
            .map(|m| m.roles.as_str())
    }

    /// `HasPermissionTo`: system scope only.
    pub(super) fn has_permission_to(
        &self,
        user_id: &str,
        permission: Option<&pb::Permission>,
    ) -> bool {
        let (Some(roles), Some(permission)) =
            (self.active_user_roles(user_id), permission_id(permission))
        else {
            return false;
        };
        has_role(roles, SYSTEM_ADMIN_ROLE) || roles_grant(roles, permission)
    }

    /// `HasPermissionToTeam`: system roles, then the user's roles in the team.
    pub(super) fn has_permission_to_team(
        &self,
        user_id: &str,
        team_id: &str,
        permission: Option<&pb::Permission>,
    ) -> bool {
        if !is_valid_id(team_id) || !self.teams.contains_key(team_id) {
            return false;
        }
        if self.has_permission_to(user_id, permission) {
            return true;
        }
        let Some(permission) = permission_id(permission) else {
            return false;
        };
        self.active_user_roles(user_id).is_some()
            && self
                .team_roles(team_id, user_id)
                .is_some_and(|roles| roles_grant(roles, permission))
    }

    /// `HasPermissionToChannel`: system roles, the roles in the channel's team (direct and
    /// group channels have none), then the roles in the channel.
    pub(super) fn has_permission_to_channel(
        &self,
        user_id: &str,
        channel_id: &str,
        permission: Option<&pb::Permission>,
    ) -> bool {
        if !is_valid_id(channel_id) {
            return false;
        }
        let Some(channel) = self.channels.get(channel_id) else {
            return false;
        };
        if self.has_permission_to(user_id, permission) {
            return true;
        }
        if !channel.team_id.is_empty()
            && self.has_permission_to_team(user_id, &channel.team_id, permission)
        {
            return true;
        }
        let Some(permission) = permission_id(permission) else {
            return false;
        };
        self.active_user_roles(user_id).is_some()
            && self
                .channel_members
                .get(&(channel_id.to_string(), user_id.to_string()))
                .is_some_and(|m| roles_grant(&m.roles, permission))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_names_each_role_once() {
        let mut names: Vec<&str> = ROLE_PERMISSIONS.iter().map(|(n, _)| *n).collect();
        names.sort_unstable();
        let count = names.len();
        names.dedup();
        assert_eq!(names.len(), count);
    }

    #[test]
    fn roles_grant_only_their_own_permissions() {
        assert!(roles_grant("channel_user", "create_post"));
        assert!(roles_grant("custom channel_user", "read_channel"));
        assert!(!roles_grant("team_user", "create_post"));
        assert!(!roles_grant("custom_role", "create_post"));
    }
}
