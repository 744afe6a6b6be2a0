//! Backends implementing `mattermost_plugin_api::PluginApi`.

pub mod memory;
