//! What a step's `where` says about one column, read from the conditions as written: the
//! values it fixes the column to, and whether it rules out the empty string.
//!
//! The lints of `lint_steps.rs` are only as good as these facts are sure, so a fact is derived
//! only from a top-level conjunct (every row of the step passes it) of a few plain shapes; any
//! other shape says nothing. A column an `extend` of the step assigns is left alone: after the
//! `extend`, the name means the computed value.

use super::lower::{lower_standalone, Lets};
use crate::row::FieldSet;
use crate::schema::TableSchema;
use crate::value::{Type, Value};
use scry_grammar::{self as ast, BinOp, ListOp};

/// One step (or join side, or threshold rule) as the lints see it.
pub(super) struct Part<'a> {
    /// How messages name it: "step `install`", "the left side", "the rule".
    pub what: String,
    /// Its tables (unknown ones left out: the rule would not have compiled).
    pub tables: Vec<&'a TableSchema>,
    /// The top-level conjuncts of its `where`s: every event of the part passes each.
    pub conds: Vec<&'a ast::Expr>,
    /// The names its `extend`s assign.
    pub extended: Vec<&'a str>,
    /// Its keys, position by position: the key's name when it is one, and where it is written.
    pub keys: Vec<(Option<&'a str>, ast::Span)>,
    /// Where messages about the part as a whole point.
    pub span: ast::Span,
}

/// A value a column is fixed to: the string, and whether the test ignores case (`=~`, `in~`).
pub(super) type Fixed = (String, bool);

impl<'a> Part<'a> {
    /// The column `name` reads in every table of the part (aliases resolved), with its type;
    /// `None` when the tables disagree, lack it, or an `extend` reassigns it.
    pub fn column(&self, name: &str) -> Option<(String, Type)> {
        if self.extended.contains(&name) {
            return None;
        }
        let mut found: Option<(String, Type)> = None;
        for t in &self.tables {
            let col = if t.column(name).is_some() {
                name
            } else {
                t.alias(name)?
            };
            let ty = t.column(col)?;
            match &found {
                Some((c, _)) if c != col => return None,
                Some(_) => {}
                None => found = Some((col.to_string(), ty)),
            }
        }
        found
    }

    /// Whether `e` is a name reading column `col`.
    fn is_col(&self, e: &ast::Expr, col: &str) -> bool {
        matches!(&e.kind, ast::ExprKind::Name(n)
            if self.column(&n.name).is_some_and(|(c, _)| c == col))
    }

    /// The first conjunct that fixes `col` to values, with them.
    pub fn fixed(&self, col: &str, lets: &Lets) -> Option<(&'a ast::Expr, Vec<Fixed>)> {
        self.conds
            .iter()
            .find_map(|c| Some((*c, self.fixed_by(c, col, lets)?)))
    }

    /// Whether some conjunct rules out `""` for `col`.
    pub fn nonempty(&self, col: &str, lets: &Lets) -> bool {
        self.conds.iter().any(|c| self.nonempty_by(c, col, lets))
    }

    /// The values `e` allows `col`, when it allows only listed ones: `col == 'a'`, `col =~
    /// 'a'`, `col in (...)`, `col in~ (...)`, `isempty(col)`, and `or` of such tests.
    fn fixed_by(&self, e: &ast::Expr, col: &str, lets: &Lets) -> Option<Vec<Fixed>> {
        match &e.kind {
            ast::ExprKind::Binary { op, lhs, rhs, .. } => match op {
                BinOp::Eq | BinOp::EqCi => {
                    let other = if self.is_col(lhs, col) {
                        rhs
                    } else if self.is_col(rhs, col) {
                        lhs
                    } else {
                        return None;
                    };
                    let ci = *op == BinOp::EqCi;
                    match strings(std::slice::from_ref(&**other), lets)?.as_slice() {
                        [one] => Some(vec![(one.clone(), ci)]),
                        _ => None,
                    }
                }
                BinOp::Or => {
                    let mut a = self.fixed_by(lhs, col, lets)?;
                    a.extend(self.fixed_by(rhs, col, lets)?);
                    Some(a)
                }
                _ => None,
            },
            ast::ExprKind::InList { op, lhs, list, .. }
                if matches!(op, ListOp::In | ListOp::InCi) && self.is_col(lhs, col) =>
            {
                let ci = *op == ListOp::InCi;
                Some(strings(list, lets)?.into_iter().map(|s| (s, ci)).collect())
            }
            ast::ExprKind::Call { name, args }
                if name.name == "isempty" && args.len() == 1 && self.is_col(&args[0], col) =>
            {
                // A string column is never null: empty is the one value left.
                Some(vec![(String::new(), false)])
            }
            _ => None,
        }
    }

