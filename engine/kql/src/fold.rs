//! Case folding and term characters: the two character classes every case-insensitive and
//! term-bounded operator is defined by.
//!
//! Folding is Unicode *simple* case folding (CaseFolding.txt statuses C and S): one code point
//! to one code point, so folded text keeps its character count and `ß` never becomes `ss`.
//! Nothing here normalises: precomposed `ä` and `a` + U+0308 stay different.

use std::borrow::Cow;

use unicode_properties::{GeneralCategoryGroup, UnicodeGeneralCategory};

/// Simple Unicode case folding of one code point (one code point to one code point).
///
/// `A`→`a`, `Ü`→`ü`, `ẞ` (U+1E9E)→`ß`, Kelvin `K` (U+212A)→`k`, `Σ` and `ς`→`σ`; `İ` (U+0130)
/// has only a full (F) and a Turkic (T) folding, so it stays `İ`.
#[inline]
pub fn fold_char(c: char) -> char {
    if c.is_ascii() {
        return c.to_ascii_lowercase();
    }
    // `case_folded` is generated from CaseFolding.txt statuses C+S only (checked by the tests
    // below on ẞ, İ and the Kelvin sign), which is exactly the simple folding we want.
    unicode_case_mapping::case_folded(c)
        .and_then(|cp| char::from_u32(cp.get()))
        .unwrap_or(c)
}

/// Appends the simple case folding of `s` to `out`.
pub fn fold_into(s: &str, out: &mut String) {
    if s.is_ascii() {
        // Byte-wise lowering is exact for ASCII and much faster than per-char dispatch; done
        // in place over the copied bytes it is one vectorised pass (pushing char by char cost
        // ~2 % of a run of every Sigma rule, which folds each column it scans).
        let start = out.len();
        out.push_str(s);
        out[start..].make_ascii_lowercase();
        return;
    }
    out.reserve(s.len());
    out.extend(s.chars().map(fold_char));
}

/// The simple case folding of `s`.
pub fn fold(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    fold_into(s, &mut out);
    out
}

/// The simple case folding of `s`, borrowing when folding changes nothing (the common case for
/// needles and already-lower-case data).
pub fn fold_cow(s: &str) -> Cow<'_, str> {
    if s.chars().all(|c| fold_char(c) == c) {
        Cow::Borrowed(s)
    } else {
        Cow::Owned(fold(s))
    }
}

/// A term character: Unicode general category L* (letters) or N* (numbers).
///
/// Not `char::is_alphanumeric`, which uses the derived `Alphabetic` property and so also
/// accepts some marks (e.g. U+0345) and other non-L/N code points.
#[inline]
pub fn is_term_char(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_alphanumeric();
    }
    matches!(
        c.general_category_group(),
        GeneralCategoryGroup::Letter | GeneralCategoryGroup::Number
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn simple_folding_not_full_folding() {
        assert_eq!(fold_char('A'), 'a');
        assert_eq!(fold_char('Ü'), 'ü');
        assert_eq!(fold_char('\u{1E9E}'), 'ß');
        assert_eq!(fold_char('ß'), 'ß');
        assert_eq!(fold_char('\u{0130}'), '\u{0130}');
        assert_eq!(fold_char('\u{212A}'), 'k');
        assert_eq!(fold_char('Σ'), 'σ');
        assert_eq!(fold_char('ς'), 'σ');
        assert_eq!(fold_char('1'), '1');
        assert_eq!(fold("STRAẞE"), "straße");
        assert_eq!(fold("ÀB\u{212A}"), "àbk");
    }

    #[test]
    fn fold_cow_borrows_when_unchanged() {
        assert!(matches!(fold_cow("abc ü"), Cow::Borrowed(_)));
        assert_eq!(fold_cow("ABC Ü"), "abc ü");
    }

    #[test]
    fn term_chars_are_letters_and_numbers_only() {
        for c in ['a', 'Z', '0', 'ä', 'Ü', 'ß', '中', 'Ⅻ', '²', '٣'] {
            assert!(is_term_char(c), "{c:?}");
        }
        for c in [
            '_', ' ', '-', '.', '\\', '\u{0308}', '\u{0345}', '€', '\u{00A0}',
        ] {
            assert!(!is_term_char(c), "{c:?}");
        }
        // U+0345 is Alphabetic (so `is_alphanumeric` says yes) but its category is Mn.
        assert!('\u{0345}'.is_alphanumeric());
    }
}
