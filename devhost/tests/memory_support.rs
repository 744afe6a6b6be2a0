//! Helpers shared by the `memory_*` tests, which include this file with
//! `#[path = "memory_support.rs"] mod support;`. (Cargo also builds it as a test target of
//! its own; it has no tests of its own.)
#![allow(dead_code)]

use std::fmt::Debug;

use mattermost_plugin_api::{ApiError, CallContext, pb};
use mattermost_plugin_devhost::backend::memory::MemoryBackend;

pub const PLUGIN_ID: &str = "com.example.memory-tests";

/// The call context of the test plugin.
pub fn ctx() -> CallContext {
    CallContext::new(PLUGIN_ID)
}

/// The call context of another plugin.
pub fn ctx_of(plugin_id: &str) -> CallContext {
    CallContext::new(plugin_id)
}

/// The AppError of a failed call; fails the test for a success or another kind of error.
pub fn app_error<T: Debug>(result: Result<T, ApiError>) -> pb::AppError {
    match result {
        Err(ApiError::App(e)) => e,
        other => panic!("expected an AppError, got {other:?}"),
    }
}

/// Asserts a call failed with `status`, and that the error names the Go `method`.
pub fn expect_status<T: Debug>(
    result: Result<T, ApiError>,
    status: i64,
    method: &str,
) -> pb::AppError {
    let e = app_error(result);
    assert_eq!(e.status_code, status, "status of {e:?}");
    assert_eq!(e.r#where, method, "where of {e:?}");
    e
}

/// An id that is well-formed but names nothing.
pub const UNKNOWN_ID: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaa";

/// A backend with two users who share a team, and an open channel both are in.
pub struct World {
    pub backend: MemoryBackend,
    pub alice: pb::User,
    pub bob: pb::User,
    pub team: pb::Team,
    pub channel: pb::Channel,
}

impl World {
    pub fn seeded() -> World {
        let backend = MemoryBackend::new();
        let alice = backend.seed_user("alice").expect("seed alice");
        let bob = backend.seed_user("bob").expect("seed bob");
        let team = backend.seed_team("core").expect("seed team");
        let channel = backend
            .seed_channel(&team.id, "general")
            .expect("seed channel");
        for user in [&alice, &bob] {
            backend
                .seed_team_member(&team.id, &user.id)
                .expect("join team");
            backend
                .seed_channel_member(&channel.id, &user.id)
                .expect("join channel");
        }
        World {
            backend,
            alice,
            bob,
            team,
            channel,
        }
    }
}
