//! Routes that let a test set up people and places and see what a plugin did.
//!
//! Setting up (through the plugin's hooks, as a server fires them): `POST /api/v4/users`,
//! `POST /api/v4/teams/{team_id}/members`, `POST /api/v4/channels`, `POST /api/v4/reactions`.
//! Routes that create something act as the logged-in user (`Authorization: Bearer <user id or
//! username>`, as for the plugin's own routes), else as the user a body field names, else as
//! the seeded user.
//!
//! Observing: a channel's posts and a post's reactions at their Mattermost paths, and under
//! `/api/v4/dev/` (no server has these) the seeded data, ephemeral posts per user and the
//! websocket events, dialogs and mails the plugin sent.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Json;
use axum::extract::{Path as UrlPath, Query, State};
use axum::http::header::AUTHORIZATION;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use mattermost_plugin_api::pb;
use mattermost_plugin_api::support::any;
use mattermost_plugin_api::{ApiError, PluginApi, PluginHooks};
use serde_json::{Value, json};

use super::{Shared, api_error, bad_request, post_json, session_user, str_field};

/// Mattermost's default and largest page of posts.
const DEFAULT_PER_PAGE: i64 = 60;
const MAX_PER_PAGE: i64 = 200;

// --- JSON shapes ---------------------------------------------------------------------------

fn user_json(u: &pb::User) -> Value {
    json!({
        "id": u.id, "username": u.username, "email": u.email, "nickname": u.nickname,
        "first_name": u.first_name, "last_name": u.last_name, "position": u.position,
        "roles": u.roles, "locale": u.locale, "is_bot": u.is_bot,
        "create_at": u.create_at, "update_at": u.update_at, "delete_at": u.delete_at,
    })
}

fn team_json(t: &pb::Team) -> Value {
    json!({
        "id": t.id, "name": t.name, "display_name": t.display_name, "type": t.r#type,
        "create_at": t.create_at, "delete_at": t.delete_at,
    })
}

fn channel_json(c: &pb::Channel) -> Value {
    json!({
        "id": c.id, "team_id": c.team_id, "type": c.r#type, "name": c.name,
        "display_name": c.display_name, "header": c.header, "purpose": c.purpose,
        "creator_id": c.creator_id, "create_at": c.create_at, "delete_at": c.delete_at,
    })
}

/// [`post_json`] plus what tests of a plugin's posts look at: props, files, thread facts.
fn full_post_json(p: &pb::Post) -> Value {
    let mut value = post_json(p);
    if let Value::Object(fields) = &mut value {
        let props = p.props.as_ref().map(any::map_to_json).unwrap_or(json!({}));
        let extra = json!({
            "props": props, "file_ids": p.file_ids, "is_pinned": p.is_pinned,
            "hashtags": p.hashtags, "edit_at": p.edit_at, "delete_at": p.delete_at,
            "reply_count": p.reply_count, "last_reply_at": p.last_reply_at,
            "has_reactions": p.has_reactions,
        });
        if let Value::Object(extra) = extra {
            fields.extend(extra);
        }
    }
    value
}

fn reaction_json(r: &pb::Reaction) -> Value {
    json!({
        "user_id": r.user_id, "post_id": r.post_id, "emoji_name": r.emoji_name,
        "channel_id": r.channel_id, "create_at": r.create_at,
    })
}

fn team_member_json(m: &pb::TeamMember) -> Value {
    json!({ "team_id": m.team_id, "user_id": m.user_id, "roles": m.roles })
}

/// An empty `Ok(None)` from the backend, which a modelled method never answers.
fn nothing_stored(what: &str) -> Response {
    api_error(ApiError::app(
        500,
        "devhost.observe",
        format!("the backend stored no {what}"),
    ))
}

/// The user a request acts as: the session's, else the body's `field`, else the seeded user.
/// A session naming nobody is refused (401) rather than quietly replaced by the seeded user,
/// which would let a test with a mistyped user pass for the wrong reason.
async fn acting_user(
    shared: &Shared,
    headers: &HeaderMap,
    body: &Value,
    field: &str,
) -> Result<String, Response> {
    if let Some(user_id) = session_user(shared, headers).await {
        return Ok(user_id);
    }
    if headers.contains_key(AUTHORIZATION) {
        return Err((
            StatusCode::UNAUTHORIZED,
            Json(json!({ "error": "the session (Authorization: Bearer <user id or username>) names no user" })),
        )
            .into_response());
    }
    Ok(str_field(body, field)
        .unwrap_or(&shared.seed.user.id)
        .to_string())
}

