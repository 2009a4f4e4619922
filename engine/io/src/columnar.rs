//! Parquet and Arrow IPC inputs (with the `arrow` feature).
//!
//! Columnar files are read column-wise: only the columns the plan needs (and `Type`) are
//! decoded, and a Parquet row group whose `Timestamp` statistics lie wholly outside the span
//! every rule's window covers ([`crate::exec::time_span`]) is not read at all: its records are
//! counted as evaluated without being decoded, as the prefilter counts lines it rules out.
//! Records then go through the same [`RecordSink`] as JSON records, one [`Row`] at a time
//! ([`crate::arrow::BatchRows`]), so a rule sees the same cells either way.
//!
//! A Parquet file named on the command line is cut into one piece per row group, read by the
//! worker threads from the file itself; one that arrives as a stream (standard input, a zip
//! member) is held in memory and read whole.

use crate::row::{FieldSet, Row};
#[cfg(feature = "arrow")]
use crate::Location;
use crate::{Framing, InputError, InputStats, RecordSink};
use std::path::Path;

/// The first bytes of a Parquet file.
pub const PARQUET_MAGIC: &[u8] = b"PAR1";
/// The first bytes of an Arrow IPC file (Feather v2).
pub const ARROW_FILE_MAGIC: &[u8] = b"ARROW1";
/// The first bytes of an Arrow IPC stream: the continuation marker of its first message.
pub const ARROW_STREAM_MAGIC: &[u8] = &[0xff, 0xff, 0xff, 0xff];

/// The columns a columnar reader is asked for.
#[derive(Debug, Clone, Copy)]
pub struct Wanted<'a> {
    /// The fields the plan reads (and `Type`).
    pub fields: &'a FieldSet,
    /// Records may name no table (no `--table`): without a `Type` column, every column is
    /// read and a record's columns holding a value are collected for table inference.
    pub infer: bool,
}

/// What reading a columnar source skipped, for the run's summary and `--profile`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ColumnarStats {
    /// Row groups in the file (Parquet), or record batches (Arrow IPC).
    pub row_groups: u64,
    /// Row groups not read: their Timestamp statistics lie outside every rule's window.
    pub row_groups_skipped: u64,
    /// Columns decoded.
    pub columns_read: u64,
    /// Columns in the file.
    pub columns_total: u64,
}

impl ColumnarStats {
    /// Adds another piece's counts (the column counts are the file's, not summed).
    pub fn merge(&mut self, other: ColumnarStats) {
        self.row_groups += other.row_groups;
        self.row_groups_skipped += other.row_groups_skipped;
        self.columns_read = self.columns_read.max(other.columns_read);
        self.columns_total = self.columns_total.max(other.columns_total);
    }
}

/// Runs a decoder over untrusted bytes. The Parquet and Arrow decoders are meant to return
/// errors on corrupt input, but a panic deep inside one must not take the run down with it:
/// it becomes this input's error, and the other inputs are still read.
///
/// arrow-ipc 59 does panic on some damaged streams (slice bounds in `arrow-buffer`, found by
/// `tests/columnar.rs`), so this is not hypothetical.
#[cfg(feature = "arrow")]
pub fn guarded<T, E>(
    f: impl FnOnce() -> Result<T, E>,
    err: impl FnOnce(String) -> E,
) -> Result<T, E> {
    IN_DECODER.with(|d| d.set(d.get() + 1));
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    IN_DECODER.with(|d| d.set(d.get() - 1));
    r.unwrap_or_else(|p| {
        let why = p
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| p.downcast_ref::<String>().cloned())
            .unwrap_or_default();
        Err(err(why))
    })
}

thread_local! {
    static IN_DECODER: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
}

/// True while this thread runs a guarded decoder: a panic hook may stay quiet, since the
/// panic becomes an input error that the run reports.
pub fn in_guarded_decoder() -> bool {
    IN_DECODER.with(|d| d.get() > 0)
}

#[cfg(feature = "arrow")]
fn corrupt(name: &str) -> impl FnOnce(String) -> InputError + '_ {
    move |why| InputError::Format {
        path: name.into(),
        message: format!("corrupt columnar data (the decoder failed: {why})"),
    }
}

#[cfg(feature = "arrow")]
fn format_error(name: &str, what: &str, e: impl std::fmt::Display) -> InputError {
    InputError::Format {
        path: name.into(),
        message: format!("unreadable {what}: {e}"),
    }
}

#[cfg(feature = "arrow")]
mod imp {
    use super::*;
    use crate::batch::{ticks, BatchRows};
    use arrow_array::cast::AsArray;
    use arrow_array::{Array, RecordBatch};
    use arrow_schema::{DataType, Schema, TimeUnit};
    use parquet::arrow::arrow_reader::statistics::StatisticsConverter;
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    use parquet::arrow::ProjectionMask;
    use parquet::file::reader::ChunkReader;

