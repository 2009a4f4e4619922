//! Run counters, per-rule statistics and profiles, and why a row was skipped.

use super::*;

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
    /// `threshold` / `sequence`: events left out because the key and step already held the
    /// most kept (the oldest go first): the rule's results cover the latest events only.
    #[serde(default)]
    pub evicted: u64,
    /// `threshold` / `sequence`: passing rows without a valid `Timestamp`, which no span can
    /// hold.
    #[serde(default)]
    pub untimed: u64,
    /// `join kind=inner|innerunique|leftouter`: joined rows of a key past the cap of rows per
    /// key (the timeline's `max_events`): the rule's results are incomplete.
    #[serde(default)]
    pub capped_pairs: u64,
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
            mine.untimed += theirs.untimed;
            // `evicted` is set at finish from the merged timelines, which count it exactly.
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
    pub(super) fn note_set_aside(&mut self, column: String) {
        if self.set_aside_columns.contains(&column) {
            return;
        }
        self.set_aside_columns.insert(column);
        self.trim_set_aside();
    }

    /// Keeps the [`SET_ASIDE_NAMES`] smallest set-aside names, saying when there were more.
    pub(super) fn trim_set_aside(&mut self) {
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
pub(super) fn and_list<S: AsRef<str>>(items: &[S]) -> String {
    match items {
        [] => String::new(),
        [one] => one.as_ref().to_string(),
        [init @ .., last] => {
            let init: Vec<&str> = init.iter().map(AsRef::as_ref).collect();
            format!("{} and {}", init.join(", "), last.as_ref())
        }
    }
}
