use super::*;
use proptest::prelude::*;

/// Every `(start, id)` of every literal, by the definition.
fn naive(pats: &[Vec<u8>], hay: &[u8]) -> Vec<(usize, u32)> {
    let mut out = Vec::new();
    for i in 0..hay.len() {
        for (id, p) in pats.iter().enumerate() {
            if hay
                .get(i..i + p.len())
                .is_some_and(|w| w.eq_ignore_ascii_case(p))
            {
                out.push((i, id as u32));
            }
        }
    }
    out
}

fn scanned_with(pats: &[Vec<u8>], hay: &[u8], split: Split) -> Vec<(usize, u32)> {
    let lit = Literals::with_split(pats.iter().map(Vec::as_slice), b"", split);
    let mut out = Vec::new();
    lit.each_match(hay, |p, id| {
        out.push((p, id));
        true
    });
    out.sort_unstable();
    out.dedup();
    assert_eq!(lit.is_match(hay), !out.is_empty());
    out
}

/// The splits to test: the default, all sampled, all Teddy, and a split in the middle.
const SPLITS: [Split; 4] = [
    Split { long: 8, few: 8 },
    Split { long: 0, few: 0 },
    Split {
        long: usize::MAX,
        few: 0,
    },
    Split { long: 5, few: 2 },
];

fn scanned(pats: &[Vec<u8>], hay: &[u8]) -> Vec<usize> {
    let mut out: Vec<usize> = scanned_with(pats, hay, Split::default())
        .into_iter()
        .map(|(p, _)| p)
        .collect();
    out.dedup();
    out
}

#[test]
fn finds_at_every_offset_and_at_the_ends() {
    let pats = vec![b"mer IT Solutions GmbH".to_vec()];
    for split in SPLITS {
        for pad in 0..80 {
            let mut hay = vec![b'x'; pad];
            hay.extend_from_slice(b"MER it SOLUTIONS gmbh");
            assert_eq!(
                scanned_with(&pats, &hay, split),
                vec![(pad, 0)],
                "pad {pad}"
            );
            hay.extend_from_slice(b"yy");
            assert_eq!(
                scanned_with(&pats, &hay, split),
                vec![(pad, 0)],
                "pad {pad}"
            );
        }
    }
    assert!(scanned(&pats, b"mer IT Solutions Gmb").is_empty());
    assert!(scanned(&[], b"anything").is_empty());
    let split = Split { long: 0, few: 0 };
    let lit = Literals::with_split([b"abc".as_slice()], b"", split);
    assert_eq!(lit.shape(), (1, 3));
    let lit = Literals::with_split([b"a long literal here".as_slice()], b"", split);
    assert_eq!(lit.shape(), (16, 4));
}

#[test]
fn short_literals_and_control_bytes() {
    // The prefilter's structural literals: one and two bytes, at the ends of blocks too.
    let pats = vec![
        b"\r".to_vec(),
        b"\\u".to_vec(),
        b"\" ".to_vec(),
        b":  ".to_vec(),
        b"Ammyy".to_vec(),
        b"mer IT Solutions GmbH".to_vec(),
        "\u{17f}".as_bytes().to_vec(),
    ];
    for len in [0, 1, 31, 32, 33, 34, 35, 63, 64, 65, 100] {
        for at in 0..len {
            for (id, p) in pats.iter().enumerate() {
                let mut hay = vec![b'q'; len];
                hay.splice(at..at, p.iter().copied());
                let got = scanned_with(&pats, &hay, Split::default());
                assert!(got.contains(&(at, id as u32)), "{id} at {at} of {len}");
                assert_eq!(got, naive(&pats, &hay));
            }
        }
    }
}

#[test]
fn case_folding_is_ascii_only() {
    // `| 0x20` also maps `@` to a backtick and 0xC4 to 0xE4: the filters may hit on them,
    // verification must not.
    let pats = vec![b"@abc".to_vec(), "\u{c4}xyz".as_bytes().to_vec()];
    for split in SPLITS {
        let s = |hay: &[u8]| -> Vec<usize> {
            scanned_with(&pats, hay, split)
                .into_iter()
                .map(|(p, _)| p)
                .collect()
        };
        assert!(s(b"`ABC").is_empty());
        assert_eq!(s(b"-@ABC"), vec![1]);
        assert!(s("\u{e4}xyz".as_bytes()).is_empty());
        assert_eq!(s("\u{c4}XYZ".as_bytes()), vec![0]);
    }
}

