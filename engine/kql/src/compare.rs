//! Equality, ordering, `between`, and the list operators (`in`, `in~`, `has_any`, `has_all`),
//! with KQL's null rules:
//!
//! - `==` with a null side is false, `!=` with a null side is true ([`equals`], [`not_equals`]);
//! - ordering and `between` with a null are null ([`compare`], [`between`] give `None`);
//! - `in` / `in~` with a null left are false, `!in` / `!in~` true ([`in_list`]).

use std::cmp::Ordering;

use crate::fold::fold_cow;
use crate::funcs::{json_to_value, tostring, value_to_json};
use crate::strings::{eq_ci, str_op};
use crate::value::Value;
use scry_grammar::{StrOp, StrOpKind};

/// Two non-null values whose types an operator cannot relate, e.g. `"a" < 1` or
/// `"b" between ("a" .. "c")`: Kusto rejects the query.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IncomparableTypes;

/// KQL `==`: `Some(true/false)` with the null rule applied (a null on either side gives
/// `Some(false)`); `None` when the two non-null values have types `==` cannot compare (a
/// type error, e.g. `"1" == 1`).
///
/// Strings compare case-sensitively and exactly (no normalisation); long, int and real compare
/// numerically; a dynamic value compares with a string through its [`tostring`], with another
/// dynamic value structurally.
pub fn equals(a: &Value, b: &Value) -> Option<bool> {
    use Value::*;
    Some(match (a, b) {
        (Null, _) | (_, Null) => false,
        (Str(x), Str(y)) => x == y,
        (Long(x), Long(y)) => x == y,
        (Long(x), Real(y)) | (Real(y), Long(x)) => (*x as f64) == *y,
        (Real(x), Real(y)) => x == y,
        (Bool(x), Bool(y)) => x == y,
        (DateTime(x), DateTime(y)) | (Timespan(x), Timespan(y)) => x == y,
        (Array(_) | Json(_), Array(_) | Json(_)) => value_to_json(a) == value_to_json(b),
        (Json(_), Str(s)) | (Str(s), Json(_)) => {
            let dynamic = if matches!(a, Json(_)) { a } else { b };
            tostring(dynamic) == *s
        }
        (Json(text), other) | (other, Json(text)) => {
            // A dynamic scalar (`dynamic(5)`) compares as its scalar.
            let inner = serde_json::from_str(text).map(|j| json_to_value(&j)).ok()?;
            if matches!(inner, Json(_)) {
                return Some(false);
            }
            return equals(&inner, other);
        }
        (Array(_), _) | (_, Array(_)) => false,
        _ => return None,
    })
}

/// KQL `!=`: the negation of [`equals`], so a null side gives `Some(true)`.
pub fn not_equals(a: &Value, b: &Value) -> Option<bool> {
    equals(a, b).map(|eq| !eq)
}

/// Ordering for `<`, `<=`, `>`, `>=`: `None` when either side is null or the types are not
/// ordered together (use [`comparable`] to tell the two apart). Long, int and real mix
/// numerically; datetimes with datetimes; timespans with timespans; strings ordinally (by
/// code point); bools `false < true`.
pub fn compare(a: &Value, b: &Value) -> Option<Ordering> {
    use Value::*;
    match (a, b) {
        (Long(x), Long(y)) => Some(x.cmp(y)),
        (Long(x), Real(y)) => (*x as f64).partial_cmp(y),
        (Real(x), Long(y)) => x.partial_cmp(&(*y as f64)),
        (Real(x), Real(y)) => x.partial_cmp(y),
        (DateTime(x), DateTime(y)) | (Timespan(x), Timespan(y)) => Some(x.cmp(y)),
        (Str(x), Str(y)) => Some(x.cmp(y)),
        (Bool(x), Bool(y)) => Some(x.cmp(y)),
        _ => None,
    }
}

/// True when `a` and `b` can be ordered together, or either is null (then the result is null,
/// not an error).
pub fn comparable(a: &Value, b: &Value) -> bool {
    a.is_null() || b.is_null() || compare(a, b).is_some() || numeric_pair(a, b)
}

/// Two numbers are ordered types even when a NaN makes [`compare`] give `None`.
fn numeric_pair(a: &Value, b: &Value) -> bool {
    matches!(
        (a, b),
        (
            Value::Real(_) | Value::Long(_),
            Value::Real(_) | Value::Long(_)
        )
    )
}

/// `x between (low .. high)`, inclusive at both ends: `Some(x >= low && x <= high)`, `None`
/// when any operand is null or the types do not fit (see [`between_checked`]). A reversed
/// range is simply false.
pub fn between(x: &Value, low: &Value, high: &Value) -> Option<bool> {
    between_checked(x, low, high).ok().flatten()
}

