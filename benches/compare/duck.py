"""The independent engine: duckdb-kql (KQL translated to DuckDB SQL) over typed event tables.

Tables are created with the Defender schema (engine/schemas/defender.json), as a Kusto
database would have them, and filled from JSON lines by `events.py`'s typing. Two loading
choices matter and are documented in README.md:

* `datetime` columns are DuckDB `TIMESTAMP_NS`, so the 100 ns ticks of the data survive
  (duckdb-kql's own `datetime` is the microsecond `TIMESTAMP`; with it a row one tick after
  `now()` would be truncated into the window);
* string columns never hold SQL NULL: missing / JSON null is stored as `""`, as Kusto does.

The clock is duckdb-kql's `query_now=` option: `now()` and `ago()` resolve to that instant;
no query text is rewritten for time.
"""

from __future__ import annotations

import json
import os
import tempfile
from datetime import datetime, timezone
from pathlib import Path

import duckdb_kql

import events

SQL_TYPE = {
    "string": "VARCHAR",
    "datetime": "BIGINT",  # ticks on the way in; converted to TIMESTAMP_NS on insert
    "long": "BIGINT",
    "int": "INTEGER",
    "real": "DOUBLE",
    "bool": "BOOLEAN",
    "dynamic": "VARCHAR",
}
TABLE_TYPE = dict(SQL_TYPE, datetime="TIMESTAMP_NS", dynamic="JSON")


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class DuckKql:
    def __init__(self, schema: dict[str, list[tuple[str, str]]]):
        self.schema = schema
        self.con = duckdb_kql.connect()
        for table, cols in schema.items():
            body = ", ".join(f"{_quote(c)} {TABLE_TYPE[t]}" for c, t in cols)
            self.con.execute(f"CREATE TABLE {_quote(table)} ({body})")

    def load(self, paths, table: str | None = None) -> dict[str, int]:
        """Load JSON-lines files; returns rows loaded per table."""
        counts: dict[str, int] = {}
        with tempfile.TemporaryDirectory() as tmp:
            writers = {}
            try:
                for path in paths:
                    for t, raw in events.read_rows(Path(path), self.schema, table):
                        if t not in writers:
                            writers[t] = open(os.path.join(tmp, t + ".jsonl"), "w", encoding="utf-8")
                        cols = self.schema[t]
                        row = events.typed_row(raw, cols)
                        writers[t].write(
                            json.dumps(dict(zip((c for c, _ in cols), row)), ensure_ascii=False)
                            + "\n"
                        )
                        counts[t] = counts.get(t, 0) + 1
            finally:
                for w in writers.values():
                    w.close()
            for t in writers:
                cols = self.schema[t]
                spec = "{" + ", ".join(f"'{c}': '{SQL_TYPE[ty]}'" for c, ty in cols) + "}"
                select = ", ".join(
                    f"make_timestamp_ns({_quote(c)} * 100)" if ty == "datetime"
                    else f"CAST({_quote(c)} AS JSON)" if ty == "dynamic"
                    else _quote(c)
                    for c, ty in cols
                )
                src = os.path.join(tmp, t + ".jsonl").replace("'", "''")
                self.con.execute(
                    f"INSERT INTO {_quote(t)} SELECT {select} FROM read_json('{src}', "
                    f"format='newline_delimited', columns={spec})"
                )
        return counts

    def query(self, kql: str, now_ticks: int):
        """Run `kql` with now() pinned; returns (column names, rows as tuples).

        Datetime results come back as ticks (int), so nothing is lost to Python's
        microsecond datetimes.
        """
        now = datetime.fromtimestamp(now_ticks // events.TICKS_PER_SECOND, tz=timezone.utc)
        if now_ticks % events.TICKS_PER_SECOND:
            raise ValueError("--now with a sub-second part is not supported by the harness")
        rel = duckdb_kql.query(self.con, kql, query_now=now)
        names = list(rel.columns)
        types = [str(t) for t in rel.types]
        exprs = []
        for n, t in zip(names, types):
            if t.startswith("TIMESTAMP"):
                exprs.append(f"epoch_ns({_quote(n)}) // 100 AS {_quote(n)}")
            else:
                exprs.append(_quote(n))
        rows = rel.query("_kql_result", f"SELECT {', '.join(exprs)} FROM _kql_result").fetchall()
        return names, types, rows


def versions() -> dict[str, str]:
    import importlib.metadata as m

    return {p: m.version(p) for p in ("duckdb-kql", "duckdb")}
