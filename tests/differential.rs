//! The optimized plan (atoms from the shared Aho-Corasick scan, typed IR) against the plain
//! reference evaluator (AST over one event), on generated events built around the needles;
//! and the prefilter against both: whatever the reference keeps, however the JSON line spells
//! it, the prefilter must let through.

use proptest::prelude::*;
use scry_engine::compile::{self, Sources};
use scry_engine::exec::{row_from_json, Executor, Verdict};
use scry_engine::plan::Plan;
use scry_engine::prefilter::Prefilter;
use scry_engine::reference;
use scry_engine::row::Row;
use scry_engine::schema::{Catalog, Fit};
use std::sync::Arc;

/// Predicates over DeviceProcessEvents covering every operator family.
const PREDICATES: &[&str] = &[
    "FileName has 'Krämer'",
    "FileName has_cs 'Krämer'",
    "FileName !has 'server-eye.de'",
    "FileName hasprefix 'eye'",
    "FileName hassuffix_cs 'Eye'",
    "FileName !hassuffix 'de'",
    "FileName contains 'ä'",
    "FileName !contains_cs 'KR'",
    "FileName startswith 'kr'",
    "FileName endswith_cs '.de'",
    "FileName =~ 'krämer'",
    "FileName !~ 'KRÄMER'",
    "FileName == 'Krämer'",
    "FileName != ''",
    "FileName has_any ('Krämer', 'eye', 'x-y')",
    "FileName has_all ('server', 'eye')",
    "FileName in ('Krämer', 'server-eye.de')",
    "FileName in~ ('KRÄMER', 'SERVER-EYE.DE')",
    "FileName !in~ ('krämer')",
    "FileName matches regex '[Ee]ye\\\\.'",
    "isempty(FileName) or FileName has ''",
    "FileName has 'eye' and not(FolderPath contains 'x')",
    "FolderPath has 'Krämer' or FileName hasprefix 'Ser'",
    "tolower(FileName) has 'krämer'",
    "strlen(FileName) > 5",
    "ProcessId between (10 .. 20)",
    "ProcessId !between (10 .. 20)",
    "ProcessId in (1, 2, 3)",
    "Timestamp between (datetime(2024-05-14) .. 1d)",
    "tostring(split(FolderPath, '\\\\')[1]) =~ 'krämer'",
    // Tests on a value's start: the prefilter anchors them on `"Column":"value`.
    "FileName startswith 'server'",
    "FileName startswith_cs 'Serv'",
    "FileName =~ 'server-eye.de'",
    "FileName in~ ('SERVER-EYE.DE', 'eye')",
    "FolderPath startswith 'Eye' and FileName !has 'x'",
    // Needles with no ASCII run: anchored on their UTF-8 bytes, in every case spelling.
    "FileName has '上海贝锐'",
    "FileName contains 'Σας'",
    "FileName =~ 'ΣΑΣ'",
    "FileName has_cs 'Общество'",
    "FolderPath has_any ('общество', '科技', 'ΣΑΣ')",
    "FileName startswith 'ΣΑ' or FileName in~ ('科技')",
    // Numbers beside needles: the candidate index must not skip a body whose clauses hold.
    "ProcessId == 7",
    "ProcessId == 7 or FileName has 'eye'",
    "(FileName has 'eye' and ProcessId == 3) or (FolderPath contains 'de' and ProcessId in (4, 5))",
    "FileName endswith 'de' and FolderPath has 'server' and ProcessId != 3",
    "FileName contains 'e' and FolderPath contains 'r' and ProcessId in (1, 2, 3, 4, 5, 6, 7)",
    // A missing number compares false, so its negated test holds: atoms under `not`.
    "not(ProcessId == 7) and FileName has 'eye'",
    "FileName has 'eye' and not(ProcessId in (1, 2))",
];

fn text_strategy() -> impl Strategy<Value = String> {
    let pieces = prop::sample::select(vec![
        "Krämer",
        "KRÄMER",
        "krämer",
        "Kra\u{308}mer",
        "server",
        "-",
        "eye",
        "Eye",
        ".",
        "de",
        "X",
        " ",
        "_",
        "\\",
        "ä",
        "Ä",
        "1",
        "",
        "K",
        "ß",
        "ẞ",
        // Fold to ASCII `k` and `s`: the prefilter's ASCII anchors must not miss them.
        "\u{212A}r\u{E4}mer",
        "\u{17F}erver",
        "/",
        "\"",
        "上海贝锐",
        "科技",
        "Σ",
        "σ",
        "ς",
        "α",
        "Α",
        "ΣΑΣ",
        "Общество",
        "ОБЩЕСТВО",
        "обЩество",
    ]);
    prop::collection::vec(pieces, 0..6).prop_map(|v| v.concat())
}

