//! Sigma correlation documents (the correlation rules specification) as scry rules over
//! several events, lowered onto the existing forms — no evaluator of their own:
//!
//! - `event_count` → `threshold count() <cond> within <timespan> by <group-by>`,
//!   `value_count` → `dcount(<field>)`, `value_sum` → `sum(todouble(<field>))`,
//!   `value_avg` → `avg(todouble(<field>))`, over the
//!   referenced rules' detections or-ed (one event matching two rules counts once);
//! - `temporal_ordered` → `sequence within <timespan> by <group-by> { step per rule }`,
//!   `temporal` → `sequence unordered ...` (the condition must ask for all the rules);
//! - a chain (a temporal correlation over a threshold one) → a sequence whose step is gated
//!   by the threshold: its events are the moments the threshold holds;
//! - refused by name: `value_percentile`
//!   (the specification does not say what is compared: design D11), other chains (a count
//!   of a count, a sequence of sequences, three levels).
//!
//! References resolve across the files of the rule set ([`Index`]). The referenced rules are
//! lowered as detection rules are ([`super::parts`]), with the
//! correlation's group-by and value fields added to the fields they read, so those go
//! through the same logsource mapping. `aliases` give a group-by name per rule.

use super::lower::{self, refuse, Refuse};
use super::yaml::{Kind, Node};
use super::{meta, parts, value, Context, Parts, SigmaRule};
use std::collections::BTreeMap;

/// Where a document is in a set of files: (file, document).
pub(crate) type DocAt = (usize, usize);

/// A correlation lowered: the rule, the documents it references (file, document), and
/// whether those also run on their own (`generate: true`).
pub(crate) struct Lowered {
    pub rule: SigmaRule,
    pub refs: Vec<DocAt>,
    pub generate: bool,
}

/// Every document's `id` and `name` in a set of files, to where it is: what `rules` refers
/// to ([S-corr] "Related rules": a rule is referred to by its `id` or `name`, in any file).
pub(crate) struct Index {
    places: BTreeMap<String, Vec<(usize, usize)>>,
}

impl Index {
    pub(crate) fn new(files: &[(&str, Vec<Node>)]) -> Index {
        let mut places: BTreeMap<String, Vec<(usize, usize)>> = BTreeMap::new();
        for (f, (_, docs)) in files.iter().enumerate() {
            for (i, d) in docs.iter().enumerate() {
                for k in ["id", "name"] {
                    if let Some(v) = d.get(k).and_then(Node::as_str) {
                        let at = places.entry(v.to_string()).or_default();
                        if !at.contains(&(f, i)) {
                            at.push((f, i));
                        }
                    }
                }
            }
        }
        Index { places }
    }

    /// Where reference `r`, written in file `here`, points: a document of that file first,
    /// else the one document of the set so named.
    fn resolve(&self, r: &str, here: usize) -> Result<(usize, usize), String> {
        let at = self.places.get(r).map(Vec::as_slice).unwrap_or_default();
        if let Some(&p) = at.iter().find(|(f, _)| *f == here) {
            return Ok(p);
        }
        match at {
            [] => Err(format!(
                "no rule `{r}` in the rule set (a correlation names its rules by `id` or `name`)"
            )),
            [p] => Ok(*p),
            _ => Err(format!(
                "`{r}` names {} rules of other files: a correlation's reference must be unique",
                at.len()
            )),
        }
    }
}

/// `5m` → `5m`: `number + letter (in lowercase)`, s, m, h or d ([S-corr] "Time Selection").
fn timespan(node: &Node) -> Result<String, Refuse> {
    let s = node.as_str().unwrap_or("");
    // Split at the last char's boundary: the text may end in any character.
    let (digits, unit) = match s.char_indices().last() {
        Some((i, c)) if "smhd".contains(c) => (&s[..i], Some(c)),
        _ => ("", None),
    };
    match (unit, digits.parse::<u32>()) {
        (Some(u), Ok(n)) if n > 0 && digits.bytes().all(|b| b.is_ascii_digit()) => {
            Ok(format!("{n}{u}"))
        }
        _ => refuse(
            node,
            format!("timespan `{s}` is not a number and one of s, m, h, d (`10m`)"),
        ),
    }
}

