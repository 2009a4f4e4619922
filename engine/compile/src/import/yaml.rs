//! Reading Sentinel / Defender rule YAML leniently, keeping byte positions in the original file.
//!
//! The files are parsed by `saphyr-parser` (a YAML 1.2 parser that reports positions) after a
//! small repair pass for two defects that published rule files have and that strict YAML
//! rejects. Each repair only inserts characters; the insertions are recorded so that every
//! position reported later points into the file as it is on disk.
//!
//! 1. **A mapping key at the indentation of a sequence's dashes**, under a parent key indented
//!    less. Sentinel rules often write
//!    ```text
//!    requiredDataConnectors:
//!        - connectorId: MicrosoftThreatProtection
//!        dataTypes:                      <- meant to belong to the item above
//!            - DeviceProcessEvents
//!    ```
//!    which strict YAML rejects. The key (and the lines indented under it) is moved to the
//!    column of the last item's content, which is the only reading that makes sense of it.
//! 2. **Template placeholders** such as `id: %%GUID%%`: a plain scalar cannot start with `%`,
//!    `@` or `` ` ``, so such a value is quoted.
//!
//! Block scalars (`query: |`) are never touched. For scalar values, [`SrcMap`] maps each byte
//! of the value back to the file: exactly for literal blocks (`|`, the form rules use for
//! queries) and single-line scalars, by aligning characters otherwise.

use saphyr_parser::{Event, Parser, ScalarStyle};
use scry_grammar::Span;

/// A YAML node with its position in the original file.
#[derive(Debug, Clone)]
pub struct Node {
    /// What it holds.
    pub kind: Kind,
    /// Where it is, in bytes of the original file.
    pub span: Span,
    /// Byte offset → file offset for scalars; empty for collections.
    pub map: SrcMap,
}

/// The shapes of YAML nodes.
#[derive(Debug, Clone)]
pub enum Kind {
    /// A scalar, as text.
    Scalar(String),
    /// A sequence.
    Seq(Vec<Node>),
    /// A mapping, in written order.
    Map(Vec<(Node, Node)>),
    /// An alias (`*anchor`); rule files have no reason to use them.
    Alias,
}

impl Node {
    /// The value under `key` of a mapping.
    pub fn get(&self, key: &str) -> Option<&Node> {
        match &self.kind {
            Kind::Map(pairs) => pairs
                .iter()
                .find(|(k, _)| k.as_str() == Some(key))
                .map(|(_, v)| v),
            _ => None,
        }
    }

    /// The text of a scalar.
    pub fn as_str(&self) -> Option<&str> {
        match &self.kind {
            Kind::Scalar(s) => Some(s),
            _ => None,
        }
    }

    /// The scalars of a scalar or a sequence of scalars: `tactics: A` and `tactics: [A, B]`.
    pub fn strings(&self) -> Vec<&Node> {
        match &self.kind {
            Kind::Scalar(_) => vec![self],
            Kind::Seq(items) => items.iter().flat_map(Node::strings).collect(),
            _ => Vec::new(),
        }
    }
}

/// Where each byte of a scalar's value is in the file: `pos[i]` for byte `i`, and one more
/// entry for the end.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SrcMap {
    pos: Vec<u32>,
}

impl SrcMap {
    /// The file offset of value offset `i` (clamped to the end).
    pub fn offset(&self, i: usize) -> usize {
        match self.pos.get(i).or(self.pos.last()) {
            Some(&p) => p as usize,
            None => 0,
        }
    }

    /// The file span of value span `s`: the end follows the last byte, so a span never runs
    /// onto the next line.
    pub fn span(&self, s: Span) -> Span {
        let start = self.offset(s.start as usize);
        let end = if s.end > s.start {
            self.offset(s.end as usize - 1) + 1
        } else {
            start
        };
        Span::new(start, end.max(start))
    }

    /// The map of a text that is the whole file (a bare `.kql` file).
    pub fn identity(len: usize) -> SrcMap {
        SrcMap {
            pos: (0..=len as u32).collect(),
        }
    }

    /// Every byte of a value of `len` bytes mapped to `at` (when nothing better is known).
    fn flat(len: usize, at: usize) -> SrcMap {
        SrcMap {
            pos: vec![at as u32; len + 1],
        }
    }
}

