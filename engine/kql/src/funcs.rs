//! Scalar functions: `tolower`, `toupper`, `strlen`, `tostring`, `strcat`, `split`, indexing,
//! `trim_start`, `isempty` / `isnotempty`, and the JSON ↔ [`Value`] conversions `dynamic`
//! values need.
//!
//! Functions on text take `&str`; the caller converts a non-string argument with
//! [`tostring`] first, as Kusto does.

use regex::Regex;

use crate::time::{format_datetime, format_timespan};
use crate::value::Value;

/// `tolower(s)`: per-code-point lower-casing. A code point whose lower case is more than one
/// code point (`İ` → `i` + U+0307) is kept as is, so the length never changes.
pub fn tolower(s: &str) -> String {
    if s.is_ascii() {
        return s.to_ascii_lowercase();
    }
    s.chars()
        .map(|c| single(c.to_lowercase()).unwrap_or(c))
        .collect()
}

/// `toupper(s)`: per-code-point upper-casing; multi-code-point mappings (`ß` → `SS`) keep the
/// original code point.
pub fn toupper(s: &str) -> String {
    if s.is_ascii() {
        return s.to_ascii_uppercase();
    }
    s.chars()
        .map(|c| single(c.to_uppercase()).unwrap_or(c))
        .collect()
}

/// The only item of `it`, if it has exactly one.
fn single(mut it: impl Iterator<Item = char>) -> Option<char> {
    let c = it.next()?;
    it.next().is_none().then_some(c)
}

/// `strlen(s)`: the number of Unicode code points (`"Kra\u{308}mer"` is 7).
pub fn strlen(s: &str) -> i64 {
    s.chars().count() as i64
}

/// `tostring(v)`: null → `""`; long → decimal; real → Kusto's shortest form ([`format_real`]);
/// bool → `true`/`false`; datetime and timespan → Kusto's text forms; arrays → compact JSON;
/// other dynamic values → their JSON text, except that a JSON string yields its contents.
pub fn tostring(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::Bool(b) => b.to_string(),
        Value::Long(n) => n.to_string(),
        Value::Real(x) => format_real(*x),
        Value::Str(s) => s.clone(),
        Value::DateTime(t) => format_datetime(*t),
        Value::Timespan(t) => format_timespan(*t),
        Value::Array(_) => value_to_json(v).to_string(),
        Value::Json(text) => match serde_json::from_str::<serde_json::Value>(text) {
            Ok(serde_json::Value::String(s)) => s,
            Ok(serde_json::Value::Null) => String::new(),
            _ => text.clone(),
        },
    }
}

