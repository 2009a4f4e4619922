use super::need::*;
use super::search::has_unicode_escape;
use crate::{kql, TablePlan};

fn anchor_of(needle: &str) -> Option<String> {
    let tp = TablePlan::default();
    let scope = Scope {
        tp: &tp,
        structure: &Structure::of_lines("processintegritylevel\n"),
        sets: None,
        synthesized: &[],
    };
    scope.anchor_of(needle).map(|a| a.text)
}

#[test]
fn anchors_avoid_escapes_non_ascii_and_fold_targets() {
    assert_eq!(
        anchor_of("Krämer IT Solutions GmbH").as_deref(),
        Some("mer IT Solutions GmbH")
    );
    assert_eq!(anchor_of("server-eye.de").as_deref(), Some("server-eye.de"));
    // `/` may be written `\/`, `"` as `\"`.
    assert_eq!(anchor_of("a/bcd/ef").as_deref(), Some("bcd"));
    assert_eq!(anchor_of(r#"ab"cdef"#).as_deref(), Some("cdef"));
    assert_eq!(anchor_of("ÄÖ"), None);
    assert_eq!(anchor_of("ab"), None);
    // A run every process event holds (inside a column name) loses to a shorter one.
    assert_eq!(anchor_of("Level/Agentx").as_deref(), Some("Agentx"));
}

#[test]
fn needles_without_ascii_runs_are_anchored_in_every_case_spelling() {
    let tp = TablePlan::default();
    let scope = Scope {
        tp: &tp,
        structure: &Structure::of_lines(""),
        sets: None,
        synthesized: &[],
    };
    let of = |n: &str| -> Option<Vec<String>> {
        let mut v: Vec<String> = scope.anchors_of(n)?.into_iter().map(|a| a.text).collect();
        v.sort();
        Some(v)
    };
    // CJK has no case: the whole needle, once.
    assert_eq!(
        of("上海贝锐信息科技股份有限公司"),
        Some(vec!["上海贝锐信息科技股份有限公司".to_string()])
    );
    // An ASCII run still wins (the snapshots of every pack's plan keep their anchors).
    assert_eq!(of("Krämer IT"), Some(vec!["mer IT".to_string()]));
    // Greek: both cases of each letter; final sigma shares σ's class.
    let v = of("Σα").unwrap();
    for s in ["Σα", "σα", "ςα", "ΣΑ", "σΑ", "ςΑ"] {
        assert!(v.contains(&s.to_string()), "{s} in {v:?}");
    }
    assert_eq!(v.len(), 6);
    // Every variant folds as the needle does.
    for n in ["Общество", "ΣΑΣ ΑΒ", "Krä", "ä€"] {
        for a in of(n).unwrap() {
            assert!(kql::fold(n).contains(&kql::fold(&a)), "{a} of {n}");
        }
    }
    // Too many spellings for the whole run: a window within the budget.
    let v = of("Общество").unwrap();
    assert!(v.len() <= MAX_VARIANTS && v[0].chars().count() < 8, "{v:?}");
    // `/` and `"` still end a run; a needle too short has none.
    assert_eq!(of("ä/ö"), None);
    assert_eq!(of("ä"), None);
    assert_eq!(of("ä").is_none(), of("Ä").is_none());
    // The Kelvin sign's class holds ASCII `k`, searched case-insensitively.
    assert!(case_class('\u{212A}').contains(&'k'));
    assert!(case_class('K').len() == 1);
}

#[test]
fn the_characters_folding_to_ascii_are_found_from_the_table() {
    let found: Vec<char> = folds_to_ascii()
        .iter()
        .filter_map(|s| s.chars().next())
        .collect();
    assert!(found.contains(&'\u{212A}'), "Kelvin sign: {found:?}");
    assert!(found.contains(&'\u{017F}'), "long s: {found:?}");
}

#[test]
fn unicode_escapes_are_told_from_escaped_backslashes() {
    assert!(has_unicode_escape(br#"{"a":"Kr\u00e4mer"}"#));
    assert!(!has_unicode_escape(br#"{"a":"C:\\users"}"#));
    assert!(has_unicode_escape(br#"{"a":"C:\\\u0041"}"#));
    assert!(!has_unicode_escape(br#"{"a":"x\\"}"#));
}

/// The invalid-UTF-8 marks against `from_utf8` alone (the walk without `simdutf8`'s check
/// first), over texts of ASCII, valid multi-byte characters and stray bytes, short and long
/// (`simdutf8` takes SIMD blocks of 64 bytes).
#[test]
fn invalid_utf8_marks_are_from_utf8s() {
    use proptest::prelude::*;
    let part = prop::sample::select(vec![
        &b"{\"a\":\"b\"}"[..],
        b"x",
        "ä".as_bytes(),
        "€".as_bytes(),
        "😀".as_bytes(),
        b"\xff",
        b"\xc3",
        b"\xe2\x82",
        b"\xf0\x9f\x98",
        b"\x80",
        b"0123456789abcdef0123456789abcdef",
    ]);
    let text = prop::collection::vec(part, 0..80).prop_map(|v| v.concat());
    proptest!(ProptestConfig::with_cases(2000), |(t in text)| {
        let mut want = Vec::new();
        let mut at = 0;
        while let Err(e) = std::str::from_utf8(&t[at..]) {
            let bad = at + e.valid_up_to();
            want.push(bad);
            at = bad + e.error_len().unwrap_or(t.len() - bad).max(1);
            if at >= t.len() {
                break;
            }
        }
        let mut got = Vec::new();
        super::invalid_utf8(&t, &mut got);
        prop_assert_eq!(got, want);
    });
}

/// A prefilter whose anchors may not hold on a Windows event's mapped row (here a value start,
/// `"Signer":"Contoso`) marks the lines holding a Windows event's key itself, so the reader
/// needs no pass of its own for them; lines with neither stay unmarked.
#[test]
fn windows_keys_are_marked_when_anchors_do_not_cover_windows_events() {
    use crate::compile::{compile, Sources};
    use crate::schema::Catalog;
    use std::sync::Arc;
    let mut sources = Sources::default();
    sources.add(
        "r.scry",
        r#"rule r { id "1" from DeviceFileCertificateInfo where Signer == 'Contoso Ltd' }"#,
    );
    let compiled = compile(&sources, Arc::new(Catalog::builtin()));
    assert!(!compiled.has_errors(), "{:?}", compiled.diagnostics);
    let plan = crate::Plan::new(compiled.rules);
    let p = super::Prefilter::build(&plan, None, false);
    let super::Prefilter::On(a) = &p else {
        panic!("{p}");
    };
    assert!(!a.windows, "{p}");
    assert!(p.covers_windows());
    for key in super::WINDOWS_KEYS {
        let line = format!("{{{key}:\"x\",\"Other\":1}}\n");
        let piece = format!("{{\"Type\":\"DeviceProcessEvents\"}}\n{line}");
        let marks = p.marks(piece.as_bytes()).unwrap();
        let start = piece.len() - line.len();
        assert!(marks.iter().any(|&m| m >= start), "{key}: {marks:?}");
        assert!(marks.iter().all(|&m| m >= start), "{key}: {marks:?}");
        assert!(p.candidate(line.trim_end().as_bytes()), "{key}");
    }
}
