//! Executes a [`Plan`] over rows, one at a time, keeping per-rule aggregation state.
//!
//! Memory grows with the number of result groups, never with the input. Results come out of
//! [`Executor::finish`] in a fixed order (rules in load order, groups sorted by key, sets
//! sorted), so the same input gives the same bytes out.
//!
//! The executor sees only [`Row`]s: the readers (scry-io) fill them and the drivers
//! (scry-run) hand them over. What an executor kept can leave it as a [`Partial`] and
//! travel as portable [`state`] entries, which merge exactly in any order.
//!
//! ```
//! use scry_compile::{compile, row::Row, schema::Catalog};
//! use scry_exec::Executor;
//! use std::sync::Arc;
//! # fn main() -> Result<(), String> {
//! let mut sources = compile::Sources::default();
//! sources.add("r.scry", r#"rule r { id "1" from DeviceFileCertificateInfo
//!     where Signer has 'Action1' summarize Count = count() by DeviceName }"#);
//! let compiled = compile::compile(&sources, Arc::new(Catalog::builtin()));
//! let plan = scry_plan::Plan::new(compiled.rules);
//! let mut ex = Executor::new(&plan, 0, Some("DeviceFileCertificateInfo".into()));
//! let fields = ex.fields().clone();
//! let mut row = Row::new(&fields);
//! scry_io::row_from_json(r#"{"DeviceName": "pc-1", "Signer": "Action1 Corp"}"#, &fields, &mut row)?;
//! ex.process(&row).map_err(|e| e.to_string())?;
//! assert_eq!(ex.finish().len(), 1);
//! # Ok(()) }
//! ```
#![deny(missing_docs)]

pub mod origin;
pub mod spill;
pub mod state;

// The stages below this one, under the names the code uses (`crate::kql::...`).
use scry_compile::compile;
use scry_compile::eval;
use scry_compile::ir;
use scry_compile::row;
use scry_compile::schema;
use scry_kql as kql;
use scry_kql::value;
use scry_plan as plan;
use scry_plan::prefilter;

use crate::compile::{Agg, AggKind, Body, Rule, Step};
use crate::eval::{Env, Val};
use crate::ir::{AtomId, ConstList, Expr, ExprKind, SetId};
use crate::origin::Origin;
use crate::plan::{cell_text, Bits, Plan, TablePlan};
use crate::prefilter::Prefilter;
use crate::row::{Cell, FieldId, FieldSet, Row};
use crate::schema::{Catalog, Decided, Fit};
pub use crate::spill::DEFAULT_HELD_BUDGET;
use crate::spill::{HeldRows, Target};
use crate::value::{Type, Value};
use hashbrown::{HashMap, HashSet};
use serde::{Deserialize, Serialize};
use std::cell::Cell as StdCell;
use std::cmp::Ordering;
use std::collections::BTreeMap;

/// A hashable, totally ordered form of a [`Value`], for group keys and sets.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Key {
    /// null (sorts first)
    Null,
    /// bool
    Bool(bool),
    /// long
    Long(i64),
    /// real, as order-preserving bits
    Real(i64),
    /// datetime
    DateTime(i64),
    /// timespan
    Timespan(i64),
    /// string
    Str(String),
    /// JSON text
    Json(String),
}

impl Key {
    /// The key of a value.
    pub fn of(v: &Value) -> Key {
        match v {
            Value::Null => Key::Null,
            Value::Bool(b) => Key::Bool(*b),
            Value::Long(n) => Key::Long(*n),
            Value::Real(x) => {
                // Order-preserving: flip the magnitude bits of negatives.
                let b = x.to_bits() as i64;
                Key::Real(b ^ (((b >> 63) as u64) >> 1) as i64)
            }
            Value::DateTime(t) => Key::DateTime(*t),
            Value::Timespan(t) => Key::Timespan(*t),
            Value::Str(s) => Key::Str(s.clone()),
            Value::Array(_) | Value::Json(_) => Key::Json(value_to_json(v).to_string()),
        }
    }

    /// Back to a value.
    pub fn value(&self) -> Value {
        match self {
            Key::Null => Value::Null,
            Key::Bool(b) => Value::Bool(*b),
            Key::Long(n) => Value::Long(*n),
            Key::Real(b) => {
                let b = *b ^ ((((*b) >> 63) as u64) >> 1) as i64;
                Value::Real(f64::from_bits(b as u64))
            }
            Key::DateTime(t) => Value::DateTime(*t),
            Key::Timespan(t) => Value::Timespan(*t),
            Key::Str(s) => Value::Str(s.clone()),
            Key::Json(s) => json_text_to_value(s),
        }
    }
}

pub use crate::kql::funcs::value_to_json;

/// Parses JSON text into a dynamic value (arrays become [`Value::Array`]); text that is not
/// JSON stays a string.
pub fn json_text_to_value(s: &str) -> Value {
    match serde_json::from_str::<serde_json::Value>(s) {
        Ok(j) => kql::funcs::json_to_value(&j),
        Err(_) => Value::Str(s.to_string()),
    }
}

/// Types a raw cell as a column of type `ty`.
pub fn typed<'a>(c: Cell<'a>, ty: Type) -> Val<'a> {
    match ty {
        Type::String | Type::Guid => Val::Str(cell_text(c)),
        Type::Long | Type::Int => match c {
            Cell::Num(t) | Cell::Str(t) => {
                let t = t.trim();
                t.parse::<i64>()
                    .ok()
                    .or_else(|| {
                        t.parse::<f64>()
                            .ok()
                            .filter(|x| x.fract() == 0.0 && x.abs() < 9.2e18)
                            .map(|x| x as i64)
                    })
                    .map_or(Val::Null, Val::Long)
            }
            Cell::Bool(b) => Val::Long(i64::from(b)),
            _ => Val::Null,
        },
        Type::Real => match c {
            Cell::Num(t) | Cell::Str(t) => t.trim().parse::<f64>().map_or(Val::Null, Val::Real),
            _ => Val::Null,
        },
        Type::Bool => match c {
            Cell::Bool(b) => Val::Bool(b),
            Cell::Str(t) | Cell::Num(t) => match t.trim() {
                "true" | "True" | "TRUE" | "1" => Val::Bool(true),
                "false" | "False" | "FALSE" | "0" => Val::Bool(false),
                _ => Val::Null,
            },
            _ => Val::Null,
        },
        Type::DateTime => match c {
            Cell::Str(t) => kql::time::parse_datetime(t.trim()).map_or(Val::Null, Val::DateTime),
            _ => Val::Null,
        },
        Type::Timespan => match c {
            Cell::Str(t) => kql::time::parse_timespan(t.trim()).map_or(Val::Null, Val::Timespan),
            _ => Val::Null,
        },
        Type::Dynamic => match c {
            Cell::Missing | Cell::Null => Val::Null,
            Cell::Str(s) => Val::Str(s),
            Cell::Bool(b) => Val::Bool(b),
            Cell::Num(t) | Cell::Json(t) => Val::from_value(json_text_to_value(t)),
        },
    }
}

