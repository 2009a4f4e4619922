//! `join kind=inner|innerunique|leftouter (from T ...) on Keys [, time condition]`: rows that
//! combine a left and a right event of an equal key. No new evaluator: the two sides are the
//! two steps of a rule over several events (the machinery of `sequence`, keyed by each side's
//! own key columns), and the timeline operator pairs a key's events at finish
//! (docs/semantics.md, "Joins").
//!
//! Clauses after the join read the joined row as KQL names it: a left column by its name, a
//! right column by its name, or with a `1` suffix when the left side has one of that name
//! (`DeviceId1`). `where` after the join filters joined rows; `project` picks their columns;
//! without `project` the output is every left column, then every right column.

use super::synth::{assign, column, ident, map_names, node};
use super::timeline::{rule_lets, sequence};
use super::*;
use crate::compile::{JoinKind, TimelineKind};

/// The kinds that combine both sides' columns (the others are membership tests, `join.rs`).
pub fn combining_kind(name: &str) -> Option<JoinKind> {
    match name {
        "inner" => Some(JoinKind::Inner),
        "innerunique" => Some(JoinKind::InnerUnique),
        "leftouter" => Some(JoinKind::LeftOuter),
        _ => None,
    }
}

fn bad(diags: &mut Vec<Diagnostic>, file: usize, span: Span, msg: String, note: &str) {
    diags.push(Diagnostic::error(codes::BAD_JOIN, file, span, msg).with_note(note));
}

/// `$right.Timestamp between ($left.Timestamp + a .. $left.Timestamp + b)` as the least and
/// greatest `right - left`, in ticks.
fn time_bounds(
    t: &ast::JoinTime,
    lets: &Lets,
    file: usize,
    diags: &mut Vec<Diagnostic>,
) -> Option<(i64, i64)> {
    let (tested, other) = match t.column.name.as_str() {
        "$right.Timestamp" => (1, "$left.Timestamp"),
        "$left.Timestamp" => (-1, "$right.Timestamp"),
        _ => {
            bad(
                diags,
                file,
                t.column.span,
                format!("a join's time condition tests `$right.Timestamp` or `$left.Timestamp`, not `{}`", t.column.name),
                "write `$right.Timestamp between ($left.Timestamp .. $left.Timestamp + 5m)`",
            );
            return None;
        }
    };
    let mut offset = |b: &ast::JoinBound| -> Option<i64> {
        if b.column.name != other {
            bad(
                diags,
                file,
                b.column.span,
                format!("a bound of this time condition is `{other}`, plus or minus a timespan"),
                "the condition compares the two sides' times",
            );
            return None;
        }
        let Some((negative, e)) = &b.offset else {
            return Some(0);
        };
        let mut scratch = Vec::new();
        let v = lower_standalone(e, None, lets, &mut FieldSet::new(), &mut scratch);
        match v.as_const() {
            Some(Value::Timespan(t)) if scratch.is_empty() => {
                Some(if *negative { t.saturating_neg() } else { *t })
            }
            _ => {
                bad(
                    diags,
                    file,
                    e.span,
                    "an offset of a join's time condition is a constant timespan".into(),
                    "write a duration such as 5m, 1h or 1d",
                );
                None
            }
        }
    };
    let (lo, hi) = (offset(&t.low), offset(&t.high));
    let (lo, hi) = (lo?, hi?);
    if lo > hi {
        bad(
            diags,
            file,
            t.span,
            "this time condition's low bound is above its high bound".into(),
            "no pair of events can satisfy it",
        );
        return None;
    }
    Some(if tested == 1 { (lo, hi) } else { (-hi, -lo) })
}

