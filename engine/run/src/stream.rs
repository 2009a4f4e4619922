//! Rules over an unbounded stream, with exact windows on a moving clock.
//!
//! `scry run` decides a rule's window (`Timestamp between (now(-5d) .. now())`) once, at one
//! clock. A stream has no end and its clock moves, so here each record is evaluated once with
//! the windows taken out ([`StreamPlan::free`]) and its partial state (the `summarize` group,
//! or the result row) is filed under the record's time *bucket*. At an emission at clock `T`,
//! a rule's result is the merge of its buckets that lie inside `[T + lo, T + hi]`: exactly the
//! records `scry run --now T` would have let through the window, so the results are the same.
//!
//! **Buckets and exact boundaries.** Time is cut at `origin + k·B`. Each cut instant is a
//! bucket of its own (a *point* bucket), and each open interval between two cuts is another.
//! `B` divides every window offset and emissions happen only at cut instants, so a window's
//! two inclusive bounds are cut instants and the window is exactly a union of whole buckets:
//! no bucket straddles a bound, whichever side it is closed on.
//!
//! **What cannot stream exactly is refused**, by rule, with the reason ([`StreamPlan::new`]):
//! rules testing `distinct` sets (complete only at the end of the input), `take` (the first N
//! of an input that has no order across partitions), `summarize` without `by` (one row even
//! for no input, which no partition owns), windows whose bounds are not `now()` plus a
//! constant, and `now()` read anywhere but the window, `having` and `project` (the first two
//! are evaluated when the record arrives, not at the emission).
//!
//! State travels as [`crate::state::Entry`]s (the format of partial results elsewhere), so the
//! same bytes go to a repartition topic, a checkpoint or straight into a [`WindowState`].

use crate::exec::{Executor, ResultRow, RunStats};
use crate::io::{self, Location, ReadOptions, RecordSink, SkipReason};
use crate::ir::{Expr, ExprKind};
use crate::plan::Plan;
use crate::row::Row;
use crate::state::{self, Entry, EntryKind};
use std::collections::{BTreeMap, HashMap};

/// One tick is 100 ns.
const MINUTE: i64 = 60 * 10_000_000;

/// A bucket: `2k` is the instant `origin + k·B`, `2k+1` the open interval after it, and
/// [`UNTIMED`] holds records without a timestamp (only rules without a window count them).
pub type Bucket = i64;

/// The bucket of records that have no `Timestamp`.
pub const UNTIMED: Bucket = i64::MIN;

/// Why a rule cannot run on a stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    /// The rule's id.
    pub rule: String,
    /// Why.
    pub reason: String,
}

/// A plan prepared for a stream.
#[derive(Debug, Clone)]
pub struct StreamPlan {
    /// The plan with every window removed.
    pub free: Plan,
    /// Per rule: the window as offsets `(lo, hi)` from the clock, in ticks; `None` for a rule
    /// without a window (it counts every record, whatever its time, and its state is kept).
    pub windows: Vec<Option<(i64, i64)>>,
    /// The bucket width in ticks: one minute, or a divisor of it that divides every offset.
    pub bucket: i64,
    by_id: HashMap<String, usize>,
}

fn gcd(a: i64, b: i64) -> i64 {
    let (mut a, mut b) = (a.unsigned_abs(), b.unsigned_abs());
    while b != 0 {
        (a, b) = (b, a % b);
    }
    // Offsets are at most a few hundred years in ticks: this fits.
    i64::try_from(a).unwrap_or(1)
}

fn reads_now(e: &Expr) -> bool {
    let mut found = false;
    e.walk(&mut |x| found |= matches!(x.kind, ExprKind::Now(_)));
    found
}

