"""Plant one secret of every kind through the API, use them, then look for
their clear text everywhere a secret could end up: a pg_dump of the whole
database, the answer of every read route, every log table, and the server
log (every record at INFO and above). Expected hits: none.

Kinds: a document auth_config of each type (apiKey in header / query /
cookie, bearer, basic, OAuth2 client credentials), each with an extra
`headers` value, and one given per security scheme of its spec (an apiKey
and a bearer token an AND requirement sends together); the OAuth2 access token the gateway obtains; a caller's own
`?token=` and secret header on invoke; a connection pool password and a
password inside its connection_string; a config group's Redis and Cassandra
passwords (used by a real comparison against a password-protected Redis);
an async import's auth config (job payload) and a token in a job's URL.
"""
from __future__ import annotations

import base64
import json
import logging
import re
import subprocess
import uuid

import pytest

from chalicelib.net import outbound
from chalicelib.settings import reset_settings
from tests.compare import redis_servers as rs
from tests.conftest import TEST_DATABASE_URL, Api, base_settings
from tests.jobwait import wait_for_job
from tests.net.loopback_http import LoopbackServer

RUN = uuid.uuid4().hex[:8]


def planted(kind: str) -> str:
    return f"PLANT{RUN}-{kind}-s3cr3t"


KINDS = ["apikey-header", "apikey-query", "apikey-cookie", "bearer", "basic", "oauth2-client-secret",
         "scheme-apikey", "scheme-bearer",
         "oauth2-issued-token", "extra-header", "caller-query-token", "caller-header", "pool-password",
         "pool-connection-string", "redis-password", "cassandra-password", "job-auth", "job-url-token"]
S = {k: planted(k) for k in KINDS}
OPEN = {"responses": {"200": {"description": "ok"}}}
SPEC = json.dumps({"openapi": "3.0.3", "info": {"title": "planted", "version": "1"},
                   "paths": {"/data": {"get": OPEN}}})
SPEC_SCHEMES = json.dumps({
    "openapi": "3.0.3", "info": {"title": "planted-schemes", "version": "1"},
    "security": [{"key": [], "jwt": []}], "paths": {"/data": {"get": OPEN}},
    "components": {"securitySchemes": {"key": {"type": "apiKey", "in": "header", "name": "X-Svc-Key"},
                                       "jwt": {"type": "http", "scheme": "bearer"}}}})


class Capture(logging.Handler):
    """The server log: every record the process emits at INFO and above."""

    def __init__(self):
        super().__init__(logging.INFO)
        self.lines: list[str] = []

    def emit(self, record):
        self.lines.append(self.format(record))


def upstream_handler(req):
    if req.path == "/oauth/token":
        return 200, {}, {"access_token": S["oauth2-issued-token"], "expires_in": 3600, "token_type": "bearer"}
    return 200, {}, {"rows": [1, 2, 3]}


def auth_configs(upstream) -> dict[str, dict]:
    extra = {"X-Api-Secret": S["extra-header"]}
    return {
        "apikey-header": {"type": "apiKey", "in": "header", "name": "X-Upstream-Key", "value": S["apikey-header"],
                          "headers": extra},
        "apikey-query": {"type": "apiKey", "in": "query", "name": "key", "value": S["apikey-query"]},
        "apikey-cookie": {"type": "apiKey", "in": "cookie", "name": "sess", "value": S["apikey-cookie"]},
        "bearer": {"type": "http", "scheme": "bearer", "token": S["bearer"], "headers": extra},
        "basic": {"type": "http", "scheme": "basic", "username": "svc", "password": S["basic"]},
        "oauth2": {"type": "oauth2", "flow": "client_credentials", "token_url": upstream.url("/oauth/token"),
                   "client_id": "planted-client", "client_secret": S["oauth2-client-secret"], "headers": extra},
        "schemes": {"schemes": {
            "key": {"type": "apiKey", "in": "header", "name": "X-Svc-Key", "value": S["scheme-apikey"]},
            "jwt": {"type": "http", "scheme": "bearer", "token": S["scheme-bearer"]}}},
    }


def fill(path: str, ids: dict[str, list[str]]) -> list[str]:
    names = re.findall(r"{(\w+)}", path)
    if not names:
        return [path]
    out = []
    for value in ids.get(names[0], []):
        out.extend(fill(path.replace("{" + names[0] + "}", str(value), 1), ids))
    return out


