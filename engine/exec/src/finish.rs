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
        self.pending.extend(pending);
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
                        hashbrown::hash_map::Entry::Occupied(mut e) => {
                            for (a, b) in e.get_mut().iter_mut().zip(aggs) {
                                a.merge(b);
                            }
                        }
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
    pub(super) fn into_parts(self) -> (Partial, Vec<Pending>) {
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
        let mut pending = std::mem::take(&mut self.pending);
        pending.sort_by_key(|p| (p.chunk, p.seq));
        for Pending {
            chunk,
            seq,
            rule: ri,
            body: bi,
            row,
        } in pending
        {
            // Rows a held row produces keep its place in the input.
            (self.chunk, self.seq) = (chunk, seq);
            let Some(tp) = plan.table(&plan.rules[ri].bodies[bi].table) else {
                continue;
            };
            tp.match_atoms(&row, &mut self.bits, &mut self.fold_buf);
            // The timestamp parsed when the row was kept.
            let ts = record_timestamp(tp, &row).unwrap_or(None);
            let ts_cache = StdCell::new(Some(ts));
            let (mut windowed, mut in_window) = (false, false);
            self.eval_rule(tp, ri, bi, &row, &ts_cache, &mut windowed, &mut in_window);
        }
        let mut out = Vec::new();
        for (ri, rule) in self.plan.rules.iter().enumerate() {
            let state = &mut self.state[ri];
            let mut rows: Vec<Vec<Value>> = Vec::new();
            if rule.summarize {
                let mut groups: Vec<(Vec<Key>, Vec<AggState>)> = state.groups.drain().collect();
                if groups.is_empty() && rule.bodies.first().is_some_and(|b| b.keys.is_empty()) {
                    // `summarize` without `by` gives exactly one row, even for no input.
                    let aggs = rule.bodies[0].aggs.iter().map(AggState::new).collect();
                    groups.push((Vec::new(), aggs));
                }
                groups.sort_by(|a, b| a.0.cmp(&b.0));
                self.stats.rules[ri].capped_sets = groups
                    .iter()
                    .flat_map(|(_, aggs)| aggs)
                    .filter(|a| matches!(a, AggState::MakeSet { capped: true, .. }))
                    .count() as u64;
                for (key, aggs) in groups {
                    let mut values: Vec<Value> = key.iter().map(Key::value).collect();
                    for a in &aggs {
                        a.finish_into(&mut values);
                    }
                    rows.push(values);
                }
            } else {
                let mut tagged = std::mem::take(&mut state.rows);
                tagged.sort_by_key(|(chunk, seq, _)| (*chunk, *seq));
                rows = tagged.into_iter().map(|(_, _, values)| values).collect();
            }
            if let Some(h) = &rule.having {
                rows.retain(|values| {
                    let env = OutputEnv(values, self.now);
                    eval::test(h, &env) == Some(true)
                });
            }
            if let Some(exprs) = &rule.reshape {
                for values in &mut rows {
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
            out.extend(
                rows.into_iter()
                    .map(|values| ResultRow { rule: ri, values }),
            );
        }
        out
    }
}

/// The rows of a rule with `take N` and no `summarize`: only the N first in input order can be
/// results, so once there are many more, keep those. Each executor keeps its own first N, and
/// the first N of the whole input are among them, so memory stays O(N) per executor however
/// long the input, and merged executors give the same rows.
pub(super) fn keep_first(rows: &mut Vec<(u64, u64, Vec<Value>)>, n: u64) {
    let n = usize::try_from(n).unwrap_or(usize::MAX);
    // Sorting only past twice the bound (and a floor) keeps the cost per row constant.
    if rows.len() > n.saturating_mul(2).max(64) {
        rows.sort_by_key(|(chunk, seq, _)| (*chunk, *seq));
        rows.truncate(n);
    }
}
