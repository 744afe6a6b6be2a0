//! Teams and team membership.

use mattermost_plugin_api::pb;

use super::State;
use super::channels::CHANNEL_OPEN;
use super::errors::{Fault, Outcome};
use super::ids::{new_id, require_id};
use super::rules::{self, paginate, runes};

pub(super) const TEAM_OPEN: &str = "O";
const TEAM_INVITE: &str = "I";
const TEAM_USER_ROLE: &str = "team_user";
const TEAM_ADMIN_ROLE: &str = "team_admin";
const TEAM_GUEST_ROLE: &str = "team_guest";
const DESCRIPTION_MAX_LEN: usize = 255;

/// The channel nobody can leave or archive.
pub(super) const TOWN_SQUARE: &str = "town-square";

/// The channels Mattermost creates with every team and puts every new member in.
pub(super) const DEFAULT_CHANNELS: &[(&str, &str)] =
    &[(TOWN_SQUARE, "Town Square"), ("off-topic", "Off-Topic")];

fn team_not_found(id: &str) -> Fault {
    Fault::not_found("app.team.get.find.app_error", "no such team").detail(format!("team_id={id}"))
}

fn member_not_found(team_id: &str, user_id: &str) -> Fault {
    Fault::not_found(
        "app.team.get_member.missing.app_error",
        "the user is not a member of the team",
    )
    .detail(format!("team_id={team_id} user_id={user_id}"))
}

fn invalid_team(field: &str, message: &str) -> Fault {
    Fault::bad_request(format!("model.team.is_valid.{field}.app_error"), message)
}

/// `Team.IsValid` without the fields the server fills itself.
fn validate_team(team: &pb::Team) -> Outcome<()> {
    let display = runes(&team.display_name);
    if display == 0 || display > rules::DISPLAY_NAME_MAX_RUNES {
        return Err(invalid_team("name", "display_name is empty or too long"));
    }
    if team.description.len() > DESCRIPTION_MAX_LEN {
        return Err(invalid_team("description", "description is too long"));
    }
    if !team.email.is_empty() && !rules::is_valid_email(&team.email) {
        return Err(invalid_team("email", "Invalid email."));
    }
    if rules::is_reserved_team_name(&team.name) {
        return Err(invalid_team("reserved", "that team name is reserved"));
    }
    if !rules::is_valid_team_name(&team.name) {
        return Err(invalid_team(
            "characters",
            "names are lowercase letters, digits and '-' (at least two characters)",
        ));
    }
    if team.r#type != TEAM_OPEN && team.r#type != TEAM_INVITE {
        return Err(invalid_team(
            "type",
            "type must be \"O\" (open) or \"I\" (invite only)",
        ));
    }
    Ok(())
}

/// Splits a team role string into the scheme flags and the explicit rest, as Mattermost does.
fn apply_team_roles(member: &mut pb::TeamMember, roles: &str) {
    member.scheme_user = false;
    member.scheme_admin = false;
    member.scheme_guest = false;
    let mut explicit = Vec::new();
    for role in roles.split_whitespace() {
        match role {
            TEAM_USER_ROLE => member.scheme_user = true,
            TEAM_ADMIN_ROLE => member.scheme_admin = true,
            TEAM_GUEST_ROLE => member.scheme_guest = true,
            other => explicit.push(other),
        }
    }
    member.explicit_roles = explicit.join(" ");
    member.roles = roles.split_whitespace().collect::<Vec<_>>().join(" ");
}

impl State {
    /// The team `id`, deleted or not: 400 for a malformed id, 404 for an unknown one.
    pub(super) fn team(&self, id: &str) -> Outcome<&pb::Team> {
        require_id("team_id", id)?;
        self.teams.get(id).ok_or_else(|| team_not_found(id))
    }

    pub(super) fn team_by_name(&self, name: &str) -> Outcome<&pb::Team> {
        self.teams.values().find(|t| t.name == name).ok_or_else(|| {
            Fault::not_found("app.team.get_by_name.missing.app_error", "no such team")
                .detail(format!("name={name}"))
        })
    }

    /// `GetTeams`: every team, sorted by display name.
    pub(super) fn list_teams(&self) -> Vec<pb::Team> {
        let mut teams: Vec<pb::Team> = self.teams.values().cloned().collect();
        // Case-insensitively, as the database collation orders them.
        teams.sort_by_key(|x| x.display_name.to_lowercase());
        teams
    }

