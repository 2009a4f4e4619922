//! `scry import kql`: Sentinel / Defender rule YAML (and bare `.kql` files) → `.scry` rule packs.
//!
//! The stages, each in its own file:
//!
//! 1. [`yaml`]: the rule file is read leniently (CRLF, the mis-indented `dataTypes:` of
//!    published Sentinel rules, `%%GUID%%` placeholders); the `query` comes with a map from
//!    each of its bytes to the file, so every diagnostic points at a YAML line and column.
//! 2. `lex` and `query`: the KQL is split into `let` statements and the pipeline (`;` and
//!    top-level `|`, respecting strings, comments and brackets); each stage's expressions are
//!    parsed by [`scry_grammar::parse_expr`], since scry's expression syntax is KQL's.
//! 3. `translate`: stages become clauses; `Timestamp between (now(-X) .. now())` becomes
//!    `window X`; lets become rule-local lets; a tabular `let` or sub-query
//!    `T | where ... | distinct C` becomes a set query `from T where ... distinct C`; a
//!    `datatable` read through `distinct` becomes a list. Names are checked against the schema
//!    catalog. Nothing is dropped silently: every operator, function or shape scry cannot
//!    express is an error naming it, and the rule is refused.
//! 4. The rule is printed with [`scry_grammar::print`] and parsed back as a self-check.
//!
//! Known defects of published queries are errors by default; with `--fix` the obvious
//! correction is applied, reported as warning W0300 and marked in the output with a
//! `// scry import --fix: ...` comment: two list operators in a row (`has_all has_any` →
//! `has_any`), a stage without `where`, a column in the wrong case (`Sha1` → `SHA1`), and
//! `AccountUpn` in a table that only has `InitiatingProcessAccountUpn`.
//!
//! ```
//! use scry_compile::import::{import_kql, Input, Root};
//! use scry_compile::schema::Catalog;
//! let yaml = "id: 1\nname: Demo\nquery: |\n  DeviceFileCertificateInfo\n  | where Timestamp between (ago(5d) .. now())\n  | where Signer has 'ACME'\n";
//! let input = Input::new("demo/rule.yaml", "rule.yaml", "demo", 0, yaml);
//! let out = import_kql(vec![input], vec![Root::named("demo")], &Catalog::builtin(), false);
//! assert_eq!(out.refused(), 0);
//! let text = &out.files[0].rule.as_ref().unwrap().text;
//! assert!(text.contains("window 5d"));
//! assert!(text.contains("where Signer has 'ACME'"));
//! ```

mod lex;
mod query;
mod translate;
mod yaml;

use crate::compile::Sources;
use crate::diag::{codes, Diagnostic, Severity};
use crate::schema::Catalog;
use scry_grammar::print;
use scry_grammar::{self as ast, Clause, Ident, MetaValue, Span, StrLit};
use std::path::{Path, PathBuf};

mod metadata;
mod packs;

use metadata::{meta_str, metadata};
pub use packs::{packs, Pack};

/// One rule file to import.
#[derive(Debug, Clone)]
pub struct Input {
    /// The path as shown in diagnostics.
    pub display: String,
    /// The path relative to its import root, with `/` (the rule's `source`).
    pub rel: String,
    /// The tool: the name of the folder holding the file.
    pub tool: String,
    /// Which [`Root`] it came from.
    pub root: usize,
    /// The file's text.
    pub text: String,
}

impl Input {
    /// An input from its parts.
    pub fn new(
        display: impl Into<String>,
        rel: impl Into<String>,
        tool: impl Into<String>,
        root: usize,
        text: impl Into<String>,
    ) -> Input {
        Input {
            display: display.into(),
            rel: rel.into(),
            tool: tool.into(),
            root,
            text: text.into(),
        }
    }
}

/// A folder (or a file's folder) given to the import: where `source` paths start.
#[derive(Debug, Clone, Default)]
pub struct Root {
    /// The project named in the provenance comments (default: the folder's name).
    pub project: String,
    /// The licence found beside the rules: a one-line summary and the file's path relative
    /// to the root.
    pub licence: Option<(String, String)>,
}

impl Root {
    /// A root with a project name and no licence file.
    pub fn named(project: impl Into<String>) -> Root {
        Root {
            project: project.into(),
            licence: None,
        }
    }
}

