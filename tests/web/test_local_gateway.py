"""chalicelib.web.local: the gateway emulation answers as Chalice's does."""
from __future__ import annotations

import os

import pytest
from chalice.local import RouteMatcher

from chalicelib.web.local import SegmentRouteMatcher, _environ_copy


def _paths(routes: list[str]) -> set[str]:
    out = {"/", "", "/api", "/api/", "/nope", "/api/endpoints/x/invoke?x=1&x=2&y="}
    for r in routes:
        filled = r.replace("{", "").replace("}", "")
        out |= {r, filled, filled + "/", filled + "?a=1&b=&a=2", filled.rsplit("/", 1)[0] + "/zz", filled + "/extra"}
    return out


def _match(matcher, path):
    try:
        m = matcher.match_route(path)
    except ValueError as exc:
        return str(exc)
    return m.route, m.captured, m.query_params


def test_routes_match_as_chalice_matches_them():
    import app as app_module
    routes = list(app_module.app.routes)
    chalice_matcher, ours = RouteMatcher(routes), SegmentRouteMatcher(routes)
    for path in _paths(routes):
        assert _match(ours, path) == _match(chalice_matcher, path), path


@pytest.mark.parametrize("routes", [["/a/{x}/c", "/a/b/{y}"], ["/{a}", "/b"], ["/a/{x}", "/a/{y}/z"]])
def test_captures_of_routes_tried_before_the_match_are_kept_as_chalice_keeps_them(routes):
    for path in ("/a/b/d", "/a/b", "/b", "/a/q/z", "/a/b/c"):
        assert _match(SegmentRouteMatcher(routes), path) == _match(RouteMatcher(routes), path)


def test_the_test_clients_environment_copy_is_os_environ_copy():
    assert _environ_copy() == os.environ.copy()