/// The `condition` map: comparisons (and-ed) and the `field` entry.
struct Condition {
    cmps: Vec<(&'static str, String)>,
    fields: Vec<String>,
}

fn condition(node: &Node) -> Result<Condition, Refuse> {
    let Kind::Map(pairs) = &node.kind else {
        return refuse(node, "a correlation `condition` must be a map (`gte: 5`)");
    };
    let mut out = Condition {
        cmps: Vec::new(),
        fields: Vec::new(),
    };
    for (k, v) in pairs {
        let key = k.as_str().unwrap_or("");
        let op = match key {
            "gt" => ">",
            "gte" => ">=",
            "lt" => "<",
            "lte" => "<=",
            "eq" => "==",
            "neq" => "!=",
            "field" => {
                out.fields = v.strings().into_iter().map(str::to_string).collect();
                if out.fields.is_empty() {
                    return refuse(v, "`field` names no field");
                }
                continue;
            }
            _ => {
                return refuse(
                    k,
                    format!("unknown condition `{key}` (gt, gte, lt, lte, eq, neq, field)"),
                )
            }
        };
        let n = v.as_str().unwrap_or("");
        // A finite number, written back as read: scry reads the same literal forms.
        let ok = n.parse::<f64>().is_ok_and(f64::is_finite)
            && n.bytes()
                .all(|b| b.is_ascii_digit() || b == b'.' || b == b'-');
        if !ok {
            return refuse(v, format!("condition `{key}: {n}` is not a number"));
        }
        out.cmps.push((op, n.to_string()));
    }
    Ok(out)
}

/// A Sigma field as the column every target of `p` reads it from: the group-by keys and
/// value fields must be one column per rule (a mapped expression, or targets that disagree,
/// are refused by name).
fn column(p: &Parts, field: &str, at: &Node) -> Result<String, Refuse> {
    let mut col: Option<&str> = None;
    for t in &p.targets {
        let c = match t.fields.get(field) {
            Some(super::logsource::FieldSource::Column(c)) => c.as_str(),
            Some(super::logsource::FieldSource::Expr { .. }) => {
                return refuse(
                    at,
                    format!(
                        "field `{field}` is an expression on target {} (a correlation groups and counts columns)",
                        t.name
                    ),
                )
            }
            None => field,
        };
        match col {
            Some(prev) if prev != c => {
                return refuse(
                    at,
                    format!("field `{field}` is column {prev} on one target and {c} on another"),
                )
            }
            _ => col = Some(c),
        }
    }
    Ok(lower::scry_name(col.unwrap_or(field)))
}

/// A referenced rule: its document, the name it was referenced by, its lowering, its keys and
/// value fields as columns, and (a threshold correlation in a chain) the step's gate.
struct Part<'a> {
    doc: &'a Node,
    reference: String,
    parts: Parts,
    keys: Vec<String>,
    values: Vec<String>,
    /// `threshold count() >= 10 within 10m`: the part is a threshold correlation, its events
    /// the moments it holds.
    gate: Option<String>,
}

/// A correlation document's `correlation` section, read.
struct Corr<'a> {
    ty: &'a str,
    sequence: bool,
    node: &'a Node,
    refs: Vec<&'a str>,
    rules_node: &'a Node,
    span: String,
    group_node: Option<&'a Node>,
    group: Vec<&'a str>,
    cond: Option<Condition>,
    aliases: Option<&'a Node>,
}

