//! Walks `rules/`: every rule compiles without errors, every example behaves, and each pack's
//! plan, example verdicts and results are pinned by a snapshot.

use crate::util;
use scry_engine::compile::{self, Sources};
use scry_engine::diag::Severity;
use scry_engine::exec::value_to_json;
use scry_engine::plan::Plan;
use scry_engine::schema::Catalog;
use std::fmt::Write as _;
use std::sync::Arc;

#[test]
fn every_pack_compiles_tests_itself_and_is_pinned() {
    let mut packs = util::files(&util::path("rules"), "scry");
    packs.extend(util::files(&util::path("tests/data/features"), "scry"));
    assert!(!packs.is_empty(), "no rule packs under rules/");
    for file in packs {
        let rel = file
            .strip_prefix(util::root())
            .unwrap()
            .display()
            .to_string();
        let mut sources = Sources::default();
        sources.add(rel.clone(), std::fs::read_to_string(&file).unwrap());
        let compiled = compile::compile(&sources, Arc::new(Catalog::builtin()));
        let problems: Vec<_> = compiled
            .diagnostics
            .iter()
            .filter(|d| d.severity >= Severity::Error)
            .collect();
        assert!(problems.is_empty(), "{rel}: {problems:#?}");
        let plan = Plan::new(compiled.rules);
        let mut snap = String::new();
        writeln!(snap, "{plan}").unwrap();
        for ri in 0..plan.rules.len() {
            let rule = &plan.rules[ri];
            assert!(
                !rule.examples.is_empty(),
                "{rel}: rule {} has no examples",
                rule.name
            );
            let report = scry_engine::testing::check_examples(&plan, ri, 0);
            writeln!(snap, "examples of {}:", rule.name).unwrap();
            for c in &report.cases {
                assert!(
                    c.ok,
                    "{rel}: rule {} example {:?}: expected {}, got {}",
                    rule.name, c.label, c.expected, c.got
                );
                writeln!(snap, "  {} -> {}", c.label, c.got).unwrap();
            }
            writeln!(snap, "results of {} over its examples:", rule.name).unwrap();
            for r in &report.results {
                let cols: Vec<String> = rule
                    .output
                    .iter()
                    .zip(&r.values)
                    .map(|(c, v)| format!("{}={}", c.name, value_to_json(v)))
                    .collect();
                writeln!(snap, "  {}", cols.join(" ")).unwrap();
            }
        }
        let name = rel.replace(['/', '\\', '.'], "_");
        insta::assert_snapshot!(name, snap);
    }
}
