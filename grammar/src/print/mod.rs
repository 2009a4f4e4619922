//! Printing the syntax tree back to text: expressions in scry or KQL spelling, whole rule files.
//!
//! scry's expression syntax is KQL's, so one printer serves both: the [`Dialect`] only changes
//! the few forms that differ (a list value is `('a', 'b')` in scry and `dynamic(['a', 'b'])` in
//! KQL; a `from ... distinct` set is a parenthesized sub-pipeline in KQL). The printer emits the
//! fewest parentheses that keep the tree's shape, so `parse_expr(print(e))` gives `e` back (up to
//! spans). Strings are quoted in a form both languages read the same way.
//!
//! Layout: [`Writer`] breaks `and`/`or` chains one condition per line and long lists one element
//! per line, and places [`Notes`] (comments attached to a node's span) at the end of the line
//! where the node is printed, aligned within a list.
//!
//! ```
//! use scry_grammar::{parse_expr, print};
//! let e = parse_expr("(a == 1 or b has @'C:\\x') and not(c in ('x', 'y'))").unwrap();
//! assert_eq!(
//!     print::expr(&e, print::Dialect::Scry),
//!     r"(a == 1 or b has @'C:\x') and not(c in ('x', 'y'))"
//! );
//! ```

use crate::ast::*;
use std::collections::BTreeMap;
use std::fmt::Write as _;

mod file;
#[cfg(test)]
mod tests;
mod writer;

pub use file::{clause_span, file, project, summarize, take, FILE_END};
pub use writer::{Writer, WIDTH};

/// Which language's spelling to print.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// `.scry` rule files.
    Scry,
    /// Kusto Query Language.
    Kql,
}

/// Comments to print next to nodes, keyed by the node's span.
///
/// A note lands at the end of the line on which its node starts being printed (for a list
/// element: on the element's own line). Nodes must have distinct spans for their notes to be
/// told apart; notes on spans that are never printed are returned by [`Writer::finish`] so that
/// no comment is lost without notice.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Notes {
    by_span: BTreeMap<(u32, u32), Vec<String>>,
    /// Comments kept as written (`// x`, `/* x */`), at the end of the node's line.
    raw: BTreeMap<(u32, u32), Vec<String>>,
    /// Own-line comments printed on the lines above the node (with: a blank line above it).
    leading: BTreeMap<(u32, u32), Vec<(String, bool)>>,
    /// Own-line comments printed above the closing bracket of the node (a rule, a list...).
    closing: BTreeMap<(u32, u32), Vec<(String, bool)>>,
    /// Comments kept as written, after the node's last character (after its `}`, `)`, `;`).
    after: BTreeMap<(u32, u32), Vec<String>>,
    /// Nodes printed below a blank line (between their leading comments and them).
    blank: std::collections::BTreeSet<(u32, u32)>,
}

/// Where a comment kept as written goes relative to its node; see [`Notes::add_comment`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    /// At the end of the line on which the node starts.
    Trailing,
    /// On its own line above the node.
    Leading {
        /// A blank line above the comment.
        blank: bool,
    },
    /// On its own line above the node's closing bracket.
    Closing {
        /// A blank line above the comment.
        blank: bool,
    },
    /// At the end of the line on which the node ends.
    After,
}

fn key(span: Span) -> (u32, u32) {
    (span.start, span.end)
}

impl Notes {
    /// Attaches `text` (one line, without `//`) to the node written at `span`.
    pub fn add(&mut self, span: Span, text: impl Into<String>) {
        let text: String = text.into();
        // A note is one line comment: newlines would end it early.
        let text = text.replace(['\r', '\n'], " ");
        self.by_span.entry(key(span)).or_default().push(text);
    }

    /// Attaches a comment exactly as written (`// x` or `/* x */`) to the node at `span`:
    /// what the formatter uses to keep the source's comments.
    pub fn add_comment(&mut self, span: Span, raw: impl Into<String>, place: Place) {
        let raw = raw.into();
        match place {
            Place::Trailing => self.raw.entry(key(span)).or_default().push(raw),
            Place::Leading { blank } => self
                .leading
                .entry(key(span))
                .or_default()
                .push((raw, blank)),
            Place::Closing { blank } => self
                .closing
                .entry(key(span))
                .or_default()
                .push((raw, blank)),
            Place::After => self.after.entry(key(span)).or_default().push(raw),
        }
    }

