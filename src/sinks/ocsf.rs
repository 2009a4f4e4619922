//! `--format ocsf`: one OCSF Detection Finding (class_uid 2004, category_uid 2, "Findings")
//! per result row, as JSON lines, for SIEMs and security data lakes (Amazon Security Lake,
//! Splunk, Sentinel's OCSF connectors).
//!
//! - `finding_info`: `uid` (rule id and the row's number among that rule's results: stable for
//!   the same input), `title`, `desc`, the rule as `analytic` (type Rule), MITRE ATT&CK as
//!   `attacks` (a technique each, with the rule's tactics; tactics alone when there are no
//!   techniques), `first_seen_time` / `last_seen_time` from the row.
//! - `time`: when the finding was made (OCSF 1.9: the finding's creation, not the activity's),
//!   the run's clock (`--now`); `start_time` / `end_time`: the activity's span from the row.
//! - `device` and `actor.user` from the row's device and user columns, repeated in
//!   `observables`; `severity_id` from the rule's severity; the row's columns in `unmapped`.

use super::fields::{self, Severity};
use super::RunInfo;
use crate::output::Sink;
use scry_engine::compile::Rule;
use scry_engine::exec::{value_to_json, ResultRow};
use scry_engine::plan::Plan;
use serde_json::{json, Map, Value as J};
use std::io::{self, Write};

/// The OCSF version whose definitions the output is validated against (tests/formats.rs,
/// tests/data/schemas/ocsf).
pub const OCSF_VERSION: &str = "1.9.0-dev";

/// Writes a finding per row as it comes.
pub struct Ocsf<W: Write> {
    out: W,
    info: RunInfo,
    /// Results so far per rule, for `finding_info.uid`.
    seen: Vec<u64>,
}

impl<W: Write> Ocsf<W> {
    /// An OCSF writer.
    pub fn new(out: W, info: RunInfo) -> Self {
        Ocsf {
            out,
            info,
            seen: Vec::new(),
        }
    }
}

/// OCSF's `severity_id`.
fn severity_id(s: Severity) -> u8 {
    match s {
        Severity::Unknown => 0,
        Severity::Informational => 1,
        Severity::Low => 2,
        Severity::Medium => 3,
        Severity::High => 4,
        Severity::Critical => 5,
    }
}

/// ATT&CK Enterprise tactics: the names rules use (Defender's CamelCase and ATT&CK's words),
/// their ids and names.
const TACTICS: &[(&str, &str, &str)] = &[
    ("reconnaissance", "TA0043", "Reconnaissance"),
    ("resourcedevelopment", "TA0042", "Resource Development"),
    ("initialaccess", "TA0001", "Initial Access"),
    ("execution", "TA0002", "Execution"),
    ("persistence", "TA0003", "Persistence"),
    ("privilegeescalation", "TA0004", "Privilege Escalation"),
    ("defenseevasion", "TA0005", "Defense Evasion"),
    ("credentialaccess", "TA0006", "Credential Access"),
    ("discovery", "TA0007", "Discovery"),
    ("lateralmovement", "TA0008", "Lateral Movement"),
    ("collection", "TA0009", "Collection"),
    ("exfiltration", "TA0010", "Exfiltration"),
    ("commandandcontrol", "TA0011", "Command and Control"),
    ("impact", "TA0040", "Impact"),
];

/// A tactic as OCSF's `tactic` object: with its ATT&CK id when the name is one of ATT&CK's,
/// else by name only.
fn tactic(name: &str) -> J {
    let key: String = name
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect::<String>()
        .to_ascii_lowercase();
    match TACTICS
        .iter()
        .find(|(k, id, _)| *k == key || id.eq_ignore_ascii_case(name))
    {
        Some((_, id, caption)) => json!({ "uid": id, "name": caption }),
        None => json!({ "name": name }),
    }
}

fn attacks(rule: &Rule) -> Vec<J> {
    let tactics: Vec<J> = rule.meta.tactics.iter().map(|t| tactic(t)).collect();
    let with_tactics = |mut a: Map<String, J>| {
        match tactics.as_slice() {
            [] => {}
            [one] => {
                a.insert("tactic".into(), one.clone());
            }
            many => {
                a.insert("tactics".into(), many.to_vec().into());
            }
        }
        J::Object(a)
    };
    if rule.meta.techniques.is_empty() {
        return tactics
            .iter()
            .map(|t| {
                let mut a = Map::new();
                a.insert("tactic".into(), t.clone());
                J::Object(a)
            })
            .collect();
    }
    rule.meta
        .techniques
        .iter()
        .map(|t| {
            let mut a = Map::new();
            match t.split_once('.') {
                Some((parent, _)) => {
                    a.insert("technique".into(), json!({ "uid": parent }));
                    a.insert("sub_technique".into(), json!({ "uid": t }));
                }
                None => {
                    a.insert("technique".into(), json!({ "uid": t }));
                }
            }
            with_tactics(a)
        })
        .collect()
}

