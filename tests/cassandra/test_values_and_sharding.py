"""Key conversion, value normalisation, shard routing and the session cache (no HTTP)."""
from __future__ import annotations

import datetime as dt
import decimal
import uuid

import pytest

from chalicelib.compare.cassandra.engine import cql_name
from chalicelib.compare.cassandra.sharding import extract_timestamp, plan_side, shard_table
from chalicelib.compare.cassandra.values import convert_key, key_identity, normalise
from chalicelib.compare.core.values import to_display


@pytest.mark.parametrize("text, cql_type, expected", [
    ("1001", "int", 1001),
    (" -5 ", "bigint", -5),
    ("123456789012345678901234567890", "varint", 123456789012345678901234567890),
    ("1.50", "decimal", decimal.Decimal("1.50")),
    ("TRUE", "boolean", True),
    ("0", "boolean", False),
    (" on ", "boolean", True),      # the same words as settings and query parameters (chalicelib.textbool)
    ("Off", "boolean", False),
    ("1609459200", "timestamp", dt.datetime(2021, 1, 1, tzinfo=dt.timezone.utc)),
    ("1609459200123", "timestamp", dt.datetime(2021, 1, 1, 0, 0, 0, 123000, tzinfo=dt.timezone.utc)),
    ("2021-01-01 08:00:00+0800", "timestamp", dt.datetime(2021, 1, 1, tzinfo=dt.timezone.utc)),
    ("2021-01-01", "date", dt.date(2021, 1, 1)),
    ("0xCAFE", "blob", b"\xca\xfe"),
    ("cafe", "blob", b"\xca\xfe"),
    ("123e4567-e89b-12d3-a456-426614174000", "uuid", uuid.UUID("123e4567-e89b-12d3-a456-426614174000")),
    ("héllo", "text", "héllo"),
])
def test_key_strings_convert_to_their_cql_type(text, cql_type, expected):
    assert convert_key(text, cql_type) == expected


@pytest.mark.parametrize("text, cql_type", [
    ("1.5", "int"), ("40000", "smallint"), ("x", "double"), ("héllo", "ascii"), ("nan", "decimal"),
    ("123e4567-e89b-42d3-a456-426614174000", "timeuuid"), ("1", "list<int>"),
])
def test_unconvertible_key_strings_raise_value_error(text, cql_type):
    with pytest.raises(ValueError):
        convert_key(text, cql_type)


def test_float_keys_round_to_what_a_float_column_stores():
    assert convert_key("0.1", "float") != 0.1
    assert key_identity(convert_key("0.1", "float")) == key_identity(float.fromhex("0x1.99999ap-4"))


def test_normalise_makes_equal_values_equal():
    naive = dt.datetime(2021, 1, 1, 8, 0)
    aware = dt.datetime(2021, 1, 1, 16, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    assert normalise(naive) == normalise(aware) == "2021-01-01T08:00:00.000Z"
    assert normalise({"b", "a"}) == normalise({"a", "b"}) == ["a", "b"]
    assert normalise([2, 1]) != normalise([1, 2])
    assert normalise({"b": 1, "a": 2}) == {"a": 2, "b": 1}
    assert normalise(b"\x00\xff") == b"\x00\xff" and to_display(normalise(b"ab")) == {"base64": "YWI="}
    assert normalise((1, "x")) == [1, "x"]


def test_normalise_turns_udts_into_objects():
    from collections import namedtuple
    address = namedtuple("address", ["street", "zip"])
    assert normalise(address("Main", 1)) == {"street": "Main", "zip": 1}


@pytest.mark.parametrize("value, seconds", [
    ("wmid_1609459200", 1609459200),
    ("order-1609459200123-x", 1609459200),
    ("1609459200", 1609459200),
    ("a12345678901b", None),  # 11 digits: neither
    ("wmid_abc", None),
])
def test_timestamp_is_taken_from_the_key(value, seconds):
    assert extract_timestamp(value) == seconds


def test_shard_is_timestamp_over_interval_modulo_table_count():
    assert shard_table("user_data", 1609459200, 604800, 14) == f"user_data_{(1609459200 // 604800) % 14}"
    plan = plan_side("t", ["k_1609459200", "nope"], True, 86400, 7)
    assert plan.table_of == {0: f"t_{(1609459200 // 86400) % 7}"} and plan.failed == [1]
    assert plan_side("t", ["nope"], False, 86400, 7).table_of == {0: "t"}


@pytest.mark.parametrize("name, cql", [("user_id", "user_id"), ("UserId", '"UserId"'), ("select", '"select"'),
                                       ("my col", '"my col"')])
def test_identifiers_are_quoted_only_when_needed(name, cql):
    assert cql_name(name) == cql


def test_sessions_are_cached_per_config_and_closed_when_idle(envs, configs):
    from chalicelib.compare.cassandra import sessions
    from chalicelib.compare.cassandra.config import CassandraConfig

    pro, _ = configs()
    cfg = CassandraConfig.model_validate(pro)
    with sessions.get_session(cfg, "pro") as first, sessions.get_session(cfg, "pro") as again:
        assert first.session is again.session
        other = CassandraConfig.model_validate({**pro, "request_timeout": 11})
        with sessions.get_session(other, "pro", idle_seconds=0.0) as busy:
            assert not first.session.cluster.is_shutdown  # in use: not idle
    with sessions.get_session(other, "pro", idle_seconds=0.0) as fresh:  # closes every idle session first
        assert fresh.session is not busy.session
    assert first.session.cluster.is_shutdown
