"""The Python API without Spark: CLI equality in one process, and the merge laws."""

from __future__ import annotations

import random
from datetime import datetime

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

import scry
from conftest import NOW, RULES


def parquet_batches(dataset, batch_size=None) -> list[pa.RecordBatch]:
    out = []
    for f in sorted((dataset / "parquet").glob("*.parquet")):
        pf = pq.ParquetFile(f)
        out.extend(pf.iter_batches(batch_size=batch_size) if batch_size else pf.iter_batches())
    return out


def evaluate(rules: scry.Rules, batches, sets=None) -> pa.RecordBatch:
    ev = rules.evaluator(sets)
    for b in batches:
        ev.update(b)
    return ev.state()


def collect_sets(rules: scry.Rules, batches):
    if not rules.has_sets:
        return None
    c = rules.set_collector()
    for b in batches:
        c.update(b)
    return rules.merge([c.state()])


def results(batch: pa.RecordBatch) -> list[str]:
    assert batch.schema.names == ["rule", "result"]
    return batch.column("result").to_pylist()


def sorted_state(batch: pa.RecordBatch) -> pa.Table:
    return pa.Table.from_batches([batch]).sort_by([("kind", "ascending"), ("rule", "ascending"),
                                                   ("key", "ascending")])


@pytest.fixture(scope="module")
def rules(rule_sources):
    return scry.compile(rule_sources, now=NOW)


@pytest.fixture(scope="module")
def batches(dataset):
    return parquet_batches(dataset, batch_size=1000)


@pytest.fixture(scope="module")
def sets(rules, batches):
    return collect_sets(rules, batches)


def test_compile_reports_rules_and_sets(rules, rule_sources):
    ids = rules.rule_ids
    # Every rule of the pack, each with its own id.
    written = sum(
        1 for f in RULES.glob("*.scry") for line in f.read_text().splitlines() if line.startswith("rule ")
    )
    assert written >= 128 and len(ids) == written and len(set(ids)) == written
    # dwservice.scry tests a `distinct` set: the two-phase path is exercised.
    assert rules.has_sets


def test_compile_error_names_file_line_column():
    bad = "rule broken {\n  from DeviceProcessEvents\n  where NoSuchColumn has 'x'\n}\n"
    with pytest.raises(scry.ScryError) as e:
        scry.compile([("broken.scry", bad)], now=NOW)
    assert "broken.scry:3:" in str(e.value)


def test_state_schema_is_the_contract():
    s = scry.state_schema()
    assert s.names == ["kind", "rule", "key", "first_seen", "last_seen", "count", "set", "state"]
    assert s.field("state").type == pa.binary()
    assert s.field("first_seen").type == pa.timestamp("us", "UTC")


def test_one_process_equals_cli(rules, batches, sets, cli_lines):
    state = evaluate(rules, batches, sets)
    assert state.schema.equals(scry.state_schema())
    assert results(rules.finalize([state])) == cli_lines


def test_partial_states_merge_to_the_whole(rules, batches, sets, cli_lines):
    # Any split of the events, evaluated apart, merged in any grouping and order, gives the
    # CLI's results: what Spark relies on.
    rng = random.Random(1)
    order = batches[:]
    rng.shuffle(order)
    cuts = sorted(rng.sample(range(1, len(order)), 5))
    parts = [order[a:b] for a, b in zip([0] + cuts, cuts + [len(order)])]
    states = [evaluate(rules, p, sets) for p in parts]
    assert results(rules.finalize(states)) == cli_lines
    assert results(rules.finalize([rules.merge(states)])) == cli_lines
    # Associativity: ((s0 s1) s2 ...) == (s0 (s1 (s2 ...))), as tables sorted by key.
    left = states[0]
    for s in states[1:]:
        left = rules.merge([left, s])
    right = states[-1]
    for s in reversed(states[:-1]):
        right = rules.merge([s, right])
    assert sorted_state(left).equals(sorted_state(right))
    assert results(rules.finalize([left])) == cli_lines


def test_merge_commutes(rules, batches, sets):
    half = len(batches) // 2
    a, b = evaluate(rules, batches[:half], sets), evaluate(rules, batches[half:], sets)
    ab, ba = rules.merge([a, b]), rules.merge([b, a])
    assert ab.equals(ba)


def test_merge_of_a_split_state_is_the_state(rules, batches, sets):
    whole = rules.merge([evaluate(rules, batches, sets)])
    n = whole.num_rows
    rng = random.Random(2)
    idx = list(range(n))
    rng.shuffle(idx)
    pieces = [whole.take(pa.array(idx[i:i + 97])) for i in range(0, n, 97)]
    assert sorted_state(rules.merge(pieces)).equals(sorted_state(whole))


def test_merge_of_one_group_is_one_row(rules, batches, sets):
    # What the Spark reduce relies on: the rows of one (kind, rule, key) from many tasks
    # merge into one row.
    states = [evaluate(rules, batches[i::3], sets) for i in range(3)]
    t = pa.Table.from_batches(states)
    groups = t.group_by(["kind", "rule", "key"], use_threads=False).aggregate([("state", "count")])
    big = max(groups.to_pylist(), key=lambda g: g["state_count"])
    assert big["state_count"] > 1
    mask = pc.and_(pc.equal(t["kind"], big["kind"]),
                           pc.equal(t["rule"], big["rule"]))
    mask = pc.and_(mask, pc.equal(t["key"], big["key"]))
    one = rules.merge(t.filter(mask).to_batches())
    assert one.num_rows == 1


