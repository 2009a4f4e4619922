#!/usr/bin/env bash
# CI of the Python package and the Spark helper (issue 6), called at the end of .ci/run:
# a throw-away virtualenv with the pinned requirements, the abi3 wheel built by maturin and
# installed, then pytest: the native API (one process, merge laws) and `scry.spark.detect`
# in local[2] and local-cluster[2,1,1024], each compared line for line with `scry run`.
# Needs Java 17+ and PyPI; everything else comes from this repository's files.
set -euo pipefail
cd "$(dirname "$0")/.."
repo="$(pwd)"
target="${CARGO_TARGET_DIR:-$repo/target}"
venv="${SCRY_PY_VENV:-$repo/python/.venv}"
started=$SECONDS

# The root workspace's `cargo fmt --all` does not reach python/ (its own workspace).
cargo fmt --manifest-path python/Cargo.toml --check

if [ ! -x "$venv/bin/python" ]; then
  "${PYTHON:-python3}" -m venv "$venv"
fi
"$venv/bin/pip" install --quiet --disable-pip-version-check -r python/requirements-ci.txt

# The CLI the results are compared with. In CI, the binary `cargo test --workspace` built for
# the integration tests (a `cargo build` here would select other features and rebuild part of
# the graph); elsewhere, built now.
if [ -z "${SCRY_BIN:-}" ]; then
  if [ "${CI:-}" != true ] || [ ! -x "$target/debug/scry" ]; then
    cargo build --locked --quiet --bin scry
  fi
  export SCRY_BIN="$target/debug/scry"
fi

# The wheel, as a user gets it: release, abi3. `--compatibility linux`: a wheel for this
# machine only (the manylinux tag needs an old glibc or zig; docs/spark.md says how).
# Not `--locked`: python/ is its own workspace with its own Cargo.lock, and a dependency the
# engine adds in the root workspace must not fail this build; cargo keeps every version that
# python/Cargo.lock pins and adds only what is new.
wheels="$target/wheels-ci"
rm -rf "$wheels"
"$venv/bin/maturin" build --quiet --release --compatibility linux \
  -m python/Cargo.toml -i "$venv/bin/python" --out "$wheels"
"$venv/bin/pip" install --quiet --disable-pip-version-check --force-reinstall --no-deps "$wheels"/scry-*.whl
echo "python/ci.sh: wheel built and installed in $((SECONDS - started)) s"

# Spark: the pip package is a complete SPARK_HOME (local-cluster starts executors through its
# bin/ scripts); every Python worker must be the venv's, where scry is installed.
SPARK_HOME="$("$venv/bin/python" -c 'import os, pyspark; print(os.path.dirname(pyspark.__file__))')"
export SPARK_HOME
export PYSPARK_PYTHON="$venv/bin/python" PYSPARK_DRIVER_PYTHON="$venv/bin/python"
export SPARK_LOCAL_IP=127.0.0.1

# From the repository root, not python/: `python -m pytest` puts the working directory on
# sys.path, and python/scry (without the native module) would hide the installed wheel.
"$venv/bin/python" -m pytest -p no:cacheprovider -q --durations=5 python/tests
echo "python/ci.sh: done in $((SECONDS - started)) s"
