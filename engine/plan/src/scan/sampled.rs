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
//! With AVX2 and a stride of at most 4, sampled positions are hashed eight at a time and their
//! bits gathered at once; elsewhere, and for the tail, a loop of bounds-checked `u32` loads.

use super::commonness;
use super::grams::COMMON_GRAMS;

/// Bits of the gram hash: a 32 KiB bitset, small enough to stay in L1 beside the text.
const BITS: u32 = 18;

/// The shortest literal set for which grams are 4 bytes long (tuning for the benches).
const GRAM4_FROM: usize = 6;

/// The longest stride: beyond it one literal fills too many bits for little gain.
pub const MAX_STRIDE: usize = 16;

/// The longest stride the SIMD loop takes: four positions' grams in one 16-byte load.
const SIMD_MAX_STRIDE: usize = 4;

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
        #[cfg(target_arch = "x86_64")]
        {
            if self.stride <= SIMD_MAX_STRIDE && std::is_x86_feature_detected!("avx2") {
                // SAFETY: the CPU has AVX2, checked just above.
                return match unsafe { self.each_avx2(hay, pats, found) } {
                    Some(q) => self.each_scalar(hay, q, pats, found),
                    None => false,
                };
            }
        }
        self.each_scalar(hay, 0, pats, found)
    }

    /// The fallback path on any CPU, for the tests.
    #[cfg(test)]
    pub(super) fn each_portable(
        &self,
        hay: &[u8],
        pats: &[Box<[u8]>],
        found: &mut dyn FnMut(usize, u32) -> bool,
    ) -> bool {
        hay.len() < self.gram || self.each_scalar(hay, 0, pats, found)
    }

    /// The folded gram's mask: the low `gram` bytes of a 4-byte load.
    fn mask(&self) -> u32 {
        if self.gram == 4 {
            u32::MAX
        } else {
            (1u32 << (8 * self.gram)) - 1
        }
    }

    /// One sampled position at a time, from `q` on (a multiple of the stride): the fallback,
    /// and the tail after the SIMD loop.
    fn each_scalar(
        &self,
        hay: &[u8],
        mut q: usize,
        pats: &[Box<[u8]>],
        found: &mut dyn FnMut(usize, u32) -> bool,
    ) -> bool {
        let (g, s, mask) = (self.gram, self.stride, self.mask());
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

    /// 32 sampled positions per step, in four blocks of eight: each block is two 16-byte loads
    /// (its positions 0–3 and 4–7), each position's 4 bytes picked by one `vpshufb`, folded,
    /// hashed by a 32-bit multiply, and their bits fetched from the bitset by one gather. The
    /// four gathers are issued before any hit is looked at: a hit's branch, taken in about
    /// one step of four on storage lines, would otherwise expose each gather's latency (one
    /// block per step measured no faster than the scalar loop over every pack). The scalar
    /// loop spends its time on the per-position work, not on the rare hits (a scalar unroll of
    /// four positions was slower: benches/RESULTS.md). Returns where the scalar loop takes
    /// over, or `None` when `found` stopped the scan.
    ///
    /// # Safety
    /// The CPU must support AVX2.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    unsafe fn each_avx2(
        &self,
        hay: &[u8],
        pats: &[Box<[u8]>],
        found: &mut dyn FnMut(usize, u32) -> bool,
    ) -> Option<usize> {
        let s = self.stride;
        let k = Kernel::new(self);
        let mut q = 0;
        while q + 28 * s + 16 <= hay.len() {
            // SAFETY: each block reads `[at, at + 4 * s + 16)`, inside `hay` for the last
            // block `at = q + 24 * s` by the loop's condition.
            let hits = unsafe {
                k.block(hay, q)
                    | k.block(hay, q + 8 * s) << 8
                    | k.block(hay, q + 16 * s) << 16
                    | k.block(hay, q + 24 * s) << 24
            };
            if hits != 0 && !self.verify_hits(hay, q, hits, pats, found) {
                return None;
            }
            q += 32 * s;
        }
        while q + 4 * s + 16 <= hay.len() {
            // SAFETY: the block reads `[q, q + 4 * s + 16)`, inside `hay` by the condition.
            let hits = unsafe { k.block(hay, q) };
            if hits != 0 && !self.verify_hits(hay, q, hits, pats, found) {
                return None;
            }
            q += 8 * s;
        }
        Some(q)
    }

    /// Verifies the positions `q + i * stride` for each bit `i` of `hits`.
    fn verify_hits(
        &self,
        hay: &[u8],
        q: usize,
        mut hits: u32,
        pats: &[Box<[u8]>],
        found: &mut dyn FnMut(usize, u32) -> bool,
    ) -> bool {
        while hits != 0 {
            let p = q + hits.trailing_zeros() as usize * self.stride;
            hits &= hits - 1;
            if !self.verify(hay, p, gram_at(&hay[p..], self.gram), pats, found) {
                return false;
            }
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

/// The AVX2 loop's constants: one block of eight sampled positions at a time.
#[cfg(target_arch = "x86_64")]
struct Kernel<'a> {
    pick: std::arch::x86_64::__m256i,
    fold: std::arch::x86_64::__m256i,
    mask: std::arch::x86_64::__m256i,
    golden: std::arch::x86_64::__m256i,
    low5: std::arch::x86_64::__m256i,
    stride: usize,
    /// The bitset, whose 32-bit words the gathers read.
    bits: &'a [u64],
}

#[cfg(target_arch = "x86_64")]
impl<'a> Kernel<'a> {
    #[target_feature(enable = "avx2")]
    fn new(f: &'a Sampled) -> Kernel<'a> {
        use std::arch::x86_64::*;
        let s = f.stride;
        // Position i of a 16-byte load starts at byte i * s: 3 * s + 4 <= 16 bytes.
        let mut pick = [0u8; 16];
        for (k, b) in pick.iter_mut().enumerate() {
            *b = ((k / 4) * s + k % 4) as u8;
        }
        // SAFETY: `pick` is 16 bytes long; the load is unaligned.
        let pick = unsafe { _mm_loadu_si128(pick.as_ptr().cast()) };
        Kernel {
            pick: _mm256_broadcastsi128_si256(pick),
            fold: _mm256_set1_epi32(0x2020_2020),
            mask: _mm256_set1_epi32(f.mask() as i32),
            golden: _mm256_set1_epi32(0x9E37_79B1_u32 as i32),
            low5: _mm256_set1_epi32(31),
            stride: s,
            bits: &f.bits,
        }
    }

    /// The bits of positions `at + i * stride`, `i < 8`, as bit `i` of the result.
    ///
    /// # Safety
    /// The CPU must support AVX2, and `at + 4 * stride + 16 <= hay.len()`.
    #[target_feature(enable = "avx2")]
    #[inline]
    unsafe fn block(&self, hay: &[u8], at: usize) -> u32 {
        use std::arch::x86_64::*;
        const SHIFT: i32 = 32 - BITS as i32;
        // SAFETY: the caller keeps `[at, at + 4 * stride + 16)` inside `hay`; the loads are
        // unaligned.
        let (lo, hi) = unsafe {
            (
                _mm_loadu_si128(hay.as_ptr().add(at).cast()),
                _mm_loadu_si128(hay.as_ptr().add(at + 4 * self.stride).cast()),
            )
        };
        let v = _mm256_shuffle_epi8(_mm256_set_m128i(hi, lo), self.pick);
        let x = _mm256_and_si256(_mm256_or_si256(v, self.fold), self.mask);
        let h = _mm256_srli_epi32::<SHIFT>(_mm256_mullo_epi32(x, self.golden));
        // The bitset as 32-bit words: on a little-endian CPU bit `h` of the `u64` words is
        // bit `h % 32` of 32-bit word `h / 32`.
        let words = self.bits.as_ptr().cast::<i32>();
        // SAFETY: `h < 2^BITS`, so `h / 32` indexes one of the bitset's 2^BITS / 32 words.
        let w = unsafe { _mm256_i32gather_epi32::<4>(words, _mm256_srli_epi32::<5>(h)) };
        // Each position's bit moved to its lane's sign bit.
        let at_sign = _mm256_sllv_epi32(
            w,
            _mm256_sub_epi32(self.low5, _mm256_and_si256(h, self.low5)),
        );
        _mm256_movemask_ps(_mm256_castsi256_ps(at_sign)) as u32
    }
}
