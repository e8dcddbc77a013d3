"""Collecting comparison outcomes and building the answer (seed 003 shapes).

One `ReportBuilder` per comparison run. Engines feed it outcomes key by
key; it keeps exact counts for everything and lists up to `max_listed`
entries of each kind, so an answer stays bounded whatever the key count.

Side labels are the engine's: Redis uses ("cluster1", "cluster2") and gets
`cluster1_value`, `missing_in_cluster2`…; Cassandra uses ("pro", "test") and
gets `pro_value`, `missing_in_test`….

    rb = ReportBuilder("pro", "test", identical_name="identical_results")
    rb.add_difference({"user_id": "1001"}, field="email",
                      left_value="a@x", right_value="b@x")
    rb.add_identical({"user_id": "1002"}, {"pro_fields": {...}, "test_fields": {...}})
    rb.add_missing({"user_id": "1003"}, missing_in="test")
    answer = rb.build()          # differences, identical_results, field_diff_count,
                                 # missing_in_pro/test, summary{overview, percentages,
                                 # field_analysis, recommendations, ...}, counts
"""
from __future__ import annotations

import json
from collections import Counter, defaultdict
from typing import Any, Iterable

from .recommendations import Facts, recommend
from .values import DEFAULT_MAX_CHARS, shorten

VALUE_MISMATCH = "value_mismatch"
TYPE_MISMATCH = "type_mismatch"
TTL_MISMATCH = "ttl_mismatch"
MISSING = "missing"
DIFFERENCE_TYPES = (VALUE_MISMATCH, TYPE_MISMATCH, TTL_MISMATCH, MISSING)

DEFAULT_MAX_LISTED = 1000

_DEFAULT_MESSAGES = {
    VALUE_MISMATCH: "values differ",
    TYPE_MISMATCH: "types differ",
    TTL_MISMATCH: "TTL differs beyond the tolerance",
}


def key_id(key: Any) -> Any:
    """A hashable identity for a key (dict keys of composite primary keys too)."""
    if isinstance(key, (dict, list, tuple)):
        return json.dumps(key, sort_keys=True, default=str, ensure_ascii=False)
    if isinstance(key, (bytes, bytearray)):
        return bytes(key)
    return key


