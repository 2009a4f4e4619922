//! Records that name no table (no `Type`, no `category`, no `--table`) are given the one
//! table of the catalog that has every column they hold a value in; when several or none
//! fit, they are skipped with a reason that names the candidates.

use crate::util;

fn run(extra: &[&str], file: &str) -> std::process::Output {
    let mut args = vec![
        "run",
        "--rules",
        "rules/rmm",
        "--now",
        "2024-05-15T12:00:00Z",
        "--format",
        "ndjson",
    ];
    args.extend_from_slice(extra);
    args.push(file);
    util::scry(&args)
}

#[test]
fn untyped_rows_get_their_table_from_their_columns() {
    let typed = run(&[], "tests/data/sample/defender-flat.jsonl");
    assert!(typed.status.success(), "{}", util::stderr(&typed));
    let out = run(&[], "tests/data/tables/untyped.jsonl");
    assert!(out.status.success(), "{}", util::stderr(&out));
    // The same RMM results as with the Type column: ServerEye's three rules and the all-tools
    // network rule.
    assert_eq!(util::stdout(&out), util::stdout(&typed));
    assert_eq!(util::stdout(&out).lines().count(), 8);
    // Parsing every line: the same results, and every row's table or reason.
    let all = run(&["--no-prefilter"], "tests/data/tables/untyped.jsonl");
    assert_eq!(util::stdout(&all), util::stdout(&out));
    let err = util::stderr(&all);
    for line in [
        "19 record(s) read: 17 evaluated, 2 skipped",
        "table DeviceFileCertificateInfo inferred from columns for 6 record(s) (no Type column)",
        "table DeviceNetworkEvents inferred from columns for 4 record(s) (no Type column)",
        "table DeviceProcessEvents inferred from columns for 7 record(s) (no Type column)",
        "skipped 1: no Type column; columns fit DeviceNetworkEvents and DeviceEvents; use --table",
        "skipped 1: no Type column; columns fit no known table (give --table, or --schema)",
        "tests/data/tables/untyped.jsonl:18: no Type column, and the record's columns fit DeviceNetworkEvents and DeviceEvents: give --table",
        "tests/data/tables/untyped.jsonl:19: no Type column, and no known table has column `DestinationDeviceName`: give --table, or --schema",
    ] {
        assert!(err.contains(line), "missing {line:?} in:\n{err}");
    }
    // With the prefilter, lines no rule can keep are not parsed (nor counted per table); the
    // ambiguous row holds a needle, so it is parsed and reported.
    let err = util::stderr(&out);
    for line in [
        "19 record(s) read: 18 evaluated, 1 skipped",
        "4 record(s) evaluated by the prefilter alone",
        "table DeviceProcessEvents inferred from columns for 6 record(s) (no Type column)",
        "tests/data/tables/untyped.jsonl:18: no Type column, and the record's columns fit DeviceNetworkEvents and DeviceEvents: give --table",
    ] {
        assert!(err.contains(line), "missing {line:?} in:\n{err}");
    }
}

#[test]
fn table_flag_overrides_inference() {
    let out = run(
        &["--table", "DeviceNetworkEvents"],
        "tests/data/tables/untyped.jsonl",
    );
    assert!(out.status.success(), "{}", util::stderr(&out));
    let err = util::stderr(&out);
    assert!(!err.contains("inferred"), "{err}");
    assert!(
        err.contains("19 record(s) read: 19 evaluated, 0 skipped"),
        "{err}"
    );
}

/// The OTRF union export: its five Defender rows (DeviceEvents `LdapSearch` events) hold only
/// columns DeviceProcessEvents has too, and its identity and cloud rows columns no known
/// table has, so nothing is inferred: each is skipped with its reason, none ruled out unseen.
#[test]
fn otrf_union_rows_are_not_guessed() {
    let out = run(
        &[],
        "tests/data/io/otrf_goldensaml_Microsoft365DefenderEvents.ndjson",
    );
    assert!(out.status.success(), "{}", util::stderr(&out));
    let err = util::stderr(&out);
    assert!(!err.contains("inferred"), "{err}");
    assert!(
        err.contains("9 record(s) read: 0 evaluated, 9 skipped"),
        "{err}"
    );
    assert!(
        err.contains("skipped 5: no Type column; columns fit DeviceProcessEvents and DeviceEvents; use --table"),
        "{err}"
    );
    assert!(
        err.contains("skipped 4: no Type column; columns fit no known table"),
        "{err}"
    );
}
