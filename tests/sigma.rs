//! Sigma rules through the `scry` binary:
//!
//! - `regression_suite`: every SigmaHQ regression test (tests/data/sigma/regression_data, each
//!   an `info.yml` naming a rule id and an EVTX file with its JSON twin): the vendored rule
//!   fires on the EVTX and on the JSON, at least `match_count` times where given. The exact
//!   counts are printed. Nothing here knows any case: held-back tests of the same shape run
//!   the same code.
//! - `corpus_compiles`: every file of the vendored SigmaHQ folders compiles or is refused by
//!   name; at least 99 % of `rules/` compile; the refusals are printed.
//! - `semantics`: the value semantics of docs/semantics.md ("Sigma"), case by case, each a
//!   rule and events that must and must not match.

#[allow(dead_code)]
#[path = "util.rs"]
mod util;

use scry_engine::sigma::yaml::{parse_documents, Node};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Sigma rule id → its file under rules/sigma.
fn rule_index() -> BTreeMap<String, PathBuf> {
    let mut out = BTreeMap::new();
    for f in util::files(&util::path("rules/sigma"), "yml") {
        let text = std::fs::read_to_string(&f).unwrap();
        if let Some(id) = text
            .lines()
            .find_map(|l| l.strip_prefix("id:"))
            .map(|s| s.trim().trim_matches(['\'', '"']).to_string())
        {
            out.insert(id, f);
        }
    }
    out
}

/// The result rows of `rule` on `input` (ndjson), or scry's errors when the run fails.
fn results(rule: &Path, input: &Path) -> Result<Vec<serde_json::Value>, String> {
    let out = util::scry(&[
        "run",
        "--rules",
        rule.to_str().unwrap(),
        "--format",
        "ndjson",
        input.to_str().unwrap(),
    ]);
    if !out.status.success() {
        return Err(util::stderr(&out));
    }
    util::stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).map_err(|e| format!("{e}: {l}")))
        .collect()
}

/// Results of `rule` (by id) on `input`: the number of result rows naming it.
fn matches(rule: &Path, id: &str, input: &Path) -> Result<usize, String> {
    Ok(results(rule, input)?
        .iter()
        .filter(|v| v["rule"] == id)
        .count())
}

struct Case {
    info: PathBuf,
    rule_id: String,
    evtx: PathBuf,
    min: usize,
}

/// Every `type: evtx` entry of every `info.yml`; other entries are listed as skipped.
fn cases(skipped: &mut Vec<String>) -> Vec<Case> {
    let base = util::path("tests/data/sigma");
    let mut out = Vec::new();
    for info in util::files(&base.join("regression_data"), "yml") {
        if info.file_name().is_none_or(|n| n != "info.yml") {
            continue;
        }
        let text = std::fs::read_to_string(&info).unwrap();
        let doc = parse_documents(&text).unwrap().remove(0);
        let rule_id = doc
            .get("rule_metadata")
            .and_then(|m| match &m.kind {
                scry_engine::sigma::yaml::Kind::Seq(items) => items.first(),
                _ => None,
            })
            .and_then(|m| m.get("id"))
            .and_then(Node::as_str)
            .expect("info.yml names its rule")
            .to_string();
        let tests = match doc.get("regression_tests_info").map(|n| &n.kind) {
            Some(scry_engine::sigma::yaml::Kind::Seq(items)) => items.clone(),
            _ => {
                skipped.push(format!("{}: no regression_tests_info", info.display()));
                continue;
            }
        };
        for t in tests {
            if t.get("type").and_then(Node::as_str) != Some("evtx") {
                skipped.push(format!("{}: not an evtx test", info.display()));
                continue;
            }
            let rel = t.get("path").and_then(Node::as_str).expect("a path");
            let min = t
                .get("match_count")
                .and_then(Node::as_str)
                .map_or(1, |m| m.parse().expect("match_count is a number"));
            out.push(Case {
                info: info.clone(),
                rule_id: rule_id.clone(),
                evtx: base.join(rel),
                min,
            });
        }
    }
    out
}

#[test]
fn regression_suite() {
    let index = rule_index();
    let mut skipped = Vec::new();
    let cases = cases(&mut skipped);
    assert!(cases.len() >= 140, "only {} regression cases", cases.len());
    let mut failures = Vec::new();
    let mut report = Vec::new();
    for c in &cases {
        let Some(rule) = index.get(&c.rule_id) else {
            failures.push(format!(
                "{}: rule {} is not vendored",
                c.info.display(),
                c.rule_id
            ));
            continue;
        };
        let json = c.evtx.with_extension("json");
        let on_evtx = matches(rule, &c.rule_id, &c.evtx);
        let on_json = matches(rule, &c.rule_id, &json);
        let show = |r: &Result<usize, String>| match r {
            Ok(n) => n.to_string(),
            Err(e) => format!("error: {}", e.lines().last().unwrap_or("")),
        };
        let line = format!(
            "{} evtx={} json={} (want >= {})",
            c.rule_id,
            show(&on_evtx),
            show(&on_json),
            c.min
        );
        let ok = |r: &Result<usize, String>| matches!(r, Ok(n) if *n >= c.min);
        if !ok(&on_evtx) || !ok(&on_json) {
            failures.push(format!("{line}  [{}]", rule.display()));
        }
        report.push(line);
    }
    println!("{}", report.join("\n"));
    println!("skipped: {skipped:#?}");
    println!(
        "{} regression cases, {} failing",
        cases.len(),
        failures.len()
    );
    assert!(failures.is_empty(), "failing:\n{}", failures.join("\n"));
}

