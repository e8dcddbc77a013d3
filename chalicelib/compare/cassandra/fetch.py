"""Reading one side of a Cassandra comparison: schema first, then the rows of the wanted keys.

    prep = prepare_side("pro", cfg, key_columns, fields, tables, sharded=False)  # schema + rules; no data read
    attach_keys(prep, keys, table_of, key_columns)                            # keys typed per table
    attach_typed(prep, {index: typed values})                                 # or keys already typed
    result = fetch_rows(prep, indexes, progress, log)     # the rows, per key and per primary key

`prepare_side` learns each table's primary key (schema.load_schema),
checks the request against Cassandra's restriction rules
(schema.query_shape: a 400 before any data query) and converts the keys to
the side's column types. In a sharded comparison a `<table>_<n>` that does
not exist is not an error: its keys are set aside in `failed` with the
reason, and the others are compared.

`fetch_rows` prepares `SELECT … WHERE k1 = ? AND … AND kn IN ?`, runs the
batches with bounded concurrency at the side's consistency level, and
files every row under its request key and its full primary key, so rows
are matched by identity, never by position.
"""
from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Callable

from chalicelib.errors import QueryError

from .config import CassandraConfig
from .keys import Key, convert, identity_of
from .schema import QueryShape, TableMissing, TableSchema, cql_name, load_schema, query_shape
from .sessions import SideSession, get_session, query_error
from .values import key_identity

LogFn = Callable[[str, str], None]


def raise_driver_error(exc: BaseException, cfg: CassandraConfig, side: str, query: str):
    err = query_error(exc, cfg, side, query)
    if err is exc:
        raise exc
    raise err from exc


@dataclass
class TablePlan:
    table: str
    schema: TableSchema
    shape: QueryShape
    query: str
    typed: dict = field(default_factory=dict)        # key index -> typed values in shape order
    by_identity: dict = field(default_factory=dict)  # identity in shape order -> key index


@dataclass
class PreparedSide:
    side: str
    cfg: CassandraConfig
    session: SideSession
    tables: dict                                      # table name -> TablePlan
    table_of: dict                                    # key index -> table name
    failed: dict = field(default_factory=dict)        # key index -> reason
    missing_tables: dict = field(default_factory=dict)  # table -> reason (sharded mode)
    concurrency: int = 8
    batch_size: int = 100

    def close(self) -> None:
        self.session.release()


@dataclass
class SideRows:
    rows: dict                 # key index -> {row identity: (table, row tuple)}
    columns: dict              # table -> result column names
    row_count: int
    seconds: float
    queries: int


def prepare_side(side: str, cfg: CassandraConfig, key_columns: list, fields: list, tables: list, *,
                 sharded: bool, concurrency: int = 8, batch_size: int = 100) -> PreparedSide:
    """Connect, learn each table's primary key and check the request against it (no data read)."""
    sess = get_session(cfg, side)
    try:
        out = PreparedSide(side, cfg, sess, {}, {}, concurrency=concurrency, batch_size=batch_size)
        for table in sorted(set(tables)):
            try:
                schema = load_schema(sess.session, cfg.keyspace, table, timeout=cfg.request_timeout)
            except TableMissing as exc:
                if not sharded:
                    exc.details = {**(exc.details or {}), "side": side, "cluster": cfg.cluster_name,
                                   "reason": "table_missing",
                                   "query": f"SELECT * FROM {cql_name(cfg.keyspace)}.{cql_name(table)}"}
                    exc.message = f"{exc.message} ({side})"
                    raise
                out.missing_tables[table] = exc.message
                continue
            except QueryError:
                raise
            except Exception as exc:  # noqa: BLE001 - driver failures are typed
                raise_driver_error(exc, cfg, side, "SELECT … FROM system_schema.columns")
            shape = query_shape(schema, key_columns, fields)
            columns = ", ".join(cql_name(c) for c in shape.select_columns) if shape.select_columns else "*"
            query = (f"SELECT {columns} FROM {cql_name(cfg.keyspace)}.{cql_name(table)} "
                     f"WHERE {shape.where(cql_name)}")
            out.tables[table] = TablePlan(table, schema, shape, query)
        return out
    except BaseException:
        sess.release()
        raise


