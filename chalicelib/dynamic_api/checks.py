"""Save-time checks of a definition's template: saving checks everything it can without running it.

`check_template` compiles the template in its engine (which already refuses
sandbox escapes, undeclared variables, disallowed tags/filters/calls), then
scans the template's literal SQL — every branch, loop bodies twice, output
expressions as placeholders — in the target dialect:

* exactly one statement (one trailing `;` allowed),
* no output expression inside quotes or comments,
* some SQL text of its own (seed 002's `append`-a-string style renders only
  `{{ sql_query }}` and cannot be made safe: DESIGN 4),
* a statement kind that fits the API: SELECT/WITH/VALUES for reads,
  INSERT/UPDATE/DELETE/… only on POST/PUT/PATCH/DELETE, a routine call for
  `script_type = procedure`.
"""
from __future__ import annotations

import re
from typing import Iterable

from . import sqltext
from .binding import CompiledTemplate, TemplateError
from .dialects import get_dialect
from .engines import engines
from .sqltext import MARK

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
SCRIPT_TYPES = ("sql", "procedure")
_ROUTINE_RE = re.compile(
    r"^\s*(?:CALL\s+)?(?P<name>[A-Za-z_][A-Za-z0-9_$]*(?:\.[A-Za-z_][A-Za-z0-9_$]*)?)\s*\((?P<args>.*)\)\s*$",
    re.S | re.I,
)
_APPEND_STYLE_HINT = (
    "the template produces no SQL text of its own; values are always bound, never spliced, "
    "so building a statement by appending strings (seed 002's `append` example) is not supported. "
    "Write the SQL literally and add conditions with {% if %}: "
    "SELECT * FROM t WHERE 1=1 {% if p1 %} AND column1 = {{ p1 }} {% endif %}"
)


def routine_call(skeleton_or_sql: str) -> re.Match | None:
    return _ROUTINE_RE.match(skeleton_or_sql)


def check_template(engine: str, source: str, declared: Iterable[str], db_type: str,
                   http_method: str = "GET", script_type: str = "sql") -> CompiledTemplate:
    compiled = engines.get_engine(engine).compile(source, declared)
    dialect = get_dialect(db_type)
    skeleton = compiled.skeleton
    shape = sqltext.analyze(skeleton, dialect.name)
    problems = list(shape.problems)
    literal = skeleton[: shape.body_end]
    if not literal.replace(MARK, "").strip() or not shape.first_keyword or shape.first_keyword == MARK:
        problems.append(_APPEND_STYLE_HINT)
    elif (script_type or "sql") == "procedure":
        if not routine_call(literal.replace(MARK, "?")):
            problems.append("a procedure template is a routine call: my_routine({{ a }}, {{ b }})")
    else:
        kw = shape.first_keyword
        method = (http_method or "GET").upper()
        if kw in sqltext.WRITE_KEYWORDS:
            if method not in WRITE_METHODS:
                problems.append(f"a {method} API cannot run {kw}; use POST, PUT, PATCH or DELETE for writes")
        elif kw not in sqltext.READ_KEYWORDS or kw == "CALL":
            problems.append(
                f"the statement starts with {kw}; a dynamic API runs SELECT/WITH/VALUES, or "
                "INSERT/UPDATE/DELETE on write methods (use script_type 'procedure' for routines)")
    if problems:
        raise TemplateError(problems, engine)
    return compiled
