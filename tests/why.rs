//! `scry why`: the explanation of the seed ServerEye examples agrees with the engine and with
//! each example's declared verdict, and names the reason (glued needle, window edge, exclusion).

use crate::util;
use scry_engine::compile::{self, Expectation, Sources};
use scry_engine::explain::{explain, Explainer, Explanation};
use scry_engine::plan::Plan;
use scry_engine::schema::Catalog;
use std::sync::Arc;

fn servereye() -> (Sources, Plan) {
    let mut sources = Sources::default();
    let text = std::fs::read_to_string(util::path("rules/rmm/servereye.scry")).unwrap();
    sources.add("rules/rmm/servereye.scry", text);
    let compiled = compile::compile(&sources, Arc::new(Catalog::builtin()));
    assert!(!compiled.has_errors());
    (sources, Plan::new(compiled.rules))
}

/// Every condition text and reason of one rule's explanation, flattened.
fn reasons(ex: &Explanation, rule: &str) -> String {
    let r = ex.rules.iter().find(|r| r.rule == rule).unwrap();
    let mut s = String::new();
    if let Some(w) = &r.window {
        s.push_str(&w.why);
        s.push('\n');
    }
    fn walk(s: &mut String, c: &scry_engine::explain::Condition) {
        s.push_str(&format!("{} => {:?}: {}\n", c.text, c.verdict, c.why));
        for p in &c.parts {
            walk(s, p);
        }
    }
    for c in r.conditions.iter().chain(&r.exclusions) {
        walk(&mut s, c);
    }
    s
}

#[test]
fn every_seed_example_is_explained_with_its_declared_verdict() {
    let (sources, plan) = servereye();
    let mut checked = 0;
    for (ri, rule) in plan.rules.iter().enumerate() {
        let now = rule.examples_now.unwrap();
        for case in &rule.examples {
            let ev = &case.events[0];
            let event: serde_json::Value = serde_json::from_str(&ev.json).unwrap();
            let ex = explain(&plan, &sources, &event, Some(&ev.table), now).unwrap();
            let r = &ex.rules[ri];
            assert!(r.consistent, "{} / {}: {r:#?}", rule.name, case.label);
            let want = match &case.expect {
                Expectation::Match => "match".to_string(),
                Expectation::NoMatch => "no match".to_string(),
                Expectation::Suppressed(i) => {
                    format!("suppressed by \"{}\"", rule.exclusions[*i].name)
                }
                Expectation::Given => continue,
            };
            assert_eq!(r.verdict, want, "{} / {}", rule.name, case.label);
            // Rules of other tables are named as not evaluated.
            for (oi, other) in ex.rules.iter().enumerate() {
                if oi != ri && !plan.rules[oi].bodies.iter().any(|b| b.table == ev.table) {
                    assert_eq!(other.verdict, "not evaluated");
                }
            }
            checked += 1;
        }
    }
    assert!(checked >= 30, "{checked}");
}

fn case_reasons(rule: &str, label: &str) -> String {
    let (sources, plan) = servereye();
    let ri = plan.rules.iter().position(|r| r.name == rule).unwrap();
    let r = &plan.rules[ri];
    let case = r.examples.iter().find(|c| c.label == label).unwrap();
    let ev = &case.events[0];
    let event: serde_json::Value = serde_json::from_str(&ev.json).unwrap();
    let ex = explain(
        &plan,
        &sources,
        &event,
        Some(&ev.table),
        r.examples_now.unwrap(),
    )
    .unwrap();
    reasons(&ex, rule)
}

