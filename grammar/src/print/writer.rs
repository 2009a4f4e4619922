//! [`Writer`]: the layout of clauses and expressions over several lines, with notes placed.

use super::*;

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
    pub(super) dialect: Dialect,
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
                    // The chain's own notes go where it starts, like every node's: the
                    // formatter attaches a comment to the outermost node starting on its
                    // line, so a note printed on the chain's last line would move to that
                    // line on the next pass (fmt would not be a fixed point).
                    self.note(e.span);
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
