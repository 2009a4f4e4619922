//! Datetimes and timespans in Kusto's 100 ns ticks: parsing literals and event fields, and
//! printing them the way Kusto does (`2024-05-15T12:00:00.0000000Z`, `1.02:03:04.5000000`).
//!
//! Datetimes are ticks since the Unix epoch, UTC. The common event shape
//! `YYYY-MM-DDTHH:MM:SS[.f]Z` goes through a hand-written parser because it runs once per
//! event; RFC 2822 forms (`Sat, 8 Nov 2014 15:05:02 GMT`) fall back to `jiff`.

/// 100 ns ticks in one second.
pub const TICKS_PER_SECOND: i64 = 10_000_000;
/// Ticks in one millisecond.
const TICKS_PER_MS: i64 = 10_000;
/// Ticks in one minute.
const TICKS_PER_MINUTE: i64 = 60 * TICKS_PER_SECOND;
/// Ticks in one hour.
const TICKS_PER_HOUR: i64 = 60 * TICKS_PER_MINUTE;
/// Ticks in one day.
pub(crate) const TICKS_PER_DAY: i64 = 24 * TICKS_PER_HOUR;

/// Parses a datetime into ticks since the Unix epoch (UTC).
///
/// Accepts ISO 8601 / RFC 3339: `2024-05-15T12:00:00Z`, `2024-05-15 12:00:00.1234567+02:00`,
/// `2024-05-15T12:00`, `2024-05-15` (midnight), with 0 or more fractional digits (digits past
/// the seventh are truncated: ticks are the precision), `Z`, `±hh:mm`, `±hhmm` or `±hh`, or no
/// zone (UTC); a trailing ` GMT`/` UTC` is accepted too. Years 0001 to 9999. Surrounding
/// whitespace is ignored. Also RFC 2822 (`Sat, 8 Nov 2014 15:05:02 GMT`). `None` if invalid.
pub fn parse_datetime(s: &str) -> Option<i64> {
    let s = s.trim();
    parse_iso(s.as_bytes())
        .or_else(|| parse_rfc2822(s))
        .or_else(|| parse_us_12h(s))
}

/// The US 12-hour forms that portal and spreadsheet CSV exports write, in UTC:
/// `5/14/2024 8:00:00 AM`, `5/14/2024, 8:00:00.123 PM`, `May 14, 2024 8:00:00 AM`. The
/// `AM`/`PM` marker is what makes month-first certain; without it `5/6/2024` is ambiguous and
/// is not accepted.
fn parse_us_12h(s: &str) -> Option<i64> {
    const MONTHS: [&str; 12] = [
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ];
    let words: Vec<&str> = s.split([' ', ',']).filter(|w| !w.is_empty()).collect();
    let (date, rest) = match words.as_slice() {
        [d, rest @ ..] if d.contains('/') => {
            let mut it = d.split('/');
            let m: i8 = it.next()?.parse().ok()?;
            let day: i8 = it.next()?.parse().ok()?;
            let y: i16 = it.next()?.parse().ok()?;
            (jiff::civil::Date::new(y, m, day).ok()?, rest)
        }
        [mon, day, year, rest @ ..] => {
            let lower = mon.to_ascii_lowercase();
            let m = MONTHS.iter().position(|p| lower.starts_with(p))? as i8 + 1;
            let day: i8 = day.parse().ok()?;
            let y: i16 = year.parse().ok()?;
            (jiff::civil::Date::new(y, m, day).ok()?, rest)
        }
        _ => return None,
    };
    let [clock, marker] = rest else { return None };
    let pm = match marker.to_ascii_uppercase().as_str() {
        "AM" => false,
        "PM" => true,
        _ => return None,
    };
    let mut parts = clock.split(':');
    let h: i64 = parts.next()?.parse().ok()?;
    let min: i64 = parts.next()?.parse().ok()?;
    let (sec, frac) = match parts.next() {
        None => (0, 0),
        Some(sf) => {
            let (sec, frac) = sf.split_once('.').unwrap_or((sf, ""));
            if frac.len() > 7 || !frac.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            let ticks: i64 = format!("{frac:0<7}").parse().ok()?;
            (sec.parse::<i64>().ok()?, ticks)
        }
    };
    if parts.next().is_some() || !(1..=12).contains(&h) || min > 59 || sec > 59 {
        return None;
    }
    let h24 = (h % 12) + if pm { 12 } else { 0 };
    // `Date::new` validated the day of the month (no 2/30).
    let day_start = date
        .to_zoned(jiff::tz::TimeZone::UTC)
        .ok()?
        .timestamp()
        .as_second();
    let secs = day_start + h24 * 3600 + min * 60 + sec;
    secs.checked_mul(10_000_000)?.checked_add(frac)
}

