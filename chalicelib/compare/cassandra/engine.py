"""Cassandra comparison: one table (or sharded tables) in two environments.

    from chalicelib.compare.cassandra.engine import compare_cassandra
    answer = compare_cassandra(plan, progress=..., log=...)

Flow: parse the key values -> (sharded mode) route each key to its
`<table>_<n>` per side -> both sides at once: connect (cached session),
prepare `SELECT … WHERE k IN ?` (or `k1 = ? AND … AND kn IN ?` for a
composite key) per table, convert the key strings to the key columns' CQL
types learned from the prepared statement, run the batches with bounded
concurrency -> compare key by key on normalised values -> the seed 003
answer built by the shared ReportBuilder, plus raw rows, counts and timing.
"""
from __future__ import annotations

import re
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

from chalicelib.compare.core import Progress, ProgressCallback, ReportBuilder
from chalicelib.compare.core.values import compare_values, to_display
from chalicelib.web.errors import ValidationError

from .config import CassandraConfig, ShardingConfig, key_parts
from .sessions import get_session, query_error
from .sharding import ShardPlan, plan_side
from .values import convert_key, key_identity, normalise, type_name

LogFn = Callable[[str, str], None]
SIDES = ("pro", "test")

_RESERVED = frozenset("""
add allow alter and apply asc authorize batch begin by columnfamily create delete desc describe drop
entries execute from full grant if in index infinity insert into is keyspace limit modify nan
norecursive not null of on or order primary rename replace revoke schema select set table to token
truncate unlogged unset update use using view where with
""".split())
_PLAIN = re.compile(r"^[a-z_][a-z0-9_]*$")


def cql_name(name: str) -> str:
    """An identifier as CQL text: bare when Cassandra would read it back unchanged, else quoted."""
    if _PLAIN.match(name) and name not in _RESERVED:
        return name
    return '"' + name.replace('"', '""') + '"'


def _no_log(level: str, message: str) -> None:
    return None


@dataclass
class ComparePlan:
    """A validated comparison: resolved configs and options (routes and jobs build it)."""
    pro: CassandraConfig
    test: CassandraConfig
    keys: list
    values: list
    fields_to_compare: list = field(default_factory=list)
    exclude_fields: list = field(default_factory=list)
    sharding: Optional[ShardingConfig] = None
    batch_size: int = 100
    concurrency: int = 8
    max_raw_rows: int = 1000


@dataclass
class SideResult:
    rows: dict  # key index -> list of row tuples
    columns: list
    row_count: int
    fetch_seconds: float
    statements: list
    tables: list


# ---------------------------------------------------------------- keys

@dataclass
class ParsedKeys:
    parts: list  # unique keys: list of per-column strings
    duplicates: int


def parse_keys(values: list, keys: list) -> ParsedKeys:
    seen: dict = {}
    parts: list = []
    errors = []
    for index, value in enumerate(values):
        try:
            texts = key_parts(value, keys)
        except ValueError as exc:
            errors.append({"loc": ["body", "values", index], "type": "key_shape", "msg": str(exc)})
            continue
        ident = tuple(texts)
        if ident not in seen:
            seen[ident] = len(parts)
            parts.append(texts)
    if errors:
        raise ValidationError(f"values[{errors[0]['loc'][2]}]: {errors[0]['msg']}", errors)
    return ParsedKeys(parts, len(values) - len(parts) - len(errors))


def key_display(keys: list, texts: list) -> dict:
    return dict(zip(keys, texts))


def key_label(texts: list) -> str:
    return texts[0] if len(texts) == 1 else "|".join(texts)


# ---------------------------------------------------------------- fetching

def _select_text(cfg: CassandraConfig, table: str, keys: list, fields: list) -> str:
    if fields:
        wanted = list(dict.fromkeys(list(keys) + list(fields)))
        columns = ", ".join(cql_name(c) for c in wanted)
    else:
        columns = "*"
    where = " AND ".join(f"{cql_name(k)} = ?" for k in keys[:-1])
    last = f"{cql_name(keys[-1])} IN ?"
    where = f"{where} AND {last}" if where else last
    return f"SELECT {columns} FROM {cql_name(cfg.keyspace)}.{cql_name(table)} WHERE {where}"


