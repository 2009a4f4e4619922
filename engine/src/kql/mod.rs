//! KQL's matching semantics, as plain functions: the single source of truth that the compiled
//! plan, the reference evaluator and `scry eval` all call. See `docs/semantics.md` and
//! `../shared/spec/kql-semantics.md`.
//!
//! PLACEHOLDER: being written; signatures are fixed.

/// Simple Unicode case folding of one code point (one code point to one code point).
pub fn fold_char(c: char) -> char {
    todo!("{c}")
}

/// Appends the simple case folding of `s` to `out`.
pub fn fold_into(s: &str, out: &mut String) {
    todo!("{s}{out}")
}

/// A term character: Unicode general category L* or N*.
pub fn is_term_char(c: char) -> bool {
    todo!("{c}")
}
