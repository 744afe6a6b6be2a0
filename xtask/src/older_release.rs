//! Moving the pin to an older release and back, in a scratch copy of `spec/` and `generated/`:
//! `regen --mattermost <older>` must work, keep the number of every field the two contracts share,
//! and give a contract that compiles and passes the drift check; regenerating back to the pinned
//! version must give the repository's tree again, except for what the field-number lock learnt
//! from the older release (the numbers its fields used stay reserved).
//!
//! Needs Go and the module proxy, like `regen` itself (the module download is cached by Go).

use std::collections::{BTreeMap, BTreeSet};

use codegen::emit::proto::{DIR, ROOT};
use prost_types::{DescriptorProto, EnumDescriptorProto};

use super::*;

/// The oldest `server/public` release the generator supports.
const OLDER: &str = "v0.1.10";

/// What the test needs to know about one compiled contract.
#[derive(Default)]
struct Contract {
    /// (message, field) → (number, type as `label type type_name optional`).
    fields: BTreeMap<(String, String), (i32, String)>,
    /// (enum, value) → number.
    values: BTreeMap<(String, String), i32>,
    /// message → reserved numbers; every message has an entry.
    reserved: BTreeMap<String, BTreeSet<i32>>,
}

impl Contract {
    /// Compiles the proto tree under `root` with protox.
    fn compile(root: &Path) -> Contract {
        let proto_root = root.join(ROOT);
        let files = files_under(&proto_root, DIR);
        assert!(!files.is_empty(), "no proto files under {ROOT}/{DIR}");
        let set = protox::compile(&files, [&proto_root])
            .unwrap_or_else(|e| panic!("{ROOT} does not compile: {e}"));
        let mut contract = Contract::default();
        for file in &set.file {
            let package = file.package();
            for message in &file.message_type {
                contract.add_message(package, message);
            }
            for e in &file.enum_type {
                contract.add_enum(package, e);
            }
        }
        contract
    }

    fn add_message(&mut self, scope: &str, message: &DescriptorProto) {
        let name = format!("{scope}.{}", message.name());
        for f in &message.field {
            let ty = format!(
                "{:?} {:?} {} {}",
                f.label(),
                f.r#type(),
                f.type_name(),
                f.proto3_optional()
            );
            self.fields
                .insert((name.clone(), f.name().to_string()), (f.number(), ty));
        }
        let reserved = self.reserved.entry(name.clone()).or_default();
        for r in &message.reserved_range {
            // Ranges are half-open in descriptors.
            reserved.extend(r.start()..r.end());
        }
        for nested in &message.nested_type {
            self.add_message(&name, nested);
        }
        for e in &message.enum_type {
            self.add_enum(&name, e);
        }
    }

    fn add_enum(&mut self, scope: &str, e: &EnumDescriptorProto) {
        let name = format!("{scope}.{}", e.name());
        for v in &e.value {
            self.values
                .insert((name.clone(), v.name().to_string()), v.number());
        }
    }

    fn numbers_of(&self, message: &str) -> BTreeSet<i32> {
        self.fields
            .iter()
            .filter(|((m, _), _)| m == message)
            .map(|(_, (n, _))| *n)
            .collect()
    }
}

/// A scratch copy of what `regen` reads and writes: `spec/` and `generated/`, plus `buf.yaml`
/// for the drift check's lint.
fn scratch_tree() -> tempfile::TempDir {
    let dir = tempfile::Builder::new()
        .prefix("xtask-older-release-")
        .tempdir()
        .expect("creating a scratch directory");
    for rel in tree_files(&root())
        .into_iter()
        .chain(["buf.yaml".to_string()])
    {
        let to = dir.path().join(&rel);
        std::fs::create_dir_all(to.parent().expect("a file has a parent")).unwrap();
        std::fs::copy(root().join(&rel), &to).unwrap_or_else(|e| panic!("copying {rel}: {e}"));
    }
    dir
}

fn tree_files(root: &Path) -> Vec<String> {
    let mut files = files_under(root, "spec");
    files.extend(files_under(root, "generated"));
    files
}

fn regen_or_panic(root: &Path, version: &str) {
    regen_at(root, Some(version)).unwrap_or_else(|e| {
        panic!("`cargo xtask regen --mattermost {version}` in a scratch tree failed (this test needs Go and the module proxy): {e:#}")
    });
}

