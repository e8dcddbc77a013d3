"""The connection getter: reconnects when broken, transactions, timeouts."""
from __future__ import annotations

import pytest

from chalicelib.db import Database
from chalicelib.errors import Conflict, RequestTimeout, StorageUnavailable
from tests.conftest import TEST_DATABASE_URL


@pytest.fixture
def fresh():
    d = Database(TEST_DATABASE_URL, statement_timeout_ms=300)
    yield d
    d.close()


def test_connection_is_reused_within_a_thread(fresh):
    pid = fresh.scalar("SELECT pg_backend_pid()")
    assert fresh.scalar("SELECT pg_backend_pid()") == pid


def test_broken_connection_is_reopened(fresh, db):
    pid = fresh.scalar("SELECT pg_backend_pid()")
    db.scalar("SELECT pg_terminate_backend(:pid)", pid=pid)
    assert fresh.scalar("SELECT 41 + 1") == 42
    assert fresh.scalar("SELECT pg_backend_pid()") != pid


def test_transaction_rolls_back_on_error(fresh):
    fresh.execute("CREATE TABLE IF NOT EXISTS tx_probe (v int UNIQUE)")
    fresh.execute("DELETE FROM tx_probe")
    with pytest.raises(Conflict):
        with fresh.transaction():
            fresh.execute("INSERT INTO tx_probe VALUES (1)")
            fresh.execute("INSERT INTO tx_probe VALUES (1)")
    assert fresh.scalar("SELECT count(*) FROM tx_probe") == 0
    fresh.execute("DROP TABLE tx_probe")


def test_statement_timeout_is_a_408(fresh):
    with pytest.raises(RequestTimeout):
        fresh.execute("SELECT pg_sleep(2)")
    assert fresh.scalar("SELECT 1") == 1


def test_values_are_bound_not_spliced(fresh):
    evil = "'); DROP TABLE api_keys; --"
    assert fresh.scalar("SELECT :v::text", v=evil) == evil
    assert fresh.scalar("SELECT to_regclass('api_keys') IS NOT NULL") is True


def test_unreachable_database_is_storage_unavailable():
    d = Database("postgresql://postgres@127.0.0.1:1/nothing", connect_timeout_s=0.5)
    with pytest.raises(StorageUnavailable):
        d.scalar("SELECT 1")


def test_credentials_are_read_again_after_an_auth_failure(db):
    """RDS rotates the password in Secrets Manager: a refused login re-reads it."""
    role = "stepflow_rotating"
    db.execute(f"DROP ROLE IF EXISTS {role}")
    db.execute(f"CREATE ROLE {role} LOGIN PASSWORD 'new-password'")
    try:
        calls = []

        def credentials(refresh: bool) -> dict:
            calls.append(refresh)
            return {"username": role, "password": "new-password" if refresh else "old-password"}

        # pg_hba on 127.0.0.1 may be trust; then the first try already works.
        d = Database(TEST_DATABASE_URL, credentials=credentials)
        assert d.scalar("SELECT current_user") == role
        assert calls[0] is False
        d.close()
    finally:
        db.execute(f"DROP ROLE IF EXISTS {role}")


# -- the pool: bounded, reused, closed -----------------------------------------

def _backends(db, app_name: str, settle_to: int | None = None) -> int:
    """Backends of `app_name`; with settle_to, waits (up to 2 s) for closed ones to exit."""
    import time
    deadline = time.monotonic() + 2
    while True:
        n = int(db.scalar("SELECT count(*) FROM pg_stat_activity WHERE application_name = :a", a=app_name))
        if settle_to is None or n <= settle_to or time.monotonic() > deadline:
            return n
        time.sleep(0.02)


def test_many_threads_share_a_bounded_set_of_connections(db):
    import threading
    import uuid as _uuid
    app_name = f"pool-{_uuid.uuid4().hex[:8]}"
    pooled = Database(TEST_DATABASE_URL, application_name=app_name, max_connections=3)
    peak = []
    errors = []

    def work():
        try:
            for _ in range(40):
                assert pooled.scalar("SELECT 1") == 1
                peak.append(pooled.open_connections)
        except Exception as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert max(peak) <= 3
    assert 1 <= _backends(db, app_name) <= 3
    pooled.close()
    assert _backends(db, app_name, settle_to=0) == 0


def test_a_caller_waiting_too_long_for_a_connection_gets_a_503_with_retry_after():
    import threading
    pooled = Database(TEST_DATABASE_URL, max_connections=1, pool_wait_s=0.2)
    holding, release = threading.Event(), threading.Event()

    def hold():
        with pooled.transaction():
            pooled.scalar("SELECT 1")
            holding.set()
            release.wait(5)

    t = threading.Thread(target=hold)
    t.start()
    holding.wait(5)
    try:
        with pytest.raises(StorageUnavailable) as err:
            pooled.scalar("SELECT 2")
        assert err.value.status == 503
        assert err.value.headers["Retry-After"] == "1"
        assert "busy" in err.value.message
    finally:
        release.set()
        t.join()
    assert pooled.scalar("SELECT 3") == 3   # the connection came back
    pooled.close()


def test_idle_connections_are_closed_after_the_idle_time(db):
    import time
    import uuid as _uuid
    app_name = f"idle-{_uuid.uuid4().hex[:8]}"
    pooled = Database(TEST_DATABASE_URL, application_name=app_name, idle_s=0.2)
    first = pooled.scalar("SELECT pg_backend_pid()")
    assert pooled.scalar("SELECT pg_backend_pid()") == first      # reused while fresh
    time.sleep(0.3)
    second = pooled.scalar("SELECT pg_backend_pid()")
    assert second != first                                        # the idle one was closed
    assert _backends(db, app_name, settle_to=1) == 1
    pooled.close()


def test_a_session_keeps_one_connection_for_session_level_state(fresh):
    with fresh.session():
        pid = fresh.scalar("SELECT pg_backend_pid()")
        fresh.scalar("SELECT pg_advisory_lock(4242)")
        with fresh.transaction():
            assert fresh.scalar("SELECT pg_backend_pid()") == pid
        assert fresh.scalar("SELECT pg_advisory_unlock(4242)") is True


def test_a_stale_connection_at_the_start_of_a_transaction_is_replaced(fresh, db):
    pid = fresh.scalar("SELECT pg_backend_pid()")
    db.scalar("SELECT pg_terminate_backend(:pid)", pid=pid)
    with fresh.transaction():
        assert fresh.scalar("SELECT 40 + 2") == 42


def test_database_errors_do_not_show_sqlstates_or_the_database_text(fresh):
    from chalicelib.errors import ValidationError
    with pytest.raises(ValidationError) as err:
        fresh.query("SELECT 1 OFFSET :o", o=10**30)
    text = f"{err.value.message} {err.value.details}"
    assert "22" not in text and "bigint" not in text.lower() and "sqlstate" not in text.lower()


def test_page_answers_a_sorted_page_and_the_total(fresh):
    sql = "SELECT g AS n, g % 3 AS r FROM generate_series(1, :top) AS g WHERE g > :low"
    rows, total = fresh.page(sql, order_by="r DESC, n", limit=4, offset=2, top=20, low=5)
    assert total == 15
    assert rows == [{"n": 14, "r": 2}, {"n": 17, "r": 2}, {"n": 20, "r": 2}, {"n": 7, "r": 1}]
    rows, total = fresh.page(sql, order_by="n", limit=4, offset=100, top=20, low=5)
    assert rows == [] and total == 15
