//! Throughput of each stage: parse, compile + plan, read, and end-to-end execution.
//!
//! Every benchmark checks its answer once before it is timed and panics with what is wrong:
//! a fast wrong answer is not a result. Data is generated in memory by `gen/mod.rs` (seeded,
//! so every run reads the same bytes) before each group starts: throughput figures need the
//! sizes up front, and checking once per group keeps the check out of the timings. Each group
//! comes twice:
//! `…/bytes` reports MB/s, `…/events` reports events/s (rules/s for parse and compile).
//! See `benches/README.md` for how to run it and the last measured numbers.

// Not `mod gen`: `gen` is a reserved keyword from edition 2024 on.
#[path = "gen/mod.rs"]
mod generator;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use generator::{Config, Shape, Table, Truth};
use scry_engine::compile::{self, Sources};
use scry_engine::exec::{Executor, ResultRow};
use scry_engine::io::{read_reader, Location, ReadOptions, RecordSink, SkipReason};
use scry_engine::plan::Plan;
use scry_engine::row::{FieldSet, Row};
use scry_engine::schema::Catalog;
use scry_engine::value::Value;
use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

const PACK: &str = include_str!("../rules/rmm/servereye.scry");
const PACK_RULES: usize = 3;
/// Input size for the read and exec groups: large enough that per-run setup (plan, executor)
/// is noise, small enough that 10 samples take seconds.
const DATA_BYTES: u64 = 10 * 1024 * 1024;
const SEED: u64 = 7;

/// `n` one-condition rules over the three tables, each with its own needle, so the plan builds
/// `n` atoms: the size class of a medium detection pack.
fn simple_rules(n: usize) -> String {
    let tables = [
        ("DeviceProcessEvents", "ProcessCommandLine", "DeviceName"),
        ("DeviceNetworkEvents", "RemoteUrl", "DeviceId"),
        ("DeviceFileCertificateInfo", "Signer", "DeviceName"),
    ];
    let ops = ["has", "contains", "startswith", "=~"];
    let mut s = String::new();
    for i in 0..n {
        let (table, col, by) = tables[i % tables.len()];
        let op = ops[i / tables.len() % ops.len()];
        s.push_str(&format!(
            "rule bench_{i} {{\n  id \"bench-{i}\"\n  from {table}\n  window 5d\n  \
             where {col} {op} 'needle-{i}.exe'\n  summarize Count = count() by {by}\n}}\n\n"
        ));
    }
    s
}

fn rule_count(text: &str) -> usize {
    match scry_grammar::parse_file(text) {
        Ok(file) => file
            .items
            .iter()
            .filter(|i| matches!(i, scry_grammar::Item::Rule(_)))
            .count(),
        Err(errors) => panic!("bench rules do not parse: {errors:#?}"),
    }
}

fn compile_plan(text: &str) -> Plan {
    let mut sources = Sources::default();
    sources.add("bench.scry", text);
    let compiled = compile::compile(&sources, Arc::new(Catalog::builtin()));
    assert!(
        !compiled.has_errors(),
        "bench rules do not compile: {:#?}",
        compiled.diagnostics
    );
    Plan::new(compiled.rules)
}

fn now() -> i64 {
    scry_engine::kql::time::parse_datetime(generator::NOW).expect("NOW is a valid datetime")
}

fn criterion() -> Criterion {
    Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
}

fn parse(c: &mut Criterion) {
    let many = simple_rules(200);
    let inputs = [("servereye", PACK, PACK_RULES), ("simple200", &many, 200)];
    for (unit, per) in [("bytes", true), ("events", false)] {
        let mut g = c.benchmark_group(format!("parse/{unit}"));
        for &(name, text, rules) in &inputs {
            g.throughput(if per {
                Throughput::Bytes(text.len() as u64)
            } else {
                Throughput::Elements(rules as u64)
            });
            let mut checked = false;
            g.bench_function(name, |b| {
                if !checked {
                    let got = rule_count(text);
                    assert_eq!(got, rules, "parse {name}: wrong number of rules");
                    checked = true;
                }
                b.iter(|| scry_grammar::parse_file(black_box(text)))
            });
        }
        g.finish();
    }
}

