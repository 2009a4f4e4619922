//! Lowering of the rules over several events: `threshold`, `sequence` and `first_seen`.
//!
//! None of them needs a new way to evaluate a row. `first_seen` is a `summarize` with a window
//! and a `having` (docs/semantics.md, "First seen"), so it is rewritten into those clauses and
//! lowered as any rule. `threshold` is lowered as a `summarize` whose aggregates name what an
//! event keeps (the measure, `StartTime = min(Timestamp)`, the `with` aggregates), and the rule
//! is marked with the operator that computes its rows over each key's events. A `sequence`
//! lowers each step as such a rule over the step's tables and joins their bodies into one
//! rule, each body tagged with its step.

use super::synth::{assign, call, column, map_names, node};
use super::*;
use crate::compile::{Gate, StepRole, Timeline, TimelineKind, DEFAULT_MAX_STEP_EVENTS};

/// A constant timespan > 0, in ticks.
fn positive_span(
    e: &ast::Expr,
    what: &str,
    lets: &Lets,
    file: usize,
    diags: &mut Vec<Diagnostic>,
) -> Option<i64> {
    let mut scratch = Vec::new();
    let v = lower_standalone(e, None, lets, &mut FieldSet::new(), &mut scratch);
    match v.as_const() {
        Some(Value::Timespan(t)) if *t > 0 && scratch.is_empty() => Some(*t),
        _ => {
            diags.push(
                Diagnostic::error(
                    codes::BAD_SPAN,
                    file,
                    e.span,
                    format!("`{what}` takes a positive constant timespan"),
                )
                .with_note("write a duration such as 10m, 1h or 1d"),
            );
            None
        }
    }
}

/// Every body reads a table with a `Timestamp`.
pub(super) fn needs_timestamps(
    rule: &Rule,
    span: Span,
    what: &str,
    file: usize,
    diags: &mut Vec<Diagnostic>,
) -> Option<()> {
    for b in &rule.bodies {
        if b.timestamp.is_none() {
            diags.push(Diagnostic::error(
                codes::NO_TIMESTAMP,
                file,
                span,
                format!(
                    "`{what}` orders events by Timestamp, which {} does not have",
                    b.table
                ),
            ));
            return None;
        }
    }
    Some(())
}

/// The rule's `let`s as its clauses see them (errors are reported by the lowering proper).
pub(crate) fn rule_lets(r: &ast::Rule, file: usize, file_lets: &Lets) -> Lets {
    let mut lets = file_lets.clone();
    let mut scratch = Vec::new();
    for c in &r.clauses {
        if let ast::Clause::Let(l) = c {
            lets.remove(&l.name.name);
            add_let(&mut lets, l, file, &mut scratch);
        }
    }
    lets
}

