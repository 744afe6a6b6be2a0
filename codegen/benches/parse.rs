//! Full front-end run on the pinned Mattermost module (goal: well under 1 s in release).
//!
//! `cargo xtask bench` runs it; the module comes from the Go module cache via `go mod download`.

use std::path::Path;

use codegen::Ir;
use codegen::ir::SourceInfo;
use codegen::source::{self, SourceSet};
use criterion::{Criterion, criterion_group, criterion_main};

fn pinned_dir() -> std::path::PathBuf {
    let spec_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../spec/ir.json");
    let spec = std::fs::read_to_string(&spec_path).expect("spec/ir.json exists");
    let version = Ir::from_json(&spec)
        .expect("spec/ir.json parses")
        .source
        .version;
    source::download_module(&version).unwrap_or_else(|e| panic!("{e}"))
}

fn bench_parse(c: &mut Criterion) {
    let dir = pinned_dir();
    let info = SourceInfo {
        module: source::MODULE_PATH.into(),
        version: "bench".into(),
    };
    let set = SourceSet::from_dir(&dir).expect("module readable");
    let bytes: usize = set.files.iter().map(|f| f.text.len()).sum();
    println!(
        "pinned module: {} files, {} KiB of Go",
        set.files.len(),
        bytes / 1024
    );

    let mut group = c.benchmark_group("front_end");
    group
        .sample_size(10)
        .measurement_time(std::time::Duration::from_secs(8));
    group.bench_function("parse (in memory)", |b| {
        b.iter(|| codegen::parse::parse(&set, info.clone()).expect("parses"))
    });
    group.bench_function("read + parse", |b| {
        b.iter(|| {
            let set = SourceSet::from_dir(&dir).expect("module readable");
            codegen::parse::parse(&set, info.clone()).expect("parses")
        })
    });
    group.bench_function("read + parse + serialise spec", |b| {
        b.iter(|| {
            let set = SourceSet::from_dir(&dir).expect("module readable");
            codegen::parse::parse(&set, info.clone())
                .expect("parses")
                .to_json()
        })
    });
    group.finish();
}

criterion_group!(benches, bench_parse);
criterion_main!(benches);
