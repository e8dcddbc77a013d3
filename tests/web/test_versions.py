"""API versions: /api/v1 mirrors every route, Accept selects a version,
unknown versions are a 406, deprecated routes say when they go away."""
from __future__ import annotations

import pytest
from chalice import Chalice

from chalicelib.web.api import ROUTES, ApiBlueprint, Ctx
from chalicelib.web.local import ApiTestClient
from chalicelib.web.middleware import http_middleware
from chalicelib.web.versions import versioned_paths
from tests.conftest import Api


def _toy_app() -> Chalice:
    toy = Chalice(app_name="toy-versions")
    toy.register_middleware(http_middleware, "http")
    bp = ApiBlueprint(__name__ + ".toy", tag="toy")

    @bp.api("/api/old-thing", "GET", role=None, deprecated="2026-12-01/2027-06-30")
    def old(ctx: Ctx):
        return {"old": True}

    toy.register_blueprint(bp)
    return toy


@pytest.fixture(scope="module")
def toy() -> Api:
    return Api(ApiTestClient(_toy_app()).http)


def test_every_management_route_is_registered_under_api_v1(chalice_app):
    for meta in ROUTES:
        if not meta.path.startswith("/api/") or meta.path.startswith("/api/dynamic-api/invoke/"):
            continue
        for alias in versioned_paths(meta.path):
            assert meta.method in chalice_app.routes.get(alias, {}), (alias, meta.method)


@pytest.mark.parametrize("path", ["/api/keys?limit=1", "/api/v1/keys?limit=1"])
def test_both_paths_answer_and_say_v1(api, path):
    r = api.get(path)
    assert r.status == 200
    assert r.headers["api-version"] == "v1"


@pytest.mark.parametrize("accept", ["application/vnd.stepflow.v1+json", "application/vnd.datatools.v1+json"])
def test_an_accept_header_for_v1_is_served_in_that_media_type(api, accept):
    r = api.get("/api/keys?limit=1", headers={"Accept": accept})
    assert r.status == 200
    assert r.headers["content-type"] == accept
    assert r.json["success"] is True


@pytest.mark.parametrize("path", ["/api/keys", "/api/v1/keys"])
def test_an_unknown_version_is_a_406_listing_the_supported_ones(api, path):
    r = api.get(path, headers={"Accept": "application/vnd.stepflow.v2+json"})
    assert r.status == 406
    assert r.json["error"]["code"] == "NOT_ACCEPTABLE"
    assert r.json["error"]["details"]["supported_versions"] == ["v1"]
    assert "v2" in r.json["error"]["message"]


def test_a_deprecated_route_answers_deprecation_and_sunset(toy):
    for path in ("/api/old-thing", "/api/v1/old-thing"):
        r = toy.get(path)
        assert r.status == 200
        assert r.headers["deprecation"] == "@1796083200"   # RFC 9745: 2026-12-01T00:00:00Z
        assert r.headers["sunset"] == "Wed, 30 Jun 2027 00:00:00 GMT"


def test_a_deprecation_that_is_not_since_slash_sunset_fails_when_the_route_is_declared():
    bp = ApiBlueprint(__name__ + ".bad", tag="toy")
    with pytest.raises(ValueError, match="since/sunset"):
        bp.api("/api/older-thing", "GET", role=None, deprecated="2027-06-30")


def test_a_current_route_has_no_deprecation_headers(api):
    r = api.get("/api/keys?limit=1")
    assert "deprecation" not in r.headers and "sunset" not in r.headers