fn event_strategy() -> impl Strategy<Value = serde_json::Value> {
    (
        prop::option::of(text_strategy()),
        text_strategy(),
        prop::option::of(0i64..30),
        prop::option::of(prop::sample::select(vec![
            "2024-05-13T23:59:59.9999999Z",
            "2024-05-14T00:00:00Z",
            "2024-05-15T00:00:00Z",
            "2024-05-15T00:00:00.0000001Z",
        ])),
    )
        .prop_map(|(file, folder, pid, ts)| {
            let mut m = serde_json::Map::new();
            if let Some(f) = file {
                m.insert("FileName".into(), f.into());
            }
            m.insert("FolderPath".into(), folder.into());
            m.insert(
                "ProcessId".into(),
                pid.map_or(serde_json::Value::Null, Into::into),
            );
            if let Some(t) = ts {
                m.insert("Timestamp".into(), t.into());
            }
            serde_json::Value::Object(m)
        })
}

/// One rule per predicate, all in one plan: they share the column scans.
fn predicates_plan() -> (Arc<Catalog>, Plan) {
    let cat = Arc::new(Catalog::builtin());
    let mut src = String::new();
    for (i, p) in PREDICATES.iter().enumerate() {
        src.push_str(&format!(
            "rule r{i} {{ id \"r{i}\" from DeviceProcessEvents where {p} examples {{}} }}\n"
        ));
    }
    let mut sources = Sources::default();
    sources.add("diff.scry", src);
    let compiled = compile::compile(&sources, cat.clone());
    assert!(!compiled.has_errors(), "{:?}", compiled.diagnostics);
    (cat, Plan::new(compiled.rules))
}

