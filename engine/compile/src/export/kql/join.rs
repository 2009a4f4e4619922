//! A join that combines both sides (`kind=inner|innerunique|leftouter`) as KQL's `join`:
//!
//! ```text
//! DeviceProcessEvents
//! | where Timestamp between (now(-1d) .. now())
//! | where FileName =~ 'AnyDesk.exe'
//! | join kind=inner (
//!     DeviceNetworkEvents
//!     | where Timestamp between (now(-1d) .. now())
//!     | where RemoteUrl has 'anydesk.com'
//!     ) on DeviceId
//! | where Timestamp1 between (Timestamp .. (Timestamp + 5m))
//! | where RemotePort == 443
//! ```
//!
//! The rule's `window` and exclusions bound both sides in scry, so both pipelines carry them.
//! The time condition is a `where` on the joined row, whose right `Timestamp` is KQL's
//! `Timestamp1`: for `inner` and `innerunique` pairing then filtering gives the pairs the
//! condition keeps. For `leftouter` it does not (a left event whose only right events are
//! out of time would lose its unpaired row), so that combination is refused. `innerunique`
//! pairs one left event per key: Kusto's is any one, scry's the earliest, one of the answers
//! Kusto may give. Names after the join are KQL's already (`Timestamp1`, `DeviceId1`).

use super::*;

impl Exporter<'_> {
    /// Whether `j` has a KQL form; refuses it by name when not.
    pub(super) fn exportable_join(&mut self, r: &ast::Rule, j: &ast::Join) -> bool {
        if j.kind.name == "leftouter" && j.time.is_some() {
            self.error(
                j.time.as_ref().map_or(j.span, |t| t.span),
                "`join kind=leftouter` with a time condition has no KQL export: KQL's `where` after the join would drop the unpaired row of a left event whose right events are all out of time, which scry keeps",
            );
            return false;
        }
        if let Some(w) = &j.window {
            self.error(
                w.span,
                "the right side of a join that combines both sides has no window of its own: the rule's `window` bounds both",
            );
            return false;
        }
        let joins = r
            .clauses
            .iter()
            .filter(|c| matches!(c, Clause::Join(_)))
            .count();
        let after = r
            .clauses
            .iter()
            .skip_while(|c| !matches!(c, Clause::Join(x) if std::ptr::eq(x, j)))
            .skip(1)
            .find(|c| {
                !matches!(
                    c,
                    Clause::Where(_)
                        | Clause::Project(_)
                        | Clause::Take(_)
                        | Clause::Meta(_)
                        | Clause::Let(_)
                        | Clause::Window(_)
                        | Clause::Except(_)
                        | Clause::Examples(_)
                )
            });
        if joins > 1 || after.is_some() {
            let span = after.map_or(j.span, print::clause_span);
            self.error(
                span,
                "a rule with a join that combines both sides has no other join, and only `where`, `project` and `take` after it (the compiler's E0141)",
            );
            return false;
        }
        true
    }

    /// `| join kind=K (right side) on keys`, the time condition and the `where`s after it.
    /// `spell_out`: the left tables, when columns were `extend`ed before the join and no
    /// `project` follows: the scry output (the tables' columns) is then spelled out.
    pub(super) fn join_stages(
        &mut self,
        w: &mut Writer<'_>,
        j: &ast::Join,
        post: &[&ast::Where],
        right_excepts: &[(ast::Except, bool)],
        spell_out: Option<&[&ast::Ident]>,
        window: Option<&ast::Window>,
    ) {
        w.newline(0);
        w.text(&format!("| join kind={} (", j.kind.name));
        w.newline(4);
        pipeline_head(w, &j.tables);
        if let Some(win) = window {
            w.newline(4);
            window_stage(w, win);
        }
        for f in &j.filters {
            w.newline(4);
            w.text("| where ");
            w.expr(&f.predicate, 6, true);
        }
        guards(w, right_excepts, 4);
        w.newline(4);
        let keys: Vec<String> =
            j.on.iter()
                .map(|k| {
                    if k.left.name == k.right.name && !k.left.name.starts_with('$') {
                        print::name(&k.left.name)
                    } else {
                        format!("{} == {}", k.left.name, k.right.name)
                    }
                })
                .collect();
        w.text(&format!(") on {}", keys.join(", ")));
        if let Some(t) = &j.time {
            // After the join the right side's `Timestamp` is `Timestamp1`: every table has a
            // `Timestamp` (the compiler's E0139).
            let col = |name: &str| {
                if name == "$right.Timestamp" {
                    "Timestamp1"
                } else {
                    "Timestamp"
                }
            };
            let bound = |b: &ast::JoinBound| match &b.offset {
                None => col(&b.column.name).to_string(),
                Some((negative, e)) => format!(
                    "({} {} {})",
                    col(&b.column.name),
                    if *negative { "-" } else { "+" },
                    print::expr(e, Dialect::Kql)
                ),
            };
            w.newline(0);
            w.text(&format!(
                "| where {} between ({} .. {})",
                col(&t.column.name),
                bound(&t.low),
                bound(&t.high)
            ));
        }
        for f in post {
            w.newline(0);
            w.text("| where ");
            w.expr(&f.predicate, 2, true);
        }
        if let Some(left) = spell_out {
            let lt: Vec<ast::Ident> = left.iter().map(|t| (*t).clone()).collect();
            let lcols = crate::schema::union_columns(&self.catalog.tables_named(&lt));
            let mut cols = lcols.clone();
            for c in crate::schema::union_columns(&self.catalog.tables_named(&j.tables)) {
                cols.push(if lcols.contains(&c) {
                    format!("{c}1")
                } else {
                    c
                });
            }
            let columns = cols
                .iter()
                .map(|c| {
                    let id = ast::Ident {
                        name: c.clone(),
                        span: j.span,
                    };
                    ast::Assignment {
                        name: None,
                        value: Expr {
                            kind: ExprKind::Name(id),
                            span: j.span,
                        },
                        span: j.span,
                    }
                })
                .collect();
            w.newline(0);
            print::project(
                w,
                &ast::Project {
                    columns,
                    span: j.span,
                },
                "| project",
            );
        }
    }
}
