//! Hostile and corrupt input: each case shows the exact message and the reconciled summary
//! (records read = evaluated + skipped), and that the rest of the input is still evaluated.
//! Golden runs: fixed small inputs under `tests/data/robust/`, exact stdout and stderr.

use crate::util;

const RUN: &[&str] = &[
    "run",
    "--rules",
    "tests/data/robust/rules.scry",
    "--now",
    "2024-05-16T00:00:00Z",
    "--format",
    "ndjson",
    "--threads",
    "1",
];

/// Runs `scry run` over the robustness rules with `extra` arguments: (exit code, stdout, stderr).
fn golden(extra: &[&str]) -> (i32, String, String) {
    let args: Vec<&str> = RUN.iter().chain(extra).copied().collect();
    let out = util::scry(&args);
    (
        out.status.code().unwrap_or(-1),
        util::stdout(&out),
        util::stderr(&out),
    )
}

#[test]
fn malformed_json_lines_are_skipped_and_the_rest_evaluated() {
    let (code, out, err) = golden(&[
        "tests/data/robust/good.jsonl",
        "tests/data/robust/malformed.jsonl",
    ]);
    assert_eq!(code, 0);
    assert_eq!(
        out,
        r#"{"rule":"robust-per-name","name":"per_name","title":"per_name","FileName":"evil.exe","Count":4,"Folders":["C:\\a","C:\\b"]}
{"rule":"robust-per-name","name":"per_name","title":"per_name","FileName":"one.exe","Count":1,"Folders":["C:\\d"]}
{"rule":"robust-per-name","name":"per_name","title":"per_name","FileName":"three.exe","Count":1,"Folders":["C:\\g"]}
{"rule":"robust-per-name","name":"per_name","title":"per_name","FileName":"two.exe","Count":1,"Folders":["C:\\e"]}
{"rule":"robust-rows","name":"rows","title":"rows","FileName":"evil.exe","FolderPath":"C:\\a"}
{"rule":"robust-rows","name":"rows","title":"rows","FileName":"evil.exe","FolderPath":"C:\\b"}
{"rule":"robust-rows","name":"rows","title":"rows","FileName":"evil.exe","FolderPath":"C:\\c"}
{"rule":"robust-rows","name":"rows","title":"rows","FileName":"evil.exe","FolderPath":"C:\\f"}
"#
    );
    assert_eq!(
        err,
        r#"scry: skipped tests/data/robust/malformed.jsonl:2: malformed JSON at line 2 column 52: EOF while parsing a value
scry: skipped tests/data/robust/malformed.jsonl:3: malformed JSON at line 3 column 2: expected ident
scry: 2 input(s), 831 bytes, 9 record(s) read: 7 evaluated, 2 skipped (1 thread(s))
  input tests/data/robust/good.jsonl: json lines (flat) (5 records)
  input tests/data/robust/malformed.jsonl: json lines (flat) (4 records)
  skipped 2: malformed JSON
  table DeviceProcessEvents: 7 record(s)
  rule per_name: 4 result(s) from 7 matching record(s), 0 suppressed
    make_set reached its cap in 1 group(s): the smallest values were kept
  rule rows: 4 result(s) from 4 matching record(s), 0 suppressed
"#
    );
}

#[test]
fn csv_ragged_rows_are_skipped_and_the_rest_evaluated() {
    let (code, out, err) = golden(&["tests/data/robust/ragged.csv"]);
    assert_eq!(code, 0);
    assert_eq!(
        out,
        r#"{"rule":"robust-per-name","name":"per_name","title":"per_name","FileName":"evil.exe","Count":1,"Folders":["C:\\h"]}
{"rule":"robust-per-name","name":"per_name","title":"per_name","FileName":"five.exe","Count":1,"Folders":["C:\\j"]}
{"rule":"robust-rows","name":"rows","title":"rows","FileName":"evil.exe","FolderPath":"C:\\h"}
"#
    );
    assert_eq!(
        err,
        r#"scry: skipped tests/data/robust/ragged.csv:3: CSV line 3: 3 cells, but the header has 4 columns
scry: skipped tests/data/robust/ragged.csv:4: CSV line 4: 5 cells, but the header has 4 columns
scry: 1 input(s), 258 bytes, 4 record(s) read: 2 evaluated, 2 skipped (1 thread(s))
  input tests/data/robust/ragged.csv: csv (4 records)
  skipped 2: CSV error
  table DeviceProcessEvents: 2 record(s)
  rule per_name: 2 result(s) from 2 matching record(s), 0 suppressed
  rule rows: 1 result(s) from 1 matching record(s), 0 suppressed
"#
    );
}

