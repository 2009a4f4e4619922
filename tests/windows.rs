//! Windows event logs: real EVTX files and Sysmon JSON exports (SigmaHQ regression data, OTRF
//! Security-Datasets; provenance in `tests/data/windows/README.md`) load without a skip and
//! give no RMM results; RMM tools planted in Sysmon JSON lines are found by the unchanged
//! `rules/rmm` packs through `sysmon-mapping.json`; damaged EVTX files are reported with the
//! chunk and counted.

use std::path::{Path, PathBuf};

use scry_engine::io::{read_path, Location, ReadOptions, RecordSink, SkipReason};
use scry_engine::row::{Cell, FieldSet, Row};

use crate::util;

const NOW: &str = "2024-05-15T12:00:00Z";
const PLANTED: &str = "tests/data/windows/planted/sysmon-rmm-planted.json";

/// The real files: every `.evtx` and `.json` directly in `tests/data/windows/`.
fn real_files() -> Vec<PathBuf> {
    let dir = util::path("tests/data/windows");
    let mut v: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("tests/data/windows")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "evtx" || x == "json"))
        .collect();
    v.sort();
    v
}

/// `(read, evaluated, skipped)` from the summary line of `scry run`.
fn counts(stderr: &str) -> (u64, u64, u64) {
    let line = stderr
        .lines()
        .find(|l| l.contains("record(s) read:"))
        .unwrap_or_else(|| panic!("no summary in:\n{stderr}"));
    let num = |before: &str| -> u64 {
        let i = line.find(before).expect("summary part");
        line[..i]
            .rsplit(|c: char| !c.is_ascii_digit())
            .find(|s| !s.is_empty())
            .expect("a number")
            .parse()
            .expect("a number")
    };
    (num(" record(s) read"), num(" evaluated"), num(" skipped ("))
}

fn run(args: &[&str]) -> (String, String) {
    let mut all = vec!["run", "--rules", "rules/rmm", "--now", NOW];
    all.extend_from_slice(args);
    let out = util::scry(&all);
    assert!(out.status.success(), "{}", util::stderr(&out));
    (util::stdout(&out), util::stderr(&out))
}

#[test]
fn real_windows_logs_load_without_skips_and_find_no_rmm_tool() {
    let files = real_files();
    assert_eq!(files.len(), 13, "{files:?}");
    for f in &files {
        let name = f.to_string_lossy();
        // Without the prefilter every record is parsed, normalized and mapped.
        let (stdout, stderr) = run(&["--no-prefilter", &name]);
        let (read, evaluated, skipped) = counts(&stderr);
        assert!(read > 0, "{name}: no records\n{stderr}");
        assert_eq!((evaluated, skipped), (read, 0), "{name}\n{stderr}");
        assert_eq!(stdout, "", "{name}: unexpected RMM results");
        assert!(stderr.contains("windows events"), "{name}\n{stderr}");
    }
}

#[test]
fn evtx_summary_names_the_mapping_applied() {
    let (_, stderr) = run(&["tests/data/windows/proc_creation_win_amsi_registry_tampering.evtx"]);
    assert!(
        stderr.contains(
            "evtx (windows events); mapped Sysmon EID 1 → DeviceProcessEvents ×1 (sysmon-mapping.json) (1 records)"
        ),
        "{stderr}"
    );
    let (_, stderr) =
        run(&["tests/data/windows/win_security_explicit_credential_local_logon.evtx"]);
    assert!(
        stderr.contains("table WindowsEvent: 1 record(s)"),
        "{stderr}"
    );
}

/// Collects rows as `name=value` lines for the fields asked for.
struct Collect<'f>(&'f FieldSet, usize, Vec<String>, Vec<String>);

