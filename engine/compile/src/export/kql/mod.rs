//! `scry export kql`: scry rules → KQL hunting queries (and Sentinel rule YAML); `scry export
//! sigma` is `super::sigma`.
//!
//! The map, clause by clause: `from A, B` → `union A, B` (one table → `A`); `window 5d` →
//! `| where Timestamp between (now(-5d) .. now())`; lets → KQL lets (lists as
//! `dynamic([...])`, set queries as `T | where ... | distinct C`); `where`, `extend`,
//! `summarize` in order; `having` → `| where` after the summarize; `project` and `take` (or
//! `limit`) last, as written (Kusto's `take` returns any N rows, scry's the first N in its
//! result order: one of the answers Kusto may give). An exclusion
//! `except "name" when C` becomes
//!
//! ```text
//! // except "name": description
//! | where not(isnotnull(C) and C)
//! ```
//!
//! which keeps exactly the rows the exclusion keeps: a `where` drops rows whose predicate is
//! null, and `not(C)` alone would drop the rows where `C` is null, which an exclusion keeps.
//! `scry import kql` reads this shape (with its comment) back as the exclusion. Aliases such as
//! `process.name` are resolved to the table's column; examples are not exported. What KQL
//! cannot express (an alias meaning different columns in the tables of a `union`) is an error.
//!
//! ```
//! use scry_compile::export;
//! use scry_compile::schema::Catalog;
//! let src = r#"rule r { from DeviceProcessEvents window 5d where process.name =~ 'x.exe' }"#;
//! let (rules, diags) = export::kql(src, 0, &Catalog::builtin());
//! assert!(diags.is_empty());
//! assert_eq!(rules[0].kql, "DeviceProcessEvents\n| where Timestamp between (now(-5d) .. now())\n| where FileName =~ 'x.exe'\n");
//! ```

use super::{file_lets, parse};
use crate::diag::{codes, Diagnostic};
use crate::schema::{Catalog, TableSchema};
use scry_grammar::print::{self, Dialect, Notes, Writer};
use scry_grammar::{self as ast, Clause, Expr, ExprKind, Item, MetaValue, Span};

mod join;
mod threshold;
mod yaml;

use yaml::{meta, meta_strings};

/// One exported rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exported {
    /// The rule's name.
    pub name: String,
    /// The KQL query.
    pub kql: String,
    /// The query wrapped in a Sentinel rule YAML document.
    pub yaml: String,
}

/// Exports every rule of one `.scry` file (`file` is its index for diagnostics). Rules that
/// cannot be expressed are left out, with an error each.
pub fn kql(source: &str, file: usize, catalog: &Catalog) -> (Vec<Exported>, Vec<Diagnostic>) {
    let parsed = match parse(source, file) {
        Ok(f) => f,
        Err(diags) => return (Vec::new(), diags),
    };
    let file_lets = file_lets(&parsed);
    let mut out = Vec::new();
    let mut diags = Vec::new();
    for item in &parsed.items {
        let Item::Rule(r) = item else { continue };
        let mut ex = Exporter {
            catalog,
            file,
            diags: Vec::new(),
        };
        match ex.rule(r, &file_lets) {
            Some(e) if ex.diags.is_empty() => out.push(e),
            // Every refusal names its reason; a rule left out without one is a bug here,
            // said rather than dropped.
            _ if ex.diags.is_empty() => ex.error(
                r.name.span,
                format!(
                    "rule `{}` could not be exported (no reason was given: please report it)",
                    r.name.name
                ),
            ),
            _ => {}
        }
        diags.extend(ex.diags);
    }
    (out, diags)
}

struct Exporter<'a> {
    catalog: &'a Catalog,
    file: usize,
    diags: Vec<Diagnostic>,
}

