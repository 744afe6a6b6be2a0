//! The plugin KV store of the in-memory backend: basic operations, namespacing, paging,
//! expiry, compare-and-set/delete, atomic options and concurrent writers.

#[path = "memory_support.rs"]
mod support;

use std::time::Duration;

use mattermost_plugin_api::{PluginApi, pb};
use mattermost_plugin_devhost::backend::memory::MemoryBackend;
use support::{ctx, ctx_of, expect_status};

fn atomic(old: &[u8], expire_in_seconds: i64) -> Option<pb::PluginKvSetOptions> {
    Some(pb::PluginKvSetOptions {
        atomic: true,
        old_value: old.to_vec(),
        expire_in_seconds,
    })
}

#[tokio::test]
async fn set_get_delete() {
    let backend = MemoryBackend::new();
    assert!(
        backend
            .kv_get(&ctx(), "missing".into())
            .await
            .unwrap()
            .is_empty()
    );
    backend
        .kv_set(&ctx(), "k".into(), b"v1".to_vec())
        .await
        .unwrap();
    backend
        .kv_set(&ctx(), "k".into(), b"v2".to_vec())
        .await
        .unwrap();
    assert_eq!(backend.kv_get(&ctx(), "k".into()).await.unwrap(), b"v2");
    backend.kv_delete(&ctx(), "k".into()).await.unwrap();
    assert!(backend.kv_get(&ctx(), "k".into()).await.unwrap().is_empty());
    backend.kv_delete(&ctx(), "k".into()).await.unwrap();

    backend
        .kv_set(&ctx(), "gone".into(), b"x".to_vec())
        .await
        .unwrap();
    backend
        .kv_set(&ctx(), "gone".into(), Vec::new())
        .await
        .unwrap();
    assert!(
        backend.kv_list(&ctx(), 0, 10).await.unwrap().is_empty(),
        "setting an empty (nil) value deletes the key"
    );
}

#[tokio::test]
async fn keys_are_namespaced_per_plugin() {
    let backend = MemoryBackend::new();
    let other = ctx_of("com.example.other");
    backend
        .kv_set(&ctx(), "shared".into(), b"mine".to_vec())
        .await
        .unwrap();
    backend
        .kv_set(&other, "shared".into(), b"theirs".to_vec())
        .await
        .unwrap();
    assert_eq!(
        backend.kv_get(&ctx(), "shared".into()).await.unwrap(),
        b"mine"
    );
    assert_eq!(
        backend.kv_get(&other, "shared".into()).await.unwrap(),
        b"theirs"
    );

    backend.kv_delete_all(&ctx()).await.unwrap();
    assert!(
        backend
            .kv_get(&ctx(), "shared".into())
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        backend.kv_get(&other, "shared".into()).await.unwrap(),
        b"theirs"
    );
}

#[tokio::test]
async fn keys_and_plugin_ids_are_validated() {
    let backend = MemoryBackend::new();
    let e = expect_status(
        backend.kv_set(&ctx(), String::new(), b"v".to_vec()).await,
        400,
        "KVSet",
    );
    assert_eq!(e.id, "model.plugin_key_value.is_valid.key.app_error");
    expect_status(
        backend.kv_set(&ctx(), "k".repeat(151), b"v".to_vec()).await,
        400,
        "KVSet",
    );
    backend
        .kv_set(&ctx(), "é".repeat(150), b"v".to_vec())
        .await
        .expect("150 characters is the limit");
    let e = expect_status(
        backend.kv_set(&ctx_of(""), "k".into(), b"v".to_vec()).await,
        400,
        "KVSet",
    );
    assert_eq!(e.id, "model.plugin_key_value.is_valid.plugin_id.app_error");
}

#[tokio::test]
async fn list_pages_through_sorted_keys() {
    let backend = MemoryBackend::new();
    for i in (0..25).rev() {
        backend
            .kv_set(&ctx(), format!("key-{i:02}"), b"v".to_vec())
            .await
            .unwrap();
    }
    let page = backend.kv_list(&ctx(), 1, 10).await.unwrap();
    assert_eq!(page.first().map(String::as_str), Some("key-10"));
    assert_eq!(page.len(), 10);
    assert_eq!(backend.kv_list(&ctx(), 2, 10).await.unwrap().len(), 5);
    assert!(backend.kv_list(&ctx(), 3, 10).await.unwrap().is_empty());
    let default_page = backend.kv_list(&ctx(), 0, 0).await.unwrap();
    assert_eq!(
        default_page.len(),
        10,
        "a page size of 0 means the server default"
    );
}

