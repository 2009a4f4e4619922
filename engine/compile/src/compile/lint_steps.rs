//! Lints on the rules over several events: steps, sides and keys that cannot mean what they
//! seem to. They read the rule as written, with the catalog, once it compiled without errors,
//! and warn only where a short argument shows the mistake (the facts of `lint_facts.rs`).
//!
//! - W0400: two steps of a sequence (or a join's two sides) whose `where`s fix a key column to
//!   values no two of which are equal (`DeviceName == 'a'` in one, `DeviceName in ('b', 'c')`
//!   or `isempty(DeviceName)` in the other): no events share a key, the rule never fires.
//! - W0402: a threshold compared with an upper bound (`<`, `<=`, `==`, `!=`): it is tested on
//!   each key's peak, so it reads "even the busiest span stayed under", not "some span did".
//!   On a gated sequence step the bound holds at quiet rows (a key's first row has a count of
//!   1), so the step has an event at nearly every row.
//! - W0403: two consecutive steps of a sequence on a common table, with the same own keys and
//!   no `extend`, where every condition of one step (its top-level conjuncts, compared as
//!   printed) is also a condition of the other: every row of the stricter step passes both,
//!   and one row that passes two steps is an event of each. The rule is deliberately narrow:
//!   two steps whose conditions merely overlap (`has 'a'` and `has 'b'`) are not flagged.
//! - W0406: a sequence step whose `where` reads no column: it keeps every row of its tables
//!   per key, up to the cap, evicting the events that mattered.
//! - W0407: a sequence step named like the first part of an alias (`process`, `file`, ...):
//!   in `project` and `having`, `process.name` then reads the step's column `name`.
//! - W0408: a threshold, sequence or join whose string keys can all be `""`: no string key
//!   column is ruled out empty by a conjunct of the `where` (in some step for a sequence, on
//!   some side for a join, since matched events share the key). Rows without the key then
//!   share one. A key that is not a plain column is not judged.
//! - W0409: a `join kind=innerunique` with a time condition or a `where` after it: the left
//!   side is reduced to one event per key before either is tested.

use super::lint_facts::{can_equal, show, Fixed, Part};
use super::lower::Lets;
use crate::diag::{codes, Diagnostic};
use crate::schema::Catalog;
use scry_grammar::print::{self, Dialect};
use scry_grammar::{self as ast, BinOp};

/// Runs the lints of the rules over several events over one rule.
pub(super) fn step_lints(
    r: &ast::Rule,
    file: usize,
    lets: &Lets,
    catalog: &Catalog,
    diags: &mut Vec<Diagnostic>,
) {
    for (at, c) in r.clauses.iter().enumerate() {
        match c {
            ast::Clause::Threshold(t) => {
                upper_bound(&t.condition, &t.within, false, file, diags);
                let part = rule_part(r, &r.clauses, catalog, t.by.iter().map(key_of).collect());
                empty_keys(&[part], Form::Threshold, file, lets, diags);
            }
            ast::Clause::Sequence(s) => sequence(s, file, lets, catalog, diags),
            ast::Clause::Join(j) => join(r, at, j, file, lets, catalog, diags),
            _ => {}
        }
    }
}

/// A key as written: its name when it is a plain column.
fn key_of(a: &ast::Assignment) -> (Option<&str>, ast::Span) {
    match &a.value.kind {
        ast::ExprKind::Name(n) => (Some(n.name.as_str()), a.span),
        _ => (None, a.span),
    }
}

/// The part made of `clauses`' `from`, `where` and `extend` (a threshold rule, a join's left
/// side).
fn rule_part<'a>(
    r: &'a ast::Rule,
    clauses: &'a [ast::Clause],
    catalog: &'a Catalog,
    keys: Vec<(Option<&'a str>, ast::Span)>,
) -> Part<'a> {
    let mut part = Part {
        what: "the rule".into(),
        tables: Vec::new(),
        conds: Vec::new(),
        extended: Vec::new(),
        keys,
        span: r.name.span,
    };
    for c in clauses {
        match c {
            ast::Clause::From(f) => part
                .tables
                .extend(f.tables.iter().filter_map(|t| catalog.table(&t.name))),
            c => part.absorb(c),
        }
    }
    part
}

