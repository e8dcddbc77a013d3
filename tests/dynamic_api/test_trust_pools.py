"""Pools are a privilege boundary: not the gateway's own database (by server
identity), privileged pool users reported, per-pool access enforced, no
password kept or shown in a connection_string; the dynamic OpenAPI shows
each caller only what it may call. Written as the weakest role trying to
go further, on real PostgreSQL and MariaDB."""
from __future__ import annotations

import pytest

from chalicelib.dynamic_api.drivers import ConnectParams
from chalicelib.settings import reset_settings
from tests.conftest import TEST_DB_NAME, Api, base_settings
from tests.dynamic_api.conftest import MY_HOST, MY_PORT, PG_HOST, PG_PORT, TARGET_DB, _my_admin, _pg_admin
from tests.dynamic_api.helpers import create_api, pool_body, unique

PLAIN_USER = "dynapi_plain_user"
PLAIN_PASSWORD = "plain-Pw-1"


@pytest.fixture(scope="module")
def admin(client, keys) -> Api:
    return Api(client.http, keys["admin"])


@pytest.fixture(scope="module")
def operator(client, keys) -> Api:
    return Api(client.http, keys["operator"])


def gateway_params(host: str = PG_HOST) -> ConnectParams:
    return ConnectParams("postgresql", host, PG_PORT, "postgres", None, TEST_DB_NAME)


@pytest.fixture
def allow_gateway_db():
    reset_settings(base_settings(dynamic_api_allow_gateway_db=True))
    yield
    reset_settings(base_settings())


# --------------------------------------------------------------------------- the gateway's own database

@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_a_pool_on_the_gateways_own_database_is_refused_whatever_the_host_is_called(admin, db, host):
    r = admin.post("/api/connection-pools", pool_body(gateway_params(host)))
    assert r.status == 403, r.json
    assert r.error["details"]["reason"] == "gateway_database" and r.error["details"]["errors"][0]["loc"] == ["body", "database"]
    assert "DYNAMIC_API_ALLOW_GATEWAY_DB" in r.error["message"]
    assert db.scalar("SELECT count(*) FROM connection_pools WHERE database = :d", d=TEST_DB_NAME) == 0


def test_another_database_on_the_same_server_is_allowed_and_its_identity_recorded(admin, pg_target_params):
    r = admin.post("/api/connection-pools", pool_body(pg_target_params))
    assert r.status == 201, r.json
    assert r.data["server_identity"].startswith("postgresql:") and r.data["server_identity"].endswith(TARGET_DB)


def test_moving_a_pool_onto_the_gateways_database_is_refused_and_changes_nothing(admin, pg_target_params):
    pool = admin.post("/api/connection-pools", pool_body(pg_target_params)).data
    r = admin.put(f"/api/connection-pools/{pool['id']}", {"database": TEST_DB_NAME, "host": "localhost"})
    assert r.status == 403 and r.error["details"]["reason"] == "gateway_database"
    after = admin.get(f"/api/connection-pools/{pool['id']}").data
    assert after["database"] == TARGET_DB and after["version"] == pool["version"]


