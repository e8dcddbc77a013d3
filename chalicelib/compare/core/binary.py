"""The one binary-safe form of keys and values: `{"base64": "..."}`.

A value is shown as text when it is UTF-8 text without NUL characters;
anything else (bytes that are not valid UTF-8, text holding `\\x00`, lone
surrogates) is shown as `{"base64": "<standard base64 of the bytes>"}`
(text is encoded as UTF-8 first). The form is unambiguous: a key or a
string value is otherwise always a JSON string, so an object can only be
this form; and it is reversible: `from_binary_form` gives the exact bytes
back, which is how specified mode accepts a key found in sample mode.

`storable(obj)` applies the same rule to every string inside a JSON-like
document (dict keys included), so that history, results and query logs
accept any bytes: PostgreSQL refuses NUL in text and jsonb.
"""
from __future__ import annotations

import base64
import binascii
import json
from typing import Any

BASE64 = "base64"


def _text_ok(text: str) -> bool:
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates
        return False
    return True


class Blob(bytes):
    """Bytes whose type says they are binary (a CQL blob): always shown in the binary form."""


def binary_form(raw: bytes) -> dict:
    return {BASE64: base64.b64encode(raw).decode("ascii")}


def display_bytes(value: Any) -> Any:
    """bytes/str -> str when it is clean UTF-8 text, else {"base64": ...}."""
    if isinstance(value, Blob):
        return binary_form(bytes(value))
    if isinstance(value, (bytes, bytearray, memoryview)):
        raw = bytes(value)
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            return binary_form(raw)
        return text if "\x00" not in text else binary_form(raw)
    if isinstance(value, str):
        return value if _text_ok(value) else binary_form(value.encode("utf-8", "surrogatepass"))
    return value


def is_binary_form(value: Any) -> bool:
    return isinstance(value, dict) and set(value) == {BASE64} and isinstance(value[BASE64], str)


def from_binary_form(value: Any) -> bytes:
    """The bytes of a {"base64": ...} object (ValueError when it is not valid base64)."""
    try:
        return base64.b64decode(value[BASE64].encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError):
        raise ValueError("base64 must be standard base64 text") from None


def key_from_request(value: Any) -> Any:
    """A key as a request gives it: a string, or the binary form (-> bytes)."""
    if is_binary_form(value):
        return from_binary_form(value)
    return value


def storable(obj: Any) -> Any:
    """A JSON-like document in which every string is clean text (see module docstring)."""
    if isinstance(obj, str):
        return obj if _text_ok(obj) else binary_form(obj.encode("utf-8", "surrogatepass"))
    if isinstance(obj, (bytes, bytearray, memoryview)):
        return display_bytes(obj)
    if isinstance(obj, dict):
        out = {}
        for k, v in obj.items():
            key = k if isinstance(k, str) and _text_ok(k) else _key_text(k)
            out[key] = storable(v)
        return out
    if isinstance(obj, (list, tuple)):
        return [storable(v) for v in obj]
    return obj


def _key_text(key: Any) -> str:
    shown = display_bytes(key) if isinstance(key, (str, bytes, bytearray, memoryview)) else str(key)
    return shown if isinstance(shown, str) else json.dumps(shown, sort_keys=True)


def storable_text(text: str) -> str:
    """A text column value: unchanged when clean, else the JSON text of the binary form."""
    if _text_ok(text):
        return text
    return json.dumps(binary_form(text.encode("utf-8", "surrogatepass")))


def label(value: Any) -> str:
    """A key as one line of a log message: the text, or its binary form as JSON."""
    shown = display_bytes(value)
    return shown if isinstance(shown, str) else json.dumps(shown)
