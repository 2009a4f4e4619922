//! `scry import ...`: rules written for other tools → `.scry` packs.

use crate::render;
use clap::{Args, Subcommand};
use scry_engine::diag::Severity;
use scry_engine::import;
use std::path::PathBuf;
use std::process::ExitCode;

/// `scry import SOURCE ...`.
#[derive(Args)]
pub struct ImportArgs {
    #[command(subcommand)]
    pub source: ImportSource,
}

/// Where rules are imported from.
#[derive(Subcommand)]
pub enum ImportSource {
    /// Sentinel / Defender hunting-rule YAML files (and bare .kql files).
    Kql(KqlImportArgs),
    /// The LOLRMM catalogue: file-signature and network rules per tool.
    Lolrmm(crate::lolrmm::LolrmmArgs),
    /// Sigma rules: one .scry file per Sigma file, and the schema file of the columns they read.
    Sigma(crate::sigma_load::SigmaImportArgs),
}

#[derive(Args)]
pub struct KqlImportArgs {
    /// Rule files (.yaml, .yml, .kql) or folders, searched recursively.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// Write one pack per tool (the rule file's folder) into this folder; default: stdout.
    #[arg(long)]
    out: Option<PathBuf>,
    /// One file per rule instead of one pack per tool.
    #[arg(long)]
    per_rule: bool,
    /// Correct the known defects of published queries (each reported as a warning and
    /// marked in the output with a `// scry import --fix:` comment).
    #[arg(long)]
    fix: bool,
    /// The project named in the provenance comments (default: the folder's name).
    #[arg(long)]
    project: Option<String>,
    /// Extra schema/alias files (JSON), added to the built-in Defender tables.
    #[arg(long = "schema")]
    schema: Vec<PathBuf>,
}

pub fn cmd_import(args: ImportArgs) -> Result<ExitCode, String> {
    match args.source {
        ImportSource::Kql(a) => cmd_import_kql(a),
        ImportSource::Lolrmm(a) => crate::lolrmm::cmd_import_lolrmm(a),
        ImportSource::Sigma(a) => crate::sigma_load::cmd_import_sigma(a),
    }
}

fn cmd_import_kql(args: KqlImportArgs) -> Result<ExitCode, String> {
    let catalog = crate::catalog(&args.schema)?;
    let (inputs, roots) = import::collect(&args.paths, args.project.as_deref())?;
    if inputs.is_empty() {
        let given: Vec<String> = args.paths.iter().map(|p| p.display().to_string()).collect();
        return Err(format!(
            "no .yaml, .yml or .kql files in {}",
            given.join(", ")
        ));
    }
    let imported = import::import_kql(inputs, roots, &catalog, args.fix);
    render::emit(&imported.sources, &imported.diagnostics);
    let packs = import::packs(&imported, args.per_rule);
    match &args.out {
        Some(dir) => {
            std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
            for p in &packs {
                let path = dir.join(&p.file_name);
                // The canonical layout, so that `scry fmt --check` holds for imported packs.
                let text = scry_grammar::fmt::format(&p.text)
                    .map_err(|e| format!("{}: {e}", path.display()))?;
                std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))?;
            }
        }
        None => {
            let mut all = String::new();
            for (i, p) in packs.iter().enumerate() {
                if i > 0 {
                    all.push('\n');
                }
                all.push_str(
                    &scry_grammar::fmt::format(&p.text)
                        .map_err(|e| format!("{}: {e}", p.file_name))?,
                );
            }
            print!("{all}");
        }
    }
    let refused = imported.refused();
    let skipped = imported.files.iter().filter(|f| f.skipped).count();
    let fixed = imported
        .diagnostics
        .iter()
        .filter(|d| d.code == scry_engine::diag::codes::IMPORT_FIXED)
        .count();
    let rule_files = imported.files.len() - skipped;
    let place = match &args.out {
        Some(d) => format!(" in {}", d.display()),
        None => String::new(),
    };
    let what = if args.per_rule { "file(s)" } else { "pack(s)" };
    let mut summary = format!(
        "scry: imported {} of {rule_files} rule file(s) into {} {what}{place}",
        imported.imported(),
        packs.len()
    );
    if fixed > 0 {
        summary.push_str(&format!(", {fixed} correction(s) by --fix"));
    }
    if refused > 0 {
        summary.push_str(&format!(
            "; {refused} refused (see the errors above{})",
            if args.fix {
                ""
            } else {
                "; --fix corrects the known defects"
            }
        ));
    }
    if skipped > 0 {
        summary.push_str(&format!("; {skipped} file(s) without `query` skipped"));
    }
    eprintln!("{summary}");
    let internal = imported
        .diagnostics
        .iter()
        .any(|d| d.severity == Severity::Internal);
    Ok(if refused > 0 || internal {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    })
}
