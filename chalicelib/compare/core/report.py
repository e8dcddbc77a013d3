"""Collecting comparison outcomes and building the answer (seed 003 shapes).

One `ReportBuilder` per comparison run. Engines feed it outcomes key by
key; it keeps exact counts for everything and lists up to `max_listed`
entries of each kind, so an answer stays bounded whatever the key count.
Every key ends in exactly one class (identical, different, format_only,
missing on one side or both, skipped): see core/summary.py.

Side labels are the engine's: Redis uses ("cluster1", "cluster2") and gets
`cluster1_value`, `missing_in_cluster2`…; Cassandra uses ("pro", "test") and
gets `pro_value`, `missing_in_test`….

    rb = ReportBuilder("pro", "test", identical_name="identical_results")
    rb.add_difference({"user_id": "1001"}, field="email",
                      left_value="a@x", right_value="b@x")
    rb.add_identical({"user_id": "1002"}, {"pro_fields": {...}, "test_fields": {...}})
    rb.add_missing({"user_id": "1003"}, missing_in="test")
    rb.add_format_only({"user_id": "1004"}, field="profile", left_value='{"a":1,"b":2}',
                       right_value='{"b":2,"a":1}', kinds=["json_key_order"], tolerated=False)
    answer = rb.build()          # differences, identical_results, field_diff_count,
                                 # missing_in_pro/test, summary{overview, percentages,
                                 # field_analysis, recommendations, ...}, counts
"""
from __future__ import annotations

import json
from collections import Counter, defaultdict
from typing import Any, Iterable

from .recommendations import Facts
from .summary import rate  # noqa: F401 - re-exported
from .values import DEFAULT_MAX_CHARS, shorten

VALUE_MISMATCH = "value_mismatch"
TYPE_MISMATCH = "type_mismatch"
TTL_MISMATCH = "ttl_mismatch"
MISSING = "missing"
MISSING_ROW = "missing_row"
FORMAT_ONLY = "format_only"
DIFFERENCE_TYPES = (VALUE_MISMATCH, TYPE_MISMATCH, TTL_MISMATCH, MISSING, MISSING_ROW, FORMAT_ONLY)
# every key lands in exactly one of these (identical keys are counted, not classified)
KEY_CLASSES = ("identical", "different", "format_only", "missing_in_left", "missing_in_right",
               "missing_in_both", "skipped")

DEFAULT_MAX_LISTED = 1000

_DEFAULT_MESSAGES = {
    VALUE_MISMATCH: "values differ",
    TYPE_MISMATCH: "types differ",
    TTL_MISMATCH: "TTL differs beyond the tolerance",
    MISSING_ROW: "row missing on one side",
}


def key_id(key: Any) -> Any:
    """A hashable identity for a key (dict keys of composite primary keys too)."""
    if isinstance(key, (dict, list, tuple)):
        return json.dumps(key, sort_keys=True, default=str, ensure_ascii=False)
    if isinstance(key, (bytes, bytearray)):
        return bytes(key)
    return key


