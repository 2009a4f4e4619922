//! A rule of any shape: the one entry point that sends each rule to the lowering of its
//! shape (plain or `summarize`, `threshold`, `sequence`, `first_seen`, joins).

use super::timeline::{first_seen, needs_timestamps, sequence, threshold};
use super::*;

/// Lowers a rule of any shape.
pub fn lower_any_rule(
    r: &ast::Rule,
    file: usize,
    file_lets: &Lets,
    catalog: &Catalog,
    fields: &mut FieldSet,
    sets: &mut SetRegistry,
    diags: &mut Vec<Diagnostic>,
) -> Option<Rule> {
    let mut shapes = r.clauses.iter().filter_map(|c| match c {
        ast::Clause::Summarize(s) => Some(("summarize", s.span)),
        ast::Clause::Threshold(s) => Some(("threshold", s.span)),
        ast::Clause::Sequence(s) => Some(("sequence", s.span)),
        ast::Clause::FirstSeen(s) => Some(("first_seen", s.span)),
        _ => None,
    });
    let combining = r.clauses.iter().any(|c| {
        matches!(c, ast::Clause::Join(j) if super::join_combine::combining_kind(&j.kind.name).is_some())
    });
    let joined = r.clauses.iter().any(|c| matches!(c, ast::Clause::Join(_)));
    // A semi or anti join's rule is linted once, as the rule it is rewritten into.
    if combining || !joined {
        super::super::lint_time::time_lints(r, file, diags);
    }
    if combining {
        return super::join_combine::lower_combining(
            r, file, file_lets, catalog, fields, sets, diags,
        );
    }
    if joined {
        let plain = super::join::desugar_joins(r, file, catalog, diags)?;
        return lower_any_rule(&plain, file, file_lets, catalog, fields, sets, diags);
    }
    let first = shapes.next();
    if let (Some((a, _)), Some((b, span))) = (first, shapes.next()) {
        diags.push(
            Diagnostic::error(
                codes::CLAUSE_ORDER,
                file,
                span,
                format!("`{b}` in a rule that already has `{a}`"),
            )
            .with_note("a rule computes one shape: summarize, threshold, sequence or first_seen"),
        );
        return None;
    }
    let lower = |r: &ast::Rule,
                 fields: &mut FieldSet,
                 sets: &mut SetRegistry,
                 diags: &mut Vec<Diagnostic>| {
        lower_rule(r, file, file_lets, catalog, fields, sets, diags)
    };
    for c in &r.clauses {
        match c {
            ast::Clause::FirstSeen(f) => {
                let r = first_seen(r, f, file, diags)?;
                return lower(&r, fields, sets, diags);
            }
            ast::Clause::Threshold(t) => {
                let (synthetic, spec) = threshold(r, t, file, file_lets, diags)?;
                let mut rule = lower(&synthetic, fields, sets, diags)?;
                needs_timestamps(&rule, t.span, "threshold", file, diags)?;
                rule.timeline = Some(Arc::new(spec));
                return Some(rule);
            }
            ast::Clause::Sequence(s) => {
                return sequence(r, s, file, file_lets, catalog, fields, sets, diags)
            }
            _ => {}
        }
    }
    lower(r, fields, sets, diags)
}
