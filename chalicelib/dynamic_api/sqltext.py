"""Lexical checks of SQL text, per dialect.

The engines render a template into SQL text in which every output expression
is a MARK character (the bound values never enter the text). This module
scans such text the way the target server will: string literals, quoted
identifiers, comments and dollar quotes are skipped, and it reports

* where the statement ends (a single trailing `;` is allowed and cut off),
* any other `;` outside quotes (a second statement: refused),
* any MARK that sits inside a string, identifier or comment (a value that
  would not be bound: refused, "write `= {{ x }}`, not `= '{{ x }}'`"),
* the first keyword (SELECT, WITH, INSERT, ...), to tell reads from writes,
* text the driver would mistake for a placeholder (`$1` on PostgreSQL).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

MARK = "\x00"

WRITE_KEYWORDS = frozenset({"INSERT", "UPDATE", "DELETE", "MERGE", "REPLACE", "UPSERT", "TRUNCATE"})
READ_KEYWORDS = frozenset({"SELECT", "WITH", "VALUES", "TABLE", "SHOW", "EXPLAIN", "CALL", "("})

_PG = re.compile(
    r"""
      (?P<str>(?<![\w$])[eE]'(?:[^'\\]|\\.|'')*'|'(?:[^']|'')*')
    | (?P<ident>"(?:[^"]|"")*")
    | (?P<dollar>\$(?P<tag>[A-Za-z_]\w*|)\$.*?\$(?P=tag)\$)
    | (?P<pos>\$\d+)
    | (?P<comment>--[^\n]*|/\*.*?\*/)
    | (?P<semi>;)
    | (?P<mark>\x00)
    | (?P<bad>['"]|/\*|\$(?:[A-Za-z_]\w*)?\$)
    """,
    re.X | re.S,
)

_MY = re.compile(
    r"""
      (?P<str>'(?:[^'\\]|\\.|'')*'|"(?:[^"\\]|\\.|"")*")
    | (?P<ident>`(?:[^`]|``)*`)
    | (?P<exec>/\*[!+M].*?\*/)
    | (?P<comment>--(?=[ \t\r\n]|$)[^\n]*|\#[^\n]*|/\*.*?\*/)
    | (?P<semi>;)
    | (?P<mark>\x00)
    | (?P<bad>['"`]|/\*)
    """,
    re.X | re.S,
)

_LEXERS = {"postgresql": _PG, "mysql": _MY}
_WORD = re.compile(r"\s*(\(|[A-Za-z_]+)")


@dataclass
class SqlShape:
    body_end: int                      # text[:body_end] is the statement without a trailing ';'
    first_keyword: str                 # upper-cased, '' when none
    marks: int = 0                     # output expressions outside quotes/comments
    problems: list[str] = field(default_factory=list)

    @property
    def is_write(self) -> bool:
        return self.first_keyword in WRITE_KEYWORDS


def _line_of(text: str, pos: int) -> int:
    return text.count("\n", 0, pos) + 1


def analyze(text: str, dialect: str) -> SqlShape:
    """Scan `text` (with MARKs for bound values) as `dialect` would."""
    lexer = _LEXERS[dialect]
    problems: list[str] = []
    marks = 0
    semis: list[int] = []
    code_spans: list[tuple[int, int]] = []   # text outside quotes/comments, for keyword search
    last = 0
    for m in lexer.finditer(text):
        kind = m.lastgroup if m.lastgroup != "tag" else "dollar"
        start, end = m.span()
        if start > last:
            code_spans.append((last, start))
        last = end
        if kind == "mark":
            marks += 1
            code_spans.append((start, end))
            continue
        if kind == "semi":
            semis.append(start)
            continue
        if kind == "pos":
            problems.append(
                f"line {_line_of(text, start)}: '{m.group()}' looks like a positional placeholder; "
                "write {{ name }} and the value is bound for you"
            )
            continue
        if kind == "exec":
            problems.append(f"line {_line_of(text, start)}: executable comments (/*! ... */) are not allowed")
            continue
        if kind == "bad":
            problems.append(f"line {_line_of(text, start)}: unterminated quote or comment {m.group()!r}")
            continue
        if MARK in m.group():
            where = {"str": "a string literal", "ident": "a quoted identifier", "dollar": "a dollar-quoted string",
                     "comment": "a comment"}.get(kind, "quotes")
            problems.append(
                f"line {_line_of(text, start)}: an output expression {{{{ … }}}} is inside {where}; "
                "values are bound as parameters, so write `= {{ x }}` rather than `= '{{ x }}'` "
                "(for LIKE: `LIKE {{ '%' ~ x ~ '%' }}` in jinja2, `LIKE {{ x | prepend: '%' | append: '%' }}` in liquid)"
            )
    if last < len(text):
        code_spans.append((last, len(text)))

    body_end = len(text.rstrip())
    if semis:
        final = semis[-1]
        rest_is_blank = all(e <= final or s > final and not text[s:e].strip() for s, e in code_spans)
        if rest_is_blank:
            body_end = len(text[:final].rstrip())
            semis = semis[:-1]
        if semis:
            problems.append(
                f"line {_line_of(text, semis[0])}: more than one SQL statement; a dynamic API runs exactly one"
            )

    first_keyword = ""
    for s, e in code_spans:
        chunk = text[s:e]
        if chunk == MARK:
            break
        m = _WORD.match(chunk)
        if m:
            first_keyword = m.group(1).upper()
            break
        if chunk.strip():
            break
    return SqlShape(body_end=body_end, first_keyword=first_keyword, marks=marks, problems=problems)
