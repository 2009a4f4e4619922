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
