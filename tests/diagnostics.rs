//! A folder of invalid (or suspicious) rule files, each snapshotted with what `scry check`
//! prints. Adding a case means adding a file to `tests/data/invalid/`.

use crate::util;

#[test]
fn invalid_rule_files_are_diagnosed() {
    let files = util::files(&util::path("tests/data/invalid"), "scry");
    assert!(files.len() >= 5, "too few invalid fixtures");
    for f in files {
        let rel = f.strip_prefix(util::root()).unwrap().display().to_string();
        let out = util::scry(&["check", "--rules", &rel]);
        let text = format!("exit: {:?}\n{}", out.status.code(), util::stderr(&out));
        let name = f.file_stem().unwrap().to_string_lossy().into_owned();
        insta::assert_snapshot!(format!("invalid_{name}"), text);
    }
}

#[test]
fn the_seed_exclusions_verbatim_are_flagged() {
    let out = util::scry(&[
        "check",
        "--rules",
        "tests/data/invalid/seed_exclusions_verbatim.scry",
    ]);
    let err = util::stderr(&out);
    // W0200: the first seed filter suppresses nearly every event.
    assert!(err.contains("W0200"), "{err}");
    assert!(err.contains("suppresses nearly every event"), "{err}");
    // W0201: process.* and file.path do not exist in DeviceFileCertificateInfo.
    assert!(err.contains("W0201"), "{err}");
    assert!(
        err.contains("DeviceFileCertificateInfo does not have"),
        "{err}"
    );
}

/// Issue 12 item 4: `IsSigned hass 'x'` after a `where` was read as the metadata pair
/// `hass 'x'` (only W0202), so `check` and `test` passed a rule that meant something else.
#[test]
fn a_misspelled_operator_is_an_error_not_metadata() {
    let rules = "tests/data/invalid/operator_typo_becomes_metadata.scry";
    for cmd in ["check", "test"] {
        let out = util::scry(&[cmd, "--rules", rules]);
        let err = util::stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{cmd}: {err}");
        assert!(err.contains("E0013"), "{cmd}: {err}");
        assert!(err.contains("unknown operator `hass`"), "{cmd}: {err}");
        assert!(err.contains("did you mean `has`?"), "{cmd}: {err}");
        assert!(!err.contains("W0202"), "{cmd}: {err}");
    }
}

/// Issue 12 item 4: `join` and `sequence` are "not supported yet" at their position, not a
/// confusing parse error further on (or a metadata pair).
#[test]
fn join_is_not_supported_yet_and_eql_sequence_syntax_is_pointed_at() {
    let out = util::scry(&[
        "check",
        "--rules",
        "tests/data/invalid/join_not_supported.scry",
    ]);
    let err = util::stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    // Semi and anti joins on one string key are; the rest is refused by kind and key.
    assert!(err.contains("E0140"), "{err}");
    assert!(
        err.contains("`join kind=fullouter` is not supported yet"),
        "{err}"
    );
    assert!(err.contains("join_not_supported.scry:4:13"), "{err}");
    assert!(
        err.contains("a join on `ProcessId` (long in DeviceProcessEvents)"),
        "{err}"
    );
    assert!(
        err.contains("a join on several keys is not supported yet"),
        "{err}"
    );
    let dir = std::env::temp_dir().join(format!("scry-seq-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let f = dir.join("seq.scry");
    std::fs::write(
        &f,
        "rule steps {\n  id \"s\"\n  sequence by DeviceId [DeviceProcessEvents]\n}\n",
    )
    .unwrap();
    let out = util::scry(&["check", "--rules", f.to_str().unwrap()]);
    let err = util::stderr(&out);
    std::fs::remove_dir_all(&dir).ok();
    assert_eq!(out.status.code(), Some(2), "{err}");
    // EQL's `sequence by K [...]` is not scry's `sequence within T by K { step ... }`.
    assert!(err.contains("expected `unordered` or `within`"), "{err}");
    assert!(err.contains("seq.scry:3:12"), "{err}");
}

/// The import and export codes (`E03xx`, `W03xx` in engine/compile/src/diag.rs) each have a
/// row in docs/language.md's table: a new code cannot ship undocumented.
#[test]
fn import_and_export_codes_are_documented() {
    let codes = std::fs::read_to_string(util::path("engine/compile/src/diag.rs")).unwrap();
    let docs = std::fs::read_to_string(util::path("docs/language.md")).unwrap();
    let mut seen = 0;
    for part in codes.split('"').skip(1).step_by(2) {
        let is_code = part.len() == 5
            && (part.starts_with("E03") || part.starts_with("W03"))
            && part[1..].bytes().all(|b| b.is_ascii_digit());
        if is_code {
            assert!(
                docs.contains(&format!("| {part} |")),
                "{part} is not in docs/language.md"
            );
            seen += 1;
        }
    }
    assert!(seen >= 14, "{seen}");
}

/// Issue 13 item 6: each lint of the rules over several events fires on its case, once, and
/// on none of the near misses.
#[test]
fn multi_event_lints_fire_on_their_cases_only() {
    let out = util::scry(&[
        "check",
        "--rules",
        "tests/data/invalid/multi_event_lints.scry",
    ]);
    let err = util::stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    for (code, n) in [
        ("W0400", 2),
        ("W0402", 3),
        ("W0403", 1),
        ("W0404", 1),
        ("W0406", 1),
        ("W0407", 1),
        ("W0408", 3),
        ("W0409", 2),
    ] {
        let found = err.matches(&format!("warning[{code}]")).count();
        assert_eq!(found, n, "{code}: {err}");
    }
    assert!(err.contains("14 warning(s)"), "{err}");
    assert!(
        err.contains("this step has an event at every row whose last 5m holds count() <= 2"),
        "{err}"
    );
    let out = util::scry(&[
        "check",
        "--rules",
        "tests/data/lints/multi_event_clean.scry",
    ]);
    let err = util::stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(err.contains("0 warning(s)"), "{err}");
}