def _bind_types(prepared: Any, keys: list) -> list:
    """The CQL type of each key column, from the prepared statement's bind variables."""
    types = []
    metadata = list(prepared.column_metadata)
    for index, key in enumerate(keys):
        ctype = metadata[index].type
        if index == len(keys) - 1:  # `in(k)` binds list<type>
            subtypes = getattr(ctype, "subtypes", None)
            ctype = subtypes[0] if subtypes else ctype
        types.append(ctype)
    return types


def fetch_side(side: str, cfg: CassandraConfig, plan: ComparePlan, parsed: ParsedKeys,
               shard: ShardPlan, progress: Callable[[int], None], log: LogFn) -> SideResult:
    from cassandra.concurrent import execute_concurrent

    started = time.perf_counter()
    with get_session(cfg, side) as sess:
        return _fetch(side, cfg, plan, parsed, shard, progress, log, sess, started)


def _fetch(side: str, cfg: CassandraConfig, plan: ComparePlan, parsed: ParsedKeys, shard: ShardPlan,
           progress: Callable[[int], None], log: LogFn, sess, started: float) -> SideResult:
    from cassandra.concurrent import execute_concurrent

    session = sess.session
    by_table: dict = defaultdict(list)
    for index, table in shard.table_of.items():
        by_table[table].append(index)
    identity_to_index: dict = {}
    work = []  # (prepared, params)
    statements = []
    key_positions = None
    columns: list = []
    for table, indexes in by_table.items():
        query = _select_text(cfg, table, plan.keys, plan.fields_to_compare)
        prepared = sess.prepared.get(query)
        if prepared is None:
            try:
                prepared = session.prepare(query)
            except Exception as exc:
                raise query_error(exc, cfg, side, query) from exc
            sess.prepared[query] = prepared
        statements.append(query)
        types = _bind_types(prepared, plan.keys)
        groups: dict = defaultdict(list)  # prefix values -> [(last value, index)]
        for index in indexes:
            texts = parsed.parts[index]
            typed = []
            for column, ctype, text in zip(plan.keys, types, texts):
                try:
                    typed.append(convert_key(text, ctype))
                except (ValueError, TypeError, OverflowError) as exc:
                    cql = type_name(ctype)
                    raise ValidationError(
                        f"value {text!r} for key column {column} is not a valid {cql} ({side}): {exc}",
                        [{"loc": ["body", "values"], "type": "key_conversion",
                          "msg": f"{text!r} is not a valid {cql}: {exc}", "value": text,
                          "column": column, "cql_type": cql, "side": side}]) from None
            identity_to_index[(table, tuple(key_identity(v) for v in typed))] = index
            groups[tuple(typed[:-1])].append(typed[-1])
        for prefix, last_values in groups.items():
            for start in range(0, len(last_values), plan.batch_size):
                work.append((table, query, prepared, list(prefix) + [last_values[start:start + plan.batch_size]]))
    rows: dict = defaultdict(list)
    row_count = 0
    done = 0
    for chunk_start in range(0, len(work), max(plan.concurrency * 4, 1)):
        chunk = work[chunk_start:chunk_start + max(plan.concurrency * 4, 1)]
        try:
            results = execute_concurrent(session, [(w[2], w[3]) for w in chunk],
                                         concurrency=plan.concurrency, raise_on_first_error=True)
        except Exception as exc:
            raise query_error(exc, cfg, side, chunk[0][1]) from exc
        for (table, query, _, _), (ok, result) in zip(chunk, results):
            try:
                if not columns:
                    columns = list(result.column_names or [])
                    key_positions = [columns.index(k) if k in columns else None for k in plan.keys]
                for row in result:
                    row_count += 1
                    ident = tuple(key_identity(row[p]) if p is not None else None for p in key_positions)
                    index = identity_to_index.get((table, ident))
                    if index is not None:
                        rows[index].append(row)
            except Exception as exc:  # paging through a big result can fail too
                raise query_error(exc, cfg, side, query) from exc
            done += 1
            progress(done)
    elapsed = time.perf_counter() - started
    log("INFO", f"{side} query finished: {len(work)} queries on {len(by_table)} table(s), "
                f"{row_count} rows in {elapsed:.3f}s")
    return SideResult(dict(rows), columns, row_count, elapsed, statements, sorted(by_table))


# ---------------------------------------------------------------- comparing

def _row_dict(columns: list, row: tuple) -> dict:
    return {c: normalise(v) for c, v in zip(columns, row)}


