//! The literals a regex needs: a set of strings one of which, case-folded, every text it
//! matches holds, case-folded.
//!
//! `CommandLine matches regex '(?i)\.exe[\"']?\s+[^\"]{0,64}werfaultsecure\.exe'` cannot match
//! a command line without `werfaultsecure.exe` in it. The planner adds that as a necessary
//! test beside the regex (`(CommandLine contains 'werfaultsecure.exe') and CommandLine matches
//! regex ...`, the same predicate, see [`crate::atoms::atomize`]): the `contains` becomes an
//! atom of the column's scan, the candidate index gets a clause for the rule, and a row
//! without the literal neither evaluates the rule nor runs the regex. Without it, each of
//! SigmaHQ's regex rules was evaluated for every row of its table.
//!
//! The analysis walks the regex's HIR in the case-folded world: a class whose members all
//! fold to a few characters (`[Ww]`, what `(?i)w` becomes) is those characters. Each node
//! gets the folded strings it matches exactly, when they are few, and a set it needs;
//! anything unknown gives no set, so the result is sound by construction (a regex with no
//! useful set is left as it was).

use crate::kql;
use regex_syntax::hir::{Class, Hir, HirKind};

/// Most strings kept in a set (more make poor triggers and big automata).
const MAX_SET: usize = 16;
/// Most members of a class looked at.
const MAX_CLASS: usize = 64;
/// The shortest literal worth a test: shorter ones are in most values.
const MIN_LEN: usize = 3;

/// What a node of the regex matches, case-folded.
#[derive(Debug, Clone, Default)]
struct Info {
    /// Every string the node can match, when they are few.
    exact: Option<Vec<String>>,
    /// Strings one of which every match holds.
    needs: Option<Vec<String>>,
}

/// The folded literals one of which every text `pattern` matches holds when folded, or `None`
/// when no useful set is known (or the pattern does not parse as the engine's regexes do).
pub(crate) fn needed(pattern: &str) -> Option<Vec<String>> {
    let hir = regex_syntax::ParserBuilder::new()
        .build()
        .parse(pattern)
        .ok()?;
    let set = best(info(&hir))?;
    // The atom folds its needle again: keep only strings folding leaves as they are.
    set.iter().all(|s| kql::fold(s) == *s).then_some(set)
}

fn info(h: &Hir) -> Info {
    match h.kind() {
        HirKind::Empty | HirKind::Look(_) => exact(vec![String::new()]),
        HirKind::Literal(lit) => match std::str::from_utf8(&lit.0) {
            Ok(s) => exact(vec![kql::fold(s)]),
            Err(_) => Info::default(),
        },
        HirKind::Class(Class::Unicode(c)) => {
            let mut chars: Vec<String> = Vec::new();
            let mut n = 0;
            for r in c.iter() {
                for ch in r.start()..=r.end() {
                    n += 1;
                    if n > MAX_CLASS {
                        return Info::default();
                    }
                    let f = kql::fold_char(ch).to_string();
                    if !chars.contains(&f) {
                        chars.push(f);
                    }
                }
            }
            if chars.is_empty() || chars.len() > 4 {
                return Info::default();
            }
            exact(chars)
        }
        HirKind::Class(Class::Bytes(_)) => Info::default(),
        HirKind::Capture(c) => info(&c.sub),
        HirKind::Repetition(r) => {
            let sub = info(&r.sub);
            match (r.min, r.max) {
                (0, Some(1)) => Info {
                    exact: sub.exact.map(|mut e| {
                        e.push(String::new());
                        e
                    }),
                    needs: None,
                },
                (0, _) => Info::default(),
                (1, Some(1)) => sub,
                (n, Some(m)) if n == m && n <= 8 => {
                    let mut e = Some(vec![String::new()]);
                    for _ in 0..n {
                        e = e.and_then(|e| Some(product(&e, sub.exact.as_ref()?)).flatten());
                    }
                    Info {
                        exact: e,
                        needs: best(sub),
                    }
                }
                _ => Info {
                    exact: None,
                    needs: best(sub),
                },
            }
        }
        HirKind::Concat(subs) => {
            let infos: Vec<Info> = subs.iter().map(info).collect();
            let mut candidates: Vec<Vec<String>> = Vec::new();
            // Each run of children matching known strings matches one of their products.
            let mut run: Option<Vec<String>> = None;
            let mut whole = Some(vec![String::new()]);
            for i in &infos {
                match &i.exact {
                    Some(e) => {
                        let next = match &run {
                            Some(r) => product(r, e),
                            None => Some(e.clone()),
                        };
                        if next.is_none() {
                            // Too many: keep the run so far, start again from this child.
                            candidates.extend(run.take().and_then(useful));
                        }
                        run = next.or_else(|| Some(e.clone()));
                        whole = whole.and_then(|w| product(&w, e));
                    }
                    None => {
                        candidates.extend(run.take().and_then(useful));
                        whole = None;
                    }
                }
                candidates.extend(best(i.clone()));
            }
            candidates.extend(run.and_then(useful));
            Info {
                exact: whole,
                needs: candidates.into_iter().max_by_key(|c| score(c)),
            }
        }
        HirKind::Alternation(subs) => {
            let infos: Vec<Info> = subs.iter().map(info).collect();
            let exact = (infos.iter())
                .map(|i| i.exact.clone())
                .collect::<Option<Vec<_>>>()
                .map(|v| dedup(v.concat()))
                .filter(|e| e.len() <= MAX_SET * 4);
            let needs = (infos.into_iter())
                .map(best)
                .collect::<Option<Vec<_>>>()
                .and_then(|v| useful(v.concat()));
            Info { exact, needs }
        }
    }
}

