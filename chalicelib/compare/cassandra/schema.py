"""A table's primary key, learned from the cluster, and Cassandra's rules for restricting it.

    schema = load_schema(session, "ks", "events")     # system_schema.columns
    shape = query_shape(schema, keys=["tenant", "day"], fields=[])   # ValidationError if refused

`load_schema` reads the partition key, clustering columns and column types
from system_schema.columns (one small query; the driver's own schema
metadata is off). `query_shape` applies the rules Cassandra applies to a
SELECT's WHERE clause, before any data query is sent, and answers a 400
naming what is wrong:

- every partition-key column must be among `keys` (Cassandra: "Partition
  key parts: x must be restricted as other parts are"); a regular column
  cannot be a key (it would need ALLOW FILTERING);
- clustering columns are further restrictions only, and only a prefix of
  them in clustering order ("PRIMARY KEY column c2 cannot be restricted as
  preceding column c1 is not restricted").

The query binds `=` for every key column but the last, which is `IN ?`;
when that last column is a clustering column and a non-frozen collection is
selected (Cassandra refuses IN there), every key is queried with `=`.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from chalicelib.errors import QueryRefused, ValidationError, field_error, field_errors

_COLUMNS_QUERY = ("SELECT column_name, kind, position, type FROM system_schema.columns "
                  "WHERE keyspace_name = %s AND table_name = %s")
_RESERVED = frozenset("""
add allow alter and apply asc authorize batch begin by columnfamily create delete desc describe drop
entries execute from full grant if in index infinity insert into is keyspace limit modify nan
norecursive not null of on or order primary rename replace revoke schema select set table to token
truncate unlogged unset update use using view where with
""".split())
_PLAIN = re.compile(r"^[a-z_][a-z0-9_]*$")


def cql_name(name: str) -> str:
    """An identifier as CQL text: bare when Cassandra would read it back unchanged, else quoted."""
    if _PLAIN.match(name) and name not in _RESERVED:
        return name
    return '"' + name.replace('"', '""') + '"'


_KEYSPACE_QUERY = "SELECT keyspace_name FROM system_schema.keyspaces WHERE keyspace_name = %s"


@dataclass
class TableSchema:
    keyspace: str
    table: str
    types: dict                     # column -> CQL type text, e.g. "int", "frozen<list<int>>"
    partition_key: list
    clustering: list
    regular: list = field(default_factory=list)

    @property
    def primary_key(self) -> list:
        return self.partition_key + self.clustering

    def non_frozen_collections(self, columns: list) -> list:
        return [c for c in columns if self.types.get(c, "").split("<", 1)[0].strip() in ("list", "set", "map")]


@dataclass
class QueryShape:
    key_columns: list               # the request's key columns in primary-key order
    select_columns: list            # [] means *
    in_last: bool                   # last key column bound as IN ?
    row_columns: list               # primary-key columns that tell rows of one key apart

    def where(self, name) -> str:
        parts = [f"{name(k)} = ?" for k in self.key_columns[:-1]]
        last = self.key_columns[-1]
        parts.append(f"{name(last)} IN ?" if self.in_last else f"{name(last)} = ?")
        return " AND ".join(parts)


class TableMissing(QueryRefused):
    """The keyspace or table does not exist on that side."""


def load_schema(session: Any, keyspace: str, table: str, *, timeout: float | None = None) -> TableSchema:
    rows = list(session.execute(_COLUMNS_QUERY, (keyspace, table), timeout=timeout))
    if not rows:
        found = list(session.execute(_KEYSPACE_QUERY, (keyspace,), timeout=timeout))
        what = f"table {keyspace}.{table} does not exist" if found else f"keyspace {keyspace} does not exist"
        advice = ("check the table name (and the shard suffix of sharded tables)" if found
                  else "check that the keyspace name is right")
        raise TableMissing(what, {"keyspace": keyspace, "table": table, "error_detail": what,
                                  "suggestions": [advice]})
    types, pk, ck, regular = {}, [], [], []
    for name, kind, position, ctype in rows:
        types[name] = ctype
        if kind == "partition_key":
            pk.append((position, name))
        elif kind == "clustering":
            ck.append((position, name))
        else:
            regular.append(name)
    return TableSchema(keyspace, table, types, [n for _, n in sorted(pk)], [n for _, n in sorted(ck)],
                       sorted(regular))


def _refused(message: str, loc: str, **info) -> ValidationError:
    return ValidationError(message, field_errors(field_error(["body", loc], message, "cassandra_restriction"), **info))


def query_shape(schema: TableSchema, keys: list, fields: list) -> QueryShape:
    """The WHERE clause Cassandra accepts for these key columns, or a 400 saying why not."""
    where = f"{schema.keyspace}.{schema.table}"
    unknown = [k for k in keys if k not in schema.types]
    if unknown:
        raise _refused(f"keys: {', '.join(unknown)} {'is' if len(unknown) == 1 else 'are'} not a column of {where}",
                       "keys", columns=unknown)
    regular = [k for k in keys if k not in schema.primary_key]
    if regular:
        raise _refused(f"keys: {', '.join(regular)} {'is' if len(regular) == 1 else 'are'} not part of the primary "
                       f"key of {where} (partition key: {', '.join(schema.partition_key)}"
                       + (f"; clustering: {', '.join(schema.clustering)}" if schema.clustering else "")
                       + "); Cassandra refuses such a restriction without ALLOW FILTERING", "keys", columns=regular)
    missing = [k for k in schema.partition_key if k not in keys]
    if missing:
        raise _refused(f"keys must cover the partition key of {where}: missing {', '.join(missing)} "
                       f"(partition key: {', '.join(schema.partition_key)})", "keys", missing_partition_key=missing)
    given_ck = [c for c in schema.clustering if c in keys]
    if given_ck != schema.clustering[:len(given_ck)]:
        gap = next(c for c in schema.clustering if c not in keys)
        after = [c for c in given_ck if schema.clustering.index(c) > schema.clustering.index(gap)]
        raise _refused(f"keys: clustering column {after[0]} cannot be restricted as preceding clustering column "
                       f"{gap} is not (clustering order: {', '.join(schema.clustering)})", "keys",
                       missing_clustering=[gap])
    unknown_fields = [f for f in fields if f not in schema.types]
    if unknown_fields:
        raise _refused(f"fields_to_compare: {', '.join(unknown_fields)} not in {where}", "fields_to_compare",
                       columns=unknown_fields)
    ordered = schema.partition_key + given_ck
    select = list(dict.fromkeys(schema.primary_key + list(fields))) if fields else []
    in_last = True
    if given_ck:
        selected = select or list(schema.types)
        in_last = not schema.non_frozen_collections(selected)
    return QueryShape(ordered, select, in_last, [c for c in schema.primary_key if c not in ordered])