impl<'a> Corr<'a> {
    fn read(doc: &'a Node) -> Result<Corr<'a>, Refuse> {
        let Some(corr) = doc.get("correlation") else {
            return refuse(doc, "no `correlation` section");
        };
        let Some(ty_node) = corr.get("type") else {
            return refuse(corr, "a correlation needs a `type`");
        };
        let ty = ty_node.as_str().unwrap_or("");
        let sequence = match ty {
            "event_count" | "value_count" | "value_sum" | "value_avg" => false,
            "temporal" | "temporal_ordered" => true,
            "value_percentile" => {
                return refuse(
                    ty_node,
                    "value_percentile correlations are not supported: the specification does not say what is compared (its example reads as the share of events per value of the field; a numeric percentile of the field is another reading)",
                )
            }
            other => {
                return refuse(
                    ty_node,
                    format!("unknown correlation type `{other}` (event_count, value_count, value_sum, value_avg, temporal, temporal_ordered)"),
                )
            }
        };
        let Some(rules_node) = corr.get("rules") else {
            return refuse(corr, "a correlation needs `rules`");
        };
        let refs = rules_node.strings();
        if refs.is_empty() {
            return refuse(rules_node, "`rules` names no rule");
        }
        let span = match corr.get("timespan") {
            Some(t) => timespan(t)?,
            None => return refuse(corr, "a correlation needs a `timespan`"),
        };
        let group_node = corr.get("group-by");
        Ok(Corr {
            ty,
            sequence,
            node: corr,
            refs,
            rules_node,
            span,
            group_node,
            group: group_node.map(Node::strings).unwrap_or_default(),
            cond: corr.get("condition").map(condition).transpose()?,
            aliases: corr.get("aliases"),
        })
    }

    /// The fields the group-by names read in rule `r` (its document `rdoc`): an alias's
    /// field for that rule, else the name itself.
    fn key_fields(&self, r: &str, rdoc: &Node) -> Result<Vec<String>, Refuse> {
        let rname = rdoc.get("name").and_then(Node::as_str);
        let mut out = Vec::new();
        for g in &self.group {
            let field = match self.aliases.and_then(|a| a.get(g)) {
                Some(per) => {
                    let f = [Some(r), rname, rdoc.get("id").and_then(Node::as_str)]
                        .into_iter()
                        .flatten()
                        .find_map(|n| per.get(n).and_then(Node::as_str));
                    match f {
                        Some(f) => f.to_string(),
                        None => {
                            return refuse(
                                per,
                                format!("alias `{g}` names no field for rule `{r}`"),
                            )
                        }
                    }
                }
                None => g.to_string(),
            };
            out.push(field);
        }
        Ok(out)
    }
}

/// What a correlation's lowering reads besides the document: every file of the set (its name
/// and documents), their index, the file the correlation is in, the translation context.
#[derive(Clone, Copy)]
pub(crate) struct Docs<'a> {
    pub files: &'a [(&'a str, Vec<Node>)],
    pub index: &'a Index,
    pub here: usize,
    pub cx: Context<'a>,
}

impl<'a> Docs<'a> {
    /// The same set, read from file `f`.
    fn in_file(self, f: usize) -> Docs<'a> {
        Docs { here: f, ..self }
    }

    fn file(&self) -> &'a str {
        self.files[self.here].0
    }
}

/// A refusal met in a referenced document `r`: said with the reference, and when the
/// document is in another file, with its position there (the refusal itself then points at
/// the correlation's `rules`, in the correlation's file).
fn in_reference(r: Option<&str>, e: Refuse, elsewhere: Option<&str>, rules: &Node) -> Refuse {
    let named = match r {
        Some(r) => format!("rule `{r}`: "),
        None => String::new(),
    };
    match elsewhere {
        None => Refuse {
            reason: format!("{named}{}", e.reason),
            at: e.at,
        },
        Some(file) => Refuse {
            reason: format!("{named}{} ({file}:{}:{})", e.reason, e.at.0, e.at.1),
            at: (rules.line, rules.col),
        },
    }
}

