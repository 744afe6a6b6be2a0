//! Slash commands registered by plugins.

use mattermost_plugin_api::pb;

use super::State;
use super::errors::{Fault, Outcome};

pub(super) struct PluginCommand {
    plugin_id: String,
    command: pb::Command,
}

impl State {
    /// `RegisterCommand`: triggers are lowercase; registering a trigger again for the same
    /// team replaces this plugin's earlier registration.
    pub(super) fn register_command(
        &mut self,
        plugin_id: &str,
        mut command: pb::Command,
    ) -> Outcome<()> {
        let trigger = command.trigger.trim().to_lowercase();
        if trigger.is_empty() || trigger.contains(char::is_whitespace) {
            return Err(
                Fault::bad_request("api.command.invalid_trigger", "invalid command")
                    .detail(format!("trigger={}", command.trigger)),
            );
        }
        command.trigger = trigger;
        command.plugin_id = plugin_id.to_string();
        let existing = self.commands.iter_mut().find(|pc| {
            pc.plugin_id == plugin_id
                && pc.command.team_id == command.team_id
                && pc.command.trigger == command.trigger
        });
        match existing {
            Some(pc) => pc.command = command,
            None => self.commands.push(PluginCommand {
                plugin_id: plugin_id.to_string(),
                command,
            }),
        }
        Ok(())
    }

    /// `UnregisterCommand`: unknown triggers are ignored.
    pub(super) fn unregister_command(&mut self, plugin_id: &str, team_id: &str, trigger: &str) {
        let trigger = trigger.trim().to_lowercase();
        self.commands.retain(|pc| {
            !(pc.plugin_id == plugin_id
                && pc.command.team_id == team_id
                && pc.command.trigger == trigger)
        });
    }

    /// `ListPluginCommands`: commands of every plugin that apply to the team (their own or
    /// registered for all teams).
    pub(super) fn plugin_commands(&self, team_id: &str) -> Vec<pb::Command> {
        self.commands
            .iter()
            .filter(|pc| pc.command.team_id.is_empty() || pc.command.team_id == team_id)
            .map(|pc| pc.command.clone())
            .collect()
    }
}

/// The server's own slash commands that `ListBuiltInCommands` reports: (trigger, hint,
/// description). A subset of a server's list, with descriptions of our own wording.
const BUILT_IN_COMMANDS: &[(&str, &str, &str)] = &[
    ("away", "", "Set your status to away"),
    ("code", "[text]", "Show text as a code block"),
    ("dnd", "", "Set your status to do not disturb"),
    ("echo", "[message] [delay]", "Echo a message back"),
    ("header", "[text]", "Edit the channel header"),
    ("help", "", "Open the help page"),
    (
        "invite",
        "@[username] ~[channel]",
        "Add a user to a channel",
    ),
    ("join", "~[channel]", "Join an open channel"),
    ("kick", "@[username]", "Remove a member from the channel"),
    ("leave", "", "Leave the current channel"),
    ("logout", "", "Log out"),
    ("me", "[message]", "Post an action"),
    ("msg", "@[username] [message]", "Send a direct message"),
    ("mute", "~[channel]", "Mute a channel's notifications"),
    ("offline", "", "Set your status to offline"),
    ("online", "", "Set your status to online"),
    ("purpose", "[text]", "Edit the channel purpose"),
    ("rename", "[text]", "Rename the channel"),
    ("search", "[text]", "Search posts"),
    ("settings", "", "Open the settings"),
    ("shortcuts", "", "Show the keyboard shortcuts"),
    ("shrug", "[message]", "Add ¯\\_(ツ)_/¯ to a message"),
    ("status", "[status]", "Set your status"),
];

/// The server's slash commands, as `ListBuiltInCommands` describes them.
pub(super) fn built_in_commands() -> Vec<pb::Command> {
    BUILT_IN_COMMANDS
        .iter()
        .map(|(trigger, hint, description)| pb::Command {
            trigger: (*trigger).to_string(),
            auto_complete: true,
            auto_complete_desc: (*description).to_string(),
            auto_complete_hint: (*hint).to_string(),
            display_name: (*trigger).to_string(),
            description: (*description).to_string(),
            ..Default::default()
        })
        .collect()
}

impl State {
    /// `ListCommands`: the built-in commands, then the plugins' commands for the team. Custom
    /// (outgoing-webhook) commands are not modelled, so there are none of those.
    pub(super) fn all_commands(&self, team_id: &str) -> Vec<pb::Command> {
        let mut commands = built_in_commands();
        commands.extend(self.plugin_commands(team_id));
        commands
    }
}

impl super::MemoryBackend {
    /// The plugin command a slash command line (`/trigger args…`) runs in `team_id`: matched
    /// on the trigger, case-insensitively, among commands for that team or for every team.
    pub fn command_for_line(&self, team_id: &str, line: &str) -> Option<pb::Command> {
        let trigger = line
            .trim_start()
            .strip_prefix('/')?
            .split_whitespace()
            .next()?
            .to_lowercase();
        self.with_state(|s| {
            s.plugin_commands(team_id)
                .into_iter()
                .find(|c| c.trigger == trigger)
        })
    }
}
