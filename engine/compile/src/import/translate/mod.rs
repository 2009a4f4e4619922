//! A parsed KQL query → a scry rule: the pipeline becomes clauses, `Timestamp between
//! (now(-X) .. now())` becomes `window X`, lets become rule-local lets, sub-pipelines become
//! set queries or lists. Names are checked against the table schemas; the known defects are
//! corrected under `--fix`, with a warning and a comment in the output.
//!
//! | file | KQL it handles |
//! |---|---|
//! | `mod.rs` | the pipeline as a whole: stage order, `let`s, comments |
//! | `sources.rs` | tables, tabular `let`s, sub-pipelines as sets, `datatable` lists |
//! | `filters.rs` | `where`: the look-back window, exclusions, conjunctions |
//! | `names.rs` | column names: checks, did-you-mean, the known defects' corrections |
//! | `summarize.rs` | `summarize`, `arg_max` / `arg_min`, output column names |

use crate::compile::{AGGREGATES, FUNCTIONS};
use crate::diag::{codes, Diagnostic, Severity};
use crate::import::query::{
    Datatable, LetStmt, LetValue, Parsed, Pipeline, Source, Stage, StageKind,
};
use crate::schema::{did_you_mean, Catalog, TableSchema};
use crate::value::Type;
use hashbrown::HashMap;
use scry_grammar::print::{self, Dialect, Notes};
use scry_grammar::{self as ast, BinOp, Clause, Expr, ExprKind, Ident, Literal, Span};

mod filters;
mod join;
mod names;
mod sources;
mod summarize;

use filters::and_all;
use names::names_read;

/// The tables a pipeline reads (schema and name as written) and its stages.
type Resolved<'a> = (Vec<(&'a TableSchema, Ident)>, Vec<&'a Stage>);

/// Where a name is read.
enum Scope<'s> {
    /// Rows of these tables, after these `extend`s.
    Rows {
        tables: &'s [&'s TableSchema],
        computed: &'s [String],
    },
    /// The output of `summarize`.
    Output(&'s [String]),
    /// The rows of a join that combines both sides: these columns.
    Joined(&'s [String]),
    /// A `let` value: no columns.
    Constant,
}

/// Translates one parsed query.
pub struct Translator<'a> {
    catalog: &'a Catalog,
    file: usize,
    file_text: &'a str,
    fix: bool,
    parsed: &'a Parsed,
    /// Findings.
    pub diags: Vec<Diagnostic>,
    /// Comments for the output.
    pub notes: Notes,
    /// Generated list lets, by (datatable let, column).
    lists: Vec<(String, String, ast::Let)>,
    /// Tabular lets used as sets, by name.
    sets: HashMap<String, ast::Let>,
    /// A `by` key is being checked: a corrected name keeps the output column's name.
    in_by_key: bool,
    /// How deep `resolve_source` follows tabular lets.
    depth: usize,
}

impl<'a> Translator<'a> {
    /// A translator for the query of file `file` (whose text is `file_text`).
    pub fn new(
        catalog: &'a Catalog,
        file: usize,
        file_text: &'a str,
        fix: bool,
        parsed: &'a Parsed,
        notes: Notes,
    ) -> Self {
        Translator {
            catalog,
            file,
            file_text,
            fix,
            parsed,
            diags: Vec::new(),
            notes,
            lists: Vec::new(),
            sets: HashMap::new(),
            in_by_key: false,
            depth: 0,
        }
    }

    fn error(&mut self, code: &'static str, span: Span, msg: impl Into<String>) -> &mut Diagnostic {
        self.diags
            .push(Diagnostic::error(code, self.file, span, msg));
        let last = self.diags.len() - 1;
        &mut self.diags[last]
    }

