"""Connection manager: reuse, PoolSize, MaxConcurrency (bounded wait then 503),
broken connections discarded, edits invalidate, statement timeout -> 408."""
from __future__ import annotations

import dataclasses
import threading

import pytest

from chalicelib.dynamic_api.connections import ConnectionManager, PoolConfig
from chalicelib.dynamic_api.dialects import BoundStatement
from chalicelib.dynamic_api.drivers import ConnectParams, connect
from chalicelib.errors import ConnectionFailed, RequestTimeout, ServiceUnavailable


def cfg_for(params, *, version=1, pool_size=2, max_concurrency=3, pool_id="p1") -> PoolConfig:
    return PoolConfig(pool_id, version, params, pool_size, max_concurrency)


@pytest.fixture(params=["postgresql", "mysql"])
def tparams(request):
    return request.getfixturevalue("pg_target_params" if request.param == "postgresql" else "my_target_params")


def backend_id(conn) -> int:
    sql = "SELECT pg_backend_pid()" if conn.db_type == "postgresql" else "SELECT CONNECTION_ID()"
    return int(conn.execute(BoundStatement(sql, (), conn.db_type)).rows[0][0])


def kill(params, ident: int) -> None:
    admin = connect(params)
    try:
        sql = (f"SELECT pg_terminate_backend({int(ident)})" if params.db_type == "postgresql"
               else f"KILL {int(ident)}")
        admin.execute(BoundStatement(sql, (), params.db_type))
    finally:
        admin.close()


def test_connections_are_reused_across_uses(tparams):
    mgr = ConnectionManager()
    cfg = cfg_for(tparams)
    with mgr.connection(cfg) as c1:
        first = backend_id(c1)
    with mgr.connection(cfg) as c2:
        assert backend_id(c2) == first
    assert mgr.opened_count("p1") == 1
    mgr.close_all()


def test_a_connection_idle_for_too_long_is_closed_not_reused(tparams):
    import time
    mgr = ConnectionManager(idle_close_s=0.2)
    cfg = cfg_for(tparams)
    with mgr.connection(cfg) as c1:
        first = backend_id(c1)
    time.sleep(0.3)
    with mgr.connection(cfg) as c2:
        assert backend_id(c2) != first
        assert mgr.opened_count("p1") == 2
        assert not _alive(c2, first)        # the idle one was closed on the server too
    mgr.close_all()


def _alive(conn, ident: int) -> bool:
    import time
    sql = ("SELECT count(*) FROM pg_stat_activity WHERE pid = %d" if conn.db_type == "postgresql"
           else "SELECT count(*) FROM information_schema.processlist WHERE id = %d") % int(ident)
    for _ in range(50):     # a closed backend leaves the server's list within moments
        if int(conn.execute(BoundStatement(sql, (), conn.db_type)).rows[0][0]) == 0:
            return False
        time.sleep(0.02)
    return True


def test_at_most_pool_size_connections_are_kept_idle(tparams):
    mgr = ConnectionManager()
    cfg = cfg_for(tparams, pool_size=2, max_concurrency=5)
    with mgr.connection(cfg), mgr.connection(cfg), mgr.connection(cfg):
        assert mgr.opened_count("p1") == 3
    assert mgr.idle_count("p1") == 2
    mgr.close_all()


def test_caller_over_max_concurrency_waits_then_gets_503(tparams):
    mgr = ConnectionManager(acquire_timeout_s=0.05)
    cfg = cfg_for(tparams, max_concurrency=1)
    with mgr.connection(cfg):
        with pytest.raises(ServiceUnavailable) as err:
            with mgr.connection(cfg):
                pass
    assert err.value.status == 503
    assert err.value.headers["Retry-After"] == "1"
    with mgr.connection(cfg):        # the slot is free again
        pass
    mgr.close_all()


def test_a_waiting_caller_gets_the_slot_when_it_frees_up(tparams):
    mgr = ConnectionManager(acquire_timeout_s=30)
    cfg = cfg_for(tparams, max_concurrency=1)
    got = threading.Event()
    release = threading.Event()

    def holder():
        with mgr.connection(cfg):
            got.set()
            release.wait(10)

    t = threading.Thread(target=holder)
    t.start()
    got.wait(10)
    release.set()
    with mgr.connection(cfg) as conn:
        assert backend_id(conn) > 0
    t.join()
    mgr.close_all()


def test_broken_connections_are_discarded(tparams):
    mgr = ConnectionManager()
    cfg = cfg_for(tparams)
    with mgr.connection(cfg) as conn:
        ident = backend_id(conn)
    kill(tparams, ident)
    with pytest.raises(ConnectionFailed):
        with mgr.connection(cfg) as conn:
            backend_id(conn)
    assert mgr.idle_count("p1") == 0
    with mgr.connection(cfg) as conn:
        assert backend_id(conn) != ident
    mgr.close_all()


