from __future__ import annotations

import pytest

from chalicelib.compare.core import ReportBuilder


def cassandra_like() -> ReportBuilder:
    rb = ReportBuilder("pro", "test", identical_name="identical_results")
    rb.add_difference({"user_id": "1001"}, field="email", left_value="user1@prod.com",
                      right_value="user1@test.com")
    rb.add_identical({"user_id": "1002"}, {"pro_fields": {"name": "User2"}, "test_fields": {"name": "User2"}})
    rb.add_missing({"user_id": "1003"}, "test", present_value={"name": "User3"})
    return rb


def test_answer_has_seed_fields_for_cassandra_sides():
    a = cassandra_like().build()
    assert a["total_keys"] == 3
    assert a["field_diff_count"] == {"email": 1}
    assert a["differences"][0] == {
        "key": {"user_id": "1001"}, "field": "email", "pro_value": "user1@prod.com",
        "test_value": "user1@test.com", "difference_type": "value_mismatch", "message": "values differ"}
    assert a["identical_results"][0]["key"] == {"user_id": "1002"}
    assert a["missing_in_test"] == [{"user_id": "1003"}] and a["missing_in_pro"] == []
    s = a["summary"]
    assert s["percentages"] == {"match_rate": 33.33, "diff_rate": 66.67, "missing_rate": 33.33,
                                "format_only_rate": 0.0}
    assert s["field_analysis"] == {"email": {"diff_count": 1, "diff_rate": 50.0}}
    assert s["overview"].startswith("Compared 3 keys: 1 identical, 1 with differences, 1 missing in test only.")


def test_several_field_differences_of_one_key_count_the_key_once():
    rb = ReportBuilder("pro", "test")
    rb.add_difference("k1", field="a", left_value=1, right_value=2)
    rb.add_difference("k1", field="b", left_value=1, right_value=2)
    a = rb.build()
    assert a["differences_count"] == 1
    assert a["summary"]["counts"]["difference_entries"] == 2
    assert a["field_diff_count"] == {"a": 1, "b": 1}


def test_recommendation_names_keys_differing_only_in_ttl():
    rb = ReportBuilder("cluster1", "cluster2")
    for i in range(12):
        rb.add_difference(f"session:{i}", difference_type="ttl_mismatch", left_value="v", right_value="v")
    rb.add_difference("user:1", left_value="a", right_value="b")
    recs = rb.build()["summary"]["recommendations"]
    assert any(r.startswith("12 keys differ only in TTL (mostly 'session:*')") for r in recs)


def test_recommendation_names_json_path_and_missing_prefix():
    rb = ReportBuilder("cluster1", "cluster2")
    for i in range(3):
        rb.add_difference(f"user:{i}", left_value="{}", right_value="{}", json_paths=["$.age"])
    for i in range(4):
        rb.add_missing(f"cart:{i}", "cluster2", present_value="x")
    recs = rb.build()["summary"]["recommendations"]
    assert "3 keys differ only at JSON path $.age." in recs
    assert any(r.startswith("4 keys exist in cluster1 but are missing in cluster2 (mostly 'cart:*')")
               for r in recs)


def test_all_identical_says_no_action_needed():
    rb = ReportBuilder("a", "b")
    rb.add_identical("k")
    s = rb.build()["summary"]
    assert s["recommendations"] == ["The only key is identical in a and b; no action needed."]
    assert s["percentages"]["match_rate"] == 100.0


def test_nothing_compared_says_so():
    s = ReportBuilder("a", "b").build()["summary"]
    assert s["overview"] == "Compared 0 keys."
    assert "No keys were compared" in s["recommendations"][0]


def test_missing_in_both_sides_lists_the_key_on_both():
    rb = ReportBuilder("cluster1", "cluster2")
    rb.add_missing("ghost", "both")
    a = rb.build()
    assert a["missing_in_cluster1"] == ["ghost"] and a["missing_in_cluster2"] == ["ghost"]
    assert a["differences"][0]["missing_in"] == "both"
    assert a["summary"]["percentages"]["missing_rate"] == 100.0


def test_listings_are_capped_but_counts_are_exact():
    rb = ReportBuilder("a", "b", max_listed=5)
    for i in range(20):
        rb.add_identical(f"i{i}")
        rb.add_difference(f"d{i}", left_value=1, right_value=2)
    a = rb.build()
    assert len(a["identical"]) == 5 and a["identical_count"] == 20
    assert len(a["differences"]) == 5 and a["differences_count"] == 20
    assert a["listing_truncated"] == {"differences": True, "identical": True}


