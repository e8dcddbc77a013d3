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


def _spec(anon):
    return anon.get("/api/openapi.json").json


def test_path_parameters_are_described_by_their_declared_type(anon):
    paths = _spec(anon)["paths"]
    key_id = paths["/api/keys/{key_id}"]["patch"]["parameters"][0]
    group_id = paths["/api/config-groups/{group_id}"]["get"]["parameters"][0]
    name = paths["/console/{name}"]["get"]["parameters"][0]
    assert key_id["schema"] == {"type": "string", "format": "uuid"}
    assert group_id["schema"] == {"type": "integer", "minimum": 1, "maximum": 2 ** 63 - 1}
    assert name["schema"] == {"type": "string", "minLength": 1}


def test_a_path_parameter_not_of_its_type_is_a_400_naming_it_before_the_view_runs(api):
    r = api.get("/api/config-groups/0")
    assert r.status == 400 and r.error["details"]["errors"][0]["loc"] == ["path", "group_id"]
    r = api.delete("/api/keys/not-a-uuid")
    assert r.status == 400 and r.error["details"]["errors"][0]["loc"] == ["path", "key_id"]


def test_bodies_and_queries_say_what_the_models_enforce(anon):
    spec = _spec(anon)
    schemas = spec["components"]["schemas"]
    create = schemas["CreateKeyWithLimits"]
    assert create["additionalProperties"] is False and "role" in create["required"]
    assert schemas["UpdatePool"]["properties"]["port"] == {"maximum": 65535, "minimum": 1, "title": "Port",
                                                           "type": "integer"}
    params = {p["name"]: p["schema"] for p in spec["paths"]["/api/call-logs"]["get"]["parameters"]}
    assert params["since"]["format"] == "date-time" and "anyOf" not in params["since"]
    assert params["endpoint_id"]["format"] == "uuid"
    assert params["limit"]["minimum"] == 1 and params["limit"]["maximum"] == 500
    assert spec["paths"]["/api/keys"]["post"]["requestBody"]["content"].keys() == {"application/json"}


def test_every_error_status_a_route_can_answer_is_described_with_the_one_envelope(anon):
    paths = _spec(anon)["paths"]
    create_key = paths["/api/keys"]["post"]["responses"]
    assert {"400", "401", "403", "405", "406", "413", "415", "429", "500", "503", "default"} <= set(create_key)
    assert "404" not in create_key                       # no path parameter, nothing to find
    assert "404" in paths["/api/keys/{key_id}"]["patch"]["responses"]
    assert "408" in paths["/api/query"]["post"]["responses"]
    health = paths["/api/health"]["get"]["responses"]
    assert "401" not in health and "429" not in health     # public
    for status, answer in create_key.items():
        if status != "201":
            assert answer["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorEnvelope")


def test_error_details_are_described_as_the_one_shape(anon):
    from chalicelib.errors import DETAILS_SCHEMA
    details = _spec(anon)["components"]["schemas"]["ErrorEnvelope"]["properties"]["error"]["properties"]["details"]
    assert details == DETAILS_SCHEMA
    assert details["type"] == ["object", "null"]
    assert details["properties"]["errors"]["items"]["required"] == ["loc", "type", "msg"]


def test_a_json_true_for_a_number_and_a_json_null_body_are_refused_naming_the_field(api):
    r = api.post("/api/keys", {"role": "viewer", "rate_per_minute": True})
    assert r.status == 400 and r.error["details"]["errors"][0]["loc"] == ["body", "rate_per_minute"]
    r = api.request("PATCH", "/api/keys/00000000-0000-4000-8000-000000000000", body="null",
                    headers={"Content-Type": "application/json"})
    assert r.status == 400 and r.error["details"]["errors"][0]["loc"] == ["body"]


def test_a_duration_pattern_is_exactly_the_durations_the_server_takes():
    import re

    from chalicelib.gateway.calllogs import MAX_WINDOW_S, parse_window
    from chalicelib.web.models import DURATION_PATTERN
    pattern = re.compile(DURATION_PATTERN)
    for text in ("1", "90s", "15m", "24h", "366d", "52w", "31622400", "8784h"):
        assert pattern.match(text) and 0 < parse_window(text) <= MAX_WINDOW_S, text
    for text in ("0", "367d", "53w", "31622401", "8785h", "015m", "1.5h", "-1d", "24 h"):
        assert not pattern.match(text), text
