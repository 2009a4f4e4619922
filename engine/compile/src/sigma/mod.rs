//! The Sigma frontend: Sigma rule YAML → `.scry` rules, compiled with the `.scry` rules into
//! the same plan (one scan per column for all rules, the same prefilter, the same executor).
//!
//! Each Sigma rule becomes the text of one scry rule ([`SigmaRule::scry`]): its metadata,
//! `from` the tables its logsource maps to ([`logsource`]), and a `where` that ORs, per
//! target, `target guard and (the detection on that target's fields)` ([`lower`]). Going
//! through scry text rather than building IR directly means `scry import sigma` prints
//! exactly what runs, and every check of the `.scry` compiler applies to Sigma rules too.
//! Fields a Sigma rule reads that a target table's schema lacks are added to the catalog as
//! string columns ([`catalog_additions`]): Windows event readers fill any field the plan
//! reads by name.
//!
//! A file either yields rules or is refused by name with the reason ([`Refusal`]), as are
//! the timestamp modifiers and `expand` placeholders without values. Correlation documents
//! become threshold and sequence rules over the rules they reference ([`correlation`]). Filter documents ([`Filter`]) become
//! named `except` scenarios of the rules they name.
//!
//! ```
//! use scry_compile::sigma::{translate, Context};
//! use scry_compile::schema::Catalog;
//! let yml = "title: t\nid: 1\nlogsource: {product: windows, category: process_creation}\n\
//!            detection: {sel: {Image|endswith: '\\cmd.exe'}, condition: sel}\n";
//! let catalog = Catalog::builtin();
//! let out = translate("x.yml", yml, Context::new(&catalog));
//! assert!(out.rules[0].scry.contains("endswith '\\\\cmd.exe'"));
//! ```

pub mod condition;
mod correlation;
pub mod logsource;
pub mod lower;
mod meta;
mod pcre;
pub(crate) use meta::TACTICS;
pub mod value;
pub mod yaml;

use crate::schema::Catalog;
use logsource::{Mapping, OtherFields, Target};
use lower::{ColKind, Env};
use std::collections::{BTreeMap, BTreeSet};
use yaml::{Kind, Node};

/// A Sigma rule lowered to scry text.
#[derive(Debug, Clone)]
pub struct SigmaRule {
    /// The Sigma file.
    pub file: String,
    /// The Sigma `id` (or `title`).
    pub id: String,
    /// The scry rule's text.
    pub scry: String,
    /// Columns the rule reads that its tables lack: `(table, column, type)`.
    pub columns: Vec<(String, String, String)>,
    /// Targets left out, with the reason (`defender: field CurrentDirectory has no mapping`).
    pub skipped: Vec<String>,
}

/// A Sigma document that is not compiled, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The file.
    pub file: String,
    /// 1-based line and column of what is refused.
    pub line: usize,
    /// See `line`.
    pub col: usize,
    /// The rule's title or id, when it has one.
    pub name: String,
    /// The reason.
    pub reason: String,
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}: {}",
            self.file, self.line, self.col, self.name, self.reason
        )
    }
}

/// A Sigma filter document: a named exclusion added to the rules it names (the filters
/// specification), as a scry `except` scenario so that what it suppresses is counted.
#[derive(Debug, Clone)]
pub struct Filter {
    /// `title`.
    pub title: String,
    /// `description`.
    pub description: Option<String>,
    /// The logsource (product, category, service), lowercased; empty parts are absent.
    pub logsource: [String; 3],
    /// The rules it applies to, by id or title; empty: every rule of a compatible logsource.
    pub rules: Vec<String>,
    /// The `filter` map without `rules`: selections and `condition`, as a detection.
    pub detection: Node,
}

fn logsource_of(doc: &Node) -> [String; 3] {
    let ls = doc.get("logsource");
    ["product", "category", "service"].map(|k| {
        ls.and_then(|l| l.get(k))
            .and_then(Node::as_str)
            .unwrap_or("")
            .to_ascii_lowercase()
    })
}

