//! Posts, threads, reactions and ephemeral posts.

use mattermost_plugin_api::pb;

use super::State;
use super::errors::{Fault, Outcome};
use super::ids::{new_id, require_id};
use super::rules::{paginate, runes};

/// `model.PostMessageMaxRunesV2`.
const MESSAGE_MAX_RUNES: usize = 16383;
const EMOJI_NAME_MAX_LEN: usize = 64;
const EPHEMERAL_TYPE: &str = "system_ephemeral";

/// A stored post and its insertion number, which orders posts created in the same millisecond.
pub(super) struct StoredPost {
    pub(super) post: pb::Post,
    seq: u64,
}

impl StoredPost {
    pub(super) fn order_key(&self) -> (i64, u64) {
        (self.post.create_at, self.seq)
    }
}

/// An ephemeral post as sent to one user. Mattermost only pushes these over the websocket;
/// the backend records them so tests and the host can see what a plugin sent.
#[derive(Debug, Clone, PartialEq)]
pub struct EphemeralPost {
    pub user_id: String,
    pub post: pb::Post,
}

fn post_not_found(id: &str) -> Fault {
    Fault::not_found("app.post.get.app_error", "no such post").detail(format!("post_id={id}"))
}

/// Default posts, attachments, system messages and plugin-defined `custom_` types.
fn is_allowed_post_type(post_type: &str) -> bool {
    post_type.is_empty()
        || post_type == "slack_attachment"
        || post_type.starts_with("system_")
        || post_type.starts_with("custom_")
}

fn validate_message(message: &str) -> Outcome<()> {
    if runes(message) > MESSAGE_MAX_RUNES {
        return Err(Fault::bad_request(
            "model.post.is_valid.message_length.app_error",
            format!("messages hold at most {MESSAGE_MAX_RUNES} characters"),
        ));
    }
    Ok(())
}

fn validate_post_type(post_type: &str) -> Outcome<()> {
    if !is_allowed_post_type(post_type) {
        return Err(
            Fault::bad_request("model.post.is_valid.type.app_error", "Invalid type.")
                .detail(format!("type={post_type}")),
        );
    }
    Ok(())
}

/// `Reaction.IsValid`: emoji names are letters, digits, `-`, `+` and `_`.
fn validate_reaction(reaction: &pb::Reaction) -> Outcome<()> {
    require_id("user_id", &reaction.user_id)?;
    require_id("post_id", &reaction.post_id)?;
    let name = &reaction.emoji_name;
    let valid_name = !name.is_empty()
        && name.len() <= EMOJI_NAME_MAX_LEN
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '+' | '_'));
    if !valid_name {
        return Err(Fault::bad_request(
            "model.reaction.is_valid.emoji_name.app_error",
            "emoji_name is empty, too long, or has characters outside [a-z0-9_+-]",
        )
        .detail(format!("emoji_name={name}")));
    }
    Ok(())
}

fn newest_first(posts: &mut [&StoredPost]) {
    posts.sort_by_key(|p| std::cmp::Reverse(p.order_key()));
}

impl State {
    /// A post that exists and is not deleted: 400 for a malformed id, 404 otherwise.
    fn live_post(&self, id: &str) -> Outcome<&StoredPost> {
        require_id("post_id", id)?;
        self.posts
            .get(id)
            .filter(|p| p.post.delete_at == 0)
            .ok_or_else(|| post_not_found(id))
    }

    pub(super) fn post(&self, id: &str) -> Outcome<pb::Post> {
        Ok(self.present(&self.live_post(id)?.post))
    }

    /// A post as the API returns it, with the thread and reaction facts derived from the
    /// stored data rather than kept in sync by hand.
    pub(super) fn present(&self, post: &pb::Post) -> pb::Post {
        let mut out = post.clone();
        if post.root_id.is_empty() {
            let replies = self
                .posts
                .values()
                .filter(|p| p.post.root_id == post.id && p.post.delete_at == 0);
            let (count, last) =
                replies.fold((0, 0), |(n, last), p| (n + 1, last.max(p.post.create_at)));
            out.reply_count = count;
            out.last_reply_at = last;
        }
        out.has_reactions = self.reactions_of(&post.id).next().is_some();
        out
    }

