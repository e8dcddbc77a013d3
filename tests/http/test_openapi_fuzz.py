"""The OpenAPI description is exact: schemathesis (pinned in requirements-dev.txt),
with its default checks, against the real server over HTTP, on every operation
that does not reach outside, with a bounded number of examples per operation.

Left out (they reach outside this machine's server, or hand work to one that does):
see OUTSIDE. Operations whose refusals depend on rules a JSON Schema cannot state
(one field compared with another, a document checked as a whole) keep every check
but `positive_data_acceptance`: see CROSS_FIELD; their rules are in the parameter
descriptions and the README.
"""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

EXAMPLES = 4        # fuzzed cases per operation (the coverage phase adds its boundary cases)
SEED = 22

# name -> why it is not fuzzed
OUTSIDE = {
    "POST /api/endpoints/{endpoint_id}/invoke": "calls the imported API's upstream",
    "POST /api/references/{ref_id}/invoke": "calls the imported API's upstream",
    "POST /api/templates/import-url": "fetches a URL",
    "POST /api/documents/{document_id}/reimport": "may fetch the document's source URL",
    "POST /api/documents/{document_id}/health-check": "probes the document's upstream",
    "POST /api/health-checks/run": "probes upstreams",
    "POST /api/query": "compares two Cassandra clusters",
    "POST /api/sharding-query": "compares two Cassandra clusters",
    "POST /api/redis/compare": "compares two Redis deployments",
    "POST /api/compare-runs": "starts a whole-dataset comparison against clusters",
    "POST /api/compare-runs/{run_id}/resume": "resumes a comparison against clusters",
    "POST /api/connection-pools": "inspects (connects to) the pool's database",
    "PUT /api/connection-pools/{pool_id}": "re-inspects the pool's database",
    "POST /api/connection-pools/{pool_id}/test": "connects to the pool's database",
    "POST /api/dynamic-apis/{def_id}/test": "runs SQL on the pool's database",
}
OUTSIDE_REGEX = r"^/api/dynamic-api/invoke/"      # published APIs run SQL on the pools' databases

# name -> the rule a JSON Schema cannot state
CROSS_FIELD = {
    "GET /api/call-logs": "since must be before until",
    "GET /api/documents": "invalid_config=true does not combine with the other filters",
    "GET /api/stats/timeseries": "window / bucket gives at most 500 buckets",
    "POST /api/templates": "the body is an OpenAPI document, validated as one",
    "POST /api/documents": "the body is an OpenAPI document (or names a template), validated as one",
    "PUT /api/documents/{document_id}": "health_check_config / configs are checked as typed documents",
    "POST /api/config-groups": "pro/test configs are typed by group_type",
    "PUT /api/config-groups/{group_id}": "pro/test configs are typed by group_type",
    "POST /api/dynamic-apis": "the SQL template, its parameters and the pool are checked together",
    "PUT /api/dynamic-apis/{def_id}": "the SQL template, its parameters and the pool are checked together",
    "PATCH /api/dynamic-apis/{def_id}": "the SQL template, its parameters and the pool are checked together",
    "POST /api/references": "reference_config maps request targets (path.<name>, ...) of the endpoint",
    "PUT /api/references/{ref_id}": "reference_config maps request targets (path.<name>, ...) of the endpoint",
    "PATCH /api/references/{ref_id}": "reference_config maps request targets (path.<name>, ...) of the endpoint",
}


def _config() -> str:
    lines = []
    for name in sorted(OUTSIDE):
        lines += ["[[operations]]", f'include-name = "{name}"', "enabled = false", ""]
    for name in sorted(CROSS_FIELD):
        lines += ["[[operations]]", f'include-name = "{name}"', "checks.positive_data_acceptance.enabled = false", ""]
    return "\n".join(lines)


def _schemathesis(live_server, config: Path, *args: str) -> subprocess.CompletedProcess:
    """The CLI run, in the config's directory (its hypothesis/schemathesis caches stay there)."""
    exe = str(Path(sys.executable).parent / "schemathesis")
    return subprocess.run(
        [exe, "--config-file", str(config), "--no-color", "run", live_server.url + "/api/openapi.json",
         "-H", f"Authorization: Bearer {live_server.admin_key}", "--exclude-path-regex", OUTSIDE_REGEX,
         "--phases", "examples,coverage,fuzzing", "--max-examples", str(EXAMPLES), "--seed", str(SEED),
         "--workers", "1", "--request-timeout", "30", *args],
        capture_output=True, text=True, timeout=600, cwd=str(config.parent))


def test_schemathesis_finds_nothing_the_description_does_not_say(live_server, tmp_path):
    config = tmp_path / "schemathesis.toml"
    config.write_text(_config())
    spec = live_server.call("GET", "/api/openapi.json", key=None).json()
    names = {f"{m.upper()} {p}" for p, ops in spec["paths"].items() for m in ops}
    assert set(OUTSIDE) <= names and set(CROSS_FIELD) <= names      # the lists name real operations
    run = _schemathesis(live_server, config)
    out = run.stdout + run.stderr
    selected = re.search(r"Selected: (\d+)/(\d+)\s+Tested: (\d+)", out)
    assert selected, out[-3000:]
    chosen, listed, tested = (int(g) for g in selected.groups())
    invoke = len([n for n in names if n.split(" ", 1)[1].startswith("/api/dynamic-api/invoke/")])
    assert chosen == tested == listed - len(OUTSIDE) - invoke, out[-3000:]
    assert run.returncode == 0, out[-12000:]
    cases = re.search(r"(\d+) generated, (\d+) passed", out)
    assert cases and int(cases.group(1)) == int(cases.group(2)) >= 10 * tested, out[-2000:]
