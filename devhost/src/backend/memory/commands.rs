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
