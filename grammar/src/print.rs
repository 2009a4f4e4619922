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

/// A metadata word (`CommandAndControl`, `T1059.001`) bare when it is one, else a string.
fn meta_word(w: &str) -> String {
    let mut chars = w.chars();
    let ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
    if ok {
        w.to_string()
    } else {
        meta_string(w)
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

/// Lines longer than this are broken.
pub const WIDTH: usize = 100;

/// A text buffer that lays out clauses and expressions over several lines and places notes.
#[derive(Debug)]
pub struct Writer<'n> {
    out: String,
    notes: &'n Notes,
    pending: Vec<String>,
    pending_raw: Vec<String>,
    /// Which maps' entries were printed: `(map, span)`, map 0 = notes and raw comments,
    /// 1 = leading, 2 = closing, 3 = after.
    printed: std::collections::BTreeSet<(u8, (u32, u32))>,
    dialect: Dialect,
}

impl<'n> Writer<'n> {
    /// An empty buffer printing in `dialect`, placing `notes`.
    pub fn new(dialect: Dialect, notes: &'n Notes) -> Self {
        Writer {
            out: String::new(),
            notes,
            pending: Vec::new(),
            pending_raw: Vec::new(),
            printed: Default::default(),
            dialect,
        }
    }

    /// The text, and the notes whose nodes were never printed (as `(span, text)`; comments
    /// kept as written come back as written).
    pub fn finish(mut self) -> (String, Vec<(Span, String)>) {
        self.flush_notes();
        let mut lost = Vec::new();
        let unprinted = |map: u8, k: &(u32, u32)| !self.printed.contains(&(map, *k));
        let span = |&(start, end): &(u32, u32)| Span { start, end };
        for (k, texts) in self.notes.by_span.iter().chain(&self.notes.raw) {
            if unprinted(0, k) {
                lost.extend(texts.iter().map(|t| (span(k), t.clone())));
            }
        }
        for (k, texts) in &self.notes.leading {
            if unprinted(1, k) {
                lost.extend(texts.iter().map(|(t, _)| (span(k), t.clone())));
            }
        }
        for (k, texts) in &self.notes.closing {
            if unprinted(2, k) {
                lost.extend(texts.iter().map(|(t, _)| (span(k), t.clone())));
            }
        }
        for (k, texts) in &self.notes.after {
            if unprinted(3, k) {
                lost.extend(texts.iter().map(|t| (span(k), t.clone())));
            }
        }
        (self.out, lost)
    }

    /// Appends text that contains no line break.
    pub fn text(&mut self, s: &str) {
        self.out.push_str(s);
    }

    /// Ends the line (writing pending notes as a trailing comment) and indents the next one.
    pub fn newline(&mut self, indent: usize) {
        self.flush_notes();
        // No trailing spaces on the line just ended.
        while self.out.ends_with(' ') {
            self.out.pop();
        }
        self.out.push('\n');
        for _ in 0..indent {
            self.out.push(' ');
        }
    }

    /// Writes a full-line `// comment` (one per line of `text`) and starts a new line.
    pub fn comment_line(&mut self, text: &str, indent: usize) {
        for line in text.lines() {
            if line.is_empty() {
                self.out.push_str("//");
            } else {
                self.out.push_str("// ");
                self.out.push_str(line.trim_end());
            }
            self.newline(indent);
        }
    }

    fn flush_notes(&mut self) {
        if self.pending.is_empty() && self.pending_raw.is_empty() {
            return;
        }
        while self.out.ends_with(' ') {
            self.out.pop();
        }
        let plain = std::mem::take(&mut self.pending);
        let raw = std::mem::take(&mut self.pending_raw);
        self.out.push_str(&trailing(&plain, &raw));
    }

    /// Queues the notes of `span` for the end of the current line.
    pub fn note(&mut self, span: Span) {
        let k = key(span);
        let plain = self.notes.by_span.get(&k);
        let raw = self.notes.raw.get(&k);
        if (plain.is_some() || raw.is_some()) && self.printed.insert((0, k)) {
            self.pending.extend(plain.into_iter().flatten().cloned());
            self.pending_raw.extend(raw.into_iter().flatten().cloned());
        }
    }

    /// Queues the comments kept for after the last character of the node at `span`; call it
    /// right after printing the node's closing bracket.
    pub fn after(&mut self, span: Span) {
        if let Some(raw) = self.notes.after.get(&key(span)) {
            if self.printed.insert((3, key(span))) {
                self.pending_raw.extend(raw.iter().cloned());
            }
        }
    }

    /// At the start of a line (indented by `indent`) where the node at `span` is about to be
    /// printed: the blank line and the own-line comments that go above it.
    pub fn lead(&mut self, span: Span, indent: usize) {
        if let Some(comments) = self.notes.leading.get(&key(span)) {
            if self.printed.insert((1, key(span))) {
                for (raw, blank) in comments {
                    if *blank {
                        self.blank_line(indent);
                    }
                    self.out.push_str(raw);
                    self.newline(indent);
                }
            }
        }
        if self.notes.blank.contains(&key(span)) {
            self.blank_line(indent);
        }
    }

    /// Before the line of the closing bracket of the node at `span`: its own-line comments
    /// after the last element, each on a new line indented by `indent`.
    pub fn closing(&mut self, span: Span, indent: usize) {
        let Some(comments) = self.notes.closing.get(&key(span)) else {
            return;
        };
        if !self.printed.insert((2, key(span))) {
            return;
        }
        for (raw, blank) in comments {
            self.newline(indent);
            if *blank {
                self.blank_line(indent);
            }
            self.out.push_str(raw);
        }
    }

    /// Makes the current line (empty but for `indent` spaces) follow a blank line, unless it
    /// already does or nothing was printed yet.
    fn blank_line(&mut self, indent: usize) {
        let body = self.out.trim_end_matches(' ');
        if body.trim().is_empty() || body.ends_with("\n\n") || !body.ends_with('\n') {
            return;
        }
        self.out.truncate(body.len());
        self.out.push('\n');
        for _ in 0..indent {
            self.out.push(' ');
        }
    }

    fn take_notes(&mut self, span: Span) -> (Vec<String>, Vec<String>) {
        let k = key(span);
        let plain = self.notes.by_span.get(&k);
        let raw = self.notes.raw.get(&k);
        if (plain.is_some() || raw.is_some()) && self.printed.insert((0, k)) {
            (
                plain.cloned().unwrap_or_default(),
                raw.cloned().unwrap_or_default(),
            )
        } else {
            (Vec::new(), Vec::new())
        }
    }

    /// The column the next character goes to (in characters).
    pub fn column(&self) -> usize {
        let line = self.out.rsplit('\n').next().unwrap_or("");
        line.chars().count()
    }

    fn has_notes(&self, e: &Expr) -> bool {
        if self.notes.is_empty() {
            return false;
        }
        let mut found = false;
        walk(e, &mut |x| {
            if self.notes.pins(x.span) {
                found = true;
            }
        });
        found
    }

    /// True when a note sits on a list element below `e`, or an own-line comment inside a
    /// list (such lists print one per line).
    fn element_notes(&self, e: &Expr) -> bool {
        if self.notes.is_empty() {
            return false;
        }
        let mut found = false;
        walk(e, &mut |x| {
            if let ExprKind::InList { list: xs, .. } | ExprKind::List(xs) = &x.kind {
                if xs.iter().any(|i| self.has_notes(i))
                    || self.notes.closing.contains_key(&key(x.span))
                {
                    found = true;
                }
            }
        });
        found
    }

    /// Writes `e`; `indent` is the indentation of the line it starts on. Top-level `and`/`or`
    /// chains go one operand per line when `break_chain`.
    pub fn expr(&mut self, e: &Expr, indent: usize, break_chain: bool) {
        let d = self.dialect;
        if break_chain {
            if let Some((op, parts)) = chain(e) {
                if parts.len() >= 2 {
                    for (i, p) in parts.iter().enumerate() {
                        if i > 0 {
                            self.newline(indent + 2);
                            self.lead(p.span, indent + 2);
                            self.text(op.spelling().as_str());
                            self.text(" ");
                        }
                        let paren = prec(p) <= prec(e) && i > 0 || prec(p) < prec(e);
                        self.operand(p, indent + 2, paren);
                    }
                    self.note(e.span);
                    return;
                }
            }
        }
        let one = expr(e, d);
        let fits = self.column() + one.chars().count() <= WIDTH && !self.element_notes(e);
        self.note(e.span);
        if fits {
            self.text(&one);
            // Notes of nodes inside go to this line too.
            let mut spans = Vec::new();
            walk(e, &mut |x| spans.push(x.span));
            for s in spans {
                self.note(s);
                self.after(s);
            }
            return;
        }
        match &e.kind {
            ExprKind::Binary { op, lhs, rhs, .. } => {
                let p = prec(e);
                let (lp, rp) = if p == 3 {
                    (prec(lhs) <= 3, prec(rhs) <= 3)
                } else {
                    (prec(lhs) < p, prec(rhs) <= p)
                };
                if matches!(op, BinOp::And | BinOp::Or) {
                    // A nested chain: one operand per line, aligned after the parenthesis.
                    let col = self.column();
                    let parts = chain(e).map(|(_, ps)| ps).unwrap_or_default();
                    for (i, part) in parts.iter().enumerate() {
                        if i > 0 {
                            self.newline(col);
                            self.text(&op.spelling());
                            self.text(" ");
                        }
                        let paren = prec(part) <= p && i > 0 || prec(part) < p;
                        self.operand(part, col, paren);
                    }
                } else {
                    self.operand(lhs, indent, lp);
                    self.text(" ");
                    self.text(&op.spelling());
                    self.text(" ");
                    self.operand(rhs, indent, rp);
                }
            }
            ExprKind::InList { op, lhs, list, .. } => {
                self.operand(lhs, indent, prec(lhs) <= 3);
                self.text(" ");
                self.text(op.spelling());
                self.text(" ");
                self.list(e.span, list, indent, "(", ")");
            }
            ExprKind::List(xs) => match d {
                Dialect::Scry => self.list(e.span, xs, indent, "(", ")"),
                Dialect::Kql => self.list(e.span, xs, indent, "dynamic([", "])"),
            },
            ExprKind::Not(x) => {
                self.text("not(");
                self.expr(x, indent, false);
                self.text(")");
            }
            ExprKind::Query(q) if d == Dialect::Scry => {
                let tables: Vec<String> = q.tables.iter().map(|t| name(&t.name)).collect();
                self.text("from ");
                self.text(&tables.join(", "));
                self.note(q.tables.first().map_or(e.span, |t| t.span));
                if let Some(w) = &q.window {
                    self.newline(indent + 4);
                    self.note(w.span);
                    self.text(&window_text(w, d));
                }
                for f in &q.filters {
                    self.newline(indent + 4);
                    self.note(f.span);
                    self.text("where ");
                    self.expr(&f.predicate, indent + 4, true);
                }
                self.newline(indent + 4);
                self.note(q.distinct.span);
                self.text("distinct ");
                self.text(&name(&q.distinct.name));
            }
            ExprKind::Query(q) => {
                let tables: Vec<String> = q.tables.iter().map(|t| name(&t.name)).collect();
                self.text("(");
                if tables.len() == 1 {
                    self.text(&tables[0]);
                } else {
                    self.text("union ");
                    self.text(&tables.join(", "));
                }
                if let Some(w) = &q.window {
                    self.newline(indent + 4);
                    self.note(w.span);
                    self.text("| ");
                    self.text(&window_text(w, d));
                }
                for f in &q.filters {
                    self.newline(indent + 4);
                    self.note(f.span);
                    self.text("| where ");
                    self.expr(&f.predicate, indent + 4, true);
                }
                self.newline(indent + 4);
                self.text("| distinct ");
                self.text(&name(&q.distinct.name));
                self.text(")");
            }
            _ => {
                // Calls, literals, names: nothing sensible to break.
                self.text(&one);
                let mut spans = Vec::new();
                walk(e, &mut |x| spans.push(x.span));
                for s in spans {
                    self.note(s);
                    self.after(s);
                }
            }
        }
    }

    fn operand(&mut self, e: &Expr, indent: usize, paren: bool) {
        if paren {
            self.text("(");
            let col = self.column();
            self.expr(e, col.saturating_sub(2).max(indent), false);
            self.text(")");
        } else {
            self.expr(e, indent, false);
        }
    }

    /// A list one element per line, notes aligned after the longest element; `span` is the
    /// node the list belongs to (its closing comments go above `close`).
    fn list(&mut self, span: Span, xs: &[Expr], indent: usize, open: &str, close: &str) {
        let d = self.dialect;
        self.text(open);
        let texts: Vec<String> = xs.iter().map(|x| expr(x, d)).collect();
        let width = texts
            .iter()
            .map(|t| t.chars().count() + 1)
            .max()
            .unwrap_or(0);
        for (i, (x, t)) in xs.iter().zip(&texts).enumerate() {
            self.newline(indent + 4);
            self.lead(x.span, indent + 4);
            let (mut notes, mut raw) = self.take_notes(x.span);
            // Notes deeper inside the element (rare) join the element's own.
            walk(x, &mut |y| {
                if y.span != x.span {
                    let (n, r) = self.take_notes(y.span);
                    notes.extend(n);
                    raw.extend(r);
                }
            });
            let sep = if i + 1 < xs.len() { "," } else { "" };
            if notes.is_empty() && raw.is_empty() {
                self.text(t);
                self.text(sep);
            } else {
                let cell = format!("{t}{sep}");
                let pad = width.saturating_sub(cell.chars().count());
                self.text(&cell);
                for _ in 0..pad {
                    self.text(" ");
                }
                self.text(&trailing(&notes, &raw));
            }
        }
        self.closing(span, indent + 4);
        self.newline(indent + 2);
        self.text(close);
        self.after(span);
    }
}

/// The comments at the end of a line: block comments first, because a line comment runs to
/// the end of the line and would swallow what follows it.
fn trailing(plain: &[String], raw: &[String]) -> String {
    let mut out = String::new();
    for r in raw.iter().filter(|r| r.starts_with("/*")) {
        out.push_str("  ");
        out.push_str(r);
    }
    if !plain.is_empty() {
        out.push_str("  // ");
        out.push_str(&plain.join("; "));
    }
    for r in raw.iter().filter(|r| !r.starts_with("/*")) {
        out.push_str("  ");
        out.push_str(r);
    }
    out
}

/// The operands of a left-leaning `and` (or `or`) chain: `a and b and c` → `[a, b, c]`.
fn chain(e: &Expr) -> Option<(BinOp, Vec<&Expr>)> {
    let ExprKind::Binary { op, .. } = &e.kind else {
        return None;
    };
    if !matches!(op, BinOp::And | BinOp::Or) {
        return None;
    }
    let mut parts = Vec::new();
    let mut cur = e;
    loop {
        match &cur.kind {
            ExprKind::Binary {
                op: o, lhs, rhs, ..
            } if o == op => {
                parts.push(rhs.as_ref());
                cur = lhs;
            }
            _ => {
                parts.push(cur);
                break;
            }
        }
    }
    parts.reverse();
    Some((*op, parts))
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

// ---------------------------------------------------------------- scry files

/// The span that comments after a file's last item are attached to (as closing comments).
pub const FILE_END: Span = Span {
    start: u32::MAX,
    end: u32::MAX,
};

/// Prints a `.scry` file: top-level lets and rules, clauses in written order, `where` chains
/// one condition per line. Returns the text and the notes that found no node to sit on.
pub fn file(f: &File, notes: &Notes) -> (String, Vec<(Span, String)>) {
    let mut w = Writer::new(Dialect::Scry, notes);
    for (i, item) in f.items.iter().enumerate() {
        if i > 0 {
            w.newline(0);
            if matches!(item, Item::Rule(_)) {
                w.newline(0);
            }
        }
        let span = match item {
            Item::Let(l) => l.span,
            Item::Rule(r) => r.span,
        };
        w.lead(span, 0);
        match item {
            Item::Let(l) => let_decl(&mut w, l, 0),
            Item::Rule(r) => rule(&mut w, r),
        }
    }
    // Comments after the last item (or in a file without items).
    w.closing(FILE_END, 0);
    w.newline(0);
    let (mut text, lost) = w.finish();
    while text.ends_with("\n\n") {
        text.pop();
    }
    (text, lost)
}

fn let_decl(w: &mut Writer<'_>, l: &Let, indent: usize) {
    w.note(l.span);
    w.text("let ");
    w.text(&name(&l.name.name));
    w.text(" = ");
    w.expr(&l.value, indent, false);
    w.text(";");
    w.after(l.span);
}

/// Metadata strings read best in double quotes (`title "ServerEye"`), the form rule files use.
fn meta_string(s: &str) -> String {
    quoted(s, '"')
}

fn meta_value(v: &MetaValue) -> String {
    match v {
        MetaValue::Str(s) => meta_string(&s.value),
        MetaValue::Word(id) => meta_word(&id.name),
        MetaValue::List(items, _) => {
            let parts: Vec<String> = items.iter().map(meta_value).collect();
            format!("[{}]", parts.join(", "))
        }
    }
}

fn assignments(w: &mut Writer<'_>, xs: &[Assignment], cont: usize) {
    for (i, a) in xs.iter().enumerate() {
        let text = match &a.name {
            Some(n) => format!("{} = {}", name(&n.name), expr(&a.value, w.dialect)),
            None => expr(&a.value, w.dialect),
        };
        if i > 0 {
            w.text(",");
            if w.column() + 1 + text.chars().count() > WIDTH {
                w.newline(cont);
            } else {
                w.text(" ");
            }
        }
        w.note(a.span);
        w.note(a.value.span);
        w.text(&text);
    }
}

/// Prints `summarize aggs by keys` starting at the current column (`indent` is the line's).
pub fn summarize(w: &mut Writer<'_>, s: &Summarize, indent: usize, keyword: &str) {
    w.note(s.span);
    w.text(keyword);
    w.text(" ");
    let cont = w.column();
    assignments(w, &s.aggregates, cont);
    if !s.by.is_empty() {
        let keys: Vec<String> =
            s.by.iter()
                .map(|a| match &a.name {
                    Some(n) => format!("{} = {}", name(&n.name), expr(&a.value, w.dialect)),
                    None => expr(&a.value, w.dialect),
                })
                .collect();
        let one = keys.join(", ");
        if s.aggregates.is_empty() {
            w.text("by ");
        } else if w.column() + 4 + one.chars().count() <= WIDTH {
            w.text(" by ");
        } else {
            w.newline(cont.saturating_sub(3).max(indent + 2));
            w.text("by ");
        }
        let cont = w.column();
        assignments(w, &s.by, cont);
    }
}

/// Prints `project Col, Name = expr, ...` starting at the current column; `keyword` is
/// `project` for scry and `| project` for KQL, which spell the clause the same way.
pub fn project(w: &mut Writer<'_>, p: &Project, keyword: &str) {
    w.note(p.span);
    w.text(keyword);
    w.text(" ");
    let cont = w.column();
    assignments(w, &p.columns, cont);
}

/// Prints `take N` (or `limit N`, as written); `prefix` is `""` for scry and `"| "` for KQL.
pub fn take(w: &mut Writer<'_>, t: &Take, prefix: &str) {
    w.note(t.span);
    w.text(prefix);
    w.text(&t.keyword.name);
    w.text(" ");
    w.text(&expr(&t.count, w.dialect));
}

fn rule(w: &mut Writer<'_>, r: &Rule) {
    w.note(r.span);
    w.text("rule ");
    w.text(&name(&r.name.name));
    w.text(" {");
    for c in &r.clauses {
        w.newline(2);
        w.lead(clause_span(c), 2);
        match c {
            Clause::Meta(m) => {
                w.note(m.span);
                // One space, not aligned keys: a long `description` would push every value
                // of the rule to its width.
                w.text(&m.key.name);
                w.text(" ");
                w.text(&meta_value(&m.value));
            }
            Clause::From(f) => {
                w.note(f.span);
                let tables: Vec<String> = f.tables.iter().map(|t| name(&t.name)).collect();
                w.text("from ");
                w.text(&tables.join(", "));
            }
            Clause::Window(win) => {
                w.note(win.span);
                w.text(&window_text(win, Dialect::Scry));
            }
            Clause::Let(l) => let_decl(w, l, 2),
            Clause::Where(x) => {
                w.note(x.span);
                w.text("where ");
                w.expr(&x.predicate, 2, true);
            }
            Clause::Having(x) => {
                w.note(x.span);
                w.text("having ");
                w.expr(&x.predicate, 2, true);
            }
            Clause::Extend(x) => {
                w.note(x.span);
                w.text("extend ");
                let cont = w.column();
                assignments(w, &x.assignments, cont);
            }
            Clause::Except(x) => {
                w.note(x.span);
                w.text("except ");
                w.text(&meta_string(&x.name.value));
                match &x.description {
                    None => {
                        w.text(" when ");
                        w.expr(&x.condition, 2, true);
                    }
                    Some(desc) => {
                        w.text(" {");
                        w.newline(4);
                        w.lead(desc.span, 4);
                        w.note(desc.span);
                        w.text("description ");
                        w.text(&meta_string(&desc.value));
                        w.newline(4);
                        w.lead(x.condition.span, 4);
                        w.text("when ");
                        w.expr(&x.condition, 4, true);
                        w.closing(x.span, 4);
                        w.newline(2);
                        w.text("}");
                        w.after(x.span);
                    }
                }
            }
            Clause::Summarize(s) => summarize(w, s, 2, "summarize"),
            Clause::Project(p) => project(w, p, "project"),
            Clause::Take(t) => take(w, t, ""),
            Clause::Examples(x) => examples(w, x),
        }
        w.after(clause_span(c));
    }
    w.closing(r.span, 2);
    w.newline(0);
    w.text("}");
    w.after(r.span);
}

/// The span of a clause, where its comments are attached.
pub fn clause_span(c: &Clause) -> Span {
    match c {
        Clause::Meta(m) => m.span,
        Clause::From(f) => f.span,
        Clause::Window(w) => w.span,
        Clause::Let(l) => l.span,
        Clause::Where(x) => x.span,
        Clause::Extend(x) => x.span,
        Clause::Except(x) => x.span,
        Clause::Summarize(x) => x.span,
        Clause::Having(x) => x.span,
        Clause::Project(x) => x.span,
        Clause::Take(x) => x.span,
        Clause::Examples(x) => x.span,
    }
}

fn examples(w: &mut Writer<'_>, x: &Examples) {
    w.note(x.span);
    w.text("examples");
    if let Some(n) = &x.now {
        w.text(" at ");
        w.text(&expr(n, Dialect::Scry));
    }
    w.text(" {");
    for c in &x.cases {
        w.newline(4);
        w.lead(c.span, 4);
        w.note(c.span);
        match &c.expect {
            Expect::Match => w.text("match "),
            Expect::NoMatch => w.text("no_match "),
            Expect::Given => w.text("given "),
            Expect::Suppressed(_) => w.text("suppressed "),
        }
        w.text(&meta_string(&c.label.value));
        if let Expect::Suppressed(by) = &c.expect {
            w.text(" by ");
            w.text(&meta_string(&by.value));
        }
        if let Some(t) = &c.table {
            w.text(" in ");
            w.text(&name(&t.name));
        }
        w.text(" ");
        // The event is kept as written; a multi-line one keeps its own line breaks.
        w.text(&c.event.text);
        w.after(c.span);
    }
    w.closing(x.span, 4);
    w.newline(2);
    w.text("}");
    w.after(x.span);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{parse_expr, parse_file};

    /// The tree without spans, for comparing a parse with the parse of its printout.
    fn shape(e: &Expr) -> String {
        let mut e = e.clone();
        clear(&mut e);
        format!("{e:?}")
    }

    fn clear(e: &mut Expr) {
        e.span = Span::default();
        match &mut e.kind {
            ExprKind::Literal(_) | ExprKind::Star => {}
            ExprKind::Name(id) => id.span = Span::default(),
            ExprKind::Not(x) | ExprKind::Neg(x) => clear(x),
            ExprKind::Binary {
                lhs, rhs, op_span, ..
            } => {
                *op_span = Span::default();
                clear(lhs);
                clear(rhs);
            }
            ExprKind::InList {
                lhs, list, op_span, ..
            } => {
                *op_span = Span::default();
                clear(lhs);
                list.iter_mut().for_each(clear);
            }
            ExprKind::Between { lhs, low, high, .. } => {
                clear(lhs);
                clear(low);
                clear(high);
            }
            ExprKind::Call { name, args } => {
                name.span = Span::default();
                args.iter_mut().for_each(clear);
            }
            ExprKind::Index { base, index } => {
                clear(base);
                clear(index);
            }
            ExprKind::List(xs) => xs.iter_mut().for_each(clear),
            ExprKind::Query(q) => {
                for t in &mut q.tables {
                    t.span = Span::default();
                }
                q.distinct.span = Span::default();
                if let Some(w) = &mut q.window {
                    w.span = Span::default();
                    match &mut w.kind {
                        WindowKind::Lookback(x) => clear(x),
                        WindowKind::Between(a, b) => {
                            clear(a);
                            clear(b);
                        }
                    }
                }
                for f in &mut q.filters {
                    f.span = Span::default();
                    clear(&mut f.predicate);
                }
            }
        }
    }

    const CASES: &[&str] = &[
        "a == 1 or b == 2 and c == 3",
        "(a or b) and c",
        "a and (b and c)",
        "a - (b - c)",
        "(a - b) - c",
        "-(-x)",
        "-(a + b) * 2",
        "not(a) and not(b or c)",
        "x in ('a', 'b',)",
        "x in~ (('a', 'b'), 'c', dynamic(['d']))",
        "FolderPath has_any (@'\\Program Files\\Level\\', @'\\Program Files (x86)\\Level\\')",
        "s has \"it's\" or s has 'a\\'b\\\\c'",
        "tostring(split(RemoteUrl, '/')[0])",
        "trim_start(@'http[s]?://', RemoteUrl)",
        "Timestamp between (now(-5d) .. now())",
        "Timestamp !between (datetime(2024-05-15) .. 1.5h)",
        "x matches regex '^a+$'",
        "['in'] == ['Column with spaces']",
        "(a == b) == c",
        "x == long(null) or y == 1.5 or z == 1e300",
        "t > ago(90s) and t < ago(7tick)",
        "Sha1 in (from DeviceFileCertificateInfo window 5d where Signer has 'x' distinct SHA1)",
        "(x, y)[0]",
        "'a\\u0001b' == x",
        "arg_max(Timestamp, *)",
        "arg_min(Timestamp, DeviceName, *) == x",
    ];

    #[test]
    fn printing_then_parsing_gives_the_same_tree() {
        for src in CASES {
            let e = parse_expr(src).unwrap_or_else(|err| panic!("{src}: {err:?}"));
            let printed = expr(&e, Dialect::Scry);
            let back = parse_expr(&printed).unwrap_or_else(|err| panic!("{printed}: {err:?}"));
            assert_eq!(shape(&e), shape(&back), "{src} printed as {printed}");
        }
    }

    #[test]
    fn minimal_parentheses() {
        let p = |s: &str| expr(&parse_expr(s).unwrap(), Dialect::Scry);
        assert_eq!(p("((a)) or ((b and c))"), "a or b and c");
        assert_eq!(p("(a or b) and c"), "(a or b) and c");
        assert_eq!(p("x + (y * z)"), "x + y * z");
        assert_eq!(p("('a')"), "'a'");
        assert_eq!(p("('a',)"), "('a',)");
    }

    #[test]
    fn kql_spelling_of_lists_and_sets() {
        let k = |s: &str| expr(&parse_expr(s).unwrap(), Dialect::Kql);
        assert_eq!(k("('a', 'b')"), "dynamic(['a', 'b'])");
        assert_eq!(k("x in ('a', 'b')"), "x in ('a', 'b')");
        assert_eq!(
            k("x in (from T window 5d where a == 1 distinct C)"),
            "x in ((T | where Timestamp between (now(-5d) .. now()) | where a == 1 | distinct C))"
        );
    }

    #[test]
    fn strings_read_back_in_both_languages() {
        for s in [
            "plain",
            r"C:\Windows",
            "it's",
            r#"both ' and ""#,
            "tab\there",
            "",
        ] {
            let lit = string_literal(s);
            let e = parse_expr(&lit).unwrap();
            assert_eq!(e.kind, ExprKind::Literal(Literal::Str(s.into())), "{lit}");
        }
    }

    #[test]
    fn timespans_use_the_largest_exact_unit() {
        assert_eq!(timespan(5 * 864_000_000_000), "5d");
        assert_eq!(timespan(90 * 10_000_000), "90s");
        assert_eq!(timespan(7), "7tick");
        assert_eq!(timespan(-36_000_000_000), "-1h");
    }

    #[test]
    fn files_print_and_parse_back() {
        let src = r#"
let Vendors = ('ServerEye', 'Server-Eye');
rule r {
  id "1"
  tactics [CommandAndControl]
  techniques [T1219]
  from DeviceProcessEvents, DeviceNetworkEvents
  window 5d
  let Local = from DeviceFileCertificateInfo where Signer has 'x' distinct SHA1;
  where a has 'x' and b has_any (Vendors) and (c == 1 or d == 2)
  extend X = tolower(a), Y = 2
  except "fp" { description "why" when a == 'y' }
  except "short" when b == 'z'
  summarize Count = count(), First = min(Timestamp), arg_max(Timestamp, *) by DeviceId, K = tolower(DeviceName)
  having Count > 1
  project DeviceId, Count, Seen = First
  limit 10
  examples at datetime(2024-05-15T12:00:00Z) {
    match "m" {"a": "x"}
    suppressed "s" by "fp" in DeviceProcessEvents {"a": "y"}
  }
}
"#;
        let f = parse_file(src).unwrap();
        let (text, lost) = file(&f, &Notes::default());
        assert!(lost.is_empty());
        let back = parse_file(&text).unwrap_or_else(|e| panic!("{text}\n{e:?}"));
        assert_eq!(back.items.len(), f.items.len());
        let (again, _) = file(&back, &Notes::default());
        assert_eq!(text, again, "printing is a fixed point");
        assert!(
            text.contains(
                "  where a has 'x'\n    and b has_any (Vendors)\n    and (c == 1 or d == 2)"
            ),
            "{text}"
        );
    }

    #[test]
    fn notes_go_to_the_end_of_their_line_aligned_in_lists() {
        let e = parse_expr("x has_any ('a', 'bbb')").unwrap();
        let ExprKind::InList { list, .. } = &e.kind else {
            panic!()
        };
        let mut notes = Notes::default();
        notes.add(list[0].span, "first");
        notes.add(list[1].span, "second");
        let mut w = Writer::new(Dialect::Scry, &notes);
        w.text("where ");
        w.expr(&e, 2, true);
        let (text, lost) = w.finish();
        assert!(lost.is_empty());
        assert_eq!(
            text,
            "where x has_any (\n      'a',    // first\n      'bbb'   // second\n    )"
        );
    }
}
