//! Records that name no table (no `Type`, no `category`, no `--table`) are given the one
//! table of the catalog that has every column they hold a value in, or, among several such
//! tables, the one that documents their `ActionType`; otherwise they are skipped with a reason
//! that names the candidates.

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
        // Defender for Identity's three event tables have all of row 19's columns.
        "skipped 1: no Type column; columns fit IdentityDirectoryEvents, IdentityLogonEvents and IdentityQueryEvents; use --table",
        "tests/data/tables/untyped.jsonl:18: no Type column, and the record's columns fit DeviceNetworkEvents and DeviceEvents: give --table",
        "tests/data/tables/untyped.jsonl:19: no Type column, and the record's columns fit IdentityDirectoryEvents, IdentityLogonEvents and IdentityQueryEvents: give --table",
    ] {
        assert!(err.contains(line), "missing {line:?} in:\n{err}");
    }
    // With the prefilter, lines no rule can keep are not parsed (nor counted per table); the
    // ambiguous row holds a needle, so it is parsed and reported.
    let err = util::stderr(&out);
    for line in [
        "19 record(s) read: 18 evaluated, 1 skipped",
        // rules/rmm/multi_event.scry's lookup burst needs `"ActionType":"DnsQuery`-style
        // anchors, which one more line holds.
        "3 record(s) evaluated by the prefilter alone",
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

/// The OTRF Golden SAML union export (`tests/data/tables/README.md`): 9 real rows, no table
/// column. Read by hand, they are five DeviceEvents `LdapSearch` events (rows 1-5: the
/// initiating process's columns, `ReportId_long`), two Defender for Identity replication events
/// of IdentityDirectoryEvents (rows 6-7: `DestinationDeviceName`, `ISP`) and two Office 365
/// operations of CloudAppEvents (rows 8-9: `ActivityObjects`, `RawEventData`).
const OTRF: &str = "tests/data/tables/otrf_goldensaml_Microsoft365DefenderEvents.ndjson";

fn otrf(extra: &[&str]) -> std::process::Output {
    let mut args = vec![
        "run",
        "--rules",
        "tests/data/tables/otrf.scry",
        "--format",
        "ndjson",
    ];
    args.extend_from_slice(extra);
    args.push(OTRF);
    util::scry(&args)
}

/// (rule, ActionType) of every output row, sorted.
fn tables_of(out: &std::process::Output) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = util::stdout(out)
        .lines()
        .map(|l| {
            let j: serde_json::Value = serde_json::from_str(l).expect("ndjson");
            (
                j["rule"].as_str().unwrap_or_default().to_string(),
                j["ActionType"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    v.sort();
    v
}

/// The table each line of the OTRF export was given: the rule that output the row whose
/// `ReportId` is that line's, by line.
fn table_per_line(out: &std::process::Output) -> Vec<(usize, String)> {
    let text = std::fs::read_to_string(util::path(OTRF)).unwrap();
    let id = |j: &serde_json::Value| -> String {
        let v = j.get("ReportId").filter(|v| !v.is_null());
        let v = v.or_else(|| j.get("ReportId_long")).expect("a ReportId");
        v.as_str().map_or_else(|| v.to_string(), str::to_string)
    };
    let lines: Vec<String> = text
        .lines()
        .map(|l| id(&serde_json::from_str(l).unwrap()))
        .collect();
    let mut v: Vec<(usize, String)> = util::stdout(out)
        .lines()
        .map(|l| {
            let j: serde_json::Value = serde_json::from_str(l).expect("ndjson");
            let at = lines.iter().position(|x| *x == id(&j)).expect("a line") + 1;
            (at, j["rule"].as_str().unwrap().to_string())
        })
        .collect();
    v.sort();
    v
}

/// Every row of the union export gets its table, and the file reads with `--strict`. Rows 1-5
/// fit DeviceProcessEvents and DeviceEvents by their columns, rows 6-7
/// IdentityDirectoryEvents and IdentityLogonEvents: their ActionType, which only one of the
/// candidates documents, decides. Rows 8-9 also hold columns the export's query computed
/// (`rawData`, `PermissionsAddedTo`, and `AppId`, `UserId`, which are other tables' column
/// names): no table has all their columns, CloudAppEvents has the most (25 of 27, 13 of 16),
/// and the rest are set aside and named in the summary.
#[test]
fn otrf_union_rows_each_get_their_table_under_strict() {
    let out = otrf(&["--strict"]);
    assert!(out.status.success(), "{}", util::stderr(&out));
    let err = util::stderr(&out);
    for line in [
        "9 record(s) read: 9 evaluated, 0 skipped",
        "table DeviceEvents decided by ActionType LdapSearch for 5 record(s) (no Type column; columns fit DeviceProcessEvents and DeviceEvents)",
        "table IdentityDirectoryEvents decided by ActionType Directory Services replication for 2 record(s) (no Type column; columns fit IdentityDirectoryEvents and IdentityLogonEvents)",
        "table CloudAppEvents inferred from columns for 2 record(s) (no Type column)",
        "record(s) given a table that lacks some of their columns (2 CloudAppEvents), set aside: AppId, Permissions, PermissionsAddedTo, UserId, rawData (columns a query computed? --schema declares them for rules)",
    ] {
        assert!(err.contains(line), "missing {line:?} in:\n{err}");
    }
    let dev = "otrf-device-events".to_string();
    let idt = "otrf-identity-directory-events".to_string();
    let cloud = "otrf-cloud-app-events".to_string();
    let want: Vec<(usize, String)> = [&dev, &dev, &dev, &dev, &dev, &idt, &idt, &cloud, &cloud]
        .into_iter()
        .cloned()
        .enumerate()
        .map(|(i, t)| (i + 1, t))
        .collect();
    assert_eq!(table_per_line(&out), want);
    // The same without --strict, and the prefilter lets every such line through.
    for extra in [&[][..], &["--no-prefilter"][..]] {
        let o = otrf(extra);
        assert!(o.status.success(), "{}", util::stderr(&o));
        assert_eq!(util::stdout(&o), util::stdout(&out), "{extra:?}");
    }
}

/// A row that no table has most of the columns of fits none, and is skipped naming a column
/// no table has.
#[test]
fn a_row_of_only_unknown_columns_fits_no_table() {
    let dir = std::env::temp_dir().join(format!("scry-unknown-cols-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("rows.jsonl");
    std::fs::write(
        &file,
        "{\"Computed\": \"x\", \"TenantId\": \"t\"}\n{\"Signer\": \"s\", \"Computed\": \"x\", \"RemoteIP\": \"1.2.3.4\"}\n",
    )
    .unwrap();
    let out = util::scry(&[
        "run",
        "--rules",
        "tests/data/tables/otrf.scry",
        "--format",
        "ndjson",
        "--no-prefilter",
        file.to_str().unwrap(),
    ]);
    let err = util::stderr(&out);
    assert!(
        err.contains("rows.jsonl:1: no Type column, and no known table has column `Computed`"),
        "{err}"
    );
    assert!(
        err.contains("rows.jsonl:2: no Type column, and no known table has column `Computed`"),
        "{err}"
    );
    assert!(!err.contains("set aside"), "{err}");
    std::fs::remove_dir_all(&dir).ok();
}

/// With the export's computed columns declared (`--schema`), every row has its table and the
/// file reads with `--strict`.
#[test]
fn otrf_union_reads_strictly_with_its_computed_columns_declared() {
    let out = otrf(&[
        "--strict",
        "--schema",
        "tests/data/tables/otrf-goldensaml-computed.json",
    ]);
    assert!(out.status.success(), "{}", util::stderr(&out));
    let err = util::stderr(&out);
    for line in [
        "9 record(s) read: 9 evaluated, 0 skipped",
        "table CloudAppEvents inferred from columns for 2 record(s) (no Type column)",
        "table DeviceEvents decided by ActionType LdapSearch for 5 record(s)",
        "table IdentityDirectoryEvents decided by ActionType Directory Services replication for 2 record(s)",
    ] {
        assert!(err.contains(line), "missing {line:?} in:\n{err}");
    }
    let mut want = vec![
        (
            "otrf-cloud-app-events".to_string(),
            "Add delegated permission grant.".to_string(),
        ),
        (
            "otrf-cloud-app-events".to_string(),
            "MailItemsAccessed".to_string(),
        ),
    ];
    want.extend(vec![
        (
            "otrf-device-events".to_string(),
            "LdapSearch".to_string()
        );
        5
    ]);
    want.extend(vec![
        (
            "otrf-identity-directory-events".to_string(),
            "Directory Services replication".to_string()
        );
        2
    ]);
    assert_eq!(tables_of(&out), want);
}

/// Rows holding only the columns they fill (as `untyped.jsonl`'s do) and a type-suffixed
/// `ActionType_string`: decided the same way, and the prefilter lets them through although
/// they hold no column that tells DeviceEvents from DeviceProcessEvents (their `ActionType`
/// value is the only anchor they can match).
#[test]
fn compact_rows_with_a_type_suffixed_action_type_are_decided_and_not_ruled_out() {
    let text = std::fs::read_to_string(util::path(OTRF)).unwrap();
    let mut rows = String::new();
    for line in text.lines().take(5) {
        let row: serde_json::Map<String, serde_json::Value> = serde_json::from_str(line).unwrap();
        let compact: serde_json::Map<String, serde_json::Value> = row
            .into_iter()
            .filter(|(_, v)| !v.is_null() && v.as_str() != Some(""))
            .map(|(k, v)| match k.as_str() {
                "ActionType" => ("ActionType_string".to_string(), v),
                _ => (k, v),
            })
            .collect();
        rows.push_str(&serde_json::Value::Object(compact).to_string());
        rows.push('\n');
    }
    assert_eq!(
        rows.matches("\"ActionType_string\":\"LdapSearch\"").count(),
        5
    );
    assert!(!rows.contains("RegistryKey") && !rows.contains("\"ActionType\""));
    let dir = std::env::temp_dir().join(format!("scry-tables-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("compact.ndjson");
    std::fs::write(&file, rows).unwrap();
    let run = |extra: &[&str]| {
        let mut args = vec![
            "run",
            "--rules",
            "tests/data/tables/otrf.scry",
            "--format",
            "ndjson",
        ];
        args.extend_from_slice(extra);
        args.push(file.to_str().unwrap());
        util::scry(&args)
    };
    let out = run(&[]);
    let all = run(&["--no-prefilter"]);
    std::fs::remove_dir_all(&dir).ok();
    assert!(out.status.success(), "{}", util::stderr(&out));
    assert!(
        util::stderr(&out)
            .contains("table DeviceEvents decided by ActionType LdapSearch for 5 record(s)"),
        "{}",
        util::stderr(&out)
    );
    assert_eq!(
        tables_of(&out),
        vec![("otrf-device-events".to_string(), "LdapSearch".to_string()); 5]
    );
    assert_eq!(util::stdout(&all), util::stdout(&out));
}