    /// The row groups of a Parquet file to read, each with the index of its first record.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct ParquetPlan {
        /// Whether tables may have to be inferred (all columns read).
        pub infer: bool,
        /// (row group, first record's 0-based index in the file).
        pub groups: Vec<(usize, u64)>,
        /// Records in the row groups skipped.
        pub skipped_records: u64,
        /// What was skipped.
        pub stats: ColumnarStats,
    }

    /// Which root columns of `schema` to decode: those the plan reads, or all of them when a
    /// record's table may have to be inferred from its columns ([`Wanted::infer`]), so that
    /// inference sees what it sees in any other format.
    fn projection(schema: &Schema, want: Wanted<'_>) -> Vec<usize> {
        (0..schema.fields().len())
            .filter(|&i| {
                want.infer || crate::field_of(want.fields, schema.field(i).name()).is_some()
            })
            .collect()
    }

    /// True when the statistics prove that every record of the file names its table: a `Type`
    /// column without nulls whose smallest value is not `""`. Then no table is inferred and
    /// only the needed columns are read.
    fn every_row_typed(
        schema: &Schema,
        parquet: &parquet::schema::types::SchemaDescriptor,
        groups: &[parquet::file::metadata::RowGroupMetaData],
    ) -> bool {
        let Ok(conv) = StatisticsConverter::try_new("Type", schema, parquet) else {
            return false;
        };
        let (Ok(nulls), Ok(mins)) = (
            conv.row_group_null_counts(groups.iter()),
            conv.row_group_mins(groups.iter()),
        ) else {
            return false;
        };
        let no_nulls = (0..nulls.len()).all(|i| nulls.is_valid(i) && nulls.value(i) == 0);
        let non_empty = (0..mins.len()).all(|i| {
            !mins.is_null(i)
                && match mins.data_type() {
                    DataType::Utf8 => !mins.as_string::<i32>().value(i).is_empty(),
                    DataType::LargeUtf8 => !mins.as_string::<i64>().value(i).is_empty(),
                    DataType::Utf8View => !mins.as_string_view().value(i).is_empty(),
                    _ => false,
                }
        });
        no_nulls && non_empty
    }

    /// The stored value of element `i` of a timestamp array of type `T`.
    fn raw<T: arrow_array::ArrowPrimitiveType<Native = i64>>(
        a: &dyn Array,
        i: usize,
    ) -> Option<i64> {
        a.as_primitive_opt::<T>().map(|p| p.value(i))
    }

    /// Decides which row groups of the Parquet file `src` to read, given the span of time any
    /// rule looks at: a group is skipped only when its `Timestamp` column is an Arrow
    /// timestamp whose statistics put every value outside the span (string timestamps, or
    /// missing statistics, are always read).
    pub fn plan_parquet<R: ChunkReader + 'static>(
        name: &str,
        src: R,
        want: Wanted<'_>,
        span: (Option<i64>, Option<i64>),
    ) -> Result<ParquetPlan, InputError> {
        let builder = ParquetRecordBatchReaderBuilder::try_new(src)
            .map_err(|e| format_error(name, "Parquet file", e))?;
        let meta = builder.metadata().clone();
        let schema = builder.schema().clone();
        let groups = meta.row_groups();
        let want = Wanted {
            infer: want.infer && !every_row_typed(&schema, builder.parquet_schema(), groups),
            ..want
        };
        let mut keep = vec![true; groups.len()];
        let unit = schema
            .field_with_name("Timestamp")
            .ok()
            .and_then(|f| match f.data_type() {
                DataType::Timestamp(u, _) => Some(*u),
                _ => None,
            });
        if let (Some(unit), true) = (unit, span.0.is_some() || span.1.is_some()) {
            if let Ok(conv) =
                StatisticsConverter::try_new("Timestamp", &schema, builder.parquet_schema())
            {
                let mins = conv.row_group_mins(groups.iter());
                let maxs = conv.row_group_maxes(groups.iter());
                if let (Ok(mins), Ok(maxs)) = (mins, maxs) {
                    let value = |a: &dyn Array, i: usize| -> Option<i64> {
                        use arrow_array::types::*;
                        if a.is_null(i) {
                            return None;
                        }
                        let v = match unit {
                            TimeUnit::Second => raw::<TimestampSecondType>(a, i),
                            TimeUnit::Millisecond => raw::<TimestampMillisecondType>(a, i),
                            TimeUnit::Microsecond => raw::<TimestampMicrosecondType>(a, i),
                            TimeUnit::Nanosecond => raw::<TimestampNanosecondType>(a, i),
                        }?;
                        ticks(unit, v)
                    };
                    for (g, k) in keep.iter_mut().enumerate() {
                        let (Some(min), Some(max)) = (value(&mins, g), value(&maxs, g)) else {
                            continue;
                        };
                        let before = span.0.is_some_and(|lo| max < lo);
                        let after = span.1.is_some_and(|hi| min > hi);
                        *k = !(before || after);
                    }
                }
            }
        }
        let mut first = 0u64;
        let mut plan = ParquetPlan {
            infer: want.infer,
            groups: Vec::new(),
            skipped_records: 0,
            stats: ColumnarStats {
                row_groups: groups.len() as u64,
                row_groups_skipped: 0,
                columns_read: projection(&schema, want).len() as u64,
                columns_total: schema.fields().len() as u64,
            },
        };
        for (g, rg) in groups.iter().enumerate() {
            let n = u64::try_from(rg.num_rows()).unwrap_or(0);
            if keep[g] {
                plan.groups.push((g, first));
            } else {
                plan.stats.row_groups_skipped += 1;
                plan.skipped_records += n;
            }
            first += n;
        }
        Ok(plan)
    }

    /// Reads the Parquet file `src`, only the columns `fields` names: all of it, or the row
    /// groups `groups` names, the first of which holds the file's record `.1` (0-based).
    pub fn read_parquet<R: ChunkReader + 'static>(
        name: &str,
        src: R,
        groups: Option<(Vec<usize>, u64)>,
        want: Wanted<'_>,
        row: &mut Row,
        sink: &mut dyn RecordSink,
        stats: &mut InputStats,
    ) -> Result<(), InputError> {
        let err = |e: &dyn std::fmt::Display| format_error(name, "Parquet file", e);
        let builder = ParquetRecordBatchReaderBuilder::try_new(src).map_err(|e| err(&e))?;
        let roots = projection(builder.schema(), want);
        let mask = ProjectionMask::roots(builder.parquet_schema(), roots);
        let mut builder = builder.with_projection(mask).with_batch_size(8192);
        let mut record = 0;
        if let Some((g, first)) = groups {
            builder = builder.with_row_groups(g);
            record = first;
        }
        let reader = builder.build().map_err(|e| err(&e))?;
        for batch in reader {
            let batch = batch.map_err(|e| err(&e))?;
            deliver(name, &batch, &mut record, want, row, sink, stats)?;
        }
        Ok(())
    }

    /// Reads an Arrow IPC file or stream held in memory.
    pub fn read_ipc(
        name: &str,
        bytes: &[u8],
        want: Wanted<'_>,
        row: &mut Row,
        sink: &mut dyn RecordSink,
        stats: &mut InputStats,
    ) -> Result<(), InputError> {
        use arrow_ipc::reader::{FileReader, StreamReader};
        let err = |e: &dyn std::fmt::Display| format_error(name, "Arrow IPC data", e);
        let cursor = || std::io::Cursor::new(bytes);
        // The schema first, to know which columns to project.
        let file = bytes.starts_with(ARROW_FILE_MAGIC);
        let schema = if file {
            FileReader::try_new(cursor(), None).map(|r| r.schema())
        } else {
            StreamReader::try_new(cursor(), None).map(|r| r.schema())
        }
        .map_err(|e| err(&e))?;
        let roots = projection(&schema, want);
        stats.format.columnar.columns_read = roots.len() as u64;
        stats.format.columnar.columns_total = schema.fields().len() as u64;
        let batches: Box<dyn Iterator<Item = Result<RecordBatch, arrow_schema::ArrowError>>> =
            if file {
                Box::new(FileReader::try_new(cursor(), Some(roots)).map_err(|e| err(&e))?)
            } else {
                Box::new(StreamReader::try_new(cursor(), Some(roots)).map_err(|e| err(&e))?)
            };
        let mut record = 0u64;
        for batch in batches {
            let batch = batch.map_err(|e| err(&e))?;
            stats.format.columnar.row_groups += 1;
            deliver(name, &batch, &mut record, want, row, sink, stats)?;
        }
        Ok(())
    }

    /// Hands every record of `batch` to `sink`.
    fn deliver(
        name: &str,
        batch: &RecordBatch,
        record: &mut u64,
        want: Wanted<'_>,
        row: &mut Row,
        sink: &mut dyn RecordSink,
        stats: &mut InputStats,
    ) -> Result<(), InputError> {
        let mut rows = BatchRows::new(batch, want.fields)
            .map_err(|e| InputError::Format {
                path: name.into(),
                message: e,
            })?
            .inferring_tables(want.infer);
        for i in 0..rows.len() {
            *record += 1;
            rows.fill(i, row);
            stats.records += 1;
            // The record's index is its "line": columnar files have no lines.
            let loc = Location {
                source: name,
                line: *record,
                record: *record,
            };
            sink.record(row, &loc);
        }
        Ok(())
    }
}

