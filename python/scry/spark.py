"""Run scry rules over a Spark DataFrame: `detect(df, rules) -> DataFrame[rule, result]`.

    from scry.spark import detect
    events = spark.read.parquet("s3://bucket/defender/")
    found = detect(events, scry.load_sources("rules/rmm"), now="2024-05-15T12:00:00Z")
    found.show(truncate=False)

`result` is exactly the JSON line `scry run --format ndjson` prints for the same events, and
the rows come in the CLI's order when the DataFrame is collected as it is.

How (docs/spark.md has the why and the costs):

1. When some rule tests a `distinct` set (`Rules.has_sets`), a first pass collects the sets'
   values in every task (`mapInArrow`), the driver merges them and broadcasts the merged
   state as Arrow IPC bytes.
2. `mapInArrow`: each task feeds all its batches to one `Evaluator` and emits one partial
   state: one row per summarize group it saw, not per event.
3. `groupBy(bucket).applyInArrow(merge)`, the bucket a hash of (kind, rule, key): the
   shuffle moves only the state rows, and each bucket merges with the engine's
   `Rules.merge` (associative, commutative, per key). `buckets=None` groups by
   (kind, rule, key) itself: the same result, one Python call per group.
4. One task finalizes all merged states into the result lines, in the CLI's order.

Rules travel as text (a broadcast variable) and compile once per Python worker process:
the compiled rules stay in a module-level cache keyed by a hash of the text and options.
"""

from __future__ import annotations

import hashlib
import json
import os
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Iterator, Sequence, Union

import pyarrow as pa

import scry

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

__all__ = ["detect", "partial_states", "conform_states", "load_sources", "RESULT_DDL", "SHUFFLE_DDL"]

Sources = Union[str, "os.PathLike[str]", Sequence[tuple[str, str]]]

# What crosses the shuffle: the grouping key and the opaque state. The informational columns
# of the state schema (first/last seen, count, set) are left out: merge and finalize read only
# `state`, and the set column would double the bytes of every make_set group.
SHUFFLE_DDL = "kind string, rule string, key string, state binary"
SHUFFLE_COLUMNS = ["kind", "rule", "key", "state"]
RESULT_DDL = "rule string, result string"

# Compiled rules per (hash of sources and options), per Python worker process. Spark reuses
# Python workers across tasks (spark.python.worker.reuse, on by default), so a pack compiles
# once per worker, not once per task or batch. Bounded: each `detect` without `now` is a new
# key, and a long-lived worker must not keep every one of them.
_RULES: dict[str, scry.Rules] = {}
_RULES_KEPT = 8
# How often this process compiled each key: 1 unless the cache failed (tests read it).
_COMPILES: dict[str, int] = {}
# The merged sets of phase 1, decoded once per worker: (rules key, sets key) -> batch.
_SETS: dict[tuple[str, str], pa.RecordBatch] = {}


def _resolve_sources(rules: Sources) -> list[tuple[str, str]]:
    if isinstance(rules, str):
        return [("rules.scry", rules)]
    if isinstance(rules, os.PathLike):
        return scry.load_sources(rules)
    out = [(str(n), str(t)) for n, t in rules]
    if not out:
        raise scry.ScryError("no rule sources given")
    return out


def _now_utc() -> str:
    # Resolved once, on the driver: every task must see the same clock, or a row near a
    # window edge could be in for one task and out for another.
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _key(payload: object) -> str:
    return hashlib.sha256(json.dumps(payload, ensure_ascii=False).encode()).hexdigest()


def _compiled(key: str, spec) -> scry.Rules:
    """The rules for `key`, compiled on first use in this process from the broadcast `spec`
    ((sources, now, table)); later tasks in the same worker get the cached object."""
    rules = _RULES.get(key)
    if rules is None:
        sources, now, table = spec.value
        rules = scry.compile(sources, now=now, table=table)
        while len(_RULES) >= _RULES_KEPT:
            oldest = next(iter(_RULES))
            del _RULES[oldest]
            for k in [k for k in _SETS if k[0] == oldest]:
                del _SETS[k]
        _RULES[key] = rules
        _COMPILES[key] = _COMPILES.get(key, 0) + 1
    return rules


def _sets_batch(key: str, sets_key: str | None, sets_bc) -> pa.RecordBatch | None:
    if sets_bc is None:
        return None
    batch = _SETS.get((key, sets_key))
    if batch is None:
        batches = scry.from_ipc(sets_bc.value)
        batch = batches[0] if len(batches) == 1 else pa.concat_batches(batches)
        _SETS[(key, sets_key)] = batch
    return batch


def conform_states(data: pa.Table | pa.RecordBatch) -> list[pa.RecordBatch]:
    """State rows as Spark hands them back (any subset of the state columns, Spark's string,
    timestamp and list types) as batches of exactly `scry.state_schema()`; missing
    informational columns are null. Public for tests and for users who store states."""
    schema = scry.state_schema()
    n = data.num_rows
    cols = []
    for field in schema:
        if field.name in data.column_names:
            col = data.column(field.name)
            cols.append(col.cast(field.type) if col.type != field.type else col)
        elif field.nullable:
            cols.append(pa.nulls(n, field.type))
        else:
            raise scry.ScryError(f"state rows without the column {field.name!r}")
    if isinstance(data, pa.RecordBatch):
        return [pa.RecordBatch.from_arrays(cols, schema=schema)]
    return pa.Table.from_arrays(cols, schema=schema).to_batches()


def _shuffle_rows(state: pa.RecordBatch) -> pa.RecordBatch:
    return state.select(SHUFFLE_COLUMNS)


