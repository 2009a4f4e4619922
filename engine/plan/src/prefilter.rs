//! A sound prefilter over raw input lines: rule out records that no rule can keep, before
//! they are parsed.
//!
//! Every rule body needs some row to pass its `where` steps. From the planned IR we derive,
//! per body, a set of **anchors** at least one of which must occur in the raw text of any
//! record the body keeps: `Signer has 'Krämer IT Solutions GmbH'` needs the value to contain
//! the needle, so the raw JSON line contains its longest *safe* run, `mer IT Solutions GmbH`.
//! A record containing no anchor of any body is counted as evaluated and not parsed.
//!
//! Why this never loses a match (each point is a proof obligation, tested in
//! `tests/prefilter.rs`):
//! - **Escapes.** A JSON string may spell any character as `\uXXXX`, and `"`, `\`, `/` as
//!   `\"`, `\\`, `\/`. Anchors never contain `"`, `\` or `/`, and a line holding any `\u`
//!   escape is always a candidate, so the raw bytes of an anchor are the decoded bytes.
//! - **Case.** Case-insensitive operators fold both sides per code point. Anchors are searched
//!   ASCII-case-insensitively; an anchor is the needle's best run of safe ASCII characters,
//!   and only a needle with none (`上海贝锐信息科技股份有限公司`, `ООО`) gets a run holding
//!   non-ASCII characters, searched as UTF-8 bytes in *every* spelling that folds as it does
//!   (each character replaced by each member of its folding class, the classes computed by
//!   inverting the folding table; a run with more than [`MAX_VARIANTS`] spellings is cut to a
//!   window with fewer). A JSON line spells a non-ASCII character as its UTF-8 bytes or as a
//!   `\u` escape, and a line with an escape is always a candidate. A few non-ASCII characters
//!   fold *to* ASCII (the Kelvin sign to `k`, the long s to `s`; the list is computed from the
//!   folding table, not written by hand): a line containing one is always a candidate, so an
//!   ASCII anchor need not spell them.
//! - **Logic.** `a and b` needs what either needs (the better one is kept), `a or b` needs one
//!   of what both need, anything else (negations, `isempty`, comparisons, computed columns)
//!   needs nothing provable. Exclusions only remove rows, so they are ignored. A rule testing
//!   `distinct` sets uses its relaxed steps, and each set's own filters count as a body.
//! - **Tables.** A body that needs nothing provable still needs its table: without
//!   `--table`, a record names its table in its text (`"category": "AdvancedHunting-T"` or
//!   `"Type": "T"`), so the table name is one of that body's anchors. A record that names no
//!   table is given one from its columns only when exactly one table has them all
//!   ([`crate::schema::Catalog::fit`]), so for any other table it holds a column that table
//!   lacks: each key of [`crate::schema::Catalog::distinguishing`], as `"Column`, is an anchor
//!   too (a type-suffixed `"Column_long` contains it). With `--table`, such a body turns the
//!   prefilter off.
//! - **Spacing.** A value-start anchor (`"FileName":"x` and `"FileName": "x`) foresees no
//!   other spacing around its key's colon: a line with a closing quote before whitespace, or a
//!   colon before whitespace other than one space, is a candidate (`odd_spacing`).
//! - **Union exports.** A type-suffixed key (`"FileName_string":"x"`) is read as its column,
//!   so a value-start anchor `"FileName":"x` would miss it: a line holding a suffix followed
//!   by `"` is a candidate whenever there are value-start anchors.
//! - **Shapes.** Only lines that hold one record are ruled out: a line with `"records"` (an
//!   Event Hub batch) or not of the form `{...}` is always parsed, so the count of records
//!   stays exact.
//!
//! What it gives up: a line is ruled out without being parsed, so what only parsing finds in a
//! line no rule could keep (a malformed value inside, an unknown table, a bad timestamp) is not
//! reported. Lines that are not one UTF-8 `{...}` object (truncated lines, binary garbage) are
//! always parsed, so they are reported as before; `--strict` and `--no-prefilter` parse every
//! line.

