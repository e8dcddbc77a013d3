"""Two CQL test servers playing production and test, with the tables the comparison tests read."""
from __future__ import annotations

import datetime as dt
import decimal
import socket
import uuid

import pytest

from tests.cqlserver import CqlTestServer

PRO_PASSWORD = "pro-Secret-42"
TEST_PASSWORD = "test-Secret-77"
INTERVAL = 604800
SHARDS = 14

USER_COLUMNS = {
    "user_id": "int", "name": "text", "email": "text", "status": "text", "created_at": "timestamp",
    "updated_at": "timestamp", "tags": "set<text>", "profile": "text", "balance": "decimal",
}

T0 = dt.datetime(2024, 8, 5, 10, 30, tzinfo=dt.timezone.utc)


def _user(uid: int, **changes):
    row = {"user_id": uid, "name": f"User{uid}", "email": f"user{uid}@example.com", "status": "active",
           "created_at": T0, "updated_at": T0, "tags": {"a", "b"}, "profile": '{"age": 30, "city": "Paris"}',
           "balance": decimal.Decimal("10.50")}
    row.update(changes)
    return row


# Every value type, as a column (the key is text). pro and test hold the same values
# except where ALL_TYPES_TEST_CHANGES says.
ALL_TYPE_COLUMNS = {
    "id": "text", "c_text": "text", "c_varchar": "varchar", "c_ascii": "ascii", "c_int": "int",
    "c_bigint": "bigint", "c_smallint": "smallint", "c_varint": "varint", "c_uuid": "uuid",
    "c_timeuuid": "timeuuid", "c_timestamp": "timestamp", "c_date": "date", "c_boolean": "boolean",
    "c_double": "double", "c_float": "float", "c_decimal": "decimal", "c_blob": "blob",
    "c_list": "list<int>", "c_set": "set<text>", "c_map": "map<text, int>", "c_tuple": "tuple<int, text>",
    "c_udt": "frozen<address>",
}
ALL_TYPES_ROW = {
    "id": "row1", "c_text": "héllo", "c_varchar": "v", "c_ascii": "a", "c_int": 42, "c_bigint": 2**40,
    "c_smallint": 7, "c_varint": 10**25, "c_uuid": uuid.UUID("123e4567-e89b-12d3-a456-426614174000"),
    "c_timeuuid": uuid.UUID("d2177dd0-eaa2-11de-a572-001b779c76e3"),
    "c_timestamp": dt.datetime(2021, 1, 1, 8, 0, 0, 123000, tzinfo=dt.timezone.utc),
    "c_date": dt.date(2021, 2, 28), "c_boolean": True, "c_double": 2.5, "c_float": 1.25,
    "c_decimal": decimal.Decimal("1.50"), "c_blob": b"\x01\x02", "c_list": [3, 1, 2], "c_set": {"x", "y"},
    "c_map": {"b": 2, "a": 1}, "c_tuple": (1, "one"), "c_udt": {"street": "Main", "zip": 12345},
}

# key type -> (value as the request sends it, value stored)
KEY_TYPES = {
    "text": ("k-1", "k-1"), "varchar": ("k-2", "k-2"), "ascii": ("k3", "k3"), "int": ("42", 42),
    "bigint": ("1609459200123", 1609459200123), "smallint": ("-7", -7), "varint": ("123456789012345678901234567890",
                                                                                 123456789012345678901234567890),
    "uuid": ("123e4567-e89b-12d3-a456-426614174000", uuid.UUID("123e4567-e89b-12d3-a456-426614174000")),
    "timeuuid": ("d2177dd0-eaa2-11de-a572-001b779c76e3", uuid.UUID("d2177dd0-eaa2-11de-a572-001b779c76e3")),
    "timestamp": ("2021-01-01T00:00:00Z", dt.datetime(2021, 1, 1, tzinfo=dt.timezone.utc)),
    "date": ("2021-01-01", dt.date(2021, 1, 1)), "boolean": ("true", True), "double": ("2.5", 2.5),
    "float": ("0.1", 0.1), "decimal": ("1.50", decimal.Decimal("1.50")), "blob": ("0xcafe", b"\xca\xfe"),
}


def doc_key(seconds: int) -> str:
    return f"wmid_{seconds}"


