//! `scry export sigma`: scry rules → Sigma rules, for the rules whose detection Sigma can
//! express with exactly the same meaning; every other rule is refused by name (E0311).
//!
//! The reverse of the Sigma frontend ([`crate::sigma`]), over the same data: a rule's table
//! becomes the logsource whose target in `engine/schemas/sigma/logsources.json` reads that
//! table (`DeviceProcessEvents` → `windows/process_creation`, ...), provided the target's
//! guard holds on every row the rule reads (an `isempty(Channel)` on a table without
//! `Channel`, or a guard the rule itself states as a conjunct); each column becomes the Sigma
//! field the target maps onto it (`FolderPath` → `Image`, `ProcessCommandLine` →
//! `CommandLine`). The operators map only where the meaning is the same
//! ([`detection`]): `=~` → a plain value, `==` → `|cased`, `contains` / `startswith` /
//! `endswith` → those modifiers, `in~` → a list, `matches regex` → `|re`, numbers `<` `>` →
//! `|lt` `|gt` ..., and `has` → `|re` with KQL's term boundaries (or `|contains` when no edge
//! of the needle is a term character). Each `except` becomes a `filter_*` selection, `and
//! not`-ed in the condition, and named under `falsepositives`.
//!
//! `window 5d` (the look-back of a scheduled query), a `summarize` without `having` (a report
//! over the matching events) and `project` are not part of a Sigma rule: they are left out
//! and named in a comment at the top of the document. A `having`, `threshold`, `sequence`,
//! `join`, `first_seen`, `extend` or `take` changes which events are reported, and refuses
//! the rule.
//!
//! ```
//! use scry_compile::export;
//! use scry_compile::schema::Catalog;
//! let src = r#"rule r { id "7c3c4a07-5d5b-4c59-8f48-0f8e0b1d2a11" title "t"
//!     from DeviceProcessEvents where FolderPath endswith @'\x.exe' }"#;
//! let (rules, diags) = export::sigma::export(src, 0, &Catalog::builtin());
//! assert!(diags.is_empty());
//! assert!(rules[0].yaml.contains("    Image|endswith: '\\\\x.exe'\n"));
//! ```

mod detection;

use crate::diag::{codes, Diagnostic};
use crate::schema::{Catalog, TableSchema};
use crate::sigma::logsource::{FieldSource, Mapping, OtherFields, Target};
use crate::sigma::TACTICS;
use detection::{Cond, Layout, Reader, Val};
use scry_grammar::print::{self, Dialect};
use scry_grammar::{self as ast, Clause, Expr, ExprKind, Item, MetaValue, Span};
use std::collections::{BTreeMap, HashMap};

/// One exported rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigmaRule {
    /// The scry rule's name (also a good file stem).
    pub name: String,
    /// The Sigma `id`: the rule's own id when it is a UUID, else a UUIDv5 of its name.
    pub id: String,
    /// The Sigma rule, one YAML document.
    pub yaml: String,
}

/// Why a rule or a part of it has no Sigma form.
#[derive(Debug, Clone)]
pub(crate) struct Refuse {
    span: Span,
    reason: String,
}

const STATUSES: &[&str] = &[
    "stable",
    "test",
    "experimental",
    "deprecated",
    "unsupported",
];

/// Exports every rule of one `.scry` file (`file` is its index for diagnostics). A rule that
/// Sigma cannot express is left out with an E0311 error naming the reason.
pub fn export(source: &str, file: usize, catalog: &Catalog) -> (Vec<SigmaRule>, Vec<Diagnostic>) {
    let parsed = match super::parse(source, file) {
        Ok(f) => f,
        Err(diags) => return (Vec::new(), diags),
    };
    let file_lets = super::file_lets(&parsed);
    let mut out = Vec::new();
    let mut diags = Vec::new();
    for item in &parsed.items {
        let Item::Rule(r) = item else { continue };
        match rule(r, &file_lets, catalog, Mapping::builtin()) {
            Ok(s) => out.push(s),
            Err(refused) => diags.push(
                Diagnostic::error(
                    codes::EXPORT_SIGMA_UNSUPPORTED,
                    file,
                    refused.span,
                    format!(
                        "rule `{}` has no Sigma form: {}",
                        r.name.name, refused.reason
                    ),
                )
                .with_label("cannot be expressed in Sigma"),
            ),
        }
    }
    (out, diags)
}

