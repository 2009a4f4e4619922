#!/usr/bin/env python3
"""The comparative speed benchmark: scry against `wc -l` and duckdb-kql on the same files.

Lanes (each a seeded file of flat Defender rows; the Rust generator writes the background,
the independent Python generator of gen_events.py writes rows around every needle of the
upstream rules, mixed in at the lane's rate):

  q1     the ServerEye file-signature rule; 0.05 % of rows are ServerEye rows
  rmm    every rule in rules/rmm; 0.5 % of rows carry some RMM vendor's needles
  heavy  every rule in rules/rmm; 20 % of rows carry needles
  rules  the rmm file under 10 rules and under 1,000 (rules/rmm + rules/lolrmm + generated
         signer rules): the cost of rule count
  q1storage  the q1 file's events as storage-account lines (the streaming API's
         `{"time",...,"category":"AdvancedHunting-<Table>","properties":{...}}`, CRLF)
  storage    every pack (rules/) over the rmm file's events as storage-account lines
  eventhub   every pack (rules/) over the rmm file's events as Event Hub batches
         (`{"records":[...]}` of 1 to 10 storage records per line)
  sigmastorage   the vendored SigmaHQ rules (rules/sigma, ~3,750) over the storage file
  sigmaeventhub  the same rules over the Event Hub file
         scry only: duckdb-kql runs KQL, not Sigma, so these lanes have no comparison; they
         count scry's result rows before timing and say so in the table

The storage and Event Hub files hold the very events of the flat file they come from, so
duckdb-kql (which loads flat rows) runs over the flat file and scry over the other shape, and
their results must still agree.

For each lane: `wc -l`, scry with 1 thread and with all cores, and (q1, rmm, heavy)
duckdb-kql running the rules' KQL as `scry export kql` prints it (loading the file into
typed tables with DuckDB's own JSON reader, then the queries). Before timing, the results of
scry and duckdb-kql are compared group by group (keys, Count, FirstSeen, LastSeen, Report as
a set); timing is hyperfine's (median of --runs). Prints a markdown table of GB/s and the
ratios the issue asks for; peak RSS comes from /usr/bin/time -v.

    benches/compare/setup.sh && apt-get install hyperfine
    ./benches/compare/speed.py --size-mb 1024 [--lanes q1,rmm,heavy,rules] [--runs 3]

Not part of CI (it needs the venv and minutes); `--size-mb 8 --runs 1` is a smoke run.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
VENV_PY = HERE / ".venv" / "bin" / "python"
if (
    Path(sys.prefix).resolve() != (HERE / ".venv").resolve()
    and VENV_PY.exists()
    and not os.environ.get("KQL_DIFF_NO_REEXEC")
):
    os.execv(str(VENV_PY), [str(VENV_PY), __file__, *sys.argv[1:]])

import argparse  # noqa: E402
import json  # noqa: E402
import random  # noqa: E402
import re  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
import time  # noqa: E402

REPO = HERE.parent.parent
NOW = "2024-05-15T12:00:00Z"
SCRY = REPO / "target" / "release" / "scry"
GEN = REPO / "target" / "release" / "examples" / "gen_events"


def sh(cmd, **kw):
    return subprocess.run(cmd, check=True, **kw)


def build():
    sh(["cargo", "build", "--release", "--quiet", "--bin", "scry", "--example", "gen_events"], cwd=REPO)


# --- data -------------------------------------------------------------------------------------


def signal_rows(rule_filter, seed: int) -> list[str]:
    """Rows around the needles of the upstream rules (only the rules `rule_filter` accepts),
    kept to those duckdb-kql handles as the contract says (no character where DuckDB's
    `lower()` differs from case folding: deviations D1/D2) and whose Timestamp DuckDB reads
    (not `yesterday`, not an offset): the engines must agree on every row of the benchmark."""
    import deviations
    import gen_events
    import kqlsrc

    rules = [r for r in kqlsrc.load_corpus(REPO / "tests" / "data" / "rmm-kql") if rule_filter(r)]
    g = gen_events.generate(rules, seed=seed, noise=0, now=NOW, repeat=1)
    rows = [row for row, _ in g.rows]
    iso = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,7})?Z")
    keep = [
        row for row, flags in zip(rows, deviations.flag_events(rows))
        if not flags and iso.fullmatch(str(row.get("Timestamp", "")))
    ]
    return [json.dumps(row, ensure_ascii=False) for row in keep]


def make_lane_file(path: Path, size_mb: int, rate: float, signals: list[str], seed: int):
    """Background rows from the Rust generator with `rate` of signal rows mixed in."""
    if path.exists() and path.stat().st_size >= size_mb * 1_000_000 * 0.95:
        return
    rng = random.Random(seed)
    # ~2.5 KB per background row.
    rows = max(1, size_mb * 1_000_000 // 2_500)
    gen = subprocess.Popen(
        [str(GEN), "--seed", str(seed), "--rows", str(rows), "--shape", "flat", "--match-rate", "0",
         "--near-miss-rate", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w", encoding="utf-8") as out:
        assert gen.stdout is not None
        for line in gen.stdout:
            out.write(line.decode("utf-8"))
            if signals and rng.random() < rate / (1 - rate):
                out.write(signals[rng.randrange(len(signals))] + "\n")
    gen.wait()
    tmp.rename(path)


def reshape(flat: Path, path: Path, shape: str, seed: int):
    """The events of `flat` (one row per line with `Type`) as storage-account lines or Event Hub
    batches, in the same order."""
    if path.exists() and path.stat().st_mtime >= flat.stat().st_mtime:
        return
    rng = random.Random(seed)
    tmp = path.with_suffix(".tmp")

    def record(line: str) -> dict:
        row = json.loads(line)
        table = row.pop("Type")
        return {"time": row.get("Timestamp") or NOW, "tenantId": "565d3cf7-8cb8-95a0-2b22-9a02ee057088",
                "operationName": "Publish", "category": f"AdvancedHunting-{table}", "properties": row}

    with open(flat, encoding="utf-8") as src, open(tmp, "w", encoding="utf-8", newline="") as out:
        batch: list[dict] = []
        want = rng.randint(1, 10)
        for line in src:
            if not line.strip():
                continue
            rec = record(line)
            if shape == "storage":
                out.write(json.dumps(rec, ensure_ascii=False, separators=(",", ":")) + "\r\n")
                continue
            batch.append(rec)
            if len(batch) == want:
                out.write(json.dumps({"records": batch}, ensure_ascii=False, separators=(",", ":")) + "\n")
                batch, want = [], rng.randint(1, 10)
        if batch:
            out.write(json.dumps({"records": batch}, ensure_ascii=False, separators=(",", ":")) + "\n")
    tmp.rename(path)


def generated_signer_rules(n: int) -> str:
    """`n` file-signature rules for made-up vendors: the rule-count lane's filler."""
    out = []
    for i in range(n):
        out.append(
            f"rule synthetic_signer_{i:04d} {{\n"
            f'  id "00000000-0000-4000-8000-{i:012d}"\n'
            f"  from DeviceFileCertificateInfo\n  window 5d\n"
            f"  where Signer has 'Synthetic Vendor {i:04d} GmbH'\n"
            f"  summarize FirstSeen = min(Timestamp), LastSeen = max(Timestamp), "
            f"Count = count() by DeviceId, DeviceName\n  examples {{}}\n}}\n"
        )
    return "".join(out)


