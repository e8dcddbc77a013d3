"""POST /api/query tells true things: rows matched by primary key, keys by typed value,
Cassandra's restriction rules checked before querying, consistency levels and recheck,
exact values with formatting differences as their own class, binary-safe values."""
from __future__ import annotations

import decimal
import itertools

import pytest

from tests.cassandra.conftest import PRO_PASSWORD, TEST_PASSWORD, side_config

_names = itertools.count()


@pytest.fixture
def twin(envs):
    """twin(columns, primary_key, pro_rows, test_rows) -> table name created on both sides."""
    made = []

    def make(columns, primary_key, pro_rows, test_rows):
        name = f"fid_{next(_names)}"
        for side, ks, rows in (("pro", "production_ks", pro_rows), ("test", "test_ks", test_rows)):
            envs[side].create_table(ks, name, columns, primary_key=primary_key)
            envs[side].insert_many(ks, name, rows)
        made.append(name)
        return name

    yield make
    for name in made:
        envs["pro"].drop_table("production_ks", name)
        envs["test"].drop_table("test_ks", name)


def _query(api, envs, table, pro=None, test=None, **body):
    payload = {"pro_config": side_config(envs["pro"], "production_ks", table, PRO_PASSWORD, pro or {}),
               "test_config": side_config(envs["test"], "test_ks", table, TEST_PASSWORD, test or {})}
    payload.update(body)
    return api.post("/api/query", payload)


EVENTS = {"tenant": "text", "day": "int", "seq": "int", "kind": "int", "payload": "text"}


def _events(seqs, tenant="t1", day=1, payload=lambda s: f"p{s}"):
    return [{"tenant": tenant, "day": day, "seq": s, "kind": 0, "payload": payload(s)} for s in seqs]


# ---------------------------------------------------------------- Cassandra's rules, checked first

@pytest.mark.parametrize("key_columns, values, named", [
    (["payload"], ["p1"], "payload is not part of the primary key"),
    (["tenant"], ["t1"], "missing day"),
    (["seq"], ["1"], "missing tenant, day"),
    (["day", "seq"], [["1", "1"]], "missing tenant"),
    (["tenant", "day", "kind"], [["t1", "1", "0"]], "clustering column kind cannot be restricted as preceding "
                                                    "clustering column seq is not"),
], ids=["regular-column", "half-partition-key", "clustering-only", "clustering-without-partition", "clustering-gap"])
def test_a_query_cassandra_would_refuse_is_a_400_before_any_data_query(api, envs, twin, key_columns, values,
                                                                       named):
    table = twin(EVENTS, [["tenant", "day"], "seq", "kind"], _events([1]), _events([1]))
    before = {s: len(envs[s].statements) for s in ("pro", "test")}

    r = _query(api, envs, table, keys=key_columns, values=values)

    assert r.status == 400, r.json
    assert r.error["code"] == "VALIDATION_ERROR" and named in r.error["message"]
    for side in ("pro", "test"):
        keyspace = "production_ks" if side == "pro" else "test_ks"
        sent = [s for s in envs[side].statements[before[side]:] if f"FROM {keyspace}.{table}" in s[1]]
        assert sent == []  # only the schema was read


def test_keys_given_in_another_order_are_queried_in_primary_key_order(api, envs, twin):
    table = twin(EVENTS, [["tenant", "day"], "seq", "kind"], _events([1, 2]), _events([1, 2]))

    r = _query(api, envs, table, keys=["day", "tenant"], values=[["1", "t1"]])

    assert r.status == 200, r.json
    assert r.data["queries"]["pro"] == [f"SELECT * FROM production_ks.{table} WHERE tenant = ? AND day IN ?"]
    assert r.data["identical_count"] == 1 and r.data["identical_results"][0]["key"] == {"day": "1", "tenant": "t1"}


# ---------------------------------------------------------------- rows matched by primary key

def test_a_row_missing_in_a_wide_partition_is_one_missing_row_not_shifted_fields(api, envs, twin):
    table = twin(EVENTS, [["tenant", "day"], "seq", "kind"], _events([1, 2, 3, 4]), _events([1, 3, 4]))

    r = _query(api, envs, table, keys=["tenant", "day"], values=[["t1", "1"]])

    assert r.status == 200, r.json
    d = r.data
    assert [(x["difference_type"], x["row"], x["missing_in"]) for x in d["differences"]] == \
        [("missing_row", {"seq": 2, "kind": 0}, "test")]
    assert d["differences"][0]["pro_value"]["payload"] == "p2" and d["differences"][0]["test_value"] is None
    assert d["field_diff_count"] == {}
    assert d["row_summary"] == {"rows_compared": 3, "rows_identical": 3, "rows_different": 0,
                                "rows_format_only": 0, "rows_missing_in_pro": 0, "rows_missing_in_test": 1}
    assert any(t.startswith("1 row of partitions present on both sides is missing in test")
               for t in d["summary"]["recommendations"])