fn parse_rfc2822(s: &str) -> Option<i64> {
    let zoned = jiff::fmt::rfc2822::parse(s).ok()?;
    let nanos = zoned.timestamp().as_nanosecond();
    i64::try_from(nanos.div_euclid(100)).ok()
}

/// A cursor over ASCII bytes for the ISO parser.
struct Cursor<'a> {
    b: &'a [u8],
    i: usize,
}

impl Cursor<'_> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn eat(&mut self, c: u8) -> bool {
        if self.peek() == Some(c) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    /// Exactly `n` digits.
    fn digits(&mut self, n: usize) -> Option<i64> {
        let mut v = 0i64;
        for _ in 0..n {
            let d = self.peek().filter(u8::is_ascii_digit)?;
            v = v * 10 + i64::from(d - b'0');
            self.i += 1;
        }
        Some(v)
    }

    fn done(&self) -> bool {
        self.i == self.b.len()
    }
}

fn parse_iso(b: &[u8]) -> Option<i64> {
    let mut c = Cursor { b, i: 0 };
    let year = c.digits(4)?;
    if !c.eat(b'-') {
        return None;
    }
    let month = c.digits(2)?;
    if !c.eat(b'-') {
        return None;
    }
    let day = c.digits(2)?;
    if !(1..=9999).contains(&year) || !(1..=12).contains(&month) {
        return None;
    }
    if day < 1 || day > days_in_month(year, month) {
        return None;
    }
    let date_ticks = days_from_civil(year, month, day) * TICKS_PER_DAY;
    if c.done() {
        return Some(date_ticks);
    }
    if !(c.eat(b'T') || c.eat(b't') || c.eat(b' ')) {
        return None;
    }
    let hour = c.digits(2)?;
    if !c.eat(b':') {
        return None;
    }
    let minute = c.digits(2)?;
    let mut second = 0;
    let mut frac = 0;
    if c.eat(b':') {
        second = c.digits(2)?;
        if c.eat(b'.') || c.eat(b',') {
            let start = c.i;
            let mut n = 0;
            while let Some(d) = c.peek().filter(u8::is_ascii_digit) {
                if n < 7 {
                    frac = frac * 10 + i64::from(d - b'0');
                    n += 1;
                }
                c.i += 1;
            }
            if c.i == start {
                return None;
            }
            frac *= 10i64.pow(7 - n);
        }
    }
    if hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    let offset = parse_zone(&mut c)?;
    if !c.done() {
        return None;
    }
    let local = date_ticks
        + hour * TICKS_PER_HOUR
        + minute * TICKS_PER_MINUTE
        + second * TICKS_PER_SECOND
        + frac;
    Some(local - offset)
}

