#!/usr/bin/env python3
"""Helpers of the Sigma peers bench (run.sh): input conversion, match sets, the comparison.

Subcommands (stdlib only):

  twins REGDIR OUTDIR           each JSON twin of the regression tests (concatenated evtx_dump
                                objects) as one compact object per line, OUTDIR/<n>.ndjson
  chainsaw-mapping IN OUT       Chainsaw's EVTX mapping rewritten for flat JSON lines (the
                                generated Sysmon file): same rules, fields read at the top level
  sets ENGINE OUT.json FILE..   one engine's raw output -> {"rule id": [event key, ...]}
  compare --case NAME ...       the match sets of every engine side by side, rule by rule,
                                written as a markdown section with every difference classified

An event's key is its creation time to the microsecond (see `event_key`); reports show its
`EventRecordID` (in the generated file, its line number).
"""

import argparse
import collections
import json
import pathlib
import re
import sys

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from gen_sysmon import flatten, read_concatenated  # noqa: E402

SYSMON = "Microsoft-Windows-Sysmon/Operational"
# Sysmon event ids of the Windows logsource categories (Sysmon's own documentation; the
# mapping every Sigma backend uses). process_creation also comes from Security 4688.
CATEGORY_EIDS = {
    "process_creation": {1}, "file_change": {2}, "network_connection": {3}, "sysmon_status": {4, 16},
    "process_termination": {5}, "driver_load": {6}, "image_load": {7}, "create_remote_thread": {8},
    "raw_access_thread": {9}, "process_access": {10}, "file_event": {11}, "registry_add": {12},
    "registry_delete": {12}, "registry_set": {13}, "registry_rename": {14},
    "registry_event": {12, 13, 14}, "create_stream_hash": {15}, "pipe_created": {17, 18},
    "wmi_event": {19, 20, 21}, "dns_query": {22}, "file_delete": {23, 26}, "clipboard_capture": {24},
    "process_tampering": {25}, "file_block_executable": {27}, "file_block_shredding": {28},
    "file_executable_detected": {29}, "sysmon_error": {255},
}
SERVICE_CHANNELS = {
    "security": "Security", "system": "System", "application": "Application", "sysmon": SYSMON,
    "powershell": "Microsoft-Windows-PowerShell/Operational", "powershell-classic": "Windows PowerShell",
    "taskscheduler": "Microsoft-Windows-TaskScheduler/Operational",
    "windefend": "Microsoft-Windows-Windows Defender/Operational",
}


# ---------------------------------------------------------------------------------------------
# inputs

def cmd_twins(a):
    out = pathlib.Path(a.outdir)
    out.mkdir(parents=True, exist_ok=True)
    n = 0
    for p in sorted(pathlib.Path(a.regdir).rglob("*.json")):
        docs = read_concatenated(p)
        (out / (p.stem + ".ndjson")).write_text(
            "".join(json.dumps(d, ensure_ascii=False, separators=(",", ":")) + "\n" for d in docs),
            encoding="utf-8")
        n += 1
    print(f"twins: {n} files -> {out}", file=sys.stderr)


def cmd_chainsaw_mapping(a):
    """Rewrite the EVTX mapping's field paths for flat rows: Event.EventData.X -> X,
    Event.System.X -> X (Provider is a plain string there), kind evtx -> json."""
    text = pathlib.Path(a.src).read_text(encoding="utf-8")
    text = re.sub(r"(?m)^kind: evtx$", "kind: jsonl", text)
    text = re.sub(r"Event\.EventData\.", "", text)
    text = re.sub(r"Event\.System\.", "", text)
    # the group's "Event Data" column reads the whole EventData object, which flat rows lack
    text = re.sub(r"(?m)^( +)- name: Event Data\n\1  from: EventData\n\1  to: Event\.EventData\n", "", text)
    pathlib.Path(a.dst).write_text(text, encoding="utf-8")


# ---------------------------------------------------------------------------------------------
# match sets

TIME = re.compile(r"(\d{4}-\d\d-\d\d)[T ](\d\d:\d\d:\d\d)(?:\.(\d+))?")


def time_key(text):
    """An event time as microseconds text (engines print 6 or 7 fractional digits)."""
    m = TIME.search(str(text)) if text else None
    if not m:
        return None
    return f"{m.group(1)}T{m.group(2)}.{((m.group(3) or '') + '000000')[:6]}"


