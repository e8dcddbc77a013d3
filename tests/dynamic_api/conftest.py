"""Target databases for dynamic APIs: a fresh PostgreSQL database and a fresh
MariaDB database per run (real servers on 127.0.0.1), each holding the same
sample tables and a `canary` table the injection corpus must never touch.
"""
from __future__ import annotations

import datetime as dt
import os
import uuid
from decimal import Decimal

import pytest

from chalicelib.dynamic_api.drivers import ConnectParams

PG_HOST = os.environ.get("TEST_PG_HOST", "127.0.0.1")
PG_PORT = int(os.environ.get("TEST_PG_PORT", "5432"))
MY_HOST = os.environ.get("TEST_MYSQL_HOST", "127.0.0.1")
MY_PORT = int(os.environ.get("TEST_MYSQL_PORT", "3306"))
MY_USER = os.environ.get("TEST_MYSQL_USER", "root")
MY_PASSWORD = os.environ.get("TEST_MYSQL_PASSWORD", "")
TARGET_DB = f"dynapi_{os.getpid()}_{uuid.uuid4().hex[:6]}"

PEOPLE = [
    # id, name, city, born, score, active, ext_id
    (1, "Alice", "Paris", dt.date(1990, 1, 15), Decimal("12.50"), True, "6f1c2a57-3a41-4b59-9a0e-7c1d2b3e4f50"),
    (2, "Bob", "Berlin", dt.date(1985, 6, 1), Decimal("7.25"), False, "0b8e3c4d-1a2b-4c3d-8e9f-0a1b2c3d4e5f"),
    (3, "Chloé", "Paris", dt.date(2001, 12, 31), Decimal("99.00"), True, "9a8b7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d"),
    (4, "Dan O'Neil", "Lyon", dt.date(1979, 3, 3), Decimal("0.00"), True, "11111111-2222-4333-8444-555555555555"),
    (5, "Eve", "Berlin", dt.date(1995, 7, 20), Decimal("50.10"), False, "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee"),
    (6, "Frank 100%", "Madrid", dt.date(1968, 11, 11), Decimal("33.33"), True, "12345678-1234-4234-8234-123456789abc"),
]
CANARY = [(1, "canary-one"), (2, "canary-two")]

PG_SCHEMA = [
    "CREATE TABLE people (id integer PRIMARY KEY, name text NOT NULL, city text, born date, "
    "score numeric(10,2), active boolean, ext_id uuid, created_at timestamp DEFAULT now())",
    "CREATE TABLE canary (id integer PRIMARY KEY, secret text NOT NULL)",
    "CREATE TABLE audit (id serial PRIMARY KEY, who text, amount numeric(10,2))",
    "CREATE FUNCTION people_in_city(c text) RETURNS TABLE(id integer, name text) LANGUAGE sql STABLE AS "
    "$$ SELECT id, name FROM people WHERE city = c ORDER BY id $$",
    "CREATE PROCEDURE add_audit(w text, a numeric) LANGUAGE sql AS $$ INSERT INTO audit(who, amount) VALUES (w, a) $$",
    # session-state and read-only probes (test_sessions.py)
    "CREATE TABLE victim (id integer PRIMARY KEY, note text)",
    "INSERT INTO victim VALUES (1, 'one'), (2, 'two'), (3, 'three')",
    "CREATE FUNCTION plant_session_state() RETURNS TABLE(pid integer) LANGUAGE plpgsql AS $$ BEGIN "
    "CREATE TEMP TABLE IF NOT EXISTS leaked_temp (x integer); "
    "PERFORM set_config('app.leak', 'planted', false); "
    "PERFORM set_config('statement_timeout', '0', false); "
    "PERFORM set_config('default_transaction_read_only', 'on', false); "
    "PERFORM pg_advisory_lock(4242); "
    "PERFORM set_config('role', 'pg_monitor', false); "
    "RETURN QUERY SELECT pg_backend_pid(); END $$",
    "CREATE FUNCTION delete_victims() RETURNS integer LANGUAGE plpgsql AS $$ DECLARE n integer; BEGIN "
    "DELETE FROM victim; GET DIAGNOSTICS n = ROW_COUNT; RETURN n; END $$",
]
MY_SCHEMA = [
    "CREATE TABLE people (id integer PRIMARY KEY, name varchar(100) NOT NULL, city varchar(100), born date, "
    "score decimal(10,2), active boolean, ext_id char(36), created_at timestamp DEFAULT CURRENT_TIMESTAMP)",
    "CREATE TABLE canary (id integer PRIMARY KEY, secret varchar(100) NOT NULL)",
    "CREATE TABLE audit (id integer AUTO_INCREMENT PRIMARY KEY, who varchar(100), amount decimal(10,2))",
    "CREATE PROCEDURE people_in_city(IN c varchar(100)) READS SQL DATA "
    "SELECT id, name FROM people WHERE city = c ORDER BY id",
    "CREATE PROCEDURE add_audit(IN w varchar(100), IN a decimal(10,2)) MODIFIES SQL DATA "
    "INSERT INTO audit(who, amount) VALUES (w, a)",
    # session-state and read-only probes (test_sessions.py)
    "CREATE TABLE victim (id integer PRIMARY KEY, note varchar(100))",
    "INSERT INTO victim VALUES (1, 'one'), (2, 'two'), (3, 'three')",
    "CREATE PROCEDURE plant_session_state() MODIFIES SQL DATA BEGIN "
    "SET @leak = 'planted'; SET SESSION max_statement_time = 123; SET SESSION sql_mode = 'ANSI_QUOTES'; "
    "CREATE TEMPORARY TABLE IF NOT EXISTS leaked_temp (x integer); "
    "DO GET_LOCK('x', 0); SELECT CONNECTION_ID() AS pid; END",
    "CREATE FUNCTION delete_victims() RETURNS integer MODIFIES SQL DATA BEGIN "
    "DELETE FROM victim; RETURN ROW_COUNT(); END",
]


