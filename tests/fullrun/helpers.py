"""Driving runs through the API in tests."""
from __future__ import annotations

import time


def run_body(cfg1: dict, cfg2: dict, **kw) -> dict:
    body = {"engine": "redis", "cluster1_config": cfg1, "cluster2_config": cfg2, "compare_ttl": True,
            "recheck_rounds": 1, "recheck_delay_seconds": 0, "scan_count": 20, "step_keys": 40,
            "slice_seconds": 0.5}
    body.update(kw)
    return body


def all_differences(api, run_id: str, **params) -> list[dict]:
    out, offset = [], 0
    extra = "".join(f"&{k}={v}" for k, v in params.items())
    while True:
        r = api.get(f"/api/compare-runs/{run_id}/differences?limit=50&offset={offset}{extra}")
        assert r.status == 200, r.json
        out.extend(r.data["items"])
        if not r.data["has_more"]:
            return out
        offset += 50


def found(diffs: list[dict]) -> dict:
    return {d["key"]: (d["difference_type"], d["missing_in"]) for d in diffs}


def wait_state(api, run_id: str, states=("completed",), timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        run = api.get(f"/api/compare-runs/{run_id}").data
        if run["state"] in states or time.monotonic() > deadline:
            return run
        time.sleep(0.1)
