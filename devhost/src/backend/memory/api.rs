//! `PluginApi` for [`MemoryBackend`]: each modelled method names its Go method and hands
//! its arguments to the domain code. Everything not listed here keeps the trait default
//! (501 naming the method).

use std::collections::HashMap;

use mattermost_plugin_api::pb::{AnyMap as Struct, AnyValue as Value};
use mattermost_plugin_api::{ApiError, CallContext, PluginApi, pb};

use super::MemoryBackend;
use super::commands::built_in_commands;
use super::config::struct_to_json_bytes;
use super::errors::required;
use super::logs::LogLevel;

type ApiResult<T> = Result<T, ApiError>;

impl MemoryBackend {
    fn log(
        &self,
        ctx: &CallContext,
        level: LogLevel,
        msg: String,
        pairs: Vec<Value>,
    ) -> ApiResult<()> {
        self.with_state(|s| s.log_plugin(level, &ctx.plugin_id, msg, pairs));
        Ok(())
    }
}

fn empty_options() -> pb::PluginKvSetOptions {
    pb::PluginKvSetOptions::default()
}

impl PluginApi for MemoryBackend {
    // --- Plugin configuration and commands ----------------------------------------------

    async fn load_plugin_configuration(&self, ctx: &CallContext) -> ApiResult<Vec<u8>> {
        self.call_plain("LoadPluginConfiguration", |s| {
            Ok(struct_to_json_bytes(&s.plugin_config(&ctx.plugin_id)))
        })
    }

    async fn get_plugin_config(&self, ctx: &CallContext) -> ApiResult<Option<Struct>> {
        self.call("GetPluginConfig", |s| {
            Ok(Some(s.plugin_config(&ctx.plugin_id)))
        })
    }

    async fn save_plugin_config(&self, ctx: &CallContext, config: Option<Struct>) -> ApiResult<()> {
        self.call("SavePluginConfig", |s| {
            s.set_plugin_config(&ctx.plugin_id, config.unwrap_or_default());
            Ok(())
        })?;
        self.saved_plugin_config(&ctx.plugin_id);
        Ok(())
    }

    async fn get_config(&self, _ctx: &CallContext) -> ApiResult<Option<pb::Config>> {
        self.call("GetConfig", |s| Ok(Some(s.config.clone())))
    }

    async fn get_unsanitized_config(&self, _ctx: &CallContext) -> ApiResult<Option<pb::Config>> {
        self.call("GetUnsanitizedConfig", |s| Ok(Some(s.config.clone())))
    }

    async fn save_config(&self, _ctx: &CallContext, config: Option<pb::Config>) -> ApiResult<()> {
        self.call("SaveConfig", |s| {
            s.config = required(config, "config")?;
            Ok(())
        })
    }

    async fn get_plugin_id(&self, ctx: &CallContext) -> ApiResult<String> {
        Ok(ctx.plugin_id.clone())
    }

    async fn register_command(
        &self,
        ctx: &CallContext,
        command: Option<pb::Command>,
    ) -> ApiResult<()> {
        self.call_plain("RegisterCommand", |s| {
            s.register_command(&ctx.plugin_id, required(command, "command")?)
        })
    }

    async fn unregister_command(
        &self,
        ctx: &CallContext,
        team_id: String,
        trigger: String,
    ) -> ApiResult<()> {
        self.call_plain("UnregisterCommand", |s| {
            s.unregister_command(&ctx.plugin_id, &team_id, &trigger);
            Ok(())
        })
    }

    async fn list_plugin_commands(
        &self,
        _ctx: &CallContext,
        team_id: String,
    ) -> ApiResult<Vec<pb::Command>> {
        self.call_plain("ListPluginCommands", |s| Ok(s.plugin_commands(&team_id)))
    }

    async fn list_commands(
        &self,
        _ctx: &CallContext,
        team_id: String,
    ) -> ApiResult<Vec<pb::Command>> {
        self.call_plain("ListCommands", |s| Ok(s.all_commands(&team_id)))
    }

    async fn list_built_in_commands(&self, _ctx: &CallContext) -> ApiResult<Vec<pb::Command>> {
        Ok(built_in_commands())
    }

    /// Custom (outgoing-webhook) commands are not modelled: no team has any.
    async fn list_custom_commands(
        &self,
        _ctx: &CallContext,
        _team_id: String,
    ) -> ApiResult<Vec<pb::Command>> {
        Ok(Vec::new())
    }

    // --- Server facts -------------------------------------------------------------------

    async fn get_server_version(&self, _ctx: &CallContext) -> ApiResult<String> {
        Ok(self.server_version())
    }

    async fn get_system_install_date(&self, _ctx: &CallContext) -> ApiResult<i64> {
        self.call("GetSystemInstallDate", |s| Ok(s.server.install_date))
    }

