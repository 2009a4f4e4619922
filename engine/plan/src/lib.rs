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

pub mod prefilter;
pub mod scan;

// The stages below this one, under the names the code uses (`crate::kql::...`).
use scry_compile::compile;
use scry_compile::ir;
use scry_compile::row;
use scry_compile::schema;
use scry_kql as kql;
use scry_kql::value;

use crate::compile::{Rule, RuleSet, SetDef, Step};
use crate::ir::{AtomId, Expr, ExprKind, StrPred};
use crate::row::{Cell, FieldId, FieldSet, Row};
use crate::schema::Catalog;
use crate::value::{Type, Value};
use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use hashbrown::HashMap;
use scry_grammar::StrOpKind;
use smallvec::SmallVec;
use std::fmt::{self, Write as _};
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

#[derive(Debug, Clone)]
struct Pattern {
    text: String,
    first_term: bool,
    last_term: bool,
    uses: SmallVec<[(AtomId, Placement); 2]>,
}

/// One automaton over one column's needles, all of one case sensitivity.
#[derive(Debug, Clone)]
struct Searcher {
    ac: AhoCorasick,
    patterns: Vec<Pattern>,
}

/// The needles searched in one column.
#[derive(Debug, Clone)]
pub struct ColumnMatcher {
    /// The column.
    pub field: FieldId,
    /// Its name.
    pub name: String,
    cs: Option<Searcher>,
    ci: Option<Searcher>,
    /// Atoms with an empty needle, decided without searching.
    empty: Vec<(AtomId, Placement)>,
}

/// Everything evaluated for one table.
#[derive(Debug, Clone)]
pub struct TablePlan {
    /// The table.
    pub name: String,
    /// `(rule index, body index)` of the rules reading this table, in rule order.
    pub rules: Vec<(usize, usize)>,
    /// `(set index, body index)` of the `distinct` sets collected from this table.
    pub sets: Vec<(usize, usize)>,
    /// Column matchers.
    pub matchers: Vec<ColumnMatcher>,
    /// Number of atoms.
    pub atoms: usize,
    /// Human text of each atom, for `explain`.
    pub atom_text: Vec<String>,
    /// Each atom's column, predicate and needle (the prefilter derives its anchors from them).
    pub atom_needles: Vec<(String, StrPred, String)>,
    /// The fields the table's rules read, in id order.
    pub fields: Vec<FieldId>,
    /// The table's `Timestamp` field, when it has one as a datetime: checked once per record
    /// (a malformed one is a skip) and read by windows and `--since/--until`.
    pub timestamp: Option<FieldId>,
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
}

/// The atoms of one column: its name and `(atom, predicate, needle)` in creation order.
type ColumnAtoms = (String, Vec<(AtomId, StrPred, String)>);

#[derive(Default)]
struct AtomTable {
    keys: HashMap<(FieldId, StrPred, String), AtomId>,
    text: Vec<String>,
    needles: Vec<(String, StrPred, String)>,
    // field → (case-insensitive?, pattern text) → index in the per-field pattern list
    per_field: HashMap<FieldId, ColumnAtoms>,
}

impl AtomTable {
    fn atom(&mut self, field: FieldId, name: &str, pred: StrPred, needle: &str) -> AtomId {
        let key = (field, pred, needle.to_string());
        if let Some(&a) = self.keys.get(&key) {
            return a;
        }
        let id = AtomId(self.text.len() as u32);
        self.text.push(format!(
            "{name} {} {}",
            pred.spelling(),
            serde_json::Value::String(needle.to_string())
        ));
        self.keys.insert(key, id);
        self.needles
            .push((name.to_string(), pred, needle.to_string()));
        self.per_field
            .entry(field)
            .or_insert_with(|| (name.to_string(), Vec::new()))
            .1
            .push((id, pred, needle.to_string()));
        id
    }
}

fn atomize(e: Expr, atoms: &mut AtomTable) -> Expr {
    e.rewrite(&mut |n| {
        if let ExprKind::Str(p, hay, needle) = &n.kind {
            if let (ExprKind::Field { field, name }, Some(Value::Str(s))) =
                (&hay.kind, needle.as_const())
            {
                if hay.ty.is_stringish() {
                    let id = atoms.atom(*field, name, p.positive(), s);
                    let a = Expr {
                        kind: ExprKind::Atom(id),
                        ty: Type::Bool,
                    };
                    return if p.negated() { Expr::negate(a) } else { a };
                }
            }
        }
        n
    })
}

fn build_searcher(pats: Vec<Pattern>) -> Option<Searcher> {
    if pats.is_empty() {
        return None;
    }
    let ac = AhoCorasickBuilder::new()
        .match_kind(MatchKind::Standard)
        .build(pats.iter().map(|p| p.text.as_bytes()))
        // Building only fails past automaton size limits far beyond any rule set's needles.
        .ok()?;
    Some(Searcher { ac, patterns: pats })
}

