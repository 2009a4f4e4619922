//! Example events generated from a rule's own needles, each with the verdict the contract
//! gives it by construction.
//!
//! No public data set of Defender rows with RMM activity exists, so a pack's `examples`
//! are built from the rule itself: [`generate`] takes a compiled [`Rule`] and a clock and
//! returns events with expected verdicts; [`render_block`] prints them as an
//! `examples at datetime(...) { ... }` block, one event per line.
//!
//! How an example is built (see `docs/language.md`, "Generated examples"):
//!
//! 1. The `where` steps become one tree of `and`/`or` over string tests on columns
//!    ([`pred`]); `has_any` and `in` are one leaf per element. Anything else (regex,
//!    arithmetic, computed columns, sets from other queries) is [`Unsupported`].
//! 2. A base event satisfies the tree: each `and` child holds, one `or` child holds (the
//!    first that can) and the others are left false.
//! 3. For each leaf, a context makes the whole predicate equal to that leaf (siblings of an
//!    `and` true, of an `or` false), and the leaf's column takes variants whose effect on
//!    the leaf is known from the contract: the needle as published, case-flipped, glued to a
//!    letter or digit at a term-character edge, inside a longer value between separators,
//!    and (for non-ASCII needles) the same text with `\uXXXX` escapes in the JSON.
//! 4. Per column: null and missing (a string column reads both as `""`). Per window: one tick
//!    before its start, its start, its end, one tick after, and no Timestamp.
//! 5. Per `except`: the base event plus what makes that exclusion hold.
//!
//! Every event is then judged by [`oracle`], a small three-valued checker that shares no
//! code with the engine. Where it cannot be certain (another needle of the same list still
//! matches a glued variant: `xstun.kaseya.com` has `kaseya.com`), or where it disagrees
//! with what the variant was built to show, the variant is dropped and listed in
//! [`Generated::dropped`]; nothing is guessed. A match that an `except` hides becomes a
//! `suppressed` example, named after the exclusion that certainly holds.
//!
//! ```
//! use scry_compile::{compile, schema::Catalog};
//! use scry_run::examples;
//! use std::sync::Arc;
//! let mut sources = compile::Sources::default();
//! sources.add("r.scry", r#"rule r { id "1" from DeviceFileCertificateInfo window 5d
//!     where Signer has 'Krämer IT Solutions GmbH'
//!     summarize Count = count() by DeviceId, DeviceName }"#);
//! let catalog = Catalog::builtin();
//! let compiled = compile::compile(&sources, Arc::new(catalog.clone()));
//! let opts = examples::Options::default();
//! let g = examples::generate(&compiled.rules.rules[0], &catalog, &opts).unwrap();
//! let block = examples::render_block(&g, "  ");
//! assert!(block.contains(r#"match "upper-cased: Signer has 'Krämer IT Solutions GmbH'""#));
//! assert!(block.contains(r#""Signer": "KRÄMER IT SOLUTIONS GMBH""#));
//! assert!(block.contains(r#"no_match "glued to a letter: Signer has 'Krämer IT Solutions GmbH'""#));
//! ```
//!
//! Slightly over our ~800-line guide: the generator walks the rule's predicate once, and
//! each variant kind (case-flipped, glued, inside a longer value, null, missing, window
//! edges, one per exclusion) is a short branch of that walk.

pub mod oracle;
pub mod pred;
mod render;

pub use render::{insert_blocks, json_event, render_block, rules_without_examples, Insertion};

use crate::compile::Rule;
use crate::ir::{ArithOp, Expr, ExprKind};
use crate::schema::{Catalog, TableSchema};
use crate::value::{Type, Value};
use oracle::Tri;
use pred::{Builder, Leaf, Node, OpKind, Reqs, Test};
use std::collections::BTreeMap;
use std::fmt;

