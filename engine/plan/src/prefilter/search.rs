//! The prefilter's search over raw text: one scan ([`crate::scan::Literals`]) for the anchors
//! and for everything else that makes a line a candidate, each hit then checked by what its
//! literal stands for ([`Kind`]).
//!
//! Everything is one scan because each extra pass over a piece cost about as much as the
//! anchors' own search: `\u`, `" ` and `:  ` were three `memmem` passes, and the characters
//! folding to ASCII a fourth (16 % of a run over every pack). The short ones (1 to 3 bytes)
//! cost nothing extra in the scan's Teddy filter, whose speed does not depend on length.

use crate::schema::TYPE_SUFFIXES;

/// What a literal of the scan stands for, that is, when a hit on it makes a line a candidate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    /// Always: an anchor, `"records"` (an Event Hub batch), a type suffix before `"` (a union
    /// export's key), `:  ` (a colon before two spaces), a character folding to ASCII.
    Always,
    /// `\u`, when its `\` is not itself escaped: a `\uXXXX` escape.
    Escape,
    /// `" `, when the quote is not escaped: whitespace after a closing quote.
    QuoteSpace,
    /// `\t` or `\r` after a closing quote, after a colon, or after `: `.
    Control,
}

/// The literals searched besides the anchors, and what each stands for. `spacing`: some
/// anchor is a value start (`"Column":"value`), whose spelling foresees no other spacing
/// around the colon and no type-suffixed key; `triggers`: the characters folding to ASCII.
pub(super) fn extras(spacing: bool, triggers: &[String]) -> Vec<(Vec<u8>, Kind)> {
    let mut out = vec![
        (b"\"records\"".to_vec(), Kind::Always),
        (b"\\u".to_vec(), Kind::Escape),
    ];
    out.extend(
        triggers
            .iter()
            .map(|t| (t.as_bytes().to_vec(), Kind::Always)),
    );
    if spacing {
        // In JSON a key is `"Column"`, whitespace, `:`, whitespace, the value; the anchors
        // cover no whitespace before the colon and one space after it. Anything else puts,
        // somewhere in the line, a closing `"` before whitespace (`" `, `"\t`, `"\r`), or a
        // `:` before `\t`, `\r` or a space followed by whitespace.
        out.extend(
            TYPE_SUFFIXES
                .iter()
                .map(|s| (format!("{s}\"").into_bytes(), Kind::Always)),
        );
        out.push((b"\" ".to_vec(), Kind::QuoteSpace));
        out.push((b":  ".to_vec(), Kind::Always));
        out.push((b"\t".to_vec(), Kind::Control));
        out.push((b"\r".to_vec(), Kind::Control));
    }
    out
}

/// True when a `"` or `\` at `q` in `text` is not escaped: an even run of backslashes before.
fn unescaped(text: &[u8], q: usize) -> bool {
    text[..q].iter().rev().take_while(|&&b| b == b'\\').count() % 2 == 0
}

/// True when the hit at `p` on a literal of `kind` makes its line a candidate.
pub(super) fn holds(kind: Kind, text: &[u8], p: usize) -> bool {
    match kind {
        Kind::Always => true,
        Kind::Escape | Kind::QuoteSpace => unescaped(text, p),
        Kind::Control => {
            let before = |k: usize| p.checked_sub(k).map(|i| text[i]);
            (before(1) == Some(b'"') && unescaped(text, p - 1))
                || before(1) == Some(b':')
                || (before(1) == Some(b' ') && before(2) == Some(b':'))
        }
    }
}

/// True when `line` holds a `\u` escape: an odd number of backslashes before a `u`.
#[cfg(test)]
pub(super) fn has_unicode_escape(line: &[u8]) -> bool {
    memchr::memmem::find_iter(line, b"\\u").any(|p| holds(Kind::Escape, line, p))
}
