"""Every invocation starts from a clean session; GET APIs cannot write; draft
tests never commit. Hostile API definitions on real PostgreSQL and MariaDB,
written by an operator (the weakest role that may define APIs)."""
from __future__ import annotations

import pytest

from tests.conftest import Api
from tests.dynamic_api.helpers import create_api, pool_body, unique

DBS = ["postgresql", "mysql"]


@pytest.fixture(scope="module")
def admin(client, keys) -> Api:
    return Api(client.http, keys["admin"])


@pytest.fixture(scope="module")
def operator(client, keys) -> Api:
    return Api(client.http, keys["operator"])


@pytest.fixture(params=DBS)
def target(request, admin):
    """A pool of one connection, so consecutive invocations share a server session."""
    params = request.getfixturevalue("pg_target_params" if request.param == "postgresql" else "my_target_params")
    r = admin.post("/api/connection-pools", pool_body(params, pool_size=1, max_concurrency=1,
                                                      access={"write_roles": ["admin", "operator"]}))
    assert r.status == 201, r.json
    return request.param, r.data["id"], params


def invoke(caller, d, method="GET", **kw):
    return caller.request(method, f"/api/dynamic-api/invoke/{d['name']}", **kw)


def victims(params) -> int:
    from chalicelib.dynamic_api.dialects import BoundStatement
    from chalicelib.dynamic_api.drivers import connect
    conn = connect(params)
    try:
        return int(conn.execute(BoundStatement("SELECT count(*) FROM victim", (), conn.db_type)).rows[0][0])
    finally:
        conn.close()


PROBES = {
    "postgresql": ("SELECT pg_backend_pid() AS pid, current_setting('app.leak', true) AS leak, "
                   "current_user <> session_user AS role_planted, "
                   "current_setting('statement_timeout') AS timeout, "
                   "current_setting('default_transaction_read_only') = 'on' AS mode_planted, "

                   "(SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = 4242) AS locks"),
    "mysql": ("SELECT CONNECTION_ID() AS pid, @leak AS leak, 0 AS role_planted, "
              "@@session.max_statement_time AS timeout, "
              "@@session.sql_mode LIKE '%ANSI_QUOTES%' AS mode_planted, "
              "IS_USED_LOCK('x') IS NOT NULL AS locks"),
}


def test_nothing_an_api_does_to_its_session_is_seen_by_the_next_api(operator, target):
    db, pool, _ = target
    plant = create_api(operator, pool, "liquid", "plant_session_state()", [], http_method="POST",
                       script_type="procedure", is_multiple_result=False)
    probe = create_api(operator, pool, "jinja2", PROBES[db], [], is_multiple_result=False)
    temp = create_api(operator, pool, "liquid", "SELECT count(*) AS n FROM leaked_temp", [], is_multiple_result=False)
    before = invoke(operator, probe)
    assert before.status == 200, before.json
    planted = invoke(operator, plant, "POST")
    assert planted.status == 200, planted.json
    after = invoke(operator, probe).json
    assert planted.json["pid"] == after["pid"] == before.json["pid"]      # the same server session, reused
    assert after["leak"] in (None, "")
    assert after["timeout"] == before.json["timeout"]
    assert not after["mode_planted"] and not after["locks"] and not after["role_planted"]
    gone = invoke(operator, temp)                      # the temp table went with the session
    # the target database refused the query (no such table): the API's fault, not ours: 422
    assert gone.status == 422 and gone.error["code"] == "QUERY_ERROR" and "leaked_temp" in gone.error["message"]


def test_session_settings_changed_by_a_get_api_do_not_disable_the_next_apis_timeout(operator, target):
    db, pool, _ = target
    if db == "postgresql":
        unset = ("SELECT pg_backend_pid() AS pid, set_config('statement_timeout', '0', false) AS a, "
                 "set_config('default_transaction_read_only', 'off', false) AS b")
        slow = "SELECT pg_backend_pid() AS pid, pg_sleep(2) IS NULL AS slept"
    else:
        unset = "SELECT CONNECTION_ID() AS pid, @x := 1 AS a"
        slow = "SELECT CONNECTION_ID() AS pid, SLEEP(2) AS slept"
    first = create_api(operator, pool, "liquid", unset, [], is_multiple_result=False)
    sleeper = create_api(operator, pool, "liquid", slow, [], is_multiple_result=False, timeout_ms=1000)
    assert invoke(operator, first).status == 200
    r = invoke(operator, sleeper)
    assert r.status == 408, r.json
    assert r.error["code"] == "TIMEOUT_ERROR"


@pytest.mark.parametrize("template", [
    "WITH d AS (DELETE FROM victim WHERE id > 0 RETURNING id) SELECT count(*) AS n FROM d",
    "SELECT delete_victims() AS n",
])
def test_a_get_api_that_writes_is_refused_by_its_read_only_transaction(operator, target, template):
    db, pool, params = target
    if db == "mysql" and template.startswith("WITH"):
        template = "WITH d AS (SELECT id FROM victim) SELECT delete_victims() AS n FROM d LIMIT 1"
    d = create_api(operator, pool, "liquid", template, [], is_multiple_result=False)
    r = invoke(operator, d)
    assert r.status == 403, r.json
    assert r.error["code"] == "PERMISSION_DENIED" and "read-only transaction" in r.error["message"]
    assert victims(params) == 3