/// A YAML file that could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YamlError {
    /// What went wrong.
    pub message: String,
    /// Where, in the original file.
    pub span: Span,
}

/// Parses `text` (the whole file) into its first document's root node.
pub fn parse(text: &str) -> Result<Node, YamlError> {
    let repaired = Repaired::new(text);
    // A YAML parser is a large state machine over untrusted text: should it ever panic, that
    // is reported as an error of this file, not a crash of the whole import.
    let result = std::panic::catch_unwind(|| build(&repaired));
    match result {
        Ok(r) => r,
        Err(_) => Err(YamlError {
            message: "internal error in the YAML parser".into(),
            span: Span::default(),
        }),
    }
}

/// The text after the repair pass, with the insertions made.
struct Repaired<'a> {
    original: &'a str,
    text: String,
    /// (original offset, inserted length), sorted.
    inserts: Vec<(usize, usize)>,
    /// Byte offset of each char of `text` (and one past the end): the parser counts chars.
    char_bytes: Vec<usize>,
}

impl<'a> Repaired<'a> {
    fn new(original: &'a str) -> Self {
        let inserts = repairs(original);
        let mut text = String::with_capacity(original.len() + 16);
        let mut last = 0;
        let mut flat = Vec::new();
        for (pos, ins) in &inserts {
            text.push_str(&original[last..*pos]);
            text.push_str(ins);
            last = *pos;
            flat.push((*pos, ins.len()));
        }
        text.push_str(&original[last..]);
        let mut char_bytes: Vec<usize> = text.char_indices().map(|(i, _)| i).collect();
        char_bytes.push(text.len());
        Repaired {
            original,
            text,
            inserts: flat,
            char_bytes,
        }
    }

    /// The original byte offset of repaired byte `r` (an inserted character maps to where it
    /// was inserted).
    fn original_offset(&self, r: usize) -> usize {
        let mut shift = 0;
        for &(pos, len) in &self.inserts {
            let at = pos + shift;
            if r < at {
                break;
            }
            if r < at + len {
                return pos;
            }
            shift += len;
        }
        r.saturating_sub(shift).min(self.original.len())
    }

    fn char_to_original(&self, c: usize) -> usize {
        let b = self.char_bytes.get(c).copied().unwrap_or(self.text.len());
        self.original_offset(b)
    }
}

struct Line {
    start: usize,
    /// End of the content (before `\r\n` / `\n`).
    end: usize,
    indent: usize,
}

fn lines(text: &str) -> Vec<Line> {
    let mut out = Vec::new();
    let mut start = 0;
    for piece in text.split_inclusive('\n') {
        let content = piece.trim_end_matches(['\n', '\r']);
        let indent = content.len() - content.trim_start_matches(' ').len();
        out.push(Line {
            start,
            end: start + content.len(),
            indent,
        });
        start += piece.len();
    }
    out
}

