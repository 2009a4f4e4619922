//! What the server knows about one document: diagnostics (the compiler's, and the examples'
//! verdicts on save), completion, hover, definitions, did-you-mean fixes.

use super::text;
use lsp_types::{
    CompletionItem, CompletionItemKind, Diagnostic, DiagnosticSeverity, Documentation,
    MarkupContent, MarkupKind, NumberOrString, Range,
};
use scry_engine::compile::{self, Sources};
use scry_engine::diag::Severity;
use scry_engine::plan::Plan;
use scry_engine::schema::{Catalog, TableSchema};
use std::sync::Arc;

/// The operators, with the semantics hover shows.
pub const OPERATORS: &[(&str, &str)] = &[
    ("has", "true when the right side is a whole term of the left (terms are runs of letters and digits), case-insensitive: 'Action1-Corp' has 'action1'"),
    ("has_cs", "`has`, case-sensitive"),
    ("!has", "not `has`"),
    ("hasprefix", "some term of the left starts with the right, case-insensitive"),
    ("hassuffix", "some term of the left ends with the right, case-insensitive"),
    ("contains", "the right occurs anywhere in the left, case-insensitive (no term boundaries)"),
    ("contains_cs", "`contains`, case-sensitive"),
    ("!contains", "not `contains`"),
    ("startswith", "the left starts with the right, case-insensitive"),
    ("endswith", "the left ends with the right, case-insensitive"),
    ("has_any", "`has` for at least one needle of the list"),
    ("has_all", "`has` for every needle of the list"),
    ("in", "equal (case-sensitive) to an item of the list"),
    ("in~", "equal to an item of the list, case-insensitive"),
    ("!in", "equal to no item of the list"),
    ("between", "inside the inclusive range (a .. b)"),
    ("matches", "`matches regex 'p'`: the regex finds a match in the left"),
    ("==", "equal (strings: case-sensitive)"),
    ("=~", "equal, case-insensitive"),
    ("!=", "not equal (case-sensitive)"),
    ("!~", "not equal, case-insensitive"),
    ("and", "both (KQL three-valued logic: null and false is false)"),
    ("or", "either (null or true is true)"),
    ("not", "negation: not(x)"),
];

/// Scalar functions and aggregates.
pub const FUNCTIONS: &[(&str, &str)] = &[
    ("isempty", "isempty(x): x is null or ''"),
    ("isnotempty", "isnotempty(x): not isempty(x)"),
    ("isnull", "isnull(x)"),
    ("isnotnull", "isnotnull(x)"),
    ("tolower", "tolower(s)"),
    ("toupper", "toupper(s)"),
    ("strlen", "strlen(s): length in characters"),
    ("tostring", "tostring(x)"),
    ("strcat", "strcat(a, b, ...)"),
    ("split", "split(s, delimiter): a dynamic array"),
    ("todatetime", "todatetime(x)"),
    ("tolong", "tolong(x)"),
    ("toreal", "toreal(x)"),
    ("now", "now(): the run's clock; now(-5d) five days earlier"),
    ("ago", "ago(5d): now() - 5d"),
    ("count", "summarize: count() rows"),
    ("countif", "summarize: countif(predicate)"),
    ("dcount", "summarize: dcount(x) distinct values"),
    ("min", "summarize: min(x)"),
    ("max", "summarize: max(x)"),
    (
        "make_set",
        "summarize: make_set(x) the distinct values, sorted",
    ),
    ("sum", "summarize: sum(x)"),
    ("avg", "summarize: avg(x), a real"),
    (
        "arg_max",
        "summarize: arg_max(by, cols...) the row with the largest `by`",
    ),
    (
        "arg_min",
        "summarize: arg_min(by, cols...) the row with the smallest `by`",
    ),
];

const KEYWORDS: &[&str] = &[
    "rule",
    "let",
    "from",
    "window",
    "where",
    "extend",
    "except",
    "summarize",
    "having",
    "project",
    "take",
    "examples",
    "match",
    "no_match",
    "suppressed",
    "given",
    "by",
    "when",
    "description",
    "threshold",
    "within",
    "with",
    "sequence",
    "unordered",
    "step",
    "until",
    "first_seen",
    "detect",
    "history",
    "expect",
    "join",
    "kind",
    "on",
];

/// What a table holds (the schema file's description), and for the three core Defender tables
/// the reference page they were copied from (`defender.json`'s `source`).
fn table_doc(t: &TableSchema) -> Option<String> {
    static SCHEMA: &str = include_str!("../../engine/schemas/defender.json");
    let page = serde_json::from_str::<serde_json::Value>(SCHEMA)
        .ok()
        .and_then(|v| v["source"][&t.name].as_str().map(str::to_string));
    match (t.description(), page) {
        (Some(d), Some(p)) => Some(format!("{d}\n\n{p}")),
        (Some(d), None) => Some(d.to_string()),
        (None, p) => p,
    }
}

