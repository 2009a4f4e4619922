//! `scry`: run detection rules with exact KQL semantics over exported event files.

mod examples_cmd;
mod export;
mod import;
mod lolrmm;
mod output;
mod render;
mod report;
mod sinks;
#[cfg(feature = "kafka")]
mod stream;

use clap::{Args, Parser, Subcommand, ValueEnum};
use output::Sink;
use scry_engine::compile::{self, Sources};
use scry_engine::diag::Severity;
use scry_engine::exec::value_to_json;
use scry_engine::io::{self, ReadOptions};
use scry_engine::kql;
use scry_engine::plan::Plan;
use scry_engine::row::Row;
use scry_engine::run::{self, RunOptions};
use scry_engine::schema::Catalog;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

#[derive(Parser)]
#[command(
    name = "scry",
    version,
    about = "Detection rules with exact KQL semantics, run offline over event exports"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run rules over event files and print the results.
    Run(RunArgs),
    /// Compile and lint rules without data.
    Check(RulesArgs),
    /// Print the optimized plan of a rule set.
    Explain(RulesArgs),
    /// Run the rules' own example events.
    Test(RulesArgs),
    /// Evaluate one expression and print its value as JSON.
    Eval(EvalArgs),
    /// Generate example events for rules that have none, from their own needles.
    Examples(examples_cmd::ExamplesArgs),
    /// Write rule packs from rules or catalogues of other tools.
    Import(import::ImportArgs),
    /// Print rules as queries for other tools.
    Export(export::ExportArgs),
    /// Run the rules over Kafka / Event Hubs topics as a consumer group (feature `kafka`).
    #[cfg(feature = "kafka")]
    Stream(stream::StreamArgs),
    /// Print a shell completion script: `scry completions bash > /etc/bash_completion.d/scry`.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff), or with `--dir` write one page per command there.
    Man {
        /// Write scry.1 and scry-<command>.1 into this folder.
        #[arg(long)]
        dir: Option<PathBuf>,
    },
}

#[derive(Args)]
struct RulesArgs {
    /// Rule files or folders (searched recursively for .scry files); repeat for several.
    #[arg(long = "rules", short = 'r', default_value = "rules")]
    rules: Vec<PathBuf>,
    /// Extra schema/alias files (JSON), added to the built-in Defender tables.
    #[arg(long = "schema")]
    schema: Vec<PathBuf>,
    /// Treat warnings as errors.
    #[arg(long)]
    deny_warnings: bool,
}

#[derive(Clone, Copy, ValueEnum)]
enum OutputFormat {
    /// Aligned tables (the default on a terminal).
    Table,
    /// One JSON object per result row (the default when piped).
    Ndjson,
    /// CSV with a header row.
    Csv,
    /// SARIF 2.1.0, one run (code-scanning dashboards).
    Sarif,
    /// OCSF Detection Findings (class 2004), one per line.
    Ocsf,
    /// Timesketch timeline JSON lines.
    Timesketch,
}

#[derive(Clone, Copy, ValueEnum)]
enum InputFormat {
    Auto,
    Jsonl,
    Json,
    Csv,
}

#[derive(Args)]
struct RunArgs {
    #[command(flatten)]
    rules: RulesArgs,
    /// Input files or folders; `-` reads standard input.
    #[arg(required = true)]
    inputs: Vec<PathBuf>,
    /// The table of records that do not name one (it also overrides what records name).
    #[arg(long)]
    table: Option<String>,
    /// The evaluation clock, RFC 3339 (default: now).
    #[arg(long)]
    now: Option<String>,
    /// Output format.
    #[arg(long, value_enum)]
    format: Option<OutputFormat>,
    /// Input framing.
    #[arg(long = "input-format", value_enum, default_value = "auto")]
    input_format: InputFormat,
    /// Write results to this file instead of stdout.
    #[arg(long, short = 'o')]
    output: Option<PathBuf>,
    /// Also write a self-contained HTML report of the run (summary, hits, timeline, results).
    #[arg(long)]
    report: Option<PathBuf>,
    /// Fail (exit 2) on the first record that cannot be read or evaluated. Parses every
    /// record (no prefilter), so malformed lines are always found.
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
}

#[derive(Args)]
struct EvalArgs {
    /// The expression, e.g. "'Action1-Corp' has 'Action1'".
    expr: String,
    /// One event as a JSON object; its fields are readable by name.
    #[arg(long)]
    event: Option<String>,
    /// The table whose schema types the event's fields.
    #[arg(long)]
    table: Option<String>,
    /// The clock for now() and ago(), RFC 3339.
    #[arg(long)]
    now: Option<String>,
    /// Extra schema files.
    #[arg(long = "schema")]
    schema: Vec<PathBuf>,
}

