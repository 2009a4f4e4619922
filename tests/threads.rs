//! Any number of threads and any cut of the input into pieces give the same results, the
//! same counters and the same skip reports as one thread.

use crate::util;
use scry_engine::compile::{self, Sources};
use scry_engine::plan::Plan;
use scry_engine::run::{self, RunOptions};
use scry_engine::schema::Catalog;
use std::path::PathBuf;
use std::sync::Arc;

/// A rule without `summarize`: its rows come out in input order.
const ROWS_RULE: &str = "rule process_rows { id \"rows\" from DeviceProcessEvents where FileName contains '.' examples {} }";

fn plan(dirs: &[&str]) -> Plan {
    let mut sources = Sources::default();
    sources.add("rows.scry", ROWS_RULE);
    for d in dirs {
        for f in util::files(&util::path(d), "scry") {
            let text = std::fs::read_to_string(&f).expect("rule file");
            sources.add(f.display().to_string(), text);
        }
    }
    let compiled = compile::compile(&sources, Arc::new(Catalog::builtin()));
    assert!(!compiled.has_errors(), "{:?}", compiled.diagnostics);
    Plan::new(compiled.rules)
}

/// The sample exports several times over, with bad lines and a `distinct` set's rows spread
/// through it, so that pieces cut anywhere.
fn mixed_input(dir: &std::path::Path) -> PathBuf {
    let mut text = String::new();
    for round in 0..5 {
        for f in [
            "tests/data/sample/defender-flat.jsonl",
            "tests/data/sets/mixed.jsonl",
            "tests/data/prefilter/adversarial.jsonl",
        ] {
            text.push_str(&std::fs::read_to_string(util::path(f)).expect("sample"));
        }
        text.push_str(&format!(
            "{{\"Type\": \"DeviceProcessEvents\", \"Timestamp\": \"bad {round}\"}}\n"
        ));
        text.push_str("{\"truncated\": \n\n");
    }
    let p = dir.join("mixed.jsonl");
    std::fs::write(&p, text).expect("temp file");
    p
}

