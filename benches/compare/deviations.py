"""Known ways duckdb-kql 1.1.2 departs from the matching contract, and how to spot the events
they can touch.

Every class has a minimal reproducer (run by `deviations.py` itself: duckdb-kql's answer
next to the contract's and scry's) and the conformance case or contract clause that settles
it. `flag_events` marks the events a class can affect, so the harness can compare scry with
duckdb-kql on the *faithful subset* (events no known deviation touches) and list the rest
separately.

    .venv/bin/python deviations.py [--scry BINARY]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from dataclasses import dataclass
from datetime import datetime, timezone

import duckdb_kql

import kqlshape


@dataclass
class Deviation:
    id: str
    title: str
    cause: str
    reproducer: str  # a KQL expression for `print r = ...`
    contract: object  # what the contract says the reproducer gives
    arbiter: str  # conformance case ids / contract clause


DEVIATIONS = [
    Deviation(
        id="D1",
        title="case-insensitive non-term operators lower-case instead of case-folding",
        cause="`=~`, `!~`, `contains`, `startswith`, `endswith`, `in~` are translated to "
        "comparisons of DuckDB `lower()` values. `lower()` is Unicode lower-casing, not "
        "simple case folding: the long s U+017F and final sigma U+03C2 stay as they are "
        "(their folds are s and σ), and U+0130 İ becomes i. `has` (RE2 `(?i)`) folds "
        "correctly, so the two families disagree with each other.",
        reproducer="'\u017fplashtop' =~ 'SPLASHTOP'",
        contract=True,
        arbiter="spec §3 case folding (simple, one code point to one); kql-220 "
        "('İstanbul' =~ 'istanbul' is false; duckdb-kql: true)",
    ),
    Deviation(
        id="D2",
        title="has_any over a tabular set is pre-filtered with lower()-based contains",
        cause="`x has_any ((T | distinct C))` renders as EXISTS(... WHERE contains(lower(x), "
        "lower(needle)) AND <term regex>); the prefilter is meant to be implied by the term "
        "match, but lower() is not case folding, so a value that folds to the needle without "
        "lower-casing to it (U+017F ſ for s, U+212A K for k keeps working since lower(K)=k) "
        "is dropped, although the same needle as a literal matches. Only the all-tools rule "
        "(`RemoteUrl has_any ((rmm_networkSet | distinct URI))`) has this shape.",
        reproducer="toscalar(print s='\u017fplashtop.com' | where s has_any ((datatable(U:string)"
        "['splashtop.com'] | distinct U)) | count) == 1",
        contract=True,
        arbiter="spec §2 (`has_any` is `has` for any element; sets produced by another query "
        "included) and §3 case folding; '\u017fplashtop.com' has 'splashtop.com' is true in "
        "duckdb-kql itself",
    ),
]

# Characters on which DuckDB's lower() and Unicode simple case folding disagree are what
# D1/D2 need; found per data set by asking DuckDB (see `fold_divergent`).


def simple_fold(c: str) -> str | None:
    """Unicode simple case folding of one code point, or None when Python cannot tell
    (its casefold() is full folding: a multi-character result hides the simple one)."""
    f = c.casefold()
    return f if len(f) == 1 else None


def fold_divergent(chars, con=None) -> set[str]:
    """The characters of `chars` whose DuckDB lower() differs from their simple case fold
    (or whose simple fold Python cannot tell), i.e. those D1/D2 can misjudge."""
    import duckdb

    con = con or duckdb.connect()
    out = set()
    for c in sorted(set(chars)):
        if c.isascii():
            continue
        lowered = con.execute("SELECT lower(?)", [c]).fetchone()[0]
        folded = simple_fold(c)
        if folded is None or lowered != folded or simple_fold(lowered) != folded:
            out.add(c)
    return out


LOWER_OPS = {"=~", "!~", "contains", "!contains", "startswith", "!startswith", "endswith",
             "!endswith", "in~", "!in~"}


def exposure(shape) -> set[str]:
    """The deviation classes a query's operators can run into (kqlshape.Shape)."""
    out = set()
    queries = [shape.main] + [q for q in shape.lets.values() if hasattr(q, "where")]
    for q in queries:
        for leaf in shape.leaves(kqlshape.Node("and", q.where)):
            if leaf.op in LOWER_OPS:
                out.add("D1")
            if leaf.op in ("has_any", "has_all") and leaf.subquery and leaf.subquery_column:
                out.add("D2")
    return out


def flag_events(rows, con=None) -> list[set[str]]:
    """For each row (a dict), the set of deviation ids that could change its outcome."""
    chars = set()
    for row in rows:
        for v in row.values():
            if isinstance(v, str):
                chars.update(v)
    bad = fold_divergent(chars, con)
    flags = []
    for row in rows:
        f = set()
        for v in row.values():
            if isinstance(v, str) and bad.intersection(v):
                f.update(("D1", "D2"))
                break
        flags.append(f)
    return flags


def run_reproducers(scry: str | None = None):
    con = duckdb_kql.connect()
    now = datetime(2024, 5, 15, 12, tzinfo=timezone.utc)
    results = []
    for d in DEVIATIONS:
        duck = duckdb_kql.query(con, f"print r = {d.reproducer}", query_now=now).fetchall()[0][0]
        scry_value = None
        if scry and "toscalar" not in d.reproducer:
            p = subprocess.run([scry, "eval", d.reproducer], capture_output=True, text=True)
            scry_value = json.loads(p.stdout) if p.returncode == 0 else p.stderr.strip()
        results.append((d, duck, scry_value))
    return results


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scry", help="scry binary, to print its answer too")
    args = ap.parse_args(argv)
    for d, duck, scry_value in run_reproducers(args.scry):
        print(f"{d.id}: {d.title}\n  print r = {d.reproducer}\n  duckdb-kql: {duck}; "
              f"contract: {d.contract}" + (f"; scry eval: {scry_value}" if scry_value is not None else "")
              + f"\n  arbiter: {d.arbiter}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