def test_operator_cannot_become_admin_through_a_pool_on_the_gateways_database(
        admin, operator, keys, db, allow_gateway_db):
    # Even where an admin explicitly allowed such a pool, it starts admin-only...
    r = admin.post("/api/connection-pools", pool_body(gateway_params()))
    assert r.status == 201, r.json
    pool = r.data
    assert pool["access"] == {"write_roles": ["admin"], "read_roles": ["admin"]}
    assert {"gateway_database", "superuser"} <= {w["privilege"] for w in pool["privilege_warnings"]}
    escalate = {"name": unique("esc"), "connection_pool_id": pool["id"], "http_method": "POST",
                "script_template": "UPDATE api_keys SET role = 'admin' WHERE name = {{ n }}",
                "parameters": [{"name": "n", "required": True}]}
    steal = {"name": unique("steal"), "connection_pool_id": pool["id"],
             "script_template": "SELECT key_hash FROM api_keys"}
    for body in (escalate, steal):
        r = operator.post("/api/dynamic-apis", body)
        assert r.status == 403 and r.error["code"] == "PERMISSION_DENIED", r.json
    # ...and when opened to operators, a draft test still never commits.
    admin.put(f"/api/connection-pools/{pool['id']}", {"access": {"write_roles": ["admin", "operator"]}})
    draft = operator.post("/api/dynamic-apis", escalate)
    assert draft.status == 201, draft.json
    r = operator.post(f"/api/dynamic-apis/{draft.data['id']}/test", {"params": {"n": "test operator"}})
    assert r.status == 200 and r.data["rolled_back"] is True and r.data["affected_rows"] == 1
    assert db.scalar("SELECT role FROM api_keys WHERE name = 'test operator'") == "operator"
    assert operator.get("/api/keys").status == 403
    # Without the setting (a new container), every connection to that pool is refused.
    reset_settings(base_settings())
    from chalicelib.dynamic_api.connections import manager
    manager.invalidate(pool["id"])
    r = admin.post(f"/api/dynamic-apis/{draft.data['id']}/test", {"params": {"n": "test operator"}})
    assert r.status == 403 and r.error["details"]["reason"] == "gateway_database"


def test_a_published_api_on_a_pool_that_now_reaches_the_gateway_is_refused_at_connect(
        admin, anon, allow_gateway_db):
    pool = admin.post("/api/connection-pools", pool_body(gateway_params())).data
    d = create_api(admin, pool["id"], "liquid", "SELECT count(*) AS n FROM api_keys", [], is_multiple_result=False)
    reset_settings(base_settings())
    from chalicelib.dynamic_api.connections import manager
    manager.invalidate(pool["id"])
    r = anon.get(f"/api/dynamic-api/invoke/{d['name']}")
    assert r.status == 403 and r.error["details"]["reason"] == "gateway_database"
    assert "n" not in r.json


# --------------------------------------------------------------------------- privileged pool users

@pytest.fixture(scope="module")
def plain_users(pg_target_params, my_target_params):
    pg = _pg_admin()
    pg.run(f"DROP ROLE IF EXISTS {PLAIN_USER}")
    pg.run(f"CREATE ROLE {PLAIN_USER} LOGIN")
    pg.close()
    import pg8000.native
    con = pg8000.native.Connection(user="postgres", host=PG_HOST, port=PG_PORT, database=TARGET_DB)
    con.run(f"GRANT SELECT ON people TO {PLAIN_USER}")
    con.close()
    my = _my_admin()
    with my.cursor() as cur:
        cur.execute(f"DROP USER IF EXISTS '{PLAIN_USER}'@'%'")
        cur.execute(f"CREATE USER '{PLAIN_USER}'@'%' IDENTIFIED BY '{PLAIN_PASSWORD}'")
        cur.execute(f"GRANT SELECT ON `{TARGET_DB}`.* TO '{PLAIN_USER}'@'%'")
    yield {"postgresql": ConnectParams("postgresql", PG_HOST, PG_PORT, PLAIN_USER, None, TARGET_DB),
           "mysql": ConnectParams("mysql", MY_HOST, MY_PORT, PLAIN_USER, PLAIN_PASSWORD, TARGET_DB)}
    with my.cursor() as cur:
        cur.execute(f"DROP USER IF EXISTS '{PLAIN_USER}'@'%'")
    my.close()
    con = pg8000.native.Connection(user="postgres", host=PG_HOST, port=PG_PORT, database=TARGET_DB)
    con.run(f"REVOKE ALL ON people FROM {PLAIN_USER}")
    con.close()
    pg = _pg_admin()
    pg.run(f"DROP ROLE IF EXISTS {PLAIN_USER}")
    pg.close()


@pytest.mark.parametrize("dbname,expected", [("postgresql", {"superuser", "pg_read_server_files", "lo_import"}),
                                             ("mysql", {"FILE", "SUPER", "GRANT OPTION"})])
