//! A parsed KQL query → a scry rule: the pipeline becomes clauses, `Timestamp between
//! (now(-X) .. now())` becomes `window X`, lets become rule-local lets, sub-pipelines become
//! set queries or lists. Names are checked against the table schemas; the known defects are
//! corrected under `--fix`, with a warning and a comment in the output.

use super::query::{Datatable, LetStmt, LetValue, Parsed, Pipeline, Source, Stage, StageKind};
use crate::compile::{AGGREGATES, FUNCTIONS};
use crate::diag::{codes, Diagnostic, Severity};
use crate::schema::{did_you_mean, Catalog, TableSchema};
use crate::value::Type;
use hashbrown::HashMap;
use scry_grammar::print::{self, Dialect, Notes};
use scry_grammar::{self as ast, BinOp, Clause, Expr, ExprKind, Ident, Literal, Span};

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
            super::query::Statement::Let(l) if l.name.name == name => Some(l),
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
                super::query::Statement::Query(p) => Some(p),
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
        for st in &stages {
            // An operator scry lacks was reported where it was parsed.
            if let StageKind::Unsupported = st.kind {
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
            match &st.kind {
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
                        match &output {
                            Some(out) => self.check(&mut a.value, &Scope::Output(out), false),
                            None => {
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
                StageKind::Unsupported => {}
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
            let super::query::Statement::Let(l) = s else {
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

    /// The tables a pipeline reads and its stages, following tabular lets it starts from.
    fn resolve_source(&mut self, p: &'a Pipeline) -> Option<Resolved<'a>> {
        self.depth += 1;
        let r = if self.depth > 32 {
            // `let a = b | ...; let b = a | ...`: KQL rejects it; never recurse forever.
            self.error(
                codes::UNSUPPORTED_SHAPE,
                p.span,
                "tabular lets that refer to each other in a cycle",
            )
            .label = "cycle".into();
            None
        } else {
            self.resolve_source_inner(p)
        };
        self.depth -= 1;
        r
    }

    fn resolve_source_inner(&mut self, p: &'a Pipeline) -> Option<Resolved<'a>> {
        let catalog = self.catalog;
        let (tables, mut stages) = match &p.source {
            Source::Name(id) => match self.let_stmt(&id.name) {
                Some(l) => match &l.value {
                    LetValue::Tabular(inner) => self.resolve_source(inner)?,
                    _ => {
                        self.error(
                            codes::UNSUPPORTED_SHAPE,
                            id.span,
                            format!("`{}` is not a table", id.name),
                        )
                        .label = "a scalar or datatable `let`".into();
                        return None;
                    }
                },
                None => (vec![self.table(id, catalog)?], Vec::new()),
            },
            Source::Union(ids) => {
                let mut ts = Vec::new();
                for id in ids {
                    ts.push(self.table(id, catalog));
                }
                (ts.into_iter().collect::<Option<Vec<_>>>()?, Vec::new())
            }
            Source::Nested(inner) => self.resolve_source(inner)?,
            Source::Datatable(d) => {
                self.error(
                    codes::UNSUPPORTED_SHAPE,
                    d.span,
                    "a `datatable` as the rows of a rule has no scry equivalent",
                )
                .label = "inline table".into();
                return None;
            }
        };
        stages.extend(p.stages.iter());
        Some((tables, stages))
    }

    fn table(&mut self, id: &Ident, catalog: &'a Catalog) -> Option<(&'a TableSchema, Ident)> {
        match catalog.table(&id.name) {
            Some(t) => Some((t, id.clone())),
            None => {
                let names = catalog.tables().iter().map(|t| t.name.as_str());
                let hint = did_you_mean(&id.name, names).map(str::to_string);
                let d = self.error(
                    codes::UNKNOWN_TABLE,
                    id.span,
                    format!("unknown table `{}`", id.name),
                );
                d.label = "not a table of the schema catalog".into();
                match hint {
                    Some(h) => d.notes.push(format!("did you mean `{h}`?")),
                    None => d.notes.push("add its schema with --schema FILE".into()),
                }
                None
            }
        }
    }

    fn summarize(
        &mut self,
        aggregates: &[ast::Assignment],
        by: &[ast::Assignment],
        span: Span,
        scope: &Scope<'_>,
    ) -> (ast::Summarize, Vec<String>) {
        let mut cols = Vec::new();
        let mut keys = Vec::new();
        for (i, k) in by.iter().enumerate() {
            let mut k = k.clone();
            let before = match &k.value.kind {
                ExprKind::Name(id) => Some(id.clone()),
                _ => None,
            };
            self.in_by_key = k.name.is_none();
            self.check(&mut k.value, scope, false);
            self.in_by_key = false;
            if let (None, Some(old), ExprKind::Name(new)) = (&k.name, &before, &k.value.kind) {
                if old.name != new.name {
                    // The corrected column keeps the output name the query meant.
                    k.name = Some(old.clone());
                }
            }
            cols.push(match (&k.name, &k.value.kind) {
                (Some(n), _) => n.name.clone(),
                (None, ExprKind::Name(id)) => id.name.clone(),
                _ => format!("Column{}", i + 1),
            });
            keys.push(k);
        }
        let mut aggs = Vec::new();
        for a in aggregates {
            let mut a = a.clone();
            let default = match &mut a.value.kind {
                ExprKind::Call { name, args }
                    if matches!(name.name.as_str(), "arg_max" | "arg_min") =>
                {
                    for x in args.iter_mut() {
                        self.check(x, scope, false);
                    }
                    let union = matches!(scope, Scope::Rows { tables, .. } if tables.len() > 1);
                    let star = args
                        .iter()
                        .skip(1)
                        .find(|x| matches!(x.kind, ExprKind::Star));
                    if let (true, Some(star)) = (union, star) {
                        // The compiler's rule (E0122): a `union`'s rows differ per table.
                        let sp = star.span;
                        let d = self.error(
                            codes::STAR_MISUSE,
                            sp,
                            "`*` over a `union`: the tables' rows have different columns",
                        );
                        d.label = "every column of which table?".into();
                        d.notes.push(
                            "name the returned columns: `arg_max(Timestamp, DeviceName)`".into(),
                        );
                    }
                    // Every column arg_max gives, named as the compiler (and Kusto) names
                    // them, so that a `where` after the summarize can read them.
                    let names = arg_extreme_names(&name.name, args, by, scope);
                    for (i, n) in names.into_iter().enumerate() {
                        cols.push(match (&a.name, i) {
                            (Some(d), 0) => d.name.clone(),
                            _ => unique(&n, &cols),
                        });
                    }
                    aggs.push(a);
                    continue;
                }
                ExprKind::Call { name, args } if AGGREGATES.contains(&name.name.as_str()) => {
                    let n = name.name.clone();
                    for x in args.iter_mut() {
                        self.check(x, scope, false);
                    }
                    let col = match args.first().map(|x| &x.kind) {
                        Some(ExprKind::Name(id)) => id.name.clone(),
                        _ => String::new(),
                    };
                    match n.as_str() {
                        "count" => "count_".to_string(),
                        "countif" => "countif_".to_string(),
                        "make_set" | "makeset" => format!("set_{col}"),
                        other => format!("{other}_{col}"),
                    }
                }
                ExprKind::Call { name, .. } => {
                    let n = name.name.clone();
                    let sp = name.span;
                    let hint = did_you_mean(&n, AGGREGATES.iter().copied()).map(str::to_string);
                    let d = self.error(
                        codes::UNSUPPORTED_FUNCTION,
                        sp,
                        format!("the aggregate `{n}` is not supported by the scry engine"),
                    );
                    d.label = "unsupported aggregate".into();
                    d.notes
                        .push(format!("supported: {}", AGGREGATES.join(", ")));
                    if let Some(h) = hint {
                        d.notes.push(format!("did you mean `{h}`?"));
                    }
                    String::new()
                }
                _ => {
                    self.error(
                        codes::UNSUPPORTED_FUNCTION,
                        a.value.span,
                        "expected an aggregate such as count(), min(x), make_set(x)",
                    )
                    .label = "not an aggregate".into();
                    String::new()
                }
            };
            cols.push(a.name.as_ref().map_or(default, |n| n.name.clone()));
            aggs.push(a);
        }
        (
            ast::Summarize {
                aggregates: aggs,
                by: keys,
                span,
            },
            cols,
        )
    }

    /// Splits `Timestamp between (now(-X) .. now())` off a predicate's conjuncts.
    fn extract_window(
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
        let parts = conjuncts(&p);
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

    fn window_of(&self, c: &Expr) -> Option<ast::Window> {
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
    fn resolve<'e>(&self, mut e: &'e Expr) -> &'e Expr
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
    fn except_of(&self, st: &Stage, p: &Expr) -> Option<ast::Except> {
        let comment = st.comments.iter().find_map(|c| c.strip_prefix("except "))?;
        let toks = super::lex::lex(comment).ok()?;
        let first = toks
            .first()
            .filter(|t| t.kind == super::lex::TokKind::Str)?;
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

    /// Checks names and functions in `e`, replacing sub-query placeholders and correcting
    /// names under `--fix`. `in_list`: `e` is an element of a list operand.
    fn check(&mut self, e: &mut Expr, scope: &Scope<'_>, in_list: bool) {
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

    fn name(&mut self, id: &mut Ident, scope: &Scope<'_>, in_list: bool) {
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
                if !cols.iter().any(|c| c == &id.name) {
                    let hint =
                        did_you_mean(&id.name, cols.iter().map(String::as_str)).map(str::to_string);
                    let d = self.error(
                        codes::UNKNOWN_NAME,
                        id.span,
                        format!("unknown column `{}` after `summarize`", id.name),
                    );
                    d.label = "not an output column".into();
                    if let Some(h) = hint {
                        d.notes.push(format!("did you mean `{h}`?"));
                    }
                }
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

    /// An unknown column: a suggestion, and under `--fix` the known corrections.
    fn unknown_column(&mut self, id: &mut Ident, tables: &[&TableSchema], computed: &[String]) {
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

    /// A sub-pipeline used as a list: a datatable's distinct column becomes a list `let`;
    /// a query over tables becomes a set query.
    fn subquery(&mut self, p: &'a Pipeline, span: Span) -> Option<Expr> {
        if let (Source::Name(d), [st]) = (&p.source, p.stages.as_slice()) {
            if let (Some(l), StageKind::Distinct(cols)) = (self.let_stmt(&d.name), &st.kind) {
                if let (LetValue::Datatable(dt), [col]) = (&l.value, cols.as_slice()) {
                    let name = self.datatable_list(l, dt, col)?;
                    return Some(Expr {
                        kind: ExprKind::Name(Ident { name, span }),
                        span,
                    });
                }
            }
        }
        self.set_query(p, span)
    }

    fn datatable_list(&mut self, l: &LetStmt, dt: &Datatable, col: &Ident) -> Option<String> {
        let d = &l.name.name;
        if let Some((_, _, x)) = self.lists.iter().find(|(a, b, _)| a == d && b == &col.name) {
            return Some(x.name.name.clone());
        }
        let Some(ci) = dt.columns.iter().position(|(c, _)| c.name == col.name) else {
            let cols: Vec<&str> = dt.columns.iter().map(|(c, _)| c.name.as_str()).collect();
            let hint = did_you_mean(&col.name, cols.iter().copied()).map(str::to_string);
            let e = self.error(
                codes::UNKNOWN_NAME,
                col.span,
                format!("the datatable `{d}` has no column `{}`", col.name),
            );
            e.label = format!("columns: {}", cols.join(", "));
            if let Some(h) = hint {
                e.notes.push(format!("did you mean `{h}`?"));
            }
            return None;
        };
        let n = dt.columns.len();
        if n == 0 || dt.cells.len() % n != 0 {
            self.error(
                codes::KQL_SYNTAX,
                dt.span,
                format!(
                    "the datatable has {} value(s), not a multiple of its {n} column(s)",
                    dt.cells.len()
                ),
            )
            .label = "incomplete row".into();
            return None;
        }
        // Distinct values in first-occurrence order; the other columns ride along as comments.
        let mut order: Vec<(String, Expr, Vec<Vec<String>>)> = Vec::new();
        for row in dt.cells.chunks(n) {
            let key = print::expr(&row[ci], Dialect::Scry);
            let others: Vec<String> = row
                .iter()
                .enumerate()
                .filter(|(k, _)| *k != ci)
                .map(|(_, c)| match &c.kind {
                    ExprKind::Literal(Literal::Str(s)) => s.clone(),
                    _ => print::expr(c, Dialect::Scry),
                })
                .collect();
            match order.iter_mut().find(|(k, _, _)| k == &key) {
                Some((_, _, o)) => o.push(others),
                None => order.push((key, row[ci].clone(), vec![others])),
            }
        }
        let other_cols: Vec<&str> = dt
            .columns
            .iter()
            .enumerate()
            .filter(|(k, _)| *k != ci)
            .map(|(_, (c, _))| c.name.as_str())
            .collect();
        let mut items = Vec::new();
        for (_, cell, rows) in order {
            if !other_cols.is_empty() {
                let mut per_col: Vec<Vec<String>> = vec![Vec::new(); other_cols.len()];
                for r in &rows {
                    for (k, v) in r.iter().enumerate() {
                        if !per_col[k].contains(v) {
                            per_col[k].push(v.clone());
                        }
                    }
                }
                let note = if other_cols.len() == 1 {
                    per_col[0].join(", ")
                } else {
                    other_cols
                        .iter()
                        .zip(&per_col)
                        .map(|(c, v)| format!("{c}: {}", v.join(", ")))
                        .collect::<Vec<_>>()
                        .join("; ")
                };
                self.notes.add(cell.span, note);
            }
            items.push(cell);
        }
        let used_cols = self.datatable_columns_used(d);
        let name = if used_cols <= 1 {
            d.clone()
        } else {
            format!("{d}_{}", col.name)
        };
        let span = col.span;
        self.notes.add(
            span,
            format!(
                "the distinct {} of datatable {d}({}), in first-occurrence order{}",
                col.name,
                dt.columns
                    .iter()
                    .map(|(c, _)| c.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
                if other_cols.is_empty() {
                    String::new()
                } else {
                    format!("; {} in comments", other_cols.join(", "))
                }
            ),
        );
        self.lists.push((
            d.clone(),
            col.name.clone(),
            ast::Let {
                name: Ident {
                    name: name.clone(),
                    span: l.name.span,
                },
                value: Expr {
                    kind: ExprKind::List(items),
                    span: dt.span,
                },
                span,
            },
        ));
        Some(name)
    }

    /// How many distinct columns of datatable `d` sub-queries take.
    fn datatable_columns_used(&self, d: &str) -> usize {
        let mut cols: Vec<&str> = Vec::new();
        for p in self.parsed.subqueries.values() {
            if let (Source::Name(n), [st]) = (&p.source, p.stages.as_slice()) {
                if let StageKind::Distinct(cs) = &st.kind {
                    if n.name == d && cs.len() == 1 && !cols.contains(&cs[0].name.as_str()) {
                        cols.push(&cs[0].name);
                    }
                }
            }
        }
        cols.len()
    }

    /// `T | where ... | distinct C` as `from T [window ...] where ... distinct C`.
    fn set_query(&mut self, p: &'a Pipeline, span: Span) -> Option<Expr> {
        let (tables, stages) = self.resolve_source(p)?;
        let schemas: Vec<&TableSchema> = tables.iter().map(|(s, _)| *s).collect();
        let shape_error = |t: &mut Self, at: Span| {
            t.error(
                codes::UNSUPPORTED_SHAPE,
                at,
                "a tabular `let` or sub-query must be `Table | where ... | distinct Column`",
            )
            .label = "unsupported here".into();
            None
        };
        let Some((last, wheres)) = stages.split_last() else {
            return shape_error(self, p.span);
        };
        let StageKind::Distinct(cols) = &last.kind else {
            return shape_error(self, last.span);
        };
        let [col] = cols.as_slice() else {
            return shape_error(self, last.span);
        };
        let mut window = None;
        let mut filters = Vec::new();
        for st in wheres {
            let StageKind::Where { predicate, .. } = &st.kind else {
                return shape_error(self, st.op.span);
            };
            let mut rest = Some(predicate.clone());
            if window.is_none() {
                if let Some(p) = rest.take() {
                    let (w, r) = self.extract_window(p, &schemas);
                    window = w;
                    rest = r;
                }
            }
            if let Some(mut x) = rest {
                let scope = Scope::Rows {
                    tables: &schemas,
                    computed: &[],
                };
                self.check(&mut x, &scope, false);
                filters.push(ast::Where {
                    predicate: x,
                    span: st.span,
                });
            }
        }
        let mut distinct = col.clone();
        let scope = Scope::Rows {
            tables: &schemas,
            computed: &[],
        };
        self.name(&mut distinct, &scope, false);
        Some(Expr {
            kind: ExprKind::Query(Box::new(ast::Query {
                tables: tables.into_iter().map(|(_, id)| id).collect(),
                window,
                filters,
                distinct,
            })),
            span,
        })
    }

    /// How often each `let` name is read anywhere in the source query.
    fn source_uses(&self) -> HashMap<String, usize> {
        let mut uses: HashMap<String, usize> = HashMap::new();
        fn count(uses: &mut HashMap<String, usize>, e: &Expr) {
            print::walk(e, &mut |x| {
                if let ExprKind::Name(id) = &x.kind {
                    *uses.entry(id.name.clone()).or_default() += 1;
                }
            })
        }
        let mut pipes: Vec<&Pipeline> = self.parsed.subqueries.values().collect();
        for s in &self.parsed.statements {
            match s {
                super::query::Statement::Let(l) => match &l.value {
                    LetValue::Scalar(v) => count(&mut uses, v),
                    LetValue::Tabular(p) => pipes.push(p),
                    LetValue::Datatable(_) => {}
                },
                super::query::Statement::Query(p) => pipes.push(p),
            }
        }
        for p in pipes {
            let mut src = Some(&p.source);
            while let Some(s) = src {
                src = match s {
                    Source::Name(id) => {
                        *uses.entry(id.name.clone()).or_default() += 1;
                        None
                    }
                    Source::Nested(inner) => Some(&inner.source),
                    _ => None,
                };
            }
            for st in &p.stages {
                match &st.kind {
                    StageKind::Where { predicate, .. } => count(&mut uses, predicate),
                    StageKind::Extend(xs) | StageKind::Project(xs) => {
                        xs.iter().for_each(|a| count(&mut uses, &a.value))
                    }
                    StageKind::Summarize { aggregates, by } => aggregates
                        .iter()
                        .chain(by)
                        .for_each(|a| count(&mut uses, &a.value)),
                    StageKind::Take(x) => count(&mut uses, x),
                    StageKind::Distinct(_) | StageKind::Unsupported => {}
                }
            }
        }
        // A sub-query placeholder counts as a read of the datatable or let it starts from.
        for p in self.parsed.subqueries.values() {
            if let Source::Name(id) = &p.source {
                *uses.entry(id.name.clone()).or_default() += 1;
            }
        }
        uses
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

/// `now(-X)` / `ago(X)` → the lookback X in ticks, with the span of X.
fn lookback(e: &Expr) -> Option<(i64, Span)> {
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

fn is_now(e: &Expr) -> bool {
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

/// The operands of an `and` tree, left to right.
fn conjuncts(e: &Expr) -> Vec<&Expr> {
    match &e.kind {
        ExprKind::Binary {
            op: BinOp::And,
            lhs,
            rhs,
            ..
        } => {
            let mut v = conjuncts(lhs);
            v.extend(conjuncts(rhs));
            v
        }
        _ => vec![e],
    }
}

/// `a and b and c`, leaning left as the parser builds it.
fn and_all(parts: Vec<Expr>) -> Expr {
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

/// Every name read by the clauses and the generated lets.
fn names_read(
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

/// The columns `arg_max(args)` / `arg_min(args)` give, named as the compiler names them
/// (Kusto's rule, see `compile::lower`): a column keeps its name, another ranked value is
/// `max_`, another returned value `max_<ranked>_arg<i>`; `*` gives the row's columns except
/// those already returned or read whole by a `by` key.
fn arg_extreme_names(
    f: &str,
    args: &[Expr],
    by: &[ast::Assignment],
    scope: &Scope<'_>,
) -> Vec<String> {
    let prefix = if f == "arg_max" { "max" } else { "min" };
    let column = |e: &Expr| match &e.kind {
        ExprKind::Name(id) => Some(id.name.clone()),
        _ => None,
    };
    let star = args
        .iter()
        .skip(1)
        .any(|x| matches!(x.kind, ExprKind::Star));
    let by: Vec<String> = by.iter().filter_map(|k| column(&k.value)).collect();
    let primary = args.first().and_then(column);
    let mut out = vec![primary.clone().unwrap_or_else(|| format!("{prefix}_"))];
    let mut seen: Vec<String> = primary.iter().cloned().collect();
    for (i, x) in args.iter().enumerate().skip(1) {
        if let ExprKind::Star = x.kind {
            let row: Vec<String> = match scope {
                Scope::Rows { tables, computed } => tables
                    .first()
                    .map(|t| t.columns.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>())
                    .unwrap_or_default()
                    .into_iter()
                    .chain(computed.iter().cloned())
                    .collect(),
                _ => Vec::new(),
            };
            for c in row {
                if !seen.contains(&c) && !by.contains(&c) {
                    seen.push(c.clone());
                    out.push(c);
                }
            }
            continue;
        }
        match column(x) {
            Some(c) if star && (seen.contains(&c) || by.contains(&c)) => {}
            Some(c) => {
                seen.push(c.clone());
                out.push(c);
            }
            None => out.push(format!(
                "{prefix}_{}_arg{i}",
                primary.as_deref().unwrap_or("")
            )),
        }
    }
    out
}

/// `name`, or the first of `name1`, `name2`, ... no earlier column has.
fn unique(name: &str, cols: &[String]) -> String {
    if !cols.iter().any(|c| c == name) {
        return name.to_string();
    }
    (1u64..)
        .map(|k| format!("{name}{k}"))
        .find(|n| !cols.contains(n))
        .unwrap_or_else(|| name.to_string())
}