def _fields(plan: ComparePlan, pro_cols: list, test_cols: list) -> list:
    excluded = set(plan.exclude_fields) | set(plan.keys)
    if plan.fields_to_compare:
        base = plan.fields_to_compare
    else:
        base = list(dict.fromkeys(pro_cols + test_cols))
    return [f for f in base if f not in excluded]


def compare_rows(rb: ReportBuilder, key: dict, fields: list, pro_cols: set, test_cols: set,
                 pro_row: dict, test_row: dict, suffix: str = "") -> bool:
    """Feed the differences of one row pair; True when they are identical on `fields`."""
    same = True
    for name in fields:
        label = name + suffix
        if name not in pro_cols or name not in test_cols:
            missing_in = "pro" if name not in pro_cols else "test"
            rb.add_difference(key, field=label, left_value=pro_row.get(name), right_value=test_row.get(name),
                              message=f"column missing in {missing_in}")
            same = False
            continue
        a, b = pro_row.get(name), test_row.get(name)
        if type(a) is type(b) and a == b:  # the common case, without the JSON-aware comparison
            continue
        outcome = compare_values(a, b)
        if not outcome.equal:
            rb.add_difference(key, field=label, left_value=a, right_value=b, json_paths=outcome.json_paths,
                              paths_truncated=outcome.paths_truncated, message="field values differ")
            same = False
    return same


