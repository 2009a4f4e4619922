//! `distinct` sets from other tables (`let S = from T where ... distinct C;`): collected in a
//! first pass or alongside, sealed, shared between executors, and tested; rows that wait for
//! them are held (see [`crate::spill`]).

use super::*;

impl<'p> Executor<'p> {
    /// True when some rule tests a `distinct` set. Such rules decide only once the set is
    /// complete: either read the input twice ([`Executor::collect_sets`] over every record,
    /// [`Executor::seal_sets`], then [`Executor::process`] as usual), or once, in which case
    /// the rows those rules may keep are held until [`Executor::finish`]. Both give the same
    /// results; two passes hold no rows.
    pub fn has_sets(&self) -> bool {
        !self.plan.sets.is_empty()
    }

    /// First pass: adds one record to the sets it belongs to. Counts nothing (the second pass
    /// does); an `Err` is a record the second pass will report as skipped.
    pub fn collect_sets(&mut self, row: &Row) -> Result<(), Skip> {
        let plan = self.plan;
        let (table, _, _) = table_of(
            &self.default_table,
            self.type_field,
            self.action_field,
            &plan.catalog,
            &mut self.fit_cache,
            row,
        )?;
        let Some(tp) = plan.table(table) else {
            return Ok(());
        };
        if tp.sets.is_empty() {
            return Ok(());
        }
        let ts = record_timestamp(tp, row)?;
        if !self.within_since_until(ts) {
            return Ok(());
        }
        tp.match_atoms(row, &mut self.bits, &mut self.fold_buf);
        self.collect_table_sets(tp, row, ts);
        Ok(())
    }

    /// Ends the first pass: the sets are complete.
    pub fn seal_sets(&mut self) {
        self.sets_sealed = true;
    }

    /// The sets collected so far, to give to the executors of a second pass
    /// ([`Executor::use_sets`]).
    pub fn collected_sets(&self) -> CollectedSets {
        CollectedSets(self.sets.clone())
    }

    /// Second pass: the sets are those of a finished first pass. The prefilter learns their
    /// values, so a rule testing a set needs one of them in a line.
    pub fn use_sets(&mut self, sets: &CollectedSets) {
        self.sets = sets.0.clone();
        self.sets_dirty = true;
        self.sets_sealed = true;
        self.refresh_set_lists();
        if let Prefilter::On(_) = *self.prefilter {
            self.prefilter = Arc::new(Prefilter::build_with_sets(
                self.plan,
                self.default_table.as_deref(),
                false,
                Some(&self.set_lists),
            ));
        }
    }

    /// The number of values in each set so far, by [`SetId`].
    pub fn set_sizes(&self) -> Vec<usize> {
        self.sets.iter().map(|s| s.values.len()).collect()
    }

    pub(super) fn collect_table_sets(&mut self, tp: &TablePlan, row: &Row, ts: Option<i64>) {
        let ts_cache = StdCell::new(Some(ts));
        for &(si, bi) in &tp.sets {
            let body = &self.plan.sets[si].bodies[bi];
            let ctx = StepCx::new(row, &self.bits, self.now, &[], &ts_cache);
            let (mut windowed, mut in_window) = (false, false);
            if !ctx.in_window(&body.window, body.timestamp, &mut windowed, &mut in_window) {
                continue;
            }
            let env = ctx.env(&[], body.timestamp);
            if !body
                .filters
                .iter()
                .all(|p| eval::test(p, &env) == Some(true))
            {
                continue;
            }
            let v = eval::eval(&body.column, &env).to_value();
            let acc = &mut self.sets[si];
            if acc.seen.insert(Key::of(&v)) {
                acc.values.push(v);
                self.sets_dirty = true;
            }
        }
    }

    /// Rebuilds the lists rules test from the sets collected so far.
    pub(super) fn refresh_set_lists(&mut self) {
        if !self.sets_dirty {
            return;
        }
        self.set_lists = self
            .sets
            .iter()
            .map(|acc| {
                let mut exact = HashSet::new();
                let mut folded = HashSet::new();
                for v in acc.values.iter().filter(|v| !v.is_null()) {
                    let s = kql::funcs::tostring(v);
                    folded.insert(kql::fold(&s));
                    exact.insert(s);
                }
                ConstList {
                    values: acc.values.clone(),
                    folded,
                    exact,
                }
            })
            .collect();
        self.sets_dirty = false;
    }

    /// The first pass's question: can `line` add to a set?
    pub fn set_candidate(&self, line: &[u8]) -> bool {
        self.set_prefilter.candidate(line)
    }

    /// Holds `row` for the bodies in `held_targets`, keeping only the cells they read.
    pub(super) fn hold(&mut self, tp: &TablePlan, row: &Row) {
        self.held_union.clear();
        for t in &self.held_targets {
            let (ri, bi) = (t.rule as usize, t.body as usize);
            let fields =
                self.held_fields[ri][bi].get_or_insert_with(|| body_fields(self.plan, tp, ri, bi));
            self.held_union.extend_from_slice(fields);
        }
        self.held_union.sort_unstable();
        self.held_union.dedup();
        self.pending.push(
            self.chunk,
            self.origin,
            &self.held_targets,
            row,
            &self.held_union,
        );
        self.stats.held += self.held_targets.len() as u64;
    }
}

/// The fields body `bi` of rule `ri` reads from a row: what a held copy of the row keeps. Its
/// expressions' fields (as the planner collects a table's fields), its atoms' columns, and the
/// timestamps `finish` reads again. Should an atom's column not be found, the table's fields
/// are kept whole: a held row must never lack a cell its body reads.
pub(super) fn body_fields(plan: &Plan, tp: &TablePlan, ri: usize, bi: usize) -> Vec<FieldId> {
    let body = &plan.rules[ri].bodies[bi];
    let mut out: Vec<FieldId> = Vec::new();
    let mut complete = true;
    let mut visit = |e: &Expr| {
        e.walk(&mut |n| match &n.kind {
            ExprKind::Field { field, .. } => out.push(*field),
            ExprKind::Atom(a) => match tp.atom_field(*a) {
                Some(f) => out.push(f),
                None => complete = false,
            },
            _ => {}
        })
    };
    for s in body.steps.iter().chain(body.relaxed.iter().flatten()) {
        match s {
            Step::Where(e) | Step::Extend(_, e) => visit(e),
        }
    }
    if let Some((lo, hi)) = &body.window {
        visit(lo);
        visit(hi);
    }
    body.exclusions.iter().flatten().for_each(&mut visit);
    body.keys.iter().for_each(&mut visit);
    body.project.iter().for_each(&mut visit);
    body.aggs
        .iter()
        .flat_map(|a| a.arg.iter().chain(&a.returned))
        .for_each(&mut visit);
    if !complete {
        out = tp.fields.clone();
    }
    out.extend(body.timestamp);
    out.extend(tp.timestamp);
    out.sort_unstable();
    out.dedup();
    out
}
