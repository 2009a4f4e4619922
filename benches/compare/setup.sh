#!/usr/bin/env bash
# Creates benches/compare/.venv (ignored by git) with the pinned independent KQL engine.
# Needs network access to PyPI; not part of CI.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
python="${PYTHON:-python3}"
if [ ! -x "$here/.venv/bin/python" ]; then
    "$python" -m venv "$here/.venv"
fi
"$here/.venv/bin/pip" install --quiet --disable-pip-version-check -r "$here/requirements.txt"
"$here/.venv/bin/python" - <<'PY'
import importlib.metadata as m
for p in ("duckdb-kql", "duckdb", "antlr4-python3-runtime"):
    print(f"{p}=={m.version(p)}")
PY