use crate::compile::Step;
use crate::ir::{ConstList, Expr, ExprKind, SetOp};
use crate::kql;
use crate::scan::Literals;
use crate::schema::TYPE_SUFFIXES;
use crate::value::Value;
use crate::{Plan, TablePlan};
use scry_grammar::StrOpKind;
use std::fmt;
use std::sync::OnceLock;

/// Shortest anchor worth searching for: shorter ones would make nearly every line a
/// candidate (and are then no better than the table name).
const MIN_ANCHOR: usize = 3;

/// The anchors one body needs: at least one must occur. An empty list needs the impossible
/// (the body keeps nothing).
type Need = Option<Vec<Anchor>>;

/// A built prefilter, or why there is none.
#[derive(Debug, Clone)]
pub enum Prefilter {
    /// Lines without any anchor are ruled out.
    On(Anchors),
    /// Every line is parsed.
    Off(String),
}

/// The anchors of a run and the searcher over them.
#[derive(Debug, Clone)]
pub struct Anchors {
    searcher: Literals,
    /// Lines with unusual spacing around a colon must be parsed ([`odd_spacing`]): some anchor
    /// is a value start, `"Column":"value`.
    spacing: bool,
    /// The characters folding to ASCII (UTF-8), searched apart by their lead bytes
    /// ([`Anchors::leads`]), and only in text that is not all ASCII.
    triggers: Vec<Vec<u8>>,
    /// The distinct first bytes of the triggers.
    leads: Vec<u8>,
    /// Each anchor with what asked for it (`rule name` / `set name`), sorted.
    pub anchors: Vec<(String, Vec<String>)>,
    /// Per table, what each rule body and set needs (for `scry explain`).
    pub per_table: Vec<(String, Vec<BodyNeed>)>,
    /// Every anchor also holds on the line of a Windows event whose row a rule keeps, so such
    /// lines need no search of their own (see [`Prefilter::covers_windows`]).
    pub windows: bool,
}

/// What one rule body or set needs, for `scry explain`.
#[derive(Debug, Clone)]
pub struct BodyNeed {
    /// `rule name` or `set name`.
    pub who: String,
    /// The anchors, one of which a line must hold.
    pub anchors: Vec<String>,
    /// True when they are the table's name because nothing else could be proven.
    pub fallback: bool,
}

/// An ASCII character that may appear in an anchor: printable and not a JSON escape target
/// (`\"`, `\\`, `\/`).
fn safe(c: char) -> bool {
    matches!(c, ' '..='~') && !matches!(c, '"' | '\\' | '/')
}

/// Most case variants one non-ASCII anchor is searched in: a Cyrillic or Greek run doubles
/// its variants with each cased letter, so longer runs are cut to a window within the budget.
const MAX_VARIANTS: usize = 16;

/// A character that may appear in a non-ASCII anchor: a safe ASCII one or any non-ASCII one.
/// A JSON string holds a non-ASCII character as its UTF-8 bytes unless it spells it `\uXXXX`,
/// and a line holding any `\u` escape is always a candidate.
fn wide_safe(c: char) -> bool {
    safe(c) || !c.is_ascii()
}

/// Every character with the same simple case folding as `c`, `c` included (ASCII ones once,
/// lower-cased: the search is ASCII-case-insensitive). The inverse of the folding table,
/// computed from it.
fn case_class(c: char) -> Vec<char> {
    static CLASSES: OnceLock<std::collections::HashMap<char, Vec<char>>> = OnceLock::new();
    let classes = CLASSES.get_or_init(|| {
        let mut by_fold: std::collections::HashMap<char, Vec<char>> = Default::default();
        for d in (0u32..=0x10ffff).filter_map(char::from_u32) {
            let f = kql::fold_char(d);
            if f != d {
                by_fold.entry(f).or_default().push(d);
            }
        }
        let mut out: std::collections::HashMap<char, Vec<char>> = Default::default();
        for (f, mut members) in by_fold {
            members.push(f);
            let mut members: Vec<char> = members
                .into_iter()
                .map(|m| m.to_ascii_lowercase())
                .collect();
            members.sort_unstable();
            members.dedup();
            if members.len() > 1 {
                for &m in &members {
                    out.insert(m, members.clone());
                }
            }
        }
        out
    });
    if c.is_ascii() {
        return vec![c.to_ascii_lowercase()];
    }
    classes.get(&c).cloned().unwrap_or_else(|| vec![c])
}

