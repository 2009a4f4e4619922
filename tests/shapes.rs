//! The same rows as flat JSON lines (table in `Type`), storage-account lines (CRLF, `\u`
//! escapes) and Event Hub messages give byte-identical results.

use crate::util;

#[test]
fn the_same_rows_in_every_shape_give_the_same_results() {
    let run = |file: &str| {
        let out = util::scry(&[
            "run",
            "--rules",
            "rules/rmm",
            "--now",
            "2024-05-15T12:00:00Z",
            "--format",
            "ndjson",
            file,
        ]);
        assert!(out.status.success(), "{file}: {}", util::stderr(&out));
        util::stdout(&out)
    };
    let flat = run("tests/data/sample/defender-flat.jsonl");
    // ServerEye's three rules (7 groups) and the all-tools network rule (1 group).
    assert_eq!(flat.lines().count(), 8);
    assert_eq!(run("tests/data/sample/defender-storage.jsonl"), flat);
    assert_eq!(run("tests/data/sample/defender-eventhub.jsonl"), flat);
    assert_eq!(run("tests/data/sample/defender-storage.jsonl.gz"), flat);
    assert_eq!(run("tests/data/sample/defender-storage.jsonl.zst"), flat);
    let csv = util::scry(&[
        "run",
        "--rules",
        "rules/rmm",
        "--now",
        "2024-05-15T12:00:00Z",
        "--format",
        "csv",
        "tests/data/sample/defender-flat.jsonl",
    ]);
    let csv = util::stdout(&csv);
    assert_eq!(csv.lines().count(), 9, "{csv}");
    assert!(
        csv.starts_with(
            "rule,name,title,DeviceId,DeviceName,AccountUpn,RemoteUrl,InitiatingProcessFileName,FirstSeen"
        ),
        "{csv}"
    );
}