/// The user for a hook's `actor` argument; `None` if the id names nobody.
async fn user_or_none(shared: &Shared, user_id: &str) -> Option<pb::User> {
    shared
        .backend
        .get_user(&shared.ctx(), user_id.to_string())
        .await
        .ok()
        .flatten()
}

// --- Setting up ----------------------------------------------------------------------------

/// `POST /api/v4/users`: creates a user, then UserHasBeenCreated. `username` is required;
/// `email` defaults to `<username>@example.com`. Unlike a server's route this one takes
/// `roles` (e.g. `"system_user system_admin"`), so tests can make administrators.
pub(super) async fn create_user(
    State(shared): State<Arc<Shared>>,
    Json(body): Json<Value>,
) -> Response {
    let Some(username) = str_field(&body, "username") else {
        return bad_request("`username` is required");
    };
    let text = |key: &str| str_field(&body, key).unwrap_or_default().to_string();
    let user = pb::User {
        username: username.to_string(),
        email: str_field(&body, "email")
            .map(str::to_string)
            .unwrap_or_else(|| format!("{username}@example.com")),
        nickname: text("nickname"),
        first_name: text("first_name"),
        last_name: text("last_name"),
        position: text("position"),
        locale: text("locale"),
        roles: text("roles"),
        ..Default::default()
    };
    let ctx = shared.ctx();
    let created = match shared.backend.create_user(&ctx, Some(user)).await {
        Ok(Some(user)) => user,
        Ok(None) => return nothing_stored("user"),
        Err(e) => return api_error(e),
    };
    if let Err(e) = shared
        .hooks()
        .user_has_been_created(&ctx, Some(shared.plugin_context()), Some(created.clone()))
        .await
    {
        tracing::warn!(error = %e, "UserHasBeenCreated failed");
    }
    (StatusCode::CREATED, Json(user_json(&created))).into_response()
}

/// `POST /api/v4/teams/{team_id}/members` with `user_id`: joins the team (and its default
/// channels), then UserHasJoinedTeam with the acting user as actor. An existing member is
/// answered as is, without hooks.
pub(super) async fn add_team_member(
    State(shared): State<Arc<Shared>>,
    UrlPath(team_id): UrlPath<String>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    let Some(user_id) = str_field(&body, "user_id").map(str::to_string) else {
        return bad_request("`user_id` is required");
    };
    let actor_id = match acting_user(&shared, &headers, &Value::Null, "").await {
        Ok(user_id) => user_id,
        Err(response) => return response,
    };
    let ctx = shared.ctx();
    let existing = shared
        .backend
        .get_team_member(&ctx, team_id.clone(), user_id.clone())
        .await;
    if let Ok(Some(member)) = existing.as_ref()
        && member.delete_at == 0
    {
        return Json(team_member_json(member)).into_response();
    }
    let member = match shared
        .backend
        .create_team_member(&ctx, team_id, user_id)
        .await
    {
        Ok(Some(member)) => member,
        Ok(None) => return nothing_stored("team member"),
        Err(e) => return api_error(e),
    };
    let actor = user_or_none(&shared, &actor_id).await;
    if let Err(e) = shared
        .hooks()
        .user_has_joined_team(
            &ctx,
            Some(shared.plugin_context()),
            Some(member.clone()),
            actor,
        )
        .await
    {
        tracing::warn!(error = %e, "UserHasJoinedTeam failed");
    }
    (StatusCode::CREATED, Json(team_member_json(&member))).into_response()
}