/// The rules a correlation references, lowered. A temporal correlation may reference a
/// threshold correlation (a chain, [S-corr] "Related rules"): that one becomes a gated step.
fn referenced<'a>(
    c: &Corr<'a>,
    d: Docs<'a>,
    in_chain: bool,
) -> Result<(Vec<Part<'a>>, Vec<DocAt>), Refuse> {
    let mut lowered: Vec<Part<'a>> = Vec::new();
    let mut doc_ids = Vec::new();
    for r in &c.refs {
        let (f, i) = d
            .index
            .resolve(r, d.here)
            .or_else(|reason| refuse(c.rules_node, reason))?;
        let rd = d.in_file(f);
        let elsewhere = (f != d.here).then(|| rd.file());
        let rdoc = &d.files[f].1[i];
        let key_fields = c.key_fields(r, rdoc)?;
        let at = c.group_node.unwrap_or(c.node);
        doc_ids.push((f, i));
        if rdoc.get("correlation").is_some() {
            if !c.sequence || in_chain {
                return refuse(
                    c.rules_node,
                    format!(
                        "`{r}` is itself a correlation: only a temporal correlation may reference one, and only a threshold one over rules (event_count, value_count, value_sum, value_avg), whose firings are then its events"
                    ),
                );
            }
            let part = chained(r, rdoc, &key_fields, rd)
                .map_err(|e| in_reference(None, e, elsewhere, c.rules_node))?;
            lowered.push(part);
            continue;
        }
        let value_fields: Vec<String> = c
            .cond
            .as_ref()
            .map(|c| c.fields.clone())
            .unwrap_or_default();
        let extra: Vec<String> = key_fields.iter().chain(&value_fields).cloned().collect();
        let p = parts(rd.file(), rdoc, d.cx, &extra)
            .map_err(|e| in_reference(Some(r), e, elsewhere, c.rules_node))?;
        let keys = key_fields
            .iter()
            .map(|f| column(&p, f, at))
            .collect::<Result<Vec<_>, _>>()?;
        let values = value_fields
            .iter()
            .map(|f| column(&p, f, c.node))
            .collect::<Result<Vec<_>, _>>()?;
        lowered.push(Part {
            doc: rdoc,
            reference: r.to_string(),
            parts: p,
            keys,
            values,
            gate: None,
        });
    }
    Ok((lowered, doc_ids))
}

/// A threshold correlation `r` (document `rdoc`, in file `d.here`) referenced from a temporal
/// correlation: one part over its rules' events or-ed, gated by its condition over its
/// timespan. Its group-by must name the fields the outer correlation's group-by reads for it
/// (`key_fields`), so that its keys are the step's keys. Refusals point into `d.here`.
fn chained<'a>(
    r: &str,
    rdoc: &'a Node,
    key_fields: &[String],
    d: Docs<'a>,
) -> Result<Part<'a>, Refuse> {
    let inner = Corr::read(rdoc).map_err(|e| Refuse {
        reason: format!("correlation `{r}`: {}", e.reason),
        at: e.at,
    })?;
    if inner.sequence {
        return refuse(
            inner.node,
            format!(
                "`{r}` is a {} correlation: a temporal correlation's step can be a threshold correlation's firings, not another sequence's matches",
                inner.ty
            ),
        );
    }
    let mut want: Vec<&str> = key_fields.iter().map(String::as_str).collect();
    let mut have = inner.group.clone();
    want.sort_unstable();
    have.sort_unstable();
    if want != have {
        return refuse(
            inner.group_node.unwrap_or(inner.node),
            format!(
                "correlation `{r}` groups by [{}] and the correlation over it by [{}]: a chain groups both by the same fields",
                inner.group.join(", "),
                key_fields.join(", ")
            ),
        );
    }
    let (parts, _) = referenced(&inner, d, true).map_err(|e| Refuse {
        reason: format!("correlation `{r}`: {}", e.reason),
        at: e.at,
    })?;
    let (_, test) = measure(&inner, &parts)?;
    let first = &parts[0];
    // The outer's key fields, in its order, as the inner's columns.
    let keys = key_fields
        .iter()
        .map(|f| {
            let at = inner.group.iter().position(|g| g == f).unwrap_or(0);
            first.keys[at].clone()
        })
        .collect();
    let scoped = parts.len() > 1;
    let mut merged = first.parts.clone();
    merged.cond = lower::join(parts.iter().map(|p| p.parts.cond.clone()).collect(), "or");
    merged.excepts.clear();
    merged.columns.clear();
    merged.skipped.clear();
    for p in &parts {
        for (title, description, when) in &p.parts.excepts {
            let when = scope(scoped, &p.parts.cond, when);
            merged
                .excepts
                .push((title.clone(), description.clone(), when));
        }
        for col in &p.parts.columns {
            if !merged.columns.contains(col) {
                merged.columns.push(col.clone());
            }
        }
        merged.skipped.extend(p.parts.skipped.iter().cloned());
    }
    Ok(Part {
        doc: rdoc,
        reference: r.to_string(),
        parts: merged,
        keys,
        values: Vec::new(),
        gate: Some(format!("threshold {test} within {}", inner.span)),
    })
}

