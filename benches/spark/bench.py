#!/usr/bin/env python3
"""The Spark path (`scry.spark.detect`, local mode) against the single-process CLI on the same
events: wall times, their ratio, and the shuffle volume per rule.

    python/ci.sh                       # once: the venv with pyspark and the scry wheel
    python/.venv/bin/python benches/spark/bench.py [--noise 1000000] [--files 8] [--runs 3]

Data: python/tests/eventdata.py (rows around every needle of the upstream RMM rules plus
`--noise` background rows), written as JSON lines and as Parquet with one schema. The CLI
reads the JSON lines, and the Parquet files too when it can; Spark reads the Parquet files.
Before any timing, both give the same result lines (else the script fails). Prints markdown
for benches/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "python" / "tests"))

import eventdata  # noqa: E402

NOW = eventdata.NOW


def timed(fn, runs: int):
    times, out = [], None
    for _ in range(runs):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), times, out


def cli(scry: Path, rules: Path, files: list[Path], threads: int) -> list[str]:
    cmd = [str(scry), "run", "--rules", str(rules), "--now", NOW, "--format", "ndjson",
           "--no-progress", "--threads", str(threads), *map(str, files)]
    return subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.splitlines()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--work", type=Path, default=Path("/tmp/scry-spark-bench"))
    ap.add_argument("--noise", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3, help="rows per needle variant")
    ap.add_argument("--files", type=int, default=8)
    ap.add_argument("--noisy-device", type=int, default=0,
                    help="events of one device that all match one rule (the skew case)")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--rules", type=Path, default=REPO / "rules" / "rmm")
    ap.add_argument("--scry", type=Path, default=Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target")) / "release" / "scry")
    a = ap.parse_args(argv)

    data = a.work / f"noise{a.noise}-repeat{a.repeat}-files{a.files}-noisy{a.noisy_device}-even"
    if not (data / "info.json").exists():
        t0 = time.perf_counter()
        info = eventdata.make(data, files=a.files, seed=7, noise=a.noise, repeat=a.repeat,
                              even=True, extra=eventdata.noisy_device(a.noisy_device))
        (data / "info.json").write_text(json.dumps(info))
        print(f"data: {info['rows']} rows in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    info = json.loads((data / "info.json").read_text())
    jsonl = sorted((data / "jsonl").glob("*.jsonl"))
    parquet = sorted((data / "parquet").glob("*.parquet"))
    size = lambda fs: sum(f.stat().st_size for f in fs)  # noqa: E731

    load0 = os.getloadavg()
    want = cli(a.scry, a.rules, jsonl, 2)
    rows = []
    for threads in (1, 2):
        med, ts, out = timed(lambda: cli(a.scry, a.rules, jsonl, threads), a.runs)
        assert out == want
        rows.append((f"`scry run`, JSON lines, {threads} thread(s)", med, ts))
    try:
        got = cli(a.scry, a.rules, parquet, 2)
        # A CLI without Parquet input names the files, reads none and finds nothing.
        same = None if not got else got == want
    except subprocess.CalledProcessError:
        same = None
    if same is False:
        raise SystemExit("scry run over the Parquet files differs from the JSON lines")
    if same:
        for threads in (1, 2):
            med, ts, out = timed(lambda: cli(a.scry, a.rules, parquet, threads), a.runs)
            assert out == want
            rows.append((f"`scry run`, Parquet, {threads} thread(s)", med, ts))

    import pyspark
    import pyarrow as pa
    import pyarrow.compute as pc

    os.environ.setdefault("SPARK_HOME", str(Path(pyspark.__file__).parent))
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    from pyspark.sql import SparkSession

    import scry
    from scry.spark import detect, partial_states

    t0 = time.perf_counter()
    spark = (SparkSession.builder.master("local[2]").config("spark.ui.enabled", "false")
             .config("spark.driver.memory", "4g").getOrCreate())
    spark.sparkContext.setLogLevel("ERROR")
    startup = time.perf_counter() - t0
    sources = scry.load_sources(a.rules)
    df = spark.read.parquet(str(data / "parquet"))
    run = lambda: [r["result"] for r in detect(df, sources, now=NOW).collect()]  # noqa: E731
    t0 = time.perf_counter()
    first = run()
    cold = time.perf_counter() - t0
    if first != want:
        raise SystemExit(f"detect differs from the CLI: {len(first)} vs {len(want)} lines")
    med, ts, out = timed(run, a.runs)
    assert out == want
    rows.append(("`detect`, Spark local[2], Parquet (session started)", med, ts))

    # The shuffle: the partial states detect sends through groupBy, per rule.
    states = partial_states(df, sources, now=NOW).toArrow()
    tasks = df.rdd.getNumPartitions()
    sizes = pc.binary_length(states["state"])
    per_rule = (pa.table({"rule": states["rule"], "kind": states["kind"], "bytes": sizes,
                          "keylen": pc.binary_length(pc.cast(states["key"], pa.binary()))})
                .group_by(["kind", "rule"]).aggregate([("bytes", "sum"), ("bytes", "count"),
                                                       ("keylen", "sum")])
                .sort_by([("bytes_sum", "descending")]))
    biggest = pc.max(sizes).as_py() if states.num_rows else 0
    spark.stop()

    # The CLI over the same Parquet files with 2 threads when it reads Parquet, else over the
    # JSON lines.
    base_what, base = rows[3][:2] if len(rows) > 3 else rows[1][:2]
    print(f"Load average before and after: {load0}, {os.getloadavg()}")
    print(f"Machine: {os.cpu_count()} cores, {platform.platform()}; python {platform.python_version()}, "
          f"pyspark {pyspark.__version__}, pyarrow {pa.__version__}")
    print(f"Data: {info['rows']:,} events in {a.files} files; JSON lines {size(jsonl) / 1e6:.0f} MB, "
          f"Parquet {size(parquet) / 1e6:.0f} MB; {len(want):,} result lines from "
          f"{len(scry.compile(sources, now=NOW).rule_ids)} rules\n")
    print(f"| what | median s | runs | vs {base_what} |\n|---|---|---|---|")
    for what, m, t in rows:
        print(f"| {what} | {m:.2f} | {', '.join(f'{x:.2f}' for x in t)} | {m / base:.1f}× |")
    print(f"| Spark session start, local[2] | {startup:.1f} | 1 | |")
    print(f"| first `detect` in a new session (Python workers start, rules compile) | {cold:.2f} | 1 | |")
    print(f"\nShuffle: {states.num_rows:,} state rows from {tasks} tasks, "
          f"{pc.sum(sizes).as_py() / 1e6:.1f} MB of state (+ keys); largest state of one group "
          f"in one task: {biggest:,} bytes. Top rules by state bytes:\n")
    names = {i: n for _, text in sources
             for n, i in re.findall(r'rule\s+(\w+)\s*\{\s*id\s+"([^"]+)"', text)}
    print("| kind | rule | state rows | state bytes | key bytes |\n|---|---|---|---|---|")
    for r in per_rule.slice(0, 8).to_pylist():
        name = names.get(r["rule"], r["rule"])
        print(f"| {r['kind']} | {name} | {r['bytes_count']:,} | {r['bytes_sum']:,} | {r['keylen_sum']:,} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
