//! The optimized plan: rules grouped per table, every constant needle of every rule on one
//! column matched together by one multi-pattern automaton.
//!
//! Planning rewrites each `Column <string-op> 'needle'` of the rules' IR into an
//! [`ExprKind::Atom`]. Per event, each column a table's rules search is scanned once: once as
//! is for the case-sensitive needles, once case-folded for the others, with Aho-Corasick
//! reporting every (overlapping) occurrence; each occurrence is then verified for the
//! operator's own condition (term boundaries for `has`, position for `startswith`, ...). The
//! rules then only read bits. The plan is immutable and can be shared across threads.
//!
//! The crate also holds the [`prefilter`] (the literals a line must contain before it is
//! parsed, searched by [`scan`]'s multi-literal filter).
//!
//! ```
//! use scry_compile::{compile, schema::Catalog};
//! use std::sync::Arc;
//!
//! let mut sources = compile::Sources::default();
//! sources.add("r.scry", r#"rule r { id "1" from DeviceFileCertificateInfo where Signer has 'Action1' }"#);
//! let compiled = compile::compile(&sources, Arc::new(Catalog::builtin()));
//! let plan = scry_plan::Plan::new(compiled.rules);
//! assert!(plan.table("DeviceFileCertificateInfo").is_some());
//! assert!(plan.table("DeviceNetworkEvents").is_none());
//! ```
#![deny(missing_docs)]

mod atoms;
pub mod candidates;
mod columns;
mod explain;
mod literals;
pub mod prefilter;
pub mod scan;

// The stages below this one, under the names the code uses (`crate::kql::...`).
use scry_compile::compile;
use scry_compile::ir;
use scry_compile::row;
use scry_compile::schema;
use scry_kql as kql;
use scry_kql::value;

pub use crate::atoms::ValueMatcher;
use crate::atoms::{atomize, atomize_values, rewrite_wheres, AtomTable};
pub use crate::columns::ScanGroup;
use crate::compile::{Rule, RuleSet, SetDef, Step};
use crate::ir::{AtomId, Expr, ExprKind, StrPred};
use crate::row::{Cell, FieldId, FieldSet, Row};
use crate::schema::Catalog;
use crate::value::{Type, Value};
use hashbrown::HashMap;
use scry_grammar::StrOpKind;
use smallvec::SmallVec;
use std::sync::Arc;

/// How an occurrence of a pattern must sit in the value to make an atom true.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Placement {
    Term(StrOpKind),
    Anywhere,
    Prefix,
    Suffix,
    Whole,
}

impl Placement {
    fn of(p: StrPred) -> Placement {
        match p.kind() {
            Some(k @ (StrOpKind::Has | StrOpKind::HasPrefix | StrOpKind::HasSuffix)) => {
                Placement::Term(k)
            }
            Some(StrOpKind::Contains) => Placement::Anywhere,
            Some(StrOpKind::StartsWith) => Placement::Prefix,
            Some(StrOpKind::EndsWith) => Placement::Suffix,
            None => Placement::Whole,
        }
    }
}

/// How an atom with an empty needle is decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum EmptyNeedle {
    /// An empty needle is found in every string.
    Always,
    /// `=~ ""` (and `isempty`) needs an empty value.
    IfEmpty,
    /// `!~ ""` (`isnotempty`, the one negated atom) needs a value.
    IfNotEmpty,
}

impl EmptyNeedle {
    fn of(place: Placement, negated: bool) -> EmptyNeedle {
        match (place, negated) {
            (Placement::Whole, false) => EmptyNeedle::IfEmpty,
            (Placement::Whole, true) => EmptyNeedle::IfNotEmpty,
            _ => EmptyNeedle::Always,
        }
    }
}

#[derive(Debug, Clone)]
struct Pattern {
    text: String,
    first_term: bool,
    last_term: bool,
    uses: SmallVec<[(AtomId, Placement); 2]>,
}

/// One column's needles, all of one case sensitivity (scanned by its [`ScanGroup`]).
#[derive(Debug, Clone)]
struct Needles {
    patterns: Vec<Pattern>,
}