/// A rule that was imported.
#[derive(Debug, Clone)]
pub struct ImportedRule {
    /// The rule's name.
    pub name: String,
    /// The printed rule (no provenance header).
    pub text: String,
}

/// What happened to one input file.
#[derive(Debug, Clone)]
pub struct FileResult {
    /// The input's path relative to its root.
    pub rel: String,
    /// The tool (pack) it belongs to.
    pub tool: String,
    /// Its root.
    pub root: usize,
    /// The rule, when it was imported.
    pub rule: Option<ImportedRule>,
    /// True when the file is not a rule (no `query`): skipped with a warning.
    pub skipped: bool,
}

/// The result of an import: per-file results, the inputs (for rendering diagnostics), and
/// every diagnostic in file order.
#[derive(Debug, Clone)]
pub struct Imported {
    /// The input files; diagnostics point into them.
    pub sources: Sources,
    /// One result per input, in input order.
    pub files: Vec<FileResult>,
    /// Everything found, by file.
    pub diagnostics: Vec<Diagnostic>,
    /// The roots.
    pub roots: Vec<Root>,
}

impl Imported {
    /// How many rule files were refused because of errors.
    pub fn refused(&self) -> usize {
        self.files
            .iter()
            .filter(|f| f.rule.is_none() && !f.skipped)
            .count()
    }

    /// How many rules were imported.
    pub fn imported(&self) -> usize {
        self.files.iter().filter(|f| f.rule.is_some()).count()
    }
}

/// Collects the rule files under `paths`: files as given, folders walked recursively
/// (sorted, hidden entries skipped) for `.yaml`, `.yml` and `.kql` files. `project` names
/// the source in provenance comments (default: each root folder's name).
pub fn collect(
    paths: &[PathBuf],
    project: Option<&str>,
) -> Result<(Vec<Input>, Vec<Root>), String> {
    let mut inputs = Vec::new();
    let mut roots = Vec::new();
    for p in paths {
        let meta = std::fs::metadata(p).map_err(|e| format!("{}: {e}", p.display()))?;
        let (root_dir, files) = if meta.is_dir() {
            let mut files = Vec::new();
            walk(p, &mut files)?;
            (p.clone(), files)
        } else {
            let parent = p.parent().map(Path::to_path_buf).unwrap_or_default();
            (parent, vec![p.clone()])
        };
        let root_name = dir_name(&root_dir);
        let ri = roots.len();
        roots.push(Root {
            project: project.map_or_else(|| root_name.clone(), str::to_string),
            licence: licence(&root_dir),
        });
        for f in files {
            let bytes = std::fs::read(&f).map_err(|e| format!("{}: {e}", f.display()))?;
            let text = String::from_utf8(bytes).map_err(|e| {
                format!(
                    "{}: not UTF-8 (byte {})",
                    f.display(),
                    e.utf8_error().valid_up_to()
                )
            })?;
            let rel = f
                .strip_prefix(&root_dir)
                .unwrap_or(&f)
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join("/");
            let parent = f.parent().map(Path::to_path_buf).unwrap_or_default();
            inputs.push(Input {
                display: f.display().to_string(),
                rel,
                tool: dir_name(&parent),
                root: ri,
                text,
            });
        }
    }
    Ok((inputs, roots))
}

fn dir_name(dir: &Path) -> String {
    let named = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .filter(|n| !n.is_empty() && n != "." && n != "..");
    named
        .or_else(|| {
            std::fs::canonicalize(dir)
                .ok()
                .and_then(|c| c.file_name().map(|n| n.to_string_lossy().into_owned()))
        })
        .unwrap_or_else(|| "rules".into())
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), String> {
    let mut entries = Vec::new();
    for e in std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))? {
        entries.push(e.map_err(|e| format!("{}: {e}", dir.display()))?.path());
    }
    entries.sort();
    for e in entries {
        let hidden = e
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with('.'));
        if hidden {
            continue;
        }
        if e.is_dir() {
            walk(&e, out)?;
        } else if e
            .extension()
            .is_some_and(|x| x == "yaml" || x == "yml" || x == "kql")
        {
            out.push(e);
        }
    }
    Ok(())
}

