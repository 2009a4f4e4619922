//! `scry why`: the explanation of the seed ServerEye examples agrees with the engine and with
//! each example's declared verdict, and names the reason (glued needle, window edge, exclusion).

use crate::util;
use scry_engine::compile::{self, Expectation, Sources};
use scry_engine::explain::{explain, Explanation};
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
            let event: serde_json::Value = serde_json::from_str(&case.json).unwrap();
            let ex = explain(&plan, &sources, &event, Some(&case.table), now).unwrap();
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
                if oi != ri && !plan.rules[oi].bodies.iter().any(|b| b.table == case.table) {
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
    let event: serde_json::Value = serde_json::from_str(&case.json).unwrap();
    let ex = explain(
        &plan,
        &sources,
        &event,
        Some(&case.table),
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
