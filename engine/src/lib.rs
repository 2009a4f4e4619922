//! scry's compiler and engine: from `.scry` rules to results over event files.
//!
//! The path: [`compile::compile`] parses rule files (the `scry-grammar` crate), resolves every
//! name against a [`schema::Catalog`], type-checks and lowers each rule to [`ir`]; a
//! [`plan::Plan`] groups the rules per table and merges every constant needle of every rule on
//! one column into one multi-pattern automaton; an [`exec::Executor`] pushes rows from the
//! [`io`] readers through the plan and aggregates per rule. [`kql`] holds the matching
//! semantics as plain functions, shared by every stage; [`reference`] is the plain AST
//! evaluator the differential tests compare the plan against. [`import`] turns Sentinel /
//! Defender rule YAML and KQL into scry rules, [`export`] prints scry rules as KQL.
//! [`examples`] builds a rule's example events from its own needles, each verdict derived
//! from the contract by construction and confirmed by a checker that shares no engine code.
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

#[cfg(feature = "arrow")]
pub mod arrow;
pub mod compile;
pub mod diag;
pub mod eval;
pub mod examples;
pub mod exec;
pub mod explain;
pub mod export;
pub mod import;
pub mod io;
pub mod ir;
pub mod kql;
pub mod origin;
pub mod plan;
pub mod prefilter;
pub mod reference;
pub mod row;
pub mod run;
pub mod scan;
pub mod schema;
pub mod state;
pub mod stream;
pub mod testing;
pub mod value;
