//! Lints on time: buckets and spans that cannot mean what they seem to.
//!
//! - W0401: a `bin(Timestamp, S)` key with S longer than a look-back `window`: every row falls
//!   into one or two buckets, so the bucket is not what groups the rows.
//! - W0404: a `threshold` or `sequence` span (or a join's time condition) longer than the
//!   window: no span can fill beyond the window's start, so the span only looks longer than it is.
//! - W0405: a datetime bucket whose size does not divide a day (7d, 3d, 5h, 7m, ...): where it
//!   starts depends on the origin Kusto counts from (docs/semantics.md, "Time buckets").

use crate::diag::{codes, Diagnostic};
use crate::kql::bins::origin_insensitive;
use crate::kql::time::format_timespan;
use scry_grammar::{self as ast};

/// A literal timespan, in ticks.
fn literal_span(e: &ast::Expr) -> Option<i64> {
    match &e.kind {
        ast::ExprKind::Literal(ast::Literal::Timespan(t)) => Some(*t),
        _ => None,
    }
}

/// Every `bin(x, <literal>)` / `bin_at(x, <literal>, ...)` under `e`: the call's span and size.
fn bins(e: &ast::Expr, out: &mut Vec<(ast::Span, i64)>) {
    scry_grammar::print::walk(e, &mut |x| {
        if let ast::ExprKind::Call { name, args } = &x.kind {
            if matches!(name.name.as_str(), "bin" | "bin_at" | "floor") {
                if let Some(size) = args.get(1).and_then(literal_span) {
                    if args.first().is_some_and(
                        |a| matches!(&a.kind, ast::ExprKind::Name(n) if n.name == "Timestamp"),
                    ) {
                        out.push((x.span, size));
                    }
                }
            }
        }
    });
}

/// Runs the time lints over one rule.
pub(super) fn time_lints(r: &ast::Rule, file: usize, diags: &mut Vec<Diagnostic>) {
    let window = r.clauses.iter().find_map(|c| match c {
        ast::Clause::Window(ast::Window {
            kind: ast::WindowKind::Lookback(x),
            ..
        }) => literal_span(x),
        _ => None,
    });
    let mut found = Vec::new();
    for c in &r.clauses {
        match c {
            ast::Clause::Summarize(s) => s.by.iter().for_each(|a| bins(&a.value, &mut found)),
            ast::Clause::Extend(x) => x
                .assignments
                .iter()
                .for_each(|a| bins(&a.value, &mut found)),
            ast::Clause::Where(w) => bins(&w.predicate, &mut found),
            _ => {}
        }
    }
    for &(span, size) in &found {
        if !origin_insensitive(size) {
            diags.push(
                Diagnostic::warning(
                    codes::BIN_ORIGIN,
                    file,
                    span,
                    format!(
                        "buckets of {} start where Kusto's origin puts them",
                        format_timespan(size)
                    ),
                )
                .with_note("scry counts datetime buckets from 0001-01-01, as Kusto's ticks do (a 7d bucket starts on a Monday); `bin_at(Timestamp, size, datetime(...))` chooses the start"),
            );
        }
        if let Some(w) = window.filter(|w| size > *w) {
            diags.push(
                Diagnostic::warning(
                    codes::BUCKET_OVER_WINDOW,
                    file,
                    span,
                    format!(
                        "a bucket of {} is longer than the rule's window of {}",
                        format_timespan(size),
                        format_timespan(w)
                    ),
                )
                .with_note("every row falls into one or two buckets; a shorter bucket, or a `threshold ... within`, counts what was meant"),
            );
        }
    }
    let span = r.clauses.iter().find_map(|c| match c {
        ast::Clause::Threshold(t) => literal_span(&t.within).map(|s| (t.within.span, s)),
        // A gated step's span reaches back from its rows, as the sequence's own does.
        ast::Clause::Sequence(s) => std::iter::once(&s.within)
            .chain(
                s.steps
                    .iter()
                    .filter_map(|st| st.gate.as_ref().map(|g| &g.within)),
            )
            .filter_map(|w| literal_span(w).map(|x| (w.span, x)))
            .max_by_key(|&(_, x)| x),
        // A join's time condition reaches as far as its farthest bound.
        ast::Clause::Join(j) => j.time.as_ref().and_then(|t| {
            [&t.low, &t.high]
                .iter()
                .filter_map(|b| b.offset.as_ref().and_then(|(_, e)| literal_span(e)))
                .max()
                .map(|s| (t.span, s))
        }),
        _ => None,
    });
    if let (Some((at, s)), Some(w)) = (span, window) {
        if s > w {
            diags.push(
                Diagnostic::warning(
                    codes::SPAN_OVER_WINDOW,
                    file,
                    at,
                    format!(
                        "a span of {} is longer than the rule's window of {}",
                        format_timespan(s),
                        format_timespan(w)
                    ),
                )
                .with_note("events before the window's start never enter a span"),
            );
        }
    }
}
