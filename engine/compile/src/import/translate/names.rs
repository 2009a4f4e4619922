//! Column names: checks against the tables read, did-you-mean, the known defects' corrections.

use super::*;

impl<'a> Translator<'a> {
    /// Checks names and functions in `e`, replacing sub-query placeholders and correcting
    /// names under `--fix`. `in_list`: `e` is an element of a list operand.
    pub(super) fn check(&mut self, e: &mut Expr, scope: &Scope<'_>, in_list: bool) {
        match &mut e.kind {
            // `*` is checked where it stands (an argument of arg_max / arg_min).
            ExprKind::Literal(_) | ExprKind::Star => {}
            ExprKind::Name(id) => {
                if let Some(sub) = self.parsed.subqueries.get(&id.name) {
                    if !in_list {
                        self.error(
                            codes::UNSUPPORTED_SHAPE,
                            e.span,
                            "a sub-query can only be the list of `in` or `has_any`",
                        )
                        .label = "sub-query here".into();
                        return;
                    }
                    if let Some(x) = self.subquery(sub, e.span) {
                        *e = x;
                    }
                    return;
                }
                self.name(id, scope, in_list);
            }
            ExprKind::Not(x) | ExprKind::Neg(x) => self.check(x, scope, false),
            ExprKind::Binary { lhs, rhs, .. } => {
                self.check(lhs, scope, false);
                self.check(rhs, scope, false);
            }
            ExprKind::InList { lhs, list, .. } => {
                self.check(lhs, scope, false);
                for x in list {
                    self.check(x, scope, true);
                }
            }
            ExprKind::Between { lhs, low, high, .. } => {
                self.check(lhs, scope, false);
                self.check(low, scope, false);
                self.check(high, scope, false);
            }
            ExprKind::Call { name, args } => {
                let n = name.name.as_str();
                if AGGREGATES.contains(&n) {
                    self.error(
                        codes::UNSUPPORTED_FUNCTION,
                        name.span,
                        format!("`{n}()` is an aggregate: it can only be used in `summarize`"),
                    )
                    .label = "aggregate outside summarize".into();
                } else if !FUNCTIONS.contains(&n) {
                    let hint = did_you_mean(n, FUNCTIONS.iter().copied()).map(str::to_string);
                    let d = self.error(
                        codes::UNSUPPORTED_FUNCTION,
                        name.span,
                        format!("the function `{n}` is not supported by the scry engine"),
                    );
                    d.label = "unsupported function".into();
                    if let Some(h) = hint {
                        d.notes.push(format!("did you mean `{h}`?"));
                    }
                }
                for x in args {
                    self.check(x, scope, false);
                }
            }
            ExprKind::Index { base, index } => {
                self.check(base, scope, false);
                self.check(index, scope, false);
            }
            ExprKind::List(xs) => {
                for x in xs {
                    self.check(x, scope, in_list);
                }
            }
            ExprKind::Query(_) => {
                self.error(
                    codes::UNSUPPORTED_SHAPE,
                    e.span,
                    "`from ... distinct` is scry syntax, not KQL",
                )
                .label = "not KQL".into();
            }
        }
    }

    pub(super) fn name(&mut self, id: &mut Ident, scope: &Scope<'_>, in_list: bool) {
        if self.parsed.broken.contains(&id.name) {
            return;
        }
        if let Some(l) = self.let_stmt(&id.name) {
            match &l.value {
                LetValue::Scalar(_) => return,
                LetValue::Tabular(p) if in_list => {
                    if !self.sets.contains_key(&id.name) {
                        if let Some(q) = self.set_query(p, l.span) {
                            self.sets.insert(
                                id.name.clone(),
                                ast::Let {
                                    name: l.name.clone(),
                                    value: q,
                                    span: l.span,
                                },
                            );
                        }
                    }
                    return;
                }
                LetValue::Tabular(_) => {
                    self.error(
                        codes::UNSUPPORTED_SHAPE,
                        id.span,
                        format!(
                            "the tabular `let {}` can only be the list of `in` or `has_any`",
                            id.name
                        ),
                    )
                    .label = "a table, not a value".into();
                    return;
                }
                LetValue::Datatable(_) => {
                    self.error(
                        codes::UNSUPPORTED_SHAPE,
                        id.span,
                        format!(
                            "the datatable `{}` is used without `| distinct Column`",
                            id.name
                        ),
                    )
                    .label = "a table, not a value".into();
                    return;
                }
            }
        }
        match scope {
            Scope::Constant => {
                self.error(
                    codes::UNKNOWN_NAME,
                    id.span,
                    format!("unknown name `{}` in a `let`", id.name),
                )
                .label = "not a `let`".into();
            }
            Scope::Output(cols) => {
                self.unknown_after(id, cols, "summarize", "not an output column", None);
            }
            Scope::Joined(cols) => {
                let note = "scry's joined row has the left tables' columns, then the right ones (`X1` when the left has an `X`); columns `extend`ed before the join are not in it";
                self.unknown_after(
                    id,
                    cols,
                    "join",
                    "not a column of the joined rows",
                    Some(note),
                );
            }
            Scope::Rows { tables, computed } => {
                if computed.iter().any(|c| c == &id.name)
                    || tables
                        .iter()
                        .all(|t| t.column(&id.name).is_some() || t.alias(&id.name).is_some())
                {
                    return;
                }
                self.unknown_column(id, tables, computed);
            }
        }
    }

