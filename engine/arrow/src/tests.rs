use super::*;
use crate::io::row_from_json;
use arrow_array::{Int64Array, StringArray};
use proptest::prelude::*;
use proptest::strategy::ValueTree;

const NOW: &str = "2024-05-15T12:00:00Z";

/// Rules exercising every kind of state: groups with count/min/max/make_set (capped)/dcount/
/// arg_max, an exclusion, rows without `summarize` (one with `take`), and a `distinct` set.
const EXTRA: &str = r#"
rule signer_stats {
  id "t-stats"
  from DeviceFileCertificateInfo
  window 5d
  where Signer has_any ('DWSNET', 'Krämer IT Solutions GmbH')
  except "lab" when DeviceName startswith 'lab'
  summarize Devices = dcount(DeviceId), Last = arg_max(Timestamp, ReportId),
            Few = make_set(SHA1, 2), Count = count() by Signer
}

rule signer_rows {
  id "t-rows"
  from DeviceFileCertificateInfo
  where Signer contains 'gmbh'
  project Timestamp, DeviceName, ReportId
}

rule first_two {
  id "t-take"
  from DeviceFileCertificateInfo
  where SHA1 startswith 'a'
  take 2
}
"#;

fn rules() -> Rules {
    let sources = vec![
        (
            "sets.scry".to_string(),
            include_str!("../../../tests/data/features/sets.scry").to_string(),
        ),
        ("extra.scry".to_string(), EXTRA.to_string()),
    ];
    Rules::compile(
        &sources,
        &Options {
            now: Some(NOW.into()),
            table: None,
        },
    )
    .unwrap()
}

/// One event: (Type, Timestamp, DeviceId, DeviceName, Signer, SHA1, RemoteUrl, ReportId).
type Event = (
    &'static str,
    Option<String>,
    String,
    String,
    Option<&'static str>,
    String,
    &'static str,
    i64,
);

fn event() -> impl Strategy<Value = Event> {
    let table = prop::sample::select(vec![
        "DeviceFileCertificateInfo",
        "DeviceFileCertificateInfo",
        "DeviceProcessEvents",
        "DeviceNetworkEvents",
        "NoSuchTable",
    ]);
    let ts = prop_oneof![
        8 => (0i64..8 * 24).prop_map(|h| Some(format!(
            "2024-05-{:02}T{:02}:00:00Z",
            8 + h / 24,
            h % 24
        ))),
        1 => Just(None),
        1 => Just(Some("yesterday".to_string())),
    ];
    let signer = prop::sample::select(vec![
        Some("DWSNET OÜ"),
        Some("dwsnet oü"),
        Some("Krämer IT Solutions GmbH"),
        Some("Other GmbH"),
        None,
    ]);
    let url = prop::sample::select(vec!["node1.dwservice.net", "example.com"]);
    (
        table,
        ts,
        0..4u8,
        prop::bool::ANY,
        signer,
        prop::sample::select(vec!["aaaa", "bbbb", "abcd", "ffff"]),
        url,
        0..1000i64,
    )
        .prop_map(|(t, ts, d, lab, s, h, u, r)| {
            let name = if lab {
                format!("lab-{d}")
            } else {
                format!("pc-{d}")
            };
            (t, ts, format!("d-{d}"), name, s, h.to_string(), u, r)
        })
}

/// The events as one Arrow batch: SHA1 doubles as `InitiatingProcessSHA1`, the same columns
/// every table reads.
fn batch(events: &[Event]) -> RecordBatch {
    let s = |f: fn(&Event) -> Option<String>| {
        Arc::new(StringArray::from(events.iter().map(f).collect::<Vec<_>>())) as ArrayRef
    };
    RecordBatch::try_from_iter(vec![
        ("Type", s(|e| Some(e.0.to_string()))),
        ("Timestamp", s(|e| e.1.clone())),
        ("DeviceId", s(|e| Some(e.2.clone()))),
        ("DeviceName", s(|e| Some(e.3.clone()))),
        ("Signer", s(|e| e.4.map(str::to_string))),
        ("SHA1", s(|e| Some(e.5.clone()))),
        ("InitiatingProcessSHA1", s(|e| Some(e.5.clone()))),
        ("RemoteUrl", s(|e| Some(e.6.to_string()))),
        (
            "ReportId",
            Arc::new(Int64Array::from(
                events.iter().map(|e| e.7).collect::<Vec<_>>(),
            )) as ArrayRef,
        ),
    ])
    .unwrap()
}

