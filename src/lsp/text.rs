//! Positions and words in a document: LSP counts columns in UTF-16 code units, scry in bytes.

use lsp_types::{Position, Range};
use scry_grammar::Span;

/// The LSP position of byte `offset` (clamped to the text).
pub fn position(text: &str, offset: usize) -> Position {
    let offset = offset.min(text.len());
    let before = &text[..floor(text, offset)];
    let line = before.matches('\n').count() as u32;
    let line_start = before.rfind('\n').map_or(0, |p| p + 1);
    let character = before[line_start..].encode_utf16().count() as u32;
    Position { line, character }
}

/// The byte offset of an LSP position (clamped to its line and the text).
pub fn offset(text: &str, pos: Position) -> usize {
    let mut start = 0;
    for _ in 0..pos.line {
        match text[start..].find('\n') {
            Some(p) => start += p + 1,
            None => return text.len(),
        }
    }
    let line = &text[start..];
    let line = &line[..line.find('\n').unwrap_or(line.len())];
    let mut units = 0;
    for (i, c) in line.char_indices() {
        if units >= pos.character as usize {
            return start + i;
        }
        units += c.len_utf16();
    }
    start + line.len()
}

fn floor(text: &str, mut i: usize) -> usize {
    while !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// The LSP range of a span.
pub fn range(text: &str, span: Span) -> Range {
    Range {
        start: position(text, span.start as usize),
        end: position(text, (span.end as usize).max(span.start as usize)),
    }
}

fn is_word(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '.'
}

/// The word (identifier, dotted names included) around byte `at`, with its start.
pub fn word_at(text: &str, at: usize) -> Option<(usize, &str)> {
    let at = floor(text, at.min(text.len()));
    let start = text[..at]
        .char_indices()
        .rev()
        .take_while(|(_, c)| is_word(*c))
        .last()
        .map_or(at, |(i, _)| i);
    let end = text[at..]
        .char_indices()
        .find(|(_, c)| !is_word(*c))
        .map_or(text.len(), |(i, _)| at + i);
    let w = text[start..end].trim_matches('.');
    (!w.is_empty()).then_some((start, w))
}

/// The word being typed before byte `at` and the word before that (`from Dev|` → `Dev`, `from`).
pub fn words_before(text: &str, at: usize) -> (&str, &str) {
    let at = floor(text, at.min(text.len()));
    let head = &text[..at];
    let start = head
        .char_indices()
        .rev()
        .take_while(|(_, c)| is_word(*c))
        .last()
        .map_or(at, |(i, _)| i);
    let typing = &head[start..];
    let rest = head[..start].trim_end_matches([' ', '\t']);
    let rest = rest.trim_end_matches(',').trim_end();
    let prev_start = rest
        .char_indices()
        .rev()
        .take_while(|(_, c)| is_word(*c))
        .last()
        .map_or(rest.len(), |(i, _)| i);
    (typing, &rest[prev_start..])
}

/// The tables named by `from` clauses of the rule around byte `at` (read from the text, so
/// that it works while the file does not parse).
pub fn rule_tables(text: &str, at: usize) -> Vec<String> {
    let at = floor(text, at.min(text.len()));
    let start = text[..at].rfind("rule ").unwrap_or(0);
    let end = text[at..].find("\nrule ").map_or(text.len(), |p| at + p);
    let mut out = Vec::new();
    for line in text[start..end].lines() {
        let line = line.trim_start();
        let Some(rest) = line.strip_prefix("from ") else {
            continue;
        };
        for t in rest.split(',') {
            let t: String = t
                .trim()
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if !t.is_empty() && !out.contains(&t) {
                out.push(t);
            }
        }
    }
    out
}

/// A file path from a `file://` URI (percent-escapes decoded), or the URI text itself.
pub fn uri_path(uri: &lsp_types::Uri) -> String {
    let s = uri.as_str();
    let path = s.strip_prefix("file://").unwrap_or(s);
    let bytes = path.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let Some(b) = path
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
            {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_count_utf16_units() {
        let t = "ab\nKrämer 𝄞x\n";
        let x = t.find('x').unwrap();
        let p = position(t, x);
        assert_eq!((p.line, p.character), (1, 9));
        assert_eq!(offset(t, p), x);
        assert_eq!(words_before("  where Sig", 11), ("Sig", "where"));
        assert_eq!(words_before("from A, B", 9), ("B", "A"));
        assert_eq!(
            rule_tables(
                "rule r {\n  from A, B\n  where x\n}\nrule s {\n from C\n}",
                20
            ),
            ["A", "B"]
        );
    }
}