/// `first_seen T by K detect D history H with ...` (the rule's `first_seen` clause `f`) is `window D + H`, `summarize FirstSeen =
/// min(Timestamp), LastSeen = max(Timestamp), Count = count(), ... by K, T` and `having
/// FirstSeen >= ago(D)` (and-ed with the rule's own `having`).
pub fn first_seen(
    r: &ast::Rule,
    f: &ast::FirstSeen,
    file: usize,
    diags: &mut Vec<Diagnostic>,
) -> Option<ast::Rule> {
    if let Some(w) = r.clauses.iter().find_map(|c| match c {
        ast::Clause::Window(w) => Some(w),
        _ => None,
    }) {
        diags.push(
            Diagnostic::error(
                codes::CLAUSE_ORDER,
                file,
                w.span,
                "`window` in a rule with `first_seen`",
            )
            .with_note("`first_seen` looks back over `detect` + `history`: it sets the window"),
        );
        return None;
    }
    let sp = f.span;
    let ts = || column("Timestamp", sp);
    let mut aggregates = vec![
        assign(Some("FirstSeen"), call("min", vec![ts()], sp)),
        assign(Some("LastSeen"), call("max", vec![ts()], sp)),
        assign(Some("Count"), call("count", vec![], sp)),
    ];
    aggregates.extend(f.with.iter().cloned());
    let mut by = f.by.clone();
    by.push(f.term.clone());
    let fresh = node(
        ast::ExprKind::Binary {
            op: ast::BinOp::Ge,
            op_span: sp,
            lhs: Box::new(column("FirstSeen", sp)),
            rhs: Box::new(call("ago", vec![f.detect.clone()], f.detect.span)),
        },
        sp,
    );
    // One literal when both are (what `explain` and the KQL export then print: `31d`).
    let total = match (&f.detect.kind, &f.history.kind) {
        (
            ast::ExprKind::Literal(ast::Literal::Timespan(d)),
            ast::ExprKind::Literal(ast::Literal::Timespan(h)),
        ) if d.checked_add(*h).is_some() => {
            node(ast::ExprKind::Literal(ast::Literal::Timespan(d + h)), sp)
        }
        _ => node(
            ast::ExprKind::Binary {
                op: ast::BinOp::Add,
                op_span: sp,
                lhs: Box::new(f.detect.clone()),
                rhs: Box::new(f.history.clone()),
            },
            sp,
        ),
    };
    let has_having = r
        .clauses
        .iter()
        .any(|c| matches!(c, ast::Clause::Having(_)));
    let mut clauses = Vec::new();
    for c in &r.clauses {
        match c {
            ast::Clause::FirstSeen(_) => {
                clauses.push(ast::Clause::Window(ast::Window {
                    kind: ast::WindowKind::Lookback(total.clone()),
                    span: sp,
                }));
                clauses.push(ast::Clause::Summarize(ast::Summarize {
                    aggregates: aggregates.clone(),
                    by: by.clone(),
                    span: sp,
                }));
                if !has_having {
                    clauses.push(ast::Clause::Having(ast::Having {
                        predicate: fresh.clone(),
                        span: sp,
                    }));
                }
            }
            ast::Clause::Having(h) => {
                let both = node(
                    ast::ExprKind::Binary {
                        op: ast::BinOp::And,
                        op_span: sp,
                        lhs: Box::new(fresh.clone()),
                        rhs: Box::new(h.predicate.clone()),
                    },
                    h.span,
                );
                clauses.push(ast::Clause::Having(ast::Having {
                    predicate: both,
                    span: h.span,
                }));
            }
            other => clauses.push(other.clone()),
        }
    }
    Some(ast::Rule {
        name: r.name.clone(),
        clauses,
        span: r.span,
    })
}

