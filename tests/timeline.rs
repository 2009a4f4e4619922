//! `threshold` and `sequence` through the plan against a naive reference: each step's
//! condition decided by the reference evaluator on the event's JSON, then the definitions of
//! docs/semantics.md written out directly (every anchor, a sorted list, no state). Random
//! events over three devices and a few minutes, with ties; the plan runs as one executor, as
//! two merged executors over a random split (threads), and through portable state entries
//! (Spark, the stream): all must give the reference's rows.

use proptest::prelude::*;
use scry_engine::compile::{self, Sources};
use scry_engine::exec::{row_from_json, state, value_to_json, Executor};
use scry_engine::plan::Plan;
use scry_engine::reference;
use scry_engine::row::Row;
use scry_engine::schema::Catalog;
use std::sync::Arc;

const MIN: i64 = 600_000_000;
const T0: i64 = 17_157_744_000_000_000; // 2024-05-15T12:00:00Z
const NOW: i64 = T0 + 60 * MIN;

#[derive(Debug, Clone)]
struct Ev {
    table: &'static str,
    device: &'static str,
    ts: i64,
    name: &'static str,
}

impl Ev {
    /// A process id from 1 to 5, varying with time and name (the `avg` threshold's values).
    fn pid(&self) -> i64 {
        (self.ts / (MIN / 2) + self.name.len() as i64) % 5 + 1
    }

    fn json(&self) -> serde_json::Value {
        let ts = scry_engine::kql::time::format_datetime(self.ts);
        match self.table {
            "DeviceProcessEvents" => serde_json::json!({
                "Timestamp": ts, "DeviceId": self.device, "FileName": self.name,
                "ProcessId": self.pid()
            }),
            _ => serde_json::json!({
                "Timestamp": ts, "DeviceId": self.device, "RemoteUrl": self.name
            }),
        }
    }
}

fn event() -> impl Strategy<Value = Ev> {
    (
        prop::bool::ANY,
        prop::sample::select(vec!["d1", "d2", "d3"]),
        // Whole and half minutes over 12 minutes, so ties and span edges are common.
        0i64..24,
        0usize..3,
    )
        .prop_map(|(proc_, device, half, n)| Ev {
            table: if proc_ {
                "DeviceProcessEvents"
            } else {
                "DeviceNetworkEvents"
            },
            device,
            ts: T0 + half * MIN / 2,
            name: if proc_ {
                ["a.exe", "b.exe", "c.exe"][n]
            } else {
                ["x.example", "y.example", "x.other"][n]
            },
        })
}

/// One step: its table and condition (scry source, also fed to the reference evaluator).
struct StepDef {
    table: &'static str,
    cond: &'static str,
}

const A: StepDef = StepDef {
    table: "DeviceProcessEvents",
    cond: "FileName =~ 'a.exe'",
};
const B: StepDef = StepDef {
    table: "DeviceNetworkEvents",
    cond: "RemoteUrl has 'example'",
};
const C: StepDef = StepDef {
    table: "DeviceProcessEvents",
    cond: "FileName =~ 'c.exe'",
};

const RULES: &str = r#"
rule burst { id "burst" from DeviceProcessEvents where FileName !~ 'c.exe'
  threshold count() >= 3 within 3m by DeviceId with Names = make_set(FileName) }
rule spread { id "spread" from DeviceNetworkEvents where RemoteUrl has 'example'
  threshold dcount(RemoteUrl) >= 2 within 2m by DeviceId }
rule quiet { id "quiet" from DeviceProcessEvents where FileName =~ 'b.exe'
  threshold count() < 2 within 1m by DeviceId }
rule high_pids { id "high_pids" from DeviceProcessEvents where FileName !~ 'c.exe'
  threshold avg(ProcessId) >= 3.5 within 2m by DeviceId }
rule ab { id "ab" sequence within 3m by DeviceId {
    step a from DeviceProcessEvents where FileName =~ 'a.exe'
    step b from DeviceNetworkEvents where RemoteUrl has 'example' } }
rule ab_until { id "ab_until" sequence within 3m by DeviceId {
    step a from DeviceProcessEvents where FileName =~ 'a.exe'
    step b from DeviceNetworkEvents where RemoteUrl has 'example'
    until from DeviceProcessEvents where FileName =~ 'c.exe' } }
