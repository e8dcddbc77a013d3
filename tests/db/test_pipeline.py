"""chalicelib.db.pipeline: statements sent without waiting are pipelined, seen by every
later read of the process, and re-run once (idempotently) when they fail or their
connection breaks before their answer is read."""
from __future__ import annotations

import threading
import time
import uuid

import pytest

from chalicelib.db import Database, prepared
from chalicelib.db.wire import unread
from tests.conftest import ADMIN_URL, TEST_DATABASE_URL


@pytest.fixture
def pool():
    d = Database(TEST_DATABASE_URL, max_connections=2, application_name=f"stepflow-pipe-{uuid.uuid4().hex[:8]}")
    yield d
    d.close()


@pytest.fixture
def tables(pool):
    """`t (x int CHECK (x > 0))` and a one-row counter `c`, dropped after the test."""
    name = f"pipe_{uuid.uuid4().hex[:8]}"
    pool.execute(f"CREATE TABLE {name} (x int CHECK (x > 0))")
    pool.execute(f"CREATE TABLE {name}_c (id int PRIMARY KEY, n int NOT NULL)")
    pool.execute(f"INSERT INTO {name}_c VALUES (1, 0)")
    yield name
    pool.execute(f"DROP TABLE {name}, {name}_c")


def insert_and_count(table: str) -> str:
    """One statement: a row in `table` and the counter row incremented (it waits on that row's lock)."""
    return prepared(f"WITH i AS (INSERT INTO {table} VALUES (CAST(:x AS int)) RETURNING 1) "
                    f"UPDATE {table}_c SET n = n + (SELECT count(*) FROM i) WHERE id = 1")


class CounterLock:
    """Another session holding the counter row's lock until `release()`: statements that touch it wait."""

    def __init__(self, table: str):
        import pg8000.native

        from chalicelib.db.urls import parse_database_url
        self.conn = pg8000.native.Connection(**parse_database_url(TEST_DATABASE_URL))
        self.conn.run("BEGIN")
        self.conn.run(f"SELECT n FROM {table}_c WHERE id = 1 FOR UPDATE")

    def release(self) -> None:
        self.conn.run("ROLLBACK")
        self.conn.close()


def test_statements_sent_without_waiting_are_pipelined_and_all_run(pool, tables):
    sql = insert_and_count(tables)
    pool.execute_nowait(sql, x=1)          # prepares it (one round trip), then sends
    conn = pool._idle[-1][0]
    for i in range(2, 6):
        pool.execute_nowait(sql, x=i)
    assert unread(conn) == 5               # none of their answers read yet: one write each
    assert pool.scalar(f"SELECT sum(x) FROM {tables}") == 15
    assert unread(conn) == 0
    assert pool.scalar(f"SELECT n FROM {tables}_c") == 5


def test_a_read_on_another_connection_waits_for_what_this_process_sent_before_it(pool, tables):
    lock = CounterLock(tables)
    seen: list = []
    started, sent = threading.Event(), threading.Event()

    def reader():
        with pool.transaction():   # its own connection, taken before the write was sent
            started.set()
            sent.wait(5)
            seen.append(pool.scalar(f"SELECT count(*) FROM {tables}"))

    th = threading.Thread(target=reader)
    th.start()
    started.wait(5)
    pool.execute_nowait(insert_and_count(tables), x=7)   # waits in the server on the locked counter row
    sent.set()
    threading.Timer(0.3, lock.release).start()
    th.join(10)
    assert seen == [1]   # the read began after the write was sent: it sees it


def test_a_statement_that_fails_after_it_was_sent_is_logged_and_its_on_lost_runs_once(pool, tables, caplog):
    calls: list = []
    pool.execute_nowait(insert_and_count(tables), _on_lost=lambda d: calls.append(d.scalar("SELECT 1")), x=-1)
    assert pool.scalar("SELECT 5") == 5
    assert calls == [1]
    assert "sent without waiting failed: 23514" in caplog.text
    assert pool.scalar(f"SELECT count(*) FROM {tables}") == 0


def test_a_connection_that_breaks_before_its_answers_are_read_re_runs_what_was_lost(pool, tables):
    sql = insert_and_count(tables)
    rewrite = rewrite_of(tables)
    pid = pool.scalar("SELECT pg_backend_pid()")
    lock = CounterLock(tables)
    pool.execute_nowait(sql, _on_lost=lambda d: d.execute(rewrite, x=3), x=3)   # waits in the server
    pool.execute_nowait(sql, _on_lost=lambda d: d.execute(rewrite, x=4), x=4)
    admin = Database(ADMIN_URL, max_connections=1)
    try:
        assert admin.scalar("SELECT pg_terminate_backend(CAST(:p AS int))", p=pid) is True
    finally:
        admin.close()
    lock.release()
    assert pool.scalar(f"SELECT array_agg(x ORDER BY x) FROM {tables}") == [3, 4]   # the re-runs, once each
    assert pool.scalar(f"SELECT n FROM {tables}_c") == 2


def rewrite_of(table: str) -> str:
    """insert_and_count's idempotent form: the row only if it is not there yet."""
    return prepared(f"WITH i AS (INSERT INTO {table} SELECT CAST(:x AS int) WHERE NOT EXISTS "
                    f"(SELECT 1 FROM {table} WHERE x = CAST(:x AS int)) RETURNING 1) "
                    f"UPDATE {table}_c SET n = n + (SELECT count(*) FROM i) WHERE id = 1")


def test_an_idle_connection_closed_with_answers_unread_re_runs_them_idempotently(pool, tables):
    pool.execute_nowait(insert_and_count(tables), _on_lost=lambda d: d.execute(rewrite_of(tables), x=9), x=9)
    time.sleep(0.2)                      # the server has run it; its answer is unread
    assert pool.close_idle() == 1        # its outcome is unknown to the pool: the re-run is due
    assert pool._lost
    assert pool.scalar(f"SELECT count(*) FROM {tables}") == 1   # the re-run found it there
    assert not pool._lost
    assert pool.scalar(f"SELECT n FROM {tables}_c") == 1
