//! The long literals' filter: a scan that samples the text instead of reading every position.
//!
//! Design (after Hyperscan's FDR, simplified): every literal is at least `m` bytes long. Take
//! grams of `g` bytes (3 or 4) and a stride `s = m - g + 1` (capped): however a literal of
//! length `L ≥ m` sits in the text, exactly one multiple of `s` falls among any `s`
//! consecutive start positions of its grams, and the literal spans grams starting at its
//! offsets `o..o + s` for any window offset `o ≤ L - g - s + 1`. So per literal, the `s`
//! grams of one window (chosen where its bytes are rarest in JSON exports) go into a bitset
//! keyed by a hash of the gram folded with `| 0x20` (a superset of ASCII case folding), and
//! the scan reads one gram every `s` bytes, tests one bit, and verifies the literals filed
//! under that gram only on a hit. The shortest literal sets the stride, which is why short
//! literals go to [`super::teddy`] instead.
//!
//! Plain safe Rust: the loop is bounds-checked slices of a `u32` load, which the compiler
//! keeps branch-predicted; no target-specific code.

use super::commonness;
use hashbrown::HashMap;

/// Bits of the gram hash: a 32 KiB bitset, small enough to stay in L1 beside the text.
const BITS: u32 = 18;

/// The longest stride: beyond it one literal fills too many bits for little gain.
pub const MAX_STRIDE: usize = 16;

/// The sampled filter over a set of literals.
#[derive(Debug, Clone)]
pub(super) struct Sampled {
    gram: usize,
    stride: usize,
    bits: Vec<u64>,
    /// Folded gram → `(literal id, offset of the gram in it)`.
    filed: HashMap<u32, Vec<(u32, u32)>>,
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

impl Sampled {
    /// The filter over `lits` (`(id, bytes)`, none empty), steering each literal's window away
    /// from the grams of `common`: text nearly every line holds (column names as keys), where
    /// a window would hit on every line and cost a verification each time.
    pub(super) fn new(lits: &[(u32, &[u8])], common: &[u8]) -> Sampled {
        let min = lits.iter().map(|(_, p)| p.len()).min().unwrap_or(4).max(1);
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
        for &(id, p) in lits {
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
                if !list.contains(&(id, k as u32)) {
                    list.push((id, k as u32));
                }
            }
        }
        Sampled {
            gram,
            stride,
            bits,
            filed,
        }
    }

    /// The stride and gram length chosen.
    pub(super) fn shape(&self) -> (usize, usize) {
        (self.stride, self.gram)
    }

    /// Calls `found(start, id)` for every occurrence of every literal (`pats[id]`) in `hay`
    /// (ASCII case ignored), in no particular order and possibly more than once; false when
    /// `found` stopped it by returning false.
    pub(super) fn each(
        &self,
        hay: &[u8],
        pats: &[Box<[u8]>],
        found: &mut dyn FnMut(usize, u32) -> bool,
    ) -> bool {
        if hay.len() < self.gram {
            return true;
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
            if self.bits[h / 64] & (1 << (h % 64)) != 0 && !self.verify(hay, q, x, pats, found) {
                return false;
            }
            q += s;
        }
        while q + g <= hay.len() {
            let x = gram_at(&hay[q..], g);
            let h = hash(x);
            if self.bits[h / 64] & (1 << (h % 64)) != 0 && !self.verify(hay, q, x, pats, found) {
                return false;
            }
            q += s;
        }
        true
    }

    #[cold]
    #[inline(never)]
    fn verify(
        &self,
        hay: &[u8],
        q: usize,
        x: u32,
        pats: &[Box<[u8]>],
        found: &mut dyn FnMut(usize, u32) -> bool,
    ) -> bool {
        let Some(list) = self.filed.get(&x) else {
            return true;
        };
        for &(id, k) in list {
            let Some(start) = q.checked_sub(k as usize) else {
                continue;
            };
            let Some(p) = pats.get(id as usize) else {
                continue;
            };
            if hay
                .get(start..start + p.len())
                .is_some_and(|w| w.eq_ignore_ascii_case(p))
                && !found(start, id)
            {
                return false;
            }
        }
        true
    }
}
