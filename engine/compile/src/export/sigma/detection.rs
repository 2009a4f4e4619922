//! A scry condition → Sigma search identifiers and a `condition`.
//!
//! The condition is first read into a small tree ([`Cond`]) whose leaves are Sigma
//! detection items (`Field|modifiers: values`), each with exactly the meaning of the scry
//! test it comes from; anything without such an item is refused with the reason. The tree is
//! then laid out as selections ([`Layout`]): the atoms of an `and` share one selection map
//! (while their keys differ), the atoms of an `or` on one key become one value list, and the
//! rest is written in the condition with `and`, `or`, `not` and parentheses.

use super::Refuse;
use crate::kql::fold::{fold_char, is_term_char};
use crate::schema::TableSchema;
use crate::value::Type;
use scry_grammar::print::{self, Dialect};
use scry_grammar::{BinOp, Expr, ExprKind, ListOp, Literal, StrOp, StrOpKind};
use std::collections::{BTreeMap, HashMap};
use std::sync::OnceLock;

/// A value of a detection item.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Val {
    /// A string as Sigma reads it: wildcards and backslashes already escaped for plain
    /// values, the pattern itself for `re`.
    Str(String),
    /// A whole number.
    Long(i64),
    /// A real number.
    Real(f64),
    /// `null`: the field is missing or null.
    Null,
}

/// One detection item: `key` is the field with its modifiers (`DestinationHostname|re`).
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Item {
    pub key: String,
    pub values: Vec<Val>,
}

/// A condition over detection items.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Cond {
    Item(Item),
    And(Vec<Cond>),
    Or(Vec<Cond>),
    Not(Box<Cond>),
}

/// What reading a condition needs: the table, the Sigma field of each column, the `let`s.
pub(super) struct Reader<'a> {
    pub table: &'a TableSchema,
    /// Column → Sigma field, from the logsource's target.
    pub fields: &'a BTreeMap<String, String>,
    /// The logsource category, for messages.
    pub category: &'a str,
    /// The file's and the rule's `let`s, by name.
    pub lets: &'a HashMap<String, &'a Expr>,
}

fn refuse<T>(e: &Expr, reason: impl Into<String>) -> Result<T, Refuse> {
    Err(Refuse {
        span: e.span,
        reason: reason.into(),
    })
}

fn shown(e: &Expr) -> String {
    let s = print::expr(e, Dialect::Scry);
    if s.chars().count() > 60 {
        let cut: String = s.chars().take(57).collect();
        format!("`{cut}...`")
    } else {
        format!("`{s}`")
    }
}

