//! `scry fmt`: every pack in `rules/` is formatted, the formatter is idempotent, it restores a
//! pack's layout from a de-indented copy, and the compiled plan is the same before and after.

use crate::util;
use scry_engine::compile::{self, Sources};
use scry_engine::plan::Plan;
use scry_engine::schema::Catalog;
use scry_grammar::fmt::format;
use std::path::PathBuf;
use std::sync::Arc;

fn plan_text(name: &str, text: &str) -> String {
    let mut sources = Sources::default();
    sources.add(name, text.to_string());
    let compiled = compile::compile(&sources, Arc::new(Catalog::builtin()));
    assert!(
        compiled
            .diagnostics
            .iter()
            .all(|d| d.severity < scry_engine::diag::Severity::Error),
        "{name}: {:#?}",
        compiled.diagnostics
    );
    format!("{}", Plan::new(compiled.rules))
}

/// The pack with every line's indentation taken away and runs of spaces after commas doubled
/// outside comments: what the formatter has to undo. (No pack has multi-line strings or
/// events, whose text this would change.)
fn scramble(text: &str) -> String {
    let mut out = String::new();
    for line in text.lines() {
        let line = line.trim_start();
        if line.contains("//") || line.contains('"') || line.contains('\'') {
            out.push_str(line);
        } else {
            out.push_str(&line.replace(", ", " ,  ").replace(" = ", "="));
        }
        out.push('\n');
    }
    out
}

/// Equal texts, or a failure naming the first line that differs (packs are long).
fn same(got: &str, want: &str, what: &str) {
    if got != want {
        let (n, (g, w)) = got
            .lines()
            .zip(want.lines())
            .enumerate()
            .find(|(_, (g, w))| g != w)
            .unwrap_or((0, ("<length>", "<length>")));
        panic!("{what}: line {}:\n got: {g}\nwant: {w}", n + 1);
    }
}

#[test]
fn every_pack_is_formatted_and_formatting_keeps_the_plan() {
    let packs = util::files(&util::path("rules"), "scry");
    assert!(packs.len() > 60, "{}", packs.len());
    for file in packs {
        let rel = file
            .strip_prefix(util::root())
            .unwrap()
            .display()
            .to_string();
        let text = std::fs::read_to_string(&file).unwrap();
        let once = format(&text).unwrap_or_else(|e| panic!("{rel}: {e}"));
        same(
            &once,
            &text,
            &format!("{rel} is not formatted: run `scry fmt {rel}`"),
        );
        let scrambled = scramble(&text);
        assert_ne!(scrambled, text, "{rel}: the scramble changed nothing");
        let restored = format(&scrambled).unwrap_or_else(|e| panic!("{rel}: {e}"));
        same(
            &restored,
            &text,
            &format!("{rel}: formatting a de-indented copy"),
        );
        same(
            &format(&restored).unwrap(),
            &restored,
            &format!("{rel}: idempotent"),
        );
        let plan = plan_text(&rel, &text);
        assert_eq!(plan_text(&rel, &scrambled), plan, "{rel}: scrambled plan");
        assert_eq!(plan_text(&rel, &restored), plan, "{rel}: formatted plan");
    }
}

const MESSY: &str = "// header\nlet   V=('a','b');\nrule r{\n from DeviceProcessEvents\n    where FileName has_any (V)   and FolderPath   contains\"x\"   // why\n}\n";
const TIDY: &str = "// header\nlet V = ('a', 'b');\n\nrule r {\n  from DeviceProcessEvents\n  where FileName has_any (V)  // why\n    and FolderPath contains 'x'\n}\n";

fn scratch(name: &str, text: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("fmt")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let f = dir.join("r.scry");
    std::fs::write(&f, text).unwrap();
    f
}

