//! Running a plan over input files with several threads.
//!
//! One thread reads: it decompresses and cuts each input into [`Piece`]s at line ends
//! ([`io::read_pieces`]). Worker threads each own an [`Executor`] and evaluate whole pieces;
//! at the end their partial states merge ([`Executor::merge`]) into the results one executor
//! would give over the whole input: aggregates merge exactly, rows without `summarize` carry
//! (piece, sequence) tags that restore input order, so the output is the same bytes for any
//! number of threads.
//!
//! Rules testing `distinct` sets need a first pass that fills the sets (parsing only the
//! lines the sets' prefilter lets through); an input that can be read once only (standard
//! input, a FIFO: see [`io::is_rereadable`]) is never reopened, so then the executors hold
//! candidate rows instead and decide them at the end: compact rows, which go to a temporary
//! file past [`RunOptions::held_budget`].
//!
//! Memory is bounded by the pieces in flight: the channel to the workers holds two pieces
//! per worker and the reader blocks when it is full, whatever the input (a file, a pipe, a
//! decompressor); evaluated pieces' buffers come back for reuse.
//!
//! Beside [`run`], the drivers that use readers and executors together: [`stream`] (exact
//! windows on a moving clock, for `scry stream`), [`testing`] (a rule's own examples),
//! [`explain`] (why one event passes a rule or not) and [`examples`] (examples generated from a
//! rule's needles).
//!
//! ```
//! use scry_compile::{compile, schema::Catalog};
//! use std::sync::Arc;
//!
//! let dir = std::env::temp_dir().join(format!("scry-run-doc-{}", std::process::id()));
//! std::fs::create_dir_all(&dir).unwrap();
//! let input = dir.join("events.jsonl");
//! std::fs::write(&input, concat!(
//!     r#"{"Type": "DeviceFileCertificateInfo", "DeviceName": "pc-1", "Signer": "Action1 Corp"}"#, "\n",
//!     r#"{"Type": "DeviceFileCertificateInfo", "DeviceName": "pc-2", "Signer": "Contoso"}"#, "\n",
//! )).unwrap();
//! let mut sources = compile::Sources::default();
//! sources.add("r.scry", r#"rule r { id "1" from DeviceFileCertificateInfo where Signer has 'Action1' }"#);
//! let compiled = compile::compile(&sources, Arc::new(Catalog::builtin()));
//! let plan = scry_plan::Plan::new(compiled.rules);
//! let out = scry_run::run(&plan, &[input], &scry_run::RunOptions::default());
//! assert_eq!(out.stats.read, 2);
//! assert_eq!(out.results.len(), 1);
//! std::fs::remove_dir_all(&dir).unwrap();
//! ```
#![deny(missing_docs)]

pub mod examples;
pub mod explain;
pub mod stream;
pub mod testing;

// The stages below this one, under the names the code uses (`crate::kql::...`).
use scry_compile::compile;
use scry_compile::ir;
use scry_compile::reference;
use scry_compile::row;
use scry_compile::schema;
use scry_exec as exec;
use scry_exec::state;
use scry_io as io;
use scry_kql as kql;
use scry_kql::value;
use scry_plan as plan;

use crate::exec::{CollectedSets, Executor, ResultRow, RunStats};
use crate::io::{InputError, InputStats, Location, Piece, ReadOptions, RecordSink, SkipReason};
use crate::plan::Plan;
use crate::row::Row;
use std::path::PathBuf;
use std::sync::mpsc;
use std::sync::Mutex;

/// How to run.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// The clock, in ticks.
    pub now: i64,
    /// `--table`.
    pub table: Option<String>,
    /// `--since` / `--until`, in ticks.
    pub since: Option<i64>,
    /// See `since`.
    pub until: Option<i64>,
    /// Why the prefilter is off (`--strict`, `--no-prefilter`), if it is.
    pub no_prefilter: Option<String>,
    /// Worker threads (at least 1).
    pub threads: usize,
    /// Reader options.
    pub read: ReadOptions,
    /// How many skipped records to keep for reporting (the first ones, in input order).
    pub max_reports: usize,
    /// Bytes per piece.
    pub chunk_bytes: usize,
    /// Measure time per rule.
    pub profile: bool,
    /// Counters a progress display can read while the run goes on.
    pub progress: Option<std::sync::Arc<Progress>>,
    /// The `summarize` group budget over all rules (see [`Executor::with_max_groups`]).
    pub max_groups: usize,
    /// Memory for the rows held for `distinct` sets in a one-pass run, shared by the workers
    /// (each keeps its share); more goes to a temporary file (see
    /// [`Executor::with_held_budget`]). Shared, so a run's peak does not grow with threads.
    pub held_budget: usize,
}

