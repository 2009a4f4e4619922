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

/// Why a record was skipped. Reading always continues after a skip.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SkipReason {
    /// The record is not valid JSON: `{"a": 1,}`. `line` and `column` (1-based, the column
    /// counted in bytes) point at the problem in the source.
    MalformedJson {
        /// The line of the problem.
        line: u64,
        /// The byte column of the problem.
        column: u64,
        /// serde_json's description, without its position.
        message: String,
    },
    /// A JSON line holds bytes that are not UTF-8: `{"a":"\xff"}`.
    InvalidUtf8 {
        /// The line.
        line: u64,
        /// The 1-based byte column of the first invalid byte.
        column: u64,
    },
    /// The line or CSV record is longer than [`ReadOptions::max_record_bytes`].
    RecordTooLarge {
        /// Its length in bytes.
        bytes: usize,
    },
    /// A JSON record that is valid JSON but not an object: `42`, `"text"`, `[1]` inside an
    /// array of records.
    NotAnObject,
    /// A CSV record that cannot be used: a wrong number of cells, invalid UTF-8 in a cell, or a
    /// parse error from the `csv` crate.
    CsvError {
        /// The line where the record starts.
        line: u64,
        /// What is wrong.
        message: String,
    },
    /// A JSON object whose shape keys have unusable values: `{"properties": [1, 2]}`,
    /// `{"records": {"a": 1}}`.
    UnknownShape(String),
    /// A damaged part of an EVTX file: a chunk whose header or checksum is wrong (one skip
    /// for the whole chunk, whose records cannot be counted), or a record that does not
    /// decode. Reading goes on with the next chunk or record.
    CorruptEvtx {
        /// The 0-based chunk number, when known.
        chunk: Option<u64>,
        /// The record's EventRecordID, when known.
        record: Option<u64>,
        /// The `evtx` crate's description, with its causes.
        message: String,
    },
}

impl SkipReason {
    /// A short name of the reason, without positions: what run summaries count by.
    pub fn kind(&self) -> &'static str {
        match self {
            SkipReason::MalformedJson { .. } => "malformed JSON",
            SkipReason::InvalidUtf8 { .. } => "invalid UTF-8",
            SkipReason::RecordTooLarge { .. } => "record too large",
            SkipReason::NotAnObject => "not a JSON object",
            SkipReason::CsvError { .. } => "CSV error",
            SkipReason::UnknownShape(_) => "unknown record shape",
            SkipReason::CorruptEvtx { .. } => "corrupt EVTX chunk or record",
        }
    }
}

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SkipReason::MalformedJson {
                line,
                column,
                message,
            } => write!(
                f,
                "malformed JSON at line {line} column {column}: {message}"
            ),
            SkipReason::InvalidUtf8 { line, column } => {
                write!(f, "invalid UTF-8 at line {line} byte column {column}")
            }
            SkipReason::RecordTooLarge { bytes } => {
                write!(f, "record too large: {bytes} bytes (see max_record_bytes)")
            }
            SkipReason::NotAnObject => f.write_str("record is not a JSON object"),
            SkipReason::CsvError { line, message } => write!(f, "CSV line {line}: {message}"),
            SkipReason::UnknownShape(why) => write!(f, "unknown record shape: {why}"),
            SkipReason::CorruptEvtx {
                chunk,
                record,
                message,
            } => {
                f.write_str("corrupt EVTX")?;
                if let Some(c) = chunk {
                    write!(f, " chunk {c}")?;
                }
                if let Some(r) = record {
                    write!(f, " record {r}")?;
                }
                write!(f, ": {message}")
            }
        }
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

/// Which JSON record shapes were seen in a source (several if the source mixes them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Shapes {
    /// Flat rows at the top level.
    pub flat: bool,
    /// Storage-account records (`category` + `properties`) at the top level.
    pub storage_account: bool,
    /// Event Hub messages (`{"records":[..]}`).
    pub event_hub: bool,
    /// Advanced hunting API results (`{"Schema":..,"Results":[..]}`).
    pub hunting_results: bool,
    /// Top-level JSON arrays of records.
    pub array: bool,
    /// Windows events (EVTX records, or JSON exports of them), and which were mapped.
    pub windows: windows::WinCounts,
}

impl Shapes {
    /// The shapes seen in either of two parts of one source.
    pub fn merge(&mut self, other: Shapes) {
        self.flat |= other.flat;
        self.storage_account |= other.storage_account;
        self.event_hub |= other.event_hub;
        self.hunting_results |= other.hunting_results;
        self.array |= other.array;
        self.windows.merge(&other.windows);
    }
}

