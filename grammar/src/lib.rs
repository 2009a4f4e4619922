//! The scry rule language: a pest grammar, an AST that keeps a [`Span`] on every node, and
//! syntax diagnostics that say where and what was expected.
//!
//! The entry points are [`parse_file`] (a `.scry` file → [`File`]) and [`parse_expr`] (one
//! KQL expression → [`Expr`]). Both return every [`SyntaxError`] they can find; errors carry a
//! stable code from [`codes`], a span, and human names for what was expected.
//! [`render_plain`] prints an error with its source line for logs and tests; [`print`] prints
//! trees back to text (scry, or KQL, whose expression syntax scry shares); [`fmt::format`] gives a
//! file its canonical layout, keeping its comments.
//!
//! Design: pest delimits tokens and structure (`scry.pest`); a visitor builds the AST and
//! decodes literals, so that a bad escape or an overflowing number gets its own code and a
//! precise span. A lexical pre-scan bounds bracket nesting before pest runs, because pest
//! recurses per bracket without a limit.
//!
//! ```
//! use scry_grammar::{parse_expr, parse_file, render_plain, BinOp, ExprKind, Item};
//!
//! let src = r#"
//! rule servereye_signature {
//!   severity medium
//!   from DeviceFileCertificateInfo
//!   where Signer has 'Krämer IT Solutions GmbH'
//! }"#;
//! let file = parse_file(src).unwrap();
//! let Item::Rule(rule) = &file.items[0] else { panic!() };
//! assert_eq!(rule.name.name, "servereye_signature");
//!
//! let e = parse_expr("a == 1 or b == 2").unwrap();
//! assert!(matches!(e.kind, ExprKind::Binary { op: BinOp::Or, .. }));
//!
//! let errs = parse_file("rule r { title }").unwrap_err();
//! assert_eq!(errs[0].code, "E0001");
//! print!("{}", render_plain("r.scry", "rule r { title }", &errs[0]));
//! ```
#![deny(missing_docs)]

pub mod ast;
pub mod codes;
pub mod fmt;
mod literal;
mod parser;
mod pest_error;
mod pest_rules;
mod prescan;
pub mod print;
mod render;

pub use ast::*;
pub use render::render_plain;

/// A syntax error: where, what went wrong, and what would have been accepted there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    /// A stable code, `E0001`...; see [`codes`].
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

/// How deep brackets and operators may nest before the parser reports
/// [`codes::NESTING_TOO_DEEP`] instead of risking the stack.
pub const MAX_NESTING: usize = 256;

/// Parses a whole `.scry` file.
///
/// Never panics and never overflows the stack, whatever the input: deep nesting is an error.
pub fn parse_file(source: &str) -> Result<File, Vec<SyntaxError>> {
    parser::run(source, parser::parse_file)
}

/// Parses one expression (for `scry eval`), e.g. `'Action1-Corp' has 'Action1'`.
pub fn parse_expr(source: &str) -> Result<Expr, Vec<SyntaxError>> {
    parser::run(source, parser::parse_expr)
}