    /// A name that is not one of `cols`, the columns after `stage`, as an error with a
    /// suggestion.
    fn unknown_after(
        &mut self,
        id: &Ident,
        cols: &[String],
        stage: &str,
        label: &str,
        note: Option<&str>,
    ) {
        if cols.iter().any(|c| c == &id.name) {
            return;
        }
        let hint = did_you_mean(&id.name, cols.iter().map(String::as_str)).map(str::to_string);
        let d = self.error(
            codes::UNKNOWN_NAME,
            id.span,
            format!("unknown column `{}` after `{stage}`", id.name),
        );
        d.label = label.into();
        d.notes.extend(note.map(str::to_string));
        if let Some(h) = hint {
            d.notes.push(format!("did you mean `{h}`?"));
        }
    }

    /// An unknown column: a suggestion, and under `--fix` the known corrections.
    pub(super) fn unknown_column(
        &mut self,
        id: &mut Ident,
        tables: &[&TableSchema],
        computed: &[String],
    ) {
        let lacking: Vec<&str> = tables
            .iter()
            .filter(|t| t.column(&id.name).is_none() && t.alias(&id.name).is_none())
            .map(|t| t.name.as_str())
            .collect();
        let table = lacking.join(", ");
        let everywhere = |c: &str| {
            computed.iter().any(|x| x == c) || tables.iter().all(|t| t.column(c).is_some())
        };
        let lower = id.name.to_lowercase();
        let mut same_case: Vec<&str> = tables[0]
            .columns
            .iter()
            .map(|(n, _)| n.as_str())
            .chain(computed.iter().map(String::as_str))
            .filter(|c| c.to_lowercase() == lower)
            .collect();
        same_case.dedup();
        let initiating = format!("InitiatingProcess{}", id.name);
        let fix: Option<(String, String)> = if same_case.len() == 1 && everywhere(same_case[0]) {
            Some((
                same_case[0].to_string(),
                format!(
                    "column names are case-sensitive and {table} has `{}`",
                    same_case[0]
                ),
            ))
        } else if everywhere(&initiating) {
            Some((
                initiating.clone(),
                format!(
                    "{table} has no `{}`, only `{initiating}` (the initiating process's {})",
                    id.name, id.name
                ),
            ))
        } else {
            None
        };
        let old = id.name.clone();
        match fix {
            Some((to, why)) if self.fix => {
                let keeps = if self.in_by_key {
                    format!("; the output column keeps the name `{old}`")
                } else {
                    String::new()
                };
                self.diags.push(
                    Diagnostic::warning(
                        codes::IMPORT_FIXED,
                        self.file,
                        id.span,
                        format!("unknown column `{old}` in {table} corrected to `{to}`"),
                    )
                    .with_label(format!("not a column of {table}"))
                    .with_note(format!("{why}{keeps} (corrected by --fix)")),
                );
                let short = if self.in_by_key {
                    format!("was `{old}`, which {table} lacks; the output column keeps its name")
                } else if to.eq_ignore_ascii_case(&old) {
                    format!("was `{old}`; column names are case-sensitive")
                } else {
                    format!("was `{old}`, which {table} lacks")
                };
                self.notes
                    .add(id.span, format!("scry import --fix: {short}"));
                id.name = to;
            }
            Some((to, why)) => {
                self.diags.push(
                    Diagnostic::error(
                        codes::UNKNOWN_NAME,
                        self.file,
                        id.span,
                        format!("unknown column `{old}` in {table}"),
                    )
                    .with_label(format!("not a column of {table}"))
                    .with_note(format!("did you mean `{to}`? {why}"))
                    .with_note(format!("`scry import --fix` renames it to `{to}`")),
                );
            }
            None => {
                let cands: Vec<&str> = tables[0]
                    .columns
                    .iter()
                    .map(|(n, _)| n.as_str())
                    .chain(computed.iter().map(String::as_str))
                    .collect();
                let hint = did_you_mean(&old, cands).map(str::to_string);
                let mut d = Diagnostic::error(
                    codes::UNKNOWN_NAME,
                    self.file,
                    id.span,
                    format!("unknown column `{old}` in {table}"),
                )
                .with_label(format!("not a column of {table}"));
                if let Some(h) = hint {
                    d = d.with_note(format!("did you mean `{h}`?"));
                }
                self.diags.push(d);
            }
        }
    }
}

/// Every name read by the clauses and the generated lets.
pub(super) fn names_read(
    body: &[Clause],
    lists: &[(String, String, ast::Let)],
    sets: &HashMap<String, ast::Let>,
) -> Vec<String> {
    let mut out = Vec::new();
    let mut add = |e: &Expr| {
        print::walk(e, &mut |x| {
            if let ExprKind::Name(id) = &x.kind {
                out.push(id.name.clone());
            }
        })
    };
    for c in body {
        match c {
            Clause::Where(w) => add(&w.predicate),
            Clause::Having(w) => add(&w.predicate),
            Clause::Extend(x) => x.assignments.iter().for_each(|a| add(&a.value)),
            Clause::Summarize(s) => s.aggregates.iter().chain(&s.by).for_each(|a| add(&a.value)),
            Clause::Project(p) => p.columns.iter().for_each(|a| add(&a.value)),
            Clause::Take(t) => add(&t.count),
            Clause::Except(x) => add(&x.condition),
            Clause::Join(j) => {
                j.filters.iter().for_each(|w| add(&w.predicate));
                if let Some(w) = &j.window {
                    match &w.kind {
                        ast::WindowKind::Lookback(x) => add(x),
                        ast::WindowKind::Between(a, b) => {
                            add(a);
                            add(b);
                        }
                    }
                }
            }
            Clause::Window(w) => match &w.kind {
                ast::WindowKind::Lookback(x) => add(x),
                ast::WindowKind::Between(a, b) => {
                    add(a);
                    add(b);
                }
            },
            _ => {}
        }
    }
    for (_, _, l) in lists {
        add(&l.value);
    }
    for l in sets.values() {
        add(&l.value);
    }
    out
}
