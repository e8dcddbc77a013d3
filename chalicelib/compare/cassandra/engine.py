"""Cassandra comparison: one table (or sharded tables) in two environments.

    from chalicelib.compare.cassandra.engine import ComparePlan, compare_cassandra
    answer = compare_cassandra(plan, progress=..., log=...)

Flow: parse the key values -> (sharded mode) route each key to its
`<table>_<n>` per side -> both sides at once: connect (cached session),
learn each table's primary key and check the request against Cassandra's
restriction rules (a 400 before any data query), convert the keys to
their CQL types (deduplicated by typed value, spellings kept) -> both
sides at once: read the rows at each side's consistency level -> match
rows by full primary key and compare field by field -> keys that differ
are read again after a short delay, up to `recheck_rounds` times (a
lagging replica read at a weak consistency level is told from a real
difference; `recheck` is that loop, also used by whole-table runs) -> the
seed 003 answer built by the shared ReportBuilder (every key in exactly one
class), plus row counts, raw rows and timing.
"""
from __future__ import annotations

import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Callable, Optional

from chalicelib.compare.core import Progress, ProgressCallback, ReportBuilder
from chalicelib.compare.core.binary import label
from chalicelib.compare.core.values import to_display

from .config import CassandraConfig, ShardingConfig
from .fetch import PreparedSide, SideRows, attach_keys, fetch_rows, prepare_side, statement_texts
from .keys import parse_values, typed_keys
from .rows import ROW_STATS, compare_key, emit, row_dicts
from .schema import cql_name
from .sharding import plan_side
from .values import normalise

LogFn = Callable[[str, str], None]
SIDES = ("pro", "test")


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
    compare_mode: str = "exact"
    recheck_rounds: int = 1
    recheck_delay_seconds: float = 0.2
    max_listed: int = 1000


def _both(fn, *args_per_side) -> dict:
    """fn(side, *args) on both sides at once; the first failure is raised after both finished."""
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="cassandra-compare") as pool:
        futures = {side: pool.submit(fn, side, *(a[side] for a in args_per_side)) for side in SIDES}
        results, errors = {}, []
        for side in SIDES:
            try:
                results[side] = futures[side].result()
            except Exception as exc:  # noqa: BLE001 - the first one is re-raised
                errors.append(exc)
    if errors:
        for r in results.values():
            if isinstance(r, PreparedSide):
                r.close()
        raise errors[0]
    return results


def _fields(plan: ComparePlan, prep: dict, cols: dict) -> list:
    identity = set()
    for p in prep.values():
        for t in p.tables.values():
            identity.update(t.schema.primary_key)
    excluded = set(plan.exclude_fields) | identity | set(plan.keys)
    base = plan.fields_to_compare or list(dict.fromkeys(cols["pro"] + cols["test"]))
    return [f for f in base if f not in excluded]


def _columns(rows: SideRows, prep: PreparedSide) -> list:
    for table in prep.tables:
        if table in rows.columns:
            return rows.columns[table]
    first = next(iter(prep.tables.values()), None)
    if first is None:
        return []
    return first.shape.select_columns or list(first.schema.types)


def compare_cassandra(plan: ComparePlan, progress: Optional[ProgressCallback] = None,
                      log: Optional[LogFn] = None) -> dict:
    log = log or _no_log
    prog = Progress(progress)
    t0 = time.perf_counter()
    parsed = parse_values(plan.values, plan.keys)
    sharding = plan.sharding
    interval = sharding.interval_seconds if sharding else 1
    count = sharding.table_count if sharding else 1
    sharded = {"pro": bool(sharding and sharding.use_sharding_for_pro),
               "test": bool(sharding and sharding.use_sharding_for_test)}
    log("INFO", f"Starting Cassandra comparison of {len(plan.values)} key values: pro {plan.pro.keyspace}."
                f"{plan.pro.table} on {','.join(plan.pro.hosts)} at {plan.pro.consistency_level}, test "
                f"{plan.test.keyspace}.{plan.test.table} on {','.join(plan.test.hosts)} at "
                f"{plan.test.consistency_level}")
    prog.update(0, 1, "connecting", force=True)
    route = ["|".join(label(t) for t in texts) for texts in parsed]
    value_shards = {side: plan_side(getattr(plan, side).table, route, sharded[side], interval, count)
                    for side in SIDES}
    tables = {side: sorted(set(value_shards[side].table_of.values())) for side in SIDES}
    prep = _both(lambda side, t: prepare_side(side, getattr(plan, side), plan.keys, plan.fields_to_compare, t,
                                              sharded=sharded[side], concurrency=plan.concurrency,
                                              batch_size=plan.batch_size), tables)
    try:
        keys, duplicates = typed_keys(parsed, plan.keys, _key_types(plan, prep))
        labels = [k.label() for k in keys]
        shards = {side: plan_side(getattr(plan, side).table, [k.route_text() for k in keys], sharded[side],
                                  interval, count) for side in SIDES}
        unroutable = sorted(set(shards["pro"].failed) | set(shards["test"].failed))
        for side in SIDES:  # a key one side cannot route is compared on neither
            for index in unroutable:
                shards[side].table_of.pop(index, None)
        if unroutable:
            log("WARNING", f"{len(unroutable)} keys have no timestamp to pick their shard table: "
                           f"{', '.join(labels[i] for i in unroutable[:10])}")
        for side in SIDES:
            attach_keys(prep[side], keys, shards[side].table_of, plan.keys)
        return _run(plan, prog, log, t0, keys, duplicates, shards, unroutable, prep, labels)
    finally:
        for p in prep.values():
            p.close()


