//! Executors and partial states merged, and the results in their fixed order.

use super::*;

impl<'p> Executor<'p> {
    /// Starts evaluating input chunk `idx` (chunks are numbered in input order across all
    /// inputs): rows found from now on sort after those of earlier chunks when merged.
    pub fn begin_chunk(&mut self, idx: u64) {
        self.chunk = idx;
        self.seq = 0;
    }

    /// Adds another executor's partial results (over other records of the same run, same plan
    /// and clock) into this one. Any split of the input, merged in any order, gives the
    /// results of one executor over the whole input.
    pub fn merge(&mut self, other: Executor<'p>) {
        if let (Some(mine), Some(theirs)) = (&mut self.profile, &other.profile) {
            for (a, b) in mine.iter_mut().zip(theirs) {
                a.rows += b.rows;
                a.nanos += b.nanos;
            }
        }
        let (partial, pending) = other.into_parts();
        self.pending.absorb(pending);
        self.absorb(partial);
    }

    /// Adds partial results (of the same plan and clock, over other records) into this
    /// executor, as [`Executor::merge`] does.
    pub fn absorb(&mut self, other: Partial) {
        let Partial { rules, sets, stats } = other;
        for (ri, (mine, theirs)) in self.state.iter_mut().zip(rules).enumerate() {
            if mine.groups.is_empty()
                && theirs.groups.len() <= self.max_groups.saturating_sub(self.groups)
            {
                // Nothing to combine with: take the map as it is.
                self.groups += theirs.groups.len();
                mine.groups = theirs.groups;
            } else {
                for (key, aggs) in theirs.groups {
                    match mine.groups.entry(key) {
                        hashbrown::hash_map::Entry::Occupied(mut e) => e.get_mut().merge(aggs),
                        // The merged state keeps the budget too; which groups win depends on
                        // the split, but the run then says its results are incomplete.
                        hashbrown::hash_map::Entry::Vacant(_) if self.groups >= self.max_groups => {
                            self.stats.rules[ri].over_budget += 1;
                        }
                        hashbrown::hash_map::Entry::Vacant(e) => {
                            e.insert(aggs);
                            self.groups += 1;
                        }
                    }
                }
            }
            mine.rows.extend(theirs.rows);
            if let Some(n) = self.plan.rules[ri].take {
                keep_first(&mut mine.rows, n);
            }
        }
        for (mine, theirs) in self.sets.iter_mut().zip(sets) {
            for v in theirs.values {
                if mine.seen.insert(Key::of(&v)) {
                    mine.values.push(v);
                    self.sets_dirty = true;
                }
            }
        }
        self.stats.merge(stats);
    }

    /// The executor's partial results, and the rows it holds until the sets are complete.
    pub(super) fn into_parts(self) -> (Partial, HeldRows) {
        let Executor {
            state,
            stats,
            sets,
            pending,
            ..
        } = self;
        (
            Partial {
                rules: state,
                sets,
                stats,
            },
            pending,
        )
    }

    /// The executor's partial results, to merge elsewhere. `Err` when rows are still held
    /// for sets that were never completed ([`Executor::use_sets`] or
    /// [`Executor::seal_sets`] first): such rows cannot be decided by a merge.
    pub fn into_partial(self) -> Result<Partial, String> {
        let (partial, pending) = self.into_parts();
        if !pending.is_empty() {
            return Err(format!(
                "{} row(s) are held until the `distinct` sets are complete; collect the sets first",
                pending.len()
            ));
        }
        Ok(partial)
    }

    /// The partial results so far, leaving this executor empty (same plan, clock and
    /// prefilter) to evaluate more rows: a long-running consumer hands its state on after each
    /// message without rebuilding the executor. `Err` as [`Executor::into_partial`].
    pub fn take_partial(&mut self) -> Result<Partial, String> {
        if !self.pending.is_empty() {
            return Err(format!(
                "{} row(s) are held until the `distinct` sets are complete; collect the sets first",
                self.pending.len()
            ));
        }
        let rules = self.state.iter_mut().map(std::mem::take).collect();
        let sets = self.sets.iter_mut().map(std::mem::take).collect();
        self.sets_dirty = true;
        let stats = std::mem::replace(&mut self.stats, RunStats::zero(self.plan));
        self.groups = 0;
        Ok(Partial { rules, sets, stats })
    }

