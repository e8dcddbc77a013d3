"""The connection budget holds under load. Jobs: 24 worker processes, each one
simulated Lambda container of a job queue (tests/infra/budget_worker.py:
the app's SQS handler, batch size 1, DB_POOL_MAX=1, settings from the
environment as in Lambda), drain a few hundred jobs from moto SQS into real
PostgreSQL. Containers per queue follow the templates' rule (critical >
default > low), plus the test process submitting jobs as one API container;
the budget is containers x DB_POOL_MAX, the formula
infra/budget.py checks in the templates. A monitor samples pg_stat_activity
for the simulation's own database the whole time: it never exceeds the
budget, and every job completes. API: three `make run` servers
(tests/live.py) with DB_POOL_MAX=2 each take 600 concurrent mixed requests
from 24 client threads; the server processes never hold more than 3 x 2.
"""
from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest

from chalicelib import aws
from chalicelib.db import Database, get_db, quote_ident, set_db
from chalicelib.db.migrate import migrate
from chalicelib.jobs import queue as job_queue
from chalicelib.jobs import submit_job
from chalicelib.settings import reset_settings
from tests.conftest import ADMIN_URL, SECRET_KEY, _db_url, base_settings
from tests.jobs.conftest import AWS_ENV, create_queues, moto_endpoint  # noqa: F401 (fixture)

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "infra"))
import budget  # noqa: E402

from tests.infra import budget_worker  # noqa: E402,F401  (registers the sim.touch job type here too)

CONTAINERS = {"critical": 12, "default": 8, "low": 4}          # 24 processes
JOBS = {"critical": 150, "default": 100, "low": 50}            # 300 trivial jobs
POOL_MAX = budget.POOL_PER_CONTAINER
# The test process submits the jobs as one API container would: it counts too.
SUBMITTERS = 1
BUDGET = (sum(CONTAINERS.values()) + SUBMITTERS) * POOL_MAX
DEADLINE_S = 240


