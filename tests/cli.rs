//! The command line as a user meets it: the README's commands, exit codes, bad input.

use crate::util;

const NOW: &str = "2024-05-15T12:00:00Z";

/// The README's run of the multi-event pack: one row per form, the SCCM install suppressed,
/// the bucketed twin silent.
#[test]
fn readme_multi_event_command_finds_each_form() {
    let out = util::scry(&[
        "run",
        "--rules",
        "rules/rmm/multi_event.scry",
        "--now",
        NOW,
        "--format",
        "ndjson",
        "tests/data/multi-event/sample.jsonl",
    ]);
    let err = util::stderr(&out);
    assert!(out.status.success(), "{err}");
    let rows: Vec<serde_json::Value> = util::stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let names: Vec<&str> = rows.iter().map(|r| r["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "rmm_anydesk_install_then_relay",
            "rmm_domain_lookup_burst",
            "rmm_signer_first_seen_on_device",
            "rmm_signer_first_seen_on_device",
            "rmm_relay_reached_by_untrusted_rmm_signature"
        ]
    );
    assert_eq!(rows[3]["DeviceName"], "WKS-9");
    assert_eq!(rows[4]["DeviceName"], "WKS-9");
    assert_eq!(rows[4]["InitiatingProcessFileName"], "svchost32.exe");
    assert_eq!(rows[4]["IsTrusted"], false);
    assert_eq!(rows[0]["DeviceName"], "WKS-7");
    assert_eq!(rows[0]["StartTime"], "2024-05-15T09:14:02.0000000Z");
    assert_eq!(rows[0]["EndTime"], "2024-05-15T09:15:32.0000000Z");
    assert_eq!(rows[0]["Reports"], "11,12");
    assert_eq!(rows[1]["DeviceName"], "WKS-3");
    assert_eq!(rows[1]["Lookups"], 24);
    assert_eq!(rows[1]["Peak"], 24);
    assert_eq!(rows[2]["DeviceName"], "WKS-7");
    assert!(
        err.contains("except \"Sanctioned AnyDesk rollout\": 1 suppressed"),
        "{err}"
    );
    assert!(
        err.contains("rule rmm_domain_lookup_buckets: 0 result(s) from 27 matching record(s)"),
        "{err}"
    );
}

