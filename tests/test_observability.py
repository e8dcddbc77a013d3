"""Structured logs (Powertools Logger shape) and CloudWatch EMF metrics: one
access line per request, one invoke metric per gateway call and dynamic-API
invoke, one job line + metric per job attempt."""
from __future__ import annotations

import json
import re

import pytest

from chalicelib import observability
from chalicelib.jobs import register_job, submit_job
from chalicelib.net import outbound
from chalicelib.settings import reset_settings
from tests.conftest import base_settings

POWERTOOLS_KEYS = {"level", "location", "message", "timestamp", "service", "cold_start", "function_name",
                   "function_memory_size", "function_arn", "function_request_id", "xray_trace_id"}
EMF_UNITS = {"Count", "Milliseconds", "Seconds", "Bytes", "Percent", "None"}


@pytest.fixture
def lines():
    captured: list[str] = []
    observability.set_sink(captured.append)
    yield captured
    observability.set_sink(None)


def records(lines, message: str) -> list[dict]:
    return [r for r in map(json.loads, lines) if r["message"] == message]


def assert_valid_emf(record: dict, namespace: str = "StepFlowGateway") -> None:
    """The EMF specification's rules for one directive."""
    meta = record["_aws"]
    assert isinstance(meta["Timestamp"], int) and meta["Timestamp"] > 1_600_000_000_000
    (directive,) = meta["CloudWatchMetrics"]
    assert directive["Namespace"] == namespace
    for dimension_set in directive["Dimensions"]:
        assert 1 <= len(dimension_set) <= 30
        assert all(isinstance(record[d], str) and record[d] for d in dimension_set)
    for metric in directive["Metrics"]:
        assert metric["Unit"] in EMF_UNITS
        assert isinstance(record[metric["Name"]], (int, float))


# ------------------------------------------------------------------- shape

def test_log_lines_have_the_powertools_logger_keys_and_timestamp_format(lines):
    observability.write(observability.log_line("hello", location="here", extra=1))
    (record,) = map(json.loads, lines)
    assert POWERTOOLS_KEYS <= set(record)
    assert record["service"] == "stepflow-gateway" and record["extra"] == 1 and record["level"] == "INFO"
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}\+0000", record["timestamp"])


def test_only_the_first_line_of_a_process_is_a_cold_start(lines):
    observability._cold = True
    observability.write(observability.log_line("first"))
    observability.write(observability.log_line("second"))
    assert [json.loads(x)["cold_start"] for x in lines] == [True, False]


def test_metrics_namespace_is_a_setting(lines):
    reset_settings(base_settings(metrics_namespace="Custom/Gateway"))
    record = observability.with_metrics(observability.log_line("m"), {"Service": "s"}, {"N": (1, "Count")})
    assert_valid_emf(record, "Custom/Gateway")


def test_a_broken_sink_never_breaks_the_caller():
    tried = []

    def broken(line):
        tried.append(line)
        raise OSError("disk full")
    observability.set_sink(broken)
    try:
        assert observability.write(observability.log_line("x")) is None   # no exception reaches the caller
    finally:
        observability.set_sink(None)
    assert len(tried) == 1 and '"message":"x"' in tried[0].replace(" ", "")


# ------------------------------------------------------------ access lines

@pytest.mark.parametrize("who, status, role", [
    ("viewer", 200, "viewer"),
    ("operator", 200, "operator"),
    (None, 401, "anonymous"),
])
def test_every_request_writes_one_access_line_with_route_role_status_and_duration(api, keys, lines, who,
                                                                                  status, role):
    caller = api.as_key(keys[who] if who else None)
    resp = caller.get("/api/jobs?limit=1")
    assert resp.status == status
    (record,) = records(lines, "request")
    assert record["route"] == "/api/jobs" and record["method"] == "GET" and record["path"] == "/api/jobs"
    assert record["role"] == role and record["status"] == status
    assert record["request_id"] == resp.headers["x-request-id"]
    assert isinstance(record["duration_ms"], float) and record["duration_ms"] >= 0
    assert POWERTOOLS_KEYS <= set(record)
    assert keys["viewer"] not in lines[0] and keys["operator"] not in lines[0]


def test_an_anonymous_request_after_an_authenticated_one_is_not_attributed_to_the_previous_caller(
        api, anon, lines, db):
    import contextvars

    # A warm Lambda container runs its invocations one after the other in one context.
    ctx = contextvars.copy_context()
    assert ctx.run(api.get, "/api/jobs?limit=1").status == 200
    refused = ctx.run(anon.get, "/api/jobs?limit=1")
    assert refused.status == 401
    assert [r["role"] for r in records(lines, "request")] == ["admin", "anonymous"]
    row = db.one("SELECT role, api_key_id FROM api_access_logs WHERE request_id = :rid",
                 rid=refused.headers["x-request-id"])
    assert row == {"role": None, "api_key_id": None}