def _pg_admin():
    import pg8000.native
    return pg8000.native.Connection(user="postgres", host=PG_HOST, port=PG_PORT, database="postgres")


def _my_admin(database=None):
    import pymysql
    return pymysql.connect(host=MY_HOST, port=MY_PORT, user=MY_USER, password=MY_PASSWORD,
                           database=database, autocommit=True, charset="utf8mb4")


def _pg_create():
    admin = _pg_admin()
    admin.run(f'CREATE DATABASE "{TARGET_DB}"')
    admin.close()
    import pg8000.native
    con = pg8000.native.Connection(user="postgres", host=PG_HOST, port=PG_PORT, database=TARGET_DB)
    for stmt in PG_SCHEMA:
        con.run(stmt)
    for row in PEOPLE:
        con.run("INSERT INTO people (id, name, city, born, score, active, ext_id) "
                "VALUES (:a, :b, :c, :d, :e, :f, CAST(:g AS uuid))",
                a=row[0], b=row[1], c=row[2], d=row[3], e=row[4], f=row[5], g=row[6])
    for row in CANARY:
        con.run("INSERT INTO canary VALUES (:a, :b)", a=row[0], b=row[1])
    con.close()


def _pg_drop():
    admin = _pg_admin()
    admin.run(f'DROP DATABASE IF EXISTS "{TARGET_DB}" WITH (FORCE)')
    admin.close()


def _my_create():
    admin = _my_admin()
    with admin.cursor() as cur:
        cur.execute(f"CREATE DATABASE `{TARGET_DB}` CHARACTER SET utf8mb4")
    admin.close()
    con = _my_admin(TARGET_DB)
    with con.cursor() as cur:
        for stmt in MY_SCHEMA:
            cur.execute(stmt)
        cur.executemany("INSERT INTO people (id, name, city, born, score, active, ext_id) "
                        "VALUES (%s, %s, %s, %s, %s, %s, %s)", PEOPLE)
        cur.executemany("INSERT INTO canary VALUES (%s, %s)", CANARY)
    con.close()


def _my_drop():
    admin = _my_admin()
    with admin.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS `{TARGET_DB}`")
    admin.close()


@pytest.fixture(scope="session")
def pg_target_params():
    _pg_create()
    yield ConnectParams("postgresql", PG_HOST, PG_PORT, "postgres", None, TARGET_DB)
    _pg_drop()


@pytest.fixture(scope="session")
def my_target_params():
    try:
        _my_create()
    except Exception as exc:  # pragma: no cover - environment problem, reported loudly
        pytest.fail(f"MariaDB on {MY_HOST}:{MY_PORT} is required for dynamic API tests: {exc}")
    yield ConnectParams("mysql", MY_HOST, MY_PORT, MY_USER, MY_PASSWORD, TARGET_DB)
    _my_drop()


def canary_rows(conn) -> list[tuple]:
    from chalicelib.dynamic_api.dialects import BoundStatement
    res = conn.execute(BoundStatement("SELECT id, secret FROM canary ORDER BY id", (), conn.db_type))
    return [tuple(r) for r in res.rows]