/// The events as JSON lines, through the text reader and one executor, as `scry run` reads
/// them (two passes: sets first).
fn reference(rules: &Rules, events: &[Event]) -> Vec<String> {
    let plan = rules.plan();
    let lines: Vec<String> = events
        .iter()
        .map(|e| {
            serde_json::json!({
                "Type": e.0, "Timestamp": e.1, "DeviceId": e.2, "DeviceName": e.3,
                "Signer": e.4, "SHA1": e.5, "InitiatingProcessSHA1": e.5,
                "RemoteUrl": e.6, "ReportId": e.7,
            })
            .to_string()
        })
        .collect();
    let now = crate::kql::time::parse_datetime(NOW).unwrap();
    let mut first = Executor::new(plan, now, None);
    let fields = first.fields().clone();
    let mut row = Row::new(&fields);
    for l in &lines {
        row_from_json(l, &fields, &mut row).unwrap();
        let _ = first.collect_sets(&row);
    }
    let mut ex = Executor::new(plan, now, None);
    ex.use_sets(&first.collected_sets());
    for l in &lines {
        row_from_json(l, &fields, &mut row).unwrap();
        let _ = ex.process(&row);
    }
    ex.finish().iter().map(|r| r.to_json_line(plan)).collect()
}

fn lines(result: &RecordBatch) -> Vec<String> {
    let col = result.column_by_name("result").unwrap().as_string::<i32>();
    (0..col.len()).map(|i| col.value(i).to_string()).collect()
}

/// Evaluates `parts` (each a list of batches) with one evaluator per part, the sets collected
/// the same way first; returns the partial states.
fn states(rules: &Rules, parts: &[Vec<RecordBatch>]) -> Vec<RecordBatch> {
    let mut set_states = Vec::new();
    for (i, part) in parts.iter().enumerate() {
        let mut c = rules.set_collector().starting_at((i as u64) << 32);
        for b in part {
            c.update(b).unwrap();
        }
        set_states.push(c.state().unwrap());
    }
    let sets = rules.merge(&set_states).unwrap();
    parts
        .iter()
        .enumerate()
        .map(|(i, part)| {
            let mut ev = rules
                .evaluator(Some(&sets))
                .unwrap()
                .starting_at((i as u64) << 32);
            for b in part {
                ev.update(b).unwrap();
            }
            ev.state().unwrap()
        })
        .collect()
}

