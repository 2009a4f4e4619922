//! Imported rules grouped into packs (one `.scry` file per tool folder), each with its
//! provenance header.

use super::*;

/// One output file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pack {
    /// File name, `servereye.scry`.
    pub file_name: String,
    /// Its text: the provenance comment, then the rules.
    pub text: String,
}

/// The output files: one pack per tool (sorted by pack name), or one file per rule.
pub fn packs(imported: &Imported, per_rule: bool) -> Vec<Pack> {
    let mut out: Vec<Pack> = Vec::new();
    if per_rule {
        for f in &imported.files {
            if let Some(r) = &f.rule {
                let head = header(imported, &f.tool, &[f]);
                out.push(Pack {
                    file_name: format!("{}.scry", r.name),
                    text: format!("{head}\n{}", r.text),
                });
            }
        }
        return out;
    }
    let mut tools: Vec<(String, String)> = imported
        .files
        .iter()
        .filter(|f| !f.skipped)
        .map(|f| (pack_name(&f.tool), f.tool.clone()))
        .collect();
    tools.sort();
    tools.dedup();
    for (pack, tool) in tools {
        let members: Vec<&FileResult> = imported
            .files
            .iter()
            .filter(|f| !f.skipped && f.tool == tool)
            .collect();
        let mut text = header(imported, &tool, &members);
        for f in &members {
            if let Some(r) = &f.rule {
                text.push('\n');
                text.push_str(&r.text);
            }
        }
        match out
            .iter_mut()
            .find(|p| p.file_name == format!("{pack}.scry"))
        {
            // Two folders that sanitize alike share a pack.
            Some(p) => {
                p.text.push('\n');
                p.text.push_str(&text);
            }
            None => out.push(Pack {
                file_name: format!("{pack}.scry"),
                text,
            }),
        }
    }
    out
}

/// The provenance comment of a pack: where the rules come from, under which licence.
pub(super) fn header(imported: &Imported, tool: &str, members: &[&FileResult]) -> String {
    let mut s = String::new();
    let roots: Vec<usize> = {
        let mut r: Vec<usize> = members.iter().map(|f| f.root).collect();
        r.dedup();
        r
    };
    let project = roots
        .iter()
        .map(|&r| imported.roots[r].project.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    s.push_str(&format!(
        "// {tool}: imported by `scry import kql` from {project}.\n"
    ));
    for f in members {
        let state = if f.rule.is_some() {
            ""
        } else {
            "  (refused: see the errors of `scry import`)"
        };
        s.push_str(&format!("//   {}{state}\n", f.rel));
    }
    for &r in &roots {
        match &imported.roots[r].licence {
            Some((summary, path)) => s.push_str(&format!(
                "// Licence: {summary} ({path} beside the source rules).\n"
            )),
            None => {
                s.push_str("// Licence: not stated (no LICENSE file beside the source rules).\n")
            }
        }
    }
    s.push_str("// Corrections made by --fix are marked `scry import --fix`.\n");
    s
}
