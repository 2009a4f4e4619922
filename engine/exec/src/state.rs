//! Partial results as portable entries: what one process evaluated, in a form another process
//! (a Spark task, another machine) can merge with its own and finish.
//!
//! An [`Executor`](crate::Executor)'s [`Partial`] becomes a list of [`Entry`]s, one per
//! `summarize` group, result row, `distinct` set, plus one for the run's counters. Each entry
//! carries its exact state as an opaque blob; the other fields (group key, first and last
//! seen, count, a set) are there so that an engine can shuffle, inspect or aggregate
//! natively without decoding the blob. Entries of the same (kind, rule, key) merge into one,
//! and merging is associative and commutative, so any split of the input, evaluated anywhere
//! and merged in any order, gives the results of one executor over the whole input.
//!
//! The blob is JSON (serde): partial states are small next to the events they summarise, and
//! a self-describing format lets a mismatched rule set be refused by name instead of decoded
//! into nonsense.

use crate::compile::AggKind;
use crate::origin::Origin;
use crate::plan::Plan;
use crate::value::Value;
use crate::{AggState, Group, Key, Partial, RuleState, RunStats, SetAcc, Tagged};
use hashbrown::HashMap;
use serde::{Deserialize, Serialize};
use std::cmp::Ordering;
use std::collections::BTreeSet;

/// What an [`Entry`] holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EntryKind {
    /// One `summarize` group of a rule.
    Group,
    /// Result rows of a rule without `summarize`.
    Row,
    /// The values of a `distinct` set collected so far.
    Set,
    /// The run's counters (read, evaluated, skipped, per rule).
    Stats,
}

impl EntryKind {
    /// The name used in state batches.
    pub fn name(self) -> &'static str {
        match self {
            EntryKind::Group => "group",
            EntryKind::Row => "row",
            EntryKind::Set => "set",
            EntryKind::Stats => "stats",
        }
    }

    /// The kind of a name.
    pub fn from_name(s: &str) -> Option<EntryKind> {
        Some(match s {
            "group" => EntryKind::Group,
            "row" => EntryKind::Row,
            "set" => EntryKind::Set,
            "stats" => EntryKind::Stats,
            _ => return None,
        })
    }
}

/// One unit of partial state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// What it holds.
    pub kind: EntryKind,
    /// The rule's id ([`Group`](EntryKind::Group), [`Row`](EntryKind::Row)) or the set's
    /// name ([`Set`](EntryKind::Set)); none for [`Stats`](EntryKind::Stats).
    pub rule: Option<String>,
    /// The canonical group key (a JSON array of typed values), the input-order tag of a row,
    /// or the set's index; none for stats.
    pub key: Option<String>,
    /// Informational: the earliest datetime a `min` aggregate of the group holds (ticks).
    pub first_seen: Option<i64>,
    /// Informational: the latest datetime a `max` aggregate of the group holds (ticks).
    pub last_seen: Option<i64>,
    /// Informational: the group's first `count()`, or records read for stats.
    pub count: Option<i64>,
    /// Informational: the group's first `make_set`, or a set's values, as text.
    pub set: Option<Vec<String>>,
    /// The exact state; merging reads only this (and the kind, rule and key).
    pub blob: Vec<u8>,
}

/// An aggregate's state as stored in a blob. Sets are sorted so that the same state gives the
/// same bytes.
#[derive(Debug, Serialize, Deserialize)]
enum AggWire {
    Count(i64),
    DCount(Vec<Key>),
    Min(Option<Key>),
    Max(Option<Key>),
    Sum(Option<Key>),
    /// The sum as a real's key (a JSON number cannot hold an infinite sum).
    Avg {
        sum: Key,
        n: i64,
    },
    MakeSet {
        set: Vec<Key>,
        limit: usize,
        capped: bool,
    },
    Timeline {
        cap: usize,
        evicted: u64,
        lanes: Vec<Vec<(crate::timeline::Event, u32)>>,
    },
    Arg {
        max: bool,
        best: Option<(Key, Vec<Key>)>,
        width: usize,
    },
}

/// Result rows as stored in a blob: (chunk, sequence, values), and where the row's event was
/// read when that is known. Rows without a place (Arrow batches have none) keep the
/// three-element form states had before places existed, so those states still decode.
#[derive(Debug, Serialize, Deserialize)]
#[serde(untagged)]
enum RowItem {
    Located(u64, u64, Vec<Key>, Origin),
    Plain(u64, u64, Vec<Key>),
}