#[cfg(feature = "arrow")]
pub use imp::{plan_parquet, read_ipc, read_parquet, ParquetPlan};

/// Reads a columnar source held in memory (standard input, a zip member).
pub(super) fn read_bytes(
    name: &str,
    framing: Framing,
    bytes: &[u8],
    want: Wanted<'_>,
    row: &mut Row,
    sink: &mut dyn RecordSink,
    stats: &mut InputStats,
) -> Result<(), InputError> {
    #[cfg(feature = "arrow")]
    {
        guarded(
            || match framing {
                Framing::Parquet => {
                    let b = bytes::Bytes::copy_from_slice(bytes);
                    let plan = plan_parquet(name, b.clone(), want, (None, None))?;
                    stats.format.columnar.merge(plan.stats);
                    read_parquet(name, b, None, want, row, sink, stats)
                }
                _ => read_ipc(name, bytes, want, row, sink, stats),
            },
            corrupt(name),
        )
    }
    #[cfg(not(feature = "arrow"))]
    {
        let _ = (bytes, want, row, sink, stats);
        Err(InputError::Format {
            path: name.into(),
            message: format!(
                "a {} file: this scry was built without the `arrow` feature",
                match framing {
                    Framing::Parquet => "Parquet",
                    _ => "Arrow IPC",
                }
            ),
        })
    }
}

