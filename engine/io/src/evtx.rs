//! EVTX files (the Windows XML EventLog format), read with the `evtx` crate.
//!
//! EVTX is a whole-file format: a file header, then 64 KiB chunks, each with its own string
//! and template tables that its records refer to. It cannot be cut at line ends, so it is
//! read whole (as one [`Piece::Whole`](crate::Piece) with several threads). Each record is
//! rendered by the crate as JSON (`{"Event": {"System": .., "EventData": ..}}`) and
//! normalized and delivered as every Windows event is (see [`crate::windows`]).
//!
//! Damage is contained the way the crate contains it: a chunk whose header or checksums are
//! wrong is one skipped record ([`SkipReason::CorruptEvtx`] with the chunk number; its
//! records cannot be counted), a record that does not decode is one skipped record with its
//! record number, a last chunk cut short by the end of the file is one skipped record, and
//! reading goes on with the next chunk or record. Only a file whose own
//! header is unreadable is an [`InputError::Evtx`].

use std::io::{Cursor, Read};

use evtx::err::EvtxError;
use evtx::{EvtxParser, ParserSettings};

use crate::row::Row;
use crate::windows::{Deliver, WinEvent};
use crate::{InputError, InputStats, Location, RecordSink, SkipReason, Source};

/// The first eight bytes of every EVTX file.
pub(super) const MAGIC: &[u8] = b"ElfFile\0";
/// The file header's size: chunks start after it.
const FILE_HEADER_BYTES: usize = 4096;
/// Every chunk's size.
const CHUNK_BYTES: usize = 65536;

/// Reads all of `input`, then its records.
pub(super) fn read_evtx(
    src: &Source<'_>,
    mut input: impl Read,
    row: &mut Row,
    sink: &mut dyn RecordSink,
    stats: &mut InputStats,
) -> Result<(), InputError> {
    let mut bytes = Vec::new();
    // On error `read_to_end` keeps what it read: deliver that, then report the error.
    let read = input.read_to_end(&mut bytes);
    read_evtx_bytes(src, &bytes, row, sink, stats)?;
    read.map(|_| ()).map_err(|e| src.read_error(e))
}

/// Reads the records of an EVTX file held in memory.
pub(super) fn read_evtx_bytes(
    src: &Source<'_>,
    bytes: &[u8],
    row: &mut Row,
    sink: &mut dyn RecordSink,
    stats: &mut InputStats,
) -> Result<(), InputError> {
    let settings = ParserSettings::new()
        .validate_checksums(true)
        .num_threads(1);
    let mut parser = EvtxParser::from_read_seek(Cursor::new(bytes))
        .map_err(|e| InputError::Evtx {
            path: src.name.into(),
            message: e.to_string(),
        })?
        .with_configuration(settings);
    let mut deliver = Deliver::new(src.fields);
    let (mut records, mut skipped) = (0u64, 0u64);
    for rec in parser.records_json_value() {
        records += 1;
        let loc = Location {
            source: src.name,
            line: 0,
            record: records,
        };
        let reason = match rec {
            Ok(r) => match WinEvent::from_evtx_json(&r.data) {
                Some(ev) => {
                    row.clear();
                    deliver.write(&ev, row);
                    sink.record(row, &loc);
                    continue;
                }
                None => SkipReason::UnknownShape(format!(
                    "EVTX record {} has no Event/System element",
                    r.event_record_id
                )),
            },
            Err(e) => corrupt(&e),
        };
        skipped += 1;
        sink.skipped(&loc, &reason);
    }
    // The crate passes over a last chunk that the file's end cuts short (a copy taken while
    // the log was written, a truncated download): say so, or those records vanish unnoticed.
    let tail = bytes.len().saturating_sub(FILE_HEADER_BYTES) % CHUNK_BYTES;
    if bytes.len() > FILE_HEADER_BYTES && tail != 0 {
        records += 1;
        skipped += 1;
        let chunk = ((bytes.len() - FILE_HEADER_BYTES) / CHUNK_BYTES) as u64;
        let loc = Location {
            source: src.name,
            line: 0,
            record: records,
        };
        let reason = SkipReason::CorruptEvtx {
            chunk: Some(chunk),
            record: None,
            message: format!("the file ends {tail} bytes into this chunk of {CHUNK_BYTES} (truncated file); its records are lost"),
        };
        sink.skipped(&loc, &reason);
    }
    stats.records += records;
    stats.skipped += skipped;
    stats.format.shapes.windows.merge(&deliver.counts);
    Ok(())
}

/// Where the crate says the damage is, and what it is.
fn corrupt(e: &EvtxError) -> SkipReason {
    let (chunk, record) = match e {
        EvtxError::FailedToParseChunk { chunk_id, .. } => (Some(*chunk_id), None),
        EvtxError::FailedToParseRecord { record_id, .. } => (None, Some(*record_id)),
        EvtxError::FailedToReadRecordAt { chunk, .. } => (*chunk, None),
        _ => (None, None),
    };
    // The crate's top-level messages only say "failed to parse chunk N": add the causes.
    let mut message = e.to_string();
    let mut cause = std::error::Error::source(e);
    while let Some(c) = cause {
        message.push_str(": ");
        message.push_str(&c.to_string());
        cause = c.source();
    }
    SkipReason::CorruptEvtx {
        chunk,
        record,
        message,
    }
}
