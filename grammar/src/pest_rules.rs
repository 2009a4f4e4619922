//! The parser pest derives from `scry.pest`, and its `Rule` enum: a module of its own because
//! both the visitor ([`crate::parser`]) and the error converter ([`crate::pest_error`]) name
//! the grammar's rules, and neither should import the other for them.

#[derive(pest_derive::Parser)]
#[grammar = "scry.pest"]
pub(crate) struct ScryParser;
