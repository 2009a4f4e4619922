//! What each rule body needs: its anchors, derived from the planned IR (the soundness
//! argument is in the module docs of [`super`]).

use crate::compile::Step;
use crate::ir::{ConstList, Expr, ExprKind, SetOp};
use crate::kql;
use crate::value::Value;
use crate::{Plan, TablePlan};
use scry_grammar::StrOpKind;
use std::sync::OnceLock;

/// Shortest anchor worth searching for: shorter ones would make nearly every line a
/// candidate (and are then no better than the table name).
const MIN_ANCHOR: usize = 3;

/// The anchors one body needs: at least one must occur. An empty list needs the impossible
/// (the body keeps nothing).
pub(super) type Need = Option<Vec<Anchor>>;

/// An ASCII character that may appear in an anchor: printable and not a JSON escape target
/// (`\"`, `\\`, `\/`).
pub(super) fn safe(c: char) -> bool {
    matches!(c, ' '..='~') && !matches!(c, '"' | '\\' | '/')
}

/// Most case variants one non-ASCII anchor is searched in: a Cyrillic or Greek run doubles
/// its variants with each cased letter, so longer runs are cut to a window within the budget.
pub(super) const MAX_VARIANTS: usize = 16;

/// A character that may appear in a non-ASCII anchor: a safe ASCII one or any non-ASCII one.
/// A JSON string holds a non-ASCII character as its UTF-8 bytes unless it spells it `\uXXXX`,
/// and a line holding any `\u` escape is always a candidate.
fn wide_safe(c: char) -> bool {
    safe(c) || !c.is_ascii()
}

/// Every character with the same simple case folding as `c`, `c` included (ASCII ones once,
/// lower-cased: the search is ASCII-case-insensitive). The inverse of the folding table,
/// computed from it.
pub(super) fn case_class(c: char) -> Vec<char> {
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
pub(super) fn folds_to_ascii() -> &'static [String] {
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
pub(super) struct Anchor {
    pub(super) text: String,
    pub(super) weak: bool,
    /// It also holds for a Windows event's row, whose columns may come from other keys
    /// ([`crate::schema::windows`]): a substring of a value that the event's text holds too.
    pub(super) windows: bool,
}

/// Where anchors are chosen: the table's atoms, the text every line holds, and the sets'
/// contents once a first pass has collected them.
pub(super) struct Scope<'a> {
    pub(super) tp: &'a TablePlan,
    /// Column names, table names and the shapes' keys, lower-cased.
    pub(super) structure: &'a Structure,
    pub(super) sets: Option<&'a [ConstList]>,
    /// Columns the Sysmon mapping fills with a constant or a boolean.
    pub(super) synthesized: &'a [&'static str],
}

impl Scope<'_> {
    pub(super) fn anchor(&self, text: &str) -> Anchor {
        let weak = self.structure.contains(&text.to_ascii_lowercase());
        Anchor {
            text: text.to_string(),
            weak,
            windows: true,
        }
    }

    /// The best run of safe characters in `needle` (strong before weak, then longest).
    pub(super) fn anchor_of(&self, needle: &str) -> Option<Anchor> {
        needle
            .split(|c: char| !safe(c))
            .filter(|run| run.len() >= MIN_ANCHOR)
            .map(|run| self.anchor(run))
            .min_by(|a, b| a.weak.cmp(&b.weak).then(b.text.len().cmp(&a.text.len())))
    }

    /// The anchors one of which a value containing `needle` (up to case) holds: the best ASCII
    /// run ([`Scope::anchor_of`]), else a run with non-ASCII characters, in each of its case
    /// variants ([`case_variants`]).
    pub(super) fn anchors_of(&self, needle: &str) -> Option<Vec<Anchor>> {
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
            ExprKind::Atom(id) if id.0 as usize >= self.tp.atom_needles.len() => {
                // A value atom: `Column == 'text'` (or one member of an `in` list) needs the
                // text as the whole value; a number gives no anchor.
                let i = id.0 as usize - self.tp.atom_needles.len();
                match self.tp.value_atoms.get(i)? {
                    (column, Value::Str(s)) => self.whole_values(column, std::slice::from_ref(s)),
                    _ => None,
                }
            }
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
            ExprKind::And(v) => self.need_all(v.iter()),
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
        let strings: Vec<String> = values
            .iter()
            .map(|v| match v {
                Value::Str(s) => Some(s.clone()),
                _ => None,
            })
            .collect::<Option<_>>()?;
        if whole {
            return self.whole_values(name, &strings);
        }
        let mut out = Vec::new();
        for s in &strings {
            out.extend(self.anchors_of(s)?);
        }
        Some(self.on_column(name, out))
    }

    /// A test that `column`'s whole value is one of `values`.
    fn whole_values(&self, column: &str, values: &[String]) -> Need {
        let mut out = Vec::new();
        for s in values {
            match self.value_start(column, s) {
                Some(a) => out.extend(a),
                None => out.extend(self.anchors_of(s)?),
            }
        }
        Some(self.on_column(column, out))
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
    pub(super) fn need_all<'e>(&self, preds: impl Iterator<Item = &'e Expr>) -> Need {
        preds.filter_map(|x| self.need(x)).min_by(|a, b| {
            // Prefer strong anchors, then the fewest alternatives, then the longest shortest
            // anchor.
            let weak = |n: &Vec<Anchor>| n.iter().any(|a| a.weak);
            let shortest =
                |n: &Vec<Anchor>| n.iter().map(|a| a.text.len()).min().unwrap_or(usize::MAX);
            weak(a)
                .cmp(&weak(b))
                .then(a.len().cmp(&b.len()))
                .then(shortest(b).cmp(&shortest(a)))
        })
    }
}

/// The text every line of some table holds: column names, table names and the shapes' keys,
/// lower-cased, each distinct name once. Asked once per anchor, and a plan over thousands of
/// rules has tens of thousands of anchors, many alike: answers are remembered.
pub(super) struct Structure {
    names: String,
    answers: std::cell::RefCell<std::collections::HashMap<String, bool>>,
}

impl Structure {
    /// The structure of these names (one per line, lower-cased).
    pub(super) fn of_lines(text: &str) -> Structure {
        let names: std::collections::BTreeSet<&str> = text.lines().collect();
        Structure {
            names: names.into_iter().collect::<Vec<_>>().join("\n"),
            answers: Default::default(),
        }
    }

    /// Whether `lower` (lower-cased, with no line break) occurs in one of the names.
    pub(super) fn contains(&self, lower: &str) -> bool {
        if let Some(&known) = self.answers.borrow().get(lower) {
            return known;
        }
        let found = self.names.contains(lower);
        self.answers.borrow_mut().insert(lower.to_string(), found);
        found
    }
}

/// Column names of every table and the keys of the input shapes.
pub(super) fn structure(plan: &Plan) -> Structure {
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
    Structure::of_lines(&out)
}

pub(super) fn wheres(steps: &[Step]) -> impl Iterator<Item = &Expr> {
    steps.iter().filter_map(|s| match s {
        Step::Where(p) => Some(p),
        Step::Extend(..) => None,
    })
}