/// Every spelling of `run` that folds as `run` does, or `None` past [`MAX_VARIANTS`].
fn case_variants(run: &[char]) -> Option<Vec<String>> {
    let mut out = vec![String::new()];
    for &c in run {
        let class = case_class(c);
        if out.len() * class.len() > MAX_VARIANTS {
            return None;
        }
        out = out
            .iter()
            .flat_map(|prefix| {
                class.iter().map(move |&m| {
                    let mut s = prefix.clone();
                    s.push(m);
                    s
                })
            })
            .collect();
    }
    Some(out)
}

/// For a needle with no safe ASCII run of [`MIN_ANCHOR`] bytes (`上海贝锐`, `ООО Ромашка`): the
/// longest window (in bytes) of [`wide_safe`] characters holding a non-ASCII one whose case
/// variants stay within [`MAX_VARIANTS`], as those variants.
fn wide_run(needle: &str) -> Option<Vec<String>> {
    let mut best: Option<(usize, Vec<String>)> = None;
    for run in needle.split(|c: char| !wide_safe(c)) {
        let chars: Vec<char> = run.chars().collect();
        for start in 0..chars.len() {
            // Variants only grow with the window: stop at the first end past the budget.
            for end in (start + 1..=chars.len()).rev() {
                let w = &chars[start..end];
                let bytes: usize = w.iter().map(|c| c.len_utf8()).sum();
                if bytes < MIN_ANCHOR || best.as_ref().is_some_and(|(b, _)| *b >= bytes) {
                    break;
                }
                if w.iter().all(char::is_ascii) {
                    continue;
                }
                if let Some(v) = case_variants(w) {
                    best = Some((bytes, v));
                    break;
                }
            }
        }
    }
    best.map(|(_, v)| v)
}

/// The non-ASCII characters that case-fold to ASCII, UTF-8 encoded: a line holding one is
/// always a candidate.
fn folds_to_ascii() -> &'static [String] {
    static CHARS: OnceLock<Vec<String>> = OnceLock::new();
    CHARS.get_or_init(|| {
        (0x80u32..=0x10ffff)
            .filter_map(char::from_u32)
            .filter(|&c| kql::fold_char(c).is_ascii())
            .map(String::from)
            .collect()
    })
}

/// One literal a line must contain. A *weak* one also occurs in text every line of some table
/// holds (a column name such as `ProcessIntegrityLevel` holds `level`): sound, but it rules
/// little out, so `and` prefers anything else.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Anchor {
    text: String,
    weak: bool,
    /// It also holds for a Windows event's row, whose columns may come from other keys
    /// ([`crate::schema::windows`]): a substring of a value that the event's text holds too.
    windows: bool,
}

/// Where anchors are chosen: the table's atoms, the text every line holds, and the sets'
/// contents once a first pass has collected them.
struct Scope<'a> {
    tp: &'a TablePlan,
    /// Column names, table names and the shapes' keys, lower-cased, one per line.
    structure: &'a str,
    sets: Option<&'a [ConstList]>,
    /// Columns the Sysmon mapping fills with a constant or a boolean.
    synthesized: &'a [&'static str],
}

