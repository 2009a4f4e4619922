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
    /// A JSON-lines file holding the event (with `--line`); storage-account records
    /// (`properties`, `category`) and one-row containers (`records`) are read as `scry run`
    /// reads them.
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
    let (event, category) = unwrap_record(event).map_err(|e| format!("{where_from}: {e}"))?;
    let plan = Plan::new(compiled.rules);
    let table = args.table.clone().or(category.clone());
    if let Some(name) = &args.rule {
        if !plan.rules.iter().any(|r| &r.name == name) {
            return Err(format!("--rule {name}: no such rule in the rules given"));
        }
    }
    let wanted = |ri: usize| args.rule.as_ref().is_none_or(|n| *n == plan.rules[ri].name);
    let mut ex = explain::Explainer::new(&plan, &sources)
        .explain(&event, table.as_deref(), now, &wanted)
        .map_err(|e| format!("{where_from}: {e}"))?;
    if args.table.is_none() && category.is_some() {
        ex.table_from = "its category (a storage-account record)".into();
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

/// The row a JSON record holds, read the way `scry run` reads a JSON-lines record (see
/// `scry_engine::io`): a storage-account record `{"category": "AdvancedHunting-T",
/// "properties": {...}}` is its `properties` (of table `T`); a container (`records` or
/// `Results`, as Event Hubs and the hunting API write) of one row is that row; anything else
/// is the row itself. A container of several rows is refused: the line does not name one.
fn unwrap_record(event: serde_json::Value) -> Result<(serde_json::Value, Option<String>), String> {
    use serde_json::Value;
    let Value::Object(mut obj) = event else {
        return Ok((event, None));
    };
    for key in ["records", "Results"] {
        if let Some(Value::Array(rows)) = obj.get_mut(key) {
            return match rows.len() {
                1 => unwrap_record(rows.remove(0)),
                n => Err(format!(
                    "the record is a container of {n} rows (`{key}`): give one of them with --event"
                )),
            };
        }
    }
    if let Some(Value::Object(props)) = obj.get("properties") {
        let table = match obj.get("category") {
            Some(Value::String(c)) => {
                let t = c.strip_prefix("AdvancedHunting-").unwrap_or(c);
                (!t.is_empty()).then(|| t.to_string())
            }
            _ => None,
        };
        return Ok((Value::Object(props.clone()), table));
    }
    Ok((Value::Object(obj), None))
}
