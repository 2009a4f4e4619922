//! Lints on exclusions: the mistakes the seed's own false-positive filters make.
//!
//! An exclusion suppresses the rows it matches. Written as `a != x or b != y or ...` (the way
//! a *keep* filter would be written), it matches nearly every row and silently turns the
//! detection off. Two checks catch that: a structural one (a negated test as an alternative of
//! a top-level `or`) with a precise span, and a semantic one (the condition holds on an event
//! whose fields are all empty) for the shapes the first does not know.

use crate::diag::{codes, Diagnostic};
use crate::eval::{self, Env, Val};
use crate::ir::{AtomId, Expr};
use crate::row::FieldId;
use crate::value::Type;
use scry_grammar::{self as ast, BinOp, ListOp};

fn disjuncts<'a>(e: &'a ast::Expr, out: &mut Vec<&'a ast::Expr>) {
    match &e.kind {
        ast::ExprKind::Binary {
            op: BinOp::Or,
            lhs,
            rhs,
            ..
        } => {
            disjuncts(lhs, out);
            disjuncts(rhs, out);
        }
        _ => out.push(e),
    }
}

fn is_negative(e: &ast::Expr) -> bool {
    match &e.kind {
        ast::ExprKind::Binary { op, .. } => match op {
            BinOp::NotEq | BinOp::NotEqCi => true,
            BinOp::Str(s) => s.negated,
            _ => false,
        },
        ast::ExprKind::InList { op, .. } => matches!(op, ListOp::NotIn | ListOp::NotInCi),
        ast::ExprKind::Between { negated, .. } => *negated,
        ast::ExprKind::Not(_) => true,
        ast::ExprKind::Call { name, .. } => name.name == "not" || name.name == "isempty",
        _ => false,
    }
}

/// W0200 (structural): `except ... when a != x or ...`.
pub fn exclusion_too_broad(x: &ast::Except, file: usize, diags: &mut Vec<Diagnostic>) {
    let mut parts = Vec::new();
    disjuncts(&x.condition, &mut parts);
    if parts.len() < 2 {
        return;
    }
    if let Some(neg) = parts.iter().find(|p| is_negative(p)) {
        diags.push(
            Diagnostic::warning(
                codes::EXCLUSION_TOO_BROAD,
                file,
                neg.span,
                format!(
                    "exclusion \"{}\" suppresses nearly every event",
                    x.name.value
                ),
            )
            .with_label("a negated test as one alternative of `or` holds for almost any event")
            .with_note("an exclusion removes the rows it matches: every event that fails this test is suppressed, whatever the other alternatives say")
            .with_note("to exclude only the known-good activity, require all of its traits with `and`, e.g. `process.name == \"X.exe\" and file.path contains \"Y\"`"),
        );
    }
}

struct EmptyEvent;

impl Env for EmptyEvent {
    fn field(&self, _: FieldId, ty: Type) -> Val<'_> {
        if ty.is_stringish() {
            Val::Str("")
        } else {
            Val::Null
        }
    }
    fn computed(&self, _: u32) -> Val<'_> {
        Val::Null
    }
    fn atom(&self, _: AtomId) -> bool {
        false
    }
    fn now(&self) -> i64 {
        0
    }
}

/// W0200 (semantic): the condition holds on an event whose fields are all empty.
pub fn exclusion_matches_empty_event(
    x: &ast::Except,
    cond: &Expr,
    table: &str,
    file: usize,
    diags: &mut Vec<Diagnostic>,
) {
    let already = diags.iter().any(|d| {
        d.code == codes::EXCLUSION_TOO_BROAD
            && d.file == file
            && d.span.start >= x.span.start
            && d.span.end <= x.span.end
    });
    if already {
        return;
    }
    if eval::test(cond, &EmptyEvent) == Some(true) {
        diags.push(
            Diagnostic::warning(
                codes::EXCLUSION_TOO_BROAD,
                file,
                x.condition.span,
                format!(
                    "exclusion \"{}\" holds for a {table} event whose fields are all empty",
                    x.name.value
                ),
            )
            .with_label("this condition is true even when the fields it reads are empty")
            .with_note("such an exclusion suppresses nearly every event; require the known-good values positively"),
        );
    }
}
