//! `join` and `lookup` → scry's `join` clause (docs/language.md, "Joins").
//!
//! - `leftsemi` / `leftanti` (also `anti`, `leftantisemi`): the right side keeps its own time
//!   range, as scry's membership joins do.
//! - `inner`, `innerunique` (KQL's default), `leftouter` combine both sides. scry bounds both
//!   sides with the rule's `window` and applies the rule's exclusions to both, so the right
//!   side must have the left side's time range and exclusion guards (which `scry export kql`
//!   writes into both); they are then implied and left out. A `where` right after an
//!   `inner`/`innerunique` join that bounds one side's time by the other's,
//!   `Timestamp1 between ((Timestamp - 5m) .. (Timestamp + 5m))`, becomes the join's time
//!   condition (for these two kinds pairing then filtering is the same as filtering pairs; for
//!   `leftouter` it is not, so it stays a `where` on the joined rows).
//! - `lookup` is `join kind=leftouter` (or `kind=inner`) whose output has the right side's key
//!   columns once: without a `project` after it, one naming its columns is added.
//! - `rightouter`, `fullouter`, `rightsemi`, `rightanti`: refused by name (scry's joins keep
//!   left rows).

use super::*;
use crate::import::query::JoinStage;

/// A combining join seen in the pipeline: what names after it read.
pub(super) struct Joined {
    /// The joined row's columns, KQL's names.
    pub columns: Vec<String>,
    /// `lookup`: a `project` is added when none follows.
    pub lookup: bool,
    /// The clause's index in the rule body.
    pub at: usize,
    /// The time condition may still be read from the next `where`.
    pub time_open: bool,
}

/// The kinds that combine both sides, by their KQL name.
fn combining(kind: &str) -> bool {
    matches!(kind, "inner" | "innerunique" | "leftouter")
}

/// The text of a window, to compare the two sides' time ranges.
fn window_text(w: Option<&ast::Window>) -> Option<String> {
    w.map(|w| match &w.kind {
        ast::WindowKind::Lookback(x) => print::expr(x, Dialect::Scry),
        ast::WindowKind::Between(a, b) => format!(
            "{} .. {}",
            print::expr(a, Dialect::Scry),
            print::expr(b, Dialect::Scry)
        ),
    })
}

/// `Timestamp`, `Timestamp + 5m` or `Timestamp - 5m` (the column named `column`), as a
/// bound of scry's time condition on the side `side`.
fn bound(e: &Expr, column: &str, side: &str) -> Option<ast::JoinBound> {
    let col = |e: &Expr| matches!(&e.kind, ExprKind::Name(id) if id.name == column);
    let at = |span: Span| ast::Ident {
        name: format!("${side}.Timestamp"),
        span,
    };
    if col(e) {
        return Some(ast::JoinBound {
            column: at(e.span),
            offset: None,
            span: e.span,
        });
    }
    let ExprKind::Binary { op, lhs, rhs, .. } = &e.kind else {
        return None;
    };
    let negative = match op {
        BinOp::Add => false,
        BinOp::Sub => true,
        _ => return None,
    };
    // The grammar's bound is a column plus or minus a number literal.
    let literal = matches!(
        &rhs.kind,
        ExprKind::Literal(Literal::Timespan(_) | Literal::Long(_))
    );
    (col(lhs) && literal).then(|| ast::JoinBound {
        column: at(lhs.span),
        offset: Some((negative, (**rhs).clone())),
        span: e.span,
    })
}

