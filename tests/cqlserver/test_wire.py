"""Wire behaviour of the CQL test server, checked through the real cassandra-driver."""
import datetime as dt
import decimal
import socket
import struct
import uuid

import pytest

from tests.cqlserver import CqlTestServer
from tests.cqlserver.wire import HEADER, OPTIONS, Reader, SUPPORTED, ERROR

TIMEUUID = uuid.UUID("d2177dd0-eaa2-11de-a572-001b779c76e3")
UUID = uuid.UUID("123e4567-e89b-12d3-a456-426614174000")

# column type, value inserted, value the driver returns (None: same as inserted)
TYPE_CASES = [
    ("text", "héllo wörld", None),
    ("varchar", "varchar value", None),
    ("ascii", "plain ascii", None),
    ("int", -2147483648, None),
    ("bigint", 9223372036854775807, None),
    ("smallint", -32768, None),
    ("tinyint", 127, None),
    ("varint", 123456789012345678901234567890, None),
    ("varint", -1, None),
    ("uuid", UUID, None),
    ("timeuuid", TIMEUUID, None),
    ("timestamp", dt.datetime(2021, 1, 1, 12, 30, 45, 123000, tzinfo=dt.timezone.utc),
     dt.datetime(2021, 1, 1, 12, 30, 45, 123000)),
    ("date", dt.date(2021, 2, 28), "2021-02-28"),
    ("time", dt.time(13, 14, 15, 500), "13:14:15.000500000"),
    ("boolean", True, None),
    ("boolean", False, None),
    ("double", 3.141592653589793, None),
    ("float", 1.5, None),
    ("decimal", decimal.Decimal("-12345.678900"), None),
    ("blob", b"\x00\x01\xfe\xff", None),
    ("inet", "10.0.0.1", None),
    ("list<int>", [3, 1, 2], None),
    ("set<text>", {"b", "a"}, None),
    ("map<text, int>", {"x": 1, "y": 2}, None),
    ("tuple<int, text, boolean>", (7, "seven", True), None),
    ("frozen<map<text, frozen<list<int>>>>", {"a": [1, 2], "b": []}, None),
]


def _normalise(value):
    """Driver values to plain Python for comparison."""
    from cassandra.util import Date, SortedSet, Time, OrderedMapSerializedKey

    if isinstance(value, (Date, Time)):
        return str(value)
    if isinstance(value, SortedSet):
        return set(value)
    if isinstance(value, OrderedMapSerializedKey):
        return {k: _normalise(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_normalise(v) for v in value]
    return value


@pytest.mark.parametrize("cql_type, value, expected", TYPE_CASES,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(TYPE_CASES)])
def test_every_type_round_trips_as_a_column_value(server, connect, cql_type, value, expected):
    server.create_table("ks", "typed", {"id": "int", "v": cql_type}, primary_key=["id"])
    server.insert("ks", "typed", {"id": 1, "v": value})
    session = connect(server)

    row = session.execute("SELECT v FROM ks.typed WHERE id = 1").one()

    assert _normalise(row.v) == (value if expected is None else expected)


KEY_CASES = [
    ("text", "key-1"), ("varchar", "k"), ("ascii", "k"), ("int", 42), ("bigint", 1609459200123),
    ("smallint", 7), ("varint", 10**30), ("uuid", UUID), ("timeuuid", TIMEUUID),
    ("timestamp", dt.datetime(2021, 1, 1, tzinfo=dt.timezone.utc)), ("date", dt.date(2021, 1, 1)),
    ("boolean", True), ("double", 2.5), ("float", 0.25), ("decimal", decimal.Decimal("1.50")),
    ("blob", b"\xca\xfe"),
]


@pytest.mark.parametrize("key_type, key", KEY_CASES, ids=[c[0] for c in KEY_CASES])
def test_every_key_type_is_found_by_prepared_equality_and_in(server, connect, key_type, key):
    server.create_table("ks", "keyed", {"k": key_type, "v": "text"}, primary_key=["k"])
    server.insert("ks", "keyed", {"k": key, "v": "found"})
    session = connect(server)

    by_eq = session.execute(session.prepare("SELECT v FROM ks.keyed WHERE k = ?"), [key]).all()
    by_in = session.execute(session.prepare("SELECT v FROM ks.keyed WHERE k IN ?"), [[key]]).all()

    assert [r.v for r in by_eq] == ["found"]
    assert [r.v for r in by_in] == ["found"]