def compare_cassandra(plan: ComparePlan, progress: Optional[ProgressCallback] = None,
                      log: Optional[LogFn] = None) -> dict:
    log = log or _no_log
    prog = Progress(progress)
    t0 = time.perf_counter()
    parsed = parse_keys(plan.values, plan.keys)
    total = len(parsed.parts)
    labels = [key_label(p) for p in parsed.parts]
    texts = ["|".join(p) for p in parsed.parts]
    sharding = plan.sharding
    interval = sharding.interval_seconds if sharding else 1
    count = sharding.table_count if sharding else 1
    shards = {
        "pro": plan_side(plan.pro.table, texts, bool(sharding and sharding.use_sharding_for_pro), interval, count),
        "test": plan_side(plan.test.table, texts, bool(sharding and sharding.use_sharding_for_test), interval, count),
    }
    failed = sorted(set(shards["pro"].failed) | set(shards["test"].failed))
    for side in SIDES:  # a key one side cannot route is compared on neither
        for index in failed:
            shards[side].table_of.pop(index, None)
    log("INFO", f"Starting Cassandra comparison of {total} keys: pro {plan.pro.keyspace}.{plan.pro.table} "
                f"on {','.join(plan.pro.hosts)}, test {plan.test.keyspace}.{plan.test.table} "
                f"on {','.join(plan.test.hosts)}")
    if failed:
        log("WARNING", f"{len(failed)} keys have no timestamp to pick their shard table: "
                       f"{', '.join(labels[i] for i in failed[:10])}")

    queries_total = {s: 0 for s in SIDES}
    queries_done = {s: 0 for s in SIDES}

    def side_progress(side: str):
        def report(done: int) -> None:
            queries_done[side] = done
            prog.update(sum(queries_done.values()), max(1, sum(queries_total.values()) or 1), "fetching")
        return report

    for side in SIDES:
        queries_total[side] = max(1, -(-len(shards[side].table_of) // plan.batch_size))
    prog.update(0, 1, "connecting", force=True)
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="cassandra-compare") as pool:
        futures = {side: pool.submit(fetch_side, side, getattr(plan, side), plan, parsed, shards[side],
                                     side_progress(side), log) for side in SIDES}
        results, errors = {}, []
        for side in SIDES:
            try:
                results[side] = futures[side].result()
            except Exception as exc:  # noqa: BLE001 - the first one is re-raised
                errors.append(exc)
    if errors:
        log("ERROR", getattr(errors[0], "message", str(errors[0])))
        raise errors[0]
    fetched = time.perf_counter()
    pro, test = results["pro"], results["test"]

    rb = ReportBuilder("pro", "test", identical_name="identical_results")
    fields = _fields(plan, pro.columns, test.columns)
    pro_cols, test_cols = set(pro.columns), set(test.columns)
    missing_both = []
    failed_set = set(failed)
    compared = [i for i in range(total) if i not in failed_set]
    for done, index in enumerate(compared, 1):
        key = key_display(plan.keys, parsed.parts[index])
        pro_rows = [_row_dict(pro.columns, r) for r in pro.rows.get(index, [])]
        test_rows = [_row_dict(test.columns, r) for r in test.rows.get(index, [])]
        if not pro_rows and not test_rows:
            missing_both.append(key)
        elif not pro_rows:
            rb.add_missing(key, "pro", present_value=test_rows[0])
        elif not test_rows:
            rb.add_missing(key, "test", present_value=pro_rows[0])
        else:
            same = True
            multi = len(pro_rows) > 1 or len(test_rows) > 1
            if len(pro_rows) != len(test_rows):
                rb.add_difference(key, field="_row_count", left_value=len(pro_rows), right_value=len(test_rows),
                                  message="number of rows differs")
                same = False
            for n, (pr, tr) in enumerate(zip(pro_rows, test_rows)):
                suffix = f"[{n}]" if multi else ""
                same = compare_rows(rb, key, fields, pro_cols, test_cols, pr, tr, suffix) and same
            if same:
                entry = None
                if rb.identical_count < rb.max_listed:  # listed ones only: the rest are counted
                    entry = {"pro_fields": to_display({f: pro_rows[0].get(f) for f in fields}),
                             "test_fields": to_display({f: test_rows[0].get(f) for f in fields})}
                rb.add_identical(key, entry)
        if done % 1000 == 0:
            prog.update(done, len(compared), "comparing")
    for index in failed:
        rb.add_skipped(key_display(plan.keys, parsed.parts[index]), "no timestamp in key to pick its shard table")
    if missing_both:
        rb.recommend(f"{len(missing_both)} key(s) exist in neither environment: check the key values "
                     f"and the key columns ({', '.join(plan.keys)})")
    if failed:
        rb.recommend(f"{len(failed)} key(s) carry no 10-digit (seconds) or 13-digit (milliseconds) "
                     "timestamp, so their shard table is unknown")
    answer = rb.build(total_keys=total)
    compared_at = time.perf_counter()
    answer["missing_in_both"] = missing_both
    answer["pro_count"] = pro.row_count
    answer["test_count"] = test.row_count
    answer["raw_pro_data"] = _raw(pro, plan.max_raw_rows)
    answer["raw_test_data"] = _raw(test, plan.max_raw_rows)
    if pro.row_count > plan.max_raw_rows or test.row_count > plan.max_raw_rows:
        answer["raw_data_truncated"] = {"max_raw_rows": plan.max_raw_rows}
    if parsed.duplicates:
        answer["duplicate_keys"] = parsed.duplicates
    answer["fields_compared"] = fields
    answer["queries"] = {"pro": pro.statements, "test": test.statements}
    execution = compared_at - t0
    answer["execution_time"] = round(execution, 4)
    answer["timing"] = {
        "fetch_seconds": round(fetched - t0, 4),
        "pro_fetch_seconds": round(pro.fetch_seconds, 4),
        "test_fetch_seconds": round(test.fetch_seconds, 4),
        "compare_seconds": round(compared_at - fetched, 4),
        "keys_per_second": round(total / execution, 1) if execution > 0 else None,
    }
    if sharding is not None:
        answer["sharding_info"] = sharding_info(shards, labels, failed, sharding, total)
    prog.update(1, 1, "done", force=True)
    log("INFO", f"Cassandra comparison finished: {answer['summary']['overview']}")
    return answer


def _raw(result: SideResult, limit: int) -> list:
    out = []
    for index in sorted(result.rows):
        for row in result.rows[index]:
            if len(out) >= limit:
                return out
            out.append(to_display(_row_dict(result.columns, row)))
    return out


def sharding_info(shards: dict, labels: list, failed: list, cfg: ShardingConfig, total: int) -> dict:
    failed_set = set(failed)
    return {
        "pro_shard_mapping": {labels[i]: t for i, t in sorted(shards["pro"].table_of.items())},
        "test_shard_mapping": {labels[i]: t for i, t in sorted(shards["test"].table_of.items())},
        "failed_keys": [labels[i] for i in failed],
        "shard_stats": {
            "pro_tables_used": shards["pro"].tables_used(),
            "test_tables_used": shards["test"].tables_used(),
            "timestamp_extraction_success_rate": round(100.0 * (total - len(failed_set)) / total, 2) if total else 100.0,
            "interval_seconds": cfg.interval_seconds,
            "table_count": cfg.table_count,
        },
    }


__all__ = ["ComparePlan", "compare_cassandra", "cql_name"]
