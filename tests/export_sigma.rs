//! `scry export sigma`: every pack rule is exported or refused by name (E0311); each exported
//! rule, read back by scry's own Sigma frontend, decides exactly as the scry rule did on the
//! rule's examples, on events generated from its needles and on hostile variants of those;
//! the exported YAML validates against the Sigma rule JSON schema; a few exports and the
//! refusals are pinned.

use crate::util;
use scry_engine::compile::{self, Sources};
use scry_engine::diag::{codes, Severity};
use scry_engine::examples::{self, json_event};
use scry_engine::exec::{row_from_json, Executor, Verdict};
use scry_engine::export::sigma::{self as export_sigma, SigmaRule};
use scry_engine::plan::Plan;
use scry_engine::row::Row;
use scry_engine::schema::Catalog;
use scry_engine::sigma::{self, Context};
use scry_grammar as ast;
use serde_json::Value;
use std::sync::Arc;

const PACKS: [&str; 2] = ["rules/rmm", "rules/lolrmm"];

/// A pack file's rules exported, with the refusal messages.
fn export_file(rel: &str) -> (String, Vec<SigmaRule>, Vec<String>) {
    let text = std::fs::read_to_string(util::path(rel)).unwrap();
    let (rules, diags) = export_sigma::export(&text, 0, &Catalog::builtin());
    for d in &diags {
        assert_eq!(d.code, codes::EXPORT_SIGMA_UNSUPPORTED, "{rel}: {d:#?}");
        assert!(d.message.contains(" has no Sigma form: "), "{rel}: {d:#?}");
    }
    let file = ast::parse_file(&text).unwrap();
    let n = file
        .items
        .iter()
        .filter(|i| matches!(i, ast::Item::Rule(_)))
        .count();
    assert_eq!(
        rules.len() + diags.len(),
        n,
        "{rel}: each rule exported or refused"
    );
    let refused = diags.into_iter().map(|d| d.message).collect();
    (text, rules, refused)
}

/// The exported rules of `text` alone, with the file's `let`s and without `window` (the
/// look-back is not exported: the two are compared on the detection).
fn detection_only(text: &str, exported: &[SigmaRule]) -> String {
    let file = ast::parse_file(text).unwrap();
    let items = file
        .items
        .into_iter()
        .filter_map(|i| match i {
            ast::Item::Let(l) => Some(ast::Item::Let(l)),
            ast::Item::Rule(mut r) if exported.iter().any(|e| e.name == r.name.name) => {
                r.clauses.retain(|c| !matches!(c, ast::Clause::Window(_)));
                Some(ast::Item::Rule(r))
            }
            _ => None,
        })
        .collect();
    let (printed, _) = ast::print::file(&ast::File { items }, &ast::print::Notes::default());
    printed
}

fn compiled(sources: &Sources, catalog: Catalog) -> compile::Compiled {
    let c = compile::compile(sources, Arc::new(catalog));
    let errors: Vec<_> = c
        .diagnostics
        .iter()
        .filter(|d| d.severity >= Severity::Error)
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    c
}

/// Each event, and variants of its string values that probe case folding and term
/// boundaries: a Unicode letter, a digit, a mark, `_` glued on; upper case; the Kelvin sign
/// and long s (which fold to `k`, `s`).
fn with_variants(events: &[(String, String)]) -> Vec<(String, String)> {
    const CONTEXT: [&str; 6] = [
        "Timestamp",
        "DeviceId",
        "DeviceName",
        "ReportId",
        "AccountUpn",
        "InitiatingProcessAccountUpn",
    ];
    let mut out = events.to_vec();
    for (table, json) in events {
        let Ok(Value::Object(obj)) = serde_json::from_str::<Value>(json) else {
            continue;
        };
        for (k, v) in &obj {
            let Value::String(s) = v else { continue };
            if CONTEXT.contains(&k.as_str()) || s.is_empty() {
                continue;
            }
            let variants = [
                s.to_uppercase(),
                format!("é{s}"),
                format!("{s}é"),
                format!("٣{s}"),
                format!("\u{345}{s}\u{345}"),
                format!("_{s}_"),
                s.replace('k', "\u{212A}").replace('s', "ſ"),
                s.replace('.', "x"),
            ];
            for variant in variants {
                let mut o = obj.clone();
                o.insert(k.clone(), Value::String(variant));
                out.push((table.clone(), Value::Object(o).to_string()));
            }
        }
    }
    out
}