impl StreamPlan {
    /// Prepares `plan`; every rule that cannot stream exactly is named with the reason.
    pub fn new(plan: &Plan) -> Result<StreamPlan, Vec<Refused>> {
        let mut refused = Vec::new();
        let mut windows = Vec::new();
        let mut bucket = MINUTE;
        for rule in &plan.rules {
            let mut why = |reason: &str| {
                refused.push(Refused {
                    rule: rule.id().to_string(),
                    reason: reason.to_string(),
                })
            };
            if !rule.sets.is_empty() {
                why("it tests a `distinct` set, which is complete only at the end of an input");
            }
            if rule.timeline.is_some() {
                why("a `threshold`, `sequence` or combining `join` is not streamed yet: its matches would be alerts that change as late events arrive on other partitions; run it with `scry run` over the window's events");
            }
            if rule.take.is_some() {
                why(
                    "`take` keeps the first N results, and a stream has no order across partitions",
                );
            }
            if rule.summarize && rule.bodies.iter().any(|b| b.keys.is_empty()) {
                why("`summarize` without `by` gives a row even for no input; no partition owns it");
            }
            let mut window: Option<Option<(i64, i64)>> = None;
            for body in &rule.bodies {
                let w = match &body.window {
                    None => None,
                    Some((lo, hi)) => match (&lo.kind, &hi.kind) {
                        (ExprKind::Now(a), ExprKind::Now(b)) => Some((*a, *b)),
                        _ => {
                            why("its window bounds are not now() plus a constant");
                            None
                        }
                    },
                };
                // A body without a timestamp column has its window ignored by the engine.
                let w = w.filter(|_| body.timestamp.is_some());
                match window {
                    None => window = Some(w),
                    Some(prev) if prev != w => {
                        why("its tables have different windows");
                    }
                    Some(_) => {}
                }
                let mut exprs: Vec<&Expr> = Vec::new();
                for s in &body.steps {
                    match s {
                        crate::compile::Step::Where(e) | crate::compile::Step::Extend(_, e) => {
                            exprs.push(e)
                        }
                    }
                }
                exprs.extend(body.exclusions.iter().flatten());
                exprs.extend(&body.keys);
                exprs.extend(&body.project);
                for a in &body.aggs {
                    exprs.extend(a.arg.as_ref());
                    exprs.extend(&a.returned);
                }
                if exprs.into_iter().any(reads_now) {
                    why("it reads now() outside its window (evaluated when a record arrives, not at the emission)");
                }
            }
            let window = window.flatten();
            if let Some((lo, hi)) = window {
                bucket = gcd(gcd(bucket, lo), hi);
            }
            windows.push(window);
        }
        // A rule refused twice is named once per reason: that is what the user fixes.
        if !refused.is_empty() {
            return Err(refused);
        }
        let mut free = plan.clone();
        for r in &mut free.rules {
            for b in &mut r.bodies {
                b.window = None;
            }
        }
        let by_id = plan
            .rules
            .iter()
            .enumerate()
            .map(|(i, r)| (r.id().to_string(), i))
            .collect();
        Ok(StreamPlan {
            free,
            windows,
            bucket: bucket.max(1),
            by_id,
        })
    }

    /// The longest look-back of any windowed rule, in ticks (0 when none has one).
    pub fn horizon(&self) -> i64 {
        self.windows
            .iter()
            .flatten()
            .map(|&(lo, _)| -lo)
            .max()
            .unwrap_or(0)
            .max(0)
    }

    /// The rule index of an id.
    pub fn rule_index(&self, id: &str) -> Option<usize> {
        self.by_id.get(id).copied()
    }

    /// The bucket of a record at `ts` (ticks), with cuts at `origin + k·B`.
    pub fn bucket_of(&self, origin: i64, ts: Option<i64>) -> Bucket {
        let Some(ts) = ts else { return UNTIMED };
        let r = ts - origin;
        let k = r.div_euclid(self.bucket);
        2 * k + i64::from(r.rem_euclid(self.bucket) != 0)
    }

    /// The earliest and latest instant of bucket `b`.
    fn span(&self, origin: i64, b: Bucket) -> (i64, i64) {
        let k = b.div_euclid(2);
        let start = origin + k * self.bucket;
        if b.rem_euclid(2) == 0 {
            (start, start)
        } else {
            (start + 1, start + self.bucket - 1)
        }
    }

    /// True when rule `ri` counts the records of bucket `b` at clock `now`.
    fn counts(&self, origin: i64, ri: usize, b: Bucket, now: i64) -> bool {
        match self.windows[ri] {
            None => true,
            Some(_) if b == UNTIMED => false,
            Some((lo, hi)) => {
                let (first, last) = self.span(origin, b);
                first >= now + lo && last <= now + hi
            }
        }
    }

