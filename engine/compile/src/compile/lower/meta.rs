//! A rule's metadata clauses (`id`, `title`, `tactics`, ...): read only at the rule's head.

use super::*;

const META_KEYS: &[&str] = &[
    "id",
    "title",
    "description",
    "severity",
    "tactics",
    "techniques",
    "references",
    "author",
    "tags",
    "source",
    "status",
    "data_types",
    "version",
    "date",
    "modified",
    "false_positives",
    "connectors",
];

pub(super) fn meta_strings(v: &ast::MetaValue) -> Vec<String> {
    match v {
        ast::MetaValue::Str(s) => vec![s.value.clone()],
        ast::MetaValue::Word(w) => vec![w.name.clone()],
        ast::MetaValue::List(items, _) => items.iter().flat_map(meta_strings).collect(),
    }
}

pub(super) fn meta_span(v: &ast::MetaValue) -> Span {
    match v {
        ast::MetaValue::Str(s) => s.span,
        ast::MetaValue::Word(w) => w.span,
        ast::MetaValue::List(_, s) => *s,
    }
}

pub(super) fn lower_meta(r: &ast::Rule, file: usize, diags: &mut Vec<Diagnostic>) -> RuleMeta {
    let mut m = RuleMeta::default();
    for c in &r.clauses {
        let ast::Clause::Meta(meta) = c else { continue };
        let key = meta.key.name.as_str();
        let vals = meta_strings(&meta.value);
        let single = |diags: &mut Vec<Diagnostic>| -> Option<String> {
            if let ast::MetaValue::List(..) = meta.value {
                diags.push(Diagnostic::error(
                    codes::BAD_METADATA,
                    file,
                    meta_span(&meta.value),
                    format!("`{key}` takes one value, not a list"),
                ));
                return None;
            }
            vals.first().cloned()
        };
        match key {
            "id" => m.id = single(diags),
            "title" => m.title = single(diags),
            "description" => m.description = single(diags),
            "severity" => {
                m.severity = single(diags);
                if let Some(s) = &m.severity {
                    const LEVELS: &[&str] = &["informational", "low", "medium", "high", "critical"];
                    if !LEVELS.contains(&s.as_str()) {
                        diags.push(
                            Diagnostic::error(
                                codes::BAD_METADATA,
                                file,
                                meta_span(&meta.value),
                                format!("unknown severity `{s}`"),
                            )
                            .with_note(
                                "expected one of informational, low, medium, high, critical",
                            ),
                        );
                    }
                }
            }
            "tactics" => m.tactics = vals,
            "techniques" => m.techniques = vals,
            "references" => m.references = vals,
            k if META_KEYS.contains(&k) => m.other.push((k.to_string(), vals)),
            k => {
                let mut d = Diagnostic::warning(
                    codes::UNKNOWN_METADATA,
                    file,
                    meta.key.span,
                    format!("unknown metadata key `{k}`"),
                );
                if let Some(h) = did_you_mean(k, META_KEYS.iter().copied()) {
                    d = d.with_note(format!("did you mean `{h}`?"));
                }
                diags.push(d);
                m.other.push((k.to_string(), vals));
            }
        }
    }
    m
}