/// Lowers correlation document `doc` of file `d.here`.
pub(crate) fn lower(doc: &Node, d: Docs<'_>, multi: bool) -> Result<Lowered, Refuse> {
    let file = d.file();
    let c = Corr::read(doc)?;
    let generate = match doc.get("generate").or_else(|| c.node.get("generate")) {
        None => false,
        Some(g) => match g.as_str() {
            Some("true") => true,
            Some("false") => false,
            _ => return refuse(g, "`generate` must be true or false"),
        },
    };
    let (lowered, doc_ids) = referenced(&c, d, false)?;
    let body = if c.sequence {
        sequence_text(&c, &lowered)?
    } else {
        threshold_text(&c, &lowered)?
    };
    let mut columns: Vec<(String, String, String)> = Vec::new();
    let mut skipped = Vec::new();
    for p in &lowered {
        for col in &p.parts.columns {
            if !columns.contains(col) {
                columns.push(col.clone());
            }
        }
        skipped.extend(p.parts.skipped.iter().cloned());
    }
    let ty = c.ty;
    let mut scry = format!(
        "// Sigma: {file} (correlation {ty} over {})\n",
        c.refs.join(", ")
    );
    if !skipped.is_empty() {
        scry.push_str(&format!("// targets left out: {}\n", skipped.join("; ")));
    }
    scry.push_str(&format!("rule {} {{\n", meta::rule_name(file, doc, multi)));
    meta::write(&mut scry, doc, file);
    scry.push_str(&body);
    scry.push_str(&excepts(&lowered, c.sequence));
    scry.push_str("}\n");
    let id = super::doc_id(doc, file);
    Ok(Lowered {
        rule: SigmaRule {
            file: file.into(),
            id,
            scry,
            columns,
            skipped,
        },
        refs: doc_ids,
        generate,
    })
}

/// The filters of the referenced rules, as the rule's exclusions. Several rules: each
/// filter holds for its own rule's events only (and-ed with that rule's condition), and
/// filters of one title are or-ed into one exclusion.
fn excepts(parts: &[Part<'_>], scoped: bool) -> String {
    let mut by_title: Vec<(String, Option<String>, Vec<String>)> = Vec::new();
    let scoped = scoped || parts.len() > 1;
    for p in parts {
        for (title, description, when) in &p.parts.excepts {
            let when = scope(scoped, &p.parts.cond, when);
            match by_title.iter_mut().find(|(t, _, _)| t == title) {
                Some((_, _, w)) => w.push(when),
                None => by_title.push((title.clone(), description.clone(), vec![when])),
            }
        }
    }
    let mut out = String::new();
    for (title, description, whens) in by_title {
        let description = description
            .as_deref()
            .map(|d| format!("description {} ", value::scry_str(d.trim_end())))
            .unwrap_or_default();
        out.push_str(&format!(
            "  except {} {{ {description}when {} }}\n",
            value::scry_str(&title),
            lower::join(whens, "or")
        ));
    }
    out
}

/// A filter's `when` for one referenced rule: and-ed with that rule's condition when several
/// rules' events meet (the filter suppresses only its own rule's events).
fn scope(scoped: bool, cond: &str, when: &str) -> String {
    if scoped {
        format!("({cond} and {when})")
    } else {
        when.to_string()
    }
}

fn by(keys: &[String]) -> String {
    if keys.is_empty() {
        String::new()
    } else {
        format!(" by {}", keys.join(", "))
    }
}

/// The threshold of a count correlation over `parts`: the measure's name (`sum_F = `, or
/// empty) and its condition (`count() >= 5`). The parts must read the same tables and the
/// same key and value columns.
fn measure(c: &Corr<'_>, parts: &[Part<'_>]) -> Result<(String, String), Refuse> {
    let (ty, corr) = (c.ty, c.node);
    let Some(cond) = c.cond.as_ref().filter(|c| !c.cmps.is_empty()) else {
        return refuse(corr, format!("{ty} needs a `condition` (`gte: 5`)"));
    };
    let first = &parts[0];
    let mut tables = first.parts.tables.clone();
    tables.sort();
    for p in &parts[1..] {
        let mut t = p.parts.tables.clone();
        t.sort();
        if t != tables {
            return refuse(
                corr,
                format!(
                    "rules `{}` and `{}` read different tables ({} and {}): a count over several tables is not supported yet",
                    first.reference,
                    p.reference,
                    first.parts.tables.join(", "),
                    p.parts.tables.join(", ")
                ),
            );
        }
        if p.keys != first.keys || p.values != first.values {
            return refuse(
                corr,
                format!(
                    "rules `{}` and `{}` read the group-by or value fields from different columns: a count over them is not supported yet",
                    first.reference, p.reference
                ),
            );
        }
    }
    let measure = match (ty, first.values.as_slice()) {
        ("event_count", _) => "count()".to_string(),
        ("value_count", [v]) => format!("dcount({v})"),
        ("value_sum", [v]) => format!("sum(todouble({v}))"),
        ("value_avg", [v]) => format!("avg(todouble({v}))"),
        (_, []) => return refuse(corr, format!("{ty} needs a `field` in its condition")),
        _ => {
            return refuse(
                corr,
                format!("{ty} over several fields is not supported yet (name one `field`)"),
            )
        }
    };
    // A sum or mean of a conversion would be Kusto's `sum_` / `avg_`: named after the field
    // as `dcount(Host)` is (`dcount_Host`).
    let name = match (ty, first.values.as_slice()) {
        ("value_sum" | "value_avg", [v]) => {
            let field: String = v
                .chars()
                .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
                .collect();
            format!(
                "{}_{} = ",
                ty.trim_start_matches("value_"),
                field.trim_matches('_')
            )
        }
        _ => String::new(),
    };
    let test: Vec<String> = cond
        .cmps
        .iter()
        .map(|(op, n)| format!("{measure} {op} {n}"))
        .collect();
    Ok((name, test.join(" and ")))
}

