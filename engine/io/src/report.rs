//! What a read reports: why a record was skipped, why an input failed, which formats and
//! shapes were found, and the counts.

use super::*;

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
    pub(super) fn from_read(name: &str, gzip: bool, source: std::io::Error) -> InputError {
        use std::io::ErrorKind::{InvalidData, InvalidInput, UnexpectedEof};
        let path = PathBuf::from(name);
        if gzip && matches!(source.kind(), UnexpectedEof | InvalidData | InvalidInput) {
            InputError::Gzip { path, source }
        } else {
            InputError::Read { path, source }
        }
    }
}
