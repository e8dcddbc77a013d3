"""A document's auth_config, rate_limit_config and timeout_config are checked
by one typed validator when they are saved (400 naming the field) and when
they are used (a document stored before the rule answers 409 naming it, never
a 500 or a 502 quoting a library); `?invalid_config=true` lists such documents."""
from __future__ import annotations

import json
import uuid

import pytest

from tests.gateway.helpers import seal, spec_text

OPEN = {"responses": {"200": {"description": "ok"}}}
SPEC = spec_text({"/echo": {"get": OPEN}})

BAD = [
    ("auth_config", {"type": "digest", "username": "u", "password": "p"}, ["auth_config", "type"]),
    ("auth_config", {"type": "http", "scheme": "digest", "token": "t"}, ["auth_config", "scheme"]),
    ("auth_config", {"type": "oauth2", "flow": "password", "token_url": "https://t.example/token",
                     "client_id": "c", "client_secret": "s"}, ["auth_config", "flow"]),
    ("auth_config", {"type": "http", "scheme": "bearer", "token": "t", "headers": {"X-Count": 3}},
     ["auth_config", "headers", "X-Count"]),
    ("auth_config", {"type": "apiKey", "in": "body", "name": "k", "value": "v"}, ["auth_config", "in"]),
    ("auth_config", {"type": "apiKey", "in": "header", "name": "k"}, ["auth_config", "value"]),
    ("auth_config", {"type": "http", "scheme": "bearer", "token": "t", "tokn": "typo"}, ["auth_config", "tokn"]),
    ("rate_limit_config", {"requests": "abc", "per_seconds": -5}, ["rate_limit_config", "requests"]),
    ("rate_limit_config", {"requests": 5, "per_seconds": -5}, ["rate_limit_config", "per_seconds"]),
    ("rate_limit_config", {"requests": 5, "per": 1}, ["rate_limit_config", "per"]),
    ("timeout_config", {"retries": "x", "connect_ms": -5}, ["timeout_config", "connect_ms"]),
    ("timeout_config", {"retries": 99}, ["timeout_config", "retries"]),
    ("timeout_config", {"retry_on": [200, 1000]}, ["timeout_config", "retry_on"]),
    ("timeout_config", "fast", ["timeout_config"]),
]


def new_doc(api, base_url: str, **configs) -> dict:
    r = api.post("/api/documents", {"content": SPEC, "base_url": base_url, "name": f"cfg-{uuid.uuid4().hex[:8]}",
                                    **configs})
    assert r.status == 201, r.json
    return r.data


@pytest.mark.parametrize("field,value,loc", BAD, ids=[f"{b[0]}-{i}" for i, b in enumerate(BAD)])
def test_an_invalid_config_is_refused_on_create_and_update_naming_the_field(api, loopback, field, value, loc):
    name = f"bad-{uuid.uuid4().hex[:8]}"
    r = api.post("/api/documents", {"content": SPEC, "base_url": loopback.url(""), "name": name, field: value})
    assert r.status == 400 and r.error["code"] == "VALIDATION_ERROR"
    assert r.error["details"]["errors"][0]["loc"] == ["body"] + loc, r.error
    assert loc[0] in r.error["message"]
    assert api.get(f"/api/documents?text={name}").data["total"] == 0  # nothing was saved
    queued = api.post("/api/documents", {"content": SPEC, "base_url": loopback.url(""), "async": True, field: value})
    assert queued.status == 400  # refused before a job exists
    doc = new_doc(api, loopback.url(""))
    r = api.put(f"/api/documents/{doc['document']['id']}", {field: value})
    assert r.status == 400 and r.error["details"]["errors"][0]["loc"] == ["body"] + loc


@pytest.mark.parametrize("raw", ['{"requests": 5, "per_seconds": NaN}', '{"requests": 5, "per_seconds": Infinity}',
                                 '{"requests": 5, "per_seconds": 1e999}'])
def test_nan_and_infinity_in_a_config_are_a_400_not_a_500(api, loopback, raw):
    doc = new_doc(api, loopback.url(""))
    body = '{"rate_limit_config": ' + raw + "}"
    r = api.put(f"/api/documents/{doc['document']['id']}", body=body, headers={"Content-Type": "application/json"})
    assert r.status == 400 and r.error["code"] == "VALIDATION_ERROR" and r.error["message"]


def test_a_valid_config_is_stored_in_its_one_spelling_and_used(api, loopback):
    loopback.handler = lambda req: (200, {}, {"auth": req.headers.get("Authorization")})
    doc = new_doc(api, loopback.url(""), auth_config={"type": "http", "scheme": "Bearer", "token": "tok-1"},
                  timeout_config={"connect_timeout_ms": 800, "max_retries": 1},
                  rate_limit_config={"requests": 100, "per_seconds": 60})
    d = doc["document"]
    assert d["timeout_config"] == {"connect_ms": 800, "retries": 1}
    assert d["auth_config"]["scheme"] == "bearer" and d["auth_config"]["token"] != "tok-1"  # masked
    eid = doc["endpoints"][0]["id"]
    r = api.post(f"/api/endpoints/{eid}/invoke", {})
    assert r.status == 200 and r.data["body"] == {"auth": "Bearer tok-1"}


def stored_before_the_rule(db, document_id: str, **columns) -> None:
    """What an older release saved: written to the table because no route accepts it any more."""
    for column, value in columns.items():
        if column == "auth_config":
            value = seal(value)
        db.execute(f"UPDATE api_documents SET {column} = CAST(:v AS jsonb) WHERE id = CAST(:id AS uuid)",
                   id=document_id, v=json.dumps(value))


@pytest.mark.parametrize("column,value,loc", [
    ("timeout_config", {"connect_ms": -5, "retries": "x"}, ["timeout_config", "connect_ms"]),
    ("rate_limit_config", {"requests": "abc", "per_seconds": -5}, ["rate_limit_config", "requests"]),
    ("auth_config", {"type": "digest"}, ["auth_config", "type"]),
])
def test_a_config_stored_before_the_rule_is_a_409_naming_it_and_is_listed(api, db, loopback, column, value, loc):
    doc = new_doc(api, loopback.url(""), rate_limit_config={"requests": 100, "per_seconds": 1})
    did, eid = doc["document"]["id"], doc["endpoints"][0]["id"]
    if column == "rate_limit_config":
        assert api.patch(f"/api/endpoints/{eid}", {"rate_limit_enabled": True}).status == 200
    stored_before_the_rule(db, did, **{column: value})
    r = api.post(f"/api/endpoints/{eid}/invoke", {})
    assert r.status == 409 and r.error["code"] == "CONFLICT", r.json
    assert r.error["details"]["config"] == column and r.error["details"]["errors"][0]["loc"] == loc
    assert "Invalid timeout" not in r.body.decode() and loopback.requests == []
    listed = api.get("/api/documents?invalid_config=true&limit=500").data
    mine = [d for d in listed["items"] if d["id"] == did]
    assert mine and mine[0]["config_problems"][0]["loc"] == loc
    assert all(d["config_problems"] for d in listed["items"])
    assert api.put(f"/api/documents/{did}", {column: None}).status == 200  # fixed through the API
    assert api.post(f"/api/endpoints/{eid}/invoke", {}).status == 200
    assert did not in [d["id"] for d in api.get("/api/documents?invalid_config=true&limit=500").data["items"]]


def test_the_invalid_config_listing_does_not_combine_with_other_filters(api):
    r = api.get("/api/documents?invalid_config=true&status=active")
    assert r.status == 400 and r.error["details"]["errors"][0]["loc"] == ["query", "status"]