/// What the generator needs besides the rule.
#[derive(Debug, Clone)]
pub struct Options {
    /// The examples' clock, written as `examples at datetime(...)`.
    pub now: i64,
    /// Lists (`has_any`, `in`, one `or`) of at most this many needles get every variant for
    /// every needle; longer lists get every variant for their first needle and the needle
    /// as published (plus its escaped form when it is not ASCII) for the others, so that
    /// each needle is still matched once and a 190-needle list stays at ~200 lines.
    pub full_variants_up_to: usize,
}

/// 2024-05-15T12:00:00Z, the clock of the bundled packs.
pub const DEFAULT_NOW: i64 = 17_157_744_000_000_000;

impl Default for Options {
    fn default() -> Options {
        Options {
            now: DEFAULT_NOW,
            full_variants_up_to: 8,
        }
    }
}

/// The verdict an example expects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expect {
    /// The rule reports it.
    Match,
    /// The rule's conditions or window reject it.
    NoMatch,
    /// It passes, and the named exclusion suppresses it.
    Suppressed(String),
}

/// A JSON value of a generated event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cell {
    /// A string, written with non-ASCII characters as they are.
    Str(String),
    /// A string, written with every non-ASCII character as a `\uXXXX` escape.
    Escaped(String),
    /// JSON `null`.
    Null,
    /// A number.
    Long(i64),
}

/// One generated example.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Example {
    /// The expected verdict.
    pub expect: Expect,
    /// What the example shows.
    pub label: String,
    /// The table, when the rule reads several (`in Table`).
    pub table: Option<String>,
    /// The event's keys and values, in the order they are written.
    pub event: Vec<(String, Cell)>,
}

/// The examples generated for one rule.
#[derive(Debug, Clone)]
pub struct Generated {
    /// The rule's name.
    pub rule: String,
    /// The clock.
    pub now: i64,
    /// The examples, in a stable order.
    pub examples: Vec<Example>,
    /// Variants left out because their verdict was not certain or not what they were built
    /// to show: `label: reason`.
    pub dropped: Vec<String>,
}

/// A rule the generator cannot build examples for.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Unsupported {
    /// The rule's name.
    pub rule: String,
    /// What is not supported, e.g. `matches regex`.
    pub what: String,
}

impl fmt::Display for Unsupported {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "rule `{}`: unsupported: {}", self.rule, self.what)
    }
}

impl std::error::Error for Unsupported {}

/// Generates examples for `rule` (compiled, not planned) at the clock `opts.now`.
pub fn generate(rule: &Rule, catalog: &Catalog, opts: &Options) -> Result<Generated, Unsupported> {
    let unsupported = |what: String| Unsupported {
        rule: rule.name.clone(),
        what,
    };
    if let Some(tl) = &rule.timeline {
        // Single events say nothing about a span or an order: these need scenarios, which
        // the generator does not build yet.
        let what = match tl.kind {
            crate::compile::TimelineKind::Join { kind, .. } => {
                format!("join kind={}", kind.name())
            }
            _ if tl.steps.len() > 1 => "sequence".to_string(),
            _ => "threshold".to_string(),
        };
        return Err(unsupported(format!(
            "{what}: its examples are scenarios of several events (`match \"...\" [ ... ]`), write them by hand"
        )));
    }
    let mut out = Generated {
        rule: rule.name.clone(),
        now: opts.now,
        examples: Vec::new(),
        dropped: Vec::new(),
    };
    for body in &rule.bodies {
        let table = catalog.table(&body.table).ok_or_else(|| {
            unsupported(format!("the table {} is not in the catalog", body.table))
        })?;
        let gen = BodyGen::new(rule, body, table, opts).map_err(unsupported)?;
        let tag = (rule.bodies.len() > 1).then(|| body.table.clone());
        gen.run(tag, &mut out).map_err(unsupported)?;
    }
    Ok(out)
}

/// A column's value in an event being built.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Val {
    Text(String),
    Null,
    Missing,
}