    /// True when bucket `b` can never again count for rule `ri`, the clock being at `now` or
    /// later.
    fn expired(&self, origin: i64, ri: usize, b: Bucket, now: i64) -> bool {
        match self.windows[ri] {
            None => false,
            Some(_) if b == UNTIMED => true,
            Some((lo, _)) => self.span(origin, b).1 < now + lo,
        }
    }
}

/// Leaves out of `set` the rules that cannot stream, and says which and why.
pub fn streamable(mut set: crate::compile::RuleSet) -> (crate::compile::RuleSet, Vec<Refused>) {
    let Err(refused) = StreamPlan::new(&Plan::new(set.clone())) else {
        return (set, Vec::new());
    };
    let out: std::collections::HashSet<&str> = refused.iter().map(|r| r.rule.as_str()).collect();
    // The `distinct` sets the dropped rules tested stay in the plan, unread by any rule.
    set.rules.retain(|r| !out.contains(r.id()));
    (set, refused)
}

/// A partial state filed under a bucket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filed {
    /// The records' bucket.
    pub bucket: Bucket,
    /// The state (a [`EntryKind::Group`] or [`EntryKind::Row`]).
    pub entry: Entry,
}

/// A record that was skipped, where in the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageSkip {
    /// The 1-based line in the message (0 when unknown).
    pub line: u64,
    /// Why.
    pub reason: String,
}

/// What one message gave.
#[derive(Debug, Default)]
pub struct MessageOutcome {
    /// The partial states, in a fixed order (by bucket, then as [`state::entries`] orders).
    pub filed: Vec<Filed>,
    /// Records read (evaluated + skipped).
    pub records: u64,
    /// The records skipped.
    pub skipped: Vec<MessageSkip>,
    /// The error that stopped reading the message (records before it were evaluated).
    pub error: Option<String>,
}

/// Evaluates messages into bucketed partial states: the first stage of a stream.
pub struct Evaluator<'p> {
    sp: &'p StreamPlan,
    exec: Executor<'p>,
    fields: crate::row::FieldSet,
    row: Row,
    origin: i64,
    read: ReadOptions,
    /// The counters of everything evaluated so far.
    pub stats: RunStats,
}

struct MessageSink<'a, 'p> {
    ev: &'a mut Evaluator<'p>,
    current: Option<Bucket>,
    out: &'a mut MessageOutcome,
    failed: Option<String>,
}

impl MessageSink<'_, '_> {
    /// Files what the executor holds under the current bucket.
    fn flush(&mut self) {
        let Some(b) = self.current.take() else { return };
        let partial = match self.ev.exec.take_partial() {
            Ok(p) => p,
            Err(e) => {
                self.failed.get_or_insert(e);
                return;
            }
        };
        self.ev.stats.merge(partial.stats().clone());
        for entry in state::entries(&self.ev.sp.free, partial) {
            if !matches!(entry.kind, EntryKind::Group | EntryKind::Row) {
                continue;
            }
            let ri = entry
                .rule
                .as_deref()
                .and_then(|id| self.ev.sp.rule_index(id));
            // A record without a timestamp fails every window in `scry run`: its state can
            // never count for a windowed rule.
            if b == UNTIMED && ri.is_some_and(|ri| self.ev.sp.windows[ri].is_some()) {
                continue;
            }
            self.out.filed.push(Filed { bucket: b, entry });
        }
    }
}

