//! `scry run`: rules over inputs, results to a sink, the run summary on stderr.

use crate::escape::say;
use crate::output::{self, Sink};
use crate::target::OutputFormat;
use crate::{load, parse_instant, RulesArgs};
use clap::{Args, ValueEnum};
use scry_engine::io::{self, ReadOptions};
use scry_engine::kql;
use scry_engine::plan::Plan;
use scry_engine::run::{self, RunOptions};
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

#[derive(Clone, Copy, ValueEnum)]
enum InputFormat {
    Auto,
    Jsonl,
    Json,
    Csv,
}

#[derive(Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub rules: RulesArgs,
    /// Input files or folders; `-` reads standard input.
    #[arg(required = true)]
    inputs: Vec<PathBuf>,
    /// The table of records that do not name one (it also overrides what records name).
    #[arg(long)]
    table: Option<String>,
    /// The evaluation clock, RFC 3339 (default: now).
    #[arg(long)]
    now: Option<String>,
    /// Output format (default: from the extension of --output, .csv, .ndjson/.jsonl/.json or
    /// .txt; else a table on a terminal, JSON lines otherwise).
    #[arg(long, value_enum)]
    format: Option<OutputFormat>,
    /// Input framing.
    #[arg(long = "input-format", value_enum, default_value = "auto")]
    input_format: InputFormat,
    /// Write results to this file instead of stdout (never one of the inputs; checked, with
    /// its folder, before anything is read).
    #[arg(long, short = 'o')]
    output: Option<PathBuf>,
    /// Also write a self-contained HTML report of the run (summary, hits, timeline, results).
    #[arg(long)]
    report: Option<PathBuf>,
    /// Fail (exit 2) when a record cannot be read or evaluated, or an input is not an event
    /// file. Parses every record (no prefilter), so malformed lines are always found.
    #[arg(long)]
    strict: bool,
    /// In directories, read only files matching this glob (below the directory; repeatable):
    /// `--include '*.jsonl.gz'`.
    #[arg(long)]
    include: Vec<String>,
    /// In directories, skip files matching this glob (repeatable): `--exclude '**/old/*'`.
    #[arg(long)]
    exclude: Vec<String>,
    /// No progress bar (it is shown only on a terminal anyway).
    #[arg(long)]
    no_progress: bool,
    /// Print where the time went: per rule (rows, hits, time) and the prefilter's candidate
    /// rate.
    #[arg(long)]
    profile: bool,
    /// Worker threads (default: all cores). Results are the same for any number.
    #[arg(long)]
    threads: Option<usize>,
    /// Parse every record: turn off the prefilter that rules out, unparsed, lines holding none
    /// of the rules' required literals (see `scry explain`).
    #[arg(long)]
    no_prefilter: bool,
    /// Only evaluate records with Timestamp at or after this instant (RFC 3339).
    #[arg(long)]
    since: Option<String>,
    /// Only evaluate records with Timestamp at or before this instant (RFC 3339).
    #[arg(long)]
    until: Option<String>,
    /// Exit with 1 when there are results (for CI).
    #[arg(long)]
    fail_on_results: bool,
    /// How many skipped records to report individually before only counting them.
    #[arg(long, default_value_t = 20)]
    max_skip_reports: u64,
    /// The most `summarize` groups held over all rules; rows needing a new group beyond it are
    /// left out, counted and named per rule (the run still finishes).
    #[arg(long, default_value_t = scry_engine::exec::DEFAULT_MAX_GROUPS)]
    max_groups: usize,
    /// The longest JSON line or CSV record, in bytes; longer ones are skipped and counted.
    #[arg(long, default_value_t = ReadOptions::default().max_record_bytes)]
    max_record_bytes: usize,
    /// List every rule in the run summary, also those without results.
    #[arg(long, short = 'v')]
    verbose: bool,
}