/// What a reader found a source to be; `Display` gives e.g. `json lines (storage account),
/// gzip`, `json document (json array)`, `csv`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DetectedFormat {
    /// The framing.
    pub framing: Framing,
    /// The JSON shapes seen (all false for CSV, or for JSON without records).
    pub shapes: Shapes,
    /// Whether the source was gzip-compressed.
    pub gzip: bool,
    /// Whether the source was zstd-compressed.
    pub zstd: bool,
    /// Parquet / Arrow IPC: row groups and columns read.
    pub columnar: ColumnarStats,
}

impl fmt::Display for DetectedFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self.framing {
            Framing::JsonLines => "json lines",
            Framing::JsonDocument => "json document",
            Framing::Csv => "csv",
            Framing::Evtx => "evtx",
            Framing::Parquet => "parquet",
            Framing::ArrowIpc => "arrow ipc",
            Framing::Unrecognized => {
                "not an event file (its first line is neither JSON nor a CSV header): not read"
            }
        })?;
        let s = &self.shapes;
        let names = [
            (s.flat, "flat"),
            (s.storage_account, "storage account"),
            (s.event_hub, "event hub"),
            (s.hunting_results, "advanced hunting results"),
            (s.array, "json array"),
            (s.windows.events > 0, "windows events"),
        ];
        let mut first = true;
        for (_, name) in names.iter().filter(|(seen, _)| *seen) {
            f.write_str(if first { " (" } else { ", " })?;
            f.write_str(name)?;
            first = false;
        }
        if !first {
            f.write_str(")")?;
        }
        if self.zstd {
            f.write_str(", zstd")?;
        } else if self.gzip {
            f.write_str(", gzip")?;
        }
        if let Some(mapped) = self.shapes.windows.describe() {
            write!(f, "; {mapped}")?;
        }
        let c = &self.columnar;
        if c.columns_total > 0 {
            write!(
                f,
                "; {} of {} column(s) read",
                c.columns_read, c.columns_total
            )?;
        }
        if self.framing == Framing::Parquet && c.row_groups > 0 {
            write!(
                f,
                "; {} of {} row group(s) skipped by Timestamp statistics",
                c.row_groups_skipped, c.row_groups
            )?;
        }
        Ok(())
    }
}

/// Totals for one source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct InputStats {
    /// Bytes read from the source as stored (compressed size for gzip).
    pub bytes: u64,
    /// Bytes after decompression (equal to `bytes` for plain input).
    pub decoded_bytes: u64,
    /// Records read: delivered plus skipped. Blank lines and CSV headers are not records; an
    /// Event Hub message or API result is not a record, its elements are.
    pub records: u64,
    /// Records reported through [`RecordSink::skipped`].
    pub skipped: u64,
    /// Records the sink ruled out before parsing ([`RecordSink::candidate`]).
    pub ruled_out: u64,
    /// What the source was found to be.
    pub format: DetectedFormat,
}

/// A source that cannot be read (any further). Records read before the error were delivered.
#[derive(Debug)]
#[non_exhaustive]
pub enum InputError {
    /// The file cannot be opened: a missing path, no permission.
    Open {
        /// The path.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// Reading failed part way: a disk error, a closed pipe.
    Read {
        /// The path (or stdin's name).
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The gzip stream ends early or is corrupt: a `.gz` file cut off during download.
    Gzip {
        /// The path (or stdin's name).
        path: PathBuf,
        /// The decoder's error.
        source: std::io::Error,
    },
    /// An EVTX file whose file header cannot be read: `ElfFile\0` followed by garbage.
    Evtx {
        /// The path (or stdin's name).
        path: PathBuf,
        /// The `evtx` crate's description.
        message: String,
    },
    /// A Parquet or Arrow IPC source that cannot be read, or holds a column of a type scry
    /// cannot read.
    Format {
        /// The path (or stdin's name).
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A directory given to [`expand_inputs`] cannot be listed.
    Walk {
        /// The directory or entry.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InputError::Open { path, source } => {
                write!(f, "{}: cannot open: {source}", path.display())
            }
            InputError::Read { path, source } => {
                write!(f, "{}: read error: {source}", path.display())
            }
            InputError::Gzip { path, source } => {
                write!(
                    f,
                    "{}: truncated or corrupt gzip stream: {source}",
                    path.display()
                )
            }
            InputError::Walk { path, source } => {
                write!(f, "{}: cannot list directory: {source}", path.display())
            }
            InputError::Evtx { path, message } => {
                write!(
                    f,
                    "{}: unreadable EVTX file header: {message}",
                    path.display()
                )
            }
            InputError::Format { path, message } => write!(f, "{}: {message}", path.display()),
        }
    }
}

impl std::error::Error for InputError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            InputError::Open { source, .. }
            | InputError::Read { source, .. }
            | InputError::Gzip { source, .. }
            | InputError::Walk { source, .. } => Some(source),
            InputError::Evtx { .. } | InputError::Format { .. } => None,
        }
    }
}