def test_udt_column_round_trips_with_its_fields(server, connect):
    server.create_type("ks", "address", {"street": "text", "zip": "int"})
    server.create_table("ks", "people", {"id": "int", "home": "frozen<address>"}, primary_key=["id"])
    server.insert("ks", "people", {"id": 1, "home": {"street": "Main St", "zip": 12345}})
    session = connect(server)

    home = session.execute("SELECT home FROM ks.people WHERE id = 1").one().home

    assert (home.street, home.zip) == ("Main St", 12345)
    assert session.cluster.metadata.keyspaces["ks"].user_types["address"].field_names == ["street", "zip"]


def test_null_cells_come_back_as_none(server, connect):
    server.insert("ks", "user_data", {"user_id": 99, "name": None})
    session = connect(server)

    row = session.execute("SELECT name, score FROM ks.user_data WHERE user_id = 99").one()

    assert (row.name, row.score) == (None, None)


def test_connect_without_auth_reads_cluster_metadata(server, connect):
    session = connect(server)

    metadata = session.cluster.metadata
    assert metadata.cluster_name == "Test Cluster"
    assert [h.datacenter for h in metadata.all_hosts()] == ["datacenter1"]
    table = metadata.keyspaces["ks"].tables["user_data"]
    assert [c.name for c in table.partition_key] == ["user_id"]
    assert table.columns["name"].cql_type == "text"


def test_driver_negotiates_down_to_protocol_v4(server):
    from cassandra.cluster import EXEC_PROFILE_DEFAULT, Cluster, ExecutionProfile
    from cassandra.policies import DCAwareRoundRobinPolicy

    profile = ExecutionProfile(load_balancing_policy=DCAwareRoundRobinPolicy(local_dc="datacenter1"))
    cluster = Cluster([server.host], port=server.port, execution_profiles={EXEC_PROFILE_DEFAULT: profile})
    try:
        cluster.connect()
        assert cluster.protocol_version == 4
    finally:
        cluster.shutdown()


def test_connect_with_metadata_disabled_still_queries(server, connect):
    session = connect(server, schema_metadata_enabled=False, token_metadata_enabled=False)

    assert session.execute("SELECT name FROM ks.user_data WHERE user_id = 2").one().name == "user2"


def test_correct_credentials_authenticate(auth_server, connect):
    from cassandra.auth import PlainTextAuthProvider

    session = connect(auth_server, auth_provider=PlainTextAuthProvider("cassandra", "s3cret"))

    assert session.execute("SELECT v FROM ks.t WHERE k = 'a'").one().v == 1


@pytest.mark.parametrize("username, password", [("cassandra", "wrong"), ("nobody", "s3cret")])
def test_wrong_credentials_raise_authentication_failed(auth_server, connect, username, password):
    from cassandra import AuthenticationFailed
    from cassandra.auth import PlainTextAuthProvider
    from cassandra.cluster import NoHostAvailable

    with pytest.raises(NoHostAvailable) as caught:
        connect(auth_server, auth_provider=PlainTextAuthProvider(username, password))

    (error,) = caught.value.errors.values()
    assert isinstance(error, AuthenticationFailed)
    assert f"Provided username {username} and/or password are incorrect" in str(error)


def test_missing_credentials_on_auth_server_raise_authentication_failed(auth_server, connect):
    from cassandra import AuthenticationFailed
    from cassandra.cluster import NoHostAvailable

    with pytest.raises(NoHostAvailable) as caught:
        connect(auth_server)

    (error,) = caught.value.errors.values()
    assert isinstance(error, AuthenticationFailed)


def test_select_by_equality_returns_the_row(server, connect):
    session = connect(server)

    rows = session.execute("SELECT * FROM ks.user_data WHERE user_id = 5").all()

    assert [(r.user_id, r.name, r.score) for r in rows] == [(5, "user5", 2.5)]


def test_select_star_orders_key_columns_first(server, connect):
    session = connect(server)

    result = session.execute("SELECT * FROM ks.user_data WHERE user_id = 5")

    assert result.column_names == ["user_id", "name", "score"]


def test_select_in_literal_list_skips_missing_keys(server, connect):
    session = connect(server)

    rows = session.execute("SELECT user_id FROM ks.user_data WHERE user_id IN (3, 1, 999)").all()

    assert [r.user_id for r in rows] == [3, 1]