class _Job:
    """What every task of one `detect` needs: the broadcast rules, their cache key, and the
    merged sets of phase 1 (when the rules have sets)."""

    def __init__(self, df: "DataFrame", rules: Sources, now: str | None, table: str | None):
        sc = df.sparkSession.sparkContext
        sources = _resolve_sources(rules)
        now = now or _now_utc()
        # Compiling on the driver checks the rules before any job starts and tells whether
        # the set phase is needed.
        self.compiled = scry.compile(sources, now=now, table=table)
        self.key = _key([sources, now, table])
        self.spec = sc.broadcast((sources, now, table))
        self.sets_key: str | None = None
        self.sets_bc = None
        if self.compiled.has_sets:
            key, spec = self.key, self.spec

            def collect_sets(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
                collector = _compiled(key, spec).set_collector()
                for b in batches:
                    collector.update(b)
                yield _shuffle_rows(collector.state())

            # Set states are small (distinct values, one row per set per task): the driver
            # merges them and ships the result to every task.
            partial = df.mapInArrow(collect_sets, SHUFFLE_DDL).toArrow()
            merged = self.compiled.merge(conform_states(partial))
            ipc = scry.to_ipc([merged])
            self.sets_key = hashlib.sha256(ipc).hexdigest()
            self.sets_bc = sc.broadcast(ipc)

    def partial_states(self, df: "DataFrame") -> "DataFrame":
        key, spec, sets_key, sets_bc = self.key, self.spec, self.sets_key, self.sets_bc

        def evaluate(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
            # One evaluator per task: the task's partial states are combined here, before the
            # shuffle, so a group seen a million times in a partition crosses it once.
            # Rows of rules without `summarize` are ordered by (chunk, position): each task
            # numbers its batches in its own range, in partition order.
            from pyspark import TaskContext

            chunk = TaskContext.get().partitionId() << 32
            sets = _sets_batch(key, sets_key, sets_bc)
            ev = _compiled(key, spec).evaluator(sets, chunk=chunk)
            for b in batches:
                ev.update(b)
            yield _shuffle_rows(ev.state())

        return df.mapInArrow(evaluate, SHUFFLE_DDL)

    def merged_states(self, partial: "DataFrame", buckets: int | None) -> "DataFrame":
        key, spec = self.key, self.spec

        def merge(states: pa.Table) -> pa.Table:
            merged = _compiled(key, spec).merge(conform_states(states))
            return pa.Table.from_batches([_shuffle_rows(merged)])

        if not buckets:
            return partial.groupBy("kind", "rule", "key").applyInArrow(merge, SHUFFLE_DDL)
        # Rules.merge merges each (kind, rule, key) of its input on its own, so a group of
        # many keys is as good as one: the same shuffle, but one Python call per bucket
        # instead of one per result group (thousands of groups cost seconds of calls).
        from pyspark.sql import functions as F

        bucket = F.pmod(F.xxhash64("kind", "rule", "key"), F.lit(buckets))
        return (partial.withColumn("_bucket", bucket).groupBy("_bucket")
                .applyInArrow(merge, SHUFFLE_DDL))

    def results(self, merged: "DataFrame") -> "DataFrame":
        key, spec = self.key, self.spec

        def finalize(states: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
            batches = [b for s in states for b in conform_states(s)]
            yield _compiled(key, spec).finalize(batches)

        # repartition, not coalesce: coalesce(1) would pull the merge stage into one task.
        return merged.repartition(1).mapInArrow(finalize, RESULT_DDL)


def detect(
    df: "DataFrame",
    rules: Sources,
    now: str | None = None,
    table: str | None = None,
    *,
    buckets: int | None = 0,
) -> "DataFrame":
    """The results of `rules` over the events of `df`: a DataFrame of (`rule`, `result`),
    `result` being the JSON line `scry run --format ndjson` prints.

    `rules`: one rule file's text (str), a list of (name, text), or a path (pathlib.Path) to
    a `.scry` file or a folder of them (read on the driver, in the CLI's order).
    `now`: RFC 3339 clock of the rules' windows; default: the driver's wall clock, once.
    `table`: the table of rows without a `Type` column.
    `buckets`: how the reduce groups state rows. None: one group per (kind, rule, key), one
    Python call each. A number N: N groups by a hash of (kind, rule, key), each merged in one
    call; 0 (the default) means N = spark.sql.shuffle.partitions. Same results either way.

    The columns of `df` are the events' fields (Defender's names, case-sensitive); strings,
    timestamps (or ISO 8601 strings), integers and booleans as Spark reads them from Parquet.
    Compile errors are raised here, on the driver, as `scry.ScryError`. When the rules have
    `distinct` sets, the set pass runs here too (a Spark job before this returns).
    """
    job = _Job(df, rules, now, table)
    if buckets == 0:
        buckets = int(df.sparkSession.conf.get("spark.sql.shuffle.partitions") or "200")
    return job.results(job.merged_states(job.partial_states(df), buckets))


def partial_states(
    df: "DataFrame",
    rules: Sources,
    now: str | None = None,
    table: str | None = None,
) -> "DataFrame":
    """The per-task partial states that `detect` shuffles (kind, rule, key, state): to see
    the shuffle's volume per rule, or a skewed group, before running the whole thing."""
    job = _Job(df, rules, now, table)
    return job.partial_states(df)


def load_sources(*paths: str | os.PathLike) -> list[tuple[str, str]]:
    """Same as `scry.load_sources`; here so that Spark code needs one import."""
    return scry.load_sources(*[Path(p) for p in paths])
