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

mod explain;
mod need;
mod search;

use crate::ir::ConstList;
use crate::scan::Literals;
use crate::Plan;
use need::{folds_to_ascii, structure, wheres, Anchor, Need, Scope};
use search::Kind;

/// The keys whose presence makes a line a possible Windows event (the reader's own check,
/// `scry_io::windows`, searches the same four).
pub const WINDOWS_KEYS: [&str; 4] = ["\"Channel\"", "\"log_name\"", "\"winlog\"", "\"Event\""];

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
    /// What each literal of the searcher stands for, by its id: the anchors, then the
    /// extras ([`search::extras`]).
    kinds: Vec<Kind>,
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
            // The table's fallback anchors, derived once for all its bodies that need them.
            let mut table_fallback: Option<Vec<Anchor>> = None;
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
                        table_fallback
                            .get_or_insert_with(|| {
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
                            })
                            .clone()
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
        let spacing = !value_start_columns.is_empty();
        let extras = search::extras(spacing, folds_to_ascii());
        // Anchors are searched ASCII-case-insensitively: `AnyDesk` and `anydesk` are one.
        let mut literals: Vec<Vec<u8>> = anchors
            .iter()
            .map(|(a, _)| a.to_ascii_lowercase().into_bytes())
            .collect();
        literals.sort_unstable();
        literals.dedup();
        let mut kinds = vec![Kind::Always; literals.len()];
        for (text, kind) in extras {
            literals.push(text);
            kinds.push(kind);
        }
        if !windows {
            // Lines that may be Windows events must be parsed: their keys are searched in
            // this scan rather than by the reader in a pass of its own over every piece (5–6 %
            // of a run over every pack on storage-account lines).
            for key in WINDOWS_KEYS {
                literals.push(key.to_ascii_lowercase().into_bytes());
                kinds.push(Kind::Always);
            }
        }
        let searcher = Literals::with_common(
            literals.iter().map(Vec::as_slice),
            // Every line spells its keys: windows inside them would hit on every line.
            structure_keys(plan).as_bytes(),
        );
        Prefilter::On(Anchors {
            searcher,
            kinds,
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
                if std::str::from_utf8(line).is_err() {
                    return true;
                }
                let mut any = false;
                a.searcher.each_match(line, |p, id| {
                    any = a.holds(line, p, id);
                    !any
                });
                any
            }
        }
    }
}

impl Prefilter {
    /// True when lines that may be Windows events need no search of their own: always. Either
    /// every anchor is a substring of a value that holds on the mapped row as in the event's
    /// text (no table-name fallback, no `"Column":"value` start, no column the Sysmon mapping
    /// fills with a constant or a boolean: [`Anchors::windows`]), or the scan searches the
    /// keys of Windows events too ([`WINDOWS_KEYS`]), so such lines are marked. Off, it never
    /// rules anything out anyway.
    pub fn covers_windows(&self) -> bool {
        true
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
        a.searcher.each_match(piece, |p, id| {
            if a.holds(piece, p, id) {
                marks.push(p);
            }
            true
        });
        invalid_utf8(piece, &mut marks);
        marks.sort_unstable();
        marks.dedup();
        Some(marks)
    }
}

/// Appends where each invalid UTF-8 sequence of `piece` starts. `simdutf8` says whether there
/// is any at several times the speed of `std::str::from_utf8` (which took 5 % of a run over
/// every pack); only a piece that holds some is walked with `from_utf8`, for the places.
fn invalid_utf8(piece: &[u8], marks: &mut Vec<usize>) {
    if simdutf8::basic::from_utf8(piece).is_ok() {
        return;
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

impl Anchors {
    /// The scan over the anchors and the extra literals, as a run uses it (for the benches).
    pub fn scanner(&self) -> &Literals {
        &self.searcher
    }

    /// True when the scan's hit at `p` on literal `id` makes its line a candidate.
    fn holds(&self, text: &[u8], p: usize, id: u32) -> bool {
        search::holds(
            self.kinds.get(id as usize).copied().unwrap_or(Kind::Always),
            text,
            p,
        )
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

#[cfg(test)]
mod tests;
