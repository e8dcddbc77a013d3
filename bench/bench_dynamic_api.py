"""Dynamic API overhead (`make bench BENCH=dynamic_api`) over a 100,000-row
PostgreSQL table, two published APIs, in one run, interleaved call by call
(in two passes, below):

  get    a single-row GET (`... WHERE id = {{ id }}`, the entity answered);
  paged  a paged, sorted query with its count (`totalCount` + 10 items).

For each:
  in-process  the published API through the Chalice app (the Lambda handler
              with an API Gateway proxy event: routing, middleware, key-less
              public access, parameter conversion, template render, pooled
              connection, the clean-session rules, result shaping, JSON, the
              invocation log + stats write);
  HTTP        the same request through the real local server (`make run`,
              tests/live.py) on a keep-alive connection;
  direct      the same bound statements through pg8000 on one open
              connection (`execute_unnamed`, what pg8000 offers: three
              round trips a statement; the goal's baseline), and the same
              with one round trip a statement (chalicelib.db.wire.run_bound,
              the driver's best), and
  direct+     the same with the session rules every invocation follows
              (BEGIN READ ONLY + SET LOCAL, ROLLBACK + reset).

Two interleaved passes per API: in-process with the direct calls (the
overhead), then in-process with the HTTP calls (HTTP over in-process). One
pass with all of them let the local server's work after each answer (its
invocation-log write and session reset, run by PostgreSQL once the answer
has left) land on the next in-process call on this 2-core machine: ~0.2-0.5
ms added to the in-process figure, none of it the in-process call's own.

Prints p50/p95, the p50 overhead in-process over direct (goals: get <= 0.5
ms, paged <= 1.0 ms), HTTP over in-process (goal <= 1 ms), and where an
in-process call's time goes (chalicelib.spans: definition load, auth,
inputs, render, connection take/give-back incl. the session reset, the SQL
transaction, log write; the rest is the framework).

Own databases (bench/scratch.py): the app's and the target's.
"""
from __future__ import annotations

import http.client
import json
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

ROWS = 100_000
WARMUP = 200
CALLS = 1500
BREAKDOWN_CALLS = 500
PAGED = ("SELECT id, name, category, amount, created_at FROM items WHERE category = {{ category }}"
         "{% if min_amount %} AND amount >= {{ min_amount }}{% endif %}")
SINGLE = "SELECT id, name, category, amount, created_at FROM items WHERE id = {{ id }}"
PARTS = [("definition", None), ("auth", None), ("inputs", None), ("render", None), ("connection", None),
         ("sql", None), ("log write", None)]


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


def main() -> None:
    from bench.scratch import scratch_database
    with scratch_database("dynapi_app") as (app_url, _), scratch_database("dynapi_target") as (target_url, _):
        _run(app_url, target_url)


