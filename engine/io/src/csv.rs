//! CSV with a header row, as exported from the Defender portal and other tools.
//!
//! The header is mapped once to a `FieldId` per column; each record is read into one reused
//! `ByteRecord`, and only the cells of wanted columns are checked for UTF-8 and copied into the
//! row. Every cell is a string: CSV has no types, and the engine types cells by schema.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::io::Read;
use std::rc::Rc;

use ::csv::{ByteRecord, ErrorKind, ReaderBuilder};

use crate::lines::is_blank;
use crate::row::{FieldId, Row};
use crate::{InputError, InputStats, Location, RecordSink, SkipReason, Source, BUFFER_BYTES};

/// Reads `input` as CSV into `sink`.
pub(super) fn read_csv(
    src: &Source<'_>,
    input: impl Read,
    row: &mut Row,
    sink: &mut dyn RecordSink,
    stats: &mut InputStats,
) -> Result<(), InputError> {
    let lines = Newlines::default();
    let mut reader = ReaderBuilder::new()
        .has_headers(true)
        // Cell counts are checked here, so a bad record is skipped with a clear reason
        // instead of surfacing as a reader error.
        .flexible(true)
        .buffer_capacity(BUFFER_BYTES)
        .from_reader(lines.wrap(input));
    let (columns, names): (Vec<Option<FieldId>>, Vec<String>) = match reader.byte_headers() {
        Ok(header) => header
            .iter()
            .map(|name| {
                let id = std::str::from_utf8(name)
                    .ok()
                    .and_then(|n| src.fields.get(n));
                (id, String::from_utf8_lossy(name).into_owned())
            })
            .unzip(),
        Err(e) => return Err(src.read_error(into_io(e))),
    };
    let type_field = src.fields.get("Type");
    let mut record = ByteRecord::new();
    let mut records = 0u64;
    let mut skipped = 0u64;
    let mut skip = |line: u64, reason: SkipReason, records: &mut u64, sink: &mut dyn RecordSink| {
        *records += 1;
        skipped += 1;
        let loc = Location {
            source: src.name,
            line,
            record: *records,
        };
        sink.skipped(&loc, &reason);
    };
    let result = loop {
        match reader.read_byte_record(&mut record) {
            Ok(false) => break Ok(()),
            Ok(true) => {}
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line());
                if e.is_io_error() {
                    break Err(src.read_error(into_io(e)));
                }
                let message = e.to_string();
                skip(
                    line,
                    SkipReason::CsvError { line, message },
                    &mut records,
                    sink,
                );
                continue;
            }
        }
        let line = record.position().map_or(0, |p| lines.line_at(p.byte()));
        // The csv crate skips empty lines itself; a line of spaces is just as empty.
        if record.len() == 1 && columns.len() != 1 && is_blank(&record[0]) {
            continue;
        }
        let bytes = record.as_slice().len();
        if bytes > src.limit {
            skip(
                line,
                SkipReason::RecordTooLarge { bytes },
                &mut records,
                sink,
            );
            continue;
        }
        if record.len() != columns.len() {
            let message = format!(
                "{} cells, but the header has {} columns",
                record.len(),
                columns.len()
            );
            skip(
                line,
                SkipReason::CsvError { line, message },
                &mut records,
                sink,
            );
            continue;
        }
        row.clear();
        let mut bad = None;
        for (i, (cell, column)) in record.iter().zip(&columns).enumerate() {
            let Some(id) = *column else { continue };
            match std::str::from_utf8(cell) {
                Ok(text) => row.set_str(id, text),
                Err(e) => {
                    bad = Some((i, e.valid_up_to()));
                    break;
                }
            }
        }
        if let Some((i, at)) = bad {
            let name = columns[i].map_or("?", |id| src.fields.name(id));
            let message = format!(
                "invalid UTF-8 in cell {} ({name}) at byte {} of the cell",
                i + 1,
                at + 1
            );
            skip(
                line,
                SkipReason::CsvError { line, message },
                &mut records,
                sink,
            );
            continue;
        }
        if src.columns && !row.names_table(type_field) {
            row.begin_columns();
            for (cell, name) in record.iter().zip(&names) {
                if !cell.is_empty() {
                    row.add_column(name);
                }
            }
        }
        records += 1;
        let loc = Location {
            source: src.name,
            line,
            record: records,
        };
        sink.record(row, &loc);
    };
    stats.records = records;
    stats.skipped = skipped;
    result
}

fn into_io(e: ::csv::Error) -> std::io::Error {
    let message = e.to_string();
    match e.into_kind() {
        ErrorKind::Io(io) => io,
        _ => std::io::Error::new(std::io::ErrorKind::InvalidData, message),
    }
}

/// Where the newlines are, for line numbers. The csv crate counts a line when it consumes a
/// `\n`, and after a CRLF record it stops at the `\r`: the next record's position then still
/// has the previous line number (its byte offset points at the `\n`). So lines are counted
/// here from the bytes, keeping only the offsets the parser has read ahead of the queries.
#[derive(Clone, Default)]
struct Newlines(Rc<RefCell<NewlineState>>);

#[derive(Default)]
struct NewlineState {
    /// Offsets of newlines at or after the last query, in order.
    ahead: VecDeque<u64>,
    /// Newlines before the last query.
    behind: u64,
    /// Bytes read so far.
    read: u64,
}

impl Newlines {
    fn wrap<R: Read>(&self, inner: R) -> NewlineReader<R> {
        NewlineReader {
            inner,
            state: self.clone(),
        }
    }

    /// The 1-based line of the first character at or after byte `offset` that is not a line
    /// feed ending the previous line. Offsets must not decrease between calls.
    fn line_at(&self, offset: u64) -> u64 {
        let mut st = self.0.borrow_mut();
        while st.ahead.front().is_some_and(|&nl| nl <= offset) {
            st.ahead.pop_front();
            st.behind += 1;
        }
        st.behind + 1
    }
}

struct NewlineReader<R> {
    inner: R,
    state: Newlines,
}

impl<R: Read> Read for NewlineReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        let mut st = self.state.0.borrow_mut();
        let base = st.read;
        st.ahead
            .extend(memchr::memchr_iter(b'\n', &buf[..n]).map(|i| base + i as u64));
        st.read += n as u64;
        Ok(n)
    }
}