impl RecordSink for Collect<'_> {
    fn record(&mut self, row: &Row, _: &Location<'_>) {
        let mut parts = vec![format!("table={}", row.table_hint().unwrap_or("?"))];
        for (id, name) in self.0.names().take(self.1) {
            match row.get(id) {
                Cell::Str(s) | Cell::Num(s) => parts.push(format!("{name}={s}")),
                Cell::Bool(b) => parts.push(format!("{name}={b}")),
                _ => {}
            }
        }
        self.2.push(parts.join(" | "));
    }
    fn skipped(&mut self, loc: &Location<'_>, reason: &SkipReason) {
        self.3.push(format!("{loc}: {reason}"));
    }
}

fn read_fields(path: &Path, names: &[&str]) -> (Vec<String>, Vec<String>) {
    let mut fields = FieldSet::new();
    for n in names {
        fields.intern(n);
    }
    // What the executor adds so that JSON exports of Windows events are recognised.
    for n in scry_engine::io::windows::source_fields() {
        fields.intern(n);
    }
    let mut row = Row::new(&fields);
    let mut sink = Collect(&fields, names.len(), Vec::new(), Vec::new());
    read_path(path, &fields, &ReadOptions::default(), &mut row, &mut sink).expect("readable");
    (sink.2, sink.3)
}

#[test]
fn evtx_records_flatten_system_and_event_data_and_map_sysmon() {
    let (rows, skips) = read_fields(
        &util::path("tests/data/windows/proc_creation_win_amsi_registry_tampering.evtx"),
        &[
            "EventID",
            "Channel",
            "Computer",
            "Timestamp",
            "Image",
            "FileName",
            "FolderPath",
            "ProcessVersionInfoCompanyName",
            "DeviceName",
            "AccountName",
        ],
    );
    assert!(skips.is_empty(), "{skips:?}");
    assert_eq!(
        rows,
        [
            "table=DeviceProcessEvents | EventID=1 | Channel=Microsoft-Windows-Sysmon/Operational | Computer=swachchhanda | Timestamp=2025-12-25T14:30:27.3691144Z | Image=C:\\Windows\\System32\\reg.exe | FileName=reg.exe | FolderPath=C:\\Windows\\System32\\reg.exe | ProcessVersionInfoCompanyName=Microsoft Corporation | DeviceName=swachchhanda | AccountName=xodih"
        ]
    );
    // EventID with Qualifiers (`{"#text": .., "#attributes": {"Qualifiers": ..}}`) is a number.
    let (rows, _) = read_fields(
        &util::path("tests/data/windows/win_security_explicit_credential_local_logon.evtx"),
        &["EventID", "Channel"],
    );
    assert_eq!(
        rows,
        ["table=WindowsEvent | EventID=4648 | Channel=Security"]
    );
    // Sysmon EID 7: Signature → Signer, Signed → IsSigned.
    let (rows, _) = read_fields(
        &util::path("tests/data/windows/image_load_win_werfaultsecure_dbgcore_dbghelp_load.evtx"),
        &["Signer", "IsSigned", "ImageLoaded"],
    );
    assert_eq!(rows.len(), 1);
    assert!(
        rows[0].starts_with(
            "table=DeviceFileCertificateInfo | Signer=Microsoft Windows | IsSigned=true"
        ),
        "{rows:?}"
    );
}