struct RowEnv<'a> {
    row: &'a Row,
    bits: &'a Bits,
    computed: &'a [Value],
    now: i64,
    timestamp: Option<FieldId>,
    ts_cache: &'a StdCell<Option<Option<i64>>>,
    sets: &'a [ConstList],
}

/// What the window and the `where`/`extend` steps of a body read.
struct StepCx<'a> {
    row: &'a Row,
    bits: &'a Bits,
    now: i64,
    sets: &'a [ConstList],
    ts_cache: &'a StdCell<Option<Option<i64>>>,
}

impl<'a> StepCx<'a> {
    fn new(
        row: &'a Row,
        bits: &'a Bits,
        now: i64,
        sets: &'a [ConstList],
        ts_cache: &'a StdCell<Option<Option<i64>>>,
    ) -> StepCx<'a> {
        StepCx {
            row,
            bits,
            now,
            sets,
            ts_cache,
        }
    }

    fn env<'e>(&'e self, computed: &'e [Value], timestamp: Option<FieldId>) -> RowEnv<'e> {
        RowEnv {
            row: self.row,
            bits: self.bits,
            computed,
            now: self.now,
            timestamp,
            ts_cache: self.ts_cache,
            sets: self.sets,
        }
    }

    /// True when the row is inside `window` (or there is none).
    fn in_window(
        &self,
        window: &Option<(Expr, Expr)>,
        timestamp: Option<FieldId>,
        windowed: &mut bool,
        in_window: &mut bool,
    ) -> bool {
        let (Some((lo, hi)), Some(tf)) = (window, timestamp) else {
            return true;
        };
        *windowed = true;
        let env = self.env(&[], timestamp);
        let t = env.field(tf, Type::DateTime);
        let inside = match (t, eval::eval(lo, &env), eval::eval(hi, &env)) {
            (Val::DateTime(t), Val::DateTime(a), Val::DateTime(b)) => t >= a && t <= b,
            _ => false,
        };
        *in_window |= inside;
        inside
    }

    /// Runs the window and `steps` (the body's own, or its relaxed form), filling
    /// `computed`; false as soon as the row is out.
    fn passes(
        &self,
        body: &Body,
        steps: &[Step],
        computed: &mut [Value],
        windowed: &mut bool,
        in_window: &mut bool,
    ) -> bool {
        if !self.in_window(&body.window, body.timestamp, windowed, in_window) {
            return false;
        }
        for s in steps {
            match s {
                Step::Where(p) => {
                    if eval::test(p, &self.env(computed, body.timestamp)) != Some(true) {
                        return false;
                    }
                }
                Step::Extend(slot, e) => {
                    let v = eval::eval(e, &self.env(computed, body.timestamp)).to_value();
                    computed[*slot as usize] = v;
                }
            }
        }
        true
    }
}

impl Env for RowEnv<'_> {
    fn field(&self, f: FieldId, ty: Type) -> Val<'_> {
        if ty == Type::DateTime && Some(f) == self.timestamp {
            let t = match self.ts_cache.get() {
                Some(t) => t,
                None => {
                    let t = match typed(self.row.get(f), ty) {
                        Val::DateTime(t) => Some(t),
                        _ => None,
                    };
                    self.ts_cache.set(Some(t));
                    t
                }
            };
            return t.map_or(Val::Null, Val::DateTime);
        }
        typed(self.row.get(f), ty)
    }
    fn computed(&self, slot: u32) -> Val<'_> {
        self.computed
            .get(slot as usize)
            .map_or(Val::Null, Val::from_ref)
    }
    fn atom(&self, a: AtomId) -> bool {
        self.bits.get(a.0 as usize)
    }
    fn now(&self) -> i64 {
        self.now
    }
    fn set(&self, id: SetId) -> Option<&ConstList> {
        self.sets.get(id.0 as usize)
    }
}

#[derive(Debug, Clone)]
pub(crate) enum AggState {
    Count(i64),
    DCount(HashSet<Key>),
    Min(Option<Value>),
    Max(Option<Value>),
    /// The smallest `limit` distinct values: which values a capped set keeps must not depend
    /// on the order rows arrive in (threads, merged partial states).
    MakeSet {
        set: std::collections::BTreeSet<Key>,
        limit: usize,
        capped: bool,
    },
    Sum(Option<Value>),
    /// `arg_max` (`want` is `Greater`) / `arg_min` (`Less`): the ranked value and the
    /// returned values of the best row so far. Which row is best does not depend on the
    /// order rows arrive in (see [`arg_rank`]), so partial states merge exactly.
    ArgExtreme {
        want: Ordering,
        best: Option<(Key, Vec<Key>)>,
        /// How many values are returned (for a group with no row at all).
        width: usize,
    },
}

impl AggState {
    pub(crate) fn new(a: &Agg) -> AggState {
        let (kind, limit) = (a.kind, a.limit);
        match kind {
            AggKind::Count | AggKind::CountIf => AggState::Count(0),
            AggKind::DCount => AggState::DCount(HashSet::new()),
            AggKind::Min => AggState::Min(None),
            AggKind::Max => AggState::Max(None),
            AggKind::MakeSet => AggState::MakeSet {
                set: std::collections::BTreeSet::new(),
                limit,
                capped: false,
            },
            AggKind::Sum => AggState::Sum(None),
            AggKind::ArgMax | AggKind::ArgMin => AggState::ArgExtreme {
                want: if kind == AggKind::ArgMax {
                    Ordering::Greater
                } else {
                    Ordering::Less
                },
                best: None,
                width: a.returned.len(),
            },
        }
    }

    /// Appends the aggregate's output values (one, or for `arg_max` / `arg_min` one per
    /// column) to `out`.
    fn finish_into(&self, out: &mut Vec<Value>) {
        let v = match self {
            AggState::Count(n) => Value::Long(*n),
            AggState::DCount(s) => Value::Long(s.len() as i64),
            AggState::Min(v) | AggState::Max(v) | AggState::Sum(v) => {
                v.clone().unwrap_or(Value::Null)
            }
            AggState::MakeSet { set, .. } => Value::Array(set.iter().map(Key::value).collect()),
            AggState::ArgExtreme { best, width, .. } => {
                match best {
                    Some((ranked, returned)) => {
                        out.push(ranked.value());
                        out.extend(returned.iter().map(Key::value));
                    }
                    // No row at all (`summarize arg_max(...)` without `by` over no input).
                    None => out.extend(std::iter::repeat_n(Value::Null, 1 + width)),
                }
                return;
            }
        };
        out.push(v);
    }

    /// Adds a value to a `make_set`, keeping the smallest `limit`.
    fn set_insert(
        set: &mut std::collections::BTreeSet<Key>,
        limit: usize,
        capped: &mut bool,
        k: Key,
    ) {
        if set.len() < limit {
            set.insert(k);
            return;
        }
        if set.contains(&k) {
            return;
        }
        *capped = true;
        if set.last().is_some_and(|max| k < *max) {
            set.pop_last();
            set.insert(k);
        }
    }

