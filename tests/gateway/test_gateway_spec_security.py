"""The spec's security through the gateway: every scheme type, an AND
combination, OR alternatives, credentials the caller passes, `security: []`,
the per-scheme auth_config (checked, sealed, masked), the save-time report,
Swagger 2 securityDefinitions, and seed 001 with only its apiKey configured.
Each upstream checks exactly what it receives (tests/gateway/scheme_upstream.py)."""
from __future__ import annotations

import json
import uuid

import pytest

from chalicelib.masking import MASK
from tests.gateway.helpers import SEED001
from tests.gateway.scheme_upstream import PATHS, SECRETS, SchemeUpstream, full_config, spec


@pytest.fixture
def schemes_up():
    with SchemeUpstream() as up:
        yield up


def create(api, auth_config=None, content=None, **extra):
    body = {"content": content or spec(), "name": f"sec-{uuid.uuid4().hex[:8]}", **extra}
    if auth_config is not None:
        body["auth_config"] = auth_config
    r = api.post("/api/documents", body)
    assert r.status == 201, r.json
    return r.data, {e["path"]: e["id"] for e in r.data["endpoints"]}


def call(api, endpoint_id, **payload):
    return api.post(f"/api/endpoints/{endpoint_id}/invoke", payload)


def test_every_scheme_type_reaches_the_upstream_as_the_spec_asks_and_no_other(api, schemes_up):
    _, eps = create(api, full_config(schemes_up.url("/oauth/token")), base_url=schemes_up.url("/api"))
    expected = {"/apikey-header": {"HeaderKey"}, "/apikey-query": {"QueryKey"}, "/apikey-cookie": {"CookieKey"},
                "/basic": {"Basic"}, "/bearer": {"Bearer"}, "/oauth2": {"OAuth"}, "/oidc": {"Oidc"},
                "/and": {"HeaderKey", "Bearer"}, "/or": {"Basic"}, "/open": set(), "/default": {"QueryKey"}}
    assert set(expected) == set(PATHS)
    for path, schemes in expected.items():
        r = call(api, eps[path])
        assert r.status == 200, (path, r.json)
        assert r.data["status_code"] == 200, (path, r.data["body"])
        # exactly the credentials of the requirement: the others' are not sent
        assert set(r.data["body"]["presented"]) == schemes, path
    # the secrets do not show in the answers' logs
    logs = api.get("/api/call-logs?limit=50").body.decode()
    for value in (SECRETS["HeaderKey"], SECRETS["QueryKey"], SECRETS["Bearer"], SECRETS["OAuth"]):
        assert value not in logs


def test_an_and_combination_needs_every_scheme_and_names_the_one_missing(api, schemes_up):
    cfg = full_config(schemes_up.url("/oauth/token"))
    del cfg["schemes"]["Bearer"]
    _, eps = create(api, cfg, base_url=schemes_up.url(""))
    r = call(api, eps["/and"])
    assert r.status == 400 and r.error["code"] == "VALIDATION_ERROR"
    assert "Bearer (http bearer)" in r.error["message"] and "HeaderKey" not in r.error["message"]
    assert [e["loc"] for e in r.error["details"]["errors"]] == [["auth_config", "schemes", "Bearer"]]
    assert r.error["details"]["missing"] == [["Bearer"]]
    assert schemes_up.requests == []  # nothing was sent


def test_or_alternatives_use_the_first_one_the_config_gives(api, schemes_up):
    _, eps = create(api, {"schemes": {"HeaderKey": {"type": "apiKey", "in": "header", "name": "X-Key",
                                                    "value": SECRETS["HeaderKey"]}}}, base_url=schemes_up.url(""))
    r = call(api, eps["/or"])
    assert r.status == 200 and r.data["status_code"] == 200
    assert r.data["body"]["presented"] == ["HeaderKey"]
    _, bare = create(api, None, base_url=schemes_up.url(""))
    r = call(api, bare["/or"])
    assert r.status == 400
    assert "Basic (http basic) or HeaderKey (apiKey in header 'X-Key')" in r.error["message"]
    assert r.error["details"]["missing"] == [["Basic"], ["HeaderKey"]]