/// The licence beside the rules (in the root or up to two folders above): its first line
/// and copyright line, and where it is.
fn licence(root: &Path) -> Option<(String, String)> {
    let mut dir = root.to_path_buf();
    let mut prefix = String::new();
    for _ in 0..3 {
        for name in ["LICENSE", "LICENSE.md", "LICENSE.txt", "LICENCE", "COPYING"] {
            let p = dir.join(name);
            if let Ok(text) = std::fs::read_to_string(&p) {
                let first = text.lines().map(str::trim).find(|l| !l.is_empty())?;
                let mut summary = first.trim_start_matches('#').trim().to_string();
                if let Some(c) = text
                    .lines()
                    .map(str::trim)
                    .find(|l| l.starts_with("Copyright") && *l != first)
                {
                    summary = format!("{summary}, {c}");
                }
                return Some((summary, format!("{prefix}{name}")));
            }
        }
        dir = dir.join("..");
        prefix.push_str("../");
    }
    None
}

/// Imports every input. Rules with errors are refused (their file's `rule` is `None`); the
/// others are printed. `fix` applies the known corrections.
pub fn import_kql(inputs: Vec<Input>, roots: Vec<Root>, catalog: &Catalog, fix: bool) -> Imported {
    let mut sources = Sources::default();
    let mut files = Vec::new();
    let mut diagnostics = Vec::new();
    let mut names: Vec<String> = Vec::new();
    for input in inputs {
        let file = sources.add(input.display.clone(), input.text.clone());
        let mut diags = Vec::new();
        let result = import_one(&input, file, catalog, fix, &mut names, &mut diags);
        let failed = diags.iter().any(|d| d.severity >= Severity::Error);
        let skipped = matches!(result, One::Skipped);
        let rule = match result {
            One::Rule(r) if !failed => Some(r),
            _ => None,
        };
        // By position; at one position the wider finding (the cause) first.
        diags.sort_by_key(|d| (d.span.start, std::cmp::Reverse(d.span.end)));
        diagnostics.extend(diags);
        files.push(FileResult {
            rel: input.rel,
            tool: input.tool,
            root: input.root,
            rule,
            skipped,
        });
    }
    Imported {
        sources,
        files,
        diagnostics,
        roots,
    }
}

enum One {
    Rule(ImportedRule),
    Refused,
    Skipped,
}