/// `POST /api/v4/channels`: an open (`"type": "O"`, the default) or private (`"P"`) channel
/// in `team_id` (default: the seeded team). The acting user (`creator_id` in the body) must be
/// in the team; they become the channel's first member. Then ChannelHasBeenCreated.
pub(super) async fn create_channel(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    let Some(name) = str_field(&body, "name") else {
        return bad_request("`name` is required");
    };
    let creator_id = match acting_user(&shared, &headers, &body, "creator_id").await {
        Ok(user_id) => user_id,
        Err(response) => return response,
    };
    let team_id = str_field(&body, "team_id")
        .unwrap_or(&shared.seed.team.id)
        .to_string();
    let text = |key: &str| str_field(&body, key).unwrap_or_default().to_string();
    let ctx = shared.ctx();
    if let Err(e) = shared.backend.get_team(&ctx, team_id.clone()).await {
        return api_error(e);
    }
    // As a server: only an active member of the team may create channels in it.
    let is_active = matches!(
        shared.backend.get_user(&ctx, creator_id.clone()).await,
        Ok(Some(user)) if user.delete_at == 0
    );
    let is_member = is_active
        && matches!(
            shared
                .backend
                .get_team_member(&ctx, team_id.clone(), creator_id.clone())
                .await,
            Ok(Some(member)) if member.delete_at == 0
        );
    if !is_member {
        let message = format!("user {creator_id} is not an active member of team {team_id}");
        return (StatusCode::FORBIDDEN, Json(json!({ "error": message }))).into_response();
    }
    let channel = pb::Channel {
        team_id,
        name: name.to_string(),
        display_name: str_field(&body, "display_name").unwrap_or(name).to_string(),
        r#type: str_field(&body, "type").unwrap_or("O").to_string(),
        header: text("header"),
        purpose: text("purpose"),
        creator_id: creator_id.clone(),
        ..Default::default()
    };
    let created = match shared.backend.create_channel(&ctx, Some(channel)).await {
        Ok(Some(channel)) => channel,
        Ok(None) => return nothing_stored("channel"),
        Err(e) => return api_error(e),
    };
    if let Err(e) = shared
        .backend
        .add_channel_member(&ctx, created.id.clone(), creator_id)
        .await
    {
        return api_error(e);
    }
    if let Err(e) = shared
        .hooks()
        .channel_has_been_created(&ctx, Some(shared.plugin_context()), Some(created.clone()))
        .await
    {
        tracing::warn!(error = %e, "ChannelHasBeenCreated failed");
    }
    (StatusCode::CREATED, Json(channel_json(&created))).into_response()
}

