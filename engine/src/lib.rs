//! scry's compiler and engine: from `.scry` rules to results over event files.
//!
//! This crate is the facade over the stage crates under `engine/`; each stage depends only on
//! the stages before it:
//!
//! ```text
//! scry-grammar ─┐
//! scry-kql ─────┴─> scry-compile ─> scry-plan ─┬─> scry-exec ─┬─> scry-run
//!                        └──────> scry-io ─────┴──────────────┴─> scry-arrow
//! ```
//!
//! The path: [`compile::compile`] parses rule files (the `scry-grammar` crate), resolves every
//! name against a [`schema::Catalog`], type-checks and lowers each rule to [`ir`]; a
//! [`plan::Plan`] groups the rules per table and merges every constant needle of every rule on
//! one column into one multi-pattern automaton; an [`exec::Executor`] evaluates rows (which the
//! [`io`] readers push into a [`io::RecordSink`]) and aggregates per rule into mergeable
//! [`state`]s; [`run`] wires readers to executors over threads. [`kql`] holds the matching
//! semantics as plain functions, shared by every stage; [`reference`] is the plain AST
//! evaluator the differential tests compare the plan against. [`import`] turns Sentinel /
//! Defender rule YAML and KQL into scry rules, [`export`] prints scry rules as KQL.
//! [`examples`] builds a rule's example events from its own needles. See
//! `docs/architecture.md` for where a new rule source, operator, reader or sink goes.
//!
//! ```
//! use scry_engine::{compile, exec, plan, row::Row, schema::Catalog};
//! use std::sync::Arc;
//! # fn main() -> Result<(), String> {
//! let mut sources = compile::Sources::default();
//! sources.add("r.scry", r#"rule r { id "1" from DeviceFileCertificateInfo
//!     where Signer has 'Krämer IT Solutions GmbH'
//!     summarize Count = count() by DeviceName }"#);
//! let compiled = compile::compile(&sources, Arc::new(Catalog::builtin()));
//! assert!(!compiled.has_errors());
//! let plan = plan::Plan::new(compiled.rules);
//! let mut ex = exec::Executor::new(&plan, 0, Some("DeviceFileCertificateInfo".into()));
//! let fields = ex.fields().clone();
//! let mut row = Row::new(&fields);
//! exec::row_from_json(r#"{"DeviceName": "pc-1", "Signer": "KRÄMER IT SOLUTIONS GMBH"}"#, &fields, &mut row)?;
//! ex.process(&row).map_err(|e| e.to_string())?;
//! let results = ex.finish();
//! assert_eq!(results.len(), 1);
//! # Ok(()) }
//! ```
#![deny(missing_docs)]

pub use scry_kql as kql;
pub use scry_kql::value;

pub use scry_compile::{compile, diag, eval, export, import, ir, reference, row, schema, sigma};

pub use scry_plan as plan;
pub use scry_plan::{prefilter, scan};

pub use scry_io as io;

/// The executor ([`scry_exec`]), with [`exec::row_from_json`] from the readers beside it:
/// examples and `scry eval` fill a row through the reader real inputs go through.
pub mod exec {
    pub use scry_exec::*;
    pub use scry_io::row_from_json;
}
pub use scry_exec::{origin, state};

pub use scry_run as run;
pub use scry_run::{examples, explain, stream, testing};

#[cfg(feature = "arrow")]
pub use scry_arrow as arrow;
