//! A folder of invalid (or suspicious) rule files, each snapshotted with what `scry check`
//! prints. Adding a case means adding a file to `tests/data/invalid/`.

use crate::util;

#[test]
fn invalid_rule_files_are_diagnosed() {
    let files = util::files(&util::path("tests/data/invalid"), "scry");
    assert!(files.len() >= 5, "too few invalid fixtures");
    for f in files {
        let rel = f.strip_prefix(util::root()).unwrap().display().to_string();
        let out = util::scry(&["check", "--rules", &rel]);
        let text = format!("exit: {:?}\n{}", out.status.code(), util::stderr(&out));
        let name = f.file_stem().unwrap().to_string_lossy().into_owned();
        insta::assert_snapshot!(format!("invalid_{name}"), text);
    }
}

#[test]
fn the_seed_exclusions_verbatim_are_flagged() {
    let out = util::scry(&[
        "check",
        "--rules",
        "tests/data/invalid/seed_exclusions_verbatim.scry",
    ]);
    let err = util::stderr(&out);
    // W0200: the first seed filter suppresses nearly every event.
    assert!(err.contains("W0200"), "{err}");
    assert!(err.contains("suppresses nearly every event"), "{err}");
    // W0201: process.* and file.path do not exist in DeviceFileCertificateInfo.
    assert!(err.contains("W0201"), "{err}");
    assert!(
        err.contains("DeviceFileCertificateInfo does not have"),
        "{err}"
    );
}
