//! Readers: exported Defender XDR event files → [`Row`]s pushed into a [`RecordSink`].
//!
//! The primary entry points are [`read_path`] (a file, plain or gzip) and [`read_reader`] (any
//! byte stream, e.g. stdin), plus [`expand_inputs`] to turn command-line paths into an ordered
//! file list. Each record is decoded straight into a caller-owned [`Row`] that is reused from
//! record to record, and handed to the sink; nothing is collected.
//!
//! # Why it is built this way
//!
//! * **Push model.** Like ripgrep's `Sink`, the reader drives and the consumer reacts: every
//!   record read ends in exactly one call, [`RecordSink::record`] or [`RecordSink::skipped`], so
//!   `InputStats::records == delivered + skipped` always reconciles and a bad record never stops
//!   the run. Only an input that cannot be read any further (open failure, I/O error, truncated
//!   gzip) is an [`InputError`], returned after everything read before it was delivered.
//! * **Streaming, no allocation per record.** JSON lines and CSV are read a line / record at a
//!   time through one large buffer; a line longer than [`ReadOptions::max_record_bytes`] is
//!   discarded as it streams past, never buffered. Values are decoded by a serde
//!   `DeserializeSeed` that looks each key up in the [`FieldSet`] and writes only needed fields
//!   into the row's scratch; unneeded values are skipped unparsed (`IgnoredAny`). String
//!   escapes are decoded by us into a reused buffer because serde_json's own decoder allocates
//!   a fresh scratch vector per deserializer, i.e. per record. No `serde_json::Value` is built.
//!   One exception, pinned by a test: serde_json gives each `Deserializer` (one per record) an
//!   empty scratch vector, which it fills when skipping or capturing a value nested two levels
//!   deep (`{"a":[{..}]}`) and when decoding a key with escapes. Defender rows with dynamic
//!   columns stored as objects therefore cost one small allocation each; removing it needs a
//!   skipper of our own in place of `IgnoredAny` / `RawValue`.
//! * **Shapes are detected per record**, so one file may mix them (see below). The framing (JSON
//!   lines, JSON document, CSV) and compression are detected once per source.
//!
//! # Detection rules
//!
//! Per source, in this order:
//! 1. **gzip** if the first two bytes are `1f 8b` (never by extension); decoded with
//!    `MultiGzDecoder`, so concatenated members work. A UTF-8 BOM is then skipped.
//! 2. With [`Format::Auto`]: **EVTX** if the (decoded) input starts with `ElfFile\0`; it is
//!    read whole (see the `evtx` module), each record a Windows event (see [`windows`]).
//! 3. With [`Format::Auto`]: **CSV** if the name ends in `.csv` or `.csv.gz` (any case).
//! 4. Otherwise the first non-blank line decides:
//!    * starts with `[` → **JSON document** (a JSON array, possibly pretty-printed);
//!    * starts with `{` and parses alone → **JSON lines**; a malformed `{` line (other than
//!      truncated) is also JSON lines, so it is reported and the rest still read;
//!    * starts with `{` but ends inside the value (a pretty-printed object), or is longer than
//!      `max_record_bytes` → **JSON document**;
//!    * anything else → **CSV**; no line at all → JSON lines with no records.
//!
//! Per JSON record (a JSON-lines line, or the value of a document):
//! * an object with a `records` or `Results` key whose value is an array is a **container**
//!   (Event Hub message, advanced hunting API result): each array element is a record; other
//!   keys are ignored. A top-level array is a container too.
//! * else an object with a `properties` key whose value is an object is a **storage-account
//!   record**: fields come from `properties`; `category` (minus `AdvancedHunting-`) becomes the
//!   row's table hint; other top-level keys are ignored.
//! * else the object is a **flat row**. A `Type` key is an ordinary field.
//! * A row without a table of its own (no `Type`, no `category`) that is a Windows event in
//!   one of the JSON layouts of [`windows`] is normalized and mapped there.
//!
//! A JSON document may hold several values one after another (`evtx_dump` output); each is
//! read as if it were the whole document.
//!
//! Values: string → [`Cell::Str`](crate::row::Cell) (escapes decoded), number →
//! `Cell::Num` with its exact source text, `true`/`false` → `Cell::Bool`, `null` →
//! `Cell::Null`, object/array → `Cell::Json` with its source text. Duplicate keys: last wins.
//! In CSV every cell, empty ones included, is a `Cell::Str`.
//!
//! # Example
//!
//! ```
//! use scry_io::{read_reader, Location, ReadOptions, RecordSink, SkipReason};
//! use scry_compile::row::{Cell, FieldSet, Row};
//!
//! struct Names(Vec<String>);
//! impl RecordSink for Names {
//!     fn record(&mut self, row: &Row, _loc: &Location) {
//!         if let Cell::Str(s) = row.get(scry_compile::row::FieldId(0)) {
//!             self.0.push(format!("{}:{s}", row.table_hint().unwrap_or("?")));
//!         }
//!     }
//!     fn skipped(&mut self, _loc: &Location, _reason: &SkipReason) {}
//! }
//!
//! let input = concat!(
//!     r#"{"category":"AdvancedHunting-DeviceProcessEvents","properties":{"FileName":"cmd.exe"}}"#,
//!     "\r\n",
//!     r#"{"FileName":"n\u00e4me.exe","Type":"DeviceFileEvents"}"#,
//!     "\n",
//! );
//! let mut fields = FieldSet::new();
//! fields.intern("FileName");
//! let mut row = Row::new(&fields);
//! let mut sink = Names(Vec::new());
//! let stats = read_reader("<stdin>", input.as_bytes(), &fields, &ReadOptions::default(),
//!     &mut row, &mut sink).unwrap();
//! assert_eq!(sink.0, ["DeviceProcessEvents:cmd.exe", "?:näme.exe"]);
//! assert_eq!((stats.records, stats.skipped), (2, 0));
//! assert_eq!(stats.format.to_string(), "json lines (flat, storage account)");
//! ```
//!
//! | file | role |
//! |---|---|
//! | `lib.rs` | options, the [`RecordSink`] boundary, opening a source and reading it whole |
//! | `pieces.rs` | cutting inputs into pieces at line ends for worker threads |
//! | `report.rs` | what a read reports: skip reasons, input errors, formats detected, counts |
//! | `json.rs`, `csv.rs`, `evtx.rs`, `windows.rs`, `columnar.rs`, `batch.rs` | one reader per format |
//! | `lines.rs`, `expand.rs` | line framing; paths, folders, globs and zip members |
//! | `check.rs` | the line-length property the fuzz target and tests check |
#![deny(missing_docs)]