#[test]
fn the_reasons_name_what_decided() {
    let glued = case_reasons("servereye_file_signature", "needle glued to a letter");
    assert!(
        glued.contains("'Krämer IT Solutions GmbH' occurs but not as the operator needs: at character 3: glued to a letter before it ('r')"),
        "{glued}"
    );
    let digit = case_reasons("servereye_file_signature", "needle glued to a digit");
    assert!(digit.contains("glued to a digit after it ('2')"), "{digit}");
    let early = case_reasons("servereye_file_signature", "one tick before the window");
    assert!(
        early.contains("outside the window by 1tick (before"),
        "{early}"
    );
    let late = case_reasons("servereye_file_signature", "one tick after now");
    assert!(
        late.contains("outside the window by 1tick (after"),
        "{late}"
    );
    let product = case_reasons("servereye_create_process", "product glued to a letter");
    assert!(
        product.contains("'ServerEye' occurs but not as the operator needs: at character 0: glued to a letter after it ('s')"),
        "{product}"
    );
    assert!(
        product.contains("none of the 2 needle(s) is a term of the value"),
        "{product}"
    );
    let hit = case_reasons("servereye_create_process", "agent as published");
    assert!(
        hit.contains("'ServerEye' found at character 0 as a whole term"),
        "{hit}"
    );
    let sup = case_reasons(
        "servereye_create_process",
        "ServerEye's own SystemUpdate task",
    );
    assert!(
        sup.contains(
            "file.path contains 'SystemUpdate' => Some(true): 'SystemUpdate' found at character"
        ),
        "{sup}"
    );
    let missing = case_reasons("servereye_file_signature", "missing signer");
    assert!(
        missing.contains("the value is empty (missing or null)"),
        "{missing}"
    );
}

#[test]
fn why_reads_an_event_from_a_file_line_and_prints_json() {
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("why");
    std::fs::create_dir_all(&dir).unwrap();
    let f = dir.join("events.jsonl");
    std::fs::write(
        &f,
        "{\"Timestamp\": \"2024-05-14T08:00:00Z\", \"Signer\": \"Krämer IT Solutions GmbH\"}\n\
         {\"Timestamp\": \"2024-05-14T08:00:00Z\", \"Signer\": \"DerKrämer IT Solutions GmbH\"}\n",
    )
    .unwrap();
    let args = [
        "why",
        "--rules",
        "rules/rmm/servereye.scry",
        "--now",
        "2024-05-15T12:00:00Z",
        "--table",
        "DeviceFileCertificateInfo",
        "--input",
        f.to_str().unwrap(),
        "--line",
        "2",
        "--rule",
        "servereye_file_signature",
    ];
    let out = util::scry(&args);
    assert!(out.status.success(), "{}", util::stderr(&out));
    let text = util::stdout(&out);
    assert!(
        text.contains("rule servereye_file_signature (rules/rmm/servereye.scry:"),
        "{text}"
    );
    assert!(text.contains(": no match\n"), "{text}");
    assert!(text.contains("glued to a letter before it ('r')"), "{text}");

    let mut json_args = args.to_vec();
    json_args.extend(["--format", "json"]);
    let out = util::scry(&json_args);
    let v: serde_json::Value = serde_json::from_str(&util::stdout(&out)).unwrap();
    assert_eq!(v["rules"][0]["verdict"], "no match");
    assert_eq!(v["rules"][0]["conditions"][0]["verdict"], false);
    assert_eq!(
        v["rules"][0]["conditions"][0]["read"][0],
        serde_json::json!({"column": "Signer", "value": "DerKrämer IT Solutions GmbH"})
    );
    assert_eq!(v["table_from"], "--table");

    let mut bad = args.to_vec();
    bad[10] = "9";
    let out = util::scry(&bad);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        util::stderr(&out).contains("no line 9 (the file has 2)"),
        "{}",
        util::stderr(&out)
    );
}

