//! A Sigma detection, on one logsource target, as a scry condition.

use super::condition::{glob_match, Cond};
use super::logsource::{FieldSource, Target};
use super::value::{self as v, Encoding, Tok};
use super::yaml::{Kind, Node};
use std::collections::BTreeSet;

/// Why a rule cannot be compiled: the message and the node it is about.
#[derive(Debug, Clone)]
pub struct Refuse {
    /// The reason.
    pub reason: String,
    /// 1-based line, column.
    pub at: (usize, usize),
}

pub(super) fn refuse<T>(node: &Node, reason: impl Into<String>) -> Result<T, Refuse> {
    Err(Refuse {
        reason: reason.into(),
        at: (node.line, node.col),
    })
}

/// How a column is typed across the tables of a rule: how to read it as text, and whether a
/// number or bool may be compared directly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColKind {
    /// A string (or absent, hence added as a string) in every table.
    Str,
    /// A number (long, int, real) in every table that has it.
    Num,
    /// A bool in every table that has it.
    Bool,
    /// Anything else, or mixed: compared through `tostring`.
    Other,
}

/// What lowering needs to know about the target and the catalog.
pub struct Env<'a> {
    /// The target.
    pub target: &'a Target,
    /// The kind of each column, across the rule's tables.
    pub kind: &'a dyn Fn(&str) -> ColKind,
    /// The fields keyword selections search.
    pub keywords: &'a [String],
    /// `%name%` → its values, for `expand`.
    pub placeholders: &'a Placeholders,
}

/// Placeholder values for `expand`: name (without `%`) → values, each a Sigma pattern.
pub type Placeholders = std::collections::BTreeMap<String, Vec<String>>;

/// `expand`: every `%name%` of `s` replaced by each of its values (several placeholders:
/// every combination); `\%` is a literal `%`. `Err` names a placeholder without values.
pub fn expand(s: &str, values: &Placeholders) -> Result<Vec<String>, String> {
    let mut out = vec![String::new()];
    let mut rest = s;
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix("\\%") {
            out.iter_mut().for_each(|o| o.push('%'));
            rest = r;
            continue;
        }
        let start = rest.find(['%', '\\']).unwrap_or(rest.len());
        let (lit, tail) = rest.split_at(start);
        out.iter_mut().for_each(|o| o.push_str(lit));
        rest = tail;
        if let Some(t) = rest.strip_prefix('\\') {
            out.iter_mut().for_each(|o| o.push('\\'));
            rest = t;
            continue;
        }
        let Some(t) = rest.strip_prefix('%') else {
            break;
        };
        let Some(end) = t.find('%') else {
            out.iter_mut().for_each(|o| o.push('%'));
            rest = t;
            continue;
        };
        let name = &t[..end];
        let vals = values
            .get(name)
            .filter(|v| !v.is_empty())
            .ok_or_else(|| format!("%{name}%"))?;
        out = out
            .iter()
            .flat_map(|o| vals.iter().map(move |v| format!("{o}{v}")))
            .collect();
        if out.len() > 4096 {
            return Err(format!("%{name}% (more than 4096 combinations)"));
        }
        rest = &t[end + 1..];
    }
    Ok(out)
}

/// A column name as scry reads it: bare if it is an identifier, else bracketed.
pub fn scry_name(c: &str) -> String {
    const RESERVED: &[&str] = &[
        "and",
        "or",
        "not",
        "in",
        "between",
        "matches",
        "has",
        "has_any",
        "has_all",
        "hasprefix",
        "hassuffix",
        "contains",
        "startswith",
        "endswith",
        "true",
        "false",
    ];
    let ident = c
        .chars()
        .next()
        .is_some_and(|ch| ch.is_ascii_alphabetic() || ch == '_')
        && c.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '_');
    let base = c.trim_end_matches("_cs");
    if ident && !RESERVED.contains(&c) && !RESERVED.contains(&base) {
        c.to_string()
    } else {
        format!("[{}]", v::scry_str(c))
    }
}

/// A field as read on this target: `(text expression, kind)`.
fn read(env: &Env<'_>, field: &str) -> (String, ColKind) {
    match env.target.fields.get(field) {
        Some(FieldSource::Column(c)) => (scry_name(c), (env.kind)(c)),
        Some(FieldSource::Expr { expr, .. }) => (format!("({expr})"), ColKind::Str),
        None => (scry_name(field), (env.kind)(field)),
    }
}