/// The `sigma: N rule(s), X compiled, Y refused` line of `scry check`, and the refusals.
fn check(dir: &str) -> (usize, usize, Vec<String>) {
    let out = util::scry(&["check", "--rules", dir]);
    let err = util::stderr(&out);
    assert!(out.status.success(), "{err}");
    let line = err
        .lines()
        .find_map(|l| l.strip_prefix("scry: sigma: "))
        .unwrap_or_else(|| panic!("no sigma summary:\n{err}"));
    let nums: Vec<usize> = line
        .split([' ', ','])
        .filter_map(|w| w.parse().ok())
        .take(2)
        .collect();
    let refusals = err
        .lines()
        .filter(|l| l.contains("sigma rule refused"))
        .map(str::to_string)
        .collect();
    (nums[0], nums[1], refusals)
}

#[test]
fn corpus_compiles() {
    let (total, compiled, refusals) = check("rules/sigma/rules");
    println!("rules/: {compiled} of {total} compiled");
    println!("{}", refusals.join("\n"));
    assert!(total >= 3000, "{total}");
    assert!(
        compiled * 100 >= total * 99,
        "{compiled} of {total} compile: below 99 %"
    );
    assert_eq!(total - compiled, refusals.len(), "every refusal is named");
    let (total, compiled, refusals) = check("rules/sigma");
    println!("all folders: {compiled} of {total} compiled");
    println!("{}", refusals.join("\n"));
    assert_eq!(total - compiled, refusals.len(), "every refusal is named");
    assert!(compiled * 100 >= total * 99, "{compiled} of {total}");
}

/// A scratch folder for one test.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("scry-sigma-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs `detection` (YAML lines under `detection:`) over events of the generic table
/// `Sigma_test` and returns which events matched (by index).
fn verdicts(dir: &Path, detection: &str, events: &[&str]) -> Vec<bool> {
    let rule = format!(
        "title: case\nid: case-1\nlogsource:\n    product: test\ndetection:\n{detection}\n"
    );
    std::fs::write(dir.join("rule.yml"), rule).unwrap();
    let lines: Vec<String> = events
        .iter()
        .enumerate()
        .map(|(i, e)| {
            let sep = if e.trim().is_empty() { "" } else { ", " };
            format!(
                r#"{{"Type": "Sigma_test", "Timestamp": "2024-01-01T00:{:02}:{:02}Z"{sep}{e}}}"#,
                i / 60,
                i % 60
            )
        })
        .collect();
    std::fs::write(dir.join("events.jsonl"), lines.join("\n") + "\n").unwrap();
    let out = util::scry(&[
        "run",
        "--rules",
        dir.join("rule.yml").to_str().unwrap(),
        "--format",
        "ndjson",
        dir.join("events.jsonl").to_str().unwrap(),
    ]);
    let err = util::stderr(&out);
    assert!(out.status.success(), "{detection}\n{err}");
    assert!(!err.contains("sigma rule refused"), "{detection}\n{err}");
    let hit: Vec<String> = util::stdout(&out)
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .map(|v| v["Timestamp"].as_str().unwrap_or("").to_string())
        .collect();
    (0..events.len())
        .map(|i| {
            let t = format!("2024-01-01T00:{:02}:{:02}", i / 60, i % 60);
            hit.iter().any(|h| h.starts_with(&t))
        })
        .collect()
}

