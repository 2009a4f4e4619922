//! scry's compiler and engine.
#![deny(missing_docs)]

pub mod io;
pub mod kql;
pub mod row;
pub mod value;
