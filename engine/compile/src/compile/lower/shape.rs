//! A rule of any shape: the one entry point that sends each rule to the lowering of its
//! shape (plain or `summarize`, `threshold`, `sequence`, `first_seen`, joins).

use super::timeline::{first_seen, needs_timestamps, sequence, threshold};
use super::*;

/// Lowers a rule of any shape.
pub fn lower_any_rule(r: &ast::Rule, lw: &mut Lowering<'_>) -> Option<Rule> {
    let (file, file_lets, catalog) = (lw.file, lw.file_lets, lw.catalog);
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
        super::super::lint_time::time_lints(r, file, lw.diags);
    }
    if combining {
        return super::join_combine::lower_combining(r, lw);
    }
    if joined {
        let plain = super::join::desugar_joins(r, file, catalog, lw.diags)?;
        return lower_any_rule(&plain, lw);
    }
    let first = shapes.next();
    if let (Some((a, _)), Some((b, span))) = (first, shapes.next()) {
        lw.diags.push(
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
    for c in &r.clauses {
        match c {
            ast::Clause::FirstSeen(f) => {
                let r = first_seen(r, f, file, lw.diags)?;
                return lower_rule(&r, lw);
            }
            ast::Clause::Threshold(t) => {
                let (synthetic, spec) = threshold(r, t, file, file_lets, lw.diags)?;
                let mut rule = lower_rule(&synthetic, lw)?;
                needs_timestamps(&rule, t.span, "threshold", file, lw.diags)?;
                rule.timeline = Some(Arc::new(spec));
                return Some(rule);
            }
            ast::Clause::Sequence(s) => return sequence(r, s, lw),
            _ => {}
        }
    }
    lower_rule(r, lw)
}
