//! CSV with a header row, as exported from the Defender portal and other tools.
//!
//! The header is mapped once to a `FieldId` per column; each record is read into one reused
//! `ByteRecord`, and only the cells of wanted columns are checked for UTF-8 and copied into the
//! row. Every cell is a string: CSV has no types, and the engine types cells by schema.

use std::io::Read;

use ::csv::{ByteRecord, ErrorKind, ReaderBuilder};

use super::lines::is_blank;
use super::{InputError, InputStats, Location, RecordSink, SkipReason, Source, BUFFER_BYTES};
use crate::row::{FieldId, Row};

/// Reads `input` as CSV into `sink`.
pub(super) fn read_csv(
    src: &Source<'_>,
    input: impl Read,
    row: &mut Row,
    sink: &mut dyn RecordSink,
    stats: &mut InputStats,
) -> Result<(), InputError> {
    let mut reader = ReaderBuilder::new()
        .has_headers(true)
        // Cell counts are checked here, so a bad record is skipped with a clear reason
        // instead of surfacing as a reader error.
        .flexible(true)
        .buffer_capacity(BUFFER_BYTES)
        .from_reader(input);
    let columns: Vec<Option<FieldId>> = match reader.byte_headers() {
        Ok(header) => header
            .iter()
            .map(|name| {
                std::str::from_utf8(name)
                    .ok()
                    .and_then(|n| src.fields.get(n))
            })
            .collect(),
        Err(e) => return Err(src.read_error(into_io(e))),
    };
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
        let line = record.position().map_or(0, |p| p.line());
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
