"""Sharded tables: which `<table>_<n>` holds a key.

The Unix timestamp comes from the key value itself: a 13-digit run is
milliseconds, a 10-digit run is seconds (`wmid_1609459200`,
`order-1609459200123-x`). The shard is `(seconds // interval) % table_count`.
A key without such a run cannot be routed: it is reported in failed_keys and
left out of the comparison, never an error.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

_MILLIS = re.compile(r"(?<!\d)(\d{13})(?!\d)")
_SECONDS = re.compile(r"(?<!\d)(\d{10})(?!\d)")


def extract_timestamp(value: Any) -> int | None:
    """Seconds since the epoch found in a key value, or None."""
    text = str(value)
    match = _MILLIS.search(text)
    if match:
        return int(match.group(1)) // 1000
    match = _SECONDS.search(text)
    if match:
        return int(match.group(1))
    return None


def shard_index(seconds: int, interval_seconds: int, table_count: int) -> int:
    return (seconds // interval_seconds) % table_count


def shard_table(table: str, seconds: int, interval_seconds: int, table_count: int) -> str:
    return f"{table}_{shard_index(seconds, interval_seconds, table_count)}"


@dataclass
class ShardPlan:
    """For one side: the table of each routable key, and the keys that could not be routed."""
    sharded: bool
    table_of: dict = field(default_factory=dict)  # key index -> table name
    failed: list = field(default_factory=list)  # key indexes without a timestamp

    def tables_used(self) -> list:
        return sorted(set(self.table_of.values()), key=_natural)


def _natural(name: str) -> tuple:
    head, _, tail = name.rpartition("_")
    return (head, int(tail)) if tail.isdigit() else (name, -1)


def plan_side(table: str, key_texts: list, sharded: bool, interval_seconds: int, table_count: int) -> ShardPlan:
    """key_texts: for each key, the text the timestamp is searched in."""
    plan = ShardPlan(sharded)
    for index, text in enumerate(key_texts):
        if not sharded:
            plan.table_of[index] = table
            continue
        seconds = extract_timestamp(text)
        if seconds is None:
            plan.failed.append(index)
        else:
            plan.table_of[index] = shard_table(table, seconds, interval_seconds, table_count)
    return plan
