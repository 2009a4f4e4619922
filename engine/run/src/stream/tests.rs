//! The stream's promise, tested as stated: at any emission, the results equal what
//! `scry run --now T` gives over the records consumed so far.

use super::*;
use crate::compile::{self, Sources};
use crate::schema::Catalog;
use crate::RunOptions;
use std::path::PathBuf;
use std::sync::Arc;

const DAY: i64 = 24 * 60 * MINUTE;

fn plan_of(files: &[(&str, String)]) -> Plan {
    let mut sources = Sources::default();
    for (name, text) in files {
        sources.add(name.to_string(), text.clone());
    }
    let compiled = compile::compile(&sources, Arc::new(Catalog::builtin()));
    assert!(!compiled.has_errors(), "{:?}", compiled.diagnostics);
    Plan::new(compiled.rules)
}

fn repo(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(path)
}

/// Every `.scry` file of a pack.
fn pack(dir: &str) -> Vec<(String, String)> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(repo(dir))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "scry"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|p| {
            (
                p.display().to_string(),
                std::fs::read_to_string(&p).unwrap(),
            )
        })
        .collect()
}

fn t(s: &str) -> i64 {
    crate::kql::time::parse_datetime(s).unwrap()
}

/// `scry run --now now` over `lines` (written to a file), as ndjson lines, sorted.
fn batch(plan: &Plan, lines: &[String], now: i64) -> Vec<String> {
    let dir = std::env::temp_dir().join(format!(
        "scry-stream-{}-{}",
        std::process::id(),
        stable_hash(&[lines.concat().as_bytes(), &now.to_le_bytes()])
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("events.jsonl");
    std::fs::write(&file, lines.join("\n")).unwrap();
    let out = crate::run(
        plan,
        std::slice::from_ref(&file),
        &RunOptions {
            now,
            ..RunOptions::default()
        },
    );
    std::fs::remove_dir_all(&dir).unwrap();
    let mut v = lines_of(plan, &out.results);
    v.sort();
    v
}

fn lines_of(plan: &Plan, rows: &[ResultRow]) -> Vec<String> {
    super::lines(plan, rows)
}

/// The stream's results at `now`, each message one line of `lines`, sorted.
fn streamed(state: &WindowState<'_>, now: i64) -> Vec<String> {
    let mut v: Vec<String> = state
        .results(now)
        .unwrap()
        .into_iter()
        .map(|a| a.line)
        .collect();
    v.sort();
    v
}

fn feed<'a>(sp: &'a StreamPlan, origin: i64, lines: &[String]) -> WindowState<'a> {
    let mut ev = Evaluator::new(sp, None, origin);
    let mut state = WindowState::new(sp, origin);
    for (i, l) in lines.iter().enumerate() {
        let out = ev.message("msg", i as u64, l.as_bytes());
        assert!(out.error.is_none(), "{:?}", out.error);
        for f in out.filed {
            state.insert(f).unwrap();
        }
    }
    state
}

const RULES: &str = r#"
rule by_device {
  id "s-group"
  from DeviceFileCertificateInfo
  window 5d
  where Signer has 'Krämer'
  summarize First = min(Timestamp), Last = max(Timestamp), Reports = make_set(ReportId),
            Count = count() by DeviceId
  having Count > 0
}

rule rows {
  id "s-rows"
  from DeviceFileCertificateInfo
  window 1h
  where Signer has 'Krämer'
  project Timestamp, DeviceName, ReportId
}

rule forever {
  id "s-forever"
  from DeviceFileCertificateInfo
  where Signer has 'Krämer'
  summarize Count = count(), Last = arg_max(Timestamp, ReportId) by DeviceName
}
"#;

fn event(ts: Option<&str>, device: &str, report: i64) -> String {
    let ts = ts.map_or(String::new(), |t| format!("\"Timestamp\": \"{t}\", "));
    format!(
        "{{\"Type\": \"DeviceFileCertificateInfo\", {ts}\"DeviceId\": \"{device}\", \"DeviceName\": \"{device}-name\", \"Signer\": \"Krämer IT Solutions GmbH\", \"ReportId\": {report}}}"
    )
}

