//! A multi-literal, ASCII-case-insensitive scan that samples the text instead of reading every
//! position: the prefilter's search for its anchors over whole pieces of input.
//!
//! Design (after Hyperscan's FDR, simplified): every literal is at least `m` bytes long. Take
//! grams of `g` bytes (3 or 4) and a stride `s = m - g + 1` (capped): however a literal of
//! length `L ≥ m` sits in the text, exactly one multiple of `s` falls among any `s`
//! consecutive start positions of its grams, and the literal spans grams starting at its
//! offsets `o..o + s` for any window offset `o ≤ L - g - s + 1`. So per literal, the `s`
//! grams of one window (chosen where its bytes are rarest in JSON exports) go into a bitset
//! keyed by a hash of the gram folded with `| 0x20` (a superset of ASCII case folding), and
//! the scan reads one gram every `s` bytes, tests one bit, and verifies the literals filed
//! under that gram only on a hit. With one long anchor `s` reaches [`MAX_STRIDE`]; with the
//! packs' 700 anchors (shortest 5 bytes) it is 2 or 3.
//!
//! Why not Aho-Corasick here: with hundreds of case-insensitive patterns its SIMD prefilters
//! do not apply and the DFA reads every byte through a transition table (0.65 GB/s measured
//! on rules/rmm's anchors); with one pattern its prefilter keys on the pattern's first byte,
//! which in `mer IT Solutions GmbH` is a common letter. Measured side by side in
//! `benches/scan.rs` (numbers in benches/RESULTS.md).
//!
//! Plain safe Rust: the loop is bounds-checked slices of a `u32` load, which the compiler
//! keeps branch-predicted; no `unsafe`, no target-specific code, so there is no fallback path
//! to test apart.

use hashbrown::HashMap;

/// Bits of the gram hash: a 16 KiB bitset, small enough to stay in L1 beside the text.
const BITS: u32 = 17;

/// The longest stride: beyond it one literal fills too many bits for little gain.
pub const MAX_STRIDE: usize = 16;

/// The literals and the sampled filter over them.
#[derive(Debug, Clone)]
pub struct Literals {
    pats: Vec<Box<[u8]>>,
    gram: usize,
    stride: usize,
    bits: Vec<u64>,
    /// Folded gram → `(literal, offset of the gram in it)`.
    filed: HashMap<u32, Vec<(u32, u32)>>,
}

/// How common a byte is in Defender JSON exports (folded with `| 0x20`): structure, hex
/// digits and lower-case text are common; a window of rare bytes makes fewer false hits.
fn commonness(b: u8) -> u32 {
    match b | 0x20 {
        b'"' | b':' | b',' | b'0'..=b'9' => 10,
        b'a'..=b'f' => 8,
        b't' | b'o' | b'i' | b'n' | b's' | b'r' | b'l' => 7,
        b' ' | b'-' | b'.' | b'_' | b'\\' | b'{' | b'}' => 6,
        b'g'..=b'z' => 4,
        _ if b >= 0x80 => 1,
        _ => 2,
    }
}

fn hash(gram: u32) -> usize {
    (gram.wrapping_mul(0x9E37_79B1) >> (32 - BITS)) as usize
}

/// The folded gram of `g` bytes at the start of `b` (`b.len() >= g`).
#[inline(always)]
fn gram_at(b: &[u8], g: usize) -> u32 {
    let mut x = 0u32;
    for (i, &byte) in b[..g].iter().enumerate() {
        x |= u32::from(byte | 0x20) << (8 * i);
    }
    x
}

