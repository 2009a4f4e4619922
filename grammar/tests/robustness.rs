//! No input makes the parser panic or overflow the stack.

use scry_grammar::{parse_expr, parse_file, render_plain, ExprKind, Span, SyntaxError};

fn codes(r: Result<impl std::fmt::Debug, Vec<SyntaxError>>) -> Vec<&'static str> {
    match r {
        Ok(_) => vec![],
        Err(errs) => errs.iter().map(|e| e.code).collect(),
    }
}

#[test]
fn deep_brackets_are_an_error_not_a_stack_overflow() {
    for (open, close) in [("(", ")"), ("[", "]"), ("{", "}"), ("dynamic([", "])")] {
        let src = format!("{}x{}", open.repeat(100_000), close.repeat(100_000));
        assert_eq!(codes(parse_expr(&src)), ["E0007"], "{open}");
        let file = format!("let A = {src};");
        assert_eq!(codes(parse_file(&file)), ["E0007"], "{open}");
    }
    // Unclosed: still the depth error, at the 257th bracket.
    let errs = parse_expr(&"(".repeat(100_000)).unwrap_err();
    assert_eq!(errs[0].span, Span::new(256, 257));
}

#[test]
fn deep_operator_chains_are_an_error_not_a_stack_overflow() {
    let cases = [
        format!("a{}", " or a".repeat(100_000)),
        format!("1{}", " + 1".repeat(100_000)),
        format!("{}a", "not ".repeat(100_000)),
        format!("{}a", "- ".repeat(100_000)),
        format!("a{}", "[0]".repeat(100_000)),
        // Brackets within the limit times chains within the limit still nest too deep.
        format!("{}a{}", "(".repeat(200), " or a or a)".repeat(200)),
    ];
    for src in &cases {
        assert_eq!(codes(parse_expr(src)), ["E0007"], "{}", &src[..20]);
    }
}

#[test]
fn nesting_just_under_the_limit_parses() {
    let src = format!("{}x{}", "(".repeat(250), ")".repeat(250));
    assert!(parse_expr(&src).is_ok());
    let src = format!("a{}", " or a".repeat(250));
    assert!(parse_expr(&src).is_ok());
}

#[test]
fn every_prefix_of_a_valid_file_parses_or_errors() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/valid/");
    for name in ["spec_example.scry", "examples_forms.scry", "strings.scry"] {
        let src = std::fs::read_to_string(format!("{dir}{name}")).unwrap();
        for (i, _) in src.char_indices() {
            let prefix = &src[..i];
            if let Err(errs) = parse_file(prefix) {
                for e in &errs {
                    assert!(e.span.end as usize <= prefix.len(), "{name}[..{i}]: {e:?}");
                    render_plain(name, prefix, e);
                }
            }
            let _ = parse_expr(prefix);
        }
    }
}

#[test]
fn garbage_does_not_panic() {
    let fixed = [
        "",
        " ",
        "{",
        "}",
        "rule",
        "rule r {",
        "rule r { from",
        "'",
        "\"\\",
        "'\\",
        "@'",
        "@\"",
        "```",
        "~~~",
        "/*",
        "*/",
        "0x",
        "0xZ",
        "1e",
        "1e+",
        "1.",
        ".5",
        "9999999999999999999999d",
        "99999999999999999999.5d",
        "datetime(",
        "time(",
        "time(99:99)",
        "\u{0}",
        "\u{feff}",
        "rule r { examples { match \"x\" {",
        "rule r { examples { match \"x\" { \"a\": [",
        "let A = ;",
        "let = 1;",
        "a ==",
        "== a",
        "a in",
        "a in (",
        "a between (1 ..",
        "!",
        "!in",
        "not",
        "-",
        "a[",
        "f(",
        "f(,)",
        "['x",
        "[']",
        "ä",
        "\u{1F600}",
        "rule 😀 {}",
        "'\\u'",
        "'\\ud83d'",
        "'\\ud83d\\u'",
        "'\\uZZZZ'",
        "5\u{e4}",
        "x matches regex",
        "summarize",
    ];
    for src in fixed {
        let _ = parse_file(src);
        let _ = parse_expr(src);
    }
    // A deterministic soup of the language's own tokens: more likely than random bytes to
    // get deep into the grammar.
    const TOKENS: &[&str] = &[
        "rule ",
        "r ",
        "{",
        "}",
        "(",
        ")",
        "[",
        "]",
        ",",
        ";",
        "let ",
        "=",
        "==",
        "from ",
        "where ",
        "extend ",
        "summarize ",
        "by ",
        "having ",
        "except ",
        "when ",
        "examples ",
        "match ",
        "no_match ",
        "suppressed ",
        "in ",
        "has ",
        "!has_cs ",
        "has_any ",
        "between ",
        "..",
        "and ",
        "or ",
        "not ",
        "-",
        "+",
        "'s'",
        "\"d\"",
        "@'v'",
        "```t```",
        "5d",
        "1.5",
        "0x1",
        "datetime(2024-01-01)",
        "time(1:00)",
        "dynamic([",
        "x ",
        "a.b ",
        "['n']",
        "// c\n",
        "/* c */",
        "\n",
        "\\",
        "'",
        "\"",
        "1e999",
        "9223372036854775808",
        "5dy",
        "'\\q'",
    ];
    let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
    for _ in 0..3000 {
        let mut src = String::new();
        for _ in 0..(seed % 40) {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            src.push_str(TOKENS[(seed % TOKENS.len() as u64) as usize]);
        }
        if let Err(errs) = parse_file(&src) {
            for e in &errs {
                render_plain("soup.scry", &src, e);
            }
        }
        let _ = parse_expr(&src);
    }
}

#[test]
fn operators_are_whole_words() {
    for (src, name) in [
        ("hasx", "hasx"),
        ("has_anything", "has_anything"),
        ("inx", "inx"),
    ] {
        let e = parse_expr(src).unwrap();
        assert!(
            matches!(&e.kind, ExprKind::Name(i) if i.name == name),
            "{src}"
        );
    }
    assert!(parse_expr("a hasx 'b'").is_err());
    assert!(parse_expr("a has_anything ('b')").is_err());
}

#[test]
fn expected_lists_use_human_names() {
    let inputs = [
        "rule r { title }",
        "rule r { from }",
        "let A = 1",
        "rule r { examples { match \"x\" { \"a\" 1 } } }",
        "rule",
        "a ==",
        "rule r { summarize }",
    ];
    for src in inputs {
        for e in parse_file(src).unwrap_err() {
            assert!(!e.expected.is_empty(), "{src}: {e:?}");
            for name in &e.expected {
                assert!(
                    !name.contains('_') || name.contains("no_match"),
                    "{src}: pest rule name leaked: {name}"
                );
                assert_ne!(name, "input", "{src}: silent rule reported");
            }
        }
    }
}

#[test]
fn render_plain_counts_columns_in_characters() {
    let src = "let A = 'ä€😀' +;\n";
    let errs = parse_file(src).unwrap_err();
    let text = render_plain("t.scry", src, &errs[0]);
    assert!(
        text.starts_with("t.scry:1:16: E0001: expected expression, found ';'"),
        "{text}"
    );
    assert!(text.contains("\n  |                ^\n"), "{text}");
}
