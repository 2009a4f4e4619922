//! Time buckets: `bin`, `bin_at`, `startofday/week/month/year` and `endof*`, with Kusto's
//! definitions (docs/semantics.md, "Time buckets").
//!
//! Datetimes are ticks since the Unix epoch here, but Kusto's own datetimes count ticks from
//! 0001-01-01 (.NET `DateTime.Ticks`, what `tolong(datetime)` returns), and `bin` floors those:
//! a bucket of `s` starts at a multiple of `s` counted from 0001-01-01, which is a Monday. The
//! difference only shows for sizes that do not divide the 719,162 days between the two origins
//! (3d, 7d, 5h, 7m, ...): `bin(datetime(2024-05-15 13:00), 7d)` is Monday 2024-05-13.
//!
//! ```
//! use scry_kql::bins::{bin, start_of};
//! use scry_kql::bins::Period;
//! use scry_kql::value::Value;
//! use scry_kql::time::{parse_datetime, parse_timespan};
//!
//! let t = Value::DateTime(parse_datetime("2024-05-15T13:47:00Z").unwrap());
//! let ten = Value::Timespan(parse_timespan("10m").unwrap());
//! assert_eq!(bin(&t, &ten), Value::DateTime(parse_datetime("2024-05-15T13:40:00Z").unwrap()));
//! let sunday = start_of(Period::Week, &t, 0, false);
//! assert_eq!(sunday, Value::DateTime(parse_datetime("2024-05-12").unwrap()));
//! ```

use crate::time::{civil_from_days, days_from_civil, TICKS_PER_DAY};
use crate::value::Value;

/// Ticks from 0001-01-01T00:00:00Z to 1970-01-01T00:00:00Z: the origin `bin` floors
/// datetimes from (Kusto's datetime representation).
pub const BIN_ORIGIN: i64 = 621_355_968_000_000_000;

/// True when buckets of `size` ticks start at the same instants whether counted from
/// 0001-01-01 or from 1970-01-01 (the size divides [`BIN_ORIGIN`]): every size that divides a
/// day does, 7d does not.
pub fn origin_insensitive(size: i64) -> bool {
    size > 0 && BIN_ORIGIN % size == 0
}

/// `bin(value, size)` (also `floor`): the nearest multiple of `size` at or below `value`.
/// Null for a null value or size, a negative size, or a zero size (NaN for a zero real size,
/// as Kusto's `floor(x / 0.0)`).
pub fn bin(value: &Value, size: &Value) -> Value {
    match (value, size) {
        (Value::Long(v), Value::Long(s)) => floor_long(*v, *s).map_or(Value::Null, Value::Long),
        (Value::Long(_) | Value::Real(_), Value::Long(_) | Value::Real(_)) => {
            let (v, s) = (real(value), real(size));
            if s < 0.0 {
                Value::Null
            } else if s == 0.0 {
                Value::Real(f64::NAN)
            } else {
                Value::Real((v / s).floor() * s)
            }
        }
        (Value::Timespan(v), Value::Timespan(s)) => {
            floor_long(*v, *s).map_or(Value::Null, Value::Timespan)
        }
        (Value::DateTime(t), Value::Timespan(s)) => t
            .checked_add(BIN_ORIGIN)
            .and_then(|k| floor_long(k, *s))
            .and_then(|k| k.checked_sub(BIN_ORIGIN))
            .map_or(Value::Null, Value::DateTime),
        _ => Value::Null,
    }
}

/// `bin_at(value, size, fixed)`: `bin` shifted so that `fixed` is a bucket start,
/// `fixed + floor((value - fixed) / size) * size`. The same value types as [`bin`]; `fixed`
/// has the value's type.
pub fn bin_at(value: &Value, size: &Value, fixed: &Value) -> Value {
    let shifted = |v: i64, s: i64, f: i64| -> Option<i64> {
        let d = v.checked_sub(f)?;
        floor_long(d, s)?.checked_add(f)
    };
    match (value, size, fixed) {
        (Value::Long(v), Value::Long(s), Value::Long(f)) => {
            shifted(*v, *s, *f).map_or(Value::Null, Value::Long)
        }
        (Value::DateTime(v), Value::Timespan(s), Value::DateTime(f)) => {
            shifted(*v, *s, *f).map_or(Value::Null, Value::DateTime)
        }
        (Value::Timespan(v), Value::Timespan(s), Value::Timespan(f)) => {
            shifted(*v, *s, *f).map_or(Value::Null, Value::Timespan)
        }
        (
            Value::Long(_) | Value::Real(_),
            Value::Long(_) | Value::Real(_),
            Value::Long(_) | Value::Real(_),
        ) => {
            let (v, s, f) = (real(value), real(size), real(fixed));
            if s <= 0.0 {
                Value::Null
            } else {
                Value::Real(f + ((v - f) / s).floor() * s)
            }
        }
        _ => Value::Null,
    }
}

/// A calendar period of `startof*` / `endof*`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Period {
    /// `startofday`: midnight UTC.
    Day,
    /// `startofweek`: Sunday midnight UTC (Kusto: "Start of the week is considered to be a
    /// Sunday").
    Week,
    /// `startofmonth`.
    Month,
    /// `startofyear`.
    Year,
}