fn refuse<T>(span: Span, reason: impl Into<String>) -> Result<T, Refuse> {
    Err(Refuse {
        span,
        reason: reason.into(),
    })
}

fn rule(
    r: &ast::Rule,
    file_lets: &[&ast::Let],
    catalog: &Catalog,
    mapping: &Mapping,
) -> Result<SigmaRule, Refuse> {
    let mut left_out: Vec<String> = Vec::new();
    let mut tables: Vec<&ast::Ident> = Vec::new();
    let mut wheres: Vec<&Expr> = Vec::new();
    let mut excepts: Vec<&ast::Except> = Vec::new();
    let mut lets: HashMap<String, &Expr> = file_lets
        .iter()
        .map(|l| (l.name.name.clone(), &l.value))
        .collect();
    for c in &r.clauses {
        let why = match c {
            Clause::Meta(_) | Clause::Examples(_) => continue,
            Clause::From(f) => {
                tables.extend(&f.tables);
                continue;
            }
            Clause::Where(w) => {
                wheres.push(&w.predicate);
                continue;
            }
            Clause::Except(x) => {
                excepts.push(x);
                continue;
            }
            Clause::Let(l) => {
                lets.insert(l.name.name.clone(), &l.value);
                continue;
            }
            Clause::Window(w) => match &w.kind {
                ast::WindowKind::Lookback(x) => {
                    left_out.push(format!(
                        "`window {}` (the look-back of a scheduled query: the backend's schedule)",
                        print::expr(x, Dialect::Scry)
                    ));
                    continue;
                }
                ast::WindowKind::Between(..) => {
                    (w.span, "`window between` (a fixed time range; Sigma rules have none)")
                }
            },
            Clause::Summarize(s) => {
                let keys: Vec<String> = s
                    .by
                    .iter()
                    .map(|a| match &a.name {
                        Some(n) => n.name.clone(),
                        None => print::expr(&a.value, Dialect::Scry),
                    })
                    .collect();
                left_out.push(if keys.is_empty() {
                    "`summarize` (a report over the matching events)".to_string()
                } else {
                    format!(
                        "`summarize ... by {}` (a report over the matching events)",
                        keys.join(", ")
                    )
                });
                continue;
            }
            Clause::Project(_) => {
                left_out.push("`project` (the columns shown)".to_string());
                continue;
            }
            Clause::Having(h) => (
                h.span,
                "`having` (a filter over groups of events: a Sigma correlation rule)",
            ),
            Clause::Threshold(t) => (
                t.span,
                "`threshold` (a count of events within a span: a Sigma correlation rule, not exported yet)",
            ),
            Clause::Sequence(s) => (
                s.span,
                "`sequence` (events in order: a Sigma temporal correlation, not exported yet)",
            ),
            Clause::Join(j) => (j.span, "`join` (rows of two tables; a Sigma rule reads one event)"),
            Clause::FirstSeen(f) => (f.span, "`first_seen` (a history of earlier events)"),
            Clause::Extend(x) => (x.span, "`extend` (computed columns)"),
            Clause::Take(t) => (t.span, "`take` (a limit on the result rows)"),
        };
        return refuse(why.0, why.1);
    }
    let table = match tables.as_slice() {
        [t] => *t,
        [] => return refuse(r.name.span, "no `from`"),
        [_, second, ..] => {
            return refuse(
                second.span,
                "several tables (a Sigma rule has one logsource)",
            )
        }
    };
    let Some(schema) = catalog.table(&table.name) else {
        return refuse(
            table.span,
            format!("table {} is not in the catalog", table.name),
        );
    };
    let mut conjuncts: Vec<&Expr> = wheres.iter().flat_map(|w| w.conjuncts()).collect();
    let (key, target, guard_at) =
        logsource(mapping, schema, &conjuncts).map_err(|reason| Refuse {
            span: table.span,
            reason,
        })?;
    if let Some(i) = guard_at {
        conjuncts.remove(i);
    }
    if conjuncts.is_empty() {
        return refuse(r.name.span, "no condition besides the logsource's own");
    }
    let mut fields: BTreeMap<String, String> = BTreeMap::new();
    for (field, src) in &target.fields {
        if let FieldSource::Column(c) = src {
            fields.entry(c.clone()).or_insert_with(|| field.clone());
        }
    }
    let category = key.split('/').nth(1).unwrap_or_default().to_string();
    let reader = Reader {
        table: schema,
        fields: &fields,
        category: &category,
        lets: &lets,
    };
    let mut parts = Vec::new();
    for c in &conjuncts {
        parts.push(reader.cond(c, false)?);
    }
    let condition = if parts.len() == 1 {
        parts.remove(0)
    } else {
        Cond::And(parts)
    };
    let mut layout = Layout::default();
    let mut cond_text = layout.place(&condition, "selection");
    if !excepts.is_empty() && matches!(condition, Cond::Or(_)) && cond_text.contains(' ') {
        // `and not filter` binds tighter than the `or`.
        cond_text = format!("({cond_text})");
    }
    let mut falsepositives: Vec<String> = Vec::new();
    for x in &excepts {
        let c = reader.cond(&x.condition, false).map_err(|e| Refuse {
            span: e.span,
            reason: format!("exclusion \"{}\": {}", x.name.value, e.reason),
        })?;
        let text = layout.place(&c, &format!("filter_{}", slug(&x.name.value)));
        cond_text = if text.contains(' ') {
            format!("{cond_text} and not ({text})")
        } else {
            format!("{cond_text} and not {text}")
        };
        falsepositives.push(match &x.description {
            Some(d) => format!("{}: {}", x.name.value, d.value),
            None if x.name.value.chars().count() < 2 => format!("exclusion {}", x.name.value),
            None => x.name.value.clone(),
        });
    }
    document(r, &key, &layout, &cond_text, falsepositives, &left_out)
}