    /// `CreatePost`: fills id and timestamps; a reply's `root_id` must name a live root post
    /// of the same channel.
    pub(super) fn create_post(&mut self, mut post: pb::Post) -> Outcome<pb::Post> {
        if !post.id.is_empty() {
            return Err(Fault::bad_request(
                "app.post.save.existing.app_error",
                "the post has an id already: update it instead",
            ));
        }
        require_id("user_id", &post.user_id)?;
        require_id("channel_id", &post.channel_id)?;
        if !post.root_id.is_empty() {
            require_id("root_id", &post.root_id)?;
        }
        validate_message(&post.message)?;
        validate_post_type(&post.r#type)?;
        self.user(&post.user_id)?;
        if self.channel(&post.channel_id)?.delete_at != 0 {
            return Err(Fault::bad_request(
                "api.post.create_post.can_not_post_to_deleted.error",
                "the channel is archived; posting is closed",
            ));
        }
        self.check_thread_root(&post)?;

        post.id = new_id();
        if post.create_at == 0 {
            post.create_at = self.now();
        }
        post.update_at = post.create_at;
        post.edit_at = 0;
        post.delete_at = 0;
        post.original_id.clear();
        post.participants.clear();
        let seq = self.next_seq();
        self.count_in_channel(&post);
        self.attach_files(&post);
        self.posts.insert(
            post.id.clone(),
            StoredPost {
                post: post.clone(),
                seq,
            },
        );
        Ok(self.present(&post))
    }

    /// Threads are one level deep: a reply's root must itself be a root post.
    fn check_thread_root(&self, post: &pb::Post) -> Outcome<()> {
        if post.root_id.is_empty() {
            return Ok(());
        }
        let bad_root = || {
            Fault::bad_request(
                "api.post.create_post.root_id.app_error",
                "root_id names no live post",
            )
            .detail(format!("root_id={}", post.root_id))
        };
        let root = self.live_post(&post.root_id).map_err(|_| bad_root())?;
        if !root.post.root_id.is_empty() {
            return Err(bad_root());
        }
        if root.post.channel_id != post.channel_id {
            return Err(Fault::bad_request(
                "api.post.create_post.channel_root_id.app_error",
                "the thread root is in another channel",
            ));
        }
        Ok(())
    }

    fn count_in_channel(&mut self, post: &pb::Post) {
        if let Some(channel) = self.channels.get_mut(&post.channel_id) {
            channel.last_post_at = channel.last_post_at.max(post.create_at);
            channel.total_msg_count = channel.total_msg_count.saturating_add(1);
            if post.root_id.is_empty() {
                channel.last_root_post_at = channel.last_root_post_at.max(post.create_at);
                channel.total_msg_count_root = channel.total_msg_count_root.saturating_add(1);
            }
        }
    }

    /// `UpdatePost`: message (which marks the post edited), props, files and pinning change;
    /// identity, channel, thread and type stay.
    pub(super) fn update_post(&mut self, post: pb::Post) -> Outcome<pb::Post> {
        let old = self.live_post(&post.id)?.post.clone();
        validate_message(&post.message)?;
        let now = self.now();
        let mut updated = old.clone();
        if post.message != old.message {
            updated.message = post.message;
            updated.edit_at = now;
        }
        updated.props = post.props;
        updated.file_ids = post.file_ids;
        updated.is_pinned = post.is_pinned;
        updated.hashtags = post.hashtags;
        updated.update_at = now;
        self.attach_files(&updated);
        if let Some(stored) = self.posts.get_mut(&updated.id) {
            stored.post = updated.clone();
        }
        Ok(self.present(&updated))
    }

    /// `DeletePost`: marks the post deleted, and a root's replies with it.
    pub(super) fn delete_post(&mut self, id: &str) -> Outcome<()> {
        let is_root = self.live_post(id)?.post.root_id.is_empty();
        let now = self.now();
        for stored in self.posts.values_mut() {
            let post = &mut stored.post;
            let in_scope = post.id == id || (is_root && post.root_id == id);
            if in_scope && post.delete_at == 0 {
                post.delete_at = now;
                post.update_at = now;
            }
        }
        Ok(())
    }

    /// `GetPostThread`: the root and all live replies, newest first, from any post of it.
    pub(super) fn post_thread(&self, id: &str) -> Outcome<pb::PostList> {
        let post = &self.live_post(id)?.post;
        let root_id = if post.root_id.is_empty() {
            &post.id
        } else {
            &post.root_id
        };
        let mut thread: Vec<&StoredPost> = self
            .posts
            .values()
            .filter(|p| p.post.delete_at == 0)
            .filter(|p| p.post.id == *root_id || p.post.root_id == *root_id)
            .collect();
        newest_first(&mut thread);
        Ok(self.post_list(&thread))
    }

    /// Live posts of a channel, newest first.
    fn channel_posts(&self, channel_id: &str) -> Vec<&StoredPost> {
        let mut posts: Vec<&StoredPost> = self
            .posts
            .values()
            .filter(|p| p.post.channel_id == channel_id && p.post.delete_at == 0)
            .collect();
        newest_first(&mut posts);
        posts
    }

    /// `GetPostsForChannel`: a page of the channel's posts, newest first.
    pub(super) fn posts_for_channel(
        &self,
        channel_id: &str,
        page: i64,
        per_page: i64,
    ) -> Outcome<pb::PostList> {
        self.channel(channel_id)?;
        let posts = paginate(self.channel_posts(channel_id), page, per_page);
        Ok(self.post_list(&posts))
    }

    /// `GetPostsSince`: posts changed after `time`, deleted ones included so a client can
    /// drop them.
    pub(super) fn posts_since(&self, channel_id: &str, time: i64) -> Outcome<pb::PostList> {
        self.channel(channel_id)?;
        let mut posts: Vec<&StoredPost> = self
            .posts
            .values()
            .filter(|p| p.post.channel_id == channel_id && p.post.update_at > time)
            .collect();
        newest_first(&mut posts);
        Ok(self.post_list(&posts))
    }

    /// `GetPostsBefore` / `GetPostsAfter`: pages walking away from `post_id`, each page
    /// newest first.
    pub(super) fn posts_around(
        &self,
        channel_id: &str,
        post_id: &str,
        page: i64,
        per_page: i64,
        after: bool,
    ) -> Outcome<pb::PostList> {
        self.channel(channel_id)?;
        let pivot = self.live_post(post_id)?.order_key();
        let posts = self.channel_posts(channel_id);
        let selected = if after {
            // The posts right after the pivot are the oldest of the newer ones.
            let newer = posts.into_iter().rev().filter(|p| p.order_key() > pivot);
            let mut page = paginate(newer, page, per_page);
            page.reverse();
            page
        } else {
            let older = posts.into_iter().filter(|p| p.order_key() < pivot);
            paginate(older, page, per_page)
        };
        Ok(self.post_list(&selected))
    }

    /// A `PostList` of `posts` in the given order, plus (outside the order) the roots of
    /// replies whose root is not in the list, as Mattermost includes them for context.
    fn post_list(&self, posts: &[&StoredPost]) -> pb::PostList {
        let mut list = pb::PostList::default();
        for stored in posts {
            list.order.push(stored.post.id.clone());
            list.posts
                .insert(stored.post.id.clone(), self.present(&stored.post));
        }
        for stored in posts {
            let root_id = &stored.post.root_id;
            if root_id.is_empty() || list.posts.contains_key(root_id) {
                continue;
            }
            if let Ok(root) = self.live_post(root_id) {
                list.posts.insert(root_id.clone(), self.present(&root.post));
            }
        }
        list
    }

    // --- Reactions ----------------------------------------------------------------------

    fn reactions_of<'a>(&'a self, post_id: &'a str) -> impl Iterator<Item = &'a pb::Reaction> {
        let start = (post_id.to_string(), String::new(), String::new());
        self.reactions
            .range(start..)
            .take_while(move |((p, _, _), _)| p == post_id)
            .map(|(_, reaction)| reaction)
    }

    /// `AddReaction`: one reaction per (post, user, emoji); adding it again refreshes it.
    pub(super) fn add_reaction(&mut self, mut reaction: pb::Reaction) -> Outcome<pb::Reaction> {
        validate_reaction(&reaction)?;
        self.user(&reaction.user_id)?;
        let channel_id = self.live_post(&reaction.post_id)?.post.channel_id.clone();
        let now = self.now();
        let key = (
            reaction.post_id.clone(),
            reaction.user_id.clone(),
            reaction.emoji_name.clone(),
        );
        if let Some(existing) = self.reactions.get(&key) {
            reaction.create_at = existing.create_at;
        } else if reaction.create_at == 0 {
            reaction.create_at = now;
        }
        reaction.update_at = now;
        reaction.delete_at = 0;
        reaction.channel_id = channel_id;
        self.reactions.insert(key, reaction.clone());
        Ok(reaction)
    }

    /// `RemoveReaction`: removing a reaction that is not there is not an error.
    pub(super) fn remove_reaction(&mut self, reaction: &pb::Reaction) -> Outcome<()> {
        require_id("user_id", &reaction.user_id)?;
        self.live_post(&reaction.post_id)?;
        self.reactions.remove(&(
            reaction.post_id.clone(),
            reaction.user_id.clone(),
            reaction.emoji_name.clone(),
        ));
        Ok(())
    }

    /// `GetReactions`: oldest first.
    pub(super) fn reactions(&self, post_id: &str) -> Outcome<Vec<pb::Reaction>> {
        self.live_post(post_id)?;
        let mut reactions: Vec<pb::Reaction> = self.reactions_of(post_id).cloned().collect();
        reactions.sort_by_key(|r| r.create_at);
        Ok(reactions)
    }

    // --- Ephemeral posts ----------------------------------------------------------------

    /// `SendEphemeralPost`: typed `system_ephemeral`, recorded for [`EphemeralPost`] readers.
    pub(super) fn send_ephemeral_post(
        &mut self,
        user_id: &str,
        mut post: pb::Post,
    ) -> Outcome<pb::Post> {
        require_id("user_id", user_id)?;
        if post.id.is_empty() {
            post.id = new_id();
        }
        post.r#type = EPHEMERAL_TYPE.to_string();
        post.create_at = self.now();
        post.update_at = post.create_at;
        self.ephemeral_posts.push(EphemeralPost {
            user_id: user_id.to_string(),
            post: post.clone(),
        });
        Ok(post)
    }

    /// `UpdateEphemeralPost`: replaces what the user sees for that post id.
    pub(super) fn update_ephemeral_post(
        &mut self,
        user_id: &str,
        mut post: pb::Post,
    ) -> Outcome<pb::Post> {
        require_id("user_id", user_id)?;
        require_id("post_id", &post.id)?;
        post.r#type = EPHEMERAL_TYPE.to_string();
        post.update_at = self.now();
        let existing = self
            .ephemeral_posts
            .iter_mut()
            .find(|e| e.user_id == user_id && e.post.id == post.id);
        match existing {
            Some(entry) => {
                post.create_at = entry.post.create_at;
                entry.post = post.clone();
            }
            None => self.ephemeral_posts.push(EphemeralPost {
                user_id: user_id.to_string(),
                post: post.clone(),
            }),
        }
        Ok(post)
    }

    /// `DeleteEphemeralPost`: forgets the post for that user.
    pub(super) fn delete_ephemeral_post(&mut self, user_id: &str, post_id: &str) -> Outcome<()> {
        require_id("user_id", user_id)?;
        require_id("post_id", post_id)?;
        self.ephemeral_posts
            .retain(|e| !(e.user_id == user_id && e.post.id == post_id));
        Ok(())
    }
}
