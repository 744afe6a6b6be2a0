//! `SearchPostsInTeam` and `SearchPostsInTeamForUser`: a plain scan in place of the server's
//! full-text index.
//!
//! A term matches when the message contains it, ignoring case (so `hel` finds `Hello`; a
//! trailing `*` is dropped); a quoted phrase matches as a whole. All terms must match, or
//! any one with `or_terms`. Hashtag searches match the post's hashtags instead. Channel and
//! user filters name channels and users by name, as the server's `in:` and `from:` do. Date
//! filters, file extensions and time zones are not modelled. System messages and deleted
//! posts are never found; archived channels only with `include_deleted_channels`. Results
//! are newest first.

use std::collections::{BTreeSet, HashMap};

use mattermost_plugin_api::pb;

use super::State;
use super::errors::{Outcome, required};
use super::ids::require_id;
use super::posts::StoredPost;
use super::rules::paginate;

/// The server's default page size for searches.
const DEFAULT_PER_PAGE: i64 = 60;

/// One search, from `SearchParams` or parsed from a search box's text.
#[derive(Debug, Default, PartialEq)]
struct Query {
    /// Lowercase words or phrases.
    terms: Vec<String>,
    excluded_terms: Vec<String>,
    or_terms: bool,
    hashtag: bool,
    /// Channel names.
    in_channels: Vec<String>,
    excluded_channels: Vec<String>,
    /// Usernames.
    from_users: Vec<String>,
    excluded_users: Vec<String>,
    include_deleted_channels: bool,
}

/// Splits search text into words and `"quoted phrases"`, lowercased, without trailing `*`.
fn split_terms(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text.trim();
    while !rest.is_empty() {
        let (token, tail) = match rest.strip_prefix('"') {
            Some(quoted) => match quoted.split_once('"') {
                Some((phrase, tail)) => (phrase, tail),
                None => (quoted, ""),
            },
            None => rest.split_once(char::is_whitespace).unwrap_or((rest, "")),
        };
        let token = token.trim().trim_end_matches('*').to_lowercase();
        if !token.is_empty() {
            out.push(token);
        }
        rest = tail.trim_start();
    }
    out
}

fn lowercase_all(values: &[String]) -> Vec<String> {
    values
        .iter()
        .map(|v| v.trim().trim_start_matches('@').to_lowercase())
        .filter(|v| !v.is_empty())
        .collect()
}

impl Query {
    fn from_params(p: &pb::SearchParams) -> Query {
        Query {
            terms: split_terms(&p.terms),
            excluded_terms: split_terms(&p.excluded_terms),
            or_terms: p.or_terms,
            hashtag: p.ishashtag,
            in_channels: lowercase_all(&p.in_channels),
            excluded_channels: lowercase_all(&p.excluded_channels),
            from_users: lowercase_all(&p.from_users),
            excluded_users: lowercase_all(&p.excluded_users),
            include_deleted_channels: p.include_deleted_channels,
        }
    }

    /// What a user typed in the search box: words and phrases, `-word` to exclude,
    /// `from:username` and `in:channel-name` (each negatable with `-`).
    fn from_text(text: &str, or_terms: bool, include_deleted_channels: bool) -> Query {
        let mut query = Query {
            or_terms,
            include_deleted_channels,
            ..Query::default()
        };
        for token in split_terms(text) {
            let (negated, token) = match token.strip_prefix('-') {
                Some(rest) if !rest.is_empty() => (true, rest.to_string()),
                _ => (false, token),
            };
            let (list, value) = if let Some(user) = token.strip_prefix("from:") {
                let list = if negated {
                    &mut query.excluded_users
                } else {
                    &mut query.from_users
                };
                (list, user.trim_start_matches('@'))
            } else if let Some(channel) = token
                .strip_prefix("in:")
                .or_else(|| token.strip_prefix("channel:"))
            {
                let list = if negated {
                    &mut query.excluded_channels
                } else {
                    &mut query.in_channels
                };
                (list, channel.trim_start_matches('~'))
            } else if negated {
                (&mut query.excluded_terms, token.as_str())
            } else {
                (&mut query.terms, token.as_str())
            };
            if !value.is_empty() {
                list.push(value.to_string());
            }
        }
        query
    }

    /// A search with nothing to look for finds nothing, as on a server.
    fn is_empty(&self) -> bool {
        self.terms.is_empty() && self.in_channels.is_empty() && self.from_users.is_empty()
    }

    /// The terms a post matches, or `None` if it does not match the query's words.
    fn matched_terms(&self, post: &pb::Post) -> Option<Vec<String>> {
        let message = post.message.to_lowercase();
        let hashtags: Vec<String> = post
            .hashtags
            .split_whitespace()
            .map(str::to_lowercase)
            .collect();
        let contains = |term: &String| {
            if self.hashtag {
                let tag = if term.starts_with('#') {
                    term.clone()
                } else {
                    format!("#{term}")
                };
                hashtags.contains(&tag) || message.contains(&tag)
            } else {
                message.contains(term.as_str())
            }
        };
        if self.excluded_terms.iter().any(contains) {
            return None;
        }
        let matched: Vec<String> = self.terms.iter().filter(|t| contains(t)).cloned().collect();
        let ok = if self.or_terms {
            self.terms.is_empty() || !matched.is_empty()
        } else {
            matched.len() == self.terms.len()
        };
        ok.then_some(matched)
    }
}

