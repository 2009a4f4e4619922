//! The Sentinel rule YAML around an exported query: the rule's metadata as Sentinel's keys.

use super::*;

/// The value of the rule's metadata `key`, if written.
pub(super) fn meta<'r>(r: &'r ast::Rule, key: &str) -> Option<&'r MetaValue> {
    r.clauses.iter().find_map(|c| match c {
        Clause::Meta(m) if m.key.name == key => Some(&m.value),
        _ => None,
    })
}

/// A metadata value's strings: a list flattened, a word as its text.
pub(super) fn meta_strings(v: Option<&MetaValue>) -> Vec<String> {
    fn go(v: &MetaValue, out: &mut Vec<String>) {
        match v {
            MetaValue::Str(s) => out.push(s.value.clone()),
            MetaValue::Word(w) => out.push(w.name.clone()),
            MetaValue::List(items, _) => items.iter().for_each(|i| go(i, out)),
        }
    }
    let mut out = Vec::new();
    if let Some(v) = v {
        go(v, &mut out);
    }
    out
}

impl Exporter<'_> {
    /// The Sentinel rule YAML shape around the query.
    pub(super) fn yaml(&self, r: &ast::Rule, kql: &str, data_types: &[String]) -> String {
        let one = |k: &str| meta_strings(meta(r, k)).into_iter().next();
        let mut y = String::new();
        let id = one("id").unwrap_or_else(|| r.name.name.clone());
        y.push_str(&format!("id: {}\n", yaml_scalar(&id)));
        let title = one("title").unwrap_or_else(|| r.name.name.clone());
        y.push_str(&format!("name: {}\n", yaml_scalar(&title)));
        if let Some(d) = one("description") {
            y.push_str("description: |\n");
            y.push_str(&block(&d));
        }
        if let Some(s) = one("severity") {
            let mut c = s.chars();
            let cap = c
                .next()
                .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
                .unwrap_or_default();
            y.push_str(&format!("severity: {}\n", yaml_scalar(&cap)));
        }
        let mut connectors = meta_strings(meta(r, "connectors"));
        if connectors.is_empty() {
            connectors.push("MicrosoftThreatProtection".into());
        }
        y.push_str("requiredDataConnectors:\n");
        for (i, c) in connectors.iter().enumerate() {
            y.push_str(&format!("  - connectorId: {}\n", yaml_scalar(c)));
            if i == 0 {
                y.push_str("    dataTypes:\n");
                for t in data_types {
                    y.push_str(&format!("      - {}\n", yaml_scalar(t)));
                }
            }
        }
        for (key, scry_key) in [("tactics", "tactics"), ("relevantTechniques", "techniques")] {
            let vals = meta_strings(meta(r, scry_key));
            if !vals.is_empty() {
                y.push_str(&format!("{key}:\n"));
                for v in vals {
                    y.push_str(&format!("  - {}\n", yaml_scalar(&v)));
                }
            }
        }
        let description = one("description").unwrap_or_default();
        let refs: Vec<String> = meta_strings(meta(r, "references"))
            .into_iter()
            .filter(|u| !description.contains(u.as_str()))
            .collect();
        if !refs.is_empty() {
            y.push_str("references:\n");
            for u in refs {
                y.push_str(&format!("  - {}\n", yaml_scalar(&u)));
            }
        }
        let tags = meta_strings(meta(r, "tags"));
        if !tags.is_empty() {
            y.push_str("tags:\n");
            for t in tags {
                y.push_str(&format!("  - {}\n", yaml_scalar(&t)));
            }
        }
        for key in ["version", "status"] {
            if let Some(v) = one(key) {
                y.push_str(&format!("{key}: {}\n", yaml_scalar(&v)));
            }
        }
        y.push_str("query: |\n");
        y.push_str(&block(kql));
        y
    }
}

/// A YAML plain scalar when that reads back as the same text, else single-quoted.
fn yaml_scalar(s: &str) -> String {
    let plain = !s.is_empty()
        && !s.starts_with(|c: char| "-?:,[]{}#&*!|>'\"%@` ".contains(c))
        && !s.ends_with(' ')
        && !s.contains(": ")
        && !s.contains(" #")
        && !s.chars().any(char::is_control)
        && !["true", "false", "null", "yes", "no", "~"].contains(&s.to_lowercase().as_str())
        && s.parse::<f64>().is_err();
    if plain {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "''"))
    }
}

/// A literal block scalar's body, indented two spaces.
fn block(text: &str) -> String {
    let mut out = String::new();
    for line in text.trim_end().lines() {
        if line.is_empty() {
            out.push('\n');
        } else {
            out.push_str("  ");
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}
