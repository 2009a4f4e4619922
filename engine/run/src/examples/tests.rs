//! The generator on small rules: every generated block is inserted into its rule and run
//! through the engine's own example checker, which must agree with every verdict.

use super::*;
use crate::compile::{compile, Sources};
use crate::plan::Plan;
use std::sync::Arc;

/// Compiles `src`, generates examples for every rule, inserts them, and checks that the
/// engine agrees with each verdict. Returns the new text and the generated sets.
fn roundtrip(src: &str) -> (String, Vec<Generated>) {
    let catalog = Catalog::builtin();
    let mut sources = Sources::default();
    sources.add("t.scry", src);
    let compiled = compile(&sources, Arc::new(catalog.clone()));
    assert!(!compiled.has_errors(), "{:#?}", compiled.diagnostics);
    let opts = Options::default();
    let mut gens = Vec::new();
    let mut ins = Vec::new();
    let ends = rules_without_examples(src).unwrap();
    for rule in &compiled.rules.rules {
        let g = generate(rule, &catalog, &opts).unwrap_or_else(|e| panic!("{e}"));
        let end = ends.iter().find(|(n, _)| *n == rule.name).unwrap().1;
        ins.push(Insertion {
            rule: rule.name.clone(),
            rule_end: end,
            block: render_block(&g, "  "),
        });
        gens.push(g);
    }
    let text = insert_blocks(src, &ins);
    let mut sources = Sources::default();
    sources.add("t.scry", text.clone());
    let compiled = compile(&sources, Arc::new(catalog));
    assert!(
        !compiled.has_errors(),
        "{text}\n{:#?}",
        compiled.diagnostics
    );
    let plan = Plan::new(compiled.rules);
    for ri in 0..plan.rules.len() {
        let report = crate::testing::check_examples(&plan, ri, 0);
        for c in &report.cases {
            assert!(
                c.ok,
                "{}: {:?}: expected {}, got {}\n{text}",
                plan.rules[ri].name, c.label, c.expected, c.got
            );
        }
    }
    (text, gens)
}

fn verdict_of<'a>(g: &'a Generated, label: &str) -> Option<&'a Expect> {
    g.examples
        .iter()
        .find(|e| e.label == label)
        .map(|e| &e.expect)
}

#[test]
fn signer_rule_gets_every_variant() {
    let (text, gens) = roundtrip(
        r#"rule sig { id "1" from DeviceFileCertificateInfo window 5d
  where Signer has 'Krämer IT Solutions GmbH'
  summarize Count = count() by DeviceId, DeviceName
}
"#,
    );
    let g = &gens[0];
    let n = "Signer has 'Krämer IT Solutions GmbH'";
    let want = [
        (format!("as published: {n}"), Expect::Match),
        (format!("u-escaped JSON: {n}"), Expect::Match),
        (format!("upper-cased: {n}"), Expect::Match),
        (format!("glued to a letter: {n}"), Expect::NoMatch),
        (format!("glued to a digit: {n}"), Expect::NoMatch),
        (format!("inside a longer value: {n}"), Expect::Match),
        ("null Signer".to_string(), Expect::NoMatch),
        ("missing Signer".to_string(), Expect::NoMatch),
        (
            "one tick before the window start".to_string(),
            Expect::NoMatch,
        ),
        ("exactly at the window start".to_string(), Expect::Match),
        ("exactly at now".to_string(), Expect::Match),
        ("one tick after now".to_string(), Expect::NoMatch),
        ("no Timestamp".to_string(), Expect::NoMatch),
    ];
    for (label, v) in &want {
        assert_eq!(verdict_of(g, label), Some(v), "{label}\n{text}");
    }
    assert_eq!(g.examples.len(), want.len(), "{text}");
    assert!(
        text.contains(r#""Signer": "Kr\u00e4mer IT Solutions GmbH""#),
        "{text}"
    );
    assert!(
        text.contains(r#""Timestamp": "2024-05-10T11:59:59.9999999Z""#),
        "{text}"
    );
    assert!(
        text.contains("examples at datetime(2024-05-15T12:00:00Z) {"),
        "{text}"
    );
}

#[test]
fn a_glued_variant_another_needle_still_matches_is_dropped() {
    let (text, gens) = roundtrip(
        r#"rule net { id "1" from DeviceNetworkEvents window 5d
  where RemoteUrl has_any ('kaseya.com', 'stun.kaseya.com')
  summarize Count = count() by DeviceId, DeviceName, InitiatingProcessAccountUpn, RemoteUrl
}
"#,
    );
    let g = &gens[0];
    // "xstun.kaseya.com"-style: the glued form of stun.kaseya.com still has kaseya.com.
    assert!(
        g.dropped
            .iter()
            .any(|d| d.starts_with("glued to a letter: RemoteUrl has 'stun.kaseya.com'")),
        "{:#?}",
        g.dropped
    );
    assert_eq!(
        verdict_of(g, "glued to a letter: RemoteUrl has 'stun.kaseya.com'"),
        None
    );
    assert_eq!(
        verdict_of(g, "glued to a letter: RemoteUrl has 'kaseya.com'"),
        Some(&Expect::NoMatch)
    );
    assert_eq!(
        verdict_of(g, "as published: RemoteUrl has 'stun.kaseya.com'"),
        Some(&Expect::Match)
    );
    assert!(text.contains("https://edge.kaseya.com:443/api"), "{text}");
}

