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
