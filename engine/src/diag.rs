//! Diagnostics of the compiler stages after parsing: resolution, typing, lints.
//!
//! Codes live in [`codes`], one line each, never reused. Rendering belongs to the CLI; this
//! module only carries the facts: file, span, what is wrong, and what would be right.

use scry_grammar::Span;

/// How bad a diagnostic is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// The rule set is still usable; something is probably not what the author meant.
    Warning,
    /// The rule cannot be compiled.
    Error,
    /// A bug in scry, not in the rule.
    Internal,
}

/// One finding about a rule file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// Severity.
    pub severity: Severity,
    /// Stable code, see [`codes`].
    pub code: &'static str,
    /// One line: what is wrong.
    pub message: String,
    /// Index of the source file in the rule set's [`crate::compile::Sources`].
    pub file: usize,
    /// The primary location, kept narrow.
    pub span: Span,
    /// The text under the primary caret.
    pub label: String,
    /// Hints, "did you mean", explanations.
    pub notes: Vec<String>,
}

impl Diagnostic {
    /// An error.
    pub fn error(code: &'static str, file: usize, span: Span, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Error,
            code,
            message: message.into(),
            file,
            span,
            label: String::new(),
            notes: Vec::new(),
        }
    }

    /// A warning.
    pub fn warning(
        code: &'static str,
        file: usize,
        span: Span,
        message: impl Into<String>,
    ) -> Self {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(code, file, span, message)
        }
    }

    /// Sets the label under the caret.
    pub fn with_label(mut self, label: impl Into<String>) -> Self {
        self.label = label.into();
        self
    }

    /// Adds a note.
    pub fn with_note(mut self, note: impl Into<String>) -> Self {
        self.notes.push(note.into());
        self
    }
}

/// Every diagnostic code of the engine. Syntax codes (`E00xx`) live in the grammar crate.
pub mod codes {
    /// A table named in `from` is not in the catalog.
    pub const UNKNOWN_TABLE: &str = "E0100";
    /// A name is neither a column of the table, an alias, a computed column nor a `let`.
    pub const UNKNOWN_NAME: &str = "E0101";
    /// A string operator applied to a value that is not a string.
    pub const STRING_OP_ON_NON_STRING: &str = "E0102";
    /// Operands whose types cannot be compared or combined.
    pub const TYPE_MISMATCH: &str = "E0103";
    /// A function that does not exist.
    pub const UNKNOWN_FUNCTION: &str = "E0104";
    /// A function called with the wrong number or kind of arguments.
    pub const BAD_ARGUMENTS: &str = "E0105";
    /// A list operator whose right side is not a constant list.
    pub const NOT_A_CONSTANT_LIST: &str = "E0106";
    /// A regular expression that does not compile.
    pub const BAD_REGEX: &str = "E0107";
    /// A `datetime(...)` or timespan literal that is not valid.
    pub const BAD_LITERAL: &str = "E0108";
    /// Two rules with the same name or id.
    pub const DUPLICATE_RULE: &str = "E0109";
    /// A rule without `from`.
    pub const MISSING_FROM: &str = "E0110";
    /// A clause used twice or out of order (`having` without `summarize`, two `summarize`).
    pub const CLAUSE_ORDER: &str = "E0111";
    /// An aggregate function that does not exist, or an aggregate outside `summarize`.
    pub const BAD_AGGREGATE: &str = "E0112";
    /// An example event that is not a JSON object.
    pub const BAD_EXAMPLE: &str = "E0113";
    /// Two exclusions of one rule with the same name.
    pub const DUPLICATE_EXCLUSION: &str = "E0114";
    /// An example `suppressed by` an exclusion the rule does not have.
    pub const UNKNOWN_EXCLUSION: &str = "E0115";
    /// A metadata value of the wrong shape (`tactics "x"` where a list is expected).
    pub const BAD_METADATA: &str = "E0116";
    /// A `where` or exclusion condition that is not boolean.
    pub const NOT_A_PREDICATE: &str = "E0117";
    /// A `let` that is not a constant (a column in a `let`).
    pub const NOT_CONSTANT: &str = "E0118";
    /// A `let` or output name defined twice.
    pub const DUPLICATE_NAME: &str = "E0119";
    /// A `from ... distinct` set used as a value, mixed with other list elements, or tested
    /// outside a rule's `where` / `except`.
    pub const SET_MISUSE: &str = "E0120";

    /// An exclusion that holds for nearly every event (a negated test inside `or`).
    pub const EXCLUSION_TOO_BROAD: &str = "W0200";
    /// An exclusion naming a field the rule's table does not have: it can never match.
    pub const EXCLUSION_FIELD_MISSING: &str = "W0201";
    /// A metadata key scry does not know.
    pub const UNKNOWN_METADATA: &str = "W0202";
    /// A rule without an `id`.
    pub const MISSING_ID: &str = "W0203";
    /// A rule without examples: nothing tests it.
    pub const NO_EXAMPLES: &str = "W0204";
}
