//! What a plugin sends outside the API — websocket events, interactive dialogs, mails — is
//! recorded by the in-memory backend for tests to read.

#[path = "memory_support.rs"]
mod support;

use mattermost_plugin_api::support::any;
use mattermost_plugin_api::{PluginApi, pb};
use mattermost_plugin_devhost::backend::memory::MemoryBackend;
use support::{PLUGIN_ID, ctx, ctx_of, expect_status};

#[tokio::test]
async fn websocket_events_are_recorded_with_the_name_clients_see() {
    let b = MemoryBackend::new();
    let payload = any::map([("count", any::int(3)), ("who", any::string("alice"))]);
    let broadcast = pb::WebsocketBroadcast {
        channel_id: "c".repeat(26),
        ..Default::default()
    };
    b.publish_web_socket_event(
        &ctx(),
        "refresh".into(),
        Some(payload.clone()),
        Some(broadcast.clone()),
    )
    .await
    .unwrap();
    b.publish_web_socket_event(&ctx_of("other.plugin"), "ping".into(), None, None)
        .await
        .unwrap();

    let events = b.websocket_events();
    assert_eq!(events.len(), 2);
    assert_eq!(events[0].event, "refresh");
    assert_eq!(events[0].name, format!("custom_{PLUGIN_ID}_refresh"));
    assert_eq!(events[0].payload, payload);
    assert_eq!(events[0].broadcast, Some(broadcast));
    assert_eq!(events[1].name, "custom_other.plugin_ping");
    assert_eq!(events[1].payload, pb::AnyMap::default());
    let json = events[0].to_json();
    assert_eq!(json["payload"]["count"], 3);
    assert_eq!(json["broadcast"]["channel_id"], "c".repeat(26));
    assert!(events[1].to_json()["broadcast"].is_null());
}

fn dialog_request(trigger_id: &str, title: &str) -> pb::OpenDialogRequest {
    pb::OpenDialogRequest {
        trigger_id: trigger_id.into(),
        url: "/plugins/com.example/dialog".into(),
        dialog: Some(pb::Dialog {
            callback_id: "cb".into(),
            title: title.into(),
            elements: vec![pb::DialogElement {
                display_name: "Name".into(),
                name: "name".into(),
                r#type: "text".into(),
                ..Default::default()
            }],
            ..Default::default()
        }),
    }
}

#[tokio::test]
async fn dialogs_need_a_trigger_id_and_a_title_and_are_recorded() {
    let b = MemoryBackend::new();
    b.open_interactive_dialog(&ctx(), Some(dialog_request("trigger-1", "Feedback")))
        .await
        .unwrap();
    let dialogs = b.dialogs();
    assert_eq!(dialogs.len(), 1);
    assert_eq!(dialogs[0].plugin_id, PLUGIN_ID);
    assert_eq!(dialogs[0].request, dialog_request("trigger-1", "Feedback"));
    let json = dialogs[0].to_json();
    assert_eq!(json["dialog"]["title"], "Feedback");
    assert_eq!(json["dialog"]["elements"][0]["name"], "name");

    for (request, what) in [
        (Some(dialog_request("", "Feedback")), "no trigger id"),
        (Some(dialog_request("t", " ")), "no title"),
        (
            Some(pb::OpenDialogRequest {
                dialog: None,
                ..dialog_request("t", "x")
            }),
            "no dialog",
        ),
        (None, "no request"),
    ] {
        let e = expect_status(
            b.open_interactive_dialog(&ctx(), request).await,
            400,
            "OpenInteractiveDialog",
        );
        assert!(!e.id.is_empty(), "{what}");
    }
    assert_eq!(b.dialogs().len(), 1, "refused dialogs are not recorded");
}

#[tokio::test]
async fn mails_need_recipient_subject_and_body() {
    let b = MemoryBackend::new();
    b.send_mail(
        &ctx(),
        "ops@example.com".into(),
        "Weekly".into(),
        "<p>hi</p>".into(),
    )
    .await
    .unwrap();
    let mails = b.mails();
    assert_eq!(mails.len(), 1);
    assert_eq!(
        (
            mails[0].to.as_str(),
            mails[0].subject.as_str(),
            mails[0].html_body.as_str()
        ),
        ("ops@example.com", "Weekly", "<p>hi</p>")
    );
    for (to, subject, body, id) in [
        ("", "s", "b", "api.plugin.send_mail.missing_to"),
        (
            "a@example.com",
            "",
            "b",
            "api.plugin.send_mail.missing_subject",
        ),
        (
            "a@example.com",
            "s",
            "",
            "api.plugin.send_mail.missing_htmlbody",
        ),
        (
            "not an address",
            "s",
            "b",
            "api.plugin.send_mail.invalid_to",
        ),
    ] {
        let e = expect_status(
            b.send_mail(&ctx(), to.into(), subject.into(), body.into())
                .await,
            400,
            "SendMail",
        );
        assert_eq!(e.id, id);
    }
    assert_eq!(b.mails().len(), 1);
}
