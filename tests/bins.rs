//! Time buckets (`bin`, `bin_at`, `startof*`, `endof*`): every case of `tests/data/bins.json`
//! through the compiled path (what rules and `scry eval` run) and through the reference
//! evaluator, and through the `scry eval` command for the week-origin case that
//! docs/semantics.md states.

use crate::util;

use scry_engine::compile;
use scry_engine::exec::{eval_on_row, value_to_json};
use scry_engine::reference::{self, RefEnv};
use scry_engine::row::Row;
use scry_engine::schema::Catalog;
use serde_json::Value as J;

fn cases() -> Vec<(String, J, String)> {
    let text = std::fs::read_to_string(util::path("tests/data/bins.json")).unwrap();
    let doc: J = serde_json::from_str(&text).unwrap();
    doc["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c[0].as_str().unwrap().to_string(),
                c[1].clone(),
                c[2].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn every_case_through_the_compiled_path_and_the_reference() {
    let catalog = Catalog::builtin();
    let mut failures = Vec::new();
    for (expr, want, source) in cases() {
        let (e, fields) = compile::compile_expr(&expr, None, &catalog)
            .unwrap_or_else(|d| panic!("{expr} does not compile: {d:?}"));
        let row = Row::new(&fields);
        let got = value_to_json(&eval_on_row(&e, &row, 0));
        if got != want {
            failures.push(format!("compiled {expr} = {got}, want {want} ({source})"));
        }
        let ast = scry_grammar::parse_expr(&expr).unwrap();
        let env = RefEnv {
            now: 0,
            columns: &|_| None,
            lets: &|_| None,
        };
        let r = reference::eval(&ast, &env).unwrap_or_else(|e| panic!("{expr}: {e}"));
        let got = value_to_json(&r);
        if got != want {
            failures.push(format!("reference {expr} = {got}, want {want} ({source})"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn a_week_bucket_starts_on_monday_in_scry_eval() {
    let o = util::scry(&["eval", "bin(datetime(2024-05-15 13:00), 7d)"]);
    assert!(o.status.success(), "{}", util::stderr(&o));
    assert_eq!(util::stdout(&o).trim(), "\"2024-05-13T00:00:00.0000000Z\"");
}

#[test]
fn startofhour_is_refused_with_the_kql_spelling() {
    let o = util::scry(&["eval", "startofhour(datetime(2024-05-15 13:20))"]);
    assert_eq!(o.status.code(), Some(2));
    let err = util::stderr(&o);
    assert!(err.contains("KQL has no `startofhour`"), "{err}");
    assert!(err.contains("bin(Timestamp, 1h)"), "{err}");
}

#[test]
fn an_unnamed_bin_key_keeps_the_column_name() {
    let mut sources = compile::Sources::default();
    sources.add(
        "r.scry",
        r#"rule r { id "1" from DeviceNetworkEvents
            summarize count() by DeviceId, bin(Timestamp, 10m), startofweek(Timestamp) }"#,
    );
    let c = compile::compile(&sources, std::sync::Arc::new(Catalog::builtin()));
    assert!(!c.has_errors(), "{:?}", c.diagnostics);
    let names: Vec<&str> = c.rules.rules[0]
        .output
        .iter()
        .map(|c| c.name.as_str())
        .collect();
    assert_eq!(names, ["DeviceId", "Timestamp", "Column3", "count_"]);
}

#[test]
fn binning_a_datetime_by_a_number_is_a_type_error() {
    let catalog = Catalog::builtin();
    let err = compile::compile_expr("bin(datetime(2024-05-15), 5)", None, &catalog).unwrap_err();
    assert!(
        err.iter().any(|d| d.message.contains("by a timespan")),
        "{err:?}"
    );
}
