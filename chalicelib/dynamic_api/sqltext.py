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
* text the driver would mistake for a placeholder (`$1` on PostgreSQL),
* server-side file and session escapes that a read-only transaction does not
  stop: PostgreSQL large-object and file functions (`lo_import`,
  `pg_read_file`, …), functions that run SQL given as text
  (`query_to_xml`, `dblink`, …), `U&"…"` identifiers (they could spell
  those names); MySQL `INTO OUTFILE`/`INTO DUMPFILE` and `LOAD_FILE`.
  Names are matched as words of the code and as quoted identifiers, with or
  without a schema.
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
_FORBIDDEN = {
    "postgresql": frozenset({
        "lo_import", "lo_export", "lo_from_bytea", "lo_put", "lo_get", "lo_open", "lo_creat", "lo_create",
        "lo_unlink", "lo_truncate", "lo_truncate64", "loread", "lowrite", "lo_lseek", "lo_lseek64",
        "pg_read_file", "pg_read_binary_file", "pg_stat_file", "pg_ls_dir", "pg_ls_logdir", "pg_ls_waldir",
        "pg_ls_tmpdir", "pg_ls_archive_statusdir", "pg_ls_logicalmapdir", "pg_ls_logicalsnapdir",
        "pg_ls_replslotdir", "pg_file_write", "pg_file_rename", "pg_file_unlink", "pg_file_sync",
        "pg_logdir_ls", "query_to_xml", "query_to_xmlschema", "query_to_xml_and_xmlschema",
        "cursor_to_xml", "cursor_to_xmlschema", "dblink", "dblink_exec", "dblink_open", "dblink_connect",
        "dblink_connect_u", "dblink_send_query", "pg_terminate_backend", "pg_cancel_backend", "pg_reload_conf",
        "pg_rotate_logfile", "pg_promote", "pg_create_restore_point", "pg_switch_wal", "pg_backup_start",
        "pg_backup_stop", "pg_start_backup", "pg_stop_backup",
    }),
    "mysql": frozenset({"load_file", "sys_exec", "sys_eval"}),
}
_WORDS = re.compile(r"[A-Za-z_][A-Za-z0-9_$]*")
_MY_INTO_FILE = re.compile(r"\bINTO\s+(OUTFILE|DUMPFILE)\b", re.I)
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
    forbidden = _FORBIDDEN[dialect]
    problems: list[str] = []
    named: list[tuple[int, str]] = []         # forbidden names found, with their offset
    marks = 0
    semis: list[int] = []
    code_spans: list[tuple[int, int]] = []   # text outside quotes/comments, for keyword search
    last = 0
    for m in lexer.finditer(text):
        kind = (m.lastgroup or "") if m.lastgroup != "tag" else "dollar"
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
        if kind == "ident":
            name = m.group()[1:-1].replace(m.group()[0] * 2, m.group()[0]).lower()
            if name in forbidden:
                named.append((start, name))
            if dialect == "postgresql" and text[max(0, start - 2):start].upper() == "U&":
                problems.append(f"line {_line_of(text, start)}: U&\"…\" identifiers are not allowed")
        if MARK in m.group():
            where = {"str": "a string literal", "ident": "a quoted identifier", "dollar": "a dollar-quoted string",
                     "comment": "a comment"}.get(kind, "quotes")
            problems.append(
                f"line {_line_of(text, start)}: an output expression {{{{ … }}}} is inside {where}; "
                "values are bound as parameters, so write `= {{ x }}` rather than `= '{{ x }}'` "
                "(for LIKE: `LIKE {{ '%' ~ x ~ '%' }}` in jinja2, "
                "`LIKE {{ x | prepend: '%' | append: '%' }}` in liquid)"
            )
    if last < len(text):
        code_spans.append((last, len(text)))

    for s_, e_ in code_spans:
        chunk = text[s_:e_]
        for w in _WORDS.finditer(chunk):
            if w.group().lower() in forbidden:
                named.append((s_ + w.start(), w.group().lower()))
        if dialect == "mysql":
            for w in _MY_INTO_FILE.finditer(chunk):
                named.append((s_ + w.start(), f"INTO {w.group(1).upper()}"))
    for pos, name in sorted(named)[:5]:
        problems.append(f"line {_line_of(text, pos)}: {name} is not allowed in dynamic APIs "
                        "(server files, other sessions or SQL run from text)")

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
        word = _WORD.match(chunk)
        if word:
            first_keyword = word.group(1).upper()
            break
        if chunk.strip():
            break
    return SqlShape(body_end=body_end, first_keyword=first_keyword, marks=marks, problems=problems)
