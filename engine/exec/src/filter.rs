//! One row through the plan: its table and time, each rule's conditions over the atoms the
//! column scans set, exclusions, and the verdict.

use super::*;

impl<'p> Executor<'p> {
    /// Evaluates one record. An `Err` means it was skipped (and counted as such).
    pub fn process(&mut self, row: &Row) -> Result<(), Skip> {
        self.stats.read += 1;
        let res = self.process_inner(row, None);
        if let Err(s) = &res {
            *self.stats.skipped.entry(s.key()).or_insert(0) += 1;
        }
        res.map(|_| ())
    }

    /// Evaluates one record read at `origin`, as [`Executor::process`]: the result rows it
    /// gives point there ([`ResultRow::origin`]).
    pub fn process_at(&mut self, row: &Row, origin: Origin) -> Result<(), Skip> {
        self.origin = Some(origin);
        let res = self.process(row);
        self.origin = None;
        res
    }

    /// Evaluates one record for one rule only and says what the rule did with it.
    pub fn verdict(&mut self, row: &Row, rule: usize) -> Result<Verdict, Skip> {
        self.stats.read += 1;
        let r = self.process_inner(row, Some(rule));
        if let Err(s) = &r {
            *self.stats.skipped.entry(s.key()).or_insert(0) += 1;
        }
        r.map(|v| v.unwrap_or(Verdict::NoMatch))
    }