/// The needles searched in one column.
#[derive(Debug, Clone)]
pub struct ColumnMatcher {
    /// The column.
    pub field: FieldId,
    /// Its name.
    pub name: String,
    cs: Option<Needles>,
    ci: Option<Needles>,
    /// Atoms with an empty needle, decided without searching.
    empty: Vec<(AtomId, EmptyNeedle)>,
}

/// Everything evaluated for one table.
#[derive(Debug, Clone, Default)]
pub struct TablePlan {
    /// The table.
    pub name: String,
    /// `(rule index, body index)` of the rules reading this table, in rule order.
    pub rules: Vec<(usize, usize)>,
    /// `(set index, body index)` of the `distinct` sets collected from this table.
    pub sets: Vec<(usize, usize)>,
    /// Column matchers.
    pub matchers: Vec<ColumnMatcher>,
    /// The automata that scan the matchers' columns (see [`ScanGroup`]).
    pub scans: Vec<ScanGroup>,
    /// Number of atoms.
    pub atoms: usize,
    /// Human text of each atom, for `explain`.
    pub atom_text: Vec<String>,
    /// Each string atom's column, predicate and needle (the prefilter derives its anchors from
    /// them). String atoms come first: their ids are below this list's length.
    pub atom_needles: Vec<(String, StrPred, String)>,
    /// Value atoms (`EventID == 4688`), after the string atoms, looked up per column.
    pub value_matchers: Vec<ValueMatcher>,
    /// Each value atom's column and value, by id minus the number of string atoms.
    pub value_atoms: Vec<(String, Value)>,
    /// The fields the table's rules read, in id order.
    pub fields: Vec<FieldId>,
    /// The table's `Timestamp` field, when it has one as a datetime: checked once per record
    /// (a malformed one is a skip) and read by windows and `--since/--until`.
    pub timestamp: Option<FieldId>,
    /// Which of `rules` a row can pass, from the atoms it set.
    pub candidates: candidates::Candidates,
    /// Positions in `rules` of the bodies with a look-back window (a row's `windowed` and
    /// `in_window` counts read them even when the index skips the body).
    pub windowed: Vec<u32>,
}

/// The compiled, optimized plan.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Rules, with atoms in place of needle tests.
    pub rules: Vec<Rule>,
    /// The `distinct` sets the rules test, with atoms in place of needle tests.
    pub sets: Vec<SetDef>,
    /// Fields read by any rule.
    pub fields: FieldSet,
    /// Per-table plans, sorted by table name.
    pub tables: Vec<TablePlan>,
    table_index: HashMap<String, usize>,
    /// The schemas.
    pub catalog: Arc<Catalog>,
    /// Prefilters built for this plan, by `--table` and sets-only: every executor of a run
    /// shares them (building one over thousands of rules costs more than reading megabytes).
    prefilters: PrefilterMemo,
}

/// A memo of prefilters; a cloned plan starts with an empty one.
#[derive(Debug, Default)]
struct PrefilterMemo(std::sync::Mutex<PrefilterMap>);

type PrefilterMap = HashMap<(Option<String>, bool), Arc<prefilter::Prefilter>>;

impl Clone for PrefilterMemo {
    fn clone(&self) -> Self {
        PrefilterMemo::default()
    }
}

fn needles(patterns: Vec<Pattern>) -> Option<Needles> {
    (!patterns.is_empty()).then_some(Needles { patterns })
}

impl Plan {
    /// The plan with every column's needles searched one by one, as when an automaton
    /// cannot be built: tests compare the two paths.
    #[doc(hidden)]
    pub fn without_automata(mut self) -> Plan {
        for g in self.tables.iter_mut().flat_map(|t| t.scans.iter_mut()) {
            g.without_automaton();
        }
        self
    }

