//! Sigma values: escapes and wildcards, the value modifiers, and the scry condition each
//! detection item becomes (docs/semantics.md, "Sigma").
//!
//! A string value is first read into tokens ([`Tok`]): characters, `*` ([`Tok::Any`]), `?`
//! ([`Tok::One`]). Transformations (`wide`, `base64`, `windash`, `contains`, ...) rewrite the
//! tokens in the order written; the final tokens choose the scry operator: a whole value is
//! `=~`, `*x*` is `contains`, `x*` `startswith`, `*x` `endswith` (scry's case-insensitive
//! operators fold exactly as Sigma asks: Unicode simple case folding), anything else an
//! anchored regex with the longest literal run as a `contains` beside it, so the prefilter
//! still has an anchor.

use std::fmt::Write as _;

/// One token of a Sigma string pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tok {
    /// A literal character.
    Char(char),
    /// `*`: any sequence, newlines included.
    Any,
    /// `?`: exactly one character (one code point).
    One,
    /// A `windash` position: any of `-` `/` `–` `—` `―`.
    Dash,
}

/// The characters a `windash` position stands for (the modifiers appendix).
pub const DASHES: [char; 5] = ['-', '/', '\u{2013}', '\u{2014}', '\u{2015}'];

/// Reads a Sigma string: `\*`, `\?` and `\\` are the literal character; any other backslash
/// is itself; unescaped `*` and `?` are wildcards (the rules specification, "Escape
/// Character").
pub fn parse_pattern(s: &str) -> Vec<Tok> {
    let mut out = Vec::with_capacity(s.len());
    let mut it = s.chars().peekable();
    while let Some(c) = it.next() {
        match c {
            '\\' => match it.peek() {
                Some(&n @ ('*' | '?' | '\\')) => {
                    out.push(Tok::Char(n));
                    it.next();
                }
                _ => out.push(Tok::Char('\\')),
            },
            '*' => out.push(Tok::Any),
            '?' => out.push(Tok::One),
            c => out.push(Tok::Char(c)),
        }
    }
    out
}

/// Tokens of a plain literal (no wildcards), for encoded values and numbers.
pub fn literal(s: &str) -> Vec<Tok> {
    s.chars().map(Tok::Char).collect()
}

/// True if `toks` holds a wildcard.
pub fn has_wildcard(toks: &[Tok]) -> bool {
    toks.iter().any(|t| !matches!(t, Tok::Char(_)))
}

/// The literal text of wildcard-free tokens.
pub fn text(toks: &[Tok]) -> String {
    toks.iter()
        .filter_map(|t| match t {
            Tok::Char(c) => Some(*c),
            _ => None,
        })
        .collect()
}

/// `contains`: `*` on each side that does not already have one.
pub fn contains(mut toks: Vec<Tok>) -> Vec<Tok> {
    if toks.first() != Some(&Tok::Any) {
        toks.insert(0, Tok::Any);
    }
    if toks.last() != Some(&Tok::Any) || toks.len() == 1 {
        toks.push(Tok::Any);
    }
    toks
}

/// `startswith`: a trailing `*`.
pub fn startswith(mut toks: Vec<Tok>) -> Vec<Tok> {
    if toks.last() != Some(&Tok::Any) {
        toks.push(Tok::Any);
    }
    toks
}

/// `endswith`: a leading `*`.
pub fn endswith(mut toks: Vec<Tok>) -> Vec<Tok> {
    if toks.first() != Some(&Tok::Any) {
        toks.insert(0, Tok::Any);
    }
    toks
}

/// `windash`: a `-` or `/` at the start of a word (preceded by the start or a non-word
/// character, followed by a word character: pySigma's `\B[-/]\b`) becomes any dash.
pub fn windash(toks: Vec<Tok>) -> Vec<Tok> {
    let word =
        |t: Option<&Tok>| matches!(t, Some(Tok::Char(c)) if c.is_alphanumeric() || *c == '_');
    let mut out = toks.clone();
    for (i, t) in toks.iter().enumerate() {
        if matches!(t, Tok::Char('-' | '/'))
            && !word(i.checked_sub(1).and_then(|p| toks.get(p)))
            && word(toks.get(i + 1))
        {
            out[i] = Tok::Dash;
        }
    }
    out
}

