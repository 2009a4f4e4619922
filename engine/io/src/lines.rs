//! Byte-level plumbing shared by the format readers: byte counting, bounded line reading, and
//! the first-line look-ahead that format detection needs.

use std::cell::Cell;
use std::io::{self, BufRead, Cursor, Read};
use std::rc::Rc;

use crate::Framing;

/// A shared byte counter: the reader that counts is buried inside decoder and buffer layers,
/// so the count is read back through a second handle.
#[derive(Debug, Clone, Default)]
pub(super) struct Counter(Rc<Cell<u64>>);

impl Counter {
    pub(super) fn get(&self) -> u64 {
        self.0.get()
    }

    fn add(&self, n: usize) {
        self.0.set(self.0.get() + n as u64);
    }

    /// Counts bytes returned by `read`.
    pub(super) fn wrap<R: Read>(&self, inner: R) -> CountRead<R> {
        CountRead {
            inner,
            count: self.clone(),
        }
    }

    /// Counts bytes consumed through `BufRead` or returned by `read`.
    pub(super) fn wrap_buffered<R: BufRead>(&self, inner: R) -> CountBufRead<R> {
        CountBufRead {
            inner,
            count: self.clone(),
        }
    }
}

/// See [`Counter::wrap`].
pub(super) struct CountRead<R> {
    inner: R,
    count: Counter,
}

impl<R: Read> Read for CountRead<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.add(n);
        Ok(n)
    }
}

/// See [`Counter::wrap_buffered`].
pub(super) struct CountBufRead<R> {
    inner: R,
    count: Counter,
}

impl<R: BufRead> Read for CountBufRead<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.add(n);
        Ok(n)
    }
}

impl<R: BufRead> BufRead for CountBufRead<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        self.inner.fill_buf()
    }

    fn consume(&mut self, amt: usize) {
        self.count.add(amt);
        self.inner.consume(amt);
    }
}

