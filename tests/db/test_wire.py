"""chalicelib.db.wire.run_bound: one round trip per bound statement, same answers as pg8000's own."""
from __future__ import annotations

import uuid

import pytest

from chalicelib.db.urls import parse_database_url
from chalicelib.db.wire import run_bound
from tests.conftest import TEST_DATABASE_URL


@pytest.fixture
def fresh_db():
    from chalicelib.db import Database
    d = Database(TEST_DATABASE_URL, max_connections=1)
    yield d
    d.close()


@pytest.fixture
def table(fresh_db):
    """A scratch table `(x int CHECK (x > 0))`, dropped after the test."""
    name = f"wire_{uuid.uuid4().hex[:8]}"
    fresh_db.execute(f"CREATE TABLE {name} (x int CHECK (x > 0))")
    yield name
    fresh_db.execute(f"DROP TABLE {name}")


@pytest.fixture
def raw():
    import pg8000.native
    conn = pg8000.native.Connection(**parse_database_url(TEST_DATABASE_URL))
    yield conn
    conn.close()


def test_a_bound_statement_answers_the_rows_and_columns_pg8000_answers(raw):
    sql = "SELECT CAST($1 AS int) + 1 AS n, CAST($2 AS text) AS t, NULL::int AS z"
    mine = run_bound(raw, sql, (41, "x"))
    theirs = raw.execute_unnamed(sql, (41, "x"))
    assert mine.rows == theirs.rows == [[42, "x", None]]
    assert [c["name"] for c in mine.columns] == ["n", "t", "z"]


def test_max_rows_stops_the_server_after_that_many_rows(raw):
    ctx = run_bound(raw, "SELECT g FROM generate_series(1, 1000) g", (), max_rows=3)
    assert ctx.rows == [[1], [2], [3]]
    assert run_bound(raw, "SELECT 7", ()).rows == [[7]]   # the connection is usable after a suspended portal


def test_a_failing_statement_raises_and_leaves_the_connection_usable(raw):
    from pg8000.exceptions import DatabaseError
    with pytest.raises(DatabaseError):
        run_bound(raw, "SELECT 1 / CAST($1 AS int)", (0,))
    assert run_bound(raw, "SELECT 2", ()).rows == [[2]]


def test_when_a_statement_sent_before_fails_the_statement_is_not_run(raw):
    from pg8000.exceptions import DatabaseError
    table = f"wire_{uuid.uuid4().hex[:8]}"
    raw.run(f"CREATE TABLE {table} (x int)")
    try:
        with pytest.raises(DatabaseError):
            run_bound(raw, f"INSERT INTO {table} VALUES ($1)", (1,), before=["SELECT 1 / 0"])
        with pytest.raises(DatabaseError, match="read-only"):
            run_bound(raw, f"INSERT INTO {table} VALUES ($1)", (1,), before=["BEGIN READ ONLY"])
        raw.run("ROLLBACK")
        assert raw.run(f"SELECT count(*) FROM {table}") == [[0]]
        run_bound(raw, f"INSERT INTO {table} VALUES ($1)", (1,), before=["BEGIN READ WRITE"])
        raw.run("COMMIT")
        assert raw.run(f"SELECT count(*) FROM {table}") == [[1]]
    finally:
        raw.run(f"DROP TABLE {table}")


def test_a_prepared_statement_answers_like_a_bound_one_and_is_parsed_once_per_connection(raw):
    from chalicelib.db.wire import run_prepared
    sql = "SELECT CAST($1 AS int) * 2 AS n"
    assert run_prepared(raw, sql, (21,)).rows == [[42]]
    assert run_prepared(raw, sql, (5,)).rows == [[10]]
    assert raw.run("SELECT count(*) FROM pg_prepared_statements WHERE statement = :s", s=sql) == [[1]]


def test_a_statement_the_server_refuses_to_prepare_is_not_kept(raw):
    from pg8000.exceptions import DatabaseError

    from chalicelib.db.wire import run_prepared
    with pytest.raises(DatabaseError):
        run_prepared(raw, "SELECT * FROM no_such_table_here WHERE x = $1", (1,))
    assert raw.__dict__.get("_stepflow_prepared") == {}
    assert run_prepared(raw, "SELECT CAST($1 AS int)", (3,)).rows == [[3]]


