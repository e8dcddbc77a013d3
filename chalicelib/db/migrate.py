"""Apply `migrations/NNN_*.sql` exactly once each, in name order.

A PostgreSQL advisory lock serialises concurrent migrators (two cold starts,
`make run` beside the tests); each file runs in its own transaction together
with its `schema_migrations` row, so a failing file leaves nothing behind.
"""
from __future__ import annotations

import re
from pathlib import Path

from chalicelib.db.database import Database

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
_NAME = re.compile(r"^\d{3}_[a-z0-9_]+\.sql$")
LOCK_KEY = 0x5EF10 + 1  # any constant shared by every migrator


def migration_files(directory: Path = MIGRATIONS_DIR) -> list[Path]:
    files = sorted(p for p in directory.iterdir() if p.suffix == ".sql")
    bad = [p.name for p in files if not _NAME.match(p.name)]
    if bad:
        raise RuntimeError(f"migration file names must look like 001_name.sql: {bad}")
    return files


def _tables(db: Database) -> set[str]:
    rows = db.query(
        "SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p', 'v') AND NOT c.relispartition")
    return {r["name"] for r in rows}


def migrate(db: Database, directory: Path = MIGRATIONS_DIR) -> dict:
    """Returns {"applied": [file names], "tables_created": [names]}."""
    # The advisory lock is session-level: everything runs on one pinned connection.
    with db.session():
        return _migrate_locked(db, directory)


def _migrate_locked(db: Database, directory: Path) -> dict:
    db.scalar("SELECT pg_advisory_lock(:k)", k=LOCK_KEY)
    try:
        db.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " name TEXT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT NOW())")
        before = _tables(db)
        done = {r["name"] for r in db.query("SELECT name FROM schema_migrations")}
        applied = []
        for path in migration_files(directory):
            if path.name in done:
                continue
            with db.transaction():
                db.execute(path.read_text(encoding="utf-8"))
                db.execute("INSERT INTO schema_migrations (name) VALUES (:n)", n=path.name)
            applied.append(path.name)
        created = sorted(_tables(db) - before)
        return {"applied": applied, "tables_created": created}
    finally:
        db.scalar("SELECT pg_advisory_unlock(:k)", k=LOCK_KEY)
