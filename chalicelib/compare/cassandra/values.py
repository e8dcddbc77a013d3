"""CQL values: request strings -> typed key values, and driver values -> comparable form.

`convert_key(text, cql_type)` turns a key value given as a string into the
Python value the driver binds for that CQL type (ValueError when it cannot).
`normalise(value)` turns what the driver returns into a JSON-like value
compared the same way on both sides: timestamps as ISO UTC text, decimals
kept exact (Decimal), sets as sorted lists (order-free), lists in order,
maps as objects keyed by the key's text, UDTs as objects, tuples as lists,
blobs as `Blob` bytes (shown as {"base64": ...}), UUIDs/dates/times/inet as text.
A key value may also be given as bytes (from the binary form {"base64": ...}):
a blob takes them as they are, other types read them as UTF-8 text.

Importing this module does not import the cassandra driver.
"""
from __future__ import annotations

import datetime as dt
import decimal
import ipaddress
import json
import re
import struct
import uuid
from typing import Any

from chalicelib.compare.core.binary import Blob, label
from chalicelib.textbool import parse_bool

SIMPLE_TYPES = frozenset({
    "text", "varchar", "ascii", "int", "bigint", "smallint", "tinyint", "varint", "counter",
    "uuid", "timeuuid", "timestamp", "date", "time", "boolean", "double", "float", "decimal",
    "blob", "inet",
})

_INT_RANGES = {
    "int": (-2**31, 2**31 - 1), "bigint": (-2**63, 2**63 - 1), "counter": (-2**63, 2**63 - 1),
    "smallint": (-2**15, 2**15 - 1), "tinyint": (-2**7, 2**7 - 1),
}
_INTEGER = re.compile(r"^[+-]?\d+$")
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)


def type_name(cql_type: Any) -> str:
    """'int', 'list<int>'... for a driver type class or a plain string."""
    if isinstance(cql_type, str):
        return cql_type.strip().lower()
    return cql_type.cql_parameterized_type()


def _parse_timestamp(text: str) -> dt.datetime:
    raw = text.strip()
    if _INTEGER.match(raw):
        number = int(raw)
        # 10 digits or fewer: seconds; more: milliseconds (as the CQL literal is ms)
        seconds = number if abs(number) < 10**11 else number / 1000
        return _EPOCH + dt.timedelta(seconds=seconds)
    iso = raw.replace("Z", "+00:00").replace(" ", "T", 1)
    if len(iso) >= 5 and iso[-5] in "+-" and iso[-4:].isdigit() and "T" in iso:
        iso = iso[:-2] + ":" + iso[-2:]  # +0000 -> +00:00
    moment = dt.datetime.fromisoformat(iso)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone.utc)
    return moment.astimezone(dt.timezone.utc)


def convert_key(value: Any, cql_type: Any) -> Any:
    """A key value (normally a string) as the Python value bound for `cql_type`."""
    name = type_name(cql_type)
    if isinstance(value, (bytes, bytearray)):
        if name == "blob":
            return bytes(value)
        value = bytes(value).decode("utf-8")  # UnicodeDecodeError is a ValueError
    text = value if isinstance(value, str) else json.dumps(value) if isinstance(value, (list, dict)) else str(value)
    if name in ("text", "varchar"):
        return text
    if name == "ascii":
        text.encode("ascii")  # UnicodeEncodeError is a ValueError
        return text
    if name in _INT_RANGES or name == "varint":
        stripped = text.strip()
        if not _INTEGER.match(stripped):
            raise ValueError("not an integer")
        whole = int(stripped)
        if name in _INT_RANGES:
            low, high = _INT_RANGES[name]
            if not low <= whole <= high:
                raise ValueError(f"out of range for {name} ({low}..{high})")
        return whole
    if name in ("double", "float"):
        real = float(text.strip())
        if name == "float":  # what a 32-bit column really stores
            real = struct.unpack(">f", struct.pack(">f", real))[0]
        return real
    if name == "decimal":
        try:
            exact = decimal.Decimal(text.strip())
        except decimal.InvalidOperation:
            raise ValueError("not a decimal number") from None
        if not exact.is_finite():
            raise ValueError("not a finite decimal number")
        return exact
    if name == "boolean":
        return parse_bool(text)
    if name in ("uuid", "timeuuid"):
        parsed = uuid.UUID(text.strip())
        if name == "timeuuid" and parsed.version != 1:
            raise ValueError("not a time-based (version 1) UUID")
        return parsed
    if name == "timestamp":
        return _parse_timestamp(text)
    if name == "date":
        return dt.date.fromisoformat(text.strip())
    if name == "time":
        return dt.time.fromisoformat(text.strip())
    if name == "blob":
        raw = text.strip()
        if raw[:2].lower() == "0x":
            raw = raw[2:]
        return bytes.fromhex(raw)
    if name == "inet":
        return str(ipaddress.ip_address(text.strip()))
    raise ValueError(f"keys of type {name} are not supported")


