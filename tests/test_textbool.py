"""The one parser of boolean words (settings, dynamic-API parameters, imported values)."""
import pytest

from chalicelib.settings import Settings
from chalicelib.textbool import parse_bool


@pytest.mark.parametrize("text, expected", [
    ("true", True), (" TRUE ", True), ("t", True), ("Yes", True), ("y", True), ("on", True), ("1", True),
    ("false", False), ("F", False), ("no", False), ("n", False), ("Off", False), ("0", False),
])
def test_parse_bool_reads_each_accepted_word(text, expected):
    assert parse_bool(text) is expected


@pytest.mark.parametrize("text", ["", "maybe", "2", "truthy", "nope"])
def test_parse_bool_refuses_other_text_listing_the_accepted_words(text):
    with pytest.raises(ValueError, match="expected one of true/.*false/"):
        parse_bool(text)


def test_a_boolean_setting_with_an_unknown_word_fails_naming_the_setting():
    with pytest.raises(RuntimeError, match="PARTITION_DETACH_ONLY"):
        Settings.from_env({"PARTITION_DETACH_ONLY": "sometimes"})


@pytest.mark.parametrize("text, expected", [("on", True), ("no", False), ("", False)])
def test_a_boolean_setting_reads_the_same_words(text, expected):
    assert Settings.from_env({"PARTITION_DETACH_ONLY": text}).partition_detach_only is expected
