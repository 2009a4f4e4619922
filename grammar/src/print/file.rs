//! Whole `.scry` files: items, rules and their clauses, in written order.

use super::*;

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
            Clause::Threshold(x) => threshold(w, x),
            Clause::Sequence(x) => sequence(w, x),
            Clause::FirstSeen(x) => first_seen(w, x),
            Clause::Join(x) => join(w, x),
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
        Clause::Threshold(x) => x.span,
        Clause::Sequence(x) => x.span,
        Clause::FirstSeen(x) => x.span,
        Clause::Join(x) => x.span,
    }
}

fn join(w: &mut Writer<'_>, x: &Join) {
    w.note(x.span);
    w.text("join kind=");
    w.text(&x.kind.name);
    w.text(" (from ");
    let tables: Vec<String> = x.tables.iter().map(|t| name(&t.name)).collect();
    w.text(&tables.join(", "));
    if let Some(win) = &x.window {
        w.text(" ");
        w.text(&window_text(win, Dialect::Scry));
    }
    for f in &x.filters {
        w.newline(6);
        w.text("where ");
        w.expr(&f.predicate, 6, true);
    }
    w.text(") on ");
    let keys: Vec<String> =
        x.on.iter()
            .map(|k| {
                if k.left.name == k.right.name {
                    k.left.name.clone()
                } else {
                    format!("{} == {}", k.left.name, k.right.name)
                }
            })
            .collect();
    w.text(&keys.join(", "));
    if let Some(t) = &x.time {
        // The condition on its own line: it is long, and a separate test from the keys.
        w.text(",");
        w.newline(4);
        w.text(&t.column.name);
        w.text(" between (");
        join_bound(w, &t.low);
        w.text(" .. ");
        join_bound(w, &t.high);
        w.text(")");
    }
}

fn join_bound(w: &mut Writer<'_>, b: &JoinBound) {
    w.text(&b.column.name);
    if let Some((negative, offset)) = &b.offset {
        w.text(if *negative { " - " } else { " + " });
        w.expr(offset, 0, false);
    }
}

/// ` by a, b` then, on its own line, `with A = ..., ...`.
fn by_with(w: &mut Writer<'_>, by: &[Assignment], with: &[Assignment]) {
    if !by.is_empty() {
        w.text(" by ");
        let cont = w.column();
        assignments(w, by, cont);
    }
    if !with.is_empty() {
        w.newline(4);
        w.text("with ");
        let cont = w.column();
        assignments(w, with, cont);
    }
}

fn threshold(w: &mut Writer<'_>, x: &Threshold) {
    w.note(x.span);
    w.text("threshold ");
    if let Some(n) = &x.name {
        w.text(&name(&n.name));
        w.text(" = ");
    }
    w.text(&expr(&x.condition, w.dialect));
    w.text(" within ");
    w.text(&expr(&x.within, w.dialect));
    by_with(w, &x.by, &x.with);
}

fn first_seen(w: &mut Writer<'_>, x: &FirstSeen) {
    w.note(x.span);
    w.text("first_seen ");
    let cont = w.column();
    assignments(w, std::slice::from_ref(&x.term), cont);
    if !x.by.is_empty() {
        w.text(" by ");
        let cont = w.column();
        assignments(w, &x.by, cont);
    }
    w.text(" detect ");
    w.text(&expr(&x.detect, w.dialect));
    w.text(" history ");
    w.text(&expr(&x.history, w.dialect));
    by_with(w, &[], &x.with);
}

fn sequence(w: &mut Writer<'_>, x: &Sequence) {
    w.note(x.span);
    w.text("sequence ");
    if x.unordered {
        w.text("unordered ");
    }
    w.text("within ");
    w.text(&expr(&x.within, w.dialect));
    if !x.by.is_empty() {
        w.text(" by ");
        let cont = w.column();
        assignments(w, &x.by, cont);
    }
    w.text(" {");
    for st in x.steps.iter().chain(&x.until) {
        w.newline(4);
        w.lead(st.span, 4);
        w.note(st.span);
        match &st.name {
            Some(n) => {
                w.text("step ");
                w.text(&name(&n.name));
                w.text(" from ");
            }
            None => w.text("until from "),
        }
        let tables: Vec<String> = st.tables.iter().map(|t| name(&t.name)).collect();
        w.text(&tables.join(", "));
        for c in &st.clauses {
            w.newline(6);
            w.lead(clause_span(c), 6);
            match c {
                Clause::Where(x) => {
                    w.note(x.span);
                    w.text("where ");
                    w.expr(&x.predicate, 6, true);
                }
                Clause::Extend(x) => {
                    w.note(x.span);
                    w.text("extend ");
                    let cont = w.column();
                    assignments(w, &x.assignments, cont);
                }
                _ => {}
            }
            w.after(clause_span(c));
        }
        if let Some(g) = &st.gate {
            w.newline(6);
            w.lead(g.span, 6);
            w.note(g.span);
            w.text("threshold ");
            w.text(&expr(&g.condition, w.dialect));
            w.text(" within ");
            w.text(&expr(&g.within, w.dialect));
            w.after(g.span);
        }
        if !st.by.is_empty() {
            w.newline(6);
            let keys: Vec<String> = st.by.iter().map(|e| expr(e, w.dialect)).collect();
            w.text("by ");
            w.text(&keys.join(", "));
        }
        w.after(st.span);
    }
    w.closing(x.span, 4);
    w.newline(2);
    w.text("}");
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
        let event = |w: &mut Writer<'_>, e: &ExampleEvent| {
            if let Some(t) = &e.table {
                w.text("in ");
                w.text(&name(&t.name));
                w.text(" ");
            }
            // The event is kept as written; a multi-line one keeps its own line breaks.
            w.text(&e.event.text);
        };
        w.text(" ");
        if c.scenario {
            w.text("[");
            for (i, e) in c.events.iter().enumerate() {
                if i > 0 {
                    w.text(",");
                }
                w.newline(6);
                event(w, e);
            }
            w.newline(4);
            w.text("]");
            if let Some(n) = &c.count {
                w.text(" expect ");
                w.text(&expr(n, Dialect::Scry));
            }
        } else {
            for e in &c.events {
                event(w, e);
            }
        }
        w.after(c.span);
    }
    w.closing(x.span, 4);
    w.newline(2);
    w.text("}");
    w.after(x.span);
}