    /// Takes back one comment attached with [`Notes::add_comment`] (in any place).
    pub fn remove_comment(&mut self, span: Span, raw: &str) {
        let k = key(span);
        fn drop_one<T>(
            map: &mut BTreeMap<(u32, u32), Vec<T>>,
            k: (u32, u32),
            is: impl Fn(&T) -> bool,
        ) -> bool {
            let Some(v) = map.get_mut(&k) else {
                return false;
            };
            let Some(i) = v.iter().position(is) else {
                return false;
            };
            v.remove(i);
            if v.is_empty() {
                map.remove(&k);
            }
            true
        }
        let _ = drop_one(&mut self.raw, k, |t| t == raw)
            || drop_one(&mut self.leading, k, |(t, _)| t == raw)
            || drop_one(&mut self.closing, k, |(t, _)| t == raw)
            || drop_one(&mut self.after, k, |t| t == raw);
    }

    /// Prints the node at `span` (an item, clause or example) below a blank line.
    pub fn blank_before(&mut self, span: Span) {
        self.blank.insert(key(span));
    }

    /// True when no note is attached anywhere.
    pub fn is_empty(&self) -> bool {
        self.by_span.is_empty()
            && self.raw.is_empty()
            && self.leading.is_empty()
            && self.closing.is_empty()
            && self.after.is_empty()
    }

    /// Whether anything forces the node at `span` onto lines of its own.
    fn pins(&self, span: Span) -> bool {
        let k = key(span);
        self.by_span.contains_key(&k)
            || self.raw.contains_key(&k)
            || self.leading.contains_key(&k)
            || self.closing.contains_key(&k)
    }
}

/// Prints `e` on one line, with minimal parentheses.
pub fn expr(e: &Expr, dialect: Dialect) -> String {
    let mut s = String::new();
    inline(&mut s, e, dialect);
    s
}

/// A string literal that reads back as `s` in both scry and KQL: `'x'` when possible,
/// `@'C:\x'` for backslashes, `"it's"` for single quotes, escapes otherwise.
pub fn string_literal(s: &str) -> String {
    let control = s.chars().any(char::is_control);
    if !control && !s.contains(['\\', '\'']) {
        return format!("'{s}'");
    }
    if !control && !s.contains('\'') {
        return format!("@'{s}'");
    }
    if !control && !s.contains(['\\', '"']) {
        return format!("\"{s}\"");
    }
    quoted(s, '\'')
}