    /// Combines another partial state of the same aggregate into this one. Associative and
    /// commutative (up to the last bits of a real `sum`), so partial states from threads or
    /// machines merge in any order.
    pub(crate) fn merge(&mut self, other: AggState) {
        match (self, other) {
            (AggState::Count(a), AggState::Count(b)) => *a += b,
            (AggState::DCount(a), AggState::DCount(b)) => a.extend(b),
            (AggState::Min(a), AggState::Min(Some(b))) => extreme(a, b, Ordering::Less),
            (AggState::Max(a), AggState::Max(Some(b))) => extreme(a, b, Ordering::Greater),
            (AggState::Sum(a), AggState::Sum(Some(b))) => {
                *a = Some(match a.take() {
                    None => b,
                    Some(cur) => add(&cur, &b),
                })
            }
            (
                AggState::MakeSet { set, limit, capped },
                AggState::MakeSet {
                    set: other,
                    capped: other_capped,
                    ..
                },
            ) => {
                *capped |= other_capped;
                for k in other {
                    AggState::set_insert(set, *limit, capped, k);
                }
            }
            (
                AggState::ArgExtreme { want, best, .. },
                AggState::ArgExtreme {
                    best: Some((ranked, returned)),
                    ..
                },
            ) => arg_offer(best, *want, ranked, || returned),
            // Min/Max/Sum/arg_max of nothing, or (never, by construction) different aggregates.
            _ => {}
        }
    }
}

/// How the ranked value `a` compares with `b` for `arg_max` (`want` = `Greater`: the larger
/// ranks higher) or `arg_min` (`Less`: the smaller ranks higher), in the total order of [`Key`]
/// (one type per expression, so values compare as the type does; strings by code point).
/// A null ranks below every value: rows whose ranked value is null count only when every row's
/// is, which is Kusto's rule ("when ExprToMaximize is null for all rows in a group, one row in
/// the group is picked; otherwise rows where it is null are ignored").
fn arg_rank(want: Ordering, a: &Key, b: &Key) -> Ordering {
    match (a, b) {
        (Key::Null, Key::Null) => Ordering::Equal,
        (Key::Null, _) => Ordering::Less,
        (_, Key::Null) => Ordering::Greater,
        _ if want == Ordering::Greater => a.cmp(b),
        _ => b.cmp(a),
    }
}

/// Offers a row (its ranked value, and a way to compute its returned values) to an
/// `arg_max` / `arg_min` state. Kusto picks any of the rows that tie; scry keeps the one whose
/// returned values are smallest, column by column in [`Key`] order, so the choice is the same
/// for any split of the input and any order of arrival. The returned values are computed only
/// for a row that ties or wins.
fn arg_offer(
    best: &mut Option<(Key, Vec<Key>)>,
    want: Ordering,
    ranked: Key,
    returned: impl FnOnce() -> Vec<Key>,
) {
    match best {
        None => *best = Some((ranked, returned())),
        Some((b, values)) => match arg_rank(want, &ranked, b) {
            Ordering::Less => {}
            Ordering::Greater => *best = Some((ranked, returned())),
            Ordering::Equal => {
                let r = returned();
                if r < *values {
                    *values = r;
                }
            }
        },
    }
}

fn extreme(slot: &mut Option<Value>, v: Value, want: Ordering) {
    if v.is_null() {
        return;
    }
    match slot {
        None => *slot = Some(v),
        Some(cur) => {
            let ord = match (&v, &*cur) {
                (Value::Str(a), Value::Str(b)) => Some(a.cmp(b)),
                _ => kql::compare::compare(&v, cur),
            };
            if ord == Some(want) {
                *slot = Some(v);
            }
        }
    }
}

/// Where the time goes, per rule (`--profile`).
#[derive(Debug, Clone, Copy, Default)]
pub struct RuleProfile {
    /// Rows of the rule's tables that reached the rule (after the prefilter and parsing).
    pub rows: u64,
    /// Time spent evaluating them, in nanoseconds (summed over threads).
    pub nanos: u64,
}

/// The default of [`Executor::with_max_groups`]: ten million groups, a few GB at most.
pub const DEFAULT_MAX_GROUPS: usize = 10_000_000;

/// Counters of one rule.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleStats {
    /// Rows that passed the window and every `where`.
    pub passed: u64,
    /// Rows suppressed, per exclusion (the first exclusion that holds takes the row).
    pub suppressed: Vec<u64>,
    /// Result rows produced.
    pub results: u64,
    /// `make_set` caps hit.
    pub capped_sets: u64,
    /// Rows that needed a new group when the group budget ([`Executor::with_max_groups`]) was
    /// spent, plus groups left out when executors merged: the rule's results are incomplete.
    pub over_budget: u64,
}

/// Counters of a run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunStats {
    /// Records read from inputs (evaluated + skipped).
    pub read: u64,
    /// Records evaluated.
    pub evaluated: u64,
    /// Records skipped, by reason.
    pub skipped: BTreeMap<String, u64>,
    /// Evaluated records per table.
    pub per_table: BTreeMap<String, u64>,
    /// Evaluated records whose Timestamp lies inside at least one rule's window.
    pub in_window: u64,
    /// Evaluated records of a table some rule with a window reads.
    pub windowed: u64,
    /// Per rule, in plan order.
    pub rules: Vec<RuleStats>,
    /// Rows of rules testing `distinct` sets held until the sets were complete (one pass).
    pub held: u64,
    /// Records ruled out by the prefilter without being parsed (counted in `evaluated`).
    pub ruled_out: u64,
    /// Bytes of held rows written to temporary files (see `io::spill`).
    #[serde(default)]
    pub spilled_bytes: u64,
    /// Held rows lost: their temporary file could not be read back. The results of the rules
    /// testing sets are then incomplete, and `spill_error` says why.
    #[serde(default)]
    pub held_lost: u64,
    /// What went wrong with the temporary file of held rows, if anything.
    #[serde(default)]
    pub spill_error: Option<String>,
    /// Records that named no table, per table inferred from their columns.
    pub inferred: BTreeMap<String, u64>,
    /// Records that named no table and whose columns fit several, per table their
    /// `ActionType` decided: keys are `table<TAB>value<TAB>candidates` (see
    /// [`RunStats::decided_lines`]).
    #[serde(default)]
    pub decided: BTreeMap<String, u64>,
    /// Records given a table from their columns although it lacks some of them (set aside:
    /// columns an export's query computed, see [`Catalog::fit`]), per table.
    #[serde(default)]
    pub set_aside: BTreeMap<String, u64>,
    /// The names of those columns: the [`SET_ASIDE_NAMES`] first in sorted order (so any
    /// split of the input names the same), and whether there were more.
    #[serde(default)]
    pub set_aside_columns: std::collections::BTreeSet<String>,
    /// More columns were set aside than [`RunStats::set_aside_columns`] names.
    #[serde(default)]
    pub set_aside_more: bool,
}