def event_key(ev):
    """The key of an event as an engine echoes it (flat row, evtx_dump or scry's result row):
    its creation time to the microsecond. Unique per event in the regression data and in the
    generated file (whose times strictly increase); scry's Sigma result rows carry the time
    (`Timestamp`) but not the record id, so the time is what every engine can give back."""
    if not isinstance(ev, dict):
        return None
    for k in ("TimeCreated", "Timestamp"):
        if isinstance(ev.get(k), str):
            return time_key(ev[k])
    e = ev.get("Event")
    if isinstance(e, dict):
        s = e.get("System") or {}
        tc = s.get("TimeCreated")
        if isinstance(tc, dict):
            return time_key((tc.get("#attributes") or {}).get("SystemTime"))
        # Chainsaw's EVTX documents spell attributes as `<name>_attributes`
        return time_key((s.get("TimeCreated_attributes") or {}).get("SystemTime"))
    return None


def json_values(path):
    """Every JSON value of a file: JSON lines, one document, or concatenated documents."""
    text = pathlib.Path(path).read_text(encoding="utf-8", errors="replace")
    dec = json.JSONDecoder()
    i = 0
    while True:
        while i < len(text) and text[i].isspace():
            i += 1
        if i >= len(text):
            return
        try:
            v, i = dec.raw_decode(text, i)
        except json.JSONDecodeError:
            j = text.find("\n", i)  # a non-JSON line (a log line on stdout): skip it
            if j < 0:
                return
            i = j + 1
            continue
        if isinstance(v, list):
            yield from v
        else:
            yield v


def sets_scry(files):
    out = collections.defaultdict(set)
    for f in files:
        for row in json_values(f):
            rid = event_key(row)
            if rid is not None and row.get("rule"):
                out[row["rule"]].add(rid)
    return out


def sets_rsigma(files):
    out = collections.defaultdict(set)
    for f in files:
        for m in json_values(f):
            rule = m.get("rule_id") or m.get("id")
            ev = m.get("event")
            rid = event_key(ev)
            if rule and rid is not None:
                out[rule].add(rid)
    return out


def sets_chainsaw(files):
    out = collections.defaultdict(set)
    for f in files:
        for det in json_values(f):
            docs = det.get("document")
            docs = docs if isinstance(docs, list) else [docs]
            for d in docs:
                rid = event_key((d or {}).get("data"))
                if rid is not None and det.get("id"):
                    out[det["id"]].add(rid)
    return out


SETS = {"scry": sets_scry, "rsigma": sets_rsigma, "chainsaw": sets_chainsaw}


def cmd_sets(a):
    s = SETS[a.engine](a.files)
    pathlib.Path(a.out).write_text(json.dumps({k: sorted(v) for k, v in sorted(s.items())}, indent=0))
    print(f"{a.engine}: {sum(len(v) for v in s.values())} matches of {len(s)} rules", file=sys.stderr)


# ---------------------------------------------------------------------------------------------
# the comparison

def load_rules(root):
    """id -> {title, path, logsource} for every Sigma rule document under root."""
    rules = {}
    for p in sorted(pathlib.Path(root).rglob("*.yml")):
        text = p.read_text(encoding="utf-8", errors="replace")
        m = re.search(r"(?m)^id:\s*['\"]?([0-9a-fA-F-]{36})", text)
        if not m:
            continue
        t = re.search(r"(?m)^title:\s*(.+)$", text)
        ls = {}
        blk = re.search(r"(?ms)^logsource:\n((?:[ \t]+.*\n)+)", text)
        if blk:
            for k, v in re.findall(r"(?m)^[ \t]+(product|category|service):\s*(\S+)", blk.group(1)):
                ls[k] = v.strip("'\"")
        rules[m.group(1).lower()] = {"title": t.group(1).strip().strip("'\"") if t else "",
                                     "path": str(p), "logsource": ls}
    return rules


def events_by_key(sources, wanted):
    """Flat rows of the events named in `wanted` (time keys), from evtx_dump JSON files or
    flat JSON lines."""
    found = {}
    for src in sources:
        p = pathlib.Path(src)
        files = sorted(p.rglob("*.json")) if p.is_dir() else [p]
        for f in files:
            if f.suffix == ".jsonl":
                with open(f, encoding="utf-8") as fh:
                    for line in fh:
                        m = re.search(r'"TimeCreated":"([^"]+)"', line)
                        if m and time_key(m.group(1)) in wanted:
                            found[time_key(m.group(1))] = json.loads(line)
            else:
                for d in read_concatenated(f):
                    row = flatten(d) if "Event" in d else d  # evtx_dump object or flat row
                    k = time_key(row.get("TimeCreated"))
                    if k in wanted:
                        found[k] = row
    return found