impl Scope<'_> {
    fn anchor(&self, text: &str) -> Anchor {
        let weak = self.structure.contains(&text.to_ascii_lowercase());
        Anchor {
            text: text.to_string(),
            weak,
            windows: true,
        }
    }

    /// The best run of safe characters in `needle` (strong before weak, then longest).
    fn anchor_of(&self, needle: &str) -> Option<Anchor> {
        needle
            .split(|c: char| !safe(c))
            .filter(|run| run.len() >= MIN_ANCHOR)
            .map(|run| self.anchor(run))
            .min_by(|a, b| a.weak.cmp(&b.weak).then(b.text.len().cmp(&a.text.len())))
    }

    /// The anchors one of which a value containing `needle` (up to case) holds: the best ASCII
    /// run ([`Scope::anchor_of`]), else a run with non-ASCII characters, in each of its case
    /// variants ([`case_variants`]).
    fn anchors_of(&self, needle: &str) -> Option<Vec<Anchor>> {
        if let Some(a) = self.anchor_of(needle) {
            return Some(vec![a]);
        }
        wide_run(needle).map(|v| v.iter().map(|t| self.anchor(t)).collect())
    }

    /// For a test on the start of a value (`startswith`, `==`, `=~`, `in`): the key and the
    /// value's beginning as JSON writes them, `"FileName":"level` (and with one space after
    /// the colon). Only for values that start with a letter no JSON literal starts with, so
    /// that a number, `true`, `null` or an object in a string column cannot be missed; other
    /// spacing around the colon makes a line a candidate anyway (see [`Prefilter::build_with_sets`]).
    fn value_start(&self, column: &str, needle: &str) -> Option<Vec<Anchor>> {
        let prefix: String = needle.chars().take_while(|&c| safe(c)).collect();
        let first = prefix.chars().next()?;
        let lower = prefix.to_ascii_lowercase();
        let literal = ["true", "false", "null"]
            .iter()
            .any(|l| l.starts_with(&lower) || lower.starts_with(l));
        if !first.is_ascii_alphabetic() || literal || prefix.len() < MIN_ANCHOR {
            return None;
        }
        Some(
            [
                format!("\"{column}\":\"{prefix}"),
                format!("\"{column}\": \"{prefix}"),
            ]
            .into_iter()
            // A Windows event spells the mapped column's source key, not `"Column"`.
            .map(|text| Anchor {
                text,
                weak: false,
                windows: false,
            })
            .collect(),
        )
    }

    /// What `e` needs to be true.
    fn need(&self, e: &Expr) -> Need {
        match &e.kind {
            ExprKind::Atom(id) => {
                let (column, pred, needle) = self.tp.atom_needles.get(id.0 as usize)?;
                // Every positive operator of the has / contains / starts / ends / =~ families
                // needs the needle inside the value; `!` forms are `Not(Atom)`.
                if pred.negated() {
                    return None;
                }
                let starts = matches!(pred.kind(), Some(StrOpKind::StartsWith) | None);
                let at_start = starts.then(|| self.value_start(column, needle)).flatten();
                let n = at_start.or_else(|| self.anchors_of(needle));
                n.map(|n| self.on_column(column, n))
            }
            ExprKind::In {
                negated: false,
                lhs,
                list,
                ..
            } => self.members(lhs, &list.values, true),
            ExprKind::InSet { op, lhs, set, .. } => {
                let values = &self.sets?.get(set.0 as usize)?.values;
                match op {
                    SetOp::In { negated: false, .. } => self.members(lhs, values, true),
                    SetOp::HasAny => self.members(lhs, values, false),
                    _ => None,
                }
            }
            ExprKind::Const(Value::Bool(false)) => Some(Vec::new()),
            ExprKind::And(v) => v.iter().filter_map(|x| self.need(x)).min_by(|a, b| {
                // Prefer strong anchors, then the fewest alternatives, then the longest
                // shortest anchor.
                let weak = |n: &Vec<Anchor>| n.iter().any(|a| a.weak);
                let shortest =
                    |n: &Vec<Anchor>| n.iter().map(|a| a.text.len()).min().unwrap_or(usize::MAX);
                weak(a)
                    .cmp(&weak(b))
                    .then(a.len().cmp(&b.len()))
                    .then(shortest(b).cmp(&shortest(a)))
            }),
            ExprKind::Or(v) => {
                let mut all = Vec::new();
                for x in v {
                    all.extend(self.need(x)?);
                }
                Some(all)
            }
            _ => None,
        }
    }

    /// `x in (values)` (`whole`: the value equals one) or `x has_any (values)`, on a string
    /// column.
    fn members(&self, lhs: &Expr, values: &[Value], whole: bool) -> Need {
        let ExprKind::Field { name, .. } = &lhs.kind else {
            return None;
        };
        if !lhs.ty.is_stringish() {
            return None;
        }
        let mut out = Vec::new();
        for v in values {
            let Value::Str(s) = v else { return None };
            let at_start = whole.then(|| self.value_start(name, s)).flatten();
            match at_start {
                Some(a) => out.extend(a),
                None => out.extend(self.anchors_of(s)?),
            }
        }
        Some(self.on_column(name, out))
    }

    /// Anchors of a test on `column`: they cannot vouch for Windows event rows when the
    /// Sysmon mapping fills the column with text the event does not hold.
    fn on_column(&self, column: &str, mut n: Vec<Anchor>) -> Vec<Anchor> {
        if self.synthesized.contains(&column) {
            n.iter_mut().for_each(|a| a.windows = false);
        }
        n
    }

    /// What a body with these `where` predicates needs.
    fn need_all<'e>(&self, preds: impl Iterator<Item = &'e Expr>) -> Need {
        let preds: Vec<Expr> = preds.cloned().collect();
        self.need(&Expr::and(preds))
    }
}