#[test]
fn check_prints_a_diff_and_exits_1_then_fmt_rewrites_in_place() {
    let f = scratch("check", MESSY);
    let fs = f.to_str().unwrap();
    let out = util::scry(&["fmt", "--check", fs]);
    assert_eq!(out.status.code(), Some(1), "{}", util::stderr(&out));
    let diff = util::stdout(&out);
    assert!(
        diff.contains(&format!("--- a/{}", fs.trim_start_matches('/'))),
        "{diff}"
    );
    assert!(diff.contains("\n-let   V=('a','b');\n"), "{diff}");
    assert!(diff.contains("\n+let V = ('a', 'b');\n"), "{diff}");
    assert!(util::stderr(&out).contains("1 file(s) not formatted"));
    assert_eq!(
        std::fs::read_to_string(&f).unwrap(),
        MESSY,
        "--check writes nothing"
    );

    let out = util::scry(&["fmt", fs]);
    assert!(out.status.success(), "{}", util::stderr(&out));
    assert_eq!(std::fs::read_to_string(&f).unwrap(), TIDY);
    let out = util::scry(&["fmt", "--check", fs]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(util::stdout(&out), "");
}

/// What CI runs (`.ci/run`): every pack, found by walking the folder, is formatted.
#[test]
fn check_over_the_rules_folder_passes() {
    let out = util::scry(&["fmt", "--check", "rules"]);
    assert_eq!(out.status.code(), Some(0), "{}", util::stderr(&out));
    assert_eq!(util::stdout(&out), "");
}

#[test]
fn stdin_is_formatted_to_stdout() {
    use std::io::Write as _;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_scry"))
        .args(["fmt", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(MESSY.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    assert_eq!(String::from_utf8(out.stdout).unwrap(), TIDY);
}

#[test]
fn a_file_that_does_not_parse_is_left_alone_with_its_location() {
    let f = scratch("bad", "rule r {\n  title\n}\n");
    let out = util::scry(&["fmt", f.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = util::stderr(&out);
    assert!(err.contains("r.scry:3:1"), "{err}");
    assert!(err.contains("could not be formatted"), "{err}");
    assert_eq!(
        std::fs::read_to_string(&f).unwrap(),
        "rule r {\n  title\n}\n"
    );
}

#[test]
fn generated_example_blocks_are_formatted() {
    // `scry examples --write` keeps every byte of the file and adds blocks: the result of a
    // formatted file stays formatted.
    let text =
        "rule r {\n  id \"1\"\n  from DeviceNetworkEvents\n  where RemoteUrl has 'a.example'\n}\n";
    let text = format(text).unwrap();
    let f = scratch("examples", &text);
    let out = util::scry(&["examples", "--rules", f.to_str().unwrap(), "--write"]);
    assert!(out.status.success(), "{}", util::stderr(&out));
    let written = std::fs::read_to_string(&f).unwrap();
    assert!(written.contains("examples at"), "{written}");
    assert_eq!(format(&written).unwrap(), written);
}

/// A rule with every clause kind (no examples: comments may not go inside example JSON).
const EVERY_CLAUSE: &str = r#"let Vendors = ('ServerEye', 'Server-Eye');
rule r {
  id "1"
  tactics [CommandAndControl]
  from DeviceProcessEvents
  window 5d
  let Local = from DeviceFileCertificateInfo where Signer has 'x' distinct SHA1;
  where ProcessVersionInfoCompanyName has 'Krämer' and FileName has_any (Vendors, 'a', 'b') and (FolderPath contains 'x' or DeviceName == 'y')
  extend X = tolower(FileName), Y = 2
  except "fp" { description "why" when process.name =~ 'a.exe' and file.path contains "SystemUpdate" }
  except "short" when DeviceName == 'z'
  summarize Count = count(), First = min(Timestamp) by DeviceId, K = tolower(DeviceName)
  having Count > 1
  project DeviceId, Count, Seen = First
  limit 10
}
"#;

/// Byte offsets of the whitespace between tokens of `EVERY_CLAUSE` (outside strings).
fn gaps(src: &str) -> Vec<usize> {
    let mut out = Vec::new();
    let mut quote: Option<char> = None;
    for (i, c) in src.char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '\'' | '"') => quote = Some(c),
            (None, ' ' | '\n') => out.push(i),
            _ => {}
        }
    }
    out
}

proptest::proptest! {
    // 200 cases by default; `PROPTEST_CASES=5000` runs more (`with_cases` would ignore it).
    #![proptest_config(proptest::prelude::ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(200),
        ..proptest::prelude::ProptestConfig::default()
    })]

    /// Comments and line breaks dropped between any tokens: the formatter keeps every comment,
    /// keeps the plan, and its output is a fixed point.
    #[test]
    fn comments_anywhere_are_kept_and_formatting_is_a_fixed_point(
        picks in proptest::collection::vec((0usize..10_000, 0u8..4), 1..8)
    ) {
        let spots = gaps(EVERY_CLAUSE);
        let mut text = EVERY_CLAUSE.to_string();
        let mut chosen: Vec<(usize, u8)> = picks.iter().map(|&(p, k)| (spots[p % spots.len()], k)).collect();
        chosen.sort();
        chosen.dedup_by_key(|(p, _)| *p);
        for (n, &(at, kind)) in chosen.iter().enumerate().rev() {
            let insert = match kind {
                0 => format!(" // trailing {n}\n"),
                1 => format!("\n// own line {n}\n"),
                2 => format!(" /* block {n} */ "),
                _ => "\n\n   ".to_string(),
            };
            text.insert_str(at, &insert);
        }
        let once = format(&text).map_err(|e| proptest::test_runner::TestCaseError::fail(format!("{e}\n{text}")))?;
        proptest::prop_assert_eq!(&format(&once).unwrap(), &once, "not a fixed point:\n{}", text);
        for (n, &(_, kind)) in chosen.iter().enumerate() {
            let want = match kind {
                0 => format!("// trailing {n}"),
                1 => format!("// own line {n}"),
                2 => format!("/* block {n} */"),
                _ => continue,
            };
            proptest::prop_assert!(once.contains(&want), "{} lost:\n{}\n---\n{}", want, text, once);
        }
        proptest::prop_assert_eq!(plan_text("r.scry", &once), plan_text("r.scry", EVERY_CLAUSE));
    }
}