impl<'a> Part<'a> {
    /// Takes in a `where` (its conjuncts) or an `extend` (the names it assigns).
    fn absorb(&mut self, c: &'a ast::Clause) {
        match c {
            ast::Clause::Where(w) => self.conds.extend(w.predicate.conjuncts()),
            ast::Clause::Extend(x) => self.extended.extend(
                x.assignments
                    .iter()
                    .filter_map(|a| Some(a.name.as_ref()?.name.as_str())),
            ),
            _ => {}
        }
    }
}

/// A sequence step (or `until`) as a part.
fn step_part<'a>(s: &'a ast::Sequence, st: &'a ast::SeqStep, catalog: &'a Catalog) -> Part<'a> {
    let mut part = Part {
        what: match &st.name {
            Some(n) => format!("step `{}`", n.name),
            None => "`until`".into(),
        },
        tables: catalog.tables_named(&st.tables),
        conds: Vec::new(),
        extended: Vec::new(),
        keys: s.by.iter().map(key_of).collect(),
        span: st.name.as_ref().map_or(st.span, |n| n.span),
    };
    part.keys.extend(st.by.iter().map(|e| match &e.kind {
        ast::ExprKind::Name(n) => (Some(n.name.as_str()), e.span),
        _ => (None, e.span),
    }));
    for c in &st.clauses {
        part.absorb(c);
    }
    part
}

fn sequence(
    s: &ast::Sequence,
    file: usize,
    lets: &Lets,
    catalog: &Catalog,
    diags: &mut Vec<Diagnostic>,
) {
    for g in s.steps.iter().filter_map(|st| st.gate.as_ref()) {
        upper_bound(&g.condition, &g.within, true, file, diags);
    }
    let steps: Vec<(&ast::SeqStep, Part)> = s
        .steps
        .iter()
        .map(|st| (st, step_part(s, st, catalog)))
        .collect();
    let parts: Vec<&Part> = steps.iter().map(|(_, p)| p).collect();
    disjoint_keys(&parts, file, lets, diags);
    for ((a, pa), (b, pb)) in steps.iter().zip(steps.iter().skip(1)) {
        same_rows(a, pa, b, pb, file, diags);
    }
    let prefixes = alias_prefixes(catalog);
    for (st, p) in &steps {
        if !p.reads_a_column() {
            let tables: Vec<&str> = p.tables.iter().map(|t| t.name.as_str()).collect();
            diags.push(
                Diagnostic::warning(
                    codes::STEP_MATCHES_EVERY_ROW,
                    file,
                    p.span,
                    format!(
                        "{} keeps every {} row of each key (cap {})",
                        p.what,
                        tables.join(" and "),
                        super::DEFAULT_MAX_STEP_EVENTS
                    ),
                )
                .with_label("no condition of this step reads a column")
                .with_note("past the cap the oldest events of a key are evicted, the ones a match needed among them; give the step a `where` on what the event is"),
            );
        }
        if let Some(n) = &st.name {
            if prefixes.contains(&n.name) {
                diags.push(
                    Diagnostic::warning(
                        codes::STEP_NAMED_LIKE_ALIAS,
                        file,
                        n.span,
                        format!("step `{0}` is named like the aliases `{0}.*`", n.name),
                    )
                    .with_label("a step name and an alias prefix")
                    .with_note(format!(
                        "in `project` and `having`, `{0}.name` reads column `name` of step `{0}`, not the alias; name the step after what it finds",
                        n.name
                    )),
                );
            }
        }
    }
    // `until` is not among the parts: a match needs none of its events, so its `where`
    // guarantees nothing about the key.
    empty_keys_refs(&parts, Form::Sequence, file, lets, diags);
}