impl Reader<'_> {
    /// `e` as a condition; `neg` says whether it sits under an odd number of `not`s (within
    /// its own `where` or exclusion).
    pub fn cond(&self, e: &Expr, neg: bool) -> Result<Cond, Refuse> {
        match &e.kind {
            ExprKind::Binary { op, lhs, rhs, .. } => match op {
                BinOp::And => Ok(Cond::And(vec![self.cond(lhs, neg)?, self.cond(rhs, neg)?])),
                BinOp::Or => Ok(Cond::Or(vec![self.cond(lhs, neg)?, self.cond(rhs, neg)?])),
                BinOp::Str(s) => self.string_op(e, *s, lhs, rhs),
                BinOp::MatchesRegex => {
                    let field = self.field(lhs, true)?;
                    let pattern = self.string(rhs)?;
                    Ok(item(format!("{field}|re"), vec![Val::Str(pattern)]))
                }
                BinOp::Eq | BinOp::NotEq | BinOp::EqCi | BinOp::NotEqCi => {
                    self.equality(e, *op, lhs, rhs)
                }
                BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => {
                    let m = match op {
                        BinOp::Lt => "lt",
                        BinOp::Le => "lte",
                        BinOp::Gt => "gt",
                        _ => "gte",
                    };
                    self.ordering(e, m, lhs, rhs, neg)
                }
                _ => refuse(e, format!("arithmetic has no Sigma form: {}", shown(e))),
            },
            ExprKind::Not(x) => Ok(Cond::Not(Box::new(self.cond(x, !neg)?))),
            ExprKind::InList { op, lhs, list, .. } => self.list_op(e, *op, lhs, list),
            ExprKind::Between {
                negated,
                lhs,
                low,
                high,
            } => {
                if *negated {
                    return refuse(
                        e,
                        "`!between` has no Sigma form (a null is neither in nor out of the range)",
                    );
                }
                Ok(Cond::And(vec![
                    self.ordering(e, "gte", lhs, low, neg)?,
                    self.ordering(e, "lte", lhs, high, neg)?,
                ]))
            }
            ExprKind::Call { name, args } => {
                let n = name.name.to_ascii_lowercase();
                match (n.as_str(), args.as_slice()) {
                    ("isempty", [x])
                    | ("isnotempty", [x])
                    | ("isnull", [x])
                    | ("isnotnull", [x]) => {
                        let (field, ty) = self.column(x)?;
                        if n.contains("null") && ty.is_stringish() {
                            // A string is never null: `isnull` is false, `isnotnull` true.
                            return refuse(e, format!("`{n}` of a string column is a constant"));
                        }
                        let v = if ty.is_stringish() {
                            Val::Str(String::new())
                        } else {
                            Val::Null
                        };
                        let empty = item(field, vec![v]);
                        Ok(if n.starts_with("isnot") {
                            Cond::Not(Box::new(empty))
                        } else {
                            empty
                        })
                    }
                    _ => refuse(e, format!("the function `{}` has no Sigma form", name.name)),
                }
            }
            ExprKind::Literal(_) => refuse(e, format!("a constant condition {}", shown(e))),
            ExprKind::Name(_) => refuse(e, format!("a bool column as a condition {}", shown(e))),
            _ => refuse(e, format!("no Sigma form for {}", shown(e))),
        }
    }

    /// The column `e` names and its type (aliases resolved).
    fn column(&self, e: &Expr) -> Result<(String, Type), Refuse> {
        let ExprKind::Name(id) = &e.kind else {
            return refuse(
                e,
                format!("only a column can be tested in Sigma, not {}", shown(e)),
            );
        };
        let n = id.name.as_str();
        let col = if self.table.column(n).is_some() {
            n
        } else if let Some(c) = self.table.alias(n) {
            c
        } else if self.lets.contains_key(n) {
            return refuse(
                e,
                format!("`{n}` is a `let`, not a column: Sigma tests fields"),
            );
        } else {
            return refuse(e, format!("`{n}` is not a column of {}", self.table.name));
        };
        let Some(ty) = self.table.column(col) else {
            return refuse(e, format!("`{col}` is not a column of {}", self.table.name));
        };
        match self.fields.get(col) {
            Some(f) => Ok((f.clone(), ty)),
            None => refuse(
                e,
                format!(
                    "column `{col}` of {} has no field in Sigma's {}",
                    self.table.name, self.category
                ),
            ),
        }
    }

    /// The Sigma field of a string column (`text`), or of a number column.
    fn field(&self, e: &Expr, text: bool) -> Result<String, Refuse> {
        let (f, ty) = self.column(e)?;
        if text && !ty.is_stringish() {
            return refuse(e, format!("a string test on a {ty} column"));
        }
        Ok(f)
    }

    /// A constant string (a literal or a `let` of one).
    fn string(&self, e: &Expr) -> Result<String, Refuse> {
        match self.constant(e)? {
            Literal::Str(s) => Ok(s),
            _ => refuse(e, format!("expected a string, found {}", shown(e))),
        }
    }

    fn constant(&self, e: &Expr) -> Result<Literal, Refuse> {
        match &e.kind {
            ExprKind::Literal(l) => Ok(l.clone()),
            ExprKind::Neg(x) => match self.constant(x)? {
                Literal::Long(n) => n
                    .checked_neg()
                    .map(Literal::Long)
                    .map_or_else(|| refuse(e, "a number out of range"), Ok),
                Literal::Real(r) => Ok(Literal::Real(-r)),
                _ => refuse(e, format!("no Sigma form for {}", shown(e))),
            },
            ExprKind::Name(id) => match self.lets.get(&id.name) {
                Some(v) => self.constant(v),
                None => refuse(
                    e,
                    format!(
                        "a comparison of two columns has no Sigma form: {}",
                        shown(e)
                    ),
                ),
            },
            _ => refuse(
                e,
                format!("a computed value has no Sigma form: {}", shown(e)),
            ),
        }
    }

    /// The elements of a list operand, nested lists and `let` lists flattened.
    fn elements(&self, list: &[Expr], out: &mut Vec<Literal>) -> Result<(), Refuse> {
        for x in list {
            match &x.kind {
                ExprKind::List(xs) => self.elements(xs, out)?,
                ExprKind::Name(id) => match self.lets.get(&id.name) {
                    Some(v) => match &v.kind {
                        ExprKind::List(xs) => self.elements(xs, out)?,
                        ExprKind::Query(_) => {
                            return refuse(
                                x,
                                format!("`{}` is a set of another table's values (a join); Sigma rules read one event", id.name),
                            )
                        }
                        _ => out.push(self.constant(v)?),
                    },
                    None => return refuse(x, format!("`{}` is not a constant list", id.name)),
                },
                _ => out.push(self.constant(x)?),
            }
        }
        Ok(())
    }

    fn string_op(&self, e: &Expr, op: StrOp, lhs: &Expr, rhs: &Expr) -> Result<Cond, Refuse> {
        let field = self.field(lhs, true)?;
        let needle = self.string(rhs)?;
        if needle.is_empty() {
            return refuse(
                e,
                format!("an empty needle ({} is true on every value)", op.spelling()),
            );
        }
        let atom = needle_item(&field, op.kind, op.case_sensitive, &needle);
        Ok(if op.negated {
            Cond::Not(Box::new(atom))
        } else {
            atom
        })
    }

    fn equality(&self, e: &Expr, op: BinOp, lhs: &Expr, rhs: &Expr) -> Result<Cond, Refuse> {
        let (field, ty) = self.column(lhs)?;
        let value = self.constant(rhs)?;
        let cased = matches!(op, BinOp::Eq | BinOp::NotEq);
        let atom = match (ty.is_stringish(), ty.is_numeric(), value) {
            (true, _, Literal::Str(s)) => {
                let key = if cased {
                    format!("{field}|cased")
                } else {
                    field
                };
                item(key, vec![Val::Str(escape(&s))])
            }
            // `==` on a number is false for a null, `!=` true: two-valued, as Sigma's item
            // and its `not`.
            (false, true, Literal::Long(n)) if cased => item(field, vec![Val::Long(n)]),
            (_, _, v) => {
                return refuse(
                    e,
                    format!(
                        "`{}` of a {ty} column with {v:?} has no Sigma form",
                        print::expr(e, Dialect::Scry)
                            .split_whitespace()
                            .nth(1)
                            .unwrap_or("==")
                    ),
                )
            }
        };
        Ok(if matches!(op, BinOp::NotEq | BinOp::NotEqCi) {
            Cond::Not(Box::new(atom))
        } else {
            atom
        })
    }

    fn ordering(
        &self,
        e: &Expr,
        modifier: &str,
        lhs: &Expr,
        rhs: &Expr,
        neg: bool,
    ) -> Result<Cond, Refuse> {
        let (field, ty) = self.column(lhs)?;
        if !ty.is_numeric() {
            return refuse(e, format!("an ordering on a {ty} column has no Sigma form"));
        }
        if neg {
            // KQL: a comparison with a null is null, and `not null` drops the row; Sigma's
            // `not` of a false item keeps it.
            return refuse(
                e,
                "a negated number comparison (KQL drops a null there, Sigma's `not` keeps it)",
            );
        }
        let v = match self.constant(rhs)? {
            Literal::Long(n) => Val::Long(n),
            Literal::Real(r) if r.is_finite() => Val::Real(r),
            other => return refuse(rhs, format!("a {other:?} bound has no Sigma form")),
        };
        Ok(item(format!("{field}|{modifier}"), vec![v]))
    }

    fn list_op(&self, e: &Expr, op: ListOp, lhs: &Expr, list: &[Expr]) -> Result<Cond, Refuse> {
        let mut values = Vec::new();
        self.elements(list, &mut values)?;
        if values.is_empty() {
            return refuse(e, "an empty list (a constant condition)");
        }
        let (field, ty) = self.column(lhs)?;
        let strings = || -> Result<Vec<String>, Refuse> {
            values
                .iter()
                .map(|v| match v {
                    Literal::Str(s) if ty.is_stringish() => Ok(s.clone()),
                    other => refuse(
                        e,
                        format!("a {other:?} element of a list tested against a {ty} column"),
                    ),
                })
                .collect()
        };
        let cond = match op {
            ListOp::In | ListOp::NotIn | ListOp::InCi | ListOp::NotInCi => {
                let cased = matches!(op, ListOp::In | ListOp::NotIn);
                let vals = if ty.is_numeric() && cased {
                    values
                        .iter()
                        .map(|v| match v {
                            Literal::Long(n) => Ok(Val::Long(*n)),
                            other => refuse(
                                e,
                                format!(
                                    "a {other:?} element of a list tested against a {ty} column"
                                ),
                            ),
                        })
                        .collect::<Result<Vec<_>, _>>()?
                } else if ty.is_stringish() {
                    strings()?.iter().map(|s| Val::Str(escape(s))).collect()
                } else {
                    return refuse(e, format!("`{op:?}` on a {ty} column has no Sigma form"));
                };
                let key = if cased && ty.is_stringish() {
                    format!("{field}|cased")
                } else {
                    field
                };
                let atom = item(key, vals);
                if matches!(op, ListOp::NotIn | ListOp::NotInCi) {
                    Cond::Not(Box::new(atom))
                } else {
                    atom
                }
            }
            ListOp::HasAny | ListOp::HasAll => {
                let needles = strings()?;
                if needles.iter().any(String::is_empty) {
                    return refuse(e, "an empty needle in a `has` list");
                }
                let atoms: Vec<Cond> = needles
                    .iter()
                    .map(|n| needle_item(&field, StrOpKind::Has, false, n))
                    .collect();
                if op == ListOp::HasAny {
                    Cond::Or(atoms)
                } else {
                    Cond::And(atoms)
                }
            }
        };
        Ok(cond)
    }
}