    /// `CreateTeam`, which also creates the default channels as Mattermost does.
    pub(super) fn create_team(&mut self, mut team: pb::Team) -> Outcome<pb::Team> {
        if !team.id.is_empty() {
            return Err(Fault::bad_request(
                "app.team.save.existing.app_error",
                "the team has an id already: update it instead",
            ));
        }
        team.id = new_id();
        team.create_at = self.now();
        team.update_at = team.create_at;
        if team.invite_id.is_empty() {
            team.invite_id = new_id();
        }
        validate_team(&team)?;
        self.ensure_unique_team_name(&team)?;
        self.teams.insert(team.id.clone(), team.clone());
        self.create_default_channels(&team.id)?;
        Ok(team)
    }

    fn create_default_channels(&mut self, team_id: &str) -> Outcome<()> {
        for (name, display_name) in DEFAULT_CHANNELS {
            let channel = pb::Channel {
                team_id: team_id.to_string(),
                name: name.to_string(),
                display_name: display_name.to_string(),
                r#type: CHANNEL_OPEN.to_string(),
                ..Default::default()
            };
            self.insert_channel(channel)?;
        }
        Ok(())
    }

    fn ensure_unique_team_name(&self, team: &pb::Team) -> Outcome<()> {
        let taken = self
            .teams
            .values()
            .any(|t| t.id != team.id && t.name == team.name);
        if taken {
            return Err(Fault::bad_request(
                "app.team.save.existing.app_error",
                "a team with that name exists already",
            )
            .detail(format!("name={}", team.name)));
        }
        Ok(())
    }

    /// `UpdateTeam`: creation time and invite id are the server's.
    pub(super) fn update_team(&mut self, mut team: pb::Team) -> Outcome<pb::Team> {
        let old = self.team(&team.id)?.clone();
        team.create_at = old.create_at;
        team.delete_at = old.delete_at;
        team.update_at = self.now();
        if team.invite_id.is_empty() {
            team.invite_id = old.invite_id;
        }
        validate_team(&team)?;
        self.ensure_unique_team_name(&team)?;
        self.teams.insert(team.id.clone(), team.clone());
        Ok(team)
    }

    /// `DeleteTeam` archives the team (Mattermost's soft delete).
    pub(super) fn delete_team(&mut self, id: &str) -> Outcome<()> {
        self.team(id)?;
        let now = self.now();
        if let Some(team) = self.teams.get_mut(id) {
            team.delete_at = now;
            team.update_at = now;
        }
        Ok(())
    }

