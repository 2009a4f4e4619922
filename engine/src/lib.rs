//! scry's compiler and engine.
#![deny(missing_docs)]

pub mod kql;
pub mod reference;
pub mod row;
pub mod value;
pub mod compile;
pub mod diag;
pub mod eval;
pub mod ir;
pub mod schema;
pub mod exec;
pub mod plan;
pub mod testing;