# --- engines ----------------------------------------------------------------------------------


def exported_queries(rules: Path) -> list[dict]:
    """`scry export kql` of every rule file under `rules`: [{name, kql}]."""
    files = sorted(rules.rglob("*.scry")) if rules.is_dir() else [rules]
    out = []
    for f in files:
        # Exit 2 with the others exported when some rules have no KQL form (thresholds,
        # sequences, combining joins): those are refused by name and left out of the check.
        p = subprocess.run([str(SCRY), "export", "kql", str(f)], capture_output=True, text=True)
        refused = re.findall(r"error\[E0310\]: (.*)", p.stderr)
        if p.returncode not in (0, 2) or (p.returncode == 2 and not refused):
            sys.exit(f"scry export kql {f} failed:\n{p.stderr}")
        for why in refused:
            print(f"  not compared ({f.name}): {why}", file=sys.stderr)
        text = p.stdout
        name, body, prev = None, [], ""
        for line in text.splitlines():
            # Each query starts with `// <rule name>` after a blank line.
            header = re.fullmatch(r"// ([A-Za-z_][A-Za-z0-9_]*)", line)
            if header and not prev.strip():
                if name:
                    out.append(dict(name=name, kql="\n".join(body)))
                name, body = header.group(1), []
            else:
                body.append(line)
            prev = line
        if name:
            out.append(dict(name=name, kql="\n".join(body)))
    return out