class Tier:
    """Where the product runs: in-process (chalice.test) or the real HTTP server."""

    def __init__(self, admin, operator, query, database_url: str, log_text):
        self.admin, self.operator, self.query = admin, operator, query
        self.database_url, self.log_text = database_url, log_text


@pytest.fixture(scope="module", params=["in-process", "http"])
def evidence(request, chalice_app):
    """Plant, use, then collect every place to search: {place: text}."""
    if request.param == "http":
        live = request.getfixturevalue("live_server")
        tier = Tier(live.api("admin"), live.api(live.key("operator")), live.psql, live.database_url,
                    live.log_text)
        yield from _collect(tier, chalice_app, None)
        return
    client, keys = request.getfixturevalue("client"), request.getfixturevalue("keys")
    from chalicelib.db import get_db
    reset_settings(base_settings(outbound_allowlist=("127.0.0.1",)))
    capture = Capture()
    capture.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
    tier = Tier(Api(client.http, keys["admin"]), Api(client.http, keys["operator"]),
                lambda sql: get_db().query(sql), TEST_DATABASE_URL, lambda: "\n".join(capture.lines))
    try:
        yield from _collect(tier, chalice_app, capture)
    finally:
        outbound.close_pools()


def _collect(tier: Tier, chalice_app, capture: Capture | None):
    root = logging.getLogger()
    old_level = root.level
    if capture is not None:
        root.addHandler(capture)
        root.setLevel(logging.INFO)
    admin, operator = tier.admin, tier.operator
    redis = rs.start_server(password=S["redis-password"])
    places: dict[str, str] = {}
    ids: dict[str, list[str]] = {k: [] for k in ("document_id", "endpoint_id", "log_id", "group_id", "pool_id",
                                                 "job_id", "history_id", "template_id", "def_id", "ref_id")}
    try:
        with LoopbackServer(upstream_handler) as upstream:
            # documents of every auth kind, each used once
            for kind, cfg in auth_configs(upstream).items():
                r = operator.post("/api/documents", {"content": SPEC_SCHEMES if kind == "schemes" else SPEC,
                                                     "name": f"planted-{kind}-{RUN}",
                                                     "base_url": upstream.url(""), "auth_config": cfg})
                assert r.status == 201, r.json
                doc_id, ep_id = r.data["document"]["id"], r.data["endpoints"][0]["id"]
                ids["document_id"].append(doc_id)
                ids["endpoint_id"].append(ep_id)
                inv = operator.post(f"/api/endpoints/{ep_id}/invoke", {
                    "query": {"token": S["caller-query-token"], "page": "1"},
                    "headers": {"X-Caller-Secret": S["caller-header"]}})
                assert inv.status == 200, inv.json
                ids["log_id"].append(inv.data["log_id"])
                # the mask sent back keeps the secrets (an audited update)
                shown = operator.get(f"/api/documents/{doc_id}").data["auth_config"]
                assert operator.put(f"/api/documents/{doc_id}", {"auth_config": shown,
                                                                 "description": "rotated"}).status == 200
            seen = json.dumps([{"h": r.headers, "q": r.query, "b": r.body.decode()} for r in upstream.requests])
            for kind in ("apikey-header", "apikey-query", "apikey-cookie", "bearer", "extra-header",
                         "oauth2-issued-token", "caller-query-token", "scheme-apikey", "scheme-bearer"):
                assert S[kind] in seen, f"{kind} never reached the upstream: the test would prove nothing"

        # an async import: the job payload carries an auth config
        r = operator.post("/api/documents", {"content": SPEC, "name": f"planted-job-{RUN}", "async": True,
                                             "base_url": "https://api.example.com",
                                             "auth_config": {"type": "http", "scheme": "bearer",
                                                             "token": S["job-auth"]}})
        assert r.status == 202, r.json
        ids["job_id"].append(wait_for_job(admin, r.data["id"])["id"])
        r = operator.post("/api/templates/import-url",
                          {"url": f"http://10.1.2.3/spec.yaml?token={S['job-url-token']}", "async": True})
        assert r.status == 202, r.json
        ids["job_id"].append(wait_for_job(admin, r.data["id"])["id"])

        # a connection pool (admin only)
        r = admin.post("/api/connection-pools", {
            "display_text": f"planted-{RUN}", "db_type": "postgresql", "host": "127.0.0.1", "port": 1,
            "username": "planted", "password": S["pool-password"], "database": "planted",
            "connection_string": f"postgresql://planted:{S['pool-connection-string']}@127.0.0.1:1/planted"})
        assert r.status == 201, r.json
        ids["pool_id"].append(r.data["id"])
        admin.post(f"/api/connection-pools/{r.data['id']}/test")  # fails to connect: its answer is searched too

        # config groups: Redis (used by a comparison) and Cassandra
        side = {"nodes": [{"host": "127.0.0.1", "port": redis.port}], "password": S["redis-password"],
                "socket_timeout": 2, "socket_connect_timeout": 1}
        r = operator.post("/api/config-groups", {"name": f"planted-redis-{RUN}", "cluster1_config": side,
                                                 "cluster2_config": side})
        assert r.status == 201, r.json
        ids["group_id"].append(r.data["id"])
        redis.client().set("planted:key", "v")
        c = operator.post("/api/redis/compare", {"config_group_id": r.data["id"], "keys": ["planted:key"]})
        assert c.status == 200, c.json
        if c.data.get("history_id"):
            ids["history_id"].append(c.data["history_id"])
        wrong = dict(side, password=S["redis-password"] + "-wrong")
        operator.post("/api/redis/compare", {"cluster1_config": wrong, "cluster2_config": side,
                                             "query_mode": "specified", "keys": ["planted:key"]})
        r = operator.post("/api/config-groups", {
            "name": f"planted-cass-{RUN}",
            "pro_config": {"cluster_name": "p", "hosts": ["127.0.0.1"], "port": 1, "username": "cassandra",
                           "password": S["cassandra-password"], "keyspace": "ks", "table": "t"},
            "test_config": {"cluster_name": "t", "hosts": ["127.0.0.1"], "port": 1,
                            "password": S["cassandra-password"], "keyspace": "ks", "table": "t"},
            "query_config": {"keys": ["id"]}})
        assert r.status == 201, r.json
        ids["group_id"].append(r.data["id"])

        # every read route, as the admin (who sees the most)
        for path, methods in sorted(chalice_app.routes.items()):
            if "GET" not in methods or not path.startswith("/api/") or path.startswith("/api/dynamic-api/invoke"):
                continue
            for url in fill(path, ids):
                sep = "&" if "?" in url else "?"
                listing = "{" not in path
                resp = admin.get(url + (f"{sep}limit=500" if listing and url not in (
                    "/api/openapi.json", "/api/dynamic-api/openapi.json", "/api/health", "/api/whoami",
                    "/api/default-config", "/api/references/stats") else ""))
                places[f"GET {url}"] = resp.body.decode("utf-8", "replace")

        # every log table, and the whole database
        for t in tier.query("SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' "
                            "AND (table_name LIKE '%log%' OR table_name LIKE '%history%' OR table_name = 'jobs')"):
            rows = tier.query(f'SELECT row_to_json(x)::text AS j FROM "{t["table_name"]}" x')
            places[f"table {t['table_name']}"] = "\n".join(r["j"] for r in rows)
        dump = subprocess.run(["pg_dump", "--no-owner", "--no-privileges", tier.database_url],
                              capture_output=True, text=True, timeout=120)
        assert dump.returncode == 0, dump.stderr
        places["pg_dump"] = dump.stdout
    finally:
        redis.stop()
        if capture is not None:
            root.removeHandler(capture)
            root.setLevel(old_level)
    places["server log"] = tier.log_text()
    yield places



def forms(kind: str) -> list[str]:
    """The clear text of a secret and the encodings that are as good as clear."""
    out = [S[kind]]
    if kind == "basic":
        out.append(base64.b64encode(f"svc:{S[kind]}".encode()).decode())
    return out


def hits(evidence: dict[str, str], kind: str) -> list[str]:
    return [place for place, text in evidence.items() for f in forms(kind) if f in text]


def test_the_search_covers_the_dump_every_read_route_log_tables_and_the_server_log(evidence):
    assert "pg_dump" in evidence and evidence["server log"]
    assert {"table api_call_logs", "table api_audit_logs", "table jobs", "table query_logs"} <= set(evidence)
    for route in ("/api/documents/", "/api/call-logs/", "/api/jobs/", "/api/config-groups/",
                  "/api/connection-pools/", "/api/audit-logs", "/api/query-history"):
        assert any(place.startswith("GET " + route) for place in evidence), route
    # the secrets were really stored: sealed rows exist for them in the dump
    assert evidence["pg_dump"].count('"_enc"') >= 8


@pytest.mark.parametrize("kind", KINDS)
def test_a_planted_secret_appears_nowhere_in_clear(evidence, kind):
    assert hits(evidence, kind) == []