/// Records exactly on, just inside and just outside each bound of both windows, one without
/// a timestamp, one in the future.
fn edge_events(now: i64) -> Vec<String> {
    let fmt = crate::kql::time::format_datetime;
    let at = |d: i64| fmt(now + d);
    let tick = 1;
    let mut v = Vec::new();
    for (i, d) in [
        -5 * DAY - tick,
        -5 * DAY,
        -5 * DAY + tick,
        -DAY,
        -60 * MINUTE - tick,
        -60 * MINUTE,
        -60 * MINUTE + tick,
        -tick,
        0,
        tick,
        DAY,
    ]
    .into_iter()
    .enumerate()
    {
        v.push(event(Some(&at(d)), &format!("d{}", i % 3), i as i64));
    }
    v.push(event(None, "d9", 99));
    v
}

#[test]
fn equals_batch_at_every_window_edge() {
    let plan = plan_of(&[("s.scry", RULES.to_string())]);
    let sp = StreamPlan::new(&plan).unwrap();
    assert_eq!(sp.bucket, MINUTE);
    let t0 = t("2024-05-15T12:00:00.1234567Z");
    let origin = t0.rem_euclid(sp.bucket);
    let events = edge_events(t0);
    let state = feed(&sp, origin, &events);
    // The clock moves: at each emission the results are those of a batch run at that clock.
    for shift in [
        -DAY,
        -MINUTE,
        0,
        MINUTE,
        60 * MINUTE,
        DAY,
        5 * DAY - MINUTE,
        5 * DAY,
        5 * DAY + MINUTE,
        7 * DAY,
    ] {
        let now = t0 + shift;
        assert_eq!(
            streamed(&state, now),
            batch(&plan, &events, now),
            "at now + {shift}"
        );
    }
}

#[test]
fn equals_batch_on_the_rmm_packs_over_the_samples() {
    let mut files = pack("rules/rmm");
    files.extend(pack("rules/lolrmm"));
    let files: Vec<(&str, String)> = files.iter().map(|(a, b)| (a.as_str(), b.clone())).collect();
    let mut sources = Sources::default();
    for (name, text) in &files {
        sources.add(name.to_string(), text.clone());
    }
    let compiled = compile::compile(&sources, Arc::new(Catalog::builtin()));
    let (set, refused) = streamable(compiled.rules);
    // DWService's two rules that test a `distinct` set, and the threshold, two sequences and
    // inner join of multi_event.scry, are the only ones left out.
    assert_eq!(refused.len(), 6, "{refused:?}");
    assert_eq!(
        refused
            .iter()
            .filter(|r| r.reason.contains("distinct"))
            .count(),
        2
    );
    assert_eq!(
        refused
            .iter()
            .filter(|r| r.reason.contains("is not streamed yet"))
            .count(),
        4
    );
    let plan = Plan::new(set);
    let sp = StreamPlan::new(&plan).unwrap();
    for sample in [
        "defender-storage.jsonl",
        "defender-flat.jsonl",
        "defender-eventhub.jsonl",
    ] {
        let text = std::fs::read_to_string(repo(&format!("tests/data/sample/{sample}"))).unwrap();
        let events: Vec<String> = text.lines().map(str::to_string).collect();
        let t0 = t("2024-05-15T12:00:00Z");
        let state = feed(&sp, t0.rem_euclid(sp.bucket), &events);
        let mut any = false;
        for shift in [0, -DAY, 2 * DAY, 6 * DAY] {
            let now = t0 + shift;
            let want = batch(&plan, &events, now);
            any |= !want.is_empty();
            assert_eq!(streamed(&state, now), want, "{sample} at now + {shift}");
        }
        assert!(any, "{sample}: the comparison found nothing to compare");
    }
}

#[test]
fn state_older_than_every_window_is_dropped() {
    let plan = plan_of(&[("s.scry", RULES.to_string())]);
    let sp = StreamPlan::new(&plan).unwrap();
    let t0 = t("2024-05-15T12:00:00Z");
    let events = edge_events(t0);
    let mut state = feed(&sp, 0, &events);
    let before = state.len();
    state.emit(t0 + 6 * DAY + MINUTE).unwrap();
    // Only the rule without a window keeps its groups (d0..d2 and the untimed d9).
    assert!(state.len() < before);
    assert!(state
        .groups
        .keys()
        .all(|(ri, _, _)| sp.windows[*ri].is_none()));
    assert_eq!(state.len(), 4);
}

