"""What an upstream hunting query tests, read from its KQL: the table, and the `where`
conditions as a tree of leaves (`Column op needle(s)`), for the event generator.

Not a KQL implementation: it only needs to know which columns the corpus's queries read and
with which needles, so the generator can write events around those needles. It covers the
shapes the corpus uses (checked over all 123 files by `--check`):

    let S = datatable(C1:string, C2:string)[ 'a','b', ... ];
    let S = T | where ... | distinct Col;
    T | where Timestamp between (...) | where <expr> | extend ... | summarize ... by ...

<expr> is `and` / `or` / parentheses over leaves: `Col has|has_cs|startswith|... 'x'`,
`Col has_any|has_all|in|in~ ('x', ...)`, `Col has_any ((S | distinct C))`, `Col in (S)`,
`isempty(Col)` / `isnotempty(Col)`.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field

TOKEN = re.compile(
    r"""
    (?P<ws>\s+|//[^\n]*)
  | (?P<str>@'[^']*'|@"[^"]*"|'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*")
  | (?P<op>![A-Za-z_]+~?|in~|=~|!~|==|!=|\.\.)
  | (?P<ident>[A-Za-z_][A-Za-z_0-9]*)
  | (?P<num>\d+(?:\.\d+)?[a-z]*)
  | (?P<punct>[()\[\],;|=:<>+\-*/.!])
    """,
    re.X,
)


def unquote(tok: str) -> str:
    if tok.startswith("@"):
        return tok[2:-1]
    body = tok[1:-1]
    return re.sub(r"\\(.)", lambda m: {"n": "\n", "t": "\t", "r": "\r"}.get(m.group(1), m.group(1)), body)


def tokenize(text: str) -> list[tuple[str, str]]:
    out, pos = [], 0
    while pos < len(text):
        m = TOKEN.match(text, pos)
        if not m:
            raise ValueError(f"cannot tokenize at {text[pos:pos + 30]!r}")
        pos = m.end()
        kind = m.lastgroup
        if kind == "ws":
            continue
        tok = m.group(kind)
        out.append((kind, tok))
    return out


@dataclass
class Leaf:
    column: str
    op: str  # has, has_any, startswith, in, isempty, ...
    needles: list[str] = field(default_factory=list)
    subquery: str | None = None  # name of a let: a tabular set of needles
    subquery_column: str | None = None

    def describe(self) -> str:
        if self.op in ("isempty", "isnotempty"):
            return f"{self.op}({self.column})"
        if self.subquery:
            return f"{self.column} {self.op} ({self.subquery})"
        return f"{self.column} {self.op} {self.needles!r}"


@dataclass
class Node:
    kind: str  # "and", "or"
    children: list


@dataclass
class Query:
    table: str
    where: list  # Leaf | Node, all and-ed together (Timestamp windows dropped)
    distinct: str | None = None
    summarize_by: list[str] = field(default_factory=list)
    aggregates: list[str] = field(default_factory=list)


@dataclass
class Shape:
    lets: dict  # name -> Query | list[str] (a datatable's column values, by column name)
    main: Query

    def leaves(self, node=None):
        nodes = self.main.where if node is None else [node]
        for n in nodes:
            if isinstance(n, Leaf):
                yield n
            else:
                for c in n.children:
                    yield from self.leaves(c)


class Parser:
    def __init__(self, toks):
        self.toks = toks
        self.i = 0

    def peek(self, k=0):
        j = self.i + k
        return self.toks[j] if j < len(self.toks) else ("eof", "")

    def take(self, expect=None):
        tok = self.peek()
        if expect is not None and tok[1] != expect:
            raise ValueError(f"expected {expect!r}, got {tok[1]!r} at token {self.i}")
        self.i += 1
        return tok

    def skip_balanced(self):
        """Skip one token, or a whole bracketed group."""
        kind, tok = self.take()
        if tok in ("(", "["):
            depth = 1
            while depth:
                k, t = self.take()
                if k == "eof":
                    raise ValueError("unbalanced brackets")
                if t in ("(", "["):
                    depth += 1
                elif t in (")", "]"):
                    depth -= 1

    # --- expressions -----------------------------------------------------------------------
    def expr(self):
        parts = [self.and_expr()]
        while self.peek()[1] == "or":
            self.take()
            parts.append(self.and_expr())
        return parts[0] if len(parts) == 1 else Node("or", parts)

    def and_expr(self):
        parts = [self.atom()]
        while self.peek()[1] == "and":
            self.take()
            parts.append(self.atom())
        return parts[0] if len(parts) == 1 else Node("and", parts)

    def atom(self):
        kind, tok = self.peek()
        if tok == "(":
            self.take()
            e = self.expr()
            self.take(")")
            return e
        if tok in ("isempty", "isnotempty"):
            self.take()
            self.take("(")
            col = self.take()[1]
            self.take(")")
            return Leaf(col, tok)
        col = self.take()[1]
        if col == "Timestamp" and self.peek()[1] == "between":
            self.take()
            self.skip_balanced()
            return None
        op = self.take()[1]
        if op == "(" or op in ("between",):
            raise ValueError(f"unsupported condition on {col}")
        k, t = self.peek()
        if k == "str":
            self.take()
            return Leaf(col, op, [unquote(t)])
        self.take("(")
        if self.peek()[1] == "(":  # ((S | distinct C))
            self.take("(")
            name = self.take()[1]
            self.take("|")
            self.take("distinct")
            dcol = self.take()[1]
            self.take(")")
            self.take(")")
            return Leaf(col, op, subquery=name, subquery_column=dcol)
        if self.peek()[0] == "ident" and self.peek(1)[1] == ")":  # (S)
            name = self.take()[1]
            self.take(")")
            return Leaf(col, op, subquery=name)
        needles = []
        while True:
            k, t = self.take()
            if k != "str":
                raise ValueError(f"expected a string in the list, got {t!r}")
            needles.append(unquote(t))
            if self.peek()[1] == ",":
                self.take()
                if self.peek()[1] != ")":  # a trailing comma is accepted
                    continue
            self.take(")")
            break
        return Leaf(col, op, needles)

    # --- tabular ---------------------------------------------------------------------------
    def query(self) -> Query:
        table = self.take()[1]
        q = Query(table, [])
        while self.peek()[1] == "|":
            self.take()
            kind, tok = self.take()
            if tok == "where":
                e = self.expr()
                if e is not None:
                    q.where.append(e)
            elif tok == "distinct":
                q.distinct = self.take()[1]
            elif tok == "summarize":
                depth, current = 0, []
                names, by = [], []
                target = names
                while not (depth == 0 and self.peek()[1] in ("|", ";", "")):
                    k, t = self.take()
                    if k == "eof":
                        break
                    if t in ("(", "["):
                        depth += 1
                    elif t in (")", "]"):
                        depth -= 1
                    if depth == 0 and t == "by":
                        target.append(current)
                        target, current = by, []
                        continue
                    if depth == 0 and t == ",":
                        target.append(current)
                        current = []
                        continue
                    current.append(t)
                target.append(current)
                q.aggregates = [c[0] for c in names if c]
                q.summarize_by = [c[0] for c in by if c]
            else:  # extend, project, ...: skip to the next pipe
                depth = 0
                while not (depth == 0 and self.peek()[1] in ("|", ";")) and self.peek()[0] != "eof":
                    t = self.take()[1]
                    depth += t in ("(", "[")
                    depth -= t in (")", "]")
        return q

    def datatable(self):
        self.take("datatable")
        self.take("(")
        cols = []
        while self.peek()[1] != ")":
            name = self.take()[1]
            self.take(":")
            self.take()
            cols.append(name)
            if self.peek()[1] == ",":
                self.take()
        self.take(")")
        self.take("[")
        values = []
        while self.peek()[1] != "]":
            k, t = self.take()
            if k == "str":
                values.append(unquote(t))
        self.take("]")
        return {c: values[i :: len(cols)] for i, c in enumerate(cols)}


def parse(query: str) -> Shape:
    toks = tokenize(query)
    p = Parser(toks)
    lets, main = {}, None
    while p.peek()[0] != "eof":
        if p.peek()[1] == ";":
            p.take()
            continue
        if p.peek()[1] == "let":
            p.take()
            name = p.take()[1]
            p.take("=")
            if p.peek()[1] == "datatable":
                lets[name] = p.datatable()
            elif p.peek()[0] == "ident" and p.peek()[1].startswith("Device"):
                lets[name] = p.query()
            else:  # a scalar: skip to ';'
                while p.peek()[1] != ";":
                    p.skip_balanced()
            continue
        main = p.query()
    if main is None:
        raise ValueError("no tabular statement")
    return Shape(lets, main)


def main(argv) -> int:
    """--check: parse every query of the corpus and print its leaves."""
    from pathlib import Path

    import kqlsrc

    root = Path(argv[1]) if len(argv) > 1 else Path(__file__).resolve().parent.parent.parent / "tests" / "data" / "rmm-kql"
    bad = 0
    for rule in kqlsrc.load_corpus(root):
        try:
            shape = parse(rule.fixed)
            leaves = "; ".join(leaf.describe()[:80] for leaf in shape.leaves())
            print(f"{rule.path.name}: {shape.main.table} by {shape.main.summarize_by}: {leaves}")
        except ValueError as e:
            bad += 1
            print(f"{rule.path.name}: ERROR {e}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
