//! `scry fmt`: gives `.scry` files their canonical layout (see `scry_grammar::fmt`), in place,
//! from stdin to stdout (`-`), or with `--check` as a unified diff and exit code 1.

use clap::Args;
use scry_grammar::fmt::{format, FmtError};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Args)]
pub struct FmtArgs {
    /// Rule files or folders (searched recursively for .scry files); `-` formats standard
    /// input to standard output.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// Change nothing: print a unified diff of what would change and exit 1 if anything would.
    #[arg(long)]
    check: bool,
}

pub fn cmd_fmt(args: FmtArgs) -> Result<ExitCode, String> {
    let mut changed = 0usize;
    let mut failed = 0usize;
    for p in &args.paths {
        if p.as_os_str() == "-" {
            let mut src = String::new();
            std::io::stdin()
                .read_to_string(&mut src)
                .map_err(|e| format!("standard input: {e}"))?;
            match format(&src) {
                Ok(out) if args.check => {
                    if out != src {
                        changed += 1;
                        print!("{}", diff("<stdin>", &src, &out));
                    }
                }
                Ok(out) => {
                    let mut stdout = std::io::stdout().lock();
                    stdout
                        .write_all(out.as_bytes())
                        .map_err(|e| format!("standard output: {e}"))?;
                }
                Err(e) => {
                    report("<stdin>", &src, &e);
                    failed += 1;
                }
            }
            continue;
        }
        let mut files = Vec::new();
        crate::collect_rule_files(p, &mut files)?;
        // Sigma files are formatted by their own tools.
        files.retain(|f| !crate::sigma_load::is_yaml(f));
        for f in files {
            match one_file(&f, args.check) {
                Ok(true) => changed += 1,
                Ok(false) => {}
                Err(()) => failed += 1,
            }
        }
    }
    if failed > 0 {
        return Err(format!("{failed} file(s) could not be formatted"));
    }
    if args.check && changed > 0 {
        eprintln!("scry: {changed} file(s) not formatted (run `scry fmt` on them)");
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}

/// Formats one file; `Ok(true)` when it changed (or would, with `check`).
fn one_file(path: &Path, check: bool) -> Result<bool, ()> {
    let name = path.display().to_string();
    let src = match std::fs::read_to_string(path) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("scry: error: {name}: {e}");
            return Err(());
        }
    };
    let out = match format(&src) {
        Ok(out) => out,
        Err(e) => {
            report(&name, &src, &e);
            return Err(());
        }
    };
    if out == src {
        return Ok(false);
    }
    if check {
        print!("{}", diff(&name, &src, &out));
    } else if let Err(e) = std::fs::write(path, &out) {
        eprintln!("scry: error: {name}: {e}");
        return Err(());
    }
    Ok(true)
}

fn report(name: &str, src: &str, e: &FmtError) {
    match e {
        FmtError::Syntax(errs) => {
            for err in errs {
                eprint!("{}", scry_grammar::render_plain(name, src, err));
            }
        }
        other => eprintln!("scry: error: {name}: {other}"),
    }
}

/// A unified diff (3 lines of context) from `old` to `new`, headed `a/NAME` and `b/NAME`.
pub fn diff(name: &str, old: &str, new: &str) -> String {
    similar::TextDiff::from_lines(old, new)
        .unified_diff()
        .context_radius(3)
        .header(
            &format!("a/{}", name.trim_start_matches('/')),
            &format!("b/{}", name.trim_start_matches('/')),
        )
        .to_string()
}