def test_a_privileged_pool_user_is_reported_on_create_test_and_the_pool(admin, request, dbname, expected):
    params = request.getfixturevalue("pg_target_params" if dbname == "postgresql" else "my_target_params")
    r = admin.post("/api/connection-pools", pool_body(params))
    assert r.status == 201
    assert expected <= {w["privilege"] for w in r.data["privilege_warnings"]}
    tested = admin.post(f"/api/connection-pools/{r.data['id']}/test")
    assert tested.status == 200 and expected <= {w["privilege"] for w in tested.data["privilege_warnings"]}
    shown = admin.get(f"/api/connection-pools/{r.data['id']}").data
    assert expected <= {w["privilege"] for w in shown["privilege_warnings"]} and shown["checked_at"]


@pytest.mark.parametrize("dbname", ["postgresql", "mysql"])
def test_a_least_privilege_pool_user_gets_no_warning_and_still_works(admin, anon, plain_users, dbname):
    r = admin.post("/api/connection-pools", pool_body(plain_users[dbname]))
    assert r.status == 201, r.json
    assert r.data["privilege_warnings"] == []
    d = create_api(admin, r.data["id"], "liquid", "SELECT count(*) AS n FROM people", [], is_multiple_result=False)
    assert anon.get(f"/api/dynamic-api/invoke/{d['name']}").json == {"n": 6}


def test_an_unreachable_target_is_saved_as_unverified(admin, pg_target_params):
    r = admin.post("/api/connection-pools", pool_body(pg_target_params, port=1))
    assert r.status == 201
    assert [w["privilege"] for w in r.data["privilege_warnings"]] == ["unverified"]
    assert r.data["server_identity"] is None and r.data["checked_at"] is None


# --------------------------------------------------------------------------- per-pool access

@pytest.fixture
def pg_pool(admin, pg_target_params):
    return admin.post("/api/connection-pools", pool_body(pg_target_params)).data["id"]


WRITE = {"http_method": "POST", "script_template": "INSERT INTO audit (who) VALUES ({{ who }})",
         "parameters": [{"name": "who", "param_type": "body"}]}
READ = {"script_template": "SELECT id FROM people"}


def test_by_default_an_operator_may_define_read_apis_but_not_write_apis(operator, pg_pool):
    r = operator.post("/api/dynamic-apis", {"name": unique("op-read"), "connection_pool_id": pg_pool, **READ})
    assert r.status == 201, r.json
    r = operator.post("/api/dynamic-apis", {"name": unique("op-write"), "connection_pool_id": pg_pool, **WRITE})
    assert r.status == 403
    assert r.error["details"]["access"] == "write_roles" and r.error["details"]["allowed_roles"] == ["admin"]


@pytest.mark.parametrize("action", ["update", "test", "publish", "unpublish", "delete"])
def test_an_operator_cannot_touch_an_admins_write_api(admin, operator, pg_pool, action):
    d = admin.post("/api/dynamic-apis", {"name": unique("adm-write"), "connection_pool_id": pg_pool, **WRITE}).data
    path = f"/api/dynamic-apis/{d['id']}"
    r = {"update": lambda: operator.put(path, {"http_method": "GET", "script_template": "SELECT 1 AS one",
                                               "parameters": []}),
         "test": lambda: operator.post(f"{path}/test", {"params": {"who": "x"}}),
         "publish": lambda: operator.post(f"{path}/publish", {}),
         "unpublish": lambda: operator.post(f"{path}/unpublish"),
         "delete": lambda: operator.delete(path)}[action]()
    assert r.status == 403, r.json
    assert admin.get(path).data["status"] == "draft" and admin.get(path).data["http_method"] == "POST"


