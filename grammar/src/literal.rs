//! Decoding literal tokens: string escapes, numbers and timespans.
//!
//! The grammar only delimits these tokens; their meaning (and the diagnostics for meaningless
//! ones) lives here so that each problem gets its own code and a precise span.

use crate::ast::{Literal, Span};
use crate::{codes, SyntaxError};

/// Timespan units in 100 ns ticks, as KQL spells them.
const UNITS: &[(&str, i128)] = &[
    ("d", 864_000_000_000),
    ("day", 864_000_000_000),
    ("days", 864_000_000_000),
    ("h", 36_000_000_000),
    ("hr", 36_000_000_000),
    ("hrs", 36_000_000_000),
    ("hour", 36_000_000_000),
    ("hours", 36_000_000_000),
    ("m", 600_000_000),
    ("min", 600_000_000),
    ("minute", 600_000_000),
    ("minutes", 600_000_000),
    ("s", 10_000_000),
    ("sec", 10_000_000),
    ("second", 10_000_000),
    ("seconds", 10_000_000),
    ("ms", 10_000),
    ("milli", 10_000),
    ("millis", 10_000),
    ("millisecond", 10_000),
    ("milliseconds", 10_000),
    ("microsecond", 10),
    ("microseconds", 10),
    ("tick", 1),
    ("ticks", 1),
];

fn err(code: &'static str, message: String, span: Span, notes: Vec<String>) -> SyntaxError {
    SyntaxError {
        code,
        message,
        span,
        expected: vec![],
        notes,
    }
}