rule abc { id "abc" sequence within 4m by DeviceId {
    step a from DeviceProcessEvents where FileName =~ 'a.exe'
    step b from DeviceNetworkEvents where RemoteUrl has 'example'
    step c from DeviceProcessEvents where FileName =~ 'c.exe' } }
rule any_order { id "any_order" sequence unordered within 2m by DeviceId {
    step a from DeviceProcessEvents where FileName =~ 'a.exe'
    step b from DeviceNetworkEvents where RemoteUrl has 'example' } }
rule burst_b { id "burst_b" sequence within 3m by DeviceId {
    step burst from DeviceProcessEvents where FileName !~ 'c.exe' threshold count() >= 2 within 1m
    step b from DeviceNetworkEvents where RemoteUrl has 'example' } }
rule a_high { id "a_high" sequence within 2m by DeviceId {
    step a from DeviceProcessEvents where FileName =~ 'a.exe'
    step high from DeviceProcessEvents where FileName !~ 'c.exe'
      threshold avg(ProcessId) >= 3 within 1m } }
rule a_spread { id "a_spread" sequence unordered within 2m by DeviceId {
    step a from DeviceProcessEvents where FileName =~ 'a.exe'
    step spread from DeviceNetworkEvents where RemoteUrl has 'example'
      threshold dcount(RemoteUrl) >= 2 within 1m } }
rule j_inner { id "j_inner" from DeviceProcessEvents where FileName =~ 'a.exe'
  join kind=inner (from DeviceNetworkEvents where RemoteUrl has 'example')
    on DeviceId, $right.Timestamp between ($left.Timestamp - 1m .. $left.Timestamp + 2m)
  project DeviceId, Timestamp, Timestamp1 }
rule j_unique { id "j_unique" from DeviceProcessEvents where FileName !~ 'c.exe'
  join kind=innerunique (from DeviceNetworkEvents where RemoteUrl has 'example') on DeviceId
  project DeviceId, Timestamp, RemoteUrl }
rule j_outer { id "j_outer" from DeviceProcessEvents where FileName =~ 'b.exe'
  join kind=leftouter (from DeviceNetworkEvents where RemoteUrl has 'other')
    on $left.DeviceId == $right.DeviceId,
       $left.Timestamp between ($right.Timestamp - 1m .. $right.Timestamp)
  where isempty(RemoteUrl) or Timestamp1 > Timestamp
  project DeviceId, Timestamp, Matched = isnotempty(RemoteUrl) }
"#;

fn plan() -> Plan {
    let mut sources = Sources::default();
    sources.add("timeline.scry", RULES);
    let c = compile::compile(&sources, Arc::new(Catalog::builtin()));
    assert!(!c.has_errors(), "{:#?}", c.diagnostics);
    Plan::new(c.rules)
}

fn holds(ev: &Ev, step: &StepDef) -> bool {
    if ev.table != step.table {
        return false;
    }
    let catalog = Catalog::builtin();
    let pred = scry_grammar::parse_expr(step.cond).unwrap();
    reference::holds_on_json(&pred, catalog.table(ev.table).unwrap(), &ev.json(), NOW)
}

/// Rows as `rule|values` lines, sorted.
fn run(plan: &Plan, evs: &[Ev], split: &[bool], via_state: bool) -> Vec<String> {
    let mut execs = [
        Executor::new(plan, NOW, None),
        Executor::new(plan, NOW, None),
    ];
    let fields = execs[0].fields().clone();
    for (ev, &second) in evs.iter().zip(split.iter().cycle()) {
        let mut row = Row::new(&fields);
        row_from_json(&ev.json().to_string(), &fields, &mut row).unwrap();
        row.set_table_hint(ev.table);
        execs[usize::from(second)].process(&row).unwrap();
    }
    let [mut one, two] = execs;
    if via_state {
        let mut entries = state::entries(plan, two.into_partial().unwrap());
        entries.extend(state::entries(plan, one.into_partial().unwrap()));
        entries.reverse();
        let partial = state::partial(plan, entries).unwrap();
        one = Executor::new(plan, NOW, None);
        one.absorb(partial);
    } else {
        one.merge(two);
    }
    let mut out: Vec<String> = one
        .finish()
        .iter()
        .map(|r| {
            let vals: Vec<String> = r
                .values
                .iter()
                .map(|v| value_to_json(v).to_string())
                .collect();
            format!("{}|{}", plan.rules[r.rule].id(), vals.join(","))
        })
        .collect();
    out.sort();
    out
}