fn item(key: String, values: Vec<Val>) -> Cond {
    Cond::Item(Item { key, values })
}

/// The detection item of `field <kind>[_cs] needle` (the needle is not empty).
fn needle_item(field: &str, kind: StrOpKind, cased: bool, needle: &str) -> Cond {
    let cs = if cased { "|cased" } else { "" };
    let plain = |m: &str| item(format!("{field}|{m}{cs}"), vec![Val::Str(escape(needle))]);
    let (first, last) = match (needle.chars().next(), needle.chars().last()) {
        (Some(f), Some(l)) => (f, l),
        _ => return plain("contains"),
    };
    // KQL folds the needle and the text first, and judges term characters after folding.
    let term = |c: char| is_term_char(if cased { c } else { fold_char(c) });
    let (left, right) = match kind {
        StrOpKind::Contains => return plain("contains"),
        StrOpKind::StartsWith => return plain("startswith"),
        StrOpKind::EndsWith => return plain("endswith"),
        StrOpKind::Has => (term(first), term(last)),
        StrOpKind::HasPrefix => (term(first), false),
        StrOpKind::HasSuffix => (false, term(last)),
    };
    if !left && !right {
        // No edge needs a boundary: `has` is then exactly a (case-folded) substring test.
        return plain("contains");
    }
    item(
        format!("{field}|re"),
        vec![Val::Str(term_regex(needle, cased, left, right))],
    )
}

