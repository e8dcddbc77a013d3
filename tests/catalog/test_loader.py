"""Spec loading: formats, content-type detection, size / depth / alias limits."""
import json

import pytest

from chalicelib.catalog import loader
from chalicelib.errors import PayloadTooLarge, ValidationError

BILLION_LAUGHS = """
a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
"""


def _problem_messages(exc) -> str:
    return " ".join(p["msg"] for p in exc.value.details["errors"])


@pytest.mark.parametrize("text, expected_type", [
    ('{"openapi": "3.0.0"}', "json"),
    ('  \n[1, 2]', "json"),
    ("openapi: 3.0.0\n", "yaml"),
    ("# comment\n{a: 1}", "yaml"),
])
def test_content_type_is_detected_from_the_first_significant_character(text, expected_type):
    assert loader.detect_content_type(text) == expected_type


@pytest.mark.parametrize("hint, expected", [
    ("application/json", "json"), ("application/vnd.oai.openapi+json", "json"), ("text/yaml", "yaml"),
    ("application/x-yaml; charset=utf-8", "yaml"), ("yml", "yaml"), ("text/plain", None), (None, None),
])
def test_content_type_hints_are_normalized(hint, expected):
    assert loader.normalize_content_type(hint) == expected


def test_yaml_and_json_load_to_the_same_mapping():
    as_yaml = loader.load(b"openapi: 3.0.0\ninfo: {title: T, version: '1'}\npaths: {}\n")
    as_json = loader.load(b'{"openapi": "3.0.0", "info": {"title": "T", "version": "1"}, "paths": {}}')
    assert as_yaml.content_type == "yaml" and as_json.content_type == "json"
    assert as_yaml.data == as_json.data


def test_yaml_keys_keep_their_source_text_and_values_stay_json_compatible():
    doc = loader.load("responses:\n  200: {description: ok}\n  default: {}\non: yes\n"
                      "when: 2024-01-02\nbig: .inf\nmerged:\n  <<: {a: 1}\n  b: 2\n").data
    assert list(doc["responses"]) == ["200", "default"]
    assert doc["on"] is True  # a value keeps YAML's meaning, the key keeps its text
    assert doc["when"] == "2024-01-02" and doc["big"] == ".inf"
    assert doc["merged"] == {"a": 1, "b": 2}
    json.dumps(doc, allow_nan=False)


def test_flow_style_yaml_that_looks_like_json_is_loaded_as_yaml():
    loaded = loader.load("{openapi: 3.0.0, paths: {}}")
    assert loaded.content_type == "yaml" and loaded.data["openapi"] == "3.0.0"


def test_a_declared_json_type_does_not_fall_back_to_yaml():
    with pytest.raises(ValidationError) as exc:
        loader.load("{openapi: 3.0.0}", "application/json")
    assert "JSON" in exc.value.message


def test_a_byte_order_mark_is_ignored():
    assert loader.load("\ufeffopenapi: 3.0.0\n".encode()).data == {"openapi": "3.0.0"}


@pytest.mark.parametrize("body", [
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
    b"openapi: [unclosed\n  - x: {",
    b'{"openapi": "3.0.0", "paths": ',
    b"just a sentence, not a mapping",
    b"- a\n- b\n",
    b"",
    b"a: 1\n---\nb: 2\n",
])
def test_what_is_not_a_yaml_or_json_mapping_is_a_validation_error(body):
    with pytest.raises(ValidationError) as exc:
        loader.load(body)
    assert exc.value.details["errors"][0]["msg"]


def test_a_parse_error_names_line_and_column():
    with pytest.raises(ValidationError) as exc:
        loader.load(b'{\n  "openapi": "3.0.0",\n  "paths": {,}\n}', "json")
    assert exc.value.details["errors"][0]["type"] == "json_invalid"
    assert exc.value.details["line"] == 3 and "line 3" in exc.value.message


def test_a_body_over_the_limit_is_payload_too_large_pointing_to_import_url():
    with pytest.raises(PayloadTooLarge) as exc:
        loader.load(b"x" * 1001, max_bytes=1000)
    assert "/api/templates/import-url" in exc.value.message
    assert exc.value.status == 413 and exc.value.details["max_bytes"] == 1000


def test_a_multibyte_text_is_measured_in_bytes():
    with pytest.raises(PayloadTooLarge):
        loader.load("é" * 600, max_bytes=1000)


def test_a_billion_laughs_document_is_refused_as_an_alias_bomb():
    with pytest.raises(ValidationError) as exc:
        loader.load(BILLION_LAUGHS)
    assert "alias" in exc.value.message


def test_the_alias_count_limit_is_applied():
    doc = "a: &x 1\nb: [" + ", ".join(["*x"] * 11) + "]\n"
    assert loader.load(doc, max_aliases=11).data["b"] == [1] * 11
    with pytest.raises(ValidationError, match="more than 10 YAML aliases"):
        loader.load(doc, max_aliases=10)


def test_a_recursive_alias_is_refused():
    with pytest.raises(ValidationError, match="recursive alias"):
        loader.load("a: &x\n  b: *x\n")