type RowWire = Vec<RowItem>;

/// A group's blob: its aggregates as a JSON array, as before places existed; or, when the
/// place of its first event is known, an object `{"aggs": [...], "origin": {...}}`.
#[derive(Debug, Serialize, Deserialize)]
struct LocatedGroup {
    aggs: Vec<AggWire>,
    origin: Origin,
}

fn group_blob(g: &Group) -> Vec<u8> {
    let aggs: Vec<AggWire> = g.aggs.iter().map(to_wire).collect();
    match g.origin {
        Some(origin) => json(&LocatedGroup { aggs, origin }),
        None => json(&aggs),
    }
}

fn group_from_blob(blob: &[u8]) -> Result<Group, serde_json::Error> {
    let (aggs, origin) = if blob.first() == Some(&b'{') {
        let g: LocatedGroup = serde_json::from_slice(blob)?;
        (g.aggs, Some(g.origin))
    } else {
        (serde_json::from_slice::<Vec<AggWire>>(blob)?, None)
    };
    Ok(Group {
        aggs: aggs.into_iter().map(from_wire).collect(),
        origin,
    })
}

fn to_wire(a: &AggState) -> AggWire {
    let key = |v: &Option<Value>| v.as_ref().map(Key::of);
    match a {
        AggState::Count(n) => AggWire::Count(*n),
        AggState::DCount(s) => {
            let mut v: Vec<Key> = s.iter().cloned().collect();
            v.sort();
            AggWire::DCount(v)
        }
        AggState::Min(v) => AggWire::Min(key(v)),
        AggState::Max(v) => AggWire::Max(key(v)),
        AggState::Sum(v) => AggWire::Sum(key(v)),
        AggState::Avg { sum, n } => AggWire::Avg {
            sum: Key::of(&Value::Real(*sum)),
            n: *n,
        },
        AggState::MakeSet { set, limit, capped } => AggWire::MakeSet {
            set: set.iter().cloned().collect(),
            limit: *limit,
            capped: *capped,
        },
        AggState::Timeline(t) => AggWire::Timeline {
            cap: t.cap,
            evicted: t.evicted,
            lanes: t
                .lanes
                .iter()
                .map(|l| l.iter().map(|(e, n)| (e.clone(), *n)).collect())
                .collect(),
        },
        AggState::ArgExtreme { want, best, width } => AggWire::Arg {
            max: *want == Ordering::Greater,
            best: best.clone(),
            width: *width,
        },
    }
}

fn from_wire(w: AggWire) -> AggState {
    let value = |k: Option<Key>| k.as_ref().map(Key::value);
    match w {
        AggWire::Count(n) => AggState::Count(n),
        AggWire::DCount(v) => AggState::DCount(v.into_iter().collect()),
        AggWire::Min(k) => AggState::Min(value(k)),
        AggWire::Max(k) => AggState::Max(value(k)),
        AggWire::Sum(k) => AggState::Sum(value(k)),
        AggWire::Avg { sum, n } => AggState::Avg {
            sum: crate::agg::real(&sum.value()).unwrap_or(0.0),
            n,
        },
        AggWire::MakeSet { set, limit, capped } => AggState::MakeSet {
            set: set.into_iter().collect::<BTreeSet<Key>>(),
            limit,
            capped,
        },
        AggWire::Timeline {
            cap,
            evicted,
            lanes,
        } => {
            // Re-adding the events re-checks the cap, so a state cannot smuggle in more.
            let mut t = crate::timeline::TimelineAcc::new(lanes.len(), cap);
            for (lane, events) in lanes.into_iter().enumerate() {
                for (e, n) in events {
                    for _ in 0..n.min(u32::try_from(cap).unwrap_or(u32::MAX)) {
                        t.push(lane, e.clone());
                    }
                }
            }
            t.evicted += evicted;
            AggState::Timeline(t)
        }
        AggWire::Arg { max, best, width } => AggState::ArgExtreme {
            want: if max {
                Ordering::Greater
            } else {
                Ordering::Less
            },
            best,
            width,
        },
    }
}