/// [`between`] that reports type errors: operands must be numeric, datetime or timespan, and
/// alike; `high` may be a timespan when `x` and `low` are datetimes, and then the range is
/// `low .. low + high` (Kusto's documented rule; with timespan `x` and `low`, a timespan
/// `high` is an ordinary bound). Strings and bools are rejected as Kusto does.
pub fn between_checked(
    x: &Value,
    low: &Value,
    high: &Value,
) -> Result<Option<bool>, IncomparableTypes> {
    use Value::*;
    let kind = |v: &Value| match v {
        Null => Some(0),
        Long(_) | Real(_) => Some(1),
        DateTime(_) => Some(2),
        Timespan(_) => Some(3),
        _ => None,
    };
    let (kx, kl, kh) = (
        kind(x).ok_or(IncomparableTypes)?,
        kind(low).ok_or(IncomparableTypes)?,
        kind(high).ok_or(IncomparableTypes)?,
    );
    // The datetime `.. span` form: a timespan high with datetime (or null) x and low.
    let span_high = kh == 3 && (kl == 2 || (kl == 0 && kx == 2));
    let known: Vec<u8> = [kx, kl]
        .into_iter()
        .chain((!span_high).then_some(kh))
        .filter(|k| *k != 0)
        .collect();
    if known.windows(2).any(|w| w[0] != w[1]) || (span_high && kx == 3) {
        return Err(IncomparableTypes);
    }
    if x.is_null() || low.is_null() || high.is_null() {
        return Ok(None);
    }
    let high = match (low, high) {
        (DateTime(l), Timespan(s)) => match l.checked_add(*s) {
            Some(h) => DateTime(h),
            None => return Ok(None),
        },
        _ => high.clone(),
    };
    let (Some(lo), Some(hi)) = (compare(x, low), compare(x, &high)) else {
        // NaN reals: no order, so not in the range.
        return Ok(Some(false));
    };
    Ok(Some(lo != Ordering::Less && hi != Ordering::Greater))
}

/// The list's elements with nested lists (dynamic arrays, and JSON array text) flattened.
pub fn flatten(list: &[Value]) -> Vec<Value> {
    let mut out = Vec::with_capacity(list.len());
    fn walk(v: &Value, out: &mut Vec<Value>) {
        match v {
            Value::Array(items) => items.iter().for_each(|i| walk(i, out)),
            Value::Json(text) if text.trim_start().starts_with('[') => {
                match serde_json::from_str::<serde_json::Value>(text) {
                    Ok(j) => walk(&json_to_value(&j), out),
                    Err(_) => out.push(v.clone()),
                }
            }
            _ => out.push(v.clone()),
        }
    }
    list.iter().for_each(|v| walk(v, &mut out));
    out
}

/// `x in (list)` (`case_insensitive`: `in~`): true if `x` equals some element of the flattened
/// list; a null `x` is never in a list. `!in` / `!in~` are exactly `!in_list(..)`, so a null
/// `x` is `!in` every list, as the spec says.
pub fn in_list(x: &Value, list: &[Value], case_insensitive: bool) -> bool {
    if x.is_null() {
        return false;
    }
    flatten(list).iter().any(|e| match (x, e) {
        (Value::Str(a), Value::Str(b)) if case_insensitive => eq_ci(a, b),
        _ => equals(x, e) == Some(true),
    })
}

const HAS: StrOp = StrOp {
    kind: StrOpKind::Has,
    case_sensitive: false,
    negated: false,
};

/// The text a `has_any`/`has_all` left side is searched as: `None` for null (a positive
/// string operator on null is false).
fn hay_text(x: &Value) -> Option<String> {
    match x {
        Value::Null => None,
        v => Some(tostring(v)),
    }
}

/// `x has_any (list)`: `has` holds for some element of the flattened list (each element
/// [`tostring`]'d, so a null element is the empty needle, which every value has). An empty
/// list is false, and so is a null `x`.
pub fn has_any(x: &Value, list: &[Value]) -> bool {
    has_elements(x, list, false)
}

/// `x has_all (list)`: `has` holds for every element of the flattened list (each
/// [`tostring`]'d: a null element is the empty needle, which matches, so `"a b" has_all ("a",
/// null)` is true). An empty list is true; a null `x` is false (positive string operators on
/// null are false).
pub fn has_all(x: &Value, list: &[Value]) -> bool {
    has_elements(x, list, true)
}

