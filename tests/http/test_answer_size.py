"""Answers above the synchronous limit (Lambda's 6 MB; here lowered with
MAX_SYNC_RESPONSE_BYTES on a server of its own) are never sent: a 413
PAYLOAD_TOO_LARGE envelope points to the paged (or exported) form instead."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest


LIMIT = 40_000


@pytest.fixture(scope="module")
def small_server():
    from tests.conftest import own_live_server
    with own_live_server("answers", {"MAX_SYNC_RESPONSE_BYTES": str(LIMIT)}) as server:
        yield server


@pytest.fixture(scope="module")
def history(small_server):
    """40 history records of ~2,000 characters each (half of them non-ASCII), saved through the API."""
    operator = small_server.key("operator")
    for i in range(40):
        r = small_server.call("POST", "/api/query-history",
                              {"name": f"big {i}", "description": ("é" if i % 2 else "x") * 2000}, key=operator)
        assert r.status_code == 201, r.text
    return 40


def test_a_listing_over_the_limit_is_a_413_pointing_to_a_page_that_fits(small_server, history):
    viewer = small_server.key("viewer")

    r = small_server.call("GET", "/api/query-history?limit=500&offset=0", key=viewer)

    assert r.status_code == 413, r.text[:300]
    assert len(r.content) < 2_000
    err = r.json()["error"]
    assert err["code"] == "PAYLOAD_TOO_LARGE" and "limit=" in err["message"]
    details = err["details"]
    assert details["limit_bytes"] == LIMIT and details["size_bytes"] > LIMIT
    assert details["paging"]["offset"] == 0 and details["paging"]["max_limit"] == 500
    # the page it names fits, and paging on with it reaches every record
    seen, offset, step = set(), 0, details["paging"]["limit"]
    while True:
        page = small_server.call("GET", f"/api/query-history?limit={step}&offset={offset}", key=viewer)
        assert page.status_code == 200, page.text[:300]
        seen |= {item["id"] for item in page.json()["data"]["items"]}
        if not page.json()["data"]["has_more"]:
            break
        offset += step
    assert len(seen) == history


def test_the_limit_counts_the_escaped_payload_not_the_characters(small_server, history):
    # 18 records of 2,000 characters are ~36,000 characters, but the 9 non-ASCII ones
    # travel as \u00e9 (six bytes each): the payload is over 40,000 bytes.
    r = small_server.call("GET", "/api/query-history?limit=18", key=small_server.key("viewer"))

    assert r.status_code == 413, r.text[:300]
    assert r.json()["error"]["details"]["size_bytes"] > LIMIT > len(r.content)


def test_concurrent_viewers_all_get_the_413_and_never_a_partial_body(small_server, history):
    viewer = small_server.key("viewer")

    def call(_):
        r = small_server.call("GET", "/api/v1/query-history?limit=100", key=viewer)
        return r.status_code, r.json()["error"]["code"]

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(call, range(16)))

    assert answers == [(413, "PAYLOAD_TOO_LARGE")] * 16


def test_a_paged_answer_under_the_limit_is_sent_whole(small_server, history):
    r = small_server.call("GET", "/api/query-history?limit=3", key=small_server.key("viewer"))

    assert r.status_code == 200
    assert len(r.json()["data"]["items"]) == 3