impl Literals {
    /// The filter over `pats` (empty literals are not allowed: the caller has none; an empty
    /// set matches nothing).
    pub fn new<'a>(pats: impl IntoIterator<Item = &'a [u8]>) -> Literals {
        Literals::with_common(pats, b"")
    }

    /// As [`Literals::new`], steering each literal's window away from the grams of `common`:
    /// text nearly every line holds (column names as keys), where a window would hit on every
    /// line and cost a verification each time.
    pub fn with_common<'a>(pats: impl IntoIterator<Item = &'a [u8]>, common: &[u8]) -> Literals {
        let pats: Vec<Box<[u8]>> = pats.into_iter().map(Box::from).collect();
        assert!(pats.iter().all(|p| !p.is_empty()), "scan: empty literal");
        let min = pats.iter().map(|p| p.len()).min().unwrap_or(4);
        // The gram length that gives the longest stride (ties to the longer gram, which is
        // more selective).
        let gram = if min >= 4 && min - 3 >= (min - 2).min(MAX_STRIDE) {
            4
        } else {
            min.min(3)
        };
        let stride = (min - gram + 1).clamp(1, MAX_STRIDE);
        let mut bits = vec![0u64; 1 << (BITS - 6)];
        let mut filed: HashMap<u32, Vec<(u32, u32)>> = HashMap::new();
        let common: hashbrown::HashSet<u32> =
            common.windows(gram).map(|w| gram_at(w, gram)).collect();
        for (i, p) in pats.iter().enumerate() {
            let last = p.len() + 1 - gram - stride;
            // A window's false hits: the sum over its grams, a common one counting as a hit.
            let score = |o: usize| -> u32 {
                (o..o + stride)
                    .map(|k| {
                        let g = &p[k..k + gram];
                        if common.contains(&gram_at(g, gram)) {
                            1000
                        } else {
                            g.iter().map(|&b| commonness(b)).sum()
                        }
                    })
                    .sum()
            };
            let o = (0..=last).min_by_key(|&o| score(o)).unwrap_or(0);
            for k in o..o + stride {
                let g = gram_at(&p[k..], gram);
                let h = hash(g);
                bits[h / 64] |= 1 << (h % 64);
                let list = filed.entry(g).or_default();
                if !list.contains(&(i as u32, k as u32)) {
                    list.push((i as u32, k as u32));
                }
            }
        }
        Literals {
            pats,
            gram,
            stride,
            bits,
            filed,
        }
    }

    /// The stride and gram length chosen (for `scry explain` and the benches).
    pub fn shape(&self) -> (usize, usize) {
        (self.stride, self.gram)
    }

    /// Calls `found(start)` for every occurrence of every literal in `hay` (ASCII case
    /// ignored), in no particular order and possibly more than once; stops when it returns
    /// false.
    #[inline]
    fn each(&self, hay: &[u8], mut found: impl FnMut(usize) -> bool) {
        if self.pats.is_empty() || hay.len() < self.gram {
            return;
        }
        let (g, s) = (self.gram, self.stride);
        let mask = if g == 4 {
            u32::MAX
        } else {
            (1u32 << (8 * g)) - 1
        };
        let mut q = 0;
        // Main loop: a 4-byte load wherever one fits.
        while let Some(word) = hay.get(q..q + 4) {
            // One unaligned load: `try_into` of a 4-byte slice cannot fail.
            let word = u32::from_le_bytes(word.try_into().unwrap_or_default());
            let x = (word | 0x2020_2020) & mask;
            let h = hash(x);
            if self.bits[h / 64] & (1 << (h % 64)) != 0 && !self.verify(hay, q, x, &mut found) {
                return;
            }
            q += s;
        }
        while q + g <= hay.len() {
            let x = gram_at(&hay[q..], g);
            let h = hash(x);
            if self.bits[h / 64] & (1 << (h % 64)) != 0 && !self.verify(hay, q, x, &mut found) {
                return;
            }
            q += s;
        }
    }

    #[cold]
    #[inline(never)]
    fn verify(&self, hay: &[u8], q: usize, x: u32, found: &mut impl FnMut(usize) -> bool) -> bool {
        let Some(list) = self.filed.get(&x) else {
            return true;
        };
        for &(i, k) in list {
            let Some(start) = q.checked_sub(k as usize) else {
                continue;
            };
            let p = &self.pats[i as usize];
            if hay
                .get(start..start + p.len())
                .is_some_and(|w| w.eq_ignore_ascii_case(p))
                && !found(start)
            {
                return false;
            }
        }
        true
    }

    /// True when some literal occurs in `hay`.
    pub fn is_match(&self, hay: &[u8]) -> bool {
        let mut any = false;
        self.each(hay, |_| {
            any = true;
            false
        });
        any
    }

    /// Appends the start of every occurrence in `hay` to `out` (unsorted, maybe repeated).
    pub fn find_all(&self, hay: &[u8], out: &mut Vec<usize>) {
        self.each(hay, |p| {
            out.push(p);
            true
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Every start of every literal, by the definition.
    fn naive(pats: &[Vec<u8>], hay: &[u8]) -> Vec<usize> {
        let mut out: Vec<usize> = (0..hay.len())
            .filter(|&i| {
                pats.iter().any(|p| {
                    hay.get(i..i + p.len())
                        .is_some_and(|w| w.eq_ignore_ascii_case(p))
                })
            })
            .collect();
        out.dedup();
        out
    }

    fn scanned(pats: &[Vec<u8>], hay: &[u8]) -> Vec<usize> {
        let lit = Literals::new(pats.iter().map(Vec::as_slice));
        let mut out = Vec::new();
        lit.find_all(hay, &mut out);
        out.sort_unstable();
        out.dedup();
        assert_eq!(lit.is_match(hay), !out.is_empty());
        out
    }

    #[test]
    fn finds_at_every_offset_and_at_the_ends() {
        let pats = vec![b"mer IT Solutions GmbH".to_vec()];
        for pad in 0..40 {
            let mut hay = vec![b'x'; pad];
            hay.extend_from_slice(b"MER it SOLUTIONS gmbh");
            assert_eq!(scanned(&pats, &hay), vec![pad], "pad {pad}");
            hay.extend_from_slice(b"yy");
            assert_eq!(scanned(&pats, &hay), vec![pad], "pad {pad}");
        }
        assert!(scanned(&pats, b"mer IT Solutions Gmb").is_empty());
        assert!(scanned(&[], b"anything").is_empty());
        let lit = Literals::new([b"abc".as_slice()]);
        assert_eq!(lit.shape(), (1, 3));
        let lit = Literals::new([b"a long literal here".as_slice()]);
        assert_eq!(lit.shape(), (16, 4));
    }

    #[test]
    fn case_folding_is_ascii_only() {
        // `| 0x20` also maps `@` to a backtick and 0xC4 to 0xE4: the filter may hit on them,
        // verification must not.
        let pats = vec![b"@abc".to_vec(), "\u{c4}xyz".as_bytes().to_vec()];
        assert!(scanned(&pats, b"`ABC").is_empty());
        assert_eq!(scanned(&pats, b"-@ABC"), vec![1]);
        assert!(scanned(&pats, "\u{e4}xyz".as_bytes()).is_empty());
        assert_eq!(scanned(&pats, "\u{c4}XYZ".as_bytes()), vec![0]);
    }

    fn literal() -> impl Strategy<Value = Vec<u8>> {
        // A small alphabet so that literals overlap and recur in the text; bytes differing
        // only by 0x20 (`@`/`` ` ``, `[`/`{`, 0xC4/0xE4) test the folding.
        let byte = prop::sample::select(b"aAbB@`[{ \"\\:\xc4\xe4xyz".to_vec());
        prop::collection::vec(byte, 3..12)
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

        #[test]
        fn agrees_with_a_naive_search(
            pats in prop::collection::vec(literal(), 1..20),
            hay in prop::collection::vec(prop::sample::select(b"aAbB@`[{ \"\\:\xc4\xe4xyz".to_vec()), 0..300),
            plant in prop::collection::vec((0usize..300, 0usize..20), 0..6),
        ) {
            // Plant some literals so that matches are not left to chance.
            let mut hay = hay;
            for (at, which) in plant {
                let p = &pats[which % pats.len()];
                let at = at.min(hay.len());
                hay.splice(at..at, p.iter().copied());
            }
            prop_assert_eq!(scanned(&pats, &hay), naive(&pats, &hay));
        }
    }
}