/// Every example of every pack, explained alone: the explanation's own conditions decide what
/// the engine decides (`consistent`), and, for rules whose examples need no `given` context,
/// the verdict is the one the example declares. A condition the explanation cannot evaluate,
/// or reads differently from the engine, fails here with the pack, rule and example named.
#[test]
fn every_pack_example_is_explained_consistently() {
    let catalog = Arc::new(Catalog::builtin());
    let (mut checked, mut declared) = (0, 0);
    for file in util::files(&util::path("rules"), "scry") {
        let rel = file
            .strip_prefix(util::root())
            .unwrap()
            .display()
            .to_string();
        let mut sources = Sources::default();
        sources.add(rel.clone(), std::fs::read_to_string(&file).unwrap());
        let compiled = compile::compile(&sources, Arc::clone(&catalog));
        assert!(!compiled.has_errors(), "{rel}");
        let plan = Plan::new(compiled.rules);
        let explainer = Explainer::new(&plan, &sources);
        for (ri, rule) in plan.rules.iter().enumerate() {
            let now = rule.examples_now.unwrap_or(0);
            let needs_context = rule.examples.iter().any(|c| c.expect == Expectation::Given);
            for case in &rule.examples {
                let want = match &case.expect {
                    Expectation::Match => "match".to_string(),
                    Expectation::NoMatch => "no match".to_string(),
                    Expectation::Suppressed(i) => {
                        format!("suppressed by \"{}\"", rule.exclusions[*i].name)
                    }
                    Expectation::Given => continue,
                };
                // A scenario is judged by the rule's rows over several events; `why`
                // explains one event.
                if case.scenario || rule.timeline.is_some() {
                    continue;
                }
                let ev = &case.events[0];
                let event: serde_json::Value = serde_json::from_str(&ev.json).unwrap();
                let ex = explainer
                    .explain(&event, Some(&ev.table), now, &|i| i == ri)
                    .unwrap_or_else(|e| panic!("{rel} / {} / {}: {e}", rule.name, case.label));
                assert_eq!(ex.rules.len(), 1);
                let r = &ex.rules[0];
                assert!(
                    r.consistent,
                    "{rel} / {} / {}: {r:#?}",
                    rule.name, case.label
                );
                checked += 1;
                if !needs_context {
                    assert_eq!(r.verdict, want, "{rel} / {} / {}", rule.name, case.label);
                    declared += 1;
                }
            }
        }
    }
    // 6,636 judged examples in the packs today (6 `given` contexts aside).
    assert!(checked > 6000 && declared > 6000, "{checked} {declared}");
}

/// `--input FILE --line N` reads the line as `scry run` reads a record: a storage-account
/// export line is its `properties`, of the table its `category` names (the README's example).
#[test]
fn a_storage_account_line_is_read_as_scry_run_reads_it() {
    let out = util::scry(&[
        "why",
        "--rules",
        "rules/rmm/servereye.scry",
        "--rule",
        "servereye_network_connection",
        "--now",
        "2024-05-15T12:00:00Z",
        "--input",
        "tests/data/sample/defender-storage.jsonl",
        "--line",
        "15",
    ]);
    assert!(out.status.success(), "{}", util::stderr(&out));
    let text = util::stdout(&out);
    assert!(
        text.starts_with(
            "event table: DeviceNetworkEvents (from its category (a storage-account record))\n"
        ),
        "{text}"
    );
    assert!(text.contains(": no match\n"), "{text}");
    assert!(text.contains("RemoteUrl = \"myserver-eye.de\""), "{text}");
    assert!(text.contains("glued to a letter before it ('y')"), "{text}");

    // A container line holds several rows: which one is meant is not guessed.
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("why-container");
    std::fs::create_dir_all(&dir).unwrap();
    let f = dir.join("hub.jsonl");
    std::fs::write(&f, "{\"records\": [{\"a\": 1}, {\"a\": 2}]}\n").unwrap();
    let out = util::scry(&[
        "why",
        "--rules",
        "rules/rmm/servereye.scry",
        "--input",
        f.to_str().unwrap(),
        "--line",
        "1",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        util::stderr(&out).contains("hub.jsonl:1: the record is a container of 2 rows"),
        "{}",
        util::stderr(&out)
    );
}