def test_credentials_the_caller_passes_satisfy_the_spec(api, schemes_up):
    _, eps = create(api, None, base_url=schemes_up.url(""))
    r = call(api, eps["/apikey-header"], headers={"x-key": SECRETS["HeaderKey"]})
    assert r.status == 200 and r.data["status_code"] == 200
    r = call(api, eps["/apikey-query"], query={"key": SECRETS["QueryKey"]})
    assert r.status == 200 and r.data["status_code"] == 200
    r = call(api, eps["/apikey-cookie"], cookies={"sess": SECRETS["CookieKey"]})
    assert r.status == 200 and r.data["status_code"] == 200
    # the caller's Authorization is dropped unless the document forwards it: then it is refused up front
    bearer = {"Authorization": f"Bearer {SECRETS['Bearer']}"}
    r = call(api, eps["/bearer"], headers=bearer)
    assert r.status == 400 and "Bearer (http bearer)" in r.error["message"]
    _, fwd = create(api, {"type": "none", "forward_authorization": True}, base_url=schemes_up.url(""))
    r = call(api, fwd["/bearer"], headers=bearer)
    assert r.status == 200 and r.data["status_code"] == 200
    r = call(api, fwd["/basic"], headers=bearer)  # a bearer token is not basic credentials
    assert r.status == 400 and "Basic (http basic)" in r.error["message"]


def test_security_none_needs_no_credentials_and_a_wrong_single_config_is_refused(api, schemes_up):
    _, eps = create(api, {"type": "http", "scheme": "bearer", "token": SECRETS["Bearer"]},
                    base_url=schemes_up.url(""))
    assert call(api, eps["/open"]).data["status_code"] == 200
    assert call(api, eps["/bearer"]).data["status_code"] == 200
    r = call(api, eps["/oidc"])  # a bearer config fits openIdConnect: sent; this upstream wants another token
    assert r.status == 200 and r.data["status_code"] == 401
    r = call(api, eps["/apikey-header"])
    assert r.status == 400 and "HeaderKey (apiKey in header 'X-Key')" in r.error["message"]


def test_a_bearer_config_fits_openidconnect_and_oauth2_schemes(api, schemes_up):
    _, eps = create(api, {"type": "http", "scheme": "bearer", "token": SECRETS["Oidc"]},
                    base_url=schemes_up.url(""))
    r = call(api, eps["/oidc"])
    assert r.status == 200 and r.data["body"]["presented"] == ["Oidc"]
    r = call(api, eps["/oauth2"])  # sent (a static token fits oauth2); this upstream wants its issued one
    assert r.status == 200 and r.data["status_code"] == 401


def test_saving_an_auth_config_reports_what_the_spec_asks_for(api, seed001):
    r = api.post("/api/documents", {"content": SEED001.read_text(), "name": f"seed-{uuid.uuid4().hex[:8]}",
                                    "base_url": seed001.base_url,
                                    "auth_config": {"type": "http", "scheme": "bearer", "token": "abc-123"}})
    assert r.status == 201  # a warning, not a refusal
    check = r.data["auth_check"]
    assert check["requires"] == {"TokenAuth": {"type": "apiKey", "in": "header", "name": "token"}}
    assert len(check["unsatisfied"]) == 7 and "TokenAuth (apiKey in header 'token')" in check["warnings"][0]
    doc_id = r.data["document"]["id"]
    r = api.put(f"/api/documents/{doc_id}", {"auth_config": {"schemes": {"TokenAuth": {
        "type": "apiKey", "in": "header", "name": "token", "value": "seed-token-1"}}}})
    assert r.status == 200 and r.data["auth_check"]["warnings"] == [] and r.data["auth_check"]["unsatisfied"] == []
    assert r.data["auth_config"]["schemes"]["TokenAuth"]["value"] == MASK
    r = api.put(f"/api/documents/{doc_id}", {"auth_config": {"schemes": {"Nope": {
        "type": "http", "scheme": "basic", "username": "u", "password": "p"}}}})
    assert r.status == 200 and len(r.data["auth_check"]["warnings"]) == 2
    assert "Nope" in r.data["auth_check"]["warnings"][1]


