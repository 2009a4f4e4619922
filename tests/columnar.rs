//! Parquet and Arrow IPC inputs: the same events as JSON lines give exactly the same result
//! rows; only the needed columns are read; row groups outside every window are skipped and
//! counted; unreadable files and column types are named.

use crate::util;
use arrow_array::builder::{
    BooleanBuilder, Int64Builder, StringBuilder, TimestampNanosecondBuilder,
};
use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema};
use parquet::arrow::ArrowWriter;
use parquet::file::properties::WriterProperties;
use serde_json::Value;
use std::path::Path;
use std::sync::Arc;

const NOW: &str = "2024-05-15T12:00:00Z";

/// JSON-lines events as one Arrow batch, typed as an export would type them: `Timestamp` a
/// UTC timestamp, integers Int64, booleans Boolean, everything else strings.
fn to_batch(events: &[serde_json::Map<String, Value>]) -> RecordBatch {
    let mut names: Vec<String> = Vec::new();
    for e in events {
        for k in e.keys() {
            if !names.contains(k) {
                names.push(k.clone());
            }
        }
    }
    let mut fields = Vec::new();
    let mut columns: Vec<ArrayRef> = Vec::new();
    for name in &names {
        let values: Vec<Option<&Value>> = events
            .iter()
            .map(|e| e.get(name).filter(|v| !v.is_null()))
            .collect();
        let all = |f: fn(&Value) -> bool| values.iter().flatten().all(|v| f(v));
        let (ty, col): (DataType, ArrayRef) = if name == "Timestamp" {
            let mut b = TimestampNanosecondBuilder::new().with_timezone("UTC");
            for v in &values {
                b.append_option(v.and_then(Value::as_str).map(|s| {
                    let t: jiff::Timestamp = s.parse().unwrap();
                    t.as_nanosecond() as i64
                }));
            }
            let a = b.finish();
            (a.data_type().clone(), Arc::new(a))
        } else if all(Value::is_i64) {
            let mut b = Int64Builder::new();
            values
                .iter()
                .for_each(|v| b.append_option(v.and_then(Value::as_i64)));
            (DataType::Int64, Arc::new(b.finish()))
        } else if all(Value::is_boolean) {
            let mut b = BooleanBuilder::new();
            values
                .iter()
                .for_each(|v| b.append_option(v.and_then(Value::as_bool)));
            (DataType::Boolean, Arc::new(b.finish()))
        } else {
            let mut b = StringBuilder::new();
            for v in &values {
                b.append_option(v.map(|v| match v {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                }));
            }
            (DataType::Utf8, Arc::new(b.finish()))
        };
        fields.push(Field::new(name, ty, true));
        columns.push(col);
    }
    RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).unwrap()
}

fn events(path: &str) -> Vec<serde_json::Map<String, Value>> {
    std::fs::read_to_string(util::path(path))
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn write_parquet(path: &Path, batch: &RecordBatch, rows_per_group: usize) {
    let file = std::fs::File::create(path).unwrap();
    let props = WriterProperties::builder()
        .set_max_row_group_row_count(Some(rows_per_group))
        .build();
    let mut w = ArrowWriter::try_new(file, batch.schema(), Some(props)).unwrap();
    w.write(batch).unwrap();
    w.close().unwrap();
}

fn run(rules: &str, input: &Path, extra: &[&str]) -> std::process::Output {
    let input = input.to_string_lossy().into_owned();
    let mut args = vec!["run", "--rules", rules, "--now", NOW, "--format", "ndjson"];
    args.extend_from_slice(extra);
    args.push(&input);
    util::scry(&args)
}

/// `run` with the file on standard input (`-`).
fn run_stdin(rules: &str, input: &Path) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_scry"))
        .args([
            "run", "--rules", rules, "--now", NOW, "--format", "ndjson", "-",
        ])
        .current_dir(util::root())
        .stdin(std::fs::File::open(input).unwrap())
        .output()
        .unwrap()
}

