//! Channels (open, private and direct) and channel membership.

use std::collections::HashMap;

use mattermost_plugin_api::pb;

use super::State;
use super::errors::{Fault, Outcome};
use super::ids::{ID_LEN, is_valid_id, new_id, require_id};
use super::rules::{self, paginate, runes};
use super::teams::TOWN_SQUARE;

// Channel types as the generated crate records them from Go's `model.ChannelType`.
pub(super) const CHANNEL_OPEN: &str = mattermost_plugin_api::enums::channel_type::OPEN;
const CHANNEL_PRIVATE: &str = mattermost_plugin_api::enums::channel_type::PRIVATE;
const CHANNEL_DIRECT: &str = mattermost_plugin_api::enums::channel_type::DIRECT;
const CHANNEL_GROUP: &str = mattermost_plugin_api::enums::channel_type::GROUP;
const CHANNEL_USER_ROLE: &str = "channel_user";
const CHANNEL_ADMIN_ROLE: &str = "channel_admin";
const CHANNEL_GUEST_ROLE: &str = "channel_guest";
const HEADER_MAX_RUNES: usize = 1024;
/// Group channels have at least 3 and at most 8 members.
const GROUP_MIN_USERS: usize = 3;
const GROUP_MAX_USERS: usize = 8;
const PURPOSE_MAX_RUNES: usize = 250;

/// The notification settings every new channel member starts with.
const DEFAULT_NOTIFY_PROPS: &[(&str, &str)] = &[
    ("desktop", "default"),
    ("email", "default"),
    ("push", "default"),
    ("mark_unread", "all"),
    ("ignore_channel_mentions", "default"),
    ("channel_auto_follow_threads", "off"),
];

fn channel_not_found(id: &str) -> Fault {
    Fault::not_found("app.channel.get.existing.app_error", "no such channel")
        .detail(format!("channel_id={id}"))
}

fn member_not_found(channel_id: &str, user_id: &str) -> Fault {
    Fault::not_found(
        "app.channel.get_member.missing.app_error",
        "the user is not a member of the channel",
    )
    .detail(format!("channel_id={channel_id} user_id={user_id}"))
}

fn invalid_channel(field: &str, message: &str) -> Fault {
    Fault::bad_request(format!("model.channel.is_valid.{field}.app_error"), message)
}

/// Mattermost's direct channel name: both user ids, smaller first, joined by `__`.
pub(super) fn direct_channel_name(user_a: &str, user_b: &str) -> String {
    let (first, second) = if user_a <= user_b {
        (user_a, user_b)
    } else {
        (user_b, user_a)
    };
    format!("{first}__{second}")
}

fn is_group_or_direct(channel: &pb::Channel) -> bool {
    channel.r#type == CHANNEL_DIRECT || channel.r#type == CHANNEL_GROUP
}

/// Team channels may not take a name that would read as a direct channel's.
fn looks_like_direct_name(name: &str) -> bool {
    name.split_once("__")
        .is_some_and(|(a, b)| is_valid_id(a) && is_valid_id(b))
}

/// `Channel.IsValid` without the fields the server fills itself.
fn validate_channel(channel: &pb::Channel) -> Outcome<()> {
    if runes(&channel.display_name) > rules::DISPLAY_NAME_MAX_RUNES {
        return Err(invalid_channel(
            "display_name",
            "display_name is empty or too long",
        ));
    }
    if !rules::is_valid_channel_name(&channel.name) {
        return Err(invalid_channel(
            "1_or_more",
            "names are lowercase letters, digits, '-' and '_' (at least one character)",
        ));
    }
    let known_type = [CHANNEL_OPEN, CHANNEL_PRIVATE, CHANNEL_DIRECT, CHANNEL_GROUP]
        .contains(&channel.r#type.as_str());
    if !known_type {
        return Err(invalid_channel("type", "Invalid type."));
    }
    if runes(&channel.header) > HEADER_MAX_RUNES {
        return Err(invalid_channel("header", "Invalid header."));
    }
    if runes(&channel.purpose) > PURPOSE_MAX_RUNES {
        return Err(invalid_channel("purpose", "Invalid purpose."));
    }
    if channel.creator_id.len() > ID_LEN {
        return Err(invalid_channel("creator_id", "owner_id is not a valid id"));
    }
    if !is_group_or_direct(channel) && looks_like_direct_name(&channel.name) {
        return Err(invalid_channel(
            "name",
            "only direct channels may be named after user ids",
        ));
    }
    if channel.discoverable && channel.r#type != CHANNEL_PRIVATE {
        return Err(invalid_channel(
            "discoverable",
            "discoverability applies to private channels only",
        ));
    }
    Ok(())
}

