//! `scry`: run detection rules with exact KQL semantics over exported event files.

mod escape;
mod examples_cmd;
mod export;
mod fmt;
mod import;
mod lolrmm;
mod lsp;
mod output;
mod render;
mod report;
mod run_cmd;
mod sigma_load;
mod sinks;
#[cfg(feature = "kafka")]
mod stream;
mod summary;
mod target;
mod why;

use clap::{Args, Parser, Subcommand};
use scry_engine::compile::{self, Sources};
use scry_engine::diag::Severity;
use scry_engine::exec::value_to_json;
use scry_engine::kql;
use scry_engine::plan::Plan;
use scry_engine::row::Row;
use scry_engine::schema::Catalog;
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
    Run(run_cmd::RunArgs),
    /// Compile and lint rules without data.
    Check(RulesArgs),
    /// Print the optimized plan of a rule set.
    Explain(RulesArgs),
    /// Run the rules' own example events.
    Test(RulesArgs),
    /// Explain why one event passes each rule or not: table, window, each condition.
    Why(why::WhyArgs),
    /// Evaluate one expression and print its value as JSON.
    Eval(EvalArgs),
    /// Generate example events for rules that have none, from their own needles.
    Examples(examples_cmd::ExamplesArgs),
    /// Write rule packs from rules or catalogues of other tools.
    Import(import::ImportArgs),
    /// Print rules as queries for other tools.
    Export(export::ExportArgs),
    /// A Language Server Protocol server over stdio (for editors).
    Lsp {
        /// Extra schema/alias files (JSON), as for `scry check`.
        #[arg(long = "schema")]
        schema: Vec<PathBuf>,
    },
    /// Give rule files their canonical layout (in place; `-` for stdin; `--check` for CI).
    Fmt(fmt::FmtArgs),
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
pub struct RulesArgs {
    /// Rule files or folders (searched recursively for .scry files); repeat for several.
    #[arg(long = "rules", short = 'r', default_value = "rules")]
    rules: Vec<PathBuf>,
    /// Extra schema/alias files (JSON), added to the built-in Defender tables.
    #[arg(long = "schema")]
    schema: Vec<PathBuf>,
    /// Treat warnings as errors.
    #[arg(long)]
    deny_warnings: bool,
    /// Values of Sigma `expand` placeholders: a JSON object, name → value or list of values.
    #[arg(long)]
    placeholders: Option<PathBuf>,
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
        Command::Run(a) => run_cmd::cmd_run(a),
        Command::Check(a) => cmd_check(a),
        Command::Explain(a) => cmd_explain(a),
        Command::Test(a) => cmd_test(a),
        Command::Why(a) => why::cmd_why(a),
        Command::Eval(a) => cmd_eval(a),
        Command::Examples(a) => examples_cmd::cmd_examples(a),
        Command::Import(a) => import::cmd_import(a),
        Command::Export(a) => export::cmd_export(a),
        Command::Fmt(a) => fmt::cmd_fmt(a),
        Command::Lsp { schema } => catalog(&schema).and_then(lsp::cmd_lsp),
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
            // Messages may quote event text (a skipped record's column names).
            escape::say!("scry: error: {msg}");
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

/// The clock of `--now` (default: the wall clock).
fn parse_now(s: Option<&str>) -> Result<i64, String> {
    parse_instant("--now", s)
}

/// An RFC 3339 instant given with `flag` (`--now`, `--since`, `--until`), or the wall clock;
/// a bad one is reported against the flag it came with.
fn parse_instant(flag: &str, s: Option<&str>) -> Result<i64, String> {
    match s {
        Some(s) => kql::time::parse_datetime(s).ok_or_else(|| {
            format!("{flag} {s:?} is not an RFC 3339 datetime (e.g. 2024-05-15T12:00:00Z)")
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
    catalog_base(schema).map(Arc::new)
}

fn catalog_base(schema: &[PathBuf]) -> Result<Catalog, String> {
    let mut c = Catalog::builtin();
    for p in schema {
        let text = std::fs::read_to_string(p).map_err(|e| format!("{}: {e}", p.display()))?;
        c.add_file(&p.display().to_string(), &text)
            .map_err(|e| e.to_string())?;
    }
    Ok(c)
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
            if e.is_dir() || e.extension().is_some_and(|x| x == "scry") || sigma_load::is_yaml(&e) {
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
    let cat = catalog_base(&args.schema)?;
    let mut files = Vec::new();
    for p in &args.rules {
        collect_rule_files(p, &mut files)?;
    }
    if files.is_empty() {
        let given: Vec<String> = args.rules.iter().map(|p| p.display().to_string()).collect();
        return Err(format!(
            "no .scry or Sigma rule files in {} (give rule files or folders with --rules)",
            given.join(", ")
        ));
    }
    let mut texts = Vec::new();
    for f in &files {
        let bytes = std::fs::read(f).map_err(|e| format!("{}: {e}", f.display()))?;
        let text = String::from_utf8(bytes).map_err(|e| {
            format!(
                "{}: not UTF-8 (byte {})",
                f.display(),
                e.utf8_error().valid_up_to()
            )
        })?;
        texts.push((f.clone(), text));
    }
    let (sources, compiled, sigma) =
        sigma_load::compile_all(&texts, cat, args.placeholders.as_deref())?;
    let (errors, mut warnings) = render::emit(&sources, &compiled.diagnostics);
    if sigma.documents > 0 || !sigma.not_sigma.is_empty() {
        for r in &sigma.refusals {
            escape::say!("scry: warning: sigma rule refused: {r}");
        }
        for p in &sigma.not_sigma {
            escape::say!(
                "scry: note: {} is YAML but not a Sigma rule (no detection); left out",
                p.display()
            );
        }
        escape::say!("scry: {}", sigma.summary());
        warnings += sigma.refusals.len();
    }
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
                // `got` quotes the rule's example events, which may hold any text.
                println!(
                    "{}",
                    escape::escape(&format!(
                        "FAIL {} :: {}: expected {}, got {}",
                        rule.name, c.label, c.expected, c.got
                    ))
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
