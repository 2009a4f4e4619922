//! Rendering diagnostics for people: codespan-reporting on a terminal (colours only there),
//! the same text without colours when piped.

use crate::escape::escape;
use codespan_reporting::diagnostic::{Diagnostic as CsDiagnostic, Label, Severity as CsSeverity};
use codespan_reporting::files::SimpleFiles;
use codespan_reporting::term::{
    self,
    termcolor::{ColorChoice, StandardStream},
};
use scry_engine::compile::Sources;
use scry_engine::diag::{Diagnostic, Severity};
use std::io::IsTerminal;

/// Prints diagnostics to stderr; returns (errors, warnings).
pub fn emit(sources: &Sources, diags: &[Diagnostic]) -> (usize, usize) {
    let mut files = SimpleFiles::new();
    for f in &sources.files {
        files.add(f.name.clone(), f.text.clone());
    }
    let choice = if std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none() {
        ColorChoice::Auto
    } else {
        ColorChoice::Never
    };
    let writer = StandardStream::stderr(choice);
    let config = term::Config::default();
    let (mut errors, mut warnings) = (0, 0);
    for d in diags {
        let sev = match d.severity {
            Severity::Warning => {
                warnings += 1;
                CsSeverity::Warning
            }
            Severity::Error => {
                errors += 1;
                CsSeverity::Error
            }
            Severity::Internal => {
                errors += 1;
                CsSeverity::Bug
            }
        };
        // Messages and notes may quote example events or imported text; the source lines
        // codespan prints are the user's own rule files.
        let mut cs = CsDiagnostic::new(sev)
            .with_code(d.code)
            .with_message(escape(&d.message))
            .with_notes(d.notes.iter().map(|n| escape(n).into_owned()).collect());
        if d.file < sources.files.len() {
            let text = &sources.files[d.file].text;
            let start = (d.span.start as usize).min(text.len());
            let end = (d.span.end as usize).clamp(start, text.len());
            cs = cs.with_labels(vec![
                Label::primary(d.file, start..end).with_message(escape(&d.label))
            ]);
        }
        let mut lock = writer.lock();
        if term::emit(&mut lock, &config, &files, &cs).is_err() {
            crate::escape::say!("{}: {}: {}", d.code, d.message, d.notes.join("; "));
        }
    }
    (errors, warnings)
}