impl InputError {
    /// Classifies an I/O error raised while reading `name`: through a gzip decoder, end-of-file
    /// and invalid-data errors come from the compressed stream itself.
    fn from_read(name: &str, gzip: bool, source: std::io::Error) -> InputError {
        use std::io::ErrorKind::{InvalidData, InvalidInput, UnexpectedEof};
        let path = PathBuf::from(name);
        if gzip && matches!(source.kind(), UnexpectedEof | InvalidData | InvalidInput) {
            InputError::Gzip { path, source }
        } else {
            InputError::Read { path, source }
        }
    }
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

/// A piece of one input, cut by [`read_pieces`] for evaluation on another thread.
#[derive(Debug)]
pub enum Piece {
    /// Whole JSON lines (a chunk ends after a newline, or at the end of the input), decoded
    /// from gzip if need be; `first_line` is the line number of the first.
    Lines {
        /// The line number of the first line.
        first_line: u64,
        /// The bytes.
        bytes: Vec<u8>,
    },
    /// A JSON line longer than [`ReadOptions::max_record_bytes`]: only its length was kept,
    /// the bytes were dropped as they streamed past. Read, it is one record skipped as
    /// [`SkipReason::RecordTooLarge`].
    TooLong {
        /// Its line number.
        line: u64,
        /// Its length in bytes, without the newline.
        bytes: usize,
    },
    /// An input that is not JSON lines (a JSON document, CSV or EVTX), decoded, whole.
    Whole {
        /// Its framing.
        framing: Framing,
        /// The bytes.
        bytes: Vec<u8>,
    },
    /// Row groups of a Parquet file, read from the file by the worker: (row group, index of
    /// its first record in the file).
    RowGroups {
        /// The file.
        path: PathBuf,
        /// The row groups.
        groups: Vec<(usize, u64)>,
        /// Whether some record may name no table (all columns are read, see
        /// [`Wanted::infer`]).
        infer: bool,
    },
    /// Records no rule can keep, known without reading them (Parquet row groups outside every
    /// window): counted as evaluated.
    RuledOut {
        /// How many.
        records: u64,
    },
}

/// What [`read_pieces`] learnt about an input: its framing, compression and size.
#[derive(Debug, Clone, Copy, Default)]
pub struct PieceStats {
    /// Framing and compression.
    pub framing: Framing,
    /// gzip?
    pub gzip: bool,
    /// zstd?
    pub zstd: bool,
    /// Bytes read as stored.
    pub bytes: u64,
    /// Bytes after decompression.
    pub decoded_bytes: u64,
    /// Bytes of JSON lines searched for line ends while cutting: each decoded byte once (the
    /// format detection's look-ahead aside, which is replayed), however long the lines.
    pub scanned: u64,
}

/// Cuts `input` into [`Piece`]s of about `chunk_bytes` at line ends, for parallel
/// evaluation with [`read_piece`]: the reading thread only decompresses and finds newlines.
/// JSON lines stream through in chunks; other framings come as one piece. A line longer than
/// [`ReadOptions::max_record_bytes`] becomes a [`Piece::TooLong`], streamed past: memory stays
/// within about the limit plus a chunk, and time linear in the line's length.
///
/// `spare` hands out buffers for the next pieces (return emitted pieces' buffers to it once
/// evaluated: reused buffers spare the page faults of fresh megabyte allocations). `emit` may
/// block: the reader then waits, so a caller that bounds the pieces in flight bounds memory.
///
/// The stats are returned even when reading stopped at an error: a truncated gzip stream
/// still reports the bytes it held and what it was.
pub fn read_pieces(
    name: &str,
    input: impl Read,
    opts: &ReadOptions,
    chunk_bytes: usize,
    spare: &mut dyn FnMut() -> Vec<u8>,
    emit: &mut dyn FnMut(Piece),
) -> (PieceStats, Result<(), InputError>) {
    let Opened {
        head,
        gzip,
        zstd,
        framing,
        raw_count,
        decoded_count,
    } = match open(name, input, opts) {
        Ok(o) => o,
        Err(e) => return (PieceStats::default(), Err(e)),
    };
    let compressed = gzip || zstd;
    let mut input = head.into_reader();
    let mut result = Ok(());
    let mut scanned = 0u64;
    if framing == Framing::JsonLines {
        let mut cutter = LineCutter {
            limit: opts.max_record_bytes,
            chunk_bytes: chunk_bytes.max(1),
            first_line: 1,
            scanned: 0,
        };
        if let Err(e) = cutter.cut(&mut input, spare, emit) {
            result = Err(InputError::from_read(name, compressed, e));
        }
        scanned = cutter.scanned;
    } else if framing != Framing::Unrecognized {
        let mut bytes = Vec::new();
        // On error `read_to_end` keeps what it read: deliver that, then report the error.
        let read = input.read_to_end(&mut bytes);
        emit(Piece::Whole { framing, bytes });
        if let Err(e) = read {
            result = Err(InputError::from_read(name, compressed, e));
        }
    }
    let stats = PieceStats {
        framing,
        gzip,
        zstd,
        bytes: raw_count.get(),
        decoded_bytes: decoded_count.get(),
        scanned,
    };
    (stats, result)
}

/// Cuts JSON lines into [`Piece::Lines`] at line ends. Every byte is searched for a newline
/// once: the partial line kept between reads is never searched again, and each read adds
/// about `chunk_bytes`, so cutting is linear in the input for any line length (it used to
/// read one byte at a time once a line outgrew a chunk, and search the whole line after
/// each: quadratic). A line longer than `limit` becomes one [`Piece::TooLong`] holding only
/// its length; its bytes past the limit are dropped as they stream past.
struct LineCutter {
    limit: usize,
    chunk_bytes: usize,
    /// The line number of the first line not yet emitted.
    first_line: u64,
    /// Bytes searched for line ends ([`PieceStats::scanned`]).
    scanned: u64,
}

impl LineCutter {
    fn cut(
        &mut self,
        input: &mut impl Read,
        spare: &mut dyn FnMut() -> Vec<u8>,
        emit: &mut dyn FnMut(Piece),
    ) -> std::io::Result<()> {
        let mut buf: Vec<u8> = spare();
        buf.clear();
        // `buf[..fresh]` holds no newline and has been searched; what follows has not.
        let mut fresh = 0;
        let (mut at_end, mut error) = (false, None);
        loop {
            self.scanned += (buf.len() - fresh) as u64;
            if let Some(i) = memchr::memrchr(b'\n', &buf[fresh..]) {
                // Cut after the last newline; the partial line after it starts the next piece.
                let cut = fresh + i + 1;
                let mut next = spare();
                next.clear();
                next.extend_from_slice(&buf[cut..]);
                buf.truncate(cut);
                self.emit_lines(std::mem::replace(&mut buf, next), emit);
            }
            fresh = buf.len();
            if buf.len() > self.limit {
                let (end, err) = self.skip_long_line(input, &mut buf, emit);
                at_end |= end;
                error = error.or(err);
                fresh = 0;
                continue;
            }
            if at_end {
                // The last line, without a final newline.
                let rest = std::mem::take(&mut buf);
                self.emit_lines(rest, emit);
                return error.map_or(Ok(()), Err);
            }
            // At least `chunk_bytes` more once the partial line fills a chunk, so a long line
            // costs a number of reads linear in its length.
            let want = if buf.len() < self.chunk_bytes {
                self.chunk_bytes
            } else {
                buf.len() + self.chunk_bytes
            };
            let (n, err) = fill_to(input, &mut buf, want);
            at_end = n == 0 || err.is_some();
            error = err;
        }
    }