impl RecordSink for MessageSink<'_, '_> {
    fn record(&mut self, row: &Row, loc: &Location<'_>) {
        let b = self
            .ev
            .sp
            .bucket_of(self.ev.origin, self.ev.exec.record_time(row));
        if self.current != Some(b) {
            self.flush();
            self.current = Some(b);
        }
        self.out.records += 1;
        if let Err(skip) = self.ev.exec.process(row) {
            self.out.skipped.push(MessageSkip {
                line: loc.line,
                reason: skip.to_string(),
            });
        }
    }
    fn skipped(&mut self, loc: &Location<'_>, reason: &SkipReason) {
        self.out.records += 1;
        self.ev.exec.skip(reason.kind().to_string());
        self.out.skipped.push(MessageSkip {
            line: loc.line,
            reason: reason.to_string(),
        });
    }
    fn candidate(&mut self, line: &[u8]) -> bool {
        let yes = self.ev.exec.candidate(line);
        self.out.records += u64::from(!yes);
        yes
    }
    fn marks(&mut self, piece: &[u8]) -> Option<Vec<usize>> {
        self.ev.exec.marks(piece)
    }
    fn ruled_out(&mut self, n: u64) {
        self.out.records += n;
        self.ev.exec.rule_out(n);
    }
}

impl<'p> Evaluator<'p> {
    /// An evaluator of `sp`, for records of `table` when they do not name one, with bucket
    /// cuts at `origin + k·B`.
    pub fn new(sp: &'p StreamPlan, table: Option<String>, origin: i64) -> Evaluator<'p> {
        let exec = Executor::new(&sp.free, 0, table);
        let fields = exec.fields().clone();
        let row = Row::new(&fields);
        Evaluator {
            sp,
            exec,
            fields,
            row,
            origin,
            read: ReadOptions::default(),
            stats: RunStats::default(),
        }
    }

    /// Evaluates one message (JSON lines, an Event Hub `{"records":[...]}` batch, one record).
    /// `tag` identifies the message (its topic, partition and offset): result rows of rules
    /// without `summarize` carry it, so that a replayed message gives the same row keys.
    pub fn message(&mut self, name: &str, tag: u64, bytes: &[u8]) -> MessageOutcome {
        let mut out = MessageOutcome::default();
        self.exec.begin_chunk(tag);
        // Taken out for the call (the sink borrows the evaluator), put back after.
        let fields = std::mem::take(&mut self.fields);
        let mut row = std::mem::replace(&mut self.row, Row::new(&fields));
        let read = self.read.clone();
        let mut sink = MessageSink {
            ev: self,
            current: None,
            out: &mut out,
            failed: None,
        };
        let res = io::read_reader(name, bytes, &fields, &read, &mut row, &mut sink);
        sink.flush();
        let failed = sink.failed.take();
        self.row = row;
        self.fields = fields;
        out.error = match res {
            Err(e) => Some(e.to_string()),
            Ok(_) => failed,
        };
        if out.records == 0 && out.error.is_none() {
            // Text that is neither JSON lines nor a JSON document (or nothing at all) holds no
            // record a reader recognises: it is one bad record, not silence.
            self.exec.skip("no record in the message".into());
            out.records = 1;
            out.skipped.push(MessageSkip {
                line: 1,
                reason: if bytes.iter().all(u8::is_ascii_whitespace) {
                    "empty message".into()
                } else {
                    "no record in the message: neither JSON lines nor a JSON document".into()
                },
            });
        }
        out
    }
}

/// An alert: one result row of one rule at one emission, under a key that stays the same
/// every time the same group (or row) is emitted again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alert {
    /// Stable key: a hash of the rule id, the entry kind and the group key (or row tag).
    pub key: String,
    /// The rule index.
    pub rule: usize,
    /// The line `scry run --format ndjson` prints for the row.
    pub line: String,
}

type GroupId = (usize, EntryKind, String);

/// The second stage: partial states per group and bucket, merged, emitted at a clock.
pub struct WindowState<'p> {
    sp: &'p StreamPlan,
    origin: i64,
    groups: BTreeMap<GroupId, BTreeMap<Bucket, Entry>>,
    /// What was last emitted per alert key (its line), to emit only what changed.
    emitted: HashMap<String, String>,
}

