//! `threshold` and `sequence`: each key's events, kept in a bounded multiset that merges
//! exactly, and the operators run over them at finish (docs/semantics.md, "Thresholds" and
//! "Sequences").
//!
//! Events of a key are ordered canonically by (Timestamp, class, step, values), `until`
//! events (class 0) before step events (class 1) of the same instant. The order depends only
//! on the events, so what a key reports does not depend on input order, threads or merges.
//! Per key and step the latest `max_events` events are kept; the top of a multiset union is
//! the top of the union of tops, so capped states merge to exactly what one executor over the
//! whole input keeps, and the evicted count (kept + evicted = seen) adds up the same way.

use super::*;
use crate::compile::{Gate, JoinKind, StepRole, Timeline, TimelineKind};
use crate::ir::CmpOp;

/// One event of a key: its time, class, step and the values the step keeps (each aggregate's
/// argument, then its returned values, in the body's aggregate order).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub(crate) struct Event {
    pub(crate) ts: i64,
    /// 0 for an `until` event, 1 for a step's.
    pub(crate) class: u8,
    pub(crate) step: u16,
    pub(crate) values: Vec<Key>,
}

/// A key's events: per lane (each step, then `until`), a capped multiset.
#[derive(Debug, Clone, Default)]
pub(crate) struct TimelineAcc {
    /// The most events kept per lane.
    pub(crate) cap: usize,
    pub(crate) lanes: Vec<BTreeMap<Event, u32>>,
    /// Events per lane (with multiplicity).
    pub(crate) sizes: Vec<usize>,
    pub(crate) evicted: u64,
}

impl TimelineAcc {
    pub(crate) fn new(lanes: usize, cap: usize) -> TimelineAcc {
        TimelineAcc {
            cap,
            lanes: vec![BTreeMap::new(); lanes],
            sizes: vec![0; lanes],
            evicted: 0,
        }
    }

    fn add(&mut self, lane: usize, e: Event, n: u32) {
        let cap = self.cap;
        if lane >= self.lanes.len() {
            self.lanes.resize(lane + 1, BTreeMap::new());
            self.sizes.resize(lane + 1, 0);
        }
        *self.lanes[lane].entry(e).or_insert(0) += n;
        self.sizes[lane] += n as usize;
        // Evict the oldest (smallest in canonical order) past the cap.
        while self.sizes[lane] > cap {
            let Some(mut first) = self.lanes[lane].first_entry() else {
                break;
            };
            let over = (self.sizes[lane] - cap).min(*first.get() as usize);
            *first.get_mut() -= over as u32;
            if *first.get() == 0 {
                first.remove();
            }
            self.sizes[lane] -= over;
            self.evicted += over as u64;
        }
    }

    /// Adds one event.
    pub(crate) fn push(&mut self, lane: usize, e: Event) {
        self.add(lane, e, 1);
    }

    /// The earliest and latest event times, and the number of events kept.
    pub(crate) fn summary(&self) -> (Option<i64>, Option<i64>, i64) {
        let first = self
            .lanes
            .iter()
            .filter_map(|l| l.keys().next())
            .map(|e| e.ts)
            .min();
        let last = self
            .lanes
            .iter()
            .filter_map(|l| l.keys().last())
            .map(|e| e.ts)
            .max();
        (first, last, self.sizes.iter().sum::<usize>() as i64)
    }

    /// Combines another partial state of the same key (associative and commutative).
    pub(crate) fn merge(&mut self, other: TimelineAcc) {
        self.evicted += other.evicted;
        for (lane, events) in other.lanes.into_iter().enumerate() {
            for (e, n) in events {
                self.add(lane, e, n);
            }
        }
    }

    /// Every kept event in canonical order, repeated as often as it was seen.
    fn events(&self) -> Vec<&Event> {
        let mut all: Vec<&Event> = self
            .lanes
            .iter()
            .flat_map(|l| {
                l.iter()
                    .flat_map(|(e, n)| std::iter::repeat_n(e, *n as usize))
            })
            .collect();
        all.sort();
        all
    }
}

