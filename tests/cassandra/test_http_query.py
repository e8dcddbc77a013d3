"""The Cassandra comparison through the real HTTP server, as an operator (and a viewer refused)."""
from __future__ import annotations

import pytest

from tests.cassandra.conftest import PRO_PASSWORD, TEST_PASSWORD


@pytest.fixture(scope="module")
def operator(live_server):
    return live_server.key("operator")


def _body(configs, **kw):
    pro, test = configs("events")
    return {"pro_config": pro, "test_config": test, **kw}


def test_an_operator_compares_a_wide_partition_row_by_row_over_http(live_server, operator, configs, envs):
    envs["test"].insert("test_ks", "events", {"tenant": "w", "day": 9, "seq": 1, "payload": "a"})
    for seq in (1, 2):
        envs["pro"].insert("production_ks", "events", {"tenant": "w", "day": 9, "seq": seq, "payload": "a"})

    r = live_server.call("POST", "/api/query", _body(configs, keys=["tenant", "day"], values=[["w", "9"]]),
                         key=operator)

    assert r.status_code == 200, r.text
    data = r.json()["data"]
    assert [(d["difference_type"], d["row"], d["missing_in"]) for d in data["differences"]] == \
        [("missing_row", {"seq": 2}, "test")]
    assert data["row_summary"]["rows_missing_in_test"] == 1
    assert PRO_PASSWORD not in r.text and TEST_PASSWORD not in r.text


def test_half_a_partition_key_is_refused_over_http_naming_the_missing_column(live_server, operator, configs):
    r = live_server.call("POST", "/api/query", _body(configs, keys=["tenant"], values=["t1"]), key=operator)

    assert r.status_code == 400
    assert r.json()["error"]["code"] == "VALIDATION_ERROR" and "missing day" in r.json()["error"]["message"]


def test_a_viewer_may_not_run_a_cassandra_comparison_over_http(live_server, configs):
    r = live_server.call("POST", "/api/query", _body(configs, keys=["tenant", "day"], values=[["t1", "1"]]),
                         key=live_server.key("viewer"))

    assert r.status_code == 403


def test_a_synchronous_timeout_beyond_29_seconds_is_refused_naming_timeout_and_async(live_server, operator,
                                                                                        configs):
    r = live_server.call("POST", "/api/query", _body(configs, keys=["tenant", "day"], values=[["t1", "1"]],
                                                     timeout=30), key=operator)

    assert r.status_code == 400, r.text
    err = r.json()["error"]
    assert err["code"] == "VALIDATION_ERROR" and "timeout" in err["message"] and '"async": true' in err["message"]
    assert {"loc": ["body", "timeout"], "type": "less_than_equal",
            "msg": 'at most 29 without "async": true'} in err["details"]["errors"]


def test_a_comparison_outliving_its_timeout_is_stopped_with_408_pointing_to_async(live_server, operator, configs,
                                                                                  envs):
    values = [[f"slow{i}", "1"] for i in range(12)]
    envs["pro"].delay = 0.4       # every SELECT of a user table waits: 12 keys one by one take ~5 s
    try:
        r = live_server.call("POST", "/api/query", _body(configs, keys=["tenant", "day"], values=values,
                                                         batch_size=1, concurrency=1, recheck_rounds=0,
                                                         timeout=0.5), key=operator)
    finally:
        envs["pro"].delay = 0.0

    assert r.status_code == 408, r.text
    err = r.json()["error"]
    assert err["code"] == "TIMEOUT_ERROR" and '"async": true' in err["message"]
    assert err["details"] == {"timeout_s": 0.5, "async_hint": {"async": True}}


def test_a_timeout_beyond_29_seconds_is_taken_as_a_job(live_server, operator, configs):
    r = live_server.call("POST", "/api/query", _body(configs, keys=["tenant", "day"], values=[["t1", "1"]],
                                                     timeout=120, **{"async": True}), key=operator)

    assert r.status_code == 202, r.text


def test_a_comparison_job_outliving_its_timeout_fails_with_timeout_error(live_server, operator, configs, envs):
    import time
    values = [[f"slowjob{i}", "1"] for i in range(12)]
    envs["pro"].delay = 0.4
    try:
        r = live_server.call("POST", "/api/query", _body(configs, keys=["tenant", "day"], values=values,
                                                         batch_size=1, concurrency=1, recheck_rounds=0,
                                                         timeout=0.5, **{"async": True}), key=operator)
        assert r.status_code == 202, r.text
        job_id, viewer = r.json()["data"]["id"], live_server.key("viewer")
        for _ in range(300):
            job = live_server.call("GET", f"/api/jobs/{job_id}", key=viewer).json()["data"]
            if job["status"] in ("succeeded", "failed", "cancelled"):
                break
            time.sleep(0.1)
    finally:
        envs["pro"].delay = 0.0

    assert job["status"] == "failed" and job["attempts"] == 1, job
    assert "TIMEOUT_ERROR" in job["last_error"] and "0.5 s" in job["last_error"]


def test_the_default_job_timeout_is_seed_003_s_120_seconds():
    from chalicelib.compare.core.deadline import job_seconds
    from chalicelib.settings import Settings, reset_settings
    reset_settings(Settings.from_env({}))

    class Req:
        timeout = None
    assert job_seconds(Req()) == 120.0
    reset_settings(Settings.from_env({"JOB_TIMEOUT_S": "300"}))
    assert job_seconds(Req()) == 300.0