fn dt(t: i64) -> String {
    format!("\"{}\"", scry_engine::kql::time::format_datetime(t))
}

/// Every anchor's span, the peak, the earliest span that holds.
#[allow(clippy::too_many_arguments)]
fn naive_threshold(
    id: &str,
    evs: &[&Ev],
    span: i64,
    measure: &dyn Fn(&[&Ev]) -> f64,
    cond: &dyn Fn(f64) -> bool,
    show: &dyn Fn(f64) -> String,
    with: &dyn Fn(&[&Ev]) -> Vec<String>,
    out: &mut Vec<String>,
) {
    for d in ["d1", "d2", "d3"] {
        let mut mine: Vec<&Ev> = evs.iter().copied().filter(|e| e.device == d).collect();
        mine.sort_by_key(|e| e.ts);
        let spans: Vec<Vec<&Ev>> = mine
            .iter()
            .map(|a| {
                mine.iter()
                    .copied()
                    .filter(|e| e.ts >= a.ts && e.ts <= a.ts + span)
                    .collect()
            })
            .collect();
        let Some(peak) = spans.iter().map(|s| measure(s)).reduce(f64::max) else {
            continue;
        };
        if !cond(peak) {
            continue;
        }
        let s = spans.iter().find(|s| cond(measure(s))).unwrap();
        let end = s.iter().map(|e| e.ts).max().unwrap();
        let mut vals = vec![
            format!("\"{d}\""),
            dt(s[0].ts),
            dt(end),
            show(measure(s)),
            show(peak),
        ];
        vals.extend(with(s));
        out.push(format!("{id}|{}", vals.join(",")));
    }
}

/// The sequence definition over a sorted list: one waiting partial per step, the newest
/// first step wins, a partial older than the span is dropped, `until` clears what it follows.
fn naive_sequence(
    id: &str,
    evs: &[Ev],
    steps: &[&StepDef],
    until: Option<&StepDef>,
    span: i64,
    out: &mut Vec<String>,
) {
    let lanes: Vec<Lane<'_>> = steps.iter().map(|s| Lane::Plain(s)).collect();
    naive_gated_sequence(id, evs, &lanes, until, span, out);
}

/// A step of the reference: its condition, or its condition gated by a threshold over the
/// span ending at each of its events (the measure and the condition on it).
enum Lane<'a> {
    Plain(&'a StepDef),
    Gated(
        &'a dyn Fn(&Ev) -> bool,
        i64,
        &'a dyn Fn(&[&Ev]) -> f64,
        &'a dyn Fn(f64) -> bool,
    ),
}

/// A device's events of a step: its events, or (gated) those of its events at which the
/// measure over the step's events in `[t - span, t]` satisfies the condition.
fn lane_times(evs: &[Ev], d: &str, lane: &Lane<'_>) -> Vec<i64> {
    match lane {
        Lane::Plain(s) => evs
            .iter()
            .filter(|e| e.device == d && holds(e, s))
            .map(|e| e.ts)
            .collect(),
        Lane::Gated(pred, span, measure, cond) => {
            let mine: Vec<&Ev> = evs.iter().filter(|e| e.device == d && pred(e)).collect();
            mine.iter()
                .filter(|e| {
                    let window: Vec<&Ev> = mine
                        .iter()
                        .copied()
                        .filter(|x| x.ts >= e.ts - span && x.ts <= e.ts)
                        .collect();
                    cond(measure(&window))
                })
                .map(|e| e.ts)
                .collect()
        }
    }
}