impl State {
    /// The live, non-system posts of the channels in scope that match `query`, with the
    /// terms each matched.
    fn search<'a>(
        &'a self,
        query: &Query,
        channel_in_scope: impl Fn(&pb::Channel) -> bool,
    ) -> Vec<(&'a StoredPost, Vec<String>)> {
        if query.is_empty() {
            return Vec::new();
        }
        let username_of = |user_id: &str| {
            self.users
                .get(user_id)
                .map(|u| u.username.to_lowercase())
                .unwrap_or_default()
        };
        let channel_ok = |channel: &pb::Channel| {
            let name = channel.name.to_lowercase();
            channel_in_scope(channel)
                && (query.include_deleted_channels || channel.delete_at == 0)
                && (query.in_channels.is_empty() || query.in_channels.contains(&name))
                && !query.excluded_channels.contains(&name)
        };
        let mut found: Vec<(&StoredPost, Vec<String>)> = self
            .posts
            .values()
            .filter(|p| p.post.delete_at == 0 && !p.post.r#type.starts_with("system_"))
            .filter(|p| {
                self.channels
                    .get(&p.post.channel_id)
                    .is_some_and(channel_ok)
            })
            .filter(|p| {
                let author = username_of(&p.post.user_id);
                (query.from_users.is_empty() || query.from_users.contains(&author))
                    && !query.excluded_users.contains(&author)
            })
            .filter_map(|p| query.matched_terms(&p.post).map(|m| (p, m)))
            .collect();
        found.sort_by_key(|(p, _)| std::cmp::Reverse(p.order_key()));
        found
    }

    /// `SearchPostsInTeam`: every search of the list over the team's channels (no direct or
    /// group channels, whose members the call does not know); the union, newest first.
    pub(super) fn search_posts_in_team(
        &self,
        team_id: &str,
        params_list: &[pb::SearchParams],
    ) -> Outcome<Vec<pb::Post>> {
        self.team(team_id)?;
        let mut seen = BTreeSet::new();
        let mut found: Vec<&StoredPost> = Vec::new();
        for params in params_list {
            let query = Query::from_params(params);
            for (post, _) in self.search(&query, |c| c.team_id == team_id) {
                if seen.insert(post.post.id.as_str()) {
                    found.push(post);
                }
            }
        }
        found.sort_by_key(|p| std::cmp::Reverse(p.order_key()));
        Ok(found.iter().map(|p| self.present(&p.post)).collect())
    }

    /// `SearchPostsInTeamForUser`: the search text over the channels of the team the user
    /// is a member of, and their direct and group channels; a page of the results.
    pub(super) fn search_posts_in_team_for_user(
        &self,
        team_id: &str,
        user_id: &str,
        params: Option<pb::SearchParameter>,
    ) -> Outcome<pb::PostSearchResults> {
        self.team(team_id)?;
        require_id("user_id", user_id)?;
        self.user(user_id)?;
        let params = required(params, "search_params")?;
        let query = Query::from_text(
            params.terms.as_deref().unwrap_or_default(),
            params.is_or_search.unwrap_or(false),
            params.include_deleted_channels.unwrap_or(false),
        );
        let found = self.search(&query, |c| {
            (c.team_id == team_id || c.team_id.is_empty()) && self.is_channel_member(&c.id, user_id)
        });
        let page = paginate(
            found,
            params.page.unwrap_or(0),
            params.per_page.unwrap_or(DEFAULT_PER_PAGE),
        );
        let mut results = pb::PostSearchResults::default();
        let mut matches = HashMap::new();
        for (post, matched) in page {
            results.order.push(post.post.id.clone());
            results
                .posts
                .insert(post.post.id.clone(), self.present(&post.post));
            matches.insert(post.post.id.clone(), pb::StringList { values: matched });
        }
        results.matches = matches;
        Ok(results)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terms_split_into_words_and_phrases() {
        assert_eq!(
            split_terms(r#" Hello "Big World"  stars* "open"#),
            ["hello", "big world", "stars", "open"]
        );
    }

    #[test]
    fn search_text_knows_from_in_and_exclusions() {
        let query = Query::from_text(
            "deploy -staging from:@Alice -in:random in:~ops",
            false,
            false,
        );
        assert_eq!(query.terms, ["deploy"]);
        assert_eq!(query.excluded_terms, ["staging"]);
        assert_eq!(query.from_users, ["alice"]);
        assert_eq!(query.in_channels, ["ops"]);
        assert_eq!(query.excluded_channels, ["random"]);
    }
}
