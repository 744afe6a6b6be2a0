//! Bots: users with `is_bot` plus a bot record naming their owner.

use mattermost_plugin_api::pb;

use super::State;
use super::errors::{Fault, Outcome};
use super::ids::require_id;
use super::logs::LogLevel;
use super::rules::{self, paginate, runes};
use super::users::SYSTEM_USER_ROLE;

/// The KV key under which Mattermost remembers the bot a plugin ensured (`mmi_` is the
/// prefix the server reserves for its own keys in a plugin's namespace).
pub(super) const BOT_ID_KEY: &str = "mmi_botid";
const DISPLAY_NAME_MAX_RUNES: usize = 64;
const DESCRIPTION_MAX_RUNES: usize = 1024;
const OWNER_ID_MAX_RUNES: usize = 190;

/// The same error for missing and hidden bots, so callers cannot probe for them.
fn bot_not_found(id: &str) -> Fault {
    Fault::not_found("store.sql_bot.get.missing.app_error", "no such bot")
        .detail(format!("user_id={id}"))
}

fn invalid_bot(field: &str, message: &str) -> Fault {
    Fault::bad_request(format!("model.bot.is_valid.{field}.app_error"), message)
}

/// `Bot.IsValidCreate`.
fn validate_bot(bot: &pb::Bot) -> Outcome<()> {
    if !rules::is_valid_username(&bot.username) {
        return Err(invalid_bot("username", "Invalid username."));
    }
    if runes(&bot.display_name) > DISPLAY_NAME_MAX_RUNES {
        return Err(invalid_bot("user_id", "display_name is too long"));
    }
    if runes(&bot.description) > DESCRIPTION_MAX_RUNES {
        return Err(invalid_bot("description", "description is too long"));
    }
    if bot.owner_id.is_empty() || runes(&bot.owner_id) > OWNER_ID_MAX_RUNES {
        return Err(invalid_bot("creator_id", "owner_id is not a valid id"));
    }
    Ok(())
}

/// `model.UserFromBot`: the user account behind a bot.
fn user_from_bot(bot: &pb::Bot) -> pb::User {
    pb::User {
        username: bot.username.clone(),
        email: format!("{}@localhost", bot.username).to_lowercase(),
        first_name: bot.display_name.clone(),
        roles: SYSTEM_USER_ROLE.to_string(),
        is_bot: true,
        bot_description: bot.description.clone(),
        ..Default::default()
    }
}

fn apply_patch(bot: &mut pb::Bot, patch: pb::BotPatch) {
    if let Some(username) = patch.username {
        bot.username = username.to_lowercase();
    }
    if let Some(display_name) = patch.display_name {
        bot.display_name = display_name;
    }
    if let Some(description) = patch.description {
        bot.description = description;
    }
}

impl State {
    /// `CreateBot`: a plugin owns the bots it creates unless it names another owner.
    pub(super) fn create_bot(&mut self, plugin_id: &str, mut bot: pb::Bot) -> Outcome<pb::Bot> {
        if bot.owner_id.is_empty() {
            bot.owner_id = plugin_id.to_string();
        }
        bot.username = bot.username.to_lowercase();
        validate_bot(&bot)?;
        let user = self.insert_user(user_from_bot(&bot))?;
        bot.user_id = user.id.clone();
        bot.create_at = user.create_at;
        bot.update_at = user.create_at;
        bot.delete_at = 0;
        self.bots.insert(bot.user_id.clone(), bot.clone());
        Ok(bot)
    }

    /// `GetBot`: a deactivated bot only when asked for.
    pub(super) fn bot(&self, id: &str, include_deleted: bool) -> Outcome<pb::Bot> {
        require_id("bot_user_id", id)?;
        self.bots
            .get(id)
            .filter(|b| include_deleted || b.delete_at == 0)
            .cloned()
            .ok_or_else(|| bot_not_found(id))
    }