    /// Plans a compiled rule set.
    pub fn new(set: RuleSet) -> Plan {
        let RuleSet {
            mut rules,
            mut sets,
            fields,
            catalog,
        } = set;
        type Members = (Vec<(usize, usize)>, Vec<(usize, usize)>);
        let mut by_table: std::collections::BTreeMap<String, Members> = Default::default();
        for (ri, r) in rules.iter().enumerate() {
            for (bi, b) in r.bodies.iter().enumerate() {
                by_table
                    .entry(b.table.clone())
                    .or_default()
                    .0
                    .push((ri, bi));
            }
        }
        for (si, s) in sets.iter().enumerate() {
            for (bi, b) in s.bodies.iter().enumerate() {
                by_table
                    .entry(b.table.clone())
                    .or_default()
                    .1
                    .push((si, bi));
            }
        }
        let mut tables = Vec::new();
        // The literals of each regex, for every table: a Sigma rule's regex is in the bodies
        // of each of its targets.
        let mut regex_literals = HashMap::new();
        for (name, (members, set_members)) in by_table {
            let mut atoms = AtomTable::default();
            atoms.regex_literals = std::mem::take(&mut regex_literals);
            // String atoms first, then value atoms (see `TablePlan::atom_needles`).
            for pass in [atomize as fn(Expr, &mut AtomTable) -> Expr, atomize_values] {
                for &(ri, bi) in &members {
                    let body = &mut rules[ri].bodies[bi];
                    let steps = std::mem::take(&mut body.steps);
                    body.steps = rewrite_wheres(steps, |e| pass(e, &mut atoms));
                    body.relaxed = (body.relaxed.take())
                        .map(|steps| rewrite_wheres(steps, |e| pass(e, &mut atoms)));
                    let excl = std::mem::take(&mut body.exclusions);
                    body.exclusions = excl
                        .into_iter()
                        .map(|e| e.map(|e| pass(e, &mut atoms)))
                        .collect();
                }
                for &(si, bi) in &set_members {
                    let body = &mut sets[si].bodies[bi];
                    let filters = std::mem::take(&mut body.filters);
                    body.filters = filters.into_iter().map(|e| pass(e, &mut atoms)).collect();
                }
            }
            regex_literals = std::mem::take(&mut atoms.regex_literals);
            let value_matchers = atoms.value_matchers();
            let mut field_ids: Vec<FieldId> = atoms.per_field.keys().copied().collect();
            field_ids.sort();
            let mut matchers = Vec::new();
            for f in field_ids {
                let (col, list) = &atoms.per_field[&f];
                let mut cs: Vec<Pattern> = Vec::new();
                let mut ci: Vec<Pattern> = Vec::new();
                // Where each pattern text sits in `cs` / `ci`: thousands of rules share a
                // column, and looking texts up by scanning the list was quadratic.
                let mut at: HashMap<(bool, String), usize> = HashMap::new();
                let mut empty = Vec::new();
                for (id, pred, needle) in list {
                    let place = Placement::of(*pred);
                    if needle.is_empty() {
                        empty.push((*id, EmptyNeedle::of(place, pred.negated())));
                        continue;
                    }
                    let folded = pred.case_insensitive();
                    let (text, bucket) = if folded {
                        (kql::fold(needle), &mut ci)
                    } else {
                        (needle.clone(), &mut cs)
                    };
                    match at.entry((folded, text)) {
                        hashbrown::hash_map::Entry::Occupied(e) => {
                            bucket[*e.get()].uses.push((*id, place))
                        }
                        hashbrown::hash_map::Entry::Vacant(e) => {
                            let text = e.key().1.clone();
                            e.insert(bucket.len());
                            let first_term = text.chars().next().is_some_and(kql::is_term_char);
                            let last_term = text.chars().next_back().is_some_and(kql::is_term_char);
                            bucket.push(Pattern {
                                text,
                                first_term,
                                last_term,
                                uses: SmallVec::from_elem((*id, place), 1),
                            })
                        }
                    }
                }
                matchers.push(ColumnMatcher {
                    field: f,
                    name: col.clone(),
                    cs: needles(cs),
                    ci: needles(ci),
                    empty,
                });
            }
            let mut used: Vec<FieldId> = Vec::new();
            for &(ri, bi) in &members {
                let b = &rules[ri].bodies[bi];
                let mut visit = |e: &Expr| {
                    e.walk(&mut |n| {
                        if let ExprKind::Field { field, .. } = n.kind {
                            used.push(field)
                        }
                    })
                };
                b.steps.iter().for_each(|s| match s {
                    Step::Where(e) | Step::Extend(_, e) => visit(e),
                });
                b.exclusions.iter().flatten().for_each(&mut visit);
                b.keys.iter().for_each(&mut visit);
                b.project.iter().for_each(&mut visit);
                b.aggs
                    .iter()
                    .flat_map(|a| a.arg.iter().chain(&a.returned))
                    .for_each(&mut visit);
                if let Some(t) = b.timestamp {
                    used.push(t);
                }
            }
            for &(si, bi) in &set_members {
                let b = &sets[si].bodies[bi];
                let mut visit = |e: &Expr| {
                    e.walk(&mut |n| {
                        if let ExprKind::Field { field, .. } = n.kind {
                            used.push(field)
                        }
                    })
                };
                b.filters.iter().for_each(&mut visit);
                visit(&b.column);
                if let Some(t) = b.timestamp {
                    used.push(t);
                }
            }
            used.extend(matchers.iter().map(|m| m.field));
            used.extend(value_matchers.iter().map(|m| m.field));
            used.sort();
            used.dedup();
            let timestamp = catalog
                .table(&name)
                .and_then(|t| t.column("Timestamp"))
                .filter(|ty| *ty == Type::DateTime)
                .and_then(|_| fields.get("Timestamp"));
            tables.push(TablePlan {
                timestamp,
                name,
                rules: members,
                sets: set_members,
                scans: columns::group(&matchers),
                matchers,
                atoms: atoms.text.len(),
                atom_text: atoms.text,
                atom_needles: atoms.needles,
                value_matchers,
                value_atoms: atoms.value_atoms,
                fields: used,
                candidates: Default::default(),
                windowed: Vec::new(),
            });
        }
        for tp in &mut tables {
            tp.candidates = candidates::Candidates::new(tp, &rules);
            tp.windowed = (tp.rules.iter().enumerate())
                .filter(|(_, &(ri, bi))| rules[ri].bodies[bi].window.is_some())
                .map(|(slot, _)| slot as u32)
                .collect();
        }
        let table_index = tables
            .iter()
            .enumerate()
            .map(|(i, t)| (t.name.clone(), i))
            .collect();
        Plan {
            rules,
            sets,
            fields,
            tables,
            table_index,
            catalog,
            prefilters: PrefilterMemo::default(),
        }
    }