    async fn get_diagnostic_id(&self, _ctx: &CallContext) -> ApiResult<String> {
        Ok(self.diagnostic_id())
    }

    /// Mattermost reports the diagnostic id as the telemetry id too.
    async fn get_telemetry_id(&self, _ctx: &CallContext) -> ApiResult<String> {
        Ok(self.diagnostic_id())
    }

    /// A development server runs unlicensed, like Team Edition.
    async fn get_license(&self, _ctx: &CallContext) -> ApiResult<Option<pb::License>> {
        Ok(None)
    }

    async fn is_enterprise_ready(&self, _ctx: &CallContext) -> ApiResult<bool> {
        Ok(false)
    }

    // --- Users --------------------------------------------------------------------------

    async fn create_user(
        &self,
        _ctx: &CallContext,
        user: Option<pb::User>,
    ) -> ApiResult<Option<pb::User>> {
        self.call("CreateUser", |s| {
            s.create_user(required(user, "user")?).map(Some)
        })
    }

    /// Mattermost's plugin `DeleteUser` deactivates the account.
    async fn delete_user(&self, _ctx: &CallContext, user_id: String) -> ApiResult<()> {
        self.call("DeleteUser", |s| s.set_user_active(&user_id, false))
    }

    async fn update_user_active(
        &self,
        _ctx: &CallContext,
        user_id: String,
        active: bool,
    ) -> ApiResult<()> {
        self.call("UpdateUserActive", |s| s.set_user_active(&user_id, active))
    }

    async fn get_user(&self, _ctx: &CallContext, user_id: String) -> ApiResult<Option<pb::User>> {
        self.call("GetUser", |s| s.user(&user_id).cloned().map(Some))
    }

    async fn get_user_by_email(
        &self,
        _ctx: &CallContext,
        email: String,
    ) -> ApiResult<Option<pb::User>> {
        self.call("GetUserByEmail", |s| s.user_by_email(&email).map(Some))
    }

    async fn get_user_by_username(
        &self,
        _ctx: &CallContext,
        name: String,
    ) -> ApiResult<Option<pb::User>> {
        self.call("GetUserByUsername", |s| s.user_by_username(&name).map(Some))
    }

    async fn get_users(
        &self,
        _ctx: &CallContext,
        options: Option<pb::UserGetOptions>,
    ) -> ApiResult<Vec<pb::User>> {
        self.call("GetUsers", |s| {
            Ok(s.list_users(&required(options, "options")?))
        })
    }

    async fn get_users_by_ids(
        &self,
        _ctx: &CallContext,
        user_ids: Vec<String>,
    ) -> ApiResult<Vec<pb::User>> {
        self.call("GetUsersByIds", |s| Ok(s.users_by_ids(&user_ids)))
    }

    async fn get_users_by_usernames(
        &self,
        _ctx: &CallContext,
        usernames: Vec<String>,
    ) -> ApiResult<Vec<pb::User>> {
        self.call("GetUsersByUsernames", |s| {
            Ok(s.users_by_usernames(&usernames))
        })
    }

    async fn get_users_in_team(
        &self,
        _ctx: &CallContext,
        team_id: String,
        page: i64,
        per_page: i64,
    ) -> ApiResult<Vec<pb::User>> {
        self.call("GetUsersInTeam", |s| {
            s.users_in_team(&team_id, page, per_page)
        })
    }

    async fn get_users_in_channel(
        &self,
        _ctx: &CallContext,
        channel_id: String,
        _sort_by: String,
        page: i64,
        per_page: i64,
    ) -> ApiResult<Vec<pb::User>> {
        self.call("GetUsersInChannel", |s| {
            s.users_in_channel(&channel_id, page, per_page)
        })
    }

    async fn update_user(
        &self,
        _ctx: &CallContext,
        user: Option<pb::User>,
    ) -> ApiResult<Option<pb::User>> {
        self.call("UpdateUser", |s| {
            s.update_user(required(user, "user")?).map(Some)
        })
    }

    async fn update_user_roles(
        &self,
        _ctx: &CallContext,
        user_id: String,
        new_roles: String,
    ) -> ApiResult<Option<pb::User>> {
        self.call("UpdateUserRoles", |s| {
            s.update_user_roles(&user_id, &new_roles).map(Some)
        })
    }

    async fn get_user_status(
        &self,
        _ctx: &CallContext,
        user_id: String,
    ) -> ApiResult<Option<pb::Status>> {
        self.call("GetUserStatus", |s| s.user_status(&user_id).map(Some))
    }