impl Plan {
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
        let atomize_steps = |steps: Vec<Step>, atoms: &mut AtomTable| -> Vec<Step> {
            steps
                .into_iter()
                .map(|s| match s {
                    Step::Where(e) => Step::Where(atomize(e, atoms)),
                    Step::Extend(i, e) => Step::Extend(i, e),
                })
                .collect()
        };
        let mut tables = Vec::new();
        for (name, (members, set_members)) in by_table {
            let mut atoms = AtomTable::default();
            for &(ri, bi) in &members {
                let body = &mut rules[ri].bodies[bi];
                body.steps = atomize_steps(std::mem::take(&mut body.steps), &mut atoms);
                body.relaxed = body
                    .relaxed
                    .take()
                    .map(|steps| atomize_steps(steps, &mut atoms));
                let excl = std::mem::take(&mut body.exclusions);
                body.exclusions = excl
                    .into_iter()
                    .map(|e| e.map(|e| atomize(e, &mut atoms)))
                    .collect();
            }
            for &(si, bi) in &set_members {
                let body = &mut sets[si].bodies[bi];
                let filters = std::mem::take(&mut body.filters);
                body.filters = filters
                    .into_iter()
                    .map(|e| atomize(e, &mut atoms))
                    .collect();
            }
            let mut field_ids: Vec<FieldId> = atoms.per_field.keys().copied().collect();
            field_ids.sort();
            let mut matchers = Vec::new();
            for f in field_ids {
                let (col, list) = &atoms.per_field[&f];
                let mut cs: Vec<Pattern> = Vec::new();
                let mut ci: Vec<Pattern> = Vec::new();
                let mut empty = Vec::new();
                for (id, pred, needle) in list {
                    let place = Placement::of(*pred);
                    if needle.is_empty() {
                        empty.push((*id, place));
                        continue;
                    }
                    let (text, bucket) = if pred.case_insensitive() {
                        (kql::fold(needle), &mut ci)
                    } else {
                        (needle.clone(), &mut cs)
                    };
                    match bucket.iter_mut().find(|p| p.text == text) {
                        Some(p) => p.uses.push((*id, place)),
                        None => {
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
                    cs: build_searcher(cs),
                    ci: build_searcher(ci),
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
                matchers,
                atoms: atoms.text.len(),
                atom_text: atoms.text,
                atom_needles: atoms.needles,
                fields: used,
            });
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
        }
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

/// A fixed-size bit set, reused from event to event.
#[derive(Debug, Clone, Default)]
pub struct Bits(Vec<u64>);

impl Bits {
    /// Clears and sizes for `n` bits.
    pub fn reset(&mut self, n: usize) {
        self.0.clear();
        self.0.resize(n.div_ceil(64), 0);
    }
    /// Sets bit `i`.
    pub fn set(&mut self, i: usize) {
        self.0[i / 64] |= 1 << (i % 64);
    }
    /// Reads bit `i`.
    pub fn get(&self, i: usize) -> bool {
        self.0.get(i / 64).is_some_and(|w| w & (1 << (i % 64)) != 0)
    }
}

fn run_searcher(s: &Searcher, hay: &str, bits: &mut Bits) {
    for m in s.ac.find_overlapping_iter(hay) {
        let p = &s.patterns[m.pattern().as_usize()];
        for &(atom, place) in &p.uses {
            if bits.get(atom.0 as usize) {
                continue;
            }
            let ok = match place {
                Placement::Anywhere => true,
                Placement::Prefix => m.start() == 0,
                Placement::Suffix => m.end() == hay.len(),
                Placement::Whole => m.start() == 0 && m.end() == hay.len(),
                Placement::Term(kind) => kql::strings::term_bounds_ok(
                    hay,
                    m.start(),
                    m.end(),
                    kind,
                    p.first_term,
                    p.last_term,
                ),
            };
            if ok {
                bits.set(atom.0 as usize);
            }
        }
    }
}

impl TablePlan {
    /// Computes every atom of this table for one row.
    pub fn match_atoms(&self, row: &Row, bits: &mut Bits, fold_buf: &mut String) {
        bits.reset(self.atoms);
        for m in &self.matchers {
            let text = cell_text(row.get(m.field));
            for &(atom, place) in &m.empty {
                // An empty needle is found in every string; `=~ ""` needs an empty value.
                if place != Placement::Whole || text.is_empty() {
                    bits.set(atom.0 as usize);
                }
            }
            if let Some(s) = &m.cs {
                run_searcher(s, text, bits);
            }
            if let Some(s) = &m.ci {
                fold_buf.clear();
                kql::fold_into(text, fold_buf);
                run_searcher(s, fold_buf, bits);
            }
        }
    }
}

impl fmt::Display for Plan {
    /// The stable text `scry explain` prints.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "plan: {} rule(s) over {} table(s), {} field(s) read",
            self.rules.len(),
            self.tables.len(),
            self.fields.len()
        )?;
        for t in &self.tables {
            writeln!(f)?;
            writeln!(f, "table {}: {} rule(s)", t.name, t.rules.len())?;
            let names: Vec<&str> = t.fields.iter().map(|&id| self.fields.name(id)).collect();
            writeln!(f, "  read: {}", names.join(", "))?;
            for m in &t.matchers {
                for (label, s) in [("case-sensitive", &m.cs), ("case-folded", &m.ci)] {
                    if let Some(s) = s {
                        writeln!(
                            f,
                            "  scan {} ({label}, aho-corasick, {} pattern(s)):",
                            m.name,
                            s.patterns.len()
                        )?;
                        for p in &s.patterns {
                            let uses: Vec<String> =
                                p.uses.iter().map(|(a, _)| format!("#{}", a.0)).collect();
                            writeln!(
                                f,
                                "    {} -> {}",
                                serde_json::Value::String(p.text.clone()),
                                uses.join(" ")
                            )?;
                        }
                    }
                }
                for (a, _) in &m.empty {
                    writeln!(f, "  decide {} empty needle -> #{}", m.name, a.0)?;
                }
            }
            for (i, text) in t.atom_text.iter().enumerate() {
                writeln!(f, "  #{i} = {text}")?;
            }
            for &(si, bi) in &t.sets {
                let set = &self.sets[si];
                let b = &set.bodies[bi];
                writeln!(f, "  set {}: distinct {}", set.name, b.column)?;
                if let Some((lo, hi)) = &b.window {
                    writeln!(f, "    window: Timestamp between ({lo} .. {hi})")?;
                }
                for e in &b.filters {
                    writeln!(f, "    where: {e}")?;
                }
            }
            for &(ri, bi) in &t.rules {
                let r = &self.rules[ri];
                let b = &r.bodies[bi];
                writeln!(f, "  rule {} ({})", r.name, r.id())?;
                if let Some((lo, hi)) = &b.window {
                    writeln!(f, "    window: Timestamp between ({lo} .. {hi})")?;
                }
                if let Some(relaxed) = &b.relaxed {
                    for s in relaxed {
                        if let Step::Where(e) = s {
                            writeln!(f, "    before the sets are known: where {e}")?;
                        }
                    }
                }
                for s in &b.steps {
                    match s {
                        Step::Where(e) => writeln!(f, "    where: {e}")?,
                        Step::Extend(i, e) => {
                            let name = b
                                .computed_names
                                .get(*i as usize)
                                .map_or("?", String::as_str);
                            writeln!(f, "    extend: {name} = {e}")?
                        }
                    }
                }
                for (x, e) in r.exclusions.iter().zip(&b.exclusions) {
                    match e {
                        Some(e) => writeln!(f, "    except {:?}: {e}", x.name)?,
                        None => writeln!(f, "    except {:?}: (inert: field missing)", x.name)?,
                    }
                }
                if let Some(tl) = &r.timeline {
                    timeline_text(f, r, b, tl)?;
                    if let Some(h) = &r.having {
                        writeln!(f, "    having: {h}")?;
                    }
                    if let Some(exprs) = &r.reshape {
                        writeln!(f, "    project: {}", projection(&r.output, exprs))?;
                    }
                } else if r.summarize {
                    let mut s = String::new();
                    let nk = b.keys.len();
                    let mut cols = r.grouped[nk.min(r.grouped.len())..].iter();
                    for a in &b.aggs {
                        if !s.is_empty() {
                            s.push_str(", ");
                        }
                        let arg = a.arg.as_ref().map(|e| e.to_string()).unwrap_or_default();
                        let name = cols.next().map_or("?", |c| c.name.as_str());
                        let _ = write!(s, "{name} = {}({arg}", a.kind.name());
                        // arg_max / arg_min: each returned value with the column it fills
                        // (`*` expanded), after a `;`.
                        for (i, e) in a.returned.iter().enumerate() {
                            let col = cols.next().map_or("?", |c| c.name.as_str());
                            let e = e.to_string();
                            let sep = if i == 0 { "; " } else { ", " };
                            if e == col {
                                let _ = write!(s, "{sep}{e}");
                            } else {
                                let _ = write!(s, "{sep}{col} = {e}");
                            }
                        }
                        s.push(')');
                    }
                    let keys: Vec<String> = r.grouped[..nk.min(r.grouped.len())]
                        .iter()
                        .zip(&b.keys)
                        .map(|(c, k)| {
                            let k = k.to_string();
                            if k == c.name {
                                k
                            } else {
                                format!("{} = {k}", c.name)
                            }
                        })
                        .collect();
                    writeln!(f, "    summarize: {s} by {}", keys.join(", "))?;
                    if let Some(h) = &r.having {
                        writeln!(f, "    having: {h}")?;
                    }
                    if let Some(exprs) = &r.reshape {
                        writeln!(f, "    project: {}", projection(&r.output, exprs))?;
                    }
                } else if r.projected {
                    writeln!(f, "    project: {}", projection(&r.output, &b.project))?;
                } else {
                    let cols: Vec<&str> = r.output.iter().map(|c| c.name.as_str()).collect();
                    writeln!(f, "    output: {}", cols.join(", "))?;
                }
                if let Some(n) = r.take {
                    writeln!(f, "    take: {n}")?;
                }
            }
        }
        Ok(())
    }
}

/// A `threshold` or `sequence` body: its operator, keys, and what each event keeps.
fn timeline_text(
    f: &mut fmt::Formatter<'_>,
    r: &Rule,
    b: &crate::compile::Body,
    tl: &crate::compile::Timeline,
) -> fmt::Result {
    use crate::compile::{StepRole, TimelineKind};
    let span = crate::kql::time::format_timespan(tl.span);
    let keys: Vec<String> = b.keys.iter().map(|k| k.to_string()).collect();
    let by = if keys.is_empty() {
        String::new()
    } else {
        format!(" by {}", keys.join(", "))
    };
    let arg = |a: &crate::compile::Agg| {
        let x = a.arg.as_ref().map(|e| e.to_string()).unwrap_or_default();
        format!("{}({x})", a.kind.name())
    };
    match (&tl.kind, b.step) {
        (
            TimelineKind::Threshold {
                measure, condition, ..
            },
            _,
        ) => {
            let m = b.aggs.get(*measure).map(arg).unwrap_or_default();
            let cond: Vec<String> = condition
                .iter()
                .map(|(op, v)| format!("{m} {} {}", op_text(*op), crate::ir::DisplayValue(v)))
                .collect();
            writeln!(
                f,
                "    threshold: {} within {span}{by} (the key's peak; the earliest span that holds)",
                cond.join(" and ")
            )?;
            let nk = tl.rule_keys;
            let with: Vec<String> = r.grouped[(nk + 4).min(r.grouped.len())..]
                .iter()
                .zip(b.aggs.iter().skip(4))
                .map(|(c, a)| format!("{} = {}", c.name, arg(a)))
                .collect();
            if !with.is_empty() {
                writeln!(f, "    with: {}", with.join(", "))?;
            }
        }
        (kind, role) => {
            let what = match role {
                StepRole::Step(i) => format!(
                    "step {} ({} of {})",
                    tl.steps.get(usize::from(i)).map_or("?", String::as_str),
                    i + 1,
                    tl.steps.len()
                ),
                _ => "until".to_string(),
            };
            match kind {
                TimelineKind::Join { kind, low, high } => {
                    let side = if role == StepRole::Step(0) { "left" } else { "right" };
                    let bound = |b: &Option<i64>| {
                        b.map_or("unbounded".to_string(), crate::kql::time::format_timespan)
                    };
                    let time = if low.is_none() && high.is_none() {
                        String::new()
                    } else {
                        format!(
                            ", right.Timestamp - left.Timestamp in [{}, {}]",
                            bound(low),
                            bound(high)
                        )
                    };
                    writeln!(f, "    join kind={} {side} side{by}{time}", kind.name())?;
                }
                TimelineKind::Unordered => writeln!(
                    f,
                    "    sequence {what} within {span}{by} (unordered: every step, the earliest span)"
                )?,
                _ => writeln!(
                    f,
                    "    sequence {what} within {span}{by} (ordered: the tightest matches)"
                )?,
            }
            let kept: Vec<String> = b
                .aggs
                .iter()
                .filter_map(|a| a.arg.as_ref().map(|e| e.to_string()))
                .collect();
            writeln!(f, "    keep: {}", kept.join(", "))?;
        }
    }
    writeln!(
        f,
        "    state: the latest {} events per key and step",
        tl.max_events
    )
}

fn op_text(op: crate::ir::CmpOp) -> &'static str {
    use crate::ir::CmpOp::*;
    match op {
        Eq => "==",
        NotEq => "!=",
        Lt => "<",
        Le => "<=",
        Gt => ">",
        Ge => ">=",
    }
}

/// `A, B = tolower(C)`: each output column, with the expression that fills it when that is
/// not just the column of the same name.
fn projection(cols: &[crate::compile::OutputColumn], exprs: &[Expr]) -> String {
    cols.iter()
        .zip(exprs)
        .map(|(c, e)| {
            let e = e.to_string();
            if e == c.name {
                e
            } else {
                format!("{} = {e}", c.name)
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}