def test_field_differences_name_the_row_they_are_in(api, envs, twin):
    table = twin(EVENTS, [["tenant", "day"], "seq", "kind"], _events([1, 2, 3]),
                 _events([1, 2, 3], payload=lambda s: "changed" if s == 3 else f"p{s}"))

    r = _query(api, envs, table, keys=["tenant", "day"], values=[["t1", "1"]])

    assert [(x["field"], x["row"], x["pro_value"], x["test_value"]) for x in r.data["differences"]] == \
        [("payload", {"seq": 3, "kind": 0}, "p3", "changed")]


# ---------------------------------------------------------------- keys by typed value

@pytest.mark.parametrize("ctype, stored, spellings", [
    ("int", 15, ["15", "015", "+15"]),
    ("timestamp", "2021-01-01T00:00:00+00:00",
     ["2021-01-01T00:00:00Z", "2021-01-01 00:00:00+0000", "1609459200000", "2021-01-01T08:00:00+08:00"]),
    ("uuid", "123e4567-e89b-12d3-a456-426614174000",
     ["123e4567-e89b-12d3-a456-426614174000", "123E4567-E89B-12D3-A456-426614174000"]),
])
def test_equivalent_spellings_of_one_key_are_one_key_reported_with_every_spelling(api, envs, twin, ctype, stored,
                                                                                   spellings):
    import datetime as dt
    import uuid
    value = {"int": lambda v: v, "uuid": uuid.UUID, "timestamp": dt.datetime.fromisoformat}[ctype](stored)
    table = twin({"k": ctype, "v": "text"}, ["k"], [{"k": value, "v": "same"}], [{"k": value, "v": "same"}])

    r = _query(api, envs, table, keys=["k"], values=spellings)

    assert r.status == 200, r.json
    d = r.data
    assert (d["total_keys"], d["identical_count"], d["missing_in_both"]) == (1, 1, [])
    assert d["duplicate_keys"] == len(spellings) - 1
    assert d["equivalent_keys"] == [{"key": {"k": spellings[0]}, "spellings": spellings}]
    assert d["identical_results"][0]["spellings"] == spellings


def test_distinct_decimal_scales_are_distinct_keys_as_in_cassandra(api, envs, twin):
    table = twin({"k": "decimal", "v": "text"}, ["k"], [{"k": decimal.Decimal("1.50"), "v": "x"}],
                 [{"k": decimal.Decimal("1.50"), "v": "x"}])

    r = _query(api, envs, table, keys=["k"], values=["1.50", "1.5"])

    assert r.data["total_keys"] == 2 and r.data["identical_count"] == 1
    assert r.data["missing_in_both"] == [{"k": "1.5"}]


def test_a_binary_key_is_accepted_in_its_base64_form(api, envs, twin):
    table = twin({"k": "blob", "v": "text"}, ["k"], [{"k": b"\xff\x00", "v": "a"}], [{"k": b"\xff\x00", "v": "b"}])

    r = _query(api, envs, table, keys=["k"], values=[{"base64": "/wA="}])

    assert r.status == 200, r.json
    d = r.data["differences"][0]
    assert d["key"] == {"k": {"base64": "/wA="}} and (d["pro_value"], d["test_value"]) == ("a", "b")


# ---------------------------------------------------------------- consistency and recheck

def test_each_side_reads_at_its_consistency_level_local_quorum_by_default(api, envs, twin):
    table = twin(EVENTS, [["tenant", "day"], "seq", "kind"], _events([1]), _events([1]))
    marks = {s: len(envs[s].statements) for s in ("pro", "test")}

    r = _query(api, envs, table, test={"consistency_level": "local_one"}, keys=["tenant", "day"],
               values=[["t1", "1"]])

    assert r.status == 200, r.json
    levels = {s: {st[3] for st in envs[s].statements[marks[s]:] if table in st[1] and st[0] == "EXECUTE"}
              for s in ("pro", "test")}
    assert levels == {"pro": {"LOCAL_QUORUM"}, "test": {"LOCAL_ONE"}}
    assert r.data["consistency_level"] == {"pro": "LOCAL_QUORUM", "test": "LOCAL_ONE"}


@pytest.mark.parametrize("rounds, reported", [(0, True), (1, False)])
def test_a_stale_replica_read_at_local_one_is_told_from_a_real_difference_by_recheck(api, envs, twin, rounds,
                                                                                    reported):
    table = twin(EVENTS, [["tenant", "day"], "seq", "kind"], _events([1, 2]), _events([1, 2]))
    envs["test"].make_stale("test_ks", table, {("t1", 1, 2, 0): {"payload": "lagging"}}, reads=1)

    r = _query(api, envs, table, test={"consistency_level": "LOCAL_ONE"}, keys=["tenant", "day"],
               values=[["t1", "1"]], recheck_rounds=rounds, recheck_delay_seconds=0)

    assert r.status == 200, r.json
    assert bool(r.data["differences"]) is reported
    assert r.data["transient_dropped"] == (0 if reported else 1)
    if not reported:
        assert any("disappeared when re-read" in t for t in r.data["summary"]["recommendations"])