# ---------------------------------------------------------------- normalising

def iso_utc(moment: dt.datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone.utc)
    return moment.astimezone(dt.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _sort_key(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=lambda v: label(v) if isinstance(v, bytes) else str(v))


class ExactDecimal(decimal.Decimal):
    """A decimal equal only to the same digits and scale (1.50 != 1.5), so that `==` on
    normalised rows and collections is exact; ordering and arithmetic stay Decimal's."""

    __slots__ = ()

    def __eq__(self, other):
        return isinstance(other, decimal.Decimal) and str(self) == str(other)

    def __ne__(self, other):
        return not self.__eq__(other)

    def __hash__(self):
        return hash(str(self))


_AS_IS = frozenset({type(None), bool, int, str, float})


def normalise(value: Any) -> Any:
    """A driver value in the comparable, JSON-like form described in the module docstring."""
    if type(value) in _AS_IS:
        return value
    if isinstance(value, (bool, int, str, float)):
        return value
    if isinstance(value, decimal.Decimal):
        return ExactDecimal(value)
    if isinstance(value, dt.datetime):
        return iso_utc(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dt.time):
        return value.isoformat()
    if isinstance(value, (bytes, bytearray, memoryview)):
        return Blob(bytes(value))
    if isinstance(value, uuid.UUID):
        return str(value)
    cls = type(value).__name__
    if cls in ("Date", "Time"):  # cassandra.util.Date / Time
        return str(value)
    if cls in ("SortedSet",) or isinstance(value, (set, frozenset)):
        items = [normalise(v) for v in value]
        try:
            return sorted(items)
        except TypeError:  # mixed or nested elements
            return sorted(items, key=_sort_key)
    if hasattr(value, "_fields") and hasattr(value, "_asdict"):  # UDT (a namedtuple)
        return {name: normalise(getattr(value, name)) for name in value._fields}
    if isinstance(value, (list, tuple)):
        return [normalise(v) for v in value]
    if hasattr(value, "items"):  # dict, OrderedMapSerializedKey
        out = {}
        for key, item in value.items():
            normal_key = normalise(key)
            text_key = normal_key if isinstance(normal_key, str) else label(normal_key) if isinstance(
                normal_key, bytes) else json.dumps(normal_key, sort_keys=True, default=str)
            out[text_key] = normalise(item)
        return dict(sorted(out.items()))
    if hasattr(value, "__dict__") and not callable(value):  # a UDT the driver mapped to a class
        return {k: normalise(v) for k, v in vars(value).items() if not k.startswith("_")}
    return str(value)


def key_identity(value: Any) -> Any:
    """A hashable identity of one key column value (request side and row side agree)."""
    normal = normalise(value)
    if isinstance(normal, (list, dict)):
        return _sort_key(normal)
    if isinstance(normal, Blob):
        return ("blob", bytes(normal))
    if isinstance(normal, decimal.Decimal):
        return ("decimal", str(normal))  # 1.50 and 1.5 are different keys in Cassandra (other bytes)
    return normal