    async fn get_user_statuses_by_ids(
        &self,
        _ctx: &CallContext,
        user_ids: Vec<String>,
    ) -> ApiResult<Vec<pb::Status>> {
        self.call("GetUserStatusesByIds", |s| Ok(s.user_statuses(&user_ids)))
    }

    async fn update_user_status(
        &self,
        _ctx: &CallContext,
        user_id: String,
        status: String,
    ) -> ApiResult<Option<pb::Status>> {
        self.call("UpdateUserStatus", |s| {
            s.update_user_status(&user_id, &status).map(Some)
        })
    }

    async fn get_profile_image(&self, _ctx: &CallContext, user_id: String) -> ApiResult<Vec<u8>> {
        self.call("GetProfileImage", |s| s.profile_image(&user_id))
    }

    async fn set_profile_image(
        &self,
        _ctx: &CallContext,
        user_id: String,
        data: Vec<u8>,
    ) -> ApiResult<()> {
        self.call("SetProfileImage", |s| s.set_profile_image(&user_id, data))
    }

    // --- Permissions --------------------------------------------------------------------
    // The Go methods return only a bool: anything unknown or malformed is `false`.

    async fn has_permission_to(
        &self,
        _ctx: &CallContext,
        user_id: String,
        permission: Option<pb::Permission>,
    ) -> ApiResult<bool> {
        Ok(self.with_state(|s| s.has_permission_to(&user_id, permission.as_ref())))
    }

    async fn has_permission_to_team(
        &self,
        _ctx: &CallContext,
        user_id: String,
        team_id: String,
        permission: Option<pb::Permission>,
    ) -> ApiResult<bool> {
        Ok(self.with_state(|s| s.has_permission_to_team(&user_id, &team_id, permission.as_ref())))
    }

    async fn has_permission_to_channel(
        &self,
        _ctx: &CallContext,
        user_id: String,
        channel_id: String,
        permission: Option<pb::Permission>,
    ) -> ApiResult<bool> {
        Ok(self.with_state(|s| {
            s.has_permission_to_channel(&user_id, &channel_id, permission.as_ref())
        }))
    }

    // --- Preferences --------------------------------------------------------------------

    async fn get_preference_for_user(
        &self,
        _ctx: &CallContext,
        user_id: String,
        category: String,
        name: String,
    ) -> ApiResult<Option<pb::Preference>> {
        self.call("GetPreferenceForUser", |s| {
            s.preference_for_user(&user_id, &category, &name).map(Some)
        })
    }

    async fn get_preferences_for_user(
        &self,
        _ctx: &CallContext,
        user_id: String,
    ) -> ApiResult<Vec<pb::Preference>> {
        self.call("GetPreferencesForUser", |s| {
            s.preferences_for_user(&user_id)
        })
    }

    async fn update_preferences_for_user(
        &self,
        _ctx: &CallContext,
        user_id: String,
        preferences: Vec<pb::Preference>,
    ) -> ApiResult<()> {
        self.call("UpdatePreferencesForUser", |s| {
            s.update_preferences(&user_id, preferences)
        })
    }

    async fn delete_preferences_for_user(
        &self,
        _ctx: &CallContext,
        user_id: String,
        preferences: Vec<pb::Preference>,
    ) -> ApiResult<()> {
        self.call("DeletePreferencesForUser", |s| {
            s.delete_preferences(&user_id, &preferences)
        })
    }

    // --- Teams --------------------------------------------------------------------------

    async fn create_team(
        &self,
        _ctx: &CallContext,
        team: Option<pb::Team>,
    ) -> ApiResult<Option<pb::Team>> {
        self.call("CreateTeam", |s| {
            s.create_team(required(team, "team")?).map(Some)
        })
    }

    async fn delete_team(&self, _ctx: &CallContext, team_id: String) -> ApiResult<()> {
        self.call("DeleteTeam", |s| s.delete_team(&team_id))
    }

    async fn get_teams(&self, _ctx: &CallContext) -> ApiResult<Vec<pb::Team>> {
        self.call("GetTeams", |s| Ok(s.list_teams()))
    }

    async fn get_team(&self, _ctx: &CallContext, team_id: String) -> ApiResult<Option<pb::Team>> {
        self.call("GetTeam", |s| s.team(&team_id).cloned().map(Some))
    }

    async fn get_team_by_name(
        &self,
        _ctx: &CallContext,
        name: String,
    ) -> ApiResult<Option<pb::Team>> {
        self.call("GetTeamByName", |s| {
            s.team_by_name(&name).cloned().map(Some)
        })
    }

    async fn update_team(
        &self,
        _ctx: &CallContext,
        team: Option<pb::Team>,
    ) -> ApiResult<Option<pb::Team>> {
        self.call("UpdateTeam", |s| {
            s.update_team(required(team, "team")?).map(Some)
        })
    }