    fn emit_lines(&mut self, bytes: Vec<u8>, emit: &mut dyn FnMut(Piece)) {
        if bytes.is_empty() {
            return;
        }
        // A final line without a newline counts as a line too, but nothing follows it.
        let lines = memchr::memchr_iter(b'\n', &bytes).count() as u64;
        let first_line = self.first_line;
        self.first_line += lines;
        emit(Piece::Lines { first_line, bytes });
    }

    /// `buf` is the start of a line already longer than the limit, with no newline in it:
    /// reads on to the line's end, keeping only its length, emits it as [`Piece::TooLong`],
    /// and leaves in `buf` what followed the newline (not searched yet). Returns whether the
    /// input ended, and the error that ended it.
    fn skip_long_line(
        &mut self,
        input: &mut impl Read,
        buf: &mut Vec<u8>,
        emit: &mut dyn FnMut(Piece),
    ) -> (bool, Option<std::io::Error>) {
        let mut bytes = buf.len();
        buf.clear();
        let line = self.first_line;
        self.first_line += 1;
        let outcome = loop {
            let (n, err) = fill_to(input, buf, self.chunk_bytes);
            let at_end = n == 0 || err.is_some();
            if let Some(i) = memchr::memchr(b'\n', buf) {
                self.scanned += i as u64 + 1;
                bytes += i;
                buf.drain(..=i);
                break (at_end, err);
            }
            self.scanned += buf.len() as u64;
            bytes += buf.len();
            buf.clear();
            if at_end {
                // The input ends inside the long line: it is the last one.
                break (true, err);
            }
        };
        emit(Piece::TooLong { line, bytes });
        outcome
    }
}

/// Appends to `buf` until it holds at least `want` bytes or the input ends: (bytes read, the
/// error that stopped reading). Reads straight into the buffer's spare capacity.
fn fill_to(
    input: &mut impl Read,
    buf: &mut Vec<u8>,
    want: usize,
) -> (usize, Option<std::io::Error>) {
    let before = buf.len();
    let need = want.saturating_sub(before) as u64;
    // `read_to_end` keeps what it read when it fails, and retries on interruption.
    let res = input.take(need).read_to_end(buf);
    (buf.len() - before, res.err())
}

/// Reads one [`Piece`] of input `name` into `sink`, as [`read_reader`] would have read those
/// records. The returned stats count the piece's records (bytes are counted by
/// [`read_pieces`]).
pub fn read_piece(
    name: &str,
    piece: &Piece,
    fields: &FieldSet,
    opts: &ReadOptions,
    row: &mut Row,
    sink: &mut dyn RecordSink,
) -> Result<InputStats, InputError> {
    if row.width() != fields.len() {
        *row = Row::new(fields);
    }
    let (framing, first_line, bytes) = match piece {
        Piece::Lines { first_line, bytes } => (Framing::JsonLines, *first_line, bytes),
        Piece::Whole { framing, bytes } => (*framing, 1, bytes),
        Piece::RowGroups {
            path,
            groups,
            infer,
        } => {
            let mut stats = InputStats::default();
            stats.format.framing = Framing::Parquet;
            // Windows events in Parquet are mapped as in any other format.
            let mut win = windows::WindowsSink::new(fields, sink);
            let want = columnar::Wanted {
                fields,
                infer: *infer && opts.columns,
            };
            columnar::read_path_groups(name, path, groups, want, row, &mut win, &mut stats)?;
            stats.format.shapes.windows.merge(&win.counts());
            return Ok(stats);
        }
        Piece::TooLong { line, bytes } => {
            let loc = Location {
                source: name,
                line: *line,
                record: 1,
            };
            sink.skipped(&loc, &SkipReason::RecordTooLarge { bytes: *bytes });
            let mut stats = InputStats {
                records: 1,
                skipped: 1,
                ..InputStats::default()
            };
            stats.format.framing = Framing::JsonLines;
            return Ok(stats);
        }
        Piece::RuledOut { records } => {
            sink.ruled_out(*records);
            return Ok(InputStats {
                records: *records,
                ruled_out: *records,
                ..InputStats::default()
            });
        }
    };
    let format = DetectedFormat {
        framing,
        ..DetectedFormat::default()
    };
    let input = &bytes[..];
    let (result, stats) = read_source(
        name,
        fields,
        opts,
        format,
        first_line,
        sink,
        |src, sink, st| match framing {
            Framing::JsonLines => json::read_line_slice(src, input, row, sink, st),
            Framing::JsonDocument => json::read_document(src, input, row, sink, st),
            Framing::Csv => csv::read_csv(src, input, row, sink, st),
            Framing::Evtx => evtx::read_evtx_bytes(src, input, row, sink, st),
            Framing::Parquet | Framing::ArrowIpc => {
                columnar::read_bytes(name, framing, input, src.wanted(), row, sink, st)
            }
            Framing::Unrecognized => Ok(()),
        },
    );
    result.map(|()| stats)
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
