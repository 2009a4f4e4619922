//! A small, conservative judge of generated events, independent of the engine.
//!
//! The generator builds each value so that its verdict follows from the contract
//! (`docs/semantics.md`): a needle placed between separators, glued to a letter chosen not
//! to occur in it, case-flipped one code point at a time. This module checks those
//! constructions without calling any engine code (no `kql::` function, no plan, no
//! executor), so an example can never pass merely because the engine agrees with itself.
//!
//! It answers in three values: a test is `True` or `False` only when that is certain from
//! the contract, and `Unknown` otherwise; the generator drops every event whose verdict is
//! `Unknown`. Certainty comes from:
//!
//! - characters compared exactly, or ASCII letters compared ignoring case, or a pair the
//!   generator made itself by mapping a character to its single-code-point upper or lower
//!   case and back (`ä`/`Ä`). Any other pair involving a non-ASCII character *might* fold
//!   to the same character (Kelvin sign, final sigma), so it is `Unknown`;
//! - term characters: ASCII letters and digits, and non-ASCII characters of general
//!   category L* or N*. A non-ASCII character outside L*/N* that has a case mapping (U+0345
//!   folds to a Greek letter) is `Unknown` for case-insensitive operators.

use super::pred::{Leaf, Node, OpKind, Test};
use unicode_properties::{GeneralCategoryGroup, UnicodeGeneralCategory};

/// Kleene's three-valued truth.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tri {
    /// Certainly true.
    True,
    /// Certainly false.
    False,
    /// Not certain.
    Unknown,
}

impl Tri {
    fn of(b: bool) -> Tri {
        if b {
            Tri::True
        } else {
            Tri::False
        }
    }

    fn not(self) -> Tri {
        match self {
            Tri::True => Tri::False,
            Tri::False => Tri::True,
            Tri::Unknown => Tri::Unknown,
        }
    }
}

/// A column's value as the rule reads it: a string column is never null, so a JSON null and
/// a missing key both read as `""`.
pub fn leaf_truth(leaf: &Leaf, value: &str) -> Tri {
    match &leaf.test {
        Test::Empty => Tri::of(value.is_empty()),
        Test::Op {
            kind,
            case_sensitive,
            needle,
        } => op_truth(value, *kind, *case_sensitive, needle),
    }
}

/// Evaluates a tree given each leaf's column value.
pub fn eval(node: &Node, leaves: &[Leaf], value_of: &dyn Fn(&str) -> String) -> Tri {
    match node {
        Node::Const(b) => Tri::of(*b),
        Node::Lit(i, pos) => {
            let t = leaf_truth(&leaves[*i], &value_of(&leaves[*i].field));
            if *pos {
                t
            } else {
                t.not()
            }
        }
        Node::And(cs) => {
            let mut out = Tri::True;
            for c in cs {
                match eval(c, leaves, value_of) {
                    Tri::False => return Tri::False,
                    Tri::Unknown => out = Tri::Unknown,
                    Tri::True => {}
                }
            }
            out
        }
        Node::Or(cs) => {
            let mut out = Tri::False;
            for c in cs {
                match eval(c, leaves, value_of) {
                    Tri::True => return Tri::True,
                    Tri::Unknown => out = Tri::Unknown,
                    Tri::False => {}
                }
            }
            out
        }
    }
}

/// `hay <kind> needle`: true if some occurrence of the needle certainly qualifies, false if
/// no occurrence can, unknown otherwise.
pub fn op_truth(hay: &str, kind: OpKind, case_sensitive: bool, needle: &str) -> Tri {
    let h: Vec<char> = hay.chars().collect();
    let n: Vec<char> = needle.chars().collect();
    if n.is_empty() {
        // The generator refuses empty needles; the contract makes them true.
        return Tri::True;
    }
    if n.len() > h.len() {
        return Tri::False;
    }
    let mut unknown = false;
    for start in 0..=h.len() - n.len() {
        let end = start + n.len();
        let same = chars_equal(&h[start..end], &n, case_sensitive);
        if same == Tri::False {
            continue;
        }
        let place = qualifies(&h, start, end, &n, kind, case_sensitive);
        match (same, place) {
            (Tri::True, Tri::True) => return Tri::True,
            (_, Tri::False) => {}
            _ => unknown = true,
        }
    }
    if unknown {
        Tri::Unknown
    } else {
        Tri::False
    }
}

fn chars_equal(a: &[char], b: &[char], case_sensitive: bool) -> Tri {
    let mut out = Tri::True;
    for (&x, &y) in a.iter().zip(b) {
        if x == y {
            continue;
        }
        if case_sensitive {
            return Tri::False;
        }
        if x.is_ascii() && y.is_ascii() {
            if x.eq_ignore_ascii_case(&y) {
                continue;
            }
            return Tri::False;
        }
        if is_case_pair(x, y) {
            continue;
        }
        out = Tri::Unknown;
    }
    out
}