/// The measure and its comparisons: `count() >= 5`, `5 <= count()`, `dcount(X) > 1 and
/// dcount(X) < 10`.
fn threshold_condition(
    e: &ast::Expr,
    lets: &Lets,
    file: usize,
    diags: &mut Vec<Diagnostic>,
) -> Option<(ast::Expr, Vec<(CmpOp, Value)>)> {
    let mut conjuncts = Vec::new();
    let mut stack = vec![e];
    while let Some(x) = stack.pop() {
        match &x.kind {
            ast::ExprKind::Binary {
                op: ast::BinOp::And,
                lhs,
                rhs,
                ..
            } => {
                stack.push(rhs);
                stack.push(lhs);
            }
            _ => conjuncts.push(x),
        }
    }
    let bad = |diags: &mut Vec<Diagnostic>, span: Span| {
        diags.push(
            Diagnostic::error(
                codes::BAD_THRESHOLD,
                file,
                span,
                "a threshold compares one aggregate with constants",
            )
            .with_note("write `count() >= 5`, `countif(p) > 2`, `dcount(RemoteUrl) >= 3`, `sum(x) > 100` or `avg(x) > 10`, joined by `and`"),
        );
    };
    let mut measure: Option<&ast::Expr> = None;
    let mut condition = Vec::new();
    for c in conjuncts {
        let ast::ExprKind::Binary { op, lhs, rhs, .. } = &c.kind else {
            bad(diags, c.span);
            return None;
        };
        let cmp = match op {
            ast::BinOp::Eq => CmpOp::Eq,
            ast::BinOp::NotEq => CmpOp::NotEq,
            ast::BinOp::Lt => CmpOp::Lt,
            ast::BinOp::Le => CmpOp::Le,
            ast::BinOp::Gt => CmpOp::Gt,
            ast::BinOp::Ge => CmpOp::Ge,
            _ => {
                bad(diags, c.span);
                return None;
            }
        };
        let is_measure = |x: &ast::Expr| {
            matches!(&x.kind, ast::ExprKind::Call { name, .. }
                if matches!(name.name.as_str(), "count" | "countif" | "dcount" | "sum" | "avg"))
        };
        let (m, k, cmp) = if is_measure(lhs) {
            (&**lhs, &**rhs, cmp)
        } else if is_measure(rhs) {
            let flipped = match cmp {
                CmpOp::Lt => CmpOp::Gt,
                CmpOp::Le => CmpOp::Ge,
                CmpOp::Gt => CmpOp::Lt,
                CmpOp::Ge => CmpOp::Le,
                other => other,
            };
            (&**rhs, &**lhs, flipped)
        } else {
            bad(diags, c.span);
            return None;
        };
        if measure.is_some_and(|prev| !same_call(prev, m)) {
            bad(diags, m.span);
            return None;
        }
        measure = Some(m);
        let mut scratch = Vec::new();
        let v = lower_standalone(k, None, lets, &mut FieldSet::new(), &mut scratch);
        match v.as_const() {
            Some(v @ (Value::Long(_) | Value::Real(_))) if scratch.is_empty() => {
                condition.push((cmp, v.clone()))
            }
            _ => {
                bad(diags, k.span);
                return None;
            }
        }
    }
    Some((measure?.clone(), condition))
}

/// The same aggregate call: function and arguments alike, whatever their spans.
fn same_call(a: &ast::Expr, b: &ast::Expr) -> bool {
    let text = |e: &ast::Expr| scry_grammar::print::expr(e, scry_grammar::print::Dialect::Scry);
    text(a) == text(b)
}

/// `threshold` as a `summarize` of what each event keeps, and the operator.
pub(super) fn threshold(
    r: &ast::Rule,
    t: &ast::Threshold,
    file: usize,
    file_lets: &Lets,
    diags: &mut Vec<Diagnostic>,
) -> Option<(ast::Rule, Timeline)> {
    let lets = rule_lets(r, file, file_lets);
    let span = positive_span(&t.within, "within", &lets, file, diags);
    let (measure, condition) = threshold_condition(&t.condition, &lets, file, diags)?;
    let span = span?;
    let sp = t.span;
    let ts = || column("Timestamp", sp);
    let mut aggregates = vec![
        assign(Some("StartTime"), call("min", vec![ts()], sp)),
        assign(Some("EndTime"), call("max", vec![ts()], sp)),
        assign(t.name.as_ref().map(|n| n.name.as_str()), measure.clone()),
        assign(Some("Peak"), measure),
    ];
    aggregates.extend(t.with.iter().cloned());
    let clauses = r
        .clauses
        .iter()
        .map(|c| match c {
            ast::Clause::Threshold(_) => ast::Clause::Summarize(ast::Summarize {
                aggregates: aggregates.clone(),
                by: t.by.clone(),
                span: sp,
            }),
            other => other.clone(),
        })
        .collect();
    let spec = Timeline {
        kind: TimelineKind::Threshold {
            measure: 2,
            peak: 3,
            condition,
        },
        span,
        steps: vec![String::new()],
        max_events: DEFAULT_MAX_STEP_EVENTS,
        rule_keys: t.by.len(),
        gates: Vec::new(),
    };
    Some((
        ast::Rule {
            name: r.name.clone(),
            clauses,
            span: r.span,
        },
        spec,
    ))
}