def test_driver_side_parameters_are_bound_as_literals(server, connect):
    from cassandra.query import ValueSequence

    session = connect(server)

    rows = session.execute("SELECT name FROM ks.user_data WHERE user_id IN %s", [ValueSequence([4, 6])]).all()

    assert [r.name for r in rows] == ["user4", "user6"]


def test_prepared_in_marker_and_list_of_markers_select_rows(server, connect):
    session = connect(server)
    in_list = session.prepare("SELECT user_id, name FROM ks.user_data WHERE user_id IN ?")
    markers = session.prepare("SELECT user_id FROM ks.user_data WHERE user_id IN (?, ?, ?)")

    assert [r.name for r in session.execute(in_list, [[7, 8, 1000]])] == ["user7", "user8"]
    assert [r.user_id for r in session.execute(markers, [9, 10, 11])] == [9, 10, 11]


def test_prepared_metadata_describes_bind_variables_and_routing(server, connect):
    session = connect(server)

    by_eq = session.prepare("SELECT * FROM ks.user_data WHERE user_id = ?")
    by_in = session.prepare("SELECT name FROM ks.user_data WHERE user_id IN ?")

    assert [(c.name, c.type.typename) for c in by_eq.column_metadata] == [("user_id", "int")]
    assert by_eq.routing_key_indexes == [0]
    assert [(c.name, c.type.cql_parameterized_type()) for c in by_in.column_metadata] == \
        [("in(user_id)", "list<int>")]
    assert [c[2] for c in by_in.result_metadata] == ["name"]


def test_composite_partition_key_with_equality_and_in(server, connect):
    server.create_table("ks", "events", {"tenant": "text", "day": "int", "seq": "int", "payload": "text"},
                        primary_key=[["tenant", "day"], "seq"])
    for tenant in ("t1", "t2"):
        for day in (1, 2, 3):
            for seq in (1, 2):
                server.insert("ks", "events",
                              {"tenant": tenant, "day": day, "seq": seq, "payload": f"{tenant}/{day}/{seq}"})
    session = connect(server)

    eq_in = session.prepare("SELECT payload FROM ks.events WHERE tenant = ? AND day IN ?")
    in_eq = session.prepare("SELECT payload FROM ks.events WHERE tenant IN (?, ?) AND day = ? AND seq = ?")

    assert [r.payload for r in session.execute(eq_in, ["t1", [3, 1]])] == ["t1/3/1", "t1/3/2", "t1/1/1", "t1/1/2"]
    assert [r.payload for r in session.execute(in_eq, ["t2", "t1", 2, 2])] == ["t2/2/2", "t1/2/2"]


def test_use_keyspace_lets_queries_omit_it(server, connect):
    session = connect(server, keyspace="ks")

    assert session.execute("SELECT name FROM user_data WHERE user_id = 1").one().name == "user1"
    prepared = session.prepare("SELECT name FROM user_data WHERE user_id = ?")
    assert session.execute(prepared, [2]).one().name == "user2"


@pytest.mark.parametrize("prepared", [False, True], ids=["simple", "prepared"])
def test_paging_returns_every_row_across_pages(server, connect, prepared):
    from cassandra.query import SimpleStatement

    session = connect(server)
    query = "SELECT user_id FROM ks.user_data WHERE user_id IN (%s)" % ", ".join(map(str, range(1, 26)))
    statement = session.prepare(query) if prepared else SimpleStatement(query)
    statement.fetch_size = 10

    result = session.execute(statement)
    first_page = list(result.current_rows)
    all_ids = [first_page_row.user_id for first_page_row in first_page] + [r.user_id for r in list(result)[10:]]

    assert len(first_page) == 10
    assert result.paging_state is None  # exhausted after iterating
    assert all_ids == list(range(1, 26))


def test_paging_state_resumes_a_query(server, connect):
    from cassandra.query import SimpleStatement

    session = connect(server)
    statement = SimpleStatement("SELECT user_id FROM ks.user_data WHERE user_id IN (1, 2, 3, 4, 5)", fetch_size=2)

    first = session.execute(statement)
    second = session.execute(statement, paging_state=first.paging_state)

    assert [r.user_id for r in first.current_rows] == [1, 2]
    assert [r.user_id for r in second.current_rows] == [3, 4]


def test_limit_caps_rows(server, connect):
    session = connect(server)

    assert len(session.execute("SELECT * FROM ks.user_data LIMIT 4").all()) == 4


