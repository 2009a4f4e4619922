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
    /// Sigma rules, for the rules whose detection Sigma expresses exactly; the others are
    /// refused by name (E0311).
    Sigma(SigmaExportArgs),
}

#[derive(Args)]
pub struct SigmaExportArgs {
    /// Rule files or folders (searched recursively for .scry files).
    #[arg(long = "rules", required = true)]
    rules: Vec<PathBuf>,
    /// Write one `<rule>.yml` per exported rule into this folder; default: every rule on
    /// stdout, as YAML documents separated by `---`.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Extra schema/alias files (JSON), added to the built-in Defender tables.
    #[arg(long = "schema")]
    schema: Vec<PathBuf>,
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
        ExportTarget::Sigma(a) => cmd_export_sigma(a),
    }
}

/// Refusals (E0311) are the expected outcome for rules Sigma cannot express: they are shown
/// and counted, and fail the command only when nothing at all was exported. Any other error
/// (a rule file that does not parse) fails it.
fn cmd_export_sigma(args: SigmaExportArgs) -> Result<ExitCode, String> {
    let catalog = crate::catalog(&args.schema)?;
    let files = scry_files(&args.rules)?;
    if let Some(dir) = &args.out {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    let mut sources = Sources::default();
    let mut diags = Vec::new();
    let mut out = String::new();
    let mut exported = 0usize;
    let mut written: Vec<String> = Vec::new();
    for f in &files {
        let text = std::fs::read_to_string(f).map_err(|e| format!("{}: {e}", f.display()))?;
        let idx = sources.add(f.display().to_string(), text.clone());
        let (rules, d) = export::sigma::export(&text, idx, &catalog);
        diags.extend(d);
        for r in rules {
            match &args.out {
                Some(dir) => {
                    if written.contains(&r.name) {
                        return Err(format!(
                            "two rules named `{}`: one file each is needed",
                            r.name
                        ));
                    }
                    let path = dir.join(format!("{}.yml", r.name));
                    std::fs::write(&path, &r.yaml)
                        .map_err(|e| format!("{}: {e}", path.display()))?;
                    written.push(r.name.clone());
                }
                None => {
                    if exported > 0 {
                        out.push_str("---\n");
                    }
                    out.push_str(&r.yaml);
                }
            }
            exported += 1;
        }
    }
    print!("{out}");
    let refused: Vec<&scry_engine::diag::Diagnostic> = diags
        .iter()
        .filter(|d| d.code == scry_engine::diag::codes::EXPORT_SIGMA_UNSUPPORTED)
        .collect();
    let mut reasons: Vec<(String, usize)> = Vec::new();
    for d in &refused {
        let reason = d
            .message
            .split_once(" has no Sigma form: ")
            .map_or(d.message.as_str(), |(_, r)| r);
        // The reason without the rule's own values: what the summary counts.
        let class = reason.split(" (").next().unwrap_or(reason).to_string();
        match reasons.iter_mut().find(|(k, _)| *k == class) {
            Some((_, n)) => *n += 1,
            None => reasons.push((class, 1)),
        }
    }
    reasons.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let (errors, _) = render::emit(&sources, &diags);
    let mut summary = format!(
        "scry: sigma: {exported} rule(s) exported, {} refused",
        refused.len()
    );
    if !reasons.is_empty() {
        let top: Vec<String> = reasons.iter().map(|(k, n)| format!("{n} {k}")).collect();
        summary.push_str(&format!(" ({})", top.join("; ")));
    }
    crate::escape::say!("{summary}");
    if errors > refused.len() || (exported == 0 && !refused.is_empty()) {
        return Err(format!("{} rule(s) could not be exported", errors));
    }
    Ok(ExitCode::SUCCESS)
}

fn cmd_export_kql(args: KqlExportArgs) -> Result<ExitCode, String> {
    let catalog = crate::catalog(&args.schema)?;
    let files = scry_files(&args.rules)?;
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

/// The `.scry` files under `paths` (Sigma `.yml` files beside them are left out: they are
/// already in the format an export would write, or travel as they are); none is an error.
fn scry_files(paths: &[std::path::PathBuf]) -> Result<Vec<std::path::PathBuf>, String> {
    let mut files = Vec::new();
    for p in paths {
        crate::collect_rule_files(p, &mut files)?;
    }
    files.retain(|f| !crate::sigma_load::is_yaml(f));
    if files.is_empty() {
        return Err("no .scry rule files given".into());
    }
    Ok(files)
}