/// An event being built, before devices and report ids are given out.
#[derive(Debug, Clone)]
struct Draft {
    label: String,
    values: BTreeMap<String, Val>,
    ts: Option<i64>,
    /// Write this column's value with `\u` escapes.
    escape: Option<String>,
    /// What the event was built to show; `None` for events judged only by the oracle.
    intended: Option<Intended>,
    /// Time variants differ from the base event only in their Timestamp.
    timed: bool,
}

/// What makes two drafts the same example.
type DraftKey = (BTreeMap<String, Val>, bool, Option<Option<i64>>);

/// What a variant was built to show.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Intended {
    /// Passes the conditions (`true`) or fails them (`false`).
    Passes(bool),
    /// Passes, and this exclusion suppresses it.
    SuppressedBy(String),
}

struct BodyGen<'a> {
    table: &'a TableSchema,
    opts: &'a Options,
    root: Node,
    leaves: Vec<Leaf>,
    /// Exclusions that apply to this table: name, tree, leaves.
    exclusions: Vec<(String, Node, Vec<Leaf>)>,
    window: Option<(i64, i64, bool)>,
    /// Columns the `summarize` keys read, with their types.
    key_fields: Vec<(String, Type)>,
}

impl<'a> BodyGen<'a> {
    fn new(
        rule: &'a Rule,
        body: &'a crate::compile::Body,
        table: &'a TableSchema,
        opts: &'a Options,
    ) -> Result<BodyGen<'a>, String> {
        let mut b = Builder::default();
        let mut parts = Vec::new();
        for s in &body.steps {
            if let crate::compile::Step::Where(e) = s {
                parts.push(b.convert(e, false)?);
            }
        }
        let root = Node::And(parts);
        let mut exclusions = Vec::new();
        for (info, x) in rule.exclusions.iter().zip(&body.exclusions) {
            // `None`: the exclusion reads a column this table lacks and never suppresses.
            let Some(x) = x else { continue };
            let mut xb = Builder::default();
            let node = xb
                .convert(x, false)
                .map_err(|w| format!("{w} in exclusion \"{}\"", info.name))?;
            exclusions.push((info.name.clone(), node, xb.leaves));
        }
        let window = match &body.window {
            None => None,
            Some((lo, hi)) => Some((
                instant(lo, opts.now)?,
                instant(hi, opts.now)?,
                matches!(hi.kind, ExprKind::Now(0)),
            )),
        };
        if window.is_some_and(|(lo, hi, _)| lo > hi) {
            return Err("a window whose start is after its end".into());
        }
        let mut key_fields: Vec<(String, Type)> = Vec::new();
        for k in &body.keys {
            k.walk(&mut |n| {
                if let ExprKind::Field { name, .. } = &n.kind {
                    if !key_fields.iter().any(|(f, _)| **f == **name) {
                        key_fields.push((name.to_string(), n.ty));
                    }
                }
            });
        }
        Ok(BodyGen {
            table,
            opts,
            root,
            leaves: b.leaves,
            exclusions,
            window,
            key_fields,
        })
    }

    fn run(&self, tag: Option<String>, out: &mut Generated) -> Result<(), String> {
        let mut base_reqs = Vec::new();
        if !pred::require(&self.root, true, &self.leaves, &mut base_reqs) {
            return Err("no event can satisfy the conditions".into());
        }
        let base = self.draft(&base_reqs, &[], None, "base");
        if !matches!(
            self.judge(&base, 9),
            Some(Expect::Match | Expect::Suppressed(_))
        ) {
            return Err(format!(
                "could not build an event that certainly matches (tried {})",
                describe_values(&base.values)
            ));
        }
        let mut drafts: Vec<Draft> = Vec::new();
        self.leaf_variants(&mut drafts);
        self.column_variants(&base_reqs, &mut drafts);
        self.time_variants(&base, &mut drafts);
        self.exclusion_variants(&base_reqs, &mut drafts);

        // Give out devices and report ids, judge, keep the certain ones.
        // Same values, same escaping, same time (for time variants): one example.
        let mut seen: Vec<DraftKey> = Vec::new();
        let mut n_pass = 0usize;
        for mut d in drafts {
            let key = (
                d.values.clone(),
                d.escape.is_some(),
                d.timed.then_some(d.ts),
            );
            if seen.contains(&key) {
                continue;
            }
            // Judge with the no-match device first, then with the device a passing event
            // gets: key columns the rule groups by may be read by an exclusion too.
            let first = self.judge(&d, 9);
            let device = match first {
                Some(Expect::Match) | Some(Expect::Suppressed(_)) => 1 + n_pass % 3,
                _ => 9,
            };
            let verdict = if device == 9 {
                first
            } else {
                self.judge(&d, device).filter(|v| Some(v) == first.as_ref())
            };
            let Some(verdict) = verdict else {
                out.dropped
                    .push(format!("{}: the verdict is not certain", d.label));
                continue;
            };
            let built_for = match &d.intended {
                None => true,
                Some(Intended::Passes(want)) => (verdict != Expect::NoMatch) == *want,
                Some(Intended::SuppressedBy(x)) => verdict == Expect::Suppressed(x.clone()),
            };
            if !built_for {
                out.dropped.push(format!(
                    "{}: built to show something else, but another condition decides it",
                    d.label
                ));
                continue;
            }
            if device != 9 {
                n_pass += 1;
            }
            seen.push(key);
            let report = out.examples.len() as i64 + 1;
            let event = self.event(&mut d, device, report);
            out.examples.push(Example {
                expect: verdict,
                label: d.label,
                table: tag.clone(),
                event,
            });
        }
        Ok(())
    }

    /// Builds an event from requirements on the predicate's leaves (`reqs`) and on an
    /// exclusion's leaves (`xreqs`), with one column optionally set by a variant.
    fn draft(
        &self,
        reqs: &Reqs,
        xreqs: &[(&Leaf, bool)],
        variant: Option<(&Leaf, Val)>,
        label: &str,
    ) -> Draft {
        let mut by_field: BTreeMap<String, Vec<(&Leaf, bool)>> = BTreeMap::new();
        for &(i, v) in reqs {
            by_field
                .entry(self.leaves[i].field.clone())
                .or_default()
                .push((&self.leaves[i], v));
        }
        for &(l, v) in xreqs {
            by_field.entry(l.field.clone()).or_default().push((l, v));
        }
        let mut values = BTreeMap::new();
        for (f, rs) in &by_field {
            values.insert(f.clone(), Val::Text(compose(rs, None)));
        }
        if let Some((leaf, val)) = variant {
            let v = match val {
                Val::Text(piece) => {
                    let rs = by_field.get(&leaf.field).map(Vec::as_slice).unwrap_or(&[]);
                    Val::Text(compose(rs, Some((leaf, piece))))
                }
                other => other,
            };
            values.insert(leaf.field.clone(), v);
        }
        Draft {
            label: label.to_string(),
            values,
            ts: Some(self.inside(0)),
            escape: None,
            intended: None,
            timed: false,
        }
    }

    /// A time inside the window (the middle, plus `i` minutes, never past its end).
    fn inside(&self, i: i64) -> i64 {
        const MINUTE: i64 = 60 * 10_000_000;
        match self.window {
            Some((lo, hi, _)) => (lo + (hi - lo) / 2 + i * MINUTE).min(hi),
            None => self.opts.now - 24 * 60 * MINUTE + i * MINUTE,
        }
    }

    fn leaf_variants(&self, drafts: &mut Vec<Draft>) {
        let mut group_seen: Vec<usize> = Vec::new();
        for (i, leaf) in self.leaves.iter().enumerate() {
            let Some(ctx) = pred::decisive(&self.root, i, &self.leaves) else {
                continue;
            };
            let pos = polarity(&self.root, i).unwrap_or(true);
            let group_size = self.leaves.iter().filter(|l| l.group == leaf.group).count();
            let first_of_group = !group_seen.contains(&leaf.group);
            group_seen.push(leaf.group);
            let full = group_size <= self.opts.full_variants_up_to || first_of_group;
            for v in variants(leaf, full) {
                let mut d = self.draft(
                    &ctx,
                    &[],
                    Some((leaf, v.value.clone())),
                    &format!("{}: {}", v.name, leaf.describe()),
                );
                d.ts = Some(self.inside(drafts.len() as i64));
                if v.escaped {
                    d.escape = Some(leaf.field.clone());
                }
                d.intended = Some(Intended::Passes(v.test_truth == pos));
                drafts.push(d);
            }
        }
    }

    fn column_variants(&self, base_reqs: &Reqs, drafts: &mut Vec<Draft>) {
        let mut fields: Vec<&str> = Vec::new();
        for l in &self.leaves {
            if !fields.contains(&l.field.as_str()) {
                fields.push(&l.field);
            }
        }
        for f in fields {
            for (val, name) in [(Val::Null, "null"), (Val::Missing, "missing")] {
                let mut d = self.draft(base_reqs, &[], None, &format!("{name} {f}"));
                d.values.insert(f.to_string(), val);
                d.ts = Some(self.inside(drafts.len() as i64));
                drafts.push(d);
            }
        }
    }

    fn time_variants(&self, base: &Draft, drafts: &mut Vec<Draft>) {
        let Some((lo, hi, hi_is_now)) = self.window else {
            return;
        };
        let end = if hi_is_now { "now" } else { "the window end" };
        let cases = [
            (Some(lo - 1), "one tick before the window start".to_string()),
            (Some(lo), "exactly at the window start".to_string()),
            (Some(hi), format!("exactly at {end}")),
            (Some(hi + 1), format!("one tick after {end}")),
            (None, "no Timestamp".to_string()),
        ];
        for (ts, label) in cases {
            let mut d = base.clone();
            d.label = label;
            d.ts = ts;
            d.timed = true;
            drafts.push(d);
        }
    }

    fn exclusion_variants(&self, base_reqs: &Reqs, drafts: &mut Vec<Draft>) {
        for (name, node, leaves) in &self.exclusions {
            let mut xr = Vec::new();
            if !pred::require(node, true, leaves, &mut xr) {
                continue;
            }
            let xreqs: Vec<(&Leaf, bool)> = xr.iter().map(|&(i, v)| (&leaves[i], v)).collect();
            // Labelled with what holds: `FolderPath contains 'SystemUpdate' and ...`.
            let what: Vec<String> = xreqs
                .iter()
                .filter(|(_, v)| *v)
                .map(|(l, _)| l.describe())
                .collect();
            let label = if what.is_empty() {
                "the exclusion holds".to_string()
            } else {
                what.join(" and ")
            };
            let mut d = self.draft(base_reqs, &xreqs, None, &label);
            d.ts = Some(self.inside(drafts.len() as i64));
            d.intended = Some(Intended::SuppressedBy(name.clone()));
            drafts.push(d);
        }
    }

    /// The oracle's verdict on a draft with the key columns of `device`; `None` when not
    /// certain.
    fn judge(&self, d: &Draft, device: usize) -> Option<Expect> {
        let keys = self.key_values(device);
        let value_of = |f: &str| -> String {
            match d.values.get(f) {
                Some(Val::Text(s)) => s.clone(),
                Some(_) => String::new(),
                None => match keys.iter().find(|(k, _)| k == f) {
                    Some((_, Cell::Str(s))) => s.clone(),
                    _ => String::new(),
                },
            }
        };
        // `window`: Timestamp between (lo .. hi), inclusive; no Timestamp is null, and a
        // `where` drops a null.
        if let Some((lo, hi, _)) = self.window {
            match d.ts {
                Some(t) if t >= lo && t <= hi => {}
                _ => return Some(Expect::NoMatch),
            }
        }
        match oracle::eval(&self.root, &self.leaves, &value_of) {
            Tri::False => return Some(Expect::NoMatch),
            Tri::Unknown => return None,
            Tri::True => {}
        }
        for (name, node, leaves) in &self.exclusions {
            match oracle::eval(node, leaves, &value_of) {
                Tri::True => return Some(Expect::Suppressed(name.clone())),
                Tri::Unknown => return None,
                Tri::False => {}
            }
        }
        Some(Expect::Match)
    }

    /// Values for the columns the summarize keys read and the device columns, for device
    /// `n` (1-3 for passing events, 9 for the others).
    fn key_values(&self, n: usize) -> Vec<(String, Cell)> {
        let mut out: Vec<(String, Cell)> = Vec::new();
        let mut add = |name: &str, ty: Type| {
            if out.iter().any(|(k, _)| k == name) {
                return;
            }
            let cell = match ty {
                Type::Long | Type::Int => Cell::Long(n as i64),
                t if t.is_stringish() => Cell::Str(filler(name, n)),
                _ => return,
            };
            out.push((name.to_string(), cell));
        };
        for c in ["DeviceId", "DeviceName"] {
            if let Some(t) = self.table.column(c) {
                add(c, t);
            }
        }
        for (f, t) in &self.key_fields {
            add(f, *t);
        }
        out
    }

    /// The final event: Timestamp, device and key columns, the predicate's columns in the
    /// order the rule mentions them, then ReportId.
    fn event(&self, d: &mut Draft, device: usize, report: i64) -> Vec<(String, Cell)> {
        let mut ev: Vec<(String, Cell)> = Vec::new();
        if let (Some(t), true) = (d.ts, self.table.column("Timestamp").is_some()) {
            ev.push(("Timestamp".into(), Cell::Str(render::datetime_text(t))));
        }
        let mut order: Vec<String> = Vec::new();
        for (k, cell) in self.key_values(device) {
            if d.values.contains_key(&k) {
                order.push(k);
            } else {
                ev.push((k, cell));
            }
        }
        let mut mentioned: Vec<&str> = Vec::new();
        for l in self
            .leaves
            .iter()
            .chain(self.exclusions.iter().flat_map(|x| x.2.iter()))
        {
            if !mentioned.contains(&l.field.as_str()) {
                mentioned.push(&l.field);
            }
        }
        // Key columns the predicate sets keep the key position; the rest follow.
        let mut fields: Vec<String> = order;
        for f in mentioned {
            if !fields.iter().any(|x| x == f) {
                fields.push(f.to_string());
            }
        }
        for f in fields {
            match d.values.remove(&f) {
                Some(Val::Text(s)) if d.escape.as_deref() == Some(f.as_str()) => {
                    ev.push((f, Cell::Escaped(s)))
                }
                Some(Val::Text(s)) => ev.push((f, Cell::Str(s))),
                Some(Val::Null) => ev.push((f, Cell::Null)),
                Some(Val::Missing) | None => {}
            }
        }
        if self.table.column("ReportId").is_some() {
            ev.push(("ReportId".into(), Cell::Long(report)));
        }
        ev
    }
}