/// A gzip cut short and a path that does not exist, among good inputs: both are named as
/// errors (exit 2), everything readable is evaluated, and the counts still reconcile. The
/// byte total counts the truncated input too (issue 12.7).
#[test]
fn truncated_gzip_and_missing_path_do_not_stop_the_other_inputs() {
    let (code, out, err) = golden(&[
        "tests/data/robust/good.jsonl",
        "tests/data/robust/truncated.jsonl.gz",
        "tests/data/robust/missing.jsonl",
    ]);
    assert_eq!(code, 2);
    // good.jsonl and the four whole lines of the truncated copy of it.
    assert_eq!(
        out,
        r#"{"rule":"robust-per-name","name":"per_name","title":"per_name","FileName":"evil.exe","Count":6,"Folders":["C:\\a","C:\\b"]}
{"rule":"robust-per-name","name":"per_name","title":"per_name","FileName":"one.exe","Count":2,"Folders":["C:\\d"]}
{"rule":"robust-per-name","name":"per_name","title":"per_name","FileName":"two.exe","Count":1,"Folders":["C:\\e"]}
{"rule":"robust-rows","name":"rows","title":"rows","FileName":"evil.exe","FolderPath":"C:\\a"}
{"rule":"robust-rows","name":"rows","title":"rows","FileName":"evil.exe","FolderPath":"C:\\b"}
{"rule":"robust-rows","name":"rows","title":"rows","FileName":"evil.exe","FolderPath":"C:\\c"}
{"rule":"robust-rows","name":"rows","title":"rows","FileName":"evil.exe","FolderPath":"C:\\a"}
{"rule":"robust-rows","name":"rows","title":"rows","FileName":"evil.exe","FolderPath":"C:\\b"}
{"rule":"robust-rows","name":"rows","title":"rows","FileName":"evil.exe","FolderPath":"C:\\c"}
"#
    );
    assert_eq!(
        err,
        r#"scry: skipped tests/data/robust/truncated.jsonl.gz:5: malformed JSON at line 5 column 80: EOF while parsing a string
scry: error: tests/data/robust/truncated.jsonl.gz: truncated or corrupt gzip stream: incomplete deflate stream
scry: error: tests/data/robust/missing.jsonl: cannot open: No such file or directory (os error 2)
scry: 3 input(s), 700 bytes, 10 record(s) read: 9 evaluated, 1 skipped (1 thread(s))
  input tests/data/robust/good.jsonl: json lines (flat) (5 records)
  input tests/data/robust/truncated.jsonl.gz: json lines (flat), gzip (5 records from 157 bytes, then unreadable)
  input tests/data/robust/missing.jsonl: unreadable (0 records)
  skipped 1: malformed JSON
  table DeviceProcessEvents: 9 record(s)
  rule per_name: 3 result(s) from 9 matching record(s), 0 suppressed
    make_set reached its cap in 1 group(s): the smallest values were kept
  rule rows: 6 result(s) from 6 matching record(s), 0 suppressed
"#
    );
}

/// `--max-groups`: the rule that needs more groups is named, the rows left out are counted,
/// and the run finishes with every other rule's results whole.
#[test]
fn group_budget_is_named_counted_and_the_run_finishes() {
    let (code, out, err) = golden(&["--max-groups", "2", "tests/data/robust/good.jsonl"]);
    assert_eq!(code, 0);
    assert_eq!(
        out,
        r#"{"rule":"robust-per-name","name":"per_name","title":"per_name","FileName":"evil.exe","Count":3,"Folders":["C:\\a","C:\\b"]}
{"rule":"robust-per-name","name":"per_name","title":"per_name","FileName":"one.exe","Count":1,"Folders":["C:\\d"]}
{"rule":"robust-rows","name":"rows","title":"rows","FileName":"evil.exe","FolderPath":"C:\\a"}
{"rule":"robust-rows","name":"rows","title":"rows","FileName":"evil.exe","FolderPath":"C:\\b"}
{"rule":"robust-rows","name":"rows","title":"rows","FileName":"evil.exe","FolderPath":"C:\\c"}
"#
    );
    assert_eq!(
        err,
        r#"scry: 1 input(s), 543 bytes, 5 record(s) read: 5 evaluated, 0 skipped (1 thread(s))
  input tests/data/robust/good.jsonl: json lines (flat) (5 records)
  table DeviceProcessEvents: 5 record(s)
  rule per_name: 2 result(s) from 5 matching record(s), 0 suppressed
    make_set reached its cap in 1 group(s): the smallest values were kept
    group budget (--max-groups 2) spent: 1 row(s) needing a new group left out; results incomplete
  rule rows: 3 result(s) from 3 matching record(s), 0 suppressed
scry: warning: rule per_name: the group budget (--max-groups 2) was spent; 1 row(s) needing a new group were left out, its results are incomplete
"#
    );
}

