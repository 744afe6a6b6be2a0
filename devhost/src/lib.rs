//! The local development host: an in-memory Mattermost (`backend::memory`) that implements the
//! generated `PluginApi` trait, and (later) the `mm-plugin-host` binary on top of the runtime.

// `ApiError` mirrors the wire's error messages; boxing it would only move the cost around.
#![allow(clippy::result_large_err)]

pub mod backend;
pub mod host;