    fn let_stmt(&self, name: &str) -> Option<&'a LetStmt> {
        self.parsed.statements.iter().rev().find_map(|s| match s {
            crate::import::query::Statement::Let(l) if l.name.name == name => Some(l),
            _ => None,
        })
    }

    /// The rule, or `None` when an error makes it unusable (every error is in `diags`).
    pub fn translate(&mut self, name: Ident, meta: Vec<Clause>, span: Span) -> Option<ast::Rule> {
        let queries: Vec<&Pipeline> = self
            .parsed
            .statements
            .iter()
            .filter_map(|s| match s {
                crate::import::query::Statement::Query(p) => Some(p),
                _ => None,
            })
            .collect();
        let main = match queries.as_slice() {
            [one] => *one,
            [] => {
                self.error(
                    codes::UNSUPPORTED_SHAPE,
                    span,
                    "the query has no tabular expression (only `let`s)",
                );
                return None;
            }
            [_, second, ..] => {
                self.error(
                    codes::UNSUPPORTED_SHAPE,
                    second.span,
                    "a second query: a rule is one pipeline",
                )
                .label = "second tabular expression".into();
                return None;
            }
        };
        let (tables, stages) = self.resolve_source(main)?;
        let table_names: Vec<Ident> = tables.iter().map(|(_, id)| id.clone()).collect();
        let schemas: Vec<&TableSchema> = tables.iter().map(|(s, _)| *s).collect();

        let mut body: Vec<Clause> = Vec::new();
        let mut window: Option<ast::Window> = None;
        let mut computed: Vec<String> = Vec::new();
        let mut output: Option<Vec<String>> = None;
        let mut having: Vec<Expr> = Vec::new();
        // `project` after `summarize`, printed after the `having` it must follow.
        let mut reshape: Option<ast::Project> = None;
        // The stage that ends the rule's row pipeline (`project` without `summarize`, or
        // `take`): scry applies both to the rule's results, so only what commutes with them
        // may follow.
        let mut last: Option<&Stage> = None;
        let mut take: Option<ast::Take> = None;
        // A join that combines both sides: the names after it are the joined row's.
        let mut joined: Option<join::Joined> = None;
        let mut joins = 0;
        for (si, st) in stages.iter().enumerate() {
            // An operator scry lacks was reported where it was parsed.
            if let StageKind::Unsupported = st.kind {
                continue;
            }
            if let StageKind::Order = st.kind {
                self.order(st, &stages[si + 1..]);
                continue;
            }
            if let Some(end) = last {
                // `project` and `take` commute: one shapes columns, the other counts rows.
                let commutes = matches!(
                    (&end.kind, &st.kind),
                    (StageKind::Take(_), StageKind::Project(_))
                        | (StageKind::Project(_), StageKind::Take(_))
                );
                if !commutes {
                    self.after_last(st, end);
                    continue;
                }
            }
            let time_open = joined.as_ref().is_some_and(|j| j.time_open);
            if let Some(j) = &mut joined {
                j.time_open = false;
            }
            match &st.kind {
                StageKind::Where { predicate, .. } if joined.is_some() => {
                    let j = joined.as_ref().expect("matched as some");
                    if time_open {
                        if let Some(t) = self.time_condition(predicate) {
                            if let Clause::Join(c) = &mut body[j.at] {
                                c.time = Some(t);
                            }
                            continue;
                        }
                    }
                    let mut p = predicate.clone();
                    self.check(&mut p, &Scope::Joined(&j.columns), false);
                    body.push(Clause::Where(ast::Where {
                        predicate: p,
                        span: st.span,
                    }));
                }
                StageKind::Extend(_) | StageKind::Summarize { .. } | StageKind::Distinct(_)
                    if joined.is_some() =>
                {
                    self.after_join(st);
                }
                StageKind::Join(js) => {
                    if output.is_some() {
                        self.after_summarize(st);
                        continue;
                    }
                    joins += 1;
                    let excepts: Vec<ast::Except> = body
                        .iter()
                        .filter_map(|c| match c {
                            Clause::Except(x) => Some(x.clone()),
                            _ => None,
                        })
                        .collect();
                    let Some((clause, columns)) =
                        self.join(st, js, &schemas, window.as_ref(), &excepts)
                    else {
                        continue;
                    };
                    if joined.is_some() || (columns.is_some() && joins > 1) {
                        self.error(
                            codes::UNSUPPORTED_SHAPE,
                            st.op.span,
                            "a second join in a rule with a join that combines both sides",
                        )
                        .label = "second join".into();
                        let last = self.diags.len() - 1;
                        self.diags[last].notes.push("scry's rule has one join that combines both sides (membership joins, `kind=leftsemi`/`leftanti`, may be several)".into());
                        continue;
                    }
                    if let Some(columns) = columns {
                        if !computed.is_empty() {
                            self.extended_before_join(st, &computed, &stages[si + 1..]);
                        }
                        joined = Some(join::Joined {
                            columns,
                            lookup: js.lookup,
                            at: body.len(),
                            time_open: matches!(js.kind.name.as_str(), "inner" | "innerunique"),
                        });
                    }
                    body.push(Clause::Join(clause));
                }
                StageKind::Where { predicate, .. } => {
                    let mut p = predicate.clone();
                    if let (Some(_), Some(r)) = (&output, &reshape) {
                        // scry filters the output of `summarize` before projecting it.
                        self.error(
                            codes::UNSUPPORTED_SHAPE,
                            st.op.span,
                            "`where` after `summarize ... | project`: scry's `having` filters the output of `summarize` before `project` shapes it",
                        )
                        .label = "after project".into();
                        let last = self.diags.len() - 1;
                        self.diags[last].notes.push(
                            "move the condition before the `project`, over the summarize columns"
                                .into(),
                        );
                        let _ = r;
                        continue;
                    }
                    if let Some(cols) = &output {
                        self.check(&mut p, &Scope::Output(cols), false);
                        having.push(p);
                        continue;
                    }
                    if let Some(mut x) = self.except_of(st, &p) {
                        let scope = Scope::Rows {
                            tables: &schemas,
                            computed: &computed,
                        };
                        self.check(&mut x.condition, &scope, false);
                        body.push(Clause::Except(x));
                        continue;
                    }
                    let mut rest = Some(p);
                    if window.is_none() && !computed.iter().any(|c| c == "Timestamp") {
                        if let Some(p) = rest.take() {
                            let (w, r) = self.extract_window(p, &schemas);
                            window = w;
                            rest = r;
                        }
                    }
                    if let Some(mut p) = rest {
                        let scope = Scope::Rows {
                            tables: &schemas,
                            computed: &computed,
                        };
                        self.check(&mut p, &scope, false);
                        body.push(Clause::Where(ast::Where {
                            predicate: p,
                            span: st.span,
                        }));
                    }
                }
                StageKind::Extend(xs) => {
                    if output.is_some() {
                        self.after_summarize(st);
                        continue;
                    }
                    let mut assignments = Vec::new();
                    for a in xs {
                        let mut a = a.clone();
                        let scope = Scope::Rows {
                            tables: &schemas,
                            computed: &computed,
                        };
                        self.check(&mut a.value, &scope, false);
                        let n = match (&a.name, &a.value.kind) {
                            (Some(n), _) => n.name.clone(),
                            (None, ExprKind::Name(id)) => id.name.clone(),
                            _ => format!("Column{}", computed.len() + 1),
                        };
                        computed.push(n);
                        assignments.push(a);
                    }
                    body.push(Clause::Extend(ast::Extend {
                        assignments,
                        span: st.span,
                    }));
                }
                StageKind::Summarize { aggregates, by } => {
                    if output.is_some() {
                        self.after_summarize(st);
                        continue;
                    }
                    let scope = Scope::Rows {
                        tables: &schemas,
                        computed: &computed,
                    };
                    let (s, cols) = self.summarize(aggregates, by, st.span, &scope);
                    body.push(Clause::Summarize(s));
                    output = Some(cols);
                }
                StageKind::Distinct(cols) => {
                    if output.is_some() {
                        self.after_summarize(st);
                        continue;
                    }
                    // `distinct A, B` is `summarize by A, B`: the same rows.
                    let by: Vec<ast::Assignment> = cols
                        .iter()
                        .map(|c| ast::Assignment {
                            name: None,
                            value: Expr {
                                kind: ExprKind::Name(c.clone()),
                                span: c.span,
                            },
                            span: c.span,
                        })
                        .collect();
                    let scope = Scope::Rows {
                        tables: &schemas,
                        computed: &computed,
                    };
                    let (s, out) = self.summarize(&[], &by, st.span, &scope);
                    body.push(Clause::Summarize(s));
                    output = Some(out);
                }
                StageKind::Project(cols) => {
                    let mut columns = Vec::new();
                    let mut names: Vec<String> = Vec::new();
                    for a in cols {
                        let mut a = a.clone();
                        match (&output, &joined) {
                            (_, Some(j)) => {
                                self.check(&mut a.value, &Scope::Joined(&j.columns), false)
                            }
                            (Some(out), None) => {
                                self.check(&mut a.value, &Scope::Output(out), false)
                            }
                            (None, None) => {
                                let scope = Scope::Rows {
                                    tables: &schemas,
                                    computed: &computed,
                                };
                                self.check(&mut a.value, &scope, false);
                            }
                        }
                        names.push(match (&a.name, &a.value.kind) {
                            (Some(n), _) => n.name.clone(),
                            (None, ExprKind::Name(id)) => id.name.clone(),
                            _ => (1..)
                                .map(|k| format!("Column{k}"))
                                .find(|c| !names.contains(c))
                                .unwrap_or_default(),
                        });
                        columns.push(a);
                    }
                    let p = ast::Project {
                        columns,
                        span: st.span,
                    };
                    let again = body.iter().any(|c| matches!(c, Clause::Project(_)));
                    if reshape.is_some() || again {
                        self.after_last(st, st);
                        continue;
                    }
                    if output.is_some() {
                        output = Some(names);
                        reshape = Some(p);
                    } else {
                        body.push(Clause::Project(p));
                        last = Some(st);
                    }
                }
                StageKind::Take(_) if take.is_some() => self.after_last(st, st),
                StageKind::Take(n) => {
                    let mut count = n.clone();
                    self.check(&mut count, &Scope::Constant, false);
                    take = Some(ast::Take {
                        keyword: st.op.clone(),
                        count,
                        span: st.span,
                    });
                    last = Some(st);
                }
                StageKind::Unsupported | StageKind::Order => {}
            }
        }
        // `lookup` names the right side's keys once: without a `project`, one that says so.
        if let Some(j) = joined.as_ref().filter(|j| j.lookup) {
            if !body.iter().any(|c| matches!(c, Clause::Project(_))) {
                let span = print::clause_span(&body[j.at]);
                let columns = j
                    .columns
                    .iter()
                    .map(|c| ast::Assignment {
                        name: None,
                        value: Expr {
                            kind: ExprKind::Name(Ident {
                                name: c.clone(),
                                span,
                            }),
                            span,
                        },
                        span,
                    })
                    .collect();
                body.push(Clause::Project(ast::Project { columns, span }));
            }
        }
        if !having.is_empty() {
            let span = having[0].span.to(having[having.len() - 1].span);
            let predicate = and_all(having);
            body.push(Clause::Having(ast::Having { predicate, span }));
        }
        body.extend(reshape.map(Clause::Project));
        body.extend(take.map(Clause::Take));

        // Lets, in source order: the ones still read, generated lists and sets.
        let mut lets: Vec<Clause> = Vec::new();
        let used = names_read(&body, &self.lists, &self.sets);
        let source_uses = self.source_uses();
        for s in &self.parsed.statements {
            let crate::import::query::Statement::Let(l) = s else {
                continue;
            };
            match &l.value {
                LetValue::Scalar(v) => {
                    let n = &l.name.name;
                    let read = used.iter().any(|u| u == n);
                    let never = source_uses.get(n).copied().unwrap_or(0) == 0;
                    if read || never {
                        let mut v = v.clone();
                        self.check(&mut v, &Scope::Constant, false);
                        lets.push(Clause::Let(ast::Let {
                            name: l.name.clone(),
                            value: v,
                            span: l.span,
                        }));
                    }
                }
                LetValue::Datatable(_) => {
                    let mine: Vec<ast::Let> = self
                        .lists
                        .iter()
                        .filter(|(d, _, _)| d == &l.name.name)
                        .map(|(_, _, x)| x.clone())
                        .collect();
                    if mine.is_empty() {
                        self.unused(l);
                    }
                    lets.extend(mine.into_iter().map(Clause::Let));
                }
                LetValue::Tabular(_) => match self.sets.get(&l.name.name) {
                    Some(x) => lets.push(Clause::Let(x.clone())),
                    None if source_uses.get(&l.name.name).copied().unwrap_or(0) == 0 => {
                        self.unused(l)
                    }
                    None => {}
                },
            }
        }

        let mut clauses = meta;
        clauses.extend(lets);
        let from_span = table_names
            .first()
            .map_or(main.span, |t| t.span)
            .to(table_names.last().map_or(main.span, |t| t.span));
        clauses.push(Clause::From(ast::From {
            tables: table_names,
            span: from_span,
        }));
        if let Some(w) = window {
            clauses.push(Clause::Window(w));
        }
        clauses.extend(body);
        let rule = ast::Rule {
            name,
            clauses,
            span,
        };
        self.attach_comments(&rule);
        if self.diags.iter().any(|d| d.severity >= Severity::Error) {
            return None;
        }
        Some(rule)
    }

    fn unused(&mut self, l: &LetStmt) {
        self.diags.push(
            Diagnostic::warning(
                codes::NOT_IMPORTED,
                self.file,
                l.name.span,
                format!("`let {}` is never used; it is not imported", l.name.name),
            )
            .with_label("unused"),
        );
    }

    /// A stage after the one that ends the rule's rows (`project` without `summarize`, or
    /// `take`), which scry applies to the rule's results.
    fn after_last(&mut self, st: &Stage, end: &Stage) {
        self.error(
            codes::UNSUPPORTED_SHAPE,
            st.op.span,
            format!(
                "`{}` after `{}` has no scry equivalent",
                st.op.name, end.op.name
            ),
        )
        .label = format!("after {}", end.op.name);
        let why = match &end.kind {
            StageKind::Take(_) => "scry's `take` keeps the first N of the rule's results, so it is the rule's last step (only a `project` may follow it)",
            _ => "`project` chooses the rule's output columns, so it is the last step on rows (a `take` may follow it)",
        };
        let last = self.diags.len() - 1;
        self.diags[last].notes.push(why.into());
    }

    /// `order by` / `sort by`: scry decides the order of a rule's results (input order for
    /// rows, key order for groups), so it is left out with a warning; before a `take` it
    /// chooses which rows are kept (`top`), which scry cannot say.
    fn order(&mut self, st: &Stage, rest: &[&Stage]) {
        if let Some(t) = rest.iter().find(|s| matches!(s.kind, StageKind::Take(_))) {
            self.error(
                codes::UNSUPPORTED_SHAPE,
                st.op.span,
                format!(
                    "`{} ... | {}` has no scry equivalent",
                    st.op.name, t.op.name
                ),
            )
            .label = format!("chooses the rows `{}` keeps", t.op.name);
            let last = self.diags.len() - 1;
            self.diags[last].notes.push("scry's `take` keeps the first N rows in the rule's own result order (by key after `summarize`), not in another column's order".into());
            return;
        }
        self.diags.push(
            Diagnostic::warning(
                codes::NOT_IMPORTED,
                self.file,
                st.span,
                format!(
                    "`{}` is not imported: scry orders a rule's results itself",
                    st.op.name
                ),
            )
            .with_label("left out")
            .with_note("rows come in input order, groups of `summarize` in key order"),
        );
    }

    /// A stage after a join that combines both sides, other than `where`, `project`, `take`.
    fn after_join(&mut self, st: &Stage) {
        self.error(
            codes::UNSUPPORTED_SHAPE,
            st.op.span,
            format!("`{}` after a join has no scry equivalent", st.op.name),
        )
        .label = "after join".into();
        let last = self.diags.len() - 1;
        self.diags[last].notes.push(
            "after a join that combines both sides, a rule filters (`where`), picks columns (`project`) and `take`s"
                .into(),
        );
    }

    /// Columns `extend`ed before a combining join are in KQL's joined row but not in
    /// scry's: without a `project` after the join the outputs would differ.
    fn extended_before_join(&mut self, st: &Stage, computed: &[String], rest: &[&Stage]) {
        if rest.iter().any(|s| matches!(s.kind, StageKind::Project(_))) {
            return;
        }
        self.error(
            codes::UNSUPPORTED_SHAPE,
            st.op.span,
            format!(
                "the joined rows would have the extended column{} {} in KQL, not in scry",
                if computed.len() > 1 { "s" } else { "" },
                computed
                    .iter()
                    .map(|c| format!("`{c}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )
        .label = "join after extend".into();
        let last = self.diags.len() - 1;
        self.diags[last].notes.push(
            "scry's joined row has the tables' columns: add a `project` of them after the join"
                .into(),
        );
    }

    fn after_summarize(&mut self, st: &Stage) {
        self.error(
            codes::UNSUPPORTED_SHAPE,
            st.op.span,
            format!("`{}` after `summarize` has no scry equivalent", st.op.name),
        )
        .label = "after summarize".into();
        let last = self.diags.len() - 1;
        self.diags[last].notes.push(
            "after `summarize`, a rule can only filter its output (`| where` becomes `having`)"
                .into(),
        );
    }

    /// Puts the query's `//` comments next to the node that ends just before them on the same
    /// line (a list element, a condition), or on the rule line.
    fn attach_comments(&mut self, rule: &ast::Rule) {
        let mut spans: Vec<Span> = Vec::new();
        let mut add = |e: &Expr| print::walk(e, &mut |x| spans.push(x.span));
        for c in &rule.clauses {
            match c {
                Clause::Where(w) => add(&w.predicate),
                Clause::Having(w) => add(&w.predicate),
                Clause::Let(l) => add(&l.value),
                Clause::Extend(x) => x.assignments.iter().for_each(|a| add(&a.value)),
                Clause::Summarize(s) => {
                    s.aggregates.iter().chain(&s.by).for_each(|a| add(&a.value))
                }
                Clause::Project(p) => p.columns.iter().for_each(|a| add(&a.value)),
                Clause::Take(t) => add(&t.count),
                Clause::Except(x) => add(&x.condition),
                _ => {}
            }
        }
        for (cspan, text) in &self.parsed.comments {
            if text.starts_with("except \"") {
                continue;
            }
            let c = cspan.start;
            let best = spans
                .iter()
                .filter(|s| s.end <= c && s.end > 0)
                .filter(|s| {
                    self.file_text
                        .get(s.end as usize..c as usize)
                        .is_some_and(|between| !between.contains('\n'))
                })
                .max_by_key(|s| (s.end, std::cmp::Reverse(s.end - s.start)));
            match best {
                Some(s) => self.notes.add(*s, text.clone()),
                None => self.notes.add(rule.span, text.clone()),
            }
        }
    }
}