/// A real as .NET's shortest round-trip text, which is what Kusto prints: `1`, `1.5`, `0.0001`,
/// `1E-05`, `1E+15`, `NaN`, `Infinity`, `-Infinity`.
pub fn format_real(x: f64) -> String {
    if x.is_nan() {
        return "NaN".into();
    }
    if x.is_infinite() {
        return if x > 0.0 { "Infinity" } else { "-Infinity" }.into();
    }
    if x == 0.0 {
        return "0".into();
    }
    // `{:e}` gives the shortest round-trip digits: "-1.2345e-7".
    let sci = format!("{:e}", x);
    let (mant, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let (sign, mant) = match mant.strip_prefix('-') {
        Some(m) => ("-", m),
        None => ("", mant),
    };
    let digits: String = mant.chars().filter(char::is_ascii_digit).collect();
    // .NET "G" rule: fixed-point only for exponents -5 < e < 15 (the shortest form's precision).
    if !(-4..15).contains(&exp) {
        let (head, tail) = digits.split_at(1);
        let dot = if tail.is_empty() { "" } else { "." };
        let esign = if exp < 0 { '-' } else { '+' };
        return format!("{sign}{head}{dot}{tail}E{esign}{:02}", exp.unsigned_abs());
    }
    let point = exp + 1; // digits before the decimal point
    let mut out = String::from(sign);
    if point <= 0 {
        out.push_str("0.");
        out.extend(std::iter::repeat_n('0', point.unsigned_abs() as usize));
        out.push_str(&digits);
    } else {
        let point = point as usize;
        if digits.len() <= point {
            out.push_str(&digits);
            out.extend(std::iter::repeat_n('0', point - digits.len()));
        } else {
            out.push_str(&digits[..point]);
            out.push('.');
            out.push_str(&digits[point..]);
        }
    }
    out
}

/// `strcat(a, b, ...)`: the [`tostring`] of each argument, concatenated.
pub fn strcat(parts: &[Value]) -> String {
    parts.iter().map(tostring).collect()
}

/// `split(s, delim)`: the pieces between occurrences of `delim`, as a dynamic array of strings.
///
/// `split("a__b", "_")` is `["a", "", "b"]`; `split("", "_")` is `[""]`. An empty delimiter
/// yields `[s]` (the whole string), as .NET's `String.Split` with an empty separator does.
pub fn split(s: &str, delim: &str) -> Value {
    if delim.is_empty() {
        return Value::Array(vec![Value::Str(s.to_string())]);
    }
    Value::Array(s.split(delim).map(|p| Value::Str(p.to_string())).collect())
}

/// `base[i]`: an array element (a negative index counts from the end, `-1` is the last), or an
/// object member for a string key. Anything out of range or not indexable is null.
pub fn index(base: &Value, i: &Value) -> Value {
    match base {
        Value::Array(items) => {
            let Value::Long(i) = i else {
                return Value::Null;
            };
            let len = items.len() as i64;
            let at = if *i < 0 { len + i } else { *i };
            if (0..len).contains(&at) {
                items[at as usize].clone()
            } else {
                Value::Null
            }
        }
        Value::Json(text) => match serde_json::from_str::<serde_json::Value>(text) {
            Ok(j @ serde_json::Value::Array(_)) => index(&json_to_value(&j), i),
            Ok(serde_json::Value::Object(map)) => match i {
                Value::Str(key) => map.get(key).map_or(Value::Null, json_to_value),
                _ => Value::Null,
            },
            _ => Value::Null,
        },
        _ => Value::Null,
    }
}

/// Compiles the regex `trim_start` uses for `pattern`: `^(?:pattern)`, so an alternation in
/// the user's pattern stays inside the anchor (`a|x` means `^(a|x)`, not `^a|x`).
pub fn trim_start_regex(pattern: &str) -> Result<Regex, regex::Error> {
    Regex::new(&format!("^(?:{pattern})"))
}

/// `trim_start(regex, s)` with the regex from [`trim_start_regex`]: removes one leading match.
pub fn trim_start_with(re: &Regex, s: &str) -> String {
    match re.find(s) {
        Some(m) if m.start() == 0 => s[m.end()..].to_string(),
        _ => s.to_string(),
    }
}

/// `isempty(v)`: true for `""` and null. An empty dynamic array or object is not empty.
pub fn isempty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Str(s) => s.is_empty(),
        // A dynamic holding an empty string or JSON null is empty like its scalar.
        Value::Json(text) => matches!(text.trim(), "" | "null" | "\"\""),
        _ => false,
    }
}

/// `isnotempty(v)`: the negation of [`isempty`].
pub fn isnotempty(v: &Value) -> bool {
    !isempty(v)
}

/// A JSON value as a [`Value`]: integers that fit are longs, other numbers reals, arrays
/// arrays, objects [`Value::Json`] text.
pub fn json_to_value(j: &serde_json::Value) -> Value {
    match j {
        serde_json::Value::Null => Value::Null,
        serde_json::Value::Bool(b) => Value::Bool(*b),
        serde_json::Value::Number(n) => match n.as_i64() {
            Some(i) => Value::Long(i),
            None => Value::Real(n.as_f64().unwrap_or(f64::NAN)),
        },
        serde_json::Value::String(s) => Value::Str(s.clone()),
        serde_json::Value::Array(a) => Value::Array(a.iter().map(json_to_value).collect()),
        serde_json::Value::Object(_) => Value::Json(j.to_string()),
    }
}

