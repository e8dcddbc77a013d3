from openapi_spec_validator import validate

from chalicelib.web.api import ROUTES


def test_openapi_json_validates_and_lists_every_route(anon, chalice_app):
    r = anon.get("/api/openapi.json")
    assert r.status == 200
    spec = r.json
    validate(spec)
    listed = {(p, m.upper()) for p, ops in spec["paths"].items() for m in ops}
    registered = {(p, m) for p, methods in chalice_app.routes.items() for m in methods}
    assert registered <= listed
    assert spec["paths"]["/api/health"]["get"]["security"] == []
    assert "requestBody" in spec["paths"]["/api/keys"]["post"]
    assert {m.path for m in ROUTES} >= {"/api/keys", "/api/init-db"}