/// Live counters of a run, for a progress display (read from another thread).
#[derive(Debug, Default)]
pub struct Progress {
    /// Bytes of the inputs read so far (as stored: compressed bytes for gzip).
    pub bytes: std::sync::atomic::AtomicU64,
    /// Total bytes of the inputs that are files (standard input is not counted).
    pub total: std::sync::atomic::AtomicU64,
    /// Which pass: 1 of 2 while the sets fill, then 2 of 2 (0 for a single pass).
    pub pass: std::sync::atomic::AtomicU64,
    /// Records read so far in this pass.
    pub records: std::sync::atomic::AtomicU64,
}

/// Counts the bytes read through it into [`Progress::bytes`].
struct Counted<R> {
    inner: R,
    progress: Option<std::sync::Arc<Progress>>,
}

impl<R: std::io::Read> std::io::Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        if let Some(p) = &self.progress {
            p.bytes
                .fetch_add(n as u64, std::sync::atomic::Ordering::Relaxed);
        }
        Ok(n)
    }
}

impl Default for RunOptions {
    fn default() -> RunOptions {
        RunOptions {
            now: 0,
            table: None,
            since: None,
            until: None,
            no_prefilter: None,
            threads: 1,
            read: ReadOptions::default(),
            max_reports: 20,
            chunk_bytes: 2 << 20,
            profile: false,
            progress: None,
            max_groups: crate::exec::DEFAULT_MAX_GROUPS,
            held_budget: crate::exec::DEFAULT_HELD_BUDGET,
        }
    }
}

/// A record that was skipped, where.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Report {
    /// Index of the input.
    pub input: usize,
    /// Its 1-based line.
    pub line: u64,
    /// What was wrong.
    pub message: String,
}

/// What one input gave.
#[derive(Debug, Clone)]
pub struct InputReport {
    /// The path as given (`-` for standard input).
    pub name: String,
    /// Its statistics (records from every piece, bytes, detected format).
    pub stats: InputStats,
    /// The error that stopped reading it, if any (records before it were evaluated).
    pub error: Option<String>,
}

