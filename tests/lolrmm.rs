//! `scry import lolrmm`: the bundled pack is exactly what the importer writes from the
//! bundled catalogue, coverage comes from the rules given, and the pack checks and tests
//! clean.

use crate::util;
use std::path::{Path, PathBuf};

fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn import(out: &Path, skip: &[&str]) -> String {
    let out_s = out.to_str().unwrap();
    let mut args = vec!["import", "lolrmm", "rules/lolrmm/catalogue", "--out", out_s];
    for s in skip {
        args.push("--skip-covered");
        args.push(s);
    }
    let o = util::scry(&args);
    assert!(o.status.success(), "{}", util::stderr(&o));
    util::stderr(&o)
}

#[test]
fn bundled_pack_is_what_the_importer_writes() {
    let out = scratch("lolrmm-regen");
    import(&out, &["rules/rmm"]);
    let bundled = util::path("rules/lolrmm");
    let mut names: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    let mut expected: Vec<String> = std::fs::read_dir(&bundled)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n != "catalogue")
        .collect();
    expected.sort();
    assert_eq!(
        names, expected,
        "regenerate with the command in rules/lolrmm/catalogue/README.md"
    );
    for n in names {
        let got = std::fs::read_to_string(out.join(&n))
            .unwrap()
            .replace(out.to_str().unwrap(), "rules/lolrmm");
        let want = std::fs::read_to_string(bundled.join(&n)).unwrap();
        assert!(
            got == want,
            "{n} differs from a fresh import: regenerate the pack"
        );
    }
}

#[test]
fn coverage_is_decided_by_compiling_the_given_rules() {
    let dir = scratch("lolrmm-cover");
    let rules = dir.join("anydesk.scry");
    std::fs::write(
        &rules,
        "rule anydesk_sig { id \"t1\" from DeviceFileCertificateInfo\n  where Signer has_any ('anydesk software', 'philandro software') }\n\
         rule anydesk_net { id \"t2\" from DeviceNetworkEvents\n  where RemoteUrl has 'anydesk.com' }\n",
    )
    .unwrap();
    let out = dir.join("out");
    let summary = import(&out, &[rules.to_str().unwrap()]);
    assert!(summary.contains("covered by --skip-covered"), "{summary}");
    let report = std::fs::read_to_string(out.join("REPORT.md")).unwrap();
    assert!(
        report.contains("| AnyDesk | covered: every signer and domain left is matched by --skip-covered rules |"),
        "{report}"
    );
    assert!(
        report.contains("| AnyDesk | `AnyDesk Software GmbH` | anydesk_sig (anydesk software) |")
    );
    let a = std::fs::read_to_string(out.join("a.scry")).unwrap();
    assert!(!a.contains("rule lolrmm_anydesk_"), "AnyDesk is covered");
    // Without the rules, AnyDesk gets both kinds; ServerEye, which rules/rmm covers, too.
    let out2 = dir.join("out2");
    import(&out2, &[]);
    let a = std::fs::read_to_string(out2.join("a.scry")).unwrap();
    assert!(a.contains("rule lolrmm_anydesk_file_signature {"));
    assert!(a.contains("rule lolrmm_anydesk_network_connection {"));
    let s = std::fs::read_to_string(out2.join("s.scry")).unwrap();
    assert!(s.contains("rule lolrmm_servereye_network_connection {"));
    let bundled = std::fs::read_to_string(util::path("rules/lolrmm/s.scry")).unwrap();
    assert!(
        !bundled.contains("rule lolrmm_servereye_"),
        "rules/rmm covers ServerEye"
    );
}

#[test]
fn pack_checks_and_tests_clean() {
    let check = util::scry(&["check", "--rules", "rules/lolrmm"]);
    assert!(check.status.success(), "{}", util::stderr(&check));
    assert!(
        util::stderr(&check).contains(" 0 warning(s)"),
        "{}",
        util::stderr(&check)
    );
    let test = util::scry(&["test", "--rules", "rules/lolrmm"]);
    let out = util::stdout(&test);
    assert!(
        test.status.success(),
        "{}",
        out.lines().last().unwrap_or("")
    );
    assert!(out.trim_end().ends_with(" passed, 0 failed"), "{out}");
}

#[test]
fn every_rule_has_stable_metadata() {
    let text = std::fs::read_to_string(util::path("rules/lolrmm/a.scry")).unwrap();
    // (AnyDesk, the first example one would pick, is covered by rules/rmm and has no rule here.)
    let i = text
        .find("rule lolrmm_absolute_computrace_file_signature {")
        .unwrap();
    let rule = &text[i..i + 800];
    assert!(
        rule.contains("id \"")
            && rule.contains("references [\"https://lolrmm.io/tools/absolute_(computrace)\"]"),
        "{rule}"
    );
    assert!(rule.contains("tactics [CommandAndControl]") && rule.contains("techniques [T1219]"));
    assert!(
        rule.contains("source \"LOLRMM catalogue (magicsword-io/LOLRMM @ 3c75cf0, Apache-2.0)\"")
    );
}
