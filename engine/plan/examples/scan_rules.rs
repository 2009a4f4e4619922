//! Times the prefilter's own scan (`Anchors::scanner`, with its extra literals and windows
//! steered off column keys) of a rule folder over a file, in CPU time (Linux only):
//!
//! ```sh
//! scan_rules RULES_DIR DATA [PASSES]
//! ```
#[path = "common/mod.rs"]
mod common;

use common::{cpu_seconds, files};
use scry_compile::compile::{compile, Sources};
use scry_compile::schema::Catalog;
use scry_plan::prefilter::Prefilter;
use scry_plan::Plan;
use std::path::Path;
use std::sync::Arc;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let mut sources = Sources::default();
    let mut paths = Vec::new();
    files(Path::new(&args[1]), &mut paths);
    for p in paths {
        let text = std::fs::read_to_string(&p).expect("rule file");
        sources.add(p.display().to_string(), text);
    }
    let compiled = compile(&sources, Arc::new(Catalog::builtin()));
    assert!(!compiled.has_errors(), "{:?}", compiled.diagnostics);
    let plan = Plan::new(compiled.rules);
    // As a run builds it: `first` is the first pass of a run with sets (their bodies
    // alone); otherwise the second pass's, the sets known (here empty, as on storage lines).
    let empty: Vec<scry_compile::ir::ConstList> = plan
        .sets
        .iter()
        .map(|_| scry_compile::ir::ConstList {
            values: Vec::new(),
            folded: Default::default(),
            exact: Default::default(),
        })
        .collect();
    let first = std::env::var("FIRST").is_ok();
    let sets = (!plan.sets.is_empty() && !first).then_some(&empty[..]);
    let Prefilter::On(a) = Prefilter::build_with_sets(&plan, None, first, sets) else {
        panic!("prefilter off")
    };
    let lit = a.scanner();
    let data = std::fs::read(&args[2]).expect("data");
    let runs: u32 = args.get(3).map_or(5, |r| r.parse().expect("passes"));
    let mut hits = 0u64;
    let mut lits: Vec<String> = a
        .anchors
        .iter()
        .map(|(t, _)| t.to_ascii_lowercase())
        .collect();
    lits.sort_unstable();
    lits.dedup();
    let mut by_id = std::collections::HashMap::<u32, u64>::new();
    // CPU time, not wall time: the machine is shared.
    let cpu0 = cpu_seconds();
    for _ in 0..runs {
        lit.each_match(&data, |_, id| {
            hits += 1;
            *by_id.entry(id).or_default() += 1;
            true
        });
    }
    let per_pass = (cpu_seconds() - cpu0) / f64::from(runs);
    let mut top: Vec<_> = by_id.into_iter().collect();
    top.sort_by_key(|&(_, n)| std::cmp::Reverse(n));
    for (id, n) in top.iter().take(12) {
        let name = lits
            .get(*id as usize)
            .map_or(format!("extra {id}"), |t| format!("{t:?}"));
        println!("  {name}: {}", n / u64::from(runs));
    }
    println!(
        "{}: {:.2} GB/s, {} hits per pass",
        lit.describe(),
        data.len() as f64 / per_pass / 1e9,
        hits / u64::from(runs)
    );
}