    async fn get_teams_for_user(
        &self,
        _ctx: &CallContext,
        user_id: String,
    ) -> ApiResult<Vec<pb::Team>> {
        self.call("GetTeamsForUser", |s| s.teams_for_user(&user_id))
    }

    async fn create_team_member(
        &self,
        _ctx: &CallContext,
        team_id: String,
        user_id: String,
    ) -> ApiResult<Option<pb::TeamMember>> {
        self.call("CreateTeamMember", |s| {
            s.add_team_member(&team_id, &user_id).map(Some)
        })
    }

    async fn create_team_members(
        &self,
        _ctx: &CallContext,
        team_id: String,
        user_ids: Vec<String>,
        _requestor_id: String,
    ) -> ApiResult<Vec<pb::TeamMember>> {
        self.call("CreateTeamMembers", |s| {
            s.add_team_members(&team_id, &user_ids)
        })
    }

    async fn create_team_members_gracefully(
        &self,
        _ctx: &CallContext,
        team_id: String,
        user_ids: Vec<String>,
        _requestor_id: String,
    ) -> ApiResult<Vec<pb::TeamMemberWithError>> {
        const METHOD: &str = "CreateTeamMembersGracefully";
        self.call(METHOD, |s| {
            s.add_team_members_gracefully(&team_id, &user_ids, METHOD)
        })
    }

    async fn delete_team_member(
        &self,
        _ctx: &CallContext,
        team_id: String,
        user_id: String,
        _requestor_id: String,
    ) -> ApiResult<()> {
        self.call("DeleteTeamMember", |s| {
            s.remove_team_member(&team_id, &user_id)
        })
    }

    async fn get_team_members(
        &self,
        _ctx: &CallContext,
        team_id: String,
        page: i64,
        per_page: i64,
    ) -> ApiResult<Vec<pb::TeamMember>> {
        self.call("GetTeamMembers", |s| {
            s.team_members(&team_id, page, per_page)
        })
    }

    async fn get_team_member(
        &self,
        _ctx: &CallContext,
        team_id: String,
        user_id: String,
    ) -> ApiResult<Option<pb::TeamMember>> {
        self.call("GetTeamMember", |s| {
            s.team_member(&team_id, &user_id).map(Some)
        })
    }

    async fn get_team_members_for_user(
        &self,
        _ctx: &CallContext,
        user_id: String,
        page: i64,
        per_page: i64,
    ) -> ApiResult<Vec<pb::TeamMember>> {
        self.call("GetTeamMembersForUser", |s| {
            s.team_members_for_user(&user_id, page, per_page)
        })
    }

    async fn update_team_member_roles(
        &self,
        _ctx: &CallContext,
        team_id: String,
        user_id: String,
        new_roles: String,
    ) -> ApiResult<Option<pb::TeamMember>> {
        self.call("UpdateTeamMemberRoles", |s| {
            s.update_team_member_roles(&team_id, &user_id, &new_roles)
                .map(Some)
        })
    }

    async fn get_team_stats(
        &self,
        _ctx: &CallContext,
        team_id: String,
    ) -> ApiResult<Option<pb::TeamStats>> {
        self.call("GetTeamStats", |s| s.team_stats(&team_id).map(Some))
    }

    // --- Channels -----------------------------------------------------------------------

    async fn create_channel(
        &self,
        _ctx: &CallContext,
        channel: Option<pb::Channel>,
    ) -> ApiResult<Option<pb::Channel>> {
        self.call("CreateChannel", |s| {
            s.create_channel(required(channel, "channel")?).map(Some)
        })
    }

    async fn delete_channel(&self, _ctx: &CallContext, channel_id: String) -> ApiResult<()> {
        self.call("DeleteChannel", |s| s.delete_channel(&channel_id))
    }

    async fn restore_channel(&self, _ctx: &CallContext, channel_id: String) -> ApiResult<()> {
        self.call("RestoreChannel", |s| s.restore_channel(&channel_id))
    }

    async fn get_channel(
        &self,
        _ctx: &CallContext,
        channel_id: String,
    ) -> ApiResult<Option<pb::Channel>> {
        self.call("GetChannel", |s| s.channel(&channel_id).cloned().map(Some))
    }

    async fn get_channel_by_name(
        &self,
        _ctx: &CallContext,
        team_id: String,
        name: String,
        include_deleted: bool,
    ) -> ApiResult<Option<pb::Channel>> {
        self.call("GetChannelByName", |s| {
            s.channel_by_name(&team_id, &name, include_deleted)
                .cloned()
                .map(Some)
        })
    }