    /// The prefilter of this plan for `table` (`--table`) and `sets_only` (see
    /// [`prefilter::Prefilter::build`]), built once and shared.
    pub fn prefilter(&self, table: Option<&str>, sets_only: bool) -> Arc<prefilter::Prefilter> {
        let key = (table.map(str::to_string), sets_only);
        // A poisoned lock only means another thread panicked while building: build again.
        let mut memo = self.prefilters.0.lock().unwrap_or_else(|e| e.into_inner());
        memo.entry(key)
            .or_insert_with(|| Arc::new(prefilter::Prefilter::build(self, table, sets_only)))
            .clone()
    }

    /// The plan of `table`, if any rule reads it.
    pub fn table(&self, name: &str) -> Option<&TablePlan> {
        self.table_index.get(name).map(|&i| &self.tables[i])
    }
}

/// The text of a string column as the rules see it: missing and null read as `""`.
pub fn cell_text<'a>(c: Cell<'a>) -> &'a str {
    match c {
        Cell::Missing | Cell::Null => "",
        Cell::Str(s) | Cell::Num(s) | Cell::Json(s) => s,
        Cell::Bool(true) => "true",
        Cell::Bool(false) => "false",
    }
}

/// A fixed-size bit set, reused from event to event. A row sets a few dozen of a table's
/// tens of thousands of atoms, so the set remembers which words it touched: clearing and
/// listing cost what was set, not the table's size (clearing every word was 3 % of a Sigma
/// run, and listing the ones read every word again).
#[derive(Debug, Clone, Default)]
pub struct Bits {
    words: Vec<u64>,
    /// The indexes of the non-zero words, in the order they were first set.
    touched: Vec<u32>,
}