/// The first parts of the catalog's dotted aliases (`process` of `process.name`), sorted.
fn alias_prefixes(catalog: &Catalog) -> Vec<String> {
    let mut out: Vec<String> = catalog
        .tables()
        .iter()
        .flat_map(|t| t.aliases())
        .filter_map(|(a, _)| Some(a.split_once('.')?.0.to_string()))
        .collect();
    out.sort();
    out.dedup();
    out
}

/// W0400 over every pair of parts.
fn disjoint_keys(parts: &[&Part], file: usize, lets: &Lets, diags: &mut Vec<Diagnostic>) {
    for (i, a) in parts.iter().enumerate() {
        for b in &parts[i + 1..] {
            if let Some(d) = never_share(a, b, file, lets) {
                diags.push(d);
                // One pair is enough to say the rule never fires.
                return;
            }
        }
    }
}

fn never_share(a: &Part, b: &Part, file: usize, lets: &Lets) -> Option<Diagnostic> {
    for (ka, kb) in a.keys.iter().zip(&b.keys) {
        let ((Some(na), _), (Some(nb), _)) = (ka, kb) else {
            continue;
        };
        let (Some((ca, _)), Some((cb, _))) = (a.column(na), b.column(nb)) else {
            continue;
        };
        let (Some((ea, va)), Some((eb, vb))) = (a.fixed(&ca, lets), b.fixed(&cb, lets)) else {
            continue;
        };
        let meets = |x: &Fixed| vb.iter().any(|y| can_equal(x, y));
        if va.iter().any(meets) {
            continue;
        }
        let says = if ca == cb {
            format!(
                "{ca} is {} in one and {} in the other",
                show(&va),
                show(&vb)
            )
        } else {
            format!("{ca} is {} and {cb} is {}", show(&va), show(&vb))
        };
        return Some(
            Diagnostic::warning(
                codes::STEPS_NEVER_SHARE_KEY,
                file,
                eb.span,
                format!("{} and {} can never share a key: {says}", a.what, b.what),
            )
            .with_label(format!("{} fixes the key here", b.what))
            .with_note(format!(
                "{} requires `{}`",
                a.what,
                print::expr(ea, Dialect::Scry)
            ))
            .with_note("events pair only when their keys are equal, so this rule can never fire"),
        );
    }
    None
}

/// W0403: steps `a` then `b` on a common table, one's conditions among the other's.
fn same_rows(
    a: &ast::SeqStep,
    pa: &Part,
    b: &ast::SeqStep,
    pb: &Part,
    file: usize,
    diags: &mut Vec<Diagnostic>,
) {
    let Some(table) = pa
        .tables
        .iter()
        .find(|t| pb.tables.iter().any(|u| u.name == t.name))
    else {
        return;
    };
    let text = |e: &ast::Expr| print::expr(e, Dialect::Scry);
    let keys = |st: &ast::SeqStep| st.by.iter().map(text).collect::<Vec<_>>();
    if !pa.extended.is_empty() || !pb.extended.is_empty() || keys(a) != keys(b) {
        return;
    }
    let ca: Vec<String> = pa.conds.iter().map(|c| text(c)).collect();
    let cb: Vec<String> = pb.conds.iter().map(|c| text(c)).collect();
    let within = |x: &[String], y: &[String]| x.iter().all(|c| y.contains(c));
    let why = if within(&ca, &cb) && within(&cb, &ca) {
        "the two steps have the same conditions".to_string()
    } else if within(&ca, &cb) {
        format!("every condition of {} is also one of {}", pa.what, pb.what)
    } else if within(&cb, &ca) {
        format!("every condition of {} is also one of {}", pb.what, pa.what)
    } else {
        return;
    };
    diags.push(
        Diagnostic::warning(
            codes::STEPS_MATCH_SAME_ROW,
            file,
            pb.span,
            format!("{} and {} can match the same {} row", pa.what, pb.what, table.name),
        )
        .with_label(why)
        .with_note("one row that passes two steps is an event of both (docs/semantics.md, \"Sequences\"): that row alone completes them; add a condition that tells the steps' rows apart"),
    );
}