/// Sigma's escaping of a plain value: `\`, `*` and `?` are written `\\`, `\*`, `\?`.
pub(super) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '\\' | '*' | '?') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// KQL's `has` as a regular expression: the needle, each character as the class of the
/// characters that fold to the same one (unless `cased`), with a non-term character or an
/// end of the text on each side that needs a boundary. The regex is case-sensitive: an
/// `(?i)` flag would also fold the boundary class. Case-insensitive `has` judges the text's
/// characters after folding, so its boundary class also holds the few characters that are
/// not letters or digits but fold to one (U+0345, a mark, folds to `ι`).
pub(super) fn term_regex(needle: &str, cased: bool, left: bool, right: bool) -> String {
    let mut non_term = String::from(r"[^\p{L}\p{N}");
    if !cased {
        for c in &folding().into_term {
            non_term.push_str(&class_member(*c));
        }
    }
    non_term.push(']');
    let mut re = String::new();
    if left {
        re.push_str(&format!("(^|{non_term})"));
    }
    for c in needle.chars() {
        let class = if cased {
            None
        } else {
            folding().classes.get(&c)
        };
        match class {
            Some(cs) => {
                re.push('[');
                for m in cs {
                    re.push_str(&class_member(*m));
                }
                re.push(']');
            }
            None => re.push_str(&regex::escape(c.encode_utf8(&mut [0; 4]))),
        }
    }
    if right {
        re.push_str(&format!("({non_term}|$)"));
    }
    re
}