/// The insertions that make the known defects valid YAML, sorted by position.
fn repairs(text: &str) -> Vec<(usize, String)> {
    let ls = lines(text);
    let mut inserts: Vec<(usize, String)> = Vec::new();
    // (indent after repair, is a `- ` item, column of the item's content, is a `key:` line
    // with no value on the line) of the significant lines seen so far.
    let mut seen: Vec<(usize, bool, usize, bool)> = Vec::new();
    let mut i = 0;
    while i < ls.len() {
        let l = &ls[i];
        let content = &text[l.start + l.indent..l.end];
        if content.trim().is_empty() || content.starts_with('#') {
            i += 1;
            continue;
        }
        let (is_item, after_dash) = match content.strip_prefix("- ") {
            Some(rest) => (true, rest.trim_start_matches(' ')),
            None if content == "-" => (true, ""),
            None => (false, content),
        };
        let item_col = l.indent + (content.len() - after_dash.len());
        let key_end = key_length(after_dash);
        let value = key_end.map_or(after_dash, |k| after_dash[k..].trim_start_matches(' '));
        let value_start = l.end - value.len();

        // Repair 1: `key:` at the column of the dashes of a sequence nested under a parent.
        let mut shift = 0;
        if !is_item && key_end.is_some() {
            let prev = seen.iter().rev().find(|s| s.0 <= l.indent);
            let owner = seen.iter().rev().find(|s| s.0 < l.indent);
            if let (Some(&(pi, true, pcol, _)), Some(&(_, _, _, true))) = (prev, owner) {
                if pi == l.indent && pcol > l.indent {
                    shift = pcol - l.indent;
                }
            }
        }
        if shift > 0 {
            // Move the key and every line indented under it.
            let pad = " ".repeat(shift);
            inserts.push((l.start, pad.clone()));
            let mut j = i + 1;
            while j < ls.len() {
                let m = &ls[j];
                let blank = text[m.start..m.end].trim().is_empty();
                if !blank && m.indent <= l.indent {
                    break;
                }
                if !blank {
                    inserts.push((m.start, pad.clone()));
                    seen.push((m.indent + shift, false, m.indent + shift, false));
                }
                j += 1;
            }
            seen.push((l.indent + shift, false, l.indent + shift, value.is_empty()));
            // The moved lines may hold a block scalar; skip it like below.
            i = skip_block(text, &ls, i, value, j);
            continue;
        }

        // Repair 2: a plain value starting with a character YAML reserves (`%%GUID%%`).
        if value.starts_with(['%', '@', '`']) && (key_end.is_some() || is_item) {
            let v = value.trim_end();
            inserts.push((value_start, "'".into()));
            for (k, c) in v.char_indices() {
                if c == '\'' {
                    inserts.push((value_start + k, "'".into()));
                }
            }
            inserts.push((value_start + v.len(), "'".into()));
        }

        seen.push((
            l.indent,
            is_item,
            item_col,
            key_end.is_some() && value.is_empty(),
        ));
        i = skip_block(text, &ls, i, value, i + 1);
    }
    inserts.sort_by_key(|(p, _)| *p);
    inserts
}

/// After a line whose value is a block scalar header (`|`, `>-`, ...), the index of the first
/// line past the block; else `next`.
fn skip_block(text: &str, ls: &[Line], i: usize, value: &str, next: usize) -> usize {
    let v = value.split(" #").next().unwrap_or("").trim_end();
    let is_header = v.starts_with(['|', '>'])
        && v[1..]
            .chars()
            .all(|c| c == '-' || c == '+' || c.is_ascii_digit());
    if !is_header {
        return next;
    }
    let parent = ls[i].indent;
    let mut j = i + 1;
    while j < ls.len() {
        let m = &ls[j];
        if !text[m.start..m.end].trim().is_empty() && m.indent <= parent {
            break;
        }
        j += 1;
    }
    j.max(next)
}

/// The length of `key:` at the start of `s` (a plain or quoted key followed by `:` and a space
/// or the end), if there is one.
fn key_length(s: &str) -> Option<usize> {
    if s.starts_with(['"', '\'']) {
        let q = s.chars().next()?;
        let close = s[1..].find(q)? + 1;
        let rest = &s[close + 1..];
        return rest
            .strip_prefix(':')
            .filter(|r| r.is_empty() || r.starts_with([' ', '\t']))
            .map(|_| close + 2);
    }
    if s.starts_with(['#', '[', '{', '-', '|', '>', '&', '*', '!']) {
        return None;
    }
    let mut idx = 0;
    while let Some(p) = s[idx..].find(':') {
        let at = idx + p;
        let rest = &s[at + 1..];
        if rest.is_empty() || rest.starts_with([' ', '\t']) {
            if s[..at].contains(" #") {
                return None;
            }
            return Some(at + 1);
        }
        idx = at + 1;
    }
    None
}

enum Frame {
    Seq(Vec<Node>, usize),
    Map(Vec<(Node, Node)>, Option<Node>, usize),
}