/// A window bound at the clock `now`.
fn instant(e: &Expr, now: i64) -> Result<i64, String> {
    match &e.kind {
        ExprKind::Now(off) => Ok(now + off),
        ExprKind::Const(Value::DateTime(t)) => Ok(*t),
        ExprKind::Arith(ArithOp::Add, a, b) => match (&a.kind, &b.kind) {
            (_, ExprKind::Const(Value::Timespan(s))) => Ok(instant(a, now)? + s),
            _ => Err(format!("the window bound {e}")),
        },
        _ => Err(format!("the window bound {e}")),
    }
}

/// The polarity of leaf `i`'s literal.
fn polarity(node: &Node, i: usize) -> Option<bool> {
    match node {
        Node::Lit(j, pos) if *j == i => Some(*pos),
        Node::And(cs) | Node::Or(cs) => cs.iter().find_map(|c| polarity(c, i)),
        _ => None,
    }
}

/// Values for key columns that no condition sets: device `n`'s.
fn filler(column: &str, n: usize) -> String {
    const ACCOUNTS: [&str; 3] = [
        "admin@contoso.com",
        "svc-deploy@contoso.com",
        "j.doe@contoso.com",
    ];
    match column {
        "DeviceId" => format!("d-{n}"),
        "DeviceName" => format!("pc-{n}"),
        c if c.ends_with("AccountUpn") => match n {
            1..=3 => ACCOUNTS[n - 1].to_string(),
            _ => format!("user{n}@contoso.com"),
        },
        c if c.ends_with("FileName") => format!("app{n}.exe"),
        c if c.ends_with("Url") => format!("host{n}.example.com"),
        c if c.ends_with("IP") => format!("192.0.2.{n}"),
        c => format!("{}-{n}", c.to_lowercase()),
    }
}

