//! A multi-literal, ASCII-case-insensitive scan: the prefilter's search for its anchors (and
//! for what else makes a line a candidate) over whole pieces of input.
//!
//! Two filters split the literals by length, each verifying its candidates by comparing the
//! text, and reporting `(start, literal id)`:
//!
//! - [`sampled`]: literals of [`Split::long`] bytes or more. It reads one 4-byte gram every
//!   `stride` bytes, where the stride grows with the shortest literal, so it is fast only when
//!   no literal is short: the packs' 700 anchors include `Ammyy` (5 bytes), which alone held
//!   the stride of every pack set at 3.
//! - [`teddy`]: the shorter ones, and the structural literals of 1 to 3 bytes the prefilter
//!   also looks for (`\u`, `" `, `\r`). A SIMD nibble-mask filter over each literal's 3 rarest
//!   consecutive bytes: its cost per byte does not depend on the literals' lengths.
//!
//! A set of at most 8 literals goes whole to Teddy (one group of buckets, one literal each:
//! few false candidates, and one pass instead of two).
//!
//! Why not Aho-Corasick here: with hundreds of case-insensitive patterns its SIMD prefilters
//! do not apply and the DFA reads every byte through a transition table; with one pattern its
//! prefilter keys on the pattern's first byte, which in `mer IT Solutions GmbH` is a common
//! letter. Its packed Teddy takes at most 64 case-sensitive patterns. Measured side by side in
//! `benches/scan.rs` (numbers in benches/RESULTS.md).

mod grams;
mod sampled;
mod teddy;

use sampled::Sampled;
pub use sampled::MAX_STRIDE;
use teddy::Teddy;

/// How common a byte is in Defender JSON exports, ASCII case folded: about log2 of its
/// count per 64 KiB of storage-account lines (`gen_events --shape storage`, 16 MB), so a
/// window's sum is the log of how often the window occurs by chance, and the window with the
/// smallest sum makes the fewest false hits. Keys and hex make `"`, vowels and digits
/// common; `k`, `z`, `j`, `q`, upper-case-only punctuation and non-ASCII bytes are rare.
fn commonness(b: u8) -> u32 {
    match b.to_ascii_lowercase() {
        b'"' | b'a' | b'c' | b'e' | b'i' | b'n' | b'o' | b's' | b't' => 12,
        b':' | b'd' | b'p' | b'r' => 11,
        b',' | b'-' | b'0'..=b'9' | b'\\' | b'f' | b'g' | b'l' | b'm' | b'u' => 10,
        b' ' | b'.' | b'b' | b'v' | b'y' => 9,
        b'h' | b'w' | b'x' => 8,
        b'k' | b'z' => 7,
        b'/' | b'=' | b'{' | b'}' => 6,
        b'j' | b'\r' | b'\n' => 5,
        b'@' | b'q' => 4,
        b'&' | b'(' | b')' => 2,
        b'[' | b']' => 1,
        _ => 0,
    }
}

/// Where the literals are split between the two filters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Split {
    /// Literals at least this long go to the sampled filter, shorter ones to Teddy (at most
    /// 64 of them, the shortest, unless this is `usize::MAX`: everything to Teddy).
    pub long: usize,
    /// A set of at most this many literals goes whole to Teddy.
    pub few: usize,
}

impl Default for Split {
    /// Measured on storage-account lines with the packs' anchors (benches/scan.rs).
    fn default() -> Split {
        Split { long: 6, few: 8 }
    }
}

/// The literals and the filters over them.
#[derive(Debug, Clone)]
pub struct Literals {
    pats: Vec<Box<[u8]>>,
    // Boxed: the prefilter's enum holds a `Literals` beside a `String`.
    sampled: Option<Box<Sampled>>,
    teddy: Option<Box<Teddy>>,
}

