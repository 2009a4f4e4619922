//! A property of the JSON-lines readers over line lengths, checked by the fuzz target
//! `line_lengths` (fuzz/) and by tests (engine/tests/io_readers.rs) from the same code: lines
//! of lengths around the reader's buffer sizes, the piece size and the record limit, plain or
//! gzip, LF or CRLF, read whole ([`read_reader`]) and cut into pieces ([`read_pieces`] then
//! [`read_piece`]), give exactly the records a model of the input predicts: every line at most
//! the limit long is a record at its line number (or a malformed one, or a blank line that is
//! none), every longer line one [`SkipReason::RecordTooLarge`] with its exact length; each
//! decoded byte is searched for a line end once, and no piece holds much more than the limit
//! plus a piece.
//!
//! Not part of the API: public only so that the fuzz crate can call it.

use std::io::Write as _;

use crate::row::{Cell, FieldId, FieldSet, Row};
use crate::{
    read_piece, read_pieces, read_reader, Format, Location, Piece, ReadOptions, RecordSink,
    SkipReason, BUFFER_BYTES,
};

/// Record limits tried: tiny, around 4 KiB, around the read buffer, the default.
const LIMITS: [usize; 8] = [
    40,
    300,
    4095,
    4096,
    BUFFER_BYTES - 1,
    BUFFER_BYTES,
    BUFFER_BYTES + 1,
    16 << 20,
];
/// Piece sizes tried (`scry run` uses 2 MiB).
const CHUNKS: [usize; 6] = [1, 7, 64, 4096, BUFFER_BYTES, 2 << 20];
/// The most bytes of text one case builds: enough for lines past the read buffer.
const MAX_TEXT: usize = 3 << 20;

/// What a line should give.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Want {
    Row(u64, String),
    TooLong(u64, usize),
    Malformed(u64),
    Other(u64, &'static str),
}

#[derive(Default)]
struct Got(Vec<Want>);

impl RecordSink for Got {
    fn record(&mut self, row: &Row, loc: &Location<'_>) {
        let name = match row.get(FieldId(0)) {
            Cell::Str(s) => s.to_string(),
            other => format!("{other:?}"),
        };
        self.0.push(Want::Row(loc.line, name));
    }
    fn skipped(&mut self, loc: &Location<'_>, reason: &SkipReason) {
        self.0.push(match reason {
            SkipReason::RecordTooLarge { bytes } => Want::TooLong(loc.line, *bytes),
            SkipReason::MalformedJson { .. } => Want::Malformed(loc.line),
            other => Want::Other(loc.line, other.kind()),
        });
    }
}