/// How many set-aside column names a run keeps (hostile input can hold any number).
pub const SET_ASIDE_NAMES: usize = 12;

impl RunStats {
    /// The counters of nothing evaluated yet, one per rule of `plan`.
    pub fn zero(plan: &Plan) -> RunStats {
        RunStats {
            rules: plan
                .rules
                .iter()
                .map(|r| RuleStats {
                    suppressed: vec![0; r.exclusions.len()],
                    ..RuleStats::default()
                })
                .collect(),
            ..RunStats::default()
        }
    }

    /// Adds another executor's counters.
    pub fn merge(&mut self, other: RunStats) {
        self.read += other.read;
        self.evaluated += other.evaluated;
        for (k, n) in other.skipped {
            *self.skipped.entry(k).or_insert(0) += n;
        }
        for (k, n) in other.per_table {
            *self.per_table.entry(k).or_insert(0) += n;
        }
        self.in_window += other.in_window;
        self.windowed += other.windowed;
        for (mine, theirs) in self.rules.iter_mut().zip(other.rules) {
            mine.passed += theirs.passed;
            for (a, b) in mine.suppressed.iter_mut().zip(theirs.suppressed) {
                *a += b;
            }
            mine.over_budget += theirs.over_budget;
        }
        self.held += other.held;
        self.ruled_out += other.ruled_out;
        self.spilled_bytes += other.spilled_bytes;
        self.held_lost += other.held_lost;
        if self.spill_error.is_none() {
            self.spill_error = other.spill_error;
        }
        for (k, n) in other.inferred {
            *self.inferred.entry(k).or_insert(0) += n;
        }
        for (k, n) in other.decided {
            *self.decided.entry(k).or_insert(0) += n;
        }
        for (k, n) in other.set_aside {
            *self.set_aside.entry(k).or_insert(0) += n;
        }
        self.set_aside_more |= other.set_aside_more;
        for c in other.set_aside_columns {
            self.note_set_aside(c);
        }
        // A state from elsewhere may name more than a run keeps.
        self.trim_set_aside();
    }

    /// Adds a set-aside column name, keeping the [`SET_ASIDE_NAMES`] smallest: the kept names
    /// and `set_aside_more` are then the same for any order and grouping of additions.
    fn note_set_aside(&mut self, column: String) {
        if self.set_aside_columns.contains(&column) {
            return;
        }
        self.set_aside_columns.insert(column);
        self.trim_set_aside();
    }

    /// Keeps the [`SET_ASIDE_NAMES`] smallest set-aside names, saying when there were more.
    fn trim_set_aside(&mut self) {
        while self.set_aside_columns.len() > SET_ASIDE_NAMES {
            self.set_aside_columns.pop_last();
            self.set_aside_more = true;
        }
    }

    /// How the tables of records that named none were decided, one line each, sorted: `table
    /// DeviceProcessEvents inferred from columns for 6 record(s) (no Type column)`, `table
    /// DeviceEvents decided by ActionType LdapSearch for 5 record(s) (no Type column; columns
    /// fit DeviceProcessEvents and DeviceEvents)`.
    pub fn decided_lines(&self) -> Vec<String> {
        let mut lines: Vec<String> = self
            .inferred
            .iter()
            .map(|(t, n)| {
                format!("table {t} inferred from columns for {n} record(s) (no Type column)")
            })
            .collect();
        for (k, n) in &self.decided {
            let mut parts = k.splitn(3, '\t');
            let (t, v, among) = (
                parts.next().unwrap_or_default(),
                parts.next().unwrap_or_default(),
                parts.next().unwrap_or_default(),
            );
            lines.push(format!(
                "table {t} decided by ActionType {v} for {n} record(s) (no Type column; columns fit {among})"
            ));
        }
        lines.sort();
        if !self.set_aside.is_empty() {
            let per_table: Vec<String> = self
                .set_aside
                .iter()
                .map(|(t, n)| format!("{n} {t}"))
                .collect();
            let names: Vec<&str> = self.set_aside_columns.iter().map(String::as_str).collect();
            lines.push(format!(
                "record(s) given a table that lacks some of their columns ({}), set aside: {}{} (columns a query computed? --schema declares them for rules)",
                per_table.join(", "),
                names.join(", "),
                if self.set_aside_more { ", ..." } else { "" }
            ));
        }
        lines
    }

    /// Total skipped.
    pub fn skipped_total(&self) -> u64 {
        self.skipped.values().sum()
    }
}

/// Why a record was not evaluated.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Skip {
    /// The record's table is not in the catalog.
    UnknownTable(String),
    /// Nothing says which table the record belongs to (and its columns were not looked at,
    /// or it has none holding a value).
    NoTable,
    /// No table named, and the columns holding a value fit several tables: these, in
    /// catalog order. `{"FileName": "x.exe", "Timestamp": "..."}` fits both
    /// DeviceProcessEvents and DeviceNetworkEvents.
    AmbiguousTable(Vec<String>),
    /// No table named, and no one table has all the columns holding a value; `unknown` is
    /// one that no table has, if any: `{"DestinationDeviceName": "dc1"}`.
    NoFittingTable {
        /// A column no table of the catalog has.
        unknown: Option<String>,
    },
    /// The Timestamp is present but not a datetime.
    BadTimestamp(String),
}

impl Skip {
    /// The reason's summary key (counted in [`RunStats::skipped`]).
    pub fn key(&self) -> String {
        match self {
            Skip::UnknownTable(t) => format!("unknown table {t}"),
            Skip::NoTable => "no table (give --table, or a Type/category field)".into(),
            Skip::AmbiguousTable(t) => {
                format!("no Type column; columns fit {}; use --table", and_list(t))
            }
            Skip::NoFittingTable { .. } => {
                "no Type column; columns fit no known table (give --table, or --schema)".into()
            }
            Skip::BadTimestamp(_) => "bad Timestamp".into(),
        }
    }
}

impl std::fmt::Display for Skip {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Skip::UnknownTable(t) => write!(f, "unknown table `{t}`"),
            Skip::NoTable => f.write_str(
                "cannot tell the record's table: give --table, or a Type or category field",
            ),
            Skip::BadTimestamp(t) => {
                write!(f, "Timestamp {t:?} is not a datetime (expected ISO 8601)")
            }
            Skip::AmbiguousTable(t) => write!(
                f,
                "no Type column, and the record's columns fit {}: give --table",
                and_list(t)
            ),
            Skip::NoFittingTable { unknown: Some(c) } => write!(
                f,
                "no Type column, and no known table has column `{c}`: give --table, or --schema"
            ),
            Skip::NoFittingTable { unknown: None } => f.write_str(
                "no Type column, and no known table has all the record's columns: give --table, or --schema",
            ),
        }
    }
}