fn naive_gated_sequence(
    id: &str,
    evs: &[Ev],
    steps: &[Lane<'_>],
    until: Option<&StepDef>,
    span: i64,
    out: &mut Vec<String>,
) {
    for d in ["d1", "d2", "d3"] {
        // (time, class, step): until events first at one instant, then steps in order.
        let mut tl: Vec<(i64, u8, usize)> = Vec::new();
        for e in evs.iter().filter(|e| e.device == d) {
            if until.is_some_and(|u| holds(e, u)) {
                tl.push((e.ts, 0, 0));
            }
        }
        for (i, lane) in steps.iter().enumerate() {
            tl.extend(lane_times(evs, d, lane).into_iter().map(|t| (t, 1, i)));
        }
        tl.sort();
        let mut pending: Vec<Option<Vec<i64>>> = vec![None; steps.len()];
        for (t, class, i) in tl {
            if class == 0 {
                for p in &mut pending {
                    if p.as_ref().is_some_and(|p| *p.last().unwrap() < t) {
                        *p = None;
                    }
                }
                continue;
            }
            if i == 0 {
                pending[0] = Some(vec![t]);
            } else if let Some(mut p) = pending[i - 1].take() {
                if t - p[0] <= span {
                    p.push(t);
                    if i + 1 == steps.len() {
                        let mut vals = vec![format!("\"{d}\""), dt(p[0]), dt(t)];
                        vals.extend(p.iter().map(|&x| dt(x)));
                        out.push(format!("{id}|{}", vals.join(",")));
                    } else {
                        pending[i] = Some(p);
                    }
                }
            }
            for p in &mut pending {
                if p.as_ref().is_some_and(|p| p[0] < t - span) {
                    *p = None;
                }
            }
        }
    }
}

/// The earliest anchored span holding every step, and each step's first event in it.
fn naive_unordered(id: &str, evs: &[Ev], steps: &[Lane<'_>], span: i64, out: &mut Vec<String>) {
    for d in ["d1", "d2", "d3"] {
        let mut tl: Vec<(i64, usize)> = Vec::new();
        for (i, lane) in steps.iter().enumerate() {
            tl.extend(lane_times(evs, d, lane).into_iter().map(|t| (t, i)));
        }
        tl.sort();
        for &(a, _) in &tl {
            let firsts: Vec<Option<i64>> = (0..steps.len())
                .map(|i| {
                    tl.iter()
                        .find(|(t, s)| *s == i && *t >= a && *t <= a + span)
                        .map(|x| x.0)
                })
                .collect();
            if firsts.iter().all(Option::is_some) {
                let ts: Vec<i64> = firsts.into_iter().flatten().collect();
                let mut vals = vec![format!("\"{d}\""), dt(a), dt(*ts.iter().max().unwrap())];
                vals.extend(ts.iter().map(|&x| dt(x)));
                out.push(format!("{id}|{}", vals.join(",")));
                break;
            }
        }
    }
}

fn reference_rows(evs: &[Ev]) -> Vec<String> {
    let mut out = Vec::new();
    let whole = |m: f64| (m as i64).to_string();
    let procs: Vec<&Ev> = evs
        .iter()
        .filter(|e| e.table == "DeviceProcessEvents" && e.name != "c.exe")
        .collect();
    let names = |s: &[&Ev]| {
        let mut n: Vec<&str> = s.iter().map(|e| e.name).collect();
        n.sort();
        n.dedup();
        vec![format!(
            "[{}]",
            n.iter()
                .map(|x| format!("\"{x}\""))
                .collect::<Vec<_>>()
                .join(",")
        )]
    };
    naive_threshold(
        "burst",
        &procs,
        3 * MIN,
        &|s| s.len() as f64,
        &|m| m >= 3.0,
        &whole,
        &names,
        &mut out,
    );
    let urls: Vec<&Ev> = evs.iter().filter(|e| holds(e, &B)).collect();
    let distinct = |s: &[&Ev]| {
        let mut n: Vec<&str> = s.iter().map(|e| e.name).collect();
        n.sort();
        n.dedup();
        n.len() as f64
    };
    naive_threshold(
        "spread",
        &urls,
        2 * MIN,
        &distinct,
        &|m| m >= 2.0,
        &whole,
        &|_| vec![],
        &mut out,
    );
    let bs: Vec<&Ev> = evs
        .iter()
        .filter(|e| e.table == "DeviceProcessEvents" && e.name == "b.exe")
        .collect();
    naive_threshold(
        "quiet",
        &bs,
        MIN,
        &|s| s.len() as f64,
        &|m| m < 2.0,
        &whole,
        &|_| vec![],
        &mut out,
    );
    // avg: the mean of the span's process ids, a real (as serde_json prints one).
    naive_threshold(
        "high_pids",
        &procs,
        2 * MIN,
        &|s| s.iter().map(|e| e.pid()).sum::<i64>() as f64 / s.len() as f64,
        &|m| m >= 3.5,
        &|m| serde_json::json!(m).to_string(),
        &|_| vec![],
        &mut out,
    );
    naive_sequence("ab", evs, &[&A, &B], None, 3 * MIN, &mut out);
    naive_sequence("ab_until", evs, &[&A, &B], Some(&C), 3 * MIN, &mut out);
    naive_sequence("abc", evs, &[&A, &B, &C], None, 4 * MIN, &mut out);
    naive_unordered(
        "any_order",
        evs,
        &[Lane::Plain(&A), Lane::Plain(&B)],
        2 * MIN,
        &mut out,
    );
    let not_c = |e: &Ev| e.table == "DeviceProcessEvents" && e.name != "c.exe";
    let count = |s: &[&Ev]| s.len() as f64;
    let mean_pid = |s: &[&Ev]| s.iter().map(|e| e.pid()).sum::<i64>() as f64 / s.len() as f64;
    let is_b = |e: &Ev| holds(e, &B);
    naive_gated_sequence(
        "burst_b",
        evs,
        &[
            Lane::Gated(&not_c, MIN, &count, &|m| m >= 2.0),
            Lane::Plain(&B),
        ],
        None,
        3 * MIN,
        &mut out,
    );
    naive_gated_sequence(
        "a_high",
        evs,
        &[
            Lane::Plain(&A),
            Lane::Gated(&not_c, MIN, &mean_pid, &|m| m >= 3.0),
        ],
        None,
        2 * MIN,
        &mut out,
    );
    naive_unordered(
        "a_spread",
        evs,
        &[
            Lane::Plain(&A),
            Lane::Gated(&is_b, MIN, &distinct, &|m| m >= 2.0),
        ],
        2 * MIN,
        &mut out,
    );
    naive_joins(evs, &mut out);
    out.sort();
    out
}

/// Kusto's join kinds written out: every pair of a device's left and right events (`inner`),
/// the device's earliest left event with every right one (`innerunique`), every left event
/// with its pairs or alone with nulls (`leftouter`); then the rule's `where` and `project`.
fn naive_joins(evs: &[Ev], out: &mut Vec<String>) {
    let dev = |d: &str| format!("\"{d}\"");
    for d in ["d1", "d2", "d3"] {
        let mine: Vec<&Ev> = evs.iter().filter(|e| e.device == d).collect();
        let rights: Vec<&Ev> = mine.iter().copied().filter(|e| holds(e, &B)).collect();
        for l in mine.iter().filter(|e| holds(e, &A)) {
            for r in rights
                .iter()
                .filter(|r| r.ts >= l.ts - MIN && r.ts <= l.ts + 2 * MIN)
            {
                out.push(format!("j_inner|{},{},{}", dev(d), dt(l.ts), dt(r.ts)));
            }
        }
        let first = mine
            .iter()
            .filter(|e| e.table == "DeviceProcessEvents" && e.name != "c.exe")
            .map(|e| e.ts)
            .min();
        if let Some(t) = first {
            for r in &rights {
                out.push(format!("j_unique|{},{},\"{}\"", dev(d), dt(t), r.name));
            }
        }
        let others: Vec<&Ev> = mine
            .iter()
            .copied()
            .filter(|e| e.table == "DeviceNetworkEvents" && e.name == "x.other")
            .collect();
        for l in mine
            .iter()
            .filter(|e| e.table == "DeviceProcessEvents" && e.name == "b.exe")
        {
            let pairs: Vec<&&Ev> = others
                .iter()
                .filter(|r| r.ts <= l.ts + MIN && r.ts >= l.ts)
                .collect();
            if pairs.is_empty() {
                out.push(format!("j_outer|{},{},false", dev(d), dt(l.ts)));
            }
            for r in pairs {
                if r.ts > l.ts {
                    out.push(format!("j_outer|{},{},true", dev(d), dt(l.ts)));
                }
            }
        }
    }
}

/// The plan's rows without the columns the reference does not compute (each step's
/// ReportId: these events have none, so they are null).
fn comparable(rows: Vec<String>) -> Vec<String> {
    rows.into_iter().map(|r| r.replace(",null", "")).collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 160, ..ProptestConfig::default() })]

    #[test]
    fn the_plan_gives_the_reference_rows_for_any_split(
        evs in prop::collection::vec(event(), 0..40),
        split in prop::collection::vec(prop::bool::ANY, 1..8),
    ) {
        let plan = plan();
        let want = reference_rows(&evs);
        let whole = comparable(run(&plan, &evs, &[false], false));
        prop_assert_eq!(&whole, &want);
        let mut reversed = evs.clone();
        reversed.reverse();
        prop_assert_eq!(&comparable(run(&plan, &reversed, &split, false)), &want);
        prop_assert_eq!(&comparable(run(&plan, &evs, &split, true)), &want);
    }
}