/// A column's documentation: its schema description, then what its table holds.
fn column_doc(t: &TableSchema, column: &str) -> Option<String> {
    let table = t.description().map(|d| format!("{}: {d}", t.name));
    match (t.column_description(column), table) {
        (Some(c), Some(tb)) => Some(format!("{c}\n\n{tb}")),
        (Some(c), None) => Some(c.to_string()),
        (None, tb) => tb,
    }
}

/// Compiles the document alone: its diagnostics, and the plan when it compiles.
pub fn compile_doc(
    name: &str,
    src: &str,
    catalog: &Arc<Catalog>,
) -> (Vec<Diagnostic>, Option<Plan>) {
    let mut sources = Sources::default();
    sources.add(name, src.to_string());
    let compiled = compile::compile(&sources, Arc::clone(catalog));
    let diags = compiled
        .diagnostics
        .iter()
        .filter(|d| d.file == 0)
        .map(|d| Diagnostic {
            range: text::range(src, d.span),
            severity: Some(match d.severity {
                Severity::Warning => DiagnosticSeverity::WARNING,
                _ => DiagnosticSeverity::ERROR,
            }),
            code: Some(NumberOrString::String(d.code.to_string())),
            source: Some("scry".into()),
            message: if d.notes.is_empty() {
                d.message.clone()
            } else {
                format!("{}\n{}", d.message, d.notes.join("\n"))
            },
            ..Default::default()
        })
        .collect();
    let plan = (!compiled.has_errors()).then(|| Plan::new(compiled.rules));
    (diags, plan)
}

/// The examples that misbehave, marked where they are written: `scry test`'s verdicts (at the
/// examples' own clock, else now, as `scry test`).
pub fn example_diagnostics(src: &str, plan: &Plan, now: i64) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for ri in 0..plan.rules.len() {
        let rule = &plan.rules[ri];
        let report = scry_engine::testing::check_examples(plan, ri, now);
        for o in report.cases.iter().filter(|o| !o.ok) {
            let Some(case) = rule.examples.iter().find(|c| c.label == o.label) else {
                continue;
            };
            out.push(Diagnostic {
                range: text::range(src, case.span),
                severity: Some(DiagnosticSeverity::ERROR),
                code: Some(NumberOrString::String("example".into())),
                source: Some("scry test".into()),
                message: format!(
                    "example \"{}\" of rule {}: expected {}, got {}",
                    o.label, rule.name, o.expected, o.got
                ),
                ..Default::default()
            });
        }
    }
    out
}

fn item(
    label: &str,
    kind: CompletionItemKind,
    detail: String,
    doc: Option<String>,
) -> CompletionItem {
    CompletionItem {
        label: label.to_string(),
        kind: Some(kind),
        detail: Some(detail),
        documentation: doc.map(Documentation::String),
        ..Default::default()
    }
}

/// The `let` names of the document with their value's text: `(name, value, span of name)`.
pub fn lets(src: &str) -> Vec<(String, String, scry_grammar::Span)> {
    let mut out = Vec::new();
    let mut at = 0;
    while let Some(p) = src[at..].find("let ") {
        let start = at + p;
        at = start + 4;
        let ok_before = src[..start]
            .chars()
            .next_back()
            .is_none_or(|c| !(c.is_alphanumeric() || c == '_'));
        if !ok_before || in_comment_or_string(src, start) {
            continue;
        }
        let rest = &src[at..];
        let name: String = rest
            .trim_start()
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        if name.is_empty() {
            continue;
        }
        let name_start = at + (rest.len() - rest.trim_start().len());
        let value = rest
            .split_once('=')
            .map(|(_, v)| v.split(';').next().unwrap_or("").trim().to_string())
            .unwrap_or_default();
        out.push((
            name.clone(),
            value,
            scry_grammar::Span::new(name_start, name_start + name.len()),
        ));
    }
    out
}

fn in_comment_or_string(src: &str, at: usize) -> bool {
    let line_start = src[..at].rfind('\n').map_or(0, |p| p + 1);
    let line = &src[line_start..at];
    line.contains("//") || line.matches('\'').count() % 2 == 1 || line.matches('"').count() % 2 == 1
}