/// The outcome of a run.
#[derive(Debug)]
pub struct RunOutcome {
    /// Result rows, deterministic.
    pub results: Vec<ResultRow>,
    /// Counters.
    pub stats: RunStats,
    /// Per input.
    pub inputs: Vec<InputReport>,
    /// The first skipped records (up to [`RunOptions::max_reports`]), in input order.
    pub reports: Vec<Report>,
    /// All skipped records reported (`reports` may hold fewer).
    pub reported: u64,
    /// True when the sets were filled in a first pass.
    pub two_pass: bool,
    /// The number of values in each `distinct` set.
    pub set_sizes: Vec<usize>,
    /// The prefilter of the run, as `scry explain` prints it.
    pub prefilter: String,
    /// Time and rows per rule, with [`RunOptions::profile`].
    pub profile: Option<Vec<crate::exec::RuleProfile>>,
    /// Wall-clock time of the whole run.
    pub elapsed: std::time::Duration,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Pass {
    /// Fill the sets only.
    Sets,
    /// Evaluate the rules.
    Rules,
}

struct Job {
    input: usize,
    piece_index: u64,
    piece: Piece,
}

struct WorkerSink<'e, 'p> {
    exec: &'e mut Executor<'p>,
    pass: Pass,
    input: usize,
    reports: Vec<Report>,
    reported: u64,
    max_reports: usize,
}

impl WorkerSink<'_, '_> {
    fn report(&mut self, loc: &Location<'_>, message: String) {
        self.reported += 1;
        // Pieces reach a worker in input order, so its first reports are the only ones that
        // can be among the run's first `max_reports`.
        if self.reports.len() < self.max_reports {
            self.reports.push(Report {
                input: self.input,
                line: loc.line,
                message,
            });
        }
    }
}

impl RecordSink for WorkerSink<'_, '_> {
    fn marks(&mut self, piece: &[u8]) -> Option<Vec<usize>> {
        match self.pass {
            Pass::Sets => self.exec.set_marks(piece),
            Pass::Rules => self.exec.marks(piece),
        }
    }
    fn ruled_out(&mut self, n: u64) {
        if self.pass == Pass::Rules {
            self.exec.rule_out(n);
        }
    }
    fn covers_windows(&mut self) -> bool {
        match self.pass {
            Pass::Sets => self.exec.set_prefilter().covers_windows(),
            Pass::Rules => self.exec.prefilter().covers_windows(),
        }
    }
    fn candidate(&mut self, line: &[u8]) -> bool {
        match self.pass {
            Pass::Sets => self.exec.set_candidate(line),
            Pass::Rules => self.exec.candidate(line),
        }
    }
    fn record(&mut self, row: &Row, loc: &Location<'_>) {
        match self.pass {
            // A record the sets cannot read is reported by the second pass.
            Pass::Sets => drop(self.exec.collect_sets(row)),
            Pass::Rules => {
                // A record index only where there is no line (EVTX): JSON lines count records
                // per piece, which would make the origin depend on how the input was cut.
                let origin = crate::exec::origin::Origin {
                    input: self.input,
                    line: loc.line,
                    record: if loc.line == 0 { loc.record } else { 0 },
                };
                if let Err(skip) = self.exec.process_at(row, origin) {
                    self.report(loc, skip.to_string());
                }
            }
        }
    }
    fn skipped(&mut self, loc: &Location<'_>, reason: &SkipReason) {
        if self.pass == Pass::Rules {
            self.exec.skip(reason.kind().to_string());
            self.report(loc, reason.to_string());
        }
    }
}

/// What a pass over the inputs gives back.
struct PassOutcome<'p> {
    exec: Executor<'p>,
    inputs: Vec<InputReport>,
    reports: Vec<Report>,
    reported: u64,
}

fn new_executor<'p>(plan: &'p Plan, opts: &RunOptions) -> Executor<'p> {
    let mut exec = Executor::new(plan, opts.now, opts.table.clone())
        .with_time_range(opts.since, opts.until)
        .with_max_groups(opts.max_groups)
        .with_held_budget(opts.held_budget / opts.threads.max(1));
    if opts.profile {
        exec = exec.with_profile();
    }
    match &opts.no_prefilter {
        Some(why) => exec.without_prefilter(why),
        None => exec,
    }
}