class Monitor(threading.Thread):
    """Samples the number of backends connected to one database until stopped."""

    def __init__(self, database: str):
        super().__init__(daemon=True)
        self.database = database
        self.samples: list[int] = []
        self._done = threading.Event()

    def run(self) -> None:
        admin = Database(ADMIN_URL)
        try:
            while not self._done.is_set():
                self.samples.append(int(admin.scalar(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = :db", db=self.database)))
                self._done.wait(0.01)
        finally:
            admin.close()

    def stop(self) -> None:
        self._done.set()
        self.join(10)


@pytest.fixture
def sim_database():
    name = f"stepflow_sim_{uuid.uuid4().hex[:8]}"
    admin = Database(ADMIN_URL, statement_timeout_ms=60_000)
    admin.execute(f"CREATE DATABASE {quote_ident(name)}")
    db = Database(_db_url(name))
    migrate(db)
    yield name, db
    db.close()
    admin.execute(f"DROP DATABASE IF EXISTS {quote_ident(name)} WITH (FORCE)")
    admin.close()


def test_worker_containers_never_hold_more_connections_than_the_budget_while_draining_every_job(
        moto_endpoint, sim_database, tmp_path):  # noqa: F811
    name, sim_db = sim_database
    url = _db_url(name)
    prefix = f"sim{uuid.uuid4().hex[:8]}-jobs"
    reset_settings(base_settings(aws_endpoint_url=moto_endpoint, queue_name_prefix=prefix))
    aws.reset_clients()
    urls, _ = create_queues(aws.client("sqs"), prefix, visibility_s=60)

    env = {**os.environ, **AWS_ENV, "DATABASE_URL": url, "SECRET_KEYS": SECRET_KEY, "STAGE": "sim",
           "AWS_ENDPOINT_URL": moto_endpoint, "QUEUE_NAME_PREFIX": prefix, "DB_POOL_MAX": str(POOL_MAX),
           "JOB_RETRY_DELAY_S": "0", "QUEUE_URL_CRITICAL": urls["critical"],
           "QUEUE_URL_DEFAULT": urls["default"], "QUEUE_URL_LOW": urls["low"]}
    monitor = Monitor(name)
    monitor.start()
    procs = []
    previous_db = get_db()
    try:
        for priority, count in CONTAINERS.items():
            for i in range(count):
                log = open(tmp_path / f"{priority}-{i}.log", "w")
                procs.append(subprocess.Popen([sys.executable, str(Path(__file__).with_name("budget_worker.py")),
                                               priority], cwd=ROOT, env=env, stdout=log, stderr=log))
        # Submit through the app's own path (job row, then the SQS message) into the simulation's database.
        reset_settings(base_settings(database_url=url, aws_endpoint_url=moto_endpoint, queue_urls=urls,
                                     queue_name_prefix=prefix))
        set_db(sim_db)
        job_queue.set_queue(job_queue.SqsQueue(urls))
        for priority, count in JOBS.items():
            for i in range(count):
                submit_job("sim.touch", {"i": i}, priority)
        deadline = time.monotonic() + DEADLINE_S
        while time.monotonic() < deadline:
            done = sim_db.scalar("SELECT count(*) FROM jobs WHERE status = 'succeeded'")
            if done == sum(JOBS.values()) or any(p.poll() is not None for p in procs):
                break
            time.sleep(0.2)
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
        monitor.stop()
        job_queue.set_queue(None)
        set_db(previous_db)
        aws.reset_clients()

    crashed = [p.args[-1] for p in procs if p.returncode not in (0, -15)]
    assert not crashed, (tmp_path / "critical-0.log").read_text()[-2000:]
    statuses = dict((r["status"], r["n"]) for r in sim_db.query(
        "SELECT status, count(*) AS n FROM jobs GROUP BY status"))
    assert statuses == {"succeeded": sum(JOBS.values())}, statuses
    peak = max(monitor.samples)
    print(f"peak {peak} connections of a budget of {BUDGET}, {len(monitor.samples)} samples")
    assert peak <= BUDGET, f"{peak} connections at peak, budget {BUDGET}"
    # The run did load the database: most containers held their connection at the same time.
    assert peak > BUDGET // 2, monitor.samples[-20:]
    # The monitor's own connection is to another database, so it never counts.
    assert len(monitor.samples) > 10
    by_priority = {r["priority"]: r["n"] for r in sim_db.query(
        "SELECT priority, count(*) AS n FROM jobs WHERE status = 'succeeded' GROUP BY priority")}
    assert by_priority == JOBS


# ------------------------------------------------------------- API servers

SERVERS = 3
SERVER_POOL_MAX = 2           # DB_POOL_MAX of each server process
CLIENT_THREADS = 24
REQUESTS_PER_THREAD = 25


@pytest.fixture
def empty_database():
    name = f"stepflow_simapi_{uuid.uuid4().hex[:8]}"
    admin = Database(ADMIN_URL, statement_timeout_ms=60_000)
    admin.execute(f"CREATE DATABASE {quote_ident(name)}")
    yield name
    admin.execute(f"DROP DATABASE IF EXISTS {quote_ident(name)} WITH (FORCE)")
    admin.close()


def test_api_server_processes_never_hold_more_connections_than_the_budget_under_concurrent_requests(
        empty_database):
    from concurrent.futures import ThreadPoolExecutor

    from tests.live import start_live_server, stop_live_server

    url = _db_url(empty_database)
    servers = []
    monitor = Monitor(empty_database)
    try:
        with ThreadPoolExecutor(SERVERS) as pool:  # they migrate under the migrator's lock
            starting = [pool.submit(start_live_server, url, SECRET_KEY, {"DB_POOL_MAX": str(SERVER_POOL_MAX)})
                        for _ in range(SERVERS)]
            errors = []
            for future in starting:
                try:
                    servers.append(future.result())
                except Exception as exc:  # noqa: BLE001 - the others still get stopped below
                    errors.append(exc)
        assert not errors, errors
        viewer = servers[0].key("viewer")
        monitor.start()

        def client(i: int) -> list[int]:
            server = servers[i % SERVERS]
            codes = []
            for n in range(REQUESTS_PER_THREAD):
                # Reads, writes (a key created) and a refused write, as a mixed API load.
                if n % 5 == 0:
                    codes.append(server.call("POST", "/api/keys", {"role": "viewer", "name": f"sim {i} {n}"})
                                 .status_code)
                elif n % 5 == 1:
                    codes.append(server.call("POST", "/api/keys", {"role": "admin"}, key=viewer).status_code)
                else:
                    codes.append(server.call("GET", "/api/jobs?limit=5", key=viewer).status_code)
            return codes

        with ThreadPoolExecutor(CLIENT_THREADS) as pool:
            codes = [c for result in pool.map(client, range(CLIENT_THREADS)) for c in result]
    finally:
        monitor.stop()
        for server in servers:
            stop_live_server(server.process)

    writes = CLIENT_THREADS * len(range(0, REQUESTS_PER_THREAD, 5))
    refused = CLIENT_THREADS * len(range(1, REQUESTS_PER_THREAD, 5))
    assert codes.count(201) == writes and codes.count(403) == refused
    assert codes.count(200) == len(codes) - writes - refused
    peak, budget_n = max(monitor.samples), SERVERS * SERVER_POOL_MAX
    print(f"API: peak {peak} connections of a budget of {budget_n}, {len(codes)} requests")
    assert peak <= budget_n, f"{peak} connections at peak, budget {budget_n}"
    assert peak > SERVER_POOL_MAX  # more than one server held connections at once