/// The lane of a body's events.
pub(crate) fn lane(tl: &Timeline, role: StepRole) -> (usize, u8, u16) {
    match role {
        StepRole::Main => (0, 1, 0),
        StepRole::Step(i) => (usize::from(i), 1, i),
        StepRole::Until => (tl.steps.len(), 0, u16::MAX),
    }
}

/// The values an event keeps for `aggs`: each argument (a `countif` predicate as a bool),
/// then the returned values.
pub(crate) fn event_values(aggs: &[Agg], env: &dyn Env) -> Vec<Key> {
    let mut out = Vec::new();
    for a in aggs {
        if let Some(e) = &a.arg {
            out.push(match a.kind {
                AggKind::CountIf => Key::of(&Value::Bool(eval::test(e, env) == Some(true))),
                _ => Key::of(&eval::eval(e, env).to_value()),
            });
        }
        out.extend(
            a.returned
                .iter()
                .map(|r| Key::of(&eval::eval(r, env).to_value())),
        );
    }
    out
}

/// Feeds an event's kept values to fresh aggregate states, as the row would have.
fn offer(states: &mut [AggState], aggs: &[Agg], values: &[Key]) {
    let mut i = 0;
    for (st, a) in states.iter_mut().zip(aggs) {
        let arg = a.arg.as_ref().map(|_| {
            let v = values.get(i).map_or(Value::Null, Key::value);
            i += 1;
            v
        });
        let n = a.returned.len();
        let returned = values.get(i..i + n).map(<[Key]>::to_vec);
        i += n;
        st.offer(a.kind, arg, || returned.unwrap_or_default());
    }
}

/// The grouped rows of one key: the output of the rule's operator over its events.
/// Joined rows past `tl.max_events` for the key are counted in `capped`, never built.
pub(crate) fn finish(
    rule: &Rule,
    tl: &Timeline,
    key: &[Key],
    acc: &TimelineAcc,
    capped: &mut u64,
) -> Vec<Vec<Value>> {
    let all = acc.events();
    let fired = fire_gates(rule, tl, &all);
    let events: Vec<&Event> = if tl.gates.iter().all(Option::is_none) {
        all
    } else {
        let gated = |e: &Event| e.class == 1 && gate(tl, e.step).is_some();
        let mut events: Vec<&Event> = all.into_iter().filter(|e| !gated(e)).collect();
        events.extend(&fired);
        events.sort();
        events
    };
    match &tl.kind {
        TimelineKind::Threshold {
            measure,
            peak,
            condition,
        } => threshold(rule, tl, key, &events, *measure, *peak, condition)
            .into_iter()
            .collect(),
        TimelineKind::Sequence => sequence(rule, tl, key, &events),
        TimelineKind::Unordered => unordered(rule, tl, key, &events).into_iter().collect(),
        TimelineKind::Join { kind, low, high } => {
            join(rule, tl, key, &events, (*kind, *low, *high), capped)
        }
    }
}

/// The aggregates of a step (every body of a step keeps the same values, in the same layout).
fn step_aggs(rule: &Rule, step: StepRole) -> &[Agg] {
    rule.bodies
        .iter()
        .find(|b| b.step == step)
        .map_or(&[], |b| b.aggs.as_slice())
}

/// Whether the measure `m` satisfies every comparison of the condition.
fn holds(m: &Value, condition: &[(CmpOp, Value)]) -> bool {
    condition.iter().all(|(op, c)| {
        let ord = kql::compare::compare(m, c);
        matches!(
            (op, ord),
            (CmpOp::Eq, Some(Ordering::Equal))
                | (CmpOp::NotEq, Some(Ordering::Less | Ordering::Greater))
                | (CmpOp::Lt, Some(Ordering::Less))
                | (CmpOp::Le, Some(Ordering::Less | Ordering::Equal))
                | (CmpOp::Gt, Some(Ordering::Greater))
                | (CmpOp::Ge, Some(Ordering::Greater | Ordering::Equal))
        )
    })
}

/// A measure over a sliding span, updated as events enter and leave it.
struct Sliding<'a> {
    agg: &'a Agg,
    /// Index of the measure's argument in an event's values.
    at: usize,
    count: i64,
    distinct: HashMap<Key, usize>,
    sum_long: i128,
    sum_real: f64,
    real: bool,
    summed: usize,
}

