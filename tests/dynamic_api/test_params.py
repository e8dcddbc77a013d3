"""Conversion of inputs to the declared DataType; errors name the parameter."""
from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

import pytest

from chalicelib.dynamic_api.params import (
    ParamSpec,
    check_default,
    check_param_name,
    convert_inputs,
    mask,
    normalize_data_type,
)
from chalicelib.errors import ValidationError


@pytest.mark.parametrize("data_type,raw,expected", [
    ("integer", "42", 42),
    ("integer", " -7 ", -7),
    ("integer", 5, 5),
    ("integer", 5.0, 5),
    ("number", "3.14", Decimal("3.14")),
    ("number", 2.5, Decimal("2.5")),
    ("number", 3, 3),
    ("string", "héllo", "héllo"),
    ("string", 12, "12"),
    ("boolean", "true", True),
    ("boolean", "0", False),
    ("boolean", "Off", False),
    ("boolean", True, True),
    ("date", "2026-01-31", dt.date(2026, 1, 31)),
    ("datetime", "2026-01-31T12:30:00Z", dt.datetime(2026, 1, 31, 12, 30, tzinfo=dt.timezone.utc)),
    ("datetime", "2026-01-31 12:30:00", dt.datetime(2026, 1, 31, 12, 30)),
    ("uuid", "6F1C2A57-3A41-4B59-9A0E-7C1D2B3E4F50", uuid.UUID("6f1c2a57-3a41-4b59-9a0e-7c1d2b3e4f50")),
])
def test_values_convert_to_their_declared_type(data_type, raw, expected):
    spec = ParamSpec("p", data_type)
    assert convert_inputs([spec], {"p": raw}) == {"p": expected}


@pytest.mark.parametrize("data_type,raw", [
    ("integer", "1 OR 1=1"), ("integer", "4.5"), ("integer", True), ("integer", "99999999999999999999"),
    ("number", "NaN"), ("number", "1e999999999"), ("number", "abc"), ("boolean", "maybe"),
    ("date", "2026-02-30"), ("date", "yesterday"), ("datetime", "noon"), ("uuid", "not-a-uuid"),
    ("string", {"a": 1}), ("string", "nul\x00byte"), ("integer", [1, 2]),
])
def test_unconvertible_value_is_a_400_naming_the_parameter(data_type, raw):
    with pytest.raises(ValidationError) as err:
        convert_inputs([ParamSpec("amount", data_type)], {"amount": raw})
    assert err.value.status == 400
    assert "'amount'" in err.value.message
    assert err.value.details["errors"][0]["loc"][-1] == "amount"


@pytest.mark.parametrize("raw,expected", [
    ("1,2,3", [1, 2, 3]),
    (["1", "2"], [1, 2]),
    (["1,2", "3"], [1, 2, 3]),
    ([4, 5], [4, 5]),
    ("7", [7]),
])
def test_multiple_parameters_take_arrays_repeated_keys_or_comma_lists(raw, expected):
    assert convert_inputs([ParamSpec("ids", "integer", multiple=True)], {"ids": raw}) == {"ids": expected}


def test_multiple_string_parameter_from_repeated_keys_keeps_commas_inside_values():
    spec = ParamSpec("names", "string", multiple=True)
    assert convert_inputs([spec], {"names": ["a,b", "c"]}) == {"names": ["a,b", "c"]}


def test_missing_required_parameter_is_named():
    with pytest.raises(ValidationError, match="parameter 'city' is required"):
        convert_inputs([ParamSpec("city", required=True, param_type="header")], {})


def test_missing_optional_parameter_is_none_and_default_applies():
    specs = [ParamSpec("a"), ParamSpec("b", "integer", default_value="10"),
             ParamSpec("c", "integer", multiple=True, default_value="1,2")]
    assert convert_inputs(specs, {}) == {"a": None, "b": 10, "c": [1, 2]}


def test_empty_query_value_counts_as_missing_for_non_strings():
    assert convert_inputs([ParamSpec("n", "integer")], {"n": ""}) == {"n": None}


def test_all_bad_parameters_are_listed_in_details():
    specs = [ParamSpec("a", "integer"), ParamSpec("b", "date"), ParamSpec("c", required=True)]
    with pytest.raises(ValidationError) as err:
        convert_inputs(specs, {"a": "x", "b": "y"})
    assert [e["loc"][-1] for e in err.value.details["errors"]] == ["a", "b", "c"]


@pytest.mark.parametrize("name", ["1abc", "a-b", "", "x" * 65, "for", "loop", "skipCount", "sorting", "__x"[0:0] + "a b"])
def test_invalid_or_reserved_parameter_names_are_refused(name):
    with pytest.raises(ValidationError):
        check_param_name(name)


def test_bad_default_value_is_refused_at_save_time():
    with pytest.raises(ValidationError, match="default_value of parameter 'n'"):
        check_default(ParamSpec("n", "integer", default_value="ten"))


def test_type_aliases_from_seed_002_are_understood():
    assert [normalize_data_type(t) for t in ("float", "int", "bool", "string")] == \
        ["number", "integer", "boolean", "string"]


def test_sensitive_values_are_masked_for_logs():
    specs = [ParamSpec("user"), ParamSpec("token", sensitive=True)]
    assert mask(specs, {"user": "a", "token": "s3cret"}) == {"user": "a", "token": "********"}