/// Column names of every table and the keys of the input shapes, lower-cased.
fn structure(plan: &Plan) -> String {
    let mut out = String::from(
        "advancedhunting-\nproperties\ncategory\nrecords\ntenantid\noperationname\ntype\n",
    );
    for t in plan.catalog.tables() {
        out.push_str(&t.name.to_ascii_lowercase());
        out.push('\n');
        for (c, _) in &t.columns {
            out.push_str(&c.to_ascii_lowercase());
            out.push('\n');
        }
    }
    out
}

fn wheres(steps: &[Step]) -> impl Iterator<Item = &Expr> {
    steps.iter().filter_map(|s| match s {
        Step::Where(p) => Some(p),
        Step::Extend(..) => None,
    })
}

impl Prefilter {
    /// The prefilter for `plan`'s rules and sets (`sets_only`: for the first pass of a run with
    /// `distinct` sets, which reads nothing else). `table` is `--table`, if given.
    pub fn build(plan: &Plan, table: Option<&str>, sets_only: bool) -> Prefilter {
        Prefilter::build_with_sets(plan, table, sets_only, None)
    }

    /// As [`Prefilter::build`], for a second pass: the sets' contents are known, so a rule
    /// testing one needs one of its values.
    pub fn build_with_sets(
        plan: &Plan,
        table: Option<&str>,
        sets_only: bool,
        sets: Option<&[ConstList]>,
    ) -> Prefilter {
        let structure = structure(plan);
        let synthesized = crate::schema::windows::synthesized_columns();
        let mut windows = true;
        let mut anchors: std::collections::BTreeMap<String, Vec<String>> = Default::default();
        let mut per_table = Vec::new();
        let mut value_start_columns = std::collections::BTreeSet::new();
        for tp in &plan.tables {
            if table.is_some_and(|t| t != tp.name) {
                continue;
            }
            let scope = Scope {
                tp,
                structure: &structure,
                sets,
                synthesized: &synthesized,
            };
            let mut bodies: Vec<(String, Need)> = Vec::new();
            for &(si, bi) in &tp.sets {
                let set = &plan.sets[si];
                let n = scope.need_all(set.bodies[bi].filters.iter());
                bodies.push((format!("set {}", set.name), n));
            }
            if !sets_only {
                for &(ri, bi) in &tp.rules {
                    let r = &plan.rules[ri];
                    let b = &r.bodies[bi];
                    let steps = match (&b.relaxed, sets) {
                        (Some(relaxed), None) => relaxed,
                        _ => &b.steps,
                    };
                    let n = scope.need_all(wheres(steps));
                    bodies.push((format!("rule {}", r.name), n));
                }
            }
            let mut listed = Vec::new();
            for (who, n) in bodies {
                let fallback = n.is_none();
                let n = match (n, table) {
                    (Some(n), _) => n,
                    (None, None) => {
                        // A record that names no table may be given this one from its columns
                        // (`Catalog::fit`): then it holds a key this table has and some other
                        // lacks, spelled `"Column` (or `"Column_type` in a union export); or
                        // by its `ActionType` (`Catalog::infer`): then it holds one of the
                        // values the table documents, as written (the catalog admits only
                        // values JSON does not escape).
                        let keys = plan.catalog.distinguishing(&tp.name);
                        let values = plan
                            .catalog
                            .table(&tp.name)
                            .map_or(&[][..], |t| t.action_types());
                        std::iter::once(scope.anchor(&tp.name))
                            .chain(keys.into_iter().map(|c| Anchor {
                                text: format!("\"{c}"),
                                weak: true,
                                windows: false,
                            }))
                            .chain(values.iter().map(|v| Anchor {
                                text: v.clone(),
                                weak: true,
                                windows: false,
                            }))
                            .collect()
                    }
                    (None, Some(_)) => {
                        return Prefilter::Off(format!(
                            "{who} needs no literal this prefilter can prove (and --table names the table)"
                        ))
                    }
                };
                listed.push(BodyNeed {
                    who: who.clone(),
                    anchors: n.iter().map(|a| a.text.clone()).collect(),
                    fallback,
                });
                for a in n {
                    if let Some(key) = a.text.strip_prefix('"').filter(|_| !fallback) {
                        // A value-start anchor: `"Column":"value` or `"Column": "value`.
                        if let Some((column, _)) = key.split_once('"') {
                            value_start_columns.insert(column.to_string());
                        }
                    }
                    // A mapped row's table name is not in its line either.
                    windows &= !fallback && a.windows && holds_in_source(&a.text);
                    anchors.entry(a.text).or_default().push(who.clone());
                }
            }
            per_table.push((tp.name.clone(), listed));
        }
        let anchors: Vec<(String, Vec<String>)> = anchors
            .into_iter()
            .map(|(a, mut who)| {
                who.sort();
                who.dedup();
                (a, who)
            })
            .collect();
        let triggers: Vec<Vec<u8>> = folds_to_ascii()
            .iter()
            .map(|c| c.as_bytes().to_vec())
            .collect();
        let mut leads: Vec<u8> = triggers.iter().map(|t| t[0]).collect();
        leads.sort_unstable();
        leads.dedup();
        // What else makes a line a candidate, searched with the anchors: an Event Hub batch,
        // and with value-start anchors, a type-suffixed key of a union export (`_string"`).
        // Unusual spacing around a colon is searched apart ([`odd_spacing`]): as literals its
        // patterns would be 2 bytes long, and the shortest literal sets the scan's stride.
        let mut extra = vec!["\"records\"".to_string()];
        let spacing = !value_start_columns.is_empty();
        if spacing {
            extra.extend(TYPE_SUFFIXES.iter().map(|s| format!("{s}\"")));
        }
        let searcher = Literals::with_common(
            anchors
                .iter()
                .map(|(a, _)| a.as_bytes())
                .chain(extra.iter().map(String::as_bytes)),
            // Every line spells its keys: windows inside them would hit on every line.
            structure_keys(plan).as_bytes(),
        );
        Prefilter::On(Anchors {
            searcher,
            spacing,
            triggers,
            leads,
            anchors,
            per_table,
            windows,
        })
    }