    /// Active memberships of a user.
    pub(super) fn teams_of<'a>(
        &'a self,
        user_id: &'a str,
    ) -> impl Iterator<Item = &'a pb::TeamMember> {
        self.team_members
            .values()
            .filter(move |m| m.user_id == user_id && m.delete_at == 0)
    }

    pub(super) fn is_team_member(&self, team_id: &str, user_id: &str) -> bool {
        self.team_members
            .get(&(team_id.to_string(), user_id.to_string()))
            .is_some_and(|m| m.delete_at == 0)
    }

    /// `GetTeamsForUser`: the live teams the user is an active member of.
    pub(super) fn teams_for_user(&self, user_id: &str) -> Outcome<Vec<pb::Team>> {
        self.user(user_id)?;
        Ok(self
            .teams_of(user_id)
            .filter_map(|m| self.teams.get(&m.team_id))
            .filter(|t| t.delete_at == 0)
            .cloned()
            .collect())
    }

    /// `GetTeamMember`: like Mattermost, a removed membership is still returned, with
    /// `delete_at` set.
    pub(super) fn team_member(&self, team_id: &str, user_id: &str) -> Outcome<pb::TeamMember> {
        self.team(team_id)?;
        require_id("user_id", user_id)?;
        self.team_members
            .get(&(team_id.to_string(), user_id.to_string()))
            .cloned()
            .ok_or_else(|| member_not_found(team_id, user_id))
    }

    /// `CreateTeamMember`: joining is idempotent, re-joining revives a removed membership,
    /// and a new member also joins the team's default channels.
    pub(super) fn add_team_member(
        &mut self,
        team_id: &str,
        user_id: &str,
    ) -> Outcome<pb::TeamMember> {
        self.team(team_id)?;
        if self.user(user_id)?.delete_at != 0 {
            return Err(Fault::bad_request(
                "app.team.join_user_to_team.deactivated_user.app_error",
                "deactivated users cannot join teams",
            ));
        }
        let key = (team_id.to_string(), user_id.to_string());
        if let Some(existing) = self.team_members.get(&key).filter(|m| m.delete_at == 0) {
            return Ok(existing.clone());
        }
        let mut member = pb::TeamMember {
            team_id: team_id.to_string(),
            user_id: user_id.to_string(),
            create_at: self.now(),
            ..Default::default()
        };
        apply_team_roles(&mut member, TEAM_USER_ROLE);
        self.team_members.insert(key, member.clone());
        self.join_default_channels(team_id, user_id);
        Ok(member)
    }

    fn join_default_channels(&mut self, team_id: &str, user_id: &str) {
        for (name, _) in DEFAULT_CHANNELS {
            let channel_id = self
                .channels
                .values()
                .find(|c| c.team_id == team_id && c.name == *name && c.delete_at == 0)
                .map(|c| c.id.clone());
            if let Some(channel_id) = channel_id {
                self.insert_channel_member(&channel_id, user_id);
            }
        }
    }

    /// `CreateTeamMembers`: stops at the first failure; users added before it stay added, as
    /// with the server's loop.
    pub(super) fn add_team_members(
        &mut self,
        team_id: &str,
        user_ids: &[String],
    ) -> Outcome<Vec<pb::TeamMember>> {
        user_ids
            .iter()
            .map(|user_id| self.add_team_member(team_id, user_id))
            .collect()
    }

    /// `CreateTeamMembersGracefully`: one result per user, failures reported inline.
    pub(super) fn add_team_members_gracefully(
        &mut self,
        team_id: &str,
        user_ids: &[String],
        method: &str,
    ) -> Outcome<Vec<pb::TeamMemberWithError>> {
        self.team(team_id)?;
        Ok(user_ids
            .iter()
            .map(|user_id| match self.add_team_member(team_id, user_id) {
                Ok(member) => pb::TeamMemberWithError {
                    user_id: user_id.clone(),
                    member: Some(member),
                    error: None,
                },
                Err(fault) => pb::TeamMemberWithError {
                    user_id: user_id.clone(),
                    member: None,
                    error: Some(fault.into_pb(method)),
                },
            })
            .collect())
    }

    /// `DeleteTeamMember`: the membership is kept with `delete_at` set and no roles, and the
    /// user leaves every channel of the team.
    pub(super) fn remove_team_member(&mut self, team_id: &str, user_id: &str) -> Outcome<()> {
        let member = self.team_member(team_id, user_id)?;
        if member.delete_at != 0 {
            return Err(member_not_found(team_id, user_id));
        }
        let now = self.now();
        if let Some(member) = self
            .team_members
            .get_mut(&(team_id.to_string(), user_id.to_string()))
        {
            member.delete_at = now;
            member.roles.clear();
        }
        let team_channels: Vec<String> = self
            .channels
            .values()
            .filter(|c| c.team_id == team_id)
            .map(|c| c.id.clone())
            .collect();
        for channel_id in team_channels {
            self.channel_members
                .remove(&(channel_id, user_id.to_string()));
        }
        Ok(())
    }

    /// `GetTeamMembers`: active members ordered by user id.
    pub(super) fn team_members(
        &self,
        team_id: &str,
        page: i64,
        per_page: i64,
    ) -> Outcome<Vec<pb::TeamMember>> {
        self.team(team_id)?;
        let members = self
            .team_members
            .values()
            .filter(|m| m.team_id == team_id && m.delete_at == 0)
            .cloned();
        Ok(paginate(members, page, per_page))
    }

    /// `GetTeamMembersForUser`: the user's active memberships ordered by team id.
    pub(super) fn team_members_for_user(
        &self,
        user_id: &str,
        page: i64,
        per_page: i64,
    ) -> Outcome<Vec<pb::TeamMember>> {
        self.user(user_id)?;
        let mut members: Vec<pb::TeamMember> = self.teams_of(user_id).cloned().collect();
        members.sort_by(|a, b| a.team_id.cmp(&b.team_id));
        Ok(paginate(members, page, per_page))
    }

    pub(super) fn update_team_member_roles(
        &mut self,
        team_id: &str,
        user_id: &str,
        roles: &str,
    ) -> Outcome<pb::TeamMember> {
        let mut member = self.team_member(team_id, user_id)?;
        if member.delete_at != 0 {
            return Err(member_not_found(team_id, user_id));
        }
        apply_team_roles(&mut member, roles);
        self.team_members
            .insert((team_id.to_string(), user_id.to_string()), member.clone());
        Ok(member)
    }

    /// `GetTeamStats`: members, and those of them whose accounts are active.
    pub(super) fn team_stats(&self, team_id: &str) -> Outcome<pb::TeamStats> {
        self.team(team_id)?;
        let members: Vec<&pb::TeamMember> = self
            .team_members
            .values()
            .filter(|m| m.team_id == team_id && m.delete_at == 0)
            .collect();
        let active = members
            .iter()
            .filter(|m| self.users.get(&m.user_id).is_some_and(|u| u.delete_at == 0))
            .count();
        Ok(pb::TeamStats {
            team_id: team_id.to_string(),
            total_member_count: members.len() as i64,
            active_member_count: active as i64,
        })
    }
}
