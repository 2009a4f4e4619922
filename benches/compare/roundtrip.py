#!/usr/bin/env python3
"""The multi-event forms through `scry export kql`, checked by an engine scry did not write.

For each rule of `roundtrip.scry` (time buckets, semi / anti joins, the joins that combine
both sides, and sliding thresholds, which export as a self-join on their anchors), `scry export kql` writes the KQL; duckdb-kql runs it over generated
events and scry runs the rule over the same events; the result rows must be equal as
multisets, column by column (datetimes as ticks, nulls as nulls). Exits 1 on a difference.

What duckdb-kql runs (measured with duckdb-kql 1.1.2, see README.md "Round trip of the
multi-event forms"): `summarize ... by bin(Timestamp, 10m)` and `startofday` (not `bin_at`:
"no DuckDB mapping"), `join kind=inner|innerunique|leftouter|leftsemi|leftanti`,
`lookup`, `order by`, `top`, and `between` whose bounds are parenthesized sums. Buckets are
compared at sizes that divide a day: duckdb-kql counts buckets from 1970, Kusto and scry
from 0001-01-01 (docs/semantics.md, "Time buckets"), which differ for `7d`.
`innerunique` keeps one left row per key, any one in Kusto (scry keeps the earliest), so its
rule projects the right side and the key only, which every choice gives alike.

    benches/compare/setup.sh && cargo build --release
    benches/compare/roundtrip.py [--scry target/release/scry] [--seed 7] [--rows 400]

CI runs it after the speed smoke (`.ci/run`): a few seconds.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
VENV_PY = HERE / ".venv" / "bin" / "python"
if (
    Path(sys.prefix).resolve() != (HERE / ".venv").resolve()
    and VENV_PY.exists()
    and not os.environ.get("KQL_DIFF_NO_REEXEC")
):
    os.execv(str(VENV_PY), [str(VENV_PY), __file__, *sys.argv[1:]])

import argparse  # noqa: E402
import json  # noqa: E402
import random  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
from collections import Counter  # noqa: E402

import events  # noqa: E402
from duck import DuckKql  # noqa: E402
from scryrun import Scry  # noqa: E402

REPO = HERE.parent.parent
NOW = "2024-05-15T12:00:00Z"
RULES = HERE / "roundtrip.scry"


def generate(seed: int, rows: int) -> list[dict]:
    """Process starts and network connections of a few devices over the last two days: some
    devices on one side only (for leftouter / leftanti), connections before and after the
    starts (for the time condition), several starts per device (for innerunique), events
    outside the window, and names of other tools (filtered out)."""
    rng = random.Random(seed)
    now = events.parse_datetime_ticks(NOW)
    minute = 60 * events.TICKS_PER_SECOND
    devices = [f"d-{i}" for i in range(12)]
    out = []
    for _ in range(rows):
        # Whole minutes, some exactly on the edges of the time condition, a few seconds off.
        at = now - rng.randrange(0, 36 * 60) * minute + rng.choice([0, 0, 0, 1, 30]) * events.TICKS_PER_SECOND
        dev = rng.choice(devices[:10])
        out.append({
            "Type": "DeviceProcessEvents",
            "Timestamp": events.format_ticks(at),
            "DeviceId": dev,
            "DeviceName": dev.replace("d-", "host-"),
            "FileName": rng.choice(["AnyDesk.exe", "AnyDesk.exe", "anydesk.EXE", "notepad.exe"]),
            "FolderPath": rng.choice([r"C:\Program Files\AnyDesk", r"C:\Users\a\AppData\Local\Temp"]),
            "ProcessCommandLine": rng.choice(["AnyDesk.exe --install", "AnyDesk.exe"]),
            "ReportId": rng.randrange(1, 10**6),
        })
        # Connections cluster around starts, so that the 5-minute condition holds often.
        offset = rng.choice([-10, -1, 0, 1, 2, 5, 6, 30, 600])
        dev2 = rng.choice(devices[2:])
        out.append({
            "Type": "DeviceNetworkEvents",
            "Timestamp": events.format_ticks(at + offset * minute),
            "DeviceId": dev2,
            "DeviceName": dev2.replace("d-", "host-"),
            "RemoteUrl": rng.choice(["relay-1.net.anydesk.com", "boot.net.anydesk.com", "example.org"]),
            "RemotePort": rng.choice([443, 443, 80]),
            "InitiatingProcessFileName": rng.choice(["AnyDesk.exe", "svchost.exe"]),
            "ReportId": rng.randrange(1, 10**6),
        })
    return out


def exported(scry: Path) -> dict[str, str]:
    """{rule name: KQL} as `scry export kql` prints the rules."""
    p = subprocess.run([str(scry), "export", "kql", str(RULES)], capture_output=True, text=True, check=True)
    queries: dict[str, str] = {}
    name = None
    previous = ""
    for line in p.stdout.splitlines():
        # Each query starts with `// <rule name>` after a blank line (or at the top).
        if line.startswith("// ") and line[3:].isidentifier() and not previous.strip():
            name = line[3:]
            queries[name] = ""
        elif name is not None:
            queries[name] += line + "\n"
        previous = line
    return queries


def normalize(value, datetime_column: bool):
    if datetime_column and isinstance(value, str):
        return events.parse_datetime_ticks(value)
    # A set (make_set): duckdb-kql gives JSON text, scry a list; compared as sorted values.
    if isinstance(value, str) and value.startswith("["):
        value = json.loads(value)
    if isinstance(value, list):
        return tuple(sorted(normalize(v, False) for v in value))
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--scry", type=Path, default=REPO / "target" / "release" / "scry")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--rows", type=int, default=400)
    args = ap.parse_args()
    if not args.scry.is_file():
        sys.exit(f"roundtrip: no scry binary at {args.scry}: `cargo build --release` or pass --scry")

    schema = events.load_schema(REPO / "engine" / "schemas" / "defender.json")
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "events.jsonl"
        with data.open("w", encoding="utf-8") as f:
            for row in generate(args.seed, args.rows):
                f.write(json.dumps(row) + "\n")
        duck = DuckKql(schema)
        duck.load([data])
        scry = Scry(args.scry, [RULES], keep_exclusions=True)
        try:
            scry_rows, _ = scry.run([data], NOW)
        finally:
            scry.close()
        queries = exported(args.scry)
        ids = {name: name for name in queries}
        failed = 0
        compared = 0
        now_ticks = events.parse_datetime_ticks(NOW)
        for name, kql in queries.items():
            cols, types, rows = duck.query(kql, now_ticks)
            dt = [t.startswith("TIMESTAMP") for t in types]
            theirs = Counter(tuple(normalize(v, d) for v, d in zip(r, dt)) for r in rows)
            ours = Counter(
                tuple(normalize(r.get(c), d) for c, d in zip(cols, dt))
                for r in scry_rows.get(ids[name], [])
            )
            compared += sum(theirs.values())
            same = theirs == ours and sum(theirs.values()) > 0
            print(f"{'ok  ' if same else 'DIFF'} {name}: {sum(ours.values())} scry rows, "
                  f"{sum(theirs.values())} duckdb-kql rows")
            if not same:
                failed += 1
                for row, n in list((ours - theirs).items())[:5]:
                    print(f"    scry only x{n}: {row}")
                for row, n in list((theirs - ours).items())[:5]:
                    print(f"    duckdb-kql only x{n}: {row}")
                if not theirs:
                    print("    (no rows: the events do not exercise the rule)")
        print(f"{len(queries)} rules, {compared} rows compared, {failed} differing")
        return 1 if failed or not queries else 0


if __name__ == "__main__":
    sys.exit(main())
