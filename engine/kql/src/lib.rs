//! KQL's matching semantics, as plain functions: the single source of truth.
//!
//! The compiled plan, the reference evaluator ([`crate::reference`]) and `scry eval` all call
//! these functions rather than re-deriving the rules, so that a subtle point (a term boundary
//! next to a combining mark, `!in` with a null left side, `between` with a timespan bound) is
//! decided in exactly one place and a fix reaches every engine path at once. The contract they
//! implement is `shared/spec/kql-semantics.md`; `tests/data/conformance-public.json` is run
//! through them by `engine/tests/conformance_ops.rs`.
//!
//! | module | what |
//! |---|---|
//! | [`fold`] | simple Unicode case folding, term characters (L*/N*) |
//! | [`strings`] | `has`/`hasprefix`/`hassuffix`/`contains`/`startswith`/`endswith`, `=~` |
//! | [`compare`] | `==`/`!=` and ordering with nulls, `between`, `in`, `has_any`, `has_all` |
//! | [`funcs`] | `tostring`, `split`, `trim_start`, `strlen`, `isempty`, ... |
//! | [`time`] | datetime and timespan parsing and Kusto's text forms |
//! | [`bins`] | `bin`, `bin_at`, `startof*`, `endof*` |
//! | [`agg`] | `make_set`'s cap, `min`/`max` skipping nulls, distinctness |
//!
//! ```
//! use scry_kql::{str_op, eq_ci};
//! use scry_grammar::{StrOp, StrOpKind};
//!
//! let has = StrOp { kind: StrOpKind::Has, case_sensitive: false, negated: false };
//! assert!(str_op(has, "Action1-Corp", "action1"));
//! assert!(!str_op(has, "Action10", "Action1"));
//! assert!(eq_ci("STRAẞE", "straße"));
//! ```
#![deny(missing_docs)]

pub mod value;

pub mod agg;
pub mod bins;
pub mod compare;
pub mod fold;
pub mod funcs;
pub mod strings;
pub mod time;

pub use agg::MAKE_SET_MAX;
pub use compare::{
    between, between_checked, compare, equals, has_all, has_any, in_list, not_equals,
    IncomparableTypes,
};
pub use fold::{fold, fold_char, fold_into, is_term_char};
pub use funcs::{
    index, isempty, isnotempty, split, strcat, strlen, tolower, tostring, toupper,
    trim_start_regex, trim_start_with,
};
pub use strings::{eq_ci, str_op, term_bounds_ok};
pub use time::{
    format_datetime, format_timespan, parse_datetime, parse_timespan, TICKS_PER_SECOND,
};