impl Literals {
    /// The filter over `pats` (empty literals are not allowed: the caller has none; an empty
    /// set matches nothing). A literal's id is its index in `pats`.
    pub fn new<'a>(pats: impl IntoIterator<Item = &'a [u8]>) -> Literals {
        Literals::with_common(pats, b"")
    }

    /// As [`Literals::new`], steering the sampled filter's windows away from the grams of
    /// `common`: text nearly every line holds (column names as keys), where a window would
    /// hit on every line and cost a verification each time.
    pub fn with_common<'a>(pats: impl IntoIterator<Item = &'a [u8]>, common: &[u8]) -> Literals {
        Literals::with_split(pats, common, Split::default())
    }

    /// As [`Literals::with_common`], split between the filters as `split` says (the benches
    /// compare splits).
    pub fn with_split<'a>(
        pats: impl IntoIterator<Item = &'a [u8]>,
        common: &[u8],
        split: Split,
    ) -> Literals {
        let pats: Vec<Box<[u8]>> = pats.into_iter().map(Box::from).collect();
        assert!(pats.iter().all(|p| !p.is_empty()), "scan: empty literal");
        let all: Vec<(u32, &[u8])> = pats
            .iter()
            .enumerate()
            .map(|(i, p)| (i as u32, &p[..]))
            .collect();
        let (mut long, mut short): (Vec<_>, Vec<_>) = if all.len() <= split.few {
            (Vec::new(), all)
        } else {
            all.into_iter().partition(|(_, p)| p.len() >= split.long)
        };
        // Teddy saturates past a few literals per bucket (all 692 of the packs' literals ran
        // at 0.06 GB/s): beyond what it holds well, the longest of the short ones go to the
        // sampled filter, which costs a shorter stride but never collapses.
        if short.len() > teddy::CAPACITY && split.long != usize::MAX {
            short.sort_by_key(|(_, p)| p.len());
            long.extend(short.drain(teddy::CAPACITY..));
        }
        let sampled = (!long.is_empty()).then(|| Box::new(Sampled::new(&long, common)));
        let teddy = (!short.is_empty()).then(|| Box::new(Teddy::new(&short)));
        Literals {
            pats,
            sampled,
            teddy,
        }
    }

    /// The sampled filter's stride and gram length (`(0, 0)` without one), for the benches.
    pub fn shape(&self) -> (usize, usize) {
        self.sampled.as_ref().map_or((0, 0), |s| s.shape())
    }

    /// How the literals are searched, for the benches: `sampled: stride 5, gram 4; teddy: 21
    /// literals, 2 groups`.
    pub fn describe(&self) -> String {
        let mut out = Vec::new();
        if let Some(s) = &self.sampled {
            let (stride, gram) = s.shape();
            out.push(format!("sampled: stride {stride}, gram {gram}"));
        }
        if let Some(t) = &self.teddy {
            out.push(format!("teddy: {} group(s)", t.groups()));
        }
        out.join("; ")
    }

    /// Calls `found(start, id)` for every occurrence of every literal in `hay` (ASCII case
    /// ignored), in no particular order and possibly more than once, until it returns false.
    pub fn each_match(&self, hay: &[u8], mut found: impl FnMut(usize, u32) -> bool) {
        let found: &mut dyn FnMut(usize, u32) -> bool = &mut found;
        if let Some(t) = &self.teddy {
            if !t.each(hay, &self.pats, found) {
                return;
            }
        }
        if let Some(s) = &self.sampled {
            s.each(hay, &self.pats, found);
        }
    }

    /// True when some literal occurs in `hay`.
    pub fn is_match(&self, hay: &[u8]) -> bool {
        let mut any = false;
        self.each_match(hay, |_, _| {
            any = true;
            false
        });
        any
    }

    /// Appends the start of every occurrence in `hay` to `out` (unsorted, maybe repeated).
    pub fn find_all(&self, hay: &[u8], out: &mut Vec<usize>) {
        self.each_match(hay, |p, _| {
            out.push(p);
            true
        });
    }
}

#[cfg(test)]
mod tests;