def test_big_values_are_truncated_with_their_size():
    rb = ReportBuilder("a", "b", max_value_chars=50)
    rb.add_difference("k", left_value="x" * 1000, right_value="y")
    d = rb.build()["differences"][0]
    assert len(d["a_value"]) == 51
    assert d["truncated"] == {"a_value": {"truncated": True, "size_bytes": 1000, "shown_chars": 50}}


def test_per_type_analysis_counts_outcomes_by_category():
    rb = ReportBuilder("a", "b")
    rb.add_identical("s1", category="string")
    rb.add_difference("s2", left_value=1, right_value=2, category="string")
    rb.add_missing("h1", "b", category="hash")
    t = rb.build()["summary"]["type_analysis"]
    assert t["string"] == {"total": 2, "identical": 1, "different": 1, "missing": 0, "diff_rate": 50.0}
    assert t["hash"]["missing"] == 1


def test_notes_become_recommendations():
    rb = ReportBuilder("a", "b")
    rb.add_identical("k")
    rb.note("transient_dropped", 2)
    rb.add_format_only("j", left_value='{"a":1,"b":2}', right_value='{"b":2,"a":1}', kinds=["json_key_order"])
    recs = rb.build()["summary"]["recommendations"]
    assert any(r.startswith("2 differences disappeared when re-read") for r in recs)
    assert any(r.startswith("1 key differs only in formatting (json_key_order (1))") for r in recs)


def test_skipped_keys_are_not_differences():
    rb = ReportBuilder("a", "b")
    rb.add_skipped("k", "node 127.0.0.1:1 unreachable")
    a = rb.build(total_keys=1)
    assert a["differences_count"] == 0 and a["skipped_keys"][0]["key"] == "k"
    assert any("could not be read" in r for r in a["summary"]["recommendations"])


def test_side_labels_must_differ():
    with pytest.raises(ValueError):
        ReportBuilder("x", "x")


def test_every_key_is_in_exactly_one_class_and_a_key_missing_on_both_sides_is_counted_once():
    rb = ReportBuilder("cluster1", "cluster2", compare_mode="json")
    for i in range(3):
        rb.add_identical(f"same{i}")
    rb.add_difference("d1", left_value=1, right_value=2)
    rb.add_difference("d2", field="a", left_value=1, right_value=2)
    rb.add_difference("d2", field="b", left_value=1, right_value=2)
    rb.add_format_only("f1", left_value='{"a":1,"b":2}', right_value='{"b":2,"a":1}', kinds=["json_key_order"],
                       tolerated=True)
    rb.add_missing("m1a", "cluster1")
    rb.add_missing("m1b", "cluster1")
    rb.add_missing("m2", "cluster2")
    rb.add_missing("ghost1", "both")
    rb.add_missing("ghost2", "both")
    rb.add_skipped("s1", "node 127.0.0.1:1 unreachable")

    a = rb.build(total_keys=12)

    c = a["summary"]["counts"]
    assert (c["identical_keys"], c["different_keys"], c["format_only_keys"], c["missing_in_cluster1"],
            c["missing_in_cluster2"], c["missing_in_both"], c["skipped_keys"]) == (3, 2, 1, 2, 1, 2, 1)
    assert sum(c[k] for k in ("identical_keys", "different_keys", "format_only_keys", "missing_in_cluster1",
                              "missing_in_cluster2", "missing_in_both", "skipped_keys")) == c["total_keys"] == 12
    assert c["matching_keys"] == 4  # the tolerated formatting-only key matches under compare_mode json
    assert a["missing_in_both"] == ["ghost1", "ghost2"]
    assert a["summary"]["overview"] == (
        "Compared 12 keys: 3 identical, 2 with differences, 1 differing only in formatting, 2 missing in "
        "cluster1 only, 1 missing in cluster2 only, 2 missing in both, 1 not readable. Found 7 keys that differ.")


@pytest.mark.parametrize("reason, advice, not_advice", [
    ("permission denied: NOPERM this user has no permissions to run the 'get' command", "grant the user read",
     "unreachable"),
    ("node 127.0.0.1:7001 unreachable: Connection refused", "fix the unreachable nodes", "grant"),
    ("test: table test_ks.docs_3 does not exist", "create the missing table", "unreachable"),
    ("no timestamp in key to pick its shard table", "carry a timestamp", "unreachable"),
])
def test_advice_for_unreadable_keys_matches_the_failure(reason, advice, not_advice):
    rb = ReportBuilder("a", "b")
    rb.add_skipped("k", reason)

    text = next(r for r in rb.build()["summary"]["recommendations"] if "could not be read" in r)

    assert advice in text and not_advice not in text.split(";", 1)[1]