/// The zone suffix as an offset in ticks east of UTC (0 when absent).
fn parse_zone(c: &mut Cursor<'_>) -> Option<i64> {
    if c.eat(b'Z') || c.eat(b'z') {
        return Some(0);
    }
    let sign = match c.peek() {
        Some(b'+') => 1,
        Some(b'-') => -1,
        Some(b' ') => {
            let rest = c.b.get(c.i + 1..)?;
            if rest.eq_ignore_ascii_case(b"GMT") || rest.eq_ignore_ascii_case(b"UTC") {
                c.i = c.b.len();
                return Some(0);
            }
            return None;
        }
        _ => return Some(0),
    };
    c.i += 1;
    let hh = c.digits(2)?;
    let mm = if c.eat(b':') {
        c.digits(2)?
    } else if c.done() {
        0
    } else {
        c.digits(2)?
    };
    if hh > 23 || mm > 59 {
        return None;
    }
    Some(sign * (hh * TICKS_PER_HOUR + mm * TICKS_PER_MINUTE))
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
pub(crate) fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The civil date of a day count since 1970-01-01 (inverse of [`days_from_civil`]).
pub(crate) fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// Formats ticks since the Unix epoch as Kusto does: `2024-05-15T12:00:00.0000000Z`, always
/// with seven fractional digits.
pub fn format_datetime(ticks: i64) -> String {
    let mut out = String::with_capacity(28);
    write_datetime(&mut out, ticks);
    out
}

/// Appends [`format_datetime`]'s text to `out`, allocating nothing when `out` has room (for
/// readers that render a datetime per record).
pub fn write_datetime(out: &mut String, ticks: i64) {
    use std::fmt::Write;
    let days = ticks.div_euclid(TICKS_PER_DAY);
    let rem = ticks.rem_euclid(TICKS_PER_DAY);
    let (y, m, d) = civil_from_days(days);
    // Writing to a String cannot fail.
    let _ = write!(
        out,
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:07}Z",
        rem / TICKS_PER_HOUR,
        rem % TICKS_PER_HOUR / TICKS_PER_MINUTE,
        rem % TICKS_PER_MINUTE / TICKS_PER_SECOND,
        rem % TICKS_PER_SECOND
    );
}

/// Ticks per unit for the timespan suffixes Kusto accepts.
fn unit_ticks(unit: &str) -> Option<i64> {
    Some(match unit {
        "d" | "day" | "days" => TICKS_PER_DAY,
        "h" | "hr" | "hrs" | "hour" | "hours" => TICKS_PER_HOUR,
        "m" | "min" | "minute" | "minutes" => TICKS_PER_MINUTE,
        "s" | "sec" | "second" | "seconds" => TICKS_PER_SECOND,
        "ms" | "milli" | "millis" | "millisecond" | "milliseconds" => TICKS_PER_MS,
        "microsecond" | "microseconds" => 10,
        "tick" | "ticks" => 1,
        _ => return None,
    })
}

/// Parses a KQL timespan into ticks.
///
/// Forms: a decimal number with a unit (`5d`, `1.5h`, `30m`, `10s`, `100ms`, `3microsecond`,
/// `7tick`, and the long spellings `days`, `hours`, `minutes`, `seconds`, `milliseconds`,
/// `microseconds`, `ticks`; a space may separate number and unit); a bare number (days, as in
/// `time(2)`); or `[d.]hh:mm[:ss[.fffffff]]`. A leading `-` negates. Fractions that fall below
/// one tick are rounded to the nearest tick. `None` if invalid or out of range.
pub fn parse_timespan(s: &str) -> Option<i64> {
    let s = s.trim();
    let (neg, body) = match s.strip_prefix('-') {
        Some(rest) => (true, rest.trim_start()),
        None => (false, s),
    };
    let ticks = if body.contains(':') {
        parse_clock(body)?
    } else {
        let split = body
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(body.len());
        let (num, unit) = body.split_at(split);
        let unit = unit.trim_start();
        let per = if unit.is_empty() {
            TICKS_PER_DAY
        } else {
            unit_ticks(unit)?
        };
        scale_decimal(num, per)?
    };
    Some(if neg { ticks.checked_neg()? } else { ticks })
}

/// `int[.frac] * per`, exactly (decimal arithmetic, rounded to the nearest tick).
fn scale_decimal(num: &str, per: i64) -> Option<i64> {
    let (int, frac) = num.split_once('.').unwrap_or((num, ""));
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    if !int.bytes().all(|b| b.is_ascii_digit()) || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let frac = &frac[..frac.len().min(18)];
    let mut mantissa: i128 = 0;
    for b in int.bytes().chain(frac.bytes()) {
        mantissa = mantissa
            .checked_mul(10)?
            .checked_add(i128::from(b - b'0'))?;
    }
    let scale = 10i128.pow(frac.len() as u32);
    let prod = mantissa.checked_mul(i128::from(per))?;
    i64::try_from((prod + scale / 2) / scale).ok()
}

