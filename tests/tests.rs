//! Integration tests of the `scry` binary and the engine, one module per concern.
//!
//! - `architecture`: crates depend on earlier stages only; no two modules import each other.
//! - `bins`: time buckets (`bin`, `bin_at`, `startof*`) case by case, compiled and reference.
//! - `conformance`: every public case of the matching contract, through the library and
//!   through `scry eval`.
//! - `rule_packs`: walks `rules/`, runs each rule's examples, snapshots plans and results.
//! - `diagnostics`: a folder of invalid rule files, each snapshotted with its rendered errors.
//! - `sets`: rules over several tables through `distinct` sets, in one and two passes.
//! - `shapes`: the same rows in every input shape give the same results.
//! - `tables`: rows without a table column get the one table their columns fit, or are skipped
//!   with the candidates named.
//! - `threads`: any number of threads and any cut into pieces give the same results (also
//!   `arg_max` ties and nulls, and `take`, for any order of arrival and merging).
//! - `timeline`: `threshold` and `sequence` through the plan, split over executors and
//!   through state entries, against a naive reference built on the reference evaluator.
//! - `cli`: the README commands and exit codes.
//! - `cli_output`: hostile text escaped for people, kept for machines; `--strict` and empty
//!   inputs; `--output` checked before reading; rules named in result rows; a short summary.
//! - `formats`: `--format sarif | ocsf | timesketch` validate against their formats' published
//!   schemas (vendored in tests/data/schemas).
//! - `robustness`: corrupt and hostile input (malformed JSON, ragged CSV, truncated gzip,
//!   missing and vanishing files, deep nesting, record size, group budget): golden stdout and
//!   stderr with reconciled summaries; the README's first two commands as written.
//! - `memory`: memory stays flat: rows held for `distinct` sets spill to a temporary file and
//!   give the two-pass results; every pack over a pipe peaks under 64 MiB.
//! - `report`: `scry run --report`: figures equal the run summary, events escaped, and the page
//!   renders in headless Chromium without console errors (a screenshot is taken).
//! - `prefilter`: the same results with and without the prefilter, on adversarial spellings.
//! - `differential`: the optimized plan against the reference evaluator on generated events.
//! - `generated_examples`: `scry examples` blocks, built from a rule's needles, pass `scry test`.
//! - `lolrmm`: the LOLRMM pack is what `scry import lolrmm` writes; coverage from compiled rules.
//! - `import_export`: `scry import kql` / `scry export kql` over the upstream corpus: the known
//!   defects with their places, `--fix` packs that compile, import → export → import round trips
//!   (every pack, the `project` / `take` / `arg_max` feature pack, joins of every kind, time
//!   buckets and `first_seen`).
//! - `export_sigma`: `scry export sigma` over the packs: each rule exported or refused by
//!   name (E0311); every exported rule, read back by the Sigma frontend, decides as the scry
//!   rule on its examples, generated events and hostile variants; the YAML validates against
//!   the Sigma rule schema.
//! - `stream` (feature `kafka`): `scry stream` on librdkafka's mock cluster, three instances,
//!   one killed mid-run: the latest alerts equal `scry run` over the same events.
//! - `columnar`: Parquet and Arrow IPC inputs give the rows JSON lines give; projection and
//!   row-group skipping are reported; unreadable files and column types are named.
//! - `fmt`: `scry fmt`: every pack formatted, idempotence (a property test with comments
//!   anywhere), the plan unchanged, `--check` diffs.
//! - `why`: `scry why` explains every pack example as the engine decides it, naming the reason;
//!   `--input FILE --line N` reads export lines as `scry run` does.
//! - `lsp`: `scry lsp` driven over stdio by a JSON-RPC client: the diagnostics of `scry check`
//!   for every invalid fixture, fixes, completion with schema docs, formatting, hover,
//!   definitions, `--schema`, example verdicts on save.
//! - `windows`: EVTX and Sysmon JSON inputs: real files load cleanly, planted RMM tools are
//!   found through `sysmon-mapping.json`, damaged EVTX chunks are reported and counted.

mod architecture;
mod bins;
mod cli;
mod cli_output;
mod columnar;
mod conformance;
mod diagnostics;
mod differential;
mod export_sigma;
mod fmt;
mod formats;
mod generated_examples;
mod import_export;
mod lolrmm;
mod lsp;
mod memory;
mod prefilter;
mod report;
mod robustness;
mod rule_packs;
mod sets;
mod shapes;
#[cfg(feature = "kafka")]
mod stream;
mod tables;
mod threads;
mod timeline;
mod util;
mod why;
mod windows;
