"""Shared fixtures: one generated dataset (JSON lines + Parquet, several files), the CLI's
results over it, and Spark sessions in both local modes.

Environment:
  SCRY_BIN     the `scry` binary to compare with (default: target/{release,debug}/scry under
               CARGO_TARGET_DIR or the repository's target/, the newest that exists)
  SCRY_SPARK_MASTERS  space-separated masters to test (default: local[2] local-cluster[2,1,1024])
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import eventdata  # noqa: E402

REPO = eventdata.REPO
NOW = eventdata.NOW
RULES = REPO / "rules" / "rmm"
# A rule without summarize: its results are rows in input order, not groups.
ROWS_RULE = """rule network_rows {
  id "spark-rows-1"
  from DeviceNetworkEvents
  window 5d
  where RemoteUrl has_any ('anydesk', 'server-eye')
}
"""
MASTERS = os.environ.get("SCRY_SPARK_MASTERS", "local[2] local-cluster[2,1,1024]").split()


def scry_bin() -> Path:
    if os.environ.get("SCRY_BIN"):
        return Path(os.environ["SCRY_BIN"])
    targets = [Path(os.environ["CARGO_TARGET_DIR"])] if os.environ.get("CARGO_TARGET_DIR") else []
    targets.append(REPO / "target")
    found = [t / p / "scry" for t in targets for p in ("release", "debug") if (t / p / "scry").exists()]
    if not found:
        pytest.fail("no scry binary: build it (cargo build --bin scry) or set SCRY_BIN")
    return max(found, key=lambda p: p.stat().st_mtime)


@pytest.fixture(scope="session")
def dataset(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("events")
    info = eventdata.make(out, files=4, seed=7, noise=5000)
    assert info["rows"] > 20_000 and info["dropped"] == 0, info
    return out


def cli_results(rules: Path, files: list[Path]) -> list[str]:
    cmd = [str(scry_bin()), "run", "--rules", str(rules), "--now", NOW, "--format", "ndjson",
           "--no-progress", *map(str, files)]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return out.splitlines()


@pytest.fixture(scope="session")
def cli_lines(dataset) -> list[str]:
    lines = cli_results(RULES, sorted((dataset / "jsonl").glob("*.jsonl")))
    # The data is meant to exercise every phase: many groups, and the set rule's results.
    assert len(lines) > 1000
    return lines


@pytest.fixture(scope="session")
def rule_sources():
    import scry

    return scry.load_sources(RULES)


def spark_session(master: str):
    import pyspark
    from pyspark.sql import SparkSession

    # local-cluster starts executors through $SPARK_HOME/bin scripts: the pip package is a
    # complete SPARK_HOME. Workers must run the Python that has scry installed.
    os.environ.setdefault("SPARK_HOME", str(Path(pyspark.__file__).parent))
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    return (
        SparkSession.builder.master(master)
        .appName("scry-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "8")
        # local-cluster[2,1,1024]: two executors of one core and 1 GiB each.
        .config("spark.executor.memory", "1g")
        .config("spark.driver.memory", "1g")
        .getOrCreate()
    )


@pytest.fixture(scope="module", params=MASTERS)
def spark(request):
    s = spark_session(request.param)
    s.sparkContext.setLogLevel("ERROR")
    yield s
    s.stop()