class ReportBuilder:
    def __init__(
        self,
        left: str = "pro",
        right: str = "test",
        *,
        identical_name: str = "identical",
        category_name: str = "value_type",
        max_value_chars: int = DEFAULT_MAX_CHARS,
        max_listed: int = DEFAULT_MAX_LISTED,
        include_identical: bool = True,
        subject: str = "key",
        compare_mode: str = "exact",
    ):
        if left == right:
            raise ValueError("side labels must differ")
        self.left, self.right = left, right
        self.identical_name = identical_name
        self.category_name = category_name
        self.max_value_chars = max_value_chars
        self.max_listed = max_listed
        self.include_identical = include_identical
        self.subject = subject
        self.compare_mode = compare_mode

        self._differences: list[dict] = []
        self._identical: list[dict] = []
        self._missing: dict[str, list] = {left: [], right: []}
        self._missing_count: Counter = Counter()
        self._skipped: list[dict] = []
        self._skipped_count = 0
        self._keys_seen: set = set()
        self._diff_kinds: dict[Any, set] = defaultdict(set)   # key -> {difference types}
        self._diff_fields: dict[Any, set] = defaultdict(set)  # key -> {fields}
        self._diff_paths: dict[Any, set] = defaultdict(set)   # key -> {json paths}
        self._key_display: dict[Any, Any] = {}
        self._identical_count = 0
        self._difference_entries = 0
        self._field_counts: Counter = Counter()
        self._path_counts: Counter = Counter()
        self._category_of: dict[Any, str] = {}
        self._category_identical: Counter = Counter()
        self._notes: Counter = Counter()
        self._extra_recommendations: list[str] = []
        self._missing_side: dict[Any, str] = {}          # key -> left | right | both
        self._missing_both: list = []
        self._format_only: list[dict] = []
        self._format_entries = 0
        self._format_kinds: Counter = Counter()           # kind -> keys
        self._format_untolerated: set = set()             # keys with a formatting the mode does not tolerate
        self._key_kinds_format: dict[Any, set] = defaultdict(set)

    # ------------------------------------------------------------ feeding

    def show(self, value: Any, **hints: Any) -> tuple[Any, dict | None]:
        """Display form of a value, cut to max_value_chars (see values.shorten)."""
        return shorten(value, self.max_value_chars, **hints)

    def _see(self, key: Any, category: str | None) -> Any:
        kid = key_id(key)
        self._keys_seen.add(kid)
        self._key_display.setdefault(kid, key)
        if category is not None and kid not in self._category_of:
            self._category_of[kid] = category
        return kid

    def wants_identical_listing(self) -> bool:
        """False once the identical listing is full: engines can skip rendering."""
        return self.include_identical and len(self._identical) < self.max_listed

    def add_identical(self, key: Any, entry: dict | None = None, *, category: str | None = None) -> None:
        """A key equal on both sides. `entry` is the engine's listing shape.

        Kept cheap (counters only) because most keys of a run land here; a key
        is reported either identical or with differences, never both."""
        self._identical_count += 1
        if category is not None:
            self._category_identical[category] += 1
        if self.include_identical and len(self._identical) < self.max_listed:
            item = {"key": key}
            if entry:
                item.update(entry)
            if category is not None and self.category_name not in item:
                item[self.category_name] = category
            self._identical.append(item)

    def add_difference(
        self,
        key: Any,
        *,
        left_value: Any = None,
        right_value: Any = None,
        difference_type: str = VALUE_MISMATCH,
        field: str | None = None,
        category: str | None = None,
        json_paths: Iterable[str] | None = None,
        paths_truncated: bool = False,
        message: str | None = None,
        left_hints: dict | None = None,
        right_hints: dict | None = None,
        extra: dict | None = None,
        shown: bool = False,
    ) -> None:
        """One difference. Several per key are allowed (one per field).

        `left_hints`/`right_hints` go to `shorten` (size_bytes, items) when the
        values are previews of bigger values; `shown=True` means the values are
        already in display form (no cutting).
        """
        kid = self._see(key, category)
        self._diff_kinds[kid].add(difference_type)
        self._difference_entries += 1
        paths = list(json_paths or [])
        if field is not None and difference_type != MISSING:
            if field not in self._diff_fields[kid]:
                self._field_counts[field] += 1
            self._diff_fields[kid].add(field)
        for p in paths:
            full = f"{field}:{p}" if field is not None else p
            if full not in self._diff_paths[kid]:
                self._path_counts[full] += 1
            self._diff_paths[kid].add(full)
        if len(self._differences) >= self.max_listed:
            return
        item: dict = {"key": key}
        if field is not None:
            item["field"] = field
        truncated: dict = {}
        for side, value, hints in ((self.left, left_value, left_hints), (self.right, right_value, right_hints)):
            if shown:
                item[f"{side}_value"] = value
                continue
            disp, info = self.show(value, **(hints or {}))
            item[f"{side}_value"] = disp
            if info:
                truncated[f"{side}_value"] = info
        if category is not None:
            item[self.category_name] = category
        item["difference_type"] = difference_type
        item["message"] = message or _DEFAULT_MESSAGES.get(difference_type, difference_type)
        if paths:
            item["json_paths"] = paths
            if paths_truncated:
                item["json_paths_truncated"] = True
        if truncated:
            item["truncated"] = truncated
        if extra:
            item.update(extra)
        self._differences.append(item)

    def add_format_only(
        self,
        key: Any,
        *,
        left_value: Any = None,
        right_value: Any = None,
        kinds: Iterable[str] = (),
        tolerated: bool = False,
        field: str | None = None,
        category: str | None = None,
        json_paths: Iterable[str] | None = None,
        extra: dict | None = None,
    ) -> None:
        """A value pair that differs only in formatting (its own class; see core.values)."""
        kid = self._see(key, category)
        self._diff_kinds[kid].add(FORMAT_ONLY)
        kinds = sorted(set(kinds))
        for k in kinds:
            if k not in self._key_kinds_format[kid]:
                self._format_kinds[k] += 1
            self._key_kinds_format[kid].add(k)
        if not tolerated:
            self._format_untolerated.add(kid)
        self._format_entries += 1
        if len(self._format_only) >= self.max_listed:
            return
        item: dict = {"key": key}
        if field is not None:
            item["field"] = field
        for side, value in ((self.left, left_value), (self.right, right_value)):
            item[f"{side}_value"] = self.show(value)[0]
        if category is not None:
            item[self.category_name] = category
        item.update({"difference_type": FORMAT_ONLY, "format_kinds": kinds,
                     "json_paths": list(json_paths or []), "tolerated_by_mode": tolerated,
                     "message": "differs only in formatting: " + ", ".join(kinds)})
        if extra:
            item.update(extra)
        self._format_only.append(item)

    def add_missing(
        self,
        key: Any,
        missing_in: str,
        *,
        present_value: Any = None,
        category: str | None = None,
        as_difference: bool = True,
        present_hints: dict | None = None,
        extra: dict | None = None,
    ) -> None:
        """A key absent on side `missing_in` (a side label, or "both")."""
        sides = (self.left, self.right) if missing_in == "both" else (missing_in,)
        for side in sides:
            if side not in self._missing:
                raise ValueError(f"unknown side {side!r}")
        kid = self._see(key, category)
        self._missing_side[kid] = "both" if missing_in == "both" else (
            "left" if missing_in == self.left else "right")
        if missing_in == "both" and len(self._missing_both) < self.max_listed:
            self._missing_both.append(key)
        for side in sides:
            self._missing_count[side] += 1
            if len(self._missing[side]) < self.max_listed:
                self._missing[side].append(key)
        if not as_difference:
            self._diff_kinds[kid].add(MISSING)
            return
        if missing_in == "both":
            values: dict[str, Any] = {self.left: None, self.right: None}
            hints: dict[str, Any] = {self.left: None, self.right: None}
            message = f"missing in both {self.left} and {self.right}"
        else:
            other = self.right if missing_in == self.left else self.left
            values = {missing_in: None, other: present_value}
            hints = {missing_in: None, other: present_hints}
            message = f"missing in {missing_in}"
        self.add_difference(
            key,
            left_value=values[self.left],
            right_value=values[self.right],
            left_hints=hints[self.left],
            right_hints=hints[self.right],
            difference_type=MISSING,
            category=category,
            message=message,
            extra={"missing_in": missing_in, **(extra or {})},
        )

    def add_skipped(self, key: Any, reason: str, **extra: Any) -> None:
        """A key that could not be read (e.g. its node is down): not counted as a difference."""
        self._skipped_count += 1
        if len(self._skipped) < self.max_listed:
            self._skipped.append({"key": key, "reason": reason, **extra})

    def note(self, name: str, count: int = 1) -> None:
        """Count something worth a recommendation: transient_dropped,
        paged_values, ... (see recommendations.Facts)."""
        self._notes[name] += count

    def recommend(self, text: str) -> None:
        """An engine-specific recommendation, listed after the rule-based ones."""
        self._extra_recommendations.append(text)

    # ------------------------------------------------------------ reading

    def key_class(self, key: Any) -> str:
        """identical | different | format_only | missing_in_left/right/both | unknown."""
        kid = key_id(key)
        side = self._missing_side.get(kid)
        if side is not None:
            return f"missing_in_{side}"
        kinds = self._diff_kinds.get(kid)
        if not kinds:
            return "unknown"
        return "format_only" if kinds == {FORMAT_ONLY} else "different"

    def class_counts(self) -> Counter:
        out: Counter = Counter()
        for kid, kinds in self._diff_kinds.items():
            side = self._missing_side.get(kid)
            if side is not None:
                out[f"missing_in_{side}"] += 1
            elif kinds == {FORMAT_ONLY}:
                out["format_only"] += 1
                if kid not in self._format_untolerated:
                    out["format_only_tolerated"] += 1
            else:
                out["different"] += 1
        out["identical"] = self._identical_count
        out["skipped"] = self._skipped_count
        return out

    @property
    def different_keys(self) -> int:
        """Keys that do not match: differences, missing, formatting the mode does not tolerate."""
        c = self.class_counts()
        return len(self._diff_kinds) - c["format_only_tolerated"]

    @property
    def identical_count(self) -> int:
        return self._identical_count

    def is_different(self, key: Any) -> bool:
        return key_id(key) in self._diff_kinds

    # ------------------------------------------------------------ building

    def facts(self, total_keys: int | None = None) -> Facts:
        from .summary import facts
        return facts(self, total_keys)

    def build(self, total_keys: int | None = None) -> dict:
        """The answer: listings, exact per-class counts, summary and recommendations."""
        from .summary import build
        return build(self, total_keys)
