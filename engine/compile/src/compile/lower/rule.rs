//! Lowering of a whole rule: its clauses in order, its exclusions, summarize, project, take
//! and examples.
//!
//! Slightly over our ~800-line guide: [`lower_rule`] checks clause order and context (which
//! clause may follow which, what a clause may read after `summarize` or `project`) in one
//! pass over the clauses; the checks share that pass's state, which splitting would thread
//! through every piece.

use super::*;

/// The fields every result row starts with (`ResultRow::to_json_line`).
const RESULT_FIELDS: [&str; 3] = ["rule", "name", "title"];

/// Lowers one rule against every table it reads. Returns `None` when the rule is unusable.
pub fn lower_rule(r: &ast::Rule, lw: &mut Lowering<'_>) -> Option<Rule> {
    let (file, file_lets, catalog) = (lw.file, lw.file_lets, lw.catalog);
    let meta = lower_meta(r, file, lw.diags);
    if meta.id.is_none() {
        lw.diags.push(
            Diagnostic::warning(
                codes::MISSING_ID,
                file,
                r.name.span,
                format!("rule `{}` has no `id`", r.name.name),
            )
            .with_note("results are labelled with the rule name instead; add `id \"<uuid>\"` to keep them stable"),
        );
    }
    // Rule-local lets, in order, after the file's.
    let mut lets = file_lets.clone();
    for c in &r.clauses {
        if let ast::Clause::Let(l) = c {
            if lets.contains(&l.name.name) && !file_lets.contains(&l.name.name) {
                lw.diags.push(Diagnostic::error(
                    codes::DUPLICATE_NAME,
                    file,
                    l.name.span,
                    format!("`{}` is already defined", l.name.name),
                ));
                continue;
            }
            lets.remove(&l.name.name);
            add_let(&mut lets, l, file, lw.diags);
        }
    }

    let froms: Vec<&ast::From> = r
        .clauses
        .iter()
        .filter_map(|c| match c {
            ast::Clause::From(f) => Some(f),
            _ => None,
        })
        .collect();
    if froms.is_empty() {
        lw.diags.push(
            Diagnostic::error(
                codes::MISSING_FROM,
                file,
                r.name.span,
                format!("rule `{}` does not say which table it reads", r.name.name),
            )
            .with_note("add `from DeviceProcessEvents` (or another table)"),
        );
        return None;
    }
    let mut tables: Vec<&TableSchema> = Vec::new();
    for f in &froms {
        for t in &f.tables {
            match catalog.table(&t.name) {
                Some(s) => {
                    if !tables.iter().any(|x| x.name == s.name) {
                        tables.push(s)
                    }
                }
                None => {
                    let mut d = Diagnostic::error(
                        codes::UNKNOWN_TABLE,
                        file,
                        t.span,
                        format!("unknown table `{}`", t.name),
                    );
                    let names = catalog.tables().iter().map(|t| t.name.as_str());
                    if let Some(h) = did_you_mean(&t.name, names) {
                        d = d.with_note(format!("did you mean `{h}`?"));
                    } else {
                        d = d.with_note("add its schema with --schema FILE");
                    }
                    lw.diags.push(d);
                }
            }
        }
    }
    if tables.is_empty() {
        return None;
    }
    // Clause order checks.
    let mut summarize: Option<&ast::Summarize> = None;
    let mut having: Option<&ast::Having> = None;
    let mut window: Option<&ast::Window> = None;
    let mut examples: Option<&ast::Examples> = None;
    let mut projection: Option<&ast::Project> = None;
    let mut take: Option<&ast::Take> = None;
    let order = |diags: &mut Vec<Diagnostic>, span: Span, msg: &str| {
        diags.push(Diagnostic::error(codes::CLAUSE_ORDER, file, span, msg))
    };
    for c in &r.clauses {
        // `take` keeps the first N of the rule's results, so everything that decides or
        // shapes them is written before it (a `where` after it would read as KQL's
        // `| take N | where`, which filters N arbitrary rows).
        if let Some(t) = take {
            let shaping = match c {
                ast::Clause::Where(x) => Some(("where", x.span)),
                ast::Clause::Extend(x) => Some(("extend", x.span)),
                ast::Clause::Summarize(x) => Some(("summarize", x.span)),
                ast::Clause::Having(x) => Some(("having", x.span)),
                ast::Clause::Project(x) => Some(("project", x.span)),
                _ => None,
            };
            if let Some((kw, span)) = shaping {
                lw.diags.push(
                    Diagnostic::error(
                        codes::CLAUSE_ORDER,
                        file,
                        span,
                        format!("`{kw}` after `{}`", t.keyword.name),
                    )
                    .with_note(format!(
                        "`{}` keeps the first N of the rule's results: write it last",
                        t.keyword.name
                    )),
                );
            }
        }
        match c {
            ast::Clause::Project(p) => {
                if projection.is_some() {
                    order(lw.diags, p.span, "a rule can have only one `project`");
                }
                projection = Some(p);
            }
            ast::Clause::Take(t) => {
                if take.is_some() {
                    order(lw.diags, t.span, "a rule can have only one `take`");
                }
                take = Some(t);
            }
            ast::Clause::Where(w) if projection.is_some() && summarize.is_none() => order(
                lw.diags,
                w.span,
                "`where` after `project`: `project` chooses the output columns, so it comes after the rule's conditions",
            ),
            ast::Clause::Extend(x) if projection.is_some() && summarize.is_none() => order(
                lw.diags,
                x.span,
                "`extend` after `project`: compute the column first, then name it in `project`",
            ),
            ast::Clause::Having(h) if projection.is_some() && summarize.is_some() => order(
                lw.diags,
                h.span,
                "`having` after `project`: filter the output of `summarize` first, then project it",
            ),
            ast::Clause::Summarize(s) if projection.is_some() && summarize.is_none() => {
                if let Some(p) = projection {
                    order(
                        lw.diags,
                        p.span,
                        "`project` before `summarize`: the output of `summarize` is its keys and aggregates; compute values with `extend`, and write `project` after `summarize` to shape its output",
                    );
                }
                summarize = Some(s);
            }
            ast::Clause::Summarize(s) => {
                if summarize.is_some() {
                    lw.diags.push(Diagnostic::error(
                        codes::CLAUSE_ORDER,
                        file,
                        s.span,
                        "a rule can have only one `summarize`",
                    ));
                }
                summarize = Some(s);
            }
            ast::Clause::Having(h) => {
                if summarize.is_none() {
                    lw.diags.push(Diagnostic::error(
                        codes::CLAUSE_ORDER,
                        file,
                        h.span,
                        "`having` filters the output of `summarize`, which must come first",
                    ));
                }
                having = Some(h);
            }
            ast::Clause::Window(w) => {
                if window.is_some() {
                    lw.diags.push(Diagnostic::error(
                        codes::CLAUSE_ORDER,
                        file,
                        w.span,
                        "a rule can have only one `window`",
                    ));
                }
                window = Some(w);
            }
            ast::Clause::Where(w) if summarize.is_some() => lw.diags.push(Diagnostic::error(
                codes::CLAUSE_ORDER,
                file,
                w.span,
                "`where` after `summarize`: filter the output with `having`",
            )),
            ast::Clause::Examples(x) => {
                if examples.is_some() {
                    lw.diags.push(Diagnostic::error(
                        codes::CLAUSE_ORDER,
                        file,
                        x.span,
                        "a rule can have only one `examples` block",
                    ));
                }
                examples = Some(x);
            }
            _ => {}
        }
    }

    // Exclusions: names unique.
    let mut exclusions: Vec<ExclusionInfo> = Vec::new();
    let mut except_asts: Vec<&ast::Except> = Vec::new();
    for c in &r.clauses {
        if let ast::Clause::Except(x) = c {
            if exclusions.iter().any(|e| e.name == x.name.value) {
                lw.diags.push(Diagnostic::error(
                    codes::DUPLICATE_EXCLUSION,
                    file,
                    x.name.span,
                    format!(
                        "exclusion \"{}\" is defined twice in this rule",
                        x.name.value
                    ),
                ));
                continue;
            }
            exclusions.push(ExclusionInfo {
                name: x.name.value.clone(),
                description: x.description.as_ref().map(|d| d.value.clone()),
                span: x.span,
            });
            except_asts.push(x);
            lint::exclusion_too_broad(x, file, lw.diags);
        }
    }

    if tables.len() > 1 {
        star_over_several_tables(summarize, file, lw.diags);
    }

    let mut bodies = Vec::new();
    let mut body_cols: Vec<Vec<OutputColumn>> = Vec::new();
    let mut output: Option<Vec<OutputColumn>> = None;
    let mut having_ir = None;
    for t in &tables {
        let mut cx = Cx {
            file,
            table: Some(t),
            lets: &lets,
            computed: Vec::new(),
            fields: lw.fields,
            diags: lw.diags,
            mode: Mode::Row,
            missing: Vec::new(),
            sets: Some(&mut *lw.sets),
        };
        let timestamp = t
            .column("Timestamp")
            .filter(|ty| *ty == Type::DateTime)
            .map(|_| cx.fields.intern("Timestamp"));
        let window_ir = window.and_then(|w| cx.window(w, timestamp.is_some(), &t.name));
        let mut steps = Vec::new();
        for c in &r.clauses {
            match c {
                ast::Clause::Where(w) => {
                    let p = cx.predicate(&w.predicate);
                    steps.push(Step::Where(p));
                }
                ast::Clause::Extend(x) => {
                    for a in &x.assignments {
                        let v = cx.expr(&a.value);
                        cx.no_sets(&v, a.value.span);
                        let name = match &a.name {
                            Some(n) => n.name.clone(),
                            None => match &a.value.kind {
                                ast::ExprKind::Name(id) => id.name.clone(),
                                _ => format!("Column{}", cx.computed.len() + 1),
                            },
                        };
                        let slot = cx.computed.len() as u32;
                        cx.computed.push((name, v.ty));
                        steps.push(Step::Extend(slot, v));
                    }
                }
                _ => {}
            }
        }
        // Exclusions see every computed column.
        let mut excl = Vec::new();
        for x in &except_asts {
            cx.mode = Mode::Exclusion;
            cx.missing.clear();
            let p = cx.predicate(&x.condition);
            cx.mode = Mode::Row;
            if cx.missing.is_empty() {
                lint::exclusion_matches_empty_event(x, &p, &t.name, file, cx.diags);
                excl.push(Some(p));
            } else {
                let names: Vec<String> = cx.missing.iter().map(|(n, _)| format!("`{n}`")).collect();
                let first = cx.missing[0].1;
                cx.diags.push(
                    Diagnostic::warning(
                        codes::EXCLUSION_FIELD_MISSING,
                        file,
                        first,
                        format!(
                            "exclusion \"{}\" reads {}, which {} does not have",
                            x.name.value,
                            names.join(", "),
                            t.name
                        ),
                    )
                    .with_label("no such column or alias in this table")
                    .with_note(format!(
                        "the exclusion can never match {} events, so it is ignored for them; map the field in an alias file or drop the exclusion from this rule",
                        t.name
                    )),
                );
                excl.push(None);
            }
        }
        // Summarize / projection.
        let mut keys = Vec::new();
        let mut aggs = Vec::new();
        let mut project = Vec::new();
        let mut out_cols: Vec<OutputColumn> = Vec::new();
        if let Some(s) = summarize {
            for k in &s.by {
                let v = cx.expr(&k.value);
                cx.no_sets(&v, k.value.span);
                let name = match (&k.name, &k.value.kind) {
                    (Some(n), _) => n.name.clone(),
                    (None, ast::ExprKind::Name(id)) => match &v.kind {
                        ExprKind::Field { name, .. } if id.name.contains('.') => name.to_string(),
                        _ => id.name.clone(),
                    },
                    _ => match preserved_name(&v) {
                        Some(n) => n.to_string(),
                        None => format!("Column{}", out_cols.len() + 1),
                    },
                };
                if v.ty == Type::Dynamic && !Cx::is_error(&v) {
                    // Grouping by a dynamic value is allowed in Kusto only for scalars; keep it
                    // simple and explicit.
                    cx.err(
                        codes::TYPE_MISMATCH,
                        k.span,
                        "cannot group by a dynamic value; wrap it in tostring(...)",
                    );
                }
                out_cols.push(OutputColumn { name, ty: v.ty });
                keys.push(v);
            }
            // The columns the `by` keys read whole: `arg_max(x, *)` does not return them again.
            let by: Vec<String> = keys
                .iter()
                .filter_map(|k| column_of(k).map(str::to_string))
                .collect();
            for a in &s.aggregates {
                let Some((agg, cols)) = cx.aggregate(&a.value, &by, tables.len() > 1) else {
                    continue;
                };
                let tuple = matches!(agg.kind, AggKind::ArgMax | AggKind::ArgMin);
                for (i, (natural, ty)) in cols.into_iter().enumerate() {
                    // `Name = arg_max(...)` names the first column only (Kusto: "a single name
                    // assigned from a tuple assigns the first value"); the columns nobody
                    // named get a free name, as Kusto renames them.
                    let name = match (&a.name, i) {
                        (Some(n), 0) => n.name.clone(),
                        _ if tuple => unique_name(&natural, &out_cols),
                        _ => natural,
                    };
                    out_cols.push(OutputColumn { name, ty });
                }
                aggs.push(agg);
            }
        } else if let Some(p) = projection {
            // The output is exactly the projected columns, read from the row after every
            // `where` and `extend`.
            for a in &p.columns {
                let v = cx.expr(&a.value);
                cx.no_sets(&v, a.value.span);
                let name = match &a.name {
                    Some(n) => n.name.clone(),
                    None => output_name(&a.value, &v, &out_cols),
                };
                out_cols.push(OutputColumn { name, ty: v.ty });
                project.push(v);
            }
        } else {
            let mut names: Vec<String> = Vec::new();
            for c in ["Timestamp", "DeviceId", "DeviceName", "ReportId"] {
                if t.column(c).is_some() {
                    names.push(c.to_string());
                }
            }
            let mut referenced = Vec::new();
            for s in &steps {
                let (Step::Where(e) | Step::Extend(_, e)) = s;
                e.walk(&mut |n| {
                    if let ExprKind::Field { name, .. } = &n.kind {
                        referenced.push(name.to_string());
                    }
                });
            }
            for n in referenced {
                if !names.contains(&n) {
                    names.push(n);
                }
            }
            for n in names {
                let ty = t.column(&n).unwrap_or(Type::String);
                let field = cx.fields.intern(&n);
                project.push(Expr {
                    kind: ExprKind::Field {
                        field,
                        name: Arc::from(n.as_str()),
                    },
                    ty,
                });
                // A column the rule reads but did not name an output (a Sigma rule over
                // auditd's `name`) must not take the name of a field every result row starts
                // with (`rule`, `name`, `title`): it is output as `name1`, as KQL names a
                // clashing column.
                let out = if RESULT_FIELDS.contains(&n.as_str()) {
                    format!("{n}1")
                } else {
                    n
                };
                out_cols.push(OutputColumn { name: out, ty });
            }
            for (i, (n, ty)) in cx.computed.iter().enumerate() {
                project.push(Expr {
                    kind: ExprKind::Computed {
                        slot: i as u32,
                        name: Arc::from(n.as_str()),
                    },
                    ty: *ty,
                });
                out_cols.push(OutputColumn {
                    name: n.clone(),
                    ty: *ty,
                });
            }
        }
        // Output names must be unique.
        let mut seen = HashSet::new();
        for c in &out_cols {
            if !seen.insert(c.name.clone()) {
                let span = match (summarize, projection) {
                    (Some(s), _) => s.span,
                    (None, Some(p)) => p.span,
                    (None, None) => r.name.span,
                };
                cx.err(
                    codes::DUPLICATE_NAME,
                    span,
                    format!("output column `{}` is defined twice", c.name),
                );
            }
        }
        body_cols.push(out_cols.clone());
        match &output {
            None => {
                // `having` sees the output columns as computed slots.
                if let Some(h) = having {
                    let mut hx = Cx {
                        file,
                        table: None,
                        lets: &lets,
                        computed: out_cols.iter().map(|c| (c.name.clone(), c.ty)).collect(),
                        fields: cx.fields,
                        diags: cx.diags,
                        mode: Mode::Row,
                        missing: Vec::new(),
                        sets: None,
                    };
                    having_ir = Some(hx.predicate(&h.predicate));
                }
                output = Some(out_cols);
            }
            Some(prev) => {
                if *prev != out_cols && summarize.is_some() {
                    cx.err(
                        codes::TYPE_MISMATCH,
                        r.name.span,
                        format!(
                            "the output columns differ between the rule's tables (in {})",
                            t.name
                        ),
                    );
                }
            }
        }
        // The relaxed steps (every set test assumed to go the rule's way) reject rows early,
        // before the lw.sets are known.
        let uses_sets = steps.iter().any(|s| match s {
            Step::Where(p) => p.uses_sets(),
            Step::Extend(..) => false,
        }) || excl.iter().flatten().any(Expr::uses_sets);
        let relaxed = uses_sets.then(|| {
            steps
                .iter()
                .map(|s| match s {
                    Step::Where(p) => Step::Where(p.clone().relax_sets(true)),
                    other => other.clone(),
                })
                .collect()
        });
        let computed = cx.computed.len();
        let computed_names = cx.computed.iter().map(|(n, _)| n.clone()).collect();
        bodies.push(Body {
            table: t.name.clone(),
            timestamp,
            window: window_ir,
            steps,
            relaxed,
            exclusions: excl,
            keys,
            aggs,
            project,
            computed,
            computed_names,
            step: StepRole::Main,
        });
    }
    // Without `summarize`, a rule over several tables outputs the union of their columns
    // (a KQL `union` does the same); a table without a column gives its empty value.
    if summarize.is_none() && bodies.len() > 1 {
        let mut union: Vec<OutputColumn> = Vec::new();
        for cols in &body_cols {
            for c in cols {
                if !union.iter().any(|u| u.name == c.name) {
                    union.push(c.clone());
                }
            }
        }
        for (b, cols) in bodies.iter_mut().zip(&body_cols) {
            let mut old = std::mem::take(&mut b.project);
            b.project = union
                .iter()
                .map(|u| match cols.iter().position(|c| c.name == u.name) {
                    Some(i) => std::mem::replace(&mut old[i], Expr::bool(false)),
                    None if u.ty.is_stringish() => Expr::constant(Value::Str(String::new()), u.ty),
                    None => Expr::constant(Value::Null, u.ty),
                })
                .collect();
        }
        output = Some(union);
    }
    let output = output.unwrap_or_default();

    // `project` after `summarize` reads its output, as `having` does; the rule's output is
    // then the projected columns.
    let (final_output, reshape) = match (summarize, projection) {
        (Some(_), Some(p)) => {
            let mut px = Cx {
                file,
                table: None,
                lets: &lets,
                computed: output.iter().map(|c| (c.name.clone(), c.ty)).collect(),
                fields: lw.fields,
                diags: lw.diags,
                mode: Mode::Row,
                missing: Vec::new(),
                sets: None,
            };
            let mut cols: Vec<OutputColumn> = Vec::new();
            let mut exprs = Vec::new();
            for a in &p.columns {
                let v = px.expr(&a.value);
                let name = match &a.name {
                    Some(n) => n.name.clone(),
                    None => output_name(&a.value, &v, &cols),
                };
                if cols.iter().any(|c| c.name == name) {
                    px.err(
                        codes::DUPLICATE_NAME,
                        a.span,
                        format!("output column `{name}` is defined twice"),
                    );
                }
                cols.push(OutputColumn { name, ty: v.ty });
                exprs.push(v);
            }
            (cols, Some(exprs))
        }
        _ => (output.clone(), None),
    };
    let take = take.and_then(|t| lower_take(t, file, &lets, lw.diags));

    // The lw.sets the rule tests, and the tables they read (`given` examples may be in those).
    let mut rule_sets: Vec<SetId> = Vec::new();
    for b in &bodies {
        let steps = b.steps.iter().map(|s| match s {
            Step::Where(e) | Step::Extend(_, e) => e,
        });
        for e in steps.chain(b.exclusions.iter().flatten()) {
            e.walk(&mut |n| {
                if let ExprKind::InSet { set, .. } = n.kind {
                    rule_sets.push(set);
                }
            });
        }
    }
    rule_sets.sort();
    rule_sets.dedup();
    let set_tables: Vec<&str> = rule_sets
        .iter()
        .filter_map(|id| lw.sets.defs.get(id.0 as usize))
        .flat_map(|d| d.bodies.iter().map(|b| b.table.as_str()))
        .collect();

    // Examples.
    let table_names: Vec<&str> = tables.iter().map(|t| t.name.as_str()).collect();
    let (examples_now, cases) = match examples {
        Some(x) => lower_examples(
            x,
            &table_names,
            &set_tables,
            &exclusions,
            file,
            &lets,
            lw.diags,
        ),
        None => {
            no_examples(r, file, lw.diags);
            (None, Vec::new())
        }
    };

    // Result rows start with these lw.fields (`ResultRow::to_json_line`); a column of the same
    // name would make ndjson carry the key twice, and readers keep only one of them.
    for c in &final_output {
        if RESULT_FIELDS.contains(&c.name.as_str()) {
            lw.diags.push(
                Diagnostic::warning(
                    codes::OUTPUT_NAME_TAKEN,
                    file,
                    r.name.span,
                    format!(
                        "rule `{}` outputs a column `{}`, a field every result row already has",
                        r.name.name, c.name
                    ),
                )
                .with_note(
                    "result rows start with `rule` (the id), `name` and `title`; rename the column",
                ),
            );
        }
    }

    Some(Rule {
        name: r.name.name.clone(),
        meta,
        file,
        span: r.span,
        bodies,
        exclusions,
        summarize: summarize.is_some(),
        output: final_output,
        grouped: if summarize.is_some() {
            output
        } else {
            Vec::new()
        },
        having: having_ir,
        reshape,
        projected: summarize.is_none() && projection.is_some(),
        take,
        examples_now,
        examples: cases,
        sets: rule_sets,
        timeline: None,
    })
}

