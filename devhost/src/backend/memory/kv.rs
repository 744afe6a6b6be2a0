//! The plugin key-value store: one namespace per plugin id, optional expiry, atomic
//! compare-and-set.
//!
//! Go distinguishes a nil `[]byte` from an empty one; protobuf cannot, so an empty value
//! here means nil: setting it deletes the key, and an empty "old value" means "the key must
//! not exist" — the same meanings Mattermost gives nil.

use std::collections::{BTreeMap, HashMap};

use mattermost_plugin_api::pb;

use super::errors::{Fault, Outcome};
use super::rules::{paginate, runes};

const KEY_MAX_RUNES: usize = 150;
const PLUGIN_ID_MAX_RUNES: usize = 190;
/// What `KVList` returns per page when asked for none (the server's store default).
const DEFAULT_LIST_LIMIT: i64 = 10;

struct Entry {
    value: Vec<u8>,
    /// Milliseconds since the epoch; 0 means never.
    expire_at: i64,
}

impl Entry {
    fn is_live(&self, now: i64) -> bool {
        self.expire_at == 0 || self.expire_at > now
    }
}

#[derive(Default)]
pub(super) struct KvStore {
    namespaces: HashMap<String, BTreeMap<String, Entry>>,
}

/// `PluginKeyValue.IsValid`: a plugin id and a key of bounded length.
fn validate_key(plugin_id: &str, key: &str) -> Outcome<()> {
    if plugin_id.is_empty() || runes(plugin_id) > PLUGIN_ID_MAX_RUNES {
        return Err(Fault::bad_request(
            "model.plugin_key_value.is_valid.plugin_id.app_error",
            format!("plugin ids have 1 to {PLUGIN_ID_MAX_RUNES} characters"),
        )
        .detail(format!("key={key}")));
    }
    if key.is_empty() || runes(key) > KEY_MAX_RUNES {
        return Err(Fault::bad_request(
            "model.plugin_key_value.is_valid.key.app_error",
            format!(
                "Invalid key, must be more than 0 and a maximum of {KEY_MAX_RUNES} characters."
            ),
        )
        .detail(format!("key={key}")));
    }
    Ok(())
}

/// `PluginKVSetOptions.IsValid`: an old value only makes sense for an atomic set.
fn validate_options(options: &pb::PluginKvSetOptions) -> Outcome<()> {
    if !options.atomic && !options.old_value.is_empty() {
        return Err(Fault::bad_request(
            "model.plugin_kvset_options.is_valid.old_value.app_error",
            "old_value only makes sense with atomic set",
        ));
    }
    Ok(())
}

/// The absolute expiry for a relative one; 0 seconds means never. A negative duration gives
/// a time in the past (the key is born expired), never the "no expiry" 0.
fn expiry(expire_in_seconds: i64, now: i64) -> i64 {
    if expire_in_seconds == 0 {
        return 0;
    }
    now.saturating_add(expire_in_seconds.saturating_mul(1000))
        .max(1)
}

/// Writes `new` (empty = delete) if the current value is `old` (empty = absent).
fn compare_and_set(
    ns: &mut BTreeMap<String, Entry>,
    key: &str,
    old: &[u8],
    new: Vec<u8>,
    expire_at: i64,
) -> bool {
    let current = ns.get(key).map(|e| e.value.as_slice());
    let matches = match current {
        None => old.is_empty(),
        Some(value) => !old.is_empty() && value == old,
    };
    if !matches {
        return false;
    }
    if new.is_empty() {
        // Setting nil is deleting, and deleting what is not there changes nothing.
        return ns.remove(key).is_some();
    }
    ns.insert(
        key.to_string(),
        Entry {
            value: new,
            expire_at,
        },
    );
    true
}

impl KvStore {
    /// The plugin's namespace, created on first write, with its expired entries dropped so
    /// nothing ever sees them.
    fn namespace(&mut self, plugin_id: &str, now: i64) -> &mut BTreeMap<String, Entry> {
        let ns = self.namespaces.entry(plugin_id.to_string()).or_default();
        ns.retain(|_, entry| entry.is_live(now));
        ns
    }

    /// Like [`KvStore::namespace`] for reads, which must not create namespaces for every
    /// plugin id that asks.
    fn existing(&mut self, plugin_id: &str, now: i64) -> Option<&mut BTreeMap<String, Entry>> {
        let ns = self.namespaces.get_mut(plugin_id)?;
        ns.retain(|_, entry| entry.is_live(now));
        Some(ns)
    }

