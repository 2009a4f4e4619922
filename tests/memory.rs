//! Memory stays flat whatever the input (issues 12.8 and 15.3): the reader keeps a fixed
//! number of pieces in flight, and the rows that rules testing `distinct` sets hold in a
//! one-pass run go to a bounded spill (a temporary file of compact rows); the results stay
//! those of the two-pass run over the same file.

use crate::util;
use scry_engine::compile::{self, Sources};
use scry_engine::plan::Plan;
use scry_engine::run::{self, RunOptions};
use scry_engine::schema::Catalog;
use std::path::{Path, PathBuf};
use std::sync::Arc;

const NOW: &str = "2024-05-15T12:00:00Z";

fn plan(files: &[&str]) -> Plan {
    let mut sources = Sources::default();
    for f in files {
        let text = std::fs::read_to_string(util::path(f)).expect("rule file");
        sources.add(f.to_string(), text);
    }
    let compiled = compile::compile(&sources, Arc::new(Catalog::builtin()));
    assert!(!compiled.has_errors(), "{:?}", compiled.diagnostics);
    Plan::new(compiled.rules)
}

/// A fresh directory for one test (removed by the test when it passes).
fn scratch(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("scry-memory-{test}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// `n` events, deterministic: certificates (signed by DWSNET OÜ or not, inside the window or
/// before it) spread among processes and connections that test them, agents among them, lab
/// devices for the exclusion, ties in Timestamp for `arg_max`.
fn events(n: u64) -> String {
    let mut out = String::new();
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        // SplitMix64: fixed, so the input is the same on every run.
        x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = x;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    };
    for i in 0..n {
        let r = next();
        let hash = format!("{:040x}", r % 23);
        // Processes also run hashes no certificate has (23..36): unsigned agents.
        let process_hash = format!("{:040x}", r % 37);
        let day = if r % 17 == 0 { 1 } else { 10 + r % 5 };
        let ts = format!("2024-05-{day:02}T{:02}:{:02}:00Z", r % 24, (r >> 8) % 3);
        let device = if r % 11 == 0 {
            format!("lab-{}", r % 3)
        } else {
            format!("PC-{}", r % 7)
        };
        let line = match r % 10 {
            0 | 1 => {
                let signer = if r % 3 == 0 { "Contoso" } else { "DWSNET OÜ" };
                format!(
                    r#"{{"Type":"DeviceFileCertificateInfo","Timestamp":"{ts}","DeviceId":"d-{}","DeviceName":"{device}","Signer":"{signer}","SHA1":"{hash}","ReportId":{i}}}"#,
                    r % 5
                )
            }
            2 | 3 => format!(
                r#"{{"Type":"DeviceNetworkEvents","Timestamp":"{ts}","DeviceId":"d-{}","DeviceName":"{device}","RemoteUrl":"node{}.example","InitiatingProcessSHA1":"{hash}","InitiatingProcessFileName":"n{}.exe","ReportId":{i}}}"#,
                r % 5,
                r % 9,
                r % 4
            ),
            _ => {
                let file = if r % 4 == 0 {
                    "DWAgent.exe"
                } else {
                    "other.exe"
                };
                format!(
                    r#"{{"Type":"DeviceProcessEvents","Timestamp":"{ts}","DeviceId":"d-{}","DeviceName":"{device}","FileName":"{file}","FolderPath":"C:\\p{}","ProcessCommandLine":"{file} --run {i}","SHA1":"{process_hash}","InitiatingProcessSHA1":"{:040x}","InitiatingProcessFileName":"p{}.exe","ReportId":{i}}}"#,
                    r % 5,
                    r % 13,
                    (r >> 5) % 23,
                    r % 3
                )
            }
        };
        out.push_str(&line);
        out.push('\n');
    }
    out
}

/// Runs `plan` over a FIFO fed with `bytes` (an input that can be read once only).
fn run_fifo(plan: &Plan, dir: &Path, bytes: &[u8], opts: &RunOptions) -> run::RunOutcome {
    let fifo = dir.join("events.fifo");
    let _ = std::fs::remove_file(&fifo);
    let made = std::process::Command::new("mkfifo").arg(&fifo).status();
    assert!(made.is_ok_and(|s| s.success()), "mkfifo");
    let writer = {
        let (fifo, bytes) = (fifo.clone(), bytes.to_vec());
        std::thread::spawn(move || std::fs::write(fifo, bytes))
    };
    let outcome = run::run(plan, std::slice::from_ref(&fifo), opts);
    writer.join().unwrap().unwrap();
    outcome
}

/// Issue 12.8: rows held for a `distinct` set in a one-pass run (a FIFO) go to a temporary
/// file past the budget (0: every one), come back in input order, and give exactly the results
/// of two passes over the same file, for 1, 2 and 3 threads. Each held row keeps only the
/// cells its rules read; the rules read different cells (`arg_max(*)` all of them), so a row
/// that kept too few would change a result.
#[test]
fn held_rows_spill_to_a_temporary_file_and_give_the_two_pass_results() {
    let dir = scratch("held");
    let text = events(6000);
    let path = dir.join("events.jsonl");
    std::fs::write(&path, &text).unwrap();
    let plan = plan(&["tests/data/robust/held.scry"]);
    let base = RunOptions {
        now: scry_engine::kql::time::parse_datetime(NOW).unwrap(),
        // Small pieces, so that every worker holds rows of many pieces.
        chunk_bytes: 64 << 10,
        ..RunOptions::default()
    };
    let two = run::run(&plan, std::slice::from_ref(&path), &base);
    assert!(two.two_pass);
    let want = format!("{:?}", two.results);
    // Every rule finds something, so each is compared on real rows.
    for (ri, rule) in plan.rules.iter().enumerate() {
        let n = two.results.iter().filter(|r| r.rule == ri).count();
        assert!(n >= 3, "{}: {n} result(s)", rule.name);
    }
    for threads in [1, 2, 3] {
        for budget in [0, 16 << 10, scry_engine::exec::DEFAULT_HELD_BUDGET] {
            let opts = RunOptions {
                threads,
                held_budget: budget,
                ..base.clone()
            };
            let one = run_fifo(&plan, &dir, text.as_bytes(), &opts);
            let why = format!("{threads} thread(s), budget {budget}");
            assert!(!one.two_pass, "{why}");
            assert!(one.stats.held > 1000, "{why}: {}", one.stats.held);
            assert_eq!(one.stats.spill_error, None, "{why}");
            assert_eq!(one.stats.held_lost, 0, "{why}");
            // The default budget holds these rows in memory; the small ones spill.
            assert_eq!(
                one.stats.spilled_bytes > 0,
                budget < scry_engine::exec::DEFAULT_HELD_BUDGET,
                "{why}: {}",
                one.stats.spilled_bytes
            );
            assert_eq!(format!("{:?}", one.results), want, "{why}");
            assert_eq!(one.stats.read, two.stats.read, "{why}");
            for (a, b) in one.stats.rules.iter().zip(&two.stats.rules) {
                assert_eq!(
                    (a.passed, &a.suppressed),
                    (b.passed, &b.suppressed),
                    "{why}"
                );
            }
        }
    }
    std::fs::remove_dir_all(dir).unwrap();
}

/// Runs the `scry` binary with `args`, its standard input fed by `feed` from another thread,
/// and polls its peak resident memory (VmHWM, a high-water mark kept by the kernel) from /proc
/// while it runs: (exit code, stdout, stderr, peak KiB).
#[cfg(target_os = "linux")]
fn run_piped_peak(
    args: &[&str],
    feed: impl FnOnce(&mut dyn std::io::Write) -> std::io::Result<()> + Send + 'static,
) -> (i32, String, String, u64) {
    use std::process::{Command, Stdio};
    let mut child = Command::new(env!("CARGO_BIN_EXE_scry"))
        .args(args)
        .current_dir(util::root())
        .env("NO_COLOR", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the scry binary runs");
    let status = format!("/proc/{}/status", child.id());
    let mut stdin = child.stdin.take().unwrap();
    let feeder = std::thread::spawn(move || feed(&mut stdin));
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let poller = {
        let done = Arc::clone(&done);
        std::thread::spawn(move || {
            let mut peak = 0u64;
            while !done.load(std::sync::atomic::Ordering::Relaxed) {
                if let Ok(text) = std::fs::read_to_string(&status) {
                    let hwm = text
                        .lines()
                        .find_map(|l| l.strip_prefix("VmHWM:"))
                        .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse().ok());
                    peak = peak.max(hwm.unwrap_or(0));
                }
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            peak
        })
    };
    let out = child.wait_with_output().unwrap();
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    feeder.join().unwrap().unwrap();
    (
        out.status.code().unwrap_or(-1),
        util::stdout(&out),
        util::stderr(&out),
        poller.join().unwrap(),
    )
}

/// Issues 12.8 and 15.3: ~150 MB piped through every pack (DWService's `SHA1 in (set)` holds
/// each process row until the set is complete) peaks under 64 MiB, as the same file by path
/// does, and prints the bytes the same file gives by path. Before the fix, the held rows stayed in memory (510 MB piped
/// peaked at 434 MB); the peak is polled while the process runs, so a spike in its last
/// milliseconds could be missed, never invented.
#[cfg(target_os = "linux")]
#[test]
fn piped_input_through_every_pack_keeps_memory_flat() {
    let dir = scratch("pipe");
    // ~1 KB a row, as real process rows are: a long command line the packs read.
    let pad = "x".repeat(700);
    let block: String = events(20_000)
        .lines()
        .map(|l| l.replace(" --run ", &format!(" --run {pad} ")) + "\n")
        .collect();
    let repeats = 150_000_000 / block.len() + 1;
    let path = dir.join("events.jsonl");
    {
        use std::io::Write;
        let mut f = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
        for _ in 0..repeats {
            f.write_all(block.as_bytes()).unwrap();
        }
    }
    let args = |input: &str| -> Vec<String> {
        [
            "run",
            "--rules",
            "rules/rmm",
            "--rules",
            "rules/lolrmm",
            "--now",
            NOW,
            "--format",
            "ndjson",
        ]
        .iter()
        .map(|s| s.to_string())
        .chain(["--threads".into(), "2".into(), input.into()])
        .collect()
    };
    // By path the file is mapped piece by piece (file-backed pages count in the peak too):
    // mapped whole, it would peak at its size.
    let path_args = args(path.to_str().unwrap());
    let path_args: Vec<&str> = path_args.iter().map(String::as_str).collect();
    let (code, by_path, err, path_peak_kib) = run_piped_peak(&path_args, |_| Ok(()));
    assert_eq!(code, 0, "{err}");
    assert!(by_path.contains("rmm_dwservice_createproc"), "{by_path}");
    assert!(
        path_peak_kib > 0 && path_peak_kib <= 64 << 10,
        "by path: peak {path_peak_kib} KiB: {err}"
    );
    let piped_args = args("-");
    let piped_args: Vec<&str> = piped_args.iter().map(String::as_str).collect();
    let block = block.into_bytes();
    let (code, out, err, peak_kib) = run_piped_peak(&piped_args, move |w| {
        for _ in 0..repeats {
            w.write_all(&block)?;
        }
        Ok(())
    });
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("held until they were complete"), "{err}");
    assert_eq!(out, by_path);
    assert!(
        peak_kib > 0 && peak_kib <= 64 << 10,
        "peak {peak_kib} KiB: {err}"
    );
    std::fs::remove_dir_all(dir).unwrap();
}
