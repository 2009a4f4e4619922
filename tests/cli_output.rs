//! What `scry run` prints and refuses (issue 12, items 5–7): hostile text escaped for people
//! and kept for machines, `--strict` and inputs that give nothing, `--output` checked before
//! anything is read, rules named in result rows, a summary that does not scroll.

use crate::util;
use std::path::PathBuf;

const NOW: &str = "2024-05-15T12:00:00Z";
const RULES: &str = "rules/rmm/servereye.scry";

/// A fresh folder for one test.
fn temp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("scry-cli-out-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A ServerEye signature row whose DeviceName clears the screen and reverses text, and a row
/// whose only column name holds a NUL byte (skipped, its column named in the message).
fn hostile(dir: &std::path::Path) -> String {
    let f = dir.join("hostile.jsonl");
    std::fs::write(
        &f,
        concat!(
            r#"{"Timestamp":"2024-05-14T09:00:00Z","Type":"DeviceFileCertificateInfo","#,
            r#""Signer":"Kr\u00e4mer IT Solutions GmbH","DeviceId":"d1","ReportId":5,"#,
            r#""DeviceName":"\u001b[2J\u001b]0;owned\u0007EVIL\u202egpj.exe\u009b31m\u007f"}"#,
            "\n",
            r#"{"Foo\u0000Bar":1,"Timestamp":"2024-05-14T09:00:00Z"}"#,
            "\n"
        ),
    )
    .unwrap();
    f.to_str().unwrap().to_string()
}

fn run(args: &[&str]) -> std::process::Output {
    let mut all = vec!["run", "--rules", RULES, "--now", NOW];
    all.extend_from_slice(args);
    util::scry(&all)
}

fn has_unsafe(s: &str) -> bool {
    s.chars().any(|c| {
        (c.is_control() && c != '\n')
            || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
    })
}

#[test]
fn control_characters_from_events_are_escaped_in_table_and_messages() {
    let dir = temp("escape");
    let f = hostile(&dir);
    let out = run(&["--format", "table", &f]);
    let (text, err) = (util::stdout(&out), util::stderr(&out));
    assert!(out.status.success(), "{err}");
    assert!(
        !has_unsafe(&text),
        "raw control text in the table: {text:?}"
    );
    assert!(
        text.contains(r"\u{1b}[2J\u{1b}]0;owned\u{7}EVIL\u{202e}gpj.exe\u{9b}31m\u{7f}"),
        "{text}"
    );
    // The skip message names the column, escaped.
    assert!(!has_unsafe(&err), "raw control text on stderr: {err:?}");
    assert!(err.contains(r"column `Foo\u{0}Bar`"), "{err}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn control_characters_are_kept_in_ndjson_and_csv_values() {
    let dir = temp("keep");
    let f = hostile(&dir);
    let name = "\u{1b}[2J\u{1b}]0;owned\u{7}EVIL\u{202e}gpj.exe\u{9b}31m\u{7f}";
    let out = run(&["--format", "ndjson", &f]);
    let line = util::stdout(&out);
    let row: serde_json::Value = serde_json::from_str(line.trim()).unwrap();
    assert_eq!(row["DeviceName"], name, "{line}");
    let out = run(&["--format", "csv", &f]);
    assert!(util::stdout(&out).contains(name), "{}", util::stdout(&out));
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn strict_fails_for_an_input_that_is_not_an_event_file() {
    let dir = temp("strict-text");
    let f = dir.join("notes.txt");
    std::fs::write(&f, "hello world\nthis is not an export\n").unwrap();
    let out = run(&["--strict", f.to_str().unwrap()]);
    let err = util::stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("not an event file"), "{err}");
    assert!(err.contains("(--strict)"), "{err}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn strict_fails_when_every_record_is_skipped_even_unreported() {
    let dir = temp("strict-skip");
    let f = dir.join("unknown.jsonl");
    std::fs::write(&f, "{\"Foo\":1}\n{\"Bar\":2}\n").unwrap();
    // --max-skip-reports 0 prints no report; the run must fail all the same.
    let out = run(&["--strict", "--max-skip-reports", "0", f.to_str().unwrap()]);
    let err = util::stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("2 record(s) skipped"), "{err}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn an_input_that_yields_no_records_gets_a_warning() {
    let dir = temp("warn");
    let text = dir.join("notes.txt");
    std::fs::write(&text, "hello world\n").unwrap();
    let empty = dir.join("empty.jsonl");
    std::fs::write(&empty, "").unwrap();
    let (t, e) = (text.to_str().unwrap(), empty.to_str().unwrap());
    let out = run(&[t, e, "tests/data/sample/defender-storage.jsonl"]);
    let err = util::stderr(&out);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains(&format!("scry: warning: {t}: not an event file")),
        "{err}"
    );
    assert!(
        err.contains(&format!("scry: warning: {e}: no records in it")),
        "{err}"
    );
    assert!(!err.contains("warning: tests/data/sample"), "{err}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn since_and_until_errors_name_their_own_flag() {
    for flag in ["--since", "--until"] {
        let out = run(&[
            flag,
            "yesterday",
            "tests/data/sample/defender-storage.jsonl",
        ]);
        let err = util::stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(
            err.contains(&format!("{flag} \"yesterday\" is not an RFC 3339 datetime")),
            "{err}"
        );
        assert!(!err.contains("--now"), "{err}");
    }
}

#[test]
fn output_naming_an_input_is_refused_before_reading() {
    let dir = temp("same");
    let input = dir.join("evidence.jsonl");
    std::fs::copy(
        util::path("tests/data/sample/defender-storage.jsonl"),
        &input,
    )
    .unwrap();
    let before = std::fs::read(&input).unwrap();
    let i = input.to_str().unwrap();
    // The same path, another spelling of it, the folder holding it.
    let other = format!("{}/./evidence.jsonl", dir.display());
    for (output, inputs) in [(i, i), (other.as_str(), i), (i, dir.to_str().unwrap())] {
        let out = run(&["--output", output, inputs]);
        let err = util::stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(err.contains("refusing to overwrite it"), "{err}");
        assert!(
            !err.contains("record(s) read"),
            "read before refusing: {err}"
        );
        assert_eq!(
            std::fs::read(&input).unwrap(),
            before,
            "the input was touched"
        );
    }
    #[cfg(unix)]
    {
        let link = dir.join("link.ndjson");
        std::os::unix::fs::symlink(&input, &link).unwrap();
        let out = run(&["--output", link.to_str().unwrap(), i]);
        assert_eq!(out.status.code(), Some(2), "{}", util::stderr(&out));
        assert_eq!(
            std::fs::read(&input).unwrap(),
            before,
            "the input was touched"
        );
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn output_in_a_missing_folder_fails_before_reading() {
    let dir = temp("nodir");
    let target = dir.join("no/such/folder/results.ndjson");
    // The hostile input's skipped record would be reported as soon as it was read.
    let input = hostile(&dir);
    let out = run(&["--output", target.to_str().unwrap(), &input]);
    let err = util::stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("does not exist"), "{err}");
    assert!(!err.contains("scry: skipped"), "read before failing: {err}");
    assert!(
        !err.contains("record(s) read"),
        "read before failing: {err}"
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn output_format_follows_the_extension_and_refuses_a_mismatch() {
    let dir = temp("ext");
    let input = "tests/data/sample/defender-storage.jsonl";
    let csv = dir.join("x.csv");
    let out = run(&["--output", csv.to_str().unwrap(), input]);
    assert!(out.status.success(), "{}", util::stderr(&out));
    let text = std::fs::read_to_string(&csv).unwrap();
    assert!(text.starts_with("rule,name,title,"), "{text}");
    let jsonl = dir.join("x.jsonl");
    run(&["--output", jsonl.to_str().unwrap(), input]);
    let text = std::fs::read_to_string(&jsonl).unwrap();
    assert!(text.lines().all(|l| l.starts_with("{\"rule\":")), "{text}");
    let txt = dir.join("x.txt");
    run(&["--output", txt.to_str().unwrap(), input]);
    let text = std::fs::read_to_string(&txt).unwrap();
    assert!(text.contains(" | "), "{text}");
    // An explicit format the extension contradicts is refused, before reading.
    let out = run(&[
        "--format",
        "ndjson",
        "--output",
        csv.to_str().unwrap(),
        input,
    ]);
    let err = util::stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("the extension means csv, but --format is ndjson"),
        "{err}"
    );
    assert!(!err.contains("record(s) read"), "{err}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn result_rows_name_their_rule() {
    let input = "tests/data/sample/defender-storage.jsonl";
    let out = run(&["--format", "ndjson", input]);
    let first = util::stdout(&out).lines().next().unwrap().to_string();
    assert!(
        first.starts_with(
            r#"{"rule":"44a7b71e-ad89-49fd-b540-a73c83c6f8c5","name":"servereye_file_signature","title":"#
        ),
        "{first}"
    );
    let out = run(&["--format", "csv", input]);
    let csv = util::stdout(&out);
    let mut lines = csv.lines();
    assert!(
        lines.next().unwrap().starts_with("rule,name,title,"),
        "{csv}"
    );
    assert!(
        lines
            .next()
            .unwrap()
            .starts_with("44a7b71e-ad89-49fd-b540-a73c83c6f8c5,servereye_file_signature,"),
        "{csv}"
    );
    let out = run(&["--format", "table", input]);
    let table = util::stdout(&out);
    assert!(
        table.contains(
            "ServerEye - File Signature [servereye_file_signature] (44a7b71e-ad89-49fd-b540-a73c83c6f8c5): 2 result(s)"
        ),
        "{table}"
    );
}

#[test]
fn rules_without_results_are_summarised_unless_verbose() {
    let args = [
        "run",
        "--rules",
        "rules/rmm",
        "--now",
        NOW,
        "tests/data/sample/defender-storage.jsonl",
    ];
    let out = util::scry(&args);
    let err = util::stderr(&out);
    assert!(out.status.success(), "{err}");
    assert!(!err.contains(": 0 result(s) from 0 matching"), "{err}");
    // 129 rules: ServerEye's three and the all-tools network rule found something.
    assert!(
        err.contains(
            "  125 of 129 rule(s) had no results and no matching records (--verbose lists them)"
        ),
        "{err}"
    );
    assert!(
        err.contains(
            "  rule servereye_create_process: 3 result(s) from 5 matching record(s), 2 suppressed"
        ),
        "{err}"
    );
    let mut verbose = args.to_vec();
    verbose.push("--verbose");
    let err = util::stderr(&util::scry(&verbose));
    assert_eq!(
        err.matches(": 0 result(s) from 0 matching").count(),
        125,
        "{err}"
    );
    assert!(!err.contains("had no results"), "{err}");
}

#[test]
fn control_characters_in_test_messages_are_escaped() {
    let dir = temp("test-msg");
    let f = dir.join("esc.scry");
    std::fs::write(
        &f,
        r#"rule esc {
  id "esc-1"
  from DeviceProcessEvents
  where FileName has 'evil'
  examples {
    match "label \u001b[2J" {"Timestamp": "2024-05-14T09:00:00Z", "FileName": "not it"}
  }
}
"#,
    )
    .unwrap();
    let out = util::scry(&["test", "--rules", f.to_str().unwrap()]);
    let text = util::stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(!has_unsafe(&text), "{text:?}");
    assert!(
        text.contains(r"FAIL esc :: label \u{1b}[2J: expected match"),
        "{text}"
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_rule_column_called_name_keeps_its_own_csv_column() {
    let dir = temp("name-col");
    let f = dir.join("named.scry");
    std::fs::write(
        &f,
        "rule signer_count {\n  id \"n-1\"\n  from DeviceFileCertificateInfo\n  where Signer has 'Krämer IT Solutions GmbH'\n  summarize name = count() by DeviceId\n}\n",
    )
    .unwrap();
    let out = util::scry(&[
        "run",
        "--rules",
        f.to_str().unwrap(),
        "--now",
        NOW,
        "--format",
        "csv",
        "tests/data/sample/defender-storage.jsonl",
    ]);
    let csv = util::stdout(&out);
    assert!(out.status.success(), "{}", util::stderr(&out));
    let mut lines = csv.lines();
    assert_eq!(lines.next(), Some("rule,name,title,DeviceId,name"), "{csv}");
    assert!(
        lines.all(|l| l.starts_with("n-1,signer_count,signer_count,")),
        "{csv}"
    );
    std::fs::remove_dir_all(&dir).ok();
}
