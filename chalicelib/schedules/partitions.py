"""Daily rollover of the monthly partitions of the log tables (`MONTHLY_TABLES`;
DESIGN 2 and 12).

`rollover(now=...)` (clock injected for tests), in ONE transaction under a
transaction-scoped advisory lock (a second run, concurrent or not, waits and
then finds nothing to do):

1. ensures partitions `<table>_YYYY_MM` exist for the current month and the
   next `months_ahead` (UTC months);
2. moves rows that landed in the DEFAULT partition into partitions created for
   their months. PostgreSQL refuses to create a partition whose range has rows
   in the DEFAULT partition, so: detach the default, create the partitions,
   move the rows (DELETE ... RETURNING into the parent), re-attach the default;
3. drops partitions whose month is older than `retention_months` before the
   current month, or only detaches them (kept as plain tables) with
   `detach_only`. Rows of such months still in DEFAULT get their partition
   first, so retention treats them the same way.

It returns a report of what it did; row totals before and after are equal
except for the rows retention removed (`rows_dropped`).
"""
from __future__ import annotations

import re
import zlib
from dataclasses import dataclass
from datetime import date, datetime, timezone

from chalicelib.db import Database, get_db, quote_ident

TABLE = "api_call_logs"
# Every monthly-partitioned log table; the daily schedule rolls each one over.
MONTHLY_TABLES = ("api_call_logs", "dynamic_api_invocation_logs", "api_access_logs")
_BOUND = re.compile(r"FROM \('([^']+)'\) TO \('([^']+)'\)")


@dataclass(frozen=True, order=True)
class Month:
    year: int
    month: int

    @classmethod
    def of(cls, value: datetime | date) -> "Month":
        if isinstance(value, datetime):
            value = value.astimezone(timezone.utc) if value.tzinfo else value
        return cls(value.year, value.month)

    def plus(self, months: int) -> "Month":
        index = self.year * 12 + (self.month - 1) + months
        return Month(index // 12, index % 12 + 1)

    @property
    def start(self) -> datetime:
        return datetime(self.year, self.month, 1, tzinfo=timezone.utc)

    @property
    def end(self) -> datetime:
        return self.plus(1).start

    def partition(self, table: str) -> str:
        return f"{table}_{self.year:04d}_{self.month:02d}"


def lock_key(table: str) -> int:
    return 0x5EF1_0000 + zlib.crc32(table.encode()) % 0xFFFF


def _parse_ts(text: str) -> datetime:
    # pg_get_expr prints bounds in the session time zone (UTC, set on connect).
    value = datetime.fromisoformat(text.replace(" ", "T"))
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def partitions(db: Database, table: str = TABLE) -> dict:
    """{"default": name | None, "ranges": {Month: name}} for the attached partitions."""
    rows = db.query(
        """SELECT c.relname AS name, pg_get_expr(c.relpartbound, c.oid) AS bound
           FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
           JOIN pg_class p ON p.oid = i.inhparent JOIN pg_namespace n ON n.oid = p.relnamespace
           WHERE p.relname = :table AND n.nspname = current_schema()""", table=table)
    out: dict = {"default": None, "ranges": {}}
    for r in rows:
        if r["bound"] == "DEFAULT":
            out["default"] = r["name"]
            continue
        m = _BOUND.search(r["bound"])
        if not m:
            continue
        start = _parse_ts(m.group(1))
        out["ranges"][Month.of(start)] = r["name"]
    return out


def rollover(now: datetime | None = None, *, months_ahead: int | None = None, retention_months: int | None = None,
             detach_only: bool | None = None, table: str = TABLE, db: Database | None = None) -> dict:
    from chalicelib.settings import get_settings
    s = get_settings()
    now = now or datetime.now(timezone.utc)
    months_ahead = s.partition_months_ahead if months_ahead is None else months_ahead
    retention_months = s.partition_retention_months if retention_months is None else retention_months
    detach_only = s.partition_detach_only if detach_only is None else detach_only
    if months_ahead < 0 or retention_months < 1:
        raise ValueError("months_ahead must be >= 0 and retention_months >= 1")
    db = db or get_db()
    current = Month.of(now)
    oldest_kept = current.plus(-retention_months)
    qt = quote_ident(table)
    report: dict = {"table": table, "now": now.isoformat(), "created": [], "moved_rows": {}, "dropped": [],
                    "detached": [], "rows_dropped": 0, "default_detached": False}

    with db.transaction():
        db.scalar("SELECT pg_advisory_xact_lock(:k)", k=lock_key(table))
        state = partitions(db, table)
        default = state["default"]
        existing = state["ranges"]

        wanted = {current.plus(i) for i in range(months_ahead + 1)}
        default_months: dict[Month, int] = {}
        if default:
            for r in db.query(
                    f"SELECT date_trunc('month', created_at AT TIME ZONE 'UTC') AS m, count(*) AS n "
                    f"FROM {quote_ident(default)} GROUP BY 1"):
                default_months[Month.of(r["m"])] = int(r["n"])
        to_create = sorted((wanted | set(default_months)) - set(existing))

        if to_create:
            moving = [m for m in to_create if m in default_months]
            if moving:
                # Creating a partition over rows held by DEFAULT fails: detach it first.
                db.execute(f"ALTER TABLE {qt} DETACH PARTITION {quote_ident(default)}")
                report["default_detached"] = True
            for m in to_create:
                name = m.partition(table)
                db.execute(f"CREATE TABLE {quote_ident(name)} PARTITION OF {qt} "
                           f"FOR VALUES FROM ({_lit(m.start)}) TO ({_lit(m.end)})")
                existing[m] = name
                report["created"].append(name)
            for m in moving:
                moved = db.execute(
                    f"WITH moved AS (DELETE FROM {quote_ident(default)} "
                    f"WHERE created_at >= CAST(:a AS timestamptz) AND created_at < CAST(:b AS timestamptz) "
                    f"RETURNING *) INSERT INTO {qt} SELECT * FROM moved", a=m.start, b=m.end)
                report["moved_rows"][m.partition(table)] = moved
            if moving:
                db.execute(f"ALTER TABLE {qt} ATTACH PARTITION {quote_ident(default)} DEFAULT")

        for m in sorted(existing):
            if m >= oldest_kept:
                continue
            name = existing[m]
            rows = int(db.scalar(f"SELECT count(*) FROM {quote_ident(name)}"))
            if detach_only:
                db.execute(f"ALTER TABLE {qt} DETACH PARTITION {quote_ident(name)}")
                report["detached"].append(name)
            else:
                db.execute(f"DROP TABLE {quote_ident(name)}")
                report["dropped"].append(name)
                report["rows_dropped"] += rows
        report["partitions"] = sorted(n for m, n in existing.items() if m >= oldest_kept)
        report["default_rows"] = int(db.scalar(f"SELECT count(*) FROM {quote_ident(default)}")) if default else 0
    return report


def _lit(ts: datetime) -> str:
    """A timestamp literal for DDL (partition bounds cannot be bind parameters).

    Only ever formatted from a datetime we computed, never from input."""
    return "'" + ts.strftime("%Y-%m-%d %H:%M:%S+00") + "'"


def rollover_all(now: datetime | None = None, db: Database | None = None) -> dict:
    """`rollover` of every table in MONTHLY_TABLES -> {table: its report}."""
    return {table: rollover(now, table=table, db=db) for table in MONTHLY_TABLES}