def in_logsource(rule, ev):
    """True/False when the event is / is not of the rule's logsource, None when not known here."""
    ls = rule["logsource"]
    if ls.get("product") not in (None, "windows"):
        return False
    ch, eid = ev.get("Channel"), ev.get("EventID")
    if "category" in ls:
        cat = ls["category"]
        if cat == "process_creation" and ch == "Security":
            return eid == 4688
        if cat in CATEGORY_EIDS:
            return ch == SYSMON and eid in CATEGORY_EIDS[cat]
        # a category with no Sysmon event (database, webserver, antivirus, ps_script, ...)
        return False if ch == SYSMON else None
    if "service" in ls:
        want = SERVICE_CHANNELS.get(ls["service"])
        return None if want is None else ch == want
    return None


def classify(rule, ev, engines_with, engines_without, loaded):
    """A reason and, where it follows from the spec alone, a verdict. Engines that did not load
    the rule are set apart first; the rest of the difference is between engines that did."""
    if rule is None:
        return "rule not in the rule set", "-"
    unloaded = [e for e in engines_without if rule_id_loaded(loaded, e, rule) is False]
    missing = [e for e in engines_without if e not in unloaded]
    note = f" ({', '.join(unloaded)} did not load the rule)" if unloaded and missing else ""
    if not missing:
        return f"{', '.join(unloaded)} did not load the rule", f"{', '.join(unloaded)} cannot match a rule it did not load"
    if ev is not None and in_logsource(rule, ev) is False:
        return ("event outside the rule's logsource "
                f"({'/'.join(rule['logsource'].get(k, '') for k in ('product', 'category', 'service'))}; "
                f"event {ev.get('Channel')} EID {ev.get('EventID')})" + note,
                f"{', '.join(missing)} right: the logsource says which events a rule applies to "
                "(spec, LogSource)")
    return "detection logic" + note, "not decided by the logsource: read by hand where a verdict is given"


def rule_id_loaded(loaded, engine, rule):
    ids = loaded.get(engine)
    if ids is None:
        return None
    return rule["id"] in ids


