#!/usr/bin/env python3
"""Differential check: the upstream KQL (through duckdb-kql) against scry's packs, group by
group, over the same generated events.

For every upstream rule in --corpus whose `id` is a rule id in --packs (or is mapped with
--map), runs the original query (with only the documented text fixes of kqlsrc.FIXES) in
duckdb-kql with now() pinned, runs scry with the packs' exclusions cut out, and compares the
result rows: keys, Count, FirstSeen, LastSeen (to the tick) and Report (as a set).

It does so twice: over all events, and over the *faithful subset* (the events no known
duckdb-kql deviation of deviations.py can touch). Disagreements over all events are listed
with the generator's labels of the events behind them and the deviations those events hit.

    ./benches/compare/kql_diff.py --packs rules/rmm --corpus tests/data/rmm-kql

(with benches/compare/.venv from setup.sh; the script re-executes itself with it).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
VENV_PY = HERE / ".venv" / "bin" / "python"
if Path(sys.prefix).resolve() != (HERE / ".venv").resolve() and VENV_PY.exists() and not os.environ.get("KQL_DIFF_NO_REEXEC"):
    os.execv(str(VENV_PY), [str(VENV_PY), __file__, *sys.argv[1:]])

try:
    import duckdb_kql  # noqa: F401
except ImportError:
    sys.exit("kql_diff: duckdb-kql is not installed; run benches/compare/setup.sh first")

import argparse  # noqa: E402
import json  # noqa: E402
import time  # noqa: E402

import deviations  # noqa: E402
import duck  # noqa: E402
import events  # noqa: E402
import gen_events  # noqa: E402
import kqlshape  # noqa: E402
import kqlsrc  # noqa: E402
import scryrun  # noqa: E402

REPO = HERE.parent.parent
AGGREGATE_SETS = {"Report"}  # make_set outputs: compared as sets


def default_scry() -> Path:
    target = os.environ.get("CARGO_TARGET_DIR") or str(REPO / "target")
    return Path(target) / "release" / "scry"


# --- normalisation -----------------------------------------------------------------------------
def norm_kql(names, types, row):
    out = {}
    for n, t, v in zip(names, types, row):
        if t == "JSON" and isinstance(v, str):
            v = json.loads(v)
        out[n] = v
    return out


def norm_scry(row: dict, names) -> dict:
    out = {}
    for n in names:
        v = row.get(n, "<absent>")
        if isinstance(v, str) and n in ("FirstSeen", "LastSeen"):
            v = events.parse_datetime_ticks(v)
        out[n] = v
    return out


def canon(name, v):
    """A hashable, comparable form of one output value."""
    if isinstance(v, list):
        items = [json.dumps(x, sort_keys=True, ensure_ascii=False) for x in v]
        return frozenset(items) if name in AGGREGATE_SETS else tuple(items)
    return v


def show(name, v):
    if name in ("FirstSeen", "LastSeen") and isinstance(v, int):
        return events.format_ticks(v)
    if isinstance(v, frozenset):
        return "{" + ", ".join(sorted(v)) + "}"
    return v


def compare(keys, names, kql_rows, scry_rows):
    """Group-by-group comparison; returns (summary dict, list of differences)."""
    kql = {tuple(r[k] for k in keys): r for r in kql_rows}
    scry = {tuple(r.get(k) for k in keys): r for r in scry_rows}
    diffs = []
    agree = 0
    for key in sorted(set(kql) | set(scry), key=lambda k: json.dumps(k, ensure_ascii=False)):
        a, b = kql.get(key), scry.get(key)
        if a is None or b is None:
            diffs.append(dict(key=key, kind="kql-only" if b is None else "scry-only",
                              kql=a, scry=b, fields=[]))
            continue
        fields = [n for n in names if canon(n, a[n]) != canon(n, b[n])]
        if fields:
            diffs.append(dict(key=key, kind="differs", kql=a, scry=b, fields=fields))
        else:
            agree += 1
    return dict(kql=len(kql), scry=len(scry), agree=agree, differ=len(diffs)), diffs


# --- one data set ------------------------------------------------------------------------------
def run_dataset(label, path, pairs, schema, scry, now, log):
    t0 = time.time()
    engine = duck.DuckKql(schema)
    loaded = engine.load([path])
    t1 = time.time()
    scry_rows, scry_summary = scry.run([path], now)
    t2 = time.time()
    now_ticks = events.parse_datetime_ticks(now)
    results = []
    for rule, scry_id, shape in pairs:
        try:
            names, types, rows = engine.query(rule.fixed, now_ticks)
        except Exception as e:  # the engine could not run the query: report, go on
            results.append(dict(rule=rule, scry_id=scry_id, error=f"{type(e).__name__}: {e}"))
            continue
        keys = shape.main.summarize_by or names[:1]
        kql_rows = [norm_kql(names, types, r) for r in rows]
        srows = [norm_scry(r, names) for r in scry_rows.get(scry_id, [])]
        summary, diffs = compare(keys, names, kql_rows, srows)
        results.append(dict(rule=rule, scry_id=scry_id, keys=keys, names=names,
                            exposure=deviations.exposure(shape),
                            summary=summary, diffs=diffs, kql_rows=kql_rows, scry_rows=srows))
    t3 = time.time()
    log(f"[{label}] {sum(loaded.values())} rows loaded into duckdb-kql in {t1 - t0:.1f}s; "
        f"scry {t2 - t1:.1f}s; {len(pairs)} KQL queries {t3 - t2:.1f}s")
    return results, scry_summary


def run_kql_only(path, corpus, schema, now):
    """[(rule, error or None, result rows)] for every upstream query."""
    engine = duck.DuckKql(schema)
    engine.load([path])
    out = []
    for rule in corpus:
        try:
            _, _, rows = engine.query(rule.fixed, events.parse_datetime_ticks(now))
            out.append((rule, None, len(rows)))
        except Exception as e:
            out.append((rule, f"{type(e).__name__}: {str(e).splitlines()[0][:300]}", 0))
    return out


# --- attribution -------------------------------------------------------------------------------
def trace_file(raw_rows, path: Path) -> Path:
    """The same events with ReportId := line number, so every event is traceable through
    the Report sets (the main run keeps the generator's duplicate and missing ReportIds,
    which test make_set but hide which event is which)."""
    with open(path, "w", encoding="utf-8") as f:
        for i, row in enumerate(raw_rows, 1):
            f.write(json.dumps(dict(row, ReportId=i), ensure_ascii=False) + "\n")
    return path


def attribute(rule_result, diff, trace_results, line_info):
    """The events behind one difference, from the trace run: those in one side's Report and
    not in the other's, or all of the group's events when only other values differ."""
    tr = next((t for t in trace_results if t["scry_id"] == rule_result["scry_id"]), None)
    if tr is None or "error" in tr:
        return []
    keys = rule_result["keys"]
    pick = lambda rows: next((r for r in rows if tuple(r.get(k) for k in keys) == diff["key"]), None)  # noqa: E731
    a, b = pick(tr["kql_rows"]), pick(tr["scry_rows"])
    sa = set((a or {}).get("Report") or [])
    sb = set((b or {}).get("Report") or [])
    lines = (sa ^ sb) or (sa | sb)
    found = [dict(line_info[n - 1]) for n in sorted(lines) if 0 < n <= len(line_info)]
    if sb < sa:  # scry saw a subset of the group's events: what an exclusion does
        for f in found:
            f["scry_dropped"] = True
    return found


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--packs", action="append", type=Path, help="scry rule files or folders (default rules/rmm)")
    ap.add_argument("--corpus", type=Path, default=Path(__file__).resolve().parent.parent.parent / "tests" / "data" / "rmm-kql")
    ap.add_argument("--map", type=Path, help="JSON {upstream id or file name: scry rule id} for ids that differ")
    ap.add_argument("--events", type=Path, action="append",
                    help="use these JSON-lines files (flat rows, streaming-API records or Event Hub "
                    "messages) instead of generated events; repeatable")
    ap.add_argument("--table", help="table of --events rows that do not name one")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--noise", type=int, default=5000)
    ap.add_argument("--repeat", type=int, default=3, help="generated rows per needle variant")
    ap.add_argument("--all-kql", action="store_true",
                    help="also run every upstream query in duckdb-kql, with or without a scry rule")
    ap.add_argument("--now", default=gen_events.NOW)
    ap.add_argument("--scry", type=Path, default=None, help="scry binary (default $CARGO_TARGET_DIR/release/scry)")
    ap.add_argument("--keep-exclusions", action="store_true", help="run the packs with their except clauses")
    ap.add_argument("--out", type=Path, default=HERE / "out", help="work folder (default benches/compare/out)")
    ap.add_argument("--max-listed", type=int, default=40, help="differences listed per rule")
    args = ap.parse_args(argv)

    packs = args.packs or [REPO / "rules" / "rmm"]
    scry_bin = args.scry or default_scry()
    if not scry_bin.exists():
        sys.exit(f"kql_diff: no scry binary at {scry_bin} (cargo build --release, or --scry)")
    args.out.mkdir(parents=True, exist_ok=True)
    log = lambda s: print(s, file=sys.stderr, flush=True)  # noqa: E731

    corpus = kqlsrc.load_corpus(args.corpus)
    ids = scryrun.rule_ids(packs)
    mapping = json.loads(args.map.read_text()) if args.map else {}
    pairs, missing = [], []
    for rule in corpus:
        scry_id = mapping.get(rule.id) or mapping.get(rule.path.name) or rule.id
        if scry_id in ids:
            pairs.append((rule, scry_id, kqlshape.parse(rule.fixed)))
        else:
            missing.append(rule)
    if not pairs:
        sys.exit("kql_diff: no upstream rule has a scry rule in the packs")

    # Events: generated for every rule of the corpus (the other rules' rows are noise here).
    manifest = None
    if args.events:
        # Flattened (streaming-API and Event Hub shapes too) into rows with a Type column,
        # so that the subset and trace files can be derived line by line.
        data = args.out / "events.jsonl"
        with open(data, "w", encoding="utf-8") as f:
            for path in args.events:
                with open(path, encoding="utf-8") as src:
                    for line in src:
                        if line.strip():
                            for t, row in events._records(json.loads(line)):
                                row = dict(row, Type=args.table or t or row.get("Type"))
                                f.write(json.dumps(row, ensure_ascii=False) + "\n")
        log(f"read {', '.join(map(str, args.events))} -> {data}")
    else:
        data = args.out / "events.jsonl"
        g = gen_events.generate(corpus, args.seed, args.noise, args.now, args.repeat)
        manifest = g.write(data)
        log(f"generated {len(g.rows)} rows (seed {args.seed}) -> {data}")

    # The faithful subset: rows no known deviation can touch.
    raw_lines = data.read_text(encoding="utf-8").splitlines()
    raw_rows = [json.loads(l) for l in raw_lines if l.strip()]
    flags = deviations.flag_events(raw_rows)
    faithful = args.out / "events.faithful.jsonl"
    faithful.write_text("".join(l + "\n" for l, f in zip(raw_lines, flags) if not f), encoding="utf-8")
    n_flagged = sum(1 for f in flags if f)

    labels = []
    if manifest and manifest.exists():
        labels = [json.loads(l) for l in manifest.read_text(encoding="utf-8").splitlines()]
    line_info = []
    for i in range(len(raw_rows)):
        info = dict(labels[i]) if i < len(labels) else {}
        info.update(line=i + 1, deviations=sorted(flags[i]))
        line_info.append(info)

    schema = events.load_schema(REPO / "engine" / "schemas" / "defender.json")
    scry = scryrun.Scry(scry_bin, packs, keep_exclusions=args.keep_exclusions)
    try:
        full, full_summary = run_dataset("all events", data, pairs, schema, scry, args.now, log)
        sub, _ = run_dataset("faithful subset", faithful, pairs, schema, scry, args.now, log)
        tpath = trace_file(raw_rows, args.out / "events.trace.jsonl")
        trace, _ = run_dataset("trace (ReportId = line)", tpath, pairs, schema, scry, args.now, log)
    finally:
        scry.close()

    if args.all_kql:
        all_kql = run_kql_only(data, corpus, schema, args.now)
    # --- report --------------------------------------------------------------------------
    out = []
    p = out.append
    p(f"duckdb-kql {duck.versions()['duckdb-kql']} (duckdb {duck.versions()['duckdb']}) vs {scry.version()}")
    p(f"events: {len(raw_rows)} rows in {data} ({n_flagged} touched by a known deviation: "
      f"faithful subset {len(raw_rows) - n_flagged}); now() = {args.now}; "
      f"exclusions {'kept' if args.keep_exclusions else 'removed (' + str(sum(scry.removed.values())) + ' clauses)'}")
    paired = {sid for _, sid, _ in pairs}
    orphans = sorted(set(ids) - paired)
    p(f"rules compared: {len(pairs)} of {len(corpus)} upstream ({len(missing)} without a scry rule yet)"
      + (f"; scry rules with no upstream counterpart: {', '.join(orphans)}" if orphans else ""))
    p("")
    p("| upstream rule | fixes | exposed to | groups KQL | groups scry | agree | differ | faithful subset: KQL / scry / agree / differ |")
    p("|---|---|---|---|---|---|---|---|")
    totals = dict(kql=0, scry=0, agree=0, differ=0, skql=0, sscry=0, sagree=0, sdiffer=0, errors=0)
    for r, s in zip(full, sub):
        name = r["rule"].path.name
        if "error" in r or "error" in s:
            totals["errors"] += 1
            p(f"| {name} | {', '.join(r['rule'].applied) or '-'} | | error: {r.get('error') or s.get('error')} | | | | |")
            continue
        a, b = r["summary"], s["summary"]
        for k in ("kql", "scry", "agree", "differ"):
            totals[k] += a[k]
            totals["s" + k] += b[k]
        p(f"| {name} | {', '.join(r['rule'].applied) or '-'} | {', '.join(sorted(r['exposure'])) or '-'} | "
          f"{a['kql']} | {a['scry']} | {a['agree']} | "
          f"{a['differ']} | {b['kql']} / {b['scry']} / {b['agree']} / {b['differ']} |")
    t = totals
    p(f"| **total** | | | {t['kql']} | {t['scry']} | {t['agree']} | {t['differ']} | "
      f"{t['skql']} / {t['sscry']} / {t['sagree']} / {t['sdiffer']} |")
    p("")

    explained = unexplained = 0
    behind_all = set()
    for r in full:
        if "error" in r or not r["diffs"]:
            continue
        attributed = []
        for d in r["diffs"]:
            found = attribute(r, d, trace, line_info)
            if args.keep_exclusions:  # then scry dropping events is expected
                for f in found:
                    if f.get("scry_dropped"):
                        f["deviations"] = sorted(set(f.get("deviations", [])) | {"exclusion"})
            exposure = r["exposure"] | ({"exclusion"} if args.keep_exclusions else set())
            known = bool(found) and all(set(f.get("deviations", [])) & exposure for f in found)
            attributed.append((d, found, known))
            explained += known
            unexplained += not known
            behind_all.update(f["line"] for f in found)
        r["attributed"] = attributed
        lines = {f["line"]: f for _, found, _ in attributed for f in found}
        by_dev, by_variant = {}, {}
        for f in lines.values():
            k = "/".join(f.get("deviations") or []) or "none"
            by_dev[k] = by_dev.get(k, 0) + 1
            by_variant[f.get("variant", "?")] = by_variant.get(f.get("variant", "?"), 0) + 1
        n_known = sum(1 for _, _, k in attributed if k)
        p(f"## {r['rule'].path.name}: {len(r['diffs'])} group(s) differ over all events "
          f"(its operators are exposed to: {', '.join(sorted(r['exposure'])) or 'no known deviation'})")
        p(f"{n_known} explained by known deviations; the {len(lines)} event(s) behind them: "
          + ", ".join(f"{v} touch {k}" for k, v in sorted(by_dev.items()))
          + "; generator variants: " + ", ".join(f"{k} {v}" for k, v in sorted(by_variant.items())))
        # Unexplained differences first: they are the ones to read.
        attributed.sort(key=lambda x: x[2])
        for d, found, known in attributed[: args.max_listed]:
            devs = sorted({x for f in found for x in f.get("deviations", [])})
            key = ", ".join(f"{k}={v!r}" for k, v in zip(r["keys"], d["key"]))
            p(f"- [{d['kind']}] {key}")
            for n in d["fields"]:
                p(f"    {n}: KQL {show(n, canon(n, d['kql'][n]))}  scry {show(n, canon(n, d['scry'][n]))}")
            for f in found[:6]:
                p(f"    event line {f.get('line')}: {f.get('rule', '')} {f.get('leaf', '')} "
                  f"needle={f.get('needle', '')!r} variant={f.get('variant', '')} deviations={f.get('deviations')}")
            p(f"    -> {'known deviation ' + '/'.join(devs) if known else 'NOT explained by a known deviation'}")
        if len(attributed) > args.max_listed:
            p(f"  ... {len(attributed) - args.max_listed} more (all in {args.out / 'report.json'})")
        p("")
    # What each kind of generated event did, per engine (from the trace run, where every
    # event's ReportId is its line number).
    variants = {}
    for r in trace:
        if "error" in r:
            continue
        name = r["rule"].path.name
        matched_kql = {x for row in r["kql_rows"] for x in (row.get("Report") or [])}
        matched_scry = {x for row in r["scry_rows"] for x in (row.get("Report") or [])}
        for info in line_info:
            if info.get("rule", "").split("#")[0] != name:
                continue
            n = info["line"]
            v = variants.setdefault(info.get("variant", "?"), [0, 0, 0, 0])
            v[0] += 1
            v[1] += n in matched_kql
            v[2] += n in matched_scry
            v[3] += (n in matched_kql) != (n in matched_scry)
    if variants:
        p("What the events generated for the compared rules did (trace run; 'matched' = in a result row's Report):")
        p("")
        p("| variant | events | matched (KQL) | matched (scry) | disagree |")
        p("|---|---|---|---|---|")
        for v, (n, a, b, d) in sorted(variants.items()):
            p(f"| {v} | {n} | {a} | {b} | {d} |")
        p("")
    if args.all_kql:
        errors = [(r, e) for r, e, _ in all_kql if e]
        p(f"Every upstream query in duckdb-kql over the same events: {len(all_kql) - len(errors)} of "
          f"{len(all_kql)} ran, {sum(n for _, e, n in all_kql if not e)} result rows in all")
        for r, e in errors:
            p(f"- {r.path.name}: {e}")
        quiet = [r.path.name for r, e, n in all_kql if not e and n == 0]
        if quiet:
            p(f"- no result rows: {', '.join(quiet)}")
        p("")
    verdict = (
        f"faithful subset: {t['sagree']} of {t['skql']} KQL groups agree with scry "
        f"({t['sdiffer']} differ); all events: {t['differ']} group(s) differ, "
        f"{explained} explained by known deviations, {unexplained} not; "
        f"{len(behind_all)} event(s) behind the differences"
    )
    if args.keep_exclusions:
        import re

        suppressed = sum(int(m) for m in re.findall(r"^  rule \S+: .* (\d+) suppressed$", full_summary, flags=re.M))
        verdict += (f"; with exclusions kept, scry reports {suppressed} suppressed record(s) "
                    f"and {len(behind_all)} event(s) are behind the differences")
    p("verdict: " + verdict)
    p("")
    p("scry run summary (all events):")
    lines = full_summary.rstrip().splitlines()
    start = next((i for i, l in enumerate(lines) if " input(s), " in l), 0)
    p("\n".join(lines[start:]))
    text = "\n".join(out) + "\n"
    print(text)
    (args.out / "report.md").write_text(text, encoding="utf-8")
    doc = dict(
        versions=dict(duck.versions(), scry=scry.version()), now=args.now, events=str(data),
        rows=len(raw_rows), flagged=n_flagged, totals=t, verdict=verdict,
        rules=[
            dict(upstream=r["rule"].path.name, id=r["rule"].id, scry_id=r["scry_id"],
                 fixes=r["rule"].applied, error=r.get("error"), all=r.get("summary"),
                 faithful=s.get("summary"),
                 diffs=[dict(kind=d["kind"], key=list(d["key"]), fields=d["fields"],
                             kql=d["kql"], scry=d["scry"], known=known,
                             events=[f["line"] for f in found])
                        for d, found, known in r.get("attributed", [])])
            for r, s in zip(full, sub)
        ],
        missing=[m.path.name for m in missing],
    )
    (args.out / "report.json").write_text(json.dumps(doc, ensure_ascii=False, indent=1, default=str),
                                         encoding="utf-8")
    ok = unexplained == 0 and t["errors"] == 0 and (args.keep_exclusions or t["sdiffer"] == 0)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
