//! `scry import kql` and `scry export kql` over the upstream corpus (`tests/data/rmm-kql`):
//! the known defects are reported with their places, `--fix` packs compile, and for every
//! rule import → export → import gives the same compiled plan.

use crate::util;
use scry_engine::compile::{self, Sources};
use scry_engine::diag::{codes, Severity};
use scry_engine::export;
use scry_engine::import::{self, Imported, Input, Root};
use scry_engine::plan::Plan;
use scry_engine::schema::Catalog;
use std::sync::Arc;

const CORPUS: &str = "tests/data/rmm-kql";

fn corpus(fix: bool) -> Imported {
    let (inputs, roots) = import::collect(&[util::path(CORPUS)], None).unwrap();
    assert_eq!(inputs.len(), 123, "the corpus has 123 rule files");
    import::import_kql(inputs, roots, &Catalog::builtin(), fix)
}

/// What a rule compiles to, for comparing two spellings of it: the plan as `scry explain`
/// prints it and the metadata (without `source`, which names the file it was read from).
fn compiled_form(name: &str, text: &str) -> String {
    let mut sources = Sources::default();
    sources.add(name, text);
    let compiled = compile::compile(&sources, Arc::new(Catalog::builtin()));
    let errors: Vec<_> = compiled
        .diagnostics
        .iter()
        .filter(|d| d.severity >= Severity::Error)
        .collect();
    assert!(errors.is_empty(), "{name}: {errors:#?}\n{text}");
    let mut metas: Vec<String> = Vec::new();
    for r in &compiled.rules.rules {
        let mut m = r.meta.clone();
        m.other.retain(|(k, _)| k != "source");
        metas.push(format!("{m:?}"));
    }
    let plan = Plan::new(compiled.rules);
    format!("{plan}\n{}", metas.join("\n"))
}

/// Exports `text` (one imported rule) to Sentinel YAML and imports it again.
fn round_trip(name: &str, text: &str) -> String {
    let (exported, diags) = export::kql(text, 0, &Catalog::builtin());
    assert!(diags.is_empty(), "{name}: {diags:#?}");
    assert_eq!(exported.len(), 1);
    let yaml = &exported[0].yaml;
    let input = Input::new(
        format!("{name}.yaml"),
        format!("{name}.yaml"),
        "exported",
        0,
        yaml.clone(),
    );
    let again = import::import_kql(
        vec![input],
        vec![Root::named("exported")],
        &Catalog::builtin(),
        false,
    );
    let errors: Vec<_> = again
        .diagnostics
        .iter()
        .filter(|d| d.severity >= Severity::Error)
        .collect();
    assert!(errors.is_empty(), "{name}: {errors:#?}\n{yaml}");
    again.files[0].rule.as_ref().unwrap().text.clone()
}

#[test]
fn corpus_defects_are_reported_with_places() {
    let out = util::scry(&["import", "kql", CORPUS]);
    assert_eq!(out.status.code(), Some(2));
    let err = util::stderr(&out);
    assert!(
        err.contains("imported 77 of 123 rule file(s) into 44 pack(s); 46 refused"),
        "{err}"
    );
    insta::assert_snapshot!("import_corpus_without_fix", err);
    // The packs hold the rules that were imported, and name the refused ones.
    let packs = util::stdout(&out);
    assert!(
        packs.contains("Level/rmm_Level_createproc.yaml  (refused"),
        "{packs}"
    );
}

#[test]
fn corpus_defects_are_exactly_the_known_ones() {
    let out = corpus(false);
    let text = |d: &scry_engine::diag::Diagnostic| {
        let f = &out.sources.files[d.file];
        let rel = f.name.rsplit("rmm-kql/").next().unwrap().to_string();
        format!("{} {} {}", d.code, rel, d.span.text(&f.text))
    };
    let found: Vec<String> = out.diagnostics.iter().map(text).collect();
    let mut expected = vec![
        "E0101 DWService/rmm_DWService_createproc.yaml Sha1".to_string(),
        "E0305 DWService/rmm_DWService_createproc.yaml Sha1 in (rmmInitialFileSet)".into(),
        "E0101 DWService/rmm_DWService_createproc.yaml Sha1".into(),
        "E0101 DWService/rmm_DWService_netconn.yaml Sha1".into(),
        "E0306 Level/rmm_Level_createproc.yaml has_all has_any".into(),
    ];
    let netconn = found
        .iter()
        .filter(|f| f.contains("_netconn.yaml AccountUpn"))
        .count();
    assert_eq!(
        netconn, 44,
        "every DeviceNetworkEvents rule groups by AccountUpn"
    );
    let rest: Vec<String> = found
        .iter()
        .filter(|f| !f.contains("_netconn.yaml AccountUpn"))
        .cloned()
        .collect();
    expected.sort();
    let mut rest_sorted = rest.clone();
    rest_sorted.sort();
    assert_eq!(rest_sorted, expected);
    assert_eq!(out.refused(), 46);
}