/// How text becomes bytes before `base64`: UTF-8 unless a `wide`/`utf16*` modifier came first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// UTF-8.
    Utf8,
    /// `utf16le` / `wide`.
    Utf16Le,
    /// `utf16be`.
    Utf16Be,
    /// `utf16`: a byte order mark `FF FE`, then little-endian.
    Utf16,
}

/// The bytes of `s` in `enc`.
pub fn encode(s: &str, enc: Encoding) -> Vec<u8> {
    match enc {
        Encoding::Utf8 => s.as_bytes().to_vec(),
        Encoding::Utf16Le => s.encode_utf16().flat_map(u16::to_le_bytes).collect(),
        Encoding::Utf16Be => s.encode_utf16().flat_map(u16::to_be_bytes).collect(),
        Encoding::Utf16 => [0xFF, 0xFE]
            .into_iter()
            .chain(s.encode_utf16().flat_map(u16::to_le_bytes))
            .collect(),
    }
}

/// Bytes as text, one character per byte (U+0000–U+00FF): what a `wide` value without a
/// following `base64` is compared as.
pub fn bytes_text(b: &[u8]) -> String {
    b.iter().map(|&x| char::from(x)).collect()
}

/// Standard Base64 with padding.
pub fn base64(b: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(b.len().div_ceil(3) * 4);
    for chunk in b.chunks(3) {
        let n = chunk.len();
        let v = (u32::from(chunk[0]) << 16)
            | (u32::from(*chunk.get(1).unwrap_or(&0)) << 8)
            | u32::from(*chunk.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= n {
                out.push(char::from(A[((v >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// `base64offset`: the three needles that appear in the Base64 text of any data holding the
/// value, at each of the three byte offsets (pySigma's formula: encode after 0, 1 or 2
/// leading bytes, drop the characters those bytes and the ragged end influence). Empty
/// needles (one-byte values) are left out: they would match everything.
pub fn base64offset(b: &[u8]) -> Vec<String> {
    const START: [usize; 3] = [0, 2, 3];
    const END_CUT: [usize; 3] = [0, 3, 2];
    let mut out = Vec::new();
    for i in 0..3 {
        let mut data = vec![b' '; i];
        data.extend_from_slice(b);
        let enc = base64(&data);
        let cut = END_CUT[(b.len() + i) % 3];
        let end = enc.len().saturating_sub(cut);
        if let Some(n) = enc.get(START[i]..end).filter(|n| !n.is_empty()) {
            out.push(n.to_string());
        }
    }
    out
}

/// A scry string literal holding `s` exactly.
pub fn scry_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('\'');
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => {
                let mut buf = [0u16; 2];
                for u in c.encode_utf16(&mut buf) {
                    let _ = write!(out, "\\u{:04X}", u);
                }
            }
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

/// The scry condition for "the text `f` matches `toks`", case-insensitively unless `cased`.
/// `f` is a scry expression of type string.
pub fn pattern_test(f: &str, toks: &[Tok], cased: bool) -> String {
    let cs = if cased { "_cs" } else { "" };
    let n = toks.len();
    let inner = |a: usize, b: usize| -> Option<String> {
        let s = &toks[a..b];
        (!s.is_empty() && !has_wildcard(s)).then(|| text(s))
    };
    if n == 0 {
        return format!("isempty({f})");
    }
    if toks.iter().all(|t| *t == Tok::Any) {
        // Any value; scry reads a missing string as "", so "present" is "not empty".
        return format!("isnotempty({f})");
    }
    if !has_wildcard(toks) {
        let op = if cased { "==" } else { "=~" };
        return format!("{f} {op} {}", scry_str(&text(toks)));
    }
    let first_any = toks[0] == Tok::Any;
    let last_any = toks[n - 1] == Tok::Any;
    if first_any && last_any && n >= 3 {
        if let Some(s) = inner(1, n - 1) {
            return format!("{f} contains{cs} {}", scry_str(&s));
        }
    }
    if last_any && !first_any {
        if let Some(s) = inner(0, n - 1) {
            return format!("{f} startswith{cs} {}", scry_str(&s));
        }
    }
    if first_any && !last_any {
        if let Some(s) = inner(1, n) {
            return format!("{f} endswith{cs} {}", scry_str(&s));
        }
    }
    // The general case: an anchored regex, and the longest literal run as an anchor.
    let mut re = String::from(if cased { "(?s)^" } else { "(?is)^" });
    for t in toks {
        match t {
            Tok::Char(c) => re.push_str(&regex::escape(c.encode_utf8(&mut [0; 4]))),
            Tok::Any => re.push_str(".*"),
            Tok::One => re.push('.'),
            Tok::Dash => re.push_str("[-/\u{2013}\u{2014}\u{2015}]"),
        }
    }
    re.push('$');
    let regex = format!("{f} matches regex {}", scry_str(&re));
    match longest_run(toks) {
        Some(run) if run.chars().count() >= 2 => {
            format!("({f} contains{cs} {} and {regex})", scry_str(&run))
        }
        _ => regex,
    }
}

fn longest_run(toks: &[Tok]) -> Option<String> {
    toks.split(|t| !matches!(t, Tok::Char(_)))
        .max_by_key(|r| r.len())
        .filter(|r| !r.is_empty())
        .map(text)
}

/// The scry condition for an IPv4 or IPv6 network (`cidr`), over the text `f`; `None` if
/// `net` is not a network.
pub fn cidr_test(f: &str, net: &str) -> Option<String> {
    let (addr, bits) = match net.split_once('/') {
        Some((a, b)) => (a.trim(), b.trim().parse::<u32>().ok()?),
        None => (net.trim(), u32::MAX),
    };
    if let Ok(v4) = addr.parse::<std::net::Ipv4Addr>() {
        let bits = if bits == u32::MAX { 32 } else { bits };
        if bits > 32 {
            return None;
        }
        let o = v4.octets();
        let mut re = String::from("^");
        let mut fixed = String::new();
        let mut all_fixed = true;
        for (i, &oct) in o.iter().enumerate() {
            let covered = bits.saturating_sub(8 * i as u32).min(8);
            let mask: u8 = if covered == 0 {
                0
            } else {
                !0u8 << (8 - covered)
            };
            let lo = oct & mask;
            let hi = lo | !mask;
            if i > 0 {
                re.push_str("\\.");
            }
            if lo == hi {
                re.push_str(&lo.to_string());
                if all_fixed {
                    fixed.push_str(&lo.to_string());
                    fixed.push('.');
                }
            } else {
                all_fixed = false;
                let alts: Vec<String> = (lo..=hi).map(|x| x.to_string()).collect();
                let _ = write!(re, "(?:{})", alts.join("|"));
            }
        }
        re.push('$');
        let test = format!("{f} matches regex {}", scry_str(&re));
        return Some(if fixed.is_empty() {
            test
        } else {
            format!("({f} startswith {} and {test})", scry_str(&fixed))
        });
    }
    let v6 = addr.parse::<std::net::Ipv6Addr>().ok()?;
    let bits = if bits == u32::MAX { 128 } else { bits };
    if bits > 128 {
        return None;
    }
    if bits == 128 {
        return Some(format!("{f} =~ {}", scry_str(&v6.to_string())));
    }
    // Groups fully inside the prefix are written without leading zeros and matched with
    // optional ones; a partly covered group by its leading hex digits. This reads the
    // uncompressed form of those groups: an address written with `::` inside the prefix
    // (`fe80::` for a /10 is fine, `2001:db8::` for a /48 is not) is missed.
    let seg = v6.segments();
    let mut re = String::from("(?i)^");
    let mut left = bits;
    for s in seg {
        if left == 0 {
            break;
        }
        if left >= 16 {
            let _ = write!(re, "0*{s:x}:");
            left -= 16;
            continue;
        }
        let digits = format!("{s:04x}");
        let full = (left / 4) as usize;
        re.push_str(&digits[..full]);
        let rem = left % 4;
        if rem > 0 {
            let nib = u8::from_str_radix(&digits[full..=full], 16).ok()?;
            let mask = 0xF0u8 >> rem & 0xF;
            let lo = nib & mask;
            let hi = lo | (!mask & 0xF);
            // Listed, not a range: `[8-b]` would span ASCII punctuation and capitals.
            re.push('[');
            for d in lo..=hi {
                let _ = write!(re, "{d:x}");
            }
            re.push(']');
        }
        left = 0;
    }
    Some(format!("{f} matches regex {}", scry_str(&re)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pat(s: &str) -> String {
        let toks = parse_pattern(s);
        let mut out = String::new();
        for t in toks {
            match t {
                Tok::Char(c) => out.push(c),
                Tok::Any => out.push_str("<ANY>"),
                Tok::One => out.push_str("<ONE>"),
                Tok::Dash => out.push_str("<DASH>"),
            }
        }
        out
    }

    #[test]
    fn escapes_follow_the_specification() {
        assert_eq!(pat(r"C:\Windows\System32"), r"C:\Windows\System32");
        assert_eq!(pat(r"C:\\Windows"), r"C:\Windows");
        assert_eq!(pat(r"a\*b"), "a*b");
        assert_eq!(pat(r"a\?"), "a?");
        assert_eq!(pat(r"C:\Windows\*.exe"), r"C:\Windows*.exe");
        assert_eq!(pat(r"C:\Windows\\*.exe"), r"C:\Windows\<ANY>.exe");
        assert_eq!(pat(r"C:\\\*"), r"C:\*");
        assert_eq!(pat(r"\\\\server"), r"\\server");
        assert_eq!(pat(r"\\\server"), r"\\server");
        assert_eq!(pat(r"ab\"), r"ab\");
        assert_eq!(pat("a*b?c"), "a<ANY>b<ONE>c");
    }

    #[test]
    fn base64_and_offsets() {
        assert_eq!(base64(b"cmd"), "Y21k");
        assert_eq!(base64(b"ab"), "YWI=");
        assert_eq!(base64(b"a"), "YQ==");
        assert_eq!(
            base64offset(b"IEX (["),
            vec!["SUVYIChb", "lFWCAoW", "JRVggKF"]
        );
        assert_eq!(
            encode("cmd", Encoding::Utf16Le),
            vec![0x63, 0, 0x6d, 0, 0x64, 0]
        );
        assert_eq!(
            encode("cmd", Encoding::Utf16),
            vec![0xFF, 0xFE, 0x63, 0, 0x6d, 0, 0x64, 0]
        );
        assert_eq!(
            encode("cmd", Encoding::Utf16Be),
            vec![0, 0x63, 0, 0x6d, 0, 0x64]
        );
    }

    #[test]
    fn windash_positions() {
        let w = |s: &str| {
            windash(literal(s))
                .iter()
                .filter(|t| **t == Tok::Dash)
                .count()
        };
        assert_eq!(w(" -enc"), 1);
        assert_eq!(w("-enc"), 1);
        assert_eq!(w(" /c"), 1);
        assert_eq!(w("a-b"), 0);
        assert_eq!(w("--x"), 1); // the second dash starts the word
        assert_eq!(w("- x"), 0);
    }

    #[test]
    fn operators_by_shape() {
        let t = |s: &str| pattern_test("F", &parse_pattern(s), false);
        assert_eq!(t("abc"), "F =~ 'abc'");
        assert_eq!(t("*abc*"), "F contains 'abc'");
        assert_eq!(t("abc*"), "F startswith 'abc'");
        assert_eq!(t("*abc"), "F endswith 'abc'");
        assert_eq!(t("*"), "isnotempty(F)");
        assert_eq!(t(""), "isempty(F)");
        assert_eq!(
            t("ab*cde"),
            "(F contains 'cde' and F matches regex '(?is)^ab.*cde$')"
        );
        assert_eq!(
            pattern_test("F", &parse_pattern("*x*"), true),
            "F contains_cs 'x'"
        );
        assert_eq!(scry_str("a'b\\c\u{0}"), r"'a\'b\\c\u0000'");
    }

    #[test]
    fn cidr_regexes() {
        let re = |net: &str, ip: &str| {
            let t = cidr_test("F", net).unwrap();
            let src = t.rsplit("matches regex '").next().unwrap();
            let src = src.trim_end_matches(')').trim_end_matches('\'');
            regex::Regex::new(&src.replace("\\\\", "\\"))
                .unwrap()
                .is_match(ip)
        };
        assert!(re("10.0.0.0/8", "10.1.2.3"));
        assert!(!re("10.0.0.0/8", "110.1.2.3"));
        assert!(re("172.16.0.0/12", "172.31.255.1"));
        assert!(!re("172.16.0.0/12", "172.32.0.1"));
        assert!(re("192.168.1.0/24", "192.168.1.77"));
        assert!(re("fe80::/10", "FE80::1"));
        assert!(re("fe80::/10", "febf::1"));
        assert!(!re("fe80::/10", "fec0::1"));
        assert!(re("fc00::/7", "fd12:3456::1"));
        assert!(cidr_test("F", "nonsense").is_none());
        assert_eq!(cidr_test("F", "::1/128").unwrap(), "F =~ '::1'");
    }
}