/// Reads until `buf` is full or the input ends; returns how many bytes were read.
pub(super) fn read_up_to(input: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match input.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

/// `fill_buf`, retrying on `Interrupted` as `read_until` does.
fn fill(input: &mut impl BufRead) -> io::Result<&[u8]> {
    loop {
        match input.fill_buf() {
            // Re-borrow to satisfy the borrow checker across loop iterations.
            Ok(_) => return input.fill_buf(),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

/// What [`next_line`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Line {
    /// The input is exhausted.
    End,
    /// `buf` holds the line, without its `\n` (a `\r` before it is left in place).
    Text,
    /// The line was longer than the limit and was discarded; `bytes` is its length.
    TooLong { bytes: usize },
}

/// Reads the next line into `buf` (cleared first). A line longer than `limit` bytes is not
/// buffered: the rest of it is consumed and dropped as it streams past, so one huge line
/// cannot exhaust memory.
pub(super) fn next_line(
    input: &mut impl BufRead,
    buf: &mut Vec<u8>,
    limit: usize,
) -> io::Result<Line> {
    buf.clear();
    let mut total = 0usize;
    let mut seen_any = false;
    loop {
        let avail = fill(input)?;
        if avail.is_empty() {
            return Ok(match (seen_any, total > limit) {
                (false, _) => Line::End,
                (true, false) => Line::Text,
                (true, true) => Line::TooLong { bytes: total },
            });
        }
        seen_any = true;
        let (chunk, used, done) = match memchr::memchr(b'\n', avail) {
            Some(i) => (&avail[..i], i + 1, true),
            None => (avail, avail.len(), false),
        };
        total = total.saturating_add(chunk.len());
        if total <= limit {
            buf.extend_from_slice(chunk);
        } else if !buf.is_empty() {
            // Keep the memory of a discarded line from lingering in the reused buffer's
            // contents (the capacity stays, which is fine: it is bounded by the limit).
            buf.clear();
        }
        input.consume(used);
        if done {
            return Ok(if total > limit {
                Line::TooLong { bytes: total }
            } else {
                Line::Text
            });
        }
    }
}

/// A CSV header: at least two cells, each (quotes aside) a plausible column name (letters,
/// digits, `_ .-` and spaces, at most 128 bytes). Prose (`Real EVTX files (each with ...`)
/// is not.
fn looks_like_csv_header(line: &[u8]) -> bool {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let line = line.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(line);
    let cells: Vec<&[u8]> = line.split(|&b| b == b',').collect();
    cells.len() >= 2
        && cells.iter().all(|c| {
            let c = c.trim_ascii();
            let c = c
                .strip_prefix(b"\"")
                .and_then(|c| c.strip_suffix(b"\""))
                .unwrap_or(c);
            !c.is_empty()
                && c.len() <= 128
                && c.iter()
                    .all(|&b| b.is_ascii_alphanumeric() || b" _.-".contains(&b))
        })
}

/// True if `line` holds only JSON/ASCII whitespace.
pub(super) fn is_blank(line: &[u8]) -> bool {
    line.iter()
        .all(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
}

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// The start of a (decoded) input, read ahead for format detection and then replayed in
/// front of the rest, so no reader needs to know detection happened.
pub(super) struct Head<'a> {
    bytes: Vec<u8>,
    /// Where the first non-blank line starts in `bytes`, if one was found.
    first: Option<usize>,
    /// Whether that line was cut off at the limit.
    first_too_long: bool,
    rest: Box<dyn BufRead + 'a>,
}

/// The input after [`Head::into_reader`]: the look-ahead, then the rest.
pub(super) type HeadReader<'a> = io::Chain<Cursor<Vec<u8>>, Box<dyn BufRead + 'a>>;

impl<'a> Head<'a> {
    /// Reads up to the end of the first non-blank line (at most `limit + 1` bytes of it) and
    /// drops a leading UTF-8 BOM.
    pub(super) fn read(mut rest: Box<dyn BufRead + 'a>, limit: usize) -> io::Result<Head<'a>> {
        let mut bytes = Vec::new();
        let mut line_start = 0;
        let mut first = None;
        let mut first_too_long = false;
        loop {
            let avail = fill(&mut rest)?;
            if avail.is_empty() {
                if !is_blank(strip_bom(&bytes[line_start..])) {
                    first = Some(line_start);
                }
                break;
            }
            let (used, done) = match memchr::memchr(b'\n', avail) {
                Some(i) => (i + 1, true),
                None => (avail.len(), false),
            };
            let room = (line_start + limit + 1).saturating_sub(bytes.len());
            let take = used.min(room);
            bytes.extend_from_slice(&avail[..take]);
            rest.consume(take);
            if take < used || (!done && bytes.len() - line_start > limit) {
                // Longer than any record may be: stop looking, leave the rest unread.
                first = Some(line_start);
                first_too_long = true;
                break;
            }
            if done {
                if !is_blank(strip_bom(&bytes[line_start..])) {
                    first = Some(line_start);
                    break;
                }
                line_start = bytes.len();
            }
        }
        if bytes.starts_with(BOM) {
            bytes.drain(..BOM.len());
            first = first.map(|f| f.saturating_sub(BOM.len()));
        }
        Ok(Head {
            bytes,
            first,
            first_too_long,
            rest,
        })
    }

    /// The framing [`crate::Format::Auto`] picks (rules in the module docs).
    pub(super) fn detect(&self) -> Framing {
        let Some(start) = self.first else {
            return Framing::JsonLines;
        };
        let line = &self.bytes[start..];
        let line = line.strip_suffix(b"\n").unwrap_or(line);
        match line.iter().find(|b| !b.is_ascii_whitespace()) {
            Some(b'[') => Framing::JsonDocument,
            Some(b'{') if self.first_too_long => Framing::JsonDocument,
            Some(b'{') => match serde_json::from_slice::<serde::de::IgnoredAny>(line) {
                Err(e) if e.is_eof() => Framing::JsonDocument,
                _ => Framing::JsonLines,
            },
            _ if looks_like_csv_header(line) => Framing::Csv,
            _ => Framing::Unrecognized,
        }
    }

    /// Whether the input starts with `magic` (a binary format's signature).
    pub(super) fn starts_with(&self, magic: &[u8]) -> bool {
        self.bytes.starts_with(magic)
    }

    /// The whole input again, from its first byte (after a BOM).
    pub(super) fn into_reader(self) -> HeadReader<'a> {
        Cursor::new(self.bytes).chain(self.rest)
    }
}

fn strip_bom(b: &[u8]) -> &[u8] {
    b.strip_prefix(BOM).unwrap_or(b)
}