/// `arg_max(x, *)` in a rule over several tables: `*` would be a different row shape per table
/// (Kusto's `union` would merge them, renaming clashes by type), so scry asks for the columns.
/// Checked once per rule, not once per table.
pub(super) fn star_over_several_tables(
    summarize: Option<&ast::Summarize>,
    file: usize,
    diags: &mut Vec<Diagnostic>,
) {
    let Some(s) = summarize else { return };
    for a in &s.aggregates {
        let ast::ExprKind::Call { name, args } = &a.value.kind else {
            continue;
        };
        if !matches!(name.name.as_str(), "arg_max" | "arg_min") {
            continue;
        }
        if let Some(star) = args
            .iter()
            .skip(1)
            .find(|x| matches!(x.kind, ast::ExprKind::Star))
        {
            diags.push(
                Diagnostic::error(
                    codes::STAR_MISUSE,
                    file,
                    star.span,
                    "`*` in a rule over several tables: their rows have different columns",
                )
                .with_label("every column of which table?")
                .with_note(format!(
                    "name the returned columns: `{}(Timestamp, DeviceName, ReportId)`",
                    name.name
                )),
            );
        }
    }
}

/// `take N`: N must be a constant, non-negative whole number (a literal or a `let`).
pub(super) fn lower_take(
    t: &ast::Take,
    file: usize,
    lets: &Lets,
    diags: &mut Vec<Diagnostic>,
) -> Option<u64> {
    let mut scratch = Vec::new();
    let e = lower_standalone(&t.count, None, lets, &mut FieldSet::new(), &mut scratch);
    let n = match e.as_const() {
        Some(Value::Long(n)) if scratch.is_empty() => *n,
        _ => {
            // A column or an unknown name reads as "not a constant" here, whatever the
            // expression's own problem was.
            let what = if scratch.is_empty() {
                format!("this is {}", a_type(e.ty))
            } else {
                "this is not a constant".to_string()
            };
            diags.push(
                Diagnostic::error(
                    codes::BAD_TAKE,
                    file,
                    t.count.span,
                    format!("`{}` takes a constant whole number of rows", t.keyword.name),
                )
                .with_label(what)
                .with_note("write a number such as `take 10`, or a `let` bound to one"),
            );
            return None;
        }
    };
    if n < 0 {
        diags.push(
            Diagnostic::error(
                codes::BAD_TAKE,
                file,
                t.count.span,
                format!("`{}` takes a number of rows, not {n}", t.keyword.name),
            )
            .with_label("negative"),
        );
        return None;
    }
    Some(n as u64)
}
