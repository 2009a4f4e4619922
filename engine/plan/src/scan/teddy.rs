//! The short literals' filter: Teddy, the SIMD nibble-mask search of Hyperscan (and of the
//! `aho-corasick` crate's packed searcher), for literals too short for the sampled filter to
//! take long strides over them.
//!
//! Each literal is reduced to a *fingerprint* of up to [`WIDTH`] consecutive bytes, taken where
//! its bytes are rarest in JSON exports (not necessarily its prefix: `Action1`'s `n1` beats
//! its `Ac`). Literals are filed in up to 16 buckets, one bit each in a group of 8. For each
//! fingerprint position `j`, two 16-entry tables give the buckets whose `j`-th byte may have a
//! given low nibble and a given high nibble; a text position `p` is a candidate for a bucket
//! when `hay[p + j]` passes both tables for every `j`. With AVX2, `vpshufb` looks up 32
//! positions at once, so a block of 32 bytes costs a few instructions per group whatever the
//! number of literals; candidates are rare when each bucket holds few similar fingerprints,
//! and only then are the bucket's literals compared with the text.
//!
//! Case: a letter's fingerprint byte admits both cases in the tables (same low nibble, high
//! nibble 4/5 or 6/7), so the text is never folded; verification compares
//! ASCII-case-insensitively. The tables admit a superset of the fingerprints (the nibbles of
//! a bucket's bytes combine freely); verification removes what they let through.
//!
//! Without AVX2 (other CPUs, other architectures) the same tables are read one position at a
//! time: correct, several times slower.

use super::commonness;

/// Bytes in a fingerprint (fewer for shorter literals: the missing positions admit anything).
pub(super) const WIDTH: usize = 3;

/// Buckets per group: the bits of a byte.
const GROUP: usize = 8;

/// Groups at most: each group costs its own lookups, and spreads the literals over 8 more
/// buckets.
pub(super) const MAX_GROUPS: usize = 4;

/// Literals per bucket before another group is added: more make each bucket's tables admit
/// much more than its fingerprints.
const PER_BUCKET: usize = 2;

/// Literals Teddy holds well: every bucket of every group at [`PER_BUCKET`].
pub(super) const CAPACITY: usize = MAX_GROUPS * GROUP * PER_BUCKET;

/// One group's tables: for each fingerprint position, the buckets admitting each low nibble,
/// then each high nibble.
type Tables = [[u8; 16]; 2 * WIDTH];

/// The chance that a text position passes a bucket's tables (for each fingerprint position,
/// the low and high nibbles admitted), with bytes as common as [`commonness`] says: the
/// product over positions of the share of text bytes both nibble sets admit.
fn chance(masks: &[(u16, u16); WIDTH]) -> f64 {
    let freq = |b: u8| f64::from(1u32 << commonness(b));
    let total: f64 = (0..=255u8).map(freq).sum();
    masks
        .iter()
        .map(|&(lo, hi)| {
            let admitted: f64 = (0..=255u8)
                .filter(|b| lo & (1 << (b & 15)) != 0 && hi & (1 << (b >> 4)) != 0)
                .map(freq)
                .sum();
            admitted / total
        })
        .product()
}

/// The filter over a set of short literals.
#[derive(Debug, Clone)]
pub(super) struct Teddy {
    groups: Vec<Tables>,
    /// Per bucket (`group * 8 + bit`): `(literal id, offset of its fingerprint in it)`.
    buckets: Vec<Vec<(u32, u32)>>,
}

