"""Cassandra's restriction rules as the product applies them, from a table's primary key."""
from __future__ import annotations

import pytest

from chalicelib.compare.cassandra.schema import TableSchema, cql_name, query_shape
from chalicelib.errors import ValidationError

EVENTS = TableSchema("ks", "events", {"tenant": "text", "day": "int", "seq": "int", "kind": "int",
                                      "payload": "text", "tags": "set<text>", "frozen_tags": "frozen<set<text>>"},
                     ["tenant", "day"], ["seq", "kind"], ["frozen_tags", "payload", "tags"])


@pytest.mark.parametrize("key_columns, fields, where, rows_by", [
    (["tenant", "day"], [], "tenant = ? AND day IN ?", ["seq", "kind"]),
    (["day", "tenant"], [], "tenant = ? AND day IN ?", ["seq", "kind"]),
    (["tenant", "day", "seq"], ["payload"], "tenant = ? AND day = ? AND seq IN ?", ["kind"]),
    (["tenant", "day", "seq", "kind"], ["payload", "frozen_tags"],
     "tenant = ? AND day = ? AND seq = ? AND kind IN ?", []),
    (["tenant", "day", "seq"], [], "tenant = ? AND day = ? AND seq = ?", ["kind"]),   # * selects a set: no IN
    (["tenant", "day", "seq"], ["tags"], "tenant = ? AND day = ? AND seq = ?", ["kind"]),
])
def test_accepted_shapes_bind_equality_then_in_where_cassandra_allows_it(key_columns, fields, where, rows_by):
    shape = query_shape(EVENTS, key_columns, fields)

    assert shape.where(cql_name) == where
    assert shape.row_columns == rows_by


@pytest.mark.parametrize("key_columns, fields, message", [
    (["payload"], [], "payload is not part of the primary key"),
    (["tenant"], [], "missing day"),
    (["seq", "kind"], [], "missing tenant, day"),
    (["tenant", "day", "kind"], [], "clustering column kind cannot be restricted as preceding clustering column seq"),
    (["nope"], [], "nope is not a column of ks.events"),
    (["tenant", "day"], ["nope"], "fields_to_compare: nope not in ks.events"),
])
def test_refused_shapes_name_what_is_missing(key_columns, fields, message):
    with pytest.raises(ValidationError) as err:
        query_shape(EVENTS, key_columns, fields)

    assert message in err.value.message
