//! One benchmark figure beside its baseline, printed as a `BENCH-FIGURE <json>` line that
//! `cargo xtask bench` collects into its summary table and `target/bench/summary.json`.
//!
//! Shared by the benches with `#[path = "…/tools/bench_figure.rs"] mod bench_figure;` (a file,
//! not a crate: the benches need nothing else from each other).
#![allow(dead_code)]

use std::time::Duration;

/// Which way is better for a figure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Better {
    /// Times, memory: the goal is a maximum ratio ours / baseline.
    Lower,
    /// Throughput: the goal is a minimum ratio ours / baseline.
    Higher,
}

/// Summary statistics of one series of samples (per-call times, or per-round throughputs).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stats {
    pub median: f64,
    pub p99: f64,
    pub min: f64,
    pub max: f64,
    pub samples: usize,
}

impl Stats {
    /// Statistics of `samples` (any unit); `None` when there are none or one is not finite.
    pub fn of(samples: &[f64]) -> Option<Stats> {
        if samples.is_empty() || samples.iter().any(|s| !s.is_finite()) {
            return None;
        }
        let mut sorted = samples.to_vec();
        sorted.sort_by(f64::total_cmp);
        let at = |q: f64| sorted[((sorted.len() - 1) as f64 * q).round() as usize];
        Some(Stats {
            median: at(0.5),
            p99: at(0.99),
            min: sorted[0],
            max: sorted[sorted.len() - 1],
            samples: sorted.len(),
        })
    }

    /// Statistics of durations, in microseconds.
    pub fn of_micros(samples: &[Duration]) -> Option<Stats> {
        let micros: Vec<f64> = samples.iter().map(|d| d.as_secs_f64() * 1e6).collect();
        Stats::of(&micros)
    }
}

/// A figure: ours beside the baseline measured in the same run, and the goal on their ratio.
#[derive(Debug, Clone)]
pub struct Figure {
    /// What is measured, e.g. "hook round trip, async handler".
    pub name: String,
    /// What ours is compared with, e.g. "raw grpc.aio plugin".
    pub baseline_name: String,
    /// Unit of the statistics, e.g. "µs", "MB/s", "ms", "MiB".
    pub unit: String,
    pub ours: Stats,
    pub baseline: Stats,
    pub better: Better,
    /// The goal on ours.median / baseline.median: a maximum for `Lower`, a minimum for `Higher`.
    pub goal_ratio: f64,
    /// Why a goal is not met, when it is known and measured (printed beside the figure).
    pub note: String,
}

impl Figure {
    pub fn ratio(&self) -> f64 {
        self.ours.median / self.baseline.median
    }

    pub fn met(&self) -> bool {
        match self.better {
            Better::Lower => self.ratio() <= self.goal_ratio,
            Better::Higher => self.ratio() >= self.goal_ratio,
        }
    }

    /// The `BENCH-FIGURE` line (every bench crate has serde_json).
    pub fn line(&self) -> String {
        // Non-finite numbers become null, as JSON has no NaN.
        let stats = |s: &Stats| {
            serde_json::json!({
                "median": s.median, "p99": s.p99, "min": s.min, "max": s.max, "samples": s.samples,
            })
        };
        let figure = serde_json::json!({
            "name": self.name,
            "baseline_name": self.baseline_name,
            "unit": self.unit,
            "ours": stats(&self.ours),
            "baseline": stats(&self.baseline),
            "better": match self.better {
                Better::Lower => "lower",
                Better::Higher => "higher",
            },
            "goal_ratio": self.goal_ratio,
            "ratio": self.ratio(),
            "met": self.met(),
            "note": self.note,
        });
        format!("BENCH-FIGURE {figure}")
    }

    /// Prints the line for `cargo xtask bench` and a readable one for a person.
    pub fn report(&self) {
        println!(
            "{}: ours {:.1} {} (p99 {:.1}, {:.1}–{:.1}) vs {} {:.1} {} (p99 {:.1}) = {:.2}× (goal {}{:.2}×: {})",
            self.name,
            self.ours.median,
            self.unit,
            self.ours.p99,
            self.ours.min,
            self.ours.max,
            self.baseline_name,
            self.baseline.median,
            self.unit,
            self.baseline.p99,
            self.ratio(),
            match self.better {
                Better::Lower => "≤ ",
                Better::Higher => "≥ ",
            },
            self.goal_ratio,
            if self.met() { "met" } else { "not met" },
        );
        println!("{}", self.line());
    }
}

/// Fails the bench (panics, naming the figure) when a baseline is outside the range a working
/// machine can give: then the measurement, not the code, is broken (e.g. an in-process unary
/// call slower than 1 ms means the bench measures thread wake-ups).
pub fn check_plausible(what: &str, baseline: &Stats, low: f64, high: f64, unit: &str) {
    assert!(
        baseline.median >= low && baseline.median <= high,
        "{what}: baseline median {:.1} {unit} is outside its plausible range {low}–{high} {unit}: the bench is measuring something else",
        baseline.median
    );
}