@pytest.mark.parametrize("cfg,loc", [
    ({"schemes": {}}, ["body", "auth_config", "schemes"]),
    ({"schemes": {"A": {"type": "none"}}}, ["body", "auth_config", "schemes", "A", "type"]),
    ({"schemes": {"A": {"type": "apiKey", "in": "header", "name": "x"}}}, ["body", "auth_config", "schemes", "A",
                                                                           "value"]),
    ({"schemes": {"A": {"type": "http", "scheme": "digest", "token": "t"}}},
     ["body", "auth_config", "schemes", "A", "scheme"]),
    ({"schemes": {"A": "text"}}, ["body", "auth_config", "schemes", "A"]),
    ({"schemes": {"A": {"type": "http", "scheme": "bearer", "token": "t"}}, "extra": 1},
     ["body", "auth_config", "extra"]),
])
def test_a_broken_per_scheme_auth_config_is_a_400_naming_the_field(api, cfg, loc):
    r = api.post("/api/documents", {"content": spec(), "name": f"bad-{uuid.uuid4().hex[:6]}",
                                    "base_url": "https://api.example.com", "auth_config": cfg})
    assert r.status == 400, r.json
    assert r.error["details"]["errors"][0]["loc"] == loc


def test_per_scheme_secrets_are_sealed_at_rest_and_a_mask_sent_back_keeps_them(api, db, schemes_up):
    doc, eps = create(api, full_config(schemes_up.url("/oauth/token")), base_url=schemes_up.url(""))
    shown = doc["document"]["auth_config"]
    assert shown["schemes"]["Basic"] == {"type": "http", "scheme": "basic", "username": "svc", "password": MASK}
    assert shown["schemes"]["OAuth"]["client_secret"] == MASK
    stored = db.scalar("SELECT auth_config::text FROM api_documents WHERE id = CAST(:i AS uuid)",
                       i=doc["document"]["id"])
    assert set(json.loads(stored)) == {"_enc"}
    assert api.put(f"/api/documents/{doc['document']['id']}", {"auth_config": shown}).status == 200
    r = call(api, eps["/and"])
    assert r.data["status_code"] == 200 and r.data["body"]["presented"] == ["Bearer", "HeaderKey"]
    audit = api.get(f"/api/audit-logs?record_id={doc['document']['id']}").body.decode()
    for value in (SECRETS["HeaderKey"], SECRETS["Bearer"], SECRETS["Basic"][1]):
        assert value not in audit


def test_seed001_works_with_only_its_apikey_configured_per_scheme(api, seed001):
    r = api.post("/api/documents", {"content": SEED001.read_text(), "name": f"seed-{uuid.uuid4().hex[:8]}",
                                    "base_url": seed001.base_url,
                                    "auth_config": {"schemes": {"TokenAuth": {
                                        "type": "apiKey", "in": "header", "name": "token",
                                        "value": seed001.token}}}})
    assert r.status == 201 and r.data["auth_check"]["unsatisfied"] == []
    eps = {(e["method"], e["path"]): e["id"] for e in r.data["endpoints"]}
    made = call(api, eps[("POST", "/users")], body={"username": "bob_1", "email": "b@example.com",
                                                     "password": "password123"})
    assert made.data["status_code"] == 200, made.data
    assert call(api, eps[("GET", "/users/{id}")], path_params={"id": 1}).data["body"]["data"]["username"] == "bob_1"
    assert call(api, eps[("GET", "/health")]).data["status_code"] == 200
    protected = [q for q in seed001.requests if not q.path.endswith("/health")]
    assert len(protected) == 2 and all(q.headers.get("token") == seed001.token for q in protected)
    health = [q for q in seed001.requests if q.path.endswith("/health")]
    assert health and "token" not in {k.lower() for k in health[0].headers}  # /health asks for nothing
    # and with nothing configured, the protected call is refused before reaching the upstream
    r = api.put(f"/api/documents/{r.data['document']['id']}", {"auth_config": None})
    assert r.status == 200
    refused = call(api, eps[("GET", "/users/{id}")], path_params={"id": 1})
    assert refused.status == 400 and "TokenAuth (apiKey in header 'token')" in refused.error["message"]
    assert len([q for q in seed001.requests if not q.path.endswith("/health")]) == 2