def cmd_compare(a):
    rules = load_rules(a.rules)
    for rid, r in rules.items():
        r["id"] = rid
    engines = {}
    for spec in a.engine:
        name, path = spec.split("=", 1)
        engines[name] = {k.lower(): set(v) for k, v in json.loads(pathlib.Path(path).read_text()).items()}
    loaded = {}
    for spec in a.loaded or []:
        name, path = spec.split("=", 1)
        loaded[name] = {l.strip().lower() for l in pathlib.Path(path).read_text().split() if l.strip()}
    verdicts = json.loads(pathlib.Path(a.verdicts).read_text()) if a.verdicts else {}
    names = list(engines)
    all_rules = sorted(set().union(*[set(s) for s in engines.values()]))
    diffs = []
    agree = 0
    for rid in all_rules:
        keys = set().union(*[engines[n].get(rid, set()) for n in names])
        per = {n: engines[n].get(rid, set()) for n in names}
        if all(per[n] == keys for n in names):
            agree += 1
            continue
        for k in sorted(keys):
            have = [n for n in names if k in per[n]]
            lack = [n for n in names if k not in per[n]]
            diffs.append((rid, k, have, lack))
    wanted = {k for _, k, _, _ in diffs}
    evs = events_by_key(a.events, wanted) if wanted else {}

    out = []
    w = out.append
    w(f"## {a.case}\n")
    w(f"Engines: {', '.join(names)}. Rules with at least one match in some engine: {len(all_rules)}; "
      f"identical match sets: **{agree}**; rules that differ: **{len(all_rules) - agree}** "
      f"({len(diffs)} (rule, event) differences).\n")
    w("| engine | rules matched | matches (rule, event) |")
    w("|---|---|---|")
    for n in names:
        w(f"| {n} | {len(engines[n])} | {sum(len(v) for v in engines[n].values())} |")
    w("")
    if not diffs:
        out.append("No differences.\n")
    else:
        groups = collections.defaultdict(list)
        for rid, k, have, lack in diffs:
            rule = rules.get(rid)
            reason, verdict = classify(rule, evs.get(k), have, lack, loaded)
            if rid in verdicts:
                verdict = verdicts[rid]
            groups[(rid, tuple(have), tuple(lack), reason, verdict)].append(k)
        w("| rule | title | matched by | not by | events (EventRecordID) | reason | verdict |")
        w("|---|---|---|---|---|---|---|")
        for (rid, have, lack, reason, verdict), ks in sorted(groups.items(), key=lambda x: (x[0][3], x[0][0])):
            rule = rules.get(rid, {"title": "?", "path": "?"})
            ids = [str((evs.get(k) or {}).get("EventRecordID", k)) for k in ks]
            shown = ", ".join(ids[:8]) + (f" (+{len(ks) - 8})" if len(ks) > 8 else "")
            rel = rule["path"].split("rules/sigma/", 1)[-1]
            cell = lambda s: str(s).replace("|", "\\|")  # noqa: E731
            w(f"| `{rid}` | {cell(rule['title'])} (`{rel}`) | {', '.join(have)} | {', '.join(lack)} | "
              f"{len(ks)}: {shown} | {cell(reason)} | {cell(verdict)} |")
        w("")
        reasons = collections.Counter()
        for (rid, have, lack, reason, verdict), ks in groups.items():
            reasons[(reason.split(" (")[0], "+".join(have) or "-", "+".join(lack))] += len(ks)
        w("By reason:\n")
        w("| reason | matched by | not by | differences |")
        w("|---|---|---|---|")
        for (reason, have, lack), n in sorted(reasons.items(), key=lambda x: -x[1]):
            w(f"| {reason} | {have} | {lack} | {n} |")
        w("")
    text = "\n".join(out) + "\n"
    with open(a.out, "a", encoding="utf-8") as f:
        f.write(text)
    print(f"{a.case}: {agree} rules agree, {len(all_rules) - agree} differ, {len(diffs)} differences",
          file=sys.stderr)


# ---------------------------------------------------------------------------------------------
# rules loaded, timing

def cmd_loaded(a):
    """Which rule ids each engine loaded, from its own report; writes loaded-<engine>.txt."""
    rules = load_rules(a.rules)
    given = set(rules)
    out = pathlib.Path(a.out)
    rows = []
    # scry check names every refused rule by its file, with the reason
    text = pathlib.Path(a.scry).read_text(errors="replace")
    refused_lines = "\n".join(l for l in text.splitlines() if "refused:" in l)
    refused = {rid for rid, r in rules.items() if r["path"] + ":" in refused_lines}
    m = re.search(r"sigma: (\d+) rule\(s\), (\d+) compiled, (\d+) refused", text)
    scry_ids = given - refused
    rows.append(("scry", len(scry_ids), m.group(0) if m else "(scry check)"))
    (out / "loaded-scry.txt").write_text("\n".join(sorted(scry_ids)) + "\n")
    # rsigma: its eval prints the counts; the refused files are named in its warnings
    text = pathlib.Path(a.rsigma).read_text(errors="replace")
    bad = {rid for rid, r in rules.items() if r["path"] in text}
    m = re.search(r"(?i)loaded (\d+) (?:detection )?rules?[^\n]*", text)
    rs_ids = given - bad
    rows.append(("rsigma", int(m.group(1)) if m else len(rs_ids), m.group(0) if m else "(from warnings)"))
    (out / "loaded-rsigma.txt").write_text("\n".join(sorted(rs_ids)) + "\n")
    if a.chainsaw:
        text = pathlib.Path(a.chainsaw).read_text(errors="replace")
        # lint names files below the rule folder given, with a leading slash
        root = str(pathlib.Path(a.rules))
        bad = {rid for rid, r in rules.items() if r["path"][len(root):] + ":" in text}
        cs_ids = given - bad
        m = re.search(r"(?i)validated (\d+)[^\n]*", text)
        rows.append(("chainsaw", len(cs_ids), m.group(0) if m else "(chainsaw lint)"))
        (out / "loaded-chainsaw.txt").write_text("\n".join(sorted(cs_ids)) + "\n")
    print(f"Rule files given: {len(given)} (every `.yml` with an `id` under rules/sigma).\n")
    print("| engine | rules loaded | its own words |")
    print("|---|---|---|")
    for name, n, words in rows:
        print(f"| {name} | {n} | {words} |")
    print()