#[test]
fn fixed_corpus_packs_compile() {
    let out = corpus(true);
    assert_eq!(out.refused(), 0);
    assert!(out
        .diagnostics
        .iter()
        .all(|d| d.severity == Severity::Warning && d.code == codes::IMPORT_FIXED));
    assert_eq!(out.diagnostics.len(), 49);
    let packs = import::packs(&out, false);
    assert_eq!(packs.len(), 44);
    let names: Vec<&str> = packs.iter().map(|p| p.file_name.as_str()).collect();
    for n in [
        "msp360_cloudberry.scry",
        "parsec_app.scry",
        "all_tools.scry",
        "servereye.scry",
    ] {
        assert!(names.contains(&n), "{names:?}");
    }
    let mut sources = Sources::default();
    for p in &packs {
        assert!(
            p.text.starts_with("// "),
            "provenance first: {}",
            p.file_name
        );
        assert!(p
            .text
            .contains("Licence: MIT License, Copyright (c) 2023 J Schell"));
        sources.add(p.file_name.clone(), p.text.clone());
    }
    let compiled = compile::compile(&sources, Arc::new(Catalog::builtin()));
    let errors: Vec<String> = compiled
        .diagnostics
        .iter()
        .filter(|d| d.severity >= Severity::Error)
        .map(|d| format!("{} {} {}", d.code, sources.files[d.file].name, d.message))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    // Every correction is marked in the output next to what it corrected.
    let fixes: usize = packs
        .iter()
        .map(|p| p.text.matches("// scry import --fix:").count())
        .sum();
    assert!(fixes >= 48, "{fixes}");
}

#[test]
fn import_export_import_gives_the_same_compiled_rules() {
    let out = corpus(true);
    let mut checked = 0;
    for f in &out.files {
        let rule = f.rule.as_ref().unwrap();
        let before = compiled_form(&rule.name, &rule.text);
        let again = round_trip(&rule.name, &rule.text);
        let after = compiled_form(&rule.name, &again);
        assert_eq!(
            before, after,
            "{}:\n{}\n---\n{}",
            rule.name, rule.text, again
        );
        checked += 1;
    }
    assert_eq!(checked, 123);
}

#[test]
fn the_round_trip_comparison_sees_a_changed_rule() {
    let out = corpus(true);
    let rule = out
        .files
        .iter()
        .filter_map(|f| f.rule.as_ref())
        .find(|r| r.name == "rmm_servereye_createproc")
        .unwrap();
    let before = compiled_form(&rule.name, &rule.text);
    for (from, to) in [
        ("has 'Krämer", "has_cs 'Krämer"),
        ("window 5d", "window 4d"),
        ("AccountUpn", "AccountName"),
        (
            "Remote Management and Monitoring tool - ServerEye",
            "ServerEye",
        ),
    ] {
        assert!(rule.text.contains(from), "{from}");
        let changed = rule.text.replacen(from, to, 1);
        let after = compiled_form(&rule.name, &round_trip(&rule.name, &changed));
        assert_ne!(before, after, "changing {from} to {to} went unnoticed");
    }
    // And in a set query.
    let set_rule = out
        .files
        .iter()
        .filter_map(|f| f.rule.as_ref())
        .find(|r| r.name == "rmm_dwservice_createproc")
        .unwrap();
    let before = compiled_form(&set_rule.name, &set_rule.text);
    let changed = set_rule.text.replacen("DWSNET", "DWSNETX", 1);
    let after = compiled_form(&set_rule.name, &round_trip(&set_rule.name, &changed));
    assert_ne!(before, after);
}

#[test]
fn exported_kql_of_a_few_rules_is_pinned() {
    let out = corpus(true);
    let mut snap = String::new();
    for name in [
        "rmm_servereye_createproc",
        "rmm_level_createproc",
        "rmm_dwservice_createproc",
        "rmm_dattormm_netconn",
        "rmm_msp360_cloudberry_netconn",
    ] {
        let rule = out
            .files
            .iter()
            .filter_map(|f| f.rule.as_ref())
            .find(|r| r.name == name)
            .unwrap();
        let (exported, diags) = export::kql(&rule.text, 0, &Catalog::builtin());
        assert!(diags.is_empty());
        snap.push_str(&format!("// ---- {name}\n{}", exported[0].kql));
    }
    insta::assert_snapshot!("export_kql_corpus_rules", snap);
    let level = out
        .files
        .iter()
        .filter_map(|f| f.rule.as_ref())
        .find(|r| r.name == "rmm_level_createproc")
        .unwrap();
    insta::assert_snapshot!("import_level_createproc_fixed", level.text);
}

