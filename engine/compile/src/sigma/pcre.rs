//! Sigma's `re` values are PCRE (the modifiers appendix), where `\w`, `\d`, `\s` and `\b`
//! are ASCII: `é` is no word character and `٣` no digit. The `regex` crate reads them as
//! Unicode classes, so a value is rewritten before it is compiled: each Perl class becomes
//! the ASCII class PCRE means (`[[:word:]]`, `[[:digit:]]`, `[[:space:]]`, negated for
//! `\W`, `\D`, `\S`) and each word-boundary assertion is made ASCII (`(?-u:\b)`). Nothing
//! else changes; the rewritten pattern is printed back by `regex-syntax`.
//!
//! It also keeps patterns small: `\w{1,64}` over Unicode is past the compiled-size limit,
//! over ASCII a few kilobytes.

use regex_syntax::ast::{
    self, print::Printer, Ast, ClassAscii, ClassAsciiKind, ClassBracketed, ClassPerl,
    ClassPerlKind, ClassSet, ClassSetItem, Flag, Flags, FlagsItem, FlagsItemKind, Group, GroupKind,
};

/// `pattern` with PCRE's ASCII meaning of `\w \d \s \b`, or the parser's message.
pub fn ascii_classes(pattern: &str) -> Result<String, String> {
    let mut tree = ast::parse::Parser::new()
        .parse(pattern)
        .map_err(|e| e.to_string())?;
    rewrite(&mut tree);
    let mut out = String::new();
    Printer::new()
        .print(&tree, &mut out)
        .map_err(|e| e.to_string())?;
    Ok(out)
}

fn ascii(p: &ClassPerl) -> ClassAscii {
    ClassAscii {
        span: p.span,
        kind: match p.kind {
            ClassPerlKind::Digit => ClassAsciiKind::Digit,
            ClassPerlKind::Space => ClassAsciiKind::Space,
            ClassPerlKind::Word => ClassAsciiKind::Word,
        },
        negated: p.negated,
    }
}

fn rewrite(a: &mut Ast) {
    match a {
        Ast::ClassPerl(p) => {
            let span = p.span;
            *a = Ast::ClassBracketed(Box::new(ClassBracketed {
                span,
                negated: false,
                kind: ClassSet::Item(ClassSetItem::Ascii(ascii(p))),
            }));
        }
        Ast::ClassBracketed(c) => rewrite_set(&mut c.kind),
        Ast::Assertion(x)
            if !matches!(
                x.kind,
                ast::AssertionKind::StartLine
                    | ast::AssertionKind::EndLine
                    | ast::AssertionKind::StartText
                    | ast::AssertionKind::EndText
            ) =>
        {
            let span = x.span;
            let inner = std::mem::replace(a, Ast::Empty(Box::new(span)));
            *a = Ast::Group(Box::new(Group {
                span,
                kind: GroupKind::NonCapturing(Flags {
                    span,
                    items: vec![
                        FlagsItem {
                            span,
                            kind: FlagsItemKind::Negation,
                        },
                        FlagsItem {
                            span,
                            kind: FlagsItemKind::Flag(Flag::Unicode),
                        },
                    ],
                }),
                ast: Box::new(inner),
            }));
        }
        Ast::Repetition(r) => rewrite(&mut r.ast),
        Ast::Group(g) => rewrite(&mut g.ast),
        Ast::Alternation(x) => x.asts.iter_mut().for_each(rewrite),
        Ast::Concat(x) => x.asts.iter_mut().for_each(rewrite),
        _ => {}
    }
}

fn rewrite_set(s: &mut ClassSet) {
    match s {
        ClassSet::Item(i) => rewrite_item(i),
        ClassSet::BinaryOp(op) => {
            rewrite_set(&mut op.lhs);
            rewrite_set(&mut op.rhs);
        }
    }
}

fn rewrite_item(i: &mut ClassSetItem) {
    match i {
        ClassSetItem::Perl(p) => *i = ClassSetItem::Ascii(ascii(p)),
        ClassSetItem::Bracketed(b) => rewrite_set(&mut b.kind),
        ClassSetItem::Union(u) => u.items.iter_mut().for_each(rewrite_item),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::ascii_classes;

    fn matches(pattern: &str, text: &str) -> bool {
        regex::Regex::new(&ascii_classes(pattern).unwrap())
            .unwrap()
            .is_match(text)
    }

    #[test]
    fn perl_classes_and_boundaries_are_ascii() {
        assert!(matches(r"^\w+$", "abc_09"));
        assert!(!matches(r"^\w+$", "café"));
        assert!(matches(r"^\W$", "é"));
        assert!(!matches(r"\d", "٣"));
        assert!(matches(r"^[\w.-]+$", "a.b-c"));
        assert!(!matches(r"^[\w.-]+$", "ä.b"));
        assert!(matches(r"^[^\d]$", "٣"));
        assert!(!matches(r"\s", "\u{a0}"));
        assert!(matches(r"\s", "\u{b}"));
        // `é` is no word character, so a boundary falls between it and `x`.
        assert!(matches(r"\bx", "éx"));
        assert!(!matches(r"\Bx", "éx"));
    }

    #[test]
    fn everything_else_is_printed_as_written() {
        for p in [
            r"(?i)^a.*b$",
            r"-k\s\w{1,64}(?:\s?(?:-p|-s))?",
            r"[a-z]{2,}|x\.y",
            r"\p{L}+",
        ] {
            let out = ascii_classes(p).unwrap();
            assert!(regex::Regex::new(&out).is_ok(), "{p} -> {out}");
        }
        assert_eq!(ascii_classes(r"(?i)^a.*b$").unwrap(), r"(?i)^a.*b$");
        assert_eq!(ascii_classes(r"\w").unwrap(), r"[[:word:]]");
        assert_eq!(ascii_classes(r"[^\W]").unwrap(), r"[^[:^word:]]");
        assert_eq!(ascii_classes(r"\bx").unwrap(), r"(?-u:\b)x");
        assert!(ascii_classes(r"(").is_err());
    }
}
