//! The column scans of one table, as run per row: columns whose needles are mostly the same
//! share one automaton, and a text two of them hold is scanned once.
//!
//! Sigma rules read a Sysmon field and its Defender twin in the same body (`CommandLine` and
//! `ProcessCommandLine`, `Image` and `FolderPath`: one branch for Sysmon rows, one for Defender
//! exports), and a Sysmon row mapped to a Defender table holds the same text under both names.
//! Scanning each column on its own read every command line twice through an automaton of
//! 10,000 needles. A [`ScanGroup`] holds the union of its columns' needles, each needle
//! listing the atoms it decides per column; a row's texts are compared first, and each
//! distinct one is scanned once, setting the atoms of every column that holds it. The atoms
//! set are exactly those scanning each column alone sets (`tests::groups_set_the_atoms_of_
//! column_by_column_scans`).

use crate::kql;
use crate::row::{FieldId, Row};
use crate::scan::Literals;
use crate::{cell_text, Bits, ColumnMatcher, Placement};
use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use hashbrown::{HashMap, HashSet};
use smallvec::SmallVec;

/// One needle of a group: its term flags and, per member column, the atoms it decides.
#[derive(Debug, Clone)]
struct GroupPattern {
    first_term: bool,
    last_term: bool,
    /// `(member slot, atom, placement)`.
    uses: SmallVec<[(u32, crate::ir::AtomId, Placement); 2]>,
}

/// One automaton over the needles of one or more columns, all of one case sensitivity.
#[derive(Debug, Clone)]
pub struct ScanGroup {
    /// Whether the needles are case-folded (and so is the text scanned).
    folded: bool,
    /// The member columns; a member's slot is its index here.
    fields: Vec<FieldId>,
    /// `None` when `long` searches the group, or when the automaton could not be built (past
    /// aho-corasick's size limits, far beyond any rule set seen): each needle is then
    /// searched on its own, slower but exact.
    ac: Option<AhoCorasick>,
    /// For a folded group whose needles are all long (hashes, GUIDs, long paths): the sampled
    /// filter of [`crate::scan`], used instead of the automaton (see [`LONG_NEEDLES`]).
    long: Option<Literals>,
    /// The needles' texts, by pattern index (for that search).
    texts: Vec<String>,
    patterns: Vec<GroupPattern>,
}

/// The shortest needle for which a folded group is searched by the sampled filter instead of
/// the automaton. Such groups are hashes and long paths: the filter reads one 4-byte gram every
/// `shortest - 3` bytes and verifies its rare hits, where the automaton walks every byte
/// through thousands of states (a `Hashes` value: 20 ns against 300; benches/RESULTS.md,
/// stop 26). Shorter needles shrink the stride and the filter loses its lead.
const LONG_NEEDLES: usize = 12;

/// Needle texts of one column and case sensitivity, while grouping.
struct Draft<'a> {
    folded: bool,
    members: Vec<(FieldId, &'a [crate::Pattern])>,
    texts: HashSet<&'a str>,
}

/// Groups the scans of a table's columns. A column joins the first group of its case
/// sensitivity that shares at least half of the needles of the larger of the two (so a group
/// is never much bigger than what each member scanned alone); otherwise it starts one.
pub(crate) fn group(matchers: &[ColumnMatcher]) -> Vec<ScanGroup> {
    let mut drafts: Vec<Draft<'_>> = Vec::new();
    for m in matchers {
        for (folded, needles) in [(false, &m.cs), (true, &m.ci)] {
            let Some(needles) = needles else { continue };
            let texts: HashSet<&str> = needles.patterns.iter().map(|p| p.text.as_str()).collect();
            let joins = drafts.iter().position(|d| {
                let shared = texts.iter().filter(|t| d.texts.contains(*t)).count();
                d.folded == folded && shared * 2 >= texts.len().max(d.texts.len())
            });
            match joins {
                Some(i) => {
                    drafts[i].members.push((m.field, &needles.patterns));
                    drafts[i].texts.extend(texts);
                }
                None => drafts.push(Draft {
                    folded,
                    members: vec![(m.field, &needles.patterns)],
                    texts,
                }),
            }
        }
    }
    drafts.into_iter().filter_map(build).collect()
}