def duck_run(data: Path, queries_file: Path, out_file: Path):
    """Loads `data` into typed tables and runs every query; writes {name: [rows]}."""
    from datetime import datetime

    import duckdb_kql

    import events

    schema = events.load_schema(REPO / "engine" / "schemas" / "defender.json")
    con = duckdb_kql.connect()
    union: dict[str, str] = {"Type": "VARCHAR"}
    sql = {"string": "VARCHAR", "datetime": "VARCHAR", "long": "BIGINT", "int": "INTEGER",
           "real": "DOUBLE", "bool": "BOOLEAN", "dynamic": "VARCHAR"}
    for cols in schema.values():
        for c, t in cols:
            union[c] = sql[t] if union.get(c, sql[t]) == sql[t] else "VARCHAR"
    spec = "{" + ", ".join(f"'{c}': '{t}'" for c, t in union.items()) + "}"
    src = str(data).replace("'", "''")
    con.execute(
        f"CREATE TEMP TABLE raw AS SELECT * FROM read_json('{src}', format='newline_delimited', "
        f"columns={spec})"
    )
    for table, cols in schema.items():
        typed = {"string": "VARCHAR", "datetime": "TIMESTAMP_NS", "long": "BIGINT",
                 "int": "INTEGER", "real": "DOUBLE", "bool": "BOOLEAN", "dynamic": "JSON"}
        con.execute(
            f'CREATE TABLE "{table}" ('
            + ", ".join(f'"{c}" {typed[t]}' for c, t in cols)
            + ")"
        )
        select = ", ".join(
            f'COALESCE("{c}", \'\')' if t == "string"
            else f'TRY_CAST("{c}" AS TIMESTAMP_NS)' if t == "datetime"
            else f'CAST("{c}" AS JSON)' if t == "dynamic"
            else f'"{c}"'
            for c, t in cols
        )
        con.execute(f'INSERT INTO "{table}" SELECT {select} FROM raw WHERE "Type" = \'{table}\'')
    con.execute("DROP TABLE raw")
    now = datetime.fromisoformat(NOW.replace("Z", "+00:00"))
    results = {}
    for q in json.loads(queries_file.read_text()):
        rel = duckdb_kql.query(con, q["kql"], query_now=now)
        names = list(rel.columns)
        exprs = [
            f'strftime("{n}", \'%Y-%m-%dT%H:%M:%S.%n\') AS "{n}"'
            if str(t).startswith("TIMESTAMP") else f'"{n}"'
            for n, t in zip(names, rel.types)
        ]
        rows = rel.query("r", f"SELECT {', '.join(exprs)} FROM r").fetchall()
        results[q["name"]] = [dict(zip(names, r)) for r in rows]
    out_file.write_text(json.dumps(results, default=str, ensure_ascii=False))


def scry_packs(work: Path) -> Path:
    """`rules/` without the vendored SigmaHQ rules (`rules/sigma`): the scry packs the lanes call
    every pack (issue 15's 413 rules). The Sigma rules have lanes of their own (sigmastorage,
    sigmaeventhub) and benches/sigma_peers."""
    packs = work / "packs"
    if packs.exists():
        shutil.rmtree(packs)
    shutil.copytree(REPO / "rules", packs, ignore=shutil.ignore_patterns("catalogue", "sigma"))
    return packs


def scry_cmd(rules: Path, data: Path, threads: int, out: str = "/dev/null") -> list[str]:
    return [str(SCRY), "run", "--rules", str(rules), "--now", NOW, "--threads", str(threads),
            "--format", "ndjson", "--output", out, str(data)]


def norm_time(v):
    """Datetimes to 100 ns text (`2024-05-14T08:00:00.0000000`), however an engine prints them."""
    if v is None:
        return None
    s = str(v).replace("Z", "")
    if "." in s:
        head, frac = s.split(".", 1)
        frac = (frac + "0000000")[:7]
    else:
        head, frac = s, "0000000"
    return head + "." + frac


def agree(rules: Path, data: Path, queries: list[dict], duck_out: Path, work: Path) -> str:
    """Runs scry once and compares its groups with duckdb-kql's, rule by rule."""
    scry_out = work / "scry.ndjson"
    sh(scry_cmd(rules, data, 2, str(scry_out)), stderr=subprocess.DEVNULL)
    ids = {}
    for f in sorted(rules.rglob("*.scry")) if rules.is_dir() else [rules]:
        name = None
        for line in f.read_text(encoding="utf-8").splitlines():
            s = line.strip()
            if s.startswith("rule "):
                name = s.split()[1]
            elif s.startswith("id ") and name:
                ids[s.split('"')[1]] = name
    by_rule: dict[str, list] = {}
    for line in scry_out.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        by_rule.setdefault(ids.get(row.pop("rule"), "?"), []).append(row)
    duck = json.loads(duck_out.read_text())
    bad = []
    groups = 0
    for q in queries:
        a = duck.get(q["name"], [])
        b = by_rule.get(q["name"], [])
        def as_set(v):
            # make_set values: duckdb-kql gives JSON text, scry an array; order is unspecified.
            if isinstance(v, str) and v.startswith("["):
                try:
                    v = json.loads(v)
                except ValueError:
                    return None
            return sorted(map(str, v)) if isinstance(v, list) else None

        def key(r):
            return json.dumps(
                {k: (sorted(map(str, json.loads(v) if isinstance(v, str) else v or []))
                     if k == "Report" else
                     as_set(v) if as_set(v) is not None else
                     norm_time(v) if k in ("FirstSeen", "LastSeen") else
                     str(v) if v is not None else "")
                 for k, v in r.items() if k not in ("title", "name")},
                sort_keys=True, ensure_ascii=False,
            )
        ka, kb = sorted(map(key, a)), sorted(map(key, b))
        groups += len(ka)
        if ka != kb:
            bad.append(f"{q['name']}: duckdb-kql {len(ka)} rows, scry {len(kb)}")
    return f"{groups} result rows agree" if not bad else "DISAGREE: " + "; ".join(bad[:5])


