"""Dynamic API overhead: a paged API over a 100,000-row PostgreSQL table.

In one run, interleaved call by call:
  app     the published API invoked through the Chalice app in-process (the
          Lambda handler with an API Gateway proxy event: routing, middleware,
          key-less public access, parameter conversion, template render from
          the compiled-template cache, connection from the pool, count + page
          queries, result shaping, JSON, invocation log + stats write);
  direct  the same two bound statements (count and page) run through pg8000
          on one open connection.
Prints p50/p90 of both, the p50 overhead (goal: <= 1 ms with warm caches)
and invocations per second through the app.
"""
from __future__ import annotations

import json
import os
import statistics
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

ROWS = 100_000
WARMUP = 300
CALLS = 3000
TEMPLATE = ("SELECT id, name, category, amount, created_at FROM items WHERE category = {{ category }}"
            "{% if min_amount %} AND amount >= {{ min_amount }}{% endif %}")


def _event(path: str, query: dict) -> dict:
    return {
        "resource": "/api/dynamic-api/invoke/{name}", "path": path, "httpMethod": "GET",
        "headers": {"Host": "bench.local", "Accept": "application/json"},
        "multiValueHeaders": {"Host": ["bench.local"], "Accept": ["application/json"]},
        "queryStringParameters": query, "multiValueQueryStringParameters": {k: [v] for k, v in query.items()},
        "pathParameters": {"name": path.rsplit("/", 1)[1]}, "stageVariables": None,
        "requestContext": {"resourcePath": "/api/dynamic-api/invoke/{name}", "httpMethod": "GET",
                           "requestId": str(uuid.uuid4()), "stage": "api",
                           "identity": {"sourceIp": "127.0.0.1"}},
        "body": None, "isBase64Encoded": False,
    }