fn build(d: Draft<'_>) -> Option<ScanGroup> {
    let mut texts: Vec<&str> = Vec::new();
    let mut patterns: Vec<GroupPattern> = Vec::new();
    let mut at: HashMap<&str, usize> = HashMap::new();
    for (slot, (_, pats)) in d.members.iter().enumerate() {
        for p in pats.iter() {
            let i = *at.entry(p.text.as_str()).or_insert_with(|| {
                texts.push(p.text.as_str());
                patterns.push(GroupPattern {
                    first_term: p.first_term,
                    last_term: p.last_term,
                    uses: SmallVec::new(),
                });
                patterns.len() - 1
            });
            let uses = p.uses.iter().map(|&(a, place)| (slot as u32, a, place));
            patterns[i].uses.extend(uses);
        }
    }
    let shortest = texts.iter().map(|t| t.len()).min().unwrap_or(0);
    let long = (d.folded && shortest >= LONG_NEEDLES)
        .then(|| Literals::new(texts.iter().map(|t| t.as_bytes())));
    // A group the sampled filter searches needs no automaton. Otherwise no prefilter: a
    // column text is short (tens to hundreds of bytes), and over text made of the needles'
    // own bytes (hex digits of `Hashes` against hash needles, path letters against paths) the
    // prefilter stops at nearly every byte and hands back to the automaton, which cost more
    // than walking the automaton alone (Hashes: 1.9 µs a value against 0.3;
    // benches/RESULTS.md, stop 26).
    let ac = if long.is_some() {
        None
    } else {
        AhoCorasickBuilder::new()
            .match_kind(MatchKind::Standard)
            .prefilter(false)
            .build(&texts)
            .ok()
    };
    Some(ScanGroup {
        long,
        folded: d.folded,
        fields: d.members.iter().map(|(f, _)| *f).collect(),
        ac,
        texts: texts.iter().map(|t| t.to_string()).collect(),
        patterns,
    })
}

impl ScanGroup {
    /// Sets the atoms the row's member columns make true.
    pub(crate) fn run(&self, row: &Row, bits: &mut Bits, fold_buf: &mut String) {
        // Most groups of a table read columns the row does not have (a Sysmon row meets the
        // 160 groups of `WindowsEvent`, most for other channels): leave those at once.
        if self.fields.iter().all(|&f| row.is_blank(f)) {
            return;
        }
        if let [f] = self.fields[..] {
            let hay = self.hay(cell_text(row.get(f)), fold_buf);
            self.scan(hay, 0, &[0], bits);
            return;
        }
        let mut texts: SmallVec<[&str; 4]> = SmallVec::new();
        // Per slot, the first slot holding the same text: the one whose scan serves it.
        let mut owner: SmallVec<[u32; 4]> = SmallVec::new();
        for (slot, &f) in self.fields.iter().enumerate() {
            let t = cell_text(row.get(f));
            // An empty text is not scanned (below), so it needs no owner.
            let same = |&u: &&str| u.len() == t.len() && u == t;
            let first = (!t.is_empty())
                .then(|| texts.iter().position(same))
                .flatten();
            owner.push(first.unwrap_or(slot) as u32);
            texts.push(t);
        }
        for (slot, &text) in texts.iter().enumerate() {
            // No needle is empty (those atoms are decided without a scan): an empty text
            // holds none.
            if owner[slot] != slot as u32 || text.is_empty() {
                continue;
            }
            let hay = self.hay(text, fold_buf);
            self.scan(hay, slot as u32, &owner, bits);
        }
    }

    /// The text as the needles are written: folded for a folded group.
    fn hay<'a>(&self, text: &'a str, fold_buf: &'a mut String) -> &'a str {
        if self.folded {
            fold_buf.clear();
            kql::fold_into(text, fold_buf);
            fold_buf.as_str()
        } else {
            text
        }
    }

    fn scan(&self, hay: &str, slot: u32, owner: &[u32], bits: &mut Bits) {
        if let Some(long) = &self.long {
            // The filter compares ASCII case-insensitively; the hay and the needles are both
            // folded, so that is exact equality here. It may report an occurrence twice:
            // `found` only sets bits.
            long.each_match(hay.as_bytes(), |start, i| {
                let end = start + self.texts[i as usize].len();
                self.found(i as usize, hay, (start, end), slot, owner, bits);
                true
            });
            return;
        }
        match &self.ac {
            Some(ac) => {
                for m in ac.find_overlapping_iter(hay) {
                    self.found(
                        m.pattern().as_usize(),
                        hay,
                        (m.start(), m.end()),
                        slot,
                        owner,
                        bits,
                    );
                }
            }
            None => {
                for (i, text) in self.texts.iter().enumerate() {
                    // Every occurrence, overlapping ones too (as the automaton reports them).
                    let finder = memchr::memmem::Finder::new(text.as_bytes());
                    let mut from = 0;
                    while let Some(at) = finder.find(&hay.as_bytes()[from..]) {
                        let start = from + at;
                        self.found(i, hay, (start, start + text.len()), slot, owner, bits);
                        from = start + 1;
                    }
                }
            }
        }
    }