    async fn get_channel_by_name_for_team_name(
        &self,
        _ctx: &CallContext,
        team_name: String,
        channel_name: String,
        include_deleted: bool,
    ) -> ApiResult<Option<pb::Channel>> {
        self.call("GetChannelByNameForTeamName", |s| {
            s.channel_by_name_for_team_name(&team_name, &channel_name, include_deleted)
                .cloned()
                .map(Some)
        })
    }

    async fn get_channels_for_team_for_user(
        &self,
        _ctx: &CallContext,
        team_id: String,
        user_id: String,
        include_deleted: bool,
    ) -> ApiResult<Vec<pb::Channel>> {
        self.call("GetChannelsForTeamForUser", |s| {
            s.channels_for_team_for_user(&team_id, &user_id, include_deleted)
        })
    }

    async fn get_public_channels_for_team(
        &self,
        _ctx: &CallContext,
        team_id: String,
        page: i64,
        per_page: i64,
    ) -> ApiResult<Vec<pb::Channel>> {
        self.call("GetPublicChannelsForTeam", |s| {
            s.public_channels_for_team(&team_id, page, per_page)
        })
    }

    async fn get_channel_stats(
        &self,
        _ctx: &CallContext,
        channel_id: String,
    ) -> ApiResult<Option<pb::ChannelStats>> {
        self.call("GetChannelStats", |s| {
            s.channel_stats(&channel_id).map(Some)
        })
    }

    async fn get_direct_channel(
        &self,
        _ctx: &CallContext,
        user_id1: String,
        user_id2: String,
    ) -> ApiResult<Option<pb::Channel>> {
        self.call("GetDirectChannel", |s| {
            s.direct_channel(&user_id1, &user_id2).map(Some)
        })
    }

    async fn get_group_channel(
        &self,
        _ctx: &CallContext,
        user_ids: Vec<String>,
    ) -> ApiResult<Option<pb::Channel>> {
        self.call("GetGroupChannel", |s| s.group_channel(&user_ids).map(Some))
    }

    async fn update_channel(
        &self,
        _ctx: &CallContext,
        channel: Option<pb::Channel>,
    ) -> ApiResult<Option<pb::Channel>> {
        self.call("UpdateChannel", |s| {
            s.update_channel(required(channel, "channel")?).map(Some)
        })
    }

    async fn add_channel_member(
        &self,
        _ctx: &CallContext,
        channel_id: String,
        user_id: String,
    ) -> ApiResult<Option<pb::ChannelMember>> {
        self.call("AddChannelMember", |s| {
            s.add_channel_member(&channel_id, &user_id).map(Some)
        })
    }

    async fn add_user_to_channel(
        &self,
        _ctx: &CallContext,
        channel_id: String,
        user_id: String,
        _as_user_id: String,
    ) -> ApiResult<Option<pb::ChannelMember>> {
        self.call("AddUserToChannel", |s| {
            s.add_channel_member(&channel_id, &user_id).map(Some)
        })
    }

    async fn get_channel_member(
        &self,
        _ctx: &CallContext,
        channel_id: String,
        user_id: String,
    ) -> ApiResult<Option<pb::ChannelMember>> {
        self.call("GetChannelMember", |s| {
            s.channel_member(&channel_id, &user_id).map(Some)
        })
    }

    async fn get_channel_members(
        &self,
        _ctx: &CallContext,
        channel_id: String,
        page: i64,
        per_page: i64,
    ) -> ApiResult<Vec<pb::ChannelMember>> {
        self.call("GetChannelMembers", |s| {
            s.channel_members(&channel_id, page, per_page)
        })
    }

    async fn get_channel_members_by_ids(
        &self,
        _ctx: &CallContext,
        channel_id: String,
        user_ids: Vec<String>,
    ) -> ApiResult<Vec<pb::ChannelMember>> {
        self.call("GetChannelMembersByIds", |s| {
            s.channel_members_by_ids(&channel_id, &user_ids)
        })
    }

    async fn get_channel_members_for_user(
        &self,
        _ctx: &CallContext,
        team_id: String,
        user_id: String,
        page: i64,
        per_page: i64,
    ) -> ApiResult<Vec<pb::ChannelMember>> {
        self.call("GetChannelMembersForUser", |s| {
            s.channel_members_for_user(&team_id, &user_id, page, per_page)
        })
    }

    async fn update_channel_member_roles(
        &self,
        _ctx: &CallContext,
        channel_id: String,
        user_id: String,
        new_roles: String,
    ) -> ApiResult<Option<pb::ChannelMember>> {
        self.call("UpdateChannelMemberRoles", |s| {
            s.update_channel_member_roles(&channel_id, &user_id, &new_roles)
                .map(Some)
        })
    }