def _pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def main() -> None:
    import pg8000.native

    from chalicelib.db import Database, quote_ident, set_db
    from chalicelib.db.migrate import migrate
    from chalicelib.secrets import generate_key, set_box
    from chalicelib.settings import Settings, reset_settings

    admin_url = os.environ.get("TEST_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    base = admin_url.split("?")[0].rsplit("/", 1)[0]
    suffix = uuid.uuid4().hex[:8]
    app_db_name, target_name = f"bench_dynapi_app_{suffix}", f"bench_dynapi_target_{suffix}"
    admin = Database(admin_url, statement_timeout_ms=120_000)
    for name in (app_db_name, target_name):
        admin.execute(f"CREATE DATABASE {quote_ident(name)}")
    db = None
    try:
        db = Database(f"{base}/{app_db_name}")
        migrate(db)
        set_db(db)
        reset_settings(Settings(database_url=f"{base}/{app_db_name}", secret_keys=(generate_key(),), stage="bench"))
        set_box(None)

        from chalicelib.db.database import parse_database_url
        tp = parse_database_url(f"{base}/{target_name}")
        target = pg8000.native.Connection(**tp)
        target.run("CREATE TABLE items (id integer PRIMARY KEY, name text NOT NULL, category text NOT NULL, "
                   "amount numeric(12,2) NOT NULL, created_at timestamptz NOT NULL)")
        target.run("INSERT INTO items SELECT g, 'item ' || g, 'cat' || (g % 100), (g % 1000) / 10.0, "
                   "TIMESTAMPTZ '2026-01-01' + g * INTERVAL '1 minute' FROM generate_series(1, :n) g", n=ROWS)
        target.run("CREATE INDEX idx_items_category ON items (category, id)")
        target.run("ANALYZE items")

        from chalicelib.dynamic_api import executor, service, store
        from chalicelib.dynamic_api.drivers import _PG_RESET
        pool = service.create_pool({"display_text": "bench", "db_type": "postgresql", "host": tp["host"],
                                    "port": tp["port"], "username": tp["user"], "password": tp.get("password"),
                                    "database": tp["database"], "pool_size": 2, "max_concurrency": 10})
        d = service.create_definition({
            "name": "bench-items", "connection_pool_id": pool["id"], "template_engine": "liquid",
            "script_template": TEMPLATE, "is_paging": True, "is_sorting": True,
            "sortable_columns": ["id", "amount", "created_at"], "default_sorting": "id", "max_page_size": 100,
            "parameters": [{"name": "category", "required": True},
                           {"name": "min_amount", "data_type": "number"}]}, principal=None)
        service.publish(d["id"], [], principal=None)

        import app as app_module
        handler = app_module.app
        query = {"category": "cat42", "min_amount": "10", "skipCount": "20", "maxResultCount": "10",
                 "sorting": "amount desc, id"}
        path = "/api/dynamic-api/invoke/bench-items"

        # the same bound statements the app runs, for the direct baseline
        loaded = store.load_published("bench-items")
        rendered, page, order, _ = executor.render(loaded, query)
        from chalicelib.dynamic_api import paging
        count_stmt = paging.count_statement(rendered)
        page_stmt = paging.page_statement(rendered, order, page)

        def via_app():
            resp = handler(_event(path, query), None)
            if resp["statusCode"] != 200:
                raise RuntimeError(resp["body"])
            return resp

        def direct():
            total = target.execute_unnamed(count_stmt.sql, count_stmt.params).rows[0][0]
            rows = target.execute_unnamed(page_stmt.sql, page_stmt.params).rows
            return total, rows

        def direct_clean():
            """The same statements with the session rules every invocation follows:
            read-only transaction, timeout per transaction, rollback, session reset."""
            target.run("BEGIN READ ONLY; SET LOCAL statement_timeout = 10000")
            total = target.execute_unnamed(count_stmt.sql, count_stmt.params).rows[0][0]
            target.run("SET LOCAL statement_timeout = 10000")
            rows = target.execute_unnamed(page_stmt.sql, page_stmt.params).rows
            target.run("ROLLBACK; " + _PG_RESET)
            return total, rows

        body = json.loads(via_app()["body"])
        total, rows = direct()
        assert body["totalCount"] == total and len(body["items"]) == len(rows) == 10, (body, total)

        for _ in range(WARMUP):
            via_app()
            direct()
            direct_clean()
        t_app, t_direct, t_clean = [], [], []
        started = time.perf_counter()
        app_total = 0.0
        for _ in range(CALLS):
            t0 = time.perf_counter()
            via_app()
            t1 = time.perf_counter()
            direct()
            t2 = time.perf_counter()
            direct_clean()
            t3 = time.perf_counter()
            t_app.append((t1 - t0) * 1000)
            t_direct.append((t2 - t1) * 1000)
            t_clean.append((t3 - t2) * 1000)
            app_total += t1 - t0
        wall = time.perf_counter() - started

        p50_app, p50_direct = statistics.median(t_app), statistics.median(t_direct)
        overhead = p50_app - p50_direct
        print(f"table rows                 : {ROWS:,} (PostgreSQL), page 10 of {total} matching, sorted")
        print(f"calls (interleaved)        : {CALLS} after {WARMUP} warm-up")
        print(f"app    p50 / p90           : {p50_app:.3f} ms / {_pct(t_app, 90):.3f} ms")
        print(f"direct p50 / p90           : {p50_direct:.3f} ms / {_pct(t_direct, 90):.3f} ms  (count + page, pg8000)")
        verdict = "OK" if overhead <= 1.0 else "OVER"
        print(f"overhead at p50            : {overhead:.3f} ms  (goal <= 1 ms) -> {verdict}")
        print(f"ratio app/direct at p50    : {p50_app / p50_direct:.2f}x")
        p50_clean = statistics.median(t_clean)
        print(f"direct, clean session p50  : {p50_clean:.3f} ms  (BEGIN READ ONLY + SET LOCAL, ROLLBACK + reset)")
        print(f"session rules cost at p50  : {p50_clean - p50_direct:.3f} ms; app over clean direct: "
              f"{p50_app - p50_clean:.3f} ms, ratio {p50_app / p50_clean:.2f}x")
        print(f"invocations/s through app  : {CALLS / app_total:,.0f} (single thread; wall {wall:.1f}s incl. direct)")
        logged = db.scalar("SELECT count(*) FROM dynamic_api_invocation_logs")
        print(f"invocation log rows written: {logged:,}")

        # where the overhead goes (no I/O): input conversion + render from cache + binding
        n = 5000
        t0 = time.perf_counter()
        for _ in range(n):
            r, pg, od, _ = executor.render(loaded, query)
            paging.count_statement(r)
            paging.page_statement(r, od, pg)
        print(f"render+bind (cached)       : {(time.perf_counter() - t0) / n * 1e6:.1f} us per call")
        target.close()
    finally:
        from chalicelib.dynamic_api.connections import manager
        manager.close_all()
        if db is not None:
            db.close()
        set_db(None)
        for name in (app_db_name, target_name):
            admin.execute(f"DROP DATABASE IF EXISTS {quote_ident(name)} WITH (FORCE)")
        admin.close()


if __name__ == "__main__":
    main()