/// The text of one column from requirements on it, with an optional variant piece for
/// `leaf`: a whole-value needle (`==`, `=~`, `in`) is the value; otherwise `startswith`
/// needles come first, `endswith` needles last and the others between, joined by spaces
/// (a separator, so each needle keeps its term boundaries).
fn compose(reqs: &[(&Leaf, bool)], variant: Option<(&Leaf, String)>) -> String {
    if let Some((leaf, piece)) = &variant {
        if let Test::Op {
            kind: OpKind::Equals,
            ..
        } = leaf.test
        {
            return piece.clone();
        }
        if leaf.test == Test::Empty {
            return piece.clone();
        }
    }
    let mut front: Vec<String> = Vec::new();
    let mut middle: Vec<String> = Vec::new();
    let mut back: Vec<String> = Vec::new();
    let mut nonempty = false;
    for &(leaf, val) in reqs {
        if variant
            .as_ref()
            .is_some_and(|(v, _)| std::ptr::eq(*v, leaf))
        {
            continue;
        }
        match (&leaf.test, val) {
            (Test::Empty, true) => return String::new(),
            (Test::Empty, false) => nonempty = true,
            (Test::Op { kind, needle, .. }, true) => match kind {
                OpKind::Equals => return needle.clone(),
                OpKind::StartsWith => front.push(needle.clone()),
                OpKind::EndsWith => back.push(needle.clone()),
                _ => middle.push(needle.clone()),
            },
            (Test::Op { .. }, false) => {}
        }
    }
    if let Some((leaf, piece)) = variant {
        match &leaf.test {
            Test::Op {
                kind: OpKind::StartsWith,
                ..
            } => front.insert(0, piece),
            Test::Op {
                kind: OpKind::EndsWith,
                ..
            } => back.push(piece),
            _ => middle.insert(0, piece),
        }
    }
    let mut parts: Vec<String> = Vec::new();
    for p in front.into_iter().chain(middle).chain(back) {
        if !parts.contains(&p) {
            parts.push(p);
        }
    }
    if parts.is_empty() && nonempty {
        return "other".into();
    }
    parts.join(" ")
}