/// `has` of `x` against each element: all of them (`has_all`) or any (`has_any`).
fn has_elements(x: &Value, list: &[Value], all: bool) -> bool {
    let Some(hay) = hay_text(x) else {
        return false;
    };
    // Fold the haystack once instead of once per needle.
    let hay = fold_cow(&hay);
    let cs = StrOp {
        case_sensitive: true,
        ..HAS
    };
    let has = |e: &Value| str_op(cs, &hay, &fold_cow(&tostring(e)));
    let items = flatten(list);
    if all {
        items.iter().all(has)
    } else {
        items.iter().any(has)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::parse_timespan;

    fn s(x: &str) -> Value {
        Value::Str(x.to_string())
    }

    #[test]
    fn equality_and_nulls() {
        assert_eq!(equals(&s("abc"), &s("ABC")), Some(false));
        assert_eq!(equals(&s(""), &s("")), Some(true));
        assert_eq!(equals(&Value::Null, &Value::Long(5)), Some(false));
        assert_eq!(not_equals(&Value::Null, &Value::Long(5)), Some(true));
        assert_eq!(equals(&Value::Long(5), &Value::Real(5.0)), Some(true));
        assert_eq!(equals(&s("1"), &Value::Long(1)), None);
        assert_eq!(
            equals(&Value::Json("5".into()), &Value::Long(5)),
            Some(true)
        );
        assert_eq!(equals(&Value::Json("\"a\"".into()), &s("a")), Some(true));
        assert_eq!(equals(&s("Kra\u{0308}mer"), &s("Krämer")), Some(false));
    }

    #[test]
    fn ordering() {
        assert_eq!(
            compare(&Value::Long(1), &Value::Real(1.5)),
            Some(Ordering::Less)
        );
        assert_eq!(compare(&Value::Null, &Value::Long(1)), None);
        assert_eq!(compare(&s("b"), &s("a")), Some(Ordering::Greater));
        assert!(!comparable(&s("b"), &Value::Long(1)));
        assert!(comparable(&Value::Null, &Value::Long(1)));
    }

    #[test]
    fn between_rules() {
        let l = Value::Long;
        assert_eq!(between(&l(52), &l(50), &l(55)), Some(true));
        assert_eq!(between(&l(55), &l(50), &l(55)), Some(true));
        assert_eq!(between(&l(56), &l(50), &l(55)), Some(false));
        assert_eq!(between(&l(5), &l(10), &l(1)), Some(false));
        assert_eq!(between(&Value::Real(5.5), &l(5), &l(6)), Some(true));
        assert_eq!(between(&Value::Null, &l(1), &l(10)), None);
        let d = parse_timespan("1d").unwrap_or_default();
        let t = Value::DateTime(10 * d);
        let span = Value::Timespan(3 * d);
        assert_eq!(between(&t, &Value::DateTime(7 * d), &span), Some(true));
        assert_eq!(between(&t, &Value::DateTime(6 * d), &span), Some(false));
        // Timespan x and low: a timespan high is an ordinary bound.
        let ts = Value::Timespan;
        assert_eq!(between(&ts(2 * d), &ts(d), &ts(3 * d)), Some(true));
        assert_eq!(between(&ts(3 * d), &ts(2 * d), &ts(2 * d)), Some(false));
        assert_eq!(
            between_checked(&s("b"), &s("a"), &s("c")),
            Err(IncomparableTypes)
        );
        assert_eq!(between_checked(&t, &l(1), &l(2)), Err(IncomparableTypes));
        assert_eq!(between_checked(&Value::Null, &l(1), &l(2)), Ok(None));
    }

    #[test]
    fn list_membership() {
        let list = [s("123"), Value::Array(vec![s("abc")])];
        assert!(in_list(&s("abc"), &list, false));
        assert!(!in_list(&s("ABC"), &list, false));
        assert!(in_list(&s("ABC"), &list, true));
        assert!(!in_list(&Value::Null, &[Value::Long(1)], false));
        assert!(!in_list(&s(""), &[], false));
        assert!(in_list(
            &Value::Long(2),
            &[Value::Json("[1,2]".into())],
            false
        ));
    }

    #[test]
    fn has_any_and_has_all() {
        assert!(!has_any(&s("x"), &[]));
        assert!(has_all(&s("x"), &[]));
        assert!(has_all(&s("a b"), &[s("a"), Value::Null]));
        assert!(has_any(&s("x"), &[s(""), s("zzz")]));
        assert!(!has_any(&s("errors"), &[s("error")]));
        assert!(has_any(&s("ATLANTIC SOUTH"), &[s("south"), s("north")]));
        assert!(!has_any(&Value::Null, &[s("")]));
        assert!(has_all(
            &s("cold strong afternoon hail"),
            &[Value::Array(vec![s("COLD"), s("hail")]), s("strong")]
        ));
    }
}
