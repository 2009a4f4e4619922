//! `join kind=leftsemi|leftanti (from T ... ) on Key`: the left rows with (or without) a right
//! row of an equal key. On one string key this is exactly a membership test in the right
//! side's distinct keys, `Key in (from T ... distinct Key)` (`!in` for `leftanti`): the same
//! sets, collected in a first pass or held in one, that the language already has. Kusto's
//! join compares keys exactly, as `in` does, and an empty string joins an empty string, as
//! `in` finds it; null keys (which only non-string columns have) are where the two would
//! differ, so those keys are refused until the join has its own build side.

use super::*;

fn side<'a>(id: &'a ast::Ident, prefix: &str) -> Option<&'a str> {
    id.name.strip_prefix(prefix)
}

/// The left and right column of a key: `A` (both), `$left.A == $right.B` or the reverse.
pub(super) fn key_sides<'a>(
    key: &'a ast::JoinKey,
    file: usize,
    diags: &mut Vec<Diagnostic>,
) -> Option<(&'a str, &'a str)> {
    match (
        side(&key.left, "$left."),
        side(&key.right, "$right."),
        side(&key.left, "$right."),
        side(&key.right, "$left."),
    ) {
        (Some(l), Some(r), _, _) | (_, _, Some(r), Some(l)) => Some((l, r)),
        _ if !key.left.name.starts_with('$') && key.left.name == key.right.name => {
            Some((key.left.name.as_str(), key.right.name.as_str()))
        }
        _ => {
            diags.push(
                Diagnostic::error(
                    codes::UNSUPPORTED_JOIN,
                    file,
                    key.span,
                    "a join key compares a `$left.` column with a `$right.` one",
                )
                .with_note("write `on Column` or `on $left.A == $right.B`"),
            );
            None
        }
    }
}

/// The rule with each `join` replaced by the `where` it means; `None` (with errors) for a
/// join of a kind or key it cannot yet express.
pub fn desugar_joins(
    r: &ast::Rule,
    file: usize,
    catalog: &Catalog,
    diags: &mut Vec<Diagnostic>,
) -> Option<ast::Rule> {
    let left_tables: Vec<&TableSchema> = r
        .clauses
        .iter()
        .filter_map(|c| match c {
            ast::Clause::From(f) => Some(f.tables.iter()),
            _ => None,
        })
        .flatten()
        .filter_map(|t| catalog.table(&t.name))
        .collect();
    let mut clauses = Vec::new();
    let mut ok = true;
    for c in &r.clauses {
        let ast::Clause::Join(j) = c else {
            clauses.push(c.clone());
            continue;
        };
        let err = |diags: &mut Vec<Diagnostic>, span: Span, msg: String, note: &str| {
            diags.push(Diagnostic::error(codes::UNSUPPORTED_JOIN, file, span, msg).with_note(note));
        };
        let op = match j.kind.name.as_str() {
            "leftsemi" => ast::ListOp::In,
            "leftanti" | "anti" | "leftantisemi" => ast::ListOp::NotIn,
            other => {
                err(
                    diags,
                    j.kind.span,
                    format!("`join kind={other}` is not supported yet"),
                    "the kinds are inner, innerunique, leftouter (rows combined from both sides), leftsemi and leftanti",
                );
                ok = false;
                continue;
            }
        };
        if let Some(t) = &j.time {
            err(
                diags,
                t.span,
                format!("`join kind={}` has no time condition", j.kind.name),
                "a semi or anti join tests membership in the right side's keys; pair events in time with `kind=inner`",
            );
            ok = false;
            continue;
        }
        let [key] = j.on.as_slice() else {
            err(
                diags,
                j.on.get(1).map_or(j.span, |k| k.span),
                "a join on several keys is not supported yet".into(),
                "join on one key",
            );
            ok = false;
            continue;
        };
        let Some((left, right)) = key_sides(key, file, diags) else {
            ok = false;
            continue;
        };
        for t in &left_tables {
            let ty = t
                .column(left)
                .or_else(|| t.alias(left).and_then(|a| t.column(a)));
            if let Some(ty) = ty.filter(|ty| !ty.is_stringish()) {
                err(
                    diags,
                    key.span,
                    format!("a join on `{left}` ({} in {}) is not supported yet", ty.name(), t.name),
                    "joins are on string keys for now: Kusto matches a null key to a null key, which a membership test does not",
                );
                ok = false;
            }
        }
        let at = |name: &str, span: Span| ast::Ident {
            name: name.to_string(),
            span,
        };
        let query = ast::Query {
            tables: j.tables.clone(),
            window: j.window.clone(),
            filters: j.filters.clone(),
            distinct: at(right, key.right.span),
        };
        let test = ast::Expr {
            kind: ast::ExprKind::InList {
                op,
                op_span: j.kind.span,
                lhs: Box::new(ast::Expr {
                    kind: ast::ExprKind::Name(at(left, key.left.span)),
                    span: key.left.span,
                }),
                list: vec![ast::Expr {
                    kind: ast::ExprKind::Query(Box::new(query)),
                    span: j.span,
                }],
            },
            span: j.span,
        };
        clauses.push(ast::Clause::Where(ast::Where {
            predicate: test,
            span: j.span,
        }));
    }
    ok.then(|| ast::Rule {
        name: r.name.clone(),
        clauses,
        span: r.span,
    })
}