#[test]
fn the_oldest_events_past_the_cap_are_evicted_and_counted() {
    let mut sources = Sources::default();
    sources.add(
        "cap.scry",
        r#"rule burst { id "burst" from DeviceProcessEvents
             threshold count() >= 2 within 1m by DeviceId }"#,
    );
    let c = compile::compile(&sources, Arc::new(Catalog::builtin()));
    let mut rules = c.rules;
    let mut tl = (*rules.rules[0].timeline.clone().unwrap()).clone();
    tl.max_events = 3;
    rules.rules[0].timeline = Some(Arc::new(tl));
    let plan = Plan::new(rules);
    // Pairs 10 minutes apart: only the last pair within a minute survives the cap of 3
    // (events at 0, 10, 20, 20:30 keep 10, 20, 20:30).
    let evs: Vec<Ev> = [0, 20, 40, 41]
        .iter()
        .map(|&h| Ev {
            table: "DeviceProcessEvents",
            device: "d1",
            ts: T0 + h * MIN / 2,
            name: "a.exe",
        })
        .collect();
    let mut ex = Executor::new(&plan, NOW, None);
    let fields = ex.fields().clone();
    for ev in &evs {
        let mut row = Row::new(&fields);
        row_from_json(&ev.json().to_string(), &fields, &mut row).unwrap();
        row.set_table_hint(ev.table);
        ex.process(&row).unwrap();
    }
    let rows = ex.finish();
    assert_eq!(rows.len(), 1);
    assert_eq!(ex.stats.rules[0].evicted, 1);
    assert_eq!(
        value_to_json(&rows[0].values[1]),
        serde_json::json!("2024-05-15T12:20:00.0000000Z")
    );
}

