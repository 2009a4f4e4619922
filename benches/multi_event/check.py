"""Checks the multi-event lane's results before it is timed.

The expected rows of shaped.scry are computed here from the rows of filters.scry with the
definitions of docs/semantics.md written out directly in Python (every anchor for the
threshold, a sorted list for the sequence, floor division for the buckets), sharing no code
with the engine; the filters' own rows are the engine's plain filtering, which the
duckdb-kql comparison in benches/compare checks elsewhere.

usage: check.py FILTER_ROWS.ndjson SHAPED_ROWS.ndjson
"""
import json
import sys
from collections import defaultdict
from datetime import datetime, timezone

HOUR = 3600 * 10**7
SPAN = 6 * HOUR
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def ticks(text):
    # 2024-05-14T13:17:41.0580403Z: seven fractional digits, always.
    base, frac = text.rstrip("Z").split(".")
    dt = datetime.strptime(base, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=timezone.utc)
    return int((dt - EPOCH).total_seconds()) * 10**7 + int(frac.ljust(7, "0"))


def fmt(t):
    s, f = divmod(t, 10**7)
    return datetime.fromtimestamp(s, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S") + f".{f:07d}Z"


def main(filters, shaped):
    steps = defaultdict(list)  # device -> [(ts, step, report)]
    connects = defaultdict(list)
    for line in open(filters):
        r = json.loads(line)
        t = ticks(r["Timestamp"])
        step = 0 if r["rule"] == "bench-install" else 1
        steps[r["DeviceId"]].append((t, step, r["ReportId"]))
        if step == 1:
            connects[r["DeviceId"]].append(t)
    want = set()
    # The sequence: one waiting partial, the newest install wins, used up by a connect.
    for dev, evs in steps.items():
        pending = None
        for t, step, rep in sorted(evs):
            if step == 0:
                pending = (t, rep)
            elif pending is not None and t - pending[0] <= SPAN:
                want.add(("bench-seq", dev, fmt(pending[0]), fmt(t), fmt(pending[0]), pending[1], fmt(t), rep))
                pending = None
            if pending is not None and pending[0] < t - SPAN:
                pending = None
    # The sliding threshold: every anchor's span, the peak, the earliest span that holds.
    for dev, ts in connects.items():
        ts.sort()
        spans = [[x for x in ts if a <= x <= a + SPAN] for a in ts]
        peak = max(len(s) for s in spans)
        if peak >= 2:
            s = next(s for s in spans if len(s) >= 2)
            want.add(("bench-threshold", dev, fmt(s[0]), fmt(s[-1]), len(s), peak))
    # The buckets: 6h divides a day, so counting from 0001-01-01 or 1970 is the same.
    buckets = defaultdict(int)
    for dev, ts in connects.items():
        for t in ts:
            buckets[(dev, t // SPAN * SPAN)] += 1
    for (dev, b), n in buckets.items():
        if n >= 2:
            want.add(("bench-buckets", dev, fmt(b), n))
    got = set()
    for line in open(shaped):
        r = json.loads(line)
        rule = r["rule"]
        if rule == "bench-seq":
            got.add((rule, r["DeviceId"], r["StartTime"], r["EndTime"], r["install_Timestamp"],
                     r["install_ReportId"], r["connect_Timestamp"], r["connect_ReportId"]))
        elif rule == "bench-threshold":
            got.add((rule, r["DeviceId"], r["StartTime"], r["EndTime"], r["count_"], r["Peak"]))
        else:
            got.add((rule, r["DeviceId"], r["Bucket"], r["Count"]))
    per_rule = defaultdict(int)
    for w in want:
        per_rule[w[0]] += 1
    if got != want:
        print(f"MISMATCH: {len(want - got)} expected rows missing, {len(got - want)} unexpected")
        for x in sorted(want - got)[:5]:
            print("  missing", x)
        for x in sorted(got - want)[:5]:
            print("  unexpected", x)
        sys.exit(1)
    print("results agree with the Python reference:", dict(sorted(per_rule.items())))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
