//! An in-memory Mattermost.
//!
//! [`MemoryBackend`] implements [`mattermost_plugin_api::PluginApi`] with a small model of the
//! server: users, teams, channels and their members, posts with threads and reactions, the
//! plugin KV store, bots, plugin configuration, preferences, files, logs, slash commands,
//! permissions (a fixed role table), post search, profile images, and records of what a plugin
//! sends outside the API (websocket events, dialogs, mails).
//! It applies Mattermost's basic validation (ids, names, uniqueness) and answers with
//! Mattermost-shaped `AppError`s whose `where` is the Go method name. Every method it does not
//! model keeps the trait's default: a 501 AppError naming the method.
//!
//! The state sits behind one mutex that is only held inside synchronous helpers, never across
//! an `.await`, so a handle can be cloned freely into tasks and servers.

// `ApiError` is the trait's error type, shared with the generated adapters; results carry
// it as it is rather than boxed.
#![allow(clippy::result_large_err)]

mod api;
mod bots;
mod channels;
mod codec;
mod commands;
mod config;
mod errors;
mod files;
pub(crate) use files::{MAX_FILE_SIZE, base_name, extension, mime_type};
mod ids;
mod kv;
mod logs;
mod observed;
mod permissions;
mod post_hooks;
mod posts;
mod preferences;
mod profile;
mod rules;
mod search;
mod teams;
mod users;

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use mattermost_plugin_api::{ApiError, pb};

pub use config::DEFAULT_SERVER_VERSION;
pub use ids::{ID_LEN, is_valid_id, new_id};
pub use logs::{LogLevel, LogRecord};
pub use observed::{OpenedDialog, SentMail, WebSocketEvent};
pub use post_hooks::{HookFuture, PostHooks};
pub use posts::EphemeralPost;

use errors::Outcome;

/// A cloneable handle on one in-memory Mattermost server.
#[derive(Clone)]
pub struct MemoryBackend {
    state: Arc<Mutex<State>>,
    /// Counts the plugin's own `SavePluginConfig` calls, so a host can fire
    /// `OnConfigurationChange` as a server does after one (the plugin id of the last).
    config_saves: Arc<tokio::sync::watch::Sender<(u64, String)>>,
    /// Run around posts created or edited through the API (`post_hooks.rs`), once a host
    /// installs them.
    post_hooks: Arc<std::sync::RwLock<Option<Arc<dyn PostHooks>>>>,
}

/// Everything the server knows. Domain files add `impl State` blocks for their part.
struct State {
    /// Added to the wall clock, so tests can move time forward (e.g. to expire KV keys).
    clock_offset_ms: i64,
    /// Insertion counter that orders posts created within the same millisecond.
    next_seq: u64,
    server: config::ServerFacts,
    config: pb::Config,
    users: BTreeMap<String, pb::User>,
    statuses: HashMap<String, pb::Status>,
    preferences: BTreeMap<preferences::Key, String>,
    teams: BTreeMap<String, pb::Team>,
    /// Keyed by (team id, user id); removed members stay with `delete_at` set, as in Mattermost.
    team_members: BTreeMap<(String, String), pb::TeamMember>,
    channels: BTreeMap<String, pb::Channel>,
    /// Keyed by (channel id, user id).
    channel_members: BTreeMap<(String, String), pb::ChannelMember>,
    posts: BTreeMap<String, posts::StoredPost>,
    /// Keyed by (post id, user id, emoji name): one reaction per user and emoji.
    reactions: BTreeMap<(String, String, String), pb::Reaction>,
    ephemeral_posts: Vec<EphemeralPost>,
    kv: kv::KvStore,
    bots: BTreeMap<String, pb::Bot>,
    files: BTreeMap<String, files::StoredFile>,
    commands: Vec<commands::PluginCommand>,
    logs: VecDeque<LogRecord>,
    /// Pictures set with `SetProfileImage`, by user id.
    profile_images: HashMap<String, Vec<u8>>,
    /// Websocket events, dialogs and mails the plugins sent.
    observed: observed::Observed,
}

