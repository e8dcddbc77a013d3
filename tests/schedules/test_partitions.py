"""Partition rollover with an injected clock, on a private partitioned copy of
api_call_logs (the real table is shared with the rest of the run)."""
from __future__ import annotations

import threading
import uuid
from datetime import datetime, timezone

import pytest

from chalicelib.db import Database, get_db, quote_ident
from chalicelib.schedules.partitions import Month, partitions, rollover
from tests.conftest import TEST_DATABASE_URL


@pytest.fixture
def logs_table():
    """A table shaped like api_call_logs (range-partitioned, DEFAULT partition), dropped after."""
    name = f"t_logs_{uuid.uuid4().hex[:8]}"
    db = get_db()
    db.execute(f"CREATE TABLE {quote_ident(name)} (LIKE api_call_logs INCLUDING DEFAULTS INCLUDING CONSTRAINTS,"
               f" PRIMARY KEY (id, created_at)) PARTITION BY RANGE (created_at)")
    db.execute(f"CREATE INDEX ON {quote_ident(name)} (created_at)")
    db.execute(f"CREATE TABLE {quote_ident(name + '_default')} PARTITION OF {quote_ident(name)} DEFAULT")
    yield name
    for r in db.query("SELECT tablename FROM pg_tables WHERE tablename LIKE :p", p=name + "%"):
        db.execute(f"DROP TABLE IF EXISTS {quote_ident(r['tablename'])} CASCADE")


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


def insert_rows(table: str, *timestamps: datetime) -> None:
    db = get_db()
    for ts in timestamps:
        db.execute(f"INSERT INTO {quote_ident(table)} (api_endpoint_id, request_method, request_url, created_at) "
                   "VALUES (gen_random_uuid(), 'GET', 'https://example.test/', :ts)", ts=ts)


def count(table: str) -> int:
    return int(get_db().scalar(f"SELECT count(*) FROM {quote_ident(table)}"))


def names(table: str) -> list[str]:
    return sorted(partitions(get_db(), table)["ranges"].values())


@pytest.mark.parametrize("now, expected", [
    (utc(2026, 11, 21, 3), ["2026_11", "2026_12", "2027_01", "2027_02"]),
    (utc(2026, 12, 31, 23, 59), ["2026_12", "2027_01", "2027_02", "2027_03"]),  # across the year boundary
    (utc(2027, 1, 1, 0, 0), ["2027_01", "2027_02", "2027_03", "2027_04"]),
])
def test_partitions_exist_for_the_current_month_and_the_next_three(logs_table, now, expected):
    report = rollover(now, months_ahead=3, retention_months=6, table=logs_table)
    assert names(logs_table) == [f"{logs_table}_{m}" for m in expected]
    assert report["created"] == [f"{logs_table}_{m}" for m in expected]


def test_second_run_does_nothing(logs_table):
    rollover(utc(2026, 11, 21), table=logs_table)
    again = rollover(utc(2026, 11, 21), table=logs_table)
    assert again["created"] == [] and again["dropped"] == [] and again["moved_rows"] == {}


def test_rows_in_default_move_into_partitions_created_for_their_months(logs_table):
    rollover(utc(2026, 11, 1), months_ahead=1, table=logs_table)  # 2026_11, 2026_12
    far_future = [utc(2031, 5, 3, 12), utc(2031, 5, 30, 23, 59, 59)]
    jan = [utc(2027, 1, 1, 0, 0, 0)]  # next year, beyond the window at the time of writing
    insert_rows(logs_table, *far_future, *jan, utc(2026, 11, 5))
    before = count(logs_table)
    assert count(logs_table + "_default") == 3
    report = rollover(utc(2026, 12, 15), months_ahead=1, table=logs_table)  # window: 2026_12, 2027_01
    assert report["moved_rows"] == {f"{logs_table}_2027_01": 1, f"{logs_table}_2031_05": 2}
    assert report["default_detached"] is True and report["default_rows"] == 0
    assert count(logs_table) == before
    assert count(f"{logs_table}_2031_05") == 2 and count(f"{logs_table}_2027_01") == 1
    assert partitions(get_db(), logs_table)["default"] == logs_table + "_default"  # re-attached


def test_retention_drops_old_partitions_and_only_their_rows(logs_table):
    rollover(utc(2026, 1, 10), months_ahead=3, retention_months=6, table=logs_table)  # 2026_01..04
    insert_rows(logs_table, utc(2026, 1, 2), utc(2026, 1, 3), utc(2026, 2, 1), utc(2026, 4, 30))
    insert_rows(logs_table, utc(2025, 3, 1))  # very old row, in DEFAULT
    before = count(logs_table)
    report = rollover(utc(2026, 8, 1), months_ahead=3, retention_months=6, table=logs_table)  # keep >= 2026_02
    assert report["dropped"] == [f"{logs_table}_2025_03", f"{logs_table}_2026_01"]
    assert report["rows_dropped"] == 3
    assert count(logs_table) == before - report["rows_dropped"]
    assert names(logs_table)[0] == f"{logs_table}_2026_02"


def test_detach_only_keeps_old_partitions_as_plain_tables(logs_table):
    rollover(utc(2026, 1, 10), table=logs_table)
    insert_rows(logs_table, utc(2026, 1, 2))
    report = rollover(utc(2026, 9, 1), detach_only=True, retention_months=6, table=logs_table)
    # September minus 6 months keeps March onwards: January and February go.
    assert report["detached"] == [f"{logs_table}_2026_01", f"{logs_table}_2026_02"]
    assert report["rows_dropped"] == 0
    assert f"{logs_table}_2026_01" not in names(logs_table)
    assert count(f"{logs_table}_2026_01") == 1  # still there, outside the partitioned table


def test_concurrent_runs_do_the_work_once(logs_table):
    insert_rows(logs_table, utc(2030, 1, 1), utc(2030, 1, 2))
    reports, errors = [], []

    def run():
        db = Database(TEST_DATABASE_URL)
        try:
            reports.append(rollover(utc(2026, 11, 21), table=logs_table, db=db))
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)
        finally:
            db.close()

    threads = [threading.Thread(target=run) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == []
    assert sorted(len(r["created"]) for r in reports) == [0, 0, 5]
    assert sum(sum(r["moved_rows"].values()) for r in reports) == 2
    assert count(logs_table) == 2


def test_one_month_query_prunes_to_one_partition(logs_table):
    rollover(utc(2026, 11, 21), table=logs_table)
    plan = "\n".join(r["QUERY PLAN"] for r in get_db().query(
        f"EXPLAIN SELECT count(*) FROM {quote_ident(logs_table)} "
        "WHERE created_at >= '2026-12-01T00:00:00Z' AND created_at < '2027-01-01T00:00:00Z'"))
    scanned = {p for p in [f"{logs_table}_{m}" for m in ("2026_11", "2026_12", "2027_01", "2027_02")]
               + [f"{logs_table}_default"] if p in plan}
    assert scanned == {f"{logs_table}_2026_12"}, plan


def test_month_arithmetic_wraps_years():
    assert Month(2026, 12).plus(1) == Month(2027, 1)
    assert Month(2027, 1).plus(-13) == Month(2025, 12)
    assert Month.of(utc(2026, 12, 31, 23, 59)).end == utc(2027, 1, 1)