impl<'a> Sliding<'a> {
    fn new(aggs: &'a [Agg], measure: usize) -> Sliding<'a> {
        let at = aggs[..measure]
            .iter()
            .map(|a| usize::from(a.arg.is_some()) + a.returned.len())
            .sum();
        Sliding {
            agg: &aggs[measure],
            at,
            count: 0,
            distinct: HashMap::new(),
            sum_long: 0,
            sum_real: 0.0,
            real: false,
            summed: 0,
        }
    }

    fn change(&mut self, e: &Event, delta: i64) {
        let v = e.values.get(self.at);
        match self.agg.kind {
            AggKind::Count => self.count += delta,
            AggKind::CountIf => {
                if v == Some(&Key::of(&Value::Bool(true))) {
                    self.count += delta;
                }
            }
            AggKind::DCount => {
                if let Some(k) = v.filter(|k| !matches!(k, Key::Null)) {
                    let n = self.distinct.entry(k.clone()).or_insert(0);
                    if delta > 0 {
                        *n += 1;
                    } else {
                        *n -= 1;
                        if *n == 0 {
                            self.distinct.remove(k);
                        }
                    }
                }
            }
            _ => match v.map(Key::value) {
                Some(Value::Long(n)) => {
                    self.sum_long += i128::from(n) * i128::from(delta);
                    self.summed = self.summed.wrapping_add_signed(delta as isize);
                }
                Some(Value::Real(x)) => {
                    self.real = true;
                    self.sum_real += x * delta as f64;
                    self.summed = self.summed.wrapping_add_signed(delta as isize);
                }
                _ => {}
            },
        }
    }

    fn value(&self) -> Value {
        match self.agg.kind {
            AggKind::Count | AggKind::CountIf => Value::Long(self.count),
            AggKind::DCount => Value::Long(self.distinct.len() as i64),
            _ if self.summed == 0 => Value::Null,
            AggKind::Avg => {
                Value::Real((self.sum_real + self.sum_long as f64) / self.summed as f64)
            }
            _ if self.real => Value::Real(self.sum_real + self.sum_long as f64),
            _ => i64::try_from(self.sum_long).map_or(Value::Null, Value::Long),
        }
    }
}

/// `[lo, hi)` of the span anchored at each distinct time: the events with
/// `t(lo) <= t <= t(lo) + span`.
fn spans(events: &[&Event], span: i64) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut hi = 0;
    for lo in 0..events.len() {
        if lo > 0 && events[lo - 1].ts == events[lo].ts {
            continue;
        }
        let end = events[lo].ts.saturating_add(span);
        hi = hi.max(lo);
        while hi < events.len() && events[hi].ts <= end {
            hi += 1;
        }
        out.push((lo, hi));
    }
    out
}

fn threshold(
    rule: &Rule,
    tl: &Timeline,
    key: &[Key],
    events: &[&Event],
    measure: usize,
    peak: usize,
    condition: &[(CmpOp, Value)],
) -> Option<Vec<Value>> {
    let aggs = step_aggs(rule, StepRole::Main);
    if measure >= aggs.len() || events.is_empty() {
        return None;
    }
    let mut m = Sliding::new(aggs, measure);
    let (mut in_lo, mut in_hi) = (0, 0);
    let mut best: Option<Value> = None;
    let mut first: Option<(usize, usize, Value)> = None;
    for (lo, hi) in spans(events, tl.span) {
        while in_hi < hi {
            m.change(events[in_hi], 1);
            in_hi += 1;
        }
        while in_lo < lo {
            m.change(events[in_lo], -1);
            in_lo += 1;
        }
        let v = m.value();
        if best
            .as_ref()
            .is_none_or(|b| kql::compare::compare(&v, b) == Some(Ordering::Greater) || b.is_null())
        {
            best = Some(v.clone());
        }
        if first.is_none() && holds(&v, condition) {
            first = Some((lo, hi, v));
        }
    }
    let peak_value = best?;
    if !holds(&peak_value, condition) {
        return None;
    }
    let (lo, hi, _) = first?;
    let mut states: Vec<AggState> = aggs.iter().map(AggState::new).collect();
    for e in &events[lo..hi] {
        offer(&mut states, aggs, &e.values);
    }
    let mut values: Vec<Value> = key[..tl.rule_keys.min(key.len())]
        .iter()
        .map(Key::value)
        .collect();
    for (i, st) in states.iter().enumerate() {
        if i == peak {
            values.push(peak_value.clone());
        } else {
            st.finish_into(&mut values);
        }
    }
    Some(values)
}

