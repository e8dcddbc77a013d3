"""The statistics cards come from the server's time series: exact above the
2,000 calls the browser used to read (2,121 calls through the live server,
made by 16 threads against a loopback upstream)."""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from tests.console.helpers import import_doc
from tests.net.loopback_http import LoopbackServer

SPEC = {"openapi": "3.0.3", "info": {"title": "many", "version": "1"},
        "paths": {"/n/{i}": {"get": {"operationId": "n", "parameters": [
            {"name": "i", "in": "path", "required": True, "schema": {"type": "integer"}}],
            "responses": {"200": {"description": "ok"}}}}}}
CALLS = 2121


def test_the_cards_equal_the_servers_figures_for_a_document_with_more_than_2000_calls(browser, keys, api, live_server):
    with LoopbackServer(lambda req: (503 if req.path.endswith("7") else 200, {}, {"ok": True})) as up:
        doc = import_doc(api, SPEC, up.url(""))
        eid = doc["endpoints"][("GET", "/n/{i}")]
        op = live_server.key("operator")
        failures = []
        lock = threading.Lock()

        def call(i):
            r = live_server.call("POST", f"/api/endpoints/{eid}/invoke", {"path_params": {"i": i}}, key=op)
            if r.status_code != 200:
                with lock:
                    failures.append(r.text)

        with ThreadPoolExecutor(16) as pool:
            list(pool.map(call, range(CALLS)))
        assert not failures, failures[:3]

    series = api.get(f"/api/stats/timeseries?document_id={doc['id']}&window=24h&bucket=1h").data["totals"]
    expected_errors = sum(1 for i in range(CALLS) if str(i).endswith("7"))
    assert (series["calls"], series["errors"]) == (CALLS, expected_errors)

    b = browser
    b.sign_in(keys["viewer"])
    b.go(f"#/stats?document_id={doc['id']}&window=24h")
    cards = b.wait(lambda: (c := {e.get_attribute("data-card"): e.find_element("css selector", ".v").text
                                   for e in b.find_all("#stats-cards .card")}) and c.get("calls") == "2,121" and c,
                   timeout=20, what="the cards")
    assert cards["errors"] == f"{expected_errors:,}"
    assert cards["error rate"] == f"{100 * expected_errors / CALLS:.1f}%"
    for k in ("p50", "p95", "p99"):   # shown with one decimal
        assert abs(float(cards[k].removesuffix(" ms").replace(",", "")) - series[k + "_ms"]) <= 0.05, (k, cards[k], series)
    b.shot("statistics", docs=True)
