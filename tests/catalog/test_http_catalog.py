"""The catalog over real HTTP (the server of `make run`), each call made by the
weakest role that may make it, and that role refused one step further."""
from __future__ import annotations

import json
import uuid

import pytest

from tests.jobwait import wait_for_job

PATHS = {f"/p{i}": {"get": {"operationId": f"op{i}", "responses": {"200": {"description": "ok"}}}}
         for i in range(3)}


def spec(title: str) -> str:
    return json.dumps({"openapi": "3.0.3", "info": {"title": title, "version": "1.0.0"},
                       "servers": [{"url": "https://api.example.com"}], "paths": PATHS})


@pytest.fixture(scope="module")
def roles(live_server) -> dict:
    return {"viewer": live_server.key("viewer"), "operator": live_server.key("operator")}


@pytest.fixture(scope="module")
def document(live_server, roles) -> dict:
    r = live_server.call("POST", "/api/documents", {"content": spec(f"http-{uuid.uuid4().hex[:8]}")},
                         key=roles["operator"])
    assert r.status_code == 201, r.text
    return r.json()["data"]["document"]


@pytest.mark.parametrize("offset, paths, has_more", [
    (0, ["/p2", "/p1"], True),
    (2, ["/p0"], False),
    (10, [], False),  # past the last page the total is still the document's
])
def test_a_viewer_pages_a_document_s_endpoints_sorted_with_the_total(live_server, roles, document, offset,
                                                                      paths, has_more):
    r = live_server.call("GET", "/api/endpoints", key=roles["viewer"],
                         params={"document_id": document["id"], "sort": "-path", "limit": 2, "offset": offset})
    assert r.status_code == 200, r.text
    page = r.json()["data"]
    assert [e["path"] for e in page["items"]] == paths
    assert (page["total"], page["has_more"]) == (3, has_more)


def test_a_viewer_may_not_patch_an_endpoint_it_can_read(live_server, roles, document):
    listed = live_server.call("GET", "/api/endpoints", key=roles["viewer"],
                              params={"document_id": document["id"], "limit": 1}).json()["data"]["items"]
    r = live_server.call("PATCH", f"/api/endpoints/{listed[0]['endpoint_id']}", {"status": "inactive"},
                         key=roles["viewer"])
    assert r.status_code == 403


def test_an_operator_pages_a_document_s_audit_trail_and_a_viewer_is_refused_it(live_server, roles, document):
    r = live_server.call("GET", "/api/audit-logs", key=roles["operator"],
                         params={"record_id": document["id"], "limit": 1})
    assert r.status_code == 200, r.text
    page = r.json()["data"]
    assert page["total"] == 1 and page["items"][0]["operation"] == "INSERT"
    assert "_page_total" not in page["items"][0]
    r = live_server.call("GET", "/api/audit-logs", key=roles["viewer"], params={"record_id": document["id"]})
    assert r.status_code == 403


def test_an_async_import_runs_as_a_job_a_viewer_finds_by_type_but_may_not_cancel(live_server, roles):
    r = live_server.call("POST", "/api/documents", {"content": spec(f"async-{uuid.uuid4().hex[:8]}"), "async": True},
                         key=roles["operator"])
    assert r.status_code == 202, r.text
    job_id = r.json()["data"]["id"]
    job = wait_for_job(live_server.api(roles["viewer"]), job_id)   # read as the viewer
    assert job["status"] == "succeeded", job
    assert job["result"]["endpoints"] == 3
    r = live_server.call("GET", "/api/jobs", key=roles["viewer"],
                         params={"type": "catalog.import_document", "status": "succeeded", "limit": 100})
    assert job_id in [j["id"] for j in r.json()["data"]["items"]]
    assert live_server.call("POST", f"/api/jobs/{job_id}/cancel", key=roles["viewer"]).status_code == 403


def test_concurrent_imports_each_write_their_endpoints_and_audit_rows_and_a_viewer_may_not_import(live_server,
                                                                                                    roles):
    from concurrent.futures import ThreadPoolExecutor
    titles = [f"conc-{uuid.uuid4().hex[:8]}" for _ in range(6)]

    def post(title: str):
        return live_server.call("POST", "/api/documents", {"content": spec(title)}, key=roles["operator"])

    with ThreadPoolExecutor(6) as pool:
        answers = list(pool.map(post, titles + titles[:2]))   # the last two repeat a name and version
    created = [r for r in answers if r.status_code == 201]
    assert len(created) == 6 and sum(r.status_code == 409 for r in answers) == 2
    for r in created:
        doc = r.json()["data"]
        trail = live_server.call("GET", "/api/audit-logs", key=roles["operator"],
                                 params={"record_id": doc["document"]["id"]}).json()["data"]
        assert [row["operation"] for row in trail["items"]] == ["INSERT"]
        assert trail["items"][0]["new_data"]["total_endpoints"] == len(doc["endpoints"]) == 3
        listed = live_server.call("GET", "/api/endpoints", key=roles["viewer"],
                                  params={"document_id": doc["document"]["id"]}).json()["data"]
        assert sorted(e["endpoint_id"] for e in listed["items"]) == sorted(e["id"] for e in doc["endpoints"])
    refused = live_server.call("POST", "/api/documents", {"content": spec(f"v-{uuid.uuid4().hex[:8]}")},
                               key=roles["viewer"])
    assert refused.status_code == 403
