"""The synchronous answer limit at the edge (chalicelib.web.answer_size), in process."""
from __future__ import annotations

import json

from chalice import Response

from chalicelib.settings import reset_settings
from chalicelib.web.answer_size import payload_bytes
from tests.conftest import base_settings


def test_the_payload_counts_json_escapes_and_base64_not_characters():
    plain = Response(body="x" * 1000, headers={})
    accented = Response(body="é" * 1000, headers={})
    binary = Response(body=b"\x00" * 999, headers={})
    assert payload_bytes(accented, limit=100) - payload_bytes(plain, limit=100) == len(json.dumps("é" * 1000)) - 1002
    assert payload_bytes(binary, limit=100) - payload_bytes(Response(body=b"", headers={}), limit=100) == 1332


def test_a_listing_over_the_limit_is_a_413_naming_a_page_that_fits(api, keys):
    for i in range(6):
        assert api.post("/api/keys", {"role": "viewer", "name": f"answer-size {i} " + "n" * 200}).status == 201
    reset_settings(base_settings(max_sync_response_bytes=3000))

    r = api.get("/api/keys?limit=500&offset=0")

    assert r.status == 413
    details = r.error["details"]
    assert details["limit_bytes"] == 3000 and details["size_bytes"] > 3000
    assert details["paging"]["offset"] == 0 and details["paging"]["max_limit"] == 500
    page = api.get(f"/api/keys?limit={details['paging']['limit']}&offset=0")
    assert page.status == 200 and page.data["items"]


def test_a_run_s_differences_point_to_its_export(api):
    reset_settings(base_settings(max_sync_response_bytes=10))   # even a 404 envelope is over it
    run_id = "00000000-0000-4000-8000-000000000000"

    r = api.get(f"/api/compare-runs/{run_id}/differences")

    assert r.status == 413
    assert r.error["details"]["export"] == {"method": "GET", "path": f"/api/compare-runs/{run_id}/export"}
    assert f"/api/compare-runs/{run_id}/export" in r.error["message"]
