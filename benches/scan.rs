//! The prefilter's anchor scan, alternatives side by side, over storage-account lines: the
//! sampled literal filter (`scry_engine::scan::Literals`), Aho-Corasick as the prefilter used
//! it before (a DFA for many anchors, the default NFA with its prefilter for few), and
//! `memchr::memmem` for one anchor (case-sensitive: a lower bound, not an alternative).
//!
//! Anchor sets: the ServerEye signer (q1), every anchor of `rules/rmm`, of `rules/` (all
//! packs), and of `rules/` plus 596 generated signer rules (the 1,000-rule lane). Each case
//! first checks that the scan finds exactly the lines Aho-Corasick finds.
//!
//! ```sh
//! cargo bench --bench scan
//! ```

#[path = "gen/mod.rs"]
mod generator;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, AhoCorasickKind, MatchKind};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use generator::{Config, Shape};
use scry_engine::compile::{self, Sources};
use scry_engine::plan::Plan;
use scry_engine::prefilter::Prefilter;
use scry_engine::scan::{Literals, Split};
use scry_engine::schema::Catalog;
use std::hint::black_box;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

const DATA_BYTES: u64 = 16 * 1024 * 1024;

fn rule_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .expect("rules folder")
        .map(|e| e.expect("entry").path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            rule_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "scry") {
            out.push(p);
        }
    }
}

/// The anchors of `texts`' rules and the prefilter's own scan over them (with its extra
/// literals and its windows steered off column keys).
fn anchors(texts: &[(String, String)]) -> (Vec<String>, Literals) {
    let mut sources = Sources::default();
    for (name, text) in texts {
        sources.add(name, text.clone());
    }
    let compiled = compile::compile(&sources, Arc::new(Catalog::builtin()));
    assert!(!compiled.has_errors(), "{:?}", compiled.diagnostics);
    let plan = Plan::new(compiled.rules);
    match Prefilter::build(&plan, None, false) {
        // Without the bodies that fall back to their table's name (`rmm_dwservice_createproc`
        // before its set is known): their anchors are in every line of the table, and a run
        // searches them only in its first pass, if at all.
        Prefilter::On(a) => {
            let lit = a.scanner().clone();
            let mut v: Vec<String> = a
                .per_table
                .into_iter()
                .flat_map(|(_, bodies)| bodies)
                .filter(|b| !b.fallback)
                .flat_map(|b| b.anchors)
                .collect();
            v.sort();
            v.dedup();
            (v, lit)
        }
        Prefilter::Off(why) => panic!("prefilter off: {why}"),
    }
}

fn pack(dir: &str) -> Vec<(String, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    rule_files(&root.join(dir), &mut files);
    files
        .into_iter()
        .filter(|p| !p.to_string_lossy().contains("catalogue"))
        .map(|p| {
            let text = std::fs::read_to_string(&p).expect("rule file");
            (p.display().to_string(), text)
        })
        .collect()
}

fn synthetic(n: usize) -> (String, String) {
    let mut s = String::new();
    for i in 0..n {
        s.push_str(&format!(
            "rule synthetic_signer_{i:04} {{\n  id \"00000000-0000-4000-8000-{i:012}\"\n  \
             from DeviceFileCertificateInfo\n  window 5d\n  where Signer has 'Synthetic Vendor {i:04} GmbH'\n}}\n"
        ));
    }
    ("synthetic.scry".into(), s)
}

fn aho(anchors: &[String]) -> AhoCorasick {
    let total: usize = anchors.iter().map(String::len).sum();
    let kind = (anchors.len() > 16 && total <= 64 * 1024).then_some(AhoCorasickKind::DFA);
    AhoCorasickBuilder::new()
        .ascii_case_insensitive(true)
        .match_kind(MatchKind::Standard)
        .kind(kind)
        .build(anchors)
        .expect("automaton")
}

/// Line starts holding a match, by each searcher: they must agree.
fn lines_with(data: &[u8], mut starts: Vec<usize>) -> Vec<usize> {
    starts.sort_unstable();
    let mut lines: Vec<usize> = starts
        .into_iter()
        .map(|p| memchr::memrchr(b'\n', &data[..p]).map_or(0, |i| i + 1))
        .collect();
    lines.dedup();
    lines
}

