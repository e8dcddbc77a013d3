"""What differs between the databases a dynamic API can run on.

* placeholder style of the driver we execute with:
  - postgresql (pg8000): the server's own `$1, $2, …`, executed with
    `pg8000.native.Connection.execute_unnamed(sql, vals)` (no client-side
    parsing of the SQL text, so `::casts` and `:words` in literals are left alone);
  - mysql (PyMySQL): `%s`, with every literal `%` of the template doubled so
    that PyMySQL's `query % args` leaves the SQL text as written;
* identifier quoting (`"name"` / `` `name` ``);
* LIMIT/OFFSET (both servers accept `LIMIT n OFFSET m`).
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass

from chalicelib.errors import invalid_input

from .sqltext import MARK

SUPPORTED = ("postgresql", "mysql")


@dataclass(frozen=True)
class BoundStatement:
    """SQL text in the driver's placeholder style plus the values, in order."""
    sql: str
    params: tuple
    dialect: str

    def as_dict(self) -> dict:
        return {"sql": self.sql, "params": list(self.params), "dialect": self.dialect}


class Dialect:
    name = ""

    def quote_ident(self, name: str) -> str:  # pragma: no cover - abstract
        raise NotImplementedError

    def bind(self, marked_sql: str, values: list | tuple) -> BoundStatement:  # pragma: no cover
        raise NotImplementedError

    def adapt(self, value):
        return value


class PostgresDialect(Dialect):
    name = "postgresql"

    def quote_ident(self, name: str) -> str:
        if not name or "\x00" in name:
            raise invalid_input(["body", "sortable_columns"], "invalid identifier", "identifier")
        return '"' + name.replace('"', '""') + '"'

    def bind(self, marked_sql: str, values) -> BoundStatement:
        parts = marked_sql.split(MARK)
        if len(parts) - 1 != len(values):
            raise AssertionError("placeholder/value count mismatch")
        if len(parts) == 1:
            return BoundStatement(marked_sql, (), self.name)
        out = [parts[0]]
        for i, part in enumerate(parts[1:], 1):
            out.append(f"${i}")
            out.append(part)
        return BoundStatement("".join(out), tuple(values), self.name)


class MySQLDialect(Dialect):
    name = "mysql"

    def quote_ident(self, name: str) -> str:
        if not name or "\x00" in name:
            raise invalid_input(["body", "sortable_columns"], "invalid identifier", "identifier")
        return "`" + name.replace("`", "``") + "`"

    def adapt(self, value):
        if isinstance(value, uuid.UUID):
            return str(value)
        return value

    def bind(self, marked_sql: str, values) -> BoundStatement:
        if marked_sql.count(MARK) != len(values):
            raise AssertionError("placeholder/value count mismatch")
        sql = marked_sql.replace("%", "%%").replace(MARK, "%s")
        return BoundStatement(sql, tuple(self.adapt(v) for v in values), self.name)


_DIALECTS = {"postgresql": PostgresDialect(), "mysql": MySQLDialect()}
_ALIASES = {"postgres": "postgresql", "pg": "postgresql", "pgsql": "postgresql",
            "mariadb": "mysql"}
DB_TYPE_NAMES = (*SUPPORTED, *_ALIASES)   # what normalize_db_type takes (in any case)


def normalize_db_type(db_type: str) -> str:
    key = (db_type or "").strip().lower()
    key = _ALIASES.get(key, key)
    if key not in _DIALECTS:
        raise invalid_input(["body", "db_type"], f"unsupported db_type {db_type!r}; supported: {', '.join(SUPPORTED)}",
                            supported=list(SUPPORTED))
    return key


def get_dialect(db_type: str) -> Dialect:
    return _DIALECTS[normalize_db_type(db_type)]