/// `test` (of `needle` contained in a listed field, see [`FieldSource::listed_columns`])
/// with a necessary condition before it: the needle's text after its last `=`, when it holds
/// no `,`, is contained in one of the listed columns. The plan decides that by scanning the
/// columns, so rows without the text never build the list (`Hashes|contains: 'MD5=...'`
/// on Defender rows). `None` when the needle has no such part.
fn listed_guard(env: &Env<'_>, columns: &[String], needle: &str, test: String) -> Option<String> {
    let (_, tail) = needle.rsplit_once('=')?;
    if tail.is_empty() || tail.contains(',') {
        return None;
    }
    let tests = columns
        .iter()
        .map(|c| {
            let text = as_text(&scry_name(c), (env.kind)(c));
            format!("{text} contains {}", v::scry_str(tail))
        })
        .collect();
    Some(format!("({} and {test})", join(tests, "or")))
}

/// The text of a field for string tests.
fn as_text(e: &str, k: ColKind) -> String {
    if k == ColKind::Str {
        e.to_string()
    } else {
        format!("tostring({e})")
    }
}

/// Joins conditions with `op`, as a balanced tree: a flat chain of hundreds of `or`s would
/// pass scry's nesting limit, a tree of them is shallow.
pub fn join(mut items: Vec<String>, op: &str) -> String {
    match items.len() {
        0 => (if op == "and" { "true" } else { "false" }).to_string(),
        1 => items.remove(0),
        n if n <= 8 => format!("({})", items.join(&format!(" {op} "))),
        n => {
            let right = items.split_off(n / 2);
            format!("({} {op} {})", join(items, op), join(right, op))
        }
    }
}

/// The Sigma fields a detection reads (item fields and `fieldref` values), and whether it
/// has keyword selections.
pub fn fields_used(detection: &Node, out: &mut BTreeSet<String>) -> bool {
    let mut keywords = false;
    let Kind::Map(pairs) = &detection.kind else {
        return false;
    };
    for (k, val) in pairs {
        if matches!(k.as_str(), Some("condition" | "timeframe")) {
            continue;
        }
        keywords |= search_fields(val, out);
    }
    keywords
}

fn search_fields(val: &Node, out: &mut BTreeSet<String>) -> bool {
    match &val.kind {
        Kind::Map(items) => {
            let mut kw = false;
            for (k, vals) in items {
                let key = k.as_str().unwrap_or("");
                let mut parts = key.split('|');
                let field = parts.next().unwrap_or("");
                if field.is_empty() {
                    kw = true;
                } else {
                    out.insert(field.to_string());
                }
                if key.split('|').any(|m| m == "fieldref") {
                    out.extend(vals.strings().into_iter().map(str::to_string));
                }
            }
            kw
        }
        Kind::Seq(items) => items.iter().fold(false, |kw, i| match i.kind {
            Kind::Map(_) => search_fields(i, out) | kw,
            _ => true,
        }),
        _ => true,
    }
}

/// The whole condition of a detection on one target.
pub fn detection(env: &Env<'_>, det: &Node) -> Result<String, Refuse> {
    let Kind::Map(pairs) = &det.kind else {
        return refuse(
            det,
            "`detection` must be a map of search identifiers and `condition`",
        );
    };
    let idents: Vec<(&str, &Node)> = pairs
        .iter()
        .filter_map(|(k, val)| k.as_str().map(|s| (s, val)))
        .filter(|(k, _)| !matches!(*k, "condition" | "timeframe"))
        .collect();
    let Some(cond_node) = det.get("condition") else {
        return refuse(det, "the detection has no `condition`");
    };
    let conds: Vec<&Node> = match &cond_node.kind {
        Kind::Scalar(..) => vec![cond_node],
        Kind::Seq(items) if !items.is_empty() => items.iter().collect(),
        _ => {
            return refuse(
                cond_node,
                "`condition` must be a string or a list of strings",
            )
        }
    };
    let mut out = Vec::new();
    for c in conds {
        let Some(text) = c.as_str() else {
            return refuse(c, "`condition` must be a string");
        };
        let parsed = super::condition::parse(text).map_err(|e| Refuse {
            reason: format!("condition: {} (at character {})", e.message, e.at + 1),
            at: (c.line, c.col),
        })?;
        out.push(cond(env, &parsed, &idents, c)?);
    }
    Ok(join(out, "or"))
}

