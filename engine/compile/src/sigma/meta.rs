//! Sigma metadata as scry metadata: `id`, `title`, `description`, `status`, `level` →
//! `severity`, `tags` → `tactics` / `techniques` (ATT&CK) and `tags` (the rest),
//! `references`, `falsepositives` → `false_positives`, `author`, `date`, `modified`, and
//! `source` (the file).

use super::value::scry_str;
use super::yaml::Node;
use std::fmt::Write as _;

/// The ATT&CK tactics, as Sigma tags name them (`attack.<tag>`): read by the frontend, written
/// by `scry export sigma`.
pub(crate) const TACTICS: &[&str] = &[
    "reconnaissance",
    "resource-development",
    "initial-access",
    "execution",
    "persistence",
    "privilege-escalation",
    "defense-evasion",
    "defense-impairment",
    "stealth",
    "credential-access",
    "discovery",
    "lateral-movement",
    "collection",
    "command-and-control",
    "exfiltration",
    "impact",
];

/// The scry rule name: the file's stem, made an identifier.
pub fn rule_name(file: &str, doc: &Node, multi: bool) -> String {
    let stem = std::path::Path::new(file)
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("sigma");
    let mut name: String = stem
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    if !name.starts_with(|c: char| c.is_ascii_alphabetic()) {
        name.insert_str(0, "sigma_");
    }
    // A file with several rule documents: the id keeps the names apart.
    if let (true, Some(id)) = (multi, doc.get("id").and_then(Node::as_str)) {
        name.push('_');
        name.extend(id.chars().filter(char::is_ascii_alphanumeric).take(8));
    }
    name
}

fn camel(tag: &str) -> String {
    tag.split('-')
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect()
}

fn list(items: &[String]) -> String {
    let quoted: Vec<String> = items.iter().map(|s| scry_str(s)).collect();
    format!("[{}]", quoted.join(", "))
}

/// Writes the metadata lines of `doc`.
pub fn write(out: &mut String, doc: &Node, file: &str) {
    let one = |k: &str| doc.get(k).and_then(Node::as_str).map(str::to_string);
    let many = |k: &str| -> Vec<String> {
        doc.get(k)
            .map(|n| n.strings().into_iter().map(str::to_string).collect())
            .unwrap_or_default()
    };
    if let Some(id) = one("id") {
        let _ = writeln!(out, "  id {}", scry_str(&id));
    }
    if let Some(t) = one("title") {
        let _ = writeln!(out, "  title {}", scry_str(&t));
    }
    if let Some(d) = one("description") {
        let _ = writeln!(out, "  description {}", scry_str(d.trim_end()));
    }
    if let Some(l) = one("level") {
        let l = l.to_ascii_lowercase();
        if ["informational", "low", "medium", "high", "critical"].contains(&l.as_str()) {
            let _ = writeln!(out, "  severity {l}");
        }
    }
    if let Some(s) = one("status") {
        let _ = writeln!(out, "  status {}", scry_str(&s));
    }
    let (mut tactics, mut techniques, mut tags) = (Vec::new(), Vec::new(), Vec::new());
    for t in many("tags") {
        let lower = t.to_ascii_lowercase();
        match lower.strip_prefix("attack.") {
            Some(x) if TACTICS.contains(&x) => tactics.push(camel(x)),
            Some(x)
                if x.starts_with('t')
                    && x[1..].chars().next().is_some_and(|c| c.is_ascii_digit()) =>
            {
                techniques.push(x.to_ascii_uppercase())
            }
            _ => tags.push(t),
        }
    }
    if !tactics.is_empty() {
        let _ = writeln!(out, "  tactics {}", list(&tactics));
    }
    if !techniques.is_empty() {
        let _ = writeln!(out, "  techniques {}", list(&techniques));
    }
    if !tags.is_empty() {
        let _ = writeln!(out, "  tags {}", list(&tags));
    }
    let refs = many("references");
    if !refs.is_empty() {
        let _ = writeln!(out, "  references {}", list(&refs));
    }
    let fps = many("falsepositives");
    if !fps.is_empty() {
        let _ = writeln!(out, "  false_positives {}", list(&fps));
    }
    if let Some(a) = one("author") {
        let _ = writeln!(out, "  author {}", scry_str(&a));
    }
    for k in ["date", "modified"] {
        if let Some(d) = one(k) {
            let _ = writeln!(out, "  {k} {}", scry_str(&d));
        }
    }
    let _ = writeln!(out, "  source {}", scry_str(file));
}