/// The logsource whose target reads `table` and whose guard holds on the rule's rows: the
/// key (`windows/process_creation/`), the target, and the conjunct that states the guard.
fn logsource<'m>(
    mapping: &'m Mapping,
    table: &TableSchema,
    conjuncts: &[&Expr],
) -> Result<(String, &'m Target, Option<usize>), String> {
    let mut unmet: Vec<String> = Vec::new();
    let mut always: Option<(String, &Target)> = None;
    for (key, targets) in &mapping.logsources {
        for t in targets {
            // A target reading fields by their Sigma names is another product's rows (Sysmon)
            // delivered as this table; only targets that rename onto the table's own columns
            // describe its rows.
            if t.table != table.name || t.other_fields != OtherFields::SkipTarget {
                continue;
            }
            let Some(when) = &t.when else {
                always.get_or_insert((key.clone(), t));
                continue;
            };
            let Ok(guard) = ast::parse_expr(when) else {
                unmet.push(format!("{key}: its guard `{when}` does not parse"));
                continue;
            };
            if holds_on_every_row(&guard, table) {
                always.get_or_insert((key.clone(), t));
                continue;
            }
            let g = print::expr(&guard, Dialect::Scry);
            if let Some(i) = conjuncts
                .iter()
                .position(|c| print::expr(c, Dialect::Scry) == g)
            {
                return Ok((key.clone(), t, Some(i)));
            }
            let category = key.split('/').nth(1).unwrap_or(key);
            unmet.push(format!("{category} reads the rows where `{when}`"));
        }
    }
    match always {
        Some((k, t)) => Ok((k, t, None)),
        None if unmet.is_empty() => Err(format!(
            "table {} has no Sigma logsource (engine/schemas/sigma/logsources.json maps none onto its rows)",
            table.name
        )),
        None => Err(format!(
            "table {} reaches Sigma only through a guard the rule does not state ({})",
            table.name,
            unmet.join("; ")
        )),
    }
}

/// `isempty(C)` of a column the table does not have: true on each of its rows.
fn holds_on_every_row(guard: &Expr, table: &TableSchema) -> bool {
    match &guard.kind {
        ExprKind::Call { name, args } if name.name == "isempty" => {
            matches!(args.as_slice(), [Expr { kind: ExprKind::Name(c), .. }] if table.column(&c.name).is_none())
        }
        _ => false,
    }
}

/// A selection-name part from an exclusion name: lowercase ASCII letters, digits and `_`.
fn slug(name: &str) -> String {
    let mut s = String::new();
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            s.push(c.to_ascii_lowercase());
        } else if !s.ends_with('_') {
            s.push('_');
        }
    }
    let s: String = s.trim_matches('_').chars().take(40).collect();
    let s = s.trim_end_matches('_');
    if s.is_empty() {
        "exclusion".into()
    } else {
        s.to_string()
    }
}