def cmd_timing(a):
    """timing.tsv (engine, input, wall, user, sys, peak KiB, load) -> a markdown table."""
    runs = collections.defaultdict(list)
    for line in (pathlib.Path(a.out) / "timing.tsv").read_text().splitlines():
        f = line.split("\t")
        wall, user, sys_, rss = f[2].split()
        runs[(f[0], f[1])].append((float(wall), float(user) + float(sys_), int(rss), f[3]))

    def med(xs):
        xs = sorted(xs)
        n = len(xs)
        return xs[n // 2] if n % 2 else (xs[n // 2 - 1] + xs[n // 2]) / 2

    names = list(dict.fromkeys(k[0] for k in runs))
    n = len(next(iter(runs.values())))
    print(f"{a.events:,} events, {a.bytes / 1e6:.0f} MB; median of {n} run(s) each (`/usr/bin/time`); "
          "start-up = the same command on an empty input (loading and compiling the rules).\n")
    print("| engine | wall s | CPU s | start-up CPU s | events/s (wall) | events/s (CPU) | "
          "events/s (CPU, start-up excluded) | peak RSS | load (1 min) |")
    print("|---|---|---|---|---|---|---|---|---|")
    rate = {}
    for name in names:
        ev = runs.get((name, "events"))
        st = runs.get((name, "empty"), [])
        if not ev:
            continue
        w = med([r[0] for r in ev])
        c = med([r[1] for r in ev])
        s = med([r[1] for r in st]) if st else 0.0
        rss = max(r[2] for r in ev) / 1024
        loads = ", ".join(r[3] for r in ev)
        net = a.events / (c - s) if c > s else float("nan")
        rate[name] = (a.events / w, a.events / c, net)
        print(f"| {name} | {w:.1f} | {c:.1f} | {s:.1f} | {a.events / w:,.0f} | {a.events / c:,.0f} | "
              f"{net:,.0f} | {rss:.0f} MiB | {loads} |")
    print()
    for s in ("scry 1 thread", "scry 2 threads"):
        if s not in rate:
            continue
        parts = []
        for peer, goal in (("rsigma", 5), ("chainsaw 1 thread", 20), ("chainsaw 2 threads", 20)):
            if peer in rate:
                r = [rate[s][k] / rate[peer][k] for k in range(3)]
                parts.append(f"{r[0]:.1f}× / {r[1]:.1f}× / {r[2]:.1f}× {peer} (goal ≥ {goal}×)")
        print(f"- {s} (wall / CPU / CPU without start-up): " + "; ".join(parts))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("twins")
    p.add_argument("regdir")
    p.add_argument("outdir")
    p.set_defaults(fn=cmd_twins)
    p = sub.add_parser("chainsaw-mapping")
    p.add_argument("src")
    p.add_argument("dst")
    p.set_defaults(fn=cmd_chainsaw_mapping)
    p = sub.add_parser("sets")
    p.add_argument("engine", choices=sorted(SETS))
    p.add_argument("out")
    p.add_argument("files", nargs="+")
    p.set_defaults(fn=cmd_sets)
    p = sub.add_parser("compare")
    p.add_argument("--case", required=True)
    p.add_argument("--rules", required=True)
    p.add_argument("--engine", action="append", required=True, help="NAME=sets.json")
    p.add_argument("--loaded", action="append", help="NAME=file of loaded rule ids")
    p.add_argument("--events", action="append", required=True, help="evtx_dump JSON dir/file or .jsonl")
    p.add_argument("--verdicts", help="JSON {rule id: verdict} from reading rule and event by hand")
    p.add_argument("--out", required=True, help="markdown file to append to")
    p.set_defaults(fn=cmd_compare)
    p = sub.add_parser("loaded")
    p.add_argument("--out", required=True)
    p.add_argument("--rules", required=True)
    p.add_argument("--scry", required=True)
    p.add_argument("--rsigma", required=True)
    p.add_argument("--chainsaw")
    p.set_defaults(fn=cmd_loaded)
    p = sub.add_parser("timing")
    p.add_argument("--out", required=True)
    p.add_argument("--events", type=int, required=True)
    p.add_argument("--bytes", type=int, required=True)
    p.set_defaults(fn=cmd_timing)
    a = ap.parse_args()
    a.fn(a)


if __name__ == "__main__":
    main()