fn compile(c: &mut Criterion) {
    let many = simple_rules(200);
    let inputs = [("servereye", PACK, PACK_RULES), ("simple200", &many, 200)];
    for (unit, per) in [("bytes", true), ("events", false)] {
        let mut g = c.benchmark_group(format!("compile/{unit}"));
        for &(name, text, rules) in &inputs {
            g.throughput(if per {
                Throughput::Bytes(text.len() as u64)
            } else {
                Throughput::Elements(rules as u64)
            });
            let mut checked = false;
            g.bench_function(name, |b| {
                if !checked {
                    let plan = compile_plan(text);
                    assert_eq!(plan.rules.len(), rules, "compile {name}: rules lost");
                    checked = true;
                }
                b.iter(|| {
                    // Sources own their text, as when the CLI reads files; that copy is part
                    // of what a run pays.
                    let mut sources = Sources::default();
                    sources.add("bench.scry", black_box(text));
                    let compiled = compile::compile(&sources, Arc::new(Catalog::builtin()));
                    Plan::new(compiled.rules)
                })
            });
        }
        g.finish();
    }
}

/// Counts what the reader delivers; touches nothing else, so `read` measures the reader.
#[derive(Default)]
struct Count {
    records: u64,
    skipped: u64,
    first_skip: Option<String>,
}

impl RecordSink for Count {
    fn record(&mut self, row: &Row, _: &Location<'_>) {
        black_box(row);
        self.records += 1;
    }
    fn skipped(&mut self, loc: &Location<'_>, reason: &SkipReason) {
        self.skipped += 1;
        self.first_skip
            .get_or_insert_with(|| format!("{loc}: {reason}"));
    }
}

fn read_count(data: &[u8], fields: &FieldSet, row: &mut Row) -> Count {
    let mut sink = Count::default();
    read_reader(
        "bench.jsonl",
        data,
        fields,
        &ReadOptions::default(),
        row,
        &mut sink,
    )
    .expect("reading from memory cannot fail");
    sink
}

fn generated(shape: Shape, match_rate: f64) -> (Vec<u8>, Truth) {
    let cfg = Config {
        seed: SEED,
        shape,
        match_rate,
        ..Config::default()
    };
    generator::generate_bytes(&cfg, DATA_BYTES)
}

fn read(c: &mut Criterion) {
    // The field set a real run asks for: the ServerEye plan's (plus `Type`).
    let plan = compile_plan(PACK);
    let fields = Executor::new(&plan, now(), None).fields().clone();
    let data: Vec<(Shape, Vec<u8>, Truth)> = Shape::ALL
        .into_iter()
        .map(|shape| {
            let (buf, truth) = generated(shape, 0.0005);
            let mut row = Row::new(&fields);
            let got = read_count(&buf, &fields, &mut row);
            assert!(
                got.records == truth.records && got.skipped == 0,
                "read {}: {} records, {} skipped (first: {:?}); generated {}",
                shape.name(),
                got.records,
                got.skipped,
                got.first_skip,
                truth.records
            );
            (shape, buf, truth)
        })
        .collect();
    for (unit, per) in [("bytes", true), ("events", false)] {
        let mut g = c.benchmark_group(format!("read/{unit}"));
        for (shape, buf, truth) in &data {
            g.throughput(if per {
                Throughput::Bytes(buf.len() as u64)
            } else {
                Throughput::Elements(truth.records)
            });
            let mut row = Row::new(&fields);
            g.bench_function(shape.name(), |b| {
                b.iter(|| read_count(black_box(buf), &fields, &mut row).records)
            });
        }
        g.finish();
    }
}

/// Feeds every record to the executor, as `scry run` does.
struct Feed<'a, 'p> {
    ex: &'a mut Executor<'p>,
}

