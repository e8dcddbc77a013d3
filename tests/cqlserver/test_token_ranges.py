"""token() range reads on the CQL test server, checked against the driver's
own Murmur3 tokens (the ones a real Cassandra ring uses)."""
from __future__ import annotations

import pytest

from tests.cqlserver import CqlTestServer


def _driver_token(session, table: str, key: tuple) -> int:
    from cassandra.metadata import Murmur3Token
    prepared = session.prepare(f"SELECT * FROM ks.{table} WHERE " +
                               " AND ".join(f"{c} = ?" for c in ("user_id",)))
    return Murmur3Token.from_key(prepared.bind(key).routing_key).value


def test_token_ranges_split_a_table_into_disjoint_parts_in_token_order(server, connect):
    session = connect(server)
    ranged = session.prepare("SELECT user_id FROM ks.user_data WHERE token(user_id) > ? AND token(user_id) <= ?")
    everything = session.execute(ranged, (-2 ** 63, 2 ** 63 - 1))
    ids = [r.user_id for r in everything]
    assert sorted(ids) == list(range(1, 31))
    tokens = [_driver_token(session, "user_data", (i,)) for i in ids]
    assert tokens == sorted(tokens)
    cut = tokens[10]
    low = [r.user_id for r in session.execute(ranged, (-2 ** 63, cut))]
    high = [r.user_id for r in session.execute(ranged, (cut, 2 ** 63 - 1))]
    assert low == ids[:11] and high == ids[11:]


def test_token_range_reads_page_like_any_other_read(server, connect):
    from cassandra.query import SimpleStatement
    session = connect(server)
    stmt = SimpleStatement("SELECT user_id FROM ks.user_data WHERE token(user_id) > -9223372036854775808",
                           fetch_size=7)
    rs = session.execute(stmt)
    assert len(rs.current_rows) == 7
    assert sorted(r.user_id for r in rs) == list(range(1, 31))


def test_token_of_other_columns_than_the_partition_key_is_refused(server, connect):
    from cassandra import InvalidRequest
    session = connect(server)
    with pytest.raises(InvalidRequest, match="partition key"):
        session.execute("SELECT * FROM ks.user_data WHERE token(name) > 0")