/// The gate of step `step`, if it has one.
fn gate(tl: &Timeline, step: u16) -> Option<&Gate> {
    tl.gates.get(usize::from(step)).and_then(Option::as_ref)
}

/// The events of the gated steps: each of a gated step's events at which the measure over
/// the step's events in `[t - span, t]` (inclusive, every event of that instant included)
/// satisfies the condition, keeping only its shown values.
fn fire_gates(rule: &Rule, tl: &Timeline, events: &[&Event]) -> Vec<Event> {
    let mut out = Vec::new();
    for (i, g) in tl.gates.iter().enumerate() {
        let Some(g) = g else { continue };
        let aggs = step_aggs(rule, StepRole::Step(i as u16));
        if g.measure >= aggs.len() {
            continue;
        }
        let lane: Vec<&Event> = events
            .iter()
            .copied()
            .filter(|e| e.class == 1 && usize::from(e.step) == i)
            .collect();
        let mut m = Sliding::new(aggs, g.measure);
        let (mut lo, mut hi) = (0, 0);
        for e in &lane {
            while hi < lane.len() && lane[hi].ts <= e.ts {
                m.change(lane[hi], 1);
                hi += 1;
            }
            let start = e.ts.saturating_sub(g.span);
            while lo < hi && lane[lo].ts < start {
                m.change(lane[lo], -1);
                lo += 1;
            }
            if holds(&m.value(), &g.condition) {
                out.push(Event {
                    ts: e.ts,
                    class: 1,
                    step: e.step,
                    values: e.values[..g.shown.min(e.values.len())].to_vec(),
                });
            }
        }
    }
    out
}

/// One output row for a match: keys, StartTime, EndTime, then each step's kept values.
fn match_row(tl: &Timeline, key: &[Key], matched: &[&Event]) -> Vec<Value> {
    let mut values: Vec<Value> = key[..tl.rule_keys.min(key.len())]
        .iter()
        .map(Key::value)
        .collect();
    let start = matched.iter().map(|e| e.ts).min().unwrap_or(0);
    let end = matched.iter().map(|e| e.ts).max().unwrap_or(0);
    values.push(Value::DateTime(start));
    values.push(Value::DateTime(end));
    for e in matched {
        values.extend(e.values.iter().map(Key::value));
    }
    values
}

/// Ordered steps: the state machine EQL documents, over the key's events in canonical order.
/// One partial match waits per step; a newer first step replaces an older one (so the
/// reported matches are the tightest), a partial whose first event is older than the span
/// can never complete and is dropped, an `until` event clears the partials it follows.
fn sequence(_rule: &Rule, tl: &Timeline, key: &[Key], events: &[&Event]) -> Vec<Vec<Value>> {
    let m = tl.steps.len();
    let mut pending: Vec<Option<Vec<&Event>>> = vec![None; m];
    let mut out = Vec::new();
    for &e in events {
        if e.class == 0 {
            for p in pending.iter_mut() {
                if p.as_ref()
                    .and_then(|p| p.last())
                    .is_some_and(|last| last.ts < e.ts)
                {
                    *p = None;
                }
            }
            continue;
        }
        let i = usize::from(e.step);
        if i == 0 {
            pending[0] = Some(vec![e]);
        } else if let Some(p) = pending[i - 1].take() {
            if e.ts.saturating_sub(p[0].ts) <= tl.span {
                let mut p = p;
                p.push(e);
                if i + 1 == m {
                    out.push(match_row(tl, key, &p));
                } else {
                    pending[i] = Some(p);
                }
            }
        }
        let oldest = e.ts.saturating_sub(tl.span);
        for p in pending.iter_mut() {
            if p.as_ref().is_some_and(|p| p[0].ts < oldest) {
                *p = None;
            }
        }
    }
    out
}