/// `from T where (r1) or (r2) threshold m <cond> within T by K`.
fn threshold_text(c: &Corr<'_>, parts: &[Part<'_>]) -> Result<String, Refuse> {
    let (name, test) = measure(c, parts)?;
    let conds: Vec<String> = parts.iter().map(|p| p.parts.cond.clone()).collect();
    Ok(format!(
        "  from {}\n  where {}\n  threshold {name}{test} within {}{}\n",
        parts[0].parts.tables.join(", "),
        lower::join(conds, "or"),
        c.span,
        by(&parts[0].keys)
    ))
}

/// `sequence [unordered] within T by K { step r1 from T where ... ... }`.
fn sequence_text(c: &Corr<'_>, parts: &[Part<'_>]) -> Result<String, Refuse> {
    let (ty, corr, span) = (c.ty, c.node, &c.span);
    let cond = c.cond.as_ref();
    let n = parts.len();
    // The condition counts the rules that matched: only "all of them" is a sequence.
    if let Some(c) = cond {
        let all = c.cmps.iter().all(|(op, v)| {
            let v = v.parse::<f64>().unwrap_or(f64::NAN);
            match *op {
                ">=" | "==" => v == n as f64,
                ">" => v == n as f64 - 1.0,
                _ => false,
            }
        });
        if !all || c.cmps.is_empty() {
            return refuse(
                corr,
                format!("a {ty} condition other than all {n} rules is not supported yet"),
            );
        }
    }
    if n < 2 {
        return refuse(corr, format!("{ty} needs at least two rules"));
    }
    // One key list for all steps when they agree, else each step its own (aliases).
    let shared = parts.iter().all(|p| p.keys == parts[0].keys);
    let mut out = format!(
        "  sequence {}within {span}{} {{\n",
        if ty == "temporal" { "unordered " } else { "" },
        if shared {
            by(&parts[0].keys)
        } else {
            String::new()
        }
    );
    for (i, p) in parts.iter().enumerate() {
        let base: String = p
            .doc
            .get("name")
            .and_then(Node::as_str)
            .unwrap_or(&p.reference)
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect();
        // Step names are identifiers of the rule: prefixed so that no keyword is one.
        let mut name = format!("r{}_{base}", i + 1);
        name.truncate(40);
        let gate = p
            .gate
            .as_deref()
            .map(|g| format!("\n      {g}"))
            .unwrap_or_default();
        out.push_str(&format!(
            "    step {name} from {} where {}{gate}{}\n",
            p.parts.tables.join(", "),
            p.parts.cond,
            if shared { String::new() } else { by(&p.keys) }
        ));
    }
    out.push_str("  }\n");
    Ok(out)
}