def _key_types(plan: ComparePlan, prep: dict) -> list:
    """The key columns' CQL types, from the pro side's schema (the test side converts again)."""
    for side in SIDES:
        for table_plan in prep[side].tables.values():
            return [table_plan.schema.types[c] for c in plan.keys]
    return ["text"] * len(plan.keys)  # no table exists at all: every key fails on its table


def _run(plan: ComparePlan, prog: Progress, log: LogFn, t0: float, keys: list, duplicates: int, shards: dict,
         unroutable: list, prep: dict, labels: list) -> dict:
    total = len(keys)
    failed: dict = {i: "no timestamp in key to pick its shard table" for i in unroutable}
    for side in SIDES:
        for index, reason in prep[side].failed.items():
            failed.setdefault(index, reason)
    compared = [k.index for k in keys if k.index not in failed]
    done = {s: 0 for s in SIDES}
    expected = max(1, len(compared) // max(plan.batch_size, 1) + 1) * 2

    def side_progress(side: str):
        def report(n: int) -> None:
            done[side] = n
            prog.update(min(sum(done.values()), expected), expected, "fetching")
        return report

    rb = ReportBuilder("pro", "test", identical_name="identical_results", compare_mode=plan.compare_mode,
                       max_listed=plan.max_listed)
    fetched = _both(lambda side, p: fetch_rows(p, compared, side_progress(side), log), prep)
    t_fetch = time.perf_counter()
    cols = {side: _columns(fetched[side], prep[side]) for side in SIDES}
    fields = _fields(plan, prep, cols)
    row_columns = _row_columns(prep)
    outcomes = _outcomes(plan, keys, compared, fetched, fields, cols, row_columns)

    def reread(pending: list) -> dict:
        again = _both(lambda side, p: fetch_rows(p, pending, lambda n: None, log), prep)
        return _outcomes(plan, keys, pending, again, fields, cols, row_columns)
    rechecked, transient = recheck(outcomes, plan.recheck_rounds, plan.recheck_delay_seconds, reread, log=log)
    if transient:
        rb.note("transient_dropped", transient)
        log("INFO", f"{transient} differences disappeared on recheck (transient)")
    rows_total: Counter = Counter()
    for index in compared:
        emit(rb, outcomes[index])
        rows_total.update(outcomes[index].rows)
    for index in sorted(failed):
        key = keys[index]
        extra = {"spellings": key.spellings} if len(key.spellings) > 1 else {}
        rb.add_skipped(key.display(plan.keys), failed[index], **extra)
    for side, other in (("test", "pro"), ("pro", "test")):
        n = rows_total.get(f"rows_missing_in_{side}", 0)
        if n:
            rb.recommend(f"{n} row{'s' if n != 1 else ''} of partitions present on both sides "
                         f"{'is' if n == 1 else 'are'} missing in {side} (listed with their clustering key): check "
                         f"that synchronisation from {other} to {side} copies whole partitions.")
    answer = rb.build(total_keys=total)
    answer["row_summary"] = {name: rows_total.get(name, 0) for name in ROW_STATS}
    answer["pro_count"] = fetched["pro"].row_count
    answer["test_count"] = fetched["test"].row_count
    answer["raw_pro_data"] = _raw(fetched["pro"], plan.max_raw_rows)
    answer["raw_test_data"] = _raw(fetched["test"], plan.max_raw_rows)
    if fetched["pro"].row_count > plan.max_raw_rows or fetched["test"].row_count > plan.max_raw_rows:
        answer["raw_data_truncated"] = {"max_raw_rows": plan.max_raw_rows}
    if duplicates:
        answer["duplicate_keys"] = duplicates
        answer["equivalent_keys"] = [{"key": k.display(plan.keys), "spellings": k.spellings}
                                     for k in keys if len(k.spellings) > 1][:plan.max_listed]
    answer["transient_dropped"] = transient
    answer["recheck"] = {"rounds": plan.recheck_rounds, "keys_reread": rechecked, "transient": transient}
    answer["fields_compared"] = fields
    answer["primary_key"] = {"pro": _pk(prep["pro"]), "test": _pk(prep["test"])}
    answer["consistency_level"] = {s: getattr(plan, s).consistency_level for s in SIDES}
    answer["queries"] = {s: statement_texts(prep[s]) for s in SIDES}
    end = time.perf_counter()
    rows_read = fetched["pro"].row_count + fetched["test"].row_count
    answer["execution_time"] = round(end - t0, 4)
    answer["timing"] = {
        "fetch_seconds": round(t_fetch - t0, 4),
        "pro_fetch_seconds": round(fetched["pro"].seconds, 4),
        "test_fetch_seconds": round(fetched["test"].seconds, 4),
        "compare_seconds": round(end - t_fetch, 4),
        "keys_per_second": round(total / (end - t0), 1) if end > t0 else None,
        "rows_per_second": round(rows_read / (end - t0), 1) if end > t0 else None,
    }
    if plan.sharding is not None:
        answer["sharding_info"] = sharding_info(shards, labels, failed, plan.sharding, total)
    prog.update(1, 1, "done", force=True)
    log("INFO", f"Cassandra comparison finished: {answer['summary']['overview']}")
    return answer


def recheck(outcomes: dict, rounds: int, delay: float, reread: Callable[[list], dict], *,
            read_at: Optional[float] = None, log: Optional[LogFn] = None) -> tuple[int, int]:
    """Read the keys whose outcome is not identical again, up to `rounds` times, each time
    `delay` seconds after their previous read (`read_at`, monotonic; default now), so that a
    lagging replica is told from a real difference. `reread(indexes)` answers their fresh
    KeyOutcomes; `outcomes` ({index: KeyOutcome}) is updated in place. Returns
    (keys re-read, keys that became identical: transient differences)."""
    log = log or _no_log
    transient = rechecked = 0
    last = time.monotonic() if read_at is None else read_at
    for rnd in range(1, rounds + 1):
        pending = [i for i, o in outcomes.items() if o.status != "identical"]
        if not pending:
            break
        wait = last + delay - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        log("INFO", f"Recheck round {rnd}: reading {len(pending)} differing keys again")
        fresh = reread(pending)
        last = time.monotonic()
        rechecked += len(pending)
        for index in pending:
            if fresh[index].status == "identical":
                transient += 1
            outcomes[index] = fresh[index]
    return rechecked, transient


def _row_columns(prep: dict) -> list:
    for side in SIDES:
        for t in prep[side].tables.values():
            return t.shape.row_columns
    return []


def _pk(prep: PreparedSide) -> dict | None:
    for t in prep.tables.values():
        return {"partition_key": t.schema.partition_key, "clustering": t.schema.clustering}
    return None


def _outcomes(plan: ComparePlan, keys: list, indexes: list, fetched: dict, fields: list, cols: dict,
              row_columns: list) -> dict:
    pro_cols, test_cols = set(cols["pro"]), set(cols["test"])
    out = {}
    for index in indexes:
        key = keys[index]
        pro_rows = row_dicts(fetched["pro"].rows.get(index, {}), fetched["pro"].columns)
        test_rows = row_dicts(fetched["test"].rows.get(index, {}), fetched["test"].columns)
        out[index] = compare_key(key.display(plan.keys), key.spellings, fields, pro_rows, test_rows,
                                 pro_cols, test_cols, row_columns, plan.compare_mode)
    return out


def _raw(result: SideRows, limit: int) -> list:
    out: list = []
    for index in sorted(result.rows):
        for table, row in result.rows[index].values():
            if len(out) >= limit:
                return out
            out.append(to_display(dict(zip(result.columns[table], (normalise(v) for v in row), strict=False))))
    return out


def sharding_info(shards: dict, labels: list, failed: dict, cfg: ShardingConfig, total: int) -> dict:
    return {
        "pro_shard_mapping": {labels[i]: t for i, t in sorted(shards["pro"].table_of.items())},
        "test_shard_mapping": {labels[i]: t for i, t in sorted(shards["test"].table_of.items())},
        "failed_keys": [labels[i] for i in sorted(failed)],
        "failed_key_reasons": {labels[i]: failed[i] for i in sorted(failed)},
        "shard_stats": {
            "pro_tables_used": shards["pro"].tables_used(),
            "test_tables_used": shards["test"].tables_used(),
            "timestamp_extraction_success_rate": round(
                100.0 * (total - len([r for r in failed.values() if "timestamp" in r])) / total, 2) if total else 100.0,
            "interval_seconds": cfg.interval_seconds,
            "table_count": cfg.table_count,
        },
    }


__all__ = ["ComparePlan", "compare_cassandra", "cql_name", "recheck"]
