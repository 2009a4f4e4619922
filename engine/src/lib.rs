//! scry's compiler and engine.
#![deny(missing_docs)]

pub mod kql;
pub mod reference;
pub mod row;
pub mod value;
