"""Seed 003 section 3.3 errors: connection, credentials, query (keyspace/table/column), timeouts."""
from __future__ import annotations

import pytest

from tests.cassandra.conftest import PRO_PASSWORD, TEST_PASSWORD, free_port


def _query(api, pro, test, values=("1001",), **body):
    payload = {"pro_config": pro, "test_config": test, "keys": ["user_id"], "values": list(values)}
    payload.update(body)
    return api.post("/api/query", payload)


def test_refused_connection_is_a_503_connection_error_with_retry_after_and_suggestions(api, configs):
    pro, test = configs(test={"port": free_port(), "connect_timeout": 2})

    r = _query(api, pro, test)

    assert r.status == 503 and r.headers["retry-after"] == "1"
    err = r.error
    assert err["code"] == "CONNECTION_ERROR"
    assert err["details"]["side"] == "test"
    assert err["details"]["cluster"] == "test-cluster"
    assert err["details"]["hosts"] == ["127.0.0.1"]
    assert "refused" in err["details"]["error_detail"].lower()
    assert err["details"]["suggestions"]


def test_wrong_password_is_reported_without_the_password(api, configs, db):
    pro, test = configs(pro={"password": "not-the-password"})

    r = _query(api, pro, test)

    assert r.status == 422 and "retry-after" not in r.headers   # refused as configured: retrying cannot help
    assert r.error["code"] == "CONNECTION_ERROR"
    assert r.error["details"]["reason"] == "authentication_failed"
    assert "Bad credentials" in r.error["details"]["error_detail"]
    assert "not-the-password" not in r.body.decode()
    logs = db.query("SELECT message, details::text AS d FROM query_logs WHERE level = 'ERROR' ORDER BY id DESC LIMIT 5")
    assert logs and "not-the-password" not in str(logs)


@pytest.mark.parametrize("override, expected, suggestion", [
    ({"keyspace": "missing_ks"}, "keyspace missing_ks does not exist", "keyspace"),
    ({"table": "missing_table"}, "table production_ks.missing_table does not exist", "table"),
])
def test_unknown_keyspace_or_table_is_a_422_query_error_naming_it(api, configs, override, expected, suggestion):
    pro, test = configs(pro=override)

    r = _query(api, pro, test)

    assert r.status == 422 and "retry-after" not in r.headers
    err = r.error
    assert err["code"] == "QUERY_ERROR"
    assert err["details"]["side"] == "pro"
    assert expected in err["details"]["error_detail"]
    assert err["details"]["query"].startswith("SELECT ")
    assert any(suggestion in s for s in err["details"]["suggestions"])


@pytest.mark.parametrize("body, named", [
    ({"keys": ["uid"]}, "uid is not a column of production_ks.user_data"),
    ({"fields_to_compare": ["no_such_column"]}, "no_such_column not in production_ks.user_data"),
])
def test_unknown_key_or_field_column_is_a_400_before_any_data_query(api, configs, envs, body, named):
    pro, test = configs()
    before = len(envs["pro"].user_statements())

    r = _query(api, pro, test, **body)

    assert r.status == 400 and r.error["code"] == "VALIDATION_ERROR"
    assert named in r.error["message"]
    assert not [s for s in envs["pro"].user_statements()[before:] if "user_data" in s[1]]


def test_slow_cluster_is_a_timeout_error(api, configs, envs):
    pro, test = configs(test={"request_timeout": 0.2})
    envs["test"].delay = 0.6
    try:
        r = _query(api, pro, test)
    finally:
        envs["test"].delay = 0.0

    assert r.status == 408
    assert r.error["code"] == "TIMEOUT_ERROR"
    assert r.error["details"]["side"] == "test"


@pytest.mark.parametrize("body, loc", [
    ({"keys": ["user_id"], "values": ["1"]}, ["body"]),
    ({"keys": ["user_id"], "values": []}, ["body", "values"]),
])
def test_missing_configs_or_values_are_400(api, body, loc):
    r = api.post("/api/query", body)

    assert r.status == 400
    assert r.error["details"]["errors"][0]["loc"][:len(loc)] == loc


def test_bad_keyspace_name_is_rejected_before_connecting(api, configs):
    pro, test = configs(pro={"keyspace": "bad-name; DROP"})

    r = _query(api, pro, test)

    assert r.status == 400
    assert "keyspace" in str(r.error["details"])


def test_errors_never_echo_passwords(api, configs):
    pro, test = configs(pro={"keyspace": "missing_ks"})

    r = _query(api, pro, test)

    assert PRO_PASSWORD not in r.body.decode() and TEST_PASSWORD not in r.body.decode()
