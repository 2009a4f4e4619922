//! JSON lines and JSON documents, decoded in one pass by serde seeds that write straight into
//! the [`Row`].
//!
//! The record seed sees keys in whatever order the input has them, so the record's shape is
//! settled as keys arrive: top-level fields are stored as if the record were flat, and the
//! row is cleared if a `properties` object or a `records` / `Results` array shows it is not
//! (the wrapper keys are never Defender column names, so nothing wanted is lost).
//!
//! In a multi-line document the start line of an element is not reported by serde_json; it is
//! recovered from the first key, which serde_json lends as a slice of the document when it has
//! no escapes: a pointer difference gives its offset, and the `{` just before it is the
//! element's start.

use std::fmt;
use std::io::{BufRead, Read};

use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;

use crate::lines::{is_blank, next_line, Line};
use crate::row::{Cell, FieldId, FieldSet, Row};
use crate::schema::TYPE_SUFFIXES;
use crate::{InputError, InputStats, Location, RecordSink, Shapes, SkipReason, Source};

mod seeds;

#[cfg(feature = "arrow")]
pub(crate) use seeds::field_of;
use seeds::{ColumnsVisitor, RecordSeed};

const TABLE_PREFIX: &str = "AdvancedHunting-";

/// Reads one JSON value per line.
pub(super) fn read_lines(
    src: &Source<'_>,
    mut input: impl BufRead,
    row: &mut Row,
    sink: &mut dyn RecordSink,
    stats: &mut InputStats,
) -> Result<(), InputError> {
    let mut ctx = Ctx::new(src, row, sink, None);
    let mut buf = Vec::new();
    let mut line_no = src.first_line - 1;
    let result = loop {
        let line = match next_line(&mut input, &mut buf, src.limit) {
            Ok(line) => line,
            Err(e) => break Err(src.read_error(e)),
        };
        line_no += 1;
        match line {
            Line::End => break Ok(()),
            Line::TooLong { bytes } => ctx.skip(line_no, SkipReason::RecordTooLarge { bytes }),
            Line::Text => {
                let text = buf.strip_suffix(b"\r").unwrap_or(&buf);
                ctx.text_line(text, line_no);
            }
        }
    };
    ctx.finish(stats);
    result
}

/// Reads JSON lines held in memory (a piece cut by `read_pieces`). When the sink has a
/// prefilter, it first marks, over the whole piece at once, the places a line must be parsed
/// for (anchors, escapes, ...); a `{...}` line with no mark is ruled out without looking at
/// it line by line, which is what makes the prefilter run near memory speed.
pub(super) fn read_line_slice(
    src: &Source<'_>,
    bytes: &[u8],
    row: &mut Row,
    sink: &mut dyn RecordSink,
    stats: &mut InputStats,
) -> Result<(), InputError> {
    let marks = sink.marks(bytes);
    let mut ctx = Ctx::new(src, row, sink, None);
    let mut line_no = src.first_line - 1;
    let mut pos = 0;
    let mut next_mark = 0;
    let mut ruled_out = 0u64;
    while pos < bytes.len() {
        let end = memchr::memchr(b'\n', &bytes[pos..]).map_or(bytes.len(), |i| pos + i);
        line_no += 1;
        let raw = &bytes[pos..end];
        let line_start = pos;
        pos = end + 1;
        if raw.len() > src.limit {
            ctx.skip(line_no, SkipReason::RecordTooLarge { bytes: raw.len() });
            continue;
        }
        let text = raw.strip_suffix(b"\r").unwrap_or(raw);
        if let Some(marks) = &marks {
            while next_mark < marks.len() && marks[next_mark] < line_start {
                next_mark += 1;
            }
            let marked = next_mark < marks.len() && marks[next_mark] < end;
            let t = text.trim_ascii();
            let one_object = t.first() == Some(&b'{') && t.last() == Some(&b'}');
            if one_object && !marked {
                ctx.records += 1;
                ctx.ruled_out += 1;
                ruled_out += 1;
                continue;
            }
        }
        ctx.text_line(text, line_no);
    }
    ctx.finish(stats);
    if ruled_out > 0 {
        ctx.sink.ruled_out(ruled_out);
    }
    Ok(())
}