fn cond(env: &Env<'_>, c: &Cond, idents: &[(&str, &Node)], at: &Node) -> Result<String, Refuse> {
    Ok(match c {
        Cond::Ident(name) => match idents.iter().find(|(k, _)| k == name) {
            Some((_, node)) => search(env, node)?,
            None => return refuse(at, format!("search identifier `{name}` is not defined")),
        },
        Cond::Not(a) => format!("not({})", cond(env, a, idents, at)?),
        Cond::And(items) => join(
            items
                .iter()
                .map(|i| cond(env, i, idents, at))
                .collect::<Result<_, _>>()?,
            "and",
        ),
        Cond::Or(items) => join(
            items
                .iter()
                .map(|i| cond(env, i, idents, at))
                .collect::<Result<_, _>>()?,
            "or",
        ),
        Cond::Of { all, target } => {
            let chosen: Vec<&Node> = idents
                .iter()
                .filter(|(k, _)| {
                    if target == "them" {
                        !k.starts_with('_')
                    } else {
                        glob_match(target, k)
                    }
                })
                .map(|(_, n)| *n)
                .collect();
            if chosen.is_empty() {
                return refuse(at, format!("`{target}` selects no search identifier"));
            }
            let parts = chosen
                .into_iter()
                .map(|n| search(env, n))
                .collect::<Result<Vec<_>, _>>()?;
            join(parts, if *all { "and" } else { "or" })
        }
    })
}

/// One search identifier's value: a map (AND of items), a list of maps (OR), or keywords.
fn search(env: &Env<'_>, node: &Node) -> Result<String, Refuse> {
    match &node.kind {
        Kind::Map(items) => {
            if items.is_empty() {
                return refuse(node, "an empty selection");
            }
            let parts = items
                .iter()
                .map(|(k, val)| item(env, k, val))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(join(parts, "and"))
        }
        Kind::Seq(list)
            if !list.is_empty() && list.iter().all(|i| matches!(i.kind, Kind::Map(_))) =>
        {
            let parts = list
                .iter()
                .map(|m| search(env, m))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(join(parts, "or"))
        }
        Kind::Seq(list)
            if !list.is_empty() && list.iter().all(|i| matches!(i.kind, Kind::Scalar(..))) =>
        {
            keywords(env, node, list, false, &[])
        }
        Kind::Scalar(..) => keywords(env, node, std::slice::from_ref(node), false, &[]),
        _ => refuse(
            node,
            "a search identifier must be a map, a list of maps or a list of keywords",
        ),
    }
}

/// Keyword values: each searched (as `*value*`) in every keyword field.
fn keywords(
    env: &Env<'_>,
    at: &Node,
    values: &[Node],
    all: bool,
    mods: &[&str],
) -> Result<String, Refuse> {
    if env.keywords.is_empty() {
        return refuse(
            at,
            "keyword selections need keyword fields for this logsource",
        );
    }
    let mut per_value = Vec::new();
    for val in values {
        let Some(s) = val.as_str() else {
            return refuse(val, "a keyword must be a string");
        };
        let mut toks = v::parse_pattern(s);
        let mut cased = false;
        for m in mods {
            match *m {
                "all" => {}
                "cased" => cased = true,
                "windash" => toks = v::windash(toks),
                "contains" | "startswith" | "endswith" => {}
                other => {
                    return refuse(
                        at,
                        format!("modifier `{other}` on keywords is not supported"),
                    )
                }
            }
        }
        let toks = v::contains(toks);
        let fields = env
            .keywords
            .iter()
            .map(|k| {
                let (e, kind) = read(env, k);
                v::pattern_test(&as_text(&e, kind), &toks, cased)
            })
            .collect();
        per_value.push(join(fields, "or"));
    }
    Ok(join(per_value, if all { "and" } else { "or" }))
}