#[test]
fn readme_main_command_finds_servereye() {
    let out = util::scry(&[
        "run",
        "--rules",
        "rules/rmm",
        "--now",
        NOW,
        "--format",
        "ndjson",
        "tests/data/sample/defender-storage.jsonl",
    ]);
    assert!(out.status.success(), "{}", util::stderr(&out));
    let text = util::stdout(&out);
    let rows: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    // ServerEye's three rules give 7 groups; the all-tools network rule finds server-eye.de.
    assert_eq!(rows.len(), 8, "{text}");
    assert!(rows
        .iter()
        .all(|r| r["rule"].is_string() && r["name"].is_string() && r["title"].is_string()));
    // ndjson keys: rule, name, title, then the output columns in order; packs load sorted by
    // path.
    let first = text.lines().next().unwrap();
    assert!(first.starts_with(
        r#"{"rule":"c65e2d45-2560-4ea5-913b-d3d88de10c42","name":"rmm__all_netconn","title":"#
    ));
    assert!(
        first.contains(r#""RemoteUrl":"occ.server-eye.de""#),
        "{first}"
    );
    assert!(text.contains(
        r#"{"rule":"44a7b71e-ad89-49fd-b540-a73c83c6f8c5","name":"servereye_file_signature","title":"#
    ));
    let err = util::stderr(&out);
    assert!(
        err.contains("17 record(s) read: 17 evaluated, 0 skipped"),
        "{err}"
    );
    assert!(
        err.contains("except \"Scheduled System Maintenance Task Using ServerEye\": 1 suppressed"),
        "{err}"
    );
}

#[test]
fn old_exports_get_a_hint_about_now() {
    let out = util::scry(&[
        "run",
        "--rules",
        "rules/rmm",
        "--now",
        "2025-01-01T00:00:00Z",
        "--format",
        "ndjson",
        "tests/data/sample/defender-flat.jsonl",
    ]);
    assert!(out.status.success());
    assert_eq!(util::stdout(&out), "");
    assert!(
        util::stderr(&out).contains("--now"),
        "{}",
        util::stderr(&out)
    );
}

#[test]
fn bad_lines_are_reported_counted_and_reconciled() {
    let dir = std::env::temp_dir().join(format!("scry-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let f = dir.join("dirty.jsonl");
    let good =
        std::fs::read_to_string(util::path("tests/data/sample/defender-flat.jsonl")).unwrap();
    let mut text = String::new();
    for (i, l) in good.lines().enumerate() {
        text.push_str(l);
        text.push('\n');
        if i == 2 {
            text.push_str(
                "{\"Timestamp\": \"2024-05-14T08:00:00Z\", \"Type\": \"DeviceProcessEvents\",\n",
            );
            text.push_str("{\"Type\": \"NoSuchTable\", \"Timestamp\": \"2024-05-14T08:00:00Z\"}\n");
            text.push_str("{\"Type\": \"DeviceProcessEvents\", \"Timestamp\": \"yesterday\"}\n");
        }
    }
    let mut bytes = text.into_bytes();
    bytes.extend_from_slice(b"{\"Type\": \"DeviceProcessEvents\", \"FileName\": \"\xff\"}\n");
    std::fs::write(&f, bytes).unwrap();
    let fs = f.to_str().unwrap();
    // By default the prefilter rules out, unparsed, the lines no rule could keep: of the bad
    // lines it still parses (and reports) those that are not one UTF-8 `{...}` object.
    let fast = util::scry(&[
        "run",
        "--rules",
        "rules/rmm",
        "--now",
        NOW,
        "--format",
        "ndjson",
        fs,
    ]);
    let err = util::stderr(&fast);
    // How many of the bad lines the prefilter lets through depends on the rules' anchors;
    // the malformed and the non-UTF-8 ones always are, and the counts always reconcile.
    let reconciled = (0..=4).any(|skipped| {
        err.contains(&format!(
            "21 record(s) read: {} evaluated, {skipped} skipped",
            21 - skipped
        ))
    });
    assert!(reconciled, "{err}");
    assert!(err.contains(&format!("{fs}:4")), "{err}");
    assert!(err.contains("invalid UTF-8"), "{err}");
    let out = util::scry(&[
        "run",
        "--rules",
        "rules/rmm",
        "--now",
        NOW,
        "--format",
        "ndjson",
        "--no-prefilter",
        fs,
    ]);
    assert!(out.status.success(), "{}", util::stderr(&out));
    assert_eq!(util::stdout(&out), util::stdout(&fast));
    let err = util::stderr(&out);
    assert!(
        err.contains("21 record(s) read: 17 evaluated, 4 skipped"),
        "{err}"
    );
    assert!(
        err.contains(&format!("{fs}:4")),
        "malformed line reported with its line: {err}"
    );
    assert!(err.contains("unknown table `NoSuchTable`"), "{err}");
    assert!(err.contains("\"yesterday\" is not a datetime"), "{err}");
    assert!(err.contains("invalid UTF-8"), "{err}");
    // The results are those of the clean file.
    assert_eq!(util::stdout(&out).lines().count(), 8);
    let strict = util::scry(&["run", "--rules", "rules/rmm", "--now", NOW, "--strict", fs]);
    assert_eq!(strict.status.code(), Some(2));
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn exit_codes() {
    let out = util::scry(&[
        "run",
        "--rules",
        "rules/rmm",
        "--now",
        NOW,
        "--fail-on-results",
        "tests/data/sample/defender-flat.jsonl",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let out = util::scry(&[
        "run",
        "--rules",
        "tests/data/invalid/unknown_column.scry",
        "tests/data/sample/defender-flat.jsonl",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let out = util::scry(&["run", "--rules", "rules/rmm", "no/such/file.jsonl"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(util::stderr(&out).contains("no/such/file.jsonl"));
}

#[test]
fn explain_is_stable_and_shows_the_shared_scan() {
    let a = util::scry(&["explain", "--rules", "rules/rmm"]);
    let b = util::scry(&["explain", "--rules", "rules/rmm"]);
    assert!(a.status.success());
    assert_eq!(a.stdout, b.stdout);
    let text = util::stdout(&a);
    assert!(
        text.contains("scan ProcessVersionInfoCompanyName (case-folded, aho-corasick"),
        "{text}"
    );
}

#[test]
fn eval_literals_and_events() {
    let out = util::scry(&["eval", "'Action1-Corp' has 'Action1'"]);
    assert_eq!(util::stdout(&out).trim(), "true");
    let out = util::scry(&[
        "eval",
        "Signer has 'Krämer IT Solutions GmbH' and Timestamp between (now(-5d) .. now())",
        "--table",
        "DeviceFileCertificateInfo",
        "--event",
        r#"{"Signer": "KR\u00c4MER IT SOLUTIONS GMBH", "Timestamp": "2024-05-15T12:00:00Z"}"#,
        "--now",
        NOW,
    ]);
    assert_eq!(util::stdout(&out).trim(), "true", "{}", util::stderr(&out));
    let out = util::scry(&["eval", "split('a__b', '_')"]);
    assert_eq!(util::stdout(&out).trim(), r#"["a","","b"]"#);
    let out = util::scry(&[
        "eval",
        "Sha1 == ''",
        "--table",
        "DeviceFileCertificateInfo",
        "--event",
        "{}",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        util::stderr(&out).contains("did you mean `SHA1`?"),
        "{}",
        util::stderr(&out)
    );
}

#[test]
fn scry_test_passes_on_the_packs() {
    // The scry packs (rules/sigma has no examples; tests/sigma.rs tests it).
    let out = util::scry(&["test", "--rules", "rules/rmm", "--rules", "rules/lolrmm"]);
    assert!(
        out.status.success(),
        "{}{}",
        util::stdout(&out),
        util::stderr(&out)
    );
    assert!(util::stdout(&out).contains(" 0 failed"));
}

#[test]
fn scry_test_fails_when_an_exclusion_hides_a_true_positive() {
    let out = util::scry(&[
        "test",
        "--rules",
        "tests/data/failing/exclusion_hides_tp.scry",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let text = util::stdout(&out);
    assert!(text.contains("hides a declared true positive"), "{text}");
}

fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("scry-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn import_kql_fix_writes_packs_that_scry_checks() {
    let dir = temp_dir("import-fix");
    let out_dir = dir.join("packs");
    let out = util::scry(&[
        "import",
        "kql",
        "--fix",
        "--out",
        out_dir.to_str().unwrap(),
        "tests/data/rmm-kql",
    ]);
    let err = util::stderr(&out);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains("imported 123 of 123 rule file(s) into 44 pack(s)"),
        "{err}"
    );
    assert!(err.contains("49 correction(s) by --fix"), "{err}");
    assert!(err.contains("warning[W0300]"), "{err}");
    let servereye = std::fs::read_to_string(out_dir.join("servereye.scry")).unwrap();
    assert!(servereye.starts_with("// ServerEye: imported by `scry import kql` from rmm-kql."));
    assert!(servereye.contains("rule rmm_servereye_filesig {"));
    let check = util::scry(&["check", "--rules", out_dir.to_str().unwrap()]);
    let text = util::stderr(&check);
    assert!(check.status.success(), "{text}");
    assert!(
        text.contains("123 rule(s) in 44 file(s) compiled"),
        "{text}"
    );
    let per_rule = dir.join("rules");
    let out = util::scry(&[
        "import",
        "kql",
        "--fix",
        "--per-rule",
        "--out",
        per_rule.to_str().unwrap(),
        "tests/data/rmm-kql/ServerEye",
    ]);
    assert!(out.status.success(), "{}", util::stderr(&out));
    let mut names: Vec<String> = std::fs::read_dir(&per_rule)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "rmm_servereye_createproc.scry",
            "rmm_servereye_filesig.scry",
            "rmm_servereye_netconn.scry"
        ]
    );
}

#[test]
fn import_kql_reads_bare_kql_files_and_names_what_it_cannot_express() {
    let dir = temp_dir("import-kql");
    let ok = dir.join("Hunt.kql");
    std::fs::write(
        &ok,
        "DeviceProcessEvents\n| where Timestamp > ago(1d)\n| where FileName in~ ('a.exe', 'b.exe') // tools\n| distinct DeviceName\n",
    )
    .unwrap();
    let out = util::scry(&["import", "kql", ok.to_str().unwrap()]);
    assert!(out.status.success(), "{}", util::stderr(&out));
    let text = util::stdout(&out);
    assert!(text.contains("rule hunt {"), "{text}");
    // Not a lookback window (it has no upper bound): it stays a condition.
    assert!(text.contains("where Timestamp > ago(1d)"), "{text}");
    assert!(text.contains("summarize by DeviceName"), "{text}");
    assert!(text.contains("// tools"), "{text}");
    // `project` and `take` import; a filter after `take` cannot (scry's `take` keeps the
    // first N results, KQL's `| take 10 | where` filters ten arbitrary rows).
    let shaped = dir.join("Shaped.kql");
    std::fs::write(
        &shaped,
        "DeviceProcessEvents\n| where FileName has 'anydesk'\n| project Timestamp, DeviceName, FileName\n| take 10\n",
    )
    .unwrap();
    let out = util::scry(&["import", "kql", shaped.to_str().unwrap()]);
    assert!(out.status.success(), "{}", util::stderr(&out));
    let text = util::stdout(&out);
    assert!(
        text.contains("  project Timestamp, DeviceName, FileName\n  take 10\n"),
        "{text}"
    );
    let bad = dir.join("bad.kql");
    std::fs::write(
        &bad,
        "DeviceProcessEvents\n| take 10\n| where FileName has 'x'\n| project-away FileName\n",
    )
    .unwrap();
    let out = util::scry(&["import", "kql", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = util::stderr(&out);
    assert!(
        err.contains("error[E0307]: `where` after `take` has no scry equivalent"),
        "{err}"
    );
    assert!(err.contains("bad.kql:3:3"), "{err}");
    assert!(
        err.contains("error[E0303]: the `project-away` operator is not supported"),
        "{err}"
    );
    assert_eq!(err.matches("error[").count(), 2, "{err}");
}

#[test]
fn export_kql_prints_queries_and_sentinel_yaml() {
    let out = util::scry(&["export", "kql", "rules/rmm/servereye.scry"]);
    assert!(out.status.success(), "{}", util::stderr(&out));
    let text = util::stdout(&out);
    assert!(text.contains("// servereye_create_process\nlet ServerEyeProducts = dynamic(['ServerEye', 'Server-Eye']);\nDeviceProcessEvents\n| where Timestamp between (now(-5d) .. now())"), "{text}");
    assert!(
        text.contains("// except \"Scheduled System Maintenance Task Using ServerEye\""),
        "{text}"
    );
    // Aliases become the table's columns.
    assert!(
        text.contains("InitiatingProcessFileName =~ 'ServerEye.exe'"),
        "{text}"
    );
    let out = util::scry(&["export", "kql", "--yaml", "rules/rmm/servereye.scry"]);
    assert!(out.status.success(), "{}", util::stderr(&out));
    let yaml = util::stdout(&out);
    assert!(
        yaml.starts_with("id: 44a7b71e-ad89-49fd-b540-a73c83c6f8c5\n"),
        "{yaml}"
    );
    assert!(yaml.contains("\n---\nid: "), "{yaml}");
    assert!(yaml.contains("requiredDataConnectors:\n  - connectorId: MicrosoftThreatProtection\n    dataTypes:\n      - DeviceProcessEvents\n"), "{yaml}");
}

#[test]
fn profile_shows_rules_by_time_and_the_candidate_rate() {
    let out = util::scry(&[
        "run",
        "--rules",
        "rules/rmm",
        "--now",
        NOW,
        "--profile",
        "--threads",
        "2",
        "tests/data/sample/defender-storage.jsonl",
    ]);
    assert!(out.status.success());
    let err = util::stderr(&out);
    assert!(err.contains("profile: "), "{err}");
    assert!(err.contains(" of 17 record(s) parsed"), "{err}");
    assert!(err.contains("servereye_create_process"), "{err}");
}

#[test]
fn every_pack_runs_in_one_pass_over_mixed_inputs() {
    let out = util::scry(&[
        "run",
        "--rules",
        "rules/rmm",
        "--rules",
        "rules/lolrmm",
        "--now",
        NOW,
        "--format",
        "ndjson",
        "tests/data/sample/defender-storage.jsonl",
        "tests/data/sets/mixed.jsonl",
        "tests/data/sample/defender-eventhub.jsonl",
    ]);
    assert!(out.status.success(), "{}", util::stderr(&out));
    let err = util::stderr(&out);
    assert!(
        err.contains("43 record(s) read: 43 evaluated, 0 skipped"),
        "{err}"
    );
    let text = util::stdout(&out);
    // ServerEye (storage and Event Hub copies of the same rows) and DWService (its set).
    assert!(
        text.contains(r#""rule":"44a7b71e-ad89-49fd-b540-a73c83c6f8c5""#),
        "{text}"
    );
    assert!(
        text.contains(r#""rule":"99cd2519-9bdd-482d-aa8a-fbd8894476e3""#),
        "{text}"
    );
}

#[test]
fn completions_and_man_pages_come_from_the_cli_definition() {
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let out = util::scry(&["completions", shell]);
        assert!(out.status.success(), "{shell}");
        let text = util::stdout(&out);
        assert!(
            text.contains("scry") && text.contains("rules"),
            "{shell}: {text}"
        );
    }
    let man = util::scry(&["man"]);
    let text = util::stdout(&man);
    assert!(
        text.contains(".TH scry 1") && text.contains("run"),
        "{text}"
    );
    let dir = std::env::temp_dir().join(format!("scry-man-{}", std::process::id()));
    let out = util::scry(&["man", "--dir", dir.to_str().unwrap()]);
    assert!(out.status.success());
    let run_page = std::fs::read_to_string(dir.join("scry-run.1")).unwrap();
    assert!(run_page.contains("no\\-prefilter"), "{run_page}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn directories_are_filtered_by_include_and_exclude_globs() {
    let out = util::scry(&[
        "run",
        "--rules",
        "rules/rmm",
        "--now",
        NOW,
        "--include",
        "*.jsonl*",
        "--exclude",
        "*eventhub*",
        "--format",
        "ndjson",
        "tests/data/sample",
    ]);
    assert!(out.status.success(), "{}", util::stderr(&out));
    let err = util::stderr(&out);
    // flat, storage, storage.gz and storage.zst: not make.py, not the Event Hub file.
    assert!(err.contains("scry: 4 input(s)"), "{err}");
    assert!(
        err.contains("defender-storage.jsonl.zst: json lines (storage account), zstd"),
        "{err}"
    );
    assert!(!err.contains("eventhub"), "{err}");
    let bad = util::scry(&[
        "run",
        "--rules",
        "rules/rmm",
        "--include",
        "[",
        "tests/data/sample",
    ]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        util::stderr(&bad).contains("glob `[`"),
        "{}",
        util::stderr(&bad)
    );
}

#[test]
fn zip_members_are_inputs_of_their_own() {
    let run = |args: &[&str]| {
        let mut all = vec![
            "run",
            "--rules",
            "rules/rmm",
            "--now",
            NOW,
            "--format",
            "ndjson",
        ];
        all.extend_from_slice(args);
        let out = util::scry(&all);
        assert!(out.status.success(), "{}", util::stderr(&out));
        (util::stdout(&out), util::stderr(&out))
    };
    let (zipped, err) = run(&["--include", "*.jsonl*", "tests/data/sample/defender.zip"]);
    assert!(err.contains("defender.zip!/defender-storage.jsonl.gz: json lines (storage account), gzip (17 records)"), "{err}");
    assert!(
        err.contains("defender.zip!/flat/defender-flat.jsonl: json lines (flat) (17 records)"),
        "{err}"
    );
    assert!(!err.contains("readme.txt"), "{err}");
    let (plain, _) = run(&[
        "tests/data/sample/defender-storage.jsonl.gz",
        "tests/data/sample/defender-flat.jsonl",
    ]);
    assert_eq!(zipped, plain);
}

#[test]
fn union_exports_type_suffixed_columns_are_read() {
    // A `union` export keeps one copy of a column per type (`ReportId_long`, `ReportId_string`):
    // the non-null one is the value.
    let out = util::scry(&[
        "eval",
        "--table",
        "DeviceProcessEvents",
        "--event",
        r#"{"ReportId_string": null, "ReportId_long": 5, "FileName_string": "x.exe", "FileName_dynamic": null}"#,
        "strcat(tostring(ReportId), ' ', FileName)",
    ]);
    assert!(out.status.success(), "{}", util::stderr(&out));
    assert_eq!(util::stdout(&out).trim(), r#""5 x.exe""#);
}

#[test]
fn files_that_are_not_event_files_are_named_and_not_read() {
    let dir = std::env::temp_dir().join(format!("scry-notes-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("README.md"),
        "Exported by the SOC (see ticket 42), do not share.\n",
    )
    .unwrap();
    std::fs::copy(
        util::path("tests/data/sample/defender-flat.jsonl"),
        dir.join("rows.jsonl"),
    )
    .unwrap();
    let out = util::scry(&[
        "run",
        "--rules",
        "rules/rmm",
        "--now",
        NOW,
        "--format",
        "ndjson",
        dir.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", util::stderr(&out));
    let err = util::stderr(&out);
    assert!(err.contains("README.md: not an event file"), "{err}");
    assert!(
        err.contains("17 record(s) read: 17 evaluated, 0 skipped"),
        "{err}"
    );
    std::fs::remove_dir_all(&dir).ok();
}