/// What a key belongs to, for W0408's message.
#[derive(Clone, Copy)]
enum Form {
    Threshold,
    Sequence,
    Join,
}

fn empty_keys(parts: &[Part], form: Form, file: usize, lets: &Lets, diags: &mut Vec<Diagnostic>) {
    let refs: Vec<&Part> = parts.iter().collect();
    empty_keys_refs(&refs, form, file, lets, diags);
}

/// W0408: no string key of the operator is ruled out empty in any of its parts.
fn empty_keys_refs(
    parts: &[&Part],
    form: Form,
    file: usize,
    lets: &Lets,
    diags: &mut Vec<Diagnostic>,
) {
    let Some(first) = parts.first() else { return };
    let mut unguarded: Option<(String, String, ast::Span)> = None;
    for k in 0..first.keys.len() {
        // The key's column in every part; a key that is not a plain column is not judged.
        let mut cols = Vec::new();
        for p in parts {
            let Some((Some(name), _)) = p.keys.get(k) else {
                return;
            };
            let Some(col) = p.column(name) else { return };
            cols.push(col);
        }
        if !cols.iter().all(|(_, ty)| ty.is_stringish()) {
            continue;
        }
        if parts
            .iter()
            .zip(&cols)
            .any(|(p, (c, _))| p.nonempty(c, lets))
        {
            return;
        }
        if unguarded.is_none() {
            unguarded = Some((
                cols[0].0.clone(),
                cols.last().map_or(String::new(), |c| c.0.clone()),
                first.keys[k].1,
            ));
        }
    }
    let Some((col, other, span)) = unguarded else {
        return;
    };
    let (message, note) = match form {
        Form::Threshold => (
            format!("rows with an empty {col} share one key: the threshold counts them together"),
            format!("add `isnotempty({col})` to the rule's `where`"),
        ),
        Form::Sequence => (
            format!("rows with an empty {col} share one key: events of unrelated sources can complete the sequence"),
            format!("add `isnotempty({col})` to the `where` of one step (every step of a match has the same key)"),
        ),
        Form::Join => (
            format!("rows with an empty {col} share one key (Kusto joins \"\" with \"\")"),
            format!("add `isnotempty({col})` to the left side's `where` or `isnotempty({other})` to the right side's"),
        ),
    };
    diags.push(
        Diagnostic::warning(codes::KEY_CAN_BE_EMPTY, file, span, message)
            .with_label("a string key no condition requires")
            .with_note(note),
    );
}

/// W0402: the first upper-bounded comparison of a threshold (or of a step's gate) `condition`
/// over spans of `within`.
fn upper_bound(
    condition: &ast::Expr,
    within: &ast::Expr,
    gate: bool,
    file: usize,
    diags: &mut Vec<Diagnostic>,
) {
    let parts = condition.conjuncts();
    let measure = |x: &ast::Expr| matches!(&x.kind, ast::ExprKind::Call { .. });
    for c in parts {
        let ast::ExprKind::Binary { op, lhs, rhs, .. } = &c.kind else {
            continue;
        };
        // `5 > count()` bounds the measure from above as `count() < 5` does.
        let (m, k, op) = match (measure(lhs), measure(rhs), op) {
            (true, _, op) => (lhs, rhs, *op),
            (false, true, op) => {
                let flipped = match op {
                    BinOp::Gt => BinOp::Lt,
                    BinOp::Ge => BinOp::Le,
                    BinOp::Lt => BinOp::Gt,
                    BinOp::Le => BinOp::Ge,
                    other => *other,
                };
                (rhs, lhs, flipped)
            }
            _ => continue,
        };
        let word = match op {
            BinOp::Lt => "<",
            BinOp::Le => "<=",
            BinOp::Eq => "==",
            BinOp::NotEq => "!=",
            _ => continue,
        };
        let within = print::expr(within, Dialect::Scry);
        let m = print::expr(m, Dialect::Scry);
        let k = print::expr(k, Dialect::Scry);
        // The same mistake reads differently on a rule's peak and on a step's trailing span.
        let (message, semantics, remedy) = if gate {
            (
                format!("this step has an event at every row whose last {within} holds {m} {word} {k}"),
                format!("a gated step's events are the moments its threshold holds over the span ending at each row (docs/semantics.md, \"Sequences\"): a key's first row already has a {within} span of one event"),
                "to ask for a quiet key, test its busiest span with a rule-level `threshold`",
            )
        } else {
            (
                format!("this threshold fires for every key whose busiest {within} span has {m} {word} {k}"),
                format!("a threshold tests each key's peak, its largest {m} over any {within} span (docs/semantics.md, \"Thresholds\"): a key with one quieter span but a busier one elsewhere does not fire"),
                "a key with no event at all has no span and never fires: an absence is not a low count",
            )
        };
        diags.push(
            Diagnostic::warning(codes::THRESHOLD_UPPER_BOUND, file, c.span, message)
                .with_label("an upper bound on the measure")
                .with_note(semantics)
                .with_note(remedy),
        );
        return;
    }
}