impl<'a> Translator<'a> {
    /// The scry `join` clause of a `join`/`lookup` stage, and for a combining kind what the
    /// stages after it read. `left` are the left side's tables, `window` and `excepts` the
    /// rule's so far.
    pub(super) fn join(
        &mut self,
        st: &Stage,
        js: &'a JoinStage,
        left: &[&TableSchema],
        window: Option<&ast::Window>,
        excepts: &[ast::Except],
    ) -> Option<(ast::Join, Option<Vec<String>>)> {
        let kind = js.kind.name.as_str();
        let known =
            combining(kind) || matches!(kind, "leftsemi" | "leftanti" | "anti" | "leftantisemi");
        if !known || (js.lookup && !matches!(kind, "leftouter" | "inner")) {
            let d = self.error(
                codes::UNSUPPORTED_JOIN,
                js.kind.span,
                format!("`{} kind={kind}` has no scry equivalent", st.op.name),
            );
            d.label = "unsupported kind".into();
            d.notes.push(if js.lookup {
                "`lookup` has the kinds leftouter (its default) and inner".into()
            } else {
                "scry's joins keep left rows: the kinds are inner, innerunique (KQL's default), leftouter, leftsemi and leftanti".into()
            });
            return None;
        }
        let (tables, stages) = self.resolve_source(&js.right)?;
        let schemas: Vec<&TableSchema> = tables.iter().map(|(s, _)| *s).collect();
        let mut filters: Vec<ast::Where> = Vec::new();
        let mut right_window: Option<ast::Window> = None;
        let mut guarded: Vec<String> = Vec::new();
        let together = combining(kind);
        for s in &stages {
            let StageKind::Where { predicate } = &s.kind else {
                if !matches!(s.kind, StageKind::Unsupported) {
                    let d = self.error(
                        codes::UNSUPPORTED_SHAPE,
                        s.op.span,
                        format!(
                            "`{}` on the right side of a join has no scry equivalent",
                            s.op.name
                        ),
                    );
                    d.label = "right side".into();
                    d.notes
                        .push("the right side of a scry join is `T | where ...`".into());
                }
                continue;
            };
            // The rule's exclusions guard both sides of a combining join: a guard the left
            // side has too is implied.
            if together {
                if let Some(x) = self.except_of(s, predicate) {
                    let same = excepts.iter().any(|l| {
                        l.name.value == x.name.value
                            && print::expr(&l.condition, Dialect::Scry)
                                == print::expr(&x.condition, Dialect::Scry)
                    });
                    if same {
                        guarded.push(x.name.value);
                        continue;
                    }
                }
            }
            let mut rest = Some(predicate.clone());
            if right_window.is_none() {
                let (w, r) = self.extract_window(predicate.clone(), &schemas);
                right_window = w;
                rest = r;
            }
            if let Some(mut p) = rest {
                let scope = Scope::Rows {
                    tables: &schemas,
                    computed: &[],
                };
                self.check(&mut p, &scope, false);
                filters.push(ast::Where {
                    predicate: p,
                    span: s.span,
                });
            }
        }
        if together {
            if window_text(window) != window_text(right_window.as_ref()) {
                let span = right_window.as_ref().map_or(js.right.span, |w| w.span);
                let d = self.error(
                    codes::UNSUPPORTED_SHAPE,
                    span,
                    format!("the right side of `join kind={kind}` reads another time range than the left side"),
                );
                d.label = "right side's time range".into();
                d.notes.push("scry's `window` bounds both sides of a join: give both sides the same `Timestamp between (...)` (or none)".into());
                return None;
            }
            right_window = None;
            let right_names = crate::schema::union_columns(&schemas);
            for x in excepts {
                let mut applies = true;
                print::walk(&x.condition, &mut |e| {
                    if let ExprKind::Name(id) = &e.kind {
                        let is_let = self.let_stmt(&id.name).is_some();
                        if !is_let
                            && !right_names.contains(&id.name)
                            && !schemas.iter().all(|t| t.alias(&id.name).is_some())
                        {
                            applies = false;
                        }
                    }
                });
                if applies && !guarded.contains(&x.name.value) {
                    let d = self.error(
                        codes::UNSUPPORTED_SHAPE,
                        js.right.span,
                        format!(
                            "the exclusion \"{}\" guards the left side of this join only",
                            x.name.value
                        ),
                    );
                    d.label = "right side without it".into();
                    d.notes.push("scry applies a rule's exclusions to both sides of a join: guard the right side with the same `// except` and `where not(...)`".into());
                    return None;
                }
            }
        }
        let clause = ast::Join {
            kind: js.kind.clone(),
            tables: tables.iter().map(|(_, id)| id.clone()).collect(),
            window: right_window,
            filters,
            on: js.on.clone(),
            time: None,
            span: st.span,
        };
        if !together {
            return Some((clause, None));
        }
        // The joined row: the left columns, then the right ones, `X1` for a name the left
        // side has (and for `lookup`, the right keys left out).
        let lcols = crate::schema::union_columns(left);
        let right_keys: Vec<&str> = js
            .on
            .iter()
            .map(|k| {
                [&k.left, &k.right]
                    .into_iter()
                    .find_map(|s| s.name.strip_prefix("$right."))
                    .unwrap_or(&k.right.name)
            })
            .collect();
        let mut columns = lcols.clone();
        for c in crate::schema::union_columns(&schemas) {
            if js.lookup && right_keys.contains(&c.as_str()) {
                continue;
            }
            columns.push(if lcols.contains(&c) {
                format!("{c}1")
            } else {
                c
            });
        }
        Some((clause, Some(columns)))
    }

    /// `Timestamp1 between ((Timestamp - a) .. (Timestamp + b))` (or with the sides the
    /// other way round) as the time condition of a join.
    pub(super) fn time_condition(&self, p: &Expr) -> Option<Box<ast::JoinTime>> {
        let ExprKind::Between {
            negated: false,
            lhs,
            low,
            high,
        } = &p.kind
        else {
            return None;
        };
        let ExprKind::Name(tested) = &lhs.kind else {
            return None;
        };
        let (side, other, other_side) = match tested.name.as_str() {
            "Timestamp1" => ("right", "Timestamp", "left"),
            "Timestamp" => ("left", "Timestamp1", "right"),
            _ => return None,
        };
        Some(Box::new(ast::JoinTime {
            column: Ident {
                name: format!("${side}.Timestamp"),
                span: tested.span,
            },
            low: bound(low, other, other_side)?,
            high: bound(high, other, other_side)?,
            span: p.span,
        }))
    }
}