fn verdicts(plan: &Plan, rule: usize, table: &str, events: &[(String, String)]) -> Vec<bool> {
    let mut exec = Executor::new(plan, examples::DEFAULT_NOW, Some(table.to_string()));
    let fields = exec.fields().clone();
    events
        .iter()
        .map(|(_, json)| {
            let mut row = Row::new(&fields);
            row_from_json(json, &fields, &mut row).unwrap();
            matches!(exec.verdict(&row, rule), Ok(Verdict::Match))
        })
        .collect()
}

#[derive(Default)]
struct Tally {
    exported: usize,
    refused: Vec<String>,
    events: usize,
    matched: usize,
}

/// Exports one pack file, reads each Sigma rule back and compares decisions event by event.
/// The pack rules all get generated examples too (`generated`); the probe file's regex rule
/// cannot, and is judged on its written examples and their variants.
fn round_trip(rel: &str, tally: &mut Tally, generated: bool) {
    let (text, exported, refused) = export_file(rel);
    tally.exported += exported.len();
    tally.refused.extend(refused);
    if exported.is_empty() {
        return;
    }
    let mut sources = Sources::default();
    sources.add(rel, detection_only(&text, &exported));
    let original = compiled(&sources, Catalog::builtin());

    let catalog = Catalog::builtin();
    let mut back = Vec::new();
    for e in &exported {
        let t = sigma::translate(&format!("{}.yml", e.name), &e.yaml, Context::new(&catalog));
        assert!(
            t.refusals.is_empty(),
            "{rel}: {:#?}\n{}",
            t.refusals,
            e.yaml
        );
        assert_eq!(t.rules.len(), 1, "{}", e.yaml);
        back.extend(t.rules);
    }
    let mut cat = Catalog::builtin();
    cat.add_file("<sigma columns>", &sigma::catalog_additions(&back))
        .unwrap();
    let mut sigma_sources = Sources::default();
    for r in &back {
        sigma_sources.add(r.file.clone(), r.scry.clone());
    }
    let reread = compiled(&sigma_sources, cat);

    let events_of: Vec<Vec<(String, String)>> = original
        .rules
        .rules
        .iter()
        .map(|r| {
            let mut events: Vec<(String, String)> = r
                .examples
                .iter()
                .flat_map(|c| &c.events)
                .map(|e| (e.table.clone(), e.json.clone()))
                .collect();
            let opts = examples::Options {
                now: r.examples_now.unwrap_or(examples::DEFAULT_NOW),
                ..Default::default()
            };
            match examples::generate(r, &catalog, &opts) {
                Ok(g) => {
                    for x in g.examples {
                        events.push((r.bodies[0].table.clone(), json_event(&x.event)));
                    }
                }
                Err(e) => assert!(!generated, "{rel}: {e}"),
            }
            with_variants(&events)
        })
        .collect();
    let originals = Plan::new(original.rules);
    let rereads = Plan::new(reread.rules);
    for (e, events) in exported.iter().zip(&events_of) {
        let a = originals
            .rules
            .iter()
            .position(|r| r.name == e.name)
            .unwrap();
        let b = rereads
            .rules
            .iter()
            .position(|r| r.meta.id.as_deref() == Some(e.id.as_str()))
            .unwrap_or_else(|| panic!("{}: the Sigma id is kept", e.name));
        let (ra, rb) = (&originals.rules[a], &rereads.rules[b]);
        // The metadata survives too.
        assert_eq!(ra.meta.title, rb.meta.title, "{}", e.name);
        assert_eq!(ra.meta.severity, rb.meta.severity, "{}", e.name);
        assert_eq!(ra.meta.tactics, rb.meta.tactics, "{}", e.name);
        assert_eq!(ra.meta.techniques, rb.meta.techniques, "{}", e.name);
        assert_eq!(ra.meta.references, rb.meta.references, "{}", e.name);
        assert_eq!(
            ra.meta.description.as_deref().map(str::trim_end),
            rb.meta.description.as_deref(),
            "{}",
            e.name
        );
        let table = &ra.bodies[0].table;
        let want = verdicts(&originals, a, table, events);
        let got = verdicts(&rereads, b, table, events);
        for ((ev, w), g) in events.iter().zip(&want).zip(&got) {
            assert_eq!(
                w,
                g,
                "{}: scry says {w}, its Sigma export read back says {g} on\n{}\n{}\n{}",
                e.name,
                ev.1,
                e.yaml,
                rb_text(&back, &e.id)
            );
        }
        tally.events += events.len();
        tally.matched += want.iter().filter(|w| **w).count();
    }
}