/// Splits a channel role string into the scheme flags and the explicit rest.
fn apply_channel_roles(member: &mut pb::ChannelMember, roles: &str) {
    member.scheme_user = false;
    member.scheme_admin = false;
    member.scheme_guest = false;
    let mut explicit = Vec::new();
    for role in roles.split_whitespace() {
        match role {
            CHANNEL_USER_ROLE => member.scheme_user = true,
            CHANNEL_ADMIN_ROLE => member.scheme_admin = true,
            CHANNEL_GUEST_ROLE => member.scheme_guest = true,
            other => explicit.push(other),
        }
    }
    member.explicit_roles = explicit.join(" ");
    member.roles = roles.split_whitespace().collect::<Vec<_>>().join(" ");
}

impl State {
    /// The channel `id`, archived or not: 400 for a malformed id, 404 for an unknown one.
    pub(super) fn channel(&self, id: &str) -> Outcome<&pb::Channel> {
        require_id("channel_id", id)?;
        self.channels.get(id).ok_or_else(|| channel_not_found(id))
    }

    /// `CreateChannel`: open and private channels of an existing team. Direct and group
    /// channels are made by `GetDirectChannel` instead, as in Mattermost.
    pub(super) fn create_channel(&mut self, channel: pb::Channel) -> Outcome<pb::Channel> {
        if !channel.id.is_empty() {
            return Err(Fault::bad_request(
                "store.sql_channel.save.existing.app_error",
                "the channel has an id already: update it instead",
            ));
        }
        if is_group_or_direct(&channel) {
            return Err(Fault::bad_request(
                "api.channel.create_channel.direct_channel.app_error",
                "direct channels come from GetDirectChannel, not CreateChannel",
            ));
        }
        self.team(&channel.team_id)?;
        self.insert_channel(channel)
    }

    /// Fills the server-side fields (as `Channel.PreSave`), validates and stores a channel.
    pub(super) fn insert_channel(&mut self, mut channel: pb::Channel) -> Outcome<pb::Channel> {
        channel.id = new_id();
        if channel.create_at == 0 {
            channel.create_at = self.now();
        }
        channel.update_at = channel.create_at;
        channel.delete_at = 0;
        channel.extra_update_at = 0;
        validate_channel(&channel)?;
        self.ensure_unique_channel_name(&channel)?;
        self.channels.insert(channel.id.clone(), channel.clone());
        Ok(channel)
    }

    /// Names are unique within a team, archived channels included.
    fn ensure_unique_channel_name(&self, channel: &pb::Channel) -> Outcome<()> {
        let taken = self
            .channels
            .values()
            .any(|c| c.id != channel.id && c.team_id == channel.team_id && c.name == channel.name);
        if taken {
            return Err(Fault::bad_request(
                "store.sql_channel.save_channel.exists.app_error",
                "this team already has a channel with that name",
            )
            .detail(format!("name={}", channel.name)));
        }
        Ok(())
    }

    /// `GetChannelByName`: direct and group channels (which have no team) match any team.
    pub(super) fn channel_by_name(
        &self,
        team_id: &str,
        name: &str,
        include_deleted: bool,
    ) -> Outcome<&pb::Channel> {
        if !team_id.is_empty() {
            require_id("team_id", team_id)?;
        }
        self.channels
            .values()
            .find(|c| {
                (c.team_id == team_id || c.team_id.is_empty())
                    && c.name == name
                    && (include_deleted || c.delete_at == 0)
            })
            .ok_or_else(|| {
                Fault::not_found(
                    "app.channel.get_by_name.missing.app_error",
                    "no such channel",
                )
                .detail(format!("team_id={team_id} name={name}"))
            })
    }

    pub(super) fn channel_by_name_for_team_name(
        &self,
        team_name: &str,
        channel_name: &str,
        include_deleted: bool,
    ) -> Outcome<&pb::Channel> {
        let team_id = self.team_by_name(team_name)?.id.clone();
        self.channel_by_name(&team_id, channel_name, include_deleted)
    }