def test_a_write_only_consistency_level_is_refused(api, envs, twin):
    table = twin(EVENTS, [["tenant", "day"], "seq", "kind"], _events([1]), _events([1]))

    r = _query(api, envs, table, pro={"consistency_level": "EACH_QUORUM"}, keys=["tenant", "day"],
               values=[["t1", "1"]])

    assert r.status == 400 and "consistency_level" in r.error["message"]


# ---------------------------------------------------------------- exact values, formatting as its own class

@pytest.mark.parametrize("mode, matching", [("exact", 0), ("json", 1), ("normalized", 2)])
def test_formatting_only_differences_are_their_own_class_in_every_mode(api, envs, twin, mode, matching):
    cols = {"k": "int", "doc": "text", "amount": "decimal"}
    table = twin(cols, ["k"],
                 [{"k": 1, "doc": '{"v":1.0,"a":2}', "amount": decimal.Decimal("1")},
                  {"k": 2, "doc": "x", "amount": decimal.Decimal("1.50")}],
                 [{"k": 1, "doc": '{"v":1,"a":2}', "amount": decimal.Decimal("1")},
                  {"k": 2, "doc": "x", "amount": decimal.Decimal("1.5")}])

    r = _query(api, envs, table, keys=["k"], values=["1", "2"], compare_mode=mode)

    d = r.data
    assert d["differences"] == [] and d["identical_results"] == []
    kinds = {(f["key"]["k"], f["field"]): f["format_kinds"] for f in d["format_only"]}
    assert kinds == {("1", "doc"): ["json_number_format"], ("2", "amount"): ["number_format"]}
    assert d["summary"]["counts"]["format_only_keys"] == 2
    assert d["summary"]["counts"]["matching_keys"] == matching


def test_text_holding_nul_bytes_is_compared_shown_and_saved_in_the_binary_form(api, envs, twin, db):
    table = twin({"k": "int", "v": "text"}, ["k"], [{"k": 1, "v": "a\x00b"}], [{"k": 1, "v": "a\x00c"}])

    r = _query(api, envs, table, keys=["k"], values=["1"])

    assert r.status == 200, r.json
    d = r.data["differences"][0]
    assert (d["pro_value"], d["test_value"]) == ({"base64": "YQBi"}, {"base64": "YQBj"})
    saved = api.get(f"/api/query-history/{r.data['history_id']}/results").data
    assert saved["differences"][0]["pro_value"] == {"base64": "YQBi"}


# ---------------------------------------------------------------- faults

@pytest.mark.parametrize("error, status, code, reason", [
    ("read_timeout", 408, "TIMEOUT_ERROR", "timeout"),
    ("unavailable", 503, "CONNECTION_ERROR", "unavailable"),
    ("read_failure", 503, "QUERY_ERROR", "read_failure"),
])
def test_coordinator_failures_map_to_typed_errors_with_suggestions(api, envs, twin, error, status, code, reason):
    table = twin(EVENTS, [["tenant", "day"], "seq", "kind"], _events([1]), _events([1]))
    envs["test"].time_out_reads(count=None, table=table, error=error)
    try:
        r = _query(api, envs, table, keys=["tenant", "day"], values=[["t1", "1"]])
    finally:
        envs["test"].clear_failures()

    assert r.status == status, r.json
    assert ("retry-after" in r.headers) == (status == 503)  # a dependency's fault: retry later
    assert r.error["code"] == code and r.error["details"]["reason"] == reason
    assert r.error["details"]["side"] == "test" and r.error["details"]["suggestions"]


def test_a_wrong_datacenter_is_a_connection_error_listing_the_cluster_datacenters(api, envs, twin):
    table = twin(EVENTS, [["tenant", "day"], "seq", "kind"], _events([1]), _events([1]))

    r = _query(api, envs, table, pro={"datacenter": "eu-west-9"}, keys=["tenant", "day"], values=[["t1", "1"]])

    assert r.status == 422, r.json   # the cluster answered: the configured datacenter is the caller's to fix
    assert r.error["code"] == "CONNECTION_ERROR"
    assert r.error["details"]["reason"] == "unknown_datacenter"
    assert r.error["details"]["datacenters"] == ["datacenter1"]
    assert "datacenter1" in r.error["message"] and any("datacenter1" in s for s in r.error["details"]["suggestions"])


def test_clustering_keys_with_a_collection_selected_are_queried_without_in_as_cassandra_requires(api, envs, twin):
    cols = dict(EVENTS, tags="set<text>")
    rows = [dict(r, tags={"a"}) for r in _events([1, 2])]
    table = twin(cols, [["tenant", "day"], "seq", "kind"], rows, rows[:1])

    r = _query(api, envs, table, keys=["tenant", "day", "seq", "kind"], values=[["t1", "1", "1", "0"],
                                                                               ["t1", "1", "2", "0"]])

    assert r.status == 200, r.json
    assert r.data["queries"]["pro"] == [
        f"SELECT * FROM production_ks.{table} WHERE tenant = ? AND day = ? AND seq = ? AND kind = ?"]
    assert r.data["identical_count"] == 1 and r.data["missing_in_test"] == [
        {"tenant": "t1", "day": "1", "seq": "2", "kind": "0"}]
