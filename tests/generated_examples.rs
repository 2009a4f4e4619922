//! `scry examples`: blocks generated from a rule's needles pass `scry test`, on the
//! ServerEye pack with its hand-written examples taken out.

use crate::util;
use scry_grammar as ast;
use std::path::PathBuf;

/// `text` without its `examples` blocks (each removed with the blank line before it).
fn strip_examples(text: &str) -> String {
    let file = ast::parse_file(text).expect("the pack parses");
    let mut spans: Vec<(usize, usize)> = Vec::new();
    for item in &file.items {
        if let ast::Item::Rule(r) = item {
            for c in &r.clauses {
                if let ast::Clause::Examples(x) = c {
                    spans.push((x.span.start as usize, x.span.end as usize));
                }
            }
        }
    }
    let mut out = text.to_string();
    for (s, e) in spans.into_iter().rev() {
        // From the start of the block's line (and the blank line before it) to its end.
        let s = out[..s].trim_end_matches([' ', '\n']).len();
        out.replace_range(s..e, "");
    }
    out
}

fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn servereye_passes_its_generated_examples() {
    let original = std::fs::read_to_string(util::path("rules/rmm/servereye.scry")).unwrap();
    let stripped = strip_examples(&original);
    assert!(!stripped.contains("examples at"), "{stripped}");
    let dir = scratch("generated-servereye");
    let file = dir.join("servereye.scry");
    std::fs::write(&file, &stripped).unwrap();
    let f = file.to_str().unwrap();

    let printed = util::scry(&["examples", "--rules", f]);
    assert!(printed.status.success(), "{}", util::stderr(&printed));
    let text = util::stdout(&printed);
    for rule in [
        "servereye_file_signature",
        "servereye_create_process",
        "servereye_network_connection",
    ] {
        assert!(text.contains(&format!(": rule {rule}\n")), "{text}");
    }
    // Printing leaves the file alone.
    assert_eq!(std::fs::read_to_string(&file).unwrap(), stripped);

    let wrote = util::scry(&["examples", "--rules", f, "--write"]);
    assert!(wrote.status.success(), "{}", util::stderr(&wrote));
    let written = std::fs::read_to_string(&file).unwrap();
    // Every byte of the rules is kept; only the blocks are new.
    assert_eq!(strip_examples(&written), stripped);
    assert_eq!(
        written
            .matches("examples at datetime(2024-05-15T12:00:00Z) {")
            .count(),
        3
    );

    let tested = util::scry(&["test", "--rules", f]);
    let out = util::stdout(&tested);
    assert!(tested.status.success(), "{out}");
    assert!(out.contains(" 0 failed"), "{out}");
    // The exclusions of the process and network rules each got a suppressed example, and
    // none of the generated matches is hidden by one.
    assert_eq!(
        written.matches("    suppressed \"").count(),
        10,
        "{written}"
    );
    assert!(!out.contains("FAIL"), "{out}");

    // A second run finds nothing to do.
    let again = util::scry(&["examples", "--rules", f]);
    assert!(again.status.success());
    assert_eq!(util::stdout(&again), "");
    assert!(util::stderr(&again).contains("every rule already has examples"));
}

#[test]
fn unsupported_rules_are_named_and_fail_the_command() {
    let dir = scratch("generated-unsupported");
    let file = dir.join("r.scry");
    std::fs::write(
        &file,
        "rule ok { id \"1\" from DeviceNetworkEvents where RemoteUrl has 'a.example' }\n\
         rule re { id \"2\" from DeviceNetworkEvents where RemoteUrl matches regex 'a+' }\n",
    )
    .unwrap();
    let f = file.to_str().unwrap();
    let out = util::scry(&["examples", "--rules", f, "--write"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        util::stderr(&out).contains("rule `re`: unsupported: matches regex"),
        "{}",
        util::stderr(&out)
    );
    // The supported rule still got its block.
    let written = std::fs::read_to_string(&file).unwrap();
    assert_eq!(written.matches("examples at").count(), 1, "{written}");
}
