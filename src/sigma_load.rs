//! Sigma rule files beside `.scry` files: translated to scry rules
//! (`scry_engine::sigma`), compiled with the others, every refusal named with its reason.

use scry_engine::compile::{self, Sources};
use scry_engine::diag::Severity;
use scry_engine::schema::Catalog;
use scry_engine::sigma::{self, Refusal, SigmaRule};
use std::path::PathBuf;
use std::sync::Arc;

/// `--placeholders FILE`: a JSON object of placeholder names (without `%`) to a value or a
/// list of values, each a Sigma pattern: `{"Admins_Workstations": ["adm-*", "jump01"]}`.
pub fn read_placeholders(
    path: Option<&std::path::Path>,
) -> Result<sigma::lower::Placeholders, String> {
    let Some(path) = path else {
        return Ok(Default::default());
    };
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let raw: std::collections::BTreeMap<String, serde_json::Value> =
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut out = sigma::lower::Placeholders::new();
    for (k, v) in raw {
        let vals = match v {
            serde_json::Value::String(s) => vec![s],
            serde_json::Value::Array(a) => a
                .into_iter()
                .map(|x| match x {
                    serde_json::Value::String(s) => Ok(s),
                    other => Ok(other.to_string()),
                })
                .collect::<Result<Vec<_>, String>>()?,
            other => {
                return Err(format!(
                    "{}: placeholder {k}: expected a string or a list, found {other}",
                    path.display()
                ))
            }
        };
        out.insert(k.trim_matches('%').to_string(), vals);
    }
    Ok(out)
}

/// True for the file names Sigma rules have.
pub fn is_yaml(p: &std::path::Path) -> bool {
    p.extension().is_some_and(|x| x == "yml" || x == "yaml")
}

/// What the Sigma files of a rule set gave.
#[derive(Debug, Default)]
pub struct Loaded {
    /// Sigma rule documents seen.
    pub documents: usize,
    /// Rules that compiled.
    pub compiled: usize,
    /// The documents refused.
    pub refusals: Vec<Refusal>,
    /// Filter documents read.
    pub filters: usize,
    /// Detection rules that run only inside the correlations referencing them.
    pub parts: usize,
    /// Rules left out of some target of their logsource (a field the target does not map),
    /// by target name.
    pub partial: Vec<(String, usize)>,
    /// YAML files that are not Sigma rules (no `detection`, `correlation` or `filter`).
    pub not_sigma: Vec<PathBuf>,
}

impl Loaded {
    /// `sigma: 3141 rule(s), 3120 compiled, 21 refused (12 unknown modifier, ...)`.
    pub fn summary(&self) -> String {
        let mut reasons: Vec<(String, usize)> = Vec::new();
        for r in &self.refusals {
            let key = reason_class(&r.reason);
            match reasons.iter_mut().find(|(k, _)| *k == key) {
                Some((_, n)) => *n += 1,
                None => reasons.push((key, 1)),
            }
        }
        reasons.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        let top: Vec<String> = reasons
            .iter()
            .take(5)
            .map(|(k, n)| format!("{n} {k}"))
            .collect();
        let mut s = format!(
            "sigma: {} rule(s), {} compiled, {} refused",
            self.documents,
            self.compiled,
            self.refusals.len()
        );
        if !top.is_empty() {
            s.push_str(&format!(" ({})", top.join(", ")));
        }
        if self.parts > 0 {
            s.push_str(&format!("; {} run only inside correlations", self.parts));
        }
        if self.filters > 0 {
            s.push_str(&format!("; {} filter(s)", self.filters));
        }
        for (target, n) in &self.partial {
            s.push_str(&format!(
                "; {n} not lowered on target `{target}` (a field it does not map: `scry import sigma` names it)"
            ));
        }
        s
    }
}

/// A refusal's reason without the parts naming the rule's own values: what the summary
/// counts.
pub fn reason_class(reason: &str) -> String {
    let head = reason.split(": ").next().unwrap_or(reason);
    head.split(" (did you mean")
        .next()
        .unwrap_or(head)
        .to_string()
}

