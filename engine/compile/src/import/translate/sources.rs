//! Where rows come from: tables, tabular `let`s, sub-pipelines as sets, `datatable` lists.

use super::*;

impl<'a> Translator<'a> {
    /// The tables a pipeline reads and its stages, following tabular lets it starts from.
    pub(super) fn resolve_source(&mut self, p: &'a Pipeline) -> Option<Resolved<'a>> {
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

    pub(super) fn resolve_source_inner(&mut self, p: &'a Pipeline) -> Option<Resolved<'a>> {
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

    pub(super) fn table(
        &mut self,
        id: &Ident,
        catalog: &'a Catalog,
    ) -> Option<(&'a TableSchema, Ident)> {
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

    /// A sub-pipeline used as a list: a datatable's distinct column becomes a list `let`;
    /// a query over tables becomes a set query.
    pub(super) fn subquery(&mut self, p: &'a Pipeline, span: Span) -> Option<Expr> {
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

    pub(super) fn datatable_list(
        &mut self,
        l: &LetStmt,
        dt: &Datatable,
        col: &Ident,
    ) -> Option<String> {
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
    pub(super) fn datatable_columns_used(&self, d: &str) -> usize {
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
    pub(super) fn set_query(&mut self, p: &'a Pipeline, span: Span) -> Option<Expr> {
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
    pub(super) fn source_uses(&self) -> HashMap<String, usize> {
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
                crate::import::query::Statement::Let(l) => match &l.value {
                    LetValue::Scalar(v) => count(&mut uses, v),
                    LetValue::Tabular(p) => pipes.push(p),
                    LetValue::Datatable(_) => {}
                },
                crate::import::query::Statement::Query(p) => pipes.push(p),
            }
        }
        while let Some(p) = pipes.pop() {
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
                    // The right side reads its lets as the main pipeline does.
                    StageKind::Join(j) => pipes.push(&j.right),
                    StageKind::Distinct(_) | StageKind::Unsupported | StageKind::Order => {}
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
}
