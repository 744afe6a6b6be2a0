//! What a plugin sends that a server would deliver outside the API: websocket events,
//! interactive dialogs and mails. Nothing receives them here, so the backend records them for
//! tests and the host's routes to read.

use std::collections::VecDeque;

use mattermost_plugin_api::pb;
use mattermost_plugin_api::support::any;
use serde_json::{Value, json};

use super::State;
use super::errors::{Fault, Outcome, required};
use super::rules;

/// How many records of each kind are kept; older ones are dropped so a chatty plugin in a
/// long-running host cannot grow memory without bound (as for logs).
const MAX_RECORDS: usize = 10_000;

/// The prefix Mattermost puts before a plugin's event names, so they cannot pose as the
/// server's own events: `custom_<plugin id>_<event>`.
const CUSTOM_EVENT_PREFIX: &str = "custom_";

/// One `PublishWebSocketEvent` call.
#[derive(Debug, Clone, PartialEq)]
pub struct WebSocketEvent {
    pub plugin_id: String,
    /// The event as the plugin named it.
    pub event: String,
    /// The name clients receive: `custom_<plugin id>_<event>`.
    pub name: String,
    pub payload: pb::AnyMap,
    /// Who it was meant for; a plugin passing none reaches nobody on a server.
    pub broadcast: Option<pb::WebsocketBroadcast>,
    /// Server time in milliseconds.
    pub at: i64,
}

/// One `OpenInteractiveDialog` call.
#[derive(Debug, Clone, PartialEq)]
pub struct OpenedDialog {
    pub plugin_id: String,
    pub request: pb::OpenDialogRequest,
    pub at: i64,
}

/// One `SendMail` call.
#[derive(Debug, Clone, PartialEq)]
pub struct SentMail {
    pub plugin_id: String,
    pub to: String,
    pub subject: String,
    pub html_body: String,
    pub at: i64,
}

/// The records of this module, kept in [`State`].
#[derive(Default)]
pub(super) struct Observed {
    pub(super) websocket_events: VecDeque<WebSocketEvent>,
    pub(super) dialogs: VecDeque<OpenedDialog>,
    pub(super) mails: VecDeque<SentMail>,
}

fn push_capped<T>(records: &mut VecDeque<T>, record: T) {
    if records.len() == MAX_RECORDS {
        records.pop_front();
    }
    records.push_back(record);
}

impl State {
    /// `PublishWebSocketEvent`: the Go method returns nothing, so every call is recorded.
    pub(super) fn publish_websocket_event(
        &mut self,
        plugin_id: &str,
        event: String,
        payload: Option<pb::AnyMap>,
        broadcast: Option<pb::WebsocketBroadcast>,
    ) {
        let record = WebSocketEvent {
            plugin_id: plugin_id.to_string(),
            name: format!("{CUSTOM_EVENT_PREFIX}{plugin_id}_{event}"),
            event,
            payload: payload.unwrap_or_default(),
            broadcast,
            at: self.now(),
        };
        push_capped(&mut self.observed.websocket_events, record);
    }

    /// `OpenInteractiveDialog`: a server only opens a dialog for a trigger id it handed out
    /// (with a command or an action), which it checks. The dev host cannot know those, so it
    /// requires one to be present, and a dialog with a title.
    pub(super) fn open_interactive_dialog(
        &mut self,
        plugin_id: &str,
        request: Option<pb::OpenDialogRequest>,
    ) -> Outcome<()> {
        let request = required(request, "dialog")?;
        if request.trigger_id.trim().is_empty() {
            return Err(Fault::bad_request(
                "interactive_message.decode_trigger_id.missing.app_error",
                "a dialog needs the trigger id of the command or action that opens it",
            ));
        }
        let title_missing = request
            .dialog
            .as_ref()
            .is_none_or(|d| d.title.trim().is_empty());
        if title_missing {
            return Err(Fault::bad_request(
                "interactive_message.open_dialog.title.app_error",
                "a dialog needs a title",
            ));
        }
        let record = OpenedDialog {
            plugin_id: plugin_id.to_string(),
            request,
            at: self.now(),
        };
        push_capped(&mut self.observed.dialogs, record);
        Ok(())
    }