fn meta<'r>(r: &'r ast::Rule, key: &str) -> Vec<&'r str> {
    fn go<'a>(v: &'a MetaValue, out: &mut Vec<&'a str>) {
        match v {
            MetaValue::Str(s) => out.push(&s.value),
            MetaValue::Word(w) => out.push(&w.name),
            MetaValue::List(items, _) => items.iter().for_each(|i| go(i, out)),
        }
    }
    let mut out = Vec::new();
    for c in &r.clauses {
        if let Clause::Meta(m) = c {
            if m.key.name == key {
                go(&m.value, &mut out);
            }
        }
    }
    out
}

/// `CommandAndControl`, `command and control`, `command-and-control` → `command-and-control`.
fn tactic_tag(t: &str) -> Option<String> {
    let mut s = String::new();
    for (i, c) in t.trim().chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 && !s.ends_with('-') {
            s.push('-');
        }
        match c {
            ' ' | '_' | '-' if !s.ends_with('-') => s.push('-'),
            ' ' | '_' | '-' => {}
            c => s.push(c.to_ascii_lowercase()),
        }
    }
    TACTICS.contains(&s.as_str()).then_some(s)
}

/// `T1219`, `t1059.001` → `t1219`, `t1059.001`.
fn technique_tag(t: &str) -> Option<String> {
    let l = t.trim().to_ascii_lowercase();
    let digits = l.strip_prefix('t')?;
    let (main, sub) = digits.split_once('.').unwrap_or((digits, ""));
    let ok = main.len() == 4
        && main.bytes().all(|b| b.is_ascii_digit())
        && (sub.is_empty() || (sub.len() == 3 && sub.bytes().all(|b| b.is_ascii_digit())));
    ok.then_some(l)
}

fn is_date(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit())
        && matches!(
            &s[5..7],
            "01" | "02" | "03" | "04" | "05" | "06" | "07" | "08" | "09" | "10" | "11" | "12"
        )
        && matches!(s[8..10].parse::<u8>(), Ok(1..=31))
}

/// The rule's Sigma `id`.
pub fn sigma_id(name: &str, id: Option<&str>) -> String {
    match id.and_then(|i| uuid::Uuid::parse_str(i).ok()) {
        Some(u) => u.hyphenated().to_string(),
        // Version 5 (SHA-1, name-based): the same rule name always gives the same id.
        None => uuid::Uuid::new_v5(
            &uuid::Uuid::NAMESPACE_URL,
            format!("scry:rule/{name}").as_bytes(),
        )
        .hyphenated()
        .to_string(),
    }
}