def _run(app_url: str, target_url: str) -> None:
    import pg8000.native

    from bench.timing import breakdown, discarding_sink, interleave, line, p50
    from chalicelib import observability
    from chalicelib.db import Database, set_db
    from chalicelib.db.migrate import migrate
    from chalicelib.db.urls import parse_database_url
    from chalicelib.secrets import generate_key, set_box
    from chalicelib.settings import Settings, reset_settings
    from tests.live import start_live_server, stop_live_server

    secret = generate_key()
    server = db = target = None
    try:
        server = start_live_server(app_url, secret)
        reset_settings(Settings(database_url=app_url, secret_keys=(secret,), stage="bench"))
        set_box(None)
        observability.set_sink(discarding_sink())   # the log lines, written, not shown
        db = Database(app_url)
        migrate(db)
        set_db(db)

        tp = parse_database_url(target_url)
        target = pg8000.native.Connection(**tp)
        target.run("CREATE TABLE items (id integer PRIMARY KEY, name text NOT NULL, category text NOT NULL, "
                   "amount numeric(12,2) NOT NULL, created_at timestamptz NOT NULL)")
        target.run("INSERT INTO items SELECT g, 'item ' || g, 'cat' || (g % 100), (g % 1000) / 10.0, "
                   "TIMESTAMPTZ '2026-01-01' + g * INTERVAL '1 minute' FROM generate_series(1, :n) g", n=ROWS)
        target.run("CREATE INDEX idx_items_category ON items (category, id)")
        target.run("ANALYZE items")

        from chalicelib.db.wire import run_bound
        from chalicelib.dynamic_api import executor, paging, service, store
        from chalicelib.dynamic_api.drivers import _PG_RESET
        pool = service.create_pool({"display_text": "bench", "db_type": "postgresql", "host": tp["host"],
                                    "port": tp["port"], "username": tp["user"], "password": tp.get("password"),
                                    "database": tp["database"], "pool_size": 2, "max_concurrency": 10})
        paged = service.create_definition({
            "name": "bench-items", "connection_pool_id": pool["id"], "template_engine": "liquid",
            "script_template": PAGED, "is_paging": True, "is_sorting": True,
            "sortable_columns": ["id", "amount", "created_at"], "default_sorting": "id", "max_page_size": 100,
            "parameters": [{"name": "category", "required": True},
                           {"name": "min_amount", "data_type": "number"}]}, principal=None)
        service.publish(paged["id"], [], principal=None)
        single = service.create_definition({
            "name": "bench-item", "connection_pool_id": pool["id"], "template_engine": "liquid",
            "script_template": SINGLE, "is_multiple_result": False,
            "parameters": [{"name": "id", "required": True, "data_type": "integer"}]}, principal=None)
        service.publish(single["id"], [], principal=None)

        import app as app_module
        handler = app_module.app
        conn = http.client.HTTPConnection("127.0.0.1", server.port)
        cases = [("get", "bench-item", {"id": "4242"}, 0.5),
                 ("paged", "bench-items", {"category": "cat42", "min_amount": "10", "skipCount": "20",
                                           "maxResultCount": "10", "sorting": "amount desc, id"}, 1.0)]
        for label, name, query, goal in cases:
            path = f"/api/dynamic-api/invoke/{name}"
            loaded = store.load_published(name)
            rendered, page, order, _ = executor.render(loaded, query)
            stmts = ([paging.count_statement(rendered), paging.page_statement(rendered, order, page)]
                     if page is not None else [rendered.statement()])

            def in_process(path=path, query=query):
                resp = handler(_event(path, query), None)
                if resp["statusCode"] != 200:
                    raise RuntimeError(resp["body"])
                return resp

            def over_http(path=path, query=query):
                conn.request("GET", path + "?" + urlencode(query))
                r = conn.getresponse()
                data = r.read()
                if r.status != 200:
                    raise RuntimeError(data[:300])

            def direct(stmts=stmts):
                return [target.execute_unnamed(s.sql, s.params).rows for s in stmts]

            def direct_rt1(stmts=stmts):
                return [run_bound(target, s.sql, s.params).rows for s in stmts]

            def direct_clean(stmts=stmts):
                target.run("BEGIN READ ONLY; SET LOCAL statement_timeout = 10000")
                out = []
                for i, s in enumerate(stmts):
                    if i:
                        target.run("SET LOCAL statement_timeout = 10000")
                    out.append(target.execute_unnamed(s.sql, s.params).rows)
                target.run("ROLLBACK; " + _PG_RESET)
                return out

            body = json.loads(in_process()["body"])
            rows = direct()
            if page is not None:
                assert body["totalCount"] == rows[0][0][0] and len(body["items"]) == len(rows[1]) == 10, body
            else:
                assert body["id"] == rows[0][0][0], body
            for _ in range(WARMUP):
                in_process()
                over_http()
                direct()
                direct_clean()
            # Two passes (see the module doc): in-process against the direct calls, then
            # in-process against the HTTP server.
            got = interleave({"in": in_process, "direct": direct, "rt1": direct_rt1, "clean": direct_clean}, CALLS)
            beside = interleave({"in": in_process, "http": over_http}, CALLS)
            a, d, c, d1 = got["in"], got["direct"], got["clean"], got["rt1"]
            h, a2 = beside["http"], beside["in"]
            print(f"\n[{label}] GET {path}?{urlencode(query)}  (n={CALLS} each, interleaved; {ROWS:,} rows)")
            print(line("in-process (app)", a))
            print(line("through the HTTP server", h))
            print(line("in-process, beside the HTTP calls", a2))
            print(line(f"direct pg8000 ({len(stmts)} statement(s))", d))
            print(line("direct, one round trip a statement", d1))
            print(line("direct + session rules", c))
            over = p50(a) - p50(d)
            print(f"p50 overhead in-process over direct : {over:6.3f} ms (goal <= {goal} ms) "
                  f"-> {'OK' if over <= goal else 'OVER'}   ratio {p50(a) / p50(d):.2f}x")
            print(f"p50 in-process over direct + rules  : {p50(a) - p50(c):6.3f} ms")
            print(f"p50 in-process over direct, 1 trip  : {p50(a) - p50(d1):6.3f} ms (the driver's best)")
            over_http_ms = p50(h) - p50(a2)
            print(f"p50 HTTP server over in-process     : {over_http_ms:6.3f} ms (goal <= 1 ms) "
                  f"-> {'OK' if over_http_ms <= 1.0 else 'OVER'}")
            for text in breakdown(in_process, BREAKDOWN_CALLS, PARTS, direct_ms=p50(d)):
                print(text)
        logged = db.scalar("SELECT count(*) FROM dynamic_api_invocation_logs")
        print(f"\ninvocation log rows written: {logged:,}")
        n = 5000
        loaded = store.load_published("bench-items")
        query = cases[1][2]
        t0 = time.perf_counter()
        for _ in range(n):
            r, pg, od, _ = executor.render(loaded, query)
            paging.count_statement(r)
            paging.page_statement(r, od, pg)
        print(f"render+bind (cached), paged        : {(time.perf_counter() - t0) / n * 1e6:.1f} us per call")
        conn.close()
    finally:
        observability.set_sink(None)
        from chalicelib.dynamic_api.connections import manager
        manager.close_all()
        if target is not None:
            target.close()
        if server is not None:
            stop_live_server(server.process)
        set_db(None)
        if db is not None:
            db.close()


if __name__ == "__main__":
    main()
