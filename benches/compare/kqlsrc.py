"""KQL source text helpers shared by the harness: literals and the upstream corpus.

The upstream YAML files are "lenient" (a `dataTypes:` key inside a list item, CRLF line
ends), so PyYAML rejects some of them; only `id`, `name` and the `query: |` block are needed,
and this reads exactly those.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path


def kql_string(s: str) -> str:
    """A KQL double-quoted string literal for `s` (backslash escapes as in Kusto)."""
    out = []
    for ch in s:
        if ch == "\\":
            out.append("\\\\")
        elif ch == '"':
            out.append('\\"')
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\r":
            out.append("\\r")
        elif ch == "\t":
            out.append("\\t")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def kql_dynamic(value) -> str:
    """`dynamic(<json>)` for a JSON-able value (strings inside use JSON escapes)."""
    return "dynamic(" + json.dumps(value, ensure_ascii=False) + ")"


@dataclass
class Fix:
    """One documented text substitution applied to an upstream query before it runs."""

    name: str
    why: str
    pattern: str  # a regular expression over the query text
    replacement: str
    applies: callable = field(default=lambda rule: True)


def _main_table(query: str) -> str | None:
    """The table the query's last tabular statement starts from."""
    tables = re.findall(r"^\s*(Device\w+)\s*$", query, flags=re.M)
    return tables[-1] if tables else None


# The only changes made to upstream KQL. Each is needed for the query to run at all (or, for
# AccountUpn, to name a column that exists); none changes what a query matches.
FIXES: list[Fix] = [
    Fix(
        name="netconn-accountupn",
        why="DeviceNetworkEvents has no AccountUpn column (spec §7); the connecting process's "
        "account is InitiatingProcessAccountUpn. Aliased so the output column keeps the "
        "upstream name AccountUpn, as the scry packs do.",
        pattern=r"(?<![\w=])AccountUpn(?!\s*=)\b",
        replacement="AccountUpn=InitiatingProcessAccountUpn",
        applies=lambda rule: _main_table(rule.query) == "DeviceNetworkEvents",
    ),
    Fix(
        name="sha1-column",
        why="two DWService queries write `Sha1` for the column `SHA1` (column names are "
        "case-sensitive; spec §7).",
        pattern=r"\bSha1\b",
        replacement="SHA1",
    ),
    Fix(
        name="dwservice-missing-where",
        why="rmm_DWService_createproc writes `| SHA1 in (rmmInitialFileSet)`, a pipe with no "
        "operator; the intent is `| where SHA1 in (...)`.",
        pattern=r"\|\s*SHA1\s+in\s*\(",
        replacement="| where SHA1 in (",
    ),
    Fix(
        name="level-has_all-has_any",
        why="rmm_Level_createproc writes `has_all has_any (...)`, which does not parse; "
        "the list is alternative install folders, so `has_any`.",
        pattern=r"\bhas_all\s+has_any\b",
        replacement="has_any",
    ),
    Fix(
        name="trailing-comma",
        why="rmm_MSP360_CloudBerry_netconn ends its has_any list with `,` before `)`; "
        "duckdb-kql's parser (the ANTLR grammar of Microsoft's Kusto-Query-Language "
        "repository) rejects it, so the comma is dropped. Not in the brief's list: added "
        "here because the query does not run otherwise.",
        pattern=r",(\s*(?://[^\n]*\n\s*)*)\)",
        replacement=r"\1)",
    ),
]


@dataclass
class UpstreamRule:
    path: Path
    id: str
    name: str
    query: str  # as published (LF line ends)
    fixed: str = ""  # after FIXES
    applied: list[str] = field(default_factory=list)

    @property
    def table(self) -> str | None:
        return _main_table(self.fixed or self.query)


def load_upstream(path: Path) -> UpstreamRule:
    text = path.read_text(encoding="utf-8").replace("\r\n", "\n").replace("\r", "\n")
    lines = text.split("\n")
    fields: dict[str, str] = {}
    i = 0
    while i < len(lines):
        m = re.match(r"^(id|name|query):\s*(.*)$", lines[i])
        if m and m.group(1) == "query" and m.group(2).strip() in ("|", "|-", "|+"):
            body = []
            i += 1
            while i < len(lines) and (not lines[i].strip() or lines[i][:1] in (" ", "\t")):
                body.append(lines[i])
                i += 1
            indent = min(len(b) - len(b.lstrip()) for b in body if b.strip())
            fields["query"] = "\n".join(b[indent:] for b in body).rstrip() + "\n"
            continue
        if m and m.group(1) != "query":
            fields.setdefault(m.group(1), m.group(2).strip().strip("'\""))
        i += 1
    missing = {"id", "query"} - fields.keys()
    if missing:
        raise ValueError(f"{path}: no {', '.join(sorted(missing))}")
    rule = UpstreamRule(path, fields["id"], fields.get("name", ""), fields["query"])
    fixed = rule.query
    for fix in FIXES:
        if not fix.applies(rule):
            continue
        new, n = re.subn(fix.pattern, fix.replacement, fixed)
        if n:
            fixed = new
            rule.applied.append(fix.name)
    rule.fixed = fixed
    return rule


def load_corpus(root: Path) -> list[UpstreamRule]:
    return [load_upstream(p) for p in sorted(root.glob("**/*.yaml"))]