/// Decodes one string literal token (`string_part`) starting at byte `offset` of the source.
pub(crate) fn decode_string(text: &str, offset: usize) -> Result<String, Vec<SyntaxError>> {
    for delim in ["```", "~~~"] {
        if let Some(inner) = text.strip_prefix(delim) {
            return Ok(inner.strip_suffix(delim).unwrap_or(inner).to_string());
        }
    }
    if let Some(rest) = text.strip_prefix('@') {
        // Verbatim: no escapes; a doubled quote stands for one.
        let q = &rest[..1];
        let inner = &rest[1..rest.len() - 1];
        return Ok(inner.replace(&format!("{q}{q}"), q));
    }
    let inner = &text[1..text.len() - 1];
    let base = offset + 1;
    let mut out = String::with_capacity(inner.len());
    let mut errors = vec![];
    let mut chars = inner.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        // The grammar (sq_string/dq_string) guarantees a character after every backslash.
        let Some((_, e)) = chars.next() else { break };
        match e {
            '\\' => out.push('\\'),
            '\'' => out.push('\''),
            '"' => out.push('"'),
            'n' => out.push('\n'),
            't' => out.push('\t'),
            'r' => out.push('\r'),
            'u' => {
                let hex = |from: usize| {
                    inner
                        .get(from..from + 4)
                        .filter(|h| h.bytes().all(|b| b.is_ascii_hexdigit()))
                };
                let Some(h) = hex(i + 2) else {
                    let end = inner[i + 2..]
                        .char_indices()
                        .take(4)
                        .take_while(|(_, c)| c.is_ascii_hexdigit())
                        .last()
                        .map_or(i + 2, |(j, c)| i + 2 + j + c.len_utf8());
                    errors.push(err(
                        codes::INVALID_UNICODE_ESCAPE,
                        "`\\u` must be followed by four hex digits".into(),
                        Span::new(base + i, base + end),
                        vec!["write e.g. `\\u00e4` for `ä`".into()],
                    ));
                    continue;
                };
                let hi = u32::from_str_radix(h, 16).unwrap_or(0);
                for _ in 0..4 {
                    chars.next();
                }
                let mut end = i + 6;
                let mut cp = hi;
                // A UTF-16 surrogate pair written as two escapes, as JSON does.
                if (0xD800..0xDC00).contains(&hi) && inner[end..].starts_with("\\u") {
                    if let Some(lo) = hex(end + 2).and_then(|l| u32::from_str_radix(l, 16).ok()) {
                        if (0xDC00..0xE000).contains(&lo) {
                            cp = 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00);
                            for _ in 0..6 {
                                chars.next();
                            }
                            end += 6;
                        }
                    }
                }
                match char::from_u32(cp) {
                    Some(ch) => out.push(ch),
                    None => errors.push(err(
                        codes::INVALID_UNICODE_ESCAPE,
                        format!("`\\u{h}` is not a Unicode scalar value"),
                        Span::new(base + i, base + end),
                        vec!["a surrogate must be followed by its pair: `\\ud83d\\ude00`".into()],
                    )),
                }
            }
            other => errors.push(err(
                codes::UNKNOWN_ESCAPE,
                format!("unknown escape sequence `\\{other}`"),
                Span::new(base + i, base + i + 1 + other.len_utf8()),
                vec![
                    "known escapes: \\\\ \\' \\\" \\n \\t \\r \\uXXXX".into(),
                    "for Windows paths use a verbatim string: @'C:\\Windows'".into(),
                ],
            )),
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

/// A `number` token: a long, a real, a hex long (`0x1F`) or a timespan (`1.5h`).
pub(crate) fn number(text: &str, span: Span) -> Result<Literal, SyntaxError> {
    let split = text
        .char_indices()
        .find(|&(i, c)| c.is_ascii_alphabetic() && !is_exponent(text, i))
        .map_or(text.len(), |(i, _)| i);
    let (num, suffix) = text.split_at(split);
    if suffix.is_empty() {
        if num.contains(['.', 'e', 'E']) {
            return match num.parse::<f64>() {
                Ok(x) if x.is_finite() => Ok(Literal::Real(x)),
                _ => Err(err(
                    codes::REAL_OUT_OF_RANGE,
                    format!("real literal `{num}` is out of range"),
                    span,
                    vec!["reals are 64-bit doubles, at most about 1.8e308".into()],
                )),
            };
        }
        return num
            .parse::<i64>()
            .map(Literal::Long)
            .map_err(|_| overflow(num, span));
    }
    if num == "0" && (suffix.starts_with('x') || suffix.starts_with('X')) {
        let hex = &suffix[1..];
        if !hex.is_empty() && hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return i64::from_str_radix(hex, 16)
                .map(Literal::Long)
                .map_err(|_| overflow(text, span));
        }
    }
    let Some(&(_, unit)) = UNITS.iter().find(|(u, _)| *u == suffix) else {
        let suffix_span = Span::new(span.start as usize + split, span.end as usize);
        let mut notes = vec![];
        if let Some(best) = did_you_mean(suffix) {
            notes.push(format!("did you mean `{num}{best}`?"));
        }
        notes.push("timespan units: d, h, m, s, ms, microsecond, tick".into());
        return Err(err(
            codes::UNKNOWN_TIMESPAN_UNIT,
            format!("unknown timespan unit `{suffix}`"),
            suffix_span,
            notes,
        ));
    };
    if num.contains(['e', 'E']) {
        return Err(err(
            codes::UNKNOWN_TIMESPAN_UNIT,
            format!("a timespan cannot have an exponent: `{text}`"),
            span,
            vec![],
        ));
    }
    decimal_ticks(num, unit)
        .map(Literal::Timespan)
        .ok_or_else(|| timespan_overflow(text, span))
}

/// `1e5`: is the `e` at byte `i` an exponent (followed by digits, maybe signed)?
fn is_exponent(text: &str, i: usize) -> bool {
    let b = text.as_bytes();
    if !matches!(b[i], b'e' | b'E') {
        return false;
    }
    let j = if matches!(b.get(i + 1), Some(b'+' | b'-')) {
        i + 2
    } else {
        i + 1
    };
    b.get(j).is_some_and(u8::is_ascii_digit)
        && b[..i].iter().all(|c| c.is_ascii_digit() || *c == b'.')
}

