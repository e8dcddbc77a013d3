"""Sorting and paging (seed 002 / ABP names; DESIGN 5).

* `sorting` ("name desc, id") is parsed here, every column checked against
  the definition's sortable columns (case-insensitive, the declared spelling
  is used), quoted for the dialect; direction only ASC/DESC. Nothing from the
  input reaches the SQL text except through that check.
* `skipCount`/`maxResultCount` (default 10, capped by max_page_size), or
  `page`/`pageSize` (1-based) as an alternative.
* Builders wrap the rendered statement:
    count: SELECT COUNT(*) AS total_count FROM (<stmt>) AS dyn_count
    page:  SELECT * FROM (<stmt>) AS dyn_page ORDER BY … LIMIT ? OFFSET ?
  with LIMIT/OFFSET bound like any other value.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence

from chalicelib.errors import invalid_input

from .binding import RenderedSql
from .dialects import BoundStatement, Dialect
from .sqltext import MARK

DEFAULT_PAGE_SIZE = 10
HARD_MAX_PAGE_SIZE = 10000
MAX_SORT_TERMS = 8
COLUMN_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")
_TERM_RE = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]{0,62})(?:\s+([A-Za-z]+))?\s*$")

SortOrder = list[tuple[str, str]]


def check_sortable_columns(columns: Iterable[str]) -> list[str]:
    out: list[str] = []
    for col in columns or []:
        if not isinstance(col, str) or not COLUMN_RE.match(col):
            raise invalid_input(["body", "sortable_columns"],
                                f"sortable column {col!r} must be a plain column name ({COLUMN_RE.pattern})")
        if col.lower() in (c.lower() for c in out):
            raise invalid_input(["body", "sortable_columns"], f"sortable column {col!r} is listed twice")
        out.append(col)
    return out


def parse_sorting(sorting: str | None, sortable: Sequence[str], *, field: str = "sorting") -> SortOrder:
    """'name desc, id' -> [('name', 'DESC'), ('id', 'ASC')], or ValidationError."""
    if sorting is None:
        return []
    if isinstance(sorting, list):
        sorting = ",".join(str(s) for s in sorting)
    if not isinstance(sorting, str):
        raise invalid_input(["query", field], f"parameter '{field}' must be a string like 'name desc, id'")
    if not sorting.strip():
        return []
    by_lower = {c.lower(): c for c in sortable}
    terms = sorting.split(",")
    if len(terms) > MAX_SORT_TERMS:
        raise invalid_input(["query", field], f"parameter '{field}' has more than {MAX_SORT_TERMS} terms")
    order: SortOrder = []
    for term in terms:
        m = _TERM_RE.match(term)
        if not m:
            raise invalid_input(["query", field],
                                f"parameter '{field}': {term.strip()[:60]!r} is not 'column [asc|desc]'",
                                sortable_columns=list(sortable))
        col, direction = m.group(1), (m.group(2) or "ASC").upper()
        if direction not in ("ASC", "DESC"):
            raise invalid_input(["query", field], f"parameter '{field}': direction must be ASC or DESC")
        declared = by_lower.get(col.lower())
        if declared is None:
            raise invalid_input(["query", field],
                                f"parameter '{field}': column {col!r} is not sortable; "
                                f"sortable: {', '.join(sortable) or '(none)'}",
                                sortable_columns=list(sortable))
        if any(c == declared for c, _ in order):
            raise invalid_input(["query", field], f"parameter '{field}': column {declared!r} appears twice")
        order.append((declared, direction))
    return order


def order_by_sql(order: SortOrder, dialect: Dialect) -> str:
    if not order:
        return "1"
    return ", ".join(f"{dialect.quote_ident(col)} {direction}" for col, direction in order)


MAX_OFFSET = 2 ** 53      # what every client (JSON numbers) and both servers' LIMIT/OFFSET accept


def _int_input(raw: Any, name: str, minimum: int) -> int | None:
    if raw is None or raw == "" or raw == []:
        return None
    if isinstance(raw, list):
        raw = raw[-1]
    if isinstance(raw, bool):
        raise invalid_input(["query", name], f"parameter '{name}' must be an integer")
    try:
        value = int(raw) if isinstance(raw, int) else int(str(raw).strip(), 10)
    except ValueError:
        raise invalid_input(["query", name], f"parameter '{name}' must be an integer") from None
    if value < minimum:
        raise invalid_input(["query", name], f"parameter '{name}' must be at least {minimum}")
    if value > MAX_OFFSET:
        raise invalid_input(["query", name], f"parameter '{name}' must be at most {MAX_OFFSET}")
    return value


@dataclass(frozen=True)
class Paging:
    skip: int
    take: int
    page: int | None = None
    page_size: int | None = None

    def builtins(self) -> dict:
        page_size = self.page_size or self.take
        return {"skipCount": self.skip, "maxResultCount": self.take,
                "page": self.page or (self.skip // page_size + 1 if page_size else 1),
                "pageSize": page_size}


def resolve_paging(inputs: Mapping[str, Any], max_page_size: int | None,
                   default_page_size: int = DEFAULT_PAGE_SIZE) -> Paging:
    cap = min(max_page_size or HARD_MAX_PAGE_SIZE, HARD_MAX_PAGE_SIZE)
    skip = _int_input(inputs.get("skipCount"), "skipCount", 0)
    take = _int_input(inputs.get("maxResultCount"), "maxResultCount", 1)
    page = _int_input(inputs.get("page"), "page", 1)
    page_size = _int_input(inputs.get("pageSize"), "pageSize", 1)
    if skip is None and take is None and (page is not None or page_size is not None):
        size = min(page_size or min(default_page_size, cap), cap)
        return Paging(skip=((page or 1) - 1) * size, take=size, page=page or 1, page_size=size)
    return Paging(skip=skip or 0, take=min(take or min(default_page_size, cap), cap))


def count_statement(rendered: RenderedSql) -> BoundStatement:
    marked = f"SELECT COUNT(*) AS total_count FROM ({rendered.marked}\n) AS dyn_count"
    return rendered.dialect.bind(marked, rendered.values)


def page_statement(rendered: RenderedSql, order: SortOrder, paging: Paging) -> BoundStatement:
    marked = (f"SELECT * FROM ({rendered.marked}\n) AS dyn_page ORDER BY {order_by_sql(order, rendered.dialect)}"
              f" LIMIT {MARK} OFFSET {MARK}")
    return rendered.dialect.bind(marked, [*rendered.values, paging.take, paging.skip])


def sorted_statement(rendered: RenderedSql, order: SortOrder) -> BoundStatement:
    if not order:
        return rendered.statement()
    marked = f"SELECT * FROM ({rendered.marked}\n) AS dyn_sorted ORDER BY {order_by_sql(order, rendered.dialect)}"
    return rendered.dialect.bind(marked, rendered.values)
