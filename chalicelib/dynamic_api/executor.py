"""Seed 002 DefaultDynamicApiExecutor: check inputs, render, bind, run, shape.

    outcome = execute(loaded_definition, raw_inputs)

`raw_inputs` holds the declared parameters (already picked from query/body/
form/headers per param_type) plus the built-ins (skipCount, maxResultCount,
sorting, page, pageSize). The outcome carries the seed-002 body
(`{"totalCount", "items"}`, the entity, or `{"affectedRows"}`), the bound
statements that ran and the row count.

Every invocation is one transaction on a clean session (drivers, DESIGN 15):
read-only unless the API writes (a write statement or a routine on a
non-GET method), the API's timeout (at most 29 s) for that transaction
only, rolled back unless a published write succeeded. `dry_run=True` (draft
tests) rolls back writes too and says so (`Outcome.rolled_back`). At most
`max_rows` rows are fetched (limits).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Mapping

from chalicelib import spans
from chalicelib.errors import ConnectionFailed, NotFound, QueryRefused
from chalicelib.jsontext import dumps

from . import limits, paging
from .binding import RenderedSql
from .cache import templates
from .checks import routine_call
from .connections import ConnectionManager
from .connections import manager as default_manager
from .dialects import BoundStatement, get_dialect
from .drivers import DbConnection, QueryResult
from .params import convert_inputs
from .sqltext import MARK
from .store import LoadedDefinition, pool_config


@dataclass
class Outcome:
    body: Any
    row_count: int
    statements: list[BoundStatement] = field(default_factory=list)
    values: dict = field(default_factory=dict)
    duration_ms: float = 0.0
    wrote: bool = False              # the statement ran in a read-write transaction
    rolled_back: bool = True         # nothing it did was committed
    affected_rows: int | None = None
    payload: str = ""                # `body` as JSON, size-checked (limits)


def _builtins(defn: LoadedDefinition, raw: Mapping[str, Any]) -> tuple[dict, paging.Paging | None, list]:
    row = defn.row
    sortable = list(row["sortable_columns"] or [])
    page_cap = min(int(row["max_page_size"]), limits.effective_max_rows(row))
    page = paging.resolve_paging(raw, page_cap) if row["is_paging"] else None
    order: list = []
    if row["is_sorting"] or row["is_paging"]:
        sorting = raw.get("sorting") if row["is_sorting"] else None
        if isinstance(sorting, list):
            sorting = ",".join(str(s) for s in sorting)
        if not sorting:
            sorting = row["default_sorting"]
        order = paging.parse_sorting(sorting, sortable)
    values: dict[str, Any] = {"skipCount": None, "maxResultCount": None, "page": None, "pageSize": None,
                              "sorting": ", ".join(f"{c} {d}" for c, d in order) or None}
    if page is not None:
        values.update(page.builtins())
    return values, page, order


_routine_kinds: dict[tuple[str, str], str] = {}


def _procedure_statement(rendered: RenderedSql, conn: DbConnection, pool_id: str) -> BoundStatement:
    m = routine_call(rendered.marked)
    if m is None:
        raise QueryRefused("a procedure template must render a routine call: name(args)")
    name, args = m.group("name"), m.group("args")     # name: template text, matched [A-Za-z_][\w$.]*
    dialect = rendered.dialect
    if dialect.name == "mysql":
        return dialect.bind(f"CALL {name}({args})", rendered.values)
    key = (pool_id, name.lower())
    kind = _routine_kinds.get(key)
    if kind is None:
        parts = name.lower().split(".")
        if len(parts) == 2:
            probe = dialect.bind(
                "SELECT p.prokind FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
                f"WHERE p.proname = CAST({MARK} AS text) AND n.nspname = CAST({MARK} AS text) LIMIT 1",
                [parts[1], parts[0]])
        else:
            probe = dialect.bind(
                f"SELECT prokind FROM pg_proc WHERE proname = CAST({MARK} AS text) "
                "AND pg_function_is_visible(oid) LIMIT 1", [parts[0]])
        res = conn.execute(probe)
        if not res.rows:
            raise QueryRefused(f"routine {name!r} does not exist on the target database", {"routine": name})
        kind = _routine_kinds[key] = str(res.rows[0][0])
    if kind == "p":
        return dialect.bind(f"CALL {name}({args})", rendered.values)
    return dialect.bind(f"SELECT * FROM {name}({args})", rendered.values)


def _shape(defn: LoadedDefinition, result: QueryResult, total: int | None = None) -> tuple[Any, int]:
    row = defn.row
    items = result.dicts()
    if row["is_multiple_result"] or row["is_paging"]:
        return {"totalCount": total if total is not None else len(items), "items": items}, len(items)
    if not items:
        raise NotFound(f"{row['name']}: no row matches", {"name": row["name"]})
    return items[0], 1


def _statements(defn: LoadedDefinition, rendered: RenderedSql, page, order, conn: DbConnection,
                pool_id: str) -> list[BoundStatement]:
    if defn.row["script_type"] == "procedure":
        return [_procedure_statement(rendered, conn, pool_id)]
    if page is not None:
        return [paging.count_statement(rendered), paging.page_statement(rendered, order, page)]
    if order:
        return [paging.sorted_statement(rendered, order)]
    return [rendered.statement()]


def _run(defn: LoadedDefinition, rendered: RenderedSql, page, order, conn: DbConnection,
         pool_id: str, dry_run: bool) -> tuple[Any, str, int, list[BoundStatement], bool, int | None, bool]:
    """(body, its JSON text, row count, statements, wrote, affected rows, committed)"""
    row = defn.row
    writes = row["http_method"] != "GET" and (rendered.is_write or row["script_type"] == "procedure")
    max_rows = limits.effective_max_rows(row)
    conn.begin(read_only=not writes, timeout_ms=limits.effective_timeout_ms(row))
    committed = False
    try:
        statements = _statements(defn, rendered, page, order, conn, pool_id)
        total = None
        if page is not None:
            total = int(conn.execute(statements[0]).rows[0][0])
            conn.renew_timeout()
        result = conn.execute(statements[-1], max_rows, last_read=not writes)
        if result.truncated:
            raise limits.too_many_rows(max_rows)
        if result.columns:
            body, n = _shape(defn, result, total)
            affected = n if writes else None
        else:
            affected = max(result.rowcount, 0)
            body, n = {"affectedRows": affected}, affected
        payload = dumps(body)
        limits.check_body_bytes(payload)          # before a write commits: no refused answer is committed
        if writes and not dry_run:
            conn.end(commit=True)
            committed = True
        # otherwise the transaction stays open: the session reset when the connection goes back
        # to the pool rolls it back in the same round trip (a closed connection rolls back too)
    except BaseException:
        conn.rollback()
        raise
    return body, payload, n, statements, writes, affected, committed


def render(defn: LoadedDefinition, raw: Mapping[str, Any]) -> tuple[RenderedSql, Any, list, dict]:
    row = defn.row
    values = convert_inputs(defn.specs, raw)
    builtins, page, order = _builtins(defn, raw)
    compiled = templates.get(defn.id, defn.version, row["template_engine"], row["script_template"],
                             [s.name for s in defn.specs])
    dialect = get_dialect(defn.pool_row["db_type"])
    rendered = compiled.render({**builtins, **values}, dialect)
    return rendered, page, order, values


def execute(defn: LoadedDefinition, raw: Mapping[str, Any], *, connections: ConnectionManager | None = None,
            dry_run: bool = False) -> Outcome:
    started = time.perf_counter()
    if not defn.pool_row.get("is_active", True):
        raise ConnectionFailed("the API's connection pool is inactive",
                               {"connection_pool_id": str(defn.pool_row["id"])})
    with spans.span("render"):
        rendered, page, order, values = render(defn, raw)
    cfg = pool_config(defn.pool_row)
    mgr = connections or default_manager
    for attempt in (0, 1):
        taken = time.perf_counter()
        with mgr.connection(cfg) as conn:
            try:
                spans.add("connection", taken)
                with spans.span("sql"):   # the transaction: BEGIN, statements, shaping, JSON
                    body, payload, n, statements, wrote, affected, committed = _run(
                        defn, rendered, page, order, conn, cfg.id, dry_run)
                taken = time.perf_counter()
                break
            except ConnectionFailed:
                # a stale pooled connection: reads are retried once on a fresh one
                if attempt == 1 or not conn.reused or rendered.is_write:
                    raise
    spans.add("connection", taken)   # giving it back: the session reset
    return Outcome(body, n, statements, values, (time.perf_counter() - started) * 1000.0, wrote,
                   not committed, affected, payload)
