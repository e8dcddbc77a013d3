"""The CQL test server behaves as Cassandra where the comparison tests rely on it:
restriction refusals (with Cassandra's error codes), null for empty collections,
paging by paging state, consistency levels, a lagging replica and read timeouts."""
from __future__ import annotations

import pytest

from tests.cqlserver import CqlTestServer

INVALID = 0x2200


@pytest.fixture
def wide():
    srv = CqlTestServer()
    srv.create_table("ks", "events", {"tenant": "text", "day": "int", "seq": "int", "kind": "int",
                                      "payload": "text", "tags": "set<text>", "frozen_tags": "frozen<set<text>>",
                                      "items": "list<int>", "attrs": "map<text, int>"},
                     primary_key=[["tenant", "day"], "seq", "kind"])
    for seq in range(1, 7):
        srv.insert("ks", "events", {"tenant": "t", "day": 1, "seq": seq, "kind": 0, "payload": f"p{seq}",
                                    "tags": set(), "frozen_tags": set(), "items": [], "attrs": {}})
    srv.start()
    yield srv
    srv.stop()


@pytest.mark.parametrize("where, message", [
    ("payload = 'p1'", "ALLOW FILTERING"),                                   # a regular column
    ("tenant = 't'", "Partition key parts: day must be restricted as other parts are"),  # half a partition key
    ("seq = 1", "ALLOW FILTERING"),                                          # a clustering column alone
    ("tenant = 't' AND day = 1 AND kind = 0", 'PRIMARY KEY column "kind" cannot be restricted as preceding '
                                              'column "seq" is not restricted'),
], ids=["regular-column", "partial-partition-key", "clustering-only", "clustering-gap"])
def test_restrictions_cassandra_refuses_are_refused_with_its_code(wide, connect, where, message):
    from cassandra import InvalidRequest

    session = connect(wide)
    for run in (lambda q: session.execute(q), lambda q: session.prepare(q)):
        with pytest.raises(InvalidRequest) as err:
            run(f"SELECT * FROM ks.events WHERE {where}")
        assert message in str(err.value) and f"code={INVALID:x}" in str(err.value)


def test_allow_filtering_lifts_the_filtering_refusal(wide, connect):
    session = connect(wide)

    rows = session.execute("SELECT seq FROM ks.events WHERE payload = 'p2' ALLOW FILTERING").all()

    assert [r.seq for r in rows] == [2]


def test_in_on_a_clustering_column_is_refused_when_a_collection_is_selected(wide, connect):
    from cassandra import InvalidRequest

    session = connect(wide)
    base = "FROM ks.events WHERE tenant = 't' AND day = 1 AND seq IN (1, 2)"

    with pytest.raises(InvalidRequest, match="when a collection is selected"):
        session.execute(f"SELECT * {base}")
    assert len(session.execute(f"SELECT seq, payload, frozen_tags {base}").all()) == 2


def test_empty_collections_read_back_as_null_and_frozen_ones_stay_empty(wide, connect):
    session = connect(wide)

    row = session.execute("SELECT tags, items, attrs, frozen_tags FROM ks.events "
                          "WHERE tenant = 't' AND day = 1 AND seq = 1 AND kind = 0").one()

    assert (row.tags, row.items, row.attrs) == (None, None, None)
    assert row.frozen_tags is not None and len(row.frozen_tags) == 0


def test_paging_state_resumes_after_the_last_row_returned_not_at_an_offset(wide, connect):
    from cassandra.query import SimpleStatement

    session = connect(wide)
    statement = SimpleStatement("SELECT seq FROM ks.events WHERE tenant = 't' AND day = 1", fetch_size=3)
    first = session.execute(statement)
    wide.insert("ks", "events", {"tenant": "t", "day": 1, "seq": 0, "kind": 0, "payload": "early"})

    second = session.execute(statement, paging_state=first.paging_state)

    assert [r.seq for r in first.current_rows] == [1, 2, 3]
    assert [r.seq for r in second.current_rows] == [4, 5, 6]  # an offset would repeat 3


def test_a_paging_state_of_another_query_is_refused(wide, connect):
    from cassandra.protocol import ProtocolException
    from cassandra.query import SimpleStatement

    session = connect(wide)
    first = session.execute(SimpleStatement("SELECT seq FROM ks.events WHERE tenant = 't' AND day = 1",
                                            fetch_size=2))

    with pytest.raises(ProtocolException, match="paging state"):
        session.execute(SimpleStatement("SELECT payload FROM ks.events WHERE tenant = 't' AND day = 1",
                                        fetch_size=2), paging_state=first.paging_state)


@pytest.mark.parametrize("level", ["ONE", "LOCAL_ONE", "QUORUM", "LOCAL_QUORUM", "ALL", "SERIAL"])
def test_read_consistency_levels_are_accepted_and_recorded(wide, connect, level):
    from cassandra import ConsistencyLevel
    from cassandra.query import SimpleStatement

    session = connect(wide)
    statement = SimpleStatement("SELECT seq FROM ks.events WHERE tenant = 't' AND day = 1",
                                consistency_level=ConsistencyLevel.name_to_value[level])

    assert len(session.execute(statement).all()) == 6
    assert wide.user_statements("QUERY")[-1][3] == level


@pytest.mark.parametrize("level", ["ANY", "EACH_QUORUM"])
def test_write_only_consistency_levels_are_refused_for_reads(wide, connect, level):
    from cassandra import ConsistencyLevel, InvalidRequest
    from cassandra.query import SimpleStatement

    session = connect(wide)
    statement = SimpleStatement("SELECT seq FROM ks.events WHERE tenant = 't' AND day = 1",
                                consistency_level=ConsistencyLevel.name_to_value[level])

    with pytest.raises(InvalidRequest, match="only supported for writes"):
        session.execute(statement)


def test_a_stale_replica_is_seen_by_weak_reads_only_until_it_catches_up(wide, connect):
    from cassandra import ConsistencyLevel
    from cassandra.query import SimpleStatement

    session = connect(wide)
    query = "SELECT seq, payload FROM ks.events WHERE tenant = 't' AND day = 1"
    wide.make_stale("ks", "events", {("t", 1, 2, 0): {"payload": "old"}, ("t", 1, 3, 0): None}, reads=1)

    def read(level):
        stmt = SimpleStatement(query, consistency_level=ConsistencyLevel.name_to_value[level])
        return {r.seq: r.payload for r in session.execute(stmt)}

    strong = read("LOCAL_QUORUM")
    weak = read("LOCAL_ONE")
    caught_up = read("LOCAL_ONE")

    assert strong[2] == "p2" and 3 in strong
    assert weak[2] == "old" and 3 not in weak
    assert caught_up == strong


@pytest.mark.parametrize("error, exception", [
    ("read_timeout", "ReadTimeout"), ("unavailable", "Unavailable"), ("read_failure", "ReadFailure")])
def test_the_server_can_be_told_to_fail_reads_as_a_coordinator_does(wide, connect, error, exception):
    import cassandra

    session = connect(wide)
    wide.time_out_reads(count=1, error=error)
    query = "SELECT seq FROM ks.events WHERE tenant = 't' AND day = 1"

    from cassandra.cluster import NoHostAvailable

    # the driver's retry policy tries the next host after Unavailable: then it reports NoHostAvailable
    with pytest.raises((getattr(cassandra, exception), NoHostAvailable)) as err:
        session.execute(query)
    assert exception in repr(err.value)
    assert len(session.execute(query).all()) == 6  # only the next read failed