// The stages below this one, under the names the code uses (`crate::kql::...`).
use scry_compile::row;
use scry_compile::schema;
#[cfg(feature = "arrow")]
use scry_kql as kql;

#[cfg(feature = "arrow")]
pub mod batch;
pub(crate) mod columnar;
#[cfg(feature = "arrow")]
pub use columnar::guarded;
#[cfg(feature = "arrow")]
pub(crate) use json::field_of;
#[doc(hidden)]
pub mod check;
mod csv;
mod evtx;
pub use columnar::{in_guarded_decoder, parquet_pieces, ColumnarStats, ParquetPieces, Wanted};
#[cfg(feature = "arrow")]
pub use columnar::{plan_parquet, read_ipc, read_parquet, ParquetPlan};
mod expand;
mod json;
mod lines;
#[cfg(unix)]
mod mapped;
pub mod windows;

use std::fmt;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use crate::row::{FieldSet, Row};

pub use expand::{
    expand_inputs, expand_inputs_filtered, expand_inputs_noted, is_rereadable, open_input,
    Expansion, InputFilter, ZIP_MEMBER,
};

mod pieces;
mod report;

#[cfg(unix)]
pub use mapped::{map_pieces, Mapped};
pub use pieces::{read_piece, read_pieces, Piece, PieceStats};

/// Without memory maps every input is read ([`read_pieces`]): `None` says so.
#[cfg(not(unix))]
pub fn map_pieces(
    _path: &std::path::Path,
    _name: &str,
    _opts: &ReadOptions,
    _chunk_bytes: usize,
    _emit: &mut dyn FnMut(Piece),
) -> Option<(PieceStats, Result<(), InputError>)> {
    None
}
pub use report::{DetectedFormat, InputError, InputStats, Shapes, SkipReason};

/// The size of the read buffer: large enough that the per-call overhead of `read` (and of the
/// gzip decoder) vanishes, small enough to not matter per input.
const BUFFER_BYTES: usize = 256 * 1024;