/// Completion at byte `at`.
pub fn completion(src: &str, at: usize, catalog: &Catalog) -> Vec<CompletionItem> {
    let (_typing, prev) = text::words_before(src, at);
    let mut out = Vec::new();
    let table_items = |out: &mut Vec<CompletionItem>| {
        for t in catalog.tables() {
            out.push(item(
                &t.name,
                CompletionItemKind::CLASS,
                format!("table, {} columns", t.columns.len()),
                table_doc(t),
            ));
        }
    };
    let head = src[..at.min(src.len())].trim_end();
    let after_from = prev == "from"
        || (head.ends_with(',') && {
            let line = &head[head.rfind('\n').map_or(0, |p| p + 1)..];
            line.trim_start().starts_with("from ")
        });
    if after_from {
        table_items(&mut out);
        return out;
    }
    let tables = text::rule_tables(src, at);
    let schemas: Vec<_> = if tables.is_empty() {
        catalog.tables().iter().collect()
    } else {
        tables.iter().filter_map(|t| catalog.table(t)).collect()
    };
    let mut seen = std::collections::HashSet::new();
    for t in &schemas {
        for (c, ty) in &t.columns {
            if seen.insert(c.clone()) {
                out.push(item(
                    c,
                    CompletionItemKind::FIELD,
                    format!("{ty} — {}", t.name),
                    column_doc(t, c),
                ));
            }
        }
        for (alias, col) in t.aliases() {
            if seen.insert(alias.to_string()) {
                out.push(item(
                    alias,
                    CompletionItemKind::PROPERTY,
                    format!("alias of {col} in {}", t.name),
                    column_doc(t, col),
                ));
            }
        }
    }
    for (name, value, _) in lets(src) {
        if seen.insert(name.clone()) {
            out.push(item(
                &name,
                CompletionItemKind::VARIABLE,
                format!("let {name} = {value}"),
                None,
            ));
        }
    }
    for (op, doc) in OPERATORS {
        out.push(item(
            op,
            CompletionItemKind::OPERATOR,
            "operator".into(),
            Some(doc.to_string()),
        ));
    }
    for (f, doc) in FUNCTIONS {
        out.push(item(
            f,
            CompletionItemKind::FUNCTION,
            "function".into(),
            Some(doc.to_string()),
        ));
    }
    for k in KEYWORDS {
        out.push(item(k, CompletionItemKind::KEYWORD, "keyword".into(), None));
    }
    if prev.is_empty() || prev == "{" {
        table_items(&mut out);
    }
    out
}

/// Hover text at byte `at`: a column's type and table, an operator's or function's semantics,
/// a `let`'s value.
pub fn hover(src: &str, at: usize, catalog: &Catalog) -> Option<(Range, MarkupContent)> {
    let (start, word) = text::word_at(src, at)?;
    let range = text::range(src, scry_grammar::Span::new(start, start + word.len()));
    let md = |value: String| MarkupContent {
        kind: MarkupKind::Markdown,
        value,
    };
    if let Some((name, value, _)) = lets(src).into_iter().find(|(n, _, _)| n == word) {
        return Some((range, md(format!("`let {name} = {value}`"))));
    }
    let tables = text::rule_tables(src, at);
    let mut lines = Vec::new();
    for t in catalog.tables() {
        if !tables.is_empty() && !tables.contains(&t.name) {
            continue;
        }
        let describe = |col: &str| {
            t.column_description(col)
                .map_or(String::new(), |d| format!(": {d}"))
        };
        if let Some(ty) = t.column(word) {
            lines.push(format!(
                "`{word}`: **{ty}**, column of `{}`{}",
                t.name,
                describe(word)
            ));
        } else if let Some(col) = t.alias(word) {
            let ty = t.column(col).map_or("?".to_string(), |ty| ty.to_string());
            lines.push(format!(
                "`{word}`: alias of `{col}` (**{ty}**) in `{}`{}",
                t.name,
                describe(col)
            ));
        }
    }
    if let Some(t) = catalog.table(word) {
        lines.push(format!(
            "table `{word}`: {} columns{}",
            t.columns.len(),
            table_doc(t).map_or(String::new(), |d| format!(" — {d}"))
        ));
    }
    let base = word.trim_end_matches("_cs");
    for (op, doc) in OPERATORS.iter().chain(FUNCTIONS) {
        if *op == word || (*op == base && word != base) {
            lines.push(format!("`{op}`: {doc}"));
        }
    }
    (!lines.is_empty()).then(|| (range, md(lines.join("\n\n"))))
}

/// The span of the `let` named at byte `at`.
pub fn definition(src: &str, at: usize) -> Option<scry_grammar::Span> {
    let (_, word) = text::word_at(src, at)?;
    let found = lets(src).into_iter().find(|(n, _, _)| n == word)?;
    Some(found.2)
}

/// `did you mean `X`?` in a diagnostic's message: the replacement.
pub fn did_you_mean(message: &str) -> Option<&str> {
    let i = message.find("did you mean `")? + "did you mean `".len();
    let rest = &message[i..];
    Some(&rest[..rest.find('`')?])
}