/// Translates the Sigma files among `files`, adds the columns their rules read to `cat`,
/// and compiles them with the `.scry` files. A Sigma rule whose scry text does not compile
/// is refused with the compiler's message, and the rest is compiled again: a Sigma rule
/// never fails the rule set. Returns the sources, the result and what Sigma gave.
pub fn compile_all(
    files: &[(PathBuf, String)],
    mut cat: Catalog,
    placeholders: Option<&std::path::Path>,
) -> Result<(Sources, compile::Compiled, Loaded), String> {
    let placeholders = read_placeholders(placeholders)?;
    let mut loaded = Loaded::default();
    let mut scry_files = Vec::new();
    let mut rules: Vec<SigmaRule> = Vec::new();
    // Filters first: a filter applies to the rules it names, in whichever file they are.
    let filters: Vec<sigma::Filter> = files
        .iter()
        .filter(|(p, t)| is_yaml(p) && sigma::is_sigma(t))
        .flat_map(|(_, t)| sigma::filters(t))
        .collect();
    loaded.filters = filters.len();
    let mut names = Vec::new();
    let mut texts: Vec<&str> = Vec::new();
    for (path, text) in files {
        if !is_yaml(path) {
            scry_files.push((path.display().to_string(), text.clone()));
        } else if !sigma::is_sigma(text) {
            loaded.not_sigma.push(path.clone());
        } else {
            names.push(path.display().to_string());
            texts.push(text);
        }
    }
    let cx = sigma::Context {
        filters: &filters,
        placeholders: &placeholders,
        ..sigma::Context::new(&cat)
    };
    // All files at once: a correlation may reference a rule of another file.
    let set: Vec<(&str, &str)> = names.iter().map(String::as_str).zip(texts).collect();
    for t in sigma::translate_set(&set, cx) {
        loaded.documents += t.rules.len() + t.refusals.len() + t.parts.len();
        loaded.parts += t.parts.len();
        for r in &t.rules {
            for sk in &r.skipped {
                let target = sk.split(':').next().unwrap_or(sk).to_string();
                match loaded.partial.iter_mut().find(|(t, _)| *t == target) {
                    Some((_, n)) => *n += 1,
                    None => loaded.partial.push((target, 1)),
                }
            }
        }
        rules.extend(t.rules);
        loaded.refusals.extend(t.refusals);
    }
    if !rules.is_empty() {
        cat.add_file("<sigma columns>", &sigma::catalog_additions(&rules))
            .map_err(|e| format!("sigma: {e}"))?;
    }
    let cat = Arc::new(cat);
    loop {
        let mut sources = Sources::default();
        for (name, text) in &scry_files {
            sources.add(name.clone(), text.clone());
        }
        let first_sigma = sources.files.len();
        for r in &rules {
            sources.add(r.file.clone(), r.scry.clone());
        }
        let mut compiled = compile::compile(&sources, Arc::clone(&cat));
        // Sigma rules carry no examples; W0204 would repeat that once per rule.
        compiled
            .diagnostics
            .retain(|d| !(d.file >= first_sigma && d.code == "W0204"));
        let mut bad: Vec<(usize, String)> = compiled
            .diagnostics
            .iter()
            .filter(|d| d.severity >= Severity::Error && d.file >= first_sigma)
            .map(|d| (d.file - first_sigma, format!("{}: {}", d.code, d.message)))
            .collect();
        if bad.is_empty() {
            loaded.compiled = rules.len();
            loaded.refusals.sort_by(|a, b| a.file.cmp(&b.file));
            return Ok((sources, compiled, loaded));
        }
        bad.sort_by_key(|b| std::cmp::Reverse(b.0));
        bad.dedup_by_key(|b| b.0);
        for (i, msg) in bad {
            let r = rules.remove(i);
            loaded.refusals.push(Refusal {
                file: r.file,
                line: 1,
                col: 1,
                name: r.id,
                reason: format!("its scry translation does not compile: {msg}"),
            });
        }
    }
}

/// `scry import sigma PATHS [--out DIR]`.
#[derive(clap::Args)]
pub struct SigmaImportArgs {
    /// Sigma rule files (.yml, .yaml) or folders, searched recursively.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// Write one .scry file per Sigma file, and `sigma-columns.json` (pass it to `--schema`),
    /// into this folder; default: the rules on stdout, the schema file on stderr's note.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Extra schema/alias files (JSON), added to the built-in tables.
    #[arg(long = "schema")]
    schema: Vec<PathBuf>,
    /// Values of `expand` placeholders: a JSON object, name → value or list of values.
    #[arg(long)]
    placeholders: Option<PathBuf>,
}

/// Writes the scry text of Sigma rules: what `scry run` compiles for them, unchanged, so
/// that the imported pack runs exactly as the Sigma files do (with `--schema
/// sigma-columns.json` for the Sigma field names the built-in tables lack).
pub fn cmd_import_sigma(args: SigmaImportArgs) -> Result<std::process::ExitCode, String> {
    let cat = crate::catalog_base(&args.schema)?;
    let placeholders = read_placeholders(args.placeholders.as_deref())?;
    let mut files = Vec::new();
    for p in &args.paths {
        crate::collect_rule_files(p, &mut files)?;
    }
    files.retain(|f| is_yaml(f));
    if files.is_empty() {
        return Err("no .yml or .yaml files given".into());
    }
    let mut rules = Vec::new();
    let mut refused = 0;
    let mut texts = Vec::new();
    for f in &files {
        let text = std::fs::read_to_string(f).map_err(|e| format!("{}: {e}", f.display()))?;
        texts.push(text);
    }
    let filters: Vec<sigma::Filter> = texts.iter().flat_map(|t| sigma::filters(t)).collect();
    let cx = sigma::Context {
        filters: &filters,
        placeholders: &placeholders,
        ..sigma::Context::new(&cat)
    };
    let names: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
    let set: Vec<(&str, &str)> = names
        .iter()
        .zip(&texts)
        .filter(|(_, t)| sigma::is_sigma(t))
        .map(|(n, t)| (n.as_str(), t.as_str()))
        .collect();
    for t in sigma::translate_set(&set, cx) {
        for r in &t.refusals {
            crate::escape::say!("scry: warning: sigma rule refused: {r}");
        }
        refused += t.refusals.len();
        rules.extend(t.rules);
    }
    let schema = sigma::catalog_additions(&rules);
    match &args.out {
        Some(dir) => {
            std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
            for r in &rules {
                let stem = std::path::Path::new(&r.file)
                    .file_stem()
                    .and_then(|s| s.to_str())
                    .unwrap_or("rule");
                let path = dir.join(format!("{stem}.scry"));
                let text = scry_grammar::fmt::format(&r.scry).unwrap_or_else(|_| r.scry.clone());
                std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))?;
            }
            let path = dir.join("sigma-columns.json");
            std::fs::write(&path, &schema).map_err(|e| format!("{}: {e}", path.display()))?;
        }
        None => {
            for r in &rules {
                println!("{}", r.scry);
            }
            crate::escape::say!(
                "scry: note: the rules read these columns (a --schema file): {schema}"
            );
        }
    }
    crate::escape::say!(
        "scry: sigma: {} rule(s) imported, {refused} refused",
        rules.len()
    );
    Ok(std::process::ExitCode::SUCCESS)
}
