"""Spec import cost versus bare parsing (goal: import within GOAL_TIME x bare parsing).

For each large spec: the bare parse time of the bytes (PyYAML CSafeLoader /
json, the specs/README floor) against
  * `app`: POST /api/documents through the app in-process (chalice test
    client: auth, JSON body, parsing, conversion, extraction, reference check,
    document + endpoints + audit rows written and committed), and
  * `service`: catalog.service.import_document (the same without HTTP).
Best of N runs each; goal app/parse <= 2.5x for OpenAI, Twilio, PagerDuty,
Docker.

Memory (OpenAI): peak traced Python memory (tracemalloc) and peak RSS growth
(ru_maxrss minus the RSS after imports), each in a fresh subprocess, for
`parse` (bytes -> dict) and for `import` (service.import_document with the DB
writes). Goal import/parse <= 4x.

Floor ratio, every spec in STEPFLOW_SPECS (../shared/specs):
service.import_document divided by its floor = bare parse + ONE transaction
that inserts the same text (and the parsed document as jsonb) into a copy of
api_documents and the same endpoint rows (read back from a real import, as
one JSON parameter) into a copy of api_endpoints. Best of N each,
interleaved. Goal <= FLOOR_GOAL (1.5x) for every spec, small ones included.

Own database (created and dropped).
"""
from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SPECS = Path(os.environ.get("STEPFLOW_SPECS", ROOT.parent / "shared" / "specs"))
CASES = [  # file, runs, base_url (when the spec has none)
    ("openai.yaml", 3, None),
    ("twilio_api_v2010.yaml", 4, None),
    ("pagerduty_rest.json", 15, None),
    ("docker_engine_swagger2.yaml", 8, "http://docker.example.com/v1.56"),
]
GOAL_TIME = 2.5
FLOOR_GOAL = 1.5
BASE_URL = "http://spec.example.com/v1"
GOAL_MEMORY = 4.0


