//! Syntax diagnostic codes: one constant per kind of error, never reused.
//!
//! Codes `E0001`–`E0099` belong to the syntax stage (this crate); later stages number their
//! own diagnostics from other ranges. A retired code stays listed here, marked retired, so
//! that it is never handed out again.

/// The parser met a token it cannot accept there: `rule r { title foo bar }`.
pub const UNEXPECTED_TOKEN: &str = "E0001";
/// A quoted string has no closing quote before the end of its line: `title "ServerEye`.
pub const UNTERMINATED_STRING: &str = "E0002";
/// A `/*` comment has no closing `*/`: `/* TODO`.
pub const UNTERMINATED_COMMENT: &str = "E0003";
/// A backslash escape that KQL does not define: `'C:\Windows'` (`\W`).
pub const UNKNOWN_ESCAPE: &str = "E0004";
/// A `\u` escape that is not four hex digits of a Unicode scalar value: `'\u12'`, `'\ud800'`.
pub const INVALID_UNICODE_ESCAPE: &str = "E0005";
/// A number followed by a unit that is not a timespan unit: `window 5dy`.
pub const UNKNOWN_TIMESPAN_UNIT: &str = "E0006";
/// Brackets or operators nested deeper than [`crate::MAX_NESTING`] levels: `((((...))))`.
pub const NESTING_TOO_DEEP: &str = "E0007";
/// An integer literal that does not fit in a signed 64-bit long: `9223372036854775808`.
pub const INTEGER_OVERFLOW: &str = "E0008";
/// A timespan too long for 64-bit ticks: `99999999999999d`.
pub const TIMESPAN_OVERFLOW: &str = "E0009";
/// A real literal that is not a finite double: `1e999`.
pub const REAL_OUT_OF_RANGE: &str = "E0010";
/// A `time(...)` clock value with a field out of range: `time(10:75:00)`.
pub const INVALID_CLOCK_TIME: &str = "E0011";
/// A comparison chained onto another, which KQL does not allow: `a < b < c`.
pub const CHAINED_COMPARISON: &str = "E0012";
/// A word where an operator is expected that is close to one: `IsSigned hass 'x'`.
pub const UNKNOWN_OPERATOR: &str = "E0013";
/// A KQL tabular operator that scry does not have yet: `join kind=inner (...) on DeviceId`.
pub const UNSUPPORTED_OPERATOR: &str = "E0014";

/// Every code with its one-line summary, in order (for docs and `scry explain-code`).
pub const ALL: &[(&str, &str)] = &[
    (UNEXPECTED_TOKEN, "unexpected token"),
    (UNTERMINATED_STRING, "unterminated string literal"),
    (UNTERMINATED_COMMENT, "unterminated block comment"),
    (UNKNOWN_ESCAPE, "unknown escape sequence"),
    (INVALID_UNICODE_ESCAPE, "invalid unicode escape"),
    (UNKNOWN_TIMESPAN_UNIT, "unknown timespan unit"),
    (NESTING_TOO_DEEP, "nesting too deep"),
    (INTEGER_OVERFLOW, "integer literal overflows a long"),
    (TIMESPAN_OVERFLOW, "timespan literal overflows"),
    (REAL_OUT_OF_RANGE, "real literal out of range"),
    (INVALID_CLOCK_TIME, "invalid clock time"),
    (CHAINED_COMPARISON, "chained comparison"),
    (UNKNOWN_OPERATOR, "unknown operator"),
    (UNSUPPORTED_OPERATOR, "operator not supported yet"),
];