impl State {
    fn new() -> Self {
        let mut state = State {
            clock_offset_ms: 0,
            next_seq: 0,
            server: config::ServerFacts::default(),
            config: config::default_config(),
            users: BTreeMap::new(),
            statuses: HashMap::new(),
            preferences: BTreeMap::new(),
            teams: BTreeMap::new(),
            team_members: BTreeMap::new(),
            channels: BTreeMap::new(),
            channel_members: BTreeMap::new(),
            posts: BTreeMap::new(),
            reactions: BTreeMap::new(),
            ephemeral_posts: Vec::new(),
            kv: kv::KvStore::default(),
            bots: BTreeMap::new(),
            files: BTreeMap::new(),
            commands: Vec::new(),
            logs: VecDeque::new(),
            profile_images: HashMap::new(),
            observed: observed::Observed::default(),
        };
        state.server.install_date = state.now();
        state
    }

    /// Milliseconds since the Unix epoch, as Mattermost's `model.GetMillis`, plus the test offset.
    fn now(&self) -> i64 {
        let wall = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
            .unwrap_or_default();
        wall.saturating_add(self.clock_offset_ms)
    }

    fn next_seq(&mut self) -> u64 {
        self.next_seq += 1;
        self.next_seq
    }
}

impl Default for MemoryBackend {
    fn default() -> Self {
        MemoryBackend::new()
    }
}

impl MemoryBackend {
    /// An empty server: no users, teams or channels, a default configuration.
    pub fn new() -> Self {
        MemoryBackend {
            state: Arc::new(Mutex::new(State::new())),
            config_saves: Arc::new(tokio::sync::watch::Sender::new((0, String::new()))),
            post_hooks: Arc::default(),
        }
    }

    /// Runs `f` on the state under the lock. A poisoned lock is recovered: the model is only
    /// mutated after validation, so a panic elsewhere cannot leave it half-updated.
    fn with_state<T>(&self, f: impl FnOnce(&mut State) -> T) -> T {
        let mut guard = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        f(&mut guard)
    }

    /// One API call: runs `f` and names the Go `method` in the AppError of a failure.
    fn call<T>(
        &self,
        method: &str,
        f: impl FnOnce(&mut State) -> Outcome<T>,
    ) -> Result<T, ApiError> {
        self.with_state(f)
            .map_err(|fault| fault.into_app_error(method))
    }

    /// Like [`MemoryBackend::call`] for Go methods whose error is a plain `error`.
    fn call_plain<T>(
        &self,
        method: &str,
        f: impl FnOnce(&mut State) -> Outcome<T>,
    ) -> Result<T, ApiError> {
        self.with_state(f).map_err(|fault| fault.into_plain(method))
    }

    // --- Server facts -------------------------------------------------------------------

    /// The version `GetServerVersion` reports.
    pub fn server_version(&self) -> String {
        self.with_state(|s| s.server.version.clone())
    }

    /// Makes the server report another version (plugins often gate features on it).
    pub fn set_server_version(&self, version: impl Into<String>) {
        let version = version.into();
        self.with_state(|s| s.server.version = version);
    }

    /// The diagnostic (telemetry) id, fixed for the life of this backend.
    pub fn diagnostic_id(&self) -> String {
        self.with_state(|s| s.server.diagnostic_id.clone())
    }

    /// The server's current time in milliseconds, including any [`advance_clock`](Self::advance_clock).
    pub fn now_millis(&self) -> i64 {
        self.with_state(|s| s.now())
    }

    /// Moves the server clock forward, e.g. past a KV expiry, without sleeping.
    pub fn advance_clock(&self, by: Duration) {
        let ms = i64::try_from(by.as_millis()).unwrap_or(i64::MAX);
        self.with_state(|s| s.clock_offset_ms = s.clock_offset_ms.saturating_add(ms));
    }

    // --- Seeding ------------------------------------------------------------------------

    /// Creates an active user `username` with email `username@example.com`.
    pub fn seed_user(&self, username: &str) -> Result<pb::User, ApiError> {
        let user = pb::User {
            username: username.to_string(),
            email: format!("{username}@example.com"),
            ..Default::default()
        };
        self.call("CreateUser", |s| s.create_user(user))
    }