fn document(
    r: &ast::Rule,
    key: &str,
    layout: &Layout,
    condition: &str,
    mut falsepositives: Vec<String>,
    left_out: &[String],
) -> Result<SigmaRule, Refuse> {
    let one = |k: &str| meta(r, k).first().map(|s| s.to_string());
    let name = &r.name.name;
    let title = one("title").unwrap_or_else(|| name.clone());
    if title.chars().count() > 256 {
        return refuse(r.name.span, "a title longer than Sigma's 256 characters");
    }
    let id = sigma_id(name, one("id").as_deref());
    let mut y = String::new();
    let mut notes: Vec<String> = Vec::new();
    y.push_str(&format!(
        "# scry rule `{name}`, exported by `scry export sigma`.\n"
    ));
    if !left_out.is_empty() {
        notes.push(format!("Not exported: {}.", left_out.join("; ")));
    }
    y.push_str(&format!("title: {}\n", scalar(&title)));
    y.push_str(&format!("id: {id}\n"));
    let status = match one("status") {
        Some(s) if STATUSES.contains(&s.as_str()) => s,
        Some(s) => {
            notes.push(format!(
                "status `{s}` is not a Sigma status: written as experimental."
            ));
            "experimental".into()
        }
        None => "experimental".into(),
    };
    y.push_str(&format!("status: {status}\n"));
    if let Some(d) = one("description") {
        if d.chars().count() > 65535 {
            return refuse(
                r.name.span,
                "a description longer than Sigma's 65,535 characters",
            );
        }
        y.push_str(&format!("description: {}\n", scalar(&d)));
    }
    list(
        &mut y,
        "references",
        dedup(meta(r, "references").into_iter().map(String::from)),
    );
    if let Some(a) = one("author") {
        y.push_str(&format!("author: {}\n", scalar(&a)));
    }
    for k in ["date", "modified"] {
        match one(k) {
            Some(d) if is_date(&d) => y.push_str(&format!("{k}: {d}\n")),
            Some(d) => notes.push(format!("{k} `{d}` is not YYYY-MM-DD: left out.")),
            None => {}
        }
    }
    let mut tags = Vec::new();
    for t in meta(r, "tactics") {
        match tactic_tag(t) {
            Some(tag) => tags.push(format!("attack.{tag}")),
            None => notes.push(format!(
                "tactic `{t}` is not an ATT&CK tactic Sigma tags know: left out."
            )),
        }
    }
    for t in meta(r, "techniques") {
        match technique_tag(t) {
            Some(tag) => tags.push(format!("attack.{tag}")),
            None => notes.push(format!(
                "technique `{t}` is not an ATT&CK technique id: left out."
            )),
        }
    }
    list(&mut y, "tags", dedup(tags));
    let mut parts = key.split('/');
    y.push_str("logsource:\n");
    for k in ["product", "category", "service"] {
        match parts.next() {
            Some(v) if !v.is_empty() => y.push_str(&format!("  {k}: {}\n", scalar(v))),
            _ => {}
        }
    }
    y.push_str("detection:\n");
    for (sel, items) in &layout.selections {
        y.push_str(&format!("  {sel}:\n"));
        for i in items {
            match i.values.as_slice() {
                [v] => y.push_str(&format!("    {}: {}\n", i.key, value(v))),
                vs => {
                    y.push_str(&format!("    {}:\n", i.key));
                    for v in vs {
                        y.push_str(&format!("      - {}\n", value(v)));
                    }
                }
            }
        }
    }
    y.push_str(&format!("  condition: {}\n", scalar(condition)));
    falsepositives.extend(meta(r, "false_positives").into_iter().map(String::from));
    list(
        &mut y,
        "falsepositives",
        dedup(
            falsepositives
                .into_iter()
                .filter(|f| f.chars().count() >= 2),
        ),
    );
    if let Some(l) = one("severity") {
        y.push_str(&format!("level: {l}\n"));
    }
    let mut head = String::new();
    for n in notes {
        head.push_str(&format!("# {}\n", n.replace(['\r', '\n'], " ")));
    }
    y.insert_str(y.find('\n').map_or(0, |i| i + 1), &head);
    Ok(SigmaRule {
        name: name.clone(),
        id,
        yaml: y,
    })
}

fn dedup(items: impl IntoIterator<Item = String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for i in items {
        if !out.contains(&i) {
            out.push(i);
        }
    }
    out
}

fn list(y: &mut String, key: &str, items: Vec<String>) {
    if items.is_empty() {
        return;
    }
    y.push_str(&format!("{key}:\n"));
    for i in items {
        y.push_str(&format!("  - {}\n", scalar(&i)));
    }
}

fn value(v: &Val) -> String {
    match v {
        Val::Str(s) => quoted(s),
        Val::Long(n) => n.to_string(),
        Val::Real(r) => format!("{r:?}"),
        Val::Null => "null".into(),
    }
}

/// A character YAML lets a single-quoted scalar hold as itself (printable, not a line
/// break or a tab, which single quotes would fold).
fn plain_char(c: char) -> bool {
    matches!(c, ' '..='~' | '\u{A0}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
        && !matches!(c, '\u{2028}' | '\u{2029}' | '\u{FEFF}')
}

/// A YAML scalar that reads back as exactly `s`: single-quoted, or double-quoted with
/// escapes when `s` holds a character single quotes cannot.
fn quoted(s: &str) -> String {
    if s.chars().all(plain_char) {
        return format!("'{}'", s.replace('\'', "''"));
    }
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if plain_char(c) => out.push(c),
            c if (c as u32) <= 0xFFFF => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push_str(&format!("\\U{:08X}", c as u32)),
        }
    }
    out.push('"');
    out
}

/// `s` plain when YAML reads that back as the same string, else [`quoted`].
fn scalar(s: &str) -> String {
    let plain = !s.is_empty()
        && s.chars().all(plain_char)
        && !s.starts_with(|c: char| "-?:,[]{}#&*!|>'\"%@` .+".contains(c) || c.is_ascii_digit())
        && !s.ends_with([' ', ':'])
        && !s.contains(": ")
        && !s.contains(" #")
        && !["true", "false", "null", "yes", "no", "on", "off", "~"]
            .contains(&s.to_lowercase().as_str())
        && s.parse::<f64>().is_err();
    if plain {
        s.to_string()
    } else {
        quoted(s)
    }
}

#[cfg(test)]
mod tests;
