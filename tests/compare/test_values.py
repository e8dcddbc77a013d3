from __future__ import annotations

import decimal
import json

import pytest

from chalicelib.compare.core.binary import from_binary_form, storable
from chalicelib.compare.core.values import compare_values, json_diff_paths, shorten, to_display


@pytest.mark.parametrize("a, b, paths", [
    ('{"name":"John","age":25}', '{"name":"John","age":26}', ["$.age"]),
    ('{"a":{"b":[1,2,3]}}', '{"a":{"b":[1,2,4]}}', ["$.a.b[2]"]),
    ('{"a":1}', '{"a":1,"b":2}', ["$.b"]),
    ('[1,2]', '[1,2,3]', ["$[2]"]),
    ('{"odd key":1}', '{"odd key":2}', ['$["odd key"]']),
    ('{"a":true}', '{"a":1}', ["$.a"]),
    ('{"a":null}', '{}', ["$.a"]),
])
def test_json_documents_that_differ_list_the_differing_paths(a, b, paths):
    vc = compare_values(a, b)
    assert not vc.equal and not vc.format_only and vc.is_json
    assert vc.json_paths == paths


@pytest.mark.parametrize("a, b, kinds, paths", [
    ('{"name":"John","age":25}', '{"age":25,"name":"John"}', ["json_key_order"], ["$"]),
    (b'{"name":"John","age":25}', b'{ "name": "John", "age": 25 }', ["json_whitespace"], ["$"]),
    ('{"v":1.0}', '{"v":1}', ["json_number_format"], ["$.v"]),
    ('{"n":"\\u00e9"}', '{"n":"\u00e9"}', ["json_string_escape"], ["$"]),
    ("abc ", "abc", ["surrounding_whitespace"], ["$"]),
    ("1.50", "1.5", ["number_format"], ["$"]),
    (decimal.Decimal("1.50"), decimal.Decimal("1.5"), ["number_format"], ["$"]),
])
def test_formatting_only_differences_are_their_own_verdict_with_kinds_and_paths(a, b, kinds, paths):
    vc = compare_values(a, b)
    assert not vc.equal and vc.format_only
    assert vc.format_kinds == kinds and vc.json_paths == paths


@pytest.mark.parametrize("a, b, exact, json_mode, normalized", [
    ('{"a":1,"b":2}', '{"b":2,"a":1}', False, True, True),
    ('{"v":1.0}', '{"v":1}', False, True, True),
    ("abc ", "abc", False, False, True),
    ("1.50", "1.5", False, False, True),
    ('{"a":1}', '{"a":2}', False, False, False),
    ("same", "same", True, True, True),
])
def test_the_mode_decides_which_formatting_is_tolerated(a, b, exact, json_mode, normalized):
    vc = compare_values(a, b)
    assert (vc.matches("exact"), vc.matches("json"), vc.matches("normalized")) == (exact, json_mode, normalized)


def test_json_with_duplicate_keys_is_compared_as_text_never_normalised():
    vc = compare_values('{"a":1,"a":2}', '{"a":2}')
    assert not vc.equal and not vc.format_only


@pytest.mark.parametrize("a, b, equal", [
    ("abc", "abc", True),
    (b"abc", "abc", True),
    (True, 1, False),
    (1, 1, True),
    (None, None, True),
    (None, "", False),
    ("{not json", "{not json", True),
    ("{not json", "{not  json", False),
    (b"\xff", b"\xfe", False),
])
def test_plain_values_compare_exactly(a, b, equal):
    assert compare_values(a, b).equal is equal


def test_json_recognition_can_be_turned_off():
    vc = compare_values('{"a":1,"b":2}', '{"b":2,"a":1}', json_strings=False)
    assert not vc.equal and not vc.format_only


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
    assert to_display(value)["t"][0] == {"base64": "/w=="}


@pytest.mark.parametrize("value, shown", [
    (b"\xff", {"base64": "/w=="}),
    ("\\xff", "\\xff"),                       # the four characters stay text: never confused with the byte
    (b"a\x00b", {"base64": "YQBi"}),
    ("a\x00b", {"base64": "YQBi"}),
    (b"caf\xc3\xa9", "caf\u00e9"),
])
def test_binary_values_have_one_unambiguous_reversible_form(value, shown):
    assert to_display(value) == shown
    if isinstance(shown, dict):
        raw = value if isinstance(value, bytes) else value.encode()
        assert from_binary_form(shown) == raw


def test_storable_documents_hold_no_nul_and_keep_everything_reversible():
    doc = {"k\x00": ["a\x00", b"\x80"], "ok": "plain"}

    stored = storable(doc)

    assert "\\u0000" not in json.dumps(stored)
    assert stored["ok"] == "plain"
    key = next(k for k in stored if k != "ok")
    assert from_binary_form(json.loads(key)) == b"k\x00"
    assert [from_binary_form(v) for v in stored[key]] == [b"a\x00", b"\x80"]
