"""Cassandra comparison throughput: 20,000 keys per side through two CQL test servers.

Prints keys per second end to end and the split between fetching (both
sides at once, prepared IN batches) and comparing, for a single table and
for sharded tables (pro in 14 shards, test in one table); and a wide-partition
table (1,000 partitions x 50 rows, 1% of the rows missing in test) compared
partition by partition with rows matched by primary key, in keys/s and
rows/s (with and without the recheck round of the differing keys). The engine is
called directly (no HTTP, no history write) so the figures are the
comparison's own.
"""
from __future__ import annotations

import datetime as dt
import decimal
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

KEYS = 20_000
INTERVAL, SHARDS = 604800, 14
COLUMNS = {"doc_id": "text", "name": "text", "score": "int", "balance": "decimal", "updated_at": "timestamp",
           "tags": "set<text>", "attrs": "map<text, int>"}


def _row(i: int, side: str) -> dict:
    seconds = 1609459200 + i * 60
    return {"doc_id": f"wmid_{seconds}", "name": f"name {i}", "score": i if side == "pro" or i % 50 else -i,
            "balance": decimal.Decimal(i) / 100, "tags": {"a", "b", str(i % 7)}, "attrs": {"x": i, "y": i % 3},
            "updated_at": dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc) + dt.timedelta(seconds=i)}


WIDE_PARTITIONS, WIDE_ROWS = 1_000, 50
WIDE_COLUMNS = {"tenant": "text", "day": "int", "seq": "int", "payload": "text", "amount": "decimal"}


def _wide_rows(side: str):
    for p in range(WIDE_PARTITIONS):
        for seq in range(WIDE_ROWS):
            if side == "test" and (p * WIDE_ROWS + seq) % 100 == 37:
                continue  # 1% of the rows missing in test
            yield {"tenant": f"t{p % 50}", "day": p, "seq": seq, "payload": f"payload {p}/{seq}",
                   "amount": decimal.Decimal(seq) / 4}


def _servers():
    from tests.cqlserver import CqlTestServer
    pro, test = CqlTestServer("cassandra", "pro"), CqlTestServer("cassandra", "test")
    pro.create_table("ks", "docs", COLUMNS, ["doc_id"])
    test.create_table("ks", "docs", COLUMNS, ["doc_id"])
    for shard in range(SHARDS):
        pro.create_table("ks", f"docs_{shard}", COLUMNS, ["doc_id"])
    pro_rows = [_row(i, "pro") for i in range(KEYS)]
    pro.insert_many("ks", "docs", pro_rows)
    for row in pro_rows:
        seconds = int(row["doc_id"].split("_")[1])
        pro.insert("ks", f"docs_{(seconds // INTERVAL) % SHARDS}", row)
    test.insert_many("ks", "docs", (_row(i, "test") for i in range(KEYS)))
    for server, side in ((pro, "pro"), (test, "test")):
        server.create_table("ks", "wide", WIDE_COLUMNS, [["tenant", "day"], "seq"])
        server.insert_many("ks", "wide", _wide_rows(side))
    pro.start()
    test.start()
    return pro, test


def _plan(pro, test, sharded: bool):
    from chalicelib.compare.cassandra.config import CassandraConfig, ShardingConfig
    from chalicelib.compare.cassandra.engine import ComparePlan

    def cfg(server, password):
        return CassandraConfig(hosts=[server.host], port=server.port, username="cassandra", password=password,
                               keyspace="ks", table="docs", datacenter="datacenter1")

    sharding = ShardingConfig(use_sharding_for_pro=True, interval_seconds=INTERVAL, table_count=SHARDS) \
        if sharded else None
    values = [f"wmid_{1609459200 + i * 60}" for i in range(KEYS)]
    return ComparePlan(pro=cfg(pro, "pro"), test=cfg(test, "test"), keys=["doc_id"], values=values,
                       sharding=sharding, batch_size=100, concurrency=8, max_raw_rows=100, recheck_delay_seconds=0.0)


def _wide_plan(pro, test, recheck_rounds: int):
    from chalicelib.compare.cassandra.config import CassandraConfig
    from chalicelib.compare.cassandra.engine import ComparePlan

    def cfg(server, password):
        return CassandraConfig(hosts=[server.host], port=server.port, username="cassandra", password=password,
                               keyspace="ks", table="wide", datacenter="datacenter1")

    values = [[f"t{p % 50}", str(p)] for p in range(WIDE_PARTITIONS)]
    return ComparePlan(pro=cfg(pro, "pro"), test=cfg(test, "test"), keys=["tenant", "day"], values=values,
                       batch_size=100, concurrency=8, max_raw_rows=100, recheck_rounds=recheck_rounds,
                       recheck_delay_seconds=0.0)


def _wide(pro, test) -> None:
    from chalicelib.compare.cassandra.engine import compare_cassandra

    for rounds in (0, 1):
        answer = compare_cassandra(_wide_plan(pro, test, rounds))
        rows = answer["pro_count"] + answer["test_count"]
        seconds = answer["execution_time"]
        missing = answer["row_summary"]["rows_missing_in_test"]
        expected = WIDE_PARTITIONS * WIDE_ROWS // 100
        print(f"wide partitions ({WIDE_PARTITIONS} x {WIDE_ROWS} rows, recheck_rounds={rounds}): "
              f"{answer['total_keys']} keys, {rows} rows read, {missing} rows missing in test "
              f"({'as generated' if missing == expected else f'EXPECTED {expected}'}), "
              f"{answer['differences_count']} partitions differ")
        print(f"  end to end: {seconds:.3f} s = {answer['total_keys'] / seconds:.0f} keys/s, "
              f"{rows / seconds:.0f} rows/s")


def main() -> None:
    from chalicelib.compare.cassandra import sessions
    from chalicelib.compare.cassandra.engine import compare_cassandra

    pro, test = _servers()
    try:
        compare_cassandra(_plan(pro, test, False))  # warm-up: connect, prepare
        for label, sharded in (("single table", False), ("sharded (pro in 14 tables)", True)):
            answer = compare_cassandra(_plan(pro, test, sharded))
            t = answer["timing"]
            total = t["fetch_seconds"] + t["compare_seconds"]
            print(f"{label}: {answer['total_keys']} keys per side, {answer['differences_count']} differing")
            print(f"  end to end: {answer['execution_time']:.3f} s = {t['keys_per_second']:.0f} keys/s")
            print(f"  fetch (both sides at once): {t['fetch_seconds']:.3f} s "
                  f"(pro {t['pro_fetch_seconds']:.3f} s, test {t['test_fetch_seconds']:.3f} s)")
            print(f"  compare: {t['compare_seconds']:.3f} s")
            print(f"  split fetch/compare: {100 * t['fetch_seconds'] / total:.0f}% / "
                  f"{100 * t['compare_seconds'] / total:.0f}%")
        _wide(pro, test)
    finally:
        sessions.close_all()
        pro.stop()
        test.stop()


if __name__ == "__main__":
    main()