/// Each case: a detection, then events with the verdict docs/semantics.md gives them.
#[test]
fn semantics() {
    let dir = scratch("semantics");
    #[rustfmt::skip]
    let cases: &[(&str, &[(&str, bool)])] = &[
        // Whole values, ignoring case by simple folding.
        ("    sel:\n        F: 'Cmd.EXE'\n    condition: sel", &[
            (r#""F": "cmd.exe""#, true), (r#""F": "cmd.exe /c""#, false), (r#""F": "xcmd.exe""#, false)]),
        ("    sel:\n        F: 'Äb'\n    condition: sel", &[(r#""F": "äB""#, true), (r#""F": "ab""#, false)]),
        ("    sel:\n        F: 'straße'\n    condition: sel", &[(r#""F": "STRASSE""#, false), (r#""F": "STRAẞE""#, true)]),
        // contains is a substring (never `has`), startswith / endswith anchor the value.
        ("    sel:\n        F|contains: 'anydesk'\n    condition: sel", &[
            (r#""F": "qanydeskq""#, true), (r#""F": "any desk""#, false), ("", false)]),
        ("    sel:\n        F|startswith: 'ab'\n    condition: sel", &[(r#""F": "ABc""#, true), (r#""F": "cab""#, false)]),
        ("    sel:\n        F|endswith: 'ab'\n    condition: sel", &[(r#""F": "cAB""#, true), (r#""F": "abc""#, false)]),
        // Wildcards: `*` any run (newlines too), `?` one code point.
        ("    sel:\n        F: 'a*c'\n    condition: sel", &[
            (r#""F": "abbbc""#, true), (r#""F": "ac""#, true), (r#""F": "a\nc""#, true), (r#""F": "abd""#, false)]),
        ("    sel:\n        F: 'a?c'\n    condition: sel", &[
            (r#""F": "abc""#, true), (r#""F": "aäc""#, true), (r#""F": "ac""#, false), (r#""F": "abbc""#, false)]),
        // Escapes: `\*` is a literal star, and takes the backslash with it.
        ("    sel:\n        F: 'a\\*c'\n    condition: sel", &[(r#""F": "a*c""#, true), (r#""F": "abc""#, false)]),
        ("    sel:\n        F: 'C:\\Windows\\*.exe'\n    condition: sel", &[
            (r#""F": "C:\\Windows*.exe""#, true), (r#""F": "C:\\Windows\\x.exe""#, false)]),
        ("    sel:\n        F: 'C:\\Windows\\\\*.exe'\n    condition: sel", &[
            (r#""F": "C:\\Windows\\x.exe""#, true), (r#""F": "C:\\Windowsx.exe""#, false)]),
        ("    sel:\n        F: 'a\\b'\n    condition: sel", &[(r#""F": "a\\b""#, true)]),
        // Lists are OR, maps AND, `all` makes a list AND.
        ("    sel:\n        F: [a, b]\n        G: c\n    condition: sel", &[
            (r#""F": "b", "G": "c""#, true), (r#""F": "b", "G": "d""#, false), (r#""F": "x", "G": "c""#, false)]),
        ("    sel:\n        F|contains|all: [a, b]\n    condition: sel", &[(r#""F": "xbxa""#, true), (r#""F": "xa""#, false)]),
        ("    sel:\n        - F: a\n        - G: b\n    condition: sel", &[(r#""G": "b""#, true), (r#""F": "b""#, false)]),
        // null: missing or JSON null; '' reads the same in scry (a string is never null).
        ("    sel:\n        F: null\n    condition: sel", &[(r#""F": null"#, true), ("", true), (r#""F": "x""#, false)]),
        ("    sel:\n        F: ''\n    condition: sel", &[(r#""F": """#, true), (r#""F": "x""#, false)]),
        // A missing field never matches a string test; `not` of it does.
        ("    sel:\n        F|contains: 'x'\n    condition: not sel", &[("", true), (r#""F": "axb""#, false)]),
        // neq, cased.
        ("    sel:\n        F|neq: a\n    condition: sel", &[(r#""F": "b""#, true), (r#""F": "A""#, false), ("", true)]),
        ("    sel:\n        F|cased: Abc\n    condition: sel", &[(r#""F": "Abc""#, true), (r#""F": "abc""#, false)]),
        ("    sel:\n        F|contains|cased: Abc\n    condition: sel", &[(r#""F": "xAbcx""#, true), (r#""F": "xabcx""#, false)]),
        // re: case-sensitive unanchored search; i, m, s flags.
        ("    sel:\n        F|re: 'a.c'\n    condition: sel", &[(r#""F": "xabcx""#, true), (r#""F": "ABC""#, false)]),
        ("    sel:\n        F|re|i: '^a.c$'\n    condition: sel", &[(r#""F": "ABC""#, true)]),
        ("    sel:\n        F|re|s: '^a.c$'\n    condition: sel", &[(r#""F": "a\nc""#, true)]),
        ("    sel:\n        F|re: '^a.c$'\n    condition: sel", &[(r#""F": "a\nc""#, false)]),
        ("    sel:\n        F|re|m: '^b$'\n    condition: sel", &[(r#""F": "a\nb\nc""#, true)]),
        // cidr, numeric comparisons, exists, fieldref.
        ("    sel:\n        F|cidr: 10.0.0.0/8\n    condition: sel", &[(r#""F": "10.2.3.4""#, true), (r#""F": "110.2.3.4""#, false)]),
        ("    sel:\n        F|cidr: 172.16.0.0/12\n    condition: sel", &[(r#""F": "172.31.0.1""#, true), (r#""F": "172.32.0.1""#, false)]),
        ("    sel:\n        F|cidr: 'fe80::/10'\n    condition: sel", &[(r#""F": "fe80::1""#, true), (r#""F": "fec0::1""#, false)]),
        ("    sel:\n        F|gte: 10\n    condition: sel", &[(r#""F": "10""#, true), (r#""F": 11"#, true), (r#""F": "9""#, false), (r#""F": "x""#, false)]),
        ("    sel:\n        F|lt: 10\n    condition: sel", &[(r#""F": "9.5""#, true), (r#""F": "10""#, false), ("", false)]),
        ("    sel:\n        F|exists: true\n    condition: sel", &[(r#""F": "x""#, true), ("", false)]),
        ("    sel:\n        F|exists: false\n    condition: sel", &[(r#""F": "x""#, false), ("", true)]),
        ("    sel:\n        F|fieldref: G\n    condition: sel", &[(r#""F": "Ab", "G": "aB""#, true), (r#""F": "a", "G": "b""#, false)]),
        ("    sel:\n        F|fieldref|contains: G\n    condition: sel", &[(r#""F": "xaby", "G": "AB""#, true)]),
        // Timestamp parts, read from the ISO 8601 text (Sysmon's space-separated form too).
        ("    sel:\n        T|hour: 3\n    condition: sel", &[
            (r#""T": "2024-05-13T03:04:05Z""#, true), (r#""T": "2024-05-13 03:04:05.123""#, true), (r#""T": "2024-05-13T13:04:05Z""#, false)]),
        ("    sel:\n        T|minute: 4\n        T|month: 5\n        T|day: 13\n        T|year: 2024\n    condition: sel", &[
            (r#""T": "2024-05-13T03:04:05Z""#, true), (r#""T": "2024-05-13T03:05:04Z""#, false), (r#""T": "2023-05-13T03:04:05Z""#, false)]),
        ("    sel:\n        Timestamp|hour: 0\n    condition: sel", &[("", true)]),
        // windash: a dash starting a word is any of - / – — ―.
        ("    sel:\n        F|windash|contains: ' -enc'\n    condition: sel", &[
            (r#""F": "ps /enc x""#, true), (r#""F": "ps –enc x""#, true), (r#""F": "ps —enc""#, true),
            (r#""F": "ps ―enc""#, true), (r#""F": "ps +enc""#, false)]),
        // Encodings.
        ("    sel:\n        F|base64|contains: 'cmd'\n    condition: sel", &[(r#""F": "xxY21kxx""#, true), (r#""F": "cmd""#, false)]),
        ("    sel:\n        F|base64offset|contains: 'IEX (['\n    condition: sel", &[
            (r#""F": "..SUVYIChb..""#, true), (r#""F": "..lFWCAoW..""#, true), (r#""F": "..JRVggKF..""#, true), (r#""F": "IEX""#, false)]),
        ("    sel:\n        F|wide|base64offset|contains: 'cmd'\n    condition: sel", &[
            (r#""F": "..YwBtAGQA..""#, true), (r#""F": "..MAbQBkA..""#, true), (r#""F": "..jAG0AZA..""#, true), (r#""F": "Y21k""#, false)]),
        // Keywords: searched as `*value*` in the logsource's keyword fields.
        ("    keywords:\n        - 'evil'\n        - 'bad*thing'\n    condition: keywords", &[
            (r#""Message": "an EVIL act""#, true), (r#""msg": "a bad old thing""#, true), (r#""Other": "evil""#, false)]),
        ("    keywords:\n        '|all':\n            - 'a1'\n            - 'b2'\n    condition: keywords", &[
            (r#""Message": "a1 b2""#, true), (r#""Message": "a1""#, false)]),
        // Conditions: precedence, `x of`, `them` skips `_` names.
        ("    sel_a:\n        A: 1\n    sel_b:\n        B: 1\n    filter:\n        C: 1\n    condition: 1 of sel_* and not filter", &[
            (r#""B": "1""#, true), (r#""A": "1", "C": "1""#, false), (r#""C": "1""#, false)]),
        ("    sel_a:\n        A: 1\n    sel_b:\n        B: 1\n    _aux:\n        C: 1\n    condition: all of them", &[
            (r#""A": "1", "B": "1""#, true), (r#""A": "1""#, false)]),
        ("    a:\n        A: 1\n    b:\n        B: 1\n    c:\n        C: 1\n    condition: not a and b or c", &[
            (r#""B": "1""#, true), (r#""A": "1", "B": "1""#, false), (r#""A": "1", "C": "1""#, true)]),
        ("    a:\n        A: 1\n    b:\n        B: 1\n    c:\n        C: 1\n    condition: a and (b or c)", &[
            (r#""A": "1", "C": "1""#, true), (r#""C": "1""#, false)]),
        ("    a:\n        A: 1\n    b:\n        B: 1\n    condition:\n        - a\n        - b", &[(r#""B": "1""#, true), ("", false)]),
    ];
    let mut wrong = Vec::new();
    for (det, events) in cases {
        let texts: Vec<&str> = events.iter().map(|e| e.0).collect();
        let got = verdicts(&dir, det, &texts);
        for ((event, want), got) in events.iter().zip(got) {
            if *want != got {
                wrong.push(format!(
                    "{det}\n  event {{{event}}}: want {want}, got {got}"
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// What is not compiled is refused by name, with the reason; the rest of the set runs.
#[test]
fn refusals_are_named() {
    let dir = scratch("refusals");
    let ok = "title: fine\nid: ok-1\nlogsource: {product: test}\ndetection: {sel: {F: a}, condition: sel}\n";
    // A correlation type scry refuses (tests/sigma_correlation.rs has the ones it runs).
    let corr = "title: many\nid: corr-1\ncorrelation:\n    type: value_percentile\n    rules: [ok-1]\n    group-by: [F]\n    timespan: 1h\n    condition: {field: G, gte: 5}\n";
    let bad = "title: odd\nid: bad-1\nlogsource: {product: test}\ndetection: {sel: {F|contians: a, G|nosuch: b}, condition: sel}\n";
    let undefined = "title: undef\nid: undef-1\nlogsource: {product: test}\ndetection: {sel: {F: a}, condition: sel and other}\n";
    std::fs::write(dir.join("ok.yml"), format!("{ok}---\n{corr}")).unwrap();
    std::fs::write(dir.join("bad.yml"), bad).unwrap();
    std::fs::write(dir.join("undefined.yml"), undefined).unwrap();
    // Regexes scry's flavour cannot run: a look-behind, and one past the compiled-size limit.
    let behind = "title: behind\nid: rx-1\nlogsource: {product: test}\ndetection: {sel: {F|re: \"(?<=a)b\"}, condition: sel}\n";
    let huge = "title: huge\nid: rx-2\nlogsource: {product: test}\ndetection: {sel: {F|re: \"(?:\\\\p{L}{1,100}){1,100}\"}, condition: sel}\n";
    std::fs::write(dir.join("behind.yml"), behind).unwrap();
    std::fs::write(dir.join("huge.yml"), huge).unwrap();
    let out = util::scry(&["check", "--rules", dir.to_str().unwrap()]);
    let err = util::stderr(&out);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains("many: value_percentile correlations are not supported"),
        "{err}"
    );
    assert!(
        err.contains("bad.yml:4:19: odd: unknown modifier `contians` (did you mean `contains`?)"),
        "{err}"
    );
    assert!(
        err.contains("undef: search identifier `other` is not defined"),
        "{err}"
    );
    assert!(
        err.contains("behind.yml:4:25: behind: the regex is outside scry's flavour: error: look-around, including look-ahead and look-behind, is not supported"),
        "{err}"
    );
    assert!(
        err.contains("huge.yml:4:25: huge: the regex is outside scry's flavour: Compiled regex exceeds size limit"),
        "{err}"
    );
    assert!(
        err.contains("sigma: 6 rule(s), 1 compiled, 5 refused"),
        "{err}"
    );
    // Positions point into the files.
    assert!(err.contains("ok.yml:9:11: many:"), "{err}");
}

/// A Sigma process_creation rule runs over a Defender export through the mapping file.
#[test]
fn defender_rows_are_judged_by_the_defender_target() {
    let dir = scratch("defender");
    let rule = "title: whoami\nid: w-1\nlogsource: {product: windows, category: process_creation}\n\
                detection:\n    sel:\n        Image|endswith: '\\cmd.exe'\n        CommandLine|contains: whoami\n    condition: sel\n";
    std::fs::write(dir.join("rule.yml"), rule).unwrap();
    let events = [
        r#"{"Type": "DeviceProcessEvents", "Timestamp": "2024-01-01T00:00:00Z", "FolderPath": "C:\\Windows\\System32\\cmd.exe", "ProcessCommandLine": "cmd /c WHOAMI /all"}"#,
        r#"{"Type": "DeviceProcessEvents", "Timestamp": "2024-01-01T00:00:01Z", "FolderPath": "C:\\Windows\\System32\\cmd.exe", "ProcessCommandLine": "cmd /c dir"}"#,
    ];
    std::fs::write(dir.join("export.jsonl"), events.join("\n") + "\n").unwrap();
    let out = util::scry(&[
        "run",
        "--rules",
        dir.join("rule.yml").to_str().unwrap(),
        "--format",
        "ndjson",
        dir.join("export.jsonl").to_str().unwrap(),
    ]);
    let stdout = util::stdout(&out);
    assert!(out.status.success(), "{}", util::stderr(&out));
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    assert!(stdout.contains("2024-01-01T00:00:00"), "{stdout}");
}

/// `scry import sigma` writes what runs: the imported pack, with its column file, has the
/// plan the Sigma files have.
#[test]
fn import_round_trip_gives_the_same_plan() {
    let dir = scratch("import");
    for folder in [
        "rules/sigma/rules/windows/registry/registry_delete",
        "rules/sigma/rules/windows/dns_query",
    ] {
        let out_dir = dir.join(folder.rsplit('/').next().unwrap());
        let out = util::scry(&[
            "import",
            "sigma",
            folder,
            "--out",
            out_dir.to_str().unwrap(),
        ]);
        assert!(out.status.success(), "{}", util::stderr(&out));
        let direct = util::scry(&["explain", "--rules", folder]);
        let imported = util::scry(&[
            "explain",
            "--schema",
            out_dir.join("sigma-columns.json").to_str().unwrap(),
            "--rules",
            out_dir.to_str().unwrap(),
        ]);
        assert!(imported.status.success(), "{}", util::stderr(&imported));
        let (a, b) = (util::stdout(&direct), util::stdout(&imported));
        assert!(a.contains("plan: "), "{a}");
        assert_eq!(a, b, "{folder}");
    }
}

/// A filter document suppresses the rules it names, counted as a named exclusion; a filter
/// for another logsource or another rule leaves a rule alone.
#[test]
fn filters_become_named_exclusions() {
    let dir = scratch("filters");
    let rule = "title: Cmd\nid: r-1\nlogsource: {product: test}\ndetection: {sel: {F|contains: cmd}, condition: sel}\n";
    let other = "title: Other\nid: r-2\nlogsource: {product: test}\ndetection: {sel: {F|contains: cmd}, condition: sel}\n";
    let filter = "title: Admin tooling\ndescription: adm_ accounts run cmd all day\nlogsource: {product: test}\n\
                  filter:\n    rules: [r-1]\n    selection:\n        User|startswith: 'adm_'\n    condition: selection\n";
    let elsewhere = "title: Elsewhere\nlogsource: {product: other}\nfilter:\n    rules: [r-2]\n    selection: {User: x}\n    condition: selection\n";
    std::fs::write(dir.join("rule.yml"), rule).unwrap();
    std::fs::write(dir.join("other.yml"), other).unwrap();
    std::fs::write(dir.join("mf_admin.yml"), filter).unwrap();
    std::fs::write(dir.join("mf_elsewhere.yml"), elsewhere).unwrap();
    let events = [
        r#"{"Type": "Sigma_test", "Timestamp": "2024-01-01T00:00:00Z", "F": "cmd.exe", "User": "ADM_bob"}"#,
        r#"{"Type": "Sigma_test", "Timestamp": "2024-01-01T00:00:01Z", "F": "cmd.exe", "User": "alice"}"#,
        r#"{"Type": "Sigma_test", "Timestamp": "2024-01-01T00:00:02Z", "F": "cmd.exe", "User": "x"}"#,
    ];
    std::fs::write(dir.join("events.jsonl"), events.join("\n") + "\n").unwrap();
    let out = util::scry(&[
        "run",
        "--rules",
        dir.to_str().unwrap(),
        "--format",
        "ndjson",
        dir.join("events.jsonl").to_str().unwrap(),
    ]);
    let err = util::stderr(&out);
    assert!(out.status.success(), "{err}");
    let rows: Vec<serde_json::Value> = util::stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let of = |id: &str| rows.iter().filter(|r| r["rule"] == id).count();
    assert_eq!((of("r-1"), of("r-2")), (2, 3), "{rows:?}\n{err}");
    assert!(err.contains("2 filter(s)"), "{err}");
    assert!(err.contains("1 suppressed"), "{err}");
}

/// `service: sysmon` reads every Sysmon event, those `sysmon-mapping.json` delivers as Defender
/// tables (EID 1 as DeviceProcessEvents) included.
#[test]
fn sysmon_service_sees_mapped_events() {
    let dir = scratch("sysmon");
    let rule = "title: eid1\nid: s-1\nlogsource: {product: windows, service: sysmon}\n\
                detection:\n    sel:\n        EventID: 1\n        Image|endswith: '\\bitsadmin.exe'\n    condition: sel\n";
    std::fs::write(dir.join("rule.yml"), rule).unwrap();
    let evtx = "tests/data/sigma/regression_data/rules/windows/process_creation/proc_creation_win_bitsadmin_download/d059842b-6b9d-4ed1-b5c3-5b89143c6ede.evtx";
    for input in [evtx.to_string(), evtx.replace(".evtx", ".json")] {
        let n = matches(&dir.join("rule.yml"), "s-1", Path::new(&input)).unwrap();
        assert_eq!(n, 1, "{input}");
    }
}

/// `process_creation` also reads Security 4688 events (the optional target of the mapping):
/// `Image` is `NewProcessName` there; a rule reading a field 4688 lacks is not lowered on it.
#[test]
fn process_creation_reads_security_4688() {
    let dir = scratch("4688");
    let rule = "title: whoami\nid: p-1\nlogsource: {product: windows, category: process_creation}\n\
                detection:\n    sel:\n        Image|endswith: '\\whoami.exe'\n        ParentImage|endswith: '\\cmd.exe'\n    condition: sel\n";
    let with_hash = "title: hashed\nid: p-2\nlogsource: {product: windows, category: process_creation}\n\
                detection:\n    sel:\n        Image|endswith: '\\whoami.exe'\n        Hashes|contains: 'IMPHASH='\n    condition: sel\n";
    std::fs::write(dir.join("rule.yml"), rule).unwrap();
    std::fs::write(dir.join("hashed.yml"), with_hash).unwrap();
    let event = r##"{"Event": {"System": {"Provider": {"#attributes": {"Name": "Microsoft-Windows-Security-Auditing"}}, "EventID": 4688, "TimeCreated": {"#attributes": {"SystemTime": "2025-01-01T00:00:00Z"}}, "EventRecordID": 7, "Channel": "Security", "Computer": "pc"}, "EventData": {"NewProcessName": "C:\\Windows\\System32\\whoami.exe", "ParentProcessName": "C:\\Windows\\System32\\cmd.exe", "CommandLine": "whoami /all"}}}"##;
    let input = dir.join("security.json");
    std::fs::write(&input, format!("{event}\n")).unwrap();
    assert_eq!(matches(&dir.join("rule.yml"), "p-1", &input).unwrap(), 1);
    assert_eq!(matches(&dir.join("hashed.yml"), "p-2", &input).unwrap(), 0);
}

/// `expand`: placeholders take their values from `--placeholders`, each a pattern, OR-ed;
/// without them the rule is refused by name (the specification: a tool that cannot fill
/// placeholders must reject the rule).
#[test]
fn placeholders_expand_or_refuse() {
    let dir = scratch("placeholders");
    let rule = "title: admins\nid: e-1\nlogsource: {product: test}\n\
                detection:\n    sel:\n        User|expand: '%admins%'\n        Host|expand: 'srv-%site%\\%'\n    condition: sel\n";
    std::fs::write(dir.join("rule.yml"), rule).unwrap();
    std::fs::write(
        dir.join("values.json"),
        r#"{"admins": ["adm_*", "root"], "site": "par"}"#,
    )
    .unwrap();
    let events = [
        r#"{"Type": "Sigma_test", "Timestamp": "2024-01-01T00:00:00Z", "User": "ADM_bob", "Host": "srv-par%"}"#,
        r#"{"Type": "Sigma_test", "Timestamp": "2024-01-01T00:00:01Z", "User": "root", "Host": "srv-par%"}"#,
        r#"{"Type": "Sigma_test", "Timestamp": "2024-01-01T00:00:02Z", "User": "bob", "Host": "srv-par%"}"#,
        r#"{"Type": "Sigma_test", "Timestamp": "2024-01-01T00:00:03Z", "User": "root", "Host": "srv-lon%"}"#,
    ];
    std::fs::write(dir.join("events.jsonl"), events.join("\n") + "\n").unwrap();
    let run = |extra: &[&str]| {
        let mut args = vec!["run", "--rules"];
        let rule = dir.join("rule.yml");
        let input = dir.join("events.jsonl");
        args.push(rule.to_str().unwrap());
        args.extend_from_slice(extra);
        args.extend(["--format", "ndjson", input.to_str().unwrap()]);
        let out = util::scry(&args);
        (util::stdout(&out), util::stderr(&out))
    };
    let values = dir.join("values.json");
    let (out, err) = run(&["--placeholders", values.to_str().unwrap()]);
    assert_eq!(out.lines().count(), 2, "{out}\n{err}");
    assert!(
        out.contains("00:00:00") && out.contains("00:00:01"),
        "{out}"
    );
    let (out, err) = run(&[]);
    assert_eq!(out, "");
    assert!(
        err.contains("admins: the `expand` placeholder has no values (give them with --placeholders): %admins%"),
        "{err}"
    );
}

/// Sysmon writes `LogonId` as hexadecimal text (`"0x2C5BE8"`) where DeviceProcessEvents has a
/// number: the cell reads as that number (not null), and a rule's `LogonId: '0x3e7'` compares
/// as 999. SigmaHQ's WmiPrvSE rule keeps the user's process and filters SYSTEM's and the one
/// without a LogonId.
#[test]
fn hexadecimal_logon_ids_read_as_numbers() {
    let dir = scratch("logonid");
    let rule = "rules/sigma/rules/windows/process_creation/proc_creation_win_wmiprvse_spawning_process.yml";
    let event = |n: u32, logon: &str| {
        format!(
            r#"{{"EventID":1,"Channel":"Microsoft-Windows-Sysmon/Operational","Computer":"pc","EventRecordID":{n},"TimeCreated":"2026-11-02T08:00:0{n}Z","ProcessId":4{n},"Image":"C:\\Windows\\System32\\cmd.exe","CommandLine":"cmd /c whoami","User":"CORP\\bob"{logon},"ParentProcessId":12,"ParentImage":"C:\\Windows\\System32\\wbem\\WmiPrvSE.exe"}}"#
        )
    };
    let lines = [
        event(1, r#","LogonId":"0x2C5BE8""#),
        event(2, r#","LogonId":"0x3E7""#),
        event(3, ""),
    ];
    let input = dir.join("sysmon.jsonl");
    std::fs::write(&input, lines.join("\n") + "\n").unwrap();
    let ids: Vec<String> = results(Path::new(rule), &input)
        .unwrap()
        .iter()
        .map(|v| format!("{} {}", v["Timestamp"], v["LogonId"]))
        .collect();
    assert_eq!(ids, [r#""2026-11-02T08:00:01.0000000Z" 2907112"#]);
}

/// A Sigma rule reading a field named like one every result row starts with (auditd's
/// `name`) outputs it as `name1`, as KQL names a clashing column: no duplicate key in the
/// ndjson, no warning about a name the rule's author never chose.
#[test]
fn a_read_field_named_like_a_result_field_is_output_as_name1() {
    let dir = scratch("name1");
    let rule = "rules/sigma/rules/linux/auditd/lnx_auditd_keylogging_with_pam_d.yml";
    let input = dir.join("auditd.jsonl");
    std::fs::write(
        &input,
        "{\"Type\":\"Sigma_linux_auditd\",\"Timestamp\":\"2024-01-01T00:00:00Z\",\"type\":\"PATH\",\"name\":\"/etc/pam.d/system-auth\"}\n",
    )
    .unwrap();
    let out = util::scry(&[
        "run",
        "--rules",
        rule,
        "--format",
        "ndjson",
        input.to_str().unwrap(),
    ]);
    let err = util::stderr(&out);
    assert!(out.status.success(), "{err}");
    assert!(!err.contains("W0205"), "{err}");
    let row: serde_json::Value = serde_json::from_str(util::stdout(&out).trim()).unwrap();
    assert_eq!(row["name"], "lnx_auditd_keylogging_with_pam_d", "{row}");
    assert_eq!(row["name1"], "/etc/pam.d/system-auth", "{row}");
}

/// On Defender rows Sigma's `Hashes` is built from the hash columns (`SHA1=..,MD5=..,SHA256=..`);
/// a `contains` of `MD5=<hex>` is guarded by a scan of the columns for the hex, which must
/// not change a verdict: not for a hex in another algorithm's column, not for one written in
/// another case, not for a column that holds the whole needle, label included.
#[test]
fn hashes_on_defender_rows_keep_their_verdicts_behind_the_column_guard() {
    let dir = scratch("hashes");
    let rule = dir.join("hashes.yml");
    std::fs::write(
        &rule,
        "title: Known hashes\nid: 5a1c9d7e-3b1f-4c55-9a63-0f2d8e4b7c11\nstatus: test\n\
         logsource:\n  category: process_creation\n  product: windows\n\
         detection:\n  selection:\n    Hashes|contains:\n\
         \x20     - 'MD5=f741f25ac909ee434e50812d436c73ff'\n\
         \x20     - 'SHA256=90fd5b855b5107e7abaaefb6e658f50d5d6e08ac28e35f31d8b03dcabf77872b'\n\
         \x20 condition: selection\nlevel: high\n",
    )
    .unwrap();
    let row = |id: u32, sha1: &str, md5: &str, sha256: &str| {
        format!(
            r#"{{"Type":"DeviceProcessEvents","Timestamp":"2026-11-02T08:00:0{id}Z","DeviceId":"d","DeviceName":"pc","ReportId":{id},"FileName":"x.exe","FolderPath":"C:\\x.exe","ProcessCommandLine":"x","SHA1":"{sha1}","MD5":"{md5}","SHA256":"{sha256}"}}"#
        )
    };
    let md5 = "f741f25ac909ee434e50812d436c73ff";
    let sha256 = "90fd5b855b5107e7abaaefb6e658f50d5d6e08ac28e35f31d8b03dcabf77872b";
    let lines = [
        // 1: the MD5, in upper case: a match.
        row(1, "aa", &md5.to_uppercase(), "bb"),
        // 2: the needle, label and all, inside the SHA1 column: the list holds it.
        row(2, &format!("junkMD5={md5}"), "cc", "dd"),
        // 3: one digit short: no match.
        row(3, "aa", &md5[..31], "bb"),
        // 4: a longer MD5 column that starts with it: the list contains the needle.
        row(4, "aa", &format!("{md5}00"), "bb"),
        // 5: the MD5's digits in the SHA256 column: `MD5=` does not precede them.
        row(5, "aa", "bb", md5),
        // 6: the SHA256: a match.
        row(6, "aa", "bb", sha256),
        // 7: nothing.
        row(7, "aa", "bb", "cc"),
    ];
    let input = dir.join("defender.jsonl");
    std::fs::write(&input, lines.join("\n") + "\n").unwrap();
    let mut ids: Vec<i64> = results(&rule, &input)
        .unwrap()
        .iter()
        .map(|v| v["ReportId"].as_i64().unwrap())
        .collect();
    ids.sort();
    assert_eq!(ids, [1, 2, 4, 6]);
}
