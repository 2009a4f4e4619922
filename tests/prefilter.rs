//! The prefilter changes how much is parsed, never what is found: every input, with and
//! without it, gives the same bytes out.

use crate::util;

const NOW: &str = "2024-05-15T12:00:00Z";

fn run(rules: &str, input: &str, extra: &[&str]) -> (String, String) {
    let mut args = vec!["run", "--rules", rules, "--now", NOW, "--format", "ndjson"];
    args.extend_from_slice(extra);
    args.push(input);
    let out = util::scry(&args);
    assert!(out.status.success(), "{}", util::stderr(&out));
    (util::stdout(&out), util::stderr(&out))
}

#[test]
fn results_are_the_same_with_and_without_the_prefilter() {
    let cases = [
        ("rules/rmm", "tests/data/sample/defender-storage.jsonl"),
        ("rules/rmm", "tests/data/sample/defender-flat.jsonl"),
        ("rules/rmm", "tests/data/sample/defender-eventhub.jsonl"),
        ("rules/rmm", "tests/data/sample/defender-storage.jsonl.gz"),
        ("tests/data/features", "tests/data/sets/mixed.jsonl"),
        ("rules/rmm", "tests/data/prefilter/adversarial.jsonl"),
    ];
    let mut ruled_out_somewhere = false;
    for (rules, input) in cases {
        let (with, err) = run(rules, input, &[]);
        let (without, _) = run(rules, input, &["--no-prefilter"]);
        assert_eq!(with, without, "{rules} over {input}");
        ruled_out_somewhere |= err.contains("evaluated by the prefilter alone");
    }
    assert!(
        ruled_out_somewhere,
        "the prefilter never ruled anything out"
    );
}

#[test]
fn adversarial_spellings_still_match() {
    // Each line spells a ServerEye signer the prefilter must not miss: escaped umlaut, all
    // capitals, the Kelvin sign for K, escaped letters splitting the needle, escaped slashes.
    let (out, err) = run("rules/rmm", "tests/data/prefilter/adversarial.jsonl", &[]);
    let reports: Vec<&str> = out.lines().collect();
    assert_eq!(reports.len(), 1, "{out}");
    let row: serde_json::Value = serde_json::from_str(reports[0]).unwrap();
    assert_eq!(row["Count"], 5, "{out}");
    assert!(
        err.contains("1 record(s) evaluated by the prefilter alone"),
        "{err}"
    );
}

#[test]
fn every_pack_rule_is_anchored_by_its_own_literals() {
    // Every pack rule's condition holds a literal, so none may fall back to its table's name
    // (which every line of that table spells, so each would be parsed): CJK signers included.
    let out = util::scry(&["explain", "--rules", "rules/rmm", "--rules", "rules/lolrmm"]);
    assert!(out.status.success(), "{}", util::stderr(&out));
    let text = util::stdout(&out);
    assert!(text.contains("prefilter: "), "{text}");
    // The one pack rule whose condition holds no literal: `SHA1 in (rmmInitialFileSet)`, a
    // set collected from other rows (its second pass is anchored by the set's values).
    let no_literal = ["rule rmm_dwservice_createproc:"];
    let fallbacks: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("(no literal to prove"))
        .filter(|l| !no_literal.iter().any(|r| l.trim_start().starts_with(r)))
        .collect();
    assert!(
        fallbacks.is_empty(),
        "rules anchored by their table's name:\n{}",
        fallbacks.join("\n")
    );
    assert!(text.contains("rule lolrmm_aweray_file_signature: \"上海贝锐信息科技股份有限公司\""));
}

#[test]
fn cjk_signers_are_found_through_their_own_bytes() {
    // AweRay's signer is all CJK: lines holding it (raw, inside a longer value, `\u`-escaped)
    // are found; a certificate line without it, and one with a truncated signer, are not
    // parsed.
    let input = "tests/data/prefilter/cjk-signers.jsonl";
    let (with, err) = run("rules/lolrmm/a.scry", input, &[]);
    let (without, _) = run("rules/lolrmm/a.scry", input, &["--no-prefilter"]);
    assert_eq!(with, without);
    let rows: Vec<serde_json::Value> = with
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 1, "{with}");
    assert_eq!(rows[0]["Count"], 3, "{with}");
    assert!(
        err.contains("2 record(s) evaluated by the prefilter alone"),
        "{err}"
    );
}