/// Reads the whole input as one JSON value. A read error or invalid UTF-8 part way still
/// delivers the records that precede it.
pub(super) fn read_document(
    src: &Source<'_>,
    mut input: impl Read,
    row: &mut Row,
    sink: &mut dyn RecordSink,
    stats: &mut InputStats,
) -> Result<(), InputError> {
    let mut buf = Vec::new();
    // On error `read_to_end` keeps what it read: parse that, then report the error.
    let read = input.read_to_end(&mut buf);
    let (text, bad_utf8) = match std::str::from_utf8(&buf) {
        Ok(text) => (text, None),
        Err(e) => {
            let valid = e.valid_up_to();
            let text = std::str::from_utf8(&buf[..valid]).unwrap_or_default();
            (text, Some(valid))
        }
    };
    let mut ctx = Ctx::new(src, row, sink, Some(text));
    if !is_blank(text.as_bytes()) {
        // Usually one value; several in a row (`evtx_dump` writes one pretty-printed object
        // per record) are read one after another.
        let (mut offset, mut line) = (0, 1);
        let error = loop {
            let rest = &text[offset..];
            let start = offset + (rest.len() - rest.trim_start().len());
            line += memchr::memchr_iter(b'\n', &text.as_bytes()[offset..start]).count() as u64;
            match ctx.parse_prefix(&text[start..], line) {
                Ok(used) => {
                    line += memchr::memchr_iter(b'\n', &text.as_bytes()[start..start + used])
                        .count() as u64;
                    offset = start + used;
                    if is_blank(&text.as_bytes()[offset..]) {
                        break None;
                    }
                }
                Err(e) => break Some(e),
            }
        };
        // A value cut short by the end of the readable text is reported as the cause that
        // cut it, not as malformed JSON.
        match (error, bad_utf8) {
            (Some(e), _) if !e.is_eof() => ctx.malformed(line, &e),
            (_, Some(valid)) => {
                let (line, column) = position(text.as_bytes(), valid);
                ctx.skip(line, SkipReason::InvalidUtf8 { line, column });
            }
            (Some(e), None) if read.is_ok() => ctx.malformed(line, &e),
            _ => {}
        }
    } else if let Some(valid) = bad_utf8 {
        let (line, column) = position(text.as_bytes(), valid);
        ctx.skip(line, SkipReason::InvalidUtf8 { line, column });
    }
    ctx.finish(stats);
    read.map(|_| ()).map_err(|e| src.read_error(e))
}

/// The 1-based line and byte column of `offset` in `text`.
fn position(text: &[u8], offset: usize) -> (u64, u64) {
    let before = &text[..offset.min(text.len())];
    let line = 1 + memchr::memchr_iter(b'\n', before).count() as u64;
    let line_start = memchr::memrchr(b'\n', before).map_or(0, |i| i + 1);
    (line, (before.len() - line_start) as u64 + 1)
}

/// Per-source decoding state: the output, counters, and reused buffers.
struct Ctx<'s> {
    source: &'s str,
    fields: &'s FieldSet,
    row: &'s mut Row,
    sink: &'s mut dyn RecordSink,
    records: u64,
    skipped: u64,
    ruled_out: u64,
    shapes: Shapes,
    /// Decoded strings that had escapes, before they are copied into the row.
    unescaped: String,
    /// The current record's `category`, kept aside until its shape is known.
    category: String,
    /// Formatted numbers for the rare number that arrives where a container was possible.
    number: String,
    /// The line of the record being decoded.
    line: u64,
    /// Set when the record's shape keys hold values we cannot use.
    shape_error: Option<&'static str>,
    /// The document text, for recovering element lines (None for JSON lines).
    doc: Option<&'s str>,
    /// `(offset, line)` of the last element start found in `doc`, to count newlines
    /// incrementally.
    doc_cursor: (usize, u64),
    /// [`crate::ReadOptions::columns`], and the `Type` field that spares the work.
    columns: bool,
    type_field: Option<FieldId>,
}

/// What the record seed made of a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Flat,
    StorageAccount,
    /// A container whose elements were already delivered.
    Container,
    NotAnObject,
    BadShape,
}

