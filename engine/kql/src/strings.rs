//! The string operators: the `has` family, `contains`, `startswith`, `endswith`, each with its
//! `_cs` and `!` forms, and case-insensitive equality.
//!
//! Case-insensitive operators fold both sides with [`fold`](crate::fold::fold) and then compare
//! exactly. Term boundaries are checked in the folded text, on the folded needle's edge
//! characters (simple folding maps letters to letters, so this only matters for oddities like
//! U+0345, and doing it one way everywhere keeps the plan and this module in agreement).

use scry_grammar::{StrOp, StrOpKind};

use crate::fold::{fold_char, fold_cow, is_term_char};

/// Evaluates `hay <op> needle`, e.g. `"Action1-Corp" has "Action1"`.
///
/// Empty needles: `has`, `hasprefix`, `hassuffix`, `contains`, `startswith`, `endswith` (and
/// their `_cs` forms) are all true; the `!` forms are the exact negation of the positive form.
pub fn str_op(op: StrOp, hay: &str, needle: &str) -> bool {
    let hit = if op.case_sensitive {
        positive(op.kind, hay, needle)
    } else {
        positive(op.kind, &fold_cow(hay), &fold_cow(needle))
    };
    hit != op.negated
}

/// The positive form of `kind` on already-folded (or case-sensitive) text.
fn positive(kind: StrOpKind, hay: &str, needle: &str) -> bool {
    match kind {
        StrOpKind::Contains => hay.contains(needle),
        StrOpKind::StartsWith => hay.starts_with(needle),
        StrOpKind::EndsWith => hay.ends_with(needle),
        StrOpKind::Has | StrOpKind::HasPrefix | StrOpKind::HasSuffix => {
            term_match(kind, hay, needle)
        }
    }
}

/// True if some occurrence of `needle` in `hay` (overlapping ones included) satisfies the term
/// boundaries `kind` requires.
fn term_match(kind: StrOpKind, hay: &str, needle: &str) -> bool {
    let (Some(first), Some(last)) = (needle.chars().next(), needle.chars().next_back()) else {
        // The empty needle is a term of every value.
        return true;
    };
    let (first_term, last_term) = (is_term_char(first), is_term_char(last));
    let mut from = 0;
    while let Some(i) = hay.get(from..).and_then(|rest| rest.find(needle)) {
        let start = from + i;
        let end = start + needle.len();
        if term_bounds_ok(hay, start, end, kind, first_term, last_term) {
            return true;
        }
        if !first_term && !last_term {
            // No edge is checked, so the first occurrence would already have qualified.
            return false;
        }
        // Step one character, not past the whole match: a later, overlapping occurrence may
        // sit on a term boundary (`"aab" has "ab"` style cases).
        from = start + first.len_utf8();
    }
    false
}

/// Whether the occurrence `hay[start..end]` of a needle satisfies the boundary rules of `kind`.
///
/// `hay` is the text the occurrence was found in (already folded for case-insensitive
/// operators); `start` and `end` are byte offsets. `has` checks both edges, `hasprefix` only
/// the leading one, `hassuffix` only the trailing one, and an edge is checked only when the
/// needle's character at that edge is a term character (`needle_first_is_term`,
/// `needle_last_is_term`). For the other kinds: `contains` accepts any occurrence, `startswith`
/// needs `start == 0`, `endswith` needs `end == hay.len()`. Offsets that are out of range or
/// not on character boundaries give `false`.
pub fn term_bounds_ok(
    hay: &str,
    start: usize,
    end: usize,
    kind: StrOpKind,
    needle_first_is_term: bool,
    needle_last_is_term: bool,
) -> bool {
    let (Some(before), Some(after)) = (hay.get(..start), hay.get(end..)) else {
        return false;
    };
    if start > end {
        return false;
    }
    let (lead, trail) = match kind {
        StrOpKind::Has => (true, true),
        StrOpKind::HasPrefix => (true, false),
        StrOpKind::HasSuffix => (false, true),
        StrOpKind::Contains => return true,
        StrOpKind::StartsWith => return start == 0,
        StrOpKind::EndsWith => return end == hay.len(),
    };
    if lead && needle_first_is_term && before.chars().next_back().is_some_and(is_term_char) {
        return false;
    }
    if trail && needle_last_is_term && after.chars().next().is_some_and(is_term_char) {
        return false;
    }
    true
}

