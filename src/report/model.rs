//! The figures of the report, gathered from the run's outcome and the result rows.

use crate::sinks::fields::{self, Severity};
use scry_engine::plan::Plan;
use scry_engine::run::RunOutcome;
use std::collections::BTreeMap;

/// One input as the run summary shows it.
pub struct Input {
    pub name: String,
    pub format: String,
    pub records: u64,
    pub error: Option<String>,
}

/// One rule that gave results or suppressed something.
pub struct RuleHits {
    pub id: String,
    pub name: String,
    pub title: String,
    pub severity: Severity,
    pub results: u64,
    pub matching: u64,
    /// (exclusion name, records it suppressed), only those that suppressed any.
    pub exclusions: Vec<(String, u64)>,
    /// Rows left out when the group budget was spent.
    pub over_budget: u64,
}

/// One result row, ready to show.
pub struct ResultLine {
    pub rule: String,
    pub title: String,
    pub severity: Severity,
    pub device: String,
    pub user: String,
    /// (first, last) ticks where the row says.
    pub first: Option<i64>,
    pub last: Option<i64>,
    /// `Column=value, ...`.
    pub details: String,
}

/// First and last seen of one rule on one device.
pub struct Span {
    pub rule: String,
    pub title: String,
    pub severity: Severity,
    pub first: i64,
    pub last: i64,
    pub rows: u64,
}

/// Everything the page shows.
pub struct Model {
    pub now: i64,
    pub read: u64,
    pub evaluated: u64,
    pub skipped: u64,
    pub ruled_out: u64,
    pub inputs: Vec<Input>,
    /// Skips by reason.
    pub skip_reasons: Vec<(String, u64)>,
    /// The first skipped records: (file, line, message).
    pub skip_reports: Vec<(String, u64, String)>,
    /// Skipped records reported but not listed individually.
    pub skip_unlisted: u64,
    /// Rules with results or suppressions, in plan order.
    pub rules: Vec<RuleHits>,
    /// All rules of the run.
    pub rule_count: usize,
    /// Results per severity, most severe first, only those with results.
    pub severities: Vec<(Severity, u64)>,
    pub results: Vec<ResultLine>,
    /// Per device (sorted by name), its rules' spans (sorted by first seen, then rule id).
    pub timeline: Vec<(String, Vec<Span>)>,
    /// Result rows with no device or no time, left out of the timeline.
    pub untimed: u64,
}

impl Model {
    /// The figures of a run.
    pub fn of(plan: &Plan, outcome: &RunOutcome, now: i64) -> Model {
        let st = &outcome.stats;
        let inputs = outcome
            .inputs
            .iter()
            .map(|i| Input {
                name: i.name.clone(),
                format: i.stats.format.to_string(),
                records: i.stats.records,
                error: i.error.clone(),
            })
            .collect();
        let rules = plan
            .rules
            .iter()
            .zip(&st.rules)
            .filter(|(_, rs)| rs.results > 0 || rs.suppressed.iter().any(|n| *n > 0))
            .map(|(r, rs)| RuleHits {
                id: r.id().to_string(),
                name: r.name.clone(),
                title: fields::title(r).to_string(),
                severity: Severity::of(r),
                results: rs.results,
                matching: rs.passed,
                exclusions: r
                    .exclusions
                    .iter()
                    .zip(&rs.suppressed)
                    .filter(|(_, n)| **n > 0)
                    .map(|(x, n)| (x.name.clone(), *n))
                    .collect(),
                over_budget: rs.over_budget,
            })
            .collect();
        let mut by_sev: BTreeMap<Severity, u64> = BTreeMap::new();
        let mut results = Vec::new();
        let mut lanes: BTreeMap<String, BTreeMap<usize, Span>> = BTreeMap::new();
        let mut untimed = 0;
        for row in &outcome.results {
            let rule = &plan.rules[row.rule];
            let sev = Severity::of(rule);
            *by_sev.entry(sev).or_default() += 1;
            let (dname, did) = fields::device(rule, row);
            let device = dname.or(did);
            let (uname, uid) = fields::user(rule, row);
            let first = fields::time(rule, row).map(|(t, _)| t);
            let last = fields::last_time(rule, row).or(first);
            match (&device, first, last) {
                (Some(d), Some(f), Some(l)) => {
                    let s = lanes
                        .entry(d.clone())
                        .or_default()
                        .entry(row.rule)
                        .or_insert(Span {
                            rule: rule.id().to_string(),
                            title: fields::title(rule).to_string(),
                            severity: sev,
                            first: f,
                            last: l,
                            rows: 0,
                        });
                    s.first = s.first.min(f);
                    s.last = s.last.max(l);
                    s.rows += 1;
                }
                _ => untimed += 1,
            }
            results.push(ResultLine {
                rule: rule.id().to_string(),
                title: fields::title(rule).to_string(),
                severity: sev,
                device: device.unwrap_or_default(),
                user: uname.or(uid).unwrap_or_default(),
                first,
                last,
                details: fields::message(rule, row)
                    .split_once(": ")
                    .map(|(_, d)| d.to_string())
                    .unwrap_or_default(),
            });
        }
        let timeline = lanes
            .into_iter()
            .map(|(d, spans)| {
                let mut spans: Vec<Span> = spans.into_values().collect();
                spans.sort_by(|a, b| a.first.cmp(&b.first).then_with(|| a.rule.cmp(&b.rule)));
                (d, spans)
            })
            .collect();
        Model {
            now,
            read: st.read,
            evaluated: st.evaluated,
            skipped: st.skipped_total(),
            ruled_out: st.ruled_out,
            inputs,
            skip_reasons: st.skipped.iter().map(|(r, n)| (r.clone(), *n)).collect(),
            skip_reports: outcome
                .reports
                .iter()
                .map(|r| {
                    (
                        outcome.inputs[r.input].name.clone(),
                        r.line,
                        r.message.clone(),
                    )
                })
                .collect(),
            skip_unlisted: outcome
                .reported
                .saturating_sub(outcome.reports.len() as u64),
            rules,
            rule_count: plan.rules.len(),
            severities: by_sev.into_iter().rev().collect(),
            results,
            timeline,
            untimed,
        }
    }
}