    /// Creates an open team `name` (display name = name), with its default channels.
    pub fn seed_team(&self, name: &str) -> Result<pb::Team, ApiError> {
        let team = pb::Team {
            name: name.to_string(),
            display_name: name.to_string(),
            r#type: teams::TEAM_OPEN.to_string(),
            ..Default::default()
        };
        self.call("CreateTeam", |s| s.create_team(team))
    }

    /// Creates an open channel `name` (display name = name) in a team.
    pub fn seed_channel(&self, team_id: &str, name: &str) -> Result<pb::Channel, ApiError> {
        let channel = pb::Channel {
            team_id: team_id.to_string(),
            name: name.to_string(),
            display_name: name.to_string(),
            r#type: channels::CHANNEL_OPEN.to_string(),
            ..Default::default()
        };
        self.call("CreateChannel", |s| s.create_channel(channel))
    }

    /// Adds a user to a team (and to its default channels).
    pub fn seed_team_member(
        &self,
        team_id: &str,
        user_id: &str,
    ) -> Result<pb::TeamMember, ApiError> {
        self.call("CreateTeamMember", |s| s.add_team_member(team_id, user_id))
    }

    /// Adds a user (who must be in the channel's team) to a channel.
    pub fn seed_channel_member(
        &self,
        channel_id: &str,
        user_id: &str,
    ) -> Result<pb::ChannelMember, ApiError> {
        self.call("AddChannelMember", |s| {
            s.add_channel_member(channel_id, user_id)
        })
    }

    // --- Plugin configuration -----------------------------------------------------------

    /// Changes after each `SavePluginConfig` a plugin makes: (count, that plugin's id).
    pub fn plugin_config_saves(&self) -> tokio::sync::watch::Receiver<(u64, String)> {
        self.config_saves.subscribe()
    }

    fn saved_plugin_config(&self, plugin_id: &str) {
        self.config_saves
            .send_modify(|(n, id)| (*n, *id) = (*n + 1, plugin_id.to_string()));
    }

    /// Stores the configuration (`PluginSettings.Plugins[plugin_id]`) a plugin will load.
    pub fn set_plugin_config(&self, plugin_id: &str, config: mattermost_plugin_api::pb::AnyMap) {
        self.with_state(|s| s.set_plugin_config(plugin_id, config));
    }

    /// Like [`set_plugin_config`](Self::set_plugin_config) from JSON; the JSON must be an object.
    pub fn set_plugin_config_json(&self, plugin_id: &str, json: &[u8]) -> Result<(), ApiError> {
        let config =
            config::json_to_struct(json).map_err(|f| f.into_app_error("SavePluginConfig"))?;
        self.set_plugin_config(plugin_id, config);
        Ok(())
    }

    /// The JSON `LoadPluginConfiguration` would return for `plugin_id`.
    pub fn plugin_config_json(&self, plugin_id: &str) -> Vec<u8> {
        self.with_state(|s| config::struct_to_json_bytes(&s.plugin_config(plugin_id)))
    }

    // --- Observing what a plugin did ----------------------------------------------------

    /// Every log record the plugins wrote (oldest first; the oldest are dropped past a cap).
    pub fn logs(&self) -> Vec<LogRecord> {
        self.with_state(|s| s.logs.iter().cloned().collect())
    }

    /// Returns and forgets the log records.
    pub fn take_logs(&self) -> Vec<LogRecord> {
        self.with_state(|s| s.logs.drain(..).collect())
    }

    /// Ephemeral posts sent to users (they are never stored as posts), oldest first.
    pub fn ephemeral_posts(&self) -> Vec<EphemeralPost> {
        self.with_state(|s| s.ephemeral_posts.clone())
    }

    /// Websocket events the plugins published, oldest first (the oldest are dropped past a cap).
    pub fn websocket_events(&self) -> Vec<WebSocketEvent> {
        self.with_state(|s| s.observed.websocket_events.iter().cloned().collect())
    }

    /// Interactive dialogs the plugins opened, oldest first (capped like the events).
    pub fn dialogs(&self) -> Vec<OpenedDialog> {
        self.with_state(|s| s.observed.dialogs.iter().cloned().collect())
    }

    /// Mails the plugins sent, oldest first (capped like the events).
    pub fn mails(&self) -> Vec<SentMail> {
        self.with_state(|s| s.observed.mails.iter().cloned().collect())
    }
}