/// `s` between `quote`s, with `\\`, the quote, `\n`, `\t`, `\r` and other control characters
/// escaped (`\uXXXX`): valid in both scry and KQL.
fn quoted(s: &str, quote: char) -> String {
    let mut out = String::from(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_control() => {
                let mut buf = [0u16; 2];
                for unit in c.encode_utf16(&mut buf) {
                    let _ = write!(out, "\\u{unit:04x}");
                }
            }
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

/// Words that can only be names inside brackets (`['in']`): operators and literals.
const RESERVED: &[&str] = &[
    "and",
    "or",
    "not",
    "in",
    "between",
    "matches",
    "true",
    "false",
    "has_any",
    "has_all",
    "hasprefix",
    "hassuffix",
    "has",
    "contains",
    "startswith",
    "endswith",
];

fn is_reserved(word: &str) -> bool {
    let base = word.strip_suffix("_cs").unwrap_or(word);
    RESERVED.contains(&base)
}

fn is_ident_segment(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// A column or `let` name: bare when it is an identifier (dotted names included), else
/// bracketed: `['Column with spaces']`.
pub fn name(n: &str) -> String {
    let first = n.split('.').next().unwrap_or("");
    if n.split('.').all(is_ident_segment) && !is_reserved(first) {
        n.to_string()
    } else {
        format!("[{}]", string_literal(n))
    }
}

/// `5d`, `1h`, `90s`, `7tick`: the largest unit that divides the value exactly.
pub fn timespan(ticks: i64) -> String {
    const UNITS: &[(i64, &str)] = &[
        (864_000_000_000, "d"),
        (36_000_000_000, "h"),
        (600_000_000, "m"),
        (10_000_000, "s"),
        (10_000, "ms"),
        (10, "microsecond"),
        (1, "tick"),
    ];
    let sign = if ticks < 0 { "-" } else { "" };
    let abs = ticks.unsigned_abs();
    for &(unit, suffix) in UNITS {
        if abs % unit as u64 == 0 {
            return format!("{sign}{}{suffix}", abs / unit as u64);
        }
    }
    format!("{sign}{abs}tick")
}

fn literal(out: &mut String, lit: &Literal) {
    match lit {
        Literal::Str(s) => out.push_str(&string_literal(s)),
        Literal::Long(n) => {
            let _ = write!(out, "{n}");
        }
        Literal::Real(x) => {
            // `{:?}` always has a `.` or an exponent, so the text reads back as a real.
            let _ = write!(out, "{x:?}");
        }
        Literal::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Literal::DateTime(text) => {
            let bare = text.starts_with(|c: char| c.is_ascii_digit())
                && text
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | ':' | '.' | '+' | ' '));
            if bare {
                let _ = write!(out, "datetime({text})");
            } else {
                let _ = write!(out, "datetime({})", string_literal(text));
            }
        }
        Literal::Timespan(t) => out.push_str(&timespan(*t)),
        Literal::Null(ty) => {
            let _ = write!(out, "{ty}(null)");
        }
    }
}

/// Binding strength, loosest first; see the precedence table in docs/language.md.
fn prec(e: &Expr) -> u8 {
    match &e.kind {
        ExprKind::Binary { op, .. } => match op {
            BinOp::Or => 1,
            BinOp::And => 2,
            BinOp::Add | BinOp::Sub => 4,
            BinOp::Mul | BinOp::Div | BinOp::Mod => 5,
            _ => 3,
        },
        ExprKind::InList { .. } | ExprKind::Between { .. } => 3,
        ExprKind::Not(_) | ExprKind::Neg(_) => 6,
        ExprKind::Literal(Literal::Long(n)) if *n < 0 => 6,
        ExprKind::Literal(Literal::Timespan(n)) if *n < 0 => 6,
        ExprKind::Literal(Literal::Real(x)) if x.is_sign_negative() => 6,
        ExprKind::Index { .. } => 7,
        // A set query's `where` would swallow a following operator: it only stands alone.
        ExprKind::Query(_) => 0,
        _ => 8,
    }
}

fn operand(out: &mut String, e: &Expr, parens: bool, d: Dialect) {
    if parens {
        out.push('(');
        inline(out, e, d);
        out.push(')');
    } else {
        inline(out, e, d);
    }
}

fn inline(out: &mut String, e: &Expr, d: Dialect) {
    match &e.kind {
        ExprKind::Literal(l) => literal(out, l),
        ExprKind::Name(id) => out.push_str(&name(&id.name)),
        ExprKind::Not(x) => {
            // KQL only knows the call form; scry reads it as `not` applied to a parenthesis.
            out.push_str("not(");
            inline(out, x, d);
            out.push(')');
        }
        ExprKind::Neg(x) => {
            out.push('-');
            let p = prec(x) < 6
                || matches!(x.kind, ExprKind::Neg(_))
                || prec(x) == 6 && !matches!(x.kind, ExprKind::Not(_));
            operand(out, x, p, d);
        }
        ExprKind::Binary { op, lhs, rhs, .. } => {
            let p = prec(e);
            let (lp, rp) = if p == 3 {
                (prec(lhs) <= 3, prec(rhs) <= 3)
            } else {
                (prec(lhs) < p, prec(rhs) <= p)
            };
            operand(out, lhs, lp, d);
            out.push(' ');
            out.push_str(&op.spelling());
            out.push(' ');
            operand(out, rhs, rp, d);
        }
        ExprKind::InList { op, lhs, list, .. } => {
            operand(out, lhs, prec(lhs) <= 3, d);
            out.push(' ');
            out.push_str(op.spelling());
            out.push_str(" (");
            items(out, list, d);
            out.push(')');
        }
        ExprKind::Between {
            negated,
            lhs,
            low,
            high,
        } => {
            operand(out, lhs, prec(lhs) <= 3, d);
            out.push_str(if *negated {
                " !between ("
            } else {
                " between ("
            });
            inline(out, low, d);
            out.push_str(" .. ");
            inline(out, high, d);
            out.push(')');
        }
        ExprKind::Call { name: n, args } => {
            out.push_str(&n.name);
            out.push('(');
            items(out, args, d);
            out.push(')');
        }
        ExprKind::Index { base, index } => {
            operand(out, base, prec(base) < 7, d);
            out.push('[');
            inline(out, index, d);
            out.push(']');
        }
        ExprKind::List(xs) => match d {
            Dialect::Scry => {
                out.push('(');
                items(out, xs, d);
                if xs.len() == 1 {
                    // `(a)` is just `a`: the comma keeps it a list.
                    out.push(',');
                }
                out.push(')');
            }
            Dialect::Kql => {
                out.push_str("dynamic([");
                items(out, xs, d);
                out.push_str("])");
            }
        },
        ExprKind::Query(q) => query_inline(out, q, d),
        ExprKind::Star => out.push('*'),
    }
}

fn items(out: &mut String, xs: &[Expr], d: Dialect) {
    for (i, x) in xs.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        inline(out, x, d);
    }
}