def test_ipc_round_trip(rules, batches, sets):
    state = evaluate(rules, batches[:5], sets)
    back = scry.from_ipc(scry.to_ipc([state, state]))
    assert len(back) == 2 and all(b.equals(state) for b in back)


def test_matches_one_column_per_rule(rules, batches, sets):
    b = batches[0]
    m = rules.matches(b, sets)
    assert m.num_rows == b.num_rows
    assert m.schema.names == rules.rule_ids
    assert all(f.type == pa.bool_() for f in m.schema)
    # Some rule keeps some row of the generated data (it is built around the needles).
    assert any(pc.any(m.column(i)).as_py() for i in range(m.num_columns))


def test_string_and_view_types_agree(rules, sets, dataset):
    # Spark may hand strings as large_string; other producers as string_view.
    t = pq.read_table(sorted((dataset / "parquet").glob("*.parquet"))[0])
    plain = evaluate(rules, t.to_batches(), sets)
    for string_type in (pa.large_string(), pa.string_view()):
        schema = pa.schema([pa.field(f.name, string_type if f.type == pa.string() else f.type)
                            for f in t.schema])
        other = evaluate(rules, t.cast(schema).to_batches(), sets)
        assert results(rules.finalize([other])) == results(rules.finalize([plain]))


def test_timestamp_column_may_be_arrow_timestamp(rules, sets, dataset):
    # Rows whose Timestamp is a whole-microsecond ISO string give the same results with the
    # column as an Arrow timestamp (what Spark hands over for a Parquet TIMESTAMP).
    t = pq.read_table(sorted((dataset / "parquet").glob("*.parquet"))[0])
    ts = t.column("Timestamp").to_pylist()
    keep = [isinstance(v, str) and len(v) == 28 and v.endswith("0Z") for v in ts]
    t = t.filter(pa.array(keep))
    as_ts = pa.array([datetime.fromisoformat(v[:26] + "+00:00") for v in t["Timestamp"].to_pylist()],
                     pa.timestamp("us", "UTC"))
    t2 = t.set_column(t.schema.get_field_index("Timestamp"), "Timestamp", as_ts)
    a = results(rules.finalize([evaluate(rules, t.to_batches(), sets)]))
    b = results(rules.finalize([evaluate(rules, t2.to_batches(), sets)]))
    assert a and a == b


def test_rows_keep_input_order_across_evaluators(dataset, tmp_path):
    # Rules without summarize output rows in input order: evaluators of consecutive parts,
    # numbered from distinct chunk ranges, finalize to the CLI's order.
    from conftest import cli_results
    from conftest import ROWS_RULE

    f = tmp_path / "rows.scry"
    f.write_text(ROWS_RULE, encoding="utf-8")
    rules = scry.compile([("rows.scry", ROWS_RULE)], now=NOW)
    want = cli_results(f, sorted((dataset / "jsonl").glob("*.jsonl")))
    states = []
    for i, p in enumerate(sorted((dataset / "parquet").glob("*.parquet"))):
        ev = rules.evaluator(chunk=i << 32)
        for b in pq.ParquetFile(p).iter_batches(batch_size=500):
            ev.update(b)
        states.append(ev.state())
    states.reverse()  # merge order does not matter, only the chunk numbers
    assert len(want) > 10 and results(rules.finalize(states)) == want


def test_cli_reads_the_parquet_files_alike(dataset, cli_lines):
    # The CLI over the Parquet copy gives its results over the JSON lines: the two inputs of
    # the Spark comparison hold the same events.
    from conftest import RULES, cli_results

    assert cli_results(RULES, sorted((dataset / "parquet").glob("*.parquet"))) == cli_lines


def test_summary_counts_every_record(rules, batches, sets):
    # The "stats" rows merge like the rest: counters of any split add up to the whole run's.
    import json

    half = len(batches) // 2
    states = [evaluate(rules, batches[:half], sets), evaluate(rules, batches[half:], sets)]
    s = json.loads(rules.summary(states))
    total = sum(b.num_rows for b in batches)
    assert s["read"] == total
    assert s["read"] == s["evaluated"] + sum(s["skipped"].values())
    assert s == json.loads(rules.summary([evaluate(rules, batches, sets)]))


def test_worker_cache_keeps_the_latest_rules_only():
    # A long-lived Spark worker sees a new key per `detect` without `now`; the cache of
    # compiled rules stays bounded and keeps the newest.
    from types import SimpleNamespace

    import scry.spark as ss

    text = "rule r {\n  from DeviceProcessEvents\n  where FileName has 'x'\n}\n"
    keys = [f"test-key-{i}" for i in range(ss._RULES_KEPT + 3)]
    for i, k in enumerate(keys):
        spec = SimpleNamespace(value=([("r.scry", text)], f"2024-05-{i + 1:02d}T00:00:00Z", None))
        ss._compiled(k, spec)
        assert ss._compiled(k, spec) is ss._RULES[k]
    assert len(ss._RULES) <= ss._RULES_KEPT and keys[-1] in ss._RULES and keys[0] not in ss._RULES