fn scan(c: &mut Criterion) {
    let cfg = Config {
        seed: 7,
        shape: Shape::Storage,
        ..Config::default()
    };
    let (data, _) = generator::generate_bytes(&cfg, DATA_BYTES);
    let servereye = include_str!("../rules/rmm/servereye.scry");
    let start = servereye
        .find("rule servereye_file_signature")
        .expect("q1 rule");
    let end = servereye[start + 1..]
        .find("\nrule ")
        .map_or(servereye.len(), |e| start + 1 + e);
    let mut thousand = pack("rules");
    thousand.push(synthetic(596));
    let cases: Vec<(&str, (Vec<String>, Literals))> = vec![
        (
            "q1",
            anchors(&[("q1.scry".into(), servereye[start..end].to_string())]),
        ),
        ("rmm", anchors(&pack("rules/rmm"))),
        ("all-packs", anchors(&pack("rules"))),
        ("1000-rules", anchors(&thousand)),
    ];
    let mut g = c.benchmark_group("scan");
    g.throughput(Throughput::Bytes(data.len() as u64));
    g.sample_size(10);
    g.warm_up_time(Duration::from_millis(500));
    g.measurement_time(Duration::from_secs(2));
    for (name, (anchors, configured)) in &cases {
        // The scan over the anchors alone, as Aho-Corasick searches them: the check compares
        // the two; the prefilter's own configuration is timed too.
        let lit = Literals::new(anchors.iter().map(String::as_bytes));
        let ac = aho(anchors);
        let mut found = Vec::new();
        lit.find_all(&data, &mut found);
        let want: Vec<usize> = ac.find_iter(&data).map(|m| m.start()).collect();
        let (got, want) = (lines_with(&data, found), lines_with(&data, want));
        assert_eq!(
            got, want,
            "{name}: the scan and Aho-Corasick find other lines"
        );
        eprintln!(
            "scan/{name}: {} anchors ({}), {} matching lines; the prefilter's: {}",
            anchors.len(),
            lit.describe(),
            got.len(),
            configured.describe()
        );
        g.bench_function(format!("literals/{name}"), |b| {
            let mut out = Vec::new();
            b.iter(|| {
                out.clear();
                lit.find_all(black_box(&data), &mut out);
                out.len()
            })
        });
        // The split between the two filters, side by side: all sampled (the scan before
        // Teddy), and the short tier at under 6, 8 (the default), 10 and 12 bytes.
        for (label, split) in [
            ("all-sampled", Split { long: 0, few: 0 }),
            ("split6", Split { long: 6, few: 8 }),
            ("split10", Split { long: 10, few: 8 }),
            ("split12", Split { long: 12, few: 8 }),
            (
                "all-teddy",
                Split {
                    long: usize::MAX,
                    few: 0,
                },
            ),
        ] {
            let alt = Literals::with_split(anchors.iter().map(String::as_bytes), b"", split);
            let mut found = Vec::new();
            alt.find_all(&data, &mut found);
            assert_eq!(lines_with(&data, found), got, "{name}/{label}");
            eprintln!("scan/{name}/{label}: {}", alt.describe());
            g.bench_function(format!("literals-{label}/{name}"), |b| {
                let mut out = Vec::new();
                b.iter(|| {
                    out.clear();
                    alt.find_all(black_box(&data), &mut out);
                    out.len()
                })
            });
        }
        // The aho-corasick crate's packed searcher (Teddy), case-sensitive over the anchors
        // lower-cased: a lower bound for what it would cost, when it takes the set at all.
        let lower: Vec<String> = anchors.iter().map(|a| a.to_ascii_lowercase()).collect();
        match aho_corasick::packed::Config::new()
            .builder()
            .extend(&lower)
            .build()
        {
            Some(packed) => {
                g.bench_function(format!("aho-packed-case-sensitive/{name}"), |b| {
                    b.iter(|| packed.find_iter(black_box(&data)).count())
                });
            }
            None => eprintln!(
                "scan/{name}: aho-corasick's packed searcher declines {} patterns",
                lower.len()
            ),
        }
        g.bench_function(format!("prefilter-literals/{name}"), |b| {
            let mut out = Vec::new();
            b.iter(|| {
                out.clear();
                configured.find_all(black_box(&data), &mut out);
                out.len()
            })
        });
        g.bench_function(format!("aho-corasick/{name}"), |b| {
            b.iter(|| ac.find_iter(black_box(&data)).count())
        });
        if anchors.len() == 1 {
            let f = memchr::memmem::Finder::new(anchors[0].as_bytes());
            g.bench_function(format!("memmem-case-sensitive/{name}"), |b| {
                b.iter(|| f.find_iter(black_box(&data)).count())
            });
        }
    }
    g.finish();
}

criterion_group!(benches, scan);
criterion_main!(benches);