/// True when a decoded state is the state of aggregate kind `k`.
fn fits(a: &AggState, k: AggKind) -> bool {
    matches!(
        (a, k),
        (AggState::Count(_), AggKind::Count | AggKind::CountIf)
            | (AggState::DCount(_), AggKind::DCount)
            | (AggState::Min(_), AggKind::Min)
            | (AggState::Max(_), AggKind::Max)
            | (AggState::Sum(_), AggKind::Sum)
            | (AggState::Avg { .. }, AggKind::Avg)
            | (AggState::MakeSet { .. }, AggKind::MakeSet)
            | (
                AggState::ArgExtreme { .. },
                AggKind::ArgMax | AggKind::ArgMin
            )
    )
}

fn text(v: &Value) -> String {
    crate::kql::funcs::tostring(v)
}

fn json<T: Serialize>(v: &T) -> Vec<u8> {
    // Serializing plain data (no maps with non-string keys) cannot fail.
    serde_json::to_vec(v).unwrap_or_default()
}

/// The entries of `partial`, in a fixed order: rules in plan order (groups sorted by key, rows
/// in input order), then sets, then the counters.
pub fn entries(plan: &Plan, partial: Partial) -> Vec<Entry> {
    let Partial { rules, sets, stats } = partial;
    let mut out = Vec::new();
    for (ri, state) in rules.into_iter().enumerate() {
        let rule = plan.rules[ri].id().to_string();
        let mut groups: Vec<(Vec<Key>, Group)> = state.groups.into_iter().collect();
        groups.sort_by(|a, b| a.0.cmp(&b.0));
        for (key, group) in groups {
            let aggs = &group.aggs;
            let datetime = |want: fn(&AggState) -> Option<&Option<Value>>| {
                aggs.iter().filter_map(want).find_map(|v| match v {
                    Some(Value::DateTime(t)) => Some(*t),
                    _ => None,
                })
            };
            let first_seen = datetime(|a| match a {
                AggState::Min(v) => Some(v),
                _ => None,
            });
            let last_seen = datetime(|a| match a {
                AggState::Max(v) => Some(v),
                _ => None,
            });
            let timeline = aggs.iter().find_map(|a| match a {
                AggState::Timeline(t) => Some(t.summary()),
                _ => None,
            });
            let (first_seen, last_seen) = match timeline {
                Some((first, last, _)) => (first, last),
                None => (first_seen, last_seen),
            };
            let count = aggs.iter().find_map(|a| match a {
                AggState::Count(n) => Some(*n),
                AggState::Timeline(t) => Some(t.summary().2),
                _ => None,
            });
            let set = aggs.iter().find_map(|a| match a {
                AggState::MakeSet { set, .. } => {
                    Some(set.iter().map(|k| text(&k.value())).collect())
                }
                _ => None,
            });
            out.push(Entry {
                kind: EntryKind::Group,
                rule: Some(rule.clone()),
                key: Some(String::from_utf8(json(&key)).unwrap_or_default()),
                first_seen,
                last_seen,
                count,
                set,
                blob: group_blob(&group),
            });
        }
        let mut rows = state.rows;
        rows.sort_by_key(|t| (t.chunk, t.seq));
        for Tagged {
            chunk,
            seq,
            origin,
            values,
        } in rows
        {
            let keys = values.iter().map(Key::of).collect();
            let wire: RowWire = vec![match origin {
                Some(o) => RowItem::Located(chunk, seq, keys, o),
                None => RowItem::Plain(chunk, seq, keys),
            }];
            out.push(Entry {
                kind: EntryKind::Row,
                rule: Some(rule.clone()),
                key: Some(row_tag(chunk, seq)),
                first_seen: None,
                last_seen: None,
                count: Some(1),
                set: None,
                blob: json(&wire),
            });
        }
    }
    // Empty sets and zero counters are left out: they change nothing when merged, and a
    // merge of one group's entries then gives exactly one entry.
    for (si, acc) in sets
        .into_iter()
        .enumerate()
        .filter(|(_, a)| !a.values.is_empty())
    {
        let mut values: Vec<Key> = acc.values.iter().map(Key::of).collect();
        values.sort();
        out.push(Entry {
            kind: EntryKind::Set,
            rule: Some(plan.sets[si].name.clone()),
            key: Some(si.to_string()),
            first_seen: None,
            last_seen: None,
            count: Some(values.len() as i64),
            set: Some(values.iter().map(|k| text(&k.value())).collect()),
            blob: json(&values),
        });
    }
    if stats == RunStats::zero(plan) {
        return out;
    }
    out.push(Entry {
        kind: EntryKind::Stats,
        rule: None,
        key: None,
        first_seen: None,
        last_seen: None,
        count: i64::try_from(stats.read).ok(),
        set: None,
        blob: json(&stats),
    });
    out
}