#[test]
fn rmm_tools_planted_in_sysmon_json_are_found_by_the_unchanged_packs() {
    let (stdout, stderr) = run(&[PLANTED]);
    let rules: Vec<&str> = stdout
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).expect("JSON result");
            v["title"].as_str().expect("title").to_string().leak() as &str
        })
        .collect();
    assert_eq!(
        rules,
        [
            "Remote Management and Monitoring tool - AnyDesk - Create Process",
            "Remote Management and Monitoring tool - AnyDesk - File Signature",
            // The first AnyDesk signature on WKS-7 within the last 31 days (Sysmon EID 7).
            "An RMM vendor's signature appears on a device for the first time in 30 days",
            "Remote Management and Monitoring tool - ServerEye - Create Process",
        ],
        "{stderr}"
    );
    assert!(
        stdout.contains(r#""DeviceName":"WKS-7.contoso.com""#),
        "{stdout}"
    );
    assert!(
        stderr.contains("mapped Sysmon EID 1 → DeviceProcessEvents ×3, Sysmon EID 3 → DeviceNetworkEvents ×1, Sysmon EID 7 → DeviceFileCertificateInfo ×1 (sysmon-mapping.json)"),
        "{stderr}"
    );
    assert_eq!(counts(&stderr), (6, 6, 0), "{stderr}");
    // The same with every line parsed, and on any number of threads.
    let (no_pre, _) = run(&["--no-prefilter", PLANTED]);
    assert_eq!(no_pre, stdout);
    let (one, _) = run(&["--threads", "1", PLANTED]);
    assert_eq!(one, stdout);
}

#[test]
fn evtx_reads_the_same_on_any_number_of_threads() {
    let evtx = "tests/data/windows/image_load_win_werfaultsecure_dbgcore_dbghelp_load.evtx";
    let mixed = [
        evtx,
        PLANTED,
        "tests/data/windows/file_event_win_anydesk_artefact.evtx",
    ];
    let mut one = vec!["--threads", "1"];
    one.extend_from_slice(&mixed);
    let mut two = vec!["--threads", "2"];
    two.extend_from_slice(&mixed);
    let (a, ea) = run(&one);
    let (b, eb) = run(&two);
    assert_eq!(a, b);
    assert_eq!(counts(&ea), counts(&eb));
    assert_eq!(counts(&ea), (1 + 6 + 5, 12, 0), "{ea}");
}

fn damaged_copy(name: &str, damage: impl Fn(&mut Vec<u8>)) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("scry-windows-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let mut bytes = std::fs::read(util::path(
        "tests/data/windows/file_event_win_anydesk_artefact.evtx",
    ))
    .expect("evtx");
    damage(&mut bytes);
    let p = dir.join(name);
    std::fs::write(&p, bytes).expect("write copy");
    p
}

#[test]
fn corrupt_evtx_chunks_are_reported_with_their_place_and_counted() {
    // Chunk 0 starts after the 4 KiB file header with `ElfChnk\0`; flip bytes in its records.
    let corrupt = damaged_copy("corrupt.evtx", |b| {
        assert_eq!(&b[4096..4104], b"ElfChnk\0");
        for x in &mut b[4096 + 1000..4096 + 1200] {
            *x ^= 0x5a;
        }
    });
    let truncated = damaged_copy("truncated.evtx", |b| b.truncate(4096 + 30_000));
    let good = "tests/data/windows/proc_creation_win_amsi_registry_tampering.evtx";
    let (c, t) = (corrupt.to_string_lossy(), truncated.to_string_lossy());
    let (stdout, stderr) = run(&[&c, good, &t]);
    assert_eq!(stdout, "");
    assert!(
        stderr.contains(&format!("scry: skipped {c}: corrupt EVTX chunk 0: Failed to parse chunk number 0: chunk data CRC32 invalid")),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!(
            "scry: skipped {t}: corrupt EVTX chunk 0: the file ends 30000 bytes into this chunk"
        )),
        "{stderr}"
    );
    // Reading went on: the good file's record was evaluated; the summary reconciles.
    let (read, evaluated, skipped) = counts(&stderr);
    assert_eq!((read, evaluated, skipped), (3, 1, 2), "{stderr}");
    assert!(
        stderr.contains("skipped 2: corrupt EVTX chunk or record"),
        "{stderr}"
    );
    let _ = std::fs::remove_file(corrupt);
    let _ = std::fs::remove_file(truncated);
}