/// Reads row groups of the Parquet file at `path` (a piece cut by the run's reader).
pub(super) fn read_path_groups(
    name: &str,
    path: &Path,
    groups: &[(usize, u64)],
    want: Wanted<'_>,
    row: &mut Row,
    sink: &mut dyn RecordSink,
    stats: &mut InputStats,
) -> Result<(), InputError> {
    #[cfg(feature = "arrow")]
    {
        let file = std::fs::File::open(path).map_err(|source| InputError::Open {
            path: path.to_path_buf(),
            source,
        })?;
        let first = groups.first().map_or(0, |g| g.1);
        let ids = groups.iter().map(|g| g.0).collect();
        guarded(
            || read_parquet(name, file, Some((ids, first)), want, row, sink, stats),
            corrupt(name),
        )
    }
    #[cfg(not(feature = "arrow"))]
    {
        let _ = (path, groups, want, row, sink, stats);
        Err(InputError::Format {
            path: name.into(),
            message: "a Parquet file: this scry was built without the `arrow` feature".into(),
        })
    }
}

/// A Parquet file on disk, cut for the worker threads.
#[derive(Debug)]
pub struct ParquetPieces {
    /// One piece per row group to read, plus one counting the records of those skipped.
    pub pieces: Vec<crate::Piece>,
    /// What is read and skipped.
    pub stats: ColumnarStats,
    /// The file's size.
    pub size: u64,
}

/// When `path` is a Parquet file on disk: its pieces. `None` when it is not a Parquet file
/// (or cannot be opened: the usual path reports that).
pub fn parquet_pieces(
    path: &Path,
    want: Wanted<'_>,
    span: (Option<i64>, Option<i64>),
) -> Option<Result<ParquetPieces, InputError>> {
    use std::io::Read;
    // Only a regular file is sniffed (and read by row group, which needs seeking): the magic
    // bytes read from a pipe or FIFO would be lost to the read that follows.
    if !std::fs::metadata(path).is_ok_and(|m| m.is_file()) {
        return None;
    }
    let mut file = std::fs::File::open(path).ok()?;
    let mut magic = [0u8; 4];
    if file.read_exact(&mut magic).is_err() || magic != PARQUET_MAGIC {
        return None;
    }
    #[cfg(feature = "arrow")]
    {
        let size = file.metadata().map_or(0, |m| m.len());
        let name = path.to_string_lossy();
        Some(
            guarded(|| plan_parquet(&name, file, want, span), corrupt(&name)).map(|plan| {
                let mut pieces: Vec<crate::Piece> = plan
                    .groups
                    .iter()
                    .map(|&g| crate::Piece::RowGroups {
                        path: path.to_path_buf(),
                        groups: vec![g],
                        infer: plan.infer,
                    })
                    .collect();
                if plan.skipped_records > 0 {
                    pieces.push(crate::Piece::RuledOut {
                        records: plan.skipped_records,
                    });
                }
                ParquetPieces {
                    pieces,
                    stats: plan.stats,
                    size,
                }
            }),
        )
    }
    #[cfg(not(feature = "arrow"))]
    {
        // Read whole by the usual path, which says this build cannot read it.
        let _ = (want, span);
        None
    }
}