    pub(super) fn process_inner(
        &mut self,
        row: &Row,
        only: Option<usize>,
    ) -> Result<Option<Verdict>, Skip> {
        let plan = self.plan;
        // Borrowed from the row, the options or the catalog: nothing is allocated per record
        // here, but for records whose table is inferred.
        let (table, inferred, partial) = table_of(
            &self.default_table,
            self.type_field,
            self.action_field,
            &plan.catalog,
            &mut self.fit_cache,
            row,
        )?;
        match inferred {
            None => {}
            Some(Decided::Columns) => bump(&mut self.stats.inferred, table),
            Some(Decided::ActionType { among }) => {
                // The value decided only because a candidate documents it: one of a bounded
                // set, so the key space is too.
                let value = action_type(row, self.action_field).unwrap_or_default();
                self.key_buf.clear();
                self.key_buf.push_str(table);
                self.key_buf.push('\t');
                self.key_buf.push_str(value);
                self.key_buf.push('\t');
                self.key_buf.push_str(&and_list(&among));
                bump(&mut self.stats.decided, &self.key_buf);
            }
        }
        if partial {
            count_set_aside(&mut self.stats, &plan.catalog, table, row);
        }
        let Some(tp) = plan.table(table) else {
            if plan.catalog.table(table).is_none() {
                return Err(Skip::UnknownTable(table.to_string()));
            }
            // A known table no rule reads: evaluated, nothing to do.
            self.stats.evaluated += 1;
            bump(&mut self.stats.per_table, table);
            return Ok(None);
        };
        let ts = record_timestamp(tp, row)?;
        if !self.within_since_until(ts) {
            bump(&mut self.stats.skipped, "outside --since/--until");
            return Ok(None);
        }
        self.stats.evaluated += 1;
        bump(&mut self.stats.per_table, table);
        tp.match_atoms(row, &mut self.bits, &mut self.fold_buf);
        if !self.sets_sealed {
            self.collect_table_sets(tp, row, ts);
        }
        let ts_cache = StdCell::new(Some(ts));
        let mut verdict = None;
        let mut windowed = false;
        let mut in_window = false;
        // The window counts do not depend on which bodies the index skips.
        for &slot in &tp.windowed {
            let body = &plan.rules[tp.rules[slot as usize].0].bodies[tp.rules[slot as usize].1];
            let ctx = StepCx::new(row, &self.bits, self.now, &[], &ts_cache);
            ctx.in_window(&body.window, body.timestamp, &mut windowed, &mut in_window);
            if in_window {
                break;
            }
        }
        self.held_targets.clear();
        let mut slots = std::mem::take(&mut self.candidates);
        match only {
            Some(o) => {
                slots.clear();
                slots.extend((0..tp.rules.len() as u32).filter(|&s| tp.rules[s as usize].0 == o));
            }
            None => tp
                .candidates
                .select(&self.bits, &mut self.candidate_seen, &mut slots),
        }
        for &slot in &slots {
            let (ri, bi) = tp.rules[slot as usize];
            let body = &plan.rules[ri].bodies[bi];
            if let (Some(relaxed), false, None) = (&body.relaxed, self.sets_sealed, only) {
                // Single pass: the sets are not complete yet. Keep the row if it can still
                // pass once they are; `finish` decides.
                let ctx = StepCx::new(row, &self.bits, self.now, &[], &ts_cache);
                self.computed.clear();
                self.computed.resize(body.computed, Value::Null);
                if ctx.passes(
                    body,
                    relaxed,
                    &mut self.computed,
                    &mut windowed,
                    &mut in_window,
                ) {
                    self.held_targets.push(Target {
                        rule: ri as u32,
                        body: bi as u32,
                        seq: self.seq,
                    });
                    self.seq += 1;
                }
                continue;
            }
            if body.relaxed.is_some() {
                self.refresh_set_lists();
            }
            let t0 = self.profile.is_some().then(std::time::Instant::now);
            let v = self.eval_rule(tp, ri, bi, row, &ts_cache, &mut windowed, &mut in_window);
            if let (Some(t0), Some(p)) = (t0, &mut self.profile) {
                p[ri].rows += 1;
                p[ri].nanos += t0.elapsed().as_nanos() as u64;
            }
            if only.is_some() {
                verdict = Some(v);
            }
        }
        self.candidates = slots;
        if !self.held_targets.is_empty() {
            self.hold(tp, row);
        }
        if windowed {
            self.stats.windowed += 1;
            if in_window {
                self.stats.in_window += 1;
            }
        }
        Ok(verdict)
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn eval_rule(
        &mut self,
        _tp: &TablePlan,
        ri: usize,
        bi: usize,
        row: &Row,
        ts_cache: &StdCell<Option<Option<i64>>>,
        windowed: &mut bool,
        in_window: &mut bool,
    ) -> Verdict {
        let plan = self.plan;
        let rule: &Rule = &plan.rules[ri];
        let body = &rule.bodies[bi];
        self.computed.clear();
        self.computed.resize(body.computed, Value::Null);
        let mut computed = std::mem::take(&mut self.computed);
        let verdict = 'eval: {
            let ctx = StepCx::new(row, &self.bits, self.now, &self.set_lists, ts_cache);
            if !ctx.passes(body, &body.steps, &mut computed, windowed, in_window) {
                break 'eval Verdict::NoMatch;
            }
            let env = ctx.env(&computed, body.timestamp);
            for (i, x) in body.exclusions.iter().enumerate() {
                if let Some(x) = x {
                    if eval::test(x, &env) == Some(true) {
                        break 'eval Verdict::Suppressed(i);
                    }
                }
            }
            // Kept: aggregate or record.
            let state = &mut self.state[ri];
            if rule.summarize {
                let key: Vec<Key> = body
                    .keys
                    .iter()
                    .map(|k| Key::of(&eval::eval(k, &env).to_value()))
                    .collect();
                let ts = ts_cache.get().flatten();
                if rule.timeline.is_some() && ts.is_none() {
                    // No span can hold an event without a time.
                    self.stats.rules[ri].untimed += 1;
                    break 'eval Verdict::Match;
                }
                let group = match state.groups.entry(key) {
                    hashbrown::hash_map::Entry::Occupied(e) => e.into_mut(),
                    hashbrown::hash_map::Entry::Vacant(_) if self.groups >= self.max_groups => {
                        self.stats.rules[ri].over_budget += 1;
                        break 'eval Verdict::Match;
                    }
                    hashbrown::hash_map::Entry::Vacant(e) => {
                        self.groups += 1;
                        let aggs = match &rule.timeline {
                            Some(tl) => vec![AggState::Timeline(timeline::TimelineAcc::new(
                                tl.steps.len() + 1,
                                tl.max_events,
                            ))],
                            None => body.aggs.iter().map(AggState::new).collect(),
                        };
                        e.insert(Group { aggs, origin: None })
                    }
                };
                Origin::keep_first(&mut group.origin, self.origin);
                if let (Some(tl), Some(ts), [AggState::Timeline(acc)]) =
                    (&rule.timeline, ts, group.aggs.as_mut_slice())
                {
                    let (lane, class, step) = timeline::lane(tl, body.step);
                    let values = timeline::event_values(&body.aggs, &env);
                    acc.push(
                        lane,
                        timeline::Event {
                            ts,
                            class,
                            step,
                            values,
                        },
                    );
                    break 'eval Verdict::Match;
                }
                for (st, a) in group.aggs.iter_mut().zip(&body.aggs) {
                    let arg = a.arg.as_ref().map(|e| match a.kind {
                        AggKind::CountIf => Value::Bool(eval::test(e, &env) == Some(true)),
                        _ => eval::eval(e, &env).to_value(),
                    });
                    st.offer(a.kind, arg, || {
                        a.returned
                            .iter()
                            .map(|r| Key::of(&eval::eval(r, &env).to_value()))
                            .collect()
                    });
                }
            } else {
                let values = body
                    .project
                    .iter()
                    .map(|e| eval::eval(e, &env).to_value())
                    .collect();
                state.rows.push(Tagged {
                    chunk: self.chunk,
                    seq: self.seq,
                    origin: self.origin,
                    values,
                });
                self.seq += 1;
                if let Some(n) = rule.take {
                    keep_first(&mut state.rows, n);
                }
            }
            Verdict::Match
        };
        self.computed = std::mem::take(&mut computed);
        let stats = &mut self.stats.rules[ri];
        match verdict {
            Verdict::Match => stats.passed += 1,
            Verdict::Suppressed(i) => {
                stats.passed += 1;
                stats.suppressed[i] += 1;
            }
            Verdict::NoMatch => {}
        }
        verdict
    }

    /// The record's `Timestamp` as [`Executor::process`] reads it for its table: `None` when
    /// the table is unknown or has no timestamp, or the record has none or a malformed one
    /// (which `process` then reports).
    pub fn record_time(&mut self, row: &Row) -> Option<i64> {
        let plan = self.plan;
        let (table, _, _) = table_of(
            &self.default_table,
            self.type_field,
            self.action_field,
            &plan.catalog,
            &mut self.fit_cache,
            row,
        )
        .ok()?;
        record_timestamp(plan.table(table)?, row).ok()?
    }

    pub(super) fn within_since_until(&self, ts: Option<i64>) -> bool {
        if self.since.is_none() && self.until.is_none() {
            return true;
        }
        ts.is_some_and(|t| self.since.is_none_or(|s| t >= s) && self.until.is_none_or(|u| t <= u))
    }
}