def test_a_viewer_refused_an_operator_route_is_logged_as_viewer_with_403(api, keys, lines):
    resp = api.as_key(keys["viewer"]).post("/api/jobs/00000000-0000-0000-0000-000000000000/cancel")
    assert resp.status == 403
    (record,) = records(lines, "request")
    assert (record["role"], record["status"], record["route"]) == ("viewer", 403, "/api/jobs/{job_id}/cancel")


def test_a_dynamic_api_invoke_carries_an_invoke_metric_for_its_name(api, lines):
    resp = api.post("/api/dynamic-api/invoke/no-such-api", {})
    (record,) = records(lines, "request")
    assert record["route"] == observability.DYNAMIC_INVOKE_ROUTE
    assert_valid_emf(record)
    assert record["Endpoint"] == "dynamic-api:no-such-api" and record["Invocations"] == 1
    assert record["Errors"] == (1 if resp.status >= 500 else 0)


def test_other_routes_carry_no_metrics(api, lines):
    api.get("/api/jobs")
    (record,) = records(lines, "request")
    assert "_aws" not in record


def test_access_line_in_lambda_names_the_path_without_the_api_gateway_stage(lines):
    from chalice.app import Request

    class LambdaContext:
        aws_request_id = "lambda-req-1"

    event = Request({
        "multiValueQueryStringParameters": None, "headers": {}, "pathParameters": {"job_id": "j1"},
        "body": None, "stageVariables": None, "path": "/api/jobs/j1",
        "requestContext": {"httpMethod": "GET", "resourcePath": "/api/jobs/{job_id}", "path": "/api/api/jobs/j1",
                           "requestId": "apigw-1"},
    }, LambdaContext())

    class Response:
        status_code = 404

    observability.request_started()
    observability.access_log(event, Response(), "apigw-1", 3.0)
    (record,) = records(lines, "request")
    assert (record["path"], record["route"], record["function_request_id"]) == (
        "/api/jobs/j1", "/api/jobs/{job_id}", "lambda-req-1")


# ----------------------------------------------------------- gateway invoke

@pytest.fixture
def upstream(db):
    from tests.gateway.helpers import import_spec, spec_text
    from tests.net.loopback_http import LoopbackServer

    reset_settings(base_settings(outbound_allowlist=("127.0.0.1",)))
    srv = LoopbackServer(lambda req: (200, {}, {"ok": True}))
    with srv:
        ok = {"responses": {"200": {"description": "ok"}}}
        doc = import_spec(db, spec_text({"/ok": {"get": ok}, "/boom": {"get": ok}}), base_url=srv.url(""))
        srv.handler = lambda req: (503, {}, {"down": True}) if req.path.endswith("/boom") else (200, {}, {"ok": 1})
        yield doc
    outbound.close_pools()


@pytest.mark.parametrize("path, upstream_status, errors", [("/ok", 200, 0), ("/boom", 503, 1)])
def test_each_gateway_invoke_counts_an_invocation_errors_and_latency_for_its_endpoint(api, keys, lines, upstream,
                                                                                    path, upstream_status, errors):
    endpoint_id = upstream["endpoints"][("GET", path)]
    resp = api.as_key(keys["operator"]).post(f"/api/endpoints/{endpoint_id}/invoke", {})
    assert resp.status < 500 or upstream_status >= 500
    (metric,) = records(lines, "invoke")
    assert_valid_emf(metric)
    assert metric["Endpoint"] == endpoint_id and metric["upstream_status"] == upstream_status
    assert (metric["Invocations"], metric["Errors"]) == (1, errors)
    assert metric["Latency"] >= 0 and metric["role"] == "operator"
    (access,) = records(lines, "request")
    assert access["request_id"] == metric["request_id"]


def test_an_invoke_that_gets_no_answer_is_an_error(api, keys, lines, db):
    from tests.gateway.helpers import import_spec, spec_text

    reset_settings(base_settings(outbound_allowlist=("127.0.0.1",)))
    ok = {"responses": {"200": {"description": "ok"}}}
    doc = import_spec(db, spec_text({"/x": {"get": ok}}), base_url="http://127.0.0.1:9")  # nothing listens
    api.as_key(keys["operator"]).post(f"/api/endpoints/{doc['endpoints'][('GET', '/x')]}/invoke", {})
    (metric,) = records(lines, "invoke")
    assert metric["upstream_status"] is None and metric["Errors"] == 1 and metric["error_type"]