impl<'s> Ctx<'s> {
    fn new(
        src: &Source<'s>,
        row: &'s mut Row,
        sink: &'s mut dyn RecordSink,
        doc: Option<&'s str>,
    ) -> Ctx<'s> {
        Ctx {
            source: src.name,
            fields: src.fields,
            row,
            sink,
            records: 0,
            skipped: 0,
            ruled_out: 0,
            shapes: Shapes::default(),
            unescaped: String::new(),
            category: String::new(),
            number: String::new(),
            line: 1,
            shape_error: None,
            doc,
            doc_cursor: (0, 1),
            columns: src.columns,
            type_field: src.fields.get("Type"),
        }
    }

    fn finish(&self, stats: &mut InputStats) {
        stats.records = self.records;
        stats.skipped = self.skipped;
        stats.ruled_out = self.ruled_out;
        stats.format.shapes = self.shapes;
    }

    /// One line of JSON lines: blank lines are not records; the sink's prefilter may rule the
    /// line out; otherwise it is decoded (or reported as not UTF-8).
    fn text_line(&mut self, text: &[u8], line_no: u64) {
        if is_blank(text) {
            return;
        }
        if !self.sink.candidate(text) {
            self.records += 1;
            self.ruled_out += 1;
            return;
        }
        match std::str::from_utf8(text) {
            Ok(text) => {
                if let Err(e) = self.parse(text, line_no) {
                    self.malformed(line_no, &e);
                }
            }
            Err(e) => self.skip(
                line_no,
                SkipReason::InvalidUtf8 {
                    line: line_no,
                    column: e.valid_up_to() as u64 + 1,
                },
            ),
        }
    }

    /// Decodes the top-level value `text` and delivers what it holds; `line` is where the
    /// record starts (refined from the first key in a document). Errors are left to the caller,
    /// which knows how to place them.
    fn parse(&mut self, text: &str, line: u64) -> Result<(), serde_json::Error> {
        self.line = line;
        self.row.clear();
        self.shape_error = None;
        let mut de = serde_json::Deserializer::from_str(text);
        let outcome = RecordSeed {
            ctx: self,
            top: true,
        }
        .deserialize(&mut de)?;
        de.end()?;
        if outcome == Outcome::Flat && self.columns && !self.row.names_table(self.type_field) {
            // A second, key-only scan: only records that name no table pay for it, and the
            // first scan stays as lean as before for all others.
            self.row.begin_columns();
            serde_json::Deserializer::from_str(text).deserialize_map(ColumnsVisitor(self.row))?;
        }
        match outcome {
            Outcome::Flat => self.shapes.flat = true,
            Outcome::StorageAccount => self.shapes.storage_account = true,
            _ => {}
        }
        self.conclude(outcome);
        Ok(())
    }

    /// Like [`Ctx::parse`] for the first value of `text`, which may be followed by more:
    /// returns the bytes it used. The value's end is found by a skipping parse first (the
    /// record seed works on a whole `Deserializer`, which does not say where it stopped).
    fn parse_prefix(&mut self, text: &str, line: u64) -> Result<usize, serde_json::Error> {
        let mut values =
            serde_json::Deserializer::from_str(text).into_iter::<serde::de::IgnoredAny>();
        let end = match values.next() {
            Some(Ok(_)) => values.byte_offset(),
            // Let the real parse find and place the error.
            _ => text.len(),
        };
        self.parse(&text[..end], line)?;
        Ok(end)
    }

    /// Delivers or skips the record just decoded.
    fn conclude(&mut self, outcome: Outcome) {
        match outcome {
            Outcome::Flat | Outcome::StorageAccount => {
                self.records += 1;
                let loc = Location {
                    source: self.source,
                    line: self.line,
                    record: self.records,
                };
                self.sink.record(self.row, &loc);
            }
            Outcome::Container => {}
            Outcome::NotAnObject => self.skip(self.line, SkipReason::NotAnObject),
            Outcome::BadShape => {
                let why = self.shape_error.unwrap_or("unusable shape keys");
                self.skip(self.line, SkipReason::UnknownShape(why.to_string()));
            }
        }
    }

    fn skip(&mut self, line: u64, reason: SkipReason) {
        self.records += 1;
        self.skipped += 1;
        let loc = Location {
            source: self.source,
            line,
            record: self.records,
        };
        self.sink.skipped(&loc, &reason);
    }

    /// Reports a serde_json error in text that starts on `base_line`.
    fn malformed(&mut self, base_line: u64, e: &serde_json::Error) {
        let line = base_line + (e.line() as u64).saturating_sub(1);
        let text = e.to_string();
        // serde_json appends " at line L column C"; the position is reported separately.
        let message = match text.rfind(" at line ") {
            Some(i) if e.line() > 0 => text[..i].to_string(),
            _ => text,
        };
        self.skip(
            line,
            SkipReason::MalformedJson {
                line,
                column: e.column() as u64,
                message,
            },
        );
    }

    /// Notes where a record starts from its first key, lent by serde_json from `doc`.
    fn locate_from_key(&mut self, key: &str) {
        let Some(doc) = self.doc else { return };
        let base = doc.as_ptr() as usize;
        let at = key.as_ptr() as usize;
        if at < base || at > base + doc.len() {
            return;
        }
        let bytes = doc.as_bytes();
        // Back over the opening quote and whitespace to the `{`.
        let mut start = (at - base).saturating_sub(1);
        while start > 0 && bytes[start - 1].is_ascii_whitespace() {
            start -= 1;
        }
        let start = start.saturating_sub(1);
        let (mut off, mut line) = self.doc_cursor;
        if start < off {
            (off, line) = (0, 1);
        }
        line += memchr::memchr_iter(b'\n', &bytes[off..start]).count() as u64;
        self.doc_cursor = (start, line);
        self.line = line;
    }

    /// A union export writes a column once per type (`ReportId_long`, `ReportId_string`), the
    /// unused copies null or `""`, in any order. True when `raw`, one such copy, must not be
    /// stored: it is null, or `""` while the field already holds another copy's value.
    fn empty_copy(&self, id: FieldId, raw: &str) -> bool {
        match raw.trim_matches(|c: char| c.is_ascii_whitespace()) {
            "null" => true,
            "\"\"" => !matches!(self.row.get(id), Cell::Missing | Cell::Null),
            _ => false,
        }
    }

    /// Stores the JSON value `raw` as the cell of `id`.
    fn store(&mut self, id: FieldId, raw: &str) {
        let raw = raw.trim_matches(|c: char| c.is_ascii_whitespace());
        match raw.as_bytes().first() {
            Some(b'"') => {
                let inner = raw.get(1..raw.len() - 1).unwrap_or_default();
                if memchr::memchr(b'\\', inner.as_bytes()).is_none() {
                    self.row.set_str(id, inner);
                } else {
                    unescape(inner, &mut self.unescaped);
                    self.row.set_str(id, &self.unescaped);
                }
            }
            Some(b't') => self.row.set_bool(id, true),
            Some(b'f') => self.row.set_bool(id, false),
            Some(b'n') => self.row.set_null(id),
            Some(b'{' | b'[') => self.row.set_json(id, raw),
            _ => self.row.set_num(id, raw),
        }
    }

    fn set_category_hint(&mut self) {
        if !self.category.is_empty() {
            let table = self
                .category
                .strip_prefix(TABLE_PREFIX)
                .unwrap_or(&self.category);
            self.row.set_table_hint(table);
        }
    }
}