    /// `UpdateChannel`: the type of direct/group channels, the team and the counters stay
    /// the server's.
    pub(super) fn update_channel(&mut self, mut channel: pb::Channel) -> Outcome<pb::Channel> {
        let old = self.channel(&channel.id)?.clone();
        if old.delete_at != 0 {
            return Err(Fault::bad_request(
                "api.channel.update_channel.deleted.app_error",
                "the channel is archived",
            ));
        }
        if is_group_or_direct(&old) != is_group_or_direct(&channel) {
            return Err(invalid_channel("type", "Invalid type."));
        }
        channel.team_id = old.team_id;
        channel.create_at = old.create_at;
        channel.delete_at = old.delete_at;
        channel.update_at = self.now();
        channel.last_post_at = old.last_post_at;
        channel.last_root_post_at = old.last_root_post_at;
        channel.total_msg_count = old.total_msg_count;
        channel.total_msg_count_root = old.total_msg_count_root;
        validate_channel(&channel)?;
        self.ensure_unique_channel_name(&channel)?;
        self.channels.insert(channel.id.clone(), channel.clone());
        Ok(channel)
    }

    /// `DeleteChannel` archives the channel; direct channels and town-square cannot be.
    pub(super) fn delete_channel(&mut self, id: &str) -> Outcome<()> {
        let channel = self.channel(id)?;
        if is_group_or_direct(channel) {
            return Err(Fault::bad_request(
                "api.channel.delete_channel.type.invalid",
                "direct and group channels cannot be archived",
            ));
        }
        if channel.name == TOWN_SQUARE {
            return Err(Fault::bad_request(
                "api.channel.delete_channel.cannot.app_error",
                "the default channel cannot be archived",
            ));
        }
        if channel.delete_at != 0 {
            return Err(Fault::bad_request(
                "api.channel.delete_channel.deleted.app_error",
                "the channel is archived",
            ));
        }
        self.set_channel_deleted(id, true);
        Ok(())
    }

    /// `RestoreChannel` un-archives a channel.
    pub(super) fn restore_channel(&mut self, id: &str) -> Outcome<()> {
        if self.channel(id)?.delete_at == 0 {
            return Err(Fault::bad_request(
                "api.channel.restore_channel.restored.app_error",
                "the channel is not archived",
            ));
        }
        self.set_channel_deleted(id, false);
        Ok(())
    }

    fn set_channel_deleted(&mut self, id: &str, deleted: bool) {
        let now = self.now();
        if let Some(channel) = self.channels.get_mut(id) {
            channel.delete_at = if deleted { now } else { 0 };
            channel.update_at = now;
        }
    }