/// Past Teddy's capacity the longer short literals go to the sampled filter.
#[test]
fn many_short_literals() {
    let pats: Vec<Vec<u8>> = (0..200u32)
        .map(|i| format!("k{}", "q".repeat(1 + (i % 6) as usize) + &i.to_string()).into_bytes())
        .collect();
    let mut hay = b"{\"a\":\"".to_vec();
    for p in pats.iter().step_by(7) {
        hay.extend_from_slice(p);
        hay.extend_from_slice(b" x ");
    }
    for split in SPLITS {
        assert_eq!(scanned_with(&pats, &hay, split), naive(&pats, &hay));
    }
    let lit = Literals::with_split(pats.iter().map(Vec::as_slice), b"", Split::default());
    assert!(lit.describe().contains("sampled") && lit.describe().contains("teddy"));
}

/// The portable path agrees with the SIMD one (both against the definition).
#[test]
fn portable_teddy_agrees() {
    let pats: Vec<Vec<u8>> = ["Action1", "\\u", "\r", "zoho.eu", "PDQ.com", "set.me"]
        .iter()
        .map(|s| s.as_bytes().to_vec())
        .collect();
    let hay = b"{\"a\":\"x\\u0041 action1 ZOHO.EU\",\"b\":\"pdq.COM set.me\"}\r\n".repeat(5);
    let all: Vec<(u32, &[u8])> = pats
        .iter()
        .enumerate()
        .map(|(i, p)| (i as u32, &p[..]))
        .collect();
    let boxed: Vec<Box<[u8]>> = pats.iter().map(|p| Box::from(&p[..])).collect();
    let t = teddy::Teddy::new(&all);
    let mut got = Vec::new();
    t.each_portable(&hay, &boxed, &mut |p, id| {
        got.push((p, id));
        true
    });
    got.sort_unstable();
    assert_eq!(got, naive(&pats, &hay));
}

/// The sampled filter's SIMD loop (strides up to 4, eight positions a step) and its portable
/// loop find the same occurrences as the definition, for every stride and gram length it
/// takes, at every offset and text length around a step's end.
#[test]
fn portable_sampled_agrees() {
    // Shortest literal 3 → gram 3, stride 1; 6 → gram 4, stride 3; 7 → stride 4; 5 → gram 3,
    // stride 3.
    for (pats, min) in [
        (vec!["abc", "zyxwv"], 3),
        (vec!["Ammyy", "aeroadmin"], 5),
        (vec!["set.me", "Action1 Corporation"], 6),
        (vec!["pdq.com", "teamviewer.com"], 7),
    ] {
        let pats: Vec<Vec<u8>> = pats.iter().map(|p| p.as_bytes().to_vec()).collect();
        let all: Vec<(u32, &[u8])> = pats
            .iter()
            .enumerate()
            .map(|(i, p)| (i as u32, &p[..]))
            .collect();
        let boxed: Vec<Box<[u8]>> = pats.iter().map(|p| Box::from(&p[..])).collect();
        let s = sampled::Sampled::new(&all, b"");
        assert_eq!(s.shape().0, min - s.shape().1 + 1);
        for len in 0..90 {
            for at in 0..len {
                let mut hay = b"{\"a\":\"xx SET.ME, xx\"}".repeat(5)[..len].to_vec();
                let p = &pats[at % pats.len()];
                hay.splice(at..at, p.iter().copied());
                let mut fast = Vec::new();
                s.each(&hay, &boxed, &mut |p, id| {
                    fast.push((p, id));
                    true
                });
                let mut slow = Vec::new();
                s.each_portable(&hay, &boxed, &mut |p, id| {
                    slow.push((p, id));
                    true
                });
                fast.sort_unstable();
                fast.dedup();
                slow.sort_unstable();
                slow.dedup();
                let want = naive(&pats, &hay);
                assert_eq!(fast, want, "{min}: {}", String::from_utf8_lossy(&hay));
                assert_eq!(slow, want, "{min}: {}", String::from_utf8_lossy(&hay));
            }
        }
    }
}