fn build(r: &Repaired<'_>) -> Result<Node, YamlError> {
    let mut stack: Vec<Frame> = Vec::new();
    let mut root: Option<Node> = None;
    for item in Parser::new_from_str(&r.text) {
        let (ev, span) = item.map_err(|e| {
            let at = r.char_to_original(e.marker().index());
            YamlError {
                message: e.info().to_string(),
                span: Span::new(at, at + 1),
            }
        })?;
        let start = r.char_to_original(span.start.index());
        let end = r.char_to_original(span.end.index()).max(start);
        let node = match ev {
            Event::Scalar(value, style, _, _) => {
                let map = scalar_map(r.original, start, end, &value, style);
                Some(Node {
                    kind: Kind::Scalar(value.into_owned()),
                    span: Span::new(start, end),
                    map,
                })
            }
            Event::Alias(_) => Some(Node {
                kind: Kind::Alias,
                span: Span::new(start, end),
                map: SrcMap::default(),
            }),
            Event::SequenceStart(..) => {
                stack.push(Frame::Seq(Vec::new(), start));
                None
            }
            Event::MappingStart(..) => {
                stack.push(Frame::Map(Vec::new(), None, start));
                None
            }
            Event::SequenceEnd | Event::MappingEnd => match stack.pop() {
                Some(Frame::Seq(items, s)) => Some(Node {
                    kind: Kind::Seq(items),
                    span: Span::new(s, end.max(s)),
                    map: SrcMap::default(),
                }),
                Some(Frame::Map(pairs, _, s)) => Some(Node {
                    kind: Kind::Map(pairs),
                    span: Span::new(s, end.max(s)),
                    map: SrcMap::default(),
                }),
                None => None,
            },
            Event::DocumentEnd => {
                if root.is_some() {
                    break;
                }
                None
            }
            _ => None,
        };
        let Some(node) = node else { continue };
        match stack.last_mut() {
            Some(Frame::Seq(items, _)) => items.push(node),
            Some(Frame::Map(pairs, key, _)) => match key.take() {
                None => *key = Some(node),
                Some(k) => pairs.push((k, node)),
            },
            None => {
                root = Some(node);
            }
        }
    }
    root.ok_or(YamlError {
        message: "the file holds no YAML document".into(),
        span: Span::default(),
    })
}

/// The source map of a scalar whose text in the file is `file[start..end]`.
fn scalar_map(file: &str, start: usize, end: usize, value: &str, style: ScalarStyle) -> SrcMap {
    let exact = match style {
        ScalarStyle::Literal => literal_block_map(file, start, value),
        ScalarStyle::Plain | ScalarStyle::SingleQuoted | ScalarStyle::DoubleQuoted => {
            let inner = if matches!(style, ScalarStyle::Plain) {
                start
            } else {
                start + 1
            };
            file.get(inner..)
                .filter(|rest| rest.starts_with(value))
                .map(|_| SrcMap {
                    pos: (inner..=inner + value.len()).map(|p| p as u32).collect(),
                })
        }
        _ => None,
    };
    exact
        .or_else(|| aligned_map(file, start, end, value))
        .unwrap_or_else(|| SrcMap::flat(value.len(), start))
}

/// A literal block (`|`): line `i` of the value is line `i` after the header, past the
/// block's indentation.
fn literal_block_map(file: &str, header: usize, value: &str) -> Option<SrcMap> {
    let rest = file.get(header..)?;
    if !rest.starts_with('|') {
        return None;
    }
    let first = header + rest.find('\n')? + 1;
    let ls = lines(&file[first..]);
    let indent = ls
        .iter()
        .find(|l| !file[first + l.start..first + l.end].trim().is_empty())?
        .indent;
    let mut pos: Vec<u32> = Vec::with_capacity(value.len() + 1);
    let mut recon = String::with_capacity(value.len());
    for l in &ls {
        let (s, e) = (first + l.start, first + l.end);
        let line = &file[s..e];
        if !line.trim().is_empty() && l.indent < indent {
            break;
        }
        let from = (s + indent).min(e);
        for (k, _) in file[from..e].bytes().enumerate() {
            pos.push((from + k) as u32);
        }
        recon.push_str(&file[from..e]);
        pos.push(e as u32);
        recon.push('\n');
        if recon.len() >= value.len() {
            break;
        }
    }
    // Chomping may have dropped trailing newlines: the value must be a prefix of the lines.
    if !recon.starts_with(value) && !value.starts_with(recon.trim_end_matches('\n')) {
        return None;
    }
    if pos.len() < value.len() + 1 {
        return None;
    }
    pos.truncate(value.len() + 1);
    Some(SrcMap { pos })
}