/// How the input is framed. [`Format::Auto`] detects it (see the [module docs](self)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    /// Detect from the name and the first line.
    #[default]
    Auto,
    /// One JSON value per line (`.ndjson`, `.jsonl`, storage-account blobs, Event Hub captures).
    JsonLines,
    /// One JSON value for the whole input: an array of records, or an object (a container such
    /// as `{"records":[..]}` / `{"Schema":..,"Results":[..]}`, or a single record), possibly
    /// pretty-printed over many lines. Held in memory whole.
    JsonDocument,
    /// Comma-separated values with a header row.
    Csv,
}

/// Options for one read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadOptions {
    /// The framing; default [`Format::Auto`].
    pub format: Format,
    /// The longest JSON line or CSV record, in bytes (default 16 MiB). A longer one is skipped
    /// with [`SkipReason::RecordTooLarge`] and reading continues; a long JSON line is discarded
    /// as it streams past, never buffered. It does not apply to the elements of a JSON
    /// document, which is held in memory whole anyway.
    pub max_record_bytes: usize,
    /// Collect the names of the keys (CSV: header columns) that hold a value, for each record
    /// that names no table (no table hint, no non-empty `Type`), into [`Row::columns`]: what a
    /// table is inferred from. Records that name their table cost nothing more. Default off.
    pub columns: bool,
}

impl Default for ReadOptions {
    fn default() -> ReadOptions {
        ReadOptions {
            format: Format::Auto,
            max_record_bytes: 16 * 1024 * 1024,
            columns: false,
        }
    }
}

/// Where a record came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Location<'a> {
    /// The file path, or `<stdin>` (whatever name was given to [`read_reader`]).
    pub source: &'a str,
    /// The 1-based line where the record starts (for a skip: where the problem is, if known);
    /// 0 in a binary input (EVTX), where the skip reason says where.
    pub line: u64,
    /// The 1-based index of the record within the source, counting skipped records too.
    pub record: u64,
}

impl fmt::Display for Location<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{} (record {})", self.source, self.line, self.record)
    }
}