/// Case-insensitive equality (`=~`): equal after simple case folding of both sides.
pub fn eq_ci(a: &str, b: &str) -> bool {
    if a.is_ascii() && b.is_ascii() {
        return a.eq_ignore_ascii_case(b);
    }
    a.chars().map(fold_char).eq(b.chars().map(fold_char))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op(spelling: &str) -> StrOp {
        match scry_grammar::BinOp::from_token(spelling) {
            Some(scry_grammar::BinOp::Str(op)) => op,
            _ => panic!("test helper: unknown operator {spelling}"),
        }
    }

    #[track_caller]
    fn check(hay: &str, o: &str, needle: &str, want: bool) {
        assert_eq!(str_op(op(o), hay, needle), want, "{hay:?} {o} {needle:?}");
    }

    #[test]
    fn has_boundaries_from_the_spec() {
        check("https://www.server-eye.de/x", "has", "server-eye.de", true);
        check("myserver-eye.de", "has", "server-eye.de", false);
        check("server-eye.dev", "has", "server-eye.de", false);
        check(
            "C:\\PROGRAM FILES\\LEVEL\\x.exe",
            "has",
            "\\Program Files\\Level\\",
            true,
        );
        check("Action10", "has", "Action1", false);
        check("Action1-Corp", "has", "Action1", true);
        check("x.com", "has", ".com", true);
        check("launchd_helper", "has", "helper", true);
        check("b .b-", "has", " ", true);
    }

    #[test]
    fn overlapping_occurrences_are_tried() {
        // First occurrence is inside "xab", the second one is a whole term.
        check("xab ab", "has", "ab", true);
        check("aab", "has", "ab", false);
        check("abab ab", "has_cs", "ab", true);
        // Overlap within the needle itself: "aa" found at 0 (inside "aaa"), valid at 4.
        check("aaa aa", "has", "aa", true);
        check("Action1Action1", "has", "Action1", false);
        check("Action1Action1 action1", "has", "Action1", true);
    }

    #[test]
    fn unicode_terms() {
        // NFD: 'a' + U+0308 (Mn) is not a term character, so "Kra" ends at a boundary.
        check("Kra\u{0308}mer IT", "has", "Kra", true);
        check("Kra\u{0308}mer IT", "has", "Krämer", false);
        check("DWSNET OÜD", "has", "DWSNET OÜ", false);
        check("dwsnet oü", "has", "DWSNET OÜ", true);
        check("ÜKrämer IT", "has", "Krämer", false);
        check("x \u{212A}elvin", "has", "kelvin", true);
        check("STRAẞE 5", "has", "straße", true);
        check("İstanbul", "has", "istanbul", false);
        check("STRASSE", "has", "straße", false);
    }

    #[test]
    fn prefix_suffix_and_whole_value_ops() {
        check("LAKE ST CLAIR", "hasprefix", "la", true);
        check("ATLANTIC SOUTH", "hasprefix", "la", false);
        check("err or", "hasprefix", "r o", false);
        check("NORTH CAROLINA", "hassuffix", "th", true);
        check("Corporations", "hassuffix", "corporation", false);
        check("North America", "hassuffix_cs", "ica", true);
        check("North America", "!hassuffix_cs", "icA", true);
        check("levelup.exe", "startswith", "LEVEL", true);
        check("levelup.exe", "startswith_cs", "LEVEL", false);
        check("Fabrikam", "endswith", "KAM", true);
        check("FabriKam", "contains", "BRik", true);
        check("Fabrikam", "contains_cs", "Kam", false);
    }

    #[test]
    fn empty_needles_and_negation() {
        for o in [
            "has",
            "has_cs",
            "hasprefix",
            "hassuffix",
            "contains",
            "startswith",
            "endswith_cs",
        ] {
            check("", o, "", true);
            check("abc", o, "", true);
            check("abc", &format!("!{o}"), "", false);
        }
        check("", "!has", "abc", true);
    }

    #[test]
    fn bounds_helper_rejects_bad_offsets() {
        assert!(!term_bounds_ok("ab", 1, 5, StrOpKind::Has, true, true));
        assert!(!term_bounds_ok("äb", 1, 2, StrOpKind::Has, true, true));
        assert!(term_bounds_ok("a.b", 1, 2, StrOpKind::Has, false, false));
        assert!(!term_bounds_ok(
            "ab",
            1,
            2,
            StrOpKind::HasPrefix,
            true,
            true
        ));
        assert!(term_bounds_ok("ab", 1, 2, StrOpKind::HasSuffix, true, true));
    }

    proptest::proptest! {
        /// For a needle made only of term characters, `has_cs` means "equals a whole term",
        /// where terms are the maximal runs of term characters: an independent oracle.
        #[test]
        fn has_cs_of_a_word_is_whole_term_equality(
            hay in "[ab1äÄ\u{0308}\u{212A}_. -]{0,12}",
            needle in "[ab1äÄ\u{212A}]{1,3}",
        ) {
            let terms: Vec<&str> = hay.split(|c: char| !is_term_char(c)).collect();
            let want = terms.contains(&needle.as_str());
            proptest::prop_assert_eq!(str_op(op("has_cs"), &hay, &needle), want);
            let folded = crate::fold::fold(&hay);
            let want_ci = folded
                .split(|c: char| !is_term_char(c))
                .any(|t| t == crate::fold::fold(&needle));
            proptest::prop_assert_eq!(str_op(op("has"), &hay, &needle), want_ci);
        }
    }

    #[test]
    fn case_insensitive_equality() {
        assert!(eq_ci("KANSAS", "kansas"));
        assert!(eq_ci("STRAẞE", "straße"));
        assert!(!eq_ci("İstanbul", "istanbul"));
        assert!(!eq_ci("STRASSE", "straße"));
        assert!(!eq_ci("Kra\u{0308}mer", "Krämer"));
        assert!(eq_ci("", ""));
    }
}
