//! Generated examples as rule text: the `examples` block, one event per line, and its
//! insertion into a rule file that leaves every other byte as it was.

use super::{Cell, Expect, Generated};
use scry_grammar as ast;
use std::fmt::Write as _;

/// `2024-05-15T12:00:00Z`, or with seven fractional digits when the instant has ticks.
///
/// Formatted with jiff rather than the engine's own formatter, so that a time example does
/// not rest on the code it tests.
pub fn datetime_text(ticks: i64) -> String {
    let secs = ticks.div_euclid(10_000_000);
    let frac = ticks.rem_euclid(10_000_000);
    let ts = jiff::Timestamp::from_second(secs).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
    let base = ts.strftime("%Y-%m-%dT%H:%M:%S").to_string();
    if frac == 0 {
        format!("{base}Z")
    } else {
        format!("{base}.{frac:07}Z")
    }
}

/// A JSON string literal; `escape_all` writes every non-ASCII character as `\uXXXX`
/// (surrogate pairs above U+FFFF), otherwise they are written as they are.
fn json_string(out: &mut String, s: &str, escape_all: bool) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 || c == '\u{2028}' || c == '\u{2029}' => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c if escape_all && !c.is_ascii() => {
                let mut buf = [0u16; 2];
                for unit in c.encode_utf16(&mut buf) {
                    let _ = write!(out, "\\u{unit:04x}");
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// One event as a JSON object on one line, keys in the given order:
/// `{"Timestamp": "...", "DeviceId": "d-1", ...}`.
pub fn json_event(event: &[(String, Cell)]) -> String {
    let mut out = String::from("{");
    for (i, (k, v)) in event.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        json_string(&mut out, k, false);
        out.push_str(": ");
        match v {
            Cell::Str(s) => json_string(&mut out, s, false),
            Cell::Escaped(s) => json_string(&mut out, s, true),
            Cell::Null => out.push_str("null"),
            Cell::Long(n) => {
                let _ = write!(out, "{n}");
            }
        }
    }
    out.push('}');
    out
}

/// A rule-language string literal (`"..."`): escapes `\`, `"` and control characters.
fn scry_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The `examples at datetime(...) { ... }` block, each line starting with `indent` (and
/// examples with two of it), ending with a newline.
pub fn render_block(g: &Generated, indent: &str) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{indent}examples at datetime({}) {{",
        datetime_text(g.now)
    );
    for e in &g.examples {
        let head = match &e.expect {
            Expect::Match => format!("match {}", scry_string(&e.label)),
            Expect::NoMatch => format!("no_match {}", scry_string(&e.label)),
            Expect::Suppressed(x) => {
                format!("suppressed {} by {}", scry_string(&e.label), scry_string(x))
            }
        };
        let table = e
            .table
            .as_ref()
            .map(|t| format!(" in {t}"))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "{indent}{indent}{head}{table} {}",
            json_event(&e.event)
        );
    }
    let _ = writeln!(out, "{indent}}}");
    out
}

/// A block to insert before the closing `}` of a rule.
#[derive(Debug, Clone)]
pub struct Insertion {
    /// The rule's name.
    pub rule: String,
    /// Byte offset one past the rule's closing `}` (the end of its span).
    pub rule_end: usize,
    /// The rendered block ([`render_block`]).
    pub block: String,
}

/// The rules of `text` that have no `examples` clause, as `(name, end of the rule)`;
/// `None` when the text does not parse.
pub fn rules_without_examples(text: &str) -> Option<Vec<(String, usize)>> {
    let file = ast::parse_file(text).ok()?;
    Some(
        file.items
            .iter()
            .filter_map(|it| match it {
                ast::Item::Rule(r)
                    if !r
                        .clauses
                        .iter()
                        .any(|c| matches!(c, ast::Clause::Examples(_))) =>
                {
                    Some((r.name.name.clone(), r.span.end as usize))
                }
                _ => None,
            })
            .collect(),
    )
}

/// Inserts each block on its own lines just before its rule's closing `}`, after a blank
/// line; every other byte of `text` is kept (CRLF files get CRLF lines).
pub fn insert_blocks(text: &str, insertions: &[Insertion]) -> String {
    let crlf = text.contains("\r\n");
    let mut ins: Vec<&Insertion> = insertions.iter().collect();
    ins.sort_by_key(|i| std::cmp::Reverse(i.rule_end));
    let mut out = text.to_string();
    for i in ins {
        let Some(close) = i.rule_end.checked_sub(1) else {
            continue;
        };
        if out.as_bytes().get(close) != Some(&b'}') {
            continue;
        }
        let line_start = out[..close].rfind('\n').map_or(0, |p| p + 1);
        let before_close = &out[line_start..close];
        let mut piece = String::new();
        let at = if before_close.trim().is_empty() {
            // `}` on its own line: the block goes on the lines before it.
            let prev_blank = out[..line_start]
                .trim_end_matches(['\r', '\n'])
                .rsplit('\n')
                .next()
                .is_some_and(|l| l.trim().is_empty());
            if !prev_blank {
                piece.push('\n');
            }
            piece.push_str(&i.block);
            line_start
        } else {
            piece.push_str("\n\n");
            piece.push_str(&i.block);
            close
        };
        if crlf {
            piece = piece.replace('\n', "\r\n");
        }
        out.insert_str(at, &piece);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn datetimes_are_rfc3339_with_seven_digits_when_needed() {
        assert_eq!(
            datetime_text(super::super::DEFAULT_NOW),
            "2024-05-15T12:00:00Z"
        );
        assert_eq!(
            datetime_text(super::super::DEFAULT_NOW - 1),
            "2024-05-15T11:59:59.9999999Z"
        );
    }

    #[test]
    fn escaped_strings_use_utf16_units() {
        let mut s = String::new();
        json_string(&mut s, "Krämer 𝄞 \"x\"\\", true);
        assert_eq!(s, r#""Kr\u00e4mer \ud834\udd1e \"x\"\\""#);
        let mut s = String::new();
        json_string(&mut s, "Krämer", false);
        assert_eq!(s, "\"Krämer\"");
    }

    #[test]
    fn insertion_keeps_every_other_byte() {
        let text = "rule a {\n  id \"1\"\n}\n\n// tail\nrule b { id \"2\" }\n";
        let ins = vec![
            Insertion {
                rule: "a".into(),
                rule_end: text.find("}\n").unwrap() + 1,
                block: "  examples {\n  }\n".into(),
            },
            Insertion {
                rule: "b".into(),
                rule_end: text.rfind('}').unwrap() + 1,
                block: "  examples {\n  }\n".into(),
            },
        ];
        let out = insert_blocks(text, &ins);
        assert_eq!(
            out,
            "rule a {\n  id \"1\"\n\n  examples {\n  }\n}\n\n// tail\nrule b { id \"2\" \n\n  examples {\n  }\n}\n"
        );
        let crlf = text.replace('\n', "\r\n");
        let ins: Vec<Insertion> = rules_without_examples(&crlf)
            .unwrap()
            .into_iter()
            .map(|(rule, rule_end)| Insertion {
                rule,
                rule_end,
                block: "  examples {\n  }\n".into(),
            })
            .collect();
        assert_eq!(insert_blocks(&crlf, &ins), out.replace('\n', "\r\n"));
        assert_eq!(rules_without_examples(text).unwrap().len(), 2);
    }
}