/// The columns `step.X` names in the rule's `having` and `project`, per step.
fn step_columns(r: &ast::Rule, steps: &[String]) -> Vec<Vec<String>> {
    let mut out = vec![Vec::new(); steps.len()];
    let mut visit = |e: &ast::Expr| {
        scry_grammar::print::walk(e, &mut |x| {
            let ast::ExprKind::Name(n) = &x.kind else {
                return;
            };
            if let Some((step, col)) = n.name.split_once('.') {
                if let Some(i) = steps.iter().position(|s| s == step) {
                    if !out[i].iter().any(|c| c == col) {
                        out[i].push(col.to_string());
                    }
                }
            }
        })
    };
    for c in &r.clauses {
        match c {
            ast::Clause::Having(h) => visit(&h.predicate),
            ast::Clause::Project(p) => p.columns.iter().for_each(|a| visit(&a.value)),
            _ => {}
        }
    }
    out
}

/// `install.FolderPath` → `install_FolderPath`, the grouped column a step's value is in.
fn rename_step_columns(e: &mut ast::Expr, steps: &[String]) {
    map_names(e, &mut |name| {
        let (step, col) = name.split_once('.')?;
        steps
            .iter()
            .any(|s| s == step)
            .then(|| format!("{step}_{col}"))
    });
}

