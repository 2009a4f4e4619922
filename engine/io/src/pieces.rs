//! Inputs cut into pieces at line ends, so that worker threads evaluate whole pieces while
//! one thread reads and decompresses.

use super::*;

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
    /// Whole JSON lines as [`Piece::Lines`], mapped from a regular file rather than read
    /// into a buffer ([`crate::map_pieces`]).
    #[cfg(unix)]
    MappedLines {
        /// The line number of the first line.
        first_line: u64,
        /// The bytes, mapped.
        bytes: crate::Mapped,
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
pub(super) struct LineCutter {
    limit: usize,
    chunk_bytes: usize,
    /// The line number of the first line not yet emitted.
    first_line: u64,
    /// Bytes searched for line ends ([`PieceStats::scanned`]).
    scanned: u64,
}

impl LineCutter {
    pub(super) fn cut(
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

    pub(super) fn emit_lines(&mut self, bytes: Vec<u8>, emit: &mut dyn FnMut(Piece)) {
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
    pub(super) fn skip_long_line(
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
pub(super) fn fill_to(
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
        Piece::Lines { first_line, bytes } => (Framing::JsonLines, *first_line, &bytes[..]),
        #[cfg(unix)]
        Piece::MappedLines { first_line, bytes } => (Framing::JsonLines, *first_line, &bytes[..]),
        Piece::Whole { framing, bytes } => (*framing, 1, &bytes[..]),
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
    let input = bytes;
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