    async fn update_channel_member_notifications(
        &self,
        _ctx: &CallContext,
        channel_id: String,
        user_id: String,
        notifications: HashMap<String, String>,
    ) -> ApiResult<Option<pb::ChannelMember>> {
        self.call("UpdateChannelMemberNotifications", |s| {
            s.update_channel_member_notifications(&channel_id, &user_id, notifications)
                .map(Some)
        })
    }

    async fn delete_channel_member(
        &self,
        _ctx: &CallContext,
        channel_id: String,
        user_id: String,
    ) -> ApiResult<()> {
        self.call("DeleteChannelMember", |s| {
            s.remove_channel_member(&channel_id, &user_id)
        })
    }

    // --- Posts and reactions ------------------------------------------------------------

    async fn create_post(
        &self,
        _ctx: &CallContext,
        post: Option<pb::Post>,
    ) -> ApiResult<Option<pb::Post>> {
        self.create_post_hooked(post).await.map(Some)
    }

    async fn get_post(&self, _ctx: &CallContext, post_id: String) -> ApiResult<Option<pb::Post>> {
        self.call("GetPost", |s| s.post(&post_id).map(Some))
    }

    async fn update_post(
        &self,
        _ctx: &CallContext,
        post: Option<pb::Post>,
    ) -> ApiResult<Option<pb::Post>> {
        self.update_post_hooked(post).await.map(Some)
    }

    async fn delete_post(&self, _ctx: &CallContext, post_id: String) -> ApiResult<()> {
        self.call("DeletePost", |s| s.delete_post(&post_id))
    }

    async fn get_post_thread(
        &self,
        _ctx: &CallContext,
        post_id: String,
    ) -> ApiResult<Option<pb::PostList>> {
        self.call("GetPostThread", |s| s.post_thread(&post_id).map(Some))
    }

    async fn get_posts_for_channel(
        &self,
        _ctx: &CallContext,
        channel_id: String,
        page: i64,
        per_page: i64,
    ) -> ApiResult<Option<pb::PostList>> {
        self.call("GetPostsForChannel", |s| {
            s.posts_for_channel(&channel_id, page, per_page).map(Some)
        })
    }

    async fn get_posts_since(
        &self,
        _ctx: &CallContext,
        channel_id: String,
        time: i64,
    ) -> ApiResult<Option<pb::PostList>> {
        self.call("GetPostsSince", |s| {
            s.posts_since(&channel_id, time).map(Some)
        })
    }

    async fn get_posts_after(
        &self,
        _ctx: &CallContext,
        channel_id: String,
        post_id: String,
        page: i64,
        per_page: i64,
    ) -> ApiResult<Option<pb::PostList>> {
        self.call("GetPostsAfter", |s| {
            s.posts_around(&channel_id, &post_id, page, per_page, true)
                .map(Some)
        })
    }

    async fn get_posts_before(
        &self,
        _ctx: &CallContext,
        channel_id: String,
        post_id: String,
        page: i64,
        per_page: i64,
    ) -> ApiResult<Option<pb::PostList>> {
        self.call("GetPostsBefore", |s| {
            s.posts_around(&channel_id, &post_id, page, per_page, false)
                .map(Some)
        })
    }

    async fn add_reaction(
        &self,
        _ctx: &CallContext,
        reaction: Option<pb::Reaction>,
    ) -> ApiResult<Option<pb::Reaction>> {
        self.call("AddReaction", |s| {
            s.add_reaction(required(reaction, "reaction")?).map(Some)
        })
    }

    async fn remove_reaction(
        &self,
        _ctx: &CallContext,
        reaction: Option<pb::Reaction>,
    ) -> ApiResult<()> {
        self.call("RemoveReaction", |s| {
            s.remove_reaction(&required(reaction, "reaction")?)
        })
    }

    async fn get_reactions(
        &self,
        _ctx: &CallContext,
        post_id: String,
    ) -> ApiResult<Vec<pb::Reaction>> {
        self.call("GetReactions", |s| s.reactions(&post_id))
    }

    async fn search_posts_in_team(
        &self,
        _ctx: &CallContext,
        team_id: String,
        params_list: Vec<pb::SearchParams>,
    ) -> ApiResult<Vec<pb::Post>> {
        self.call("SearchPostsInTeam", |s| {
            s.search_posts_in_team(&team_id, &params_list)
        })
    }

    async fn search_posts_in_team_for_user(
        &self,
        _ctx: &CallContext,
        team_id: String,
        user_id: String,
        search_params: Option<pb::SearchParameter>,
    ) -> ApiResult<Option<pb::PostSearchResults>> {
        self.call("SearchPostsInTeamForUser", |s| {
            s.search_posts_in_team_for_user(&team_id, &user_id, search_params)
                .map(Some)
        })
    }