/// `A`, `A and B`, `A, B and C`.
fn and_list<S: AsRef<str>>(items: &[S]) -> String {
    match items {
        [] => String::new(),
        [one] => one.as_ref().to_string(),
        [init @ .., last] => {
            let init: Vec<&str> = init.iter().map(AsRef::as_ref).collect();
            format!("{} and {}", init.join(", "), last.as_ref())
        }
    }
}

/// What happened to one row in one rule (for `scry test`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Failed the window or a `where`.
    NoMatch,
    /// Passed, suppressed by exclusion `i`.
    Suppressed(usize),
    /// Passed and kept.
    Match,
}

#[derive(Debug, Default)]
pub(crate) struct RuleState {
    pub(crate) groups: HashMap<Vec<Key>, Group>,
    /// Without `summarize`: the rows, each tagged with its (chunk, sequence) so that rows
    /// merged from several threads come out in input order.
    pub(crate) rows: Vec<Tagged>,
}

/// One `summarize` group: its aggregates, and where its first event in input order was read.
#[derive(Debug, Clone)]
pub(crate) struct Group {
    pub(crate) aggs: Vec<AggState>,
    pub(crate) origin: Option<Origin>,
}

impl Group {
    /// Combines another partial state of the same group into this one (associative and
    /// commutative, as [`AggState::merge`]).
    pub(crate) fn merge(&mut self, other: Group) {
        for (a, b) in self.aggs.iter_mut().zip(other.aggs) {
            a.merge(b);
        }
        Origin::keep_first(&mut self.origin, other.origin);
    }
}

/// A result row of a rule without `summarize`: its input-order tag (chunk, sequence), where
/// its event was read, its values.
#[derive(Debug, Clone)]
pub(crate) struct Tagged {
    pub(crate) chunk: u64,
    pub(crate) seq: u64,
    pub(crate) origin: Option<Origin>,
    pub(crate) values: Vec<Value>,
}

/// An executor's partial results without the executor: what [`Executor::merge`] combines,
/// and what [`crate::state`] turns into portable entries for other processes and machines.
#[derive(Debug)]
pub struct Partial {
    /// Per rule, in plan order.
    pub(crate) rules: Vec<RuleState>,
    /// The `distinct` sets, by [`SetId`].
    pub(crate) sets: Vec<SetAcc>,
    pub(crate) stats: RunStats,
}

/// The `distinct` sets of a finished first pass.
#[derive(Debug, Clone)]
pub struct CollectedSets(Vec<SetAcc>);

/// A result row: the rule (index into [`Plan::rules`]), its output values, and the event it
/// points at.
#[derive(Debug, Clone, PartialEq)]
pub struct ResultRow {
    /// Rule index.
    pub rule: usize,
    /// Values, one per output column.
    pub values: Vec<Value>,
    /// Where its event was read: the one event of a row without `summarize`, the first
    /// contributing event in input order of a `summarize` row. `None` when events were given
    /// without a place ([`Executor::process`] rather than [`Executor::process_at`]), or for
    /// the row `summarize` without `by` gives over no event.
    pub origin: Option<Origin>,
}

impl ResultRow {
    /// The row as one JSON object: `{"rule": id, "name": ..., "title": ..., <columns in
    /// output order>}`, the line `scry run --format ndjson` prints (without the newline), and
    /// the one the Arrow finish, Python, Spark and `scry stream` emit.
    pub fn to_json_line(&self, plan: &Plan) -> String {
        let rule = &plan.rules[self.rule];
        let string = |s: &str| serde_json::Value::String(s.to_string()).to_string();
        // Written by hand so that keys keep the rule's column order.
        let mut s = String::from("{\"rule\":");
        s.push_str(&string(rule.id()));
        s.push_str(",\"name\":");
        s.push_str(&string(&rule.name));
        s.push_str(",\"title\":");
        s.push_str(&string(rule.meta.title.as_deref().unwrap_or(&rule.name)));
        for (c, v) in rule.output.iter().zip(&self.values) {
            s.push(',');
            s.push_str(&string(&c.name));
            s.push(':');
            s.push_str(&value_to_json(v).to_string());
        }
        s.push('}');
        s
    }
}

/// Runs a plan over rows.
pub struct Executor<'p> {
    plan: &'p Plan,
    now: i64,
    fields: FieldSet,
    type_field: Option<FieldId>,
    /// `ActionType`: what decides the table of a record whose columns fit several
    /// ([`Catalog::infer`]). Not `ActionType_string` as well: the readers fill a column's
    /// field from its type-suffixed key only while no field of that name exists.
    action_field: FieldId,
    default_table: Option<String>,
    /// The most `summarize` groups this executor holds, over all rules.
    max_groups: usize,
    /// The groups it holds.
    groups: usize,
    state: Vec<RuleState>,
    /// Counters.
    pub stats: RunStats,
    bits: Bits,
    fold_buf: String,
    computed: Vec<Value>,
    since: Option<i64>,
    until: Option<i64>,
    /// The `distinct` sets collected so far, by [`SetId`].
    sets: Vec<SetAcc>,
    /// The sets as lists (what rules test); rebuilt from `sets` when `sets_dirty`.
    set_lists: Vec<ConstList>,
    sets_dirty: bool,
    /// Set by [`Executor::seal_sets`] after a first pass: the sets are complete.
    sets_sealed: bool,
    /// Single pass: rows of rules testing sets that passed the relaxed steps, kept (in input
    /// order, as compact rows that spill to a temporary file past a memory budget) until the
    /// sets are complete at [`Executor::finish`].
    pending: HeldRows,
    /// Per rule and body, the fields a held row keeps (what the body reads), built on first use.
    held_fields: Vec<Vec<Option<Vec<FieldId>>>>,
    /// Scratch for one record's held targets and their fields.
    held_targets: Vec<Target>,
    held_union: Vec<FieldId>,
    /// `--profile`: time and rows per rule.
    profile: Option<Vec<RuleProfile>>,
    prefilter: Prefilter,
    /// The input chunk being evaluated, and a sequence number within this executor: tags
    /// that restore input order when partial results from threads merge.
    chunk: u64,
    seq: u64,
    /// The first pass's prefilter: only the sets' anchors.
    set_prefilter: Prefilter,
    /// Tables inferred so far, by column set.
    fit_cache: FitCache<'p>,
    /// Scratch for the [`RunStats::decided`] key.
    key_buf: String,
    /// Where the record being evaluated was read ([`Executor::process_at`]).
    origin: Option<Origin>,
}

/// One `distinct` set being collected: its values in first-seen order.
impl Partial {
    /// Takes the `distinct` sets out (leaving them empty): for a second pass, or to keep a
    /// state from repeating sets every task already has.
    pub fn take_sets(&mut self) -> CollectedSets {
        CollectedSets(self.sets.iter_mut().map(std::mem::take).collect())
    }

    /// The run's counters.
    pub fn stats(&self) -> &RunStats {
        &self.stats
    }
}