/// One variant of a leaf's column value.
struct Variant {
    name: &'static str,
    value: Val,
    /// The truth of the leaf's test (before its polarity) on this value.
    test_truth: bool,
    escaped: bool,
}

/// The variants of a leaf, each with the truth the contract gives its test.
fn variants(leaf: &Leaf, full: bool) -> Vec<Variant> {
    let mut out = Vec::new();
    let text = |name, s: String, t| Variant {
        name,
        value: Val::Text(s),
        test_truth: t,
        escaped: false,
    };
    let (kind, cs, needle) = match &leaf.test {
        Test::Empty => {
            out.push(text("empty", String::new(), true));
            out.push(text("not empty", "x".into(), false));
            return out;
        }
        Test::Op {
            kind,
            case_sensitive,
            needle,
        } => (*kind, *case_sensitive, needle),
    };
    out.push(text("as published", needle.clone(), true));
    if !needle.is_ascii() {
        // The same text; the event's JSON spells it with \u escapes.
        out.push(Variant {
            name: "u-escaped JSON",
            value: Val::Text(needle.clone()),
            test_truth: true,
            escaped: true,
        });
    }
    if !full {
        return out;
    }
    if let Some((name, flipped)) = case_variant(needle) {
        out.push(text(name, flipped, !cs));
    }
    let chars: Vec<char> = needle.chars().collect();
    let is_term =
        |c: char| oracle::term(c, true) == Tri::True && oracle::term(c, false) == Tri::True;
    if is_term(chars[0]) {
        if let Some(g) = pick("qzjxvwyfbg", needle) {
            let t = matches!(
                kind,
                OpKind::HasSuffix | OpKind::Contains | OpKind::EndsWith
            );
            out.push(text("glued to a letter", format!("{g}{needle}"), t));
        }
    }
    if is_term(chars[chars.len() - 1]) {
        if let Some(g) = pick("7359", needle) {
            let t = matches!(
                kind,
                OpKind::HasPrefix | OpKind::Contains | OpKind::StartsWith
            );
            out.push(text("glued to a digit", format!("{needle}{g}"), t));
        }
    }
    let (pre, post) = surroundings(needle);
    let (name, pre, post) = match kind {
        OpKind::StartsWith => ("followed by more text", "", post),
        OpKind::EndsWith => ("preceded by more text", pre, ""),
        _ => ("inside a longer value", pre, post),
    };
    let t = kind != OpKind::Equals;
    out.push(text(name, format!("{pre}{needle}{post}"), t));
    out
}