def test_a_pool_closed_to_operators_refuses_their_read_apis_until_the_admin_opens_it(admin, operator, pg_pool):
    r = admin.put(f"/api/connection-pools/{pg_pool}", {"access": {"read_roles": ["admin"]}})
    assert r.data["access"] == {"write_roles": ["admin"], "read_roles": ["admin"]}
    body = {"name": unique("closed"), "connection_pool_id": pg_pool, **READ}
    assert operator.post("/api/dynamic-apis", body).status == 403
    draft = admin.post("/api/dynamic-apis", dict(body, name=unique("closed"))).data
    assert operator.post(f"/api/dynamic-apis/{draft['id']}/publish", {}).status == 403
    admin.put(f"/api/connection-pools/{pg_pool}", {"access": {"read_roles": ["operator"]}})
    assert operator.post("/api/dynamic-apis", body).status == 201


@pytest.mark.parametrize("access,field", [({"write_roles": ["root"]}, "access.write_roles"),
                                          ({"owners": ["admin"]}, "access"),
                                          ({"read_roles": "admin"}, "access.read_roles")])
def test_a_malformed_access_rule_is_400_naming_the_field(admin, pg_target_params, access, field):
    r = admin.post("/api/connection-pools", pool_body(pg_target_params, access=access))
    assert r.status == 400 and r.error["details"]["errors"][0]["loc"] == ["body", *field.split(".")]


def test_an_operator_cannot_change_a_pools_access(operator, pg_pool):
    r = operator.put(f"/api/connection-pools/{pg_pool}", {"access": {"write_roles": ["operator"]}})
    assert r.status == 403


# --------------------------------------------------------------------------- connection_string

@pytest.mark.parametrize("template", [
    "postgresql://postgres:{pw}@127.0.0.1:5432/" + TARGET_DB,
    "host=127.0.0.1 port=5432 user=postgres password={pw} dbname=" + TARGET_DB,
    "Server=127.0.0.1;Port=5432;Uid=postgres;Pwd={pw};Database=" + TARGET_DB,
])
def test_a_password_in_a_connection_string_is_encrypted_and_never_shown(admin, db, pg_target_params, template):
    secret = "Cs-" + unique("pw")
    r = admin.post("/api/connection-pools", pool_body(pg_target_params, connection_string=template.format(pw=secret)))
    assert r.status == 201, r.json
    pool = r.data
    assert pool["connection_string"] == template.format(pw="********") and pool["has_password"] is True
    row = db.one("SELECT connection_string, password_enc::text AS enc FROM connection_pools "
                 "WHERE id = CAST(:id AS uuid)", id=pool["id"])
    assert secret not in row["connection_string"] and secret not in row["enc"]
    from chalicelib.dynamic_api.store import get_pool_row, pool_config
    assert pool_config(get_pool_row(pool["id"])).params.password == secret
    for resp in (admin.get(f"/api/connection-pools/{pool['id']}"), admin.get("/api/connection-pools?limit=500")):
        assert secret not in resp.body.decode()
    # sending the masked text back keeps the stored password
    r = admin.put(f"/api/connection-pools/{pool['id']}", {"connection_string": pool["connection_string"]})
    assert r.status == 200 and pool_config(get_pool_row(pool["id"])).params.password == secret


def test_a_connection_string_saved_before_the_rule_is_shown_masked(admin, db):
    row = db.one("INSERT INTO connection_pools (display_text, connection_string, db_type, host, port, database) "
                 "VALUES ('legacy', 'mysql://u:legacy-Secret@h:3306/d', 'mysql', 'h', 3306, 'd') RETURNING id")
    shown = admin.get(f"/api/connection-pools/{row['id']}")
    assert shown.data["connection_string"] == "mysql://u:********@h:3306/d"
    assert "legacy-Secret" not in shown.body.decode()


# --------------------------------------------------------------------------- OpenAPI visibility