#[test]
fn results_do_not_depend_on_threads_or_pieces() {
    let dir = std::env::temp_dir().join(format!("scry-threads-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let input = mixed_input(&dir);
    let plan = plan(&["rules/rmm", "tests/data/features"]);
    let base = RunOptions {
        now: scry_engine::kql::time::parse_datetime("2024-05-15T12:00:00Z").unwrap(),
        max_reports: 100,
        ..RunOptions::default()
    };
    let one = run::run(
        &plan,
        std::slice::from_ref(&input),
        &RunOptions {
            threads: 1,
            ..base.clone()
        },
    );
    assert!(!one.results.is_empty());
    assert_eq!(one.reports.len(), 10, "{:?}", one.reports);
    assert!(one.two_pass);
    for threads in [1, 2, 3, 4] {
        for chunk_bytes in [64, 700, 4096] {
            let other = run::run(
                &plan,
                std::slice::from_ref(&input),
                &RunOptions {
                    threads,
                    chunk_bytes,
                    ..base.clone()
                },
            );
            let what = format!("{threads} thread(s), {chunk_bytes}-byte pieces");
            assert_eq!(other.results, one.results, "{what}");
            assert_eq!(other.stats, one.stats, "{what}");
            assert_eq!(other.reports, one.reports, "{what}");
            assert_eq!(
                other.inputs[0].stats.records, one.inputs[0].stats.records,
                "{what}"
            );
        }
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn merged_partial_states_equal_one_executor() {
    use scry_engine::exec::{row_from_json, Executor};
    use scry_engine::row::Row;
    let dir = std::env::temp_dir().join(format!("scry-merge-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let input = std::fs::read_to_string(mixed_input(&dir)).unwrap();
    let plan = plan(&["rules/rmm", "tests/data/features"]);
    let now = scry_engine::kql::time::parse_datetime("2024-05-15T12:00:00Z").unwrap();
    let lines: Vec<&str> = input.lines().filter(|l| l.ends_with('}')).collect();
    let feed = |exec: &mut Executor, i: usize, line: &str| {
        let fields = exec.fields().clone();
        let mut row = Row::new(&fields);
        if row_from_json(line, &fields, &mut row).is_ok() {
            exec.begin_chunk(i as u64);
            let _ = exec.process(&row);
        }
    };
    let mut whole = Executor::new(&plan, now, None);
    for (i, l) in lines.iter().enumerate() {
        feed(&mut whole, i, l);
    }
    // Three executors take the lines round-robin (so each holds rows from everywhere), then
    // merge in reverse order.
    let mut parts: Vec<Executor> = (0..3).map(|_| Executor::new(&plan, now, None)).collect();
    for (i, l) in lines.iter().enumerate() {
        feed(&mut parts[i % 3], i, l);
    }
    let mut merged = parts.pop().unwrap();
    while let Some(p) = parts.pop() {
        merged.merge(p);
    }
    let expected = whole.finish();
    let rows = plan
        .rules
        .iter()
        .position(|r| r.name == "process_rows")
        .unwrap();
    assert!(expected.iter().filter(|r| r.rule == rows).count() > 10);
    assert_eq!(merged.finish(), expected);
    assert_eq!(merged.stats, whole.stats);
    std::fs::remove_dir_all(&dir).ok();
}

/// `arg_max` / `arg_min` with ties and nulls, and `take`, with or without `summarize`: any
/// order of arrival, any split over executors, and any order of merging give the results of
/// one executor reading the input in order.
#[test]
fn arg_extremes_and_take_do_not_depend_on_order_or_split() {
    use scry_engine::exec::{row_from_json, value_to_json, Executor};
    use scry_engine::row::Row;
    let src = r#"
rule ties { id "ties" from DeviceProcessEvents
  summarize Last = arg_max(Timestamp, FileName, ReportId), First = arg_min(Timestamp, FileName), Rows = count()
  by DeviceId examples {} }
rule first_rows { id "first_rows" from DeviceProcessEvents where FileName startswith 'x'
  project DeviceId, FileName, ReportId take 3 examples {} }
rule first_groups { id "first_groups" from DeviceProcessEvents
  summarize arg_min(ReportId, *) by FileName take 2 examples {} }
"#;
    let mut sources = Sources::default();
    sources.add("ops.scry", src);
    let compiled = compile::compile(&sources, Arc::new(Catalog::builtin()));
    assert!(!compiled.has_errors(), "{:?}", compiled.diagnostics);
    let plan = Plan::new(compiled.rules);
    // Four devices; three timestamps, so that rows tie; every fifth row has no Timestamp
    // (device d3 has none at all).
    // 200 lines: more than `take` holds before it prunes (64), in one executor and in two.
    let lines: Vec<String> = (0..200u32)
        .map(|i| {
            let device = i % 4;
            let ts = if i % 5 == 0 || device == 3 {
                String::new()
            } else {
                format!("\"Timestamp\": \"2024-05-14T0{}:00:00Z\", ", i % 3)
            };
            format!(
                "{{{ts}\"DeviceId\": \"d{device}\", \"FileName\": \"x{}.exe\", \"ReportId\": {}, \"Type\": \"DeviceProcessEvents\"}}",
                (i * 7) % 11,
                (i * 13) % 17
            )
        })
        .collect();
    let now = scry_engine::kql::time::parse_datetime("2024-05-15T12:00:00Z").unwrap();
    // Each line keeps its place in the input (its piece number) whoever reads it, when.
    let feed = |exec: &mut Executor, i: usize| {
        let fields = exec.fields().clone();
        let mut row = Row::new(&fields);
        row_from_json(&lines[i], &fields, &mut row).unwrap();
        exec.begin_chunk(i as u64);
        exec.process(&row).unwrap();
    };
    let mut whole = Executor::new(&plan, now, None);
    (0..lines.len()).for_each(|i| feed(&mut whole, i));
    let expected = whole.finish();
    let text = |rule: &str| -> Vec<String> {
        let ri = plan.rules.iter().position(|r| r.name == rule).unwrap();
        expected
            .iter()
            .filter(|r| r.rule == ri)
            .map(|r| {
                let cols: Vec<String> = plan.rules[ri]
                    .output
                    .iter()
                    .zip(&r.values)
                    .take(6)
                    .map(|(c, v)| format!("{}={}", c.name, value_to_json(v)))
                    .collect();
                cols.join(" ")
            })
            .collect()
    };
    // Ties go to the smallest returned values (the file name, then the report id);
    // a device without any Timestamp still gets a row (Kusto picks one), its ranked value
    // null. Computed independently (by hand from the generator above, and in Python).
    assert_eq!(
        text("ties"),
        [
            r#"DeviceId="d0" Last="2024-05-14T02:00:00.0000000Z" FileName="x0.exe" ReportId=10 First="2024-05-14T00:00:00.0000000Z" FileName1="x0.exe""#,
            r#"DeviceId="d1" Last="2024-05-14T02:00:00.0000000Z" FileName="x0.exe" ReportId=15 First="2024-05-14T00:00:00.0000000Z" FileName1="x0.exe""#,
            r#"DeviceId="d2" Last="2024-05-14T02:00:00.0000000Z" FileName="x1.exe" ReportId=10 First="2024-05-14T00:00:00.0000000Z" FileName1="x0.exe""#,
            r#"DeviceId="d3" Last=null FileName="x0.exe" ReportId=0 First=null FileName1="x0.exe""#,
        ]
    );
    // `take`: the first rows in input order; the first groups in key order.
    assert_eq!(
        text("first_rows"),
        [
            r#"DeviceId="d0" FileName="x0.exe" ReportId=0"#,
            r#"DeviceId="d1" FileName="x7.exe" ReportId=13"#,
            r#"DeviceId="d2" FileName="x3.exe" ReportId=9"#,
        ]
    );
    let groups = text("first_groups");
    assert_eq!(groups.len(), 2);
    assert!(
        groups[0].starts_with(r#"FileName="x0.exe" ReportId=0"#),
        "{groups:?}"
    );
    assert!(
        groups[1].starts_with(r#"FileName="x1.exe" ReportId="#),
        "{groups:?}"
    );
    // Arrival orders: reversed, and a fixed shuffle; splits over 1 to 4 executors, merged
    // first to last or last to first.
    let mut shuffled: Vec<usize> = (0..lines.len()).collect();
    for i in 0..shuffled.len() {
        shuffled.swap(i, (i * 31 + 7) % lines.len());
    }
    let orders = [(0..lines.len()).rev().collect::<Vec<_>>(), shuffled];
    for order in &orders {
        for parts in 1..=4 {
            for reverse_merge in [false, true] {
                let mut execs: Vec<Executor> = (0..parts)
                    .map(|_| Executor::new(&plan, now, None))
                    .collect();
                for (k, &i) in order.iter().enumerate() {
                    feed(&mut execs[k % parts], i);
                }
                if reverse_merge {
                    execs.reverse();
                }
                let mut merged = execs.remove(0);
                for e in execs {
                    merged.merge(e);
                }
                assert_eq!(
                    merged.finish(),
                    expected,
                    "{parts} executor(s), reverse merge {reverse_merge}"
                );
            }
        }
    }
}
