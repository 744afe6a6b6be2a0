//! The plugin's post hooks, run for posts from the REST routes and from the plugin's own
//! `CreatePost` / `UpdatePost` alike. A failing hook is logged and the post goes through as sent,
//! as a server does.

use std::sync::{Arc, Weak};

use mattermost_plugin_api::{PluginHooks, pb};

use super::Shared;
use crate::backend::memory::{HookFuture, PostHooks};

/// MessageWillBePosted: the post to store, or the plugin's rejection reason.
pub(super) async fn will_be_posted(shared: &Shared, draft: pb::Post) -> Result<pb::Post, String> {
    let verdict = shared
        .hooks()
        .message_will_be_posted(
            &shared.ctx(),
            Some(shared.plugin_context()),
            Some(draft.clone()),
        )
        .await;
    match verdict {
        Ok((_, rejection)) if !rejection.is_empty() => Err(rejection),
        Ok((replacement, _)) => Ok(replacement.unwrap_or(draft)),
        Err(e) => {
            tracing::error!(hook = "MessageWillBePosted", error = %e, "the plugin's hook failed; the post goes through as sent");
            Ok(draft)
        }
    }
}

/// MessageHasBeenPosted; a failure is logged.
pub(super) async fn has_been_posted(shared: &Shared, post: pb::Post) {
    let outcome = shared
        .hooks()
        .message_has_been_posted(&shared.ctx(), Some(shared.plugin_context()), Some(post))
        .await;
    if let Err(e) = outcome {
        tracing::warn!(hook = "MessageHasBeenPosted", error = %e, "the plugin's hook failed");
    }
}

/// MessageWillBeUpdated: the edit to store, or the plugin's rejection reason.
pub(super) async fn will_be_updated(
    shared: &Shared,
    new: pb::Post,
    old: pb::Post,
) -> Result<pb::Post, String> {
    let verdict = shared
        .hooks()
        .message_will_be_updated(
            &shared.ctx(),
            Some(shared.plugin_context()),
            Some(new.clone()),
            Some(old),
        )
        .await;
    match verdict {
        Ok((_, rejection)) if !rejection.is_empty() => Err(rejection),
        Ok((replacement, _)) => Ok(replacement.unwrap_or(new)),
        Err(e) => {
            tracing::error!(hook = "MessageWillBeUpdated", error = %e, "the plugin's hook failed; the edit goes through as sent");
            Ok(new)
        }
    }
}

/// MessageHasBeenUpdated; a failure is logged.
pub(super) async fn has_been_updated(shared: &Shared, new: pb::Post, old: pb::Post) {
    let outcome = shared
        .hooks()
        .message_has_been_updated(
            &shared.ctx(),
            Some(shared.plugin_context()),
            Some(new),
            Some(old),
        )
        .await;
    if let Err(e) = outcome {
        tracing::warn!(hook = "MessageHasBeenUpdated", error = %e, "the plugin's hook failed");
    }
}

/// The hooks the backend runs for the plugin's own posts. Holds the host weakly: the backend
/// lives in the host, and a stopped host runs no hooks.
pub(super) struct PluginPostHooks(pub(super) Weak<Shared>);

impl PluginPostHooks {
    fn shared(&self) -> Option<Arc<Shared>> {
        self.0.upgrade()
    }
}

impl PostHooks for PluginPostHooks {
    fn will_be_posted(&self, post: pb::Post) -> HookFuture {
        let shared = self.shared();
        Box::pin(async move {
            match shared {
                Some(shared) => will_be_posted(&shared, post).await,
                None => Ok(post),
            }
        })
    }

    fn has_been_posted(&self, post: pb::Post) {
        // A server fires it in the background: the plugin's CreatePost returns first.
        if let Some(shared) = self.shared() {
            tokio::spawn(async move { has_been_posted(&shared, post).await });
        }
    }

    fn will_be_updated(&self, new: pb::Post, old: pb::Post) -> HookFuture {
        let shared = self.shared();
        Box::pin(async move {
            match shared {
                Some(shared) => will_be_updated(&shared, new, old).await,
                None => Ok(new),
            }
        })
    }

    fn has_been_updated(&self, new: pb::Post, old: pb::Post) {
        if let Some(shared) = self.shared() {
            tokio::spawn(async move { has_been_updated(&shared, new, old).await });
        }
    }
}