/// Separators around a needle in a longer value, shaped like the column: a URL for a host
/// name, a folder for a path, a company name otherwise. Each side ends in a non-term
/// character, so the needle keeps its boundaries.
fn surroundings(needle: &str) -> (&'static str, &'static str) {
    let hostlike = !needle.contains(char::is_whitespace)
        && needle.contains('.')
        && !needle.contains(['\\', '/']);
    if hostlike {
        ("https://edge.", ":443/api")
    } else if needle.contains('\\') {
        ("C:\\Temp\\", "\\run.exe")
    } else {
        ("Contoso, ", " (x64)")
    }
}

/// A character of `from` that does not occur in `needle` in any case.
/// (The candidates avoid `k` and `s`, which non-ASCII characters fold to: U+212A, U+017F.)
fn pick(from: &str, needle: &str) -> Option<char> {
    from.chars()
        .find(|&c| !needle.chars().any(|n| n.eq_ignore_ascii_case(&c)))
}

/// The needle upper-cased (or, if that changes nothing, lower-cased) one code point at a
/// time, using only mappings that go back and forth (`ä`↔`Ä`); `None` when no character has
/// such a mapping (digits, CJK).
pub fn case_variant(needle: &str) -> Option<(&'static str, String)> {
    let flip = |up: bool| -> String {
        needle
            .chars()
            .map(|c| {
                let to = if up {
                    oracle::single(c.to_uppercase())
                } else {
                    oracle::single(c.to_lowercase())
                };
                match to {
                    Some(u) if oracle::is_case_pair(c, u) => u,
                    _ => c,
                }
            })
            .collect()
    };
    let up = flip(true);
    if up != needle {
        return Some(("upper-cased", up));
    }
    let low = flip(false);
    (low != needle).then_some(("lower-cased", low))
}

fn describe_values(values: &BTreeMap<String, Val>) -> String {
    let parts: Vec<String> = values
        .iter()
        .map(|(k, v)| match v {
            Val::Text(s) => format!("{k} = {s:?}"),
            Val::Null => format!("{k} = null"),
            Val::Missing => format!("no {k}"),
        })
        .collect();
    if parts.is_empty() {
        "an event with no columns".into()
    } else {
        parts.join(", ")
    }
}

#[cfg(test)]
mod tests;
