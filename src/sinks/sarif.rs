//! `--format sarif`: one SARIF 2.1.0 log (OASIS), one run, for code-scanning dashboards
//! (GitHub code scanning, Azure DevOps, VS Code's SARIF viewer).
//!
//! - `tool.driver.rules`: every rule of the plan, in plan order (a result's `ruleIndex` is its
//!   plan index), with id, name, title as `shortDescription`, description, references as
//!   `help`/`helpUri`, tactics and techniques as `properties.tags`, severity as the default
//!   `level` and as `properties.security-severity` (the CVSS-like score code scanning sorts by).
//! - `results`: one per result row, in the final row order, with the rule, level, a message
//!   naming the row's columns, and the columns themselves under `properties.columns`.
//! - Locations: a result points at its row's event ([`ResultRow::origin`]): the one event of
//!   a row without `summarize`, the first contributing event in input order of a `summarize`
//!   row (the same for any thread count). `physicalLocation.artifactLocation` is that input
//!   (its `index` into `run.artifacts`, which lists every input in input order), with
//!   `region.startLine` in a text input (JSON lines, a JSON document, CSV: the line where the
//!   record starts, counted after decompression). A Parquet or Arrow row has no line: the
//!   location carries `properties.row` instead; an EVTX record `properties.record`. Standard
//!   input is an artifact with a description and no URI. A row with no event (`summarize`
//!   without `by` over nothing) has no location.

use super::fields::{self, Severity};
use super::RunInfo;
use crate::output::Sink;
use scry_engine::compile::Rule;
use scry_engine::exec::{value_to_json, ResultRow};
use scry_engine::io::Framing;
use scry_engine::origin::Origin;
use scry_engine::plan::Plan;
use serde_json::{json, Map, Value as J};
use std::io::{self, Write};

/// The schema URI of SARIF 2.1.0 (errata 01), as OASIS publishes it.
const SCHEMA: &str =
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json";

/// Buffers the rows: the log is one JSON document, rules first.
pub struct Sarif<W: Write> {
    out: W,
    info: RunInfo,
    results: Vec<J>,
}

impl<W: Write> Sarif<W> {
    /// A SARIF writer.
    pub fn new(out: W, info: RunInfo) -> Self {
        Sarif {
            out,
            info,
            results: Vec::new(),
        }
    }
}

/// SARIF's `level` of a rule's severity.
fn level(s: Severity) -> &'static str {
    match s {
        Severity::Critical | Severity::High => "error",
        Severity::Medium | Severity::Unknown => "warning",
        Severity::Low | Severity::Informational => "note",
    }
}

/// The `security-severity` score GitHub code scanning maps back to its bands (critical ≥ 9.0,
/// high 7.0–8.9, medium 4.0–6.9, low 0.1–3.9); none for a rule without a severity.
fn security_severity(s: Severity) -> Option<&'static str> {
    match s {
        Severity::Critical => Some("9.5"),
        Severity::High => Some("8.0"),
        Severity::Medium => Some("5.5"),
        Severity::Low => Some("3.0"),
        Severity::Informational => Some("0.1"),
        Severity::Unknown => None,
    }
}

fn descriptor(rule: &Rule) -> J {
    let sev = Severity::of(rule);
    let m = &rule.meta;
    let mut d = Map::new();
    d.insert("id".into(), rule.id().into());
    d.insert("name".into(), rule.name.clone().into());
    d.insert(
        "shortDescription".into(),
        json!({ "text": fields::title(rule) }),
    );
    if let Some(desc) = &m.description {
        d.insert("fullDescription".into(), json!({ "text": desc }));
    }
    let mut help = m
        .description
        .clone()
        .unwrap_or_else(|| fields::title(rule).to_string());
    if !m.references.is_empty() {
        help.push_str("\n\nReferences:\n");
        for r in &m.references {
            help.push_str("- ");
            help.push_str(r);
            help.push('\n');
        }
    }
    d.insert("help".into(), json!({ "text": help }));
    if let Some(u) = m.references.iter().find(|r| is_uri(r)) {
        d.insert("helpUri".into(), u.clone().into());
    }
    d.insert(
        "defaultConfiguration".into(),
        json!({ "level": level(sev) }),
    );
    let mut props = Map::new();
    let mut tags: Vec<String> = vec!["security".into()];
    tags.extend(m.tactics.iter().cloned());
    tags.extend(
        m.techniques
            .iter()
            .map(|t| format!("attack.{}", t.to_lowercase())),
    );
    props.insert("tags".into(), tags.into());
    if let Some(s) = &m.severity {
        props.insert("severity".into(), s.clone().into());
    }
    if let Some(score) = security_severity(sev) {
        props.insert("security-severity".into(), score.into());
    }
    if !m.tactics.is_empty() {
        props.insert("tactics".into(), m.tactics.clone().into());
    }
    if !m.techniques.is_empty() {
        props.insert("techniques".into(), m.techniques.clone().into());
    }
    d.insert("properties".into(), props.into());
    d.into()
}