fn rb_text(back: &[sigma::SigmaRule], id: &str) -> String {
    back.iter()
        .find(|r| r.id == id)
        .map(|r| r.scry.clone())
        .unwrap_or_default()
}

#[test]
fn every_exported_pack_rule_decides_as_its_scry_rule_when_read_back() {
    let mut tally = Tally::default();
    for pack in PACKS {
        for file in util::files(&util::path(pack), "scry") {
            let rel = file
                .strip_prefix(util::root())
                .unwrap()
                .display()
                .to_string();
            round_trip(&rel, &mut tally, true);
        }
    }
    // The figures the README gives.
    assert_eq!(tally.exported, 205, "{:#?}", tally.refused);
    assert_eq!(tally.refused.len(), 205);
    // Both verdicts are well exercised (18,365 matches among 51,149 events when written).
    assert!(
        tally.matched > 15_000,
        "{} of {}",
        tally.matched,
        tally.events
    );
    assert!(
        tally.events - tally.matched > 30_000,
        "{} of {}",
        tally.matched,
        tally.events
    );
}

/// The document as the schema sees it: YAML read with the CLI's YAML library.
fn yaml_to_json(text: &str) -> Value {
    fn conv(y: &yaml_rust2::Yaml) -> Value {
        use yaml_rust2::Yaml;
        match y {
            Yaml::Real(s) => s.parse::<f64>().map_or(Value::Null, Value::from),
            Yaml::Integer(i) => Value::from(*i),
            Yaml::String(s) => Value::String(s.clone()),
            Yaml::Boolean(b) => Value::Bool(*b),
            Yaml::Array(a) => Value::Array(a.iter().map(conv).collect()),
            Yaml::Hash(h) => Value::Object(
                h.iter()
                    .map(|(k, v)| (k.as_str().unwrap_or_default().to_string(), conv(v)))
                    .collect(),
            ),
            _ => Value::Null,
        }
    }
    let docs = yaml_rust2::YamlLoader::load_from_str(text).expect("the export is YAML");
    assert_eq!(docs.len(), 1);
    conv(&docs[0])
}

const PROBES: &str = "tests/data/sigma-export/operators.scry";

/// Every operator and exclusion shape, with hostile text (quotes, line breaks, `*`, `?`,
/// `\`): the probe rules pass their own examples, export whole, and decide alike when read
/// back.
#[test]
fn the_operator_probes_decide_alike_when_read_back() {
    let mut sources = Sources::default();
    sources.add(PROBES, std::fs::read_to_string(util::path(PROBES)).unwrap());
    let plan = Plan::new(compiled(&sources, Catalog::builtin()).rules);
    for i in 0..plan.rules.len() {
        let report = scry_engine::testing::check_examples(&plan, i, examples::DEFAULT_NOW);
        assert!(report.passed(), "{:#?}", report.cases);
    }
    let mut tally = Tally::default();
    round_trip(PROBES, &mut tally, false);
    assert_eq!(
        (tally.exported, tally.refused.len()),
        (2, 0),
        "{:#?}",
        tally.refused
    );
    assert!(
        tally.matched > 20 && tally.events > 200,
        "{} of {}",
        tally.matched,
        tally.events
    );
    let (_, rules, _) = export_file(PROBES);
    let text: Vec<&str> = rules.iter().map(|r| r.yaml.as_str()).collect();
    insta::assert_snapshot!("export_sigma_operator_probes", text.join("---\n"));
}

