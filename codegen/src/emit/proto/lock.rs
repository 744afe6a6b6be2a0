//! Field numbers that never change once allocated.
//!
//! `spec/proto-lock.json` records, per message, every field key (the Go field or parameter it comes
//! from) with its number, proto name and wire type. Allocation rules:
//! - a known key with the same wire type keeps its number (a proto rename keeps it too, and the
//!   old name is recorded in `renamed_from`, which tells the breaking-change check the rename was
//!   meant);
//! - a new key, or a known key whose wire type changed, takes `next` (max ever + 1); holes are never
//!   refilled;
//! - a key that disappears, or whose old number was given up for a retype, becomes `reserved`
//!   (number and name) and is remembered in `retired`;
//! - a retired key that comes back with the wire type it had gets its old number back (and it
//!   leaves `reserved`): that number never meant anything else, so peers built before the key left
//!   read it as before. Any other number stays reserved for good.
//!
//! Messages that leave the API keep their entries, so a type that comes back gets its numbers back
//! too. Moving the pin to an older release and back therefore renumbers nothing.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldLock {
    pub messages: BTreeMap<String, MessageLock>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageLock {
    /// The next number to hand out: one past the highest ever used.
    pub next: u32,
    pub fields: BTreeMap<String, LockedField>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reserved: Vec<Reserved>,
    /// Keys that left the message (or gave up their number for a retype), as they last were; their
    /// numbers are in `reserved` until the key comes back with the same wire type.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub retired: BTreeMap<String, LockedField>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockedField {
    pub number: u32,
    pub name: String,
    /// The field's type as written in the proto (`optional string`, `repeated User`, …).
    pub wire: String,
    /// Earlier proto names of this field (same key and number), oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub renamed_from: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Reserved {
    pub number: u32,
    pub name: String,
}

/// A field asking for a number: its lock key, proto name and wire type.
pub struct Request<'a> {
    pub key: &'a str,
    pub name: &'a str,
    pub wire: &'a str,
}

/// Proto reserves 19000–19999 for its own implementation.
const IMPLEMENTATION_RESERVED: std::ops::RangeInclusive<u32> = 19000..=19999;

