#!/usr/bin/env python3
"""Runs the contract's conformance cases through duckdb-kql, as the diff harness loads data.

Each case becomes a one-column table `C(x)` holding the left operand (typed as the harness
types event columns: a null string is "") and a KQL query over it, run with `now()` pinned
to the case's `now`. The result says where duckdb-kql agrees with the contract, and so which
of its answers the differential harness can trust (README.md, "Deviations").

    .venv/bin/python conformance.py [--cases FILE] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

import duck
import duckdb
import duckdb_kql
import events
from kqlsrc import kql_dynamic, kql_string

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
DEFAULT_CASES = REPO / "tests" / "data" / "conformance-public.json"
DEFAULT_NOW = "2024-05-15T12:00:00Z"

STRING_BINARY = re.compile(
    r"^!?(==|=~|!~|contains|contains_cs|has|has_cs|hasprefix|hasprefix_cs|hassuffix|"
    r"hassuffix_cs|startswith|startswith_cs|endswith|endswith_cs|matches regex)$"
)
LIST_OPS = {"in", "!in", "in~", "!in~", "has_any", "has_all"}
TIMESPAN = re.compile(r"^\d+(\.\d+)?(d|h|m|s|ms|microsecond|tick)$")


def column_type(case, side="left") -> str:
    t = case.get(f"{side}_type") or "string"
    if t in ("string-json-null", "string-missing"):
        return "string"
    return t


def literal(value, kql_type: str) -> str:
    """A KQL literal of `kql_type` for a JSON value (for right-hand operands)."""
    if kql_type == "string":
        return kql_string(value)
    if kql_type == "dynamic":
        return kql_dynamic(value)
    if kql_type == "expr":
        return value
    if value is None:
        return f"{kql_type}(null)"
    if kql_type == "datetime":
        return f"datetime({value})"
    if kql_type == "bool":
        return "true" if value else "false"
    return f"{kql_type}({value})"


def right_list(case) -> str:
    items = case["right"]
    rtype = case.get("right_type") or "string"
    if rtype == "dynamic" or not items or any(v is None for v in items):
        return "(" + kql_dynamic(items) + ")"
    return "(" + ", ".join(literal(v, rtype) for v in items) + ")"


def bound(value, case) -> str:
    if isinstance(value, str) and (value.startswith(("now(", "ago(")) or TIMESPAN.match(value)):
        return value
    rtype = case.get("right_type") or case.get("left_type") or "long"
    if rtype == "expr":
        rtype = "datetime"
    return literal(value, rtype)


class Runner:
    def __init__(self):
        self.con = duckdb_kql.connect()

    def table(self, name: str, columns: list[tuple[str, str]], rows: list[list]):
        """Create `name` with KQL-typed columns and rows typed as the harness types events."""
        self.con.execute(f'DROP TABLE IF EXISTS "{name}"')
        body = ", ".join(f'"{c}" {duck.TABLE_TYPE[t]}' for c, t in columns)
        self.con.execute(f'CREATE TABLE "{name}" ({body})')
        for row in rows:
            vals, params = [], []
            for (c, t), v in zip(columns, row):
                if t == "datetime":
                    v = events.parse_datetime_ticks(v) if isinstance(v, str) else None
                    vals.append("make_timestamp_ns(? * 100)" if v is not None else "NULL")
                    if v is not None:
                        params.append(v)
                    continue
                if t == "dynamic":
                    vals.append("CAST(? AS JSON)" if v is not None else "NULL")
                    if v is not None:
                        params.append(v if isinstance(v, str) else json.dumps(v))
                    continue
                vals.append("?")
                params.append(events.CONVERT[t](v))
            self.con.execute(f'INSERT INTO "{name}" VALUES ({", ".join(vals)})', params)

    def run(self, kql: str, now: str):
        ticks = events.parse_datetime_ticks(now)
        from datetime import datetime, timezone

        rel = duckdb_kql.query(
            self.con, kql,
            query_now=datetime.fromtimestamp(ticks // events.TICKS_PER_SECOND, tz=timezone.utc),
        )
        names = list(rel.columns)
        exprs = [
            f'epoch_ns("{n}") // 100 AS "{n}"' if str(t).startswith("TIMESTAMP") else f'"{n}"'
            for n, t in zip(names, rel.types)
        ]
        return rel.query("_kql_result", f"SELECT {', '.join(exprs)} FROM _kql_result").fetchall()

    def case(self, case):
        """(kql, actual) for one case; actual is a Python value or raises."""
        op = case["op"]
        left = case.get("left")
        now = case.get("now") or DEFAULT_NOW
        ltype = column_type(case)
        scalar = lambda expr: self._scalar(ltype, left, expr, now)

        if op in LIST_OPS:
            return scalar(f"x {op} {right_list(case)}")
        if op in ("between", "!between"):
            lo, hi = case["right"]
            if ltype == "expr":
                return self._print(f"{left} {op} ({bound(lo, case)} .. {bound(hi, case)})", now)
            return scalar(f"x {op} ({bound(lo, case)} .. {bound(hi, case)})")
        if ltype == "expr":
            return self._print(f"{left} {op} {literal(case['right'], column_type(case, 'right'))}", now)
        if STRING_BINARY.match(op) or op == "!=":
            rtype = column_type(case, "right") if case.get("right_type") else "string"
            return scalar(f"x {op} {literal(case['right'], rtype)}")
        if op in ("isempty", "isnotempty", "strlen", "tostring"):
            return scalar(f"{op}(x)")
        if op == "split":
            return scalar(f"split(x, {kql_string(case['right'])})")
        if op == "split_index_tostring":
            d, i = case["right"]
            return scalar(f"tostring(split(x, {kql_string(d)})[{i}])")
        if op == "trim_start":
            return scalar(f"trim_start({kql_string(case['right'])}, x)")
        if op == "remoteurl_normalize":
            kql = (
                "C | extend x = trim_start(@'http[s]?://', x)"
                " | extend x = tostring(split(x, '/')[0])"
                " | extend x = tostring(split(x, ':')[0]) | project r = x"
            )
            self.table("C", [("x", "string")], [[left]])
            return kql, self.run(kql, now)[0][0]
        if op in ("make_set", "count", "min", "max", "distinct"):
            self.table("C", [("x", ltype)], [[v] for v in left])
            agg = {"make_set": "make_set(x)", "count": "count()", "min": "min(x)", "max": "max(x)"}
            kql = "C | distinct x" if op == "distinct" else f"C | summarize r = {agg[op]}"
            rows = self.run(kql, now)
            if op == "distinct":
                return kql, [r[0] for r in rows]
            value = rows[0][0]
            if op == "make_set" and isinstance(value, str):
                value = json.loads(value)
            if op in ("min", "max") and value is not None:
                value = events.format_ticks(value)
            return kql, value
        if op == "summarize_rows":
            by = left["by"]
            self.table("C", [(k, "string") for k in by] + [("v", "long")], left["rows"])
            kql = f"C | summarize n = count() by {', '.join(by)} | count"
            return kql, self.run(kql, now)[0][0]
        if op in ("join_innerunique_rows", "join_inner_rows"):
            kind = op.split("_")[1]
            self.table("L", [("k", "string"), ("a", "long")], left["left"])
            self.table("R", [("k", "string"), ("b", "long")], left["right"])
            kql = f"L | join kind={kind} (R) on k | count"
            return kql, self.run(kql, now)[0][0]
        if op == "where":
            kql = "print x = 1 | where bool(null) | count"
            return kql, self.run(kql, now)[0][0] > 0
        raise NotImplementedError(op)

    def _scalar(self, ltype, left, expr, now):
        self.table("C", [("x", ltype)], [[left]])
        kql = f"C | project r = {expr}"
        value = self.run(kql, now)[0][0]
        if isinstance(value, str) and value[:1] == "[":
            try:
                value = json.loads(value)
            except ValueError:
                pass
        return kql, value

    def _print(self, expr, now):
        kql = f"print r = {expr}"
        return kql, self.run(kql, now)[0][0]


def same(case, actual) -> bool:
    expected = case["expected"]
    if case.get("compare") == "unordered" and isinstance(actual, list):
        return sorted(map(json.dumps, actual)) == sorted(map(json.dumps, expected))
    if isinstance(expected, str) and case.get("left_type") == "datetime":
        return events.parse_datetime_ticks(expected) == events.parse_datetime_ticks(actual)
    return actual == expected


def run_cases(cases):
    runner = Runner()
    results = []
    for case in cases:
        if case["op"] == "make_set_maxsize_default":
            results.append(dict(case=case, status="not-run", kql="", actual=None,
                                why="a 1,048,576-element input is not worth building here"))
            continue
        try:
            kql, actual = runner.case(case)
        except (duckdb.Error, duckdb_kql.errors.KqlError if hasattr(duckdb_kql, "errors") else Exception) as e:  # noqa: E501
            status = "pass" if case["expected"] == "error" else "error"
            results.append(dict(case=case, status=status, kql="", actual=None,
                                why=f"{type(e).__name__}: {str(e).splitlines()[0][:200]}"))
            continue
        except NotImplementedError as e:
            results.append(dict(case=case, status="not-run", kql="", actual=None, why=str(e)))
            continue
        status = "pass" if same(case, actual) else "fail"
        results.append(dict(case=case, status=status, kql=kql, actual=actual, why=""))
    return results


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", type=Path, default=DEFAULT_CASES)
    ap.add_argument("--json", type=Path, help="write every result here")
    args = ap.parse_args(argv)
    cases = json.loads(args.cases.read_text(encoding="utf-8"))
    results = run_cases(cases)
    counts = {}
    for r in results:
        counts[r["status"]] = counts.get(r["status"], 0) + 1
    for r in results:
        if r["status"] in ("fail", "error"):
            c = r["case"]
            print(
                f"{r['status'].upper():5} {c['id']}: {json.dumps(c.get('left'), ensure_ascii=False)} "
                f"{c['op']} {json.dumps(c.get('right'), ensure_ascii=False)} -> "
                f"{json.dumps(r['actual'], ensure_ascii=False)}, contract "
                f"{json.dumps(c['expected'], ensure_ascii=False)}"
                + (f" [{c['confidence']}{', undocumented' if c.get('undocumented') else ''}]")
                + (f" ({r['why']})" if r["why"] else "")
            )
    print(
        f"duckdb-kql {duck.versions()['duckdb-kql']} on {args.cases.name}: "
        + ", ".join(f"{v} {k}" for k, v in sorted(counts.items()))
    )
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, ensure_ascii=False, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
