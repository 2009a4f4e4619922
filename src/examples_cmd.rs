//! `scry examples`: generated example blocks for the rules that have none.

use crate::{load, RulesArgs};
use clap::Args;
use scry_engine::examples::{self, Insertion, Options};
use scry_engine::kql;
use std::process::ExitCode;

#[derive(Args)]
pub struct ExamplesArgs {
    #[command(flatten)]
    pub rules: RulesArgs,
    /// The examples' clock, RFC 3339 (default 2024-05-15T12:00:00Z, so that regenerated
    /// blocks are byte-identical).
    #[arg(long)]
    pub now: Option<String>,
    /// Insert each block before its rule's closing `}` instead of printing it.
    #[arg(long)]
    pub write: bool,
}

pub fn cmd_examples(args: ExamplesArgs) -> Result<ExitCode, String> {
    let (sources, compiled) = load(&args.rules)?;
    let mut opts = Options::default();
    if let Some(s) = &args.now {
        opts.now = kql::time::parse_datetime(s).ok_or_else(|| {
            format!("--now {s:?} is not an RFC 3339 datetime (e.g. 2024-05-15T12:00:00Z)")
        })?;
    }
    let catalog = &compiled.rules.catalog;
    let (mut written, mut unsupported) = (0usize, 0usize);
    for (fi, file) in sources.files.iter().enumerate() {
        let Some(missing) = examples::rules_without_examples(&file.text) else {
            continue;
        };
        let mut ins = Vec::new();
        for rule in compiled.rules.rules.iter().filter(|r| r.file == fi) {
            let Some((_, end)) = missing.iter().find(|(n, _)| *n == rule.name) else {
                continue;
            };
            match examples::generate(rule, catalog, &opts) {
                Ok(g) => {
                    for d in &g.dropped {
                        eprintln!("scry: rule {}: dropped {d}", rule.name);
                    }
                    let block = examples::render_block(&g, "  ");
                    if !args.write {
                        println!("// {}: rule {}", file.name, rule.name);
                        print!("{block}");
                    }
                    ins.push(Insertion {
                        rule: rule.name.clone(),
                        rule_end: *end,
                        block,
                    });
                }
                Err(e) => {
                    eprintln!("scry: {}: {e}", file.name);
                    unsupported += 1;
                }
            }
        }
        if args.write && !ins.is_empty() {
            let text = examples::insert_blocks(&file.text, &ins);
            std::fs::write(&file.name, text).map_err(|e| format!("{}: {e}", file.name))?;
            eprintln!(
                "scry: {}: {} examples block(s) written",
                file.name,
                ins.len()
            );
        }
        written += ins.len();
    }
    if written == 0 && unsupported == 0 {
        eprintln!("scry: every rule already has examples");
    }
    Ok(if unsupported > 0 {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    })
}
