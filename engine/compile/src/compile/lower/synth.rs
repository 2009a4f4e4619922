//! Building the rules that `threshold`, `sequence` and joins are rewritten into: AST nodes
//! made at a clause's span, and renaming the columns an expression reads.

use super::*;

pub(super) fn node(kind: ast::ExprKind, span: Span) -> ast::Expr {
    ast::Expr { kind, span }
}

pub(super) fn ident(name: &str, span: Span) -> ast::Ident {
    ast::Ident {
        name: name.to_string(),
        span,
    }
}

pub(super) fn column(name: &str, span: Span) -> ast::Expr {
    node(ast::ExprKind::Name(ident(name, span)), span)
}

pub(super) fn call(name: &str, args: Vec<ast::Expr>, span: Span) -> ast::Expr {
    node(
        ast::ExprKind::Call {
            name: ident(name, span),
            args,
        },
        span,
    )
}

pub(super) fn assign(name: Option<&str>, value: ast::Expr) -> ast::Assignment {
    let span = value.span;
    ast::Assignment {
        name: name.map(|n| ident(n, span)),
        value,
        span,
    }
}

/// Renames every column name `f` gives a new name for.
pub(super) fn map_names(e: &mut ast::Expr, f: &mut dyn FnMut(&str) -> Option<String>) {
    use ast::ExprKind as K;
    match &mut e.kind {
        K::Name(n) => {
            if let Some(new) = f(&n.name) {
                n.name = new;
            }
        }
        K::Literal(_) | K::Star | K::Query(_) => {}
        K::Not(x) | K::Neg(x) => map_names(x, f),
        K::Binary { lhs, rhs, .. }
        | K::Index {
            base: lhs,
            index: rhs,
        } => {
            map_names(lhs, f);
            map_names(rhs, f);
        }
        K::InList { lhs, list, .. } => {
            map_names(lhs, f);
            list.iter_mut().for_each(|x| map_names(x, f));
        }
        K::Between { lhs, low, high, .. } => {
            for x in [lhs, low, high] {
                map_names(x, f);
            }
        }
        K::Call { args: xs, .. } | K::List(xs) => xs.iter_mut().for_each(|x| map_names(x, f)),
    }
}