    /// `SendMail`: recipient, subject and body are required; the recipient must be an email
    /// address.
    pub(super) fn send_mail(
        &mut self,
        plugin_id: &str,
        to: String,
        subject: String,
        html_body: String,
    ) -> Outcome<()> {
        let missing = [
            ("to", to.is_empty()),
            ("subject", subject.is_empty()),
            ("htmlbody", html_body.is_empty()),
        ];
        if let Some((field, _)) = missing.iter().find(|(_, empty)| *empty) {
            return Err(Fault::bad_request(
                format!("api.plugin.send_mail.missing_{field}"),
                format!("SendMail needs a non-empty {field}"),
            ));
        }
        if !rules::is_valid_email(&to) {
            return Err(Fault::bad_request(
                "api.plugin.send_mail.invalid_to",
                "the recipient is not an email address",
            )
            .detail(format!("to={to}")));
        }
        let record = SentMail {
            plugin_id: plugin_id.to_string(),
            to,
            subject,
            html_body,
            at: self.now(),
        };
        push_capped(&mut self.observed.mails, record);
        Ok(())
    }
}

fn broadcast_json(b: &pb::WebsocketBroadcast) -> Value {
    let mut omit_users: Vec<&String> = b
        .omit_users
        .iter()
        .filter(|(_, omit)| **omit)
        .map(|(id, _)| id)
        .collect();
    omit_users.sort();
    json!({
        "user_id": b.user_id,
        "channel_id": b.channel_id,
        "team_id": b.team_id,
        "connection_id": b.connection_id,
        "omit_connection_id": b.omit_connection_id,
        "omit_users": omit_users,
        "contains_sanitized_data": b.contains_sanitized_data,
        "contains_sensitive_data": b.contains_sensitive_data,
    })
}

fn dialog_json(d: &pb::Dialog) -> Value {
    let elements: Vec<Value> = d
        .elements
        .iter()
        .map(|e| {
            let options: Vec<Value> = e
                .options
                .iter()
                .map(|o| json!({ "text": o.text, "value": o.value }))
                .collect();
            json!({
                "display_name": e.display_name, "name": e.name, "type": e.r#type,
                "subtype": e.subtype, "default": e.default, "placeholder": e.placeholder,
                "help_text": e.help_text, "optional": e.optional, "min_length": e.min_length,
                "max_length": e.max_length, "data_source": e.data_source, "options": options,
            })
        })
        .collect();
    json!({
        "callback_id": d.callback_id, "title": d.title,
        "introduction_text": d.introduction_text, "icon_url": d.icon_url,
        "elements": elements, "submit_label": d.submit_label,
        "notify_on_cancel": d.notify_on_cancel, "state": d.state,
    })
}

impl WebSocketEvent {
    /// As JSON for the host's routes; `broadcast` is null when the plugin passed none.
    pub fn to_json(&self) -> Value {
        json!({
            "plugin_id": self.plugin_id,
            "event": self.event,
            "name": self.name,
            "payload": any::map_to_json(&self.payload),
            "broadcast": self.broadcast.as_ref().map(broadcast_json),
            "at": self.at,
        })
    }
}

impl OpenedDialog {
    /// As JSON for the host's routes.
    pub fn to_json(&self) -> Value {
        json!({
            "plugin_id": self.plugin_id,
            "trigger_id": self.request.trigger_id,
            "url": self.request.url,
            "dialog": self.request.dialog.as_ref().map(dialog_json),
            "at": self.at,
        })
    }
}

impl SentMail {
    /// As JSON for the host's routes.
    pub fn to_json(&self) -> Value {
        json!({
            "plugin_id": self.plugin_id,
            "to": self.to,
            "subject": self.subject,
            "html_body": self.html_body,
            "at": self.at,
        })
    }
}
