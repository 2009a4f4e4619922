#!/usr/bin/env python3
"""Seeded generator of flat Defender rows around the needles of the upstream KQL rules.

Independent of scry (it reads the upstream KQL through `kqlshape.py`, not scry's packs) and
of the Rust generator in benches/gen. For every rule, every condition and every needle it
writes one row per *variant* of that needle (exact, upper/lower/swapped case, glued to a
letter / non-ASCII letter / digit, embedded between separators, in a URL, with a port,
truncated, NFD, exotic case folds, null, missing, empty, ...), with the rule's other
conditions satisfied by their plain needles; then rows at and around the time window's
edges, and background noise. Each row is a flat JSON object with a `Type` column.

    gen_events.py --corpus DIR --seed 7 --out events.jsonl [--repeat 3] [--noise 5000] [--now T]

writes `events.jsonl` and `events.manifest.jsonl` (one line per row: which rule, condition,
needle and variant it was made for). Same arguments, same bytes.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import unicodedata
from pathlib import Path

import events
import kqlsrc
import kqlshape

NOW = "2024-05-15T12:00:00Z"
WINDOW_TICKS = 5 * 86_400 * events.TICKS_PER_SECOND  # every upstream rule: now(-5d)..now()
HAS_FAMILY = {"has", "has_cs", "has_any", "has_all", "hasprefix", "hassuffix"}

DEVICES = [
    ("0f3c9a7e21b4d5c6a7e8f90123456789abcdef01", "ws-001.contoso.local"),
    ("1a2b3c4d5e6f708192a3b4c5d6e7f80912345678", "srv-fs01"),
    ("2b3c4d5e6f708192a3b4c5d6e7f8091234567890", "pc-müller"),
    ("3c4d5e6f708192a3b4c5d6e7f809123456789012", "PC-MÜLLER"),
    ("4d5e6f708192a3b4c5d6e7f80912345678901234", "laptop-ørsted"),
    ("5e6f708192a3b4c5d6e7f8091234567890123456", "ws-002.contoso.local"),
    ("", "no-device-id"),
    ("6f708192a3b4c5d6e7f809123456789012345678", ""),
]
ACCOUNTS = [
    "",
    "admin@contoso.com",
    "Admin@contoso.com",
    "jörg.krämer@contoso.de",
    "system",
    "svc_rmm@contoso.com",
]
PROCESS_NAMES = [
    "svchost.exe", "ServerEye.exe", "AnyDesk.exe", "powershell.exe", "chrome.exe",
    "ServerEye.Inventory.exe", "setup.exe", "level.exe", "Level-Agent.exe", "mstsc.exe",
    "PerformanceSensor.exe",
]
FOLDERS = [
    "C:\\Windows\\System32\\", "C:\\Program Files\\Level\\", "C:\\Program Files (x86)\\Level\\",
    "C:\\Program Files (x86)\\Server-Eye\\SystemUpdate\\", "C:\\Users\\jörg\\AppData\\Local\\Temp\\",
    "C:\\ProgramData\\ServerEye\\LogCollector\\", "", "C:\\PROGRAM FILES\\LEVEL\\",
    "C:\\Program Files (x86)\\Server-Eye\\Deployment\\",
]
NOISE = {
    "company": [
        "Microsoft Corporation", "Google LLC", "Krämer Bau GmbH", "KRAMER IT SOLUTIONS GMBH",
        "Kraemer IT Solutions GmbH", "Mozilla Corporation", "", "TeamViewer Germany GmbH",
        "AnyDesk Software GmbH", "Splashtop Inc.", "Oracle America, Inc.", "DWSNET OÜD",
        "Action10 Corp", "ConnectWise, LLC", "Datto, Inc", "N-able Technologies Ltd",
    ],
    "product": [
        "Microsoft® Windows® Operating System", "Google Chrome", "ServerEyes", "Server Eye",
        "Firefox", "", "AnyDesk", "level", "RustDesk", "Splashtop Streamer",
    ],
    "url": [
        "www.bing.com", "server-eye.dev", "myserver-eye.de", "login.microsoftonline.com",
        "https://github.com/x", "", "anydesk.com.evil.example", "10.1.2.3", "xteamviewer.com",
        "update.googleapis.com:443", "HTTPS://WWW.EXAMPLE.ORG/path", "logme.in.", "setme.com",
    ],
    "signer": [
        "Microsoft Windows", "Microsoft Corporation", "Google LLC", "", "Krämer IT-Solutions GmbH",
        "DerKrämer IT Solutions GmbH", "philandro Software GmbH", "AnyDesk Software GmbH",
    ],
}
SHA1_POOL = [f"{i:02x}" + "c0ffee" * 6 + f"{i * 7919 % 256:02x}" for i in range(24)]

# Code points whose case behaviour differs between Unicode simple case folding (the contract)
# and plain lower-casing, used by the "fold-exotic" variant.
EXOTIC_FOLD = {"s": "\u017f", "k": "\u212a", "K": "\u212a", "S": "\u017f"}


def upper1(s: str) -> str:
    """Upper-case per code point, keeping characters whose upper form is not one code point."""
    return "".join(c.upper() if len(c.upper()) == 1 else c for c in s)


def lower1(s: str) -> str:
    return "".join(c.lower() if len(c.lower()) == 1 else c for c in s)


def swap1(s: str) -> str:
    return "".join(c.swapcase() if len(c.swapcase()) == 1 else c for c in s)


def string_variants(n: str, op: str) -> list[tuple[str, object]]:
    """(variant name, value) pairs for needle `n` under operator `op`; value None = JSON
    null, `MISSING` = key absent."""
    out = [
        ("exact", n),
        ("upper", upper1(n)),
        ("lower", lower1(n)),
        ("swapcase", swap1(n)),
        ("null", None),
        ("missing", MISSING),
        ("empty", ""),
    ]
    if op.startswith("startswith"):
        out += [
            ("prefix-of-longer", n + "-agent.exe"),
            ("upper-prefix-of-longer", upper1(n) + ".EXE"),
            ("letter-before", "x" + n),
            ("space-before", " " + n),
            ("truncated", n[:-1]),
            ("embedded", "my" + n + ".exe"),
        ]
        return out
    out += [
        ("glued-letter-before", "x" + n),
        ("glued-letter-after", n + "x"),
        ("glued-nonascii-before", "Ü" + n),
        ("glued-nonascii-after", n + "é"),
        ("glued-digit-before", "7" + n),
        ("glued-digit-after", n + "2"),
        ("glued-mark-after", n + "\u0301"),
        ("glued-astral-letter-before", "\U00010400" + n),  # DESERET CAPITAL LONG I (Lu)
        ("glued-arabic-digit-after", n + "\u0663"),  # ARABIC-INDIC DIGIT THREE (Nd)
        ("glued-superscript-after", n + "\u00b2"),  # SUPERSCRIPT TWO (No)
        ("between-emoji", "\U0001f600" + n + "\U0001f600"),  # So: a separator
        ("between-nbsp", "x\u00a0" + n + "\u00a0y"),  # Zs: a separator
        ("between-spaces", "Foo " + n + " Bar"),
        ("in-url", "https://" + n + "/path?q=1"),
        ("in-url-upper", "HTTPS://" + upper1(n) + ":443/x"),
        ("with-port", n + ":8443"),
        ("subdomain", "eu." + n),
        ("underscores", "a_" + n + "_b"),
        ("parenthesised", "(" + n + ")"),
        ("quoted", '"' + n + '"'),
        ("trailing-dot", n + "."),
        ("doubled-glued", n + n),
        ("doubled-spaced", n + " " + n),
        ("truncated", n[:-1]),
        ("suffix", n[1:]),
        ("newline-separated", "line1\n" + n + "\nline3"),
    ]
    if " " in n:
        out.append(("inner-space-doubled", n.replace(" ", "  ", 1)))
        out.append(("inner-space-tab", n.replace(" ", "\t", 1)))
        out.append(("inner-space-nbsp", n.replace(" ", "\u00a0", 1)))
    for a, b in (("-", "_"), (".", "-"), ("\\", "/")):
        if a in n:
            out.append((f"separator-{a}-to-{b}", n.replace(a, b)))
    nfd = unicodedata.normalize("NFD", n)
    if nfd != n:
        out.append(("nfd", nfd))
        out.append(("nfd-upper", unicodedata.normalize("NFD", upper1(n))))
    exotic = "".join(EXOTIC_FOLD.get(c, c) for c in n)
    if exotic != n:
        out.append(("fold-exotic", exotic))
    return out


def isempty_variants() -> list[tuple[str, object]]:
    return [
        ("empty", ""), ("null", None), ("missing", MISSING), ("space", " "), ("value", "x"),
        ("zero-width-space", "\u200b"),
    ]


def set_variants(rng: random.Random) -> list[tuple[str, object]]:
    sha = rng.choice(SHA1_POOL)
    return [
        ("pool", sha), ("pool-other", rng.choice(SHA1_POOL)), ("pool-upper", sha.upper()),
        ("pool-space", sha + " "), ("not-in-pool", "ffff" + sha[4:]), ("empty", ""),
        ("null", None), ("missing", MISSING),
    ]


class _Missing:
    def __repr__(self):
        return "MISSING"


MISSING = _Missing()


class Generator:
    def __init__(self, seed: int, now: str = NOW, repeat: int = 1):
        self.rng = random.Random(seed)
        self.repeat = repeat  # rows per variant (different device, account, time, ReportId)
        self.now = events.parse_datetime_ticks(now)
        self.report_ids: list[int] = []
        self.rows: list[tuple[dict, dict]] = []

    # --- common columns ----------------------------------------------------------------------
    def timestamp(self) -> str:
        t = self.now - self.rng.randrange(0, WINDOW_TICKS + 1)
        return events.format_ticks(t)

    def report_id(self):
        r = self.rng.random()
        if self.report_ids and r < 0.05:  # a duplicate: make_set must keep it once
            return self.rng.choice(self.report_ids)
        if r < 0.07:
            return MISSING
        rid = 100_000 + len(self.report_ids)
        self.report_ids.append(rid)
        return str(rid) if r < 0.09 else rid  # some as JSON text: typed by the schema

    def base(self, table: str) -> dict:
        dev_id, dev_name = self.rng.choice(DEVICES)
        upn = self.rng.choice(ACCOUNTS)
        row = {"Type": table, "Timestamp": self.timestamp(), "DeviceId": dev_id, "DeviceName": dev_name}
        rid = self.report_id()
        if rid is not MISSING:
            row["ReportId"] = rid
        if table == "DeviceProcessEvents":
            row.update(
                AccountUpn=upn,
                FileName=self.rng.choice(PROCESS_NAMES),
                FolderPath=self.rng.choice(FOLDERS) + self.rng.choice(PROCESS_NAMES),
                InitiatingProcessFileName=self.rng.choice(PROCESS_NAMES),
                SHA1=self.rng.choice(SHA1_POOL + ["", "0" * 40]),
                ProcessVersionInfoCompanyName=self.rng.choice(NOISE["company"]),
                ProcessVersionInfoProductName=self.rng.choice(NOISE["product"]),
            )
        elif table == "DeviceNetworkEvents":
            row.update(
                InitiatingProcessAccountUpn=upn,
                RemoteUrl=self.rng.choice(NOISE["url"]),
                RemotePort=self.rng.choice([443, 80, 8443]),
                InitiatingProcessFileName=self.rng.choice(PROCESS_NAMES),
                InitiatingProcessFolderPath=self.rng.choice(FOLDERS) + self.rng.choice(PROCESS_NAMES),
                InitiatingProcessSHA1=self.rng.choice(SHA1_POOL + [""]),
                InitiatingProcessVersionInfoCompanyName=self.rng.choice(NOISE["company"]),
                InitiatingProcessVersionInfoProductName=self.rng.choice(NOISE["product"]),
            )
            if self.rng.random() < 0.3:  # the AccountUpn column the upstream queries name
                row["AccountUpn"] = self.rng.choice(ACCOUNTS)
        elif table == "DeviceFileCertificateInfo":
            row.update(
                SHA1=self.rng.choice(SHA1_POOL),
                Signer=self.rng.choice(NOISE["signer"]),
                IsSigned=True,
            )
        return row

    # --- conditions ----------------------------------------------------------------------------
    def satisfy(self, node, row: dict, shape):
        """Give `row` values that satisfy `node` (first branch of every `or`)."""
        if isinstance(node, kqlshape.Node):
            children = node.children if node.kind == "and" else node.children[:1]
            for c in children:
                self.satisfy(c, row, shape)
            return
        leaf = node
        if leaf.op in ("isempty",):
            row[leaf.column] = ""
        elif leaf.op in ("isnotempty",):
            row[leaf.column] = "x"
        elif leaf.subquery and leaf.subquery_column is None:  # in (let query)
            row[leaf.column] = self.rng.choice(SHA1_POOL)
        else:
            needles = self.needles(leaf, shape)
            if leaf.op == "has_all":
                row[leaf.column] = " ".join(needles)
            else:
                n = self.rng.choice(needles)
                row[leaf.column] = n + "-agent.exe" if leaf.op.startswith("startswith") else n

    def needles(self, leaf, shape) -> list[str]:
        if leaf.subquery and leaf.subquery_column:
            return shape.lets[leaf.subquery][leaf.subquery_column]
        return leaf.needles

    def variants(self, leaf, shape):
        if leaf.op in ("isempty", "isnotempty"):
            yield "", isempty_variants()
        elif leaf.subquery and leaf.subquery_column is None:
            for _ in range(3):
                yield "", set_variants(self.rng)
        else:
            for n in self.needles(leaf, shape):
                yield n, string_variants(n, leaf.op)

    def emit(self, row: dict, label: dict):
        row = {k: v for k, v in row.items() if v is not MISSING}
        self.rows.append((row, label))

    def query_rows(self, rule_name: str, query, shape):
        """Rows for one tabular query (a rule, or a let it reads)."""
        leaves = list(shape.leaves(kqlshape.Node("and", query.where)))
        for leaf in leaves:
            for needle, variants in self.variants(leaf, shape):
                for vname, value in [v for v in variants for _ in range(self.repeat)]:
                    row = self.base(query.table)
                    for node in query.where:
                        self.satisfy(node, row, shape)
                    row[leaf.column] = value
                    if query.distinct:  # a let's distinct column: the SHA1 pool, "" or absent
                        row[query.distinct] = self.rng.choice(SHA1_POOL * 4 + ["", MISSING])
                    self.emit(row, dict(rule=rule_name, leaf=leaf.describe()[:120],
                                        needle=needle, variant=vname))
        # The time window: its edges, one tick outside, far outside, and odd spellings.
        tick = 1
        start = self.now - WINDOW_TICKS
        times = [
            ("window-start", events.format_ticks(start)),
            ("window-end", events.format_ticks(self.now)),
            ("tick-before-start", events.format_ticks(start - tick)),
            ("tick-after-end", events.format_ticks(self.now + tick)),
            ("old", events.format_ticks(self.now - 30 * WINDOW_TICKS)),
            ("future", events.format_ticks(self.now + 86_400 * events.TICKS_PER_SECOND)),
            ("no-fraction", events.format_ticks(self.now - 3600 * events.TICKS_PER_SECOND)[:19] + "Z"),
            ("offset+02:00", self._offset(self.now - 7200 * events.TICKS_PER_SECOND)),
            ("offset-at-end", self._offset(self.now)),
            ("null-timestamp", None),
            ("missing-timestamp", MISSING),
            ("not-a-date", "yesterday"),
        ]
        for tname, ts in times:
            row = self.base(query.table)
            for node in query.where:
                self.satisfy(node, row, shape)
            if query.distinct:
                row[query.distinct] = self.rng.choice(SHA1_POOL)
            row["Timestamp"] = ts
            self.emit(row, dict(rule=rule_name, leaf="Timestamp", needle="", variant=tname))

    @staticmethod
    def _offset(ticks: int) -> str:
        """The instant `ticks` written in +02:00."""
        local = events.format_ticks(ticks + 2 * 3600 * events.TICKS_PER_SECOND)
        return local[:-1] + "+02:00"

    def rule_rows(self, rule: kqlsrc.UpstreamRule):
        shape = kqlshape.parse(rule.fixed)
        for name, let in shape.lets.items():
            if isinstance(let, kqlshape.Query):
                self.query_rows(f"{rule.path.name}#{name}", let, shape)
        self.query_rows(rule.path.name, shape.main, shape)

    def noise(self, count: int):
        tables = ["DeviceProcessEvents"] * 5 + ["DeviceNetworkEvents"] * 4 + ["DeviceFileCertificateInfo"]
        for _ in range(count):
            self.emit(self.base(self.rng.choice(tables)), dict(rule="", leaf="", needle="", variant="noise"))

    def write(self, out: Path):
        """Shuffle (seeded) and write the rows and their manifest."""
        self.rng.shuffle(self.rows)
        manifest = out.with_name(out.name.removesuffix(".jsonl") + ".manifest.jsonl")
        with open(out, "w", encoding="utf-8", newline="\n") as f, open(
            manifest, "w", encoding="utf-8", newline="\n"
        ) as m:
            for i, (row, label) in enumerate(self.rows, 1):
                escaped = self.rng.random() < 0.1  # some rows with \u00e4-style escapes
                f.write(json.dumps(row, ensure_ascii=escaped) + "\n")
                m.write(json.dumps(dict(label, line=i, escaped=escaped), ensure_ascii=False) + "\n")
        return manifest


def generate(rules, seed: int, noise: int, now: str = NOW, repeat: int = 1) -> Generator:
    g = Generator(seed, now, repeat)
    for rule in rules:
        g.rule_rows(rule)
    g.noise(noise)
    return g


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", type=Path, default=Path(__file__).resolve().parent.parent.parent / "tests" / "data" / "rmm-kql")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--noise", type=int, default=5000, help="background rows (default 5000)")
    ap.add_argument("--now", default=NOW)
    ap.add_argument("--repeat", type=int, default=3, help="rows per needle variant (default 3)")
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args(argv)
    rules = kqlsrc.load_corpus(args.corpus)
    g = generate(rules, args.seed, args.noise, args.now, args.repeat)
    manifest = g.write(args.out)
    print(f"{len(g.rows)} rows -> {args.out} (+ {manifest.name})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