/// Makes `dir` a git repository with everything committed, for `buf breaking` to compare with.
fn commit_all(dir: &Path) {
    for args in [
        &["init", "-q"][..],
        &["add", "-A"],
        &["commit", "-qm", "older release"],
    ] {
        let out = Command::new("git")
            .args(["-c", "user.name=t", "-c", "user.email=t@t.invalid"])
            .args(args)
            .current_dir(dir)
            .output()
            .expect("running git");
        assert!(
            out.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

fn read(root: &Path, rel: &str) -> String {
    std::fs::read_to_string(root.join(rel)).unwrap_or_else(|e| panic!("reading {rel}: {e}"))
}

#[test]
fn older_release_and_back_keeps_field_numbers() {
    let started = std::time::Instant::now();
    let (_, spec) = read_spec(&root())
        .expect("reading the spec")
        .expect("spec/ir.json exists");
    let pinned = spec.source.version;
    assert_ne!(pinned, "local", "spec/ must pin a module version");
    assert_ne!(pinned, OLDER);
    let repo = Contract::compile(&root());
    let scratch = scratch_tree();
    let dir = scratch.path();

    // Down to the older release.
    regen_or_panic(dir, OLDER);
    let old_spec = read_spec(dir).unwrap().expect("regen wrote spec/ir.json").1;
    assert_eq!(old_spec.source.version, OLDER);
    check_at(dir).unwrap_or_else(|e| panic!("the tree regenerated from {OLDER}: {e:#}"));
    let old = Contract::compile(dir);
    let mut shared = 0;
    let mut retyped = Vec::new();
    for (key @ (message, field), (number, ty)) in &repo.fields {
        match old.fields.get(key) {
            Some((n, t)) if t == ty => {
                assert_eq!(
                    n, number,
                    "{message}.{field}: number {number} at {pinned}, {n} at {OLDER}"
                );
                shared += 1;
            }
            // Retyped: the pinned number must not carry the other type.
            Some((n, t)) => {
                assert_ne!(n, number, "{message}.{field}: {ty} and {t} share a number");
                let short = message.rsplit('.').next().unwrap_or(message);
                retyped.push((short.to_string(), field.clone()));
            }
            None => {}
        }
        // A pinned field the older release lacks (or retyped) keeps its number reserved there.
        if old.reserved.contains_key(message)
            && old.fields.get(key).is_none_or(|(n, _)| n != number)
        {
            assert!(
                old.reserved[message].contains(number),
                "{message}.{field}: {number} is not reserved at {OLDER}"
            );
        }
    }
    for (key @ (e, value), number) in &repo.values {
        if let Some(n) = old.values.get(key) {
            assert_eq!(
                n, number,
                "{e}.{value}: {number} at {pinned}, {n} at {OLDER}"
            );
        }
    }
    assert!(shared > 1000, "only {shared} fields shared with {OLDER}");
    let down = started.elapsed();
    commit_all(dir);

    // Back to the pinned release.
    regen_or_panic(dir, &pinned);
    // As if the older tree had been committed: `buf breaking` against it must report nothing
    // but the retyped fields (a JSON name now carrying another type); the fields that come back
    // drop their reservations, which the lock accounts for.
    let problems = proto_checks::validate(dir).expect("validating the round-tripped proto");
    let unexplained: Vec<&str> = problems
        .iter()
        .flat_map(|p| p.lines().skip(1))
        .filter(|l| !l.trim().is_empty())
        .filter(|l| {
            !retyped
                .iter()
                .any(|(m, f)| l.contains(&format!("with name \"{f}\" on message \"{m}\"")))
        })
        .collect();
    assert!(
        unexplained.is_empty() && problems.len() <= 1,
        "back at {pinned} against the committed {OLDER} tree:\n{}",
        problems.join("\n")
    );
    let back = Contract::compile(dir);
    assert!(
        back.reserved.keys().eq(repo.reserved.keys()),
        "the round trip through {OLDER} changed the set of messages"
    );
    assert!(
        back.fields == repo.fields && back.values == repo.values,
        "the round trip through {OLDER} changed the contract's fields"
    );
    // The only contract change: each message reserves the numbers its fields had at the older
    // release and no longer use (fields only the older release has, or its retyped ones).
    for ((message, reserved), had) in back.reserved.iter().zip(repo.reserved.values()) {
        let gained: BTreeSet<i32> = reserved.difference(had).copied().collect();
        let expected: BTreeSet<i32> = old
            .numbers_of(message)
            .difference(&back.numbers_of(message))
            .copied()
            .collect();
        assert!(reserved.is_superset(had), "{message}: reservations lost");
        assert_eq!(gained, expected, "{message}: reserved numbers gained");
    }
    assert_same_tree_but_reservations(dir);
    println!(
        "{OLDER}: {shared} fields shared with {pinned} kept their numbers ({} retyped field(s) took new ones: {}); \
         down {down:.1?}, round trip {:.1?}",
        retyped.len(),
        retyped
            .iter()
            .map(|(m, f)| format!("{m}.{f}"))
            .collect::<Vec<_>>()
            .join(", "),
        started.elapsed()
    );
}

/// Every file of the round-tripped tree equals the repository's, except for what the lock's new
/// reservations change: `reserved` lines in the proto, the serialized descriptors of the Python
/// modules of the files that gained them, the contract hash, and the lock's bookkeeping.
fn assert_same_tree_but_reservations(dir: &Path) {
    let ours = tree_files(&root());
    assert_eq!(
        tree_files(dir),
        ours,
        "the round trip changed the set of files"
    );
    let differing: Vec<&String> = ours
        .iter()
        .filter(|rel| read(&root(), rel) != read(dir, rel))
        .collect();
    let proto_changed: BTreeSet<String> = differing
        .iter()
        .filter_map(|rel| rel.strip_prefix(&format!("{ROOT}/{DIR}/")))
        .filter_map(|f| f.strip_suffix(".proto"))
        .map(str::to_string)
        .collect();
    let no_reserved = |text: String| {
        text.lines()
            .filter(|l| !l.trim_start().starts_with("reserved "))
            .collect::<Vec<_>>()
            .join("\n")
    };
    let no_hash = |text: String| {
        text.lines()
            .filter(|l| !l.contains("CONTRACT_HASH"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    for rel in differing {
        let (repo, back) = (read(&root(), rel), read(dir, rel));
        let pb2_module = rel
            .rsplit_once("/_pb/")
            .and_then(|(_, f)| f.strip_suffix("_pb2.py"));
        if rel.ends_with(".proto") {
            assert_eq!(
                no_reserved(repo),
                no_reserved(back),
                "{rel}: differs in more than `reserved` lines"
            );
        } else if rel == SPEC_LOCK {
            assert_same_lock_but_reservations(&repo, &back);
        } else if let Some(module) = pb2_module {
            assert!(
                proto_changed.contains(module),
                "{rel} differs, but {module}.proto gained no reservation"
            );
        } else {
            assert!(!proto_changed.is_empty(), "{rel} differs");
            assert_eq!(
                no_hash(repo),
                no_hash(back),
                "{rel}: differs in more than CONTRACT_HASH"
            );
        }
    }
}

/// The lock after the round trip: every message's fields exactly as before; per message only
/// `next`, `reserved` and `retired` may have grown; extra messages only for what the older
/// release alone had.
fn assert_same_lock_but_reservations(repo: &str, back: &str) {
    let repo = FieldLock::from_json(repo).expect("the repository's lock parses");
    let back = FieldLock::from_json(back).expect("the round-tripped lock parses");
    for (name, before) in &repo.messages {
        let after = back
            .messages
            .get(name)
            .unwrap_or_else(|| panic!("lock: {name} lost"));
        assert_eq!(after.fields, before.fields, "lock: {name}'s fields changed");
        assert!(after.next >= before.next, "lock: {name}'s next went down");
        let gained: Vec<u32> = after
            .reserved
            .iter()
            .filter(|r| !before.reserved.contains(r))
            .map(|r| r.number)
            .collect();
        assert!(
            gained.iter().all(|n| *n >= before.next),
            "lock: {name} reserves a number it had handed out before: {gained:?}"
        );
        for n in gained {
            assert!(
                after.retired.values().any(|f| f.number == n),
                "lock: {name} reserves {n} but does not say which field had it"
            );
        }
    }
    for (name, entry) in &back.messages {
        if !repo.messages.contains_key(name) {
            assert!(
                entry.reserved.is_empty() && entry.retired.is_empty(),
                "lock: {name} exists only at {OLDER}, yet has reservations"
            );
        }
    }
}
