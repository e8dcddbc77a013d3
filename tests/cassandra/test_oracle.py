"""The Cassandra comparison agrees, key by key and row by row, with a straightforward
implementation written here from the generated dataset (the oracle), over two CQL test
servers holding every kind of difference: missing partitions on either side or both,
missing rows in wide partitions, changed values, formatting-only values (JSON and decimal
scale), binary values, NUL bytes, equivalent key spellings and a stale replica fixed by
recheck."""
from __future__ import annotations

import decimal
import json
import random

import pytest

from tests.cassandra.conftest import PRO_PASSWORD, TEST_PASSWORD, side_config

COLUMNS = {"tenant": "text", "day": "int", "seq": "int", "payload": "text", "doc": "text",
           "amount": "decimal", "data": "blob"}
FIELDS = ("payload", "doc", "amount", "data")
TABLE = "oracle_events"


def _row(tenant, day, seq, rnd):
    return {"tenant": tenant, "day": day, "seq": seq, "payload": f"{tenant}/{day}/{seq}",
            "doc": json.dumps({"n": seq, "tags": ["a", "b"]}, separators=(",", ":")),
            "amount": decimal.Decimal(f"{rnd.randint(0, 999)}.25"), "data": bytes([seq % 256, 0xff, 0])}


def _dataset(seed: int = 16):
    """(pro rows, test rows, stale rows for the test side, request values, partition list)."""
    rnd = random.Random(seed)
    partitions = [(f"t{t}", d) for t in range(6) for d in range(1, 6)]
    pro, test = {}, {}
    for tenant, day in partitions:
        for seq in range(1, rnd.randint(2, 9)):
            row = _row(tenant, day, seq, rnd)
            pro[(tenant, day, seq)] = dict(row)
            test[(tenant, day, seq)] = dict(row)
    keys = list(pro)
    rnd.shuffle(keys)
    kinds = ["value", "missing_row_test", "missing_row_pro", "json_format", "decimal_scale", "binary", "nul",
             "stale"]
    stale = {}
    for i, key in enumerate(keys[:len(kinds) * 4]):
        kind = kinds[i % len(kinds)]
        if kind == "value":
            test[key]["payload"] = "changed"
        elif kind == "missing_row_test":
            del test[key]
        elif kind == "missing_row_pro":
            del pro[key]
        elif kind == "json_format":
            test[key]["doc"] = json.dumps(json.loads(pro[key]["doc"]))  # same document, other spacing
        elif kind == "decimal_scale":
            test[key]["amount"] = decimal.Decimal(str(pro[key]["amount"]) + "0")
        elif kind == "binary":
            test[key]["data"] = bytes([0x80, 0x00])
        elif kind == "nul":
            pro[key]["payload"] = "nul\x00here"
            test[key]["payload"] = "nul\x00there"
        elif kind == "stale":  # the replica the weak read hits is behind: a difference recheck drops
            stale[key] = {"payload": "behind"}
    # whole partitions missing on one side, and keys that exist nowhere
    for key in [k for k in pro if k[:2] == ("t5", 1)]:
        del test[key]
    for key in [k for k in list(test) if k[:2] == ("t5", 2)]:
        del pro[key]
    values = [[t, str(d)] for t, d in partitions] + [["t9", "1"], ["t9", "2"]]
    values += [["t0", "01"], ["t1", "+2"]]  # other spellings of requested partitions
    return pro, test, stale, values, partitions + [("t9", 1), ("t9", 2)]


def oracle(pro: dict, test: dict, partitions: list) -> tuple[dict, set, set, set]:
    """(class per partition, missing rows, differing fields, formatting-only fields)."""
    classes, missing_rows, fields, formats = {}, set(), set(), set()
    for part in partitions:
        p = {k[2]: v for k, v in pro.items() if k[:2] == part}
        t = {k[2]: v for k, v in test.items() if k[:2] == part}
        if not p and not t:
            classes[part] = "missing_in_both"
            continue
        if not p or not t:
            classes[part] = "missing_in_pro" if not p else "missing_in_test"
            continue
        real = fmt = False
        for seq in sorted(set(p) | set(t)):
            if seq not in p or seq not in t:
                missing_rows.add((part, seq, "pro" if seq not in p else "test"))
                real = True
                continue
            for f in FIELDS:
                a, b = p[seq][f], t[seq][f]
                if f == "amount":
                    if str(a) != str(b):
                        (formats if a == b else fields).add((part, seq, f))
                elif f == "doc":
                    if a != b:
                        (formats if json.loads(a) == json.loads(b) else fields).add((part, seq, f))
                elif a != b:
                    fields.add((part, seq, f))
        real = real or any(x[0] == part for x in fields)
        fmt = any(x[0] == part for x in formats)
        classes[part] = "different" if real else "format_only" if fmt else "identical"
    return classes, missing_rows, fields, formats