#[test]
fn exported_rules_validate_against_the_sigma_rule_schema() {
    let text = std::fs::read_to_string(util::path(
        "tests/data/schemas/sigma/sigma-detection-rule-schema.json",
    ))
    .unwrap();
    let schema: Value = serde_json::from_str(&text).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let mut checked = 0;
    let mut files: Vec<std::path::PathBuf> = PACKS
        .iter()
        .flat_map(|p| util::files(&util::path(p), "scry"))
        .collect();
    files.push(util::path(PROBES));
    {
        for file in files {
            let rel = file
                .strip_prefix(util::root())
                .unwrap()
                .display()
                .to_string();
            for r in export_file(&rel).1 {
                let doc = yaml_to_json(&r.yaml);
                let errors: Vec<String> = validator
                    .iter_errors(&doc)
                    .map(|e| format!("{e} at {}", e.instance_path))
                    .collect();
                assert!(errors.is_empty(), "{}: {errors:#?}\n{}", r.name, r.yaml);
                // `format: uuid` is an annotation to the validator: checked here.
                let id = doc["id"].as_str().unwrap();
                assert!(uuid_like(id), "{id}");
                checked += 1;
            }
        }
    }
    assert_eq!(checked, 207);
    // A document that breaks the schema is caught (the check can fail).
    let bad = yaml_to_json("title: t\nlogsource: {}\ndetection: {sel: {a: 1}}\ntags: [Bad]\n");
    assert!(validator.iter_errors(&bad).count() >= 2);
}

fn uuid_like(s: &str) -> bool {
    s.len() == 36
        && s.char_indices().all(|(i, c)| {
            if [8, 13, 18, 23].contains(&i) {
                c == '-'
            } else {
                c.is_ascii_hexdigit() && !c.is_ascii_uppercase()
            }
        })
}

#[test]
fn exports_and_refusals_are_pinned() {
    for rel in [
        "rules/rmm/anydesk.scry",
        "rules/rmm/servereye.scry",
        "rules/lolrmm/z.scry",
    ] {
        let (_, rules, refused) = export_file(rel);
        let mut text = String::new();
        for r in &rules {
            text.push_str(&format!("---\n{}", r.yaml));
        }
        for m in &refused {
            text.push_str(&format!("# refused: {m}\n"));
        }
        let name = format!("export_sigma_{}", rel.replace(['/', '.'], "_"));
        insta::assert_snapshot!(name, text);
    }
}

#[test]
fn the_command_writes_one_file_per_rule_and_counts_refusals() {
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("export-sigma");
    let _ = std::fs::remove_dir_all(&dir);
    let out = util::scry(&[
        "export",
        "sigma",
        "--rules",
        "rules/rmm/anydesk.scry",
        "--out",
        dir.to_str().unwrap(),
    ]);
    let err = util::stderr(&out);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("error[E0311]: rule `rmm_anydesk_filesig` has no Sigma form: table DeviceFileCertificateInfo has no Sigma logsource"), "{err}");
    assert!(err.contains("scry: sigma: 1 rule(s) exported, 2 refused (1 column `InitiatingProcessVersionInfoProductName` of DeviceNetworkEvents has no field in Sigma's network_connection; 1 table DeviceFileCertificateInfo has no Sigma logsource)"), "{err}");
    let written = std::fs::read_to_string(dir.join("rmm_anydesk_createproc.yml")).unwrap();
    assert!(
        written.contains("  category: process_creation\n"),
        "{written}"
    );
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);

    // stdout: documents separated by `---`; nothing exportable fails the command.
    let out = util::scry(&["export", "sigma", "--rules", "rules/lolrmm/z.scry"]);
    assert!(out.status.success(), "{}", util::stderr(&out));
    let docs = util::stdout(&out);
    let n = docs.matches("\ntitle: ").count();
    assert!(n >= 2, "{docs}");
    assert_eq!(docs.matches("\n---\n").count(), n - 1, "{docs}");
    let out = util::scry(&["export", "sigma", "--rules", "rules/rmm/multi_event.scry"]);
    assert_eq!(out.status.code(), Some(2), "{}", util::stderr(&out));
}