#[test]
fn arrow_batches_give_the_rows_json_lines_give() {
    let rules = rules();
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let events = prop::collection::vec(event(), 200)
        .new_tree(&mut runner)
        .unwrap()
        .current();
    let want = reference(&rules, &events);
    assert!(want.len() > 5, "the data exercises the rules: {want:?}");
    let got = lines(
        &rules
            .finalize(&states(&rules, &[vec![batch(&events)]]))
            .unwrap(),
    );
    assert_eq!(got, want);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Split the input anywhere, evaluate the parts separately, merge the states in any
    /// grouping and order: the results are those of the whole input.
    #[test]
    fn any_split_merged_in_any_order_equals_the_whole(
        events in prop::collection::vec(event(), 0..80),
        cuts in prop::collection::vec(0usize..80, 0..6),
        order_seed in any::<u64>(),
    ) {
        let rules = rules();
        let want = reference(&rules, &events);
        let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c.min(events.len())).collect();
        cuts.sort_unstable();
        let mut bounds = vec![0];
        bounds.extend(cuts);
        bounds.push(events.len());
        // Consecutive slices in input order; each part gets one or two batches.
        let parts: Vec<Vec<RecordBatch>> = bounds
            .windows(2)
            .map(|w| {
                let slice = &events[w[0]..w[1]];
                let mid = slice.len() / 2;
                vec![batch(&slice[..mid]), batch(&slice[mid..])]
            })
            .collect();
        let mut states = states(&rules, &parts);
        // A pseudo-random order, then merged as a random tree.
        let mut seed = order_seed;
        let mut next = || {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (seed >> 33) as usize
        };
        for i in (1..states.len()).rev() {
            states.swap(i, next() % (i + 1));
        }
        while states.len() > 1 {
            let take = 2 + next() % 2;
            let at = next() % states.len();
            let group: Vec<RecordBatch> = (0..take.min(states.len()))
                .map(|_| states.remove(at.min(states.len() - 1)))
                .collect();
            states.push(rules.merge(&group).unwrap());
        }
        let got = lines(&rules.finalize(&states).unwrap());
        prop_assert_eq!(got, want);
    }
}

#[test]
fn states_split_by_kind_rule_and_key_merge_as_a_shuffle_would() {
    // What Spark's groupBy(kind, rule, key) does: every group of state rows merged on its own,
    // then all the merged rows finished together.
    let rules = rules();
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let events = prop::collection::vec(event(), 300)
        .new_tree(&mut runner)
        .unwrap()
        .current();
    let want = reference(&rules, &events);
    let parts: Vec<Vec<RecordBatch>> = events.chunks(70).map(|c| vec![batch(c)]).collect();
    let all = arrow_select_concat(&states(&rules, &parts));
    let mut groups: std::collections::BTreeMap<(String, String, String), Vec<usize>> =
        Default::default();
    let (k, r, key) = (
        strings(&all, "kind").unwrap(),
        strings(&all, "rule").unwrap(),
        strings(&all, "key").unwrap(),
    );
    for i in 0..all.num_rows() {
        groups
            .entry((
                k[i].clone().unwrap(),
                r[i].clone().unwrap_or_default(),
                key[i].clone().unwrap_or_default(),
            ))
            .or_default()
            .push(i);
    }
    assert!(groups.len() > 10);
    let merged: Vec<RecordBatch> = groups
        .values()
        .map(|rows| {
            let idx =
                arrow_array::UInt32Array::from(rows.iter().map(|&i| i as u32).collect::<Vec<_>>());
            let part = take_rows(&all, &idx);
            let m = rules.merge(&[part]).unwrap();
            assert_eq!(m.num_rows(), 1, "one group merges to one row");
            m
        })
        .collect();
    assert_eq!(lines(&rules.finalize(&merged).unwrap()), want);
    // The counters reconcile: every event read is evaluated or skipped with a reason.
    let summary: serde_json::Value =
        serde_json::from_str(&rules.summary(&merged).unwrap()).unwrap();
    let skipped: u64 = summary["skipped"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_u64().unwrap())
        .sum();
    assert_eq!(summary["read"].as_u64().unwrap(), events.len() as u64);
    assert_eq!(
        summary["evaluated"].as_u64().unwrap() + skipped,
        events.len() as u64
    );
    assert!(skipped > 0, "bad timestamps and unknown tables are counted");
    // `make_set(SHA1, 2)` over four hashes: the cap is reported, per rule.
    let stats_rule = summary["rules"]
        .as_array()
        .unwrap()
        .iter()
        .zip(rules.rule_ids())
        .find(|(_, id)| id == "t-stats")
        .unwrap()
        .0
        .clone();
    assert!(
        stats_rule["capped_sets"].as_u64().unwrap() > 0,
        "{stats_rule}"
    );
    assert_eq!(
        stats_rule["results"].as_u64().unwrap() as usize,
        want.iter().filter(|l| l.contains("\"t-stats\"")).count()
    );
}