fn class_member(c: char) -> String {
    match c {
        '\\' | ']' | '[' | '^' | '-' | '&' | '~' => format!("\\{c}"),
        c => c.to_string(),
    }
}

/// What case folding does to the character classes `has` is defined by.
struct Folding {
    /// Each character that shares its folding with others → all of them.
    classes: HashMap<char, Vec<char>>,
    /// The characters that are not term characters but fold to one. (No term character
    /// folds to a non-term one in the tables scry uses: a test holds them to that, which the
    /// boundary class relies on.)
    into_term: Vec<char>,
}

fn folding() -> &'static Folding {
    static FOLDING: OnceLock<Folding> = OnceLock::new();
    FOLDING.get_or_init(|| {
        let mut by_fold: HashMap<char, Vec<char>> = HashMap::new();
        let mut into_term = Vec::new();
        for x in (0..=0x10FFFFu32).filter_map(char::from_u32) {
            let f = fold_char(x);
            if f == x {
                continue;
            }
            by_fold.entry(f).or_insert_with(|| vec![f]).push(x);
            if !is_term_char(x) && is_term_char(f) {
                into_term.push(x);
            }
        }
        let mut classes = HashMap::new();
        for members in by_fold.values() {
            for m in members {
                classes.insert(*m, members.clone());
            }
        }
        Folding { classes, into_term }
    })
}

/// Search identifiers and the condition text over them.
#[derive(Debug, Default)]
pub(super) struct Layout {
    /// `(name, items)`, in the order they are written.
    pub selections: Vec<(String, Vec<Item>)>,
}

impl Layout {
    /// Lays `c` out under names starting with `prefix`; returns the condition text.
    pub fn place(&mut self, c: &Cond, prefix: &str) -> String {
        match c {
            Cond::Item(i) => self.new_selection(prefix, vec![i.clone()]),
            Cond::Not(x) => format!("not {}", self.operand(x, prefix)),
            Cond::And(xs) => {
                // The atoms share selections (a map is an `and`) as long as their keys
                // differ; `and` commutes, so they are written first.
                let xs = flatten(xs, true);
                let mut groups: Vec<Vec<Item>> = Vec::new();
                let mut others = Vec::new();
                for x in &xs {
                    match x {
                        Cond::Item(i) => {
                            match groups.iter_mut().find(|g| g.iter().all(|c| c.key != i.key)) {
                                Some(g) => g.push(i.clone()),
                                None => groups.push(vec![i.clone()]),
                            }
                        }
                        other => others.push(other),
                    }
                }
                let mut parts: Vec<String> = groups
                    .into_iter()
                    .map(|g| self.new_selection(prefix, g))
                    .collect();
                for o in others {
                    parts.push(self.operand(o, prefix));
                }
                parts.join(" and ")
            }
            Cond::Or(xs) => {
                let xs = flatten(xs, false);
                // Items on one key become one value list (a list is an `or`).
                let mut merged: Vec<Cond> = Vec::new();
                for x in xs {
                    if let Cond::Item(i) = &x {
                        if let Some(Cond::Item(m)) = merged
                            .iter_mut()
                            .find(|m| matches!(m, Cond::Item(m) if m.key == i.key))
                        {
                            m.values.extend(i.values.iter().cloned());
                            continue;
                        }
                    }
                    merged.push(x);
                }
                let parts: Vec<String> = merged.iter().map(|x| self.operand(x, prefix)).collect();
                parts.join(" or ")
            }
        }
    }