/// The filter documents of a Sigma file (others, and files that are not YAML, give none:
/// [`translate`] reports those).
pub fn filters(text: &str) -> Vec<Filter> {
    let Ok(docs) = yaml::parse_documents(text) else {
        return Vec::new();
    };
    docs.iter()
        .filter_map(|doc| {
            let f = doc.get("filter")?;
            let Kind::Map(pairs) = &f.kind else {
                return None;
            };
            let detection = Node {
                kind: Kind::Map(
                    pairs
                        .iter()
                        .filter(|(k, _)| k.as_str() != Some("rules"))
                        .cloned()
                        .collect(),
                ),
                line: f.line,
                col: f.col,
            };
            Some(Filter {
                title: doc
                    .get("title")
                    .and_then(Node::as_str)
                    .unwrap_or("filter")
                    .to_string(),
                description: doc
                    .get("description")
                    .and_then(Node::as_str)
                    .map(str::to_string),
                logsource: logsource_of(doc),
                rules: f
                    .get("rules")
                    .map(|r| r.strings().into_iter().map(str::to_string).collect())
                    .unwrap_or_default(),
                detection,
            })
        })
        .collect()
}

impl Filter {
    /// True if the filter applies to a rule with this id, title and logsource: the rule is
    /// named (or none is), and each logsource part both give is the same.
    fn applies(&self, id: &str, title: &str, ls: &[String; 3]) -> bool {
        let named = self.rules.is_empty() || self.rules.iter().any(|r| r == id || r == title);
        let compatible = self
            .logsource
            .iter()
            .zip(ls)
            .all(|(a, b)| a.is_empty() || b.is_empty() || a == b);
        named && compatible
    }
}

/// What translating reads besides the file: the logsource mapping, the catalog (column
/// types), the filter documents of the rule set and the placeholder values.
#[derive(Clone, Copy)]
pub struct Context<'a> {
    /// The logsource mapping.
    pub mapping: &'a Mapping,
    /// The tables.
    pub catalog: &'a Catalog,
    /// Every filter document of the rule set.
    pub filters: &'a [Filter],
    /// `expand` placeholder values.
    pub placeholders: &'a lower::Placeholders,
}