/// `[d.]hh:mm[:ss[.fffffff]]`.
fn parse_clock(s: &str) -> Option<i64> {
    let (days, clock) = match s.split_once(':') {
        Some((head, _)) if head.contains('.') => {
            let dot = head.find('.')?;
            (s[..dot].parse::<i64>().ok()?, &s[dot + 1..])
        }
        _ => (0, s),
    };
    let mut parts = clock.split(':');
    let num = |p: Option<&str>| -> Option<i64> {
        let p = p?;
        if p.is_empty() || p.len() > 2 || !p.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        p.parse().ok()
    };
    let hh = num(parts.next())?;
    let mm = num(parts.next())?;
    let secs = match parts.next() {
        None => 0,
        Some(sec) => {
            let (whole, frac) = sec.split_once('.').unwrap_or((sec, ""));
            let ss = num(Some(whole))?;
            if ss > 59 {
                return None;
            }
            let frac_ticks = if frac.is_empty() {
                0
            } else {
                if !frac.bytes().all(|b| b.is_ascii_digit()) {
                    return None;
                }
                let f = &frac[..frac.len().min(7)];
                f.parse::<i64>().ok()? * 10i64.pow(7 - f.len() as u32)
            };
            ss * TICKS_PER_SECOND + frac_ticks
        }
    };
    if parts.next().is_some() || hh > 23 || mm > 59 {
        return None;
    }
    days.checked_mul(TICKS_PER_DAY)?
        .checked_add(hh * TICKS_PER_HOUR + mm * TICKS_PER_MINUTE + secs)
}