impl Exporter<'_> {
    fn error(&mut self, span: Span, msg: impl Into<String>) {
        self.diags.push(
            Diagnostic::error(codes::EXPORT_UNSUPPORTED, self.file, span, msg)
                .with_label("cannot be expressed in KQL"),
        );
    }

    fn rule(&mut self, r: &ast::Rule, file_lets: &[&ast::Let]) -> Option<Exported> {
        for c in &r.clauses {
            match c {
                // `first_seen` is a window, a summarize and a having: export those.
                Clause::FirstSeen(f) => {
                    let mut scratch = Vec::new();
                    let plain = crate::compile::desugar_first_seen(r, f, self.file, &mut scratch);
                    self.diags.extend(scratch);
                    return plain.and_then(|plain| self.rule(&plain, file_lets));
                }
                Clause::Join(j)
                    if crate::compile::combining_kind(&j.kind.name).is_some()
                        && !self.exportable_join(r, j) =>
                {
                    return None;
                }
                // Written as KQL's `join` below.
                Clause::Join(j) if crate::compile::combining_kind(&j.kind.name).is_some() => {}
                // A semi or anti join is a membership test in the right side's keys.
                Clause::Join(_) => {
                    let mut scratch = Vec::new();
                    let plain =
                        crate::compile::desugar_joins(r, self.file, self.catalog, &mut scratch);
                    self.diags.extend(scratch);
                    return plain.and_then(|plain| self.rule(&plain, file_lets));
                }
                Clause::Sequence(s) => {
                    self.error(
                        s.span,
                        "`sequence` has no KQL export: its tightest non-overlapping matches are a state machine, which KQL says only with `scan`; no engine scry is tested against runs `scan`, so an export could not be checked, and a join of the steps would report every combination",
                    );
                    return None;
                }
                _ => {}
            }
        }
        let tables: Vec<&ast::Ident> = r
            .clauses
            .iter()
            .filter_map(|c| match c {
                Clause::From(f) => Some(f.tables.iter()),
                _ => None,
            })
            .flatten()
            .collect();
        if tables.is_empty() {
            self.diags.push(
                Diagnostic::error(
                    codes::MISSING_FROM,
                    self.file,
                    r.name.span,
                    format!("rule `{}` does not say which table it reads", r.name.name),
                )
                .with_label("no `from`"),
            );
            return None;
        }
        let schemas: Vec<&TableSchema> = tables
            .iter()
            .filter_map(|t| self.catalog.table(&t.name))
            .collect();
        let local_lets: Vec<&ast::Let> = r
            .clauses
            .iter()
            .filter_map(|c| match c {
                Clause::Let(l) => Some(l),
                _ => None,
            })
            .collect();
        let mut let_names: Vec<String> = file_lets.iter().map(|l| l.name.name.clone()).collect();
        let_names.extend(local_lets.iter().map(|l| l.name.name.clone()));

        // The clauses with aliases resolved, in the order KQL needs them.
        let mut computed: Vec<String> = Vec::new();
        let mut steps: Vec<Clause> = Vec::new();
        let mut excepts: Vec<ast::Except> = Vec::new();
        let mut window = None;
        let mut summarize = None;
        let mut having = None;
        let mut project: Option<ast::Project> = None;
        let mut take: Option<ast::Take> = None;
        // A join that combines both sides, and the `where`s after it (over the joined row,
        // whose names are KQL's already).
        let mut join: Option<&ast::Join> = None;
        let mut post: Vec<&ast::Where> = Vec::new();
        let mut threshold: Option<&ast::Threshold> = None;
        for c in &r.clauses {
            match c {
                Clause::Threshold(t) => threshold = Some(t),
                Clause::Join(j) => join = Some(j),
                Clause::Where(w) if join.is_some() => post.push(w),
                Clause::Where(w) => {
                    let mut w = w.clone();
                    self.resolve(&mut w.predicate, &schemas, &let_names, &computed, false);
                    steps.push(Clause::Where(w));
                }
                Clause::Extend(x) => {
                    let mut x = x.clone();
                    for a in &mut x.assignments {
                        self.resolve(&mut a.value, &schemas, &let_names, &computed, false);
                        computed.push(match (&a.name, &a.value.kind) {
                            (Some(n), _) => n.name.clone(),
                            (None, ExprKind::Name(id)) => id.name.clone(),
                            _ => format!("Column{}", computed.len() + 1),
                        });
                    }
                    steps.push(Clause::Extend(x));
                }
                Clause::Except(x) => excepts.push(x.clone()),
                Clause::Window(w) => window = Some(w.clone()),
                Clause::Summarize(s) => summarize = Some(s.clone()),
                Clause::Having(h) => having = Some(h.clone()),
                Clause::Project(p) => project = Some(p.clone()),
                Clause::Take(t) => take = Some(t.clone()),
                _ => {}
            }
        }
        let right_excepts = match join {
            Some(j) => {
                let rs: Vec<&TableSchema> = self.catalog.tables_named(&j.tables);
                self.kept_excepts(&excepts, &rs, &let_names, &[])
            }
            None => Vec::new(),
        };
        let excepts_kept = self.kept_excepts(&excepts, &schemas, &let_names, &computed);
        if let Some(s) = &mut summarize {
            for a in s.by.iter_mut().chain(s.aggregates.iter_mut()) {
                let before = match &a.value.kind {
                    ExprKind::Name(id) => Some(id.clone()),
                    _ => None,
                };
                self.resolve(&mut a.value, &schemas, &let_names, &computed, false);
                // A resolved alias key keeps the column's name, as the compiler names it.
                let _ = before;
            }
        }

        // A `project` without `summarize` reads the row, whose aliases resolve per table; after
        // `summarize` it reads output columns, which are names already.
        if let (Some(p), None, None, None) = (&mut project, &summarize, join, &threshold) {
            for a in &mut p.columns {
                self.resolve(&mut a.value, &schemas, &let_names, &computed, false);
            }
        }

        let threshold = match threshold {
            Some(t) => Some(self.threshold_parts(t, &schemas, &let_names, &computed)?),
            None => None,
        };

        // Lets: the file's lets the rule reads (with what they read), then the rule's own.
        let mut read: Vec<String> = Vec::new();
        let mut collect = |e: &Expr| {
            print::walk(e, &mut |x| {
                if let ExprKind::Name(id) = &x.kind {
                    read.push(id.name.clone());
                }
            })
        };
        for c in &steps {
            match c {
                Clause::Where(w) => collect(&w.predicate),
                Clause::Extend(x) => x.assignments.iter().for_each(|a| collect(&a.value)),
                _ => {}
            }
        }
        for (x, _) in excepts_kept.iter().chain(&right_excepts) {
            collect(&x.condition);
        }
        if let Some(s) = &summarize {
            s.by.iter()
                .chain(&s.aggregates)
                .for_each(|a| collect(&a.value));
        }
        if let Some(p) = &project {
            p.columns.iter().for_each(|a| collect(&a.value));
        }
        if let Some(t) = &take {
            collect(&t.count);
        }
        if let Some(w) = &window {
            match &w.kind {
                ast::WindowKind::Lookback(x) => collect(x),
                ast::WindowKind::Between(a, b) => {
                    collect(a);
                    collect(b);
                }
            }
        }
        for l in &local_lets {
            collect(&l.value);
        }
        for t in r.clauses.iter().filter_map(|c| match c {
            Clause::Threshold(t) => Some(t),
            _ => None,
        }) {
            collect(&t.condition);
            collect(&t.within);
            t.by.iter().chain(&t.with).for_each(|a| collect(&a.value));
        }
        if let Some(j) = join {
            j.filters.iter().for_each(|f| collect(&f.predicate));
            post.iter().for_each(|f| collect(&f.predicate));
        }
        let mut needed: Vec<&ast::Let> = Vec::new();
        // Reverse order: a let read by a later needed let is needed too.
        for l in file_lets.iter().rev() {
            if read.iter().any(|n| n == &l.name.name) {
                print::walk(&l.value, &mut |x| {
                    if let ExprKind::Name(id) = &x.kind {
                        read.push(id.name.clone());
                    }
                });
                needed.push(l);
            }
        }
        needed.reverse();
        needed.extend(local_lets.iter().copied());

        let notes = Notes::default();
        let mut w = Writer::new(Dialect::Kql, &notes);
        let mut set_tables: Vec<String> = Vec::new();
        for l in &needed {
            w.text("let ");
            w.text(&print::name(&l.name.name));
            w.text(" = ");
            match &l.value.kind {
                ExprKind::Query(q) => {
                    let mut q = (**q).clone();
                    let qs: Vec<&TableSchema> = self.catalog.tables_named(&q.tables);
                    for f in &mut q.filters {
                        self.resolve(&mut f.predicate, &qs, &let_names, &[], false);
                    }
                    let mut d = Expr {
                        kind: ExprKind::Name(q.distinct.clone()),
                        span: q.distinct.span,
                    };
                    self.resolve(&mut d, &qs, &let_names, &[], false);
                    if let ExprKind::Name(id) = d.kind {
                        q.distinct = id;
                    }
                    for t in &q.tables {
                        if !set_tables.contains(&t.name) {
                            set_tables.push(t.name.clone());
                        }
                    }
                    pipeline_head(&mut w, &q.tables);
                    if let Some(win) = &q.window {
                        w.newline(0);
                        window_stage(&mut w, win);
                    }
                    for f in &q.filters {
                        w.newline(0);
                        w.text("| where ");
                        w.expr(&f.predicate, 2, true);
                    }
                    w.newline(0);
                    w.text("| distinct ");
                    w.text(&print::name(&q.distinct.name));
                }
                _ => w.expr(&l.value, 0, false),
            }
            w.text(";");
            w.newline(0);
        }
        if threshold.is_some() {
            threshold::events_head(&mut w);
        }
        pipeline_head(
            &mut w,
            &tables.iter().map(|t| (*t).clone()).collect::<Vec<_>>(),
        );
        if let Some(win) = &window {
            w.newline(0);
            window_stage(&mut w, win);
        }
        for c in &steps {
            w.newline(0);
            match c {
                Clause::Where(x) => {
                    w.text("| where ");
                    w.expr(&x.predicate, 2, true);
                }
                Clause::Extend(x) => {
                    w.text("| extend ");
                    let parts: Vec<String> = x
                        .assignments
                        .iter()
                        .map(|a| match &a.name {
                            Some(n) => format!(
                                "{} = {}",
                                print::name(&n.name),
                                print::expr(&a.value, Dialect::Kql)
                            ),
                            None => print::expr(&a.value, Dialect::Kql),
                        })
                        .collect();
                    w.text(&parts.join(", "));
                }
                _ => {}
            }
        }
        guards(&mut w, &excepts_kept, 0);
        if let Some(t) = &threshold {
            threshold::threshold_stages(&mut w, t);
        }
        if let Some(j) = join {
            // Columns extended before the join are in KQL's joined row, not in scry's:
            // without a `project`, the output is spelled out.
            let spell_out = (project.is_none() && !computed.is_empty()).then_some(&tables[..]);
            self.join_stages(&mut w, j, &post, &right_excepts, spell_out, window.as_ref());
        }
        if let Some(s) = &summarize {
            w.newline(0);
            print::summarize(&mut w, s, 0, "| summarize");
        }
        if let Some(h) = &having {
            w.newline(0);
            w.text("| where ");
            w.expr(&h.predicate, 2, true);
        }
        if let Some(p) = &project {
            w.newline(0);
            print::project(&mut w, p, "| project");
        }
        if let Some(t) = &take {
            w.newline(0);
            print::take(&mut w, t, "| ");
        }
        w.newline(0);
        let (kql, _) = w.finish();

        let mut data_types = meta_strings(meta(r, "data_types"));
        if data_types.is_empty() {
            data_types = tables.iter().map(|t| t.name.clone()).collect();
            let right = join
                .iter()
                .flat_map(|j| j.tables.iter().map(|t| t.name.clone()));
            for t in right.chain(set_tables) {
                if !data_types.contains(&t) {
                    data_types.push(t);
                }
            }
        }
        let yaml = self.yaml(r, &kql, &data_types);
        Some(Exported {
            name: r.name.name.clone(),
            kql,
            yaml,
        })
    }

    /// The exclusions as they apply to the rows of `tables` (after the `computed` columns),
    /// their aliases resolved: `true` marks one inert there (it reads a field every table
    /// lacks, so it suppresses nothing); one that only some tables can read is an error.
    fn kept_excepts(
        &mut self,
        excepts: &[ast::Except],
        tables: &[&TableSchema],
        lets: &[String],
        computed: &[String],
    ) -> Vec<(ast::Except, bool)> {
        let mut kept = Vec::new();
        for x in excepts {
            let mut x = x.clone();
            let lacking = self.lacking_tables(&x.condition, tables, lets, computed);
            if lacking > 0 {
                if lacking == tables.len() {
                    kept.push((x, true));
                } else {
                    self.error(
                        x.span,
                        format!(
                            "exclusion \"{}\" reads fields that only some of the rule's tables have; one KQL `union` cannot apply it to some tables only",
                            x.name.value
                        ),
                    );
                }
                continue;
            }
            self.resolve(&mut x.condition, tables, lets, computed, false);
            kept.push((x, false));
        }
        kept
    }

    /// How many of `tables` lack a name `e` reads (not a let, computed column, column or
    /// alias there).
    fn lacking_tables(
        &self,
        e: &Expr,
        tables: &[&TableSchema],
        lets: &[String],
        computed: &[String],
    ) -> usize {
        tables
            .iter()
            .filter(|t| {
                let mut lacks = false;
                print::walk(e, &mut |x| {
                    if let ExprKind::Name(id) = &x.kind {
                        let n = &id.name;
                        if !lets.contains(n)
                            && !computed.contains(n)
                            && t.column(n).is_none()
                            && t.alias(n).is_none()
                        {
                            lacks = true;
                        }
                    }
                });
                lacks
            })
            .count()
    }

    /// Replaces aliases (`process.name`) by the column they stand for in every table.
    fn resolve(
        &mut self,
        e: &mut Expr,
        tables: &[&TableSchema],
        lets: &[String],
        computed: &[String],
        _in_list: bool,
    ) {
        let mut problems: Vec<(Span, String)> = Vec::new();
        rewrite_names(e, &mut |id: &mut ast::Ident| {
            let n = &id.name;
            if lets.contains(n) || computed.contains(n) {
                return;
            }
            if tables.iter().all(|t| t.column(n).is_some()) {
                return;
            }
            let targets: Vec<Option<&str>> = tables
                .iter()
                .map(|t| t.column(n).map(|_| n.as_str()).or_else(|| t.alias(n)))
                .collect();
            match targets.first() {
                Some(Some(first)) if targets.iter().all(|t| *t == Some(*first)) => {
                    id.name = first.to_string();
                }
                _ if tables.is_empty() => {}
                _ if targets.iter().all(Option::is_none) => {}
                _ => problems.push((
                    id.span,
                    format!(
                        "`{n}` stands for different columns in {}; one KQL `union` cannot say that",
                        tables
                            .iter()
                            .map(|t| t.name.as_str())
                            .collect::<Vec<_>>()
                            .join(" and ")
                    ),
                )),
            }
        });
        for (s, m) in problems {
            self.error(s, m);
        }
    }
}

