//! scry's compiler and engine.
#![deny(missing_docs)]

pub mod compile;
pub mod diag;
pub mod eval;
pub mod exec;
pub mod ir;
pub mod kql;
pub mod plan;
pub mod reference;
pub mod row;
pub mod schema;
pub mod testing;
pub mod value;
