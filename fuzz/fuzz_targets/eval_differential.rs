//! The optimized plan against the reference evaluator, as `tests/differential.rs` compares
//! them, on predicates built from a small grammar (columns × operators × needles, combined
//! with `and` / `or` / `not`) and on events built from the same text pieces: the verdicts
//! must agree.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use scry_engine::compile::{self, Sources};
use scry_engine::exec::{row_from_json, Executor, Verdict};
use scry_engine::plan::Plan;
use scry_engine::reference;
use scry_engine::row::Row;
use scry_engine::schema::Catalog;
use std::fmt::Write;
use std::sync::{Arc, OnceLock};

/// Text pieces around the needles' edges: case, folding, term boundaries, non-ASCII.
const PIECES: &[&str] = &[
    "Krämer",
    "KRÄMER",
    "krämer",
    "Kra\u{308}mer",
    "server",
    "-",
    "eye",
    "Eye",
    ".",
    "de",
    "X",
    " ",
    "_",
    "\\",
    "ä",
    "Ä",
    "1",
    "",
    "K",
    "ß",
    "ẞ",
    "\u{212A}",
    "\u{17F}",
    "/",
    "\"",
    "'",
    "İ",
    "ı",
    "\u{1F600}",
    "a1",
    "\t",
];

#[derive(Arbitrary, Debug)]
struct Text(Vec<u8>);

impl Text {
    fn render(&self) -> String {
        self.0
            .iter()
            .take(6)
            .map(|&b| PIECES[usize::from(b) % PIECES.len()])
            .collect()
    }
}

#[derive(Arbitrary, Debug, Clone, Copy)]
enum StrCol {
    FileName,
    FolderPath,
    Lower,
    Upper,
}

const STR_OPS: &[&str] = &[
    "has",
    "has_cs",
    "!has",
    "!has_cs",
    "hasprefix",
    "hasprefix_cs",
    "!hasprefix",
    "hassuffix",
    "hassuffix_cs",
    "!hassuffix",
    "contains",
    "contains_cs",
    "!contains",
    "!contains_cs",
    "startswith",
    "startswith_cs",
    "!startswith",
    "endswith",
    "endswith_cs",
    "!endswith",
    "==",
    "!=",
    "=~",
    "!~",
];
const LIST_OPS: &[&str] = &["in", "!in", "in~", "!in~", "has_any", "has_all"];

#[derive(Arbitrary, Debug)]
enum Pred {
    Str(StrCol, u8, Text),
    List(StrCol, u8, Vec<Text>),
    Regex(StrCol, u8),
    Len(StrCol, u8),
    Pid(u8, i8, i8),
    Empty(StrCol),
    Not(Box<Pred>),
    And(Box<Pred>, Box<Pred>),
    Or(Box<Pred>, Box<Pred>),
}

fn lit(s: &str) -> String {
    // Verbatim literals: no escapes, a doubled quote stands for one.
    format!("@'{}'", s.replace('\'', "''"))
}

fn col(c: StrCol) -> &'static str {
    match c {
        StrCol::FileName => "FileName",
        StrCol::FolderPath => "FolderPath",
        StrCol::Lower => "tolower(FileName)",
        StrCol::Upper => "toupper(FolderPath)",
    }
}