    /// True when `line` (one raw input line) may hold a record some rule keeps, or may hold
    /// several records: it must be parsed.
    pub fn candidate(&self, line: &[u8]) -> bool {
        match self {
            Prefilter::Off(_) => true,
            Prefilter::On(a) => {
                let line = line.trim_ascii();
                if line.first() != Some(&b'{') || line.last() != Some(&b'}') {
                    return true;
                }
                if !line.is_ascii() {
                    let mut any = std::str::from_utf8(line).is_err();
                    a.each_trigger(line, |_| {
                        any = true;
                        false
                    });
                    if any {
                        return true;
                    }
                }
                has_unicode_escape(line)
                    || a.searcher.is_match(line)
                    || (a.spacing && odd_spacing(line, |_| false))
            }
        }
    }
}

impl Prefilter {
    /// True when lines that may be Windows events need no search of their own: every anchor
    /// is a substring of a value that holds on the mapped row as in the event's text (no
    /// table-name fallback, no `"Column":"value` start, no column the Sysmon mapping fills
    /// with a constant or a boolean). Off, it never rules anything out anyway.
    pub fn covers_windows(&self) -> bool {
        match self {
            Prefilter::Off(_) => true,
            Prefilter::On(a) => a.windows,
        }
    }

    /// The places in `piece` (whole JSON lines) where a line must be parsed: every anchor
    /// occurrence, `\u` escape, `"records"`, character folding to ASCII and invalid UTF-8
    /// sequence; sorted. A `{...}` line holding none of them is one [`Prefilter::candidate`]
    /// would rule out. `None` when the prefilter is off.
    pub fn marks(&self, piece: &[u8]) -> Option<Vec<usize>> {
        let Prefilter::On(a) = self else {
            return None;
        };
        let mut marks: Vec<usize> = Vec::new();
        a.searcher.find_all(piece, &mut marks);
        for p in memchr::memmem::find_iter(piece, b"\\u") {
            let run = piece[..=p]
                .iter()
                .rev()
                .take_while(|&&b| b == b'\\')
                .count();
            if run % 2 == 1 {
                marks.push(p);
            }
        }
        if a.spacing {
            odd_spacing(piece, |p| {
                marks.push(p);
                true
            });
        }
        if !piece.is_ascii() {
            a.each_trigger(piece, |p| {
                marks.push(p);
                true
            });
            let mut at = 0;
            while let Err(e) = std::str::from_utf8(&piece[at..]) {
                let bad = at + e.valid_up_to();
                marks.push(bad);
                at = bad + e.error_len().unwrap_or(piece.len() - bad).max(1);
                if at >= piece.len() {
                    break;
                }
            }
        }
        marks.sort_unstable();
        marks.dedup();
        Some(marks)
    }
}