fn main() -> ExitCode {
    // A decoder panic on a damaged Parquet or Arrow file becomes that input's error (see
    // `io::in_guarded_decoder`); its backtrace noise would only hide the report.
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if !scry_engine::io::in_guarded_decoder() {
            default_hook(info);
        }
    }));
    let cli = Cli::parse();
    let res = match cli.command {
        Command::Run(a) => cmd_run(a),
        Command::Check(a) => cmd_check(a),
        Command::Explain(a) => cmd_explain(a),
        Command::Test(a) => cmd_test(a),
        Command::Eval(a) => cmd_eval(a),
        Command::Examples(a) => examples_cmd::cmd_examples(a),
        Command::Import(a) => import::cmd_import(a),
        Command::Export(a) => export::cmd_export(a),
        #[cfg(feature = "kafka")]
        Command::Stream(a) => cmd_stream(a),
        Command::Completions { shell } => {
            use clap::CommandFactory as _;
            clap_complete::generate(shell, &mut Cli::command(), "scry", &mut std::io::stdout());
            Ok(ExitCode::SUCCESS)
        }
        Command::Man { dir } => cmd_man(dir.as_deref()),
    };
    match res {
        Ok(code) => code,
        Err(msg) => {
            eprintln!("scry: error: {msg}");
            ExitCode::from(2)
        }
    }
}

#[cfg(feature = "kafka")]
fn cmd_stream(args: stream::StreamArgs) -> Result<ExitCode, String> {
    let (_, compiled) = load(&args.rules)?;
    if let Some(t) = args.table() {
        if compiled.rules.catalog.table(t).is_none() {
            return Err(format!("--table {t}: unknown table"));
        }
    }
    let mut set = compiled.rules;
    if args.skip_unstreamable() {
        let refused;
        (set, refused) = scry_engine::stream::streamable(set);
        for r in &refused {
            eprintln!(
                "scry: warning: rule {} left out (--skip-unstreamable): {}",
                r.rule, r.reason
            );
        }
    }
    stream::cmd_stream(args, Plan::new(set))
}

fn parse_now(s: Option<&str>) -> Result<i64, String> {
    match s {
        Some(s) => kql::time::parse_datetime(s).ok_or_else(|| {
            format!("--now {s:?} is not an RFC 3339 datetime (e.g. 2024-05-15T12:00:00Z)")
        }),
        None => {
            let d = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_err(|e| e.to_string())?;
            Ok((d.as_nanos() / 100) as i64)
        }
    }
}

fn catalog(schema: &[PathBuf]) -> Result<Arc<Catalog>, String> {
    let mut c = Catalog::builtin();
    for p in schema {
        let text = std::fs::read_to_string(p).map_err(|e| format!("{}: {e}", p.display()))?;
        c.add_file(&p.display().to_string(), &text)
            .map_err(|e| e.to_string())?;
    }
    Ok(Arc::new(c))
}

fn collect_rule_files(path: &Path, out: &mut Vec<PathBuf>) -> Result<(), String> {
    let meta = std::fs::metadata(path).map_err(|e| format!("{}: {e}", path.display()))?;
    if meta.is_dir() {
        // An unreadable entry is an error, not a rule file silently left out.
        let mut entries = Vec::new();
        for e in std::fs::read_dir(path).map_err(|e| format!("{}: {e}", path.display()))? {
            entries.push(e.map_err(|e| format!("{}: {e}", path.display()))?.path());
        }
        entries.sort();
        for e in entries {
            if e.is_dir() || e.extension().is_some_and(|x| x == "scry") {
                collect_rule_files(&e, out)?;
            }
        }
    } else {
        out.push(path.to_path_buf());
    }
    Ok(())
}