/// Receives what a reader reads, in input order.
pub trait RecordSink {
    /// A record was decoded into `row` (valid only during the call: the row is reused).
    fn record(&mut self, row: &Row, loc: &Location<'_>);
    /// A record could not be used; reading continues.
    fn skipped(&mut self, loc: &Location<'_>, reason: &SkipReason);
    /// Asked before a JSON line is parsed, with its raw bytes: `false` rules it out (the sink
    /// counts it; it is one record, not parsed). Only asked where a line holds at most one
    /// record or the sink's prefilter says otherwise (see [`crate::prefilter`]).
    fn candidate(&mut self, _line: &[u8]) -> bool {
        true
    }
    /// Asked once per in-memory piece of JSON lines: the sorted byte offsets at which a line
    /// must be parsed (see [`crate::prefilter::Prefilter::marks`]); a `{...}` line without one
    /// is ruled out unseen, and counted with [`RecordSink::ruled_out`]. `None`: ask
    /// [`RecordSink::candidate`] line by line.
    fn marks(&mut self, _piece: &[u8]) -> Option<Vec<usize>> {
        None
    }
    /// `n` lines were ruled out by [`RecordSink::marks`].
    fn ruled_out(&mut self, _n: u64) {}
    /// True when what [`RecordSink::candidate`] and [`RecordSink::marks`] rule out is sound
    /// for Windows events too (see [`crate::prefilter::Prefilter::covers_windows`]); if not,
    /// the reader parses every line that may be one.
    fn covers_windows(&mut self) -> bool {
        false
    }
}

/// How a source was framed, as detected (or as forced by [`ReadOptions::format`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Framing {
    /// One JSON value per line.
    #[default]
    JsonLines,
    /// One JSON value for the whole input.
    JsonDocument,
    /// CSV with a header row.
    Csv,
    /// A Windows EVTX file (detected by its `ElfFile\0` magic), read whole.
    Evtx,
    /// A Parquet file (detected by its `PAR1` magic).
    Parquet,
    /// An Arrow IPC file or stream (Feather v2).
    ArrowIpc,
    /// Not an event file: its first line is neither JSON nor a CSV header (a README in an
    /// evidence folder). Nothing is read from it; the run says so. Naming a format with
    /// `--input-format`, or a `.csv` name, reads it anyway.
    Unrecognized,
}

/// Reads the file at `path` (plain or gzip, any supported framing) into `sink`.
///
/// `row` is reset for `fields` first, so any `Row` may be passed; reusing one across calls
/// keeps its buffers warm. `"-"` is not special here: use [`read_reader`] for stdin.
pub fn read_path(
    path: &Path,
    fields: &FieldSet,
    opts: &ReadOptions,
    row: &mut Row,
    sink: &mut dyn RecordSink,
) -> Result<InputStats, InputError> {
    let file = File::open(path).map_err(|source| InputError::Open {
        path: path.to_path_buf(),
        source,
    })?;
    read_reader(&path.to_string_lossy(), file, fields, opts, row, sink)
}

/// Reads `input` into `sink`; `name` is used in [`Location`]s, errors, and for CSV detection
/// by extension (give `<stdin>` for standard input). See [`read_path`].
pub fn read_reader(
    name: &str,
    input: impl Read,
    fields: &FieldSet,
    opts: &ReadOptions,
    row: &mut Row,
    sink: &mut dyn RecordSink,
) -> Result<InputStats, InputError> {
    // A `Row` sized for another field set would panic on the first store; rebuilding it once
    // per source is cheap and removes that trap.
    *row = Row::new(fields);
    let Opened {
        head,
        gzip,
        zstd,
        framing,
        raw_count,
        decoded_count,
    } = open(name, input, opts)?;
    let format = DetectedFormat {
        framing,
        gzip,
        zstd,
        ..DetectedFormat::default()
    };
    let input = head.into_reader();
    let (result, mut stats) =
        read_source(
            name,
            fields,
            opts,
            format,
            1,
            sink,
            |src, sink, st| match framing {
                Framing::JsonLines => json::read_lines(src, input, row, sink, st),
                Framing::JsonDocument => json::read_document(src, input, row, sink, st),
                Framing::Csv => csv::read_csv(src, input, row, sink, st),
                Framing::Evtx => evtx::read_evtx(src, input, row, sink, st),
                Framing::Parquet | Framing::ArrowIpc => {
                    // Both need to seek (Parquet's footer is at the end): read it whole.
                    let mut bytes = Vec::new();
                    let mut input = input;
                    match input.read_to_end(&mut bytes) {
                        Ok(_) => {
                            columnar::read_bytes(name, framing, &bytes, src.wanted(), row, sink, st)
                        }
                        Err(e) => Err(src.read_error(e)),
                    }
                }
                Framing::Unrecognized => Ok(()),
            },
        );
    stats.bytes = raw_count.get();
    stats.decoded_bytes = decoded_count.get();
    result.map(|()| stats)
}

/// A source with its compression undone and its framing found, ready to read.
struct Opened<'a> {
    head: lines::Head<'a>,
    gzip: bool,
    zstd: bool,
    framing: Framing,
    /// Bytes read as stored.
    raw_count: lines::Counter,
    /// Bytes after decompression.
    decoded_count: lines::Counter,
}