impl Pred {
    fn render(&self, depth: usize, out: &mut String) {
        if depth > 5 {
            out.push_str("isnotempty(FileName)");
            return;
        }
        match self {
            Pred::Str(c, op, t) => {
                let op = STR_OPS[usize::from(*op) % STR_OPS.len()];
                let _ = write!(out, "{} {op} {}", col(*c), lit(&t.render()));
            }
            Pred::List(c, op, ts) => {
                let op = LIST_OPS[usize::from(*op) % LIST_OPS.len()];
                let items: Vec<String> = ts.iter().take(4).map(|t| lit(&t.render())).collect();
                let items = if items.is_empty() {
                    vec![lit("eye")]
                } else {
                    items
                };
                let _ = write!(out, "{} {op} ({})", col(*c), items.join(", "));
            }
            Pred::Regex(c, r) => {
                const RES: &[&str] = &["[Ee]ye\\.", "^K", "(?i)krämer$", "\\bde\\b", ".*", "ß|ẞ"];
                let _ = write!(
                    out,
                    "{} matches regex {}",
                    col(*c),
                    lit(RES[usize::from(*r) % RES.len()])
                );
            }
            Pred::Len(c, n) => {
                let _ = write!(out, "strlen({}) > {}", col(*c), n % 16);
            }
            Pred::Pid(op, a, b) => {
                let (a, b) = (i64::from(*a) % 32, i64::from(*b) % 32);
                let _ = match op % 5 {
                    0 => write!(out, "ProcessId between ({a} .. {b})"),
                    1 => write!(out, "ProcessId !between ({a} .. {b})"),
                    2 => write!(out, "ProcessId in ({a}, {b})"),
                    3 => write!(out, "ProcessId > {a}"),
                    _ => write!(out, "ProcessId == {a}"),
                };
            }
            Pred::Empty(c) => {
                let _ = write!(out, "isempty({})", col(*c));
            }
            Pred::Not(p) => {
                out.push_str("not(");
                p.render(depth + 1, out);
                out.push(')');
            }
            Pred::And(a, b) | Pred::Or(a, b) => {
                out.push('(');
                a.render(depth + 1, out);
                out.push_str(if matches!(self, Pred::And(..)) {
                    ") and ("
                } else {
                    ") or ("
                });
                b.render(depth + 1, out);
                out.push(')');
            }
        }
    }
}

#[derive(Arbitrary, Debug)]
struct Event {
    file: Option<Text>,
    folder: Text,
    pid: Option<i8>,
    ts: Option<u8>,
}

impl Event {
    fn json(&self) -> serde_json::Value {
        const TS: &[&str] = &[
            "2024-05-13T23:59:59.9999999Z",
            "2024-05-14T00:00:00Z",
            "2024-05-15T00:00:00.0000001Z",
            "not a date",
        ];
        let mut m = serde_json::Map::new();
        if let Some(f) = &self.file {
            m.insert("FileName".into(), f.render().into());
        }
        m.insert("FolderPath".into(), self.folder.render().into());
        m.insert(
            "ProcessId".into(),
            self.pid
                .map_or(serde_json::Value::Null, |p| i64::from(p).into()),
        );
        if let Some(t) = self.ts {
            m.insert("Timestamp".into(), TS[usize::from(t) % TS.len()].into());
        }
        serde_json::Value::Object(m)
    }
}

fn catalog() -> Arc<Catalog> {
    static CAT: OnceLock<Arc<Catalog>> = OnceLock::new();
    CAT.get_or_init(|| Arc::new(Catalog::builtin())).clone()
}

/// The reference evaluator's verdict, with the event typed by the table schema (a string
/// column missing from the event reads as `""`, like the engine's).
fn reference_verdict(pred: &str, event: &serde_json::Value, cat: &Catalog) -> bool {
    let ast = scry_grammar::parse_expr(pred).expect("the generated predicate parses");
    let table = cat.table("DeviceProcessEvents").expect("a built-in table");
    reference::holds_on_json(&ast, table, event, 0)
}

fuzz_target!(|input: (Pred, Vec<Event>)| {
    let (pred, events) = input;
    let mut p = String::new();
    pred.render(0, &mut p);
    let cat = catalog();
    let mut sources = Sources::default();
    sources.add(
        "fuzz.scry",
        format!("rule r {{ id \"r\" from DeviceProcessEvents where {p} examples {{}} }}"),
    );
    let compiled = compile::compile(&sources, cat.clone());
    assert!(!compiled.has_errors(), "`{p}`: {:?}", compiled.diagnostics);
    let plan = Plan::new(compiled.rules);
    let mut ex = Executor::new(&plan, 0, Some("DeviceProcessEvents".into()));
    let fields = ex.fields().clone();
    let mut row = Row::new(&fields);
    for ev in events.iter().take(8) {
        let ev = ev.json();
        row_from_json(&ev.to_string(), &fields, &mut row).unwrap();
        let got = match ex.verdict(&row, 0) {
            Ok(v) => v == Verdict::Match,
            // The engine skips a record whose Timestamp does not parse, before any rule; the
            // reference has no such stage. Nothing else may be skipped.
            Err(_) if ev["Timestamp"] == "not a date" => continue,
            Err(e) => panic!("predicate `{p}` on {ev}: skipped: {e:?}"),
        };
        let want = reference_verdict(&p, &ev, &cat);
        assert_eq!(got, want, "predicate `{p}` on {ev}");
    }
});
