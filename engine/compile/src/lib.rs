//! scry's frontends, down to the typed IR: rules are resolved against a [`schema::Catalog`],
//! type-checked, linted and lowered into [`ir`] expressions inside a [`compile::RuleSet`].
//!
//! | module | what |
//! |---|---|
//! | [`compile`] | the `.scry` frontend: parse (scry-grammar), resolve, type-check, lint, lower |
//! | [`import`] | the KQL frontend: Sentinel / Defender rule YAML and KQL into `.scry` rules |
//! | [`export`] | scry rules back to KQL and to Sigma |
//! | [`schema`] | tables, columns, aliases, the Sysmon mapping: data files, no Rust per table |
//! | [`ir`] | the typed IR (smart constructors simplify as they build) |
//! | [`eval`] | the IR interpreter the executor calls for what is not a needle atom |
//! | [`reference`] | the plain AST evaluator the differential tests compare the plan against |
//! | [`diag`] | coded diagnostics with spans, notes and did-you-mean |
//! | [`row`] | the field sets and reused row buffer every stage reads cells from |
//!
//! A new rule source (Sigma) is one more frontend module here, lowering into the same
//! [`compile::RuleSet`]: the stages above never see where a rule came from.
//!
//! ```
//! use scry_compile::{compile, schema::Catalog};
//! use std::sync::Arc;
//!
//! let mut sources = compile::Sources::default();
//! sources.add("r.scry", r#"rule r { id "1" from DeviceFileCertificateInfo
//!     where Signer has 'Krämer IT Solutions GmbH' }"#);
//! let compiled = compile::compile(&sources, Arc::new(Catalog::builtin()));
//! assert!(!compiled.has_errors());
//! assert_eq!(compiled.rules.rules.len(), 1);
//! ```

#![deny(missing_docs)]

pub mod compile;
pub mod diag;
pub mod eval;
pub mod export;
pub mod import;
pub mod ir;
pub mod reference;
pub mod row;
pub mod schema;
pub mod sigma;

// The stages below this one, under the names the code uses (`crate::kql::...`).
use scry_kql as kql;
use scry_kql::value;