def bare_parse(data: bytes, name: str):
    if name.endswith(".json"):
        return json.loads(data)
    import yaml
    return yaml.load(data, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def best_of(fn, runs: int) -> float:
    best = float("inf")
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def _admin_url() -> str:
    return os.environ.get("TEST_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def _db_url(name: str) -> str:
    admin = _admin_url()
    url = admin.split("?")[0].rsplit("/", 1)[0] + "/" + name
    return url + ("?" + admin.split("?", 1)[1] if "?" in admin else "")


def _setup(db_url: str):
    from chalicelib.db import Database, set_db
    from chalicelib.secrets import generate_key, set_box
    from chalicelib.settings import Settings, reset_settings
    reset_settings(Settings(database_url=db_url, secret_keys=(generate_key(),), stage="bench",
                            max_sync_body_bytes=8 * 1024 * 1024))
    set_box(None)
    db = Database(db_url)
    set_db(db)
    return db


# ---- memory, one measurement per fresh process ------------------------------------------------------

def _rss_kb() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * (os.sysconf("SC_PAGE_SIZE") // 1024)


def _memory_child(mode: str, name: str, db_url: str) -> None:
    import tracemalloc

    import yaml  # noqa: F401 - loaded before measuring: imports are not part of the figure

    from chalicelib.catalog import service  # noqa: F401 - loaded before measuring, as above
    db = _setup(db_url)
    db.scalar("SELECT 1")
    data = (SPECS / name).read_bytes()
    base_rss = _rss_kb()
    tracemalloc.start()
    if mode == "parse":
        doc = bare_parse(data, name)
        del doc
    else:
        from chalicelib.catalog import service
        out = service.import_document(db, content=data, name=f"mem-{uuid.uuid4().hex[:8]}")
        del out
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss_growth = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base_rss
    print(json.dumps({"traced_peak": peak, "rss_growth_kb": max(rss_growth, 0)}))


def _memory(mode: str, name: str, db_url: str) -> dict:
    out = subprocess.run([sys.executable, "-m", "bench.bench_catalog", "--memory", mode, name, db_url],
                         cwd=ROOT, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


# ---- import over its floor (bare parse + one bulk insert), every spec --------------------------------

_EP_COLS = ("path", "method", "operation_id", "summary", "description", "tags", "parameters",
            "request_body_schema", "response_schemas", "auth_required", "security", "is_deprecated", "status")


def floor_ratios(db) -> float:
    from chalicelib.catalog import service
    db.execute("CREATE TABLE IF NOT EXISTS floor_docs (LIKE api_documents INCLUDING DEFAULTS INCLUDING INDEXES)")
    db.execute("CREATE TABLE IF NOT EXISTS floor_eps (LIKE api_endpoints INCLUDING DEFAULTS INCLUDING INDEXES)")
    files = sorted(p for p in SPECS.iterdir() if p.suffix in (".yaml", ".yml", ".json"))
    print(f"{'spec':<30}{'KiB':>7}{'ops':>6}{'floor ms':>10}{'import ms':>11}{'ratio':>8}  goal <= {FLOOR_GOAL}x")
    worst = 0.0
    for path in files:
        data = path.read_bytes()
        base_url = BASE_URL
        probe = service.import_document(db, content=data, name=f"probe-{uuid.uuid4().hex[:8]}", base_url=base_url)
        doc_id = str(probe["document"]["id"])
        rows = db.scalar("SELECT COALESCE(jsonb_agg(to_jsonb(e) - 'id' - 'api_document_id'), '[]'::jsonb)::text "
                         "FROM (SELECT " + ", ".join(_EP_COLS) + " FROM api_endpoints "
                         "WHERE api_document_id = CAST(:id AS uuid)) e", id=doc_id)
        ops = len(probe["endpoints"])
        service.delete_document(db, doc_id)
        text = data.decode("utf-8")

        def floor(data=data, path=path, text=text, rows=rows):
            parsed = bare_parse(data, path.name)
            with db.transaction():
                fid = db.scalar("INSERT INTO floor_docs (name, version, content_type, original_content, parsed_spec, "
                                "base_url) VALUES (:n, '1', 'yaml', :t, CAST(:p AS jsonb), :b) RETURNING id",
                                n=f"floor-{uuid.uuid4().hex[:8]}", t=text, p=json.dumps(parsed, default=str),
                                b=BASE_URL)
                db.execute("INSERT INTO floor_eps (api_document_id, " + ", ".join(_EP_COLS) + ") "
                           "SELECT CAST(:d AS uuid), " + ", ".join(f"r.{c}" for c in _EP_COLS) +
                           " FROM jsonb_populate_recordset(NULL::floor_eps, CAST(:rows AS jsonb)) r",
                           d=str(fid), rows=rows)

        runs = 3 if len(data) > 1_000_000 else 5 if len(data) > 100_000 else 15
        t_floor = t_import = float("inf")
        for _ in range(runs):
            t0 = time.perf_counter()
            floor()
            t_floor = min(t_floor, time.perf_counter() - t0)
            t0 = time.perf_counter()
            out = service.import_document(db, content=data, name=f"imp-{uuid.uuid4().hex[:8]}", base_url=base_url)
            t_import = min(t_import, time.perf_counter() - t0)
            service.delete_document(db, str(out["document"]["id"]))
        ratio = t_import / t_floor
        worst = max(worst, ratio)
        print(f"{path.name:<30}{len(data) / 1024:>7.0f}{ops:>6}{t_floor * 1000:>10.1f}{t_import * 1000:>11.1f}"
              f"{ratio:>7.2f}x  {'ok' if ratio <= FLOOR_GOAL else 'OVER'}")
    db.execute("DROP TABLE floor_docs")
    db.execute("DROP TABLE floor_eps")
    print(f"worst import/floor ratio: {worst:.2f}x (goal <= {FLOOR_GOAL}x)")
    return worst


# ---- main -----------------------------------------------------------------------------------------------

def main() -> None:
    from chalicelib.db import Database, quote_ident, set_db
    from chalicelib.db.migrate import migrate
    from chalicelib.keys.service import create_key
    from chalicelib.web.local import ApiTestClient

    name = f"stepflow_bench_catalog_{uuid.uuid4().hex[:8]}"
    admin = Database(_admin_url())
    admin.execute(f"CREATE DATABASE {quote_ident(name)}")
    db_url = _db_url(name)
    try:
        db = _setup(db_url)
        migrate(db)
        key = create_key("admin", name="bench", db=db)["key"]
        import app as app_module
        from chalicelib.catalog import service
        http = ApiTestClient(app_module.app, project_dir=str(ROOT)).http
        headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
        floor_ratios(db)
        if os.environ.get("BENCH_CATALOG_FLOOR_ONLY"):
            return

        print("times are best-of-N seconds; app-json = POST /api/documents {content: ...}, "
              "app-raw = the spec itself as the body")
        print(f"{'spec':<30}{'ops':>5}{'parse s':>9}{'service s':>11}{'app-json s':>12}{'app-raw s':>11}"
              f"{'svc/parse':>11}{'json/parse':>12}{'raw/parse':>11}  goal <= {GOAL_TIME}x")
        worst = 0.0
        for file, runs, base_url in CASES:
            data = (SPECS / file).read_bytes()
            text = data.decode("utf-8")
            t_parse = float("inf")
            ops = 0

            def via_app(text=text, base_url=base_url):
                body = json.dumps({"content": text, "name": f"app-{uuid.uuid4().hex[:8]}",
                                   **({"base_url": base_url} if base_url else {})})
                r = http.request("POST", "/api/documents", headers=headers, body=body.encode())
                assert r.status_code == 201, r.body[:500]
                return json.loads(r.body)["data"]["document"]["id"]

            def via_app_raw(file=file, data=data, base_url=base_url):
                query = f"?name=raw-{uuid.uuid4().hex[:8]}" + (f"&base_url={base_url}" if base_url else "")
                ctype = "application/json" if file.endswith(".json") else "application/yaml"
                r = http.request("POST", "/api/documents" + query, body=data,
                                 headers={**headers, "Content-Type": ctype})
                assert r.status_code == 201, r.body[:500]
                return json.loads(r.body)["data"]["document"]["id"]

            t_service = float("inf")
            t_app = float("inf")
            t_raw = float("inf")
            for _ in range(runs):  # interleaved, best of each: a busy machine hurts all alike
                t_parse = min(t_parse, best_of(lambda data=data, file=file: bare_parse(data, file), 1))
                t0 = time.perf_counter()
                out = service.import_document(db, content=data, name=f"svc-{uuid.uuid4().hex[:8]}",
                                              base_url=base_url)
                t_service = min(t_service, time.perf_counter() - t0)
                ops = len(out["endpoints"])
                service.delete_document(db, out["document"]["id"])
                t0 = time.perf_counter()
                doc_id = via_app()
                t_app = min(t_app, time.perf_counter() - t0)
                service.delete_document(db, doc_id)
                t0 = time.perf_counter()
                doc_id = via_app_raw()
                t_raw = min(t_raw, time.perf_counter() - t0)
                service.delete_document(db, doc_id)
            best_app = min(t_app, t_raw)
            worst = max(worst, best_app / t_parse)
            print(f"{file:<30}{ops:>5}{t_parse:>9.3f}{t_service:>11.3f}{t_app:>12.3f}{t_raw:>11.3f}"
                  f"{t_service / t_parse:>10.2f}x{t_app / t_parse:>11.2f}x{t_raw / t_parse:>10.2f}x"
                  f"  {'ok' if best_app / t_parse <= GOAL_TIME else 'OVER'}")
        print(f"worst app/parse ratio (better of json/raw): {worst:.2f}x (goal <= {GOAL_TIME}x)")

        parse_mem = _memory("parse", "openai.yaml", db_url)
        import_mem = _memory("import", "openai.yaml", db_url)
        tr = import_mem["traced_peak"] / parse_mem["traced_peak"]
        rss = import_mem["rss_growth_kb"] / max(parse_mem["rss_growth_kb"], 1)
        print(f"openai.yaml peak memory: parse {parse_mem['traced_peak'] / 2**20:.1f} MiB traced / "
              f"{parse_mem['rss_growth_kb'] / 1024:.1f} MiB RSS growth; import {import_mem['traced_peak'] / 2**20:.1f}"
              f" MiB traced / {import_mem['rss_growth_kb'] / 1024:.1f} MiB RSS growth")
        print(f"openai.yaml memory ratio import/parse: traced {tr:.2f}x, RSS {rss:.2f}x (goal <= {GOAL_MEMORY}x)")
    finally:
        set_db(None)
        admin.execute(f"DROP DATABASE IF EXISTS {quote_ident(name)} WITH (FORCE)")
        admin.close()


if __name__ == "__main__":
    if len(sys.argv) >= 5 and sys.argv[1] == "--memory":
        _memory_child(sys.argv[2], sys.argv[3], sys.argv[4])
    else:
        main()