    /// Sets the atoms pattern `i`, found at `start..end` of `hay` (the text of `slot`),
    /// decides for the columns that text serves.
    fn found(
        &self,
        i: usize,
        hay: &str,
        (start, end): (usize, usize),
        slot: u32,
        owner: &[u32],
        bits: &mut Bits,
    ) {
        let p = &self.patterns[i];
        for &(s, atom, place) in &p.uses {
            if owner[s as usize] != slot || bits.get(atom.0 as usize) {
                continue;
            }
            let ok = match place {
                Placement::Anywhere => true,
                Placement::Prefix => start == 0,
                Placement::Suffix => end == hay.len(),
                Placement::Whole => start == 0 && end == hay.len(),
                Placement::Term(kind) => {
                    kql::strings::term_bounds_ok(hay, start, end, kind, p.first_term, p.last_term)
                }
            };
            if ok {
                bits.set(atom.0 as usize);
            }
        }
    }

    /// This group with each needle searched on its own (see [`crate::Plan::without_automata`]).
    pub(crate) fn without_automaton(&mut self) {
        self.ac = None;
        self.long = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compile::{compile, Sources};
    use crate::schema::Catalog;
    use crate::Plan;
    use std::fmt::Write as _;
    use std::sync::Arc;

    /// Each column and case sensitivity scanned on its own, as before grouping.
    fn alone(matchers: &[ColumnMatcher]) -> Vec<ScanGroup> {
        let mut drafts = Vec::new();
        for m in matchers {
            for (folded, needles) in [(false, &m.cs), (true, &m.ci)] {
                if let Some(n) = needles {
                    let members = vec![(m.field, n.patterns.as_slice())];
                    let texts = HashSet::new();
                    drafts.push(Draft {
                        folded,
                        members,
                        texts,
                    });
                }
            }
        }
        drafts.into_iter().filter_map(build).collect()
    }

    #[test]
    fn groups_set_the_atoms_of_column_by_column_scans() {
        let needles = [
            "mimikatz",
            "-enc",
            r"C:\\Windows",
            "Pow",
            "a b",
            "ß",
            "İx",
            "x.exe",
            "ab",
        ];
        let ops = [
            "has",
            "contains",
            "startswith",
            "endswith",
            "=~",
            "has_cs",
            "contains_cs",
            "hasprefix",
            "hassuffix",
        ];
        let columns = [
            "ProcessCommandLine",
            "InitiatingProcessCommandLine",
            "FolderPath",
        ];
        let mut src = String::new();
        for (i, n) in needles.iter().enumerate() {
            for (j, op) in ops.iter().enumerate() {
                // Twins read every needle; `FolderPath` only some, so groups differ in size.
                let mut cols = vec![columns[0], columns[1]];
                if (i + j) % 3 == 0 {
                    cols.push(columns[2]);
                }
                let wheres: Vec<String> = cols.iter().map(|c| format!("{c} {op} '{n}'")).collect();
                let _ = writeln!(
                    src,
                    "rule r{i}_{j} {{ id \"{i}-{j}\" from DeviceProcessEvents where {} }}",
                    wheres.join(" or ")
                );
            }
        }
        let mut sources = Sources::default();
        sources.add("r.scry", &src);
        let compiled = compile(&sources, Arc::new(Catalog::builtin()));
        let plan = Plan::new(compiled.rules);
        let tp = plan.table("DeviceProcessEvents").expect("table planned");
        let grouped = &tp.scans;
        let single = alone(&tp.matchers);
        assert!(grouped.len() < single.len(), "{} groups", grouped.len());
        let ids: Vec<FieldId> = columns
            .iter()
            .map(|c| plan.fields.get(c).unwrap())
            .collect();
        let pieces = [
            "",
            " ",
            "MimiKatz",
            "-ENC",
            r"c:\windows",
            "pow",
            "a b",
            "SS",
            "ẞ",
            "i̇x",
            "İX",
            "x.exe",
            "ab",
            "\\",
            ".",
            "zz",
        ];
        let mut next = crate::test_rng(0x2545_F491_4F6C_DD1D_u64);
        let (mut a, mut b) = (Bits::default(), Bits::default());
        let mut fold = String::new();
        let mut hits = 0;
        for _ in 0..3000 {
            let mut row = Row::new(&plan.fields);
            let mut texts: Vec<String> = Vec::new();
            for (k, &id) in ids.iter().enumerate() {
                let text = if k > 0 && next(2) == 0 {
                    texts[next(k)].clone()
                } else {
                    (0..next(4)).map(|_| pieces[next(pieces.len())]).collect()
                };
                if next(8) > 0 {
                    row.set_str(id, &text);
                }
                texts.push(text);
            }
            a.reset(tp.atoms);
            b.reset(tp.atoms);
            grouped.iter().for_each(|g| g.run(&row, &mut a, &mut fold));
            single.iter().for_each(|g| g.run(&row, &mut b, &mut fold));
            let (a, b): (Vec<usize>, Vec<usize>) = (a.ones().collect(), b.ones().collect());
            assert_eq!(a, b, "{texts:?}");
            hits += a.len();
        }
        assert!(hits > 3000, "{hits} atoms set");
    }

    /// A group of long needles is searched by the sampled filter (and has no automaton); it
    /// must set exactly the atoms that searching each needle on its own sets, for every
    /// placement, overlapping and repeated occurrences, folded case and non-ASCII text.
    #[test]
    fn long_needle_groups_set_the_atoms_of_needle_by_needle_search() {
        let needles = [
            "sha1=3898d190f9ebdacc",
            "3898d190f9ebdacc0cb1",
            "d190f9ebdacc0cb1e29c",
            "imphash=1a61dbe22e44158b",
            "a61dbe22e441",
            "ßüß-ẞ-0123456",
            "0123456789ab",
            "89ab89ab89ab",
        ];
        let ops = ["contains", "startswith", "endswith", "=~", "has"];
        let mut src = String::new();
        for (i, n) in needles.iter().enumerate() {
            for (j, op) in ops.iter().enumerate() {
                let _ = writeln!(
                    src,
                    "rule r{i}_{j} {{ id \"{i}-{j}\" from DeviceProcessEvents where SHA256 {op} '{n}' }}"
                );
            }
        }
        let mut sources = Sources::default();
        sources.add("r.scry", &src);
        let compiled = compile(&sources, Arc::new(Catalog::builtin()));
        assert!(!compiled.has_errors(), "{:?}", compiled.diagnostics);
        let plan = Plan::new(compiled.rules);
        let tp = plan.table("DeviceProcessEvents").expect("table planned");
        let filtered = &tp.scans;
        assert!(
            filtered.iter().any(|g| g.long.is_some()),
            "no sampled group"
        );
        let one_by_one: Vec<ScanGroup> = filtered
            .iter()
            .cloned()
            .map(|mut g| {
                g.long = None;
                g
            })
            .collect();
        let id = plan.fields.get("SHA256").unwrap();
        let pieces = [
            "SHA1=3898D190F9EBDACC",
            "0cb1e29c",
            "IMPHASH=1A61DBE22E44158B",
            "ẞÜẞ-ß-0123456",
            "789AB",
            "89ab",
            ",",
            "=",
            "İ",
            "0123456789ab89ab89ab",
            "d190",
        ];
        let mut next = crate::test_rng(0x5DEE_CE66_D1CE_4E5B);
        let (mut a, mut b) = (Bits::default(), Bits::default());
        let mut fold = String::new();
        let mut hits = 0;
        for _ in 0..5000 {
            let text: String = (0..next(6)).map(|_| pieces[next(pieces.len())]).collect();
            let mut row = Row::new(&plan.fields);
            row.set_str(id, &text);
            a.reset(tp.atoms);
            b.reset(tp.atoms);
            filtered.iter().for_each(|g| g.run(&row, &mut a, &mut fold));
            one_by_one
                .iter()
                .for_each(|g| g.run(&row, &mut b, &mut fold));
            let (a, b): (Vec<usize>, Vec<usize>) = (a.ones().collect(), b.ones().collect());
            assert_eq!(a, b, "{text:?}");
            hits += a.len();
        }
        assert!(hits > 5000, "{hits} atoms set");
    }
}