fn one_pass<'p>(
    plan: &'p Plan,
    inputs: &[PathBuf],
    opts: &RunOptions,
    pass: Pass,
    sets: Option<&CollectedSets>,
) -> PassOutcome<'p> {
    let threads = opts.threads.max(1);
    // Without --table, a record that names no table gets one from its columns.
    let read = ReadOptions {
        columns: opts.table.is_none(),
        ..opts.read.clone()
    };
    let read = &read;
    // A few pieces in flight per worker: enough to keep them busy, little memory.
    let (tx, rx) = mpsc::sync_channel::<Job>(threads * 2);
    let rx = Mutex::new(rx);
    // Evaluated pieces' buffers go back to the reader for reuse.
    let (back_tx, back_rx) = mpsc::channel::<Vec<u8>>();
    let names: Vec<String> = inputs.iter().map(|p| p.display().to_string()).collect();
    let mut reports_in: Vec<InputReport> = names
        .iter()
        .map(|n| InputReport {
            name: n.clone(),
            stats: InputStats::default(),
            error: None,
        })
        .collect();
    let worker_results = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                let rx = &rx;
                let names = &names;
                let back_tx = back_tx.clone();
                scope.spawn(move || {
                    let mut exec = new_executor(plan, opts);
                    if let Some(s) = sets {
                        exec.use_sets(s);
                    }
                    let fields = exec.fields().clone();
                    let mut row = Row::new(&fields);
                    let mut sink_reports = Vec::new();
                    let mut reported = 0;
                    let mut per_input: Vec<(usize, InputStats, Option<String>)> = Vec::new();
                    loop {
                        // The lock is held only to take the next job.
                        let job = match rx.lock() {
                            Ok(r) => r.recv(),
                            Err(_) => break,
                        };
                        let Ok(job) = job else { break };
                        exec.begin_chunk(job.piece_index);
                        let mut sink = WorkerSink {
                            exec: &mut exec,
                            pass,
                            input: job.input,
                            reports: std::mem::take(&mut sink_reports),
                            reported,
                            max_reports: opts.max_reports,
                        };
                        let res = io::read_piece(
                            &names[job.input],
                            &job.piece,
                            &fields,
                            read,
                            &mut row,
                            &mut sink,
                        );
                        sink_reports = sink.reports;
                        reported = sink.reported;
                        if let (Some(p), Ok(st)) = (&opts.progress, &res) {
                            p.records
                                .fetch_add(st.records, std::sync::atomic::Ordering::Relaxed);
                        }
                        match res {
                            Ok(st) => per_input.push((job.input, st, None)),
                            Err(e) => per_input.push((
                                job.input,
                                InputStats::default(),
                                Some(e.to_string()),
                            )),
                        }
                        if let Piece::Lines { bytes, .. } = job.piece {
                            // A buffer grown by a long line is dropped, not reused: kept, a
                            // few of them would hold up to the record limit each. The reader
                            // may have finished: then the buffer is just dropped too.
                            if bytes.capacity() <= 2 * opts.chunk_bytes + (64 << 10) {
                                let _ = back_tx.send(bytes);
                            }
                        }
                    }
                    (exec, sink_reports, reported, per_input)
                })
            })
            .collect();
        // This thread reads and cuts.
        drop(back_tx);
        let chunk_bytes = opts.chunk_bytes;
        let mut spare = || {
            back_rx
                .try_recv()
                .unwrap_or_else(|_| Vec::with_capacity(chunk_bytes + (64 << 10)))
        };
        let mut piece_index = 0u64;
        if let Some(p) = &opts.progress {
            use std::sync::atomic::Ordering::Relaxed;
            p.bytes.store(0, Relaxed);
            p.records.store(0, Relaxed);
            let total: u64 = inputs
                .iter()
                .filter_map(|p| std::fs::metadata(p).ok())
                .map(|m| m.len())
                .sum();
            p.total.store(total, Relaxed);
        }
        // Parquet files are cut by row group, read by the workers from the file itself.
        let fields = Executor::columnar(plan, opts.now, opts.table.clone())
            .fields()
            .clone();
        let span = crate::exec::time_span(plan, opts.now, opts.since, opts.until);
        for (i, path) in inputs.iter().enumerate() {
            let mut emit = |piece: Piece| {
                // A send fails only if every worker is gone (they panicked): nothing to do.
                let _ = tx.send(Job {
                    input: i,
                    piece_index,
                    piece,
                });
                piece_index += 1;
            };
            let want = io::Wanted {
                fields: &fields,
                infer: opts.table.is_none(),
            };
            if let Some(res) = io::parquet_pieces(path, want, span) {
                let r = &mut reports_in[i];
                r.stats.format.framing = io::Framing::Parquet;
                match res {
                    Ok(io::ParquetPieces {
                        pieces,
                        stats,
                        size,
                    }) => {
                        r.stats.bytes = size;
                        r.stats.decoded_bytes = size;
                        r.stats.format.columnar = stats;
                        for p in pieces {
                            emit(p);
                        }
                        if let Some(p) = &opts.progress {
                            p.bytes
                                .fetch_add(size, std::sync::atomic::Ordering::Relaxed);
                        }
                    }
                    Err(e) => r.error = Some(e.to_string()),
                }
                continue;
            }
            // A regular file of JSON lines is mapped, not read: the workers read the page
            // cache in place (see `io::map_pieces`); progress counts what the pieces cover.
            let mapped = if path.as_os_str() == "-" {
                None
            } else {
                io::map_pieces(path, &names[i], &opts.read, chunk_bytes, &mut |piece| {
                    if let Some(p) = &opts.progress {
                        let n = match &piece {
                            #[cfg(unix)]
                            Piece::MappedLines { bytes, .. } => bytes.len(),
                            Piece::TooLong { bytes, .. } => bytes.saturating_add(1),
                            _ => 0,
                        };
                        p.bytes
                            .fetch_add(n as u64, std::sync::atomic::Ordering::Relaxed);
                    }
                    emit(piece)
                })
            };
            let (ps, res) = if let Some(mapped) = mapped {
                mapped
            } else if path.as_os_str() == "-" {
                let stdin = Counted {
                    inner: std::io::stdin().lock(),
                    progress: opts.progress.clone(),
                };
                io::read_pieces(
                    "<stdin>",
                    stdin,
                    &opts.read,
                    chunk_bytes,
                    &mut spare,
                    &mut emit,
                )
            } else {
                match io::open_input(path) {
                    Ok(f) => io::read_pieces(
                        &names[i],
                        Counted {
                            inner: f,
                            progress: opts.progress.clone(),
                        },
                        &opts.read,
                        chunk_bytes,
                        &mut spare,
                        &mut emit,
                    ),
                    Err(source) => (
                        io::PieceStats::default(),
                        Err(InputError::Open {
                            path: path.clone(),
                            source,
                        }),
                    ),
                }
            };
            // Also for an input that ended in an error: a truncated gzip stream reports the
            // bytes it had, not 0.
            let r = &mut reports_in[i];
            r.stats.bytes = ps.bytes;
            r.stats.decoded_bytes = ps.decoded_bytes;
            r.stats.format.framing = ps.framing;
            r.stats.format.gzip = ps.gzip;
            r.stats.format.zstd = ps.zstd;
            if let Err(e) = res {
                r.error = Some(e.to_string());
            }
        }
        drop(tx);
        workers
            .into_iter()
            .map(|w| w.join().expect("a worker thread does not panic"))
            .collect::<Vec<_>>()
    });
    let mut merged: Option<Executor<'p>> = None;
    let mut reports = Vec::new();
    let mut reported = 0;
    for (exec, rep, n, per_input) in worker_results {
        reports.extend(rep);
        reported += n;
        for (i, st, err) in per_input {
            let r = &mut reports_in[i];
            r.stats.records += st.records;
            r.stats.skipped += st.skipped;
            r.stats.ruled_out += st.ruled_out;
            r.stats.format.shapes.merge(st.format.shapes);
            // Columnar sources read whole report what they read (cut ones count nothing here).
            r.stats.format.columnar.merge(st.format.columnar);
            if r.error.is_none() {
                r.error = err;
            }
        }
        match &mut merged {
            None => merged = Some(exec),
            Some(m) => m.merge(exec),
        }
    }
    reports.sort();
    reports.truncate(opts.max_reports);
    PassOutcome {
        exec: merged.unwrap_or_else(|| new_executor(plan, opts)),
        inputs: reports_in,
        reports,
        reported,
    }
}

/// Runs `plan` over `inputs` (paths; `-` is standard input).
pub fn run(plan: &Plan, inputs: &[PathBuf], opts: &RunOptions) -> RunOutcome {
    let started = std::time::Instant::now();
    // An input that can be read once only (standard input, a FIFO, a process substitution)
    // is never opened twice: then the whole run is one pass, holding candidate rows.
    let two_pass = !plan.sets.is_empty() && inputs.iter().all(|p| io::is_rereadable(p));
    let sets = two_pass.then(|| {
        one_pass(plan, inputs, opts, Pass::Sets, None)
            .exec
            .collected_sets()
    });
    let PassOutcome {
        mut exec,
        inputs: input_reports,
        reports,
        reported,
    } = one_pass(plan, inputs, opts, Pass::Rules, sets.as_ref());
    let results = exec.finish();
    RunOutcome {
        results,
        set_sizes: exec.set_sizes(),
        prefilter: exec.prefilter().to_string(),
        profile: exec.profile().map(<[_]>::to_vec),
        elapsed: started.elapsed(),
        stats: exec.stats,
        inputs: input_reports,
        reports,
        reported,
        two_pass,
    }
}