impl<'a> Context<'a> {
    /// The built-in mapping, no filters, no placeholders.
    pub fn new(catalog: &'a Catalog) -> Context<'a> {
        static NONE: lower::Placeholders = lower::Placeholders::new();
        Context {
            mapping: Mapping::builtin(),
            catalog,
            filters: &[],
            placeholders: &NONE,
        }
    }
}

/// What one file gave.
#[derive(Debug, Clone, Default)]
pub struct Translation {
    /// The rules.
    pub rules: Vec<SigmaRule>,
    /// The documents refused.
    pub refusals: Vec<Refusal>,
    /// Detection rules that run only inside the correlations referencing them, by title.
    pub parts: Vec<String>,
}

/// True if `text` looks like a Sigma file: a YAML mapping with `detection`, `correlation`
/// or `filter` at top level (other YAML beside rules is not ours to judge).
pub fn is_sigma(text: &str) -> bool {
    text.lines().any(|l| {
        l.starts_with("detection:") || l.starts_with("correlation:") || l.starts_with("filter:")
    })
}

/// Translates every document of a Sigma file (a correlation reads the rules of this file).
pub fn translate(file: &str, text: &str, cx: Context<'_>) -> Translation {
    translate_set(&[(file, text)], cx)
        .pop()
        .unwrap_or_else(|| unreachable!("one translation per file"))
}

/// Translates every document of several Sigma files, one [`Translation`] per file: a
/// correlation may reference the rules of any of them by `id` or `name` ([S-corr] "Related
/// rules"; a rule of its own file first).
pub fn translate_set(files: &[(&str, &str)], cx: Context<'_>) -> Vec<Translation> {
    let mut out: Vec<Translation> = files.iter().map(|_| Translation::default()).collect();
    let mut parsed: Vec<(&str, Vec<Node>)> = Vec::new();
    for (f, (file, text)) in files.iter().enumerate() {
        match yaml::parse_documents(text) {
            Ok(d) => parsed.push((file, d)),
            Err(e) => {
                out[f].refusals.push(Refusal {
                    file: file.to_string(),
                    line: e.line,
                    col: e.col,
                    name: file.to_string(),
                    reason: format!("not YAML: {}", e.message),
                });
                parsed.push((file, Vec::new()));
            }
        }
    }
    // Correlations first: the rules they reference run only inside them unless they say
    // `generate: true` ([S-corr] "Generate"); a refused correlation hides nothing.
    let index = correlation::Index::new(&parsed);
    let mut correlations: Vec<Vec<Option<Result<SigmaRule, lower::Refuse>>>> = Vec::new();
    let mut hidden: BTreeSet<(usize, usize)> = BTreeSet::new();
    for (f, (_, docs)) in parsed.iter().enumerate() {
        let d = correlation::Docs {
            files: &parsed,
            index: &index,
            here: f,
            cx,
        };
        let multi = docs.len() > 1;
        correlations.push(
            docs.iter()
                .map(|doc| {
                    doc.get("correlation").map(|_| {
                        correlation::lower(doc, d, multi).map(|l| {
                            if !l.generate {
                                hidden.extend(l.refs);
                            }
                            l.rule
                        })
                    })
                })
                .collect(),
        );
    }
    for (f, (file, docs)) in parsed.iter().enumerate() {
        let multi = docs.len() > 1;
        let out = &mut out[f];
        for (i, doc) in docs.iter().enumerate() {
            if doc.get("filter").is_some() && doc.get("detection").is_none() {
                // Applied to the rules it names, wherever they are (see `filters`).
                continue;
            }
            let name = doc_title(doc, file);
            let result = match correlations[f][i].take() {
                // A rule referenced without `generate`, or a threshold correlation chained
                // into another: it runs inside that correlation only.
                Some(Ok(_)) | None if hidden.contains(&(f, i)) => {
                    out.parts.push(name);
                    continue;
                }
                Some(r) => r,
                None => rule(file, doc, multi, cx),
            };
            match result {
                Ok(r) => out.rules.push(r),
                Err(r) => out.refusals.push(Refusal {
                    file: file.to_string(),
                    line: r.at.0,
                    col: r.at.1,
                    name,
                    reason: r.reason,
                }),
            }
        }
    }
    out
}

/// A detection rule lowered, before it is written as a rule: what a correlation reuses.
#[derive(Debug, Clone)]
pub(crate) struct Parts {
    /// The tables, in first-use order.
    pub tables: Vec<String>,
    /// The `where` text: per target, its guard and the detection, or-ed.
    pub cond: String,
    /// The filters applied: `(title, description, when)`.
    pub excepts: Vec<(String, Option<String>, String)>,
    /// Columns the tables lack: `(table, column, type)`.
    pub columns: Vec<(String, String, String)>,
    /// Targets left out, with the reason.
    pub skipped: Vec<String>,
    /// The targets lowered (their field mappings resolve a correlation's fields).
    pub targets: Vec<Target>,
}

/// What a rule document is known by: its `id`, else its `title`, else its file.
fn doc_id(doc: &Node, file: &str) -> String {
    let text = |k: &str| doc.get(k).and_then(Node::as_str);
    text("id")
        .or_else(|| text("title"))
        .unwrap_or(file)
        .to_string()
}

/// How a rule document is named to people: its `title`, else its `id`, else its file.
fn doc_title(doc: &Node, file: &str) -> String {
    let text = |k: &str| doc.get(k).and_then(Node::as_str);
    text("title")
        .or_else(|| text("id"))
        .unwrap_or(file)
        .to_string()
}

fn rule(file: &str, doc: &Node, multi: bool, cx: Context<'_>) -> Result<SigmaRule, lower::Refuse> {
    let id = doc_id(doc, file);
    let p = parts(file, doc, cx, &[])?;
    let mut excepts = String::new();
    for (title, description, when) in &p.excepts {
        let description = description
            .as_deref()
            .map(|d| format!("description {} ", value::scry_str(d.trim_end())))
            .unwrap_or_default();
        excepts.push_str(&format!(
            "  except {} {{ {description}when {when} }}\n",
            value::scry_str(title),
        ));
    }
    let mut scry = format!("// Sigma: {file}\n");
    if !p.skipped.is_empty() {
        scry.push_str(&format!("// targets left out: {}\n", p.skipped.join("; ")));
    }
    scry.push_str(&format!("rule {} {{\n", meta::rule_name(file, doc, multi)));
    meta::write(&mut scry, doc, file);
    scry.push_str(&format!("  from {}\n", p.tables.join(", ")));
    scry.push_str(&format!("  where {}\n", p.cond));
    scry.push_str(&excepts);
    scry.push_str("}\n");
    Ok(SigmaRule {
        file: file.into(),
        id,
        scry,
        columns: p.columns,
        skipped: p.skipped,
    })
}

/// Lowers a detection rule's logsource, detection and filters; `extra` are fields a
/// correlation reads besides (its group-by and value fields), mapped and added as columns
/// like the detection's own.
pub(crate) fn parts(
    file: &str,
    doc: &Node,
    cx: Context<'_>,
    extra: &[String],
) -> Result<Parts, lower::Refuse> {
    let (mapping, catalog, filters) = (cx.mapping, cx.catalog, cx.filters);
    if !matches!(doc.kind, Kind::Map(_)) {
        return lower::refuse(doc, "a Sigma document must be a map");
    }
    let Some(det) = doc.get("detection") else {
        return lower::refuse(doc, "no `detection`: not a Sigma rule");
    };
    let ls = doc.get("logsource");
    let parts = logsource_of(doc);
    let [product, category, service] = &parts;
    let id = doc_id(doc, file);
    let title = doc.get("title").and_then(Node::as_str).unwrap_or("");
    let applied: Vec<&Filter> = filters
        .iter()
        .filter(|f| f.applies(&id, title, &parts))
        .collect();
    let generic;
    let targets: &[Target] = match mapping.lookup(product, category, service) {
        Some(t) => t,
        None => {
            generic = [Target {
                name: "generic".into(),
                table: mapping.generic_table(product, category, service),
                when: None,
                columns: BTreeMap::from([("Timestamp".to_string(), "datetime".to_string())]),
                fields: BTreeMap::new(),
                other_fields: OtherFields::AsIs,
                keywords: mapping.generic.keywords.clone(),
            }];
            &generic
        }
    };
    let mut used = BTreeSet::new();
    let mut has_keywords = lower::fields_used(det, &mut used);
    used.extend(extra.iter().cloned());
    for f in &applied {
        has_keywords |= lower::fields_used(&f.detection, &mut used);
    }
    let mut chosen = Vec::new();
    let mut skipped = Vec::new();
    for t in targets {
        let missing = used
            .iter()
            .find(|f| t.other_fields == OtherFields::SkipTarget && !t.fields.contains_key(*f));
        match missing {
            Some(f) => skipped.push(format!("{}: field {f} has no mapping", t.name)),
            None => chosen.push(t),
        }
    }
    if chosen.is_empty() {
        return lower::refuse(
            ls.unwrap_or(doc),
            format!("no target can read this rule ({})", skipped.join("; ")),
        );
    }
    // Every column any target reads, added to every table of the rule where absent (a rule
    // over several tables is lowered once per table, and every name must resolve in each).
    let mut tables: Vec<&str> = Vec::new();
    for t in &chosen {
        if !tables.contains(&t.table.as_str()) {
            tables.push(&t.table);
        }
    }
    let mut cols: BTreeMap<String, String> = BTreeMap::new();
    // A column's type is the one its own target's table declares, so that it is added to
    // the rule's other tables with the same type.
    let declared = |table: &str, c: &str| -> Option<String> {
        catalog
            .table(table)
            .and_then(|s| s.column(c))
            .map(|ty| ty.to_string())
    };
    for t in &chosen {
        for (c, ty) in &t.columns {
            cols.insert(
                c.clone(),
                declared(&t.table, c).unwrap_or_else(|| ty.clone()),
            );
        }
        let kw: &[String] = if t.keywords.is_empty() {
            &mapping.generic.keywords
        } else {
            &t.keywords
        };
        let fields = used
            .iter()
            .chain(if has_keywords { kw.iter() } else { [].iter() });
        for f in fields {
            match t.fields.get(f) {
                Some(logsource::FieldSource::Column(c)) => {
                    cols.entry(c.clone()).or_insert_with(|| {
                        declared(&t.table, c).unwrap_or_else(|| "string".into())
                    });
                }
                Some(logsource::FieldSource::Expr { .. }) => {}
                None => {
                    cols.entry(f.clone()).or_insert_with(|| "string".into());
                }
            }
        }
    }
    let mut columns = Vec::new();
    for table in &tables {
        let schema = catalog.table(table);
        for (c, ty) in &cols {
            if schema.is_none_or(|s| s.column(c).is_none()) {
                columns.push((table.to_string(), c.clone(), ty.clone()));
            }
        }
    }
    let kind = |c: &str| -> ColKind {
        let mut kinds = tables.iter().map(|t| {
            let declared = catalog.table(t).and_then(|s| s.column(c));
            match declared {
                Some(ty) if ty.is_stringish() => ColKind::Str,
                Some(ty) if ty.is_numeric() => ColKind::Num,
                Some(crate::value::Type::Bool) => ColKind::Bool,
                Some(_) => ColKind::Other,
                None => match cols.get(c).map(String::as_str) {
                    Some("long" | "int" | "real") => ColKind::Num,
                    Some("string") | None => ColKind::Str,
                    Some(_) => ColKind::Other,
                },
            }
        });
        let first = kinds.next().unwrap_or(ColKind::Str);
        if kinds.all(|k| k == first) {
            first
        } else {
            ColKind::Other
        }
    };
    let mut per_target = Vec::new();
    for t in &chosen {
        let kw: &[String] = if t.keywords.is_empty() {
            &mapping.generic.keywords
        } else {
            &t.keywords
        };
        let env = Env {
            target: t,
            kind: &kind,
            keywords: kw,
            placeholders: cx.placeholders,
        };
        let body = lower::detection(&env, det)?;
        per_target.push(match &t.when {
            Some(w) => format!("(({w}) and {body})"),
            None => body,
        });
    }
    let mut excepts = Vec::new();
    for f in &applied {
        let mut per = Vec::new();
        for t in &chosen {
            let kw: &[String] = if t.keywords.is_empty() {
                &mapping.generic.keywords
            } else {
                &t.keywords
            };
            let env = Env {
                target: t,
                kind: &kind,
                keywords: kw,
                placeholders: cx.placeholders,
            };
            let body = lower::detection(&env, &f.detection).map_err(|r| lower::Refuse {
                reason: format!("filter `{}`: {}", f.title, r.reason),
                at: r.at,
            })?;
            per.push(match &t.when {
                Some(w) => format!("(({w}) and {body})"),
                None => body,
            });
        }
        excepts.push((
            f.title.clone(),
            f.description.clone(),
            lower::join(per, "or"),
        ));
    }
    Ok(Parts {
        tables: tables.iter().map(|t| t.to_string()).collect(),
        cond: lower::join(per_target, "or"),
        excepts,
        columns,
        skipped,
        targets: chosen.into_iter().cloned().collect(),
    })
}

/// The schema file (as `--schema` reads them) that adds the columns the rules read and the
/// generic tables they name.
pub fn catalog_additions(rules: &[SigmaRule]) -> String {
    let mut tables: BTreeMap<&str, BTreeMap<&str, &str>> = BTreeMap::new();
    for r in rules {
        for (t, c, ty) in &r.columns {
            tables.entry(t).or_default().insert(c, ty);
        }
    }
    serde_json::json!({ "tables": tables }).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refusals(yml: &str) -> Vec<String> {
        translate("t.yml", yml, Context::new(&Catalog::builtin()))
            .refusals
            .into_iter()
            .map(|r| format!("{}:{}: {}", r.line, r.col, r.reason))
            .collect()
    }

    #[test]
    fn hostile_documents_are_refused_never_panic() {
        let head = "title: t\nlogsource: {product: windows, category: process_creation}\n";
        for (body, want) in [
            ("detection: [", "not YAML"),
            (
                "detection: {sel: {a|b: [[1]]}, condition: sel}",
                "unknown modifier `b`",
            ),
            (
                "detection: {sel: {a: {b: 1}}, condition: sel}",
                "scalar or a list",
            ),
            ("detection: {sel: {a: []}, condition: sel}", "empty list"),
            (
                "detection: {sel: {a: 1}, condition: 'sel | count() > 5'}",
                "correlation rule",
            ),
            (
                "detection: {sel: {a: 1}, condition: 'sel and'}",
                "ends early",
            ),
            (
                "detection: {sel: {a: 1}, condition: '1 of x*'}",
                "selects no search identifier",
            ),
            ("detection: {sel: {a: 1}}", "no `condition`"),
            (
                "detection: {sel: {a|re: '(?<=x)y'}, condition: sel}",
                "regex",
            ),
            (
                "detection: {sel: {a|cidr: 'x/99'}, condition: sel}",
                "not an IPv4 or IPv6 network",
            ),
            (
                "detection: {sel: {a|gt: abc}, condition: sel}",
                "not a number",
            ),
            (
                "detection: {sel: {a|exists: maybe}, condition: sel}",
                "true or false",
            ),
            (
                "detection: {sel: {a|base64: 'x*'}, condition: sel}",
                "wildcards",
            ),
            (
                "detection: {sel: {a|re|cidr: x}, condition: sel}",
                "another comparison",
            ),
            ("detection: {sel: {a|i: x}, condition: sel}", "need `re`"),
            ("detection: {sel: {a|week: 3}, condition: sel}", "`week`"),
            (
                "detection: {sel: {a|hour: 25}, condition: sel}",
                "not a hour",
            ),
            (
                "detection: {sel: {a|expand: '%x%'}, condition: sel}",
                "placeholder",
            ),
            ("detection: {sel: {}, condition: sel}", "empty selection"),
            ("detection: 5", "must be a map"),
            (
                "detection: {sel: &a {x: 1}, s2: *a, condition: s2}",
                "must be a map",
            ),
        ] {
            let got = refusals(&format!("{head}{body}\n"));
            assert!(
                got.iter().any(|g| g.contains(want)),
                "{body}: want `{want}`, got {got:?}"
            );
        }
        let deep = format!("{head}detection: {}", "[".repeat(500));
        assert_eq!(refusals(&deep).len(), 1);
        let cond = format!(
            "{head}detection: {{sel: {{a: 1}}, condition: '{}sel{}'}}\n",
            "(".repeat(300),
            ")".repeat(300)
        );
        assert!(refusals(&cond)[0].contains("nested too deeply"));
    }

    #[test]
    fn large_lists_stay_shallow() {
        let values: Vec<String> = (0..2000).map(|i| format!("'v{i}'")).collect();
        let yml = format!(
            "title: t\nlogsource: {{product: test}}\ndetection: {{sel: {{F|contains: [{}]}}, condition: sel}}\n",
            values.join(", ")
        );
        let cat = Catalog::builtin();
        let t = translate("t.yml", &yml, Context::new(&cat));
        let text = &t.rules[0].scry;
        let mut depth: i32 = 0;
        let mut max = 0;
        for c in text.chars() {
            depth += match c {
                '(' => 1,
                ')' => -1,
                _ => 0,
            };
            max = max.max(depth);
        }
        assert!(max < 40, "{max}");
    }
}