/// A row's input-order tag: sorts as (chunk, sequence).
fn row_tag(chunk: u64, seq: u64) -> String {
    format!("{chunk:016x}{seq:016x}")
}

/// Decodes entries back into one [`Partial`] of `plan` (entries of the same group combine).
/// Fails, naming the entry, when an entry does not belong to these rules.
pub fn partial(plan: &Plan, entries: impl IntoIterator<Item = Entry>) -> Result<Partial, String> {
    let mut by_id: HashMap<&str, usize> = HashMap::new();
    for (ri, r) in plan.rules.iter().enumerate() {
        if by_id.insert(r.id(), ri).is_some() {
            return Err(format!(
                "rule id `{}` is used by two rules; partial states need unique rule ids",
                r.id()
            ));
        }
    }
    let mut rules: Vec<RuleState> = plan.rules.iter().map(|_| RuleState::default()).collect();
    let mut sets: Vec<SetAcc> = plan.sets.iter().map(|_| SetAcc::default()).collect();
    let mut stats = RunStats::zero(plan);
    for e in entries {
        let what = || {
            format!(
                "state entry ({}, {}, {})",
                e.kind.name(),
                e.rule.as_deref().unwrap_or("-"),
                e.key.as_deref().unwrap_or("-")
            )
        };
        let bad = |why: String| format!("{}: {why}", what());
        match e.kind {
            EntryKind::Group | EntryKind::Row => {
                let id = e.rule.as_deref().unwrap_or("");
                let &ri = by_id
                    .get(id)
                    .ok_or_else(|| bad(format!("no rule with id `{id}` in these rules")))?;
                let rule = &plan.rules[ri];
                if e.kind == EntryKind::Row {
                    if rule.summarize {
                        return Err(bad("the rule summarizes; a row entry cannot be its".into()));
                    }
                    let rows: RowWire =
                        serde_json::from_slice(&e.blob).map_err(|x| bad(x.to_string()))?;
                    rules[ri].rows.extend(rows.into_iter().map(|item| {
                        let (chunk, seq, keys, origin) = match item {
                            RowItem::Located(c, s, k, o) => (c, s, k, Some(o)),
                            RowItem::Plain(c, s, k) => (c, s, k, None),
                        };
                        Tagged {
                            chunk,
                            seq,
                            origin,
                            values: keys.iter().map(Key::value).collect(),
                        }
                    }));
                    continue;
                }
                let body = rule
                    .bodies
                    .first()
                    .filter(|_| rule.summarize)
                    .ok_or_else(|| bad("the rule does not summarize".into()))?;
                let key: Vec<Key> = serde_json::from_str(e.key.as_deref().unwrap_or(""))
                    .map_err(|x| bad(format!("group key: {x}")))?;
                let group = group_from_blob(&e.blob).map_err(|x| bad(x.to_string()))?;
                let fitting = match &rule.timeline {
                    Some(_) => matches!(group.aggs.as_slice(), [AggState::Timeline(_)]),
                    None => {
                        group.aggs.len() == body.aggs.len()
                            && group
                                .aggs
                                .iter()
                                .zip(&body.aggs)
                                .all(|(a, d)| fits(a, d.kind))
                    }
                };
                if key.len() != body.keys.len() || !fitting {
                    return Err(bad(
                        "its aggregates are not the rule's: was it made with other rules?".into(),
                    ));
                }
                match rules[ri].groups.entry(key) {
                    hashbrown::hash_map::Entry::Occupied(mut o) => o.get_mut().merge(group),
                    hashbrown::hash_map::Entry::Vacant(v) => {
                        v.insert(group);
                    }
                }
            }
            EntryKind::Set => {
                let si: usize = e
                    .key
                    .as_deref()
                    .and_then(|k| k.parse().ok())
                    .filter(|&i: &usize| i < plan.sets.len())
                    .ok_or_else(|| bad("no such set in these rules".into()))?;
                if e.rule.as_deref() != Some(plan.sets[si].name.as_str()) {
                    return Err(bad(format!(
                        "set {si} of these rules is `{}`",
                        plan.sets[si].name
                    )));
                }
                let values: Vec<Key> =
                    serde_json::from_slice(&e.blob).map_err(|x| bad(x.to_string()))?;
                let acc = &mut sets[si];
                for k in values {
                    if acc.seen.insert(k.clone()) {
                        acc.values.push(k.value());
                    }
                }
            }
            EntryKind::Stats => {
                let s: RunStats =
                    serde_json::from_slice(&e.blob).map_err(|x| bad(x.to_string()))?;
                if s.rules.len() != plan.rules.len()
                    || s.rules
                        .iter()
                        .zip(&plan.rules)
                        .any(|(st, r)| st.suppressed.len() != r.exclusions.len())
                {
                    return Err(bad("its counters are for other rules".into()));
                }
                stats.merge(s);
            }
        }
    }
    // First-seen order of a set is the order entries came in; sort so that any order of
    // entries gives the same set (what rules test does not depend on it).
    for acc in &mut sets {
        acc.values.sort_by_key(Key::of);
    }
    Ok(Partial { rules, sets, stats })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compile::{self, Sources};
    use crate::row::Row;
    use crate::schema::Catalog;
    use crate::Executor;
    use scry_io::row_from_json;
    use std::sync::Arc;

    const RULES: &str = r#"
rule per_device { id "groups" from DeviceProcessEvents summarize n = count() by DeviceName examples {} }
rule each { id "rows" from DeviceProcessEvents project DeviceName, FileName examples {} }
"#;

    fn plan() -> Plan {
        let mut sources = Sources::default();
        sources.add("o.scry", RULES);
        let compiled = compile::compile(&sources, Arc::new(Catalog::builtin()));
        assert!(!compiled.has_errors(), "{:?}", compiled.diagnostics);
        Plan::new(compiled.rules)
    }

    fn event(device: &str, file: &str) -> String {
        format!(r#"{{"Type":"DeviceProcessEvents","DeviceName":"{device}","FileName":"{file}"}}"#)
    }

    /// Evaluates (line, device) events of input 0 at their lines.
    fn partial_of(plan: &Plan, events: &[(u64, &str)]) -> Partial {
        let mut ex = Executor::new(plan, 0, None);
        let fields = ex.fields().clone();
        let mut row = Row::new(&fields);
        for &(line, device) in events {
            row_from_json(&event(device, "a.exe"), &fields, &mut row).unwrap();
            ex.begin_chunk(line);
            let at = Origin {
                input: 0,
                line,
                record: 1,
            };
            ex.process_at(&row, at).unwrap();
        }
        ex.into_partial().unwrap()
    }

    fn line_of(r: &crate::ResultRow) -> Option<u64> {
        r.origin.map(|o| o.line)
    }

    #[test]
    fn origins_travel_through_entries_and_merge_to_the_first_event() {
        let plan = plan();
        // Two splits of one input: device `a` first seen at line 2 (in the second part),
        // device `b` at line 1 (in the first).
        let first = entries(&plan, partial_of(&plan, &[(5, "a"), (1, "b")]));
        let second = entries(&plan, partial_of(&plan, &[(2, "a"), (7, "b")]));
        // Any order of entries merges to the same origins.
        for all in [
            first.iter().chain(&second).cloned().collect::<Vec<_>>(),
            second.iter().chain(&first).cloned().collect(),
        ] {
            let mut ex = Executor::new(&plan, 0, None);
            ex.absorb(partial(&plan, all).unwrap());
            let rows = ex.finish();
            let groups: Vec<(String, Option<u64>)> = rows
                .iter()
                .filter(|r| r.rule == 0)
                .map(|r| (crate::kql::funcs::tostring(&r.values[0]), line_of(r)))
                .collect();
            assert_eq!(
                groups,
                [("a".to_string(), Some(2)), ("b".to_string(), Some(1))]
            );
            // Rows come out in their tags' order (chunk = line here), each at its own line.
            let rows: Vec<Option<u64>> = rows.iter().filter(|r| r.rule == 1).map(line_of).collect();
            assert_eq!(rows, [Some(1), Some(2), Some(5), Some(7)]);
        }
    }

    /// `avg` merges its sums and counts: split over two executors and through entries in
    /// either order, the mean is the mean of all values; no value gives null.
    #[test]
    fn avg_merges_through_entries() {
        let mut sources = Sources::default();
        sources.add(
            "avg.scry",
            r#"rule mean { id "mean" from DeviceProcessEvents summarize m = avg(ProcessId) by DeviceName examples {} }"#,
        );
        let compiled = compile::compile(&sources, Arc::new(Catalog::builtin()));
        assert!(!compiled.has_errors(), "{:?}", compiled.diagnostics);
        let plan = Plan::new(compiled.rules);
        let part = |events: &[(&str, Option<i64>)]| {
            let mut ex = Executor::new(&plan, 0, None);
            let fields = ex.fields().clone();
            let mut row = Row::new(&fields);
            for (device, pid) in events {
                let pid = pid.map_or(String::new(), |p| format!(r#","ProcessId":{p}"#));
                let json =
                    format!(r#"{{"Type":"DeviceProcessEvents","DeviceName":"{device}"{pid}}}"#);
                row_from_json(&json, &fields, &mut row).unwrap();
                ex.process(&row).unwrap();
            }
            entries(&plan, ex.into_partial().unwrap())
        };
        let first = part(&[("a", Some(1)), ("a", Some(2)), ("b", None)]);
        let second = part(&[("a", Some(6)), ("a", None)]);
        for all in [
            first.iter().chain(&second).cloned().collect::<Vec<_>>(),
            second.iter().chain(&first).cloned().collect(),
        ] {
            let mut ex = Executor::new(&plan, 0, None);
            ex.absorb(partial(&plan, all).unwrap());
            let got: Vec<(String, Value)> = ex
                .finish()
                .iter()
                .map(|r| {
                    (
                        crate::kql::funcs::tostring(&r.values[0]),
                        r.values[1].clone(),
                    )
                })
                .collect();
            assert_eq!(
                got,
                [
                    ("a".to_string(), Value::Real(3.0)),
                    ("b".to_string(), Value::Null)
                ]
            );
        }
    }

    #[test]
    fn states_without_origins_keep_their_bytes_and_still_decode() {
        let plan = plan();
        let mut ex = Executor::new(&plan, 0, None);
        let fields = ex.fields().clone();
        let mut row = Row::new(&fields);
        row_from_json(&event("a", "a.exe"), &fields, &mut row).unwrap();
        ex.process(&row).unwrap();
        let es = entries(&plan, ex.into_partial().unwrap());
        // The blobs states had before origins existed: aggregates as an array, rows as
        // (chunk, sequence, values).
        let blobs: Vec<&[u8]> = es.iter().map(|e| e.blob.as_slice()).collect();
        assert_eq!(blobs[0], br#"[{"Count":1}]"#);
        assert_eq!(blobs[1], br#"[[0,0,[{"Str":"a"},{"Str":"a.exe"}]]]"#);
        let mut back = Executor::new(&plan, 0, None);
        back.absorb(partial(&plan, es).unwrap());
        assert!(back.finish().iter().all(|r| r.origin.is_none()));
    }

    #[test]
    fn set_aside_column_names_merge_to_the_same_for_any_split() {
        use crate::SET_ASIDE_NAMES;
        let names = |r: std::ops::Range<usize>| -> RunStats {
            RunStats {
                set_aside: [("T".to_string(), r.len() as u64)].into(),
                set_aside_columns: r.map(|i| format!("c{i:02}")).collect(),
                ..RunStats::default()
            }
        };
        let mut ab = names(0..8);
        ab.merge(names(6..20));
        let mut ba = names(6..20);
        ba.merge(names(0..8));
        assert_eq!(ab, ba);
        assert_eq!(ab.set_aside_columns.len(), SET_ASIDE_NAMES);
        assert_eq!(ab.set_aside_columns.last().unwrap(), "c11");
        assert!(ab.set_aside_more);
        assert_eq!(ab.set_aside["T"], 22);
        let mut few = names(0..3);
        few.merge(names(2..5));
        assert!(!few.set_aside_more);
        let line = &few.decided_lines()[0];
        assert!(
            line.contains("(6 T), set aside: c00, c01, c02, c03, c04 ("),
            "{line}"
        );
    }

    #[test]
    fn a_damaged_group_blob_is_refused_by_name() {
        let plan = plan();
        let es = entries(&plan, partial_of(&plan, &[(3, "a")]));
        let mut bad = es[0].clone();
        assert!(bad.blob.starts_with(b"{"), "a located group");
        bad.blob = br#"{"aggs":[{"Count":1}]}"#.to_vec();
        let err = partial(&plan, [bad]).unwrap_err();
        assert!(err.starts_with("state entry (group, groups, "), "{err}");
        assert!(err.contains("origin"), "{err}");
    }
}