def product_view(answer: dict) -> tuple[dict, set, set, set]:
    def part(key):
        return key["tenant"], int(key["day"])
    classes = {}
    for k in answer["identical_results"]:
        classes[part(k["key"])] = "identical"
    for k in answer["missing_in_both"]:
        classes[part(k)] = "missing_in_both"
    both = set(classes)
    for side in ("pro", "test"):
        for k in answer[f"missing_in_{side}"]:
            if part(k) not in both:
                classes[part(k)] = f"missing_in_{side}"
    missing_rows, fields, formats = set(), set(), set()
    for d in answer["differences"]:
        if d["difference_type"] == "missing":
            continue
        classes[part(d["key"])] = "different"
        if d["difference_type"] == "missing_row":
            missing_rows.add((part(d["key"]), d["row"]["seq"], d["missing_in"]))
        else:
            fields.add((part(d["key"]), d["row"]["seq"], d["field"]))
    for f in answer["format_only"]:
        classes.setdefault(part(f["key"]), "format_only")
        formats.add((part(f["key"]), f["row"]["seq"], f["field"]))
    return classes, missing_rows, fields, formats


@pytest.fixture
def loaded(envs):
    pro, test, stale, values, partitions = _dataset()
    for side, ks, rows in (("pro", "production_ks", pro), ("test", "test_ks", test)):
        envs[side].create_table(ks, TABLE, COLUMNS, primary_key=[["tenant", "day"], "seq"])
        envs[side].insert_many(ks, TABLE, rows.values())
    yield pro, test, stale, values, partitions
    envs["pro"].drop_table("production_ks", TABLE)
    envs["test"].drop_table("test_ks", TABLE)


def test_product_and_oracle_agree_key_by_key_and_row_by_row(api, envs, loaded):
    pro, test, stale, values, partitions = loaded
    envs["test"].make_stale("test_ks", TABLE, {k: v for k, v in stale.items()}, reads=1)

    r = api.post("/api/query", {
        "pro_config": side_config(envs["pro"], "production_ks", TABLE, PRO_PASSWORD, {}),
        "test_config": side_config(envs["test"], "test_ks", TABLE, TEST_PASSWORD, {"consistency_level": "LOCAL_ONE"}),
        "keys": ["tenant", "day"], "values": values, "recheck_rounds": 1, "recheck_delay_seconds": 0,
        "batch_size": 7})

    assert r.status == 200, r.json
    answer = r.data
    expected = oracle(pro, test, partitions)
    assert set(expected[0].values()) == {"identical", "different", "format_only", "missing_in_pro",
                                         "missing_in_test", "missing_in_both"}  # the dataset has every kind
    assert {m[2] for m in expected[1]} == {"pro", "test"} and expected[2] and expected[3]
    got = product_view(answer)
    assert got[0] == expected[0]            # every partition in the same class
    assert got[1] == expected[1]            # the same missing rows, by clustering key
    assert got[2] == expected[2]            # the same differing fields of the same rows
    assert got[3] == expected[3]            # the same formatting-only fields
    counts = answer["summary"]["counts"]
    classes = list(expected[0].values())
    assert counts["total_keys"] == len(partitions) == sum(counts[c] for c in (
        "identical_keys", "different_keys", "format_only_keys", "missing_in_pro", "missing_in_test",
        "missing_in_both", "skipped_keys"))
    assert counts["different_keys"] == classes.count("different")
    assert counts["missing_in_both"] == classes.count("missing_in_both") == 2
    assert answer["duplicate_keys"] == 2 and len(answer["equivalent_keys"]) == 2
    assert answer["transient_dropped"] >= 1  # the stale replica's rows were differences only at first
    binary = [d for d in answer["differences"] if d.get("field") == "data"]
    assert binary and all(set(d["test_value"]) == {"base64"} for d in binary)
