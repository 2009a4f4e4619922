//! A plain-text rendering of [`SyntaxError`]s, for tests and non-terminal output.
//!
//! The CLI renders for terminals with colours; this is the stable, dependency-free form that
//! snapshots pin down.

use crate::SyntaxError;
use std::fmt::Write as _;

/// Renders one error as
///
/// ```text
/// rule.scry:3:9: E0001: expected string literal, found 'foo'
///   |
/// 3 |   title foo
///   |         ^^^
///   = expected: string literal
///   = note: ...
/// ```
///
/// Lines and columns are 1-based; columns count characters, not bytes.
pub fn render_plain(file_name: &str, source: &str, err: &SyntaxError) -> String {
    let start = (err.span.start as usize).min(source.len());
    let start = floor_char_boundary(source, start);
    let line_start = source[..start].rfind('\n').map_or(0, |i| i + 1);
    let line_end = source[start..]
        .find('\n')
        .map_or(source.len(), |i| start + i);
    let line_text = source[line_start..line_end].trim_end_matches('\r');
    let line_no = source[..start].matches('\n').count() + 1;
    let col = source[line_start..start].chars().count() + 1;
    // The caret covers the span's part on its first line, at least one column.
    let end = floor_char_boundary(source, (err.span.end as usize).clamp(start, line_end));
    let width = source[start..end].chars().count().max(1);

    let gutter = " ".repeat(line_no.to_string().len());
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{file_name}:{line_no}:{col}: {}: {}",
        err.code, err.message
    );
    let _ = writeln!(out, "{gutter} |");
    let _ = writeln!(out, "{line_no} | {line_text}");
    let _ = writeln!(
        out,
        "{gutter} | {}{}",
        " ".repeat(col - 1),
        "^".repeat(width)
    );
    if !err.expected.is_empty() {
        let _ = writeln!(out, "{gutter} = expected: {}", err.expected.join(", "));
    }
    for note in &err.notes {
        let _ = writeln!(out, "{gutter} = note: {note}");
    }
    out
}

fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}