def attach_keys(prep: PreparedSide, keys: list, table_of: dict, key_columns: list) -> None:
    """Each key typed with its table's column types; keys of a missing table go to `failed`."""
    prep.table_of = dict(table_of)
    for key in keys:
        table = table_of.get(key.index)
        if table is None:
            continue
        plan = prep.tables.get(table)
        if plan is None:
            reason = prep.missing_tables.get(table, f"table {table} not prepared")
            prep.failed[key.index] = f"{prep.side}: {reason}"
            continue
        order = [key_columns.index(c) for c in plan.shape.key_columns]
        texts = [key.texts[i] for i in order]
        typed = convert(texts, plan.shape.key_columns, [plan.schema.types[c] for c in plan.shape.key_columns],
                        prep.side)
        plan.typed[key.index] = typed
        plan.by_identity[identity_of(typed)] = key.index


def attach_typed(prep: PreparedSide, typed: dict) -> None:
    """Keys already of their columns' types (read from the table itself, e.g. by a whole-table
    run), {index: values in the shape's key-column order}, replacing those attached before."""
    for plan in prep.tables.values():
        plan.typed = {i: list(v) for i, v in typed.items()}
        plan.by_identity = {identity_of(v): i for i, v in plan.typed.items()}
        prep.table_of = {i: plan.table for i in typed}


def _statements(prep: PreparedSide, indexes: list, log: LogFn) -> list:
    """[(table plan, prepared statement, params)] for the wanted key indexes."""
    wanted = set(indexes)
    work: list = []
    for plan in prep.tables.values():
        mine = [i for i in plan.typed if i in wanted]
        if not mine:
            continue
        prepared = prep.session.prepared.get(plan.query)
        if prepared is None:
            try:
                prepared = prep.session.session.prepare(plan.query)
            except Exception as exc:  # noqa: BLE001 - every driver error becomes a typed error here
                raise_driver_error(exc, prep.cfg, prep.side, plan.query)
            prep.session.prepared[plan.query] = prepared
        if not plan.shape.in_last:
            work.extend((plan, prepared, list(plan.typed[i])) for i in mine)
            continue
        groups: dict = defaultdict(list)
        for i in mine:
            typed = plan.typed[i]
            groups[tuple(typed[:-1])].append(typed[-1])
        for prefix, last in groups.items():
            for start in range(0, len(last), prep.batch_size):
                work.append((plan, prepared, list(prefix) + [last[start:start + prep.batch_size]]))
    return work


def fetch_rows(prep: PreparedSide, indexes: list, progress: Callable[[int], None], log: LogFn) -> SideRows:
    from cassandra import ConsistencyLevel
    from cassandra.concurrent import execute_concurrent

    started = time.perf_counter()
    level = ConsistencyLevel.name_to_value[prep.cfg.consistency_level]
    work = _statements(prep, indexes, log)
    rows: dict = defaultdict(dict)
    columns: dict = {}
    row_count = done = 0
    step = max(prep.concurrency * 4, 1)
    for start in range(0, len(work), step):
        chunk = work[start:start + step]
        statements = []
        for _, prepared, params in chunk:
            bound = prepared.bind(params)
            bound.consistency_level = level
            statements.append(bound)
        try:
            results = execute_concurrent(prep.session.session, [(s, None) for s in statements],
                                         concurrency=prep.concurrency, raise_on_first_error=True)
        except Exception as exc:  # noqa: BLE001 - every driver error becomes a typed error here
            raise_driver_error(exc, prep.cfg, prep.side, chunk[0][0].query)
        for (plan, _, _), (_ok, result) in zip(chunk, results, strict=False):
            try:
                names = list(result.column_names or [])
                columns.setdefault(plan.table, names)
                key_pos = [names.index(c) for c in plan.shape.key_columns]
                pk_pos = [names.index(c) for c in plan.schema.primary_key]
                for row in result:
                    row_count += 1
                    index = plan.by_identity.get(tuple(key_identity(row[p]) for p in key_pos))
                    if index is not None:
                        rows[index][tuple(key_identity(row[p]) for p in pk_pos)] = (plan.table, row)
            except Exception as exc:  # noqa: BLE001 - paging through a big result can fail too
                raise_driver_error(exc, prep.cfg, prep.side, plan.query)
            done += 1
            progress(done)
    elapsed = time.perf_counter() - started
    log("INFO", f"{prep.side} read {row_count} rows with {len(work)} queries on {len(prep.tables)} table(s) "
                f"at {prep.cfg.consistency_level} in {elapsed:.3f}s")
    return SideRows(dict(rows), columns, row_count, elapsed, len(work))


def statement_texts(prep: PreparedSide) -> list:
    return [p.query for p in prep.tables.values()]


__all__ = ["Key", "PreparedSide", "attach_keys", "attach_typed", "SideRows", "TablePlan", "fetch_rows", "prepare_side",
           "statement_texts"]