# -------------------------------------------------------------------- jobs

@register_job("test.obs.ok")
def _ok(ctx):
    return {"ok": True}


@register_job("test.obs.boom", max_attempts=2)
def _boom(ctx):
    raise RuntimeError("kaput")


@pytest.fixture
def inline():
    from chalicelib.jobs import queue as job_queue
    q = job_queue.InlineQueue()
    job_queue.set_queue(q)
    yield q
    q.wait_idle(10)
    job_queue.set_queue(None)


@pytest.mark.parametrize("job_type, outcomes", [
    ("test.obs.ok", ["succeeded"]),
    ("test.obs.boom", ["retrying", "failed"]),
])
def test_each_job_attempt_writes_a_job_line_and_an_outcome_metric(inline, lines, job_type, outcomes):
    reset_settings(base_settings(job_retry_delay_s=0))
    job_id = str(submit_job(job_type, {})["id"])
    assert inline.wait_idle(20)
    jobs = [r for r in records(lines, "job") if r["job_id"] == job_id]
    assert [r["Outcome"] for r in jobs] == outcomes == [r["status"] for r in jobs]
    for r in jobs:
        assert_valid_emf(r)
        assert r["Jobs"] == 1 and r["JobDuration"] >= 0 and r["Queue"] == "unknown"
    if outcomes[-1] == "failed":
        assert jobs[-1]["level"] == "ERROR" and "kaput" in jobs[-1]["error"]


def test_a_job_error_is_logged_through_the_one_masker(lines):
    observability.record_job("j2", "retrying", "retry", 1, 1.0,
                             "ConnectionError: https://u:hunter22@db.example/x?api_key=s3cr3t&page=2")
    (record,) = records(lines, "job")
    assert "hunter22" not in record["error"] and "s3cr3t" not in record["error"]
    assert "page=2" in record["error"]


def test_job_lines_name_the_queue_and_the_invocation_they_came_from(lines):
    with observability.job_scope(queue="critical", function_request_id="req-1"):
        observability.record_job("j1", "succeeded", "ack", 1, 2.5)
    (record,) = records(lines, "job")
    assert (record["Queue"], record["queue"], record["function_request_id"]) == ("critical", "critical", "req-1")
    assert record["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["Service", "Queue", "Outcome"]]


# --------------------------------------------------- through the real server

def server_lines(live_server, message: str, **match) -> list[dict]:
    """The JSON lines the server wrote (its log also holds plain-text lines)."""
    found = []
    for line in live_server.log_text().splitlines():
        if not line.startswith("{"):
            continue
        record = json.loads(line)
        if record.get("message") == message and all(record.get(k) == v for k, v in match.items()):
            found.append(record)
    return found


def test_live_server_logs_a_viewer_refused_an_admin_route_as_one_json_line(live_server):
    viewer = live_server.key("viewer")
    r = live_server.call("POST", "/api/keys", {"role": "admin"}, key=viewer)
    assert r.status_code == 403
    rid = r.headers["X-Request-Id"]
    (record,) = server_lines(live_server, "request", request_id=rid)
    assert (record["role"], record["status"], record["route"], record["method"]) == ("viewer", 403, "/api/keys",
                                                                                     "POST")
    assert POWERTOOLS_KEYS <= set(record) and record["duration_ms"] >= 0
    assert viewer not in live_server.log_text()


def test_live_server_gateway_invoke_writes_an_emf_invoke_metric_for_the_endpoint(live_server):
    from tests.net.loopback_http import LoopbackServer

    operator = live_server.key("operator")
    spec = {"openapi": "3.0.3", "info": {"title": "obs", "version": "1"},
            "paths": {"/ping": {"get": {"responses": {"200": {"description": "ok"}}}}}}
    with LoopbackServer(lambda req: (200, {}, {"pong": True})) as upstream:
        r = live_server.call("POST", "/api/documents", {"content": json.dumps(spec), "name": f"obs-{id(spec)}",
                                                        "base_url": upstream.url("")}, key=operator)
        assert r.status_code == 201, r.text
        (endpoint,) = r.json()["data"]["endpoints"]
        r = live_server.call("POST", f"/api/endpoints/{endpoint['id']}/invoke", {}, key=operator)
        assert r.status_code == 200, r.text
    (metric,) = server_lines(live_server, "invoke", request_id=r.headers["X-Request-Id"])
    assert_valid_emf(metric)
    assert (metric["Endpoint"], metric["Invocations"], metric["Errors"], metric["upstream_status"]) == (
        endpoint["id"], 1, 0, 200)
    assert metric["role"] == "operator"
