//! `--format timesketch`: JSON lines Timesketch imports as a timeline: its mandatory
//! `message`, `datetime` (ISO 8601) and `timestamp_desc`, `timestamp` in microseconds, then
//! the rule (`rule`, `title`, `severity`, ATT&CK in `tag`) and the row's columns.
//!
//! The event time is the row's first time column (`Timestamp`, `TimeGenerated`, a summarized
//! row's `FirstSeen`, ...; `timestamp_desc` names the column). A row with no time column gets
//! the run's clock, and `timestamp_desc` says so: every row is written, none dropped.
//! A column whose name collides with one of those fields is written as `column.<name>`.

use super::fields::{self, Severity};
use super::RunInfo;
use crate::output::Sink;
use scry_engine::exec::{value_to_json, ResultRow};
use scry_engine::plan::Plan;
use serde_json::{Map, Value as J};
use std::io::{self, Write};

/// The fields this writer sets; columns of these names are renamed.
const OWN: &[&str] = &[
    "message",
    "datetime",
    "timestamp_desc",
    "timestamp",
    "rule",
    "title",
    "severity",
    "tag",
];

/// Writes a line per row as it comes.
pub struct Timesketch<W: Write> {
    out: W,
    info: RunInfo,
}

impl<W: Write> Timesketch<W> {
    /// A Timesketch writer.
    pub fn new(out: W, info: RunInfo) -> Self {
        Timesketch { out, info }
    }
}

impl<W: Write> Sink for Timesketch<W> {
    fn row(&mut self, plan: &Plan, row: &ResultRow) -> io::Result<()> {
        let rule = &plan.rules[row.rule];
        let (ticks, desc) = match fields::time(rule, row) {
            Some((t, column)) => (t, column),
            None => (
                self.info.now,
                "scry run clock (the result row has no time column)".to_string(),
            ),
        };
        let mut o = Map::new();
        o.insert("message".into(), fields::message(rule, row).into());
        o.insert("datetime".into(), fields::rfc3339(ticks).into());
        o.insert("timestamp_desc".into(), desc.into());
        o.insert("timestamp".into(), ticks.div_euclid(10).into());
        o.insert("rule".into(), rule.id().into());
        o.insert("title".into(), fields::title(rule).into());
        if Severity::of(rule) != Severity::Unknown {
            o.insert(
                "severity".into(),
                rule.meta.severity.clone().unwrap_or_default().into(),
            );
        }
        let tags: Vec<J> = rule
            .meta
            .tactics
            .iter()
            .chain(&rule.meta.techniques)
            .map(|t| J::String(t.clone()))
            .collect();
        if !tags.is_empty() {
            o.insert("tag".into(), tags.into());
        }
        for (c, v) in rule.output.iter().zip(&row.values) {
            let key = if OWN.contains(&c.name.as_str()) {
                format!("column.{}", c.name)
            } else {
                c.name.clone()
            };
            o.insert(key, value_to_json(v));
        }
        serde_json::to_writer(&mut self.out, &o)?;
        self.out.write_all(b"\n")
    }
    fn finish(&mut self, _: &Plan) -> io::Result<()> {
        self.out.flush()
    }
}