    /// `KVSetWithOptions`, which `KVSet`, `KVSetWithExpiry` and `KVCompareAndSet` are
    /// special cases of. Returns whether the value was written.
    pub(super) fn set(
        &mut self,
        plugin_id: &str,
        key: &str,
        value: Vec<u8>,
        options: &pb::PluginKvSetOptions,
        now: i64,
    ) -> Outcome<bool> {
        validate_options(options)?;
        validate_key(plugin_id, key)?;
        let expire_at = expiry(options.expire_in_seconds, now);
        let ns = self.namespace(plugin_id, now);
        if options.atomic {
            return Ok(compare_and_set(
                ns,
                key,
                &options.old_value,
                value,
                expire_at,
            ));
        }
        if value.is_empty() {
            ns.remove(key);
        } else {
            ns.insert(key.to_string(), Entry { value, expire_at });
        }
        Ok(true)
    }

    /// `KVGet`: the value, or empty (Go's nil) for a missing or expired key.
    pub(super) fn get(&mut self, plugin_id: &str, key: &str, now: i64) -> Vec<u8> {
        self.existing(plugin_id, now)
            .and_then(|ns| ns.get(key))
            .map(|e| e.value.clone())
            .unwrap_or_default()
    }

    /// `KVCompareAndDelete`: deletes only if the current value is `old` (never for empty).
    pub(super) fn compare_and_delete(
        &mut self,
        plugin_id: &str,
        key: &str,
        old: &[u8],
        now: i64,
    ) -> Outcome<bool> {
        validate_key(plugin_id, key)?;
        if old.is_empty() {
            return Ok(false);
        }
        let Some(ns) = self.existing(plugin_id, now) else {
            return Ok(false);
        };
        let matches = ns.get(key).is_some_and(|e| e.value == old);
        if matches {
            ns.remove(key);
        }
        Ok(matches)
    }

    /// `KVDelete`: deleting a missing key is fine.
    pub(super) fn delete(&mut self, plugin_id: &str, key: &str) {
        if let Some(ns) = self.namespaces.get_mut(plugin_id) {
            ns.remove(key);
        }
    }

    /// `KVDeleteAll`: every key of the plugin.
    pub(super) fn delete_all(&mut self, plugin_id: &str) {
        self.namespaces.remove(plugin_id);
    }

    /// `KVList`: live keys in key order. A non-positive page size means the store's
    /// default, and a negative page the first one, as the server's store treats them.
    pub(super) fn list(
        &mut self,
        plugin_id: &str,
        page: i64,
        per_page: i64,
        now: i64,
    ) -> Vec<String> {
        let per_page = if per_page <= 0 {
            DEFAULT_LIST_LIMIT
        } else {
            per_page
        };
        let page = page.max(0);
        let Some(ns) = self.existing(plugin_id, now) else {
            return Vec::new();
        };
        paginate(ns.keys().cloned(), page, per_page)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(atomic: bool, old: &[u8], expire: i64) -> pb::PluginKvSetOptions {
        pb::PluginKvSetOptions {
            atomic,
            old_value: old.to_vec(),
            expire_in_seconds: expire,
        }
    }

    #[test]
    fn expiry_never_yields_the_no_expiry_marker() {
        assert_eq!(expiry(0, 1_000), 0);
        assert_eq!(expiry(2, 1_000), 3_000);
        assert_eq!(expiry(-5, 1_000), 1);
        assert_eq!(expiry(i64::MAX, i64::MAX), i64::MAX);
    }

    #[test]
    fn atomic_insert_only_when_absent() {
        let mut kv = KvStore::default();
        assert_eq!(
            kv.set("p", "k", b"1".to_vec(), &opts(true, b"", 0), 10)
                .ok(),
            Some(true)
        );
        assert_eq!(
            kv.set("p", "k", b"2".to_vec(), &opts(true, b"", 0), 10)
                .ok(),
            Some(false)
        );
        assert_eq!(kv.get("p", "k", 10), b"1");
    }

    #[test]
    fn atomic_nil_value_deletes_on_match() {
        let mut kv = KvStore::default();
        assert_eq!(
            kv.set("p", "k", b"1".to_vec(), &opts(false, b"", 0), 10)
                .ok(),
            Some(true)
        );
        assert_eq!(
            kv.set("p", "k", Vec::new(), &opts(true, b"2", 0), 10).ok(),
            Some(false)
        );
        assert_eq!(
            kv.set("p", "k", Vec::new(), &opts(true, b"1", 0), 10).ok(),
            Some(true)
        );
        assert!(kv.get("p", "k", 10).is_empty());
    }
}
