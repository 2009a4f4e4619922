//! Parser fixtures: every `tests/fixtures/valid/*.scry` must parse, and its AST is
//! snapshotted; every `tests/fixtures/invalid/*.scry` must fail, and its rendered errors are
//! snapshotted. Adding a case means adding a file (then `INSTA_UPDATE=always cargo test`
//! and a review of the new snapshot).

use std::path::{Path, PathBuf};

fn scry_files(dir: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(dir);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "scry"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no fixtures in {}", dir.display());
    files
}

fn name(path: &Path) -> String {
    path.file_stem().unwrap().to_string_lossy().into_owned()
}

fn settings(path: &Path) -> insta::Settings {
    let mut s = insta::Settings::clone_current();
    s.set_snapshot_path("fixtures/snapshots");
    s.set_prepend_module_to_snapshot(false);
    s.set_input_file(path);
    s
}

#[test]
fn valid_fixtures_parse() {
    for path in scry_files("valid") {
        let source = std::fs::read_to_string(&path).unwrap();
        let file = match scry_grammar::parse_file(&source) {
            Ok(file) => file,
            Err(errors) => {
                let rendered: String = errors
                    .iter()
                    .map(|e| scry_grammar::render_plain(&name(&path), &source, e))
                    .collect();
                panic!("{} should parse:\n{rendered}", path.display());
            }
        };
        settings(&path).bind(|| {
            insta::assert_debug_snapshot!(format!("valid__{}", name(&path)), file);
        });
    }
}

#[test]
fn invalid_fixtures_fail() {
    for path in scry_files("invalid") {
        let source = std::fs::read_to_string(&path).unwrap();
        let file_name = format!("{}.scry", name(&path));
        let errors = match scry_grammar::parse_file(&source) {
            Ok(_) => panic!("{} should not parse", path.display()),
            Err(errors) => errors,
        };
        let rendered: String = errors
            .iter()
            .map(|e| scry_grammar::render_plain(&file_name, &source, e))
            .collect::<Vec<_>>()
            .join("\n");
        settings(&path).bind(|| {
            insta::assert_snapshot!(format!("invalid__{}", name(&path)), rendered);
        });
    }
}

/// Every code in `codes::ALL` is exercised by at least one invalid fixture.
#[test]
fn every_code_has_an_invalid_fixture() {
    let mut seen = std::collections::BTreeSet::new();
    for path in scry_files("invalid") {
        let source = std::fs::read_to_string(&path).unwrap();
        if let Err(errors) = scry_grammar::parse_file(&source) {
            seen.extend(errors.iter().map(|e| e.code));
        }
    }
    for (code, what) in scry_grammar::codes::ALL {
        assert!(
            seen.contains(code),
            "no invalid fixture triggers {code} ({what})"
        );
    }
}

/// Spans are tight: no node's span starts or ends with whitespace or a comment's text.
#[test]
fn spans_are_tight() {
    for path in scry_files("valid") {
        let source = std::fs::read_to_string(&path).unwrap();
        let Ok(file) = scry_grammar::parse_file(&source) else {
            continue;
        };
        let debug = format!("{file:?}");
        let mut rest = debug.as_str();
        while let Some(i) = rest.find("Span { start: ") {
            rest = &rest[i + "Span { start: ".len()..];
            let start: usize = rest[..rest.find(',').unwrap()].parse().unwrap();
            let j = rest.find("end: ").unwrap() + "end: ".len();
            let end: usize = rest[j..rest[j..].find(' ').unwrap() + j].parse().unwrap();
            let text = &source[start..end];
            assert!(
                text.is_empty() || (text.trim() == text),
                "{}: span {start}..{end} is not tight: {text:?}",
                path.display()
            );
        }
    }
}
