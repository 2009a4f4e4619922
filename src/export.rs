//! `scry export ...`: scry rules → queries for other tools.

use crate::render;
use clap::{Args, Subcommand};
use scry_engine::compile::Sources;
use scry_engine::export;
use std::path::PathBuf;
use std::process::ExitCode;

/// `scry export TARGET ...`.
#[derive(Args)]
pub struct ExportArgs {
    #[command(subcommand)]
    pub target: ExportTarget,
}

/// What rules are exported to.
#[derive(Subcommand)]
pub enum ExportTarget {
    /// KQL hunting queries (Defender XDR advanced hunting, Sentinel).
    Kql(KqlExportArgs),
}

#[derive(Args)]
pub struct KqlExportArgs {
    /// Rule files or folders (searched recursively for .scry files).
    #[arg(required = true)]
    rules: Vec<PathBuf>,
    /// Wrap each query in the Sentinel rule YAML shape (documents separated by `---`).
    #[arg(long)]
    yaml: bool,
    /// Extra schema/alias files (JSON), added to the built-in Defender tables.
    #[arg(long = "schema")]
    schema: Vec<PathBuf>,
}

pub fn cmd_export(args: ExportArgs) -> Result<ExitCode, String> {
    match args.target {
        ExportTarget::Kql(a) => cmd_export_kql(a),
    }
}

fn cmd_export_kql(args: KqlExportArgs) -> Result<ExitCode, String> {
    let catalog = crate::catalog(&args.schema)?;
    let mut files = Vec::new();
    for p in &args.rules {
        crate::collect_rule_files(p, &mut files)?;
    }
    // Sigma files travel as they are.
    files.retain(|f| !crate::sigma_load::is_yaml(f));
    if files.is_empty() {
        return Err("no .scry rule files given".into());
    }
    let mut sources = Sources::default();
    let mut diags = Vec::new();
    let mut out = String::new();
    let mut count = 0;
    for f in &files {
        let text = std::fs::read_to_string(f).map_err(|e| format!("{}: {e}", f.display()))?;
        let idx = sources.add(f.display().to_string(), text.clone());
        let (rules, d) = export::kql(&text, idx, &catalog);
        diags.extend(d);
        for r in rules {
            if args.yaml {
                if count > 0 {
                    out.push_str("---\n");
                }
                out.push_str(&r.yaml);
            } else {
                if count > 0 {
                    out.push('\n');
                }
                out.push_str(&format!("// {}\n", r.name));
                out.push_str(&r.kql);
            }
            count += 1;
        }
    }
    print!("{out}");
    let (errors, _) = render::emit(&sources, &diags);
    if errors > 0 {
        return Err(format!("{errors} rule(s) could not be exported"));
    }
    Ok(ExitCode::SUCCESS)
}