fn import_one(
    input: &Input,
    file: usize,
    catalog: &Catalog,
    fix: bool,
    names: &mut Vec<String>,
    diags: &mut Vec<Diagnostic>,
) -> One {
    let stem = input
        .rel
        .rsplit('/')
        .next()
        .unwrap_or(&input.rel)
        .rsplit_once('.')
        .map_or(input.rel.as_str(), |(s, _)| s)
        .to_string();
    let is_kql = input.rel.ends_with(".kql");
    let (query, map, mut meta, rule_span) = if is_kql {
        let q = input.text.clone();
        let map = yaml::SrcMap::identity(q.len());
        let span = Span::new(0, 0);
        (q, map, vec![meta_str("source", &input.rel, span)], span)
    } else {
        let root = match yaml::parse(&input.text) {
            Ok(r) => r,
            Err(e) => {
                diags.push(
                    Diagnostic::error(
                        codes::YAML_SYNTAX,
                        file,
                        e.span,
                        format!("not valid YAML: {}", e.message),
                    )
                    .with_label("here")
                    .with_note("scry repairs two known defects (a mis-indented key after a list item, `%%PLACEHOLDER%%` values); this is something else"),
                );
                return One::Refused;
            }
        };
        let Some(q) = root.get("query") else {
            diags.push(
                Diagnostic::warning(
                    codes::NOT_A_RULE,
                    file,
                    Span::new(0, 0),
                    "no `query`: not a rule file, skipped",
                )
                .with_label("this file"),
            );
            return One::Skipped;
        };
        let Some(text) = q.as_str() else {
            diags.push(
                Diagnostic::error(codes::BAD_RULE_FIELD, file, q.span, "`query` must be text")
                    .with_label("not a string"),
            );
            return One::Refused;
        };
        let meta = metadata(&root, input, file, diags);
        (text.to_string(), q.map.clone(), meta, q.span)
    };
    let _ = &mut meta;

    let is_table = |t: &str| catalog.table(t).is_some();
    let parser = query::QueryParser::new(&query, &map, file, fix, &is_table);
    let (parsed, pdiags, notes) = parser.parse();
    diags.extend(pdiags);

    let mut name = sanitize(&stem);
    if name.starts_with(|c: char| c.is_ascii_digit()) || name.is_empty() {
        name = format!("r_{name}");
    }
    let mut notes = notes;
    if names.contains(&name) {
        let mut k = 2;
        while names.contains(&format!("{name}_{k}")) {
            k += 1;
        }
        let renamed = format!("{name}_{k}");
        notes.add(
            rule_span,
            format!("named {renamed}: another imported rule is already called {name}"),
        );
        name = renamed;
    }
    names.push(name.clone());

    let mut tr = translate::Translator::new(catalog, file, &input.text, fix, &parsed, notes);
    let ident = Ident {
        name: name.clone(),
        span: rule_span,
    };
    let rule = tr.translate(ident, meta, rule_span);
    diags.append(&mut tr.diags);
    let Some(rule) = rule else {
        return One::Refused;
    };
    if diags.iter().any(|d| d.severity >= Severity::Error) {
        return One::Refused;
    }
    let f = ast::File {
        items: vec![ast::Item::Rule(rule)],
    };
    let (mut text, lost) = print::file(&f, &tr.notes);
    if !lost.is_empty() {
        // A comment whose node was not printed goes above the rule rather than nowhere.
        let mut head = String::new();
        for (_, t) in lost {
            head.push_str(&format!("// {t}\n"));
        }
        text = head + &text;
    }
    if let Err(errs) = ast::parse_file(&text) {
        diags.push(
            Diagnostic {
                severity: Severity::Internal,
                ..Diagnostic::error(
                    errs[0].code,
                    file,
                    rule_span,
                    format!("the printed rule does not parse back: {}", errs[0].message),
                )
            }
            .with_note(text.clone()),
        );
        return One::Refused;
    }
    One::Rule(ImportedRule { name, text })
}

/// Lowercase, `[a-z0-9_]` only: `rmm_ServerEye_filesig` → `rmm_servereye_filesig`,
/// `parsec.app` → `parsec_app`.
pub fn sanitize(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect()
}

