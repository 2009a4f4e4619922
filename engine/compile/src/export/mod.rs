//! Exporters: scry rules → KQL hunting queries and Sentinel rule YAML ([`kql`]), and →
//! Sigma rules ([`sigma`]). Both read a `.scry` file with [`parse`] and hand each rule its
//! file's `let`s.

pub mod sigma;

mod kql;

pub use kql::{kql, Exported};

use crate::compile::syntax_diagnostic;
use crate::diag::Diagnostic;
use scry_grammar::{self as ast, Item};

/// A file to export, or its syntax errors as diagnostics.
fn parse(source: &str, file: usize) -> Result<ast::File, Vec<Diagnostic>> {
    ast::parse_file(source)
        .map_err(|errs| errs.iter().map(|e| syntax_diagnostic(file, e)).collect())
}

/// The file's top-level `let`s, which every rule of it sees.
fn file_lets(parsed: &ast::File) -> Vec<&ast::Let> {
    parsed
        .items
        .iter()
        .filter_map(|i| match i {
            Item::Let(l) => Some(l),
            _ => None,
        })
        .collect()
}