/// Lowers a rule with a combining join.
pub fn lower_combining(r: &ast::Rule, lw: &mut Lowering<'_>) -> Option<Rule> {
    let (file, file_lets, catalog) = (lw.file, lw.file_lets, lw.catalog);
    let lets = rule_lets(r, file, file_lets);
    let joins: Vec<(usize, &ast::Join)> = r
        .clauses
        .iter()
        .enumerate()
        .filter_map(|(i, c)| match c {
            ast::Clause::Join(j) => Some((i, j)),
            _ => None,
        })
        .collect();
    let &(at, j) = joins.first()?;
    if let Some((_, second)) = joins.get(1) {
        bad(
            lw.diags,
            file,
            second.span,
            "a rule with a join that combines both sides has no other join".into(),
            "write the membership tests (`kind=leftsemi`/`leftanti`) as `x in (from T ... distinct C)`",
        );
        return None;
    }
    let kind = combining_kind(&j.kind.name)?;
    if let Some(w) = &j.window {
        bad(
            lw.diags,
            file,
            w.span,
            format!(
                "the right side of `join kind={}` has no window of its own",
                kind.name()
            ),
            "the rule's `window` bounds both sides",
        );
        return None;
    }
    let mut left_tables = Vec::new();
    for c in &r.clauses[..at] {
        if let ast::Clause::From(f) = c {
            left_tables.extend(f.tables.iter().cloned());
        }
    }
    // A column's type in the first of `tables` that has it (unknown columns are reported
    // where the sides are lowered).
    let type_in = |tables: &[ast::Ident], name: &str| {
        tables
            .iter()
            .filter_map(|t| catalog.table(&t.name))
            .find_map(|t| {
                t.column(name)
                    .or_else(|| t.alias(name).and_then(|a| t.column(a)))
            })
    };
    let mut left_keys = Vec::new();
    let mut right_keys = Vec::new();
    for key in &j.on {
        let (l, rt) = super::join::key_sides(key, file, lw.diags)?;
        if let (Some(a), Some(b)) = (type_in(&left_tables, l), type_in(&j.tables, rt)) {
            if a != b {
                bad(
                    lw.diags,
                    file,
                    key.span,
                    format!(
                        "join key `{l}` is {} on the left but `{rt}` is {} on the right",
                        a.name(),
                        b.name()
                    ),
                    "keys are compared exactly, so values of two types never pair: join on columns of one type",
                );
                return None;
            }
        }
        left_keys.push(column(l, key.left.span));
        right_keys.push(column(rt, key.right.span));
    }
    let (low, high) = match &j.time {
        Some(t) => {
            let (lo, hi) = time_bounds(t, &lets, file, lw.diags)?;
            (Some(lo), Some(hi))
        }
        None => (None, None),
    };

    let lcols = crate::schema::union_columns(&catalog.tables_named(&left_tables));
    let rcols = crate::schema::union_columns(&catalog.tables_named(&j.tables));
    // A name after the join: the left column, else the right one (`X1` when both have `X`).
    let mut resolve = |name: &str| -> Option<String> {
        if lcols.iter().any(|c| c == name) {
            return Some(format!("left.{name}"));
        }
        if rcols.iter().any(|c| c == name) {
            return Some(format!("right.{name}"));
        }
        let base = name.strip_suffix('1')?;
        (lcols.iter().any(|c| c == base) && rcols.iter().any(|c| c == base))
            .then(|| format!("right.{base}"))
    };

    let mut head = Vec::new();
    let mut left_clauses = Vec::new();
    let mut tail = Vec::new();
    let mut filters: Vec<ast::Expr> = Vec::new();
    let mut projected = false;
    for (i, c) in r.clauses.iter().enumerate() {
        match c {
            ast::Clause::Meta(_)
            | ast::Clause::Window(_)
            | ast::Clause::Let(_)
            | ast::Clause::Except(_) => head.push(c.clone()),
            ast::Clause::From(_) if i < at => {}
            ast::Clause::Where(_) | ast::Clause::Extend(_) if i < at => {
                left_clauses.push(c.clone())
            }
            ast::Clause::Join(_) => {}
            ast::Clause::Where(w) => {
                let mut e = w.predicate.clone();
                map_names(&mut e, &mut resolve);
                filters.push(e);
            }
            ast::Clause::Project(p) => {
                let mut p = p.clone();
                for a in &mut p.columns {
                    if a.name.is_none() {
                        if let ast::ExprKind::Name(n) = &a.value.kind {
                            a.name = Some(n.clone());
                        }
                    }
                    map_names(&mut a.value, &mut resolve);
                }
                projected = true;
                tail.push(ast::Clause::Project(p));
            }
            ast::Clause::Take(_) | ast::Clause::Examples(_) => tail.push(c.clone()),
            other => {
                let what = match other {
                    ast::Clause::From(_) => "from",
                    ast::Clause::Extend(_) => "extend",
                    ast::Clause::Summarize(_) => "summarize",
                    ast::Clause::Having(_) => "having",
                    ast::Clause::Threshold(_) => "threshold",
                    ast::Clause::Sequence(_) => "sequence",
                    _ => "first_seen",
                };
                let span = scry_grammar::print::clause_span(other);
                bad(
                    lw.diags,
                    file,
                    span,
                    format!("`{what}` in a rule with `join kind={}`", kind.name()),
                    "the left side is the `from`/`where` before the join; after it, `where` filters and `project` picks the joined rows",
                );
                return None;
            }
        }
    }
    if !projected {
        // KQL's output of a join: the left columns, then the right ones (`X1` for a name
        // the left side has too).
        let mut columns = Vec::new();
        for c in &lcols {
            columns.push(assign(Some(c), column(&format!("left.{c}"), j.span)));
        }
        for c in &rcols {
            let name = if lcols.contains(c) {
                format!("{c}1")
            } else {
                c.clone()
            };
            columns.push(assign(Some(&name), column(&format!("right.{c}"), j.span)));
        }
        tail.insert(
            0,
            ast::Clause::Project(ast::Project {
                columns,
                span: j.span,
            }),
        );
    }
    if let Some(first) = filters.pop() {
        let predicate = filters.into_iter().rev().fold(first, |acc, f| {
            let span = f.span;
            node(
                ast::ExprKind::Binary {
                    op: BinOp::And,
                    op_span: span,
                    lhs: Box::new(f),
                    rhs: Box::new(acc),
                },
                span,
            )
        });
        let span = predicate.span;
        tail.insert(0, ast::Clause::Having(ast::Having { predicate, span }));
    }

    let step =
        |name: &str, tables: Vec<ast::Ident>, clauses: Vec<ast::Clause>, by, span| ast::SeqStep {
            name: Some(ident(name, span)),
            tables,
            clauses,
            by,
            gate: None,
            span,
        };
    let from_span = left_tables.first().map_or(r.span, |t| t.span);
    let seq = ast::Sequence {
        unordered: true,
        // The operator reads the time condition; a sequence's span is only a placeholder.
        within: node(ast::ExprKind::Literal(ast::Literal::Timespan(1)), j.span),
        by: Vec::new(),
        steps: vec![
            step("left", left_tables, left_clauses, left_keys, from_span),
            step(
                "right",
                j.tables.clone(),
                j.filters.iter().cloned().map(ast::Clause::Where).collect(),
                right_keys,
                j.span,
            ),
        ],
        until: None,
        span: j.span,
    };
    let mut clauses = head;
    clauses.push(ast::Clause::Sequence(seq.clone()));
    clauses.extend(tail);
    let synthetic = ast::Rule {
        name: r.name.clone(),
        clauses,
        span: r.span,
    };
    let mut rule = sequence(&synthetic, &seq, lw)?;
    let mut tl = (*rule.timeline.take()?).clone();
    tl.kind = TimelineKind::Join { kind, low, high };
    tl.span = match (low, high) {
        (Some(lo), Some(hi)) => lo
            .unsigned_abs()
            .max(hi.unsigned_abs())
            .min(i64::MAX as u64) as i64,
        _ => i64::MAX,
    };
    rule.timeline = Some(Arc::new(tl));
    Some(rule)
}
