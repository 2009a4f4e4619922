//! `where` stages: the look-back window, exclusions (`not(isnotnull(C) and C)`), conjunctions.

use super::*;

impl<'a> Translator<'a> {
    /// Splits `Timestamp between (now(-X) .. now())` off a predicate's conjuncts.
    pub(super) fn extract_window(
        &mut self,
        p: Expr,
        tables: &[&TableSchema],
    ) -> (Option<ast::Window>, Option<Expr>) {
        let timestamp = tables
            .iter()
            .all(|t| t.column("Timestamp") == Some(Type::DateTime));
        if !timestamp {
            return (None, Some(p));
        }
        let parts = p.conjuncts();
        let Some(i) = parts.iter().position(|c| self.window_of(c).is_some()) else {
            return (None, Some(p));
        };
        let w = self.window_of(parts[i]);
        let rest: Vec<Expr> = parts
            .iter()
            .enumerate()
            .filter(|(k, _)| *k != i)
            .map(|(_, e)| (*e).clone())
            .collect();
        let rest = (!rest.is_empty()).then(|| and_all(rest));
        (w, rest)
    }

    pub(super) fn window_of(&self, c: &Expr) -> Option<ast::Window> {
        let ExprKind::Between {
            negated: false,
            lhs,
            low,
            high,
        } = &c.kind
        else {
            return None;
        };
        if !matches!(&lhs.kind, ExprKind::Name(id) if id.name == "Timestamp") {
            return None;
        }
        let lo = self.resolve(low);
        let hi = self.resolve(high);
        let kind = match (lookback(lo), is_now(hi)) {
            (Some((ticks, span)), true) => ast::WindowKind::Lookback(Expr {
                kind: ExprKind::Literal(Literal::Timespan(ticks)),
                span,
            }),
            _ => ast::WindowKind::Between((**low).clone(), (**high).clone()),
        };
        Some(ast::Window { kind, span: c.span })
    }

    /// Follows scalar `let` names to their values.
    pub(super) fn resolve<'e>(&self, mut e: &'e Expr) -> &'e Expr
    where
        'a: 'e,
    {
        for _ in 0..16 {
            let ExprKind::Name(id) = &e.kind else { break };
            match self.let_stmt(&id.name).map(|l| &l.value) {
                Some(LetValue::Scalar(v)) => e = v,
                _ => break,
            }
        }
        e
    }

    /// A `where` that the KQL exporter wrote for an exclusion:
    /// `// except "name": description` then `| where not(isnotnull(C) and C)`.
    pub(super) fn except_of(&self, st: &Stage, p: &Expr) -> Option<ast::Except> {
        let comment = st.comments.iter().find_map(|c| c.strip_prefix("except "))?;
        // Only the name is lexed: a description may hold an apostrophe (`the lab's`), which
        // is no string.
        let quote = comment.as_bytes().first().copied()?;
        let mut end = 1;
        while end < comment.len() && comment.as_bytes()[end] != quote {
            end += if comment.as_bytes()[end] == b'\\' {
                2
            } else {
                1
            };
        }
        let toks = crate::import::lex::lex(comment.get(..end + 1)?).ok()?;
        let first = toks
            .first()
            .filter(|t| t.kind == crate::import::lex::TokKind::Str)?;
        let ExprKind::Literal(Literal::Str(name)) = ast::parse_expr(first.text(comment)).ok()?.kind
        else {
            return None;
        };
        let rest = comment[first.end..].trim_start();
        let description = rest
            .strip_prefix(':')
            .map(str::trim)
            .filter(|d| !d.is_empty())
            .map(str::to_string);
        let ExprKind::Not(inner) = &p.kind else {
            return None;
        };
        let ExprKind::Binary {
            op: BinOp::And,
            lhs,
            rhs,
            ..
        } = &inner.kind
        else {
            return None;
        };
        let ExprKind::Call { name: f, args } = &lhs.kind else {
            return None;
        };
        if f.name != "isnotnull"
            || args.len() != 1
            || print::expr(&args[0], Dialect::Scry) != print::expr(rhs, Dialect::Scry)
        {
            return None;
        }
        Some(ast::Except {
            name: ast::StrLit {
                value: name,
                span: st.op.span,
            },
            description: description.map(|d| ast::StrLit {
                value: d,
                span: st.op.span,
            }),
            condition: (**rhs).clone(),
            span: st.span,
        })
    }
}

/// `now(-X)` / `ago(X)` → the lookback X in ticks, with the span of X.
pub(super) fn lookback(e: &Expr) -> Option<(i64, Span)> {
    let ExprKind::Call { name, args } = &e.kind else {
        return None;
    };
    match (name.name.as_str(), args.as_slice()) {
        ("now", [a]) => match &a.kind {
            ExprKind::Neg(x) => match x.kind {
                ExprKind::Literal(Literal::Timespan(t)) if t >= 0 => Some((t, x.span)),
                _ => None,
            },
            ExprKind::Literal(Literal::Timespan(t)) if *t <= 0 => Some((-*t, a.span)),
            _ => None,
        },
        ("ago", [a]) => match a.kind {
            ExprKind::Literal(Literal::Timespan(t)) if t >= 0 => Some((t, a.span)),
            _ => None,
        },
        _ => None,
    }
}

pub(super) fn is_now(e: &Expr) -> bool {
    let ExprKind::Call { name, args } = &e.kind else {
        return false;
    };
    name.name == "now"
        && match args.as_slice() {
            [] => true,
            [a] => matches!(a.kind, ExprKind::Literal(Literal::Timespan(0))),
            _ => false,
        }
}

/// `a and b and c`, leaning left as the parser builds it.
pub(super) fn and_all(parts: Vec<Expr>) -> Expr {
    let mut it = parts.into_iter();
    let Some(mut acc) = it.next() else {
        return Expr {
            kind: ExprKind::Literal(Literal::Bool(true)),
            span: Span::default(),
        };
    };
    for p in it {
        let span = acc.span.to(p.span);
        let op_span = Span::new(acc.span.end as usize, p.span.start as usize);
        acc = Expr {
            kind: ExprKind::Binary {
                op: BinOp::And,
                op_span,
                lhs: Box::new(acc),
                rhs: Box::new(p),
            },
            span,
        };
    }
    acc
}
