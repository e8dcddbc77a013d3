"""Request keys: parsed to their CQL types once, deduplicated by typed value, shown as spelt.

    parsed = parse_values(values, key_columns)          # per-column texts, in request order
    keys = typed_keys(parsed, key_columns, types)       # one Key per distinct typed value

`15`, `"015"` and `"+15"` for an int column are one key; four spellings of
one instant for a timestamp column are one key. A key is reported with the
caller's first spelling (`Key.display`), and all its spellings are listed
when there were several (`Key.spellings`). A value that cannot be read as
its column's type is a 400 naming the value, the column and the type.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from chalicelib.compare.core.binary import display_bytes, label
from chalicelib.errors import ValidationError, field_error, field_errors

from .config import key_parts
from .values import convert_key, key_identity, type_name


@dataclass
class Key:
    index: int
    texts: list                    # first spelling, one text (or bytes) per key column
    typed: list                    # values bound in queries, per key column
    identity: tuple
    spellings: list = field(default_factory=list)   # every distinct spelling, as displayed

    def display(self, columns: list) -> dict:
        return {c: display_bytes(t) for c, t in zip(columns, self.texts, strict=False)}

    def label(self) -> str:
        return "|".join(label(t) for t in self.texts)

    def route_text(self) -> str:
        """The text a sharded comparison searches for the timestamp."""
        return "|".join(label(t) for t in self.texts)


def parse_values(values: list, columns: list) -> list:
    """Per-column texts of every value (400 for a value of the wrong shape)."""
    out, errors = [], []
    for index, value in enumerate(values):
        try:
            out.append(key_parts(value, columns))
        except ValueError as exc:
            errors.append(field_error(["body", "values", index], str(exc), "key_shape"))
    if errors:
        raise ValidationError(f"values[{errors[0]['loc'][2]}]: {errors[0]['msg']}", field_errors(errors))
    return out


def _spelling(columns: list, texts: list) -> Any:
    shown = [display_bytes(t) for t in texts]
    return shown[0] if len(columns) == 1 else dict(zip(columns, shown, strict=False))


def convert(texts: list, columns: list, types: list, side: str = "") -> list:
    typed = []
    for column, ctype, text in zip(columns, types, texts, strict=False):
        try:
            typed.append(convert_key(text, ctype))
        except (ValueError, TypeError, OverflowError) as exc:
            cql = type_name(ctype)
            shown = label(text)
            where = f" ({side})" if side else ""
            raise ValidationError(
                f"value {shown!r} for key column {column} is not a valid {cql}{where}: {exc}",
                field_errors(field_error(["body", "values"], f"{shown!r} is not a valid {cql}: {exc}",
                                         "key_conversion"),
                             value=display_bytes(text), column=column, cql_type=cql)) from None
    return typed


def identity_of(typed: list) -> tuple:
    return tuple(key_identity(v) for v in typed)


def typed_keys(parsed: list, columns: list, types: list) -> tuple[list, int]:
    """(distinct keys in first-seen order, how many values were repeats of an earlier key)."""
    keys: list = []
    by_identity: dict = {}
    for texts in parsed:
        typed = convert(texts, columns, types)
        ident = identity_of(typed)
        spelling = _spelling(columns, texts)
        known = by_identity.get(ident)
        if known is None:
            key = Key(len(keys), list(texts), typed, ident, [spelling])
            by_identity[ident] = key
            keys.append(key)
        elif spelling not in known.spellings:
            known.spellings.append(spelling)
    return keys, len(parsed) - len(keys)