/// Formats a timespan as Kusto does: `[-][d.]hh:mm:ss[.fffffff]` (`1.02:03:04.5000000`,
/// `00:00:10`, `-00:30:00`); the fraction is printed, with seven digits, only when non-zero.
pub fn format_timespan(ticks: i64) -> String {
    let sign = if ticks < 0 { "-" } else { "" };
    // unsigned_abs: i64::MIN has no positive i64 counterpart.
    let t = ticks.unsigned_abs();
    let (tpd, tph, tpm, tps) = (
        TICKS_PER_DAY as u64,
        TICKS_PER_HOUR as u64,
        TICKS_PER_MINUTE as u64,
        TICKS_PER_SECOND as u64,
    );
    let days = t / tpd;
    let mut out = String::from(sign);
    if days > 0 {
        out.push_str(&format!("{days}."));
    }
    out.push_str(&format!(
        "{:02}:{:02}:{:02}",
        t % tpd / tph,
        t % tph / tpm,
        t % tpm / tps
    ));
    let frac = t % tps;
    if frac != 0 {
        out.push_str(&format!(".{frac:07}"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn us_twelve_hour_exports_parse_and_nonsense_does_not() {
        let iso = |s: &str| parse_datetime(s).map(format_datetime);
        assert_eq!(
            iso("5/14/2024 8:00:00 AM").as_deref(),
            Some("2024-05-14T08:00:00.0000000Z")
        );
        assert_eq!(
            iso("5/14/2024, 8:00:00.123 PM").as_deref(),
            Some("2024-05-14T20:00:00.1230000Z")
        );
        assert_eq!(
            iso("May 14, 2024 12:05:01 AM").as_deref(),
            Some("2024-05-14T00:05:01.0000000Z")
        );
        assert_eq!(
            iso("12/31/2024 12:00 PM").as_deref(),
            Some("2024-12-31T12:00:00.0000000Z")
        );
        for bad in [
            "2/30/2024 8:00:00 AM",
            "5/14/2024 13:00:00 PM",
            "5/14/2024 8:00:00",
            "99/99/99999 1:00 AM",
            "Foo 1, 2024 1:00 AM",
        ] {
            assert_eq!(parse_datetime(bad), None, "{bad}");
        }
    }

    const T0: i64 = 17_157_744_000_000_000; // 2024-05-15T12:00:00Z

    #[test]
    fn datetimes_parse_in_every_accepted_shape() {
        assert_eq!(parse_datetime("2024-05-15T12:00:00Z"), Some(T0));
        assert_eq!(parse_datetime("2024-05-15T12:00:00.0000000Z"), Some(T0));
        assert_eq!(parse_datetime("2024-05-15 12:00:00"), Some(T0));
        assert_eq!(parse_datetime("2024-05-15T12:00"), Some(T0));
        assert_eq!(parse_datetime("2024-05-15T14:00:00+02:00"), Some(T0));
        assert_eq!(parse_datetime("2024-05-15T10:30:00-0130"), Some(T0));
        assert_eq!(parse_datetime(" 2024-05-15T12:00:00 GMT "), Some(T0));
        assert_eq!(parse_datetime("2024-05-15T12:00:00.0000001Z"), Some(T0 + 1));
        assert_eq!(
            parse_datetime("2024-05-15T12:00:00.5Z"),
            Some(T0 + 5_000_000)
        );
        assert_eq!(
            parse_datetime("2024-05-15T12:00:00.123456789Z"),
            Some(T0 + 1_234_567)
        );
        assert_eq!(parse_datetime("2024-05-15"), Some(T0 - 12 * TICKS_PER_HOUR));
        assert_eq!(parse_datetime("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(
            parse_datetime("Wed, 15 May 2024 12:00:00 GMT"),
            Some(T0),
            "RFC 2822 fallback"
        );
        for bad in [
            "",
            "2024-13-01",
            "2023-02-29",
            "2024-05-15T24:00:00Z",
            "2024-05-15T12:00:00.Z",
            "2024-05-15X12:00",
            "2024-05-15T12:00:00Zjunk",
            "2024-5-15",
            "0000-01-01",
        ] {
            assert_eq!(parse_datetime(bad), None, "{bad:?}");
        }
        assert_eq!(parse_datetime("2024-02-29"), Some(19_782 * TICKS_PER_DAY));
    }

    #[test]
    fn datetimes_round_trip_through_kusto_format() {
        assert_eq!(format_datetime(T0), "2024-05-15T12:00:00.0000000Z");
        assert_eq!(format_datetime(T0 + 1), "2024-05-15T12:00:00.0000001Z");
        assert_eq!(format_datetime(-1), "1969-12-31T23:59:59.9999999Z");
        for s in [
            "0001-01-01T00:00:00.0000000Z",
            "9999-12-31T23:59:59.9999999Z",
            "2000-02-29T01:02:03.4560000Z",
        ] {
            let t = parse_datetime(s).expect("valid");
            assert_eq!(format_datetime(t), s);
        }
    }

    #[test]
    fn timespans_parse() {
        assert_eq!(parse_timespan("5d"), Some(5 * TICKS_PER_DAY));
        assert_eq!(parse_timespan("1.5h"), Some(54_000_000_000));
        assert_eq!(parse_timespan("30m"), Some(30 * TICKS_PER_MINUTE));
        assert_eq!(parse_timespan("10s"), Some(10 * TICKS_PER_SECOND));
        assert_eq!(parse_timespan("0.1s"), Some(1_000_000));
        assert_eq!(parse_timespan("100ms"), Some(1_000_000));
        assert_eq!(parse_timespan("3microsecond"), Some(30));
        assert_eq!(parse_timespan("3microseconds"), Some(30));
        assert_eq!(parse_timespan("7tick"), Some(7));
        assert_eq!(parse_timespan("7ticks"), Some(7));
        assert_eq!(parse_timespan("2 days"), Some(2 * TICKS_PER_DAY));
        assert_eq!(parse_timespan("2"), Some(2 * TICKS_PER_DAY));
        assert_eq!(parse_timespan("-5d"), Some(-5 * TICKS_PER_DAY));
        assert_eq!(
            parse_timespan("1.02:03:04.5"),
            Some(TICKS_PER_DAY + 2 * TICKS_PER_HOUR + 3 * TICKS_PER_MINUTE + 45_000_000)
        );
        assert_eq!(parse_timespan("00:30:00"), Some(30 * TICKS_PER_MINUTE));
        assert_eq!(parse_timespan("01:30"), Some(90 * TICKS_PER_MINUTE));
        for bad in [
            "", "d", "5x", "1..5h", "25:00:00", "00:60:00", "1:2:3:4", ".",
        ] {
            assert_eq!(parse_timespan(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn timespans_format_like_kusto() {
        assert_eq!(format_timespan(0), "00:00:00");
        assert_eq!(format_timespan(5 * TICKS_PER_DAY), "5.00:00:00");
        assert_eq!(format_timespan(-30 * TICKS_PER_MINUTE), "-00:30:00");
        assert_eq!(format_timespan(15_000_000), "00:00:01.5000000");
        assert_eq!(
            format_timespan(i64::MIN),
            "-10675199.02:48:05.4775808",
            "no overflow"
        );
    }
}
