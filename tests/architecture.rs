//! The layering of docs/architecture.md, checked: crates depend on the stages before them
//! only, and no module of a crate imports from a module that imports it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// The crates in stage order: each may depend on the ones before it, never on a later one.
const STAGES: &[(&str, &str)] = &[
    ("scry-grammar", "grammar"),
    ("scry-kql", "engine/kql"),
    ("scry-compile", "engine/compile"),
    ("scry-plan", "engine/plan"),
    ("scry-io", "engine/io"),
    ("scry-exec", "engine/exec"),
    ("scry-run", "engine/run"),
    ("scry-arrow", "engine/arrow"),
    ("scry-engine", "engine"),
];

/// The `scry-*` crates a manifest names under `[dependencies]` (dev-dependencies may reach
/// down or sideways, as the executor's doc example reads a row through scry-io).
fn dependencies(manifest: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(manifest).unwrap();
    let mut in_deps = false;
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            in_deps = line == "[dependencies]";
        } else if in_deps && line.starts_with("scry-") {
            let name = line.split([' ', '=', '.']).next().unwrap();
            out.push(name.to_string());
        }
    }
    out
}

#[test]
fn crates_depend_only_on_earlier_stages() {
    let rank: BTreeMap<&str, usize> = STAGES
        .iter()
        .enumerate()
        .map(|(i, (n, _))| (*n, i))
        .collect();
    for (i, (name, dir)) in STAGES.iter().enumerate() {
        for dep in dependencies(&Path::new(ROOT).join(dir).join("Cargo.toml")) {
            let r = *rank
                .get(dep.as_str())
                .unwrap_or_else(|| panic!("{name} depends on unknown {dep}"));
            assert!(r < i, "{name} depends on {dep}, a later stage");
        }
    }
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// Top-level module → the top-level modules of the same crate it names through `crate::`.
fn module_graph(src: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    let is_module = |m: &str| src.join(format!("{m}.rs")).is_file() || src.join(m).is_dir();
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for f in files {
        let rel = f.strip_prefix(src).unwrap();
        let first = rel
            .components()
            .next()
            .unwrap()
            .as_os_str()
            .to_string_lossy();
        let module = first.trim_end_matches(".rs").to_string();
        let text = std::fs::read_to_string(&f).unwrap();
        for line in text.lines() {
            // Comments (docs included) may name any module; only code imports.
            let code = line.split("//").next().unwrap();
            for (i, _) in code.match_indices("crate::") {
                let name: String = code[i + 7..]
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                if name != module && is_module(&name) {
                    graph.entry(module.clone()).or_default().insert(name);
                }
            }
        }
    }
    graph
}

/// A circle in `graph`, if there is one (depth-first search with colours).
fn circle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        v: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        state: &mut BTreeMap<String, u8>,
        path: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        state.insert(v.to_string(), 1);
        path.push(v.to_string());
        for w in graph.get(v).into_iter().flatten() {
            match state.get(w.as_str()) {
                Some(1) => {
                    let start = path.iter().position(|p| p == w).unwrap();
                    let mut c = path[start..].to_vec();
                    c.push(w.clone());
                    return Some(c);
                }
                Some(_) => {}
                None => {
                    if let Some(c) = visit(w, graph, state, path) {
                        return Some(c);
                    }
                }
            }
        }
        path.pop();
        state.insert(v.to_string(), 2);
        None
    }
    let mut state = BTreeMap::new();
    for v in graph.keys() {
        if !state.contains_key(v) {
            if let Some(c) = visit(v, graph, &mut state, &mut Vec::new()) {
                return Some(c);
            }
        }
    }
    None
}

#[test]
fn no_module_imports_from_a_module_that_imports_it() {
    let mut dirs: Vec<&str> = STAGES.iter().map(|(_, d)| *d).collect();
    dirs.push(".");
    for dir in dirs {
        let src = Path::new(ROOT).join(dir).join("src");
        let graph = module_graph(&src);
        if let Some(c) = circle(&graph) {
            panic!(
                "{}: modules import each other: {}",
                src.display(),
                c.join(" → ")
            );
        }
    }
}

#[test]
fn the_circle_finder_finds_circles() {
    let g = |edges: &[(&str, &str)]| {
        let mut m: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (a, b) in edges {
            m.entry(a.to_string()).or_default().insert(b.to_string());
        }
        m
    };
    assert_eq!(circle(&g(&[("a", "b"), ("b", "c")])), None);
    let c = circle(&g(&[("a", "b"), ("b", "c"), ("c", "a")])).unwrap();
    assert_eq!(c.first(), c.last());
    assert_eq!(c.len(), 4);
}