#[derive(Debug, Default, Clone)]
pub(crate) struct SetAcc {
    pub(crate) seen: HashSet<Key>,
    pub(crate) values: Vec<Value>,
}

impl<'p> Executor<'p> {
    /// An executor at clock `now` (ticks). `table` is the table of records that do not name
    /// one (`--table`); it also overrides what records name.
    pub fn new(plan: &'p Plan, now: i64, table: Option<String>) -> Executor<'p> {
        let mut ex = Executor::columnar(plan, now, table);
        ex.prefilter = Prefilter::build(plan, ex.default_table.as_deref(), false);
        ex.set_prefilter = Prefilter::build(plan, ex.default_table.as_deref(), true);
        ex
    }

    /// An executor for rows that come from columns (Arrow, Parquet) rather than text lines:
    /// there is no raw line for a prefilter to look at, so none is built.
    pub fn columnar(plan: &'p Plan, now: i64, table: Option<String>) -> Executor<'p> {
        let mut fields = plan.fields.clone();
        let type_field = Some(fields.intern("Type"));
        let action_field = fields.intern("ActionType");
        // Windows events exported as JSON are recognised and mapped from these keys.
        for name in crate::schema::windows::source_fields() {
            fields.intern(name);
        }
        Executor {
            plan,
            now,
            fields,
            type_field,
            action_field,
            state: plan
                .rules
                .iter()
                .map(|_| RuleState {
                    groups: HashMap::new(),
                    rows: Vec::new(),
                })
                .collect(),
            stats: RunStats::zero(plan),
            bits: Bits::default(),
            fold_buf: String::new(),
            computed: Vec::new(),
            since: None,
            until: None,
            sets: plan.sets.iter().map(|_| SetAcc::default()).collect(),
            set_lists: Vec::new(),
            sets_dirty: true,
            sets_sealed: false,
            pending: HeldRows::default(),
            held_fields: plan
                .rules
                .iter()
                .map(|r| vec![None; r.bodies.len()])
                .collect(),
            held_targets: Vec::new(),
            held_union: Vec::new(),
            chunk: 0,
            seq: 0,
            profile: None,
            prefilter: Prefilter::Off("columnar input".into()),
            set_prefilter: Prefilter::Off("columnar input".into()),
            default_table: table,
            max_groups: DEFAULT_MAX_GROUPS,
            groups: 0,
            fit_cache: FitCache::default(),
            key_buf: String::new(),
            origin: None,
        }
    }

    /// Measures the time each rule takes (`--profile`; costs a clock read per rule and row).
    pub fn with_profile(mut self) -> Self {
        self.profile = Some(vec![RuleProfile::default(); self.plan.rules.len()]);
        self
    }

    /// Time and rows per rule, when profiling.
    pub fn profile(&self) -> Option<&[RuleProfile]> {
        self.profile.as_deref()
    }

    /// Parses every record: no prefilter (`--no-prefilter`, `--strict`).
    pub fn without_prefilter(mut self, why: &str) -> Self {
        self.prefilter = Prefilter::Off(why.to_string());
        self.set_prefilter = Prefilter::Off(why.to_string());
        self
    }

    /// The prefilter of this run.
    pub fn prefilter(&self) -> &Prefilter {
        &self.prefilter
    }

    /// The first pass's prefilter (only the sets' anchors).
    pub fn set_prefilter(&self) -> &Prefilter {
        &self.set_prefilter
    }

    /// Asks the prefilter about one raw input line holding a record: `false` means no rule can
    /// keep it, and it is counted as read and evaluated without being parsed.
    pub fn candidate(&mut self, line: &[u8]) -> bool {
        if self.prefilter.candidate(line) {
            return true;
        }
        self.stats.read += 1;
        self.stats.evaluated += 1;
        self.stats.ruled_out += 1;
        false
    }

    /// The marks of a piece of JSON lines ([`Prefilter::marks`]).
    pub fn marks(&self, piece: &[u8]) -> Option<Vec<usize>> {
        self.prefilter.marks(piece)
    }

    /// The first pass's marks: only the sets' anchors.
    pub fn set_marks(&self, piece: &[u8]) -> Option<Vec<usize>> {
        self.set_prefilter.marks(piece)
    }

    /// Counts `n` records the prefilter ruled out from a whole piece.
    pub fn rule_out(&mut self, n: u64) {
        self.stats.read += n;
        self.stats.evaluated += n;
        self.stats.ruled_out += n;
    }

    /// The first pass's question: can `line` add to a set?
    pub fn set_candidate(&self, line: &[u8]) -> bool {
        self.set_prefilter.candidate(line)
    }

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
    fn into_parts(self) -> (Partial, HeldRows) {
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
        if let Prefilter::On(_) = self.prefilter {
            self.prefilter = Prefilter::build_with_sets(
                self.plan,
                self.default_table.as_deref(),
                false,
                Some(&self.set_lists),
            );
        }
    }

    /// The number of values in each set so far, by [`SetId`].
    pub fn set_sizes(&self) -> Vec<usize> {
        self.sets.iter().map(|s| s.values.len()).collect()
    }

    fn collect_table_sets(&mut self, tp: &TablePlan, row: &Row, ts: Option<i64>) {
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
    fn refresh_set_lists(&mut self) {
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

    fn within_since_until(&self, ts: Option<i64>) -> bool {
        if self.since.is_none() && self.until.is_none() {
            return true;
        }
        ts.is_some_and(|t| self.since.is_none_or(|s| t >= s) && self.until.is_none_or(|u| t <= u))
    }

    /// Restricts evaluation to records with `since <= Timestamp <= until` (ticks).
    pub fn with_time_range(mut self, since: Option<i64>, until: Option<i64>) -> Self {
        self.since = since;
        self.until = until;
        self
    }

    /// Keeps at most about `bytes` of rows held for `distinct` sets in memory (default
    /// [`DEFAULT_HELD_BUDGET`]); more are written to a temporary file and read back, in input
    /// order, by [`Executor::finish`].
    pub fn with_held_budget(mut self, bytes: usize) -> Self {
        self.pending.set_budget(bytes);
        self
    }

    /// Caps the `summarize` groups held over all rules (default [`DEFAULT_MAX_GROUPS`]): a row
    /// that needs a new group once `max` are held is left out and counted in
    /// [`RuleStats::over_budget`] of its rule, so hostile input (a unique key per record) ends
    /// in a named, counted warning instead of exhausting memory.
    pub fn with_max_groups(mut self, max: usize) -> Self {
        self.max_groups = max;
        self
    }

    /// The fields a reader must fill (the plan's, plus `Type` for table detection).
    pub fn fields(&self) -> &FieldSet {
        &self.fields
    }

    /// Counts a record a reader could not read.
    pub fn skip(&mut self, reason: String) {
        self.stats.read += 1;
        *self.stats.skipped.entry(reason).or_insert(0) += 1;
    }

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

    fn process_inner(&mut self, row: &Row, only: Option<usize>) -> Result<Option<Verdict>, Skip> {
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
        self.held_targets.clear();
        for &(ri, bi) in &tp.rules {
            if only.is_some_and(|o| o != ri) {
                continue;
            }
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

    /// Holds `row` for the bodies in `held_targets`, keeping only the cells they read.
    fn hold(&mut self, tp: &TablePlan, row: &Row) {
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

    #[allow(clippy::too_many_arguments)]
    fn eval_rule(
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
                let group = match state.groups.entry(key) {
                    hashbrown::hash_map::Entry::Occupied(e) => e.into_mut(),
                    hashbrown::hash_map::Entry::Vacant(_) if self.groups >= self.max_groups => {
                        self.stats.rules[ri].over_budget += 1;
                        break 'eval Verdict::Match;
                    }
                    hashbrown::hash_map::Entry::Vacant(e) => {
                        self.groups += 1;
                        e.insert(Group {
                            aggs: body.aggs.iter().map(AggState::new).collect(),
                            origin: None,
                        })
                    }
                };
                Origin::keep_first(&mut group.origin, self.origin);
                for (st, a) in group.aggs.iter_mut().zip(&body.aggs) {
                    let arg = a.arg.as_ref();
                    match st {
                        AggState::Count(n) => {
                            let yes = match (a.kind, arg) {
                                (AggKind::CountIf, Some(p)) => eval::test(p, &env) == Some(true),
                                _ => true,
                            };
                            *n += i64::from(yes);
                        }
                        AggState::DCount(set) => {
                            if let Some(e) = arg {
                                let v = eval::eval(e, &env).to_value();
                                if !v.is_null() {
                                    set.insert(Key::of(&v));
                                }
                            }
                        }
                        AggState::Min(slot) => {
                            if let Some(e) = arg {
                                extreme(slot, eval::eval(e, &env).to_value(), Ordering::Less);
                            }
                        }
                        AggState::Max(slot) => {
                            if let Some(e) = arg {
                                extreme(slot, eval::eval(e, &env).to_value(), Ordering::Greater);
                            }
                        }
                        AggState::Sum(slot) => {
                            if let Some(e) = arg {
                                let v = eval::eval(e, &env).to_value();
                                if !v.is_null() {
                                    *slot = Some(match slot.take() {
                                        None => v,
                                        Some(cur) => add(&cur, &v),
                                    });
                                }
                            }
                        }
                        AggState::ArgExtreme { want, best, .. } => {
                            if let Some(e) = arg {
                                let ranked = Key::of(&eval::eval(e, &env).to_value());
                                arg_offer(best, *want, ranked, || {
                                    a.returned
                                        .iter()
                                        .map(|r| Key::of(&eval::eval(r, &env).to_value()))
                                        .collect()
                                });
                            }
                        }
                        AggState::MakeSet { set, limit, capped } => {
                            if let Some(e) = arg {
                                let v = eval::eval(e, &env).to_value();
                                let mut push = |x: Value| {
                                    if !x.is_null() {
                                        AggState::set_insert(set, *limit, capped, Key::of(&x));
                                    }
                                };
                                match v {
                                    Value::Array(items) => items.into_iter().for_each(&mut push),
                                    v => push(v),
                                }
                            }
                        }
                    }
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
                if groups.is_empty() && rule.bodies.first().is_some_and(|b| b.keys.is_empty()) {
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
fn keep_first(rows: &mut Vec<Tagged>, n: u64) {
    let n = usize::try_from(n).unwrap_or(usize::MAX);
    // Sorting only past twice the bound (and a floor) keeps the cost per row constant.
    if rows.len() > n.saturating_mul(2).max(64) {
        rows.sort_by_key(|t| (t.chunk, t.seq));
        rows.truncate(n);
    }
}

/// The record's `Timestamp` for `tp`'s table: `None` when absent or empty, a skip when present
/// but not a datetime.
fn record_timestamp(tp: &TablePlan, row: &Row) -> Result<Option<i64>, Skip> {
    let Some(f) = tp.timestamp else {
        return Ok(None);
    };
    match row.get(f) {
        Cell::Str(t) if !t.trim().is_empty() => match kql::time::parse_datetime(t.trim()) {
            Some(x) => Ok(Some(x)),
            None => Err(Skip::BadTimestamp(t.to_string())),
        },
        _ => Ok(None),
    }
}

/// Counts a record given `table` although the table lacks some of its columns, and names
/// those ([`RunStats::set_aside`]).
fn count_set_aside(st: &mut RunStats, catalog: &Catalog, table: &str, row: &Row) {
    bump(&mut st.set_aside, table);
    let Some(columns) = row.columns() else {
        return;
    };
    for c in catalog.lacking(table, columns) {
        // Names already kept, or past the kept ones, change nothing: no copy per record.
        let full = st.set_aside_columns.len() >= SET_ASIDE_NAMES;
        if full && st.set_aside_columns.last().is_some_and(|l| c > l.as_str()) {
            st.set_aside_more = true;
        } else if !st.set_aside_columns.contains(c) {
            st.note_set_aside(c.to_string());
        }
    }
}

/// Counts one more under `key`, allocating the key only the first time it is seen.
fn bump(map: &mut BTreeMap<String, u64>, key: &str) {
    match map.get_mut(key) {
        Some(n) => *n += 1,
        None => {
            map.insert(key.to_string(), 1);
        }
    }
}

/// The record's table: `--table` if given, else what the input's shape names (a
/// storage-account `category`), else a non-empty `Type` column, else what its columns (when
/// the reader collected them, see [`crate::io::ReadOptions::columns`]) and its `ActionType`
/// decide ([`Catalog::infer`]), and how: `None` when named.
fn table_of<'r, 'c: 'r>(
    default: &'r Option<String>,
    type_field: Option<FieldId>,
    action_field: FieldId,
    catalog: &'c Catalog,
    cache: &mut FitCache<'c>,
    row: &'r Row,
) -> Result<(&'r str, Option<Decided<'c>>, bool), Skip> {
    if let Some(t) = default {
        return Ok((t, None, false));
    }
    if let Some(t) = row.table_hint() {
        return Ok((t, None, false));
    }
    if let Some(Cell::Str(t)) = type_field.map(|f| row.get(f)) {
        if !t.is_empty() {
            return Ok((t, None, false));
        }
    }
    let Some(columns) = row.columns() else {
        return Err(Skip::NoTable);
    };
    cache.key.clear();
    let mut cacheable = true;
    for c in columns {
        cacheable &= !c.contains('\n');
        cache.key.push_str(c);
        cache.key.push('\n');
    }
    if cache.key.is_empty() {
        return Err(Skip::NoTable);
    }
    let (fit, partial) = match cache.fits.get(cache.key.as_str()) {
        Some(f) => f.clone(),
        // A key holding the separator would read as other columns: not cached.
        None if !cacheable => match row.columns() {
            Some(c) => shape_of(catalog, c.collect()),
            None => return Err(Skip::NoTable),
        },
        None => {
            let f = shape_of(catalog, cache.key.lines().collect());
            if cache.fits.len() < MAX_SHAPES {
                cache.fits.insert(cache.key.clone(), f.clone());
            }
            f
        }
    };
    match catalog.decide(fit, action_type(row, action_field)) {
        Ok(d) => Ok((d.table, Some(d.by), partial)),
        Err(Fit::Several(ts)) => Err(Skip::AmbiguousTable(
            ts.into_iter().map(str::to_string).collect(),
        )),
        Err(Fit::None { unknown }) => Err(Skip::NoFittingTable { unknown }),
        Err(Fit::One(t)) => Ok((t, Some(Decided::Columns), partial)),
    }
}

/// What a shape (a record's column names) fits, and whether only partly: the tables it fits
/// lack some of its columns (the export's query computed them, [`Catalog::fit`]), and its
/// records' set-aside columns are to be counted.
fn shape_of<'c>(catalog: &'c Catalog, columns: Vec<&str>) -> (Fit<'c>, bool) {
    let fit = catalog.fit(columns.iter().copied());
    let partial = match &fit {
        Fit::One(t) => !catalog.lacking(t, columns.into_iter()).is_empty(),
        Fit::Several(ts) => ts
            .first()
            .is_some_and(|t| !catalog.lacking(t, columns.into_iter()).is_empty()),
        Fit::None { .. } => false,
    };
    (fit, partial)
}

/// The record's `ActionType` (in a union export, read from `ActionType_string`), if a
/// non-empty string.
fn action_type(row: &Row, field: FieldId) -> Option<&str> {
    match row.get(field) {
        Cell::Str(v) if !v.is_empty() => Some(v),
        _ => None,
    }
}

/// The most column sets [`FitCache`] remembers: exports have a few shapes per table, and
/// hostile input a new one per record, which must not grow memory.
const MAX_SHAPES: usize = 4096;

/// The table each set of columns seen fits, so that the records of one export, which share
/// a few shapes, are looked up in the catalog once per shape (the lookup is most of what an
/// inferred record costs beyond reading it).
#[derive(Debug, Default)]
struct FitCache<'c> {
    /// The current record's columns, one per line.
    key: String,
    /// What each shape fits, and whether only partly (its tables lack some of its columns).
    fits: HashMap<String, (Fit<'c>, bool)>,
}

fn add(a: &Value, b: &Value) -> Value {
    match (a, b) {
        (Value::Long(x), Value::Long(y)) => x.checked_add(*y).map_or(Value::Null, Value::Long),
        (Value::Timespan(x), Value::Timespan(y)) => {
            x.checked_add(*y).map_or(Value::Null, Value::Timespan)
        }
        (Value::Real(x), Value::Real(y)) => Value::Real(x + y),
        (Value::Real(x), Value::Long(y)) | (Value::Long(y), Value::Real(x)) => {
            Value::Real(x + *y as f64)
        }
        _ => Value::Null,
    }
}

struct OutputEnv<'a>(&'a [Value], i64);

impl Env for OutputEnv<'_> {
    fn field(&self, _: FieldId, _: Type) -> Val<'_> {
        Val::Null
    }
    fn computed(&self, slot: u32) -> Val<'_> {
        self.0.get(slot as usize).map_or(Val::Null, Val::from_ref)
    }
    fn atom(&self, _: AtomId) -> bool {
        false
    }
    fn now(&self) -> i64 {
        self.1
    }
}

/// Evaluates an expression over one row (for `scry eval`).
pub fn eval_on_row(e: &crate::ir::Expr, row: &Row, now: i64) -> Value {
    let bits = Bits::default();
    let cache = StdCell::new(None);
    let env = RowEnv {
        row,
        bits: &bits,
        computed: &[],
        now,
        timestamp: None,
        ts_cache: &cache,
        sets: &[],
    };
    eval::eval(e, &env).to_value()
}

/// The span of time any rule (or `distinct` set) can look at, at clock `now` and within
/// `--since` / `--until`: (earliest, latest) in ticks, `None` on a side that is open (some body
/// has no window, or a bound is not a constant datetime). Readers that know the time range of
/// a block of records (Parquet statistics) skip blocks outside it: no rule can keep their
/// records. Only the tables' `Timestamp` columns are windowed, so the span is about them.
pub fn time_span(
    plan: &Plan,
    now: i64,
    since: Option<i64>,
    until: Option<i64>,
) -> (Option<i64>, Option<i64>) {
    let env = OutputEnv(&[], now);
    let bound = |e: &Expr| match eval::eval(e, &env) {
        Val::DateTime(t) => Some(t),
        _ => None,
    };
    let windows = plan
        .rules
        .iter()
        .flat_map(|r| r.bodies.iter().map(|b| b.window.as_ref()))
        .chain(
            plan.sets
                .iter()
                .flat_map(|s| s.bodies.iter().map(|b| b.window.as_ref())),
        );
    let (mut lo, mut hi): (Option<i64>, Option<i64>) = (None, None);
    let mut open = (false, false);
    let mut any = false;
    for w in windows {
        any = true;
        let (a, b) = w.map_or((None, None), |(a, b)| (bound(a), bound(b)));
        match a {
            Some(a) => lo = Some(lo.map_or(a, |x| x.min(a))),
            None => open.0 = true,
        }
        match b {
            Some(b) => hi = Some(hi.map_or(b, |x| x.max(b))),
            None => open.1 = true,
        }
    }
    if !any || open.0 {
        lo = None;
    }
    if !any || open.1 {
        hi = None;
    }
    let tighter = |x: Option<i64>, y: Option<i64>, f: fn(i64, i64) -> i64| match (x, y) {
        (Some(a), Some(b)) => Some(f(a, b)),
        (a, b) => a.or(b),
    };
    (tighter(lo, since, i64::max), tighter(hi, until, i64::min))
}

/// The fields body `bi` of rule `ri` reads from a row: what a held copy of the row keeps. Its
/// expressions' fields (as the planner collects a table's fields), its atoms' columns, and the
/// timestamps `finish` reads again. Should an atom's column not be found, the table's fields
/// are kept whole: a held row must never lack a cell its body reads.
fn body_fields(plan: &Plan, tp: &TablePlan, ri: usize, bi: usize) -> Vec<FieldId> {
    let body = &plan.rules[ri].bodies[bi];
    let mut out: Vec<FieldId> = Vec::new();
    let mut complete = true;
    let mut visit = |e: &Expr| {
        e.walk(&mut |n| match &n.kind {
            ExprKind::Field { field, .. } => out.push(*field),
            ExprKind::Atom(a) => {
                let column = tp.atom_needles.get(a.0 as usize).map(|(c, _, _)| c);
                match column.and_then(|c| tp.matchers.iter().find(|m| &m.name == c)) {
                    Some(m) => out.push(m.field),
                    None => complete = false,
                }
            }
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
