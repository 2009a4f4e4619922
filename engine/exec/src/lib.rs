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
//!
//! | file | role |
//! |---|---|
//! | `lib.rs` | the [`Executor`], its results and partial states |
//! | `filter.rs` | one row through the plan: table, time, conditions, exclusions, verdicts |
//! | `agg.rs` | aggregation state per `summarize` group (`count`, `make_set`, `arg_max`, ...) |
//! | `sets.rs` | `distinct` sets from other tables: collected, sealed, shared, tested |
//! | `finish.rs` | merging executors and partial states; results in their fixed order |
//! | `key.rs` | group keys and typed cells |
//! | `env.rs` | what expressions read: a row, a step's computed columns, an output row |
//! | `tables.rs` | which table a row belongs to, and its time |
//! | `stats.rs` | run counters, per-rule statistics, skip reasons |
//! | `spill.rs` | rows held for sets, in bounded memory with a temporary file |
//! | `origin.rs` | where a result row's event was read |
//! | `timeline.rs` | `threshold` / `sequence`: each key's events, bounded, and their operators |
//! | `state.rs` | partial states as portable entries |
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
use std::sync::Arc;

pub use crate::kql::funcs::value_to_json;

mod agg;
mod env;
mod filter;
mod finish;
mod key;
mod sets;
mod stats;
mod tables;
mod timeline;

use agg::AggState;
pub use env::{eval_on_row, time_span};
use env::{OutputEnv, StepCx};
use finish::keep_first;
pub use key::{json_text_to_value, typed, Key};
use stats::and_list;
pub use stats::{RuleProfile, RuleStats, RunStats, Skip, DEFAULT_MAX_GROUPS, SET_ASIDE_NAMES};
use tables::{action_type, bump, count_set_aside, record_timestamp, table_of, FitCache};

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
    /// The bodies one row evaluates ([`scry_plan::candidates`]), and the index's scratch.
    candidates: Vec<u32>,
    candidate_seen: scry_plan::candidates::Scratch,
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
    prefilter: Arc<Prefilter>,
    /// The input chunk being evaluated, and a sequence number within this executor: tags
    /// that restore input order when partial results from threads merge.
    chunk: u64,
    seq: u64,
    /// The first pass's prefilter: only the sets' anchors.
    set_prefilter: Arc<Prefilter>,
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
        ex.prefilter = plan.prefilter(ex.default_table.as_deref(), false);
        ex.set_prefilter = plan.prefilter(ex.default_table.as_deref(), true);
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
            candidates: Vec::new(),
            candidate_seen: Default::default(),
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
            prefilter: Arc::new(Prefilter::Off("columnar input".into())),
            set_prefilter: Arc::new(Prefilter::Off("columnar input".into())),
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
        self.prefilter = Arc::new(Prefilter::Off(why.to_string()));
        self.set_prefilter = Arc::new(Prefilter::Off(why.to_string()));
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
}