/// W0400, W0408 and W0409 of the join at clause `at`.
fn join(
    r: &ast::Rule,
    at: usize,
    j: &ast::Join,
    file: usize,
    lets: &Lets,
    catalog: &Catalog,
    diags: &mut Vec<Diagnostic>,
) {
    let mut lkeys = Vec::new();
    let mut rkeys = Vec::new();
    for k in &j.on {
        let strip = |id: &ast::Ident, p: &str| id.name.strip_prefix(p).map(str::to_string);
        let (l, rt) = match (strip(&k.left, "$left."), strip(&k.right, "$right.")) {
            (Some(l), Some(rt)) => (l, rt),
            _ => match (strip(&k.right, "$left."), strip(&k.left, "$right.")) {
                (Some(l), Some(rt)) => (l, rt),
                _ => (k.left.name.clone(), k.right.name.clone()),
            },
        };
        lkeys.push(l);
        rkeys.push(rt);
    }
    let mut left = rule_part(r, &r.clauses[..at], catalog, Vec::new());
    left.what = "the left side".into();
    left.keys = lkeys
        .iter()
        .zip(&j.on)
        .map(|(n, k)| (Some(n.as_str()), k.span))
        .collect();
    let mut right = Part {
        what: "the right side".into(),
        tables: catalog.tables_named(&j.tables),
        conds: Vec::new(),
        extended: Vec::new(),
        keys: rkeys
            .iter()
            .zip(&j.on)
            .map(|(n, k)| (Some(n.as_str()), k.span))
            .collect(),
        span: j.span,
    };
    for w in &j.filters {
        right.conds.extend(w.predicate.conjuncts());
    }
    disjoint_keys(&[&left, &right], file, lets, diags);
    empty_keys_refs(&[&left, &right], Form::Join, file, lets, diags);
    if j.kind.name != "innerunique" {
        return;
    }
    let after = r.clauses[at + 1..].iter().find_map(|c| match c {
        ast::Clause::Where(w) => Some(w.span),
        _ => None,
    });
    let (span, what) = match (&j.time, after) {
        (Some(t), _) => (t.span, "this time condition is tested"),
        (None, Some(w)) => (w, "this `where` filters the joined rows"),
        (None, None) => return,
    };
    diags.push(
        Diagnostic::warning(
            codes::INNERUNIQUE_PAIR_CONDITION,
            file,
            span,
            format!("`kind=innerunique` keeps one left event per key before {what}"),
        )
        .with_label("tested on each key's first left event only")
        .with_note("KQL deduplicates the left side before pairing (scry keeps each key's earliest left event, docs/semantics.md \"Joins\"): a later left event that satisfies the condition is never paired; `kind=inner` tests every left event"),
    );
}
