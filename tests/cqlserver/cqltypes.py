"""CQL types for the test server: parse type strings, encode values, write type options.

Values are held as Python objects and encoded to the protocol v4 wire format
(native_protocol_v4.spec section 6) when a row is sent.
"""
from __future__ import annotations

import datetime as dt
import decimal
import ipaddress
import struct
import uuid
from dataclasses import dataclass, field

from .wire import write_short, write_string

EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
EPOCH_DATE = dt.date(1970, 1, 1)

_SIMPLE_IDS = {
    "ascii": 0x0001, "bigint": 0x0002, "blob": 0x0003, "boolean": 0x0004,
    "counter": 0x0005, "decimal": 0x0006, "double": 0x0007, "float": 0x0008,
    "int": 0x0009, "timestamp": 0x000B, "uuid": 0x000C, "varchar": 0x000D,
    "text": 0x000D, "varint": 0x000E, "timeuuid": 0x000F, "inet": 0x0010,
    "date": 0x0011, "time": 0x0012, "smallint": 0x0013, "tinyint": 0x0014,
}
_COLLECTION_IDS = {"list": 0x0020, "map": 0x0021, "set": 0x0022, "tuple": 0x0031}
UDT_ID = 0x0030


@dataclass(frozen=True)
class CqlType:
    """A parsed CQL type. `name` is a simple type name, a collection name, 'tuple' or 'udt'."""

    name: str
    params: tuple = ()
    frozen: bool = False
    # UDT only
    keyspace: str = ""
    udt_name: str = ""
    field_names: tuple = ()

    def cql(self) -> str:
        """The type as system_schema.columns shows it."""
        if self.name == "udt":
            text = self.udt_name
            return f"frozen<{text}>" if self.frozen else text
        if self.name in ("list", "set", "map", "tuple"):
            inner = ", ".join(p.cql() for p in self.params)
            text = f"{self.name}<{inner}>"
            return f"frozen<{text}>" if self.frozen and self.name != "tuple" else text
        return "text" if self.name == "varchar" else self.name

    def option(self) -> bytes:
        """The [option] that describes this type in result metadata."""
        if self.name in _SIMPLE_IDS:
            return write_short(_SIMPLE_IDS[self.name])
        if self.name in ("list", "set"):
            return write_short(_COLLECTION_IDS[self.name]) + self.params[0].option()
        if self.name == "map":
            return write_short(0x0021) + self.params[0].option() + self.params[1].option()
        if self.name == "tuple":
            return (write_short(0x0031) + write_short(len(self.params))
                    + b"".join(p.option() for p in self.params))
        if self.name == "udt":
            out = [write_short(UDT_ID), write_string(self.keyspace), write_string(self.udt_name),
                   write_short(len(self.field_names))]
            for fname, ftype in zip(self.field_names, self.params):
                out.append(write_string(fname))
                out.append(ftype.option())
            return b"".join(out)
        raise ValueError(f"no option for type {self.name}")

    def encode(self, value) -> bytes | None:
        """Serialise a Python value (None stays None: a null cell)."""
        if value is None:
            return None
        return _encode(self, value)


def list_of(element: CqlType) -> CqlType:
    return CqlType("list", (element,))


class TypeParser:
    """Parses 'map<text, frozen<list<int>>>' style strings; UDT names resolve through `udts`."""

    def __init__(self, text: str, keyspace: str, udts: dict):
        self.text = text
        self.pos = 0
        self.keyspace = keyspace
        self.udts = udts

    def parse(self) -> CqlType:
        result = self._type()
        self._skip_ws()
        if self.pos != len(self.text):
            raise ValueError(f"bad CQL type {self.text!r}")
        return result

    def _skip_ws(self):
        while self.pos < len(self.text) and self.text[self.pos].isspace():
            self.pos += 1

    def _ident(self) -> str:
        self._skip_ws()
        start = self.pos
        while self.pos < len(self.text) and (self.text[self.pos].isalnum() or self.text[self.pos] in "_."):
            self.pos += 1
        if start == self.pos:
            raise ValueError(f"bad CQL type {self.text!r} at {start}")
        return self.text[start:self.pos].lower()

    def _expect(self, char: str):
        self._skip_ws()
        if self.pos >= len(self.text) or self.text[self.pos] != char:
            raise ValueError(f"bad CQL type {self.text!r}: expected {char!r}")
        self.pos += 1

    def _peek(self) -> str:
        self._skip_ws()
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def _params(self) -> list:
        self._expect("<")
        params = [self._type()]
        while self._peek() == ",":
            self.pos += 1
            params.append(self._type())
        self._expect(">")
        return params

    def _type(self, frozen: bool = False) -> CqlType:
        name = self._ident()
        if name == "frozen":
            self._expect("<")
            inner = self._type(frozen=True)
            self._expect(">")
            return inner
        if name in _SIMPLE_IDS:
            return CqlType(name)
        if name in ("list", "set"):
            params = self._params()
            if len(params) != 1:
                raise ValueError(f"{name} takes one type in {self.text!r}")
            return CqlType(name, tuple(params), frozen)
        if name == "map":
            params = self._params()
            if len(params) != 2:
                raise ValueError(f"map takes two types in {self.text!r}")
            return CqlType(name, tuple(params), frozen)
        if name == "tuple":
            return CqlType(name, tuple(self._params()), True)
        ks, _, udt = name.rpartition(".")
        ks = ks or self.keyspace
        udt_type = self.udts.get((ks, udt))
        if udt_type is None:
            raise ValueError(f"unknown type {name!r} in keyspace {ks!r}")
        return CqlType("udt", udt_type.params, frozen, ks, udt, udt_type.field_names)


