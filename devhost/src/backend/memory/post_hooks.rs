//! Posts a plugin creates or edits through the API run the post hooks, as on a server: a
//! MessageWillBePosted that rejects fails `CreatePost`, one that rewrites changes what is stored,
//! and MessageHasBeenPosted follows (without the caller waiting for it). A reply bot that answers
//! its own posts loops here as it would in production.
//!
//! The backend knows nothing of plugins: a host installs [`PostHooks`] that call them.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, PoisonError};

use mattermost_plugin_api::{ApiError, pb};

use super::MemoryBackend;
use super::errors::{Fault, required};

pub type HookFuture = Pin<Box<dyn Future<Output = Result<pb::Post, String>> + Send>>;

/// The server's side of the post hooks, as a host provides it.
pub trait PostHooks: Send + Sync + 'static {
    /// MessageWillBePosted: the post to store, or the rejection reason.
    fn will_be_posted(&self, post: pb::Post) -> HookFuture;
    /// MessageHasBeenPosted, after the post is stored; must not block the caller.
    fn has_been_posted(&self, post: pb::Post);
    /// MessageWillBeUpdated: the edit to store, or the rejection reason.
    fn will_be_updated(&self, new: pb::Post, old: pb::Post) -> HookFuture;
    /// MessageHasBeenUpdated, after the edit is stored; must not block the caller.
    fn has_been_updated(&self, new: pb::Post, old: pb::Post);
}

fn rejected(method: &str, reason: String) -> ApiError {
    Fault::bad_request(
        "api.post.rejected_by_plugin",
        format!("Post rejected by plugin. {reason}"),
    )
    .into_app_error(method)
}

impl MemoryBackend {
    /// Runs `hooks` for every post created or edited through the API from now on.
    pub fn set_post_hooks(&self, hooks: Arc<dyn PostHooks>) {
        *self
            .post_hooks
            .write()
            .unwrap_or_else(PoisonError::into_inner) = Some(hooks);
    }

    fn post_hooks(&self) -> Option<Arc<dyn PostHooks>> {
        self.post_hooks
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// `CreatePost` as a plugin calls it: the hooks around the store.
    pub(super) async fn create_post_hooked(
        &self,
        post: Option<pb::Post>,
    ) -> Result<pb::Post, ApiError> {
        let post = self.call("CreatePost", |_| required(post, "post"))?;
        let Some(hooks) = self.post_hooks() else {
            return self.store_new_post(post);
        };
        let post = hooks
            .will_be_posted(post)
            .await
            .map_err(|reason| rejected("CreatePost", reason))?;
        let stored = self.store_new_post(post)?;
        hooks.has_been_posted(stored.clone());
        Ok(stored)
    }

    /// `UpdatePost` as a plugin calls it: the hooks around the store.
    pub(super) async fn update_post_hooked(
        &self,
        post: Option<pb::Post>,
    ) -> Result<pb::Post, ApiError> {
        let new = self.call("UpdatePost", |_| required(post, "post"))?;
        let Some(hooks) = self.post_hooks() else {
            return self.store_post_edit(new);
        };
        let old = self.call("UpdatePost", |s| s.post(&new.id))?;
        let new = hooks
            .will_be_updated(new, old.clone())
            .await
            .map_err(|reason| rejected("UpdatePost", reason))?;
        let stored = self.store_post_edit(new)?;
        hooks.has_been_updated(stored.clone(), old);
        Ok(stored)
    }

    /// Stores a new post without running any hook: for a host that ran them itself.
    pub fn store_new_post(&self, post: pb::Post) -> Result<pb::Post, ApiError> {
        self.call("CreatePost", |s| s.create_post(post))
    }

    /// Stores an edit without running any hook: for a host that ran them itself.
    pub fn store_post_edit(&self, post: pb::Post) -> Result<pb::Post, ApiError> {
        self.call("UpdatePost", |s| s.update_post(post))
    }
}
