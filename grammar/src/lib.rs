//! The scry rule language: a pest grammar, an AST that keeps a [`Span`] on every node, and
//! syntax diagnostics that say where and what was expected.
//!
//! PLACEHOLDER: the parser is being written; the API below is fixed.
#![deny(missing_docs)]

pub mod ast;

pub use ast::*;

/// A syntax error: where, what went wrong, and what would have been accepted there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    /// A stable code, `E0001`...; see `docs/diagnostics.md`.
    pub code: &'static str,
    /// One line: what is wrong.
    pub message: String,
    /// The offending text (an empty span at the position where something was expected).
    pub span: Span,
    /// Human names of what was expected there ("string literal", "`}`", ...), sorted.
    pub expected: Vec<String>,
    /// Extra notes and hints.
    pub notes: Vec<String>,
}

/// Parses a whole `.scry` file.
pub fn parse_file(source: &str) -> Result<File, Vec<SyntaxError>> {
    let _ = source;
    todo!()
}

/// Parses one expression (for `scry eval`), e.g. `'Action1-Corp' has 'Action1'`.
pub fn parse_expr(source: &str) -> Result<Expr, Vec<SyntaxError>> {
    let _ = source;
    todo!()
}
