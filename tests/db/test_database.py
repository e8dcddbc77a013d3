"""The connection getter: reconnects when broken, transactions, timeouts."""
from __future__ import annotations

import pytest

from chalicelib.db import Database
from chalicelib.web.errors import Conflict, RequestTimeout, StorageUnavailable
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
