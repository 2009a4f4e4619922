//! Rules test themselves: run each rule's example events and compare verdicts.
//!
//! `scry test` and the snapshot tests in `tests/` both call [`check_examples`], so what a user
//! runs locally is exactly what CI pins.

use crate::compile::{Expectation, Rule};
use crate::exec::{Executor, ResultRow, Verdict};
use crate::io::row_from_json;
use crate::plan::Plan;
use crate::row::Row;

/// The outcome of one example.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseOutcome {
    /// The example's label.
    pub label: String,
    /// True when the rule did what the example expects.
    pub ok: bool,
    /// What the rule did, in words.
    pub got: String,
    /// What was expected, in words.
    pub expected: String,
}

/// The examples of one rule, checked.
#[derive(Debug, Clone)]
pub struct ExampleReport {
    /// Rule index in the plan.
    pub rule: usize,
    /// One outcome per example, in written order.
    pub cases: Vec<CaseOutcome>,
    /// The rule's result rows over all its examples together.
    pub results: Vec<ResultRow>,
}

impl ExampleReport {
    /// True when every example behaved.
    pub fn passed(&self) -> bool {
        self.cases.iter().all(|c| c.ok)
    }
}

fn describe(rule: &Rule, v: &Verdict) -> String {
    match v {
        Verdict::Match => "match".into(),
        Verdict::NoMatch => "no match".into(),
        Verdict::Suppressed(i) => format!("suppressed by \"{}\"", rule.exclusions[*i].name),
    }
}

/// Checks rule `ri`'s examples at its `examples at` clock (or `default_now`).
pub fn check_examples(plan: &Plan, ri: usize, default_now: i64) -> ExampleReport {
    let rule = &plan.rules[ri];
    let now = rule.examples_now.unwrap_or(default_now);
    // One executor: each verdict also feeds the rule's aggregation, so `finish` gives the
    // rule's results over all its examples together.
    let mut exec = Executor::new(plan, now, None);
    let fields = exec.fields().clone();
    let mut row = Row::new(&fields);
    let mut cases = Vec::new();
    // `given` events come first whatever their written order: they are the context (the
    // contents of `distinct` sets) the judged examples are decided in.
    let (given, judged): (Vec<_>, Vec<_>) = rule
        .examples
        .iter()
        .partition(|c| c.expect == Expectation::Given);
    for c in given.into_iter().chain(judged) {
        let expected = match &c.expect {
            Expectation::Given => "context".to_string(),
            Expectation::Match => "match".to_string(),
            Expectation::NoMatch => "no match".to_string(),
            Expectation::Suppressed(i) => format!("suppressed by \"{}\"", rule.exclusions[*i].name),
        };
        if let Err(e) = row_from_json(&c.json, &fields, &mut row) {
            cases.push(CaseOutcome {
                label: c.label.clone(),
                ok: false,
                got: format!("unreadable event: {e}"),
                expected,
            });
            continue;
        }
        row.set_table_hint(&c.table);
        if c.expect == Expectation::Given {
            if let Err(skip) = exec.process(&row) {
                cases.push(CaseOutcome {
                    label: c.label.clone(),
                    ok: false,
                    got: format!("skipped: {skip}"),
                    expected,
                });
            }
            continue;
        }
        let got = match exec.verdict(&row, ri) {
            Ok(v) => v,
            Err(skip) => {
                cases.push(CaseOutcome {
                    label: c.label.clone(),
                    ok: false,
                    got: format!("skipped: {skip}"),
                    expected,
                });
                continue;
            }
        };
        let ok = match (&c.expect, got) {
            (Expectation::Match, Verdict::Match) => true,
            (Expectation::NoMatch, Verdict::NoMatch) => true,
            (Expectation::Suppressed(i), Verdict::Suppressed(j)) => *i == j,
            _ => false,
        };
        let mut got_text = describe(rule, &got);
        if let (Expectation::Match, Verdict::Suppressed(_)) = (&c.expect, got) {
            got_text.push_str(": the exclusion hides a declared true positive");
        }
        cases.push(CaseOutcome {
            label: c.label.clone(),
            ok,
            got: got_text,
            expected,
        });
    }
    let results = exec.finish().into_iter().filter(|r| r.rule == ri).collect();
    ExampleReport {
        rule: ri,
        cases,
        results,
    }
}