#[test]
fn exclusions_survive_the_round_trip() {
    let src = r#"rule r {
  id "x-1"
  title "r"
  data_types [DeviceProcessEvents]
  connectors [MicrosoftThreatProtection]
  from DeviceProcessEvents
  window 5d
  where ProcessVersionInfoCompanyName has 'Krämer IT Solutions GmbH'
  except "Scheduled maintenance" {
    description "ServerEye updates itself."
    when process.name =~ "ServerEye.exe" and file.path contains "SystemUpdate"
  }
  summarize Count = count() by DeviceId
  having Count > 1
}"#;
    // Aliases are resolved by the export, so compare with the resolved rule.
    let resolved = src
        .replace("process.name", "FileName")
        .replace("file.path", "FolderPath");
    let before = compiled_form("r", &resolved);
    let after = compiled_form("r", &round_trip("r", src));
    assert_eq!(before, after);
}

/// Exports every rule of a pack, imports each exported Sentinel YAML again, and checks the
/// rule compiles to the same plan (with its exclusions and metadata) as the rule alone with
/// its file's `let`s. Returns the exported KQL, for the snapshot.
fn pack_round_trips(rel: &str) -> String {
    let text = std::fs::read_to_string(util::path(rel)).unwrap();
    let (exported, diags) = export::kql(&text, 0, &Catalog::builtin());
    // Sequences and a leftouter join with a time condition have no KQL form: each is refused
    // by name, never dropped.
    let no_kql = |c: &scry_grammar::Clause| {
        matches!(c, scry_grammar::Clause::Sequence(_))
            || matches!(c, scry_grammar::Clause::Join(j)
            if j.kind.name == "leftouter" && j.time.is_some())
    };
    // A threshold exports as a self-join that import does not read back as a threshold.
    let export_only = |r: &scry_grammar::Rule| {
        r.clauses
            .iter()
            .any(|c| matches!(c, scry_grammar::Clause::Threshold(_)))
    };
    // Each rule alone (with the file's lets): plans list fields in the order a set names them.
    let file = scry_grammar::parse_file(&text).unwrap();
    let lets: Vec<scry_grammar::Item> = file
        .items
        .iter()
        .filter(|i| matches!(i, scry_grammar::Item::Let(_)))
        .cloned()
        .collect();
    let rules: Vec<&scry_grammar::Item> = file
        .items
        .iter()
        .filter(|i| matches!(i, scry_grammar::Item::Rule(r) if !r.clauses.iter().any(no_kql)))
        .collect();
    let refused = file
        .items
        .iter()
        .filter(|i| matches!(i, scry_grammar::Item::Rule(r) if r.clauses.iter().any(no_kql)))
        .count();
    assert_eq!(diags.len(), refused, "{rel}: {diags:#?}");
    assert!(
        diags
            .iter()
            .all(|d| d.code == "E0310" && d.message.contains("has no KQL export")),
        "{rel}: {diags:#?}"
    );
    assert_eq!(exported.len(), rules.len(), "{rel}: every rule is exported");
    let mut kql = String::new();
    for (e, rule) in exported.iter().zip(rules) {
        let mut items = lets.clone();
        items.push(rule.clone());
        let (alone, _) = scry_grammar::print::file(
            &scry_grammar::File { items },
            &scry_grammar::print::Notes::default(),
        );
        let input = Input::new(
            format!("{}.yaml", e.name),
            format!("{}.yaml", e.name),
            "x",
            0,
            e.yaml.clone(),
        );
        let again = import::import_kql(
            vec![input],
            vec![Root::named("x")],
            &Catalog::builtin(),
            false,
        );
        let scry_grammar::Item::Rule(r) = rule else {
            unreachable!("only rules are exported")
        };
        if export_only(r) {
            // Refused, not read as some other rule.
            assert_eq!(again.refused(), 1, "{rel}: {:#?}", again.diagnostics);
            kql.push_str(&format!("// ---- {}\n{}\n", e.name, e.kql.trim_end()));
            continue;
        }
        assert_eq!(again.refused(), 0, "{rel}: {:#?}", again.diagnostics);
        let back = &again.files[0].rule.as_ref().unwrap().text;
        let one = |t: &str| {
            let mut s = Sources::default();
            s.add("r.scry", t);
            let c = compile::compile(&s, Arc::new(Catalog::builtin()));
            assert!(!c.has_errors(), "{:#?}", c.diagnostics);
            let r = &c.rules.rules[0];
            let mut meta = r.meta.clone();
            meta.other
                .retain(|(k, _)| !["source", "data_types", "connectors"].contains(&k.as_str()));
            // A rule without a title is exported with its name as the title (Sentinel's
            // `name` is required), which reads back as the title.
            // A rule without an id likewise gets its name as the id.
            if meta.title.as_deref() == Some(r.name.as_str()) {
                meta.title = None;
            }
            if meta.id.as_deref() == Some(r.name.as_str()) {
                meta.id = None;
            }
            let excl: Vec<String> = r
                .exclusions
                .iter()
                .map(|x| format!("{}: {:?}", x.name, x.description))
                .collect();
            format!("{}\n{meta:?}\n{excl:?}", Plan::new(c.rules))
        };
        assert_eq!(one(&alone), one(back), "{rel}: {back}");
        kql.push_str(&format!("// ---- {}\n{}\n", e.name, e.kql.trim_end()));
    }
    kql
}