/// The budget holds across threads: each worker keeps it, and so does the merge.
#[test]
fn group_budget_holds_when_threads_merge() {
    for threads in ["1", "2", "3"] {
        let mut args: Vec<&str> = RUN.to_vec();
        args.retain(|a| *a != "1" && *a != "--threads");
        args.extend(["--threads", threads, "--max-groups", "1"]);
        args.extend([
            "tests/data/robust/good.jsonl",
            "tests/data/robust/ragged.csv",
        ]);
        let out = util::scry(&args);
        assert!(out.status.success());
        let groups = util::stdout(&out)
            .lines()
            .filter(|l| l.contains("robust-per-name"))
            .count();
        assert_eq!(groups, 1, "{threads} thread(s)");
        assert!(util::stderr(&out)
            .contains("scry: warning: rule per_name: the group budget (--max-groups 1) was spent"));
    }
}

/// A line longer than `--max-record-bytes` is skipped with its size and the next line read.
/// The framing is forced: detection takes a first line longer than the limit for the start
/// of one large JSON document (an Event Hub message on one line), see `engine/io/src/lib.rs`.
#[test]
fn record_size_limit_skips_the_long_lines_only() {
    let limit = ["--max-record-bytes", "107", "--input-format", "jsonl"];
    let (code, _, err) =
        golden(&[&limit[..], &["--strict", "tests/data/robust/good.jsonl"]].concat());
    // The first three lines of good.jsonl are 108 bytes long (without the newline), the
    // last two 107: --strict stops at the first.
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("good.jsonl:1: record too large: 108 bytes (see max_record_bytes) (--strict)"),
        "{err}"
    );
    let (code, out, err) = golden(&[&limit[..], &["tests/data/robust/good.jsonl"]].concat());
    assert_eq!(code, 0);
    assert_eq!(out.lines().count(), 2, "{out}");
    assert!(
        err.contains("5 record(s) read: 2 evaluated, 3 skipped"),
        "{err}"
    );
    assert!(err.contains("skipped 3: record too large"), "{err}");
}