fn window_text(w: &Window, d: Dialect) -> String {
    match (&w.kind, d) {
        (WindowKind::Lookback(x), Dialect::Scry) => format!("window {}", expr(x, d)),
        (WindowKind::Between(lo, hi), Dialect::Scry) => {
            format!("window between ({} .. {})", expr(lo, d), expr(hi, d))
        }
        (WindowKind::Lookback(x), Dialect::Kql) => {
            let mut s = String::new();
            operand(&mut s, x, prec(x) < 6, d);
            format!("where Timestamp between (now(-{s}) .. now())")
        }
        (WindowKind::Between(lo, hi), Dialect::Kql) => {
            format!(
                "where Timestamp between ({} .. {})",
                expr(lo, d),
                expr(hi, d)
            )
        }
    }
}

fn query_inline(out: &mut String, q: &Query, d: Dialect) {
    let tables: Vec<String> = q.tables.iter().map(|t| name(&t.name)).collect();
    match d {
        Dialect::Scry => {
            let _ = write!(out, "from {}", tables.join(", "));
            if let Some(w) = &q.window {
                let _ = write!(out, " {}", window_text(w, d));
            }
            for f in &q.filters {
                let _ = write!(out, " where {}", expr(&f.predicate, d));
            }
            let _ = write!(out, " distinct {}", name(&q.distinct.name));
        }
        Dialect::Kql => {
            out.push('(');
            if tables.len() == 1 {
                out.push_str(&tables[0]);
            } else {
                let _ = write!(out, "union {}", tables.join(", "));
            }
            if let Some(w) = &q.window {
                let _ = write!(out, " | {}", window_text(w, d));
            }
            for f in &q.filters {
                let _ = write!(out, " | where {}", expr(&f.predicate, d));
            }
            let _ = write!(out, " | distinct {})", name(&q.distinct.name));
        }
    }
}

/// Calls `f` on `e` and every expression below it, parents first.
pub fn walk<'a>(e: &'a Expr, f: &mut dyn FnMut(&'a Expr)) {
    f(e);
    match &e.kind {
        ExprKind::Literal(_) | ExprKind::Name(_) | ExprKind::Star => {}
        ExprKind::Not(x) | ExprKind::Neg(x) => walk(x, f),
        ExprKind::Binary { lhs, rhs, .. } => {
            walk(lhs, f);
            walk(rhs, f);
        }
        ExprKind::InList { lhs, list, .. } => {
            walk(lhs, f);
            for x in list {
                walk(x, f);
            }
        }
        ExprKind::Between { lhs, low, high, .. } => {
            walk(lhs, f);
            walk(low, f);
            walk(high, f);
        }
        ExprKind::Call { args, .. } => {
            for x in args {
                walk(x, f);
            }
        }
        ExprKind::Index { base, index } => {
            walk(base, f);
            walk(index, f);
        }
        ExprKind::List(xs) => {
            for x in xs {
                walk(x, f);
            }
        }
        ExprKind::Query(q) => {
            if let Some(w) = &q.window {
                match &w.kind {
                    WindowKind::Lookback(x) => walk(x, f),
                    WindowKind::Between(a, b) => {
                        walk(a, f);
                        walk(b, f);
                    }
                }
            }
            for w in &q.filters {
                walk(&w.predicate, f);
            }
        }
    }
}