#[test]
fn case_sensitive_and_whole_value_operators() {
    let (text, gens) = roundtrip(
        r#"rule p { id "1" from DeviceProcessEvents window 5d
  where FileName in~ ('AnyDesk.exe', 'ad.exe')
    and ProcessVersionInfoCompanyName has_cs 'AnyDesk'
    and FolderPath startswith @'C:\Program Files'
    and ProcessCommandLine !contains '--silent'
    and isnotempty(AccountUpn)
  summarize Count = count() by DeviceId, DeviceName, AccountUpn
}
"#,
    );
    let g = &gens[0];
    assert_eq!(
        verdict_of(
            g,
            "upper-cased: ProcessVersionInfoCompanyName has_cs 'AnyDesk'"
        ),
        Some(&Expect::NoMatch),
        "{text}"
    );
    assert_eq!(
        verdict_of(g, "upper-cased: FileName =~ 'AnyDesk.exe'"),
        Some(&Expect::Match)
    );
    assert_eq!(
        verdict_of(g, "inside a longer value: FileName =~ 'AnyDesk.exe'"),
        Some(&Expect::NoMatch)
    );
    assert_eq!(
        verdict_of(
            g,
            "followed by more text: FolderPath startswith 'C:\\Program Files'"
        ),
        Some(&Expect::Match)
    );
    assert_eq!(
        verdict_of(g, "as published: ProcessCommandLine contains '--silent'"),
        Some(&Expect::NoMatch)
    );
    assert_eq!(
        verdict_of(g, "empty: isempty(AccountUpn)"),
        Some(&Expect::NoMatch)
    );
    assert_eq!(verdict_of(g, "missing AccountUpn"), Some(&Expect::NoMatch));
    assert_eq!(
        verdict_of(g, "null ProcessCommandLine"),
        Some(&Expect::Match)
    );
}

#[test]
fn or_branches_are_tested_one_at_a_time() {
    let (_, gens) = roundtrip(
        r#"rule o { id "1" from DeviceNetworkEvents
  where RemoteUrl has 'server-eye.de' or InitiatingProcessFileName =~ 'ServerEye.exe'
}
"#,
    );
    let g = &gens[0];
    assert_eq!(
        verdict_of(g, "glued to a letter: RemoteUrl has 'server-eye.de'"),
        Some(&Expect::NoMatch)
    );
    assert_eq!(
        verdict_of(
            g,
            "as published: InitiatingProcessFileName =~ 'ServerEye.exe'"
        ),
        Some(&Expect::Match)
    );
}

#[test]
fn a_match_an_exclusion_hides_is_marked_suppressed() {
    let (_, gens) = roundtrip(
        r#"rule x { id "1" from DeviceProcessEvents window 5d
  where ProcessVersionInfoProductName has_any ('ServerEye', 'Server-Eye')
  except "inventory" when ProcessVersionInfoProductName contains "Eye"
  except "deployment" when FolderPath contains "Deployment"
  summarize Count = count() by DeviceId, DeviceName, AccountUpn
}
"#,
    );
    let g = &gens[0];
    assert_eq!(
        verdict_of(
            g,
            "as published: ProcessVersionInfoProductName has 'ServerEye'"
        ),
        Some(&Expect::Suppressed("inventory".into()))
    );
    assert_eq!(
        verdict_of(g, "FolderPath contains 'Deployment'"),
        None,
        "the first exclusion already hides every match"
    );
}

#[test]
fn exclusions_get_a_suppressed_example_each() {
    let (_, gens) = roundtrip(
        r#"rule x { id "1" from DeviceProcessEvents window 5d
  where ProcessVersionInfoCompanyName has 'Krämer IT Solutions GmbH'
  except "maintenance" when (process.name =~ "ServerEye.exe" or process.parent.name =~ "ServerEye.exe")
      and file.path contains "SystemUpdate"
  summarize Count = count() by DeviceId, DeviceName, AccountUpn
}
"#,
    );
    assert_eq!(
        verdict_of(
            &gens[0],
            "FileName =~ 'ServerEye.exe' and FolderPath contains 'SystemUpdate'"
        ),
        Some(&Expect::Suppressed("maintenance".into()))
    );
}

#[test]
fn unsupported_conditions_name_the_rule_and_the_construct() {
    let catalog = Catalog::builtin();
    for (cond, what) in [
        ("FileName matches regex 'a.*'", "matches regex"),
        ("strlen(FileName) > 3", "an ordering comparison"),
        ("ProcessId > 4", "an ordering comparison"),
        ("FileName has ''", "an empty needle"),
    ] {
        let mut sources = Sources::default();
        sources.add(
            "t.scry",
            format!("rule u {{ id \"1\" from DeviceProcessEvents where {cond} }}"),
        );
        let compiled = compile(&sources, Arc::new(catalog.clone()));
        assert!(
            !compiled.has_errors(),
            "{cond}: {:#?}",
            compiled.diagnostics
        );
        let e = generate(&compiled.rules.rules[0], &catalog, &Options::default()).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!("rule `u`: unsupported: {what}"),
            "{cond}"
        );
    }
}

#[test]
fn long_lists_match_every_needle_once() {
    let needles: Vec<String> = (0..20).map(|i| format!("'host{i}.example.org'")).collect();
    let src = format!(
        "rule l {{ id \"1\" from DeviceNetworkEvents window 5d where RemoteUrl has_any ({}) }}\n",
        needles.join(", ")
    );
    let (_, gens) = roundtrip(&src);
    let g = &gens[0];
    for i in 0..20 {
        assert_eq!(
            verdict_of(
                g,
                &format!("as published: RemoteUrl has 'host{i}.example.org'")
            ),
            Some(&Expect::Match)
        );
    }
    // The full battery only for the first needle.
    assert!(verdict_of(g, "glued to a letter: RemoteUrl has 'host0.example.org'").is_some());
    assert!(verdict_of(g, "glued to a letter: RemoteUrl has 'host1.example.org'").is_none());
}
