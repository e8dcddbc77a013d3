"""Murmur3 partition tokens, as Cassandra's Murmur3Partitioner computes them,
for `WHERE token(pk, ...) > ? AND token(pk, ...) <= ?` range reads.

A one-column partition key hashes its serialised value; a composite key
hashes the composite encoding (per component: 2-byte length, bytes, 0x00).
The hash of the minimum token is mapped to the maximum, so tokens lie in
(-2**63, 2**63 - 1], and full-range reads return partitions in token order.
"""
from __future__ import annotations

import struct

MIN_TOKEN = -(2 ** 63)
MAX_TOKEN = 2 ** 63 - 1


def routing_key(pk_cells: tuple) -> bytes:
    if len(pk_cells) == 1:
        return pk_cells[0]
    return b"".join(struct.pack(">H", len(c)) + c + b"\x00" for c in pk_cells)


def token_of(pk_cells: tuple) -> int:
    from cassandra.murmur3 import murmur3
    t = murmur3(routing_key(pk_cells))
    return MAX_TOKEN if t == MIN_TOKEN else t


def bound_value(term, values: list) -> int:
    """The bigint a token bound compares with (a bound marker or a number literal)."""
    from . import cql
    if isinstance(term, cql.Marker):
        raw = values[term.index]
        if raw is None or raw is ...:
            from .catalog import invalid
            raise invalid("Invalid null value for partition key token")
        return struct.unpack(">q", raw)[0]
    return int(term.value)


def partition_keys_in_range(table, bounds: list) -> list:
    """The keys of the table's partitions whose token satisfies `bounds`, in token order.

    The token order is computed once per table size (rows only ever get
    added), so paging through a range costs a bisection, not a sort."""
    import bisect
    cached = getattr(table, "_token_order", None)
    if cached is None or cached[0] != len(table.partitions):
        order = sorted((token_of(pk), pk) for pk in table.partitions)
        cached = (len(table.partitions), [t for t, _ in order], [pk for _, pk in order])
        table._token_order = cached
    _, toks, pks = cached
    lo, hi = 0, len(toks)
    for op, v in bounds:
        if op == ">":
            lo = max(lo, bisect.bisect_right(toks, v))
        elif op == ">=":
            lo = max(lo, bisect.bisect_left(toks, v))
        elif op == "<":
            hi = min(hi, bisect.bisect_left(toks, v))
        elif op == "<=":
            hi = min(hi, bisect.bisect_right(toks, v))
    return pks[lo:hi]