/// Each exclusion as `// except "name"` and `| where not(isnotnull(C) and C)` (a comment
/// only where it is inert: it reads fields the tables lack).
fn guards(w: &mut Writer<'_>, excepts: &[(ast::Except, bool)], indent: usize) {
    for (x, inert) in excepts {
        w.newline(indent);
        let desc = x
            .description
            .as_ref()
            .map(|d| format!(": {}", d.value.replace(['\r', '\n'], " ")))
            .unwrap_or_default();
        let name =
            if x.name.value.contains(['"', '\\']) || x.name.value.chars().any(char::is_control) {
                print::string_literal(&x.name.value)
            } else {
                format!("\"{}\"", x.name.value)
            };
        if *inert {
            w.text(&format!(
                "// except {name}{desc} -- reads fields the table lacks, so it suppresses nothing"
            ));
            continue;
        }
        w.text(&format!("// except {name}{desc}"));
        w.newline(indent);
        let guard = Expr {
            kind: ExprKind::Not(Box::new(Expr {
                kind: ExprKind::Binary {
                    op: ast::BinOp::And,
                    op_span: Span::default(),
                    lhs: Box::new(Expr {
                        kind: ExprKind::Call {
                            name: ast::Ident {
                                name: "isnotnull".into(),
                                span: Span::default(),
                            },
                            args: vec![x.condition.clone()],
                        },
                        span: Span::default(),
                    }),
                    rhs: Box::new(x.condition.clone()),
                },
                span: Span::default(),
            })),
            span: Span::default(),
        };
        w.text("| where ");
        w.expr(&guard, indent + 2, false);
    }
}