def test_a_new_pool_version_drops_old_connections(tparams):
    mgr = ConnectionManager()
    with mgr.connection(cfg_for(tparams, version=1)) as conn:
        old = backend_id(conn)
    with mgr.connection(cfg_for(tparams, version=2)) as conn:
        assert backend_id(conn) != old
    assert mgr.idle_count("p1") == 1
    mgr.close_all()


def test_the_transaction_timeout_turns_a_slow_query_into_408(tparams):
    conn = connect(tparams)
    try:
        conn.begin(read_only=True, timeout_ms=100)
        sql = "SELECT pg_sleep(3)" if tparams.db_type == "postgresql" else "SELECT SLEEP(3)"
        with pytest.raises(RequestTimeout) as err:
            conn.execute(BoundStatement(sql, (), tparams.db_type))
        assert err.value.status == 408
        conn.rollback()
        conn.begin(read_only=True, timeout_ms=5000)
        assert conn.execute(BoundStatement("SELECT 1", (), tparams.db_type)).rows[0][0] == 1
        conn.rollback()
    finally:
        conn.close()


def test_a_read_only_transaction_refuses_writes_with_403(tparams):
    from chalicelib.dynamic_api.drivers import ReadOnlyViolation
    conn = connect(tparams)
    try:
        conn.begin(read_only=True, timeout_ms=5000)
        with pytest.raises(ReadOnlyViolation) as err:
            conn.execute(BoundStatement("DELETE FROM canary", (), tparams.db_type))
        assert err.value.status == 403 and "read-only" in err.value.message
        conn.rollback()
        assert len(conn.execute(BoundStatement("SELECT * FROM canary", (), tparams.db_type)).rows) == 2
    finally:
        conn.close()


def test_unreachable_database_is_a_connection_error_with_suggestions(tparams):
    bad = dataclasses.replace(tparams, port=1, connect_timeout=2)
    with pytest.raises(ConnectionFailed) as err:
        connect(bad)
    assert err.value.details["suggestions"]
    assert err.value.details["hosts"] == [f"{bad.host}:1"]


def test_two_statements_in_one_call_are_refused_by_the_protocol(tparams):
    from chalicelib.errors import QueryError
    conn = connect(tparams)
    try:
        with pytest.raises(QueryError):
            conn.execute(BoundStatement("SELECT 1; SELECT 2", (), tparams.db_type))
    finally:
        conn.close()


def test_connect_params_carry_no_password_into_errors(tparams):
    bad = ConnectParams(tparams.db_type, tparams.host, tparams.port, "nobody_here", "s3cret-pw", tparams.database)
    with pytest.raises(ConnectionFailed) as err:
        connect(bad)
    assert "s3cret-pw" not in str(err.value.details) + err.value.message


def test_a_postgresql_connection_whose_reset_the_server_refused_is_closed_not_reused(pg_target_params, monkeypatch):
    from chalicelib.dynamic_api import drivers
    mgr = ConnectionManager()
    cfg = cfg_for(pg_target_params, pool_id="p-reset")
    with mgr.connection(cfg) as c1:
        first = backend_id(c1)
    monkeypatch.setattr(drivers, "_PG_RESET", "SELECT 1 / 0")   # the reset sent at give-back fails
    with mgr.connection(cfg) as c2:
        assert backend_id(c2) == first                          # the earlier reset was fine: reused
    monkeypatch.undo()
    with mgr.connection(cfg) as c3:                             # its answer is read here: refused
        assert backend_id(c3) != first
    assert mgr.opened_count("p-reset") == 2
    mgr.close_all()


def test_a_status_answer_is_read_as_pg8000_reads_it_errors_after_ready_notices_kept(pg_target_params):
    from pg8000.core import _flush
    from pg8000.exceptions import DatabaseError

    from chalicelib.db.wire import read_status_answer
    conn = connect(pg_target_params)
    raw = conn.raw
    try:
        sql = "SELECT 1; DO $$ BEGIN RAISE NOTICE 'kept'; END $$; SET application_name = 'answer-test'"
        raw.send_QUERY(sql)
        _flush(raw._sock)
        read_status_answer(raw, sql)
        assert any(n.get(b"M") == b"kept" for n in raw.notices)
        assert raw.parameter_statuses["application_name"] == "answer-test"   # ParameterStatus kept
        raw.send_QUERY("SELECT 1 / 0; SELECT 2")
        _flush(raw._sock)
        with pytest.raises(DatabaseError) as err:
            read_status_answer(raw, "SELECT 1 / 0; SELECT 2")
        assert err.value.args[0]["C"] == "22012"
        assert raw.run("SELECT 3") == [[3]]                   # read up to ReadyForQuery: still in step
    finally:
        conn.close()