/// Loads and compiles rules; prints diagnostics; fails on errors.
fn load(args: &RulesArgs) -> Result<(Sources, compile::Compiled), String> {
    let cat = catalog(&args.schema)?;
    let mut files = Vec::new();
    for p in &args.rules {
        collect_rule_files(p, &mut files)?;
    }
    if files.is_empty() {
        let given: Vec<String> = args.rules.iter().map(|p| p.display().to_string()).collect();
        return Err(format!(
            "no .scry rule files in {} (give rule files or folders with --rules)",
            given.join(", ")
        ));
    }
    let mut sources = Sources::default();
    for f in &files {
        let bytes = std::fs::read(f).map_err(|e| format!("{}: {e}", f.display()))?;
        let text = String::from_utf8(bytes).map_err(|e| {
            format!(
                "{}: not UTF-8 (byte {})",
                f.display(),
                e.utf8_error().valid_up_to()
            )
        })?;
        sources.add(f.display().to_string(), text);
    }
    let compiled = compile::compile(&sources, cat);
    let (errors, warnings) = render::emit(&sources, &compiled.diagnostics);
    if errors > 0 {
        return Err(format!(
            "{errors} error(s), {warnings} warning(s) in the rules"
        ));
    }
    if args.deny_warnings && warnings > 0 {
        return Err(format!(
            "{warnings} warning(s) in the rules (--deny-warnings)"
        ));
    }
    Ok((sources, compiled))
}

fn cmd_check(args: RulesArgs) -> Result<ExitCode, String> {
    let (sources, compiled) = load(&args)?;
    let warnings = compiled
        .diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Warning)
        .count();
    eprintln!(
        "scry: {} rule(s) in {} file(s) compiled, {warnings} warning(s)",
        compiled.rules.rules.len(),
        sources.files.len()
    );
    Ok(ExitCode::SUCCESS)
}

fn cmd_explain(args: RulesArgs) -> Result<ExitCode, String> {
    let (_, compiled) = load(&args)?;
    let plan = Plan::new(compiled.rules);
    print!("{plan}");
    println!();
    print!(
        "{}",
        scry_engine::prefilter::Prefilter::build(&plan, None, false)
    );
    println!();
    explain_columnar(&plan);
    Ok(ExitCode::SUCCESS)
}

/// What a Parquet or Arrow IPC input costs these rules: the columns decoded, and which row
/// groups are skipped unread.
fn explain_columnar(plan: &Plan) {
    let mut names: Vec<&str> = plan.fields.names().map(|(_, n)| n).collect();
    if !names.contains(&"Type") {
        names.push("Type");
    }
    names.sort_unstable();
    println!(
        "columnar inputs (Parquet, Arrow IPC): {} column(s) decoded, others never read: {}",
        names.len(),
        names.join(", ")
    );
    // Windows are relative to the clock: show the span at now = 0 as offsets from now.
    let rel = |t: i64| match t {
        0 => "now".to_string(),
        t if t < 0 => format!("now - {}", kql::time::format_timespan(-t)),
        t => format!("now + {}", kql::time::format_timespan(t)),
    };
    match scry_engine::exec::time_span(plan, 0, None, None) {
        (None, None) => println!(
            "  Parquet row groups: all read (a rule or set without a window can keep any time)"
        ),
        (lo, hi) => println!(
            "  Parquet row groups skipped when their Timestamp statistics lie wholly outside [{}, {}] (and --since/--until)",
            lo.map_or("any time".to_string(), rel),
            hi.map_or("any time".to_string(), rel)
        ),
    }
}