pub(super) fn sequence(r: &ast::Rule, s: &ast::Sequence, lw: &mut Lowering<'_>) -> Option<Rule> {
    let (file, file_lets, catalog) = (lw.file, lw.file_lets, lw.catalog);
    let lets = rule_lets(r, file, file_lets);
    let span = positive_span(&s.within, "within", &lets, file, lw.diags);
    for c in &r.clauses {
        let misplaced = match c {
            ast::Clause::From(x) => Some(("from", x.span)),
            ast::Clause::Where(x) => Some(("where", x.span)),
            ast::Clause::Extend(x) => Some(("extend", x.span)),
            _ => None,
        };
        if let Some((kw, sp)) = misplaced {
            lw.diags.push(
                Diagnostic::error(
                    codes::CLAUSE_ORDER,
                    file,
                    sp,
                    format!("`{kw}` in a sequence rule"),
                )
                .with_note(
                    "each step names its tables and conditions: `step name from T where ...`",
                ),
            );
            return None;
        }
    }
    let names: Vec<String> = s
        .steps
        .iter()
        .map(|st| st.name.as_ref().map_or(String::new(), |n| n.name.clone()))
        .collect();
    let seq_error = |diags: &mut Vec<Diagnostic>, sp: Span, msg: &str| {
        diags.push(Diagnostic::error(codes::BAD_SEQUENCE, file, sp, msg));
    };
    if s.steps.len() < 2 {
        seq_error(
            lw.diags,
            s.span,
            "a sequence has at least two steps (one step is a plain rule)",
        );
        return None;
    }
    for (i, st) in s.steps.iter().enumerate() {
        if names[..i].contains(&names[i]) {
            seq_error(lw.diags, st.span, "two steps of one name");
            return None;
        }
    }
    if let (true, Some(u)) = (s.unordered, &s.until) {
        seq_error(lw.diags, u.span, "`until` ends ordered sequences only");
        return None;
    }
    let span = span?;
    let wanted = step_columns(r, &names);
    let mut bodies = Vec::new();
    let mut grouped: Vec<OutputColumn> = Vec::new();
    let mut step_cols: Vec<OutputColumn> = Vec::new();
    let mut key_types: Option<(Span, Vec<Type>)> = None;
    let mut exclusions = Vec::new();
    let mut rule_sets = Vec::new();
    let mut gates: Vec<Option<Gate>> = Vec::new();
    let steps = s
        .steps
        .iter()
        .map(Some)
        .chain(std::iter::once(s.until.as_ref()));
    for (i, st) in steps.enumerate() {
        let Some(st) = st else { continue };
        let role = match st.name {
            Some(_) => StepRole::Step(i as u16),
            None => StepRole::Until,
        };
        // What the step keeps: Timestamp, ReportId where every table has it, the columns
        // `step.X` the rule reads.
        let mut keep = vec!["Timestamp".to_string()];
        if role != StepRole::Until {
            let all_have = |c: &str| {
                st.tables.iter().all(|t| {
                    catalog
                        .table(&t.name)
                        .is_some_and(|t| t.column(c).is_some())
                })
            };
            if all_have("ReportId") {
                keep.push("ReportId".into());
            }
            for c in &wanted[i] {
                if !keep.contains(c) {
                    keep.push(c.clone());
                }
            }
        }
        let mut by = s.by.clone();
        // A step's own keys are not output columns: named apart, so that a step can also
        // keep the key's column (`step a ... by ProcessId` and `a.ProcessId`).
        by.extend(
            st.by
                .iter()
                .enumerate()
                .map(|(k, e)| assign(Some(&format!("$key{k}")), e.clone())),
        );
        let mut clauses: Vec<ast::Clause> = r
            .clauses
            .iter()
            .filter(|c| {
                matches!(
                    c,
                    ast::Clause::Meta(_)
                        | ast::Clause::Window(_)
                        | ast::Clause::Let(_)
                        | ast::Clause::Except(_)
                )
            })
            .cloned()
            .collect();
        clauses.push(ast::Clause::From(ast::From {
            tables: st.tables.clone(),
            span: st.span,
        }));
        clauses.extend(st.clauses.iter().cloned());
        let mut aggregates: Vec<ast::Assignment> = keep
            .iter()
            .map(|c| assign(Some(c), call("min", vec![column(c, st.span)], st.span)))
            .collect();
        // A gated step's events also keep the measure's argument, after the shown values.
        let gate = match &st.gate {
            Some(g) => {
                let within = positive_span(&g.within, "within", &lets, file, lw.diags);
                let (measure, condition) =
                    threshold_condition(&g.condition, &lets, file, lw.diags)?;
                aggregates.push(assign(Some("$measure"), measure));
                Some((within?, condition))
            }
            None => None,
        };
        clauses.push(ast::Clause::Summarize(ast::Summarize {
            aggregates,
            by,
            span: st.span,
        }));
        // Examples belong to the sequence, and its id is reported once.
        clauses.push(ast::Clause::Examples(ast::Examples {
            now: None,
            cases: Vec::new(),
            span: st.span,
        }));
        let synthetic = ast::Rule {
            name: r.name.clone(),
            clauses,
            span: r.span,
        };
        let mut step_diags = Vec::new();
        let lowered = lower_rule(
            &synthetic,
            &mut Lowering {
                file,
                file_lets,
                catalog,
                fields: lw.fields,
                sets: lw.sets,
                diags: &mut step_diags,
            },
        );
        // Rule-wide warnings (no id) and duplicates of them per step are said once, below.
        lw.diags.extend(
            step_diags
                .into_iter()
                .filter(|d| d.code != codes::MISSING_ID || i == 0),
        );
        let mut lowered = lowered?;
        needs_timestamps(&lowered, st.span, "sequence", file, lw.diags)?;
        let types: Vec<Type> = lowered.bodies[0].keys.iter().map(|k| k.ty).collect();
        match &key_types {
            None => key_types = Some((st.span, types)),
            Some((_, first)) if *first != types => {
                lw.diags.push(
                    Diagnostic::error(
                        codes::STEP_KEYS,
                        file,
                        st.span,
                        "this step's keys differ from the first step's in number or type",
                    )
                    .with_note("steps are matched on equal keys: the sequence's `by`, then each step's own `by`, position by position"),
                );
                return None;
            }
            Some(_) => {}
        }
        if grouped.is_empty() {
            grouped.extend(lowered.grouped[..s.by.len()].iter().cloned());
            exclusions = lowered.exclusions.clone();
        }
        if let Some(name) = &st.name {
            let mut kept = &lowered.grouped[lowered.bodies[0].keys.len()..];
            if let Some((span, condition)) = gate {
                kept = &kept[..kept.len().saturating_sub(1)];
                let aggs = &lowered.bodies[0].aggs;
                let measure = aggs.len().saturating_sub(1);
                let shown = aggs[..measure]
                    .iter()
                    .map(|a| usize::from(a.arg.is_some()) + a.returned.len())
                    .sum();
                gates.resize(i, None);
                gates.push(Some(Gate {
                    measure,
                    span,
                    condition,
                    shown,
                }));
            }
            for c in kept {
                step_cols.push(OutputColumn {
                    name: format!("{}_{}", name.name, c.name),
                    ty: c.ty,
                });
            }
        }
        rule_sets.extend(lowered.sets.iter().copied());
        for mut b in lowered.bodies.drain(..) {
            b.step = role;
            bodies.push(b);
        }
    }
    grouped.push(OutputColumn {
        name: "StartTime".into(),
        ty: Type::DateTime,
    });
    grouped.push(OutputColumn {
        name: "EndTime".into(),
        ty: Type::DateTime,
    });
    grouped.extend(step_cols);
    rule_sets.sort();
    rule_sets.dedup();

    // `having` and `project` read the grouped columns, `step.X` as `step_X`.
    let mut having = None;
    let mut reshape = None;
    let mut output = grouped.clone();
    let mut take = None;
    let mut examples = None;
    for c in &r.clauses {
        match c {
            ast::Clause::Having(h) => {
                let mut e = h.predicate.clone();
                rename_step_columns(&mut e, &names);
                let mut hx = output_cx(file, &lets, &grouped, lw.fields, lw.diags);
                having = Some(hx.predicate(&e));
            }
            ast::Clause::Project(p) => {
                let mut cols: Vec<OutputColumn> = Vec::new();
                let mut exprs = Vec::new();
                for a in &p.columns {
                    let mut e = a.value.clone();
                    rename_step_columns(&mut e, &names);
                    let mut px = output_cx(file, &lets, &grouped, lw.fields, lw.diags);
                    let v = px.expr(&e);
                    let name = match &a.name {
                        Some(n) => n.name.clone(),
                        None => output_name(&e, &v, &cols),
                    };
                    if cols.iter().any(|c| c.name == name) {
                        lw.diags.push(Diagnostic::error(
                            codes::DUPLICATE_NAME,
                            file,
                            a.span,
                            format!("output column `{name}` is defined twice"),
                        ));
                    }
                    cols.push(OutputColumn { name, ty: v.ty });
                    exprs.push(v);
                }
                output = cols;
                reshape = Some(exprs);
            }
            ast::Clause::Take(t) => take = rule::lower_take(t, file, &lets, lw.diags),
            ast::Clause::Examples(x) => examples = Some(x),
            _ => {}
        }
    }
    let mut tables: Vec<&str> = Vec::new();
    for b in &bodies {
        if !tables.contains(&b.table.as_str()) {
            tables.push(&b.table);
        }
    }
    let (examples_now, cases) = match examples {
        Some(x) => lower_examples(x, &tables, &[], &exclusions, file, &lets, lw.diags),
        None => {
            no_examples(r, file, lw.diags);
            (None, Vec::new())
        }
    };
    let mut scratch = Vec::new();
    let meta = lower_meta(r, file, &mut scratch);
    Some(Rule {
        name: r.name.name.clone(),
        meta,
        file,
        span: r.span,
        bodies,
        exclusions,
        summarize: true,
        output,
        grouped,
        having,
        reshape,
        projected: false,
        take,
        examples_now,
        examples: cases,
        sets: rule_sets,
        timeline: Some(Arc::new(Timeline {
            kind: if s.unordered {
                TimelineKind::Unordered
            } else {
                TimelineKind::Sequence
            },
            span,
            steps: names,
            max_events: DEFAULT_MAX_STEP_EVENTS,
            rule_keys: s.by.len(),
            gates,
        })),
    })
}

/// A context over a rule's grouped columns (what `having` and `project` after it read).
fn output_cx<'a>(
    file: usize,
    lets: &'a Lets,
    grouped: &[OutputColumn],
    fields: &'a mut FieldSet,
    diags: &'a mut Vec<Diagnostic>,
) -> Cx<'a> {
    Cx {
        file,
        table: None,
        lets,
        computed: grouped.iter().map(|c| (c.name.clone(), c.ty)).collect(),
        fields,
        diags,
        mode: Mode::Row,
        missing: Vec::new(),
        sets: None,
    }
}
