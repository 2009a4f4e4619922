//! Printing then parsing gives the same tree; layout and notes.

use super::*;
use crate::{parse_expr, parse_file};

/// The tree without spans, for comparing a parse with the parse of its printout.
fn shape(e: &Expr) -> String {
    let mut e = e.clone();
    clear(&mut e);
    format!("{e:?}")
}

fn clear(e: &mut Expr) {
    e.span = Span::default();
    match &mut e.kind {
        ExprKind::Literal(_) | ExprKind::Star => {}
        ExprKind::Name(id) => id.span = Span::default(),
        ExprKind::Not(x) | ExprKind::Neg(x) => clear(x),
        ExprKind::Binary {
            lhs, rhs, op_span, ..
        } => {
            *op_span = Span::default();
            clear(lhs);
            clear(rhs);
        }
        ExprKind::InList {
            lhs, list, op_span, ..
        } => {
            *op_span = Span::default();
            clear(lhs);
            list.iter_mut().for_each(clear);
        }
        ExprKind::Between { lhs, low, high, .. } => {
            clear(lhs);
            clear(low);
            clear(high);
        }
        ExprKind::Call { name, args } => {
            name.span = Span::default();
            args.iter_mut().for_each(clear);
        }
        ExprKind::Index { base, index } => {
            clear(base);
            clear(index);
        }
        ExprKind::List(xs) => xs.iter_mut().for_each(clear),
        ExprKind::Query(q) => {
            for t in &mut q.tables {
                t.span = Span::default();
            }
            q.distinct.span = Span::default();
            if let Some(w) = &mut q.window {
                w.span = Span::default();
                match &mut w.kind {
                    WindowKind::Lookback(x) => clear(x),
                    WindowKind::Between(a, b) => {
                        clear(a);
                        clear(b);
                    }
                }
            }
            for f in &mut q.filters {
                f.span = Span::default();
                clear(&mut f.predicate);
            }
        }
    }
}

const CASES: &[&str] = &[
    "a == 1 or b == 2 and c == 3",
    "(a or b) and c",
    "a and (b and c)",
    "a - (b - c)",
    "(a - b) - c",
    "-(-x)",
    "-(a + b) * 2",
    "not(a) and not(b or c)",
    "x in ('a', 'b',)",
    "x in~ (('a', 'b'), 'c', dynamic(['d']))",
    "FolderPath has_any (@'\\Program Files\\Level\\', @'\\Program Files (x86)\\Level\\')",
    "s has \"it's\" or s has 'a\\'b\\\\c'",
    "tostring(split(RemoteUrl, '/')[0])",
    "trim_start(@'http[s]?://', RemoteUrl)",
    "Timestamp between (now(-5d) .. now())",
    "Timestamp !between (datetime(2024-05-15) .. 1.5h)",
    "x matches regex '^a+$'",
    "['in'] == ['Column with spaces']",
    "(a == b) == c",
    "x == long(null) or y == 1.5 or z == 1e300",
    "t > ago(90s) and t < ago(7tick)",
    "Sha1 in (from DeviceFileCertificateInfo window 5d where Signer has 'x' distinct SHA1)",
    "(x, y)[0]",
    "'a\\u0001b' == x",
    "arg_max(Timestamp, *)",
    "arg_min(Timestamp, DeviceName, *) == x",
];

#[test]
fn printing_then_parsing_gives_the_same_tree() {
    for src in CASES {
        let e = parse_expr(src).unwrap_or_else(|err| panic!("{src}: {err:?}"));
        let printed = expr(&e, Dialect::Scry);
        let back = parse_expr(&printed).unwrap_or_else(|err| panic!("{printed}: {err:?}"));
        assert_eq!(shape(&e), shape(&back), "{src} printed as {printed}");
    }
}