impl Anchors {
    /// The scan over the anchors and the extra literals, as a run uses it (for the benches).
    pub fn scanner(&self) -> &Literals {
        &self.searcher
    }

    /// Calls `found(at)` for each character folding to ASCII in `text`, until it returns false.
    fn each_trigger(&self, text: &[u8], mut found: impl FnMut(usize) -> bool) {
        let mut check = |p: usize| -> bool {
            let hit = self.triggers.iter().any(|t| text[p..].starts_with(t));
            !hit || found(p)
        };
        // Two lead bytes today (0xC5 for the long s, 0xE2 for the Kelvin sign).
        match self.leads[..] {
            [] => {}
            [x] => {
                let _ = memchr::memchr_iter(x, text).all(&mut check);
            }
            [x, y] => {
                let _ = memchr::memchr2_iter(x, y, text).all(&mut check);
            }
            [x, y, z] => {
                let _ = memchr::memchr3_iter(x, y, z, text).all(&mut check);
            }
            _ => {
                let _ = (0..text.len())
                    .filter(|&p| self.leads.contains(&text[p]))
                    .all(&mut check);
            }
        }
    }
}

/// True when `anchor`, found in a value of a Windows event as the reader rebuilt it, is also
/// in the event's raw text. Values the reader rebuilt from parsed JSON (`serde_json::Value`)
/// are re-serialized: nested JSON loses its spacing, a number its spelling (`1E3` becomes
/// `1000.0`). An anchor with no JSON punctuation lies inside one token, and if it is not all
/// number characters, inside a string, whose characters are the source's (escapes aside:
/// anchors have none, and a line with `\u` is always a candidate).
fn holds_in_source(anchor: &str) -> bool {
    !anchor.contains([',', ':', '[', ']', '{', '}'])
        && !anchor
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '+' | '-'))
}

