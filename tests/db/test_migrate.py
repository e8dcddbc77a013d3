"""Migrator: exactly once, concurrent-safe, all-or-nothing per file; the
schema keeps DESIGN's decisions (no FKs, no triggers, monthly partitions)."""
from __future__ import annotations

import datetime as dt
import threading
import uuid

import pytest

from chalicelib.db import Database, quote_ident
from chalicelib.db.migrate import migrate, migration_files
from chalicelib.errors import QueryError
from tests.conftest import ADMIN_URL, _db_url

SEED_TABLES = {"openapi_templates", "api_documents", "api_endpoints", "resource_references", "api_call_logs",
               "api_health_checks", "api_endpoint_cache", "api_audit_logs", "api_keys"}


@pytest.fixture
def scratch_db():
    name = f"stepflow_scratch_{uuid.uuid4().hex[:10]}"
    admin = Database(ADMIN_URL)
    admin.execute(f"CREATE DATABASE {quote_ident(name)}")
    dbs: list[Database] = []

    def make() -> Database:
        d = Database(_db_url(name))
        dbs.append(d)
        return d

    yield make
    for d in dbs:
        d.close()
    admin.execute(f"DROP DATABASE IF EXISTS {quote_ident(name)} WITH (FORCE)")
    admin.close()


def test_running_the_migrator_twice_changes_nothing(scratch_db):
    db = scratch_db()
    first = migrate(db)
    assert first["applied"] == [p.name for p in migration_files()]
    assert SEED_TABLES <= set(first["tables_created"])
    second = migrate(db)
    assert second == {"applied": [], "tables_created": []}


def test_concurrent_migrators_apply_each_file_once(scratch_db):
    results, errors = [], []

    def run():
        try:
            results.append(migrate(scratch_db()))
        except Exception as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    applied = [name for r in results for name in r["applied"]]
    assert sorted(applied) == [p.name for p in migration_files()]
    db = scratch_db()
    assert db.scalar("SELECT count(*) FROM schema_migrations") == len(migration_files())


def test_a_failing_migration_leaves_nothing_behind(scratch_db, tmp_path):
    (tmp_path / "001_ok.sql").write_text("CREATE TABLE good_one (id int);")
    (tmp_path / "002_bad.sql").write_text("CREATE TABLE half_done (id int); SELECT no_such_function();")
    db = scratch_db()
    with pytest.raises(QueryError):
        migrate(db, tmp_path)
    names = {r["name"] for r in db.query("SELECT name FROM schema_migrations")}
    assert names == {"001_ok.sql"}
    assert db.scalar("SELECT to_regclass('half_done')") is None


def test_schema_has_no_foreign_keys_and_no_triggers(db):
    assert db.scalar("SELECT count(*) FROM pg_constraint WHERE contype = 'f' "
                     "AND connamespace = current_schema()::regnamespace") == 0
    assert db.scalar("SELECT count(*) FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
                     "JOIN pg_namespace n ON n.oid = c.relnamespace "
                     "WHERE NOT t.tgisinternal AND n.nspname = current_schema()") == 0


def test_views_of_seed_000_exist(db):
    views = {r["table_name"] for r in db.query(
        "SELECT table_name FROM information_schema.views WHERE table_schema = current_schema()")}
    assert {"api_endpoint_resources", "resource_reference_stats"} <= views


def _month_add(d: dt.date, n: int) -> dt.date:
    y, m = divmod(d.month - 1 + n, 12)
    return dt.date(d.year + y, m + 1, 1)


def test_call_logs_partitioned_by_month_with_default_and_three_ahead(db):
    parts = {r["name"] for r in db.query(
        "SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "WHERE i.inhparent = 'api_call_logs'::regclass")}
    today = dt.datetime.now(dt.timezone.utc).date().replace(day=1)
    expected = {f"api_call_logs_{_month_add(today, i):%Y_%m}" for i in range(4)} | {"api_call_logs_default"}
    assert expected <= parts
    pk = db.scalar("SELECT pg_get_constraintdef(oid) FROM pg_constraint "
                   "WHERE conrelid = 'api_call_logs'::regclass AND contype = 'p'")
    assert "created_at" in pk


def test_row_far_in_the_future_lands_in_default_partition(db):
    with db.transaction():
        db.execute("INSERT INTO api_call_logs (api_endpoint_id, request_method, request_url, created_at) "
                   "VALUES (gen_random_uuid(), 'GET', 'http://x', '2100-01-01T00:00:00Z')")
        where = db.scalar("SELECT tableoid::regclass::text FROM api_call_logs "
                          "WHERE created_at = '2100-01-01T00:00:00Z'")
        db.execute("DELETE FROM api_call_logs WHERE created_at = '2100-01-01T00:00:00Z'")
    assert where == "api_call_logs_default"


@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"])
def test_endpoint_method_check_accepts_http_methods(db, method):
    with pytest.raises(RuntimeError):
        with db.transaction():
            db.execute("INSERT INTO api_endpoints (api_document_id, path, method) VALUES (gen_random_uuid(), '/x', :m)",
                       m=method)
            raise RuntimeError("roll back")


def test_endpoint_method_check_refuses_trace(db):
    from chalicelib.errors import ValidationError
    with pytest.raises(ValidationError):
        db.execute("INSERT INTO api_endpoints (api_document_id, path, method) "
                   "VALUES (gen_random_uuid(), '/x', 'TRACE')")