#[test]
fn joined_rows_past_the_cap_are_counted_not_built() {
    let mut sources = Sources::default();
    sources.add(
        "cap.scry",
        r#"rule pairs { id "pairs" from DeviceProcessEvents
             join kind=leftouter (from DeviceNetworkEvents) on DeviceId
             project Timestamp, Timestamp1 }"#,
    );
    let c = compile::compile(&sources, Arc::new(Catalog::builtin()));
    assert!(!c.has_errors(), "{:#?}", c.diagnostics);
    let mut rules = c.rules;
    let mut tl = (*rules.rules[0].timeline.clone().unwrap()).clone();
    tl.max_events = 4;
    rules.rules[0].timeline = Some(Arc::new(tl));
    let plan = Plan::new(rules);
    // Two left events on d1, three right ones: six pairs; one left event on d2 alone.
    let ev = |table, device, half| Ev {
        table,
        device,
        ts: T0 + half * MIN / 2,
        name: "x",
    };
    let evs = [
        ev("DeviceProcessEvents", "d1", 0),
        ev("DeviceProcessEvents", "d1", 1),
        ev("DeviceNetworkEvents", "d1", 2),
        ev("DeviceNetworkEvents", "d1", 3),
        ev("DeviceNetworkEvents", "d1", 4),
        ev("DeviceProcessEvents", "d2", 0),
    ];
    let mut ex = Executor::new(&plan, NOW, None);
    let fields = ex.fields().clone();
    for e in &evs {
        let mut row = Row::new(&fields);
        row_from_json(&e.json().to_string(), &fields, &mut row).unwrap();
        row.set_table_hint(e.table);
        ex.process(&row).unwrap();
    }
    let rows = ex.finish();
    // d1: the first 4 of its 6 pairs (the first left event's 3, then one of the second's);
    // d2: its left event alone, right side null.
    assert_eq!(rows.len(), 5);
    assert_eq!(ex.stats.rules[0].capped_pairs, 2);
    let second = |i: usize| value_to_json(&rows[i].values[1]);
    assert_eq!(second(3), serde_json::json!("2024-05-15T12:01:00.0000000Z"));
    assert_eq!(second(4), serde_json::Value::Null);
}
