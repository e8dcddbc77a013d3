"""Protocol v4 primitives ([short], [string], [bytes], ...) and a body reader."""
from __future__ import annotations

import struct

HEADER = struct.Struct(">BBhBi")  # version, flags, stream, opcode, length

# opcodes
ERROR, STARTUP, READY, AUTHENTICATE = 0x00, 0x01, 0x02, 0x03
OPTIONS, SUPPORTED, QUERY, RESULT = 0x05, 0x06, 0x07, 0x08
PREPARE, EXECUTE, REGISTER, EVENT = 0x09, 0x0A, 0x0B, 0x0C
BATCH, AUTH_CHALLENGE, AUTH_RESPONSE, AUTH_SUCCESS = 0x0D, 0x0E, 0x0F, 0x10

# result kinds
VOID, ROWS, SET_KEYSPACE, PREPARED = 0x0001, 0x0002, 0x0003, 0x0004

# error codes
SERVER_ERROR, PROTOCOL_ERROR, BAD_CREDENTIALS = 0x0000, 0x000A, 0x0100
SYNTAX_ERROR, UNAUTHORIZED, INVALID, UNPREPARED = 0x2000, 0x2100, 0x2200, 0x2500
UNAVAILABLE, READ_TIMEOUT, READ_FAILURE = 0x1000, 0x1200, 0x1300

CONSISTENCY = {0x0000: "ANY", 0x0001: "ONE", 0x0002: "TWO", 0x0003: "THREE", 0x0004: "QUORUM",
               0x0005: "ALL", 0x0006: "LOCAL_QUORUM", 0x0007: "EACH_QUORUM", 0x0008: "SERIAL",
               0x0009: "LOCAL_SERIAL", 0x000A: "LOCAL_ONE"}
CONSISTENCY_CODE = {name: code for code, name in CONSISTENCY.items()}


def write_short(value: int) -> bytes:
    return struct.pack(">H", value)


def write_int(value: int) -> bytes:
    return struct.pack(">i", value)


def write_string(value: str) -> bytes:
    data = value.encode("utf-8")
    return struct.pack(">H", len(data)) + data


def write_long_string(value: str) -> bytes:
    data = value.encode("utf-8")
    return struct.pack(">i", len(data)) + data


def write_bytes(value: bytes | None) -> bytes:
    if value is None:
        return struct.pack(">i", -1)
    return struct.pack(">i", len(value)) + value


def write_short_bytes(value: bytes) -> bytes:
    return struct.pack(">H", len(value)) + value


def write_string_multimap(values: dict) -> bytes:
    out = [write_short(len(values))]
    for key, items in values.items():
        out.append(write_string(key))
        out.append(write_short(len(items)))
        out.extend(write_string(item) for item in items)
    return b"".join(out)


class ProtocolViolation(Exception):
    """The client sent a body we cannot read."""


class Reader:
    """Reads protocol primitives from a frame body."""

    def __init__(self, data: bytes):
        self.data = data
        self.pos = 0

    def _take(self, count: int) -> bytes:
        if count < 0 or self.pos + count > len(self.data):
            raise ProtocolViolation("truncated frame body")
        chunk = self.data[self.pos:self.pos + count]
        self.pos += count
        return chunk

    def byte(self) -> int:
        return self._take(1)[0]

    def short(self) -> int:
        return struct.unpack(">H", self._take(2))[0]

    def int(self) -> int:
        return struct.unpack(">i", self._take(4))[0]

    def long(self) -> int:
        return struct.unpack(">q", self._take(8))[0]

    def string(self) -> str:
        return self._take(self.short()).decode("utf-8")

    def long_string(self) -> str:
        return self._take(self.int()).decode("utf-8")

    def short_bytes(self) -> bytes:
        return self._take(self.short())

    def bytes(self):
        """[bytes]: None for null; the UNSET marker (-2) comes back as Ellipsis."""
        length = self.int()
        if length == -1:
            return None
        if length == -2:
            return ...
        return self._take(length)

    def string_map(self) -> dict:
        return {self.string(): self.string() for _ in range(self.short())}

    def bytes_map(self) -> dict:
        return {self.string(): self.bytes() for _ in range(self.short())}

    def string_list(self) -> list:
        return [self.string() for _ in range(self.short())]

    def at_end(self) -> bool:
        return self.pos >= len(self.data)
