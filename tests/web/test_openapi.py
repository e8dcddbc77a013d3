from openapi_spec_validator import validate

from chalicelib.web.api import ROUTES


def test_openapi_json_validates_and_lists_every_route(anon, chalice_app):
    r = anon.get("/api/openapi.json")
    assert r.status == 200
    spec = r.json
    validate(spec)
    listed = {(p, m.upper()) for p, ops in spec["paths"].items() for m in ops}
    registered = {(p, m) for p, methods in chalice_app.routes.items() for m in methods}
    versioned = {(p, m) for p, m in registered if p.startswith("/api/v1/")}
    assert registered - versioned <= listed
    # every /api/v1 path is the alias of a listed one, and says so
    for p, m in versioned:
        op = spec["paths"]["/api/" + p[len("/api/v1/"):]][m.lower()]
        assert p in op["x-also-at"]
    assert spec["info"]["x-api-version"] == "v1"
    assert spec["paths"]["/api/health"]["get"]["security"] == []
    assert "requestBody" in spec["paths"]["/api/keys"]["post"]
    assert {m.path for m in ROUTES} >= {"/api/keys", "/api/init-db"}


def test_a_route_answering_a_raw_document_is_not_described_as_enveloped(anon):
    spec = anon.get("/api/openapi.json").json
    raw = spec["paths"]["/api/openapi.json"]["get"]["responses"]["200"]
    enveloped = spec["paths"]["/api/health"]["get"]["responses"]["200"]
    assert "content" not in raw
    assert enveloped["content"]["application/json"]["schema"]["$ref"].endswith("/SuccessEnvelope")


def test_the_served_description_over_http_tells_raw_documents_from_enveloped_answers(live_server):
    r = live_server.call("GET", "/api/openapi.json", key=None)
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
    paths = r.json()["paths"]
    assert "content" not in paths["/api/openapi.json"]["get"]["responses"]["200"]
    listed = paths["/api/keys"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert listed["$ref"].endswith("/SuccessEnvelope")