fn exact(v: Vec<String>) -> Info {
    Info {
        exact: Some(v),
        needs: None,
    }
}

/// The better of a node's sets: what it needs, or what it matches exactly.
fn best(i: Info) -> Option<Vec<String>> {
    [i.needs, i.exact.and_then(useful)]
        .into_iter()
        .flatten()
        .max_by_key(|s| score(s))
}

/// `set` when it is worth a test: not too many strings, none shorter than [`MIN_LEN`].
fn useful(set: Vec<String>) -> Option<Vec<String>> {
    let set = minimal(dedup(set));
    let ok = set.len() <= MAX_SET && set.iter().all(|x| x.chars().count() >= MIN_LEN);
    ok.then_some(set)
}

/// Longer shortest strings first, then fewer strings.
fn score(s: &[String]) -> (usize, std::cmp::Reverse<usize>) {
    let shortest = s.iter().map(|x| x.chars().count()).min().unwrap_or(0);
    (shortest, std::cmp::Reverse(s.len()))
}

fn product(a: &[String], b: &[String]) -> Option<Vec<String>> {
    if a.len() * b.len() > MAX_SET * 4 {
        return None;
    }
    Some(dedup(
        a.iter()
            .flat_map(|x| b.iter().map(move |y| format!("{x}{y}")))
            .collect(),
    ))
}

fn dedup(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v.dedup();
    v
}

/// A needed set without any string that holds another: a text holding it holds the other,
/// so the set needs the same. (Not for exact sets: `abcd?` matches `abcd` too.)
fn minimal(v: Vec<String>) -> Vec<String> {
    let keep: Vec<bool> = (v.iter())
        .map(|x| !v.iter().any(|y| y != x && x.contains(y.as_str())))
        .collect();
    v.into_iter()
        .zip(keep)
        .filter_map(|(x, k)| k.then_some(x))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn needed_literals() {
        let v = |xs: &[&str]| Some(xs.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        assert_eq!(
            needed(r#"(?i)\.exe[\"\']?\s+[^\"]{0,64}werfaultsecure\.exe[\"\']?\s+\d{2,10}"#),
            v(&["werfaultsecure.exe"])
        );
        assert_eq!(needed("Abc(d|e)f"), v(&["abcdf", "abcef"]));
        assert_eq!(needed("(?i)(foo|barbaz)x*"), v(&["barbaz", "foo"]));
        assert_eq!(needed(r"\\[a-z]+\.dll"), v(&[".dll"]));
        // Nothing long enough is needed: no set.
        assert_eq!(needed(r"\d+\.\d+"), None);
        assert_eq!(needed("(abc)?def?"), None);
        assert_eq!(needed("abc|.*"), None);
        assert_eq!(needed("(?i)^ab"), None);
    }

    /// Every needed literal is in every text the regex matches (case-folded), over texts
    /// built from the regexes' own pieces.
    #[test]
    fn every_match_holds_a_needed_literal() {
        // Each regex with the pieces its texts are built from (its own parts, other cases,
        // near misses).
        let cases: [(&str, &[&str]); 8] = [
            (
                r"(?i)pow(er)?shell\s+-e(nc)?",
                &[
                    "pow", "POWER", "er", "shell", "SHELL", " ", "-e", "-ENC", "nc", "x",
                ],
            ),
            (r"abc(d|E)f", &["abc", "ABC", "d", "E", "e", "f", "F", "x"]),
            (
                r"(?i)[a-c]{2}xyz",
                &["a", "B", "c", "d", "xyz", "XYZ", "xy", "z"],
            ),
            (
                r"(?i)KELVIN",
                &["kelvin", "\u{212A}elvin", "KEL", "vin", "k", "\u{212A}"],
            ),
            (r"(foo|bar)+baz", &["foo", "bar", "baz", "ba", "z", "fo"]),
            (r"\bmimi(katz)?\b", &["mimi", "katz", "kat", " ", "x", "-"]),
            (r"a{3}bc", &["a", "aa", "b", "c", "bc", "A"]),
            (r"abcd?x", &["abc", "d", "x", "ab", "cd", "X"]),
        ];
        let mut next = crate::test_rng(0x1234_5678_9ABC_DEF1_u64);
        let mut matched = 0;
        for (p, pieces) in cases {
            let set = needed(p).unwrap_or_else(|| panic!("{p} has a set"));
            let re = regex::Regex::new(p).unwrap();
            for _ in 0..3000 {
                let text: String = (0..next(6)).map(|_| pieces[next(pieces.len())]).collect();
                if re.is_match(&text) {
                    matched += 1;
                    let folded = kql::fold(&text);
                    assert!(
                        set.iter().any(|s| folded.contains(s.as_str())),
                        "{p} matches {text:?} without any of {set:?}"
                    );
                }
            }
        }
        assert!(matched > 1000, "{matched} matches");
    }
}
