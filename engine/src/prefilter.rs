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
//!   `"Type": "T"`), so the table name is that body's anchor. With `--table`, such a body turns
//!   the prefilter off.
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
use crate::ir::{Expr, ExprKind};
use crate::kql;
use crate::plan::{Plan, TablePlan};
use crate::value::Value;
use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use std::fmt;
use std::sync::OnceLock;

/// Shortest anchor worth searching for: shorter ones would make nearly every line a
/// candidate (and are then no better than the table name).
const MIN_ANCHOR: usize = 3;

/// The anchors one body needs: at least one must occur. An empty list needs the impossible
/// (the body keeps nothing).
type Need = Option<Vec<String>>;

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

/// The longest run of safe characters in `needle`, if long enough.
fn anchor_of(needle: &str) -> Option<String> {
    let mut best: &str = "";
    for run in needle.split(|c: char| !safe(c)) {
        if run.len() > best.len() {
            best = run;
        }
    }
    (best.len() >= MIN_ANCHOR).then(|| best.to_string())
}

/// What `e` needs to be true, over table plan `tp`'s atoms.
fn need(e: &Expr, tp: &TablePlan) -> Need {
    match &e.kind {
        ExprKind::Atom(id) => {
            let (pred, needle) = tp.atom_needles.get(id.0 as usize)?;
            // Every positive operator of the has / contains / starts / ends / =~ families
            // needs the needle inside the value; `!` forms are `Not(Atom)`.
            if pred.negated() {
                return None;
            }
            anchor_of(needle).map(|a| vec![a])
        }
        ExprKind::In {
            negated: false,
            lhs,
            list,
            ..
        } if matches!(lhs.kind, ExprKind::Field { .. }) && lhs.ty.is_stringish() => {
            // Membership needs the value to equal an element (case-folded for `in~`).
            list.values
                .iter()
                .map(|v| match v {
                    Value::Str(s) => anchor_of(s),
                    _ => None,
                })
                .collect()
        }
        ExprKind::Const(Value::Bool(false)) => Some(Vec::new()),
        ExprKind::And(v) => v.iter().filter_map(|x| need(x, tp)).min_by(|a, b| {
            // Prefer the fewest alternatives, then the longest shortest anchor.
            let shortest = |n: &Vec<String>| n.iter().map(String::len).min().unwrap_or(usize::MAX);
            a.len().cmp(&b.len()).then(shortest(b).cmp(&shortest(a)))
        }),
        ExprKind::Or(v) => {
            let mut all = Vec::new();
            for x in v {
                all.extend(need(x, tp)?);
            }
            Some(all)
        }
        _ => None,
    }
}

/// What a body with these `where` predicates needs.
fn need_all<'e>(preds: impl Iterator<Item = &'e Expr>, tp: &TablePlan) -> Need {
    let preds: Vec<Expr> = preds.cloned().collect();
    need(&Expr::and(preds), tp)
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
        let mut anchors: std::collections::BTreeMap<String, Vec<String>> = Default::default();
        for tp in &plan.tables {
            if table.is_some_and(|t| t != tp.name) {
                continue;
            }
            let mut bodies: Vec<(String, Need)> = Vec::new();
            for &(si, bi) in &tp.sets {
                let set = &plan.sets[si];
                let n = need_all(set.bodies[bi].filters.iter(), tp);
                bodies.push((format!("set {}", set.name), n));
            }
            if !sets_only {
                for &(ri, bi) in &tp.rules {
                    let r = &plan.rules[ri];
                    let b = &r.bodies[bi];
                    let n = need_all(wheres(b.relaxed.as_deref().unwrap_or(&b.steps)), tp);
                    bodies.push((format!("rule {}", r.name), n));
                }
            }
            for (who, n) in bodies {
                let n = match (n, table) {
                    (Some(n), _) => n,
                    (None, None) => vec![tp.name.clone()],
                    (None, Some(_)) => {
                        return Prefilter::Off(format!(
                            "{who} needs no literal this prefilter can prove (and --table names the table)"
                        ))
                    }
                };
                for a in n {
                    anchors.entry(a).or_default().push(who.clone());
                }
            }
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
        let searcher = AhoCorasickBuilder::new()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::Standard)
            .build(anchors.iter().map(|(a, _)| a.as_bytes()));
        match searcher {
            Ok(searcher) => Prefilter::On(Anchors {
                searcher,
                triggers,
                anchors,
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
                    "  always parsed: lines with a \\u escape, an Event Hub batch, a JSON array, or {} (fold to ASCII)",
                    triggers.join(" ")
                )?;
                for (anchor, who) in &a.anchors {
                    writeln!(
                        f,
                        "  {} <- {}",
                        serde_json::Value::String(anchor.clone()),
                        who.join(", ")
                    )?;
                }
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
