"""Catalog in the browser: import seed 001's spec, call endpoints through
"try it" against a loopback upstream, read recent calls and statistics."""
from __future__ import annotations

import json
import uuid

import pytest

from tests.gateway.seed001_upstream import Seed001Upstream
from tests.shared import SPECS

SPEC = SPECS / "seed001_gorm_asynq.yaml"


@pytest.fixture
def seed001():
    with Seed001Upstream() as up:
        yield up


def _import_seed001(b, upstream, name: str) -> str:
    b.go("#/catalog")
    b.find("#import-form")
    b.fill("#import-content", SPEC.read_text(encoding="utf-8"))
    b.fill("#import-name", name)
    b.fill("#import-base-url", upstream.base_url)
    b.click("#import-form details summary")
    b.fill("#import-auth", json.dumps({"type": "apiKey", "in": "header", "name": "token", "value": upstream.token}))
    b.click("#import-submit")
    done = b.wait_text("[data-testid=import-done]", "8 endpoints", timeout=30)
    link = [a for a in done.find_elements("css selector", "a") if a.text == "Browse endpoints"][0]
    return link.get_attribute("href").split("document_id=")[1]


def _open_endpoint(b, document_id: str, method: str, path: str) -> None:
    b.go(f"#/endpoints?document_id={document_id}")
    b.find("#endpoints table")
    b.choose("#endpoint-filters select[name=method]", method)
    rows = b.wait(lambda: [r for r in b.find_all("#endpoints tbody tr")
                           if r.find_elements("css selector", f'a[data-path="{path}"]')
                           and len(b.find_all("#endpoints tbody tr")) <= 3], what=f"{method} {path} listed")
    rows[0].find_element("css selector", f'a[data-path="{path}"]').click()
    b.wait_text("#main h1", path)


def test_import_seed001_spec_and_call_an_endpoint_through_try_it(browser, keys, seed001):
    b = browser
    b.sign_in(keys["operator"])
    doc_id = _import_seed001(b, seed001, f"seed001 console {uuid.uuid4().hex[:6]}")

    # POST /users: the body is generated from the schema's examples.
    _open_endpoint(b, doc_id, "POST", "/users")
    body = json.loads(b.find("#try-body").get_attribute("value"))
    assert body == {"username": "testuser", "email": "test@example.com", "password": "password123"}
    b.click("#try-send")
    b.wait_text("#try-response", "HTTP 200", timeout=20)
    assert '"testuser"' in b.find("[data-testid=response-body]").text

    # GET /users/{id}: the path parameter input comes from its integer schema.
    _open_endpoint(b, doc_id, "GET", "/users/{id}")
    id_input = b.find("#try-path-id")
    assert id_input.get_attribute("type") == "number"
    b.fill("#try-path-id", "1")
    b.click("#try-send")
    b.wait_text("#try-response", "HTTP 200", timeout=20)
    assert '"test@example.com"' in b.find("[data-testid=response-body]").text
    b.shot("endpoint")
    b.wait(lambda: len(b.find_all("#recent-calls tbody tr .badge.ok")) >= 1, what="the call in recent calls")
    assert "/api/v1/users/1" in b.find("#recent-calls").text

    # The stored auth reached the upstream; the key never left the browser for it.
    sent = [r for r in seed001.requests if r.path.startswith("/api/v1/users")]
    assert len(sent) == 2
    assert all(r.headers.get("token") == seed001.token for r in sent)
    assert all(keys["operator"] not in json.dumps(r.headers) for r in sent)

    # An unknown user: the upstream's 404 is shown as data.
    b.fill("#try-path-id", "999")
    b.click("#try-send")
    b.wait_text("#try-response", "HTTP 404", timeout=20)

    # Statistics for the document: cards and charts from the call logs.
    b.go(f"#/stats?document_id={doc_id}")
    cards = b.wait_text("#stats-cards", "calls")
    b.wait(lambda: b.find("#stats-cards .card .v").text == "3", what="3 calls counted")
    assert "33.3%" in cards.text  # one error in three calls
    for title in ("Calls", "Error rate", "Latency p50 / p95 / p99", "Health checks"):
        assert b.find(f'figure[data-chart="{title}"] svg')
    assert len(b.find_all('figure[data-chart="Calls"] rect.bar')) >= 2
    b.shot("stats")
    # one endpoint: the server's window statistics, by status
    b.choose("#stats-endpoint", text="GET /users/{id}")
    b.wait(lambda: b.find("#stats-cards .card .v").text == "2", what="2 calls of GET /users/{id}")
    by_status = b.wait_text("#stats-charts table", "404")
    assert "200" in by_status.text


def test_the_document_page_runs_a_health_check_and_draws_the_timeline(browser, keys, seed001):
    b = browser
    b.sign_in(keys["operator"])
    doc_id = _import_seed001(b, seed001, f"seed001 health {uuid.uuid4().hex[:6]}")
    b.go(f"#/document/{doc_id}")
    b.click_text("#main button", "Check health now")
    b.wait(lambda: b.find_all("#health-timeline svg rect"), timeout=20, what="a check in the timeline")
    # re-importing a version without the tasks: two endpoints removed, the rest unchanged
    spec = SPEC.read_text(encoding="utf-8")
    trimmed = spec[:spec.index("  /tasks/email:")] + spec[spec.index("components:"):]
    b.fill("#doc-reimport textarea[name=content]", trimmed)
    b.click("#doc-reimport button[type=submit]")
    diff = b.find("[data-testid=reimport-diff]", timeout=20)
    values = [c.text.split("\n") for c in diff.find_elements("css selector", ".card")]
    assert {k: v for v, k in values} == {"added": "0", "changed": "0", "removed": "2", "unchanged": "6"}


def test_endpoint_filters_narrow_the_list(browser, keys, seed001):
    b = browser
    b.sign_in(keys["operator"])
    doc_id = _import_seed001(b, seed001, f"seed001 filters {uuid.uuid4().hex[:6]}")
    b.go(f"#/endpoints?document_id={doc_id}")
    b.wait(lambda: len(b.find_all("#endpoints tbody tr")) == 8, what="8 endpoints")
    b.click('#endpoint-tags button[data-tag="Tasks"]')   # the document's tags are listed as buttons
    b.wait(lambda: len(b.find_all("#endpoints tbody tr")) == 2, what="2 task endpoints")
    assert b.find('#endpoint-tags button[data-tag="Tasks"]').get_attribute("aria-pressed") == "true"
    assert {a.text for a in b.find_all("#endpoints tbody a[data-path]")} == {"/tasks/email", "/tasks/sync"}


def test_a_viewer_sees_the_endpoint_but_cannot_call_it(browser, keys, api, seed001):
    r = api.post("/api/documents", {"content": SPEC.read_text(encoding="utf-8"), "base_url": seed001.base_url,
                                    "name": f"seed001 viewer {uuid.uuid4().hex[:6]}"})
    assert r.status == 201, r.body
    ep = next(e for e in r.data["endpoints"] if e["path"] == "/health")
    b = browser
    b.sign_in(keys["viewer"])
    b.go(f"#/endpoint/{ep['id']}")
    b.wait_text("#try-form", "Calling needs the operator role")
    assert not b.find_all("#try-send")