#[test]
fn rules_without_needles_see_mapped_sysmon_json_rows_despite_the_prefilter() {
    // No needle to anchor on: the prefilter would fall back to the table's name, which a
    // Sysmon line never spells. Windows event lines are parsed, so the row is found.
    let dir = std::env::temp_dir().join(format!("scry-windows-rule-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let rule = dir.join("signed.scry");
    std::fs::write(
        &rule,
        "rule signed_loads {\n  id \"11111111-2222-3333-4444-555555555555\"\n  title \"signed image loads\"\n  from DeviceFileCertificateInfo\n  where IsSigned == true\n}\n",
    )
    .expect("write rule");
    let out = util::scry(&[
        "run",
        "--rules",
        &rule.to_string_lossy(),
        "--now",
        NOW,
        PLANTED,
    ]);
    assert!(out.status.success(), "{}", util::stderr(&out));
    assert_eq!(
        util::stdout(&out).lines().count(),
        1,
        "{}",
        util::stderr(&out)
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn evtx_files_and_their_evtx_dump_json_twins_give_the_same_rows() {
    let names = [
        "EventID",
        "Channel",
        "Computer",
        "EventRecordID",
        "Image",
        "TargetFilename",
        "CommandLine",
        "FileName",
        "Signer",
        "IsSigned",
        "SHA1",
        "TargetUserName",
    ];
    for stem in [
        "file_event_win_anydesk_artefact",
        "image_load_win_werfaultsecure_dbgcore_dbghelp_load",
        "proc_creation_win_amsi_registry_tampering",
        "win_security_explicit_credential_local_logon",
    ] {
        let dir = util::path("tests/data/windows");
        let (evtx, s1) = read_fields(&dir.join(format!("{stem}.evtx")), &names);
        let (json, s2) = read_fields(&dir.join(format!("{stem}.json")), &names);
        assert!(s1.is_empty() && s2.is_empty(), "{s1:?} {s2:?}");
        assert!(!evtx.is_empty());
        assert_eq!(evtx, json, "{stem}");
    }
}

#[test]
fn anchors_that_hold_on_mapped_rows_search_windows_lines_like_any_other() {
    // Substring needles on columns the mapping copies or cuts from the event's own fields
    // (FileName is the basename of Image, the company is Company): the prefilter needs no
    // separate search for Windows layout keys, and still finds the planted tools, in the flat
    // and the Winlogbeat layouts.
    let dir = std::env::temp_dir().join(format!("scry-windows-anchors-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let rule = dir.join("tools.scry");
    std::fs::write(
        &rule,
        "rule tools {\n  id \"11111111-2222-3333-4444-666666666666\"\n  title \"tools\"\n  from DeviceProcessEvents\n  where FileName has_any ('AnyDesk', 'ServerEye') or ProcessVersionInfoCompanyName has 'Kr\u{e4}mer'\n  summarize Count = count() by FileName\n}\n",
    )
    .expect("write rule");
    let rule = rule.to_string_lossy().into_owned();
    let explain = util::scry(&["explain", "--rules", &rule]);
    assert!(
        !util::stdout(&explain).contains("Windows events"),
        "{}",
        util::stdout(&explain)
    );
    // The packs test values' starts (`"FileName":"x`), which a Sysmon line does not spell.
    let packs = util::scry(&["explain", "--rules", "rules/rmm"]);
    assert!(
        util::stdout(&packs).contains("and lines that may be Windows events"),
        "{}",
        util::stdout(&packs)
    );
    let run = |extra: &[&str]| {
        let mut args = vec!["run", "--rules", &rule, "--now", NOW, "--format", "ndjson"];
        args.extend_from_slice(extra);
        args.push(PLANTED);
        let out = util::scry(&args);
        assert!(out.status.success(), "{}", util::stderr(&out));
        util::stdout(&out)
    };
    let with = run(&[]);
    assert_eq!(with, run(&["--no-prefilter"]));
    assert!(
        with.contains("AnyDesk.exe") && with.contains("ServerEye"),
        "{with}"
    );
    let _ = std::fs::remove_dir_all(dir);
}
