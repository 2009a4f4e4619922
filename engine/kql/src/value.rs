//! Typed values: constants in rules, computed columns, aggregate outputs.

use std::fmt;

/// A KQL scalar type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Type {
    /// `string`: never null; a missing or JSON-null string reads as `""`.
    String,
    /// `long` (64-bit).
    Long,
    /// `int` (32-bit in Kusto; held as i64 here).
    Int,
    /// `real` (f64).
    Real,
    /// `bool`.
    Bool,
    /// `datetime`: UTC, 100 ns ticks.
    DateTime,
    /// `timespan`: 100 ns ticks.
    Timespan,
    /// `dynamic`: JSON (arrays, objects, any scalar).
    Dynamic,
    /// `guid`, compared as its string form.
    Guid,
}

impl Type {
    /// The type named as in Kusto schemas (`string`, `datetime`, `boolean`, ...).
    pub fn from_name(name: &str) -> Option<Type> {
        Some(match name {
            "string" => Type::String,
            "long" | "int64" => Type::Long,
            "int" | "int32" => Type::Int,
            "real" | "double" => Type::Real,
            "bool" | "boolean" => Type::Bool,
            "datetime" | "date" => Type::DateTime,
            "timespan" | "time" => Type::Timespan,
            "dynamic" => Type::Dynamic,
            "guid" | "uniqueid" => Type::Guid,
            _ => return None,
        })
    }

    /// The type's KQL name.
    pub fn name(self) -> &'static str {
        match self {
            Type::String => "string",
            Type::Long => "long",
            Type::Int => "int",
            Type::Real => "real",
            Type::Bool => "bool",
            Type::DateTime => "datetime",
            Type::Timespan => "timespan",
            Type::Dynamic => "dynamic",
            Type::Guid => "guid",
        }
    }

    /// True for the types string operators accept (string, and guid as its text).
    pub fn is_stringish(self) -> bool {
        matches!(self, Type::String | Type::Guid)
    }

    /// True for long, int and real.
    pub fn is_numeric(self) -> bool {
        matches!(self, Type::Long | Type::Int | Type::Real)
    }
}

impl fmt::Display for Type {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A typed value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A null of a non-string type.
    Null,
    /// `bool`.
    Bool(bool),
    /// `long` / `int`.
    Long(i64),
    /// `real`.
    Real(f64),
    /// `string` (and `guid`).
    Str(String),
    /// `datetime`, in 100 ns ticks since the Unix epoch.
    DateTime(i64),
    /// `timespan`, in 100 ns ticks.
    Timespan(i64),
    /// A `dynamic` array.
    Array(Vec<Value>),
    /// A `dynamic` object (or other JSON), as compact JSON text.
    Json(String),
}

impl Value {
    /// True for [`Value::Null`].
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }
}