/// Milliseconds since the epoch (OCSF's `timestamp_t`) of ticks.
fn millis(ticks: i64) -> i64 {
    ticks.div_euclid(10_000)
}

fn finding(rule: &Rule, row: &ResultRow, n: u64, info: &RunInfo) -> J {
    let sev = Severity::of(rule);
    let started = fields::time(rule, row).map(|(t, _)| t);
    let ended = fields::last_time(rule, row).or(started);
    let mut analytic = Map::new();
    analytic.insert("uid".into(), rule.id().into());
    analytic.insert("name".into(), rule.name.clone().into());
    analytic.insert("type_id".into(), 1.into());
    analytic.insert("type".into(), "Rule".into());
    if let Some(d) = &rule.meta.description {
        analytic.insert("desc".into(), d.clone().into());
    }
    let mut fi = Map::new();
    fi.insert("uid".into(), format!("{}:{n}", rule.id()).into());
    fi.insert("title".into(), fields::title(rule).into());
    if let Some(d) = &rule.meta.description {
        fi.insert("desc".into(), d.clone().into());
    }
    fi.insert("analytic".into(), analytic.into());
    let att = attacks(rule);
    if !att.is_empty() {
        fi.insert("attacks".into(), att.into());
    }
    if let Some(t) = started {
        fi.insert("first_seen_time".into(), millis(t).into());
    }
    if let Some(t) = ended {
        fi.insert("last_seen_time".into(), millis(t).into());
    }
    if let Some(u) = rule.meta.references.first() {
        fi.insert("src_url".into(), u.clone().into());
    }
    let mut ev = Map::new();
    ev.insert("activity_id".into(), 1.into());
    ev.insert("activity_name".into(), "Create".into());
    ev.insert("category_uid".into(), 2.into());
    ev.insert("category_name".into(), "Findings".into());
    ev.insert("class_uid".into(), 2004.into());
    ev.insert("class_name".into(), "Detection Finding".into());
    ev.insert("type_uid".into(), 200401.into());
    ev.insert("type_name".into(), "Detection Finding: Create".into());
    ev.insert("severity_id".into(), severity_id(sev).into());
    ev.insert("severity".into(), sev.caption().into());
    ev.insert("status_id".into(), 1.into());
    ev.insert("status".into(), "New".into());
    ev.insert("time".into(), millis(info.now).into());
    if let Some(t) = started {
        ev.insert("start_time".into(), millis(t).into());
    }
    if let Some(t) = ended {
        ev.insert("end_time".into(), millis(t).into());
    }
    ev.insert("message".into(), fields::message(rule, row).into());
    ev.insert("finding_info".into(), fi.into());
    ev.insert(
        "metadata".into(),
        json!({
            "version": OCSF_VERSION,
            "product": { "name": "scry", "vendor_name": "scry", "version": super::VERSION },
        }),
    );
    let mut observables = Vec::new();
    let (dname, did) = fields::device(rule, row);
    if dname.is_some() || did.is_some() {
        let mut d = Map::new();
        d.insert("type_id".into(), 0.into());
        d.insert("type".into(), "Unknown".into());
        if let Some(n) = &dname {
            d.insert("hostname".into(), n.clone().into());
            d.insert("name".into(), n.clone().into());
            observables.push(
                json!({ "name": "device.hostname", "type_id": 1, "type": "Hostname", "value": n }),
            );
        }
        if let Some(u) = &did {
            d.insert("uid".into(), u.clone().into());
            observables.push(
                json!({ "name": "device.uid", "type_id": 10, "type": "Resource UID", "value": u }),
            );
        }
        ev.insert("device".into(), d.into());
    }
    let (uname, uid) = fields::user(rule, row);
    if uname.is_some() || uid.is_some() {
        let mut u = Map::new();
        if let Some(n) = &uname {
            u.insert("name".into(), n.clone().into());
            observables.push(
                json!({ "name": "actor.user.name", "type_id": 4, "type": "User Name", "value": n }),
            );
        }
        if let Some(i) = &uid {
            u.insert("uid".into(), i.clone().into());
        }
        ev.insert("actor".into(), json!({ "user": u }));
    }
    if !observables.is_empty() {
        ev.insert("observables".into(), observables.into());
    }
    let mut columns = Map::new();
    for (c, v) in rule.output.iter().zip(&row.values) {
        columns.insert(c.name.clone(), value_to_json(v));
    }
    ev.insert("unmapped".into(), columns.into());
    ev.into()
}

impl<W: Write> Sink for Ocsf<W> {
    fn row(&mut self, plan: &Plan, row: &ResultRow) -> io::Result<()> {
        if self.seen.len() < plan.rules.len() {
            self.seen.resize(plan.rules.len(), 0);
        }
        let n = self.seen[row.rule];
        self.seen[row.rule] += 1;
        let ev = finding(&plan.rules[row.rule], row, n, &self.info);
        serde_json::to_writer(&mut self.out, &ev)?;
        self.out.write_all(b"\n")
    }
    fn finish(&mut self, _: &Plan) -> io::Result<()> {
        self.out.flush()
    }
}
