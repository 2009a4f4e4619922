//! A hunting rule's YAML metadata as scry metadata clauses: id, title, description, severity,
//! tactics, techniques, data types, connectors, references (URLs of the description), source.

use super::*;

pub(super) const KNOWN_KEYS: &[&str] = &[
    "id",
    "name",
    "description",
    "severity",
    "requiredDataConnectors",
    "tactics",
    "relevantTechniques",
    "query",
    "tags",
    "version",
    "status",
    "references",
];

pub(super) fn meta_str(key: &str, value: &str, span: Span) -> Clause {
    Clause::Meta(ast::Meta {
        key: Ident {
            name: key.into(),
            span,
        },
        value: MetaValue::Str(StrLit {
            value: value.into(),
            span,
        }),
        span,
    })
}

pub(super) fn meta_list(key: &str, values: &[(String, Span)], words: bool, span: Span) -> Clause {
    let items = values
        .iter()
        .map(|(v, s)| {
            if words {
                MetaValue::Word(Ident {
                    name: v.clone(),
                    span: *s,
                })
            } else {
                MetaValue::Str(StrLit {
                    value: v.clone(),
                    span: *s,
                })
            }
        })
        .collect();
    Clause::Meta(ast::Meta {
        key: Ident {
            name: key.into(),
            span,
        },
        value: MetaValue::List(items, span),
        span,
    })
}

pub(super) fn push_unique(v: &mut Vec<(String, Span)>, s: &str, span: Span) {
    if !v.iter().any(|(x, _)| x == s) {
        v.push((s.to_string(), span));
    }
}