/// `a` and `b` map to each other by single-code-point upper and lower case: the pairs the
/// generator builds case variants from (`ä`/`Ä`, `ü`/`Ü`), which simple case folding
/// identifies. `ß`/`SS`, `İ`/`i̇` and the like are not pairs.
pub fn is_case_pair(a: char, b: char) -> bool {
    let pair = |l: char, u: char| {
        single(l.to_uppercase()) == Some(u) && single(u.to_lowercase()) == Some(l)
    };
    a != b && (pair(a, b) || pair(b, a))
}

/// The only item of `it`, if it has exactly one.
pub fn single(mut it: impl Iterator<Item = char>) -> Option<char> {
    let c = it.next()?;
    it.next().is_none().then_some(c)
}

/// Whether a character is a term character (a Unicode letter or digit), as the operator sees
/// it: case-insensitive operators judge the case-folded text.
pub fn term(c: char, case_sensitive: bool) -> Tri {
    if c.is_ascii() {
        return Tri::of(c.is_ascii_alphanumeric());
    }
    let letter_or_number = matches!(
        c.general_category_group(),
        GeneralCategoryGroup::Letter | GeneralCategoryGroup::Number
    );
    if letter_or_number || case_sensitive {
        return Tri::of(letter_or_number);
    }
    let has_case =
        c.to_lowercase().ne(std::iter::once(c)) || c.to_uppercase().ne(std::iter::once(c));
    if has_case {
        Tri::Unknown
    } else {
        Tri::False
    }
}

/// Whether an occurrence at `start..end` (in characters) satisfies `kind`'s position rules.
fn qualifies(h: &[char], start: usize, end: usize, n: &[char], kind: OpKind, cs: bool) -> Tri {
    let (lead, trail) = match kind {
        OpKind::Contains => return Tri::True,
        OpKind::StartsWith => return Tri::of(start == 0),
        OpKind::EndsWith => return Tri::of(end == h.len()),
        OpKind::Equals => return Tri::of(start == 0 && end == h.len()),
        OpKind::Has => (true, true),
        OpKind::HasPrefix => (true, false),
        OpKind::HasSuffix => (false, true),
    };
    // A boundary is broken when the needle's edge and its neighbour are both term characters.
    let broken = |edge: char, neighbour: Option<char>| -> Tri {
        match neighbour {
            None => Tri::False,
            Some(nb) => match (term(edge, cs), term(nb, cs)) {
                (Tri::True, Tri::True) => Tri::True,
                (Tri::False, _) | (_, Tri::False) => Tri::False,
                _ => Tri::Unknown,
            },
        }
    };
    let mut out = Tri::True;
    let checks = [
        (lead, n[0], start.checked_sub(1).map(|i| h[i])),
        (trail, n[n.len() - 1], h.get(end).copied()),
    ];
    for (on, edge, nb) in checks {
        if !on {
            continue;
        }
        match broken(edge, nb) {
            Tri::True => return Tri::False,
            Tri::Unknown => out = Tri::Unknown,
            Tri::False => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_examples_are_certain() {
        let has = |h: &str, n: &str| op_truth(h, OpKind::Has, false, n);
        assert_eq!(
            has("https://www.server-eye.de/x", "server-eye.de"),
            Tri::True
        );
        assert_eq!(has("myserver-eye.de", "server-eye.de"), Tri::False);
        assert_eq!(has("server-eye.dev", "server-eye.de"), Tri::False);
        assert_eq!(has("Action10", "Action1"), Tri::False);
        assert_eq!(has("Action1-Corp", "Action1"), Tri::True);
        assert_eq!(has("x.com", ".com"), Tri::True);
        assert_eq!(has("DWSNET OÜD", "DWSNET OÜ"), Tri::False);
        assert_eq!(has("KRÄMER IT", "Krämer"), Tri::True);
        assert_eq!(
            op_truth("KRÄMER IT", OpKind::Has, true, "Krämer"),
            Tri::False
        );
    }

    #[test]
    fn uncertain_folds_are_unknown() {
        // U+212A KELVIN SIGN folds to 'k'; the oracle does not claim to know that.
        assert_eq!(
            op_truth("\u{212A}elvin", OpKind::Has, false, "kelvin"),
            Tri::Unknown
        );
        // ...but case-sensitively it is certainly different.
        assert_eq!(
            op_truth("\u{212A}elvin", OpKind::Has, true, "kelvin"),
            Tri::False
        );
        assert!(!is_case_pair('ß', 'S'));
        assert!(is_case_pair('ä', 'Ä'));
        assert!(!is_case_pair('İ', 'i'));
    }
}