/// A reference that is an absolute URI (`helpUri` must be one).
fn is_uri(s: &str) -> bool {
    (s.starts_with("https://") || s.starts_with("http://")) && !s.contains(char::is_whitespace)
}

/// A file name as a URI reference: absolute paths as `file://` URIs, relative ones relative;
/// bytes outside RFC 3986's unreserved set and `/` percent-encoded. `None` for standard input.
pub fn uri(name: &str) -> Option<String> {
    if name == "-" || name == "<stdin>" {
        return None;
    }
    let path = name.replace('\\', "/");
    let mut out = String::new();
    if path.starts_with('/') {
        out.push_str("file://");
    }
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    Some(out)
}

impl<W: Write> Sarif<W> {
    /// The SARIF location of an event: its input, and its line, row or record there.
    fn location(&self, o: Origin) -> Option<J> {
        let name = self.info.inputs.get(o.input)?;
        let mut artifact = Map::new();
        if let Some(u) = uri(name) {
            artifact.insert("uri".into(), u.into());
        }
        artifact.insert("index".into(), o.input.into());
        let mut physical = Map::new();
        physical.insert("artifactLocation".into(), artifact.into());
        let mut loc = Map::new();
        match self.info.framings.get(o.input) {
            Some(Framing::Parquet | Framing::ArrowIpc) => {
                loc.insert("properties".into(), json!({ "row": o.line }));
            }
            Some(Framing::Evtx) => {
                loc.insert("properties".into(), json!({ "record": o.record }));
            }
            // A region's lines start at 1: a line 0 is no place in a text file.
            _ if o.line > 0 => {
                physical.insert("region".into(), json!({ "startLine": o.line }));
            }
            _ => {}
        }
        loc.insert("physicalLocation".into(), physical.into());
        Some(loc.into())
    }
}

impl<W: Write> Sink for Sarif<W> {
    fn row(&mut self, plan: &Plan, row: &ResultRow) -> io::Result<()> {
        let rule = &plan.rules[row.rule];
        let mut columns = Map::new();
        for (c, v) in rule.output.iter().zip(&row.values) {
            columns.insert(c.name.clone(), value_to_json(v));
        }
        let mut r = Map::new();
        r.insert("ruleId".into(), rule.id().into());
        r.insert("ruleIndex".into(), row.rule.into());
        r.insert("level".into(), level(Severity::of(rule)).into());
        r.insert(
            "message".into(),
            json!({ "text": fields::message(rule, row) }),
        );
        if let Some(loc) = row.origin.and_then(|o| self.location(o)) {
            r.insert("locations".into(), json!([loc]));
        }
        r.insert("properties".into(), json!({ "columns": columns }));
        self.results.push(r.into());
        Ok(())
    }

    fn finish(&mut self, plan: &Plan) -> io::Result<()> {
        let rules: Vec<J> = plan.rules.iter().map(descriptor).collect();
        // Every input, in input order, so that a location's `index` is its input's index.
        let artifacts: Vec<J> = self
            .info
            .inputs
            .iter()
            .map(|n| match uri(n) {
                Some(u) => json!({ "location": { "uri": u }, "roles": ["analysisTarget"] }),
                None => json!({
                    "description": { "text": "standard input" },
                    "roles": ["analysisTarget"],
                }),
            })
            .collect();
        let mut run = Map::new();
        run.insert(
            "tool".into(),
            json!({ "driver": {
                "name": "scry",
                "version": super::VERSION,
                "semanticVersion": super::VERSION,
                "rules": rules,
            } }),
        );
        if !artifacts.is_empty() {
            run.insert("artifacts".into(), artifacts.into());
        }
        run.insert("results".into(), std::mem::take(&mut self.results).into());
        let log = json!({ "$schema": SCHEMA, "version": "2.1.0", "runs": [J::Object(run)] });
        serde_json::to_writer_pretty(&mut self.out, &log)?;
        self.out.write_all(b"\n")?;
        self.out.flush()
    }
}