/// Unordered steps: the earliest span of the given length that holds an event of every step;
/// its first event of each step is reported.
fn unordered(_rule: &Rule, tl: &Timeline, key: &[Key], events: &[&Event]) -> Option<Vec<Value>> {
    let m = tl.steps.len();
    let steps: Vec<&Event> = events.iter().copied().filter(|e| e.class == 1).collect();
    for (lo, hi) in spans(&steps, tl.span) {
        let mut firsts: Vec<Option<&Event>> = vec![None; m];
        for &e in &steps[lo..hi] {
            let slot = &mut firsts[usize::from(e.step).min(m - 1)];
            if slot.is_none() {
                *slot = Some(e);
            }
        }
        if firsts.iter().all(Option::is_some) {
            let matched: Vec<&Event> = firsts.into_iter().flatten().collect();
            return Some(match_row(tl, key, &matched));
        }
    }
    None
}

/// A combining join: per left event (canonical order; `innerunique` only the key's first),
/// each right event whose time is within `[left + low, left + high]`, in canonical order; a
/// `leftouter` left event without one gives a row with null right values. At most
/// `max_events` rows per key are built; the rest are only counted, in `capped`.
fn join(
    rule: &Rule,
    tl: &Timeline,
    key: &[Key],
    events: &[&Event],
    (kind, low, high): (JoinKind, Option<i64>, Option<i64>),
    capped: &mut u64,
) -> Vec<Vec<Value>> {
    let (lefts, rights): (Vec<&Event>, Vec<&Event>) = events
        .iter()
        .copied()
        .filter(|e| e.class == 1)
        .partition(|e| e.step == 0);
    let lefts = match kind {
        JoinKind::InnerUnique => &lefts[..lefts.len().min(1)],
        _ => &lefts[..],
    };
    let right_width: usize = step_aggs(rule, StepRole::Step(1))
        .iter()
        .map(|a| usize::from(a.arg.is_some()) + a.returned.len())
        .sum();
    let mut out = Vec::new();
    for &l in lefts {
        let lo = low.map_or(i64::MIN, |d| l.ts.saturating_add(d));
        let hi = high.map_or(i64::MAX, |d| l.ts.saturating_add(d));
        // Rights are in time order: the matches are one contiguous run.
        let start = rights.partition_point(|r| r.ts < lo);
        let end = rights.partition_point(|r| r.ts <= hi).max(start);
        let rows = (end - start).max(usize::from(kind == JoinKind::LeftOuter));
        let room = tl.max_events.saturating_sub(out.len());
        if rows > room {
            *capped += (rows - room) as u64;
        }
        if start == end {
            if kind == JoinKind::LeftOuter && room > 0 {
                let mut row = match_row(tl, key, &[l]);
                row.extend(std::iter::repeat_n(Value::Null, right_width));
                out.push(row);
            }
            continue;
        }
        for &r in rights[start..end].iter().take(room) {
            out.push(match_row(tl, key, &[l, r]));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(ts: i64, step: u16) -> Event {
        Event {
            ts,
            class: 1,
            step,
            values: vec![Key::of(&Value::Long(ts))],
        }
    }

    #[test]
    fn capped_states_merge_to_the_whole_inputs_state() {
        let events: Vec<Event> = (0..20).map(|t| ev(t % 7, 0)).collect();
        let mut whole = TimelineAcc::new(1, 5);
        for e in &events {
            whole.push(0, e.clone());
        }
        for cut in [0, 3, 11, 20] {
            let (mut a, mut b) = (TimelineAcc::new(1, 5), TimelineAcc::new(1, 5));
            for e in &events[..cut] {
                a.push(0, e.clone());
            }
            for e in events[cut..].iter().rev() {
                b.push(0, e.clone());
            }
            b.merge(a);
            assert_eq!(b.lanes, whole.lanes, "cut {cut}");
            assert_eq!(b.evicted, 15);
        }
    }

    #[test]
    fn spans_are_inclusive_and_anchored_at_distinct_times() {
        let es = [ev(0, 0), ev(0, 0), ev(5, 0), ev(10, 0), ev(11, 0)];
        let refs: Vec<&Event> = es.iter().collect();
        assert_eq!(spans(&refs, 10), vec![(0, 4), (2, 5), (3, 5), (4, 5)]);
    }
}
