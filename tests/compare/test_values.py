from __future__ import annotations

import json

import pytest

from chalicelib.compare.core.values import compare_values, json_diff_paths, shorten, to_display


@pytest.mark.parametrize("a, b, equal, paths", [
    ('{"name":"John","age":25}', '{"age":25,"name":"John"}', True, []),
    (b'{"name":"John","age":25}', b'{ "age": 25, "name": "John" }', True, []),
    ('{"name":"John","age":25}', '{"name":"John","age":26}', False, ["$.age"]),
    ('{"a":{"b":[1,2,3]}}', '{"a":{"b":[1,2,4]}}', False, ["$.a.b[2]"]),
    ('{"a":1}', '{"a":1,"b":2}', False, ["$.b"]),
    ('[1,2]', '[1,2,3]', False, ["$[2]"]),
    ('{"odd key":1}', '{"odd key":2}', False, ['$["odd key"]']),
    ('{"a":true}', '{"a":1}', False, ["$.a"]),
    ('{"a":1}', '{"a":1.0}', True, []),
    ('{"a":null}', '{}', False, ["$.a"]),
])
def test_json_documents_compare_ignoring_key_order_and_list_differing_paths(a, b, equal, paths):
    vc = compare_values(a, b)
    assert vc.equal is equal
    assert vc.is_json
    assert vc.json_paths == paths


def test_json_texts_that_differ_only_in_order_are_flagged():
    assert compare_values('{"a":1,"b":2}', '{"b":2,"a":1}').json_equal_text_differs


@pytest.mark.parametrize("a, b, equal", [
    ("12", "12.0", False),            # scalars stay text
    ("abc", "abc", True),
    (b"abc", "abc", True),
    (True, 1, False),
    (1, 1.0, True),
    (None, None, True),
    (None, "", False),
    ("{not json", "{not json", True),
    ("{not json", "{not  json", False),
])
def test_plain_values_compare_strictly(a, b, equal):
    assert compare_values(a, b).equal is equal


def test_json_comparison_can_be_turned_off():
    assert not compare_values('{"a":1,"b":2}', '{"b":2,"a":1}', json_strings=False).equal


def test_parsed_structures_compare_as_json():
    vc = compare_values({"a": [1, {"b": 2}]}, {"a": [1, {"b": 3}]})
    assert not vc.equal and vc.json_paths == ["$.a[1].b"]


def test_differing_paths_are_capped():
    a = {f"k{i}": i for i in range(100)}
    b = {f"k{i}": i + 1 for i in range(100)}
    paths, cut = json_diff_paths(a, b, max_paths=10)
    assert len(paths) == 10 and cut


def test_long_strings_are_cut_and_keep_their_size():
    shown, info = shorten("é" * 5000, 100)
    assert shown.endswith("…") and len(shown) == 101
    assert info == {"truncated": True, "size_bytes": 10000, "shown_chars": 100}


def test_short_values_are_shown_whole():
    assert shorten({"a": 1}, 100) == ({"a": 1}, None)


def test_long_lists_keep_a_prefix_and_their_length():
    shown, info = shorten(list(range(1000)), 60)
    assert shown == list(range(len(shown)))
    assert info["items"] == 1000 and info["shown_items"] == len(shown) and info["truncated"]
    assert len(json.dumps(shown)) <= 80


def test_previews_of_bigger_values_report_the_full_size():
    shown, info = shorten(["a", "b"], 100, items=5000)
    assert shown == ["a", "b"] and info["items"] == 5000


def test_display_form_is_json_serialisable():
    value = {b"k": {1, 2}, "t": (b"\xff", 1.5)}
    json.dumps(to_display(value))
    assert to_display(value)["t"][0] == "\\xff"