/// `POST /api/v4/channels/direct` with the two user ids (`["<id>", "<id>"]`, as a server
/// takes them): the direct channel of the two, found or created. No hook fires for it, as on a
/// server.
pub(super) async fn direct_channel(
    State(shared): State<Arc<Shared>>,
    Json(body): Json<Value>,
) -> Response {
    let ids: Vec<&str> = body
        .as_array()
        .map(|ids| ids.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let [a, b] = ids[..] else {
        return bad_request("the body must be a JSON array of the two user ids");
    };
    match shared
        .backend
        .get_direct_channel(&shared.ctx(), a.to_string(), b.to_string())
        .await
    {
        Ok(Some(channel)) => (StatusCode::CREATED, Json(channel_json(&channel))).into_response(),
        Ok(None) => nothing_stored("channel"),
        Err(e) => api_error(e),
    }
}

/// `GET /api/v4/users/username/{username}`: the user, as a server answers it.
pub(super) async fn user_by_username(
    State(shared): State<Arc<Shared>>,
    UrlPath(username): UrlPath<String>,
) -> Response {
    match shared
        .backend
        .get_user_by_username(&shared.ctx(), username)
        .await
    {
        Ok(Some(user)) => Json(user_json(&user)).into_response(),
        Ok(None) => nothing_stored("user"),
        Err(e) => api_error(e),
    }
}

/// `POST /api/v4/reactions` with `post_id` and `emoji_name`, by the acting user (`user_id` in
/// the body); then ReactionHasBeenAdded.
pub(super) async fn add_reaction(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    let (Some(post_id), Some(emoji_name)) =
        (str_field(&body, "post_id"), str_field(&body, "emoji_name"))
    else {
        return bad_request("`post_id` and `emoji_name` are required");
    };
    let user_id = match acting_user(&shared, &headers, &body, "user_id").await {
        Ok(user_id) => user_id,
        Err(response) => return response,
    };
    let reaction = pb::Reaction {
        user_id,
        post_id: post_id.to_string(),
        emoji_name: emoji_name.to_string(),
        ..Default::default()
    };
    let ctx = shared.ctx();
    let stored = match shared.backend.add_reaction(&ctx, Some(reaction)).await {
        Ok(Some(reaction)) => reaction,
        Ok(None) => return nothing_stored("reaction"),
        Err(e) => return api_error(e),
    };
    if let Err(e) = shared
        .hooks()
        .reaction_has_been_added(&ctx, Some(shared.plugin_context()), Some(stored.clone()))
        .await
    {
        tracing::warn!(error = %e, "ReactionHasBeenAdded failed");
    }
    Json(reaction_json(&stored)).into_response()
}

// --- Observing -----------------------------------------------------------------------------

/// A query parameter as a number; absent is `default`, anything else but a number is an error.
fn number(query: &HashMap<String, String>, key: &str, default: i64) -> Result<i64, Response> {
    match query.get(key) {
        None => Ok(default),
        Some(text) => text
            .parse()
            .map_err(|_| bad_request(format!("`{key}` must be a number"))),
    }
}

/// `GET /api/v4/channels/{channel_id}/posts?page=&per_page=`: a page of the channel's posts as
/// a Mattermost post list — `order` (ids, newest first) and `posts` by id (which may also hold
/// the roots of replies on the page).
pub(super) async fn channel_posts(
    State(shared): State<Arc<Shared>>,
    UrlPath(channel_id): UrlPath<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let (page, per_page) = match (
        number(&query, "page", 0),
        number(&query, "per_page", DEFAULT_PER_PAGE),
    ) {
        (Ok(page), Ok(per_page)) => (page, per_page.clamp(0, MAX_PER_PAGE)),
        (Err(response), _) | (_, Err(response)) => return response,
    };
    match shared
        .backend
        .get_posts_for_channel(&shared.ctx(), channel_id, page, per_page)
        .await
    {
        Ok(list) => {
            let list = list.unwrap_or_default();
            let posts: serde_json::Map<String, Value> = list
                .posts
                .iter()
                .map(|(id, p)| (id.clone(), full_post_json(p)))
                .collect();
            Json(json!({ "order": list.order, "posts": posts })).into_response()
        }
        Err(e) => api_error(e),
    }
}

/// `GET /api/v4/posts/{post_id}/reactions`: the post's reactions, oldest first.
pub(super) async fn post_reactions(
    State(shared): State<Arc<Shared>>,
    UrlPath(post_id): UrlPath<String>,
) -> Response {
    match shared.backend.get_reactions(&shared.ctx(), post_id).await {
        Ok(reactions) => {
            Json(reactions.iter().map(reaction_json).collect::<Vec<_>>()).into_response()
        }
        Err(e) => api_error(e),
    }
}

/// `GET /api/v4/dev/seed`: the user, team and channel the host starts with.
pub(super) async fn seed(State(shared): State<Arc<Shared>>) -> Response {
    let seed = &shared.seed;
    Json(json!({
        "user": user_json(&seed.user),
        "team": team_json(&seed.team),
        "channel": channel_json(&seed.channel),
    }))
    .into_response()
}

/// `GET /api/v4/dev/users/{user_id}/ephemeral_posts`: what the plugin showed only to that user
/// (SendEphemeralPost, as updated and deleted since), oldest first.
pub(super) async fn ephemeral_posts(
    State(shared): State<Arc<Shared>>,
    UrlPath(user_id): UrlPath<String>,
) -> Response {
    // An unknown or malformed user is an error, not an empty list that would pass a test.
    if let Err(e) = shared
        .backend
        .get_user(&shared.ctx(), user_id.clone())
        .await
    {
        return api_error(e);
    }
    let posts: Vec<Value> = shared
        .backend
        .ephemeral_posts()
        .iter()
        .filter(|e| e.user_id == user_id)
        .map(|e| full_post_json(&e.post))
        .collect();
    Json(json!({ "posts": posts })).into_response()
}

/// `GET /api/v4/dev/websocket_events`: PublishWebSocketEvent calls, oldest first.
pub(super) async fn websocket_events(State(shared): State<Arc<Shared>>) -> Response {
    let events: Vec<Value> = shared
        .backend
        .websocket_events()
        .iter()
        .map(|e| e.to_json())
        .collect();
    Json(json!({ "events": events })).into_response()
}

/// `GET /api/v4/dev/dialogs`: OpenInteractiveDialog calls, oldest first.
pub(super) async fn dialogs(State(shared): State<Arc<Shared>>) -> Response {
    let dialogs: Vec<Value> = shared
        .backend
        .dialogs()
        .iter()
        .map(|d| d.to_json())
        .collect();
    Json(json!({ "dialogs": dialogs })).into_response()
}

/// `GET /api/v4/dev/mails`: SendMail calls, oldest first.
pub(super) async fn mails(State(shared): State<Arc<Shared>>) -> Response {
    let mails: Vec<Value> = shared.backend.mails().iter().map(|m| m.to_json()).collect();
    Json(json!({ "mails": mails })).into_response()
}