#[test]
fn parquet_and_arrow_give_the_rows_json_lines_give() {
    let dir = tempdir();
    let src = "tests/data/sample/defender-flat.jsonl";
    let batch = to_batch(&events(src));
    let json = run("rules/rmm", &util::path(src), &[]);
    assert!(json.status.success(), "{}", util::stderr(&json));
    let want = util::stdout(&json);
    assert!(
        want.lines().count() >= 3,
        "the sample finds RMM tools: {want}"
    );
    for rows_per_group in [1_000_000, 4, 1] {
        let p = dir.join(format!("events-{rows_per_group}.parquet"));
        write_parquet(&p, &batch, rows_per_group);
        for threads in ["1", "3"] {
            let out = run("rules/rmm", &p, &["--threads", threads]);
            assert!(out.status.success(), "{}", util::stderr(&out));
            assert_eq!(util::stdout(&out), want, "{rows_per_group} rows per group");
            let err = util::stderr(&out);
            assert!(err.contains(": parquet;"), "{err}");
            assert!(
                err.contains(&format!(
                    " record(s) read: {} evaluated, 0 skipped",
                    batch.num_rows()
                )),
                "{err}"
            );
        }
    }
    // Arrow IPC, file and stream, and Parquet through standard input.
    let ipc_file = dir.join("events.arrow");
    let mut w = arrow_ipc::writer::FileWriter::try_new(
        std::fs::File::create(&ipc_file).unwrap(),
        &batch.schema(),
    )
    .unwrap();
    w.write(&batch).unwrap();
    w.finish().unwrap();
    let ipc_stream = dir.join("events.arrows");
    let mut w = arrow_ipc::writer::StreamWriter::try_new(
        std::fs::File::create(&ipc_stream).unwrap(),
        &batch.schema(),
    )
    .unwrap();
    w.write(&batch).unwrap();
    w.finish().unwrap();
    for p in [&ipc_file, &ipc_stream] {
        let out = run("rules/rmm", p, &[]);
        assert!(out.status.success(), "{}", util::stderr(&out));
        assert_eq!(util::stdout(&out), want, "{}", p.display());
        assert!(
            util::stderr(&out).contains(": arrow ipc;"),
            "{}",
            util::stderr(&out)
        );
    }
    let piped = run_stdin("rules/rmm", &dir.join("events-4.parquet"));
    assert_eq!(util::stdout(&piped), want, "{}", util::stderr(&piped));
}

#[test]
fn only_needed_columns_are_read_and_old_row_groups_are_skipped() {
    let dir = tempdir();
    // The sample's events, then the same events a month earlier: outside every window.
    let recent = events("tests/data/sample/defender-flat.jsonl");
    let mut old = recent.clone();
    for e in &mut old {
        if let Some(Value::String(t)) = e.get_mut("Timestamp") {
            *t = t.replacen("2024-05-", "2024-03-", 1);
        }
    }
    let mut all = old.clone();
    all.extend(recent.iter().cloned());
    let batch = to_batch(&all);
    let p = dir.join("two-months.parquet");
    // One row group per month.
    write_parquet(&p, &batch, old.len());
    let jsonl = dir.join("two-months.jsonl");
    std::fs::write(
        &jsonl,
        all.iter()
            .map(|e| Value::Object(e.clone()).to_string() + "\n")
            .collect::<String>(),
    )
    .unwrap();
    let rules = "rules/rmm/servereye.scry";
    let json = run(rules, &jsonl, &[]);
    let out = run(rules, &p, &["--profile"]);
    assert!(out.status.success(), "{}", util::stderr(&out));
    assert_eq!(util::stdout(&out), util::stdout(&json));
    assert!(!util::stdout(&out).is_empty());
    let err = util::stderr(&out);
    let cols = batch.num_columns();
    assert!(
        err.contains("1 of 2 row group(s) skipped by Timestamp statistics"),
        "{err}"
    );
    // ServerEye's rules read far fewer columns than the sample has.
    let read: usize = err
        .split(" of ")
        .next()
        .and_then(|s| s.rsplit(' ').next())
        .and_then(|s| s.parse().ok())
        .unwrap_or(usize::MAX);
    assert!(err.contains(&format!(" of {cols} column(s) read")), "{err}");
    assert!(read < cols, "{err}");
    // The skipped group's records are counted, not lost.
    assert!(
        err.contains(&format!(
            "{} record(s) read: {} evaluated, 0 skipped",
            all.len(),
            all.len()
        )),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "{} record(s) evaluated by the prefilter alone",
            old.len()
        )),
        "{err}"
    );
}