impl FieldLock {
    pub fn from_json(text: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(text)
    }

    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).expect("lock serialises");
        s.push('\n');
        s
    }

    /// Numbers for the fields of `message`, in the order asked, updating the lock.
    pub fn allocate(&mut self, message: &str, fields: &[Request]) -> Vec<u32> {
        let entry = self
            .messages
            .entry(message.to_string())
            .or_insert_with(|| MessageLock {
                next: 1,
                ..Default::default()
            });
        let mut numbers = Vec::with_capacity(fields.len());
        let mut seen = std::collections::BTreeSet::new();
        for f in fields {
            seen.insert(f.key.to_string());
            if entry.fields.get(f.key).is_none_or(|l| l.wire != f.wire)
                && entry.retired.get(f.key).is_some_and(|l| l.wire == f.wire)
                && let Some(back) = entry.retired.remove(f.key)
            {
                // The key comes back as it was: its number is free for it again.
                entry.reserved.retain(|r| r.number != back.number);
                if let Some(live) = entry.fields.insert(f.key.to_string(), back) {
                    // Back from a retype: the number of the type it leaves is given up.
                    entry.reserved.push(Reserved {
                        number: live.number,
                        name: live.name.clone(),
                    });
                    entry.retired.insert(f.key.to_string(), live);
                }
            }
            let kept = entry.fields.get(f.key).filter(|l| l.wire == f.wire);
            let reuse = kept.map(|l| l.number);
            let mut renamed_from = kept.map(|l| l.renamed_from.clone()).unwrap_or_default();
            if let Some(old) = kept.filter(|l| l.name != f.name) {
                renamed_from.retain(|n| n != f.name);
                renamed_from.push(old.name.clone());
            }
            let number = match reuse {
                Some(n) => n,
                None => {
                    if let Some(old) = entry.fields.remove(f.key) {
                        // Retyped: the old number must never carry the new type.
                        entry.reserved.push(Reserved {
                            number: old.number,
                            name: old.name.clone(),
                        });
                        entry.retired.insert(f.key.to_string(), old);
                    }
                    let mut n = entry.next.max(1);
                    if IMPLEMENTATION_RESERVED.contains(&n) {
                        n = *IMPLEMENTATION_RESERVED.end() + 1;
                    }
                    entry.next = n + 1;
                    n
                }
            };
            entry.fields.insert(
                f.key.to_string(),
                LockedField {
                    number,
                    name: f.name.to_string(),
                    wire: f.wire.to_string(),
                    renamed_from,
                },
            );
            numbers.push(number);
        }
        let gone: Vec<String> = entry
            .fields
            .keys()
            .filter(|k| !seen.contains(*k))
            .cloned()
            .collect();
        for key in gone {
            if let Some(old) = entry.fields.remove(&key) {
                entry.reserved.push(Reserved {
                    number: old.number,
                    name: old.name.clone(),
                });
                entry.retired.insert(key, old);
            }
        }
        entry.reserved.sort();
        entry.reserved.dedup();
        numbers
    }

    /// Reserved numbers and names of a message, for the `reserved` lines. A name still in use by a
    /// live field (a retyped field keeps its name) is not reserved.
    pub fn reserved(&self, message: &str) -> Vec<Reserved> {
        let Some(entry) = self.messages.get(message) else {
            return Vec::new();
        };
        entry
            .reserved
            .iter()
            .map(|r| {
                let live = entry.fields.values().any(|f| f.name == r.name);
                Reserved {
                    number: r.number,
                    name: if live { String::new() } else { r.name.clone() },
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req<'a>(key: &'a str, name: &'a str, wire: &'a str) -> Request<'a> {
        Request { key, name, wire }
    }

    #[test]
    fn allocation_is_stable_and_never_refills() {
        let mut lock = FieldLock::default();
        let v1 = lock.allocate(
            "M",
            &[
                req("A", "a", "string"),
                req("B", "b", "int64"),
                req("C", "c", "bool"),
            ],
        );
        assert_eq!(v1, [1, 2, 3]);
        // B removed, C retyped, D added, A renamed in proto only.
        let v2 = lock.allocate(
            "M",
            &[
                req("A", "a2", "string"),
                req("C", "c", "string"),
                req("D", "d", "bool"),
            ],
        );
        assert_eq!(v2, [1, 4, 5]);
        assert_eq!(lock.messages["M"].fields["A"].renamed_from, ["a"]);
        let reserved = lock.reserved("M");
        assert_eq!(
            reserved,
            [
                Reserved {
                    number: 2,
                    name: "b".into()
                },
                Reserved {
                    number: 3,
                    name: String::new()
                }
            ]
        );
        // B comes back with another wire type: a new number, its old one stays reserved.
        let v3 = lock.allocate(
            "M",
            &[
                req("A", "a2", "string"),
                req("B", "b", "string"),
                req("C", "c", "string"),
                req("D", "d", "bool"),
            ],
        );
        assert_eq!(v3, [1, 6, 4, 5]);
        assert_eq!(lock.messages["M"].retired["B"].number, 2);
        // B and C come back as they were first: their first numbers, and the numbers of the
        // types they leave are given up.
        let v4 = lock.allocate(
            "M",
            &[
                req("A", "a2", "string"),
                req("B", "b", "int64"),
                req("C", "c", "bool"),
                req("D", "d", "bool"),
            ],
        );
        assert_eq!(v4, [1, 2, 3, 5]);
        let reserved: Vec<u32> = lock.reserved("M").iter().map(|r| r.number).collect();
        assert_eq!(reserved, [4, 6]);
        assert_eq!(lock.messages["M"].next, 7);
    }

    /// Moving the pin to an older release and back renumbers nothing: what the older release
    /// lacked gets its numbers back, what only it had stays reserved.
    #[test]
    fn older_release_and_back_keeps_every_number() {
        let newer = [
            req("A", "a", "string"),
            req("B", "b", "int64"),
            req("C", "c", "bool"),
        ];
        let older = [req("A", "a", "string"), req("Old", "old", "bool")];
        let mut lock = FieldLock::default();
        assert_eq!(lock.allocate("M", &newer), [1, 2, 3]);
        let before = lock.clone();
        assert_eq!(lock.allocate("M", &older), [1, 4]);
        assert_eq!(lock.allocate("M", &newer), [1, 2, 3]);
        let m = &lock.messages["M"];
        assert_eq!(m.fields, before.messages["M"].fields);
        assert_eq!(
            m.reserved,
            [Reserved {
                number: 4,
                name: "old".into()
            }]
        );
        assert_eq!(m.retired.keys().collect::<Vec<_>>(), ["Old"]);
        assert_eq!(m.next, 5);
    }
}