/// A [`Value`] as JSON: datetimes and timespans become their Kusto text, [`Value::Json`] is
/// parsed (kept as a JSON string if it is not valid JSON).
pub fn value_to_json(v: &Value) -> serde_json::Value {
    use serde_json::Value as J;
    match v {
        Value::Null => J::Null,
        Value::Bool(b) => J::Bool(*b),
        Value::Long(n) => J::from(*n),
        Value::Real(x) => serde_json::Number::from_f64(*x).map_or(J::Null, J::Number),
        Value::Str(s) => J::String(s.clone()),
        Value::DateTime(t) => J::String(format_datetime(*t)),
        Value::Timespan(t) => J::String(format_timespan(*t)),
        Value::Array(items) => J::Array(items.iter().map(value_to_json).collect()),
        Value::Json(text) => serde_json::from_str(text).unwrap_or_else(|_| J::String(text.clone())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strs(items: &[&str]) -> Value {
        Value::Array(items.iter().map(|s| Value::Str(s.to_string())).collect())
    }

    #[test]
    fn case_mapping_is_per_code_point() {
        assert_eq!(tolower("ÄBC İ"), "äbc İ");
        assert_eq!(toupper("straße"), "STRAßE");
        assert_eq!(toupper("abc"), "ABC");
    }

    #[test]
    fn strlen_counts_code_points() {
        assert_eq!(strlen("Kra\u{0308}mer"), 7);
        assert_eq!(strlen(""), 0);
    }

    #[test]
    fn tostring_forms() {
        assert_eq!(tostring(&Value::Null), "");
        assert_eq!(tostring(&Value::Long(123)), "123");
        assert_eq!(tostring(&Value::Bool(true)), "true");
        assert_eq!(tostring(&strs(&["a", "b"])), r#"["a","b"]"#);
        assert_eq!(tostring(&Value::Json(r#""x""#.into())), "x");
        assert_eq!(tostring(&Value::Json(r#"{"a":1}"#.into())), r#"{"a":1}"#);
        assert_eq!(tostring(&Value::Timespan(36_000_000_000)), "01:00:00");
        assert_eq!(
            tostring(&Value::DateTime(0)),
            "1970-01-01T00:00:00.0000000Z"
        );
    }

    #[test]
    fn reals_print_like_dotnet() {
        for (x, s) in [
            (1.0, "1"),
            (1.5, "1.5"),
            (-0.25, "-0.25"),
            (0.0001, "0.0001"),
            (0.00001, "1E-05"),
            (123456789.0, "123456789"),
            (1e14, "100000000000000"),
            (1e15, "1E+15"),
            (1.2345e20, "1.2345E+20"),
            (0.1 + 0.2, "0.30000000000000004"),
            (f64::NAN, "NaN"),
            (f64::NEG_INFINITY, "-Infinity"),
        ] {
            assert_eq!(format_real(x), s);
        }
    }

    #[test]
    fn split_and_index() {
        assert_eq!(split("a__b", "_"), strs(&["a", "", "b"]));
        assert_eq!(split("", "_"), strs(&[""]));
        assert_eq!(split("aabbcc", "bb"), strs(&["aa", "cc"]));
        assert_eq!(split("abc", ""), strs(&["abc"]));
        let parts = split("a/b/c", "/");
        assert_eq!(index(&parts, &Value::Long(0)), Value::Str("a".into()));
        assert_eq!(index(&parts, &Value::Long(-1)), Value::Str("c".into()));
        assert_eq!(index(&parts, &Value::Long(3)), Value::Null);
        assert_eq!(index(&parts, &Value::Long(-4)), Value::Null);
        assert_eq!(index(&Value::Null, &Value::Long(0)), Value::Null);
        let obj = Value::Json(r#"{"k":[1,2]}"#.into());
        assert_eq!(
            index(&obj, &Value::Str("k".into())),
            Value::Array(vec![Value::Long(1), Value::Long(2)])
        );
        assert_eq!(
            index(&Value::Json("[1,2]".into()), &Value::Long(1)),
            Value::Long(2)
        );
    }

    #[test]
    fn trim_start_removes_one_anchored_match() -> Result<(), regex::Error> {
        let re = trim_start_regex("https://")?;
        assert_eq!(trim_start_with(&re, "https://bing.com"), "bing.com");
        let re = trim_start_regex(r"\s+")?;
        assert_eq!(trim_start_with(&re, "   Hi  "), "Hi  ");
        let re = trim_start_regex("a|x")?;
        assert_eq!(trim_start_with(&re, "bxa"), "bxa");
        assert_eq!(trim_start_with(&re, "xxa"), "xa");
        let re = trim_start_regex("http[s]?://")?;
        assert_eq!(trim_start_with(&re, "HTTPS://x"), "HTTPS://x");
        assert!(trim_start_regex("(").is_err());
        Ok(())
    }

    #[test]
    fn emptiness() {
        assert!(isempty(&Value::Str(String::new())));
        assert!(isempty(&Value::Null));
        assert!(!isempty(&Value::Array(vec![])));
        assert!(!isempty(&Value::Json("{}".into())));
        assert!(!isempty(&Value::Long(0)));
        assert!(isnotempty(&Value::Str("x".into())));
    }
}
