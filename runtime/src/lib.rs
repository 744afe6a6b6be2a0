//! Running Mattermost plugin processes.
//!
//! - [`manifest`]: `plugin.json`, and how to start the plugin (executable or Python entry point);
//! - [`supervisor`]: spawn, go-plugin handshake, health checks, restarts, clean stop;
//! - [`api_server`]: the `PluginAPI` gRPC server a plugin calls back, on a private Unix socket, token
//!   checked on every call;
//! - [`api_calls`]: every API call recorded, and any unary method scripted, at the gRPC layer;
//! - [`http_bridge`]: HTTP requests streamed to and from a plugin's `ServeHTTP`;
//! - [`plugin_side`]: the other end, for plugins written in Rust.

// `ApiError` mirrors the wire's error messages; boxing it would only move the cost around.
#![allow(clippy::result_large_err)]

pub mod api_calls;
pub mod api_server;
pub mod http_bridge;
pub mod manifest;
pub mod plugin_side;
mod private_dir;
pub mod supervisor;