def rate(part: int, whole: int) -> float:
    return round(100.0 * part / whole, 2) if whole else 0.0


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
        for side in sides:
            self._missing_count[side] += 1
            if len(self._missing[side]) < self.max_listed:
                self._missing[side].append(key)
        if not as_difference:
            self._diff_kinds[kid].add(MISSING)
            return
        if missing_in == "both":
            values = {self.left: None, self.right: None}
            hints = {self.left: None, self.right: None}
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
        json_reordered, paged_values, ... (see recommendations.Facts)."""
        self._notes[name] += count

    def recommend(self, text: str) -> None:
        """An engine-specific recommendation, listed after the rule-based ones."""
        self._extra_recommendations.append(text)

    # ------------------------------------------------------------ reading

    @property
    def different_keys(self) -> int:
        return len(self._diff_kinds)

    @property
    def identical_count(self) -> int:
        return self._identical_count

    def is_different(self, key: Any) -> bool:
        return key_id(key) in self._diff_kinds

    # ------------------------------------------------------------ building

    def facts(self, total_keys: int | None = None) -> Facts:
        total = (total_keys if total_keys is not None
                 else len(self._keys_seen) + self._identical_count + self._skipped_count)
        missing_keys = {k for k, kinds in self._diff_kinds.items() if MISSING in kinds}
        kinds_per_key = Counter()
        only_ttl = []
        for kid, kinds in self._diff_kinds.items():
            for k in kinds:
                kinds_per_key[k] += 1
            if kinds == {TTL_MISMATCH}:
                only_ttl.append(self._key_display[kid])
        only_field: Counter = Counter()
        for kid, fields in self._diff_fields.items():
            if len(fields) == 1 and self._diff_kinds.get(kid, set()) - {MISSING}:
                only_field[next(iter(fields))] += 1
        only_path: Counter = Counter()
        for kid, paths in self._diff_paths.items():
            if len(paths) == 1:
                only_path[next(iter(paths))] += 1
        categories = defaultdict(lambda: {"total": 0, "identical": 0, "different": 0, "missing": 0})
        for kid, cat in self._category_of.items():
            c = categories[cat]
            c["total"] += 1
            kinds = self._diff_kinds.get(kid)
            if kinds and MISSING in kinds:
                c["missing"] += 1
            elif kinds:
                c["different"] += 1
        for cat, n in self._category_identical.items():
            categories[cat]["total"] += n
            categories[cat]["identical"] += n
        present_both = max(0, total - len(missing_keys) - self._skipped_count)
        return Facts(
            left=self.left,
            right=self.right,
            subject=self.subject,
            total_keys=total,
            identical_keys=self._identical_count,
            different_keys=len(self._diff_kinds),
            missing={side: self._missing_count[side] for side in (self.left, self.right)},
            missing_keys=len(missing_keys),
            missing_examples={side: list(self._missing[side][:200]) for side in (self.left, self.right)},
            skipped=self._skipped_count,
            skipped_reasons=Counter(s["reason"] for s in self._skipped),
            present_both=present_both,
            kinds_per_key=dict(kinds_per_key),
            only_ttl_keys=only_ttl,
            field_counts=dict(self._field_counts),
            only_field=dict(only_field),
            only_path=dict(only_path),
            path_counts=dict(self._path_counts),
            categories={k: dict(v) for k, v in categories.items()},
            notes=dict(self._notes),
        )

    def build(self, total_keys: int | None = None) -> dict:
        f = self.facts(total_keys)
        total = f.total_keys
        summary: dict = {
            "overview": overview_text(f),
            "percentages": {
                "match_rate": rate(f.identical_keys, total),
                "diff_rate": rate(f.different_keys, total),
                "missing_rate": rate(f.missing_keys, total),
            },
            "counts": {
                "total_keys": total,
                "identical_keys": f.identical_keys,
                "different_keys": f.different_keys,
                f"missing_in_{self.left}": f.missing[self.left],
                f"missing_in_{self.right}": f.missing[self.right],
                "skipped_keys": f.skipped,
                "difference_entries": self._difference_entries,
            },
            "difference_types": {k: f.kinds_per_key.get(k, 0) for k in DIFFERENCE_TYPES if f.kinds_per_key.get(k)},
            "field_analysis": {
                name: {"diff_count": n, "diff_rate": rate(n, f.present_both)}
                for name, n in sorted(self._field_counts.items(), key=lambda kv: (-kv[1], kv[0]))
            },
        }
        if f.categories:
            summary["type_analysis"] = {
                cat: {**c, "diff_rate": rate(c["different"] + c["missing"], c["total"])}
                for cat, c in sorted(f.categories.items())
            }
        if self._path_counts:
            top = sorted(self._path_counts.items(), key=lambda kv: (-kv[1], kv[0]))[:50]
            summary["json_path_analysis"] = {p: {"diff_count": n} for p, n in top}
        if f.notes:
            summary["notes"] = dict(f.notes)
        summary["recommendations"] = recommend(f) + self._extra_recommendations
        answer = {
            "total_keys": total,
            "differences": self._differences,
            self.identical_name: self._identical,
            "field_diff_count": dict(self._field_counts),
            f"missing_in_{self.left}": self._missing[self.left],
            f"missing_in_{self.right}": self._missing[self.right],
            "differences_count": f.different_keys,
            "identical_count": f.identical_keys,
            "summary": summary,
        }
        if self._skipped_count:
            answer["skipped_keys"] = self._skipped
        listed_cut = {
            "differences": self._difference_entries > len(self._differences),
            self.identical_name: self.include_identical and self._identical_count > len(self._identical),
            "missing": any(self._missing_count[s] > len(self._missing[s]) for s in self._missing),
        }
        if any(listed_cut.values()):
            answer["listing_truncated"] = {k: v for k, v in listed_cut.items() if v}
            answer["max_listed"] = self.max_listed
        return answer


def overview_text(f: Facts) -> str:
    noun = f.subject if f.total_keys == 1 else f.subject + "s"
    parts = [f"Compared {f.total_keys} {noun}"]
    if f.total_keys == 0:
        return parts[0] + "."
    detail = [f"{f.identical_keys} identical"]
    diff_only = f.different_keys - f.missing_keys
    if diff_only > 0:
        detail.append(f"{diff_only} with differences")
    for side, n in f.missing.items():
        if n:
            detail.append(f"{n} missing in {side}")
    if f.skipped:
        detail.append(f"{f.skipped} not readable")
    text = f"{parts[0]}: " + ", ".join(detail) + "."
    if f.different_keys == 0 and f.skipped == 0:
        text += " No differences found."
    else:
        text += f" Found {f.different_keys} {f.subject}{'' if f.different_keys == 1 else 's'} that differ."
    return text