SWAGGER = {
    "swagger": "2.0", "info": {"title": "s2", "version": "1"}, "host": "127.0.0.1", "basePath": "/",
    "securityDefinitions": {"basicAuth": {"type": "basic"},
                            "key": {"type": "apiKey", "in": "header", "name": "X-Key"}},
    "security": [{"key": []}],
    "paths": {"/basic": {"get": {"security": [{"basicAuth": []}], "responses": {"200": {"description": "ok"}}}},
              "/apikey-header": {"get": {"responses": {"200": {"description": "ok"}}}}},
}


def test_swagger2_security_definitions_are_the_endpoints_schemes(api, schemes_up):
    user, password = SECRETS["Basic"]
    _, eps = create(api, {"schemes": {
        "basicAuth": {"type": "http", "scheme": "basic", "username": user, "password": password},
        "key": {"type": "apiKey", "in": "header", "name": "X-Key", "value": SECRETS["HeaderKey"]}}},
        content=json.dumps(SWAGGER), base_url=schemes_up.url(""))
    ep = api.get(f"/api/endpoints/{eps['/basic']}").data
    assert ep["security"] == [{"basicAuth": []}]
    assert ep["security_schemes"] == {"basicAuth": {"type": "http", "scheme": "basic"}}
    assert call(api, eps["/basic"]).data["body"]["presented"] == ["Basic"]
    assert call(api, eps["/apikey-header"]).data["body"]["presented"] == ["HeaderKey"]


def test_a_requirement_naming_an_undefined_scheme_is_an_import_warning(api):
    text = json.dumps({"openapi": "3.0.3", "info": {"title": "u", "version": "1"},
                       "paths": {"/x": {"get": {"security": [{"Ghost": []}],
                                                "responses": {"200": {"description": "ok"}}}}}})
    r = api.post("/api/documents", {"content": text, "name": f"u-{uuid.uuid4().hex[:6]}",
                                    "base_url": "https://api.example.com"})
    assert r.status == 201
    assert any("'Ghost' is not defined" in w["message"] and w["pointer"] == "/paths/~1x/get/security/0/Ghost"
               for w in r.data["warnings"])


def test_an_and_requirement_may_take_one_scheme_from_the_config_and_one_from_the_caller(api, schemes_up):
    _, eps = create(api, {"schemes": {"HeaderKey": {"type": "apiKey", "in": "header", "name": "X-Key",
                                                    "value": SECRETS["HeaderKey"]}},
                          "forward_authorization": True}, base_url=schemes_up.url(""))
    r = call(api, eps["/and"], headers={"Authorization": f"Bearer {SECRETS['Bearer']}"})
    assert r.status == 200 and r.data["body"]["presented"] == ["Bearer", "HeaderKey"]
    r = call(api, eps["/and"])
    assert r.status == 400 and r.error["details"]["missing"] == [["Bearer"]]


def test_an_undefined_scheme_of_the_document_s_security_is_warned_once(api):
    text = json.dumps({"openapi": "3.0.3", "info": {"title": "u", "version": "1"}, "security": [{"Ghost": []}],
                       "paths": {f"/p{i}": {"get": {"responses": {"200": {"description": "ok"}}}}
                                 for i in range(3)}})
    r = api.post("/api/documents", {"content": text, "name": f"u-{uuid.uuid4().hex[:6]}",
                                    "base_url": "https://api.example.com"})
    assert r.status == 201
    assert [w["pointer"] for w in r.data["warnings"] if "Ghost" in w["message"]] == ["/security/0/Ghost"]
