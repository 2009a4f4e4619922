//! `scry why`: why one event passes each rule or not (`scry_engine::explain`).

use crate::RulesArgs;
use clap::{Args, ValueEnum};
use scry_engine::explain;
use scry_engine::plan::Plan;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Clone, Copy, ValueEnum)]
enum WhyFormat {
    /// For people.
    Text,
    /// One JSON document, for tools.
    Json,
}

#[derive(Args)]
pub struct WhyArgs {
    #[command(flatten)]
    rules: RulesArgs,
    /// The event, a JSON object.
    #[arg(long, conflicts_with = "input", required_unless_present = "input")]
    event: Option<String>,
    /// A JSON-lines file holding the event (with `--line`).
    #[arg(long, requires = "line")]
    input: Option<PathBuf>,
    /// The event's line in `--input` (1-based).
    #[arg(long)]
    line: Option<usize>,
    /// The event's table (default: its `Type` field, else the one table its columns fit).
    #[arg(long)]
    table: Option<String>,
    /// Only this rule (by name).
    #[arg(long)]
    rule: Option<String>,
    /// The evaluation clock, RFC 3339 (default: now).
    #[arg(long)]
    now: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    format: WhyFormat,
}

pub fn cmd_why(args: WhyArgs) -> Result<ExitCode, String> {
    let (sources, compiled) = crate::load(&args.rules)?;
    let now = crate::parse_now(args.now.as_deref())?;
    let text = match (&args.event, &args.input, args.line) {
        (Some(e), _, _) => e.clone(),
        (None, Some(path), Some(n)) => {
            let all =
                std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
            let count = all.lines().count();
            all.lines()
                .nth(n.wrapping_sub(1))
                .ok_or_else(|| format!("{}: no line {n} (the file has {count})", path.display()))?
                .to_string()
        }
        _ => return Err("give the event with --event JSON, or --input FILE --line N".into()),
    };
    let where_from = match (&args.input, args.line) {
        (Some(p), Some(n)) => format!("{}:{n}", p.display()),
        _ => "--event".into(),
    };
    let event: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| format!("{where_from}: event is not JSON: {e}"))?;
    let plan = Plan::new(compiled.rules);
    let mut ex = explain::explain(&plan, &sources, &event, args.table.as_deref(), now)
        .map_err(|e| format!("{where_from}: {e}"))?;
    if let Some(name) = &args.rule {
        ex.rules.retain(|r| &r.rule == name);
        if ex.rules.is_empty() {
            return Err(format!("--rule {name}: no such rule in the rules given"));
        }
    }
    match args.format {
        WhyFormat::Text => print!("{}", explain::render(&ex)),
        WhyFormat::Json => println!(
            "{}",
            serde_json::to_string_pretty(&ex).map_err(|e| e.to_string())?
        ),
    }
    if ex.rules.iter().any(|r| !r.consistent) {
        return Err("the explanation disagrees with the engine (a bug): see above".into());
    }
    Ok(ExitCode::SUCCESS)
}