#[test]
fn emits_only_what_changed_under_stable_keys() {
    let plan = plan_of(&[("s.scry", RULES.to_string())]);
    let sp = StreamPlan::new(&plan).unwrap();
    let t0 = t("2024-05-15T12:00:00Z");
    let mut ev = Evaluator::new(&sp, None, 0);
    let mut state = WindowState::new(&sp, 0);
    let first = event(Some("2024-05-15T11:00:00Z"), "a", 1);
    for f in ev.message("m", 1, first.as_bytes()).filed {
        state.insert(f).unwrap();
    }
    let one = state.emit(t0).unwrap();
    assert_eq!(one.len(), 3, "{one:?}");
    assert!(state.emit(t0).unwrap().is_empty(), "nothing changed");
    // The same message again (a replay) changes no row; a new one changes two groups.
    for f in ev.message("m", 1, first.as_bytes()).filed {
        state.insert(f).unwrap();
    }
    let second = event(Some("2024-05-15T11:30:00Z"), "a", 2);
    for f in ev.message("m", 2, second.as_bytes()).filed {
        state.insert(f).unwrap();
    }
    let two = state.emit(t0).unwrap();
    // Two groups changed and one new row: the groups keep their keys.
    assert_eq!(two.len(), 3, "{two:?}");
    let keys = |v: &[Alert]| v.iter().map(|a| a.key.clone()).collect::<Vec<_>>();
    assert_eq!(
        keys(&one).iter().filter(|k| keys(&two).contains(k)).count(),
        2
    );
}

#[test]
fn refuses_what_cannot_stream_with_the_reason() {
    let plan = plan_of(&[(
        "r.scry",
        r#"
rule total {
  id "r-total"
  from DeviceFileCertificateInfo
  window 1d
  where Signer has 'x'
  summarize Count = count()
}
rule young {
  id "r-now"
  from DeviceFileCertificateInfo
  where Timestamp > ago(1h)
}
rule burst {
  id "r-burst"
  from DeviceFileCertificateInfo
  window 1d
  threshold count() >= 3 within 5m by DeviceId
}
"#
        .to_string(),
    )]);
    let refused = StreamPlan::new(&plan).unwrap_err();
    let ids: Vec<&str> = refused.iter().map(|r| r.rule.as_str()).collect();
    assert_eq!(ids, ["r-total", "r-now", "r-burst"], "{refused:?}");
}

#[test]
fn a_malformed_message_is_reported_and_the_next_one_evaluated() {
    let plan = plan_of(&[("s.scry", RULES.to_string())]);
    let sp = StreamPlan::new(&plan).unwrap();
    let mut ev = Evaluator::new(&sp, None, 0);
    let bad = ev.message(
        "m",
        1,
        "{\"Type\": \"DeviceFileCertificateInfo\", Krämer".as_bytes(),
    );
    assert_eq!(bad.skipped.len(), 1, "{bad:?}");
    assert!(bad.filed.is_empty());
    let good = ev.message(
        "m",
        2,
        event(Some("2024-05-15T11:00:00Z"), "a", 1).as_bytes(),
    );
    assert!(good.skipped.is_empty());
    assert_eq!(good.filed.len(), 3);
}

#[test]
fn a_message_with_no_record_is_reported() {
    let plan = plan_of(&[("s.scry", RULES.to_string())]);
    let sp = StreamPlan::new(&plan).unwrap();
    let mut ev = Evaluator::new(&sp, None, 0);
    for (text, why) in [("not json at all", "neither JSON"), ("", "empty")] {
        let out = ev.message("m", 1, text.as_bytes());
        assert_eq!(out.records, 1);
        assert_eq!(out.skipped.len(), 1, "{out:?}");
        assert!(out.skipped[0].reason.contains(why), "{out:?}");
    }
}