impl RecordSink for Feed<'_, '_> {
    fn record(&mut self, row: &Row, _: &Location<'_>) {
        // A skip is counted in the executor's stats, which the check below looks at.
        let _ = self.ex.process(row);
    }
    fn skipped(&mut self, _: &Location<'_>, reason: &SkipReason) {
        self.ex.skip(reason.to_string());
    }
}

/// One full run, as `scry run` does it: read + process every record + finish.
fn run<'p>(plan: &'p Plan, data: &[u8], row: &mut Row) -> (Executor<'p>, Vec<ResultRow>) {
    let mut ex = Executor::new(plan, now(), None);
    let fields = ex.fields().clone();
    read_reader(
        "bench.jsonl",
        data,
        &fields,
        &ReadOptions::default(),
        row,
        &mut Feed { ex: &mut ex },
    )
    .expect("reading from memory cannot fail");
    let results = ex.finish();
    (ex, results)
}

/// Panics unless the run found exactly the generated positives, in the generated groups.
fn check_results(plan: &Plan, ex: &Executor<'_>, results: &[ResultRow], truth: &Truth) {
    let stats = &ex.stats;
    assert_eq!(stats.read, truth.records, "records read");
    assert_eq!(
        stats.skipped_total(),
        0,
        "records skipped: {:?}",
        stats.skipped
    );
    for (ri, rule) in plan.rules.iter().enumerate() {
        let table = &rule.bodies[0].table;
        let t = truth.table(Table::parse(table).expect("pack reads generated tables"));
        let rows: Vec<_> = results.iter().filter(|r| r.rule == ri).collect();
        let count_col = rule
            .output
            .iter()
            .position(|c| c.name == "Count")
            .expect("pack rules output Count");
        let counted: i64 = rows
            .iter()
            .map(|r| match r.values[count_col] {
                Value::Long(n) => n,
                ref v => panic!("{}: Count is {v:?}", rule.name),
            })
            .sum();
        let suppressed: u64 = stats.rules[ri].suppressed.iter().sum();
        assert!(
            rows.len() == t.groups.len()
                && counted == t.positives as i64
                && suppressed == t.suppressed,
            "{} over {table}: {} result rows counting {counted} events, {suppressed} \
             suppressed; generated {} groups of {} positives, {} suppressed",
            rule.name,
            rows.len(),
            t.groups.len(),
            t.positives,
            t.suppressed
        );
    }
}

fn exec(c: &mut Criterion) {
    let plan = compile_plan(PACK);
    let cases = [
        (Shape::Flat, 0.0005, "flat/0.05%"),
        (Shape::Flat, 0.05, "flat/5%"),
        (Shape::Storage, 0.0005, "storage/0.05%"),
        (Shape::Storage, 0.05, "storage/5%"),
    ];
    let mut row = Row::new(&plan.fields);
    let data: Vec<(&str, Vec<u8>, Truth)> = cases
        .iter()
        .map(|&(shape, rate, name)| {
            let (buf, truth) = generated(shape, rate);
            let (ex, results) = run(&plan, &buf, &mut row);
            check_results(&plan, &ex, &results, &truth);
            eprintln!(
                "exec {name}: checked, {} results; {}",
                results.len(),
                truth.summary()
            );
            (name, buf, truth)
        })
        .collect();
    for (unit, per) in [("bytes", true), ("events", false)] {
        let mut g = c.benchmark_group(format!("exec/{unit}"));
        for (name, buf, truth) in &data {
            g.throughput(if per {
                Throughput::Bytes(buf.len() as u64)
            } else {
                Throughput::Elements(truth.records)
            });
            g.bench_with_input(BenchmarkId::from_parameter(name), &buf[..], |b, buf| {
                b.iter(|| run(&plan, black_box(buf), &mut row).1.len())
            });
        }
        g.finish();
    }
}

criterion_group! {
    name = benches;
    config = criterion();
    targets = parse, compile, read, exec
}
criterion_main!(benches);