/// The rule's metadata clauses from the YAML keys; keys scry has no place for are warned
/// about, never dropped silently.
pub(super) fn metadata(
    root: &yaml::Node,
    input: &Input,
    file: usize,
    diags: &mut Vec<Diagnostic>,
) -> Vec<Clause> {
    let mut out = Vec::new();
    let mut tactics = Vec::new();
    let mut techniques = Vec::new();
    let mut data_types = Vec::new();
    let mut connectors = Vec::new();
    let mut references = Vec::new();
    let mut tags = Vec::new();
    let mut id = None;
    let mut title = None;
    let mut description = None;
    let mut severity = None;
    let mut version = None;
    let mut status = None;
    let yaml::Kind::Map(pairs) = &root.kind else {
        diags.push(
            Diagnostic::error(
                codes::BAD_RULE_FIELD,
                file,
                root.span,
                "a rule file is a YAML mapping",
            )
            .with_label("not a mapping"),
        );
        return out;
    };
    let scalar = |n: &yaml::Node, key: &str, diags: &mut Vec<Diagnostic>| -> Option<String> {
        match n.as_str() {
            Some(s) => Some(s.to_string()),
            None => {
                diags.push(
                    Diagnostic::warning(
                        codes::NOT_IMPORTED,
                        file,
                        n.span,
                        format!("`{key}` is not a single value; not imported"),
                    )
                    .with_label("expected text"),
                );
                None
            }
        }
    };
    for (k, v) in pairs {
        let key = k.as_str().unwrap_or("");
        match key {
            "id" => {
                if let Some(s) = scalar(v, key, diags) {
                    if s.contains("%%") {
                        let derived = derived_id(&input.rel);
                        diags.push(
                            Diagnostic::warning(
                                codes::TEMPLATE_PLACEHOLDER,
                                file,
                                v.span,
                                format!("`id: {s}` is a template placeholder; using {derived}"),
                            )
                            .with_label("placeholder")
                            .with_note("the id is derived from the rule's path, so re-importing gives the same id"),
                        );
                        id = Some((derived, v.span));
                    } else {
                        id = Some((s, v.span));
                    }
                }
            }
            "name" => title = scalar(v, key, diags).map(|s| (s, v.span)),
            "description" => {
                if let Some(s) = scalar(v, key, diags) {
                    let s = s.trim().to_string();
                    for url in urls(&s) {
                        push_unique(&mut references, &url, v.span);
                    }
                    description = Some((s, v.span));
                }
            }
            "severity" => {
                if let Some(s) = scalar(v, key, diags) {
                    let l = s.to_lowercase();
                    if ["informational", "low", "medium", "high", "critical"].contains(&l.as_str())
                    {
                        severity = Some((l, v.span));
                    } else {
                        diags.push(
                            Diagnostic::warning(
                                codes::NOT_IMPORTED,
                                file,
                                v.span,
                                format!("severity `{s}` is not one of informational, low, medium, high, critical; not imported"),
                            )
                            .with_label("unknown severity"),
                        );
                    }
                }
            }
            "tactics" => v
                .strings()
                .iter()
                .for_each(|n| push_unique(&mut tactics, n.as_str().unwrap_or(""), n.span)),
            "relevantTechniques" => v
                .strings()
                .iter()
                .for_each(|n| push_unique(&mut techniques, n.as_str().unwrap_or(""), n.span)),
            "requiredDataConnectors" => {
                let items = match &v.kind {
                    yaml::Kind::Seq(items) => items.iter().collect(),
                    _ => vec![v],
                };
                for item in items {
                    if let Some(c) = item
                        .get("connectorId")
                        .and_then(|c| c.as_str().map(|s| (s, c.span)))
                    {
                        push_unique(&mut connectors, c.0, c.1);
                    }
                    if let Some(dt) = item.get("dataTypes") {
                        for n in dt.strings() {
                            push_unique(&mut data_types, n.as_str().unwrap_or(""), n.span);
                        }
                    }
                }
            }
            "tags" => {
                for n in v.strings() {
                    push_unique(&mut tags, n.as_str().unwrap_or(""), n.span);
                }
                if let yaml::Kind::Seq(items) = &v.kind {
                    if items.iter().any(|i| i.as_str().is_none()) {
                        diags.push(
                            Diagnostic::warning(
                                codes::NOT_IMPORTED,
                                file,
                                v.span,
                                "tags that are not plain text are not imported",
                            )
                            .with_label("structured tags"),
                        );
                    }
                }
            }
            // Not a Sentinel key: `scry export kql --yaml` writes the references that the
            // description does not already hold.
            "references" => v
                .strings()
                .iter()
                .for_each(|n| push_unique(&mut references, n.as_str().unwrap_or(""), n.span)),
            "version" => version = scalar(v, key, diags).map(|s| (s, v.span)),
            "status" => status = scalar(v, key, diags).map(|s| (s, v.span)),
            "query" => {}
            other => {
                let mut d = Diagnostic::warning(
                    codes::NOT_IMPORTED,
                    file,
                    k.span,
                    format!("the key `{other}` has no scry equivalent; not imported"),
                )
                .with_label("not imported");
                if let Some(h) = crate::schema::did_you_mean(other, KNOWN_KEYS.iter().copied()) {
                    d = d.with_note(format!("did you mean `{h}`?"));
                }
                diags.push(d);
            }
        }
    }
    let words = |v: &[(String, Span)]| {
        v.iter().all(|(s, _)| {
            s.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
        })
    };
    let span0 = root.span;
    if let Some((s, sp)) = id {
        out.push(meta_str("id", &s, sp));
    }
    if let Some((s, sp)) = title {
        out.push(meta_str("title", &s, sp));
    }
    if let Some((s, sp)) = description {
        out.push(meta_str("description", &s, sp));
    }
    if let Some((s, sp)) = severity {
        out.push(Clause::Meta(ast::Meta {
            key: Ident {
                name: "severity".into(),
                span: sp,
            },
            value: MetaValue::Word(Ident { name: s, span: sp }),
            span: sp,
        }));
    }
    for (key, vals) in [
        ("tactics", &tactics),
        ("techniques", &techniques),
        ("data_types", &data_types),
        ("connectors", &connectors),
        ("tags", &tags),
    ] {
        if !vals.is_empty() {
            out.push(meta_list(key, vals, words(vals), span0));
        }
    }
    if !references.is_empty() {
        out.push(meta_list("references", &references, false, span0));
    }
    if let Some((s, sp)) = version {
        out.push(meta_str("version", &s, sp));
    }
    if let Some((s, sp)) = status {
        out.push(meta_str("status", &s, sp));
    }
    out.push(meta_str("source", &input.rel, span0));
    out
}

/// URLs in a text, in order, without trailing punctuation.
pub(super) fn urls(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for word in text.split_whitespace() {
        for scheme in ["https://", "http://"] {
            if let Some(i) = word.find(scheme) {
                let url =
                    word[i..].trim_end_matches(['.', ',', ';', ':', ')', ']', '}', '\'', '"', '>']);
                if url.len() > scheme.len() && !out.iter().any(|u| u == url) {
                    out.push(url.to_string());
                }
                break;
            }
        }
    }
    out
}

/// A stable UUID-shaped id from a path (FNV-1a, 128 bits): the same file always gets the
/// same id.
pub(super) fn derived_id(path: &str) -> String {
    let mut h: u128 = 0x6c62_272e_07bb_0142_62b8_2175_6295_c58d;
    for b in path.bytes() {
        h ^= u128::from(b);
        h = h.wrapping_mul(0x0000_0000_0100_0000_0000_0000_0000_013b);
    }
    let x = format!("{h:032x}");
    format!(
        "{}-{}-8{}-{}-{}",
        &x[0..8],
        &x[8..12],
        &x[13..16],
        &x[16..20],
        &x[20..32]
    )
}