/// Finds whitespace around a colon that the value-start anchors (`"Column":"value`,
/// `"Column": "value`) do not foresee, calling `found(at)` for each until it returns false;
/// true when it was stopped. In JSON a key is `"Column"`, whitespace, `:`, whitespace, the
/// value; the anchors cover no whitespace before the colon and one space after it. Anything
/// else puts, somewhere in the line, a closing `"` before whitespace (`" `, `"\t`, `"\r`; a
/// `"` after an odd run of backslashes is escaped, not closing), or a `:` before `\t`, `\r`
/// or a space followed by whitespace. These are searched as the rare bytes `\t` and `\r`
/// (one per CRLF line) and the pairs `" ` and `:  `.
fn odd_spacing(text: &[u8], mut found: impl FnMut(usize) -> bool) -> bool {
    let closing = |q: usize| text[..q].iter().rev().take_while(|&&b| b == b'\\').count() % 2 == 0;
    for p in memchr::memchr2_iter(b'\t', b'\r', text) {
        let before = |k: usize| p.checked_sub(k).map(|i| text[i]);
        let hit = (before(1) == Some(b'"') && closing(p - 1))
            || before(1) == Some(b':')
            || (before(1) == Some(b' ') && before(2) == Some(b':'));
        if hit && !found(p) {
            return true;
        }
    }
    for p in memchr::memmem::find_iter(text, b"\" ") {
        if closing(p) && !found(p) {
            return true;
        }
    }
    for p in memchr::memmem::find_iter(text, b":  ") {
        if !found(p) {
            return true;
        }
    }
    false
}

/// Every table's column names as JSON keys (`"FileName":`), and the shapes' keys: text in
/// nearly every line.
fn structure_keys(plan: &Plan) -> String {
    let mut out = String::from(
        "\"time\":\"tenantId\":\"operationName\":\"category\":\"AdvancedHunting-\"properties\":{\"Type\":\n",
    );
    for t in plan.catalog.tables() {
        out.push_str(&format!("\"{}\"\n", t.name));
        for (c, _) in &t.columns {
            out.push_str(&format!("\"{c}\":\n"));
        }
    }
    out
}

/// True when `line` holds a `\u` escape: an odd number of backslashes before a `u`.
fn has_unicode_escape(line: &[u8]) -> bool {
    let mut i = 0;
    while let Some(p) = memchr::memchr(b'\\', &line[i..]) {
        let start = i + p;
        let mut end = start;
        while end < line.len() && line[end] == b'\\' {
            end += 1;
        }
        if (end - start) % 2 == 1 && line.get(end) == Some(&b'u') {
            return true;
        }
        i = end;
        if i >= line.len() {
            break;
        }
    }
    false
}

impl fmt::Display for Prefilter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Prefilter::Off(why) => writeln!(f, "prefilter: off ({why})"),
            Prefilter::On(a) => {
                writeln!(
                    f,
                    "prefilter: {} anchor(s), searched ASCII-case-insensitively in each raw line; a line with none is not parsed",
                    a.anchors.len()
                )?;
                let triggers: Vec<String> = folds_to_ascii()
                    .iter()
                    .map(|c| format!("U+{:04X}", c.chars().next().map_or(0, u32::from)))
                    .collect();
                writeln!(
                    f,
                    "  always parsed: lines with a \\u escape, an Event Hub batch, a JSON array, or {} (fold to ASCII){}",
                    triggers.join(" "),
                    if a.windows {
                        ""
                    } else {
                        ", and lines that may be Windows events (some anchor may not hold on their mapped rows)"
                    }
                )?;
                for (table, bodies) in &a.per_table {
                    writeln!(f, "  table {table}:")?;
                    for BodyNeed {
                        who,
                        anchors: needs,
                        fallback,
                    } in bodies
                    {
                        let needs: Vec<String> = needs
                            .iter()
                            .map(|n| serde_json::Value::String(n.clone()).to_string())
                            .collect();
                        let any = if needs.is_empty() {
                            "nothing can pass".to_string()
                        } else {
                            needs.join(" | ")
                        };
                        let note = if *fallback {
                            " (no literal to prove: the table's name, or a key only this table has, for records naming no table)"
                        } else {
                            ""
                        };
                        writeln!(f, "    {who}: {any}{note}")?;
                    }
                }
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests;
