//! The long literals' filter: a scan that samples the text instead of reading every position.
//!
//! Design (after Hyperscan's FDR, simplified): every literal is at least `m` bytes long. Take
//! grams of `g` bytes (3 or 4) and a stride `s = m - g + 1` (capped): however a literal of
//! length `L ≥ m` sits in the text, exactly one multiple of `s` falls among any `s`
//! consecutive start positions of its grams, and the literal spans grams starting at its
//! offsets `o..o + s` for any window offset `o ≤ L - g - s + 1`. So per literal, the `s`
//! grams of one window (chosen where its bytes are rarest in JSON exports, and off the grams
//! measured most common there, [`super::grams`]) go into a bitset
//! keyed by a hash of the gram folded with `| 0x20` (a superset of ASCII case folding), and
//! the scan reads one gram every `s` bytes, tests one bit, and verifies the literals filed
//! under that gram only on a hit. The shortest literal sets the stride, which is why short
//! literals go to [`super::teddy`] instead.
//!
//! Plain safe Rust: the loop is bounds-checked slices of a `u32` load, which the compiler
//! keeps branch-predicted; no target-specific code.

use super::commonness;
use super::grams::COMMON_GRAMS;

/// Bits of the gram hash: a 32 KiB bitset, small enough to stay in L1 beside the text.
const BITS: u32 = 18;

/// The shortest literal set for which grams are 4 bytes long (tuning for the benches).
const GRAM4_FROM: usize = 6;

/// The longest stride: beyond it one literal fills too many bits for little gain.
pub const MAX_STRIDE: usize = 16;

/// The sampled filter over a set of literals.
#[derive(Debug, Clone)]
pub(super) struct Sampled {
    gram: usize,
    stride: usize,
    bits: Vec<u64>,
    /// Per word of `bits`, the bits set in the words before it: with a popcount, the rank of
    /// a set bit, which indexes `starts`. A hashed index of the filed grams this compact stays
    /// in cache beside the bitset (a hash map's probe did not).
    ranks: Vec<u32>,
    /// Per set bit of `bits` in order, where its grams start in `filed` (and one past the end).
    starts: Vec<u32>,
    /// `(folded gram, literal id, offset of the gram in it)`, ordered by the gram's hash.
    filed: Vec<(u32, u32, u32)>,
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
        // Four-byte grams from 6 bytes on: a stride one shorter than with three-byte grams,
        // but far fewer grams of JSON text fall into the bitset by chance (measured).
        let gram = if min >= GRAM4_FROM { 4 } else { min.min(3) };
        let stride = (min - gram + 1).clamp(1, MAX_STRIDE);
        let mut bits = vec![0u64; 1 << (BITS - 6)];
        let mut filed: Vec<(u32, u32, u32)> = Vec::new();
        // Literals filed under each gram so far.
        let mut sharing: hashbrown::HashMap<u32, u32> = hashbrown::HashMap::new();
        let common: hashbrown::HashSet<u32> =
            common.windows(gram).map(|w| gram_at(w, gram)).collect();
        // The grams measured common in the text itself (4-byte grams only), by log2 of count.
        let frequent: hashbrown::HashMap<u32, u32> = if gram == 4 {
            COMMON_GRAMS
                .iter()
                .flat_map(|&(t, grams)| grams.chunks_exact(4).map(move |g| (gram_at(g, 4), t)))
                .collect()
        } else {
            hashbrown::HashMap::new()
        };
        for &(id, p) in lits {
            let last = p.len() + 1 - gram - stride;
            // A window's cost: over its grams, the log of how often each occurs by chance
            // (a gram of `common` text counting as always) plus the log of how many literals
            // a hit on it verifies: 600 generated `Synthetic Vendor 0042 GmbH` would all
            // take the window `tic ve` and verify 600 literals on every `Diagnostic vendor`.
            let score = |o: usize| -> u32 {
                (o..o + stride)
                    .map(|k| {
                        let g = &p[k..k + gram];
                        let x = gram_at(g, gram);
                        if common.contains(&x) {
                            1000
                        } else if let Some(&t) = frequent.get(&x) {
                            // Above any window of grams not in the table (3 × ~50), and
                            // rarer table grams before commoner ones.
                            100 * t
                        } else {
                            let shared = sharing.get(&x).copied().unwrap_or(0);
                            g.iter().map(|&b| commonness(b)).sum::<u32>()
                                + (u32::BITS - shared.leading_zeros())
                        }
                    })
                    .sum()
            };
            let o = (0..=last).min_by_key(|&o| score(o)).unwrap_or(0);
            for k in o..o + stride {
                let g = gram_at(&p[k..], gram);
                let h = hash(g);
                bits[h / 64] |= 1 << (h % 64);
                filed.push((g, id, k as u32));
                *sharing.entry(g).or_insert(0) += 1;
            }
        }
        filed.sort_unstable_by_key(|&(g, id, k)| (hash(g), g, id, k));
        filed.dedup();
        let mut ranks = Vec::with_capacity(bits.len());
        let mut set = 0u32;
        for w in &bits {
            ranks.push(set);
            set += w.count_ones();
        }
        let mut starts = Vec::with_capacity(set as usize + 1);
        for (i, &(g, ..)) in filed.iter().enumerate() {
            if i == 0 || hash(filed[i - 1].0) != hash(g) {
                starts.push(i as u32);
            }
        }
        starts.push(filed.len() as u32);
        Sampled {
            gram,
            stride,
            bits,
            ranks,
            starts,
            filed,
        }
    }

    /// The grams literal `id` is filed under (its window), for the tests.
    #[cfg(test)]
    pub(super) fn window_of(&self, id: u32) -> Vec<u32> {
        let mut v: Vec<u32> = self
            .filed
            .iter()
            .filter(|&&(_, i, _)| i == id)
            .map(|&(g, ..)| g)
            .collect();
        v.sort_unstable();
        v
    }

    /// The folded gram of `g` bytes at the start of `b`, for the tests.
    #[cfg(test)]
    pub(super) fn gram_of(b: &[u8], g: usize) -> u32 {
        gram_at(b, g)
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
        let h = hash(x);
        let (word, bit) = (h / 64, h % 64);
        let below = self.bits[word] & ((1u64 << bit) - 1);
        let rank = (self.ranks[word] + below.count_ones()) as usize;
        let (Some(&from), Some(&to)) = (self.starts.get(rank), self.starts.get(rank + 1)) else {
            return true;
        };
        let list = self
            .filed
            .get(from as usize..to as usize)
            .unwrap_or_default();
        for &(_, id, k) in list.iter().filter(|&&(g, ..)| g == x) {
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
