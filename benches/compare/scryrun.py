"""Running scry over the same events, with the packs' exclusions removed.

The upstream KQL has no exclusions; scry's packs add named `except` scenarios (false
positives from the project's seed). To compare detection logic with detection logic, the
harness copies the pack files with every `except` clause cut out (and `examples` blocks,
whose `suppressed ... by` lines name the exclusions), and runs scry on the copies. The
stripped text is otherwise byte-identical. `--keep-exclusions` runs the packs as they are;
then rows an exclusion suppressed show up as KQL-only groups or smaller counts.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

CLAUSE_KW = {"from", "window", "let", "where", "extend", "except", "summarize", "having",
             "examples", "rule"}
_STRING_STARTS = ("```", "~~~", "@'", '@"', "'", '"')


def _skip_string(text: str, i: int) -> int:
    """Index just past the string literal starting at `i`."""
    if text.startswith("```", i) or text.startswith("~~~", i):
        end = text.find(text[i:i + 3], i + 3)
        return len(text) if end < 0 else end + 3
    if text.startswith("@'", i) or text.startswith('@"', i):
        q = text[i + 1]
        j = i + 2
        while j < len(text):
            if text[j] == q:
                if j + 1 < len(text) and text[j + 1] == q:
                    j += 2
                    continue
                return j + 1
            j += 1
        return j
    q = text[i]
    j = i + 1
    while j < len(text):
        if text[j] == "\\":
            j += 2
            continue
        if text[j] == q:
            return j + 1
        j += 1
    return j


def tokens(text: str):
    """(start, end, kind, text) for every token outside comments: 'str', 'word', 'punct'."""
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c.isspace():
            i += 1
        elif text.startswith("//", i):
            j = text.find("\n", i)
            i = n if j < 0 else j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            i = n if j < 0 else j + 2
        elif text.startswith(_STRING_STARTS, i):
            j = _skip_string(text, i)
            yield i, j, "str", text[i:j]
            i = j
        elif c.isalnum() or c == "_":
            j = i
            while j < n and (text[j].isalnum() or text[j] in "_."):
                j += 1
            yield i, j, "word", text[i:j]
            i = j
        else:
            yield i, i + 1, "punct", c
            i += 1


def strip_clauses(text: str, names=("except", "examples")) -> tuple[str, int]:
    """`text` without the named clauses of every rule; returns (text, clauses removed)."""
    toks = list(tokens(text))
    cuts = []
    depth = 0
    k = 0
    while k < len(toks):
        start, end, kind, tok = toks[k]
        if kind == "punct" and tok in "{([":
            depth += 1
        elif kind == "punct" and tok in "})]":
            depth -= 1
        # Clauses sit directly inside a rule's braces (depth 1).
        if depth == 1 and kind == "word" and tok in names:
            j = k + 1
            inner = 0
            saw_block = False
            while j < len(toks):
                _, _, kd, t = toks[j]
                if kd == "punct" and t in "{([":
                    inner += 1
                    saw_block = saw_block or (t == "{" and inner == 1)
                elif kd == "punct" and t in "})]":
                    if inner == 0:  # the rule's closing brace
                        break
                    inner -= 1
                    if inner == 0 and t == "}" and saw_block:
                        j += 1
                        break
                elif inner == 0 and kd == "word" and t in CLAUSE_KW:
                    break
                j += 1
            stop = toks[j - 1][1] if j > k else end
            cuts.append((start, stop))
            k = j
            continue
        k += 1
    out, last = [], 0
    for a, b in cuts:
        out.append(text[last:a])
        last = b
    out.append(text[last:])
    return "".join(out), len(cuts)


def rule_ids(paths) -> dict[str, Path]:
    """{rule id: pack file} for every `.scry` file under `paths`."""
    ids = {}
    for f in pack_files(paths):
        for m in re.finditer(r'^\s*id\s+"([^"]+)"', f.read_text(encoding="utf-8"), flags=re.M):
            ids[m.group(1)] = f
    return ids


def pack_files(paths) -> list[Path]:
    files = []
    for p in map(Path, paths):
        files += sorted(p.rglob("*.scry")) if p.is_dir() else [p]
    return files


class Scry:
    def __init__(self, binary: Path, packs, keep_exclusions: bool = False):
        self.binary = Path(binary)
        self.tmp = Path(tempfile.mkdtemp(prefix="scry-packs-"))
        self.removed = {}
        for i, f in enumerate(pack_files(packs)):
            text = f.read_text(encoding="utf-8")
            if not keep_exclusions:
                text, n = strip_clauses(text)
                self.removed[str(f)] = n
            (self.tmp / f"{i:03d}-{f.name}").write_text(text, encoding="utf-8")

    def close(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def run(self, inputs, now: str) -> tuple[dict[str, list[dict]], str]:
        """{rule id: [result rows]} and scry's stderr summary."""
        cmd = [str(self.binary), "run", "--rules", str(self.tmp), "--format", "ndjson",
               "--now", now, *map(str, inputs)]
        p = subprocess.run(cmd, capture_output=True, text=True, encoding="utf-8")
        if p.returncode not in (0, 1):
            raise RuntimeError(f"scry failed ({p.returncode}): {p.stderr.strip()[:2000]}")
        rows: dict[str, list[dict]] = {}
        for line in p.stdout.splitlines():
            if line.strip():
                row = json.loads(line)
                rows.setdefault(row.pop("rule"), []).append(row)
        return rows, p.stderr

    def version(self) -> str:
        p = subprocess.run([str(self.binary), "--version"], capture_output=True, text=True)
        return p.stdout.strip() or p.stderr.strip()