fn cmd_test(args: RulesArgs) -> Result<ExitCode, String> {
    let (_, compiled) = load(&args)?;
    let plan = Plan::new(compiled.rules);
    let now = parse_now(None)?;
    let (mut passed, mut failed) = (0, 0);
    for ri in 0..plan.rules.len() {
        let report = scry_engine::testing::check_examples(&plan, ri, now);
        let rule = &plan.rules[ri];
        for c in &report.cases {
            if c.ok {
                passed += 1;
            } else {
                failed += 1;
                println!(
                    "FAIL {} :: {}: expected {}, got {}",
                    rule.name, c.label, c.expected, c.got
                );
            }
        }
        let ok = report.passed();
        println!(
            "{} {} ({} example(s), {} result row(s))",
            if ok { "ok  " } else { "FAIL" },
            rule.name,
            report.cases.len(),
            report.results.len()
        );
    }
    println!("{passed} passed, {failed} failed");
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn cmd_eval(args: EvalArgs) -> Result<ExitCode, String> {
    let cat = catalog(&args.schema)?;
    let now = parse_now(args.now.as_deref())?;
    let mut sources = Sources::default();
    sources.add("<expr>", args.expr.clone());
    let (expr, fields) = match compile::compile_expr(&args.expr, args.table.as_deref(), &cat) {
        Ok(x) => x,
        Err(diags) => {
            render::emit(&sources, &diags);
            return Ok(ExitCode::from(2));
        }
    };
    let mut row = Row::new(&fields);
    if let Some(ev) = &args.event {
        scry_engine::exec::row_from_json(ev, &fields, &mut row)
            .map_err(|e| format!("--event is not a JSON object: {e}"))?;
    } else if !fields.is_empty() {
        return Err("the expression reads columns: give the event with --event '{...}'".into());
    }
    let v = scry_engine::exec::eval_on_row(&expr, &row, now);
    println!("{}", value_to_json(&v));
    Ok(ExitCode::SUCCESS)
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

/// `scry man`: the man page from the CLI definition; with a folder, one page per command.
fn cmd_man(dir: Option<&Path>) -> Result<ExitCode, String> {
    use clap::CommandFactory as _;
    let cmd = Cli::command();
    let Some(dir) = dir else {
        clap_mangen::Man::new(cmd)
            .render(&mut std::io::stdout())
            .map_err(|e| format!("writing the man page: {e}"))?;
        return Ok(ExitCode::SUCCESS);
    };
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut pages = vec![("scry".to_string(), cmd.clone())];
    for sub in cmd.get_subcommands() {
        pages.push((format!("scry-{}", sub.get_name()), sub.clone()));
    }
    for (name, page) in pages {
        let path = dir.join(format!("{name}.1"));
        let mut out = Vec::new();
        clap_mangen::Man::new(page)
            .title(name.to_uppercase())
            .render(&mut out)
            .map_err(|e| format!("rendering {name}: {e}"))?;
        std::fs::write(&path, out).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    Ok(ExitCode::SUCCESS)
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
    eprintln!(
        "profile: {:.3} s wall, {:.1} MB/s, {:.0} records/s",
        secs,
        bytes as f64 / secs / 1e6,
        st.read as f64 / secs
    );
    if st.read > 0 {
        eprintln!(
            "  prefilter: {} of {} record(s) parsed ({:.2} %)",
            st.read - st.ruled_out,
            st.read,
            100.0 * (st.read - st.ruled_out) as f64 / st.read as f64
        );
    }
    let mut order: Vec<usize> = (0..profile.len()).collect();
    order.sort_by(|&a, &b| profile[b].nanos.cmp(&profile[a].nanos).then(a.cmp(&b)));
    eprintln!("  {:>10} {:>10} {:>10}  rule", "rows", "hits", "ms");
    for ri in order {
        let p = &profile[ri];
        eprintln!(
            "  {:>10} {:>10} {:>10.3}  {}",
            p.rows,
            st.rules[ri].passed,
            p.nanos as f64 / 1e6,
            plan.rules[ri].name
        );
    }
}

fn cmd_run(args: RunArgs) -> Result<ExitCode, String> {
    let (_, compiled) = load(&args.rules)?;
    let now = parse_now(args.now.as_deref())?;
    let since = args
        .since
        .as_deref()
        .map(|s| parse_now(Some(s)))
        .transpose()?;
    let until = args
        .until
        .as_deref()
        .map(|s| parse_now(Some(s)))
        .transpose()?;
    if let Some(t) = &args.table {
        if compiled.rules.catalog.table(t).is_none() {
            return Err(format!("--table {t}: unknown table"));
        }
    }
    let plan = Plan::new(compiled.rules);
    let filter = io::InputFilter::new(&args.include, &args.exclude)?;
    let inputs = io::expand_inputs_filtered(&args.inputs, &filter).map_err(|e| e.to_string())?;
    let threads = match args.threads {
        Some(0) => return Err("--threads must be at least 1".into()),
        Some(n) => n,
        None => std::thread::available_parallelism().map_or(1, usize::from),
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
            eprintln!("scry: skipped {name}: {}", r.message);
        } else {
            eprintln!("scry: skipped {name}:{}: {}", r.line, r.message);
        }
    }
    if outcome.reported > outcome.reports.len() as u64 {
        eprintln!(
            "scry: {} more skipped record(s) only counted (see the summary; --max-skip-reports shows more)",
            outcome.reported - outcome.reports.len() as u64
        );
    }
    if args.strict {
        if let Some(r) = outcome.reports.first() {
            return Err(format!(
                "{}:{}: {} (--strict)",
                outcome.inputs[r.input].name, r.line, r.message
            ));
        }
    }
    let mut input_errors = 0;
    for i in &outcome.inputs {
        if let Some(e) = &i.error {
            eprintln!("scry: error: {e}");
            input_errors += 1;
        }
    }
    let results = &outcome.results;
    let out: Box<dyn Write> = match &args.output {
        Some(p) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(p).map_err(|e| format!("{}: {e}", p.display()))?,
        )),
        None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
    };
    let format = args.format.unwrap_or(
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
        OutputFormat::Sarif => Box::new(sinks::sarif::Sarif::new(
            out,
            sinks::RunInfo::of(&outcome, now),
        )),
        OutputFormat::Ocsf => Box::new(sinks::ocsf::Ocsf::new(
            out,
            sinks::RunInfo::of(&outcome, now),
        )),
        OutputFormat::Timesketch => Box::new(sinks::timesketch::Timesketch::new(
            out,
            sinks::RunInfo::of(&outcome, now),
        )),
    };
    for r in results {
        sink.row(&plan, r)
            .map_err(|e| format!("writing results: {e}"))?;
    }
    sink.finish(&plan)
        .map_err(|e| format!("writing results: {e}"))?;
    drop(sink);

    // The run summary always reconciles: read = evaluated + skipped.
    let st = &outcome.stats;
    let skipped = st.skipped_total();
    let bytes: u64 = outcome.inputs.iter().map(|i| i.stats.bytes).sum();
    eprintln!(
        "scry: {} input(s), {} bytes, {} record(s) read: {} evaluated, {} skipped ({} thread(s))",
        inputs.len(),
        bytes,
        st.read,
        st.evaluated,
        skipped,
        threads
    );
    for i in &outcome.inputs {
        match &i.error {
            // An input that could not be opened has no format to speak of.
            Some(_) if i.stats.bytes == 0 && i.stats.records == 0 => {
                eprintln!("  input {}: unreadable (0 records)", i.name)
            }
            Some(_) => eprintln!(
                "  input {}: {} ({} records, then unreadable)",
                i.name, i.stats.format, i.stats.records
            ),
            None => eprintln!(
                "  input {}: {} ({} records)",
                i.name, i.stats.format, i.stats.records
            ),
        }
    }
    if st.ruled_out > 0 {
        eprintln!(
            "  {} record(s) evaluated by the prefilter alone: they hold none of the rules' required literals (--no-prefilter parses them)",
            st.ruled_out
        );
    }
    for (reason, n) in &st.skipped {
        eprintln!("  skipped {n}: {reason}");
    }
    if !plan.sets.is_empty() {
        if outcome.two_pass {
            eprintln!("  sets collected in a first pass over the input:");
        } else {
            eprintln!(
                "  sets collected in one pass (standard input), {} candidate row(s) held until they were complete:",
                st.held
            );
        }
        for (set, n) in plan.sets.iter().zip(&outcome.set_sizes) {
            eprintln!("    {}: {n} value(s)", set.name);
        }
    }
    for (t, n) in &st.inferred {
        eprintln!("  table {t} inferred from columns for {n} record(s) (no Type column)");
    }
    for (t, n) in &st.per_table {
        eprintln!("  table {t}: {n} record(s)");
    }
    for (ri, rs) in st.rules.iter().enumerate() {
        let rule = &plan.rules[ri];
        let supp: u64 = rs.suppressed.iter().sum();
        eprintln!(
            "  rule {}: {} result(s) from {} matching record(s), {} suppressed",
            rule.name, rs.results, rs.passed, supp
        );
        for (x, n) in rule.exclusions.iter().zip(&rs.suppressed) {
            if *n > 0 {
                eprintln!("    except \"{}\": {n} suppressed", x.name);
            }
        }
        if rs.capped_sets > 0 {
            eprintln!(
                "    make_set reached its cap in {} group(s): the smallest values were kept",
                rs.capped_sets
            );
        }
        if rs.over_budget > 0 {
            eprintln!(
                "    group budget (--max-groups {}) spent: {} row(s) needing a new group left out; results incomplete",
                args.max_groups, rs.over_budget
            );
        }
    }
    for (ri, rs) in st.rules.iter().enumerate() {
        if rs.over_budget > 0 {
            eprintln!(
                "scry: warning: rule {}: the group budget (--max-groups {}) was spent; {} row(s) needing a new group were left out, its results are incomplete",
                plan.rules[ri].name, args.max_groups, rs.over_budget
            );
        }
    }
    if let Some(path) = &args.report {
        report::write(path, &plan, &outcome, now)
            .map_err(|e| format!("{}: {e}", path.display()))?;
    }
    if let Some(profile) = &outcome.profile {
        print_profile(&plan, &outcome, profile, bytes);
    }
    if st.windowed > 0 && st.in_window == 0 {
        eprintln!(
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