    /// Whether `e` fails for every row whose `col` is `""`: `isnotempty(col)`, `not
    /// isempty(col)`, `col != ''`, a positive string test with a non-empty needle (`has`,
    /// `contains`, `startswith`, ..., `has_any`, `has_all`), a test fixing `col` to non-empty
    /// values, and `or` of such tests.
    fn nonempty_by(&self, e: &ast::Expr, col: &str, lets: &Lets) -> bool {
        let called = |e: &ast::Expr, f: &str| {
            matches!(&e.kind, ast::ExprKind::Call { name, args }
                if name.name == f && args.len() == 1 && self.is_col(&args[0], col))
        };
        let full = |xs: &[ast::Expr]| {
            strings(xs, lets).is_some_and(|v| !v.is_empty() && v.iter().all(|s| !s.is_empty()))
        };
        if self
            .fixed_by(e, col, lets)
            .is_some_and(|v| v.iter().all(|(s, _)| !s.is_empty()))
        {
            return true;
        }
        match &e.kind {
            ast::ExprKind::Call { name, args } if name.name == "not" && args.len() == 1 => {
                called(&args[0], "isempty")
            }
            ast::ExprKind::Call { .. } => called(e, "isnotempty"),
            ast::ExprKind::Not(x) => called(x, "isempty"),
            ast::ExprKind::Binary { op, lhs, rhs, .. } => match op {
                BinOp::Or => self.nonempty_by(lhs, col, lets) && self.nonempty_by(rhs, col, lets),
                BinOp::NotEq | BinOp::NotEqCi => {
                    let other = if self.is_col(lhs, col) {
                        rhs
                    } else if self.is_col(rhs, col) {
                        lhs
                    } else {
                        return false;
                    };
                    strings(std::slice::from_ref(&**other), lets)
                        .is_some_and(|v| v.len() == 1 && v[0].is_empty())
                }
                BinOp::Str(s) => {
                    !s.negated && self.is_col(lhs, col) && full(std::slice::from_ref(rhs))
                }
                _ => false,
            },
            ast::ExprKind::InList { op, lhs, list, .. } => {
                matches!(op, ListOp::HasAny | ListOp::HasAll) && self.is_col(lhs, col) && full(list)
            }
            _ => false,
        }
    }

    /// Whether any `where` of the part reads a column of its rows (a column, an alias, or a
    /// column its `extend`s compute).
    pub fn reads_a_column(&self) -> bool {
        let mut reads = false;
        for c in &self.conds {
            scry_grammar::print::walk(c, &mut |x| {
                if let ast::ExprKind::Name(n) = &x.kind {
                    reads |= self.extended.contains(&n.name.as_str())
                        || self
                            .tables
                            .iter()
                            .any(|t| t.column(&n.name).is_some() || t.alias(&n.name).is_some());
                }
            });
        }
        reads
    }
}

/// The constant strings `xs` stand for (literals, `let` names, lists of them), or `None` when
/// one is anything else.
fn strings(xs: &[ast::Expr], lets: &Lets) -> Option<Vec<String>> {
    fn flatten(v: &Value, out: &mut Vec<String>) -> Option<()> {
        match v {
            Value::Str(s) => out.push(s.clone()),
            Value::Array(items) => {
                for i in items {
                    flatten(i, out)?;
                }
            }
            _ => return None,
        }
        Some(())
    }
    let mut out = Vec::new();
    for x in xs {
        let mut scratch = Vec::new();
        let v = lower_standalone(x, None, lets, &mut FieldSet::new(), &mut scratch);
        if !scratch.is_empty() {
            return None;
        }
        flatten(v.as_const()?, &mut out)?;
    }
    Some(out)
}

/// Whether a row can hold a value both tests allow (keys compare exactly; `=~` admits any
/// case of its value).
pub(super) fn can_equal(a: &Fixed, b: &Fixed) -> bool {
    if a.1 || b.1 {
        a.0.to_lowercase() == b.0.to_lowercase()
    } else {
        a.0 == b.0
    }
}

/// `"a"`, `one of "a", "b", "c"`, `one of "a", "b", ... (5)` for messages.
pub(super) fn show(v: &[Fixed]) -> String {
    let one = |(s, ci): &Fixed| {
        if *ci {
            format!("{s:?} (any case)")
        } else {
            format!("{s:?}")
        }
    };
    match v {
        [x] => one(x),
        _ => {
            let mut parts: Vec<String> = v.iter().take(3).map(one).collect();
            if v.len() > 3 {
                parts.push(format!("... ({})", v.len()));
            }
            format!("one of {}", parts.join(", "))
        }
    }
}