#[test]
fn unreadable_parquet_and_column_types_are_named() {
    let dir = tempdir();
    let cut = dir.join("cut.parquet");
    let good = dir.join("good.parquet");
    let batch = to_batch(&events("tests/data/sample/defender-flat.jsonl"));
    write_parquet(&good, &batch, 1000);
    let bytes = std::fs::read(&good).unwrap();
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let out = run("rules/rmm", &cut, &[]);
    assert_eq!(out.status.code(), Some(2));
    let err = util::stderr(&out);
    assert!(
        err.contains("cut.parquet: unreadable Parquet file:"),
        "{err}"
    );
    // A Signer column of raw bytes: which column, which type.
    let schema = Schema::new(vec![
        Field::new("Type", DataType::Utf8, false),
        Field::new("Signer", DataType::Binary, false),
    ]);
    let b = RecordBatch::try_new(
        Arc::new(schema),
        vec![
            Arc::new(arrow_array::StringArray::from(vec![
                "DeviceFileCertificateInfo",
            ])),
            Arc::new(arrow_array::BinaryArray::from(vec![&b"x"[..]])),
        ],
    )
    .unwrap();
    let bin = dir.join("binary.parquet");
    write_parquet(&bin, &b, 10);
    let out = run("rules/rmm/servereye.scry", &bin, &[]);
    assert_eq!(out.status.code(), Some(2));
    let err = util::stderr(&out);
    assert!(
        err.contains("column `Signer` has Arrow type Binary, which scry cannot read"),
        "{err}"
    );
}

fn tempdir() -> std::path::PathBuf {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    let d = std::env::temp_dir().join(format!(
        "scry-columnar-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn damaged_parquet_and_arrow_bytes_are_errors_never_panics() {
    // Deterministic byte flips and cuts of valid files, read through the library's reader:
    // every outcome is records or a named error for that input.
    use scry_engine::io::{self, Location, ReadOptions, RecordSink, SkipReason};
    use scry_engine::row::{FieldSet, Row};
    struct Count(u64);
    impl RecordSink for Count {
        fn record(&mut self, _: &Row, _: &Location<'_>) {
            self.0 += 1;
        }
        fn skipped(&mut self, _: &Location<'_>, _: &SkipReason) {}
    }
    let dir = tempdir();
    let batch = to_batch(&events("tests/data/sample/defender-flat.jsonl"));
    let p = dir.join("ok.parquet");
    write_parquet(&p, &batch, 5);
    let mut ipc = Vec::new();
    {
        let mut w = arrow_ipc::writer::StreamWriter::try_new(&mut ipc, &batch.schema()).unwrap();
        w.write(&batch).unwrap();
        w.finish().unwrap();
    }
    let mut fields = FieldSet::new();
    for f in batch.schema().fields() {
        fields.intern(f.name());
    }
    let mut row = Row::new(&fields);
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let mut errors = 0;
    for original in [std::fs::read(&p).unwrap(), ipc] {
        for _ in 0..300 {
            let mut bytes = original.clone();
            for _ in 0..1 + next() % 4 {
                let at = (next() % bytes.len() as u64) as usize;
                bytes[at] = next() as u8;
            }
            if next() % 4 == 0 {
                bytes.truncate((next() % bytes.len() as u64) as usize);
            }
            let mut sink = Count(0);
            let res = io::read_reader(
                "damaged",
                &bytes[..],
                &fields,
                &ReadOptions::default(),
                &mut row,
                &mut sink,
            );
            if let Err(e) = res {
                assert!(e.to_string().starts_with("damaged: "), "{e}");
                errors += 1;
            }
        }
    }
    assert!(errors > 50, "most damage is detected: {errors}");
}

#[test]
fn untyped_columnar_rows_get_their_table_from_their_columns_as_json_rows_do() {
    // No `Type` column: every column is read, and each record's table is inferred from the
    // columns holding a value, exactly as for the same rows as JSON lines.
    let dir = tempdir();
    let src = "tests/data/tables/untyped.jsonl";
    let batch = to_batch(&events(src));
    // One row has a `Type`: the column exists, null elsewhere.
    assert!(batch.schema().field_with_name("Type").is_ok());
    let p = dir.join("untyped.parquet");
    write_parquet(&p, &batch, 7);
    let json = run("rules/rmm", &util::path(src), &[]);
    let out = run("rules/rmm", &p, &[]);
    assert_eq!(util::stdout(&out), util::stdout(&json));
    assert!(!util::stdout(&out).is_empty());
    // JSON lines through the prefilter skip parsing lines no rule can keep, and so infer fewer
    // tables; parsed in full, the counts must be the same.
    let full = run("rules/rmm", &util::path(src), &["--no-prefilter"]);
    assert_eq!(util::stdout(&full), util::stdout(&json));
    let (je, pe) = (util::stderr(&full), util::stderr(&out));
    let inferred = |e: &str| -> Vec<String> {
        e.lines()
            .filter(|l| {
                l.contains("inferred from columns") || l.trim_start().starts_with("skipped ")
            })
            .map(str::to_string)
            .collect()
    };
    assert_eq!(inferred(&pe), inferred(&je), "{pe}");
    assert!(pe.contains(&format!(
        "{n} of {n} column(s) read",
        n = batch.num_columns()
    )));
}