def test_the_database_prepares_again_after_its_statements_were_discarded(db):
    from chalicelib.db import prepared
    sql = prepared("SELECT CAST(:v AS int) + 100 AS n")
    assert db.scalar(sql, v=1) == 101
    with db.session():
        db.execute("DEALLOCATE ALL")        # as a pooler or an operator might
        assert db.scalar(sql, v=2) == 102   # pinned: the stale name is refused once, then prepared again


def test_a_statement_sent_without_waiting_is_run_and_its_answer_read_before_the_next_one(fresh_db, table):
    from chalicelib.db import prepared
    sql = prepared(f"INSERT INTO {table} VALUES (CAST(:x AS int))")
    for i in range(1, 4):
        fresh_db.execute_nowait(sql, x=i)
    assert fresh_db.scalar(f"SELECT count(*) FROM {table}") == 3


def test_a_failed_statement_sent_without_waiting_is_logged_and_the_next_one_runs(fresh_db, table, caplog):
    from chalicelib.db import prepared
    fresh_db.execute_nowait(prepared(f"INSERT INTO {table} VALUES (CAST(:x AS int))"), x=-1)
    assert fresh_db.scalar("SELECT 5") == 5
    assert "sent without waiting failed: 23514" in caplog.text
    assert fresh_db.scalar(f"SELECT count(*) FROM {table}") == 0


def test_a_transaction_starts_with_its_first_statement_and_commits_or_rolls_back_as_one(fresh_db, table):
    with fresh_db.transaction():
        fresh_db.execute(f"INSERT INTO {table} VALUES (CAST(:x AS int))", x=1)
        assert fresh_db.scalar("SELECT count(*) FROM pg_stat_activity WHERE pid = pg_backend_pid() "
                               "AND xact_start IS NOT NULL") == 1
        fresh_db.execute(f"INSERT INTO {table} VALUES (2)")
    with pytest.raises(RuntimeError):
        with fresh_db.transaction():
            fresh_db.execute(f"INSERT INTO {table} VALUES (CAST(:x AS int))", x=3)
            with fresh_db.transaction():     # nested: joins the outer one
                fresh_db.execute(f"INSERT INTO {table} VALUES (4)")
            raise RuntimeError("roll it back")
    with fresh_db.transaction():
        pass                                 # no statement: nothing sent, nothing to commit
    assert fresh_db.scalar(f"SELECT array_agg(x ORDER BY x) FROM {table}") == [1, 2]


def test_a_transaction_whose_connection_died_before_its_first_statement_runs_on_a_fresh_one(fresh_db, table, db):
    pid = fresh_db.scalar("SELECT pg_backend_pid()")
    db.scalar("SELECT pg_terminate_backend(:pid)", pid=pid)   # the idle pooled connection dies
    with fresh_db.transaction():
        fresh_db.execute(f"INSERT INTO {table} VALUES (CAST(:x AS int))", x=1)
        assert fresh_db.in_transaction
        with fresh_db.transaction():
            fresh_db.execute(f"INSERT INTO {table} VALUES (2)")
        assert fresh_db.in_transaction
    assert fresh_db.scalar(f"SELECT count(*) FROM {table}") == 2


def _nodelay(sock) -> bool:
    import socket
    return sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0


def test_the_projects_connections_send_statements_without_waiting_for_an_ack(fresh_db):
    # a statement over pg8000's 8 KiB buffer goes out in several sends; with Nagle the last
    # one waited for the server's delayed ACK (~40 ms): TCP_NODELAY, as libpq sets it
    with fresh_db.session():
        assert _nodelay(fresh_db._local.conn._usock)   # the connection pinned for the block
        big = "x" * 20_000
        assert fresh_db.scalar("SELECT length(CAST(:t AS text))", t=big) == 20_000


def test_a_dynamic_api_pools_postgresql_connection_sets_no_delay_too():
    from chalicelib.dynamic_api.drivers import ConnectParams, connect
    p = parse_database_url(TEST_DATABASE_URL)
    conn = connect(ConnectParams("postgresql", p["host"], p["port"], p["user"], p.get("password"), p["database"]))
    try:
        assert _nodelay(conn.raw._usock)
    finally:
        conn.close()
