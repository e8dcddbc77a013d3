"""In-memory keyspaces, typed tables and the system tables the driver reads; runs SELECTs."""
from __future__ import annotations

import itertools
import threading
import uuid
from dataclasses import dataclass, field

from . import cql, tokens
from .cqltypes import CqlType, UdtDef, list_of, parse_type, split_collection
from .wire import INVALID, SYNTAX_ERROR


class CqlError(Exception):
    """An error the server answers with an ERROR frame."""

    def __init__(self, code: int, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


def invalid(message: str) -> CqlError:
    return CqlError(INVALID, message)


@dataclass
class Table:
    keyspace: str
    name: str
    columns: dict  # name -> CqlType, in declaration order
    partition_key: list
    clustering_key: list
    table_id: uuid.UUID = field(default_factory=uuid.uuid4)
    # partition key bytes tuple -> clustering bytes tuple -> {column: bytes | None}
    partitions: dict = field(default_factory=dict)
    stale: dict | None = None  # a lagging replica (Catalog.make_stale)

    def star_columns(self) -> list:
        """Column order of SELECT *: partition key, clustering key, then the rest by name."""
        keys = self.partition_key + self.clustering_key
        return keys + sorted(c for c in self.columns if c not in keys)

    def put(self, row: dict):
        unknown = [c for c in row if c not in self.columns]
        if unknown:
            raise ValueError(f"unknown columns {unknown} for {self.keyspace}.{self.name}")
        for column in self.partition_key + self.clustering_key:
            if row.get(column) is None:
                raise ValueError(f"primary key column {column!r} needs a value")
        cells = {c: self.columns[c].encode(_null_if_empty(self.columns[c], v)) for c, v in row.items()}
        pk = tuple(cells[c] for c in self.partition_key)
        ck = tuple(cells[c] for c in self.clustering_key)
        self.partitions.setdefault(pk, {}).setdefault(ck, {}).update(cells)

    def row_count(self) -> int:
        return sum(len(rows) for rows in self.partitions.values())


_COLLECTIONS = ("list", "set", "map")


def _null_if_empty(ctype: CqlType, value):
    """Cassandra stores an empty non-frozen collection as no cells at all: it reads back as null."""
    if ctype.name in _COLLECTIONS and not ctype.frozen and value is not None and len(value) == 0:
        return None
    return value


FILTERING = ("Cannot execute this query as it might involve data filtering and thus may have unpredictable "
             "performance. If you want to execute this query despite the performance unpredictability, "
             "use ALLOW FILTERING")


def check_restrictions(select: cql.Select, table: "Table") -> None:
    """Refuse what Cassandra 3.11/4.x refuses for a SELECT's WHERE clause (code 0x2200 Invalid)."""
    restricted = [r.column for r in select.relations if r.token_columns is None]  # token ranges need no filtering
    in_columns = {r.column for r in select.relations if r.op == "IN"}
    pk = table.partition_key
    given_pk = [c for c in pk if c in restricted]
    if given_pk and len(given_pk) < len(pk):
        missing = ", ".join(c for c in pk if c not in restricted)
        raise invalid(f"Partition key parts: {missing} must be restricted as other parts are")
    regular = [c for c in restricted if c not in pk and c not in table.clustering_key]
    if (regular or (not given_pk and restricted)) and not select.allow_filtering:
        raise invalid(FILTERING)
    if not select.allow_filtering:
        previous = None
        for column in table.clustering_key:
            if column in restricted and previous is not None and previous not in restricted:
                raise invalid(f'PRIMARY KEY column "{column}" cannot be restricted as preceding column '
                              f'"{previous}" is not restricted')
            previous = column
    if in_columns & set(table.clustering_key):
        selected = select.columns if select.columns is not None else list(table.columns)
        if any(table.columns[c].name in _COLLECTIONS and not table.columns[c].frozen for c in selected):
            raise invalid("Cannot restrict clustering columns by IN relations when a collection is selected "
                          "by the query")


WEAK_READS = frozenset({"ONE", "LOCAL_ONE"})


@dataclass
class Statement:
    """A SELECT resolved against the catalog: what PREPARE answers and EXECUTE runs."""

    select: cql.Select
    table: Table
    result_columns: list  # [(name, CqlType)]
    bind_columns: list  # [(name, CqlType)] one per marker, in marker order
    pk_indices: list


class Catalog:
    def __init__(self, cluster_name: str, datacenter: str, rack: str, release_version: str):
        self.lock = threading.RLock()
        self.keyspaces: dict = {}  # name -> {table name -> Table}
        self.udts: dict = {}  # (ks, name) -> UdtDef
        self.cluster_name = cluster_name
        self.datacenter = datacenter
        self.rack = rack
        self.release_version = release_version
        self.host_id = uuid.uuid4()
        self.schema_version = uuid.uuid4()
        self.address = "127.0.0.1"
        self._create_system_tables()

    # ------------------------------------------------------------ schema API
    def create_keyspace(self, name: str):
        with self.lock:
            self.keyspaces.setdefault(name, {})
            self._refresh_schema_tables()

    def create_type(self, keyspace: str, name: str, fields: dict):
        with self.lock:
            self.keyspaces.setdefault(keyspace, {})
            types = tuple(parse_type(t, keyspace, self.udts) for t in fields.values())
            self.udts[(keyspace, name)] = UdtDef(keyspace, name, tuple(fields), types, tuple(fields.values()))
            self._refresh_schema_tables()

    def create_table(self, keyspace: str, name: str, columns: dict, primary_key: list,
                     clustering_key: list | None = None) -> Table:
        """primary_key=['a', 'b'] is PRIMARY KEY (a, b); [['a', 'b'], 'c'] is ((a, b), c)."""
        first, rest = primary_key[0], list(primary_key[1:])
        partition_key = list(first) if isinstance(first, (list, tuple)) else [first]
        clustering = list(clustering_key or []) or rest
        with self.lock:
            types = {c: parse_type(t, keyspace, self.udts) if isinstance(t, str) else t
                     for c, t in columns.items()}
            for column in partition_key + clustering:
                if column not in types:
                    raise ValueError(f"primary key column {column!r} is not in columns")
            table = Table(keyspace, name, types, partition_key, clustering)
            self.keyspaces.setdefault(keyspace, {})[name] = table
            self._refresh_schema_tables()
            return table

    def drop_table(self, keyspace: str, name: str):
        with self.lock:
            self.keyspaces.get(keyspace, {}).pop(name, None)
            self._refresh_schema_tables()

    def table(self, keyspace: str, name: str) -> Table:
        tables = self.keyspaces.get(keyspace)
        if tables is None:
            raise invalid(f"Keyspace '{keyspace}' does not exist")
        table = tables.get(name)
        if table is None:
            raise invalid(f"table {name} does not exist")
        return table

    def insert(self, keyspace: str, name: str, row: dict):
        with self.lock:
            self.table(keyspace, name).put(row)

    # ------------------------------------------------------------ system tables
    def _system_table(self, keyspace: str, name: str, columns: dict, primary_key: list) -> Table:
        table = Table(keyspace, name, {c: parse_type(t) for c, t in columns.items()},
                      [primary_key[0]], list(primary_key[1:]))
        self.keyspaces.setdefault(keyspace, {})[name] = table
        return table

    def _create_system_tables(self):
        t = self._system_table
        local = t("system", "local", {
            "key": "text", "bootstrapped": "text", "broadcast_address": "inet",
            "cluster_name": "text", "cql_version": "text", "data_center": "text",
            "gossip_generation": "int", "host_id": "uuid", "listen_address": "inet",
            "native_protocol_version": "text", "partitioner": "text", "rack": "text",
            "release_version": "text", "rpc_address": "inet", "schema_version": "uuid",
            "thrift_version": "text", "tokens": "set<text>", "truncated_at": "map<uuid, blob>",
        }, ["key"])
        local.put({
            "key": "local", "bootstrapped": "COMPLETED", "broadcast_address": self.address,
            "cluster_name": self.cluster_name, "cql_version": "3.4.4",
            "data_center": self.datacenter, "gossip_generation": 1, "host_id": self.host_id,
            "listen_address": self.address, "native_protocol_version": "4",
            "partitioner": "org.apache.cassandra.dht.Murmur3Partitioner", "rack": self.rack,
            "release_version": self.release_version, "rpc_address": self.address,
            "schema_version": self.schema_version, "thrift_version": "20.1.0",
            "tokens": {"-9223372036854775808"},
        })
        t("system", "peers", {
            "peer": "inet", "data_center": "text", "host_id": "uuid", "preferred_ip": "inet",
            "rack": "text", "release_version": "text", "rpc_address": "inet",
            "schema_version": "uuid", "tokens": "set<text>",
        }, ["peer"])
        text_map = "frozen<map<text, text>>"
        t("system_schema", "keyspaces", {
            "keyspace_name": "text", "durable_writes": "boolean", "replication": text_map,
        }, ["keyspace_name"])
        t("system_schema", "tables", {
            "keyspace_name": "text", "table_name": "text", "bloom_filter_fp_chance": "double",
            "caching": text_map, "cdc": "boolean", "comment": "text", "compaction": text_map,
            "compression": text_map, "crc_check_chance": "double",
            "dclocal_read_repair_chance": "double", "default_time_to_live": "int",
            "extensions": "frozen<map<text, blob>>", "flags": "frozen<set<text>>",
            "gc_grace_seconds": "int", "id": "uuid", "max_index_interval": "int",
            "memtable_flush_period_in_ms": "int", "min_index_interval": "int",
            "read_repair_chance": "double", "speculative_retry": "text",
        }, ["keyspace_name", "table_name"])
        t("system_schema", "columns", {
            "keyspace_name": "text", "table_name": "text", "column_name": "text",
            "clustering_order": "text", "column_name_bytes": "blob", "kind": "text",
            "position": "int", "type": "text",
        }, ["keyspace_name", "table_name", "column_name"])
        t("system_schema", "types", {
            "keyspace_name": "text", "type_name": "text",
            "field_names": "frozen<list<text>>", "field_types": "frozen<list<text>>",
        }, ["keyspace_name", "type_name"])
        t("system_schema", "functions", {
            "keyspace_name": "text", "function_name": "text", "argument_types": "frozen<list<text>>",
            "argument_names": "frozen<list<text>>", "body": "text", "called_on_null_input": "boolean",
            "language": "text", "return_type": "text",
        }, ["keyspace_name", "function_name", "argument_types"])
        t("system_schema", "aggregates", {
            "keyspace_name": "text", "aggregate_name": "text", "argument_types": "frozen<list<text>>",
            "final_func": "text", "initcond": "text", "return_type": "text", "state_func": "text",
            "state_type": "text",
        }, ["keyspace_name", "aggregate_name", "argument_types"])
        t("system_schema", "triggers", {
            "keyspace_name": "text", "table_name": "text", "trigger_name": "text", "options": text_map,
        }, ["keyspace_name", "table_name", "trigger_name"])
        t("system_schema", "indexes", {
            "keyspace_name": "text", "table_name": "text", "index_name": "text", "kind": "text",
            "options": text_map,
        }, ["keyspace_name", "table_name", "index_name"])
        t("system_schema", "views", {
            "keyspace_name": "text", "view_name": "text", "base_table_id": "uuid",
            "base_table_name": "text", "include_all_columns": "boolean", "where_clause": "text",
        }, ["keyspace_name", "view_name"])
        self._refresh_schema_tables()

    def _refresh_schema_tables(self):
        schema = self.keyspaces.get("system_schema")
        if not schema or "views" not in schema:
            return  # still creating the system tables
        for name in ("keyspaces", "tables", "columns", "types"):
            schema[name].partitions.clear()
        for ks_name, tables in self.keyspaces.items():
            local = ks_name.startswith("system")
            schema["keyspaces"].put({
                "keyspace_name": ks_name, "durable_writes": True,
                "replication": ({"class": "org.apache.cassandra.locator.LocalStrategy"} if local else
                                {"class": "org.apache.cassandra.locator.SimpleStrategy",
                                 "replication_factor": "1"}),
            })
            for table in tables.values():
                schema["tables"].put({
                    "keyspace_name": ks_name, "table_name": table.name,
                    "bloom_filter_fp_chance": 0.01, "caching": {"keys": "ALL", "rows_per_partition": "NONE"},
                    "cdc": False, "comment": "", "compaction": {
                        "class": "org.apache.cassandra.db.compaction.SizeTieredCompactionStrategy"},
                    "compression": {"chunk_length_in_kb": "64",
                                    "class": "org.apache.cassandra.io.compress.LZ4Compressor"},
                    "crc_check_chance": 1.0, "dclocal_read_repair_chance": 0.1,
                    "default_time_to_live": 0, "extensions": {}, "flags": {"compound"},
                    "gc_grace_seconds": 864000, "id": table.table_id, "max_index_interval": 2048,
                    "memtable_flush_period_in_ms": 0, "min_index_interval": 128,
                    "read_repair_chance": 0.0, "speculative_retry": "99PERCENTILE",
                })
                for column, ctype in table.columns.items():
                    if column in table.partition_key:
                        kind, position, order = "partition_key", table.partition_key.index(column), "none"
                    elif column in table.clustering_key:
                        kind, position, order = "clustering", table.clustering_key.index(column), "asc"
                    else:
                        kind, position, order = "regular", -1, "none"
                    schema["columns"].put({
                        "keyspace_name": ks_name, "table_name": table.name, "column_name": column,
                        "clustering_order": order, "column_name_bytes": column.encode(), "kind": kind,
                        "position": position, "type": ctype.cql(),
                    })
        for (ks_name, type_name), udt in self.udts.items():
            schema["types"].put({
                "keyspace_name": ks_name, "type_name": type_name, "field_names": list(udt.field_names),
                "field_types": [p.cql() for p in udt.params],
            })
        self.schema_version = uuid.uuid4()
        local = self.keyspaces.get("system", {}).get("local")
        if local is not None:
            for rows in local.partitions.values():
                for row in rows.values():
                    row["schema_version"] = self.schema_version.bytes

    # ------------------------------------------------------------ queries
    def resolve(self, select: cql.Select, session_keyspace: str | None) -> Statement:
        keyspace = select.keyspace or session_keyspace
        if keyspace is None:
            raise invalid("No keyspace has been specified. USE a keyspace, or explicitly specify keyspace.tablename")
        with self.lock:
            table = self.table(keyspace, select.table)
        names = select.columns if select.columns is not None else table.star_columns()
        for column in names:
            if column not in table.columns:
                raise invalid(f"Undefined column name {column}")
        result_columns = [(c, table.columns[c]) for c in names]
        for relation in select.relations:
            if relation.token_columns is None and relation.column not in table.columns:
                raise invalid(f"Undefined column name {relation.column}")
        check_restrictions(select, table)
        bind = {}
        eq_markers = {}
        for relation in select.relations:
            if relation.token_columns is not None:
                if relation.token_columns != table.partition_key:
                    raise invalid("The token() function must be applied to all partition key components "
                                  f"or none of them ({', '.join(table.partition_key)})")
                for term in relation.terms:
                    if isinstance(term, cql.Marker):
                        bind[term.index] = ("partition key token", parse_type("bigint"))
                continue
            ctype = table.columns.get(relation.column)
            if ctype is None:
                raise invalid(f"Undefined column name {relation.column}")
            if relation.marker is not None:
                bind[relation.marker.index] = (f"in({relation.column})", list_of(ctype))
            for term in relation.terms:
                if isinstance(term, cql.Marker):
                    bind[term.index] = (relation.column, ctype)
                    if relation.op == "=":
                        eq_markers[relation.column] = term.index
        bind_columns = [bind[i] for i in range(select.marker_count)]
        pk_indices = []
        if all(c in eq_markers for c in table.partition_key):
            pk_indices = [eq_markers[c] for c in table.partition_key]
        return Statement(select, table, result_columns, bind_columns, pk_indices)

    def run(self, statement: Statement, values: list, consistency: str = "LOCAL_QUORUM") -> list:
        """Rows (lists of cell bytes) the statement selects with these bound values."""
        return [row for _, row in self.run_positioned(statement, values, consistency)]

    def make_stale(self, keyspace: str, name: str, rows: dict, reads: int | dict = 1) -> None:
        """One replica lags: the next `reads` reads of each partition named in `rows` at ONE /
        LOCAL_ONE see the replica's older version ({primary key tuple: {column: old value}}, or
        None for a row the replica lacks) instead of the current data; then it has caught up.
        QUORUM and stronger reads never see it (the newest answer of the replicas wins).
        `reads` may be per row ({primary key tuple: reads}; a partition lags as long as its
        longest-lagging row), so that some partitions catch up sooner than others."""
        with self.lock:
            table = self.table(keyspace, name)
            overlay, left = {}, {}
            for key, row in rows.items():
                key = key if isinstance(key, tuple) else (key,)
                cells = dict(zip(table.partition_key + table.clustering_key, key))
                encoded = {c: table.columns[c].encode(v) for c, v in cells.items()}
                pk = tuple(encoded[c] for c in table.partition_key)
                ck = tuple(encoded[c] for c in table.clustering_key)
                if row is None:
                    overlay[(pk, ck)] = None
                else:
                    current = dict(table.partitions.get(pk, {}).get(ck, encoded))
                    current.update({c: table.columns[c].encode(_null_if_empty(table.columns[c], v))
                                    for c, v in row.items()})
                    overlay[(pk, ck)] = current
                lag = reads if isinstance(reads, int) else reads[key if key in reads else key[0]]
                left[pk] = max(left.get(pk, 0), lag)
            table.stale = {"rows": overlay, "left": left}

    def _partitions(self, table: "Table", keys, consistency: str) -> list:
        """[(pk, {ck: cells})] as the replica answering at this consistency level holds them."""
        stale = table.stale if consistency in WEAK_READS else None
        out = []
        for pk in keys:
            rows = table.partitions.get(pk)
            if stale and stale["left"].get(pk, 0) > 0:
                stale["left"][pk] -= 1
                rows = dict(rows or {})
                for (spk, sck), cells in stale["rows"].items():
                    if spk == pk:
                        if cells is None:
                            rows.pop(sck, None)
                        else:
                            rows[sck] = cells
            if rows:
                out.append((pk, rows))
        if stale and not any(n > 0 for n in stale["left"].values()):
            table.stale = None
        return out

    def run_positioned(self, statement: Statement, values: list, consistency: str = "LOCAL_QUORUM") -> list:
        """[((partition key bytes, clustering bytes), row cells)] in the order pages return them."""
        select, table = statement.select, statement.table
        if len(values) != select.marker_count:
            raise invalid(f"There were {select.marker_count} markers(?) in CQL but {len(values)} bound variables")
        allowed: dict = {}
        bounds = []
        for relation in select.relations:
            if relation.token_columns is not None:
                bounds.append((relation.op, tokens.bound_value(relation.terms[0], values)))
                continue
            ctype = table.columns[relation.column]
            if relation.marker is not None:
                bound = values[relation.marker.index]
                if bound is None or bound is ...:
                    raise invalid(f"Invalid null value for IN restriction on {relation.column}")
                candidates = split_collection(bound)
            else:
                candidates = [self._term_bytes(term, ctype, values, relation.column) for term in relation.terms]
            if relation.op == "=" and candidates[0] is None:
                raise invalid(f"Invalid null value in condition for column {relation.column}")
            ordered = list(dict.fromkeys(c for c in candidates if c is not None))
            if relation.column in allowed:
                previous = set(allowed[relation.column])
                ordered = [c for c in ordered if c in previous]
            allowed[relation.column] = ordered
        with self.lock:
            if all(c in allowed for c in table.partition_key):
                keys = list(itertools.product(*(allowed[c] for c in table.partition_key)))
            elif bounds:
                keys = tokens.partition_keys_in_range(table, bounds)
            else:
                keys = list(table.partitions)
                stale = table.stale if consistency in WEAK_READS else None
                if stale:
                    keys += [pk for pk, _ in stale["rows"] if pk not in table.partitions]
            partitions = self._partitions(table, list(dict.fromkeys(keys)), consistency)
            filters = [(c, set(v)) for c, v in allowed.items() if c not in table.partition_key]
            names = [c for c, _ in statement.result_columns]
            rows = []
            for pk, partition in partitions:
                for ck in sorted(partition):
                    row = partition[ck]
                    if all(row.get(c) in accepted for c, accepted in filters):
                        rows.append(((pk, ck), [row.get(c) for c in names]))
        if select.limit is not None:
            rows = rows[:select.limit]
        return rows

    @staticmethod
    def _term_bytes(term, ctype: CqlType, values: list, column: str):
        if isinstance(term, cql.Marker):
            bound = values[term.index]
            return None if bound is ... else bound
        if ctype.name in ("list", "set", "map", "tuple", "udt"):
            raise CqlError(SYNTAX_ERROR, f"collection literals are not supported (column {column})")
        try:
            return ctype.encode(cql.literal_value(term, ctype.name))
        except (ValueError, TypeError) as exc:
            raise invalid(f"Invalid constant for column {column} of type {ctype.cql()}: {exc}") from None