    /// `GetDirectChannel`: the direct channel of two users (possibly the same user),
    /// created with both as members on first use.
    pub(super) fn direct_channel(&mut self, user_a: &str, user_b: &str) -> Outcome<pb::Channel> {
        self.user(user_a)?;
        self.user(user_b)?;
        let name = direct_channel_name(user_a, user_b);
        let existing = self
            .channels
            .values()
            .find(|c| c.r#type == CHANNEL_DIRECT && c.name == name);
        if let Some(channel) = existing {
            return Ok(channel.clone());
        }
        let channel = self.insert_channel(pb::Channel {
            name,
            r#type: CHANNEL_DIRECT.to_string(),
            ..Default::default()
        })?;
        self.insert_channel_member(&channel.id, user_a);
        self.insert_channel_member(&channel.id, user_b);
        Ok(channel)
    }

    /// `GetGroupChannel`: the group channel of 3 to 8 distinct users, created with all of
    /// them as members on first use. As on a server, it is named by the SHA-1 of the sorted
    /// user ids and displayed as the sorted usernames.
    pub(super) fn group_channel(&mut self, user_ids: &[String]) -> Outcome<pb::Channel> {
        let mut ids: Vec<&str> = user_ids.iter().map(String::as_str).collect();
        ids.sort_unstable();
        ids.dedup();
        if !(GROUP_MIN_USERS..=GROUP_MAX_USERS).contains(&ids.len()) {
            return Err(Fault::bad_request(
                "api.channel.create_group.bad_size.app_error",
                format!("a group channel has {GROUP_MIN_USERS} to {GROUP_MAX_USERS} users"),
            )
            .detail(format!("users={}", ids.len())));
        }
        let mut usernames = Vec::with_capacity(ids.len());
        for id in &ids {
            usernames.push(self.user(id)?.username.clone());
        }
        let name = super::codec::sha1_hex(ids.concat().as_bytes());
        let existing = self
            .channels
            .values()
            .find(|c| c.r#type == CHANNEL_GROUP && c.name == name);
        if let Some(channel) = existing {
            return Ok(channel.clone());
        }
        usernames.sort();
        let display_name: String = usernames
            .join(", ")
            .chars()
            .take(rules::DISPLAY_NAME_MAX_RUNES)
            .collect();
        let channel = self.insert_channel(pb::Channel {
            name,
            display_name,
            r#type: CHANNEL_GROUP.to_string(),
            ..Default::default()
        })?;
        for id in ids {
            self.insert_channel_member(&channel.id, id);
        }
        Ok(channel)
    }

    /// `GetPublicChannelsForTeam`: live open channels sorted by display name.
    pub(super) fn public_channels_for_team(
        &self,
        team_id: &str,
        page: i64,
        per_page: i64,
    ) -> Outcome<Vec<pb::Channel>> {
        self.team(team_id)?;
        let mut channels: Vec<&pb::Channel> = self
            .channels
            .values()
            .filter(|c| c.team_id == team_id && c.r#type == CHANNEL_OPEN && c.delete_at == 0)
            .collect();
        // Case-insensitively, as the database collation orders them.
        channels.sort_by_key(|x| x.display_name.to_lowercase());
        Ok(paginate(channels.into_iter().cloned(), page, per_page))
    }

    /// `GetChannelsForTeamForUser`: the user's channels in the team plus their direct and
    /// group channels. Like Mattermost's store, no channel at all is a 404.
    pub(super) fn channels_for_team_for_user(
        &self,
        team_id: &str,
        user_id: &str,
        include_deleted: bool,
    ) -> Outcome<Vec<pb::Channel>> {
        self.team(team_id)?;
        self.user(user_id)?;
        let channels: Vec<pb::Channel> = self
            .channels
            .values()
            .filter(|c| c.team_id == team_id || c.team_id.is_empty())
            .filter(|c| include_deleted || c.delete_at == 0)
            .filter(|c| self.is_channel_member(&c.id, user_id))
            .cloned()
            .collect();
        if channels.is_empty() {
            return Err(Fault::not_found(
                "app.channel.get_channels.not_found.app_error",
                "the user is in no channel of this team",
            ));
        }
        Ok(channels)
    }

    /// `GetChannelStats`: members, pinned posts and attached files.
    pub(super) fn channel_stats(&self, id: &str) -> Outcome<pb::ChannelStats> {
        self.channel(id)?;
        let member_count = self.channel_members_of(id).count();
        let pinned = self
            .posts
            .values()
            .filter(|p| p.post.channel_id == id && p.post.delete_at == 0 && p.post.is_pinned)
            .count();
        let files = self
            .files
            .values()
            .filter(|f| {
                f.info.channel_id == id && !f.info.post_id.is_empty() && f.info.delete_at == 0
            })
            .count();
        Ok(pb::ChannelStats {
            channel_id: id.to_string(),
            member_count: member_count as i64,
            guest_count: 0,
            pinnedpost_count: pinned as i64,
            files_count: files as i64,
        })
    }

    fn channel_members_of<'a>(
        &'a self,
        channel_id: &'a str,
    ) -> impl Iterator<Item = &'a pb::ChannelMember> {
        self.channel_members
            .values()
            .filter(move |m| m.channel_id == channel_id)
    }

    pub(super) fn is_channel_member(&self, channel_id: &str, user_id: &str) -> bool {
        self.channel_members
            .contains_key(&(channel_id.to_string(), user_id.to_string()))
    }

    pub(super) fn channel_member(
        &self,
        channel_id: &str,
        user_id: &str,
    ) -> Outcome<pb::ChannelMember> {
        self.channel(channel_id)?;
        require_id("user_id", user_id)?;
        self.channel_members
            .get(&(channel_id.to_string(), user_id.to_string()))
            .cloned()
            .ok_or_else(|| member_not_found(channel_id, user_id))
    }

    /// `AddChannelMember`: the user must be an active member of the channel's team; adding
    /// an existing member returns the membership unchanged.
    pub(super) fn add_channel_member(
        &mut self,
        channel_id: &str,
        user_id: &str,
    ) -> Outcome<pb::ChannelMember> {
        let channel = self.channel(channel_id)?.clone();
        let user_active = self.user(user_id)?.delete_at == 0;
        if let Ok(existing) = self.channel_member(channel_id, user_id) {
            return Ok(existing);
        }
        if channel.delete_at != 0 {
            return Err(Fault::bad_request(
                "api.channel.add_user_to_channel.deleted.app_error",
                "the channel is archived",
            ));
        }
        if is_group_or_direct(&channel) {
            return Err(Fault::bad_request(
                "api.channel.add_user_to_channel.type.app_error",
                "members of this kind of channel cannot be added",
            ));
        }
        if !user_active {
            return Err(Fault::bad_request(
                "api.channel.add_user.to.channel.failed.deleted.app_error",
                "the user left the channel's team",
            ));
        }
        self.require_team_membership(&channel.team_id, user_id)?;
        Ok(self.insert_channel_member(channel_id, user_id))
    }

    fn require_team_membership(&self, team_id: &str, user_id: &str) -> Outcome<()> {
        let member = self.team_member(team_id, user_id)?;
        if member.delete_at != 0 {
            return Err(Fault::bad_request(
                "api.channel.add_user.to.channel.failed.deleted.app_error",
                "the user left the channel's team",
            ));
        }
        Ok(())
    }

    /// Stores a default membership without checks (callers have checked).
    pub(super) fn insert_channel_member(
        &mut self,
        channel_id: &str,
        user_id: &str,
    ) -> pb::ChannelMember {
        let now = self.now();
        let mut member = pb::ChannelMember {
            channel_id: channel_id.to_string(),
            user_id: user_id.to_string(),
            last_update_at: now,
            notify_props: DEFAULT_NOTIFY_PROPS
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            ..Default::default()
        };
        apply_channel_roles(&mut member, CHANNEL_USER_ROLE);
        self.channel_members
            .entry((channel_id.to_string(), user_id.to_string()))
            .or_insert(member)
            .clone()
    }

    /// `GetChannelMembers`: ordered by user id.
    pub(super) fn channel_members(
        &self,
        channel_id: &str,
        page: i64,
        per_page: i64,
    ) -> Outcome<Vec<pb::ChannelMember>> {
        self.channel(channel_id)?;
        Ok(paginate(
            self.channel_members_of(channel_id).cloned(),
            page,
            per_page,
        ))
    }

    /// `GetChannelMembersByIds`: the memberships that exist among `user_ids`.
    pub(super) fn channel_members_by_ids(
        &self,
        channel_id: &str,
        user_ids: &[String],
    ) -> Outcome<Vec<pb::ChannelMember>> {
        self.channel(channel_id)?;
        Ok(user_ids
            .iter()
            .filter_map(|u| {
                self.channel_members
                    .get(&(channel_id.to_string(), u.clone()))
            })
            .cloned()
            .collect())
    }

    /// `GetChannelMembersForUser`: the user's memberships in a team's channels (and in
    /// direct/group channels, which belong to no team).
    pub(super) fn channel_members_for_user(
        &self,
        team_id: &str,
        user_id: &str,
        page: i64,
        per_page: i64,
    ) -> Outcome<Vec<pb::ChannelMember>> {
        self.team(team_id)?;
        self.user(user_id)?;
        let members = self
            .channel_members
            .values()
            .filter(|m| m.user_id == user_id)
            .filter(|m| {
                self.channels
                    .get(&m.channel_id)
                    .is_some_and(|c| c.team_id == team_id || c.team_id.is_empty())
            })
            .cloned();
        Ok(paginate(members, page, per_page))
    }

    /// `DeleteChannelMember`: nobody leaves direct channels or town-square.
    pub(super) fn remove_channel_member(&mut self, channel_id: &str, user_id: &str) -> Outcome<()> {
        let channel = self.channel(channel_id)?;
        if is_group_or_direct(channel) {
            return Err(Fault::bad_request(
                "api.channel.remove_user_from_channel.direct.app_error",
                "members of direct and group channels cannot be removed",
            ));
        }
        if channel.name == TOWN_SQUARE {
            return Err(Fault::bad_request(
                "api.channel.remove.default.app_error",
                "nobody leaves the default channel",
            ));
        }
        self.channel_member(channel_id, user_id)?;
        self.channel_members
            .remove(&(channel_id.to_string(), user_id.to_string()));
        Ok(())
    }

    pub(super) fn update_channel_member_roles(
        &mut self,
        channel_id: &str,
        user_id: &str,
        roles: &str,
    ) -> Outcome<pb::ChannelMember> {
        let mut member = self.channel_member(channel_id, user_id)?;
        apply_channel_roles(&mut member, roles);
        member.last_update_at = self.now();
        self.store_channel_member(member)
    }

    /// `UpdateChannelMemberNotifications`: merges the given notify props.
    pub(super) fn update_channel_member_notifications(
        &mut self,
        channel_id: &str,
        user_id: &str,
        props: HashMap<String, String>,
    ) -> Outcome<pb::ChannelMember> {
        let mut member = self.channel_member(channel_id, user_id)?;
        member.notify_props.extend(props);
        member.last_update_at = self.now();
        self.store_channel_member(member)
    }

    fn store_channel_member(&mut self, member: pb::ChannelMember) -> Outcome<pb::ChannelMember> {
        let key = (member.channel_id.clone(), member.user_id.clone());
        self.channel_members.insert(key, member.clone());
        Ok(member)
    }
}
