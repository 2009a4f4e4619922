//! Group keys (`summarize ... by`) and cells typed by their column.

use super::*;

/// A hashable, totally ordered form of a [`Value`], for group keys and sets.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Key {
    /// null (sorts first)
    Null,
    /// bool
    Bool(bool),
    /// long
    Long(i64),
    /// real, as order-preserving bits
    Real(i64),
    /// datetime
    DateTime(i64),
    /// timespan
    Timespan(i64),
    /// string
    Str(String),
    /// JSON text
    Json(String),
}

impl Key {
    /// The key of a value.
    pub fn of(v: &Value) -> Key {
        match v {
            Value::Null => Key::Null,
            Value::Bool(b) => Key::Bool(*b),
            Value::Long(n) => Key::Long(*n),
            Value::Real(x) => {
                // Order-preserving: flip the magnitude bits of negatives.
                let b = x.to_bits() as i64;
                Key::Real(b ^ (((b >> 63) as u64) >> 1) as i64)
            }
            Value::DateTime(t) => Key::DateTime(*t),
            Value::Timespan(t) => Key::Timespan(*t),
            Value::Str(s) => Key::Str(s.clone()),
            Value::Array(_) | Value::Json(_) => Key::Json(value_to_json(v).to_string()),
        }
    }

    /// Back to a value.
    pub fn value(&self) -> Value {
        match self {
            Key::Null => Value::Null,
            Key::Bool(b) => Value::Bool(*b),
            Key::Long(n) => Value::Long(*n),
            Key::Real(b) => {
                let b = *b ^ ((((*b) >> 63) as u64) >> 1) as i64;
                Value::Real(f64::from_bits(b as u64))
            }
            Key::DateTime(t) => Value::DateTime(*t),
            Key::Timespan(t) => Value::Timespan(*t),
            Key::Str(s) => Value::Str(s.clone()),
            Key::Json(s) => json_text_to_value(s),
        }
    }
}

/// Parses JSON text into a dynamic value (arrays become [`Value::Array`]); text that is not
/// JSON stays a string.
pub fn json_text_to_value(s: &str) -> Value {
    match serde_json::from_str::<serde_json::Value>(s) {
        Ok(j) => kql::funcs::json_to_value(&j),
        Err(_) => Value::Str(s.to_string()),
    }
}

/// Types a raw cell as a column of type `ty`.
pub fn typed<'a>(c: Cell<'a>, ty: Type) -> Val<'a> {
    match ty {
        Type::String | Type::Guid => Val::Str(cell_text(c)),
        // One definition with the plan's number atoms, which must read cells as this does.
        Type::Long | Type::Int => c.as_long().map_or(Val::Null, Val::Long),
        Type::Real => match c {
            Cell::Num(t) | Cell::Str(t) => t.trim().parse::<f64>().map_or(Val::Null, Val::Real),
            _ => Val::Null,
        },
        Type::Bool => match c {
            Cell::Bool(b) => Val::Bool(b),
            Cell::Str(t) | Cell::Num(t) => match t.trim() {
                "true" | "True" | "TRUE" | "1" => Val::Bool(true),
                "false" | "False" | "FALSE" | "0" => Val::Bool(false),
                _ => Val::Null,
            },
            _ => Val::Null,
        },
        Type::DateTime => match c {
            Cell::Str(t) => kql::time::parse_datetime(t.trim()).map_or(Val::Null, Val::DateTime),
            _ => Val::Null,
        },
        Type::Timespan => match c {
            Cell::Str(t) => kql::time::parse_timespan(t.trim()).map_or(Val::Null, Val::Timespan),
            _ => Val::Null,
        },
        Type::Dynamic => match c {
            Cell::Missing | Cell::Null => Val::Null,
            Cell::Str(s) => Val::Str(s),
            Cell::Bool(b) => Val::Bool(b),
            Cell::Num(t) | Cell::Json(t) => Val::from_value(json_text_to_value(t)),
        },
    }
}