    /// `c` as an operand of `and`, `or` or `not`: parenthesized unless it is one name.
    fn operand(&mut self, c: &Cond, prefix: &str) -> String {
        let s = self.place(c, prefix);
        if !matches!(c, Cond::Not(_)) && s.contains(' ') {
            format!("({s})")
        } else {
            s
        }
    }

    fn new_selection(&mut self, prefix: &str, items: Vec<Item>) -> String {
        let taken = |n: &str| self.selections.iter().any(|(s, _)| s == n);
        let mut name = prefix.to_string();
        let mut k = 1;
        while taken(&name) {
            k += 1;
            name = format!("{prefix}_{k}");
        }
        self.selections.push((name.clone(), items));
        name
    }
}

/// The children of nested `and`s (`and_` true) or `or`s, in one list.
fn flatten(xs: &[Cond], and_: bool) -> Vec<Cond> {
    let mut out = Vec::new();
    for x in xs {
        match x {
            Cond::And(ys) if and_ => out.extend(flatten(ys, true)),
            Cond::Or(ys) if !and_ => out.extend(flatten(ys, false)),
            other => out.push(other.clone()),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folding_moves_only_marks_into_the_term_characters() {
        assert_eq!(folding().into_term, vec!['\u{345}']);
        let out_of_term = (0..=0x10FFFFu32)
            .filter_map(char::from_u32)
            .filter(|c| is_term_char(*c) && !is_term_char(fold_char(*c)));
        assert_eq!(out_of_term.count(), 0);
    }

    #[test]
    fn has_regex_folds_needles_and_keeps_boundaries_case_sensitive() {
        assert_eq!(
            term_regex("Ab.c", false, true, true),
            "(^|[^\\p{L}\\p{N}\u{345}])[aA][bB]\\.[cC]([^\\p{L}\\p{N}\u{345}]|$)"
        );
        assert_eq!(
            term_regex("k", false, true, false),
            "(^|[^\\p{L}\\p{N}\u{345}])[kK\u{212A}]"
        );
        assert_eq!(
            term_regex("x-1", true, false, true),
            r"x\-1([^\p{L}\p{N}]|$)"
        );
        let re = regex::Regex::new(&term_regex("server-eye.de", false, true, true)).unwrap();
        for (hay, want) in [
            ("https://www.server-eye.de/x", true),
            ("myserver-eye.de", false),
            ("server-eye.dev", false),
            ("SERVER-EYE.DE", true),
            ("\u{345}server-eye.de", false),
            ("_server-eye.de_", true),
            ("éserver-eye.de", false),
            ("server-eye.de٣", false),
        ] {
            assert_eq!(re.is_match(hay), want, "{hay}");
        }
    }

    #[test]
    fn ors_on_one_key_become_one_list_and_ands_share_a_selection() {
        let i = |k: &str, v: &str| {
            Cond::Item(Item {
                key: k.into(),
                values: vec![Val::Str(v.into())],
            })
        };
        let c = Cond::And(vec![
            Cond::Or(vec![i("A", "1"), i("A", "2"), i("B", "3")]),
            i("C", "4"),
            Cond::Not(Box::new(i("D", "5"))),
            i("C", "6"),
        ]);
        let mut l = Layout::default();
        let text = l.place(&c, "selection");
        assert_eq!(
            text,
            "selection and selection_2 and (selection_3 or selection_4) and not selection_5"
        );
        assert_eq!(l.selections[2].1[0].values.len(), 2);
    }
}
