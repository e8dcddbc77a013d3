"""`make run` without DATABASE_URL uses pgserver's embedded PostgreSQL: every
migration must apply there too (it is a different build from the system
server the rest of the suite uses, e.g. without lz4)."""
from __future__ import annotations

import os
import shutil
import uuid

import pytest

from chalicelib.db import Database
from chalicelib.db.migrate import migrate, migration_files
from tests.conftest import ROOT


@pytest.fixture(scope="module")
def embedded_url():
    pgserver = pytest.importorskip("pgserver", reason="pgserver is a dev dependency in requirements-dev.txt")
    base = ROOT / ".local"
    base.mkdir(exist_ok=True)
    os.chmod(base, 0o755)  # pgserver runs PostgreSQL as its own user when we are root
    pgdata = base / f"pgtest-{uuid.uuid4().hex[:8]}"
    server = pgserver.get_server(str(pgdata), cleanup_mode="delete")
    try:
        yield server.get_uri()
    finally:
        server.cleanup()
        shutil.rmtree(pgdata, ignore_errors=True)


def test_every_migration_applies_on_the_embedded_postgres(embedded_url):
    db = Database(embedded_url)
    try:
        result = migrate(db)
        assert result["applied"] == [p.name for p in migration_files()]
        assert migrate(db)["applied"] == []
        assert db.scalar("SELECT count(*) FROM api_keys") == 0
    finally:
        db.close()
