"""`scry.spark.detect` in local[2] and local-cluster[2,1,1024] (separate executor JVMs and
Python workers, a real shuffle) gives exactly the single-process CLI's result lines over the
same events: same lines, same order."""

from __future__ import annotations

import time
from collections import Counter

import pytest

import scry
from conftest import NOW, ROWS_RULE, RULES
from scry.spark import detect


def run(df, rules, **kw) -> tuple[list[str], float]:
    t0 = time.perf_counter()
    rows = detect(df, rules, now=NOW, **kw).collect()
    elapsed = time.perf_counter() - t0
    return [r["result"] for r in rows], elapsed


@pytest.fixture(scope="module")
def events(spark, dataset):
    return spark.read.parquet(str(dataset / "parquet"))


def test_detect_equals_cli(spark, events, cli_lines, rule_sources, capsys):
    lines, elapsed = run(events, rule_sources)
    with capsys.disabled():
        print(f"\n[{spark.sparkContext.master}] detect: {len(lines)} results in {elapsed:.1f} s")
    assert Counter(lines) == Counter(cli_lines)
    # finalize runs in one task, so the DataFrame collects in the CLI's order.
    assert lines == cli_lines


def test_detect_over_many_small_partitions(spark, events, cli_lines):
    # Groups spread over more tasks than files: more partial states per group to merge; the
    # rules given as a path, read on the driver; the reduce by (kind, rule, key) groups.
    df = events.repartition(9)
    lines, _ = run(df, RULES, buckets=None)
    assert lines == cli_lines


def test_detect_one_rule_without_sets(spark, events, dataset):
    # The one-phase path (no `distinct` set) against the CLI on one pack.
    from conftest import cli_results

    pack = RULES / "servereye.scry"
    rules = scry.load_sources(pack)
    assert not scry.compile(rules, now=NOW).has_sets
    want = cli_results(pack, sorted((dataset / "jsonl").glob("*.jsonl")))
    lines, _ = run(events, rules)
    assert want and lines == want


def test_compile_error_is_raised_on_the_driver(spark, events):
    with pytest.raises(scry.ScryError):
        detect(events, "rule broken {\n  from DeviceProcessEvents\n  where Nope has 'x'\n}\n",
               now=NOW)


def test_rule_without_summarize_gives_the_cli_rows(spark, events, dataset, tmp_path):
    # Result rows, not groups: every matching event is a line. Their order follows Spark's
    # partitions, which need not follow the CLI's file order (docs/spark.md), so this
    # compares the multiset.
    from conftest import cli_results

    f = tmp_path / "rows.scry"
    f.write_text(ROWS_RULE, encoding="utf-8")
    want = cli_results(f, sorted((dataset / "jsonl").glob("*.jsonl")))
    lines, _ = run(events, [("rows.scry", ROWS_RULE)])
    assert len(want) > 10 and Counter(lines) == Counter(want)


def test_timestamp_typed_column_in_any_session_time_zone(spark, events):
    # Exports read into Spark often have Timestamp as a TIMESTAMP, which Spark hands to Arrow
    # labelled with the session time zone. Rows whose ISO string is exact to the microsecond
    # give the same results either way, whatever that zone is.
    from pyspark.sql import functions as F

    exact = events.where(F.col("Timestamp").rlike(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}0Z$"))
    as_string, _ = run(exact, RULES)
    before = spark.conf.get("spark.sql.session.timeZone")
    spark.conf.set("spark.sql.session.timeZone", "America/New_York")
    try:
        typed = exact.withColumn("Timestamp", F.col("Timestamp").cast("timestamp"))
        as_timestamp, _ = run(typed, RULES)
    finally:
        spark.conf.set("spark.sql.session.timeZone", before)
    assert len(as_string) > 100 and as_timestamp == as_string


def test_rules_compile_once_per_python_worker(spark, events, rule_sources):
    # Many tasks (the set pass, the evaluation, the merge buckets, finalize) run in a few
    # reused Python workers; each compiles the rules on its first task only.
    import os

    import pyarrow as pa

    import scry.spark as ss

    detect(events.repartition(6), rule_sources, now=NOW).collect()

    def report(batches):
        for _ in batches:
            pass
        yield pa.RecordBatch.from_pydict(
            {"pid": [os.getpid()], "most": [max(ss._COMPILES.values(), default=0)]})

    seen = spark.range(0, 64, numPartitions=16).mapInArrow(report, "pid long, most long").collect()
    assert seen and all(r["most"] <= 1 for r in seen)
    assert any(r["most"] == 1 for r in seen)  # the workers that ran detect's tasks kept them


def test_rules_over_several_events_equal_cli(spark, tmp_path):
    # threshold, sequence, first_seen and an inner join (rules/rmm/multi_event.scry): each
    # key's events are partial states that merge, so spread over more partitions than
    # events, Spark gives the CLI's lines.
    from conftest import REPO, cli_results

    rules = REPO / "rules" / "rmm" / "multi_event.scry"
    sample = REPO / "tests" / "data" / "multi-event" / "sample.jsonl"
    want = cli_results(rules, [sample])
    assert len(want) == 5, want
    df = spark.read.json(str(sample)).repartition(40)
    lines, _ = run(df, rules)
    assert lines == want