impl Teddy {
    /// The filter over `lits` (`(id, bytes)`, none empty).
    pub(super) fn new(lits: &[(u32, &[u8])]) -> Teddy {
        // Each literal's fingerprint: its window of rarest bytes, lower-cased.
        let mut prints: Vec<(Vec<u8>, u32, u32)> = lits
            .iter()
            .map(|&(id, p)| {
                let w = p.len().min(WIDTH);
                let k = (0..=p.len() - w)
                    .min_by_key(|&k| p[k..k + w].iter().map(|&b| commonness(b)).sum::<u32>())
                    .unwrap_or(0);
                (p[k..k + w].to_ascii_lowercase(), id, k as u32)
            })
            .collect();
        // Each fingerprint goes to the bucket whose tables it widens least, by the chance
        // that a text position passes them ([`chance`]): a bucket holding `" ` and `\u`
        // would admit `"u` and `\ ` too, and `"p` (`"properties"`, several per line) if
        // `\u` brought the `p`'s nibbles with its upper case `U`. Shorter fingerprints first:
        // they admit anything at their missing positions, so they are best kept apart.
        prints.sort_by(|a, b| a.0.len().cmp(&b.0.len()).then(a.0.cmp(&b.0)));
        let groups = prints
            .len()
            .div_ceil(GROUP * PER_BUCKET)
            .clamp(1, MAX_GROUPS);
        let n = groups * GROUP;
        let mut tables = vec![[[0u8; 16]; 2 * WIDTH]; groups];
        let mut buckets: Vec<Vec<(u32, u32)>> = vec![Vec::new(); n];
        let mut masks = vec![[(0u16, 0u16); WIDTH]; n];
        for (print, id, k) in &prints {
            let widened = |m: &[(u16, u16); WIDTH]| -> [(u16, u16); WIDTH] {
                let mut m = *m;
                for (j, (lo, hi)) in m.iter_mut().enumerate() {
                    match print.get(j) {
                        Some(&c) => {
                            for v in [c, c.to_ascii_uppercase()] {
                                *lo |= 1 << (v & 15);
                                *hi |= 1 << (v >> 4);
                            }
                        }
                        None => (*lo, *hi) = (u16::MAX, u16::MAX),
                    }
                }
                m
            };
            let cost = |b: usize| chance(&widened(&masks[b])) - chance(&masks[b]);
            let b = (0..n)
                .min_by(|&x, &y| cost(x).total_cmp(&cost(y)))
                .unwrap_or(0);
            masks[b] = widened(&masks[b]);
            buckets[b].push((*id, *k));
        }
        for (b, m) in masks.iter().enumerate() {
            let (t, bit) = (&mut tables[b / GROUP], 1u8 << (b % GROUP));
            for (j, &(lo, hi)) in m.iter().enumerate() {
                let (los, his) = t[2 * j..2 * j + 2].split_at_mut(1);
                for (x, (l, h)) in los[0].iter_mut().zip(his[0].iter_mut()).enumerate() {
                    *l |= if lo & (1 << x) != 0 { bit } else { 0 };
                    *h |= if hi & (1 << x) != 0 { bit } else { 0 };
                }
            }
        }
        Teddy {
            groups: tables,
            buckets,
        }
    }

    /// Groups of 8 buckets searched (for the benches and `describe`).
    pub(super) fn groups(&self) -> usize {
        self.groups.len()
    }