/// Any other scalar: each non-blank character of the value is found, in order, in the file
/// text of the scalar; blanks follow the character before them.
fn aligned_map(file: &str, start: usize, end: usize, value: &str) -> Option<SrcMap> {
    let region = file.get(start..end.max(start))?;
    let mut pos = Vec::with_capacity(value.len() + 1);
    let mut cursor = 0;
    let mut last = start;
    for c in value.chars() {
        let at = if c.is_whitespace() {
            last
        } else {
            let k = region[cursor..].find(c)?;
            cursor += k + c.len_utf8();
            start + cursor - c.len_utf8()
        };
        for b in 0..c.len_utf8() {
            pos.push((at + b) as u32);
        }
        last = at + c.len_utf8();
    }
    pos.push(last as u32);
    Some(SrcMap { pos })
}

#[cfg(test)]
mod tests {
    use super::*;

    const RULE: &str = "id: %%GUID%%\r\nname: R\r\nrequiredDataConnectors:\r\n    - connectorId: MicrosoftThreatProtection\r\n    dataTypes:\r\n        - DeviceProcessEvents\r\ntactics: CommandAndControl\r\nquery: |\r\n  let a = 1;\r\n  T\r\n  | where X has\t'x'\r\n";

    #[test]
    fn known_defects_are_repaired() {
        let root = parse(RULE).unwrap();
        assert_eq!(root.get("id").and_then(Node::as_str), Some("%%GUID%%"));
        let conns = root.get("requiredDataConnectors").unwrap();
        let Kind::Seq(items) = &conns.kind else {
            panic!("{conns:?}")
        };
        let types: Vec<&str> = items[0]
            .get("dataTypes")
            .unwrap()
            .strings()
            .iter()
            .filter_map(|n| n.as_str())
            .collect();
        assert_eq!(types, ["DeviceProcessEvents"]);
        // Positions point into the file as written.
        let id = root.get("id").unwrap();
        assert_eq!(
            &RULE[id.span.start as usize..id.span.start as usize + 8],
            "%%GUID%%"
        );
        let t = root.get("tactics").unwrap();
        assert_eq!(t.span.text(RULE), "CommandAndControl");
    }

    #[test]
    fn query_bytes_map_to_their_place_in_the_file() {
        let root = parse(RULE).unwrap();
        let q = root.get("query").unwrap();
        let text = q.as_str().unwrap();
        assert_eq!(text, "let a = 1;\nT\n| where X has\t'x'\n");
        for needle in ["let", "T\n", "where", "'x'"] {
            let i = text.find(needle).unwrap();
            let at = q.map.offset(i);
            assert_eq!(&RULE[at..at + needle.trim_end().len()], needle.trim_end());
        }
        let i = text.find("'x'").unwrap();
        let s = q.map.span(Span::new(i, i + 3));
        assert_eq!(s.text(RULE), "'x'");
    }

    #[test]
    fn valid_yaml_is_left_alone() {
        let src = "a:\n- x\nb: 1\nc:\n  - d: 1\n    e: 2\n";
        assert!(repairs(src).is_empty());
        let root = parse(src).unwrap();
        assert_eq!(root.get("b").and_then(Node::as_str), Some("1"));
    }

    #[test]
    fn errors_have_positions() {
        let err = parse("a: [1, 2\nb: 3\n").unwrap_err();
        assert!(err.span.start > 0, "{err:?}");
    }

    #[test]
    fn quoted_and_folded_scalars_map_approximately() {
        let src = "query: \"T | where a == 'x'\"\nq2: >\n  T\n  | where b\n";
        let root = parse(src).unwrap();
        let q = root.get("query").unwrap();
        let at = q.map.offset(q.as_str().unwrap().find("where").unwrap());
        assert_eq!(&src[at..at + 5], "where");
        let q2 = root.get("q2").unwrap();
        let at = q2.map.offset(q2.as_str().unwrap().find("where").unwrap());
        assert_eq!(&src[at..at + 5], "where");
    }
}