    async fn send_ephemeral_post(
        &self,
        _ctx: &CallContext,
        user_id: String,
        post: Option<pb::Post>,
    ) -> ApiResult<Option<pb::Post>> {
        self.call("SendEphemeralPost", |s| {
            s.send_ephemeral_post(&user_id, required(post, "post")?)
                .map(Some)
        })
    }

    async fn update_ephemeral_post(
        &self,
        _ctx: &CallContext,
        user_id: String,
        post: Option<pb::Post>,
    ) -> ApiResult<Option<pb::Post>> {
        self.call("UpdateEphemeralPost", |s| {
            s.update_ephemeral_post(&user_id, required(post, "post")?)
                .map(Some)
        })
    }

    async fn delete_ephemeral_post(
        &self,
        _ctx: &CallContext,
        user_id: String,
        post_id: String,
    ) -> ApiResult<()> {
        self.call("DeleteEphemeralPost", |s| {
            s.delete_ephemeral_post(&user_id, &post_id)
        })
    }

    // --- Files --------------------------------------------------------------------------

    async fn upload_file(
        &self,
        _ctx: &CallContext,
        data: Vec<u8>,
        channel_id: String,
        filename: String,
    ) -> ApiResult<Option<pb::FileInfo>> {
        self.call("UploadFile", |s| {
            s.upload_file(data, &channel_id, &filename).map(Some)
        })
    }

    async fn get_file_info(
        &self,
        _ctx: &CallContext,
        file_id: String,
    ) -> ApiResult<Option<pb::FileInfo>> {
        self.call("GetFileInfo", |s| s.file_info(&file_id).map(Some))
    }

    async fn get_file(&self, _ctx: &CallContext, file_id: String) -> ApiResult<Vec<u8>> {
        self.call("GetFile", |s| s.file_data(&file_id))
    }

    async fn copy_file_infos(
        &self,
        _ctx: &CallContext,
        user_id: String,
        file_ids: Vec<String>,
    ) -> ApiResult<Vec<String>> {
        self.call("CopyFileInfos", |s| s.copy_file_infos(&user_id, &file_ids))
    }

    // --- KV store -----------------------------------------------------------------------

    async fn kv_set(&self, ctx: &CallContext, key: String, value: Vec<u8>) -> ApiResult<()> {
        self.call("KVSet", |s| {
            let now = s.now();
            s.kv.set(&ctx.plugin_id, &key, value, &empty_options(), now)
                .map(drop)
        })
    }

    async fn kv_set_with_expiry(
        &self,
        ctx: &CallContext,
        key: String,
        value: Vec<u8>,
        expire_in_seconds: i64,
    ) -> ApiResult<()> {
        let options = pb::PluginKvSetOptions {
            expire_in_seconds,
            ..empty_options()
        };
        self.call("KVSetWithExpiry", |s| {
            let now = s.now();
            s.kv.set(&ctx.plugin_id, &key, value, &options, now)
                .map(drop)
        })
    }

    async fn kv_set_with_options(
        &self,
        ctx: &CallContext,
        key: String,
        value: Vec<u8>,
        options: Option<pb::PluginKvSetOptions>,
    ) -> ApiResult<bool> {
        let options = options.unwrap_or_default();
        self.call("KVSetWithOptions", |s| {
            let now = s.now();
            s.kv.set(&ctx.plugin_id, &key, value, &options, now)
        })
    }

    async fn kv_compare_and_set(
        &self,
        ctx: &CallContext,
        key: String,
        old_value: Vec<u8>,
        new_value: Vec<u8>,
    ) -> ApiResult<bool> {
        let options = pb::PluginKvSetOptions {
            atomic: true,
            old_value,
            expire_in_seconds: 0,
        };
        self.call("KVCompareAndSet", |s| {
            let now = s.now();
            s.kv.set(&ctx.plugin_id, &key, new_value, &options, now)
        })
    }

    async fn kv_compare_and_delete(
        &self,
        ctx: &CallContext,
        key: String,
        old_value: Vec<u8>,
    ) -> ApiResult<bool> {
        self.call("KVCompareAndDelete", |s| {
            let now = s.now();
            s.kv.compare_and_delete(&ctx.plugin_id, &key, &old_value, now)
        })
    }

    async fn kv_get(&self, ctx: &CallContext, key: String) -> ApiResult<Vec<u8>> {
        self.call("KVGet", |s| {
            let now = s.now();
            Ok(s.kv.get(&ctx.plugin_id, &key, now))
        })
    }

    async fn kv_delete(&self, ctx: &CallContext, key: String) -> ApiResult<()> {
        self.call("KVDelete", |s| {
            s.kv.delete(&ctx.plugin_id, &key);
            Ok(())
        })
    }