def parse_type(text: str, keyspace: str = "", udts: dict | None = None) -> CqlType:
    return TypeParser(text, keyspace, udts or {}).parse()


# ---------------------------------------------------------------- encoding

def varint_bytes(number: int) -> bytes:
    """Minimal big-endian two's complement, as Cassandra's varint."""
    length = max(1, (number.bit_length() + 8) // 8)
    return number.to_bytes(length, "big", signed=True)


def _to_datetime(value) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day, tzinfo=dt.timezone.utc)
    if isinstance(value, str):
        text = value.strip().replace("Z", "+00:00")
        if len(text) >= 5 and text[-5] in "+-" and text[-3] != ":":
            text = text[:-2] + ":" + text[-2:]
        return _to_datetime(dt.datetime.fromisoformat(text))
    raise TypeError(f"not a timestamp: {value!r}")


def _timestamp_ms(value) -> int:
    if isinstance(value, int):
        return value
    moment = _to_datetime(value)
    delta = moment - EPOCH
    return (delta.days * 86400 + delta.seconds) * 1000 + delta.microseconds // 1000


def _date_days(value) -> int:
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        value = dt.date.fromisoformat(value)
    if isinstance(value, dt.datetime):
        value = value.date()
    if hasattr(value, "days_from_epoch"):  # cassandra.util.Date
        return value.days_from_epoch
    return (value - EPOCH_DATE).days


def _time_nanos(value) -> int:
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        value = dt.time.fromisoformat(value)
    if hasattr(value, "nanosecond_time"):  # cassandra.util.Time
        return value.nanosecond_time
    return ((value.hour * 60 + value.minute) * 60 + value.second) * 10**9 + value.microsecond * 1000


def _uuid(value) -> bytes:
    if isinstance(value, uuid.UUID):
        return value.bytes
    if isinstance(value, bytes) and len(value) == 16:
        return value
    return uuid.UUID(str(value)).bytes


def _element(ctype: CqlType, value) -> bytes:
    encoded = ctype.encode(value)
    if encoded is None:
        return struct.pack(">i", -1)
    return struct.pack(">i", len(encoded)) + encoded


def _encode(ctype: CqlType, value) -> bytes:
    name = ctype.name
    if name in ("text", "varchar", "ascii"):
        return str(value).encode("ascii" if name == "ascii" else "utf-8")
    if name in ("bigint", "counter"):
        return struct.pack(">q", int(value))
    if name == "int":
        return struct.pack(">i", int(value))
    if name == "smallint":
        return struct.pack(">h", int(value))
    if name == "tinyint":
        return struct.pack(">b", int(value))
    if name == "varint":
        return varint_bytes(int(value))
    if name == "boolean":
        return b"\x01" if value else b"\x00"
    if name == "double":
        return struct.pack(">d", float(value))
    if name == "float":
        return struct.pack(">f", float(value))
    if name == "decimal":
        number = value if isinstance(value, decimal.Decimal) else decimal.Decimal(str(value))
        sign, digits, exponent = number.as_tuple()
        unscaled = int("".join(map(str, digits)) or "0")
        if sign:
            unscaled = -unscaled
        return struct.pack(">i", -exponent) + varint_bytes(unscaled)
    if name in ("uuid", "timeuuid"):
        return _uuid(value)
    if name == "timestamp":
        return struct.pack(">q", _timestamp_ms(value))
    if name == "date":
        return struct.pack(">I", (_date_days(value) + 2**31) % 2**32)
    if name == "time":
        return struct.pack(">q", _time_nanos(value))
    if name == "inet":
        return ipaddress.ip_address(str(value)).packed
    if name == "blob":
        if isinstance(value, str):
            return bytes.fromhex(value[2:] if value.startswith("0x") else value)
        return bytes(value)
    if name in ("list", "set"):
        items = list(value)
        if name == "set":
            items = sorted(items, key=lambda item: ctype.params[0].encode(item) or b"")
        return struct.pack(">i", len(items)) + b"".join(_element(ctype.params[0], v) for v in items)
    if name == "map":
        key_type, value_type = ctype.params
        items = sorted(dict(value).items(), key=lambda kv: key_type.encode(kv[0]) or b"")
        return struct.pack(">i", len(items)) + b"".join(
            _element(key_type, k) + _element(value_type, v) for k, v in items)
    if name == "tuple":
        values = list(value)
        if len(values) != len(ctype.params):
            raise ValueError(f"tuple needs {len(ctype.params)} values, got {len(values)}")
        return b"".join(_element(t, v) for t, v in zip(ctype.params, values))
    if name == "udt":
        getter = value.get if isinstance(value, dict) else (lambda key: getattr(value, key, None))
        return b"".join(_element(t, getter(f)) for f, t in zip(ctype.field_names, ctype.params))
    raise TypeError(f"cannot encode type {name}")


def split_collection(data: bytes) -> list:
    """The element [bytes] of a serialised list or set (None for null elements)."""
    (count,) = struct.unpack_from(">i", data, 0)
    pos, out = 4, []
    for _ in range(count):
        (length,) = struct.unpack_from(">i", data, pos)
        pos += 4
        if length < 0:
            out.append(None)
        else:
            out.append(data[pos:pos + length])
            pos += length
    return out


@dataclass
class UdtDef:
    keyspace: str
    name: str
    field_names: tuple
    params: tuple
    field_type_texts: tuple = field(default=())