#[test]
fn minimal_parentheses() {
    let p = |s: &str| expr(&parse_expr(s).unwrap(), Dialect::Scry);
    assert_eq!(p("((a)) or ((b and c))"), "a or b and c");
    assert_eq!(p("(a or b) and c"), "(a or b) and c");
    assert_eq!(p("x + (y * z)"), "x + y * z");
    assert_eq!(p("('a')"), "'a'");
    assert_eq!(p("('a',)"), "('a',)");
}

#[test]
fn kql_spelling_of_lists_and_sets() {
    let k = |s: &str| expr(&parse_expr(s).unwrap(), Dialect::Kql);
    assert_eq!(k("('a', 'b')"), "dynamic(['a', 'b'])");
    assert_eq!(k("x in ('a', 'b')"), "x in ('a', 'b')");
    assert_eq!(
        k("x in (from T window 5d where a == 1 distinct C)"),
        "x in ((T | where Timestamp between (now(-5d) .. now()) | where a == 1 | distinct C))"
    );
}

#[test]
fn strings_read_back_in_both_languages() {
    for s in [
        "plain",
        r"C:\Windows",
        "it's",
        r#"both ' and ""#,
        "tab\there",
        "",
    ] {
        let lit = string_literal(s);
        let e = parse_expr(&lit).unwrap();
        assert_eq!(e.kind, ExprKind::Literal(Literal::Str(s.into())), "{lit}");
    }
}

#[test]
fn timespans_use_the_largest_exact_unit() {
    assert_eq!(timespan(5 * 864_000_000_000), "5d");
    assert_eq!(timespan(90 * 10_000_000), "90s");
    assert_eq!(timespan(7), "7tick");
    assert_eq!(timespan(-36_000_000_000), "-1h");
}

#[test]
fn files_print_and_parse_back() {
    let src = r#"
let Vendors = ('ServerEye', 'Server-Eye');
rule r {
  id "1"
  tactics [CommandAndControl]
  techniques [T1219]
  from DeviceProcessEvents, DeviceNetworkEvents
  window 5d
  let Local = from DeviceFileCertificateInfo where Signer has 'x' distinct SHA1;
  where a has 'x' and b has_any (Vendors) and (c == 1 or d == 2)
  extend X = tolower(a), Y = 2
  except "fp" { description "why" when a == 'y' }
  except "short" when b == 'z'
  summarize Count = count(), First = min(Timestamp), arg_max(Timestamp, *) by DeviceId, K = tolower(DeviceName)
  having Count > 1
  project DeviceId, Count, Seen = First
  limit 10
  examples at datetime(2024-05-15T12:00:00Z) {
match "m" {"a": "x"}
suppressed "s" by "fp" in DeviceProcessEvents {"a": "y"}
  }
}
"#;
    let f = parse_file(src).unwrap();
    let (text, lost) = file(&f, &Notes::default());
    assert!(lost.is_empty());
    let back = parse_file(&text).unwrap_or_else(|e| panic!("{text}\n{e:?}"));
    assert_eq!(back.items.len(), f.items.len());
    let (again, _) = file(&back, &Notes::default());
    assert_eq!(text, again, "printing is a fixed point");
    assert!(
        text.contains("  where a has 'x'\n    and b has_any (Vendors)\n    and (c == 1 or d == 2)"),
        "{text}"
    );
}

#[test]
fn notes_go_to_the_end_of_their_line_aligned_in_lists() {
    let e = parse_expr("x has_any ('a', 'bbb')").unwrap();
    let ExprKind::InList { list, .. } = &e.kind else {
        panic!()
    };
    let mut notes = Notes::default();
    notes.add(list[0].span, "first");
    notes.add(list[1].span, "second");
    let mut w = Writer::new(Dialect::Scry, &notes);
    w.text("where ");
    w.expr(&e, 2, true);
    let (text, lost) = w.finish();
    assert!(lost.is_empty());
    assert_eq!(
        text,
        "where x has_any (\n      'a',    // first\n      'bbb'   // second\n    )"
    );
}