    /// Ends the run: every rule's result rows, in a deterministic order.
    pub fn finish(&mut self) -> Vec<ResultRow> {
        // The sets are complete: decide the rows kept for the rules that test them, in input
        // order, exactly as a second pass would.
        self.refresh_set_lists();
        let plan = self.plan;
        self.stats.spilled_bytes = self.pending.spilled_bytes();
        if let Some(e) = self.pending.error() {
            self.stats.spill_error.get_or_insert_with(|| e.to_string());
        }
        let mut held = self.pending.drain(&self.fields);
        let mut row = Row::new(&self.fields);
        let mut targets = Vec::new();
        while let Some((chunk, origin)) = held.next(&mut row, &mut targets) {
            // All targets of a row read the same table.
            let Some(first) = targets.first() else {
                continue;
            };
            let Some(tp) =
                plan.table(&plan.rules[first.rule as usize].bodies[first.body as usize].table)
            else {
                continue;
            };
            tp.match_atoms(&row, &mut self.bits, &mut self.fold_buf);
            // The timestamp parsed when the row was kept.
            let ts = record_timestamp(tp, &row).unwrap_or(None);
            let ts_cache = StdCell::new(Some(ts));
            for t in &targets {
                // Rows a held row produces keep its place in the input, and point at it.
                (self.chunk, self.seq, self.origin) = (chunk, t.seq, origin);
                let (ri, bi) = (t.rule as usize, t.body as usize);
                let (mut windowed, mut in_window) = (false, false);
                self.eval_rule(tp, ri, bi, &row, &ts_cache, &mut windowed, &mut in_window);
            }
        }
        if let Some((n, e)) = held.lost() {
            self.stats.held_lost += n;
            self.stats.spill_error = Some(format!(
                "{n} row(s) held for `distinct` sets could not be read back ({e}): the results of the rules testing sets are incomplete"
            ));
        }
        self.origin = None;
        let mut out = Vec::new();
        for (ri, rule) in self.plan.rules.iter().enumerate() {
            let state = &mut self.state[ri];
            let mut rows: Vec<(Vec<Value>, Option<Origin>)> = Vec::new();
            if rule.summarize {
                let mut groups: Vec<(Vec<Key>, Group)> = state.groups.drain().collect();
                if groups.is_empty()
                    && rule.timeline.is_none()
                    && rule.bodies.first().is_some_and(|b| b.keys.is_empty())
                {
                    // `summarize` without `by` gives exactly one row, even for no input.
                    let aggs = rule.bodies[0].aggs.iter().map(AggState::new).collect();
                    groups.push((Vec::new(), Group { aggs, origin: None }));
                }
                groups.sort_by(|a, b| a.0.cmp(&b.0));
                self.stats.rules[ri].capped_sets = groups
                    .iter()
                    .flat_map(|(_, g)| &g.aggs)
                    .filter(|a| matches!(a, AggState::MakeSet { capped: true, .. }))
                    .count() as u64;
                if let Some(tl) = &rule.timeline {
                    let (mut evicted, mut capped) = (0, 0);
                    for (key, group) in groups {
                        if let [AggState::Timeline(acc)] = group.aggs.as_slice() {
                            evicted += acc.evicted;
                            for values in crate::timeline::finish(rule, tl, &key, acc, &mut capped)
                            {
                                rows.push((values, group.origin));
                            }
                        }
                    }
                    self.stats.rules[ri].evicted = evicted;
                    self.stats.rules[ri].capped_pairs = capped;
                    groups = Vec::new();
                }
                for (key, group) in groups {
                    let mut values: Vec<Value> = key.iter().map(Key::value).collect();
                    for a in &group.aggs {
                        a.finish_into(&mut values);
                    }
                    rows.push((values, group.origin));
                }
            } else {
                let mut tagged = std::mem::take(&mut state.rows);
                tagged.sort_by_key(|t| (t.chunk, t.seq));
                rows = tagged.into_iter().map(|t| (t.values, t.origin)).collect();
            }
            if let Some(h) = &rule.having {
                rows.retain(|(values, _)| {
                    let env = OutputEnv(values, self.now);
                    eval::test(h, &env) == Some(true)
                });
            }
            if let Some(exprs) = &rule.reshape {
                for (values, _) in &mut rows {
                    let env = OutputEnv(values, self.now);
                    let projected = exprs
                        .iter()
                        .map(|e| eval::eval(e, &env).to_value())
                        .collect();
                    *values = projected;
                }
            }
            // The first N in the order results come out in, which does not depend on
            // threads or pieces (Kusto's `take` returns any N; this is one of its answers).
            if let Some(n) = rule.take {
                rows.truncate(usize::try_from(n).unwrap_or(usize::MAX));
            }
            self.stats.rules[ri].results = rows.len() as u64;
            out.extend(rows.into_iter().map(|(values, origin)| ResultRow {
                rule: ri,
                values,
                origin,
            }));
        }
        out
    }
}

/// The rows of a rule with `take N` and no `summarize`: only the N first in input order can be
/// results, so once there are many more, keep those. Each executor keeps its own first N, and
/// the first N of the whole input are among them, so memory stays O(N) per executor however
/// long the input, and merged executors give the same rows.
pub(super) fn keep_first(rows: &mut Vec<Tagged>, n: u64) {
    let n = usize::try_from(n).unwrap_or(usize::MAX);
    // Sorting only past twice the bound (and a floor) keeps the cost per row constant.
    if rows.len() > n.saturating_mul(2).max(64) {
        rows.sort_by_key(|t| (t.chunk, t.seq));
        rows.truncate(n);
    }
}