@pytest.mark.parametrize("query, message", [
    ("SELECT * FROM nope.user_data WHERE user_id = 1", "Keyspace 'nope' does not exist"),
    ("SELECT * FROM ks.nope WHERE user_id = 1", "table nope does not exist"),
    ("SELECT missing FROM ks.user_data WHERE user_id = 1", "Undefined column name missing"),
    ("SELECT * FROM ks.user_data WHERE missing = 1", "Undefined column name missing"),
])
@pytest.mark.parametrize("prepared", [False, True], ids=["simple", "prepared"])
def test_unknown_names_answer_invalid_request(server, connect, query, message, prepared):
    from cassandra import InvalidRequest

    session = connect(server)

    with pytest.raises(InvalidRequest) as caught:
        session.prepare(query) if prepared else session.execute(query)

    assert "code=2200" in str(caught.value)
    assert message in str(caught.value)


def test_literal_of_the_wrong_type_answers_invalid_request(server, connect):
    from cassandra import InvalidRequest

    session = connect(server)

    with pytest.raises(InvalidRequest, match="Invalid STRING constant"):
        session.execute("SELECT * FROM ks.user_data WHERE user_id = 'text'")


def test_unsupported_statement_is_a_syntax_error(server, connect):
    from cassandra.protocol import SyntaxException

    session = connect(server)

    with pytest.raises(SyntaxException):
        session.execute("INSERT INTO ks.user_data (user_id) VALUES (1)")


def test_forgotten_prepared_statement_is_reprepared_by_the_driver(server, connect):
    session = connect(server)
    prepared = session.prepare("SELECT name FROM ks.user_data WHERE user_id = ?")
    server._prepared.clear()

    assert session.execute(prepared, [3]).one().name == "user3"
    assert [s[0] for s in server.user_statements()][-3:] == ["EXECUTE", "PREPARE", "EXECUTE"]


def test_many_concurrent_requests_over_the_pool(server, connect):
    from cassandra.concurrent import execute_concurrent_with_args

    session = connect(server)
    prepared = session.prepare("SELECT name FROM ks.user_data WHERE user_id = ?")

    results = execute_concurrent_with_args(session, prepared, [(i % 30 + 1,) for i in range(300)],
                                           concurrency=50)

    assert all(ok for ok, _ in results)
    assert [r.one().name for _, r in results] == [f"user{i % 30 + 1}" for i in range(300)]


def test_two_instances_hold_their_own_data(server, connect):
    other = CqlTestServer()
    other.create_table("ks", "user_data", {"user_id": "int", "name": "text", "score": "double"},
                       primary_key=["user_id"])
    other.insert("ks", "user_data", {"user_id": 1, "name": "other"})
    other.start()
    try:
        prod, test = connect(server), connect(other)
        query = "SELECT name FROM ks.user_data WHERE user_id = 1"
        assert (prod.execute(query).one().name, test.execute(query).one().name) == ("user1", "other")
    finally:
        other.stop()


def test_delay_makes_the_driver_time_out(server, connect):
    from cassandra import OperationTimedOut

    session = connect(server)
    server.delay = 0.5

    with pytest.raises(OperationTimedOut):
        session.execute("SELECT * FROM ks.user_data WHERE user_id = 1", timeout=0.1)


def test_stopped_server_refuses_connections(server, connect):
    from cassandra.cluster import NoHostAvailable

    server.stop()

    with pytest.raises(NoHostAvailable):
        connect(server)


def _raw_request(port: int, version: int, opcode: int, body: bytes = b"") -> tuple:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(HEADER.pack(version, 0, 1, opcode, len(body)) + body)
        header = b""
        while len(header) < HEADER.size:
            header += sock.recv(HEADER.size - len(header))
        rversion, _, stream, ropcode, length = HEADER.unpack(header)
        payload = b""
        while len(payload) < length:
            payload += sock.recv(length - len(payload))
    return rversion, stream, ropcode, payload


def test_options_heartbeat_answers_supported(server):
    version, stream, opcode, body = _raw_request(server.port, 4, OPTIONS)

    reader = Reader(body)
    options = {reader.string(): reader.string_list() for _ in range(reader.short())}
    assert (version, stream, opcode) == (0x84, 1, SUPPORTED)
    assert options["CQL_VERSION"] == ["3.4.4"]


def test_unsupported_protocol_version_answers_protocol_error(server):
    _, _, opcode, body = _raw_request(server.port, 5, OPTIONS)

    code, = struct.unpack(">i", body[:4])
    assert (opcode, code) == (ERROR, 0x000A)
    assert b"unsupported protocol version" in body