/// Detects gzip from the magic bytes, reads the head of the decoded stream and decides the
/// framing (forced by `opts`, by a `.csv` name, or from the first non-blank line).
fn open<'a>(
    name: &str,
    input: impl Read + 'a,
    opts: &ReadOptions,
) -> Result<Opened<'a>, InputError> {
    let raw_count = lines::Counter::default();
    let decoded_count = lines::Counter::default();
    let mut input = raw_count.wrap(input);
    // Peek by reading, not by `fill_buf`: a pipe may deliver the two magic bytes separately.
    let mut magic = [0u8; 4];
    let got = lines::read_up_to(&mut input, &mut magic)
        .map_err(|e| InputError::from_read(name, false, e))?;
    let gzip = magic[..got.min(2)] == [0x1f, 0x8b];
    let zstd = magic[..got] == [0x28, 0xb5, 0x2f, 0xfd];
    let raw = BufReader::with_capacity(
        BUFFER_BYTES,
        std::io::Cursor::new(magic[..got].to_vec()).chain(input),
    );
    let decoded: Box<dyn BufRead + 'a> = if gzip {
        Box::new(BufReader::with_capacity(
            BUFFER_BYTES,
            decoded_count.wrap(flate2::bufread::MultiGzDecoder::new(raw)),
        ))
    } else if zstd {
        // Concatenated frames decode as one stream, as `zstd -d` does.
        let decoder = zstd::stream::read::Decoder::with_buffer(raw)
            .map_err(|e| InputError::from_read(name, true, e))?;
        Box::new(BufReader::with_capacity(
            BUFFER_BYTES,
            decoded_count.wrap(decoder),
        ))
    } else {
        Box::new(decoded_count.wrap_buffered(raw))
    };

    let head = lines::Head::read(decoded, opts.max_record_bytes)
        .map_err(|e| InputError::from_read(name, gzip, e))?;
    let framing = match opts.format {
        Format::JsonLines => Framing::JsonLines,
        Format::JsonDocument => Framing::JsonDocument,
        Format::Csv => Framing::Csv,
        Format::Auto if head.starts_with(evtx::MAGIC) => Framing::Evtx,
        Format::Auto if head.starts_with(columnar::PARQUET_MAGIC) => Framing::Parquet,
        Format::Auto
            if head.starts_with(columnar::ARROW_FILE_MAGIC)
                || head.starts_with(columnar::ARROW_STREAM_MAGIC) =>
        {
            Framing::ArrowIpc
        }
        Format::Auto if has_csv_extension(name) => Framing::Csv,
        Format::Auto => head.detect(),
    };
    Ok(Opened {
        head,
        gzip,
        zstd,
        framing,
        raw_count,
        decoded_count,
    })
}

/// What every format reader needs to know about the source.
struct Source<'a> {
    name: &'a str,
    fields: &'a FieldSet,
    limit: usize,
    /// [`ReadOptions::columns`].
    columns: bool,
    gzip: bool,
    /// The line number of the first line read (1, or where a chunk starts).
    first_line: u64,
}

/// What every read of a source does around its framing's reader: the [`Source`] and the
/// stats of the format found, and the Windows event wrapper around `sink`, whose counts end
/// up in the stats.
fn read_source<T>(
    name: &str,
    fields: &FieldSet,
    opts: &ReadOptions,
    format: DetectedFormat,
    first_line: u64,
    sink: &mut dyn RecordSink,
    read: impl FnOnce(&Source<'_>, &mut dyn RecordSink, &mut InputStats) -> T,
) -> (T, InputStats) {
    let mut stats = InputStats {
        format,
        ..InputStats::default()
    };
    let src = Source {
        name,
        fields,
        limit: opts.max_record_bytes,
        columns: opts.columns,
        // A cut-off stream of either compression is reported as such.
        gzip: format.gzip || format.zstd,
        first_line,
    };
    let mut win = windows::WindowsSink::new(fields, sink);
    let result = read(&src, &mut win, &mut stats);
    stats.format.shapes.windows.merge(&win.counts());
    (result, stats)
}

impl Source<'_> {
    fn wanted(&self) -> columnar::Wanted<'_> {
        columnar::Wanted {
            fields: self.fields,
            infer: self.columns,
        }
    }

    fn read_error(&self, e: std::io::Error) -> InputError {
        InputError::from_read(self.name, self.gzip, e)
    }
}

fn has_csv_extension(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    lower.ends_with(".csv") || lower.ends_with(".csv.gz")
}

/// Fills `row` from one JSON record's text (a rule example, `scry eval --event`), through the
/// same reader `scry run` uses, so that examples exercise the decoding real inputs get.
pub fn row_from_json(text: &str, fields: &FieldSet, row: &mut Row) -> Result<(), String> {
    struct One {
        records: usize,
        skipped: Option<String>,
    }
    impl crate::RecordSink for One {
        fn record(&mut self, _: &Row, _: &crate::Location<'_>) {
            self.records += 1;
        }
        fn skipped(&mut self, _: &crate::Location<'_>, reason: &crate::SkipReason) {
            self.skipped.get_or_insert_with(|| reason.to_string());
        }
    }
    let mut one = One {
        records: 0,
        skipped: None,
    };
    let opts = crate::ReadOptions::default();
    crate::read_reader("<event>", text.as_bytes(), fields, &opts, row, &mut one)
        .map_err(|e| e.to_string())?;
    if let Some(why) = one.skipped {
        return Err(why);
    }
    match one.records {
        // The reader leaves the last record it delivered in `row`.
        1 => Ok(()),
        n => Err(format!("expected one JSON object, found {n} records")),
    }
}