/// `int[.frac]` times `unit` ticks, exactly, rounding the last fraction of a tick to nearest.
fn decimal_ticks(num: &str, unit: i128) -> Option<i64> {
    let (int, frac) = num.split_once('.').unwrap_or((num, ""));
    let int: i128 = int.parse().ok()?;
    let mut ticks = int.checked_mul(unit)?;
    if !frac.is_empty() {
        // More than 30 fraction digits cannot change the tick count of any unit.
        let frac = &frac[..frac.len().min(30)];
        let scale = 10i128.checked_pow(frac.len() as u32)?;
        let f: i128 = frac.parse().ok()?;
        ticks = ticks.checked_add((f.checked_mul(unit)? + scale / 2) / scale)?;
    }
    i64::try_from(ticks).ok()
}

/// `time(d.hh:mm:ss.fffffff)`.
pub(crate) fn clock_time(text: &str, span: Span) -> Result<Literal, SyntaxError> {
    let bad = |what: &str| {
        err(
            codes::INVALID_CLOCK_TIME,
            format!("invalid time `{text}`: {what}"),
            span,
            vec!["the form is [days.]hh:mm[:ss[.fffffff]]".into()],
        )
    };
    let (days, clock) = match text.split_once('.') {
        Some((d, rest)) if rest.contains(':') && !d.contains(':') => (d, rest),
        _ => ("0", text),
    };
    let mut fields = clock.split(':');
    let hours: i128 = fields.next().and_then(|h| h.parse().ok()).unwrap_or(0);
    let minutes: i128 = fields.next().and_then(|m| m.parse().ok()).unwrap_or(0);
    let (secs, frac) = fields
        .next()
        .map_or(("0", ""), |s| s.split_once('.').unwrap_or((s, "")));
    let secs: i128 = secs.parse().unwrap_or(0);
    if hours > 23 {
        return Err(bad("hours must be 0-23"));
    }
    if minutes > 59 {
        return Err(bad("minutes must be 0-59"));
    }
    if secs > 59 {
        return Err(bad("seconds must be 0-59"));
    }
    let frac_ticks: i128 = if frac.is_empty() {
        0
    } else {
        // clock_time allows at most 7 digits: exactly the tick resolution.
        format!("{frac:0<7}").parse().unwrap_or(0)
    };
    let days: i128 = days.parse().map_err(|_| timespan_overflow(text, span))?;
    let ticks = days
        .checked_mul(864_000_000_000)
        .and_then(|t| t.checked_add(((hours * 60 + minutes) * 60 + secs) * 10_000_000 + frac_ticks))
        .and_then(|t| i64::try_from(t).ok())
        .ok_or_else(|| timespan_overflow(text, span))?;
    Ok(Literal::Timespan(ticks))
}

fn overflow(text: &str, span: Span) -> SyntaxError {
    err(
        codes::INTEGER_OVERFLOW,
        format!("integer literal `{text}` does not fit in a long"),
        span,
        vec!["longs are 64-bit: at most 9223372036854775807; write a real (`1e19`) for larger values".into()],
    )
}

fn timespan_overflow(text: &str, span: Span) -> SyntaxError {
    err(
        codes::TIMESPAN_OVERFLOW,
        format!("timespan `{text}` is too long"),
        span,
        vec!["timespans are 64-bit counts of 100 ns ticks: at most about 10 675 199 days".into()],
    )
}

/// The closest known unit to a misspelled one, by edit distance.
fn did_you_mean(suffix: &str) -> Option<&'static str> {
    let lower = suffix.to_ascii_lowercase();
    if let Some(&(u, _)) = UNITS.iter().find(|(u, _)| *u == lower) {
        return Some(u);
    }
    UNITS
        .iter()
        .map(|&(u, _)| (edit_distance(&lower, u), u))
        .filter(|&(d, u)| d <= 2.min(u.len().max(lower.len()) / 2 + 1))
        .min_by_key(|&(d, u)| (d, u.len()))
        .map(|(_, u)| u)
}

pub(crate) fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, &cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != cb))
                .min(prev[j + 1] + 1)
                .min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}