/// Builds a case from `data` and checks it: `Err` says what differs. Layout: a byte for the
/// limit, a byte for the piece size and gzip, then 3 bytes per line (length anchor, offset
/// from it, kind).
pub fn line_lengths(data: &[u8]) -> Result<(), String> {
    let [a, b, rest @ ..] = data else {
        return Ok(());
    };
    let limit = LIMITS[usize::from(*a) % LIMITS.len()];
    let chunk = CHUNKS[usize::from(*b) % CHUNKS.len()];
    let gzip = b & 0x80 != 0;
    let anchors = [
        0,
        1,
        chunk,
        2 * chunk,
        limit,
        limit + 1,
        BUFFER_BYTES,
        2 * BUFFER_BYTES,
        64,
    ];
    let mut text = Vec::new();
    let mut want = Vec::new();
    for (i, spec) in rest.chunks_exact(3).enumerate() {
        let line_no = i as u64 + 1;
        let anchor = anchors[usize::from(spec[0]) % anchors.len()];
        let len = anchor.saturating_add_signed(isize::from(spec[1] as i8 % 17));
        if text.len() + len + 2 > MAX_TEXT {
            break;
        }
        let crlf = spec[2] & 1 != 0;
        let malformed = spec[2] & 2 != 0;
        let name = format!("f{line_no}.exe");
        let head = format!("{{\"FileName\":\"{name}\",\"Extra\":\"");
        let tail: &[u8] = if malformed { b"" } else { b"\"}" };
        // `len` counts the CR of a CRLF line, as the readers do.
        let body = len.saturating_sub(usize::from(crlf));
        if body < head.len() + tail.len() {
            // Too short for an object: spaces, a blank line (not a record) unless too long.
            text.extend(std::iter::repeat_n(b' ', body));
            if len > limit {
                want.push(Want::TooLong(line_no, len));
            }
        } else {
            text.extend_from_slice(head.as_bytes());
            text.extend(std::iter::repeat_n(b'x', body - head.len() - tail.len()));
            text.extend_from_slice(tail);
            want.push(if len > limit {
                Want::TooLong(line_no, len)
            } else if malformed {
                Want::Malformed(line_no)
            } else {
                Want::Row(line_no, name)
            });
        }
        if crlf && len > 0 {
            text.push(b'\r');
        }
        text.push(b'\n');
    }
    // The last line without its newline, sometimes.
    if rest.len() % 3 == 1 && text.last() == Some(&b'\n') {
        text.pop();
    }
    let stored = if gzip {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(&text).map_err(|e| e.to_string())?;
        enc.finish().map_err(|e| e.to_string())?
    } else {
        text.clone()
    };
    let opts = ReadOptions {
        format: Format::JsonLines,
        max_record_bytes: limit,
        ..ReadOptions::default()
    };
    let mut fields = FieldSet::new();
    fields.intern("FileName");
    let mut row = Row::new(&fields);
    let case = format!("limit {limit}, piece {chunk}, gzip {gzip}");

    let mut whole = Got::default();
    let stats = read_reader("<t>", &stored[..], &fields, &opts, &mut row, &mut whole)
        .map_err(|e| format!("{case}: read_reader: {e}"))?;
    if whole.0 != want {
        return Err(format!(
            "{case}: read_reader gave {:?}, want {want:?}",
            whole.0
        ));
    }
    if stats.records != want.len() as u64 || stats.decoded_bytes != text.len() as u64 {
        return Err(format!("{case}: read_reader stats {stats:?}"));
    }

    let mut pieces = Vec::new();
    let (cut, res) = read_pieces("<t>", &stored[..], &opts, chunk, &mut Vec::new, &mut |p| {
        pieces.push(p)
    });
    res.map_err(|e| format!("{case}: read_pieces: {e}"))?;
    if cut.scanned != text.len() as u64 || cut.decoded_bytes != text.len() as u64 {
        return Err(format!("{case}: {cut:?} for {} bytes", text.len()));
    }
    if cut.bytes != stored.len() as u64 {
        return Err(format!("{case}: {} bytes stored, {cut:?}", stored.len()));
    }
    let mut parts = Got::default();
    for p in &pieces {
        if let Piece::Lines { bytes, .. } = p {
            if bytes.len() > limit + 2 * chunk {
                return Err(format!("{case}: a piece of {} bytes", bytes.len()));
            }
        }
        read_piece("<t>", p, &fields, &opts, &mut row, &mut parts)
            .map_err(|e| format!("{case}: read_piece: {e}"))?;
    }
    if parts.0 != want {
        return Err(format!("{case}: pieces gave {:?}, want {want:?}", parts.0));
    }
    #[cfg(unix)]
    if !gzip {
        mapped(&case, &stored, &opts, chunk, limit, &want)?;
    }
    Ok(())
}

/// The same text from a file cut through memory maps ([`crate::map_pieces`]): the records and
/// the byte counts must be those of the reading path.
#[cfg(unix)]
fn mapped(
    case: &str,
    text: &[u8],
    opts: &ReadOptions,
    chunk: usize,
    limit: usize,
    want: &[Want],
) -> Result<(), String> {
    static CASES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = CASES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let path = std::env::temp_dir().join(format!("scry-check-{}-{n}.jsonl", std::process::id()));
    std::fs::write(&path, text).map_err(|e| e.to_string())?;
    let mut pieces = Vec::new();
    let cut = crate::map_pieces(&path, "<t>", opts, chunk, &mut |p| pieces.push(p));
    let _ = std::fs::remove_file(&path);
    let Some((cut, res)) = cut else {
        // An empty file is read, not mapped: nothing to compare.
        return if text.is_empty() {
            Ok(())
        } else {
            Err(format!("{case}: not mapped"))
        };
    };
    res.map_err(|e| format!("{case}: map_pieces: {e}"))?;
    let n = text.len() as u64;
    if cut.scanned != n || cut.decoded_bytes != n || cut.bytes != n {
        return Err(format!("{case}: mapped {cut:?} for {n} bytes"));
    }
    let mut fields = FieldSet::new();
    fields.intern("FileName");
    let mut row = Row::new(&fields);
    let mut parts = Got::default();
    for p in &pieces {
        if let Piece::MappedLines { bytes, .. } = p {
            if bytes.len() > limit + 2 * chunk {
                return Err(format!("{case}: a mapped piece of {} bytes", bytes.len()));
            }
        }
        read_piece("<t>", p, &fields, opts, &mut row, &mut parts)
            .map_err(|e| format!("{case}: read_piece: {e}"))?;
    }
    if parts.0 != want {
        return Err(format!("{case}: mapped gave {:?}, want {want:?}", parts.0));
    }
    Ok(())
}
