//! Aggregate building blocks with Kusto's rules: `make_set`'s cap, null-skipping `min`/`max`,
//! and distinctness.

use std::cmp::Ordering;

use crate::compare::{compare, equals};
use crate::value::Value;

/// `make_set(x)`'s default and largest `maxSize`: 1,048,576 (the deprecated `makeset()` used 128).
pub const MAKE_SET_MAX: usize = 1_048_576;

/// `make_set(x, max)` over `values`: distinct non-null values in first-seen order, at most
/// `max` of them (`max` above [`MAKE_SET_MAX`] is capped). An array-valued input contributes
/// its elements. `""` is a value like any other (strings are never null). Empty input: `[]`.
pub fn make_set(values: &[Value], max: usize) -> Vec<Value> {
    let max = max.min(MAKE_SET_MAX);
    let mut out: Vec<Value> = Vec::new();
    let add = |v: &Value, out: &mut Vec<Value>| {
        if !v.is_null() && out.len() < max && !out.iter().any(|o| same(o, v)) {
            out.push(v.clone());
        }
    };
    for v in values {
        match v {
            Value::Array(items) => items.iter().for_each(|i| add(i, &mut out)),
            _ => add(v, &mut out),
        }
    }
    out
}

/// Distinct values (`distinct c`), case-sensitive, first-seen order; null is a value here.
pub fn distinct(values: &[Value]) -> Vec<Value> {
    let mut out: Vec<Value> = Vec::new();
    for v in values {
        if !out.iter().any(|o| same(o, v)) {
            out.push(v.clone());
        }
    }
    out
}

/// Grouping identity: like `==`, but null is the same as null (a null key forms one group).
pub fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Null, Value::Null) => true,
        _ => equals(a, b) == Some(true),
    }
}

/// `min(x)`: the least non-null value; null if there is none.
pub fn min(values: &[Value]) -> Value {
    extreme(values, Ordering::Less)
}

/// `max(x)`: the greatest non-null value; null if there is none.
pub fn max(values: &[Value]) -> Value {
    extreme(values, Ordering::Greater)
}

fn extreme(values: &[Value], want: Ordering) -> Value {
    let mut best: Option<&Value> = None;
    for v in values.iter().filter(|v| !v.is_null()) {
        best = match best {
            Some(b) if compare(v, b) != Some(want) => Some(b),
            _ => Some(v),
        };
    }
    best.cloned().unwrap_or(Value::Null)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(x: &str) -> Value {
        Value::Str(x.to_string())
    }

    #[test]
    fn make_set_keeps_empty_strings_and_skips_nulls() {
        assert_eq!(make_set(&[], MAKE_SET_MAX), vec![]);
        assert_eq!(
            make_set(&[s("a"), s(""), s("a"), Value::Null], MAKE_SET_MAX),
            vec![s("a"), s("")]
        );
        assert_eq!(
            make_set(&[Value::Array(vec![s("x"), s("y")]), s("x")], 1),
            vec![s("x")]
        );
    }

    #[test]
    fn min_max_ignore_nulls() {
        let vals = [Value::DateTime(5), Value::Null, Value::DateTime(3)];
        assert_eq!(max(&vals), Value::DateTime(5));
        assert_eq!(min(&vals), Value::DateTime(3));
        assert_eq!(min(&[Value::Null, Value::Null]), Value::Null);
    }

    #[test]
    fn distinct_is_case_sensitive() {
        assert_eq!(
            distinct(&[s("a"), s("A"), s("a"), Value::Null, Value::Null]),
            vec![s("a"), s("A"), Value::Null]
        );
    }
}