def _build(server: CqlTestServer, keyspace: str, side: str):
    server.create_table(keyspace, "user_data", USER_COLUMNS, primary_key=["user_id"])
    if side == "pro":
        users = [_user(1001, email="user1@prod.com"), _user(1002), _user(1003),
                 _user(1004, updated_at=T0 + dt.timedelta(days=1)), _user(1005, tags={"b", "a"})]
    else:
        users = [_user(1001, email="user1@test.com"), _user(1002), _user(1004), _user(1005), _user(1006)]
    server.insert_many(keyspace, "user_data", users)

    server.create_type(keyspace, "address", {"street": "text", "zip": "int"})
    server.create_table(keyspace, "all_types", ALL_TYPE_COLUMNS, primary_key=["id"])
    row = dict(ALL_TYPES_ROW)
    second = dict(ALL_TYPES_ROW, id="row2")
    if side == "test":
        # same values, other representation: decimal scale, set order, map order
        row.update(c_decimal=decimal.Decimal("1.5"), c_set={"y", "x"}, c_map={"a": 1, "b": 2})
        second.update(c_timestamp=dt.datetime(2021, 1, 1, 8, 0, 1, tzinfo=dt.timezone.utc),
                      c_list=[1, 2, 3], c_udt={"street": "Main", "zip": 54321}, c_decimal=decimal.Decimal("1.51"),
                      c_map={"a": 1, "b": 3}, c_set={"x"}, c_tuple=(1, "uno"), c_blob=b"\x01\x03")
    server.insert_many(keyspace, "all_types", [row, second])

    for type_name, (_, stored) in KEY_TYPES.items():
        table = f"key_{type_name}"
        server.create_table(keyspace, table, {"k": type_name, "v": "text"}, primary_key=["k"])
        server.insert(keyspace, table, {"k": stored, "v": "same"})

    server.create_table(keyspace, "events", {"tenant": "text", "day": "int", "seq": "int", "payload": "text"},
                        primary_key=[["tenant", "day"], "seq"])
    for tenant in ("t1", "t2"):
        for day in (1, 2):
            for seq in (1, 2):
                payload = f"{tenant}/{day}/{seq}"
                if side == "test" and (tenant, day, seq) == ("t2", 2, 2):
                    payload = "changed"
                server.insert(keyspace, "events", {"tenant": tenant, "day": day, "seq": seq, "payload": payload})

    doc_columns = {"doc_id": "text", "content": "text", "status": "text"}
    docs = [(1609459200, "hello", "ok"), (1609545600, "world", "ok"), (1610064000, "again", "ok"),
            (1700000000, "late", "ok")]
    if side == "pro":
        for shard in range(SHARDS):
            server.create_table(keyspace, f"docs_{shard}", doc_columns, primary_key=["doc_id"])
        for seconds, content, status in docs:
            shard = (seconds // INTERVAL) % SHARDS
            server.insert(keyspace, f"docs_{shard}", {"doc_id": doc_key(seconds), "content": content, "status": status})
        # a 13-digit (milliseconds) key
        ms = 1609459200123
        server.insert(keyspace, f"docs_{(ms // 1000 // INTERVAL) % SHARDS}",
                      {"doc_id": f"order-{ms}", "content": "millis", "status": "ok"})
    else:
        server.create_table(keyspace, "docs", doc_columns, primary_key=["doc_id"])
        for seconds, content, status in docs:
            server.insert(keyspace, "docs", {"doc_id": doc_key(seconds),
                                             "content": "changed" if seconds == 1610064000 else content,
                                             "status": status})
        server.insert(keyspace, "docs", {"doc_id": "order-1609459200123", "content": "millis", "status": "ok"})


@pytest.fixture(scope="package")
def envs():
    """{"pro": server, "test": server} started for the whole package."""
    pro = CqlTestServer(username="cassandra", password=PRO_PASSWORD, cluster_name="production-cluster")
    test = CqlTestServer(username="cassandra", password=TEST_PASSWORD, cluster_name="test-cluster")
    _build(pro, "production_ks", "pro")
    _build(test, "test_ks", "test")
    pro.start()
    test.start()
    yield {"pro": pro, "test": test}
    from chalicelib.compare.cassandra import sessions
    sessions.close_all()
    pro.stop()
    test.stop()


def side_config(server: CqlTestServer, keyspace: str, table: str, secret: str, extra: dict) -> dict:
    cfg = {"cluster_name": server.catalog.cluster_name, "datacenter": "datacenter1", "hosts": [server.host],
           "port": server.port, "username": "cassandra", "password": secret, "keyspace": keyspace,
           "table": table, "connect_timeout": 5, "request_timeout": 10}
    cfg.update(extra)
    return cfg


@pytest.fixture
def configs(envs):
    """configs(table, **overrides) -> (pro_config, test_config) for the same table name."""
    def make(table: str = "user_data", pro: dict | None = None, test: dict | None = None):
        return (side_config(envs["pro"], "production_ks", table, PRO_PASSWORD, pro or {}),
                side_config(envs["test"], "test_ks", table, TEST_PASSWORD, test or {}))
    return make


def free_port() -> int:
    """A loopback port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