fn literal() -> impl Strategy<Value = Vec<u8>> {
    // A small alphabet so that literals overlap and recur in the text; bytes differing only
    // by 0x20 (`@`/`` ` ``, `[`/`{`, 0xC4/0xE4, `\r`/`-`) test the folding.
    let byte = prop::sample::select(b"aAbB@`[{ \"\\:\xc4\xe4xyz\r-".to_vec());
    prop::collection::vec(byte, 1..12)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn agrees_with_a_naive_search(
        pats in prop::collection::vec(literal(), 1..24),
        hay in prop::collection::vec(prop::sample::select(b"aAbB@`[{ \"\\:\xc4\xe4xyz\r-".to_vec()), 0..300),
        plant in prop::collection::vec((0usize..300, 0usize..24), 0..6),
        split in 0usize..4,
    ) {
        // Plant some literals so that matches are not left to chance.
        let mut hay = hay;
        for (at, which) in plant {
            let p = &pats[which % pats.len()];
            let at = at.min(hay.len());
            hay.splice(at..at, p.iter().copied());
        }
        prop_assert_eq!(scanned_with(&pats, &hay, SPLITS[split]), naive(&pats, &hay));
    }

    #[test]
    fn any_bytes(
        pats in prop::collection::vec(prop::collection::vec(any::<u8>(), 1..6), 1..20),
        hay in prop::collection::vec(any::<u8>(), 0..200),
        split in 0usize..4,
    ) {
        prop_assert_eq!(scanned_with(&pats, &hay, SPLITS[split]), naive(&pats, &hay));
    }
}

/// Literals made of the grams the text holds most (`tion`, `cess`, `e":"`): found wherever they
/// sit in lines of such text, and each filed under a window free of the measured common grams
/// when the literal has one (`grams::COMMON_GRAMS`), under one of them only when it has not.
#[test]
fn windows_avoid_the_common_grams_of_the_text() {
    let pats: Vec<Vec<u8>> = [
        &b"\"actiontype\":\"dnsquery"[..],
        b"nvaccess.org",
        b"action1",
        b"processversioninfo",
        b"screenconnect.client",
        b"initiatingprocess",
        // `c:||` (`C:\\` folded) is in the table, yet its bytes look rare one by one (`|`).
        b"c:||aeiouaeiou",
        b"qjqjqj",
    ]
    .iter()
    .map(|p| p.to_vec())
    .collect();
    let table: hashbrown::HashSet<u32> = grams::COMMON_GRAMS
        .iter()
        .flat_map(|&(_, g)| g.chunks_exact(4).map(|g| sampled::Sampled::gram_of(g, 4)))
        .collect();
    let lits: Vec<(u32, &[u8])> = pats
        .iter()
        .enumerate()
        .map(|(i, p)| (i as u32, &p[..]))
        .collect();
    let s = sampled::Sampled::new(&lits, b"");
    let (stride, gram) = s.shape();
    assert_eq!(gram, 4);
    for (id, p) in lits {
        let window = s.window_of(id);
        let grams = |o: usize| (o..o + stride).map(|k| sampled::Sampled::gram_of(&p[k..], 4));
        let clean =
            (0..=p.len() + 1 - gram - stride).any(|o| grams(o).all(|g| !table.contains(&g)));
        let common = window.iter().any(|g| table.contains(g));
        assert!(
            !(clean && common),
            "{:?}: window in the table",
            String::from_utf8_lossy(p)
        );
    }
    let mut hay = Vec::new();
    for (i, p) in pats.iter().enumerate() {
        hay.extend_from_slice(b"{\"InitiatingProcessVersionInfo\":\"Action\",\"ActionType\":\"");
        hay.extend(std::iter::repeat_n(b'x', i));
        hay.extend_from_slice(&p.to_ascii_uppercase());
        hay.extend_from_slice(b"\"}\r\n");
    }
    for split in SPLITS {
        assert_eq!(
            scanned_with(&pats, &hay, split),
            naive(&pats, &hay),
            "{split:?}"
        );
    }
}

/// The table is what the sampled filter reads: 4-byte grams, folded as it folds text, by
/// descending count.
#[test]
fn common_grams_are_folded_four_byte_grams() {
    let mut last = u32::MAX;
    for &(t, g) in grams::COMMON_GRAMS {
        assert!(t < last, "tiers descend");
        last = t;
        assert_eq!(g.len() % 4, 0);
        assert!(
            g.iter().all(|&b| b | 0x20 == b),
            "{:?}",
            String::from_utf8_lossy(g)
        );
    }
}
