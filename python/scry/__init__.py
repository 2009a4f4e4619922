"""scry: detection rules with exact KQL semantics over Arrow data.

The native module (Rust, `scry._native`) does the work; this package re-exports it and adds
the Spark helper in `scry.spark` (imported on demand: pyspark is optional).

    import pyarrow as pa, scry
    rules = scry.compile(scry.load_sources("rules/rmm"), now="2024-05-15T12:00:00Z")
    batch = pa.RecordBatch.from_pylist(events)     # one column per event field, plus Type
    sets = None
    if rules.has_sets:                             # a rule tests a `distinct` set: collect
        collector = rules.set_collector()          # it over all the events first
        collector.update(batch)
        sets = rules.merge([collector.state()])
    ev = rules.evaluator(sets)
    ev.update(batch)
    for row in rules.finalize([ev.state()]).to_pylist():
        print(row["result"])                       # the line `scry run --format ndjson` prints

States are plain Arrow batches (`state_schema()`): partial states from any split of the
events merge (`Rules.merge`, associative and commutative) into the state of all of them, and
`Rules.finalize` turns states into the JSON lines `scry run --format ndjson` prints.
"""

from __future__ import annotations

import os
from pathlib import Path

from ._native import (  # noqa: F401  (re-exports)
    Evaluator,
    Rules,
    ScryError,
    compile,
    from_ipc,
    state_schema,
    to_ipc,
)

__all__ = [
    "Evaluator",
    "Rules",
    "ScryError",
    "compile",
    "from_ipc",
    "load_sources",
    "state_schema",
    "to_ipc",
]


def load_sources(*paths: str | os.PathLike) -> list[tuple[str, str]]:
    """The (name, text) of every `.scry` file under `paths`, in the order `scry run --rules`
    loads them (each folder's entries sorted, folders walked in place), so that results come
    in the CLI's rule order. Names are the paths as given, joined with the entry names."""
    out: list[tuple[str, str]] = []

    def walk(p: Path) -> None:
        if p.is_dir():
            # Sorted like Rust's PathBuf order for plain names: by the entry's name. A folder
            # is walked where it sorts, not after the files.
            for e in sorted(p.iterdir(), key=lambda e: os.fsencode(e.name)):
                if e.is_dir() or e.suffix == ".scry":
                    walk(e)
        else:
            out.append((str(p), p.read_text(encoding="utf-8")))

    for p in paths:
        walk(Path(p))
    if not out:
        raise ScryError(f"no .scry rule files in {', '.join(map(str, paths))}")
    return out