fn pipeline_head(w: &mut Writer<'_>, tables: &[ast::Ident]) {
    let names: Vec<String> = tables.iter().map(|t| print::name(&t.name)).collect();
    if names.len() == 1 {
        w.text(&names[0]);
    } else {
        w.text("union ");
        w.text(&names.join(", "));
    }
}

fn window_stage(w: &mut Writer<'_>, win: &ast::Window) {
    match &win.kind {
        ast::WindowKind::Lookback(x) => {
            let x = print::expr(x, Dialect::Kql);
            w.text(&format!("| where Timestamp between (now(-{x}) .. now())"));
        }
        ast::WindowKind::Between(a, b) => {
            w.text(&format!(
                "| where Timestamp between ({} .. {})",
                print::expr(a, Dialect::Kql),
                print::expr(b, Dialect::Kql)
            ));
        }
    }
}

/// Calls `f` on every name (not function names) in `e`, letting it rename.
fn rewrite_names(e: &mut Expr, f: &mut dyn FnMut(&mut ast::Ident)) {
    match &mut e.kind {
        ExprKind::Literal(_) | ExprKind::Query(_) | ExprKind::Star => {}
        ExprKind::Name(id) => f(id),
        ExprKind::Not(x) | ExprKind::Neg(x) => rewrite_names(x, f),
        ExprKind::Binary { lhs, rhs, .. } => {
            rewrite_names(lhs, f);
            rewrite_names(rhs, f);
        }
        ExprKind::InList { lhs, list, .. } => {
            rewrite_names(lhs, f);
            list.iter_mut().for_each(|x| rewrite_names(x, f));
        }
        ExprKind::Between { lhs, low, high, .. } => {
            rewrite_names(lhs, f);
            rewrite_names(low, f);
            rewrite_names(high, f);
        }
        ExprKind::Call { args, .. } => args.iter_mut().for_each(|x| rewrite_names(x, f)),
        ExprKind::Index { base, index } => {
            rewrite_names(base, f);
            rewrite_names(index, f);
        }
        ExprKind::List(xs) => xs.iter_mut().for_each(|x| rewrite_names(x, f)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn export(src: &str) -> (Vec<Exported>, Vec<Diagnostic>) {
        kql(src, 0, &Catalog::builtin())
    }

    #[test]
    fn exclusions_keep_rows_where_the_condition_is_null() {
        let (rules, diags) = export(
            r#"rule r { from DeviceProcessEvents
                 where FileName has 'x'
                 except "admin" { description "an admin" when process.parent.name =~ 'svc.exe' } }"#,
        );
        assert!(diags.is_empty(), "{diags:?}");
        let flat = rules[0]
            .kql
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        assert!(flat.contains(
            "// except \"admin\": an admin | where not(isnotnull(InitiatingProcessFileName =~ 'svc.exe') and InitiatingProcessFileName =~ 'svc.exe')"
        ), "{}", rules[0].kql);
    }

    #[test]
    fn unions_lists_sets_and_having() {
        let (rules, diags) = export(
            r#"let Names = ('a', 'b');
               rule r { from DeviceProcessEvents, DeviceNetworkEvents window 5d
                 let Hashes = from DeviceFileCertificateInfo window 5d where Signer has 'x' distinct SHA1;
                 where DeviceName in (Names) and InitiatingProcessSHA1 in (Hashes)
                 summarize Count = count() by DeviceId having Count > 1 }"#,
        );
        assert!(diags.is_empty(), "{diags:?}");
        let k = &rules[0].kql;
        assert!(k.starts_with("let Names = dynamic(['a', 'b']);\nlet Hashes = DeviceFileCertificateInfo\n| where Timestamp between (now(-5d) .. now())\n| where Signer has 'x'\n| distinct SHA1;\nunion DeviceProcessEvents, DeviceNetworkEvents\n"), "{k}");
        assert!(
            k.ends_with("| summarize Count = count() by DeviceId\n| where Count > 1\n"),
            "{k}"
        );
        assert!(
            rules[0]
                .yaml
                .contains("      - DeviceFileCertificateInfo\n"),
            "{}",
            rules[0].yaml
        );
    }

    #[test]
    fn aliases_that_differ_across_a_union_are_refused() {
        let (rules, diags) = export(
            "rule r { from DeviceProcessEvents, DeviceNetworkEvents where process.name =~ 'x' }",
        );
        assert!(rules.is_empty());
        assert_eq!(diags[0].code, codes::EXPORT_UNSUPPORTED);
    }

    #[test]
    fn project_take_and_arg_max_are_printed_last() {
        let (rules, diags) = export(
            r#"let N = 5;
               rule rows { from DeviceProcessEvents where FileName has 'x'
                 except "svc" when process.parent.name =~ 'services.exe'
                 project Timestamp, Parent = process.parent.name limit N }
               rule groups { from DeviceProcessEvents
                 summarize Last = arg_max(Timestamp, *) by DeviceId
                 having Last > ago(1d) project DeviceId, Last take 1 }"#,
        );
        assert!(diags.is_empty(), "{diags:?}");
        let rows = &rules[0].kql;
        assert!(rows.starts_with("let N = 5;\n"), "{rows}");
        assert!(
            rows.ends_with("| project Timestamp, Parent = InitiatingProcessFileName\n| limit N\n"),
            "{rows}"
        );
        let groups = &rules[1].kql;
        assert!(
            groups.ends_with(
                "| summarize Last = arg_max(Timestamp, *) by DeviceId\n| where Last > ago(1d)\n| project DeviceId, Last\n| take 1\n"
            ),
            "{groups}"
        );
    }
}
