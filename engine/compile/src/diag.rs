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
    /// `take` whose row count is not a constant, non-negative whole number: `take -1`,
    /// `take Count`.
    pub const BAD_TAKE: &str = "E0121";
    /// `*` (every column of the row) where it means nothing: outside the returned arguments
    /// of `arg_max` / `arg_min`, or in a rule over several tables, whose rows differ.
    pub const STAR_MISUSE: &str = "E0122";
    /// A `threshold` whose condition is not one aggregate (`count`, `countif`, `dcount`,
    /// `sum`) compared with constants.
    pub const BAD_THRESHOLD: &str = "E0130";
    /// Sequence steps whose keys differ in number or type.
    pub const STEP_KEYS: &str = "E0131";
    /// A `within`, `detect` or `history` that is not a positive constant timespan.
    pub const BAD_SPAN: &str = "E0132";
    /// A `sequence` with fewer than two steps, two steps of one name, or `until` in an
    /// unordered sequence.
    pub const BAD_SEQUENCE: &str = "E0138";
    /// A `threshold`, `sequence` or `first_seen` over a table without a `Timestamp`.
    pub const NO_TIMESTAMP: &str = "E0139";
    /// A `join` of a kind, key count or key type not supported yet.
    pub const UNSUPPORTED_JOIN: &str = "E0140";
    /// A combining join (`inner`, `innerunique`, `leftouter`) written in a way it cannot
    /// run: a time condition of another shape, two such joins, a summarize after it.
    pub const BAD_JOIN: &str = "E0141";

    // Import (`scry import kql`) and export (`scry export kql`). Unknown tables and columns
    // in imported queries keep their compiler codes (E0100, E0101).

    /// A rule file that is not YAML even after the documented repairs.
    pub const YAML_SYNTAX: &str = "E0300";
    /// A rule YAML field of the wrong shape (`query` that is not a string).
    pub const BAD_RULE_FIELD: &str = "E0301";
    /// KQL that cannot be split into statements and stages: unterminated string, unbalanced
    /// bracket, empty stage, `let` without a value.
    pub const KQL_SYNTAX: &str = "E0302";
    /// A KQL operator with no scry equivalent (`join`, `project`, `take`, ...).
    pub const UNSUPPORTED_OPERATOR: &str = "E0303";
    /// A KQL function or aggregate the engine does not have (`arg_max`, `iff`, ...).
    pub const UNSUPPORTED_FUNCTION: &str = "E0304";
    /// A pipeline stage that is a bare condition: `| Sha1 in (...)` (no `where`).
    pub const MISSING_WHERE: &str = "E0305";
    /// Two list operators in a row: `FolderPath has_all has_any (...)`.
    pub const DOUBLE_LIST_OPERATOR: &str = "E0306";
    /// A query shape scry cannot express (a tabular `let` that is not
    /// `T | where ... | distinct C`, a stage after `summarize`, ...).
    pub const UNSUPPORTED_SHAPE: &str = "E0307";
    /// A scry rule that KQL cannot express (an alias naming different columns in the
    /// tables of a `union`).
    pub const EXPORT_UNSUPPORTED: &str = "E0310";
    /// A scry rule that Sigma cannot express (`scry export sigma`): a `threshold`, a
    /// `summarize ... having`, a table with no Sigma logsource, a column with no Sigma field,
    /// a function call.
    pub const EXPORT_SIGMA_UNSUPPORTED: &str = "E0311";

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
    /// An output column named `rule`, `name` or `title`, the fields every result row starts
    /// with: `summarize name = count() by DeviceId` (ndjson would carry the key twice).
    pub const OUTPUT_NAME_TAKEN: &str = "W0205";
    /// Steps of a sequence (or a join's sides) whose `where`s fix a key column to values no
    /// two of which are equal: `DeviceName == 'a'` in one, `DeviceName == 'b'` in the other.
    pub const STEPS_NEVER_SHARE_KEY: &str = "W0400";
    /// A `bin(Timestamp, S)` bucket longer than the rule's look-back window.
    pub const BUCKET_OVER_WINDOW: &str = "W0401";
    /// A threshold bounding its measure from above (`count() < 3`): it is tested on each
    /// key's peak.
    pub const THRESHOLD_UPPER_BOUND: &str = "W0402";
    /// Consecutive sequence steps on one table, one's conditions among the other's: one row
    /// can be an event of both.
    pub const STEPS_MATCH_SAME_ROW: &str = "W0403";
    /// A `threshold` or `sequence` span longer than the rule's window.
    pub const SPAN_OVER_WINDOW: &str = "W0404";
    /// A datetime bucket size that does not divide a day: its start depends on the origin.
    pub const BIN_ORIGIN: &str = "W0405";
    /// A sequence step whose `where` reads no column: it keeps every row of its tables.
    pub const STEP_MATCHES_EVERY_ROW: &str = "W0406";
    /// A sequence step named like an alias prefix (`step process ...`): `process.name` in
    /// `project` then reads the step's column.
    pub const STEP_NAMED_LIKE_ALIAS: &str = "W0407";
    /// A threshold, sequence or join whose string keys can all be `""` (no `isnotempty`).
    pub const KEY_CAN_BE_EMPTY: &str = "W0408";
    /// A `join kind=innerunique` with a time condition or a `where` after it: tested on one
    /// left event per key.
    pub const INNERUNIQUE_PAIR_CONDITION: &str = "W0409";

    /// `scry import --fix` corrected a known defect (the output carries a comment saying so).
    pub const IMPORT_FIXED: &str = "W0300";
    /// A rule YAML key with no scry equivalent (`queryFrequency`, `entityMappings`, ...).
    pub const NOT_IMPORTED: &str = "W0301";
    /// A template placeholder (`id: %%GUID%%`) replaced by an id derived from the file path.
    pub const TEMPLATE_PLACEHOLDER: &str = "W0302";
    /// A YAML file without `query`: not a rule, skipped.
    pub const NOT_A_RULE: &str = "W0303";
}