fn reference_verdict(pred: &str, event: &serde_json::Value, cat: &Catalog) -> bool {
    let ast = scry_grammar::parse_expr(pred).expect("predicate parses");
    let table = cat.table("DeviceProcessEvents").expect("a built-in table");
    reference::holds_on_json(&ast, table, event, 0)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn plan_agrees_with_reference(events in prop::collection::vec(event_strategy(), 1..8)) {
        let (cat, plan) = predicates_plan();
        let mut ex = Executor::new(&plan, 0, Some("DeviceProcessEvents".into()));
        let fields = ex.fields().clone();
        let mut row = Row::new(&fields);
        for ev in &events {
            row_from_json(&ev.to_string(), &fields, &mut row).unwrap();
            for (i, p) in PREDICATES.iter().enumerate() {
                let got = ex.verdict(&row, i).unwrap() == Verdict::Match;
                let want = reference_verdict(p, ev, &cat);
                prop_assert_eq!(got, want, "predicate `{}` on {}", p, ev);
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// The whole executor path (`process`, which evaluates only the bodies the candidate index
    /// selects) passes exactly the events the reference keeps, rule by rule.
    #[test]
    fn indexed_plan_agrees_with_reference(events in prop::collection::vec(event_strategy(), 1..8)) {
        let (cat, plan) = predicates_plan();
        process_agrees(&plan, &cat, &events)?;
    }

    /// The same with each needle searched on its own (the path taken when a column's
    /// automaton cannot be built).
    #[test]
    fn needles_searched_one_by_one_agree_with_reference(events in prop::collection::vec(event_strategy(), 1..8)) {
        let (cat, plan) = predicates_plan();
        process_agrees(&plan.without_automata(), &cat, &events)?;
    }
}

/// Runs `events` through one executor of `plan`: each predicate's rule passes exactly the
/// events the reference keeps.
fn process_agrees(
    plan: &Plan,
    cat: &Catalog,
    events: &[serde_json::Value],
) -> Result<(), TestCaseError> {
    let mut ex = Executor::new(plan, 0, Some("DeviceProcessEvents".into()));
    let fields = ex.fields().clone();
    let mut row = Row::new(&fields);
    for ev in events {
        row_from_json(&ev.to_string(), &fields, &mut row).unwrap();
        ex.process(&row).unwrap();
    }
    for (i, p) in PREDICATES.iter().enumerate() {
        let want = events
            .iter()
            .filter(|ev| reference_verdict(p, ev, cat))
            .count() as u64;
        prop_assert_eq!(ex.stats.rules[i].passed, want, "predicate `{}`", p);
    }
    Ok(())
}

/// The ways a JSON encoder may spell the same event: as is, every non-ASCII character as
/// `\uXXXX`, `/` as `\/`, and some ASCII letters as `\u00XX` (which splits needles).
fn spellings(ev: &serde_json::Value) -> Vec<String> {
    let plain = ev.to_string();
    let mut ascii = String::new();
    for c in plain.chars() {
        if c.is_ascii() {
            ascii.push(c);
        } else {
            let mut units = [0u16; 2];
            for u in c.encode_utf16(&mut units) {
                ascii.push_str(&format!("\\u{u:04x}"));
            }
        }
    }
    // One non-ASCII character escaped, the others raw: an anchor's bytes are split.
    let mut one = String::new();
    let mut escaped = false;
    for c in plain.chars() {
        if !c.is_ascii() && !escaped {
            let mut units = [0u16; 2];
            for u in c.encode_utf16(&mut units) {
                one.push_str(&format!("\\u{u:04X}"));
            }
            escaped = true;
        } else {
            one.push(c);
        }
    }
    let slashes = plain.replace('/', "\\/");
    let letters = plain.replace('e', "\\u0065").replace('R', "\\u0052");
    // Spacing around the colons: one space (as some encoders write), and more.
    let spaced = plain.replace("\":", "\": ");
    let odd = plain.replace("\":", "\" :  ");
    // Whitespace JSON allows that neither anchor spelling foresees.
    let tabs = plain.replace("\":", "\"\t:\t");
    let two_before = plain.replace("\":", "\"  :");
    let space_cr = plain.replace("\":", "\": \r");
    let cr_before = plain.replace("\":", "\"\r:");
    // A union export's type-suffixed columns, read as their column.
    let union = plain
        .replace("\"FileName\":", "\"FileName_string\":")
        .replace("\"FolderPath\":", "\"FolderPath_string\":");
    vec![
        plain, ascii, one, slashes, letters, spaced, odd, tabs, two_before, space_cr, cr_before,
        union,
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn prefilter_never_rules_out_what_the_reference_keeps(
        events in prop::collection::vec(event_strategy(), 1..8)
    ) {
        let cat = Arc::new(Catalog::builtin());
        for (i, p) in PREDICATES.iter().enumerate() {
            // One rule per plan, so that each predicate gets its own anchors.
            let mut sources = Sources::default();
            sources.add(
                "pre.scry",
                format!("rule r{i} {{ id \"r{i}\" from DeviceProcessEvents where {p} examples {{}} }}"),
            );
            let compiled = compile::compile(&sources, cat.clone());
            prop_assert!(!compiled.has_errors(), "{:?}", compiled.diagnostics);
            let plan = Plan::new(compiled.rules);
            let pre = Prefilter::build(&plan, None, false);
            for ev in &events {
                if !reference_verdict(p, ev, &cat) {
                    continue;
                }
                let mut ev = ev.clone();
                ev["Type"] = "DeviceProcessEvents".into();
                // The same row without a Type, with a column only DeviceProcessEvents has: its
                // table is inferred from its columns, so it must get through too (a body with
                // no literal cannot count on the table's name being in the line).
                let mut untyped = ev.clone();
                if let Some(m) = untyped.as_object_mut() {
                    m.remove("Type");
                    m.insert("ProcessIntegrityLevel".into(), "High".into());
                }
                let columns: Vec<String> = untyped
                    .as_object()
                    .map(|m| m.iter().filter(|(_, v)| !v.is_null() && v.as_str() != Some("")).map(|(k, _)| k.clone()).collect())
                    .unwrap_or_default();
                prop_assert_eq!(
                    cat.fit(columns.iter().map(String::as_str)),
                    Fit::One("DeviceProcessEvents")
                );
                // Line by line, and as one piece whose lines are marked at once: a kept line
                // must be a candidate and hold a mark.
                let mut lines = spellings(&ev);
                lines.extend(spellings(&untyped));
                let piece = lines.join("\n");
                let marks = pre.marks(piece.as_bytes()).unwrap_or_default();
                let mut start = 0;
                for line in &lines {
                    prop_assert!(
                        pre.candidate(line.as_bytes()),
                        "`{}` keeps {} but the prefilter ({}) rules it out",
                        p, line, pre
                    );
                    let end = start + line.len();
                    prop_assert!(
                        marks.iter().any(|&m| m >= start && m < end),
                        "`{}` keeps {} but no mark falls in it ({})",
                        p, line, pre
                    );
                    start = end + 1;
                }
            }
        }
    }
}
