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
//! - **Case.** Case-insensitive operators fold both sides per code point. Anchors are ASCII
//!   and searched ASCII-case-insensitively; non-ASCII needle characters end a run. A few
//!   non-ASCII characters fold *to* ASCII (the Kelvin sign to `k`, the long s to `s`; the list
//!   is computed from the folding table, not written by hand): a line containing one is always
//!   a candidate.
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
use crate::plan::{Plan, TablePlan};
use crate::schema::TYPE_SUFFIXES;
use crate::value::Value;
use aho_corasick::{AhoCorasick, AhoCorasickBuilder, AhoCorasickKind, MatchKind};
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
    searcher: AhoCorasick,
    /// The characters folding to ASCII, searched apart: added to the case-insensitive
    /// automaton they would cost it its fast ASCII prefilter (measured: 0.7 vs 5.9 GB/s).
    triggers: Vec<memchr::memmem::Finder<'static>>,
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
    /// ([`crate::io::windows`]): a substring of a value that the event's text holds too.
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

    /// For a test on the start of a value (`startswith`, `==`, `=~`, `in`): the key and the
    /// value's beginning as JSON writes them, `"FileName":"level` (and with one space after
    /// the colon). Only for values that start with a letter no JSON literal starts with, so
    /// that a number, `true`, `null` or an object in a string column cannot be missed; other
    /// spacing around the colon makes a line a candidate anyway ([`GUARDS`]).
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
                let n = at_start.or_else(|| self.anchor_of(needle).map(|a| vec![a]));
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
                None => out.push(self.anchor_of(s)?),
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

/// Spacing around a key's colon other than `":"` and `": "`: a line holding any is a
/// candidate, so value-start anchors need not foresee it.
const GUARDS: &[&str] = &["\" :", "\"\t:", "\":\t", "\":  ", "\": \t", "\":\r"];

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
        let synthesized = crate::io::windows::synthesized_columns();
        let mut windows = true;
        let mut anchors: std::collections::BTreeMap<String, Vec<String>> = Default::default();
        let mut per_table = Vec::new();
        let mut value_starts = false;
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
                    value_starts |= !fallback && a.text.starts_with('"');
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
        let triggers = folds_to_ascii()
            .iter()
            .map(|c| memchr::memmem::Finder::new(c.as_bytes()).into_owned())
            .collect();
        // Many anchors: a full DFA. With that many, the automaton's SIMD prefilters do not
        // apply, and the DFA scans twice as fast as the default NFA (measured: 0.65 vs 0.35
        // GB/s for the 278 anchors of rules/rmm). Few anchors: the default, whose prefilter
        // (memchr on rare bytes) the DFA would lose (3.4 vs 1.5 GB/s for one anchor). The
        // DFA's table grows with the anchors' total length, hence the upper bound.
        let suffix_guards: Vec<String> = if value_starts {
            TYPE_SUFFIXES.iter().map(|s| format!("{s}\"")).collect()
        } else {
            Vec::new()
        };
        let total: usize = anchors.iter().map(|(a, _)| a.len()).sum();
        let kind = (anchors.len() > 16 && total <= 64 * 1024).then_some(AhoCorasickKind::DFA);
        let searcher = AhoCorasickBuilder::new()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::Standard)
            .kind(kind)
            .build(
                anchors
                    .iter()
                    .map(|(a, _)| a.as_str())
                    .chain(GUARDS.iter().copied().filter(|_| value_starts))
                    .chain(suffix_guards.iter().map(String::as_str)),
            );
        match searcher {
            Ok(searcher) => Prefilter::On(Anchors {
                searcher,
                triggers,
                anchors,
                per_table,
                windows,
            }),
            Err(e) => Prefilter::Off(format!("anchors too many for the searcher: {e}")),
        }
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
                if !line.is_ascii()
                    && (std::str::from_utf8(line).is_err()
                        || a.triggers.iter().any(|t| t.find(line).is_some()))
                {
                    return true;
                }
                has_unicode_escape(line)
                    || memchr::memmem::find(line, b"\"records\"").is_some()
                    || a.searcher.is_match(line)
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
        let mut marks: Vec<usize> = a.searcher.find_iter(piece).map(|m| m.start()).collect();
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
        marks.extend(memchr::memmem::find_iter(piece, b"\"records\""));
        if !piece.is_ascii() {
            for t in &a.triggers {
                marks.extend(t.find_iter(piece));
            }
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
mod tests {
    use super::*;

    fn anchor_of(needle: &str) -> Option<String> {
        let tp = TablePlan {
            name: String::new(),
            rules: vec![],
            sets: vec![],
            matchers: vec![],
            atoms: 0,
            atom_text: vec![],
            atom_needles: vec![],
            fields: vec![],
            timestamp: None,
        };
        let scope = Scope {
            tp: &tp,
            structure: "processintegritylevel\n",
            sets: None,
            synthesized: &[],
        };
        scope.anchor_of(needle).map(|a| a.text)
    }

    #[test]
    fn anchors_avoid_escapes_non_ascii_and_fold_targets() {
        assert_eq!(
            anchor_of("Krämer IT Solutions GmbH").as_deref(),
            Some("mer IT Solutions GmbH")
        );
        assert_eq!(anchor_of("server-eye.de").as_deref(), Some("server-eye.de"));
        // `/` may be written `\/`, `"` as `\"`.
        assert_eq!(anchor_of("a/bcd/ef").as_deref(), Some("bcd"));
        assert_eq!(anchor_of(r#"ab"cdef"#).as_deref(), Some("cdef"));
        assert_eq!(anchor_of("ÄÖ"), None);
        assert_eq!(anchor_of("ab"), None);
        // A run every process event holds (inside a column name) loses to a shorter one.
        assert_eq!(anchor_of("Level/Agentx").as_deref(), Some("Agentx"));
    }

    #[test]
    fn the_characters_folding_to_ascii_are_found_from_the_table() {
        let found: Vec<char> = folds_to_ascii()
            .iter()
            .filter_map(|s| s.chars().next())
            .collect();
        assert!(found.contains(&'\u{212A}'), "Kelvin sign: {found:?}");
        assert!(found.contains(&'\u{017F}'), "long s: {found:?}");
    }

    #[test]
    fn unicode_escapes_are_told_from_escaped_backslashes() {
        assert!(has_unicode_escape(br#"{"a":"Kr\u00e4mer"}"#));
        assert!(!has_unicode_escape(br#"{"a":"C:\\users"}"#));
        assert!(has_unicode_escape(br#"{"a":"C:\\\u0041"}"#));
        assert!(!has_unicode_escape(br#"{"a":"x\\"}"#));
    }
}