impl Bits {
    /// Clears and sizes for `n` bits.
    pub fn reset(&mut self, n: usize) {
        for &w in &self.touched {
            self.words[w as usize] = 0;
        }
        self.touched.clear();
        // Every word is zero here, so only the length changes.
        self.words.resize(n.div_ceil(64), 0);
    }
    /// Sets bit `i`.
    pub fn set(&mut self, i: usize) {
        let w = &mut self.words[i / 64];
        if *w == 0 {
            self.touched.push((i / 64) as u32);
        }
        *w |= 1 << (i % 64);
    }
    /// Reads bit `i`.
    pub fn get(&self, i: usize) -> bool {
        self.words
            .get(i / 64)
            .is_some_and(|w| w & (1 << (i % 64)) != 0)
    }
    /// The set bits, ascending.
    pub fn ones(&self) -> impl Iterator<Item = usize> + '_ {
        let mut order: SmallVec<[u32; 32]> = SmallVec::from_slice(&self.touched);
        order.sort_unstable();
        order.into_iter().flat_map(|i| {
            let mut w = self.words[i as usize];
            std::iter::from_fn(move || {
                (w != 0).then(|| {
                    let b = w.trailing_zeros() as usize;
                    w &= w - 1;
                    i as usize * 64 + b
                })
            })
        })
    }
}

impl TablePlan {
    /// Computes every atom of this table for one row.
    pub fn match_atoms(&self, row: &Row, bits: &mut Bits, fold_buf: &mut String) {
        bits.reset(self.atoms);
        for m in self.matchers.iter().filter(|m| !m.empty.is_empty()) {
            let text = cell_text(row.get(m.field));
            for &(atom, test) in &m.empty {
                let holds = match test {
                    EmptyNeedle::Always => true,
                    EmptyNeedle::IfEmpty => text.is_empty(),
                    EmptyNeedle::IfNotEmpty => !text.is_empty(),
                };
                if holds {
                    bits.set(atom.0 as usize);
                }
            }
        }
        for g in &self.scans {
            g.run(row, bits, fold_buf);
        }
        for m in &self.value_matchers {
            m.set(row, bits);
        }
    }

    /// The column an atom tests.
    pub fn atom_field(&self, a: AtomId) -> Option<FieldId> {
        if let Some((column, _, _)) = self.atom_needles.get(a.0 as usize) {
            return self
                .matchers
                .iter()
                .find(|m| &m.name == column)
                .map(|m| m.field);
        }
        self.value_matchers
            .iter()
            .find(|m| m.holds(a))
            .map(|m| m.field)
    }
}

/// A small deterministic generator for the module tests (xorshift): `next(n)` is in `0..n`.
#[cfg(test)]
pub(crate) fn test_rng(mut seed: u64) -> impl FnMut(usize) -> usize {
    move |n| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed % n as u64) as usize
    }
}

#[cfg(test)]
mod bits_tests {
    use super::*;
    use std::collections::BTreeSet;

    /// The scans skip a column by `Row::is_blank`: it must say exactly when the text they
    /// would read is empty.
    #[test]
    fn blank_cells_are_the_cells_of_empty_text() {
        let mut fields = FieldSet::new();
        let ids: Vec<FieldId> = (0..8).map(|i| fields.intern(&format!("c{i}"))).collect();
        let mut row = Row::new(&fields);
        row.set_str(ids[0], "");
        row.set_str(ids[1], "x");
        row.set_num(ids[2], "0");
        row.set_json(ids[3], "");
        row.set_json(ids[4], "{}");
        row.set_bool(ids[5], false);
        row.set_null(ids[6]);
        for f in ids.iter().copied().chain([FieldId(99)]) {
            assert_eq!(row.is_blank(f), cell_text(row.get(f)).is_empty(), "{f:?}");
        }
    }

    /// Sets, reads, lists and clears as a plain set does, across resets to other sizes (the
    /// words a row touched must be clear for the next row, whatever its table's size).
    #[test]
    fn bits_behave_as_a_set_across_resets() {
        let mut next = test_rng(0x9E37_79B9_7F4A_7C15);
        let mut bits = Bits::default();
        for _ in 0..2000 {
            let n = 1 + next(3000);
            bits.reset(n);
            let mut want = BTreeSet::new();
            for _ in 0..next(80) {
                let i = next(n);
                bits.set(i);
                want.insert(i);
            }
            let got: Vec<usize> = bits.ones().collect();
            assert_eq!(got, want.iter().copied().collect::<Vec<_>>());
            for _ in 0..50 {
                let i = next(n + 100);
                assert_eq!(bits.get(i), want.contains(&i), "bit {i} of {n}");
            }
        }
    }
}
