//! Which rules of a table a row can pass, read off the atoms its column scans set.
//!
//! Most rules need literals: `Image endswith '\\certutil.exe' and CommandLine has 'decode'`
//! cannot be true unless both atoms are. Each body gets clauses over atoms, every one of which
//! must hold for its `where` steps to (a clause holds when one of its atoms is set). They are
//! derived as the prefilter derives a line's anchors, but over atoms, which are exact: an
//! atom's bit is its value. A row then evaluates only the bodies triggered by an atom of their
//! first clause whose other clauses also hold, plus the bodies without clauses. With 1,600
//! `process_creation` rules a row evaluates the few whose literals it holds, not all of them;
//! the verdicts are the same because a body not evaluated could not have passed.

use crate::compile::{Rule, Step};
use crate::ir::{AtomId, Expr, ExprKind};
use crate::{Bits, TablePlan};

/// Most clauses kept per body: the trigger and the cheapest checks after it.
const MAX_CLAUSES: usize = 6;

/// A disjunction of atoms.
type Clause = Vec<AtomId>;

/// The index of one table: the bodies to evaluate for a row, from the atoms it set.
#[derive(Debug, Clone, Default)]
pub struct Candidates {
    /// Positions in [`TablePlan::rules`] evaluated for every row: no atom is necessary for
    /// them (a range, a negation, a regex, a computed value), or their rule tests `distinct`
    /// sets (whose first pass evaluates a relaxed form).
    always: Vec<u32>,
    /// Per atom, the positions of the bodies whose first clause holds it.
    by_atom: Vec<Vec<u32>>,
    /// Per position, the body's other clauses (tested once it is triggered).
    checks: Vec<Vec<Clause>>,
}

impl Candidates {
    /// Indexes the bodies of `tp` (`rules` is the plan's rule list, atoms in place).
    pub(crate) fn new(tp: &TablePlan, rules: &[Rule]) -> Candidates {
        let wheres = |ri: usize, bi: usize| {
            rules[ri].bodies[bi].steps.iter().filter_map(|s| match s {
                Step::Where(p) => Some(p),
                Step::Extend(..) => None,
            })
        };
        // How many bodies test each atom: an atom many rules share (`Channel =~ 'Microsoft-
        // Windows-Sysmon/Operational'`, `Image endswith '\\powershell.exe'`) is a common value
        // or a structural test, a poor trigger however long its needle.
        let mut shared = vec![0u32; tp.atoms];
        for &(ri, bi) in &tp.rules {
            let mut seen = Vec::new();
            for p in wheres(ri, bi) {
                p.walk(&mut |n| {
                    if let ExprKind::Atom(a) = n.kind {
                        seen.push(a.0 as usize);
                    }
                });
            }
            seen.sort_unstable();
            seen.dedup();
            seen.into_iter().for_each(|a| shared[a] += 1);
        }
        let cost = |c: &Clause| -> f64 {
            c.iter()
                .map(|a| {
                    // A number atom counts as a short needle.
                    let len = tp.atom_needles.get(a.0 as usize).map_or(3, |n| n.2.len()) as f64;
                    f64::from(shared[a.0 as usize]) + 1.0 / (1.0 + len * len)
                })
                .sum()
        };
        let mut out = Candidates {
            always: Vec::new(),
            by_atom: vec![Vec::new(); tp.atoms],
            checks: vec![Vec::new(); tp.rules.len()],
        };
        for (slot, &(ri, bi)) in tp.rules.iter().enumerate() {
            let mut clauses = if rules[ri].bodies[bi].relaxed.is_some() {
                Vec::new()
            } else {
                wheres(ri, bi).flat_map(|p| cnf(p, &cost)).collect()
            };
            clauses.sort_by(|a, b| cost(a).total_cmp(&cost(b)));
            clauses.dedup();
            clauses.truncate(MAX_CLAUSES);
            let mut clauses = clauses.into_iter();
            let Some(trigger) = clauses.next() else {
                out.always.push(slot as u32);
                continue;
            };
            for a in trigger {
                out.by_atom[a.0 as usize].push(slot as u32);
            }
            out.checks[slot] = clauses.collect();
        }
        out
    }

    /// How many bodies are evaluated for every row.
    pub fn always(&self) -> usize {
        self.always.len()
    }

    /// The positions in [`TablePlan::rules`] a row whose atoms are `bits` can pass, in
    /// ascending order (rule order), into `out`.
    pub fn select(&self, bits: &Bits, scratch: &mut Scratch, out: &mut Vec<u32>) {
        out.clear();
        out.extend_from_slice(&self.always);
        let from_atoms = out.len();
        let stamp = scratch.next(self.checks.len());
        for atom in bits.ones() {
            for &slot in self.by_atom.get(atom).map_or(&[][..], Vec::as_slice) {
                let seen = &mut scratch.seen[slot as usize];
                if *seen == stamp {
                    continue;
                }
                *seen = stamp;
                let holds = self.checks[slot as usize]
                    .iter()
                    .all(|c| c.iter().any(|a| bits.get(a.0 as usize)));
                if holds {
                    out.push(slot);
                }
            }
        }
        if out.len() > from_atoms {
            out.sort_unstable();
        }
    }
}

/// Which bodies one row has already triggered, kept between rows: a body is seen when its
/// mark equals the row's stamp, so nothing is cleared per row.
#[derive(Debug, Clone, Default)]
pub struct Scratch {
    stamp: u32,
    seen: Vec<u32>,
}

impl Scratch {
    fn next(&mut self, bodies: usize) -> u32 {
        if self.seen.len() < bodies {
            self.seen.resize(bodies, 0);
        }
        self.stamp = self.stamp.wrapping_add(1);
        if self.stamp == 0 {
            // Wrapped: old marks could equal new stamps.
            self.seen.iter_mut().for_each(|m| *m = 0);
            self.stamp = 1;
        }
        self.stamp
    }
}

/// Clauses over atoms that all hold when `e` is true: an atom is its own clause, `and` joins
/// its parts' clauses, `or` makes one clause of each part's cheapest clause (none when a part
/// has none). Anything else (a negation, a comparison, a regex) gives no clause: it may hold
/// with every atom clear.
fn cnf(e: &Expr, cost: &impl Fn(&Clause) -> f64) -> Vec<Clause> {
    match &e.kind {
        ExprKind::Atom(id) => vec![vec![*id]],
        ExprKind::And(v) => v.iter().flat_map(|x| cnf(x, cost)).collect(),
        ExprKind::Or(v) => {
            let mut all = Vec::new();
            for x in v {
                let best = cnf(x, cost)
                    .into_iter()
                    .min_by(|a, b| cost(a).total_cmp(&cost(b)));
                match best {
                    Some(c) => all.extend(c),
                    None => return Vec::new(),
                }
            }
            all.sort_unstable();
            all.dedup();
            vec![all]
        }
        _ => Vec::new(),
    }
}