/// A file removed between the expansion of a directory and its reading is one unreadable
/// input; the other files of the directory are still evaluated.
#[test]
fn file_deleted_after_expansion_is_reported_and_the_rest_evaluated() {
    use scry_engine::compile::{self, Sources};
    use scry_engine::plan::Plan;
    use scry_engine::run::{self, RunOptions};
    use std::sync::Arc;

    let dir = std::env::temp_dir().join(format!("scry-robust-vanish-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let good = std::fs::read(util::path("tests/data/robust/good.jsonl")).unwrap();
    for name in ["a.jsonl", "b.jsonl", "c.jsonl"] {
        std::fs::write(dir.join(name), &good).unwrap();
    }
    let inputs = scry_engine::io::expand_inputs(std::slice::from_ref(&dir)).unwrap();
    assert_eq!(inputs.len(), 3);
    std::fs::remove_file(dir.join("b.jsonl")).unwrap();

    let mut sources = Sources::default();
    let text = std::fs::read_to_string(util::path("tests/data/robust/rules.scry")).unwrap();
    sources.add("rules.scry", text);
    let compiled = compile::compile(&sources, Arc::new(scry_engine::schema::Catalog::builtin()));
    assert!(!compiled.has_errors());
    let plan = Plan::new(compiled.rules);
    let outcome = run::run(&plan, &inputs, &RunOptions::default());
    let errors: Vec<_> = outcome.inputs.iter().map(|i| i.error.is_some()).collect();
    assert_eq!(errors, [false, true, false]);
    let message = outcome.inputs[1].error.as_deref().unwrap();
    assert!(
        message.contains("b.jsonl: cannot open: No such file"),
        "{message}"
    );
    assert_eq!(outcome.stats.read, 10);
    assert_eq!(
        outcome.stats.read,
        outcome.stats.evaluated + outcome.stats.skipped_total()
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// JSON nested far deeper than any parser's recursion limit, in a field a rule reads and in
/// one it does not: no stack overflow, the record is evaluated.
#[test]
fn deeply_nested_json_does_not_exhaust_the_stack() {
    let dir = std::env::temp_dir().join(format!("scry-robust-deep-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let f = dir.join("deep.jsonl");
    let depth = 200_000;
    let nest = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
    let line = |field: &str| {
        format!(
            r#"{{"Type":"DeviceProcessEvents","Timestamp":"2024-05-15T13:00:00Z","FileName":"deep.exe","{field}":{nest}}}"#
        )
    };
    std::fs::write(&f, format!("{}\n{}\n", line("X"), line("FolderPath"))).unwrap();
    let path = f.to_string_lossy().into_owned();
    let (code, out, err) = golden(&[&path]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("2 record(s) read: 2 evaluated, 0 skipped"),
        "{err}"
    );
    assert!(
        out.contains(r#""FileName":"deep.exe","Count":2"#),
        "{}",
        &out[..200.min(out.len())]
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The README's first two commands, parsed out of README.md. The first runs as written
/// (through the built binary in place of `cargo run --release --`); the second is
/// `cargo test --workspace`, i.e. this very test run, so it is checked, not run again (a
/// nested `cargo test` would wait on this one's build lock).
#[test]
fn readme_first_two_commands_run_as_written() {
    let readme = std::fs::read_to_string(util::path("README.md")).unwrap();
    let block = readme
        .split("```sh\n")
        .nth(1)
        .and_then(|b| b.split("```").next())
        .expect("README.md has a sh block");
    let commands: Vec<&str> = block
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    assert!(commands.len() >= 2, "{block}");
    let first = commands[0]
        .strip_prefix("cargo run --release -- ")
        .expect("the first command runs scry through cargo");
    let args: Vec<&str> = first.split_whitespace().collect();
    let out = util::scry(&args);
    assert!(out.status.success(), "{}", util::stderr(&out));
    let err = util::stderr(&out);
    assert!(
        err.contains("17 record(s) read: 17 evaluated, 0 skipped"),
        "{err}"
    );
    assert!(util::stdout(&out).contains("ServerEye"));
    assert_eq!(commands[1], "cargo test --workspace");
}

/// A fresh directory for one test's generated inputs (removed by the test when it passes).
fn scratch(test: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("scry-robust-{}-{test}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

const GOOD_ROW: &str = r#"{"Type":"DeviceProcessEvents","Timestamp":"2024-05-15T10:00:00Z","FileName":"evil.exe","FolderPath":"C:\\a"}"#;

/// A JSON line of exactly `len` bytes whose FileName matches the rules.
fn long_row(len: usize) -> String {
    let head = r#"{"Type":"DeviceProcessEvents","Timestamp":"2024-05-15T10:00:00Z","FileName":"evil.exe","FolderPath":"C:\\long","ProcessCommandLine":""#;
    let tail = r#""}"#;
    format!("{head}{}{tail}", "x".repeat(len - head.len() - tail.len()))
}

/// Issue 12.1: a 20 MB line among valid rows, over the default 16 MiB limit, is skipped with
/// its size and line, and the rows around it are evaluated. Before the fix, cutting it into
/// pieces read one byte at a time past 2 MiB and searched the whole line after each (a 3 MB
/// line took 87 s; this one did not finish).
#[test]
fn long_line_of_20_mb_among_valid_rows_is_skipped_with_its_size() {
    let dir = scratch("long20");
    let path = dir.join("long.jsonl");
    let text = format!("{GOOD_ROW}\n{}\n{GOOD_ROW}\n", long_row(20_000_000));
    std::fs::write(&path, text).unwrap();
    let p = path.to_str().unwrap();
    let (code, out, err) = golden(&[p]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains(&format!(
            "scry: skipped {p}:2: record too large: 20000000 bytes (see max_record_bytes)"
        )),
        "{err}"
    );
    assert!(
        err.contains("3 record(s) read: 2 evaluated, 1 skipped"),
        "{err}"
    );
    assert!(out.contains(r#""FileName":"evil.exe","Count":2"#), "{out}");
    std::fs::remove_dir_all(dir).unwrap();
}

/// Issue 12.1: with `--max-record-bytes` above it, a 50 MB line is read and evaluated like
/// any other (it used to hang).
#[test]
fn line_of_50_mb_reads_under_a_higher_record_limit() {
    let dir = scratch("long50");
    let path = dir.join("long.jsonl");
    let text = format!("{GOOD_ROW}\n{}\n{GOOD_ROW}", long_row(50_000_000));
    std::fs::write(&path, text).unwrap();
    let p = path.to_str().unwrap();
    let (code, out, err) = golden(&["--max-record-bytes", "50000000", p]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("3 record(s) read: 3 evaluated, 0 skipped"),
        "{err}"
    );
    assert!(
        out.contains(r#""FileName":"evil.exe","Count":3,"Folders":["C:\\a","C:\\long"]"#),
        "{out}"
    );
    std::fs::remove_dir_all(dir).unwrap();
}

/// Issue 12.1: an advanced hunting API result written compactly on one 4.6 MB line (a
/// container: one line, many records) reads whole, every element a record.
#[test]
fn compact_one_line_hunting_results_document_reads() {
    let dir = scratch("results");
    let path = dir.join("results.json");
    let rows: Vec<String> = (0..30_000)
        .map(|i| {
            format!(
                r#"{{"Timestamp":"2024-05-15T10:00:00Z","FileName":"f{}.exe","FolderPath":"C:\\dir\\{i}","ProcessCommandLine":"run --job {i} --mode batch --verbose --log C:\\\\logs"}}"#,
                i % 3
            )
        })
        .collect();
    let text = format!(
        r#"{{"Schema":[{{"Name":"Timestamp","Type":"DateTime"}},{{"Name":"FileName","Type":"String"}}],"Results":[{}]}}"#,
        rows.join(",")
    );
    assert!(text.len() > 4_600_000, "{}", text.len());
    std::fs::write(&path, text).unwrap();
    let p = path.to_str().unwrap();
    let (code, out, err) = golden(&["--table", "DeviceProcessEvents", p]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("30000 record(s) read: 30000 evaluated, 0 skipped"),
        "{err}"
    );
    assert!(
        err.contains("(advanced hunting results) (30000 records)"),
        "{err}"
    );
    assert!(
        out.contains(r#""FileName":"f0.exe","Count":10000"#),
        "{out}"
    );
    std::fs::remove_dir_all(dir).unwrap();
}

/// Runs `scry run` with `args` then `input`, standard input fed from `stdin` by a thread:
/// (exit code, stdout, stderr).
fn run_fed(args: &[&str], input: &str, stdin: Option<Vec<u8>>) -> (i32, String, String) {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let mut child = Command::new(env!("CARGO_BIN_EXE_scry"))
        .args(args)
        .arg(input)
        .current_dir(util::root())
        .env("NO_COLOR", "1")
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the scry binary runs");
    let feeder = stdin.map(|bytes| {
        let mut pipe = child.stdin.take().unwrap();
        std::thread::spawn(move || pipe.write_all(&bytes))
    });
    let out = child.wait_with_output().unwrap();
    if let Some(f) = feeder {
        f.join().unwrap().unwrap();
    }
    (
        out.status.code().unwrap_or(-1),
        util::stdout(&out),
        util::stderr(&out),
    )
}

/// Issue 12.2: a FIFO, `/dev/stdin` on a pipe and `-` are each read once, in full, and give
/// the results of the same file by path: for ServerEye's rules, and for all packs (whose
/// DWService rule tests a `distinct` set, which a file gets from a first pass). Before the
/// fix, the zip and Parquet sniffs read the first bytes of a FIFO and opened it again (10207
/// of 10215 bytes, "not an event file"), and the set pass reopened it (0 bytes, or a hang
/// once the writer was gone).
#[test]
fn fifo_and_dev_stdin_are_read_once_in_full() {
    let sample = "tests/data/sample/defender-storage.jsonl";
    let bytes = std::fs::read(util::path(sample)).unwrap();
    let size = format!("{} bytes", bytes.len());
    let dir = scratch("fifo");
    let fifo = dir.join("events.fifo");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status();
    assert!(made.is_ok_and(|s| s.success()), "mkfifo");
    let fifo = fifo.to_str().unwrap().to_string();
    for rules in ["rules/rmm/servereye.scry", "rules"] {
        let args = [
            "run",
            "--rules",
            rules,
            "--now",
            "2024-05-15T12:00:00Z",
            "--format",
            "ndjson",
        ];
        let (code, by_path, err) = run_fed(&args, sample, None);
        assert_eq!(code, 0, "{err}");
        assert!(!by_path.is_empty());
        assert!(err.contains(&size), "{err}");
        // The writer opens the FIFO once scry opens it to read, writes, and closes it.
        let writer = {
            let (fifo, bytes) = (fifo.clone(), bytes.clone());
            std::thread::spawn(move || std::fs::write(fifo, bytes))
        };
        let (code, out, err) = run_fed(&args, &fifo, None);
        writer.join().unwrap().unwrap();
        assert_eq!((code, &out), (0, &by_path), "FIFO, {rules}: {err}");
        assert!(err.contains(&size), "{err}");
        assert!(
            err.contains("json lines (storage account) (17 records)"),
            "{err}"
        );
        for input in ["/dev/stdin", "-"] {
            let (code, out, err) = run_fed(&args, input, Some(bytes.clone()));
            assert_eq!((code, &out), (0, &by_path), "{input}, {rules}: {err}");
            assert!(err.contains(&size), "{err}");
        }
        // `- < file`: standard input is a regular file, still read through the one handle.
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_scry"))
            .args(args)
            .arg("-")
            .current_dir(util::root())
            .stdin(std::fs::File::open(util::path(sample)).unwrap())
            .output()
            .unwrap();
        assert_eq!(
            util::stdout(&out),
            by_path,
            "- < file: {}",
            util::stderr(&out)
        );
        if rules == "rules" {
            assert!(err.contains("sets collected in one pass"), "{err}");
        }
    }
    std::fs::remove_dir_all(dir).unwrap();
}

/// Issue 12.7: a truncated gzip input reports the bytes it had (it said "0 bytes": the stats of
/// an input that ended in an error were dropped), what it was, the records it gave before the
/// cut, and an error naming it; exit 2.
#[test]
fn truncated_gzip_reports_its_true_byte_count() {
    let name = "tests/data/robust/truncated.jsonl.gz";
    let size = std::fs::metadata(util::path(name)).unwrap().len();
    assert!(size > 0);
    let (code, out, err) = golden(&[name]);
    assert_eq!(code, 2, "{err}");
    assert_eq!(out.lines().count(), 5, "{out}");
    assert!(
        err.contains(&format!("scry: 1 input(s), {size} bytes, 5 record(s) read")),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "  input {name}: json lines (flat), gzip (5 records from {size} bytes, then unreadable)"
        )),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "scry: error: {name}: truncated or corrupt gzip stream: "
        )),
        "{err}"
    );
}

/// Issue 12.7: a directory walk does not follow a symbolic link to a folder (that rules out
/// cycles), but it says so, naming the link, instead of passing over it silently; so for a
/// broken link. The files beside them are read.
#[cfg(unix)]
#[test]
fn symlinked_folder_skipped_in_a_walk_gets_a_note() {
    let dir = scratch("symlink");
    let tree = dir.join("tree");
    let elsewhere = dir.join("elsewhere");
    std::fs::create_dir_all(tree.join("sub")).unwrap();
    std::fs::create_dir_all(&elsewhere).unwrap();
    let good = util::path("tests/data/robust/good.jsonl");
    std::fs::copy(&good, tree.join("sub/a.jsonl")).unwrap();
    std::fs::copy(&good, elsewhere.join("b.jsonl")).unwrap();
    std::os::unix::fs::symlink(&elsewhere, tree.join("linked")).unwrap();
    std::os::unix::fs::symlink(dir.join("nothing"), tree.join("broken")).unwrap();
    let (code, out, err) = golden(&[tree.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert!(!out.is_empty());
    let t = tree.display();
    assert!(
        err.starts_with(&format!(
            "scry: note: not read: {t}/broken: a broken symbolic link\n\
             scry: note: not read: {t}/linked: a symbolic link to a directory, not followed (name it to read it)\n\
             scry: 1 input(s), "
        )),
        "{err}"
    );
    // Named, the linked folder is read.
    let (code, _, err) = golden(&[tree.join("linked").to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("linked/b.jsonl: json lines (flat) (5 records)"),
        "{err}"
    );
    std::fs::remove_dir_all(dir).unwrap();
}