    /// `GetBots`: filtered by owner, activity and orphanhood (owner is no active user).
    pub(super) fn bots(&self, options: &pb::BotGetOptions) -> Vec<pb::Bot> {
        let owner_active = |b: &pb::Bot| {
            self.users
                .get(&b.owner_id)
                .is_some_and(|u| u.delete_at == 0)
        };
        let matching = self
            .bots
            .values()
            .filter(|b| options.owner_id.is_empty() || b.owner_id == options.owner_id)
            .filter(|b| options.include_deleted || b.delete_at == 0)
            .filter(|b| !options.only_orphaned || !owner_active(b))
            .cloned();
        paginate(matching, options.page, options.per_page)
    }

    /// `PatchBot`: the bot's user account follows (username, name, description).
    pub(super) fn patch_bot(&mut self, id: &str, patch: pb::BotPatch) -> Outcome<pb::Bot> {
        let mut bot = self.bot(id, true)?;
        apply_patch(&mut bot, patch);
        validate_bot(&bot)?;
        let mut user = self.user(id)?.clone();
        user.username = bot.username.clone();
        user.first_name = bot.display_name.clone();
        user.bot_description = bot.description.clone();
        // Fails (and changes nothing) if the new username is taken.
        let user = self.update_user(user)?;
        bot.update_at = user.update_at;
        self.bots.insert(bot.user_id.clone(), bot.clone());
        Ok(bot)
    }

    /// `UpdateBotActive`: the bot and its user are (de)activated together.
    pub(super) fn set_bot_active(&mut self, id: &str, active: bool) -> Outcome<pb::Bot> {
        self.bot(id, true)?;
        self.set_user_active(id, active)?;
        self.bot(id, true)
    }

    /// `PermanentDeleteBot`: the bot, its user and its memberships are gone.
    pub(super) fn permanent_delete_bot(&mut self, id: &str) -> Outcome<()> {
        self.bot(id, true)?;
        self.bots.remove(id);
        self.users.remove(id);
        self.statuses.remove(id);
        self.team_members.retain(|(_, user), _| user != id);
        self.channel_members.retain(|(_, user), _| user != id);
        Ok(())
    }

    /// `EnsureBotUser`, as the server does it: reuse (and update) the bot this plugin
    /// ensured before, else claim a bot account with that username, else create one; the
    /// bot id is remembered in the plugin's KV namespace.
    pub(super) fn ensure_bot_user(&mut self, plugin_id: &str, mut bot: pb::Bot) -> Outcome<String> {
        if bot.username.is_empty() {
            return Err(Fault::bad_request(
                "api.bot.ensure.username",
                "passed a bot with no username",
            ));
        }
        if bot.owner_id.is_empty() {
            bot.owner_id = plugin_id.to_string();
        }
        let now = self.now();
        let remembered = self.kv.get(plugin_id, BOT_ID_KEY, now);
        if !remembered.is_empty() {
            let id = String::from_utf8_lossy(&remembered).into_owned();
            let patch = pb::BotPatch {
                username: Some(bot.username),
                display_name: Some(bot.display_name),
                description: Some(bot.description),
            };
            self.patch_bot(&id, patch)?;
            return Ok(id);
        }
        if let Ok(user) = self.user_by_username(&bot.username) {
            return self.claim_existing_account(plugin_id, user);
        }
        let created = self.create_bot(plugin_id, bot)?;
        self.remember_bot(plugin_id, &created.user_id)?;
        Ok(created.user_id)
    }

    /// A bot account with the wanted username is adopted; a human account is returned too
    /// (as the server does) but with an error in the log, since a plugin should not post as a
    /// person.
    fn claim_existing_account(&mut self, plugin_id: &str, user: pb::User) -> Outcome<String> {
        if user.is_bot {
            self.remember_bot(plugin_id, &user.id)?;
        } else {
            self.log_server(
                LogLevel::Error,
                plugin_id,
                "the bot's username belongs to a person's account; pick another username",
                &[("username", &user.username), ("user_id", &user.id)],
            );
        }
        Ok(user.id)
    }

    fn remember_bot(&mut self, plugin_id: &str, bot_id: &str) -> Outcome<()> {
        let now = self.now();
        let options = pb::PluginKvSetOptions::default();
        self.kv.set(
            plugin_id,
            BOT_ID_KEY,
            bot_id.as_bytes().to_vec(),
            &options,
            now,
        )?;
        Ok(())
    }
}