def hyperfine(cmds: dict[str, list[str]], runs: int, work: Path) -> dict[str, float]:
    """Median seconds per command."""
    out = work / "hyperfine.json"
    args = ["hyperfine", "--style", "none", "--warmup", "1", "--runs", str(runs), "--export-json", str(out)]
    for name, cmd in cmds.items():
        args += ["-n", name, " ".join(map(quote, cmd))]
    sh(args, stdout=subprocess.DEVNULL)
    return {r["command"]: r["median"] for r in json.loads(out.read_text())["results"]}


def quote(s: str) -> str:
    return "'" + s.replace("'", "'\\''") + "'" if any(c in s for c in " '\"()$") else s


def peak_rss_mb(cmd: list[str]) -> float:
    p = subprocess.run(["/usr/bin/time", "-v", *cmd], capture_output=True, text=True)
    for line in p.stderr.splitlines():
        if "Maximum resident set size" in line:
            return int(line.split()[-1]) / 1024
    return float("nan")


# --- main -------------------------------------------------------------------------------------


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size-mb", type=int, default=1024)
    ap.add_argument("--lanes",
                    default="q1,rmm,heavy,rules,q1storage,storage,eventhub,sigmastorage,sigmaeventhub")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--work", type=Path, default=Path("/tmp/scry-speed"))
    ap.add_argument("--no-duckdb", action="store_true")
    ap.add_argument("--no-build", action="store_true", help="use target/release/scry as it is")
    ap.add_argument("--check-only", action="store_true",
                    help="only check that scry and duckdb-kql agree on every lane (CI smoke)")
    ap.add_argument("--duck-run", nargs=3, metavar=("DATA", "QUERIES", "OUT"), help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    sys.path.insert(0, str(HERE))
    if a.duck_run:
        duck_run(*map(Path, a.duck_run))
        return 0
    if not shutil.which("hyperfine") and not a.check_only:
        sys.exit("speed: install hyperfine (apt-get install hyperfine)")
    if not a.no_build:
        build()
    a.work.mkdir(parents=True, exist_ok=True)
    cores = os.cpu_count() or 1
    servereye = lambda r: "ServerEye" in str(r.path) and "filesig" in str(r.path)  # noqa: E731
    everything = lambda r: True  # noqa: E731
    q1_rules = a.work / "q1.scry"
    text = (REPO / "rules" / "rmm" / "servereye.scry").read_text(encoding="utf-8")
    start = text.index("rule servereye_file_signature")
    end = text.index("\nrule ", start + 1)
    q1_rules.write_text(text[start:end], encoding="utf-8")
    lanes = {
        "q1": (q1_rules, 0.0005, servereye),
        "rmm": (REPO / "rules" / "rmm", 0.005, everything),
        "heavy": (REPO / "rules" / "rmm", 0.20, everything),
    }
    # Lanes over other shapes: (rules, the flat lane whose events they hold, shape).
    packs = scry_packs(a.work)
    shaped = {
        "q1storage": (q1_rules, "q1", "storage"),
        "storage": (packs, "rmm", "storage"),
        "eventhub": (packs, "rmm", "eventhub"),
        "sigmastorage": (REPO / "rules" / "sigma", "rmm", "storage"),
        "sigmaeventhub": (REPO / "rules" / "sigma", "rmm", "eventhub"),
    }
    # Lanes duckdb-kql cannot run (it takes KQL; these rules are Sigma).
    scry_only = {"sigmastorage", "sigmaeventhub"}
    table = []
    failed = False
    for lane in [x for x in a.lanes.split(",") if x in lanes or x in shaped or x == "rules"]:
        if lane == "rules" and a.check_only:
            continue
        base = "rmm" if lane == "rules" else shaped[lane][1] if lane in shaped else lane
        rules, rate, pick = lanes[base]
        # A check on a few MB needs enough needle rows to compare: at least 5 %.
        rate = max(rate, 0.05) if a.check_only else rate
        flat = a.work / f"{base}-{a.size_mb}mb-{rate}.jsonl"
        t0 = time.time()
        make_lane_file(flat, a.size_mb, rate, signal_rows(pick, a.seed), a.seed)
        data = flat
        if lane in shaped:
            rules, _, shape = shaped[lane]
            data = a.work / f"{base}-{a.size_mb}mb-{rate}.{shape}.jsonl"
            reshape(flat, data, shape, a.seed)
        size = data.stat().st_size
        print(f"[{lane}] {data} {size / 1e9:.2f} GB (made in {time.time() - t0:.0f} s)", flush=True)
        if lane == "rules":
            # Ten real rules: the first packs of rules/rmm (3 + 1 + 3 + 3 rules).
            ten = a.work / "ten"
            if ten.exists():
                shutil.rmtree(ten)
            ten.mkdir()
            for f in ("action1", "all_tools", "aeroadmin", "ammyy"):
                shutil.copy(REPO / "rules" / "rmm" / f"{f}.scry", ten)
            thousand = a.work / "thousand"
            if thousand.exists():
                shutil.rmtree(thousand)
            shutil.copytree(packs, thousand)
            have = int(sh([str(SCRY), "check", "--rules", str(thousand)], capture_output=True,
                          text=True).stderr.split(" rule(s)")[0].split()[-1])
            (thousand / "synthetic.scry").write_text(generated_signer_rules(1000 - have), encoding="utf-8")
            t = hyperfine({"10 rules": scry_cmd(ten, data, 1), "1000 rules": scry_cmd(thousand, data, 1)},
                          a.runs, a.work)
            table.append((lane, size, {"10 rules": t["10 rules"], "1000 rules": t["1000 rules"]},
                          f"1000 / 10 rules: {t['1000 rules'] / t['10 rules']:.2f}x the time"))
            continue
        cmds = {"wc -l": ["wc", "-l", str(data)],
                "scry 1 thread": scry_cmd(rules, data, 1),
                f"scry {cores} threads": scry_cmd(rules, data, cores)}
        check = ""
        if lane in scry_only:
            out = a.work / f"{lane}.scry.ndjson"
            sh(scry_cmd(rules, data, cores, str(out)), stderr=subprocess.DEVNULL)
            with out.open(encoding="utf-8") as f:
                rows = sum(1 for _ in f)
            check = f"scry only ({rows} result rows): duckdb-kql cannot run Sigma rules"
            print(f"[{lane}] {check}", flush=True)
            if a.check_only:
                continue
        elif not a.no_duckdb:
            queries = exported_queries(rules)
            qf = a.work / f"{lane}.queries.json"
            qf.write_text(json.dumps(queries))
            dout = a.work / f"{lane}.duck.json"
            # duckdb-kql loads flat rows: the flat file holds the same events.
            duck = [str(VENV_PY), str(Path(__file__)), "--duck-run", str(flat), str(qf), str(dout)]
            sh(duck)
            check = agree(rules, data, queries, dout, a.work)
            print(f"[{lane}] {check}", flush=True)
            if check.startswith("DISAGREE"):
                failed = True
            if a.check_only:
                continue
            cmds["duckdb-kql"] = duck
        t = hyperfine(cmds, a.runs, a.work)
        rss = peak_rss_mb(scry_cmd(rules, data, cores))
        table.append((lane, size, t, f"{check}; scry peak RSS {rss:.0f} MB"))
    if a.check_only:
        print("speed: every lane agrees" if not failed else "speed: lanes DISAGREE")
        return 1 if failed else 0
    print()
    print("| lane | size | what | median s | GB/s | vs wc -l | vs duckdb-kql |")
    print("|---|---|---|---|---|---|---|")
    for lane, size, t, note in table:
        wc = t.get("wc -l")
        dk = t.get("duckdb-kql")
        for name, secs in t.items():
            gbs = size / secs / 1e9
            r_wc = f"{wc / secs:.2f}x" if wc and name.startswith("scry") else ""
            r_dk = f"{dk / secs:.1f}x" if dk and name.startswith("scry") else ""
            print(f"| {lane} | {size / 1e9:.2f} GB | {name} | {secs:.3f} | {gbs:.2f} | {r_wc} | {r_dk} |")
        print(f"| {lane} | | {note} | | | | |")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