def test_the_dynamic_openapi_lists_only_what_the_caller_may_call(admin, anon, client, pg_pool):
    from chalicelib.keys.service import create_key
    public = create_api(admin, pg_pool, "liquid", "SELECT 1 AS one", [], prefix="pub")
    guarded = create_api(admin, pg_pool, "liquid", "SELECT 2 AS two", [], prefix="guard",
                         permissions=["people.read"])
    holder = Api(client.http, create_key("viewer", ["people.read"], name=unique("holder"))["key"])
    other = Api(client.http, create_key("operator", ["other"], name=unique("other"))["key"])
    seen = {}
    for who, caller in (("anon", anon), ("holder", holder), ("other", other), ("admin", admin)):
        r = caller.get("/api/dynamic-api/openapi.json")
        assert r.status == 200
        seen[who] = {p.rsplit("/", 1)[-1] for p in r.json["paths"]}
    assert public["name"] in seen["anon"] and guarded["name"] not in seen["anon"]
    assert guarded["name"] not in seen["other"]
    assert {public["name"], guarded["name"]} <= seen["holder"] and guarded["name"] in seen["admin"]
    assert Api(client.http, "sk-not-a-key").get("/api/dynamic-api/openapi.json").status == 401


# --------------------------------------------------------------------------- identity rule

@pytest.mark.parametrize("a,b,same", [
    (("postgresql", "7714", "t1", "app"), ("postgresql", "7714", "t2", "app"), True),     # a streaming replica
    (("postgresql", "7714", "t1", "app"), ("postgresql", "7714", "t1", "other"), False),  # another database
    (("postgresql", "7714", "t1", "app"), ("postgresql", "9999", "t1", "app"), False),    # another cluster
    (("postgresql", "start:t1", "t1", "app"), ("postgresql", "7714", "t1", "app"), True),  # sysid unreadable
    (("postgresql", "start:t1", "t1", "app"), ("postgresql", "7714", "t2", "app"), False),
    (("mysql", "1@vm:3306", None, "app"), ("postgresql", "1@vm:3306", None, "app"), False),
])
def test_server_identity_decides_what_counts_as_the_same_database(a, b, same):
    from chalicelib.dynamic_api.trust import ServerIdentity
    assert ServerIdentity(*a).same_database(ServerIdentity(*b)) is same
    assert ServerIdentity(*b).same_database(ServerIdentity(*a)) is same


def test_a_mariadb_pool_records_its_server_identity_without_server_uuid(admin, my_target_params):
    r = admin.post("/api/connection-pools", pool_body(my_target_params))
    ident = r.data["server_identity"]
    assert ident.startswith("mysql:") and ident.endswith(f":{MY_PORT}/{TARGET_DB}") and "@" in ident


def test_a_pool_can_admit_one_operator_key_to_write_apis_and_no_other(admin, client, db, pg_pool):
    from chalicelib.keys.service import create_key
    chosen = create_key("operator", name=unique("chosen"))
    other = create_key("operator", name=unique("other"))
    r = admin.put(f"/api/connection-pools/{pg_pool}", {"access": {"write_keys": [str(chosen["id"])]}})
    assert r.status == 200 and r.data["access"]["write_keys"] == [str(chosen["id"])], r.json
    body = {"connection_pool_id": pg_pool, **WRITE}
    assert Api(client.http, chosen["key"]).post("/api/dynamic-apis", dict(body, name=unique("k"))).status == 201
    assert Api(client.http, other["key"]).post("/api/dynamic-apis", dict(body, name=unique("k"))).status == 403
    r = admin.put(f"/api/connection-pools/{pg_pool}", {"access": {"write_keys": ["not-a-key-id"]}})
    assert r.status == 400 and "access.write_keys" in r.error["message"]


def test_a_pool_user_that_can_become_a_superuser_is_reported(admin, pg_target_params):
    pg = _pg_admin()
    pg.run("DROP ROLE IF EXISTS dynapi_climber")
    pg.run("CREATE ROLE dynapi_climber LOGIN")
    pg.run("GRANT postgres TO dynapi_climber")
    try:
        params = ConnectParams("postgresql", PG_HOST, PG_PORT, "dynapi_climber", None, TARGET_DB)
        r = admin.post("/api/connection-pools", pool_body(params))
        assert r.status == 201, r.json
        held = {w["privilege"] for w in r.data["privilege_warnings"]}
        assert "member of a superuser role" in held and "superuser" not in held
    finally:
        pg.run("DROP ROLE IF EXISTS dynapi_climber")
        pg.close()
