"""Reading flat Defender rows (JSON lines) and typing them by the table schema.

Independent of scry's reader on purpose: this is the harness's own idea of what a row means,
written from the contract (spec §1, §7) and Kusto's ingestion rules:

* a string column that is missing or JSON `null` holds `""` (Kusto strings are never null);
* datetimes are UTC with 100 ns ticks, ISO 8601 with 0-7 fractional digits, `Z` or an offset;
  an unparseable or missing datetime is null;
* long/int/real/bool columns take JSON numbers/booleans (or their text); anything else is null;
* `dynamic` columns keep their JSON text (no rule reads one).

Each row names its table in a `Type` column (or the caller passes one table for the file).
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

TICKS_PER_SECOND = 10_000_000
_DT = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,7}))?"
    r"(Z|z|[+-]\d{2}:?\d{2})?$"
)
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def parse_datetime_ticks(text) -> int | None:
    """Ticks (100 ns) since the Unix epoch, or None when `text` is not a datetime."""
    if not isinstance(text, str):
        return None
    m = _DT.match(text.strip())
    if not m:
        return None
    y, mo, d, h, mi, s, frac, tz = m.groups()
    try:
        base = datetime(int(y), int(mo), int(d), int(h), int(mi), int(s), tzinfo=timezone.utc)
    except ValueError:
        return None
    secs = (base - _EPOCH) // timedelta(seconds=1)
    ticks = secs * TICKS_PER_SECOND + (int((frac or "").ljust(7, "0")) if frac else 0)
    if tz and tz not in ("Z", "z"):
        sign = 1 if tz[0] == "+" else -1
        digits = tz[1:].replace(":", "")
        offset = int(digits[:2]) * 3600 + int(digits[2:]) * 60
        ticks -= sign * offset * TICKS_PER_SECOND
    return ticks


def format_ticks(ticks: int | None) -> str | None:
    """`2024-05-15T12:00:00.0000000Z` (Kusto's and scry's output form)."""
    if ticks is None:
        return None
    secs, frac = divmod(ticks, TICKS_PER_SECOND)
    dt = datetime.fromtimestamp(secs, tz=timezone.utc)
    return dt.strftime("%Y-%m-%dT%H:%M:%S") + f".{frac:07d}Z"


def load_schema(path: Path) -> dict[str, list[tuple[str, str]]]:
    """{table: [(column, kql type), ...]} from engine/schemas/defender.json."""
    doc = json.loads(path.read_text(encoding="utf-8"))
    # A table is its column list, or an object with a description and `columns`.
    def columns(table):
        return table["columns"] if isinstance(table, dict) else table

    return {
        t: [(c["name"], c["type"]) for c in columns(table)] for t, table in doc["tables"].items()
    }


def _to_int(v):
    if isinstance(v, bool):
        return None
    if isinstance(v, int):
        return v
    if isinstance(v, float) and v.is_integer():
        return int(v)
    if isinstance(v, str):
        try:
            return int(v.strip())
        except ValueError:
            return None
    return None


def _to_real(v):
    if isinstance(v, bool):
        return None
    if isinstance(v, (int, float)):
        return float(v)
    if isinstance(v, str):
        try:
            return float(v)
        except ValueError:
            return None
    return None


def _to_bool(v):
    if isinstance(v, bool):
        return v
    if isinstance(v, str) and v.lower() in ("true", "false"):
        return v.lower() == "true"
    if isinstance(v, int):
        return v != 0
    return None


def _to_string(v):
    if v is None:
        return ""
    if isinstance(v, str):
        return v
    return json.dumps(v, ensure_ascii=False, separators=(",", ":"))


def _to_dynamic(v):
    if v is None:
        return None
    return v if isinstance(v, str) else json.dumps(v, ensure_ascii=False)


CONVERT = {
    "string": _to_string,
    "datetime": parse_datetime_ticks,
    "long": _to_int,
    "int": _to_int,
    "real": _to_real,
    "bool": _to_bool,
    "dynamic": _to_dynamic,
}


def typed_row(raw: dict, columns: list[tuple[str, str]]) -> list:
    return [CONVERT[t](raw.get(name)) for name, t in columns]


def _records(raw):
    """Flat rows out of one JSON line: a flat row, a streaming-API record
    (`{"category": "AdvancedHunting-<Table>", "properties": {...}}`) or an Event Hub message
    (`{"records": [...]}`); yields (table or None, row)."""
    if isinstance(raw, dict) and isinstance(raw.get("records"), list):
        for r in raw["records"]:
            yield from _records(r)
    elif isinstance(raw, dict) and isinstance(raw.get("properties"), dict):
        cat = raw.get("category") or ""
        yield (cat[len("AdvancedHunting-"):] if cat.startswith("AdvancedHunting-") else None), raw["properties"]
    elif isinstance(raw, dict):
        yield raw.get("Type"), raw


def read_rows(path: Path, schema, table: str | None = None):
    """Yield (table, raw dict) for each row of a JSON-lines file whose table is in `schema`."""
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            for t, row in _records(json.loads(line)):
                t = table or t
                if t in schema:
                    yield t, row
