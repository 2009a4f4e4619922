//! Rules test themselves: run each rule's example events and compare verdicts.
//!
//! `scry test` and the snapshot tests in `tests/` both call [`check_examples`], so what a user
//! runs locally is exactly what CI pins.

use crate::compile::{ExampleCase, ExampleEvent, Expectation, Rule};
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
///
/// A single event is judged by its verdict (did it pass the conditions, was it suppressed);
/// a scenario `[...]`, and every example of a `threshold` or `sequence` rule, by the rule's
/// result rows over its events together with the `given` ones, each scenario on its own.
pub fn check_examples(plan: &Plan, ri: usize, default_now: i64) -> ExampleReport {
    let rule = &plan.rules[ri];
    let now = rule.examples_now.unwrap_or(default_now);
    // One executor: each verdict also feeds the rule's aggregation, so `finish` gives the
    // rule's results over all its examples together.
    let mut exec = Executor::new(plan, now, None);
    let fields = exec.fields().clone();
    let mut row = Row::new(&fields);
    let mut cases = Vec::new();
    let mut scenario_results = Vec::new();
    // `given` events come first whatever their written order: they are the context (the
    // contents of `distinct` sets, a history) the judged examples are decided in.
    let (given, judged): (Vec<_>, Vec<_>) = rule
        .examples
        .iter()
        .partition(|c| c.expect == Expectation::Given);
    for c in given.iter().copied().chain(judged) {
        let expected = match &c.expect {
            Expectation::Given => "context".to_string(),
            Expectation::Match => match c.count {
                Some(n) => format!("{n} result row(s)"),
                None => "match".to_string(),
            },
            Expectation::NoMatch => "no match".to_string(),
            Expectation::Suppressed(i) => format!("suppressed by \"{}\"", rule.exclusions[*i].name),
        };
        let outcome = |ok: bool, got: String| CaseOutcome {
            label: c.label.clone(),
            ok,
            got,
            expected: expected.clone(),
        };
        if c.expect != Expectation::Given && (c.scenario || rule.timeline.is_some()) {
            match run_scenario(plan, ri, now, &given, &c.events) {
                Err(e) => cases.push(outcome(false, e)),
                Ok((rows, suppressed)) => {
                    let n = rows.len() as u64;
                    let ok = match (&c.expect, c.count) {
                        (Expectation::Match, Some(k)) => n == k,
                        (Expectation::Match, None) => n > 0,
                        (Expectation::NoMatch, _) => n == 0 && suppressed.iter().all(|&s| s == 0),
                        (Expectation::Suppressed(i), _) => {
                            n == 0 && suppressed.get(*i).is_some_and(|&s| s > 0)
                        }
                        (Expectation::Given, _) => true,
                    };
                    let got = match suppressed.iter().position(|&s| s > 0) {
                        Some(i) if n == 0 => {
                            format!("suppressed by \"{}\"", rule.exclusions[i].name)
                        }
                        _ if n == 0 => "no match".to_string(),
                        _ => format!("{n} result row(s)"),
                    };
                    cases.push(outcome(ok, got));
                    scenario_results.extend(rows);
                }
            }
            continue;
        }
        for ev in &c.events {
            if let Err(e) = row_from_json(&ev.json, &fields, &mut row) {
                cases.push(outcome(false, format!("unreadable event: {e}")));
                continue;
            }
            row.set_table_hint(&ev.table);
            if c.expect == Expectation::Given {
                if let Err(skip) = exec.process(&row) {
                    cases.push(outcome(false, format!("skipped: {skip}")));
                }
                continue;
            }
            let got = match exec.verdict(&row, ri) {
                Ok(v) => v,
                Err(skip) => {
                    cases.push(outcome(false, format!("skipped: {skip}")));
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
            cases.push(outcome(ok, got_text));
        }
    }
    let mut results: Vec<ResultRow> = if rule.timeline.is_some() {
        Vec::new()
    } else {
        exec.finish().into_iter().filter(|r| r.rule == ri).collect()
    };
    results.extend(scenario_results);
    ExampleReport {
        rule: ri,
        cases,
        results,
    }
}

/// Runs one scenario (the `given` events, then its own, in Timestamp order) through a fresh
/// executor: the rule's result rows and how many events each exclusion suppressed.
fn run_scenario(
    plan: &Plan,
    ri: usize,
    now: i64,
    given: &[&ExampleCase],
    events: &[ExampleEvent],
) -> Result<(Vec<ResultRow>, Vec<u64>), String> {
    let mut exec = Executor::new(plan, now, None);
    let fields = exec.fields().clone();
    let mut rows = Vec::new();
    for ev in given.iter().flat_map(|c| &c.events).chain(events) {
        let mut row = Row::new(&fields);
        row_from_json(&ev.json, &fields, &mut row).map_err(|e| format!("unreadable event: {e}"))?;
        row.set_table_hint(&ev.table);
        let ts = exec.record_time(&row);
        rows.push((ts, row));
    }
    // The written order need not be the timeline's; the operators do not depend on it, the
    // sort only makes a plain rule's rows come out in time order.
    rows.sort_by_key(|(ts, _)| *ts);
    for (_, row) in &rows {
        exec.process(row)
            .map_err(|skip| format!("skipped: {skip}"))?;
    }
    let results = exec.finish().into_iter().filter(|r| r.rule == ri).collect();
    Ok((results, exec.stats.rules[ri].suppressed.clone()))
}