/// Decodes the body of a JSON string literal (serde_json has already validated it) into `out`.
/// A lone surrogate, which serde_json's scan lets through, becomes U+FFFD rather than costing
/// the record.
fn unescape(inner: &str, out: &mut String) {
    out.clear();
    let mut rest = inner;
    while let Some(i) = rest.find('\\') {
        out.push_str(&rest[..i]);
        let esc = &rest[i + 1..];
        let mut chars = esc.chars();
        let consumed = match chars.next() {
            Some('u') => {
                let (c, used) = unicode_escape(esc);
                out.push(c);
                used
            }
            Some(c) => {
                out.push(match c {
                    'b' => '\u{8}',
                    'f' => '\u{c}',
                    'n' => '\n',
                    'r' => '\r',
                    't' => '\t',
                    other => other,
                });
                c.len_utf8()
            }
            None => 0,
        };
        rest = esc.get(consumed..).unwrap_or_default();
    }
    out.push_str(rest);
}

/// Decodes `uXXXX` (and a following `\uXXXX` low surrogate) at the start of `esc`; returns
/// the character and the bytes used.
fn unicode_escape(esc: &str) -> (char, usize) {
    let hex = |s: &str| s.get(1..5).and_then(|h| u32::from_str_radix(h, 16).ok());
    let Some(hi) = hex(esc) else {
        return (char::REPLACEMENT_CHARACTER, 1);
    };
    if (0xD800..0xDC00).contains(&hi) {
        if let Some(lo) = esc
            .get(5..)
            .filter(|s| s.starts_with('\\'))
            .and_then(|s| hex(&s[1..]))
        {
            if (0xDC00..0xE000).contains(&lo) {
                let c = 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00);
                return (char::from_u32(c).unwrap_or(char::REPLACEMENT_CHARACTER), 11);
            }
        }
    }
    (char::from_u32(hi).unwrap_or(char::REPLACEMENT_CHARACTER), 5)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn un(s: &str) -> String {
        let mut out = String::new();
        unescape(s, &mut out);
        out
    }

    #[test]
    fn unescape_decodes_every_escape_and_survives_garbage() {
        assert_eq!(un(r#"a\"b\\c\/d\b\f\n\r\t"#), "a\"b\\c/d\u{8}\u{c}\n\r\t");
        assert_eq!(un(r"Kr\u00e4mer"), "Krämer");
        assert_eq!(un(r"\ud83d\ude00!"), "😀!");
        assert_eq!(un(r"\ud83d x"), "\u{fffd} x");
        assert_eq!(un(r"\u12"), "\u{fffd}12");
        assert_eq!(un("\\"), "");
        assert_eq!(un(r"c:\\windows\\system32"), r"c:\windows\system32");
    }

    #[test]
    fn position_is_one_based() {
        assert_eq!(position(b"ab\ncd", 0), (1, 1));
        assert_eq!(position(b"ab\ncd", 4), (2, 2));
    }
}