/// Runs `work` while a thread draws a progress bar from `p` on stderr (a terminal): bytes
/// and records per second, ETA from the inputs' sizes, which pass of two.
fn with_progress_bar<T>(p: &Arc<run::Progress>, work: impl FnOnce() -> T) -> T {
    use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
    let done = AtomicBool::new(false);
    std::thread::scope(|s| {
        s.spawn(|| {
            let bar = indicatif::ProgressBar::new(0);
            bar.set_style(
                indicatif::ProgressStyle::with_template(
                    "{msg}{bar:30} {bytes}/{total_bytes} {bytes_per_sec} ETA {eta}",
                )
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
            );
            let started = std::time::Instant::now();
            while !done.load(Relaxed) {
                bar.set_length(p.total.load(Relaxed));
                bar.set_position(p.bytes.load(Relaxed));
                let secs = started.elapsed().as_secs_f64().max(1e-3);
                let pass = match p.pass.load(Relaxed) {
                    1 => "sets (pass 1/2) ",
                    2 => "rules (pass 2/2) ",
                    _ => "",
                };
                bar.set_message(format!(
                    "{pass}{:.0} records/s ",
                    p.records.load(Relaxed) as f64 / secs
                ));
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
            bar.finish_and_clear();
        });
        let out = work();
        done.store(true, Relaxed);
        out
    })
}

/// `--profile`: the run's rate, the prefilter's candidate rate, and the rules by time.
fn print_profile(
    plan: &Plan,
    outcome: &run::RunOutcome,
    profile: &[scry_engine::exec::RuleProfile],
    bytes: u64,
) {
    let st = &outcome.stats;
    let secs = outcome.elapsed.as_secs_f64().max(1e-9);
    say!(
        "profile: {:.3} s wall, {:.1} MB/s, {:.0} records/s",
        secs,
        bytes as f64 / secs / 1e6,
        st.read as f64 / secs
    );
    if st.read > 0 {
        say!(
            "  prefilter: {} of {} record(s) parsed ({:.2} %)",
            st.read - st.ruled_out,
            st.read,
            100.0 * (st.read - st.ruled_out) as f64 / st.read as f64
        );
    }
    let mut order: Vec<usize> = (0..profile.len()).collect();
    order.sort_by(|&a, &b| profile[b].nanos.cmp(&profile[a].nanos).then(a.cmp(&b)));
    say!("  {:>10} {:>10} {:>10}  rule", "rows", "hits", "ms");
    for ri in order {
        let p = &profile[ri];
        say!(
            "  {:>10} {:>10} {:>10.3}  {}",
            p.rows,
            st.rules[ri].passed,
            p.nanos as f64 / 1e6,
            plan.rules[ri].name
        );
    }
}

pub fn cmd_run(args: RunArgs) -> Result<ExitCode, String> {
    let (_, compiled) = load(&args.rules)?;
    let now = parse_instant("--now", args.now.as_deref())?;
    let since = args
        .since
        .as_deref()
        .map(|s| parse_instant("--since", Some(s)))
        .transpose()?;
    let until = args
        .until
        .as_deref()
        .map(|s| parse_instant("--until", Some(s)))
        .transpose()?;
    if let Some(t) = &args.table {
        if compiled.rules.catalog.table(t).is_none() {
            return Err(format!("--table {t}: unknown table"));
        }
    }
    let plan = Plan::new(compiled.rules);
    release_freed_heap();
    let filter = io::InputFilter::new(&args.include, &args.exclude)?;
    let expansion = io::expand_inputs_noted(&args.inputs, &filter).map_err(|e| e.to_string())?;
    // Passed over, not lost: a folder linked into the evidence tree is not read unless named.
    for (path, why) in &expansion.passed_over {
        say!("scry: note: not read: {}: {why}", path.display());
    }
    let inputs = expansion.files;
    let threads = match args.threads {
        Some(0) => return Err("--threads must be at least 1".into()),
        Some(n) => n,
        None => std::thread::available_parallelism().map_or(1, usize::from),
    };
    // Before anything is read: a bad --output found after an hour's run wastes the hour,
    // and one naming an input would destroy the evidence.
    let format = crate::target::output_format(args.format, args.output.as_deref())?;
    let out: Box<dyn Write> = match &args.output {
        Some(p) => Box::new(std::io::BufWriter::new(crate::target::create(
            "--output", p, &inputs,
        )?)),
        None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
    };
    let report = match &args.report {
        Some(p) => Some((p, crate::target::create("--report", p, &inputs)?)),
        None => None,
    };
    let opts = RunOptions {
        now,
        table: args.table.clone(),
        since,
        until,
        no_prefilter: if args.strict {
            Some("--strict".into())
        } else if args.no_prefilter {
            Some("--no-prefilter".into())
        } else {
            None
        },
        threads,
        read: ReadOptions {
            format: match args.input_format {
                InputFormat::Auto => io::Format::Auto,
                InputFormat::Jsonl => io::Format::JsonLines,
                InputFormat::Json => io::Format::JsonDocument,
                InputFormat::Csv => io::Format::Csv,
            },
            max_record_bytes: args.max_record_bytes,
            ..ReadOptions::default()
        },
        max_reports: args.max_skip_reports as usize,
        profile: args.profile,
        max_groups: args.max_groups,
        ..RunOptions::default()
    };
    let progress = (!args.no_progress && std::io::stderr().is_terminal())
        .then(|| Arc::new(run::Progress::default()));
    let opts = RunOptions {
        progress: progress.clone(),
        ..opts
    };
    let outcome = match &progress {
        Some(p) => with_progress_bar(p, || run::run(&plan, &inputs, &opts)),
        None => run::run(&plan, &inputs, &opts),
    };
    for r in &outcome.reports {
        let name = &outcome.inputs[r.input].name;
        // Line 0: a binary input (EVTX), whose message says where (chunk, record).
        if r.line == 0 {
            say!("scry: skipped {name}: {}", r.message);
        } else {
            say!("scry: skipped {name}:{}: {}", r.line, r.message);
        }
    }
    if outcome.reported > outcome.reports.len() as u64 {
        say!(
            "scry: {} more skipped record(s) only counted (see the summary; --max-skip-reports shows more)",
            outcome.reported - outcome.reports.len() as u64
        );
    }
    if args.strict {
        if let Some(failure) = strict_failure(&outcome) {
            return Err(failure);
        }
    }
    let mut input_errors = 0;
    for i in &outcome.inputs {
        if let Some(e) = &i.error {
            say!("scry: error: {e}");
            input_errors += 1;
        }
    }
    // Held rows that could not be read back make results incomplete: an error, as an input
    // that could not be read is. A temporary file that could not be written only cost memory.
    if let Some(e) = &outcome.stats.spill_error {
        if outcome.stats.held_lost > 0 {
            say!("scry: error: {e}");
            input_errors += 1;
        } else {
            say!("scry: warning: {e}");
        }
    }
    let results = &outcome.results;
    let format = format.unwrap_or(
        if args.output.is_none() && std::io::stdout().is_terminal() {
            OutputFormat::Table
        } else {
            OutputFormat::Ndjson
        },
    );
    let mut sink: Box<dyn Sink> = match format {
        OutputFormat::Table => Box::new(output::Table::new(out)),
        OutputFormat::Ndjson => Box::new(output::NdJson(out)),
        OutputFormat::Csv => Box::new(output::Csv::new(out)),
        OutputFormat::Sarif => Box::new(crate::sinks::sarif::Sarif::new(
            out,
            crate::sinks::RunInfo::of(&outcome, now),
        )),
        OutputFormat::Ocsf => Box::new(crate::sinks::ocsf::Ocsf::new(
            out,
            crate::sinks::RunInfo::of(&outcome, now),
        )),
        OutputFormat::Timesketch => Box::new(crate::sinks::timesketch::Timesketch::new(
            out,
            crate::sinks::RunInfo::of(&outcome, now),
        )),
    };
    for r in results {
        sink.row(&plan, r)
            .map_err(|e| format!("writing results: {e}"))?;
    }
    sink.finish(&plan)
        .map_err(|e| format!("writing results: {e}"))?;
    drop(sink);

    let bytes = crate::summary::print(
        &plan,
        &outcome,
        &crate::summary::Options {
            inputs: inputs.len(),
            threads,
            max_groups: args.max_groups,
            verbose: args.verbose,
        },
    );
    if let Some((path, file)) = report {
        crate::report::write(file, &plan, &outcome, now)
            .map_err(|e| format!("--report {}: {e}", path.display()))?;
    }
    if let Some(profile) = &outcome.profile {
        print_profile(&plan, &outcome, profile, bytes);
    }
    let st = &outcome.stats;
    if st.windowed > 0 && st.in_window == 0 {
        say!(
            "scry: note: none of the {} record(s) falls inside any rule's window at now = {}; to evaluate an old export, pin the clock with --now <RFC 3339>",
            st.windowed,
            kql::time::format_datetime(now)
        );
    }
    if input_errors > 0 {
        return Ok(ExitCode::from(2));
    }
    if args.fail_on_results && !results.is_empty() {
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}

/// Why a `--strict` run fails, if it does: a skipped record (whether or not its report was
/// printed: `--max-skip-reports` bounds the printing, not the check), or an input that gave
/// nothing to evaluate because it is not an event file.
fn strict_failure(outcome: &run::RunOutcome) -> Option<String> {
    if let Some(r) = outcome.reports.first() {
        return Some(format!(
            "{}:{}: {} (--strict)",
            outcome.inputs[r.input].name, r.line, r.message
        ));
    }
    if let Some((reason, n)) = outcome.stats.skipped.iter().next() {
        return Some(format!("{n} record(s) skipped: {reason} (--strict)"));
    }
    for i in &outcome.inputs {
        if i.stats.format.framing == io::Framing::Unrecognized {
            return Some(format!("{}: {} (--strict)", i.name, i.stats.format));
        }
        if i.stats.records > 0 && i.stats.skipped == i.stats.records {
            return Some(format!(
                "{}: all {} record(s) skipped (--strict)",
                i.name, i.stats.records
            ));
        }
    }
    None
}

/// Hands the heap freed by compiling and planning (texts, syntax trees, scratch of the
/// automata builders) back to the system: glibc keeps freed memory for reuse, and a run's
/// peak memory (≤ 64 MiB whatever the input) would carry it to the end.
fn release_freed_heap() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only returns free pages of the allocator's own heap to the system.
    unsafe {
        libc::malloc_trim(0);
    }
}