impl Period {
    /// The period's word in `startof<word>`.
    pub fn word(self) -> &'static str {
        match self {
            Period::Day => "day",
            Period::Week => "week",
            Period::Month => "month",
            Period::Year => "year",
        }
    }
}

/// `startof<period>(value, offset)` (`end = false`) or `endof<period>(value, offset)`: the
/// start of the period holding `value`, moved by `offset` periods; `endof` is one tick before
/// the next period's start. Null for a null or out-of-range value.
pub fn start_of(period: Period, value: &Value, offset: i64, end: bool) -> Value {
    let Value::DateTime(t) = value else {
        return Value::Null;
    };
    let offset = if end {
        offset.checked_add(1)
    } else {
        Some(offset)
    };
    let Some(offset) = offset else {
        return Value::Null;
    };
    let day = t.div_euclid(TICKS_PER_DAY);
    let start_day = match period {
        Period::Day => day.checked_add(offset),
        // 1970-01-01 was a Thursday: days since the previous Sunday are (day + 4) mod 7.
        Period::Week => offset
            .checked_mul(7)
            .and_then(|o| (day - (day + 4).rem_euclid(7)).checked_add(o)),
        Period::Month | Period::Year => {
            let (y, m, _) = civil_from_days(day);
            let months = if period == Period::Month {
                Some(offset)
            } else {
                offset.checked_mul(12)
            }
            .filter(|o| o.abs() < 12 * 20_000);
            months.map(|o| {
                let base = if period == Period::Month {
                    y * 12 + (m - 1)
                } else {
                    y * 12
                };
                let idx = base + o;
                days_from_civil(idx.div_euclid(12), idx.rem_euclid(12) + 1, 1)
            })
        }
    };
    start_day
        .and_then(|d| d.checked_mul(TICKS_PER_DAY))
        .and_then(|s| if end { s.checked_sub(1) } else { Some(s) })
        .map_or(Value::Null, Value::DateTime)
}

/// Floor of `v / s` times `s`, towards negative infinity; `None` for `s <= 0` or overflow.
fn floor_long(v: i64, s: i64) -> Option<i64> {
    if s <= 0 {
        return None;
    }
    v.div_euclid(s).checked_mul(s)
}

fn real(v: &Value) -> f64 {
    match v {
        Value::Long(n) => *n as f64,
        Value::Real(x) => *x,
        _ => f64::NAN,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::{parse_datetime, parse_timespan};

    fn dt(s: &str) -> Value {
        Value::DateTime(parse_datetime(s).unwrap())
    }
    fn ts(s: &str) -> Value {
        Value::Timespan(parse_timespan(s).unwrap())
    }

    #[test]
    fn bucket_starts_contain_their_values_and_map_to_themselves() {
        let sizes = ["1s", "7m", "1h", "5h", "1d", "3d", "7d", "30d"];
        let times = [
            "1969-12-31T23:59:59.9999999Z",
            "1970-01-01T00:00:00Z",
            "2024-05-15T13:47:12.3456789Z",
            "1601-01-01T00:00:00Z",
        ];
        for s in sizes {
            let size = parse_timespan(s).unwrap();
            for t in times {
                let v = parse_datetime(t).unwrap();
                let Value::DateTime(b) = bin(&Value::DateTime(v), &Value::Timespan(size)) else {
                    panic!("bin({t}, {s}) is not a datetime");
                };
                assert!(b <= v && v < b + size, "bin({t}, {s})");
                assert_eq!(
                    bin(&Value::DateTime(b), &Value::Timespan(size)),
                    Value::DateTime(b)
                );
                assert_eq!((b + BIN_ORIGIN) % size, 0, "counted from 0001-01-01");
            }
        }
    }

    #[test]
    fn seven_day_buckets_start_on_mondays() {
        assert_eq!(
            bin(&dt("2024-05-15T13:00:00Z"), &ts("7d")),
            dt("2024-05-13")
        );
        assert_eq!(
            bin(&dt("2024-05-12T23:59:59.9999999Z"), &ts("7d")),
            dt("2024-05-06")
        );
        assert_eq!(bin(&dt("1970-01-01"), &ts("7d")), dt("1969-12-29"));
        assert!(!origin_insensitive(parse_timespan("7d").unwrap()));
        assert!(origin_insensitive(parse_timespan("1d").unwrap()));
        assert!(origin_insensitive(parse_timespan("2d").unwrap()));
    }

    #[test]
    fn period_starts() {
        let t = dt("2017-01-01T10:10:17Z");
        assert_eq!(start_of(Period::Week, &t, -1, false), dt("2016-12-25"));
        assert_eq!(start_of(Period::Week, &t, 1, false), dt("2017-01-08"));
        assert_eq!(start_of(Period::Month, &t, -1, false), dt("2016-12-01"));
        assert_eq!(start_of(Period::Year, &t, 1, false), dt("2018-01-01"));
        assert_eq!(
            start_of(Period::Day, &t, 0, true),
            dt("2017-01-01T23:59:59.9999999Z")
        );
        assert_eq!(start_of(Period::Week, &Value::Null, 0, false), Value::Null);
    }
}