    async fn kv_delete_all(&self, ctx: &CallContext) -> ApiResult<()> {
        self.call("KVDeleteAll", |s| {
            s.kv.delete_all(&ctx.plugin_id);
            Ok(())
        })
    }

    async fn kv_list(&self, ctx: &CallContext, page: i64, per_page: i64) -> ApiResult<Vec<String>> {
        self.call("KVList", |s| {
            let now = s.now();
            Ok(s.kv.list(&ctx.plugin_id, page, per_page, now))
        })
    }

    // --- Logging ------------------------------------------------------------------------

    async fn log_debug(
        &self,
        ctx: &CallContext,
        msg: String,
        key_value_pairs: Vec<Value>,
    ) -> ApiResult<()> {
        self.log(ctx, LogLevel::Debug, msg, key_value_pairs)
    }

    async fn log_info(
        &self,
        ctx: &CallContext,
        msg: String,
        key_value_pairs: Vec<Value>,
    ) -> ApiResult<()> {
        self.log(ctx, LogLevel::Info, msg, key_value_pairs)
    }

    async fn log_warn(
        &self,
        ctx: &CallContext,
        msg: String,
        key_value_pairs: Vec<Value>,
    ) -> ApiResult<()> {
        self.log(ctx, LogLevel::Warn, msg, key_value_pairs)
    }

    async fn log_error(
        &self,
        ctx: &CallContext,
        msg: String,
        key_value_pairs: Vec<Value>,
    ) -> ApiResult<()> {
        self.log(ctx, LogLevel::Error, msg, key_value_pairs)
    }

    // --- Bots ---------------------------------------------------------------------------

    async fn create_bot(
        &self,
        ctx: &CallContext,
        bot: Option<pb::Bot>,
    ) -> ApiResult<Option<pb::Bot>> {
        self.call("CreateBot", |s| {
            s.create_bot(&ctx.plugin_id, required(bot, "bot")?)
                .map(Some)
        })
    }

    async fn patch_bot(
        &self,
        _ctx: &CallContext,
        bot_user_id: String,
        bot_patch: Option<pb::BotPatch>,
    ) -> ApiResult<Option<pb::Bot>> {
        self.call("PatchBot", |s| {
            s.patch_bot(&bot_user_id, required(bot_patch, "bot_patch")?)
                .map(Some)
        })
    }

    async fn get_bot(
        &self,
        _ctx: &CallContext,
        bot_user_id: String,
        include_deleted: bool,
    ) -> ApiResult<Option<pb::Bot>> {
        self.call("GetBot", |s| s.bot(&bot_user_id, include_deleted).map(Some))
    }

    async fn get_bots(
        &self,
        _ctx: &CallContext,
        options: Option<pb::BotGetOptions>,
    ) -> ApiResult<Vec<pb::Bot>> {
        self.call("GetBots", |s| Ok(s.bots(&required(options, "options")?)))
    }

    async fn update_bot_active(
        &self,
        _ctx: &CallContext,
        bot_user_id: String,
        active: bool,
    ) -> ApiResult<Option<pb::Bot>> {
        self.call("UpdateBotActive", |s| {
            s.set_bot_active(&bot_user_id, active).map(Some)
        })
    }

    async fn permanent_delete_bot(&self, _ctx: &CallContext, bot_user_id: String) -> ApiResult<()> {
        self.call("PermanentDeleteBot", |s| {
            s.permanent_delete_bot(&bot_user_id)
        })
    }

    async fn ensure_bot_user(&self, ctx: &CallContext, bot: Option<pb::Bot>) -> ApiResult<String> {
        self.call_plain("EnsureBotUser", |s| {
            s.ensure_bot_user(&ctx.plugin_id, required(bot, "bot")?)
        })
    }

    // --- Sent outside the API: recorded ------------------------------------------------

    async fn publish_web_socket_event(
        &self,
        ctx: &CallContext,
        event: String,
        payload: Option<Struct>,
        broadcast: Option<pb::WebsocketBroadcast>,
    ) -> ApiResult<()> {
        self.with_state(|s| s.publish_websocket_event(&ctx.plugin_id, event, payload, broadcast));
        Ok(())
    }

    async fn open_interactive_dialog(
        &self,
        ctx: &CallContext,
        dialog: Option<pb::OpenDialogRequest>,
    ) -> ApiResult<()> {
        self.call("OpenInteractiveDialog", |s| {
            s.open_interactive_dialog(&ctx.plugin_id, dialog)
        })
    }

    async fn send_mail(
        &self,
        ctx: &CallContext,
        to: String,
        subject: String,
        html_body: String,
    ) -> ApiResult<()> {
        self.call("SendMail", |s| {
            s.send_mail(&ctx.plugin_id, to, subject, html_body)
        })
    }
}