fn arrow_select_concat(batches: &[RecordBatch]) -> RecordBatch {
    let mut entries = Vec::new();
    for b in batches {
        entries.extend(decode(b).unwrap());
    }
    encode(&entries).unwrap()
}

fn take_rows(batch: &RecordBatch, idx: &arrow_array::UInt32Array) -> RecordBatch {
    let entries = decode(batch).unwrap();
    let picked: Vec<Entry> = idx
        .values()
        .iter()
        .map(|&i| entries[i as usize].clone())
        .collect();
    encode(&picked).unwrap()
}

#[test]
fn state_survives_ipc_and_has_only_signed_types() {
    let rules = rules();
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let events = prop::collection::vec(event(), 50)
        .new_tree(&mut runner)
        .unwrap()
        .current();
    let s = states(&rules, &[vec![batch(&events)]]);
    let bytes = to_ipc(&s).unwrap();
    let back = from_ipc(&bytes).unwrap();
    assert_eq!(back, s);
    for f in state_schema().fields() {
        assert!(
            !matches!(
                f.data_type(),
                DataType::UInt8 | DataType::UInt16 | DataType::UInt32 | DataType::UInt64
            ),
            "{f}"
        );
    }
    assert!(from_ipc(b"not arrow")
        .unwrap_err()
        .contains("not an Arrow IPC stream"));
}

#[test]
fn matches_marks_what_each_rule_keeps() {
    let rules = rules();
    let ev = |signer: &'static str, name: &str, sha: &str| -> Event {
        (
            "DeviceFileCertificateInfo",
            Some("2024-05-14T08:00:00Z".into()),
            "d-1".into(),
            name.into(),
            Some(signer),
            sha.into(),
            "example.com",
            1,
        )
    };
    let events = vec![
        ev("DWSNET OÜ", "pc-1", "aaaa"),
        ev("DWSNET OÜ", "lab-1", "ffff"),
        ev("Other GmbH", "pc-1", "abcd"),
    ];
    let b = batch(&events);
    let mut c = rules.set_collector();
    c.update(&b).unwrap();
    let sets = c.state().unwrap();
    let m = rules.matches(&b, Some(&sets)).unwrap();
    let col = |id: &str| -> Vec<bool> {
        let a = m.column_by_name(id).unwrap().as_boolean();
        (0..a.len()).map(|i| a.value(i)).collect()
    };
    assert_eq!(
        col("t-stats"),
        vec![true, false, false],
        "lab-1 is excluded"
    );
    assert_eq!(col("t-rows"), vec![false, false, true]);
    assert_eq!(col("t-take"), vec![true, false, true]);
    assert_eq!(m.num_rows(), 3);
}

#[test]
fn misuse_is_refused_by_name() {
    let rules = rules();
    let err = rules.evaluator(None).unwrap_err();
    assert!(err.contains("collect them first"), "{err}");
    // A state of other rules.
    let other = Rules::compile(
        &[("o.scry".into(), EXTRA.replace("t-stats", "t-other"))],
        &Options {
            now: Some(NOW.into()),
            table: None,
        },
    )
    .unwrap();
    let mut ev = other.evaluator(None).unwrap();
    ev.update(&batch(&[(
        "DeviceFileCertificateInfo",
        Some("2024-05-14T08:00:00Z".into()),
        "d".into(),
        "pc".into(),
        Some("DWSNET OÜ"),
        "aaaa".into(),
        "x",
        1,
    )]))
    .unwrap();
    let err = rules.merge(&[ev.state().unwrap()]).unwrap_err();
    assert!(err.contains("no rule with id `t-other`"), "{err}");
    let err = Rules::compile(
        &[("bad.scry".into(), "rule r { from Nope }".into())],
        &Options::default(),
    )
    .unwrap_err();
    assert!(err.starts_with("bad.scry:1:"), "{err}");
}
