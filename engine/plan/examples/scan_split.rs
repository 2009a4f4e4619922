//! Times `scan::Literals` over a file for several splits, in CPU time (a quick loop for
//! tuning on a shared machine, Linux only; the criterion bench is `benches/scan.rs`):
//!
//! ```sh
//! COMMON=keys.txt scan_split ANCHORS.json DATA [LONG FEW]...
//! ```
//!
//! `ANCHORS.json` is a JSON array of strings; `COMMON` names text whose grams the sampled
//! filter's windows avoid (the prefilter passes the column keys).
// This example reads no rule folder: part of `common` is not used here.
#[allow(dead_code)]
#[path = "common/mod.rs"]
mod common;

use common::cpu_seconds;
use scry_plan::scan::{Literals, Split};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let anchors: Vec<String> =
        serde_json::from_str(&std::fs::read_to_string(&args[1]).expect("anchors")).expect("json");
    let data = std::fs::read(&args[2]).expect("data");
    for pair in args[3..].chunks(2) {
        let split = Split {
            long: pair[0].parse().expect("long"),
            few: pair[1].parse().expect("few"),
        };
        let common = std::env::var("COMMON")
            .map(|f| std::fs::read(f).expect("common"))
            .unwrap_or_default();
        let lit = Literals::with_split(anchors.iter().map(String::as_bytes), &common, split);
        let mut out = Vec::new();
        // CPU time, not wall time: the machine is shared.
        let runs = 20;
        let cpu0 = cpu_seconds();
        for _ in 0..runs {
            out.clear();
            lit.find_all(&data, &mut out);
        }
        let per_pass = (cpu_seconds() - cpu0) / f64::from(runs);
        println!(
            "{:?} {}: {:.2} GB/s, {} hits",
            split,
            lit.describe(),
            data.len() as f64 / per_pass / 1e9,
            out.len()
        );
    }
}