/// The comparison a modifier chain ends in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Test {
    Pattern,
    /// A part of the field's ISO 8601 date and time (`hour`, ...).
    TimePart(&'static str),
    Regex,
    Cidr,
    Num(&'static str),
    Exists,
    FieldRef,
}

const MODIFIERS: &[&str] = &[
    "contains",
    "startswith",
    "endswith",
    "all",
    "base64",
    "base64offset",
    "utf16le",
    "utf16be",
    "utf16",
    "wide",
    "windash",
    "re",
    "i",
    "m",
    "s",
    "cidr",
    "lt",
    "lte",
    "gt",
    "gte",
    "exists",
    "fieldref",
    "expand",
    "cased",
    "neq",
    "minute",
    "hour",
    "day",
    "week",
    "month",
    "year",
];

/// One `Field|mods: value(s)` item.
fn item(env: &Env<'_>, key: &Node, val: &Node) -> Result<String, Refuse> {
    let Some(k) = key.as_str() else {
        return refuse(key, "a field name must be a string");
    };
    let mut parts = k.split('|');
    let field = parts.next().unwrap_or("");
    let mods: Vec<&str> = parts.collect();
    for m in &mods {
        if !MODIFIERS.contains(m) {
            let hint = MODIFIERS
                .iter()
                .map(|c| (crate::schema::edit_distance(c, m), c))
                .filter(|(d, _)| *d <= (m.chars().count() / 3).max(1))
                .min()
                .map(|(_, c)| format!(" (did you mean `{c}`?)"))
                .unwrap_or_default();
            return refuse(key, format!("unknown modifier `{m}`{hint}"));
        }
        if *m == "week" {
            return refuse(
                key,
                "the timestamp modifier `week` is not supported yet (an ISO week is not in the text)",
            );
        }
    }
    let values: Vec<&Node> = match &val.kind {
        Kind::Seq(items) if items.is_empty() => return refuse(val, "an empty list of values"),
        Kind::Seq(items) => items.iter().collect(),
        Kind::Scalar(..) => vec![val],
        _ => return refuse(val, "a field's value must be a scalar or a list of scalars"),
    };
    if values.iter().any(|n| !matches!(n.kind, Kind::Scalar(..))) {
        return refuse(val, "a field's values must be scalars");
    }
    let expanded: Vec<Node>;
    let values: Vec<&Node> = if mods.contains(&"expand") {
        let mut list = Vec::new();
        for n in &values {
            let text = n.as_str().unwrap_or("");
            match expand(text, env.placeholders) {
                Ok(vs) => list.extend(vs.into_iter().map(|v| Node {
                    kind: Kind::Scalar(v, false),
                    line: n.line,
                    col: n.col,
                })),
                Err(name) => {
                    return refuse(
                        n,
                        format!("the `expand` placeholder has no values (give them with --placeholders): {name}"),
                    )
                }
            }
        }
        expanded = list;
        expanded.iter().collect()
    } else {
        values
    };
    let all = mods.contains(&"all");
    if field.is_empty() {
        let owned: Vec<Node> = values.into_iter().cloned().collect();
        return keywords(env, key, &owned, all, &mods);
    }
    let neq = mods.contains(&"neq");
    let cased = mods.contains(&"cased");
    let mut test = Test::Pattern;
    for m in &mods {
        let t = match *m {
            "re" => Test::Regex,
            "cidr" => Test::Cidr,
            "lt" => Test::Num("<"),
            "lte" => Test::Num("<="),
            "gt" => Test::Num(">"),
            "gte" => Test::Num(">="),
            "exists" => Test::Exists,
            "fieldref" => Test::FieldRef,
            "minute" => Test::TimePart("minute"),
            "hour" => Test::TimePart("hour"),
            "day" => Test::TimePart("day"),
            "month" => Test::TimePart("month"),
            "year" => Test::TimePart("year"),
            _ => continue,
        };
        if test != Test::Pattern {
            return refuse(
                key,
                format!("`{m}` cannot follow another comparison modifier"),
            );
        }
        test = t;
    }
    if mods.iter().any(|m| ["i", "m", "s"].contains(m)) && test != Test::Regex {
        return refuse(key, "the flags `i`, `m`, `s` need `re`");
    }
    let (fe, fk) = read(env, field);
    // A `LABEL=value` list field and a plain `contains`: its values get a column guard.
    let listed = env
        .target
        .fields
        .get(field)
        .and_then(|f| f.listed_columns());
    let plain_contains = mods.contains(&"contains")
        && mods
            .iter()
            .all(|m| matches!(*m, "contains" | "all" | "cased" | "neq"));
    let mut parts = Vec::new();
    for n in values {
        let Kind::Scalar(s, plain) = &n.kind else {
            unreachable!("checked above: every value is a scalar")
        };
        let plain = *plain;
        let null = plain && matches!(s.as_str(), "null" | "~" | "Null" | "NULL");
        if null && test != Test::Exists {
            parts.push(if fk == ColKind::Str {
                format!("isempty({fe})")
            } else {
                format!("isnull({fe})")
            });
            continue;
        }
        parts.push(match test {
            Test::Regex => {
                let mut flags = String::new();
                for (m, f) in [("i", 'i'), ("m", 'm'), ("s", 's')] {
                    if mods.contains(&m) {
                        flags.push(f);
                    }
                }
                let ascii = match super::pcre::ascii_classes(s) {
                    Ok(p) => p,
                    Err(e) => {
                        let line = e.lines().last().unwrap_or("").trim().to_string();
                        return refuse(n, format!("the regex is outside scry's flavour: {line}"));
                    }
                };
                let src = if flags.is_empty() {
                    ascii
                } else {
                    format!("(?{flags}){ascii}")
                };
                if let Err(e) = regex::RegexBuilder::new(&src).size_limit(1 << 20).build() {
                    let first = e.to_string();
                    let line = first.lines().last().unwrap_or("").trim().to_string();
                    return refuse(n, format!("the regex is outside scry's flavour: {line}"));
                }
                format!("{} matches regex {}", as_text(&fe, fk), v::scry_str(&src))
            }
            Test::Cidr => match v::cidr_test(&as_text(&fe, fk), s) {
                Some(t) => t,
                None => return refuse(n, format!("`{s}` is not an IPv4 or IPv6 network")),
            },
            Test::TimePart(part) => match time_part(&as_text(&fe, fk), part, s) {
                Some(t) => t,
                None => return refuse(n, format!("`{s}` is not a {part}")),
            },
            Test::Num(op) => match s.trim().parse::<f64>() {
                Ok(x) if x.is_finite() => format!("toreal({fe}) {op} {x:?}"),
                _ => return refuse(n, format!("`{s}` is not a number")),
            },
            Test::Exists => {
                let want = match (plain, s.as_str()) {
                    (true, "true") => true,
                    (true, "false") => false,
                    _ => return refuse(n, "`exists` takes true or false"),
                };
                let present = if fk == ColKind::Str {
                    format!("isnotempty({fe})")
                } else {
                    format!("isnotnull({fe})")
                };
                if want {
                    present
                } else {
                    format!("not({present})")
                }
            }
            Test::FieldRef => {
                let (ge, gk) = read(env, s);
                let (a, b) = (as_text(&fe, fk), as_text(&ge, gk));
                let cs = if cased { "_cs" } else { "" };
                if mods.contains(&"contains") {
                    format!("{a} contains{cs} {b}")
                } else if mods.contains(&"startswith") {
                    format!("{a} startswith{cs} {b}")
                } else if mods.contains(&"endswith") {
                    format!("{a} endswith{cs} {b}")
                } else if cased {
                    format!("{a} == {b}")
                } else {
                    format!("{a} =~ {b}")
                }
            }
            Test::Pattern => {
                let test = pattern_value(n, s, plain, &mods, cased, (&fe, fk))?;
                // Only a plain `contains` of text without wildcards: the needle is `s`.
                let toks = v::parse_pattern(s);
                match &listed {
                    Some(columns) if plain_contains && !v::has_wildcard(&toks) => {
                        listed_guard(env, columns, &v::text(&toks), test.clone()).unwrap_or(test)
                    }
                    _ => test,
                }
            }
        });
    }
    let joined = join(parts, if all { "and" } else { "or" });
    Ok(if neq {
        format!("not({joined})")
    } else {
        joined
    })
}

/// A string, number or bool value through its transformations to a test.
fn pattern_value(
    n: &Node,
    s: &str,
    plain: bool,
    mods: &[&str],
    cased: bool,
    (fe, fk): (&str, ColKind),
) -> Result<String, Refuse> {
    let transforms = mods.iter().any(|m| !matches!(*m, "all" | "cased" | "neq"));
    if plain && !transforms {
        if fk == ColKind::Num && s.parse::<i64>().is_ok() {
            return Ok(format!("{fe} == {s}"));
        }
        if fk == ColKind::Num && s.parse::<f64>().is_ok_and(f64::is_finite) {
            return Ok(format!("{fe} == {s}"));
        }
        if fk == ColKind::Bool && matches!(s, "true" | "false") {
            return Ok(format!("{fe} == {s}"));
        }
    }
    // `LogonId: '0x3e7'` (quoted, as rules write it) on a number column: the column reads
    // `0x…` text as its number (`Cell::as_long`), so the value is compared as one too,
    // whatever its case.
    let hex = crate::row::hex_digits(s).and_then(|h| i64::from_str_radix(h, 16).ok());
    if let (false, ColKind::Num, Some(n)) = (transforms, fk, hex) {
        return Ok(format!("{fe} == {n}"));
    }
    let numeric_text = plain && s.parse::<f64>().is_ok();
    let mut toks = if numeric_text || (plain && matches!(s, "true" | "false")) {
        v::literal(s)
    } else {
        v::parse_pattern(s)
    };
    let mut enc = Encoding::Utf8;
    for (i, m) in mods.iter().enumerate() {
        let later_b64 = mods[i + 1..]
            .iter()
            .any(|x| matches!(*x, "base64" | "base64offset"));
        match *m {
            "contains" => toks = v::contains(toks),
            "startswith" => toks = v::startswith(toks),
            "endswith" => toks = v::endswith(toks),
            "windash" => toks = v::windash(toks),
            "wide" | "utf16le" | "utf16be" | "utf16" => {
                let e = match *m {
                    "utf16be" => Encoding::Utf16Be,
                    "utf16" => Encoding::Utf16,
                    _ => Encoding::Utf16Le,
                };
                if later_b64 {
                    enc = e;
                } else {
                    // Compared as text: each byte one character (NULs included).
                    let mut out = Vec::new();
                    for t in toks {
                        match t {
                            Tok::Char(c) => out.extend(
                                v::bytes_text(&v::encode(c.encode_utf8(&mut [0; 4]), e))
                                    .chars()
                                    .map(Tok::Char),
                            ),
                            other => out.push(other),
                        }
                    }
                    toks = out;
                }
            }
            "base64" | "base64offset" => {
                if v::has_wildcard(&toks) {
                    return refuse(n, format!("`{m}` of a value with wildcards is not allowed"));
                }
                let bytes = v::encode(&v::text(&toks), enc);
                if *m == "base64" {
                    toks = v::literal(&v::base64(&bytes));
                } else {
                    let needles = v::base64offset(&bytes);
                    if needles.is_empty() {
                        return refuse(n, "`base64offset` of an empty value");
                    }
                    // The rest of the chain applies to each needle; they are OR-ed.
                    let rest: Vec<&str> = mods[i + 1..].to_vec();
                    let parts = needles
                        .iter()
                        .map(|nd| {
                            let mut t = v::literal(nd);
                            for r in &rest {
                                t = match *r {
                                    "contains" => v::contains(t),
                                    "startswith" => v::startswith(t),
                                    "endswith" => v::endswith(t),
                                    _ => t,
                                };
                            }
                            v::pattern_test(&as_text(fe, fk), &t, cased)
                        })
                        .collect();
                    return Ok(join(parts, "or"));
                }
                enc = Encoding::Utf8;
            }
            _ => {}
        }
    }
    // Encoded needles too are compared ignoring case unless `cased`: the specification makes
    // every value case-insensitive and names no exception for them.
    Ok(v::pattern_test(&as_text(fe, fk), &toks, cased))
}

/// `F|hour: 3`: the part of the field's date and time, read from its ISO 8601 text
/// (`2024-05-13T03:04:05Z`, or Sysmon's `2024-05-13 03:04:05.123`): the modifiers appendix
/// says these modifiers do no timezone or format conversion, so the text's own fields are
/// compared. `None` if the value is not a number in the part's range.
fn time_part(f: &str, part: &str, value: &str) -> Option<String> {
    let n: u32 = value.trim().parse().ok()?;
    let (ok, re) = match part {
        "year" => (n <= 9999, format!(r"^{n:04}-")),
        "month" => ((1..=12).contains(&n), format!(r"^\d{{4}}-{n:02}-")),
        "day" => (
            (1..=31).contains(&n),
            format!(r"^\d{{4}}-\d{{2}}-{n:02}(?:[T ]|$)"),
        ),
        "hour" => (n <= 23, format!(r"^\d{{4}}-\d{{2}}-\d{{2}}[T ]{n:02}:")),
        "minute" => (
            n <= 59,
            format!(r"^\d{{4}}-\d{{2}}-\d{{2}}[T ]\d{{2}}:{n:02}(?:[:.Z+-]|$)"),
        ),
        _ => return None,
    };
    ok.then(|| format!("{f} matches regex {}", v::scry_str(&re)))
}