def test_a_few_ordinary_anchors_load():
    doc = loader.load("defs:\n  err: &err {type: object}\nuse:\n  - *err\n  - *err\n").data
    assert doc["use"] == [{"type": "object"}, {"type": "object"}]


@pytest.mark.parametrize("depth", [10_000, 200_000])
def test_deep_yaml_flow_nesting_is_refused_before_composing(depth):
    with pytest.raises(ValidationError, match="nesting deeper than 500"):
        loader.load("a: " + "[" * depth + "]" * depth, max_bytes=10 * 1024 * 1024)


def test_deep_yaml_block_nesting_is_refused():
    doc = "".join("  " * i + f"k{i}:\n" for i in range(10_000)) + "  " * 10_000 + "x"
    with pytest.raises(ValidationError, match="nesting deeper than"):
        loader.load(doc, max_bytes=200 * 1024 * 1024)


def test_yaml_depth_limit_is_a_parameter():
    doc = "a: " + "[" * 30 + "]" * 30
    loader.load(doc, max_depth=31)
    with pytest.raises(ValidationError):
        loader.load(doc, max_depth=30)


def _nested(style: str, depth: int) -> str:
    """A YAML document `depth` collections deep, each opened in `style`, with as few indicators as it takes."""
    if style == "block sequence":
        return "- " * depth + "x"
    if style == "flow sequence":
        return "[" * depth + "]" * depth
    if style == "flow mapping":
        return "{a: " * depth + "x" + "}" * depth
    if style == "block mapping":
        return "".join("  " * i + f"k{i}:\n" for i in range(depth - 1)) + "  " * (depth - 1) + "k: x"
    if style == "complex keys":
        return "? " * depth + "x"
    return "- " * (depth // 2) + "{a: " * (depth - depth // 2) + "x" + "}" * (depth - depth // 2)


STYLES = ["block sequence", "flow sequence", "flow mapping", "block mapping", "complex keys", "mixed"]


@pytest.mark.parametrize("style", STYLES)
def test_a_small_document_too_deep_is_refused_whatever_its_nesting_style(style):
    doc = _nested(style, 21)
    assert not loader.scan_needed(doc, max_depth=100)   # deep but small: the scan may be skipped for 100
    loader.scan_yaml(doc, max_depth=100)
    assert loader.scan_needed(doc, max_depth=20)
    with pytest.raises(ValidationError, match="nesting deeper than 20"):
        loader.load("r:\n" + "\n".join("  " + line for line in doc.splitlines()), max_depth=20)


@pytest.mark.parametrize("text", ["a: &x 1\nb: 2\n", "a: {b: [1, 2]}\n"])
def test_a_small_document_with_an_anchor_or_many_indicators_is_still_scanned(text):
    assert loader.scan_needed(text, max_depth=3)


def test_an_alias_without_any_anchor_is_refused_by_the_loader_when_the_scan_is_skipped():
    doc = "a: 1\nb: [" + ", ".join(["*x"] * 20) + "]\n"
    assert not loader.scan_needed(doc)
    with pytest.raises(ValidationError, match="undefined alias"):
        loader.load(doc, max_aliases=5)


def test_an_alias_in_a_small_document_still_counts_against_the_alias_limit():
    with pytest.raises(ValidationError, match="more than 0 YAML aliases"):
        loader.load("a: &a 1\nb: *a\n", max_aliases=0)


def test_a_syntax_error_in_a_document_the_scan_skips_names_its_line():
    assert not loader.scan_needed("a: 1\nb: 'open\n")
    with pytest.raises(ValidationError, match=r"line \d+"):
        loader.load("a: 1\nb: 'open\n")


def test_deep_json_nesting_is_refused():
    with pytest.raises(ValidationError, match="nesting"):
        loader.load('{"a": ' + "[" * 10_000 + "]" * 10_000 + "}")


def test_nul_characters_are_refused():
    with pytest.raises(ValidationError, match="NUL"):
        loader.load(b"openapi: 3.0.0\x00\n")


def test_many_aliases_without_an_anchor_still_meet_the_alias_limit_first():
    """No `&`: the document is composed first (the streaming pass skipped), yet its error is the scan's."""
    doc = "a:\n" + "- *x\n" * 10_050
    assert loader.scan_needed(doc) and not loader._may_anchor(doc)
    with pytest.raises(ValidationError, match="more than 10000 YAML aliases"):
        loader.load(doc)


def test_a_document_one_level_too_deep_for_the_composed_check_is_refused_with_its_line():
    """Within the composer's bound, no anchor: composed first, its depth checked, then refused as the scan words it."""
    doc = "r:\n  a: 1\n  b: " + "[" * 501 + "]" * 501 + "\n  c: [" + ", ".join(["1"] * 600) + "]\n"
    assert loader.scan_needed(doc) and not loader._may_anchor(doc) and loader.nesting_within(doc, loader.COMPOSE_DEPTH)
    with pytest.raises(ValidationError) as exc:
        loader.load(doc)
    assert exc.value.message.endswith("nesting deeper than 500 levels (line 3)")