/// The pack file stem of a tool folder: `MSP360_CloudBerry` → `msp360_cloudberry`,
/// `parsec.app` → `parsec_app`, `_all` → `all_tools`.
pub fn pack_name(tool: &str) -> String {
    let s = sanitize(tool);
    let s = s.trim_matches('_');
    match s {
        "" => "rules".into(),
        // The corpus's `_all` folder holds the rules over every tool.
        "all" => "all_tools".into(),
        s => s.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::metadata::{derived_id, urls};
    use super::*;

    fn one(yaml: &str, fix: bool) -> Imported {
        let input = Input::new("t/rule.yaml", "T/rule.yaml", "T", 0, yaml);
        import_kql(
            vec![input],
            vec![Root::named("t")],
            &Catalog::builtin(),
            fix,
        )
    }

    #[test]
    fn hostile_inputs_are_diagnosed_not_crashed() {
        let deep = format!("query: |\n  {}T{}\n", "(".repeat(5000), ")".repeat(5000));
        let deep_sub = format!(
            "query: |\n  T | where a in {}T | distinct C{}\n",
            "(".repeat(200),
            ")".repeat(200)
        );
        let cases = [
            "",
            "query:",
            "query: |\n",
            "query: [1, 2]",
            "- a\n- b\n",
            "query: |\n  let\n",
            "query: |\n  let a = ;\n  T\n",
            "query: |\n  | | |\n",
            "query: |\n  T | where\n",
            "query: |\n  T | where a ==\n",
            "query: |\n  datatable(a:string)[\n",
            "query: |\n  let d = datatable(a:string, b:string)['x'];\n  DeviceProcessEvents | where FileName in ((d | distinct a))\n",
            "query: |\n  let a = b | where x == 1;\n  let b = a | where y == 1;\n  a\n",
            "query: |\n  union\n",
            "query: |\n  DeviceProcessEvents | summarize by\n",
            "query: |\n  DeviceProcessEvents | where 'ä\\é' has \"\\\n",
            "query: \"T | where a == 'x\"\n",
            "id: %%GUID%%\nquery: '%%Q%%'\n",
            "query: |\n  T\n  | where a has_all has_any in (1)\n",
            &deep,
            &deep_sub,
        ];
        for c in cases {
            for fix in [false, true] {
                let _ = one(c, fix);
            }
        }
        let out = one(&deep, false);
        assert_eq!(out.refused(), 1);
    }

    #[test]
    fn names_and_packs() {
        assert_eq!(sanitize("rmm_ServerEye_filesig"), "rmm_servereye_filesig");
        assert_eq!(pack_name("MSP360_CloudBerry"), "msp360_cloudberry");
        assert_eq!(pack_name("parsec.app"), "parsec_app");
        assert_eq!(pack_name("_all"), "all_tools");
        assert_eq!(derived_id("a/b.yaml"), derived_id("a/b.yaml"));
        assert_ne!(derived_id("a/b.yaml"), derived_id("a/c.yaml"));
        assert_eq!(
            urls("see https://x.y/z. and (http://a.b)"),
            ["https://x.y/z", "http://a.b"]
        );
    }

    #[test]
    fn unsupported_things_are_errors_with_places() {
        let out = one(
            "query: |\n  DeviceProcessEvents\n  | where FileName has 'x'\n  | mv-expand AdditionalFields\n",
            false,
        );
        assert_eq!(out.refused(), 1);
        let d = &out.diagnostics[0];
        assert_eq!(d.code, codes::UNSUPPORTED_OPERATOR);
        assert_eq!(d.span.text(&out.sources.files[0].text), "mv-expand");
    }

    #[test]
    fn unknown_functions_and_aggregates_are_named() {
        let out = one(
            "query: |\n  DeviceProcessEvents\n  | where iff(FileName has 'x', true, false)\n  | summarize take_any(ReportId) by DeviceId\n",
            false,
        );
        let codes: Vec<&str> = out.diagnostics.iter().map(|d| d.code).collect();
        assert_eq!(
            codes,
            [codes::UNSUPPORTED_FUNCTION, codes::UNSUPPORTED_FUNCTION]
        );
        let text = &out.sources.files[0].text;
        assert_eq!(out.diagnostics[0].span.text(text), "iff");
        assert_eq!(out.diagnostics[1].span.text(text), "take_any");
    }

    #[test]
    fn placeholders_and_windows() {
        let out = one(
            "id: %%GUID%%\nname: X\nquery: |\n  let lookback = ago(3d);\n  DeviceFileCertificateInfo\n  | where Timestamp between (lookback .. now()) and Signer has 'A'\n  | distinct DeviceName\n",
            false,
        );
        assert_eq!(out.refused(), 0, "{:?}", out.diagnostics);
        assert_eq!(out.diagnostics[0].code, codes::TEMPLATE_PLACEHOLDER);
        let text = &out.files[0].rule.as_ref().unwrap().text;
        assert!(text.contains("window 3d"), "{text}");
        assert!(text.contains("where Signer has 'A'"), "{text}");
        assert!(text.contains("summarize by DeviceName"), "{text}");
        assert!(!text.contains("lookback"), "{text}");
    }

    #[test]
    fn arg_max_project_and_take_are_imported() {
        let out = one(
            "query: |\n  DeviceProcessEvents\n  | where FileName =~ 'anydesk.exe'\n  | summarize arg_max(Timestamp, *), Count = count() by DeviceId\n  | where Count > 1 and isnotempty(ProcessCommandLine)\n  | project DeviceId, Last = Timestamp, ProcessCommandLine, Count\n  | take 5\n",
            false,
        );
        assert_eq!(out.refused(), 0, "{:?}", out.diagnostics);
        let text = &out.files[0].rule.as_ref().unwrap().text;
        for clause in [
            "summarize arg_max(Timestamp, *), Count = count() by DeviceId",
            "having Count > 1\n    and isnotempty(ProcessCommandLine)",
            "project DeviceId, Last = Timestamp, ProcessCommandLine, Count",
            "take 5",
        ] {
            assert!(text.contains(clause), "{clause}: {text}");
        }
        // Rows: `project` then `limit` (the spelling is kept); a `take` before a `project`
        // is moved after it, which gives the same rows.
        for (query, expected) in [
            (
                "DeviceProcessEvents | where FileName has 'x' | project Timestamp, F = tolower(FileName) | limit 3",
                "project Timestamp, F = tolower(FileName)\n  limit 3",
            ),
            (
                "DeviceProcessEvents | where FileName has 'x' | take 3 | project FileName",
                "project FileName\n  take 3",
            ),
        ] {
            let out = one(&format!("query: |\n  {query}\n"), false);
            assert_eq!(out.refused(), 0, "{query}: {:?}", out.diagnostics);
            let text = &out.files[0].rule.as_ref().unwrap().text;
            assert!(text.contains(expected), "{query}: {text}");
        }
    }

    #[test]
    fn what_project_and_take_cannot_express_is_named() {
        for (query, code, at) in [
            // scry's `take` keeps the first N results: a filter after it would filter N rows.
            (
                "DeviceProcessEvents | take 10 | where FileName has 'x'",
                codes::UNSUPPORTED_SHAPE,
                "where",
            ),
            (
                "DeviceProcessEvents | project FileName | where FileName has 'x'",
                codes::UNSUPPORTED_SHAPE,
                "where",
            ),
            (
                "DeviceProcessEvents | project FileName | summarize count() by FileName",
                codes::UNSUPPORTED_SHAPE,
                "summarize",
            ),
            (
                "DeviceProcessEvents | summarize count() by FileName | project FileName | where FileName has 'x'",
                codes::UNSUPPORTED_SHAPE,
                "where",
            ),
            (
                "DeviceProcessEvents | summarize (Last, Name) = arg_max(Timestamp, FileName) by DeviceId",
                codes::UNSUPPORTED_SHAPE,
                "(Last, Name) =",
            ),
            (
                "union DeviceProcessEvents, DeviceNetworkEvents | summarize arg_max(Timestamp, *) by DeviceId",
                codes::STAR_MISUSE,
                "*",
            ),
            (
                "DeviceProcessEvents | project-away FileName",
                codes::UNSUPPORTED_OPERATOR,
                "project-away",
            ),
            (
                "DeviceProcessEvents | summarize arg_max(Timestamp, FileNam) by DeviceId",
                codes::UNKNOWN_NAME,
                "FileNam",
            ),
        ] {
            let out = one(&format!("query: |\n  {query}\n"), false);
            assert_eq!(out.refused(), 1, "{query}");
            let d = &out.diagnostics[0];
            assert_eq!(d.code, code, "{query}: {d:?}");
            assert_eq!(d.span.text(&out.sources.files[0].text), at, "{query}");
        }
    }

    #[test]
    fn joins_buckets_and_order_are_imported() {
        for (query, want) in [
            (
                "DeviceProcessEvents | join kind=leftsemi (DeviceFileCertificateInfo | where Signer has 'x') on SHA1",
                "join kind=leftsemi (from DeviceFileCertificateInfo\n      where Signer has 'x') on SHA1",
            ),
            // KQL's default kind, and a hint, which does not change the rows.
            (
                "DeviceProcessEvents | join hint.strategy=shuffle (DeviceNetworkEvents) on DeviceId",
                "join kind=innerunique (from DeviceNetworkEvents) on DeviceId",
            ),
            (
                "DeviceProcessEvents | join kind=inner (DeviceNetworkEvents) on DeviceId, $left.DeviceName == $right.DeviceName | where Timestamp1 between ((Timestamp - 1m) .. (Timestamp + 5m)) | where RemotePort == 443",
                "on DeviceId, $left.DeviceName == $right.DeviceName,\n    $right.Timestamp between ($left.Timestamp - 1m .. $left.Timestamp + 5m)\n  where RemotePort == 443",
            ),
            // For leftouter, pairing then filtering is not a time condition: it stays a filter.
            (
                "DeviceProcessEvents | join kind=leftouter (DeviceNetworkEvents) on DeviceId | where Timestamp1 between (Timestamp .. (Timestamp + 5m))",
                "on DeviceId\n  where Timestamp1 between (Timestamp .. Timestamp + 5m)",
            ),
            // `lookup` names the right keys once.
            (
                "DeviceProcessEvents | lookup (DeviceNetworkEvents) on DeviceId",
                "MachineGroup, Timestamp1, DeviceName1,",
            ),
            (
                "DeviceNetworkEvents | summarize c = count() by bin(Timestamp, 1h) | where Timestamp > ago(1d) | order by Timestamp desc",
                "summarize c = count() by bin(Timestamp, 1h)\n  having Timestamp > ago(1d)",
            ),
        ] {
            let out = one(&format!("query: |\n  {query}\n"), false);
            assert_eq!(out.refused(), 0, "{query}: {:#?}", out.diagnostics);
            let text = &out.files[0].rule.as_ref().unwrap().text;
            assert!(text.contains(want), "{query}:\n{text}");
            if query.contains("lookup") {
                assert!(text.contains("join kind=leftouter"), "{text}");
                assert!(!text.contains("DeviceId1"), "{text}");
            }
            if query.contains("order by") {
                assert_eq!(out.diagnostics[0].code, codes::NOT_IMPORTED);
            }
        }
    }

    #[test]
    fn what_joins_and_order_cannot_express_is_named() {
        let guard = "// except \"svc\"\n  | where not(isnotnull(InitiatingProcessFileName =~ 'svc.exe') and InitiatingProcessFileName =~ 'svc.exe')";
        let left_only = format!(
            "DeviceProcessEvents\n  {guard}\n  | join kind=inner (DeviceNetworkEvents) on DeviceId"
        );
        for (query, code, at) in [
            (
                "DeviceProcessEvents | join kind=rightouter (DeviceNetworkEvents) on DeviceId",
                codes::UNSUPPORTED_JOIN,
                "rightouter",
            ),
            (
                "DeviceProcessEvents | lookup kind=leftanti (DeviceNetworkEvents) on DeviceId",
                codes::UNSUPPORTED_JOIN,
                "leftanti",
            ),
            (
                "DeviceProcessEvents | order by Timestamp desc | take 5",
                codes::UNSUPPORTED_SHAPE,
                "order",
            ),
            (
                "DeviceProcessEvents | top 5 by Timestamp",
                codes::UNSUPPORTED_OPERATOR,
                "top",
            ),
            // scry's `window` bounds both sides of a combining join.
            (
                "DeviceProcessEvents | where Timestamp between (now(-1d) .. now()) | join kind=inner (DeviceNetworkEvents) on DeviceId",
                codes::UNSUPPORTED_SHAPE,
                "DeviceNetworkEvents",
            ),
            (
                left_only.as_str(),
                codes::UNSUPPORTED_SHAPE,
                "DeviceNetworkEvents",
            ),
            (
                "DeviceProcessEvents | join kind=inner (DeviceNetworkEvents) on DeviceId | summarize count() by DeviceId",
                codes::UNSUPPORTED_SHAPE,
                "summarize",
            ),
            (
                "DeviceProcessEvents | summarize count() by DeviceId | join kind=inner (DeviceNetworkEvents) on DeviceId",
                codes::UNSUPPORTED_SHAPE,
                "join",
            ),
            (
                "DeviceProcessEvents | join kind=inner (DeviceNetworkEvents | extend X = 1) on DeviceId",
                codes::UNSUPPORTED_SHAPE,
                "extend",
            ),
            (
                "DeviceProcessEvents | extend L = tolower(FileName) | join kind=inner (DeviceNetworkEvents) on DeviceId",
                codes::UNSUPPORTED_SHAPE,
                "join",
            ),
            (
                "DeviceProcessEvents | join kind=inner (DeviceNetworkEvents) on DeviceId | where RemotePrt == 443",
                codes::UNKNOWN_NAME,
                "RemotePrt",
            ),
            (
                "DeviceProcessEvents | join kind=inner (DeviceNetworkEvents) DeviceId",
                codes::KQL_SYNTAX,
                "(DeviceNetworkEvents) DeviceId",
            ),
        ] {
            let out = one(&format!("query: |\n  {query}\n"), false);
            assert_eq!(out.refused(), 1, "{query}");
            let d = &out.diagnostics[0];
            assert_eq!(d.code, code, "{query}: {d:?}");
            assert_eq!(d.span.text(&out.sources.files[0].text), at, "{query}");
        }
    }
}