#[tokio::test]
async fn expired_keys_disappear() {
    let backend = MemoryBackend::new();
    backend
        .kv_set_with_expiry(&ctx(), "short".into(), b"v".to_vec(), 60)
        .await
        .unwrap();
    backend
        .kv_set(&ctx(), "forever".into(), b"v".to_vec())
        .await
        .unwrap();
    backend
        .kv_set_with_options(
            &ctx(),
            "opt".into(),
            b"v".to_vec(),
            Some(pb::PluginKvSetOptions {
                expire_in_seconds: 30,
                ..Default::default()
            }),
        )
        .await
        .unwrap();

    backend.advance_clock(Duration::from_secs(59));
    assert_eq!(backend.kv_get(&ctx(), "short".into()).await.unwrap(), b"v");
    assert!(
        backend
            .kv_get(&ctx(), "opt".into())
            .await
            .unwrap()
            .is_empty()
    );

    backend.advance_clock(Duration::from_secs(2));
    assert!(
        backend
            .kv_get(&ctx(), "short".into())
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        backend.kv_list(&ctx(), 0, 10).await.unwrap(),
        vec!["forever".to_string()]
    );
    assert!(
        backend
            .kv_compare_and_set(&ctx(), "short".into(), Vec::new(), b"new".to_vec())
            .await
            .unwrap(),
        "an expired key counts as absent"
    );
}

#[tokio::test]
async fn compare_and_set_and_delete() {
    let backend = MemoryBackend::new();
    let c = ctx();
    let cas = |old: &[u8], new: &[u8]| {
        backend.kv_compare_and_set(&c, "k".into(), old.to_vec(), new.to_vec())
    };
    assert!(
        cas(b"", b"1").await.unwrap(),
        "inserts when absent and old is nil"
    );
    assert!(
        !cas(b"", b"2").await.unwrap(),
        "no insert over an existing key"
    );
    assert!(!cas(b"9", b"2").await.unwrap(), "no update on a mismatch");
    assert!(cas(b"1", b"2").await.unwrap());
    assert_eq!(backend.kv_get(&ctx(), "k".into()).await.unwrap(), b"2");

    let cad = |old: &[u8]| backend.kv_compare_and_delete(&c, "k".into(), old.to_vec());
    assert!(!cad(b"1").await.unwrap());
    assert!(!cad(b"").await.unwrap(), "nil never matches");
    assert!(cad(b"2").await.unwrap());
    assert!(!cad(b"2").await.unwrap(), "already gone");
    assert!(backend.kv_get(&ctx(), "k".into()).await.unwrap().is_empty());
    expect_status(
        backend
            .kv_compare_and_set(&ctx(), String::new(), Vec::new(), b"x".to_vec())
            .await,
        400,
        "KVCompareAndSet",
    );
}

#[tokio::test]
async fn set_with_options_honours_atomic_old_value_and_expiry() {
    let backend = MemoryBackend::new();
    let c = ctx();
    let set = |value: &[u8], options| {
        backend.kv_set_with_options(&c, "k".into(), value.to_vec(), options)
    };

    let e = expect_status(
        set(
            b"v",
            Some(pb::PluginKvSetOptions {
                atomic: false,
                old_value: b"x".to_vec(),
                expire_in_seconds: 0,
            }),
        )
        .await,
        400,
        "KVSetWithOptions",
    );
    assert_eq!(
        e.id,
        "model.plugin_kvset_options.is_valid.old_value.app_error"
    );

    assert!(
        set(b"a", None).await.unwrap(),
        "a plain set reports it was written"
    );
    assert!(!set(b"b", atomic(b"zzz", 0)).await.unwrap());
    assert!(set(b"b", atomic(b"a", 10)).await.unwrap());
    assert_eq!(backend.kv_get(&ctx(), "k".into()).await.unwrap(), b"b");
    backend.advance_clock(Duration::from_secs(11));
    assert!(
        backend.kv_get(&ctx(), "k".into()).await.unwrap().is_empty(),
        "the atomic write's expiry applies"
    );

    assert!(set(b"c", atomic(b"", 0)).await.unwrap());
    assert!(
        set(b"", atomic(b"c", 0)).await.unwrap(),
        "an atomic nil write deletes on a match"
    );
    assert!(backend.kv_get(&ctx(), "k".into()).await.unwrap().is_empty());
}

/// Each task reads the counter and writes counter+1 with compare-and-set, retrying when
/// another task got there first; with a correct CAS no increment is lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_compare_and_set_loses_nothing() {
    const TASKS: u64 = 8;
    const INCREMENTS: u64 = 100;
    let backend = MemoryBackend::new();
    let mut tasks = Vec::new();
    for _ in 0..TASKS {
        let backend = backend.clone();
        tasks.push(tokio::spawn(async move {
            for _ in 0..INCREMENTS {
                loop {
                    let current = backend.kv_get(&ctx(), "counter".into()).await.unwrap();
                    let value: u64 = if current.is_empty() {
                        0
                    } else {
                        String::from_utf8(current.clone()).unwrap().parse().unwrap()
                    };
                    let next = (value + 1).to_string().into_bytes();
                    if backend
                        .kv_compare_and_set(&ctx(), "counter".into(), current, next)
                        .await
                        .unwrap()
                    {
                        break;
                    }
                    tokio::task::yield_now().await;
                }
            }
        }));
    }
    for task in tasks {
        task.await.expect("task finished");
    }
    let final_value = backend.kv_get(&ctx(), "counter".into()).await.unwrap();
    assert_eq!(
        String::from_utf8(final_value).unwrap(),
        (TASKS * INCREMENTS).to_string()
    );
}