#[test]
fn every_pack_rule_round_trips_through_kql_and_its_export_is_pinned() {
    let packs = util::files(&util::path("rules"), "scry");
    assert!(packs.len() > 40);
    for file in packs {
        let rel = file
            .strip_prefix(util::root())
            .unwrap()
            .display()
            .to_string();
        let kql = pack_round_trips(&rel);
        let name = format!("export_{}", rel.replace(['/', '\\', '.'], "_"));
        insta::assert_snapshot!(name, kql);
    }
}

/// `arg_max` / `arg_min` (with `*`), `project` (on rows and after `summarize`) and `take` /
/// `limit` survive scry → KQL → scry: each rule of the feature pack compiles to the same plan.
#[test]
fn project_take_and_arg_max_round_trip_through_kql() {
    let rel = "tests/data/features/kql_ops.scry";
    let kql = pack_round_trips(rel);
    for needle in [
        "| summarize LastSeen = arg_max(Timestamp, FileName, ReportId),",
        "| summarize arg_min(ProcessId, FileName, DeviceName) by DeviceName",
        "| summarize arg_max(Timestamp, *), Count = count() by DeviceName",
        "| project DeviceName, Timestamp, Command = ProcessCommandLine,",
        "| take 2",
        "| take Shown",
    ] {
        assert!(kql.contains(needle), "{needle}\n{kql}");
    }
    insta::assert_snapshot!("export_features_kql_ops", kql);
}

/// Joins of every kind (semi and anti as membership tests, inner / innerunique / leftouter as
/// KQL's `join` with the time condition as a `where` on `Timestamp1`) and time buckets
/// survive scry → KQL → scry: each rule compiles to the same plan. The leftouter join with a
/// time condition is refused by name (checked in `pack_round_trips`).
#[test]
fn joins_and_buckets_round_trip_through_kql() {
    let kql = pack_round_trips("tests/data/features/joins.scry");
    for needle in [
        "| where DeviceId !in ((DeviceNetworkEvents",
        "| join kind=inner (\n    DeviceNetworkEvents\n    | where Timestamp between (now(-1d) .. now())",
        ") on DeviceId\n| where Timestamp1 between (Timestamp .. (Timestamp + 5m))\n| where RemotePort == 443",
        "| join kind=innerunique (",
    ] {
        assert!(kql.contains(needle), "{needle}\n{kql}");
    }
    insta::assert_snapshot!("export_features_joins", kql);
    let kql = pack_round_trips("tests/data/kql-roundtrip/joins.scry");
    for needle in [
        "// except \"Updater\"\n    | where not(",
        ") on DeviceId\n| project Timestamp, DeviceId, DeviceName, ",
        ") on DeviceId, $left.DeviceName == $right.DeviceName\n| where Timestamp between (Timestamp1 .. (Timestamp1 + 10m))",
        ") on $left.DeviceId == $right.DeviceId\n| where isnull(Timestamp1)",
    ] {
        assert!(kql.contains(needle), "{needle}\n{kql}");
    }
    insta::assert_snapshot!("export_kql_roundtrip_joins", kql);
    let kql = pack_round_trips("tests/data/kql-roundtrip/bins.scry");
    for needle in [
        "| summarize Lookups = count(), Domains = make_set(RemoteUrl, 50) by DeviceId, bin(Timestamp, 10m)\n| where Lookups >= 3",
        "by DeviceName, startofday(Timestamp)\n| where Timestamp > ago(3d)",
        "bin_at(Timestamp, 1h, datetime(2024-05-15 00:30))",
    ] {
        assert!(kql.contains(needle), "{needle}\n{kql}");
    }
    insta::assert_snapshot!("export_kql_roundtrip_bins", kql);
}