/// FNV-1a, 64 bits: alert keys must be the same in every process and version, which the
/// standard library's hasher does not promise.
pub fn stable_hash(parts: &[&[u8]]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for p in parts {
        for &b in p.iter().chain(&[0xff]) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    h
}

impl<'p> WindowState<'p> {
    /// An empty state with bucket cuts at `origin + k·B`.
    pub fn new(sp: &'p StreamPlan, origin: i64) -> WindowState<'p> {
        WindowState {
            sp,
            origin,
            groups: BTreeMap::new(),
            emitted: HashMap::new(),
        }
    }

    /// The number of groups (and rows) held.
    pub fn len(&self) -> usize {
        self.groups.len()
    }

    /// True when nothing is held.
    pub fn is_empty(&self) -> bool {
        self.groups.is_empty()
    }

    /// Adds a partial state. States of the same group and bucket merge; a row entry seen
    /// before (the same message replayed) is the same row and is kept once.
    pub fn insert(&mut self, filed: Filed) -> Result<(), String> {
        let Filed { bucket, entry } = filed;
        let id = entry.rule.as_deref().unwrap_or("");
        let ri = self
            .sp
            .rule_index(id)
            .ok_or_else(|| format!("state for rule `{id}`, which these rules do not have"))?;
        let key = entry.key.clone().unwrap_or_default();
        let buckets = self.groups.entry((ri, entry.kind, key)).or_default();
        match buckets.remove(&bucket) {
            None => {
                buckets.insert(bucket, entry);
            }
            Some(prev) if entry.kind == EntryKind::Row => {
                buckets.insert(bucket, prev);
            }
            Some(prev) => {
                let merged = state::partial(&self.sp.free, [prev, entry])?;
                let one = state::entries(&self.sp.free, merged)
                    .into_iter()
                    .find(|e| e.kind == EntryKind::Group)
                    .ok_or("a merged group gave no state")?;
                buckets.insert(bucket, one);
            }
        }
        Ok(())
    }

    /// Drops the states that no window can count any more at clock `now` or later.
    pub fn prune(&mut self, now: i64) {
        let (sp, origin) = (self.sp, self.origin);
        self.groups.retain(|(ri, _, _), buckets| {
            buckets.retain(|&b, _| !sp.expired(origin, *ri, b, now));
            !buckets.is_empty()
        });
    }

    /// Every result at clock `now` (which must be a bucket cut), with its alert key, in the
    /// order `scry run` prints them for groups (rules in plan order, groups by key).
    pub fn results(&self, now: i64) -> Result<Vec<Alert>, String> {
        if (now - self.origin).rem_euclid(self.sp.bucket) != 0 {
            return Err(format!(
                "internal: emission at {now} is not a bucket cut (origin {}, width {})",
                self.origin, self.sp.bucket
            ));
        }
        let mut exec = Executor::columnar(&self.sp.free, now, None);
        let mut out = Vec::new();
        for ((ri, kind, key), buckets) in &self.groups {
            let inside: Vec<Entry> = buckets
                .iter()
                .filter(|(&b, _)| self.sp.counts(self.origin, *ri, b, now))
                .map(|(_, e)| e.clone())
                .collect();
            if inside.is_empty() {
                continue;
            }
            exec.absorb(state::partial(&self.sp.free, inside)?);
            let rule = self.sp.free.rules[*ri].id();
            let alert_key = format!(
                "{:016x}",
                stable_hash(&[rule.as_bytes(), kind.name().as_bytes(), key.as_bytes()])
            );
            for row in exec.finish().into_iter().filter(|r| r.rule == *ri) {
                out.push(Alert {
                    key: alert_key.clone(),
                    rule: *ri,
                    line: row.to_json_line(&self.sp.free),
                });
            }
        }
        Ok(out)
    }

    /// The results at `now` that are new or differ from what was last emitted for their
    /// group; drops states no window can count any more.
    pub fn emit(&mut self, now: i64) -> Result<Vec<Alert>, String> {
        let all = self.results(now)?;
        let mut out = Vec::new();
        let mut emitted = HashMap::new();
        for a in all {
            if self.emitted.get(&a.key) != Some(&a.line) {
                out.push(a.clone());
            }
            emitted.insert(a.key, a.line);
        }
        // Groups with no result now are forgotten: if they come back, they are emitted again.
        self.emitted = emitted;
        self.prune(now);
        Ok(out)
    }
}

/// Result rows in `scry run`'s order as lines, for comparing a stream with a batch run.
pub fn lines(plan: &Plan, rows: &[ResultRow]) -> Vec<String> {
    rows.iter().map(|r| r.to_json_line(plan)).collect()
}

#[cfg(test)]
mod tests;