    /// Calls `found(start, id)` for every occurrence in `hay` of every literal (`pats[id]`),
    /// ASCII case ignored, in no particular order and possibly more than once; false when
    /// `found` stopped it by returning false.
    pub(super) fn each(
        &self,
        hay: &[u8],
        pats: &[Box<[u8]>],
        found: &mut dyn FnMut(usize, u32) -> bool,
    ) -> bool {
        #[cfg(target_arch = "x86_64")]
        {
            if std::is_x86_feature_detected!("avx2") {
                // SAFETY: the CPU has AVX2, checked just above.
                return unsafe { self.each_avx2(hay, pats, found) };
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
        self.each_scalar(hay, 0, pats, found)
    }

    /// The buckets of group `g` whose fingerprint may start at `p` (a byte past the end admits
    /// anything: verification then fails on the length).
    #[inline]
    fn buckets_at(&self, hay: &[u8], p: usize, g: usize) -> u8 {
        let t = &self.groups[g];
        let mut r = u8::MAX;
        for j in 0..WIDTH {
            if let Some(&b) = hay.get(p + j) {
                r &= t[2 * j][usize::from(b & 15)] & t[2 * j + 1][usize::from(b >> 4)];
            }
        }
        r
    }

    /// One position at a time from `from`: the fallback, and the tail after the SIMD loop.
    fn each_scalar(
        &self,
        hay: &[u8],
        from: usize,
        pats: &[Box<[u8]>],
        found: &mut dyn FnMut(usize, u32) -> bool,
    ) -> bool {
        for p in from..hay.len() {
            for g in 0..self.groups.len() {
                let r = self.buckets_at(hay, p, g);
                if r != 0 && !self.verify(hay, p, g, r, pats, found) {
                    return false;
                }
            }
        }
        true
    }

    /// Compares the literals of the buckets `bits` of group `g` with the text whose
    /// fingerprint would start at `p`.
    #[cold]
    #[inline(never)]
    fn verify(
        &self,
        hay: &[u8],
        p: usize,
        g: usize,
        mut bits: u8,
        pats: &[Box<[u8]>],
        found: &mut dyn FnMut(usize, u32) -> bool,
    ) -> bool {
        while bits != 0 {
            let b = bits.trailing_zeros() as usize;
            bits &= bits - 1;
            for &(id, k) in &self.buckets[g * GROUP + b] {
                let Some(start) = p.checked_sub(k as usize) else {
                    continue;
                };
                let Some(pat) = pats.get(id as usize) else {
                    continue;
                };
                if hay
                    .get(start..start + pat.len())
                    .is_some_and(|w| w.eq_ignore_ascii_case(pat))
                    && !found(start, id)
                {
                    return false;
                }
            }
        }
        true
    }

    /// 32 positions per step: three overlapping loads (fingerprint positions 0, 1, 2), split
    /// into nibbles once, looked up per group with `vpshufb` (which indexes within each
    /// 128-bit lane, hence the tables twice per register).
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
    ) -> bool {
        use std::arch::x86_64::*;
        const LANES: usize = 32;
        let zero = _mm256_setzero_si256();
        let mut tables = [[zero; 2 * WIDTH]; MAX_GROUPS];
        for (g, t) in self.groups.iter().enumerate().take(MAX_GROUPS) {
            for (k, bytes) in t.iter().enumerate() {
                // SAFETY: `bytes` is 16 bytes long; the load is unaligned.
                let x = unsafe { _mm_loadu_si128(bytes.as_ptr().cast()) };
                tables[g][k] = _mm256_broadcastsi128_si256(x);
            }
        }
        let groups = self.groups.len().min(MAX_GROUPS);
        let nibble = _mm256_set1_epi8(0x0F);
        let mut i = 0;
        while i + LANES + WIDTH - 1 <= hay.len() {
            let mut lo = [zero; WIDTH];
            let mut hi = [zero; WIDTH];
            for j in 0..WIDTH {
                // SAFETY: `i + j + 32 <= i + 32 + WIDTH - 1 <= hay.len()` (the loop's
                // condition): the 32 bytes read are inside `hay`; the load is unaligned.
                let v = unsafe { _mm256_loadu_si256(hay.as_ptr().add(i + j).cast()) };
                lo[j] = _mm256_and_si256(v, nibble);
                hi[j] = _mm256_and_si256(_mm256_srli_epi16(v, 4), nibble);
            }
            for (g, t) in tables.iter().enumerate().take(groups) {
                let mut r = _mm256_and_si256(
                    _mm256_shuffle_epi8(t[0], lo[0]),
                    _mm256_shuffle_epi8(t[1], hi[0]),
                );
                for j in 1..WIDTH {
                    let m = _mm256_and_si256(
                        _mm256_shuffle_epi8(t[2 * j], lo[j]),
                        _mm256_shuffle_epi8(t[2 * j + 1], hi[j]),
                    );
                    r = _mm256_and_si256(r, m);
                }
                let empty = _mm256_movemask_epi8(_mm256_cmpeq_epi8(r, zero)) as u32;
                if empty != u32::MAX {
                    let mut bits = [0u8; LANES];
                    // SAFETY: `bits` is 32 bytes long; the store is unaligned.
                    unsafe { _mm256_storeu_si256(bits.as_mut_ptr().cast(), r) };
                    let mut hits = !empty;
                    while hits != 0 {
                        let l = hits.trailing_zeros() as usize;
                        hits &= hits - 1;
                        if !self.verify(hay, i + l, g, bits[l], pats, found) {
                            return false;
                        }
                    }
                }
            }
            i += LANES;
        }
        self.each_scalar(hay, i, pats, found)
    }
}
