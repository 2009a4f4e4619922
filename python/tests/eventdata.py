"""The same events as JSON lines (for `scry run`) and as Parquet (for Spark), in several files.

Rows come from the repository's independent generator (benches/compare/gen_events.py): rows
around every needle of every upstream RMM rule (case variants, glued needles, nulls, missing
fields, window edges, odd timestamps) plus background noise, so that every rule of rules/rmm
has groups to find and near misses to reject.

Arrow needs one type per column while the generator mixes a few (`ReportId` is mostly a
number, sometimes the same number as a string). So the rows are first made to fit one schema
(the majority type of each column; a minority value is converted when that is lossless, else
its row is dropped), and both files are written from those fitted rows: the JSON lines and
the Parquet files hold the same events by construction. A null is written to JSON as a
missing key (Arrow cannot tell the two apart).

    python eventdata.py OUT_DIR [--files 4] [--seed 7] [--noise 5000] [--repeat 1] [--even]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

REPO = Path(__file__).resolve().parents[2]
NOW = "2024-05-15T12:00:00Z"

_ARROW = {str: pa.string(), int: pa.int64(), bool: pa.bool_(), float: pa.float64()}


def generated_rows(seed: int, noise: int, repeat: int) -> list[dict]:
    sys.path.insert(0, str(REPO / "benches" / "compare"))
    try:
        import gen_events
        import kqlsrc
    finally:
        sys.path.pop(0)
    rules = kqlsrc.load_corpus(REPO / "tests" / "data" / "rmm-kql")
    g = gen_events.generate(rules, seed=seed, noise=noise, now=NOW, repeat=repeat)
    return [row for row, _ in g.rows]


def _convert(value, to: type):
    """`value` as type `to` when that loses nothing, else None."""
    if to is int and isinstance(value, str) and value.strip() == value and value.lstrip("-").isdigit():
        return int(value)
    if to is str and isinstance(value, (int, float)) and not isinstance(value, bool):
        return None  # a number where text is expected: its JSON form is not the text form
    return None


def fit_rows(rows: list[dict]) -> tuple[list[dict], pa.Schema, int]:
    """Rows that fit one Arrow schema, the schema, and how many rows were dropped."""
    counts: dict[str, dict[type, int]] = {}
    for r in rows:
        for k, v in r.items():
            if v is not None:
                counts.setdefault(k, {}).setdefault(type(v), 0)
                counts[k][type(v)] += 1
    types = {k: max(c, key=c.get) for k, c in counts.items()}
    fitted, dropped = [], 0
    for r in rows:
        out = {}
        for k, v in r.items():
            if v is None:
                continue
            want = types[k]
            if type(v) is not want:
                v = _convert(v, want)
                if v is None:
                    break
            out[k] = v
        else:
            fitted.append(out)
            continue
        dropped += 1
    # Type first, then the columns in a stable order: files of one dataset share a schema.
    names = ["Type"] + sorted(k for k in types if k != "Type")
    schema = pa.schema([pa.field(n, _ARROW[types[n]]) for n in names])
    return fitted, schema, dropped


def write_dataset(out: Path, rows: list[dict], schema: pa.Schema, files: int, seed: int,
                  even: bool = False) -> dict:
    """Shuffles `rows` into `files` files, each as `part-N.jsonl` and `part-N.parquet`;
    of random sizes unless `even`."""
    rng = random.Random(seed)
    rows = rows[:]
    rng.shuffle(rows)
    (out / "jsonl").mkdir(parents=True, exist_ok=True)
    (out / "parquet").mkdir(parents=True, exist_ok=True)
    # Uneven file sizes, so that Spark's splits and the CLI's file boundaries differ.
    if even:
        cuts = [len(rows) * i // files for i in range(1, files)]
    else:
        cuts = sorted(rng.sample(range(1, len(rows)), files - 1)) if files > 1 else []
    bounds = list(zip([0] + cuts, cuts + [len(rows)]))
    for i, (a, b) in enumerate(bounds):
        part = rows[a:b]
        with open(out / "jsonl" / f"part-{i}.jsonl", "w", encoding="utf-8") as f:
            for r in part:
                f.write(json.dumps(r, ensure_ascii=False) + "\n")
        table = pa.Table.from_pylist(part, schema=schema)
        # Small row groups: several Arrow batches per file on both sides.
        pq.write_table(table, out / "parquet" / f"part-{i}.parquet", row_group_size=4096)
    return dict(rows=len(rows), files=files, sizes=[b - a for a, b in bounds])


def noisy_device(count: int) -> list[dict]:
    """`count` ServerEye process events of one device, each with its own ReportId, spread
    over the last four days: one summarize group whose make_set(ReportId) grows with every
    event (the skew case of docs/spark.md)."""
    base = 1_715_774_400 - 4 * 86_400  # NOW - 4 days, in seconds
    return [
        {"Type": "DeviceProcessEvents",
         "Timestamp": _iso(base + i * (4 * 86_400 - 1) // max(count, 1), i),
         "DeviceId": "ffffffffffffffffffffffffffffffffffffffff", "DeviceName": "noisy-001",
         "AccountUpn": "system", "ReportId": 10_000_000 + i, "FileName": "ServerEye.exe",
         "ProcessVersionInfoCompanyName": "Krämer IT Solutions GmbH",
         "ProcessVersionInfoProductName": "ServerEye"}
        for i in range(count)
    ]


def _iso(seconds: int, i: int) -> str:
    from datetime import datetime, timezone

    t = datetime.fromtimestamp(seconds, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{t}.{i % 10_000_000:07d}Z"


def make(out: Path, files: int = 4, seed: int = 7, noise: int = 5000, repeat: int = 1,
         even: bool = False, extra: list[dict] | None = None) -> dict:
    rows, schema, dropped = fit_rows(generated_rows(seed, noise, repeat) + (extra or []))
    info = write_dataset(out, rows, schema, files, seed, even)
    info["dropped"] = dropped
    return info


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("--files", type=int, default=4)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--noise", type=int, default=5000)
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--even", action="store_true", help="files of equal row counts")
    a = ap.parse_args(argv)
    print(json.dumps(make(a.out, a.files, a.seed, a.noise, a.repeat, a.even)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