@pytest.mark.parametrize("dbname,template,word", [
    ("postgresql", "SELECT lo_import('/etc/hostname') AS oid", "lo_import"),
    ("postgresql", "SELECT pg_catalog.\"lo_import\"('/etc/hostname') AS oid", "lo_import"),
    ("postgresql", "SELECT pg_read_file('/etc/hostname') AS f", "pg_read_file"),
    ("postgresql", "SELECT query_to_xml('SELECT lo_import(''/etc/hostname'')', true, true, '') AS x",
     "query_to_xml"),
    ("postgresql", "SELECT U&\"lo\\005fimport\"('/etc/hostname') AS oid", "U&"),
    ("mysql", "SELECT id FROM people INTO OUTFILE '/tmp/stepflow-dynapi-out.txt'", "INTO OUTFILE"),
    ("mysql", "SELECT id FROM people INTO DUMPFILE '/tmp/stepflow-dynapi-out.bin'", "INTO DUMPFILE"),
    ("mysql", "SELECT LOAD_FILE('/etc/hostname') AS f", "load_file"),
])
def test_server_file_functions_are_refused_when_the_api_is_saved(operator, admin, request, dbname, template, word):
    params = request.getfixturevalue("pg_target_params" if dbname == "postgresql" else "my_target_params")
    pool = admin.post("/api/connection-pools", pool_body(params)).data["id"]
    r = operator.post("/api/dynamic-apis", {"name": unique("file"), "connection_pool_id": pool,
                                            "script_template": template})
    assert r.status == 400, r.json
    assert word in r.error["message"] or any(word in p for p in r.error["details"]["errors"])


def test_a_draft_test_of_a_write_is_rolled_back_and_says_so(operator, target):
    db, pool, params = target
    d = create_api(operator, pool, "jinja2", "DELETE FROM victim WHERE id >= {{ low }}",
                   [{"name": "low", "data_type": "integer", "required": True}], http_method="DELETE", publish=False)
    r = operator.post(f"/api/dynamic-apis/{d['id']}/test", {"params": {"low": 2}})
    assert r.status == 200, r.json
    assert r.data["rolled_back"] is True
    assert r.data["affected_rows"] == 2 and r.data["result"] == {"affectedRows": 2}
    assert victims(params) == 3


def test_a_draft_test_of_a_procedure_that_writes_is_rolled_back(operator, target):
    db, pool, params = target
    d = create_api(operator, pool, "liquid", "add_audit({{ who }}, 1)", [{"name": "who", "required": True}],
                   http_method="POST", script_type="procedure", publish=False)
    who = f"draft-{pool[:8]}"
    r = operator.post(f"/api/dynamic-apis/{d['id']}/test", {"params": {"who": who}})
    assert r.status == 200, r.json
    assert r.data["rolled_back"] is True
    from chalicelib.dynamic_api.dialects import get_dialect
    from chalicelib.dynamic_api.drivers import connect
    from chalicelib.dynamic_api.sqltext import MARK
    conn = connect(params)
    try:
        stmt = get_dialect(db).bind(f"SELECT count(*) FROM audit WHERE who = {MARK}", [who])
        assert int(conn.execute(stmt).rows[0][0]) == 0
    finally:
        conn.close()


def test_a_published_write_still_commits(operator, target):
    db, pool, params = target
    d = create_api(operator, pool, "liquid", "UPDATE victim SET note = {{ note }} WHERE id = 1",
                   [{"name": "note", "param_type": "body"}], http_method="PUT")
    r = invoke(operator, d, "PUT", json_body={"note": "changed"})
    assert r.status == 200 and r.json == {"affectedRows": 1}
    probe = create_api(operator, pool, "liquid", "SELECT note FROM victim WHERE id = 1", [],
                       is_multiple_result=False)
    assert invoke(operator, probe).json == {"note": "changed"}


@pytest.fixture
def pg_pool(admin, pg_target_params):
    return admin.post("/api/connection-pools", pool_body(pg_target_params)).data["id"]


def test_a_statement_cannot_lift_its_own_timeout(operator, pg_pool):
    d = create_api(operator, pg_pool, "liquid",
                   "SELECT set_config('statement_timeout', '0', true) AS lifted, pg_sleep(2) IS NULL AS slept", [],
                   is_multiple_result=False, timeout_ms=800)
    r = invoke(operator, d)
    assert r.status == 408, r.json


@pytest.mark.parametrize("dbname,template", [
    ("postgresql", "SELECT lo_import('/etc/hostname') AS oid"),
    ("mysql", "SELECT id FROM people INTO OUTFILE '/tmp/stepflow-dynapi-legacy.txt'"),
])
def test_a_file_escape_saved_before_the_rule_is_refused_when_invoked(admin, anon, db, request, dbname, template):
    """A definition stored before the save-time check existed (written to the table, as an old
    release would have) still never runs: the rendered SQL is checked by the same rule."""
    import os
    params = request.getfixturevalue("pg_target_params" if dbname == "postgresql" else "my_target_params")
    pool = admin.post("/api/connection-pools", pool_body(params)).data["id"]
    d = create_api(admin, pool, "liquid", "SELECT 1 AS one", [], is_multiple_result=False)
    db.execute("UPDATE api_definitions SET script_template = :t, version = version + 1 WHERE id = CAST(:id AS uuid)",
               t=template, id=d["id"])
    from chalicelib.dynamic_api.store import invalidate_definition_cache
    invalidate_definition_cache()
    r = invoke(anon, d)
    assert r.status == 422 and r.error["code"] == "QUERY_ERROR"
    assert "lo_import" in r.error["message"] or "INTO OUTFILE" in r.error["message"]
    assert not os.path.exists("/tmp/stepflow-dynapi-legacy.txt")
