"""Deciding, key by key, how two read states compare.

`compare_key` returns an `Outcome`; `emit` writes it into the shared
ReportBuilder. Values read whole are compared here; values marked paged on
either side are compared page by page by `collections.compare_paged`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from chalicelib.compare.core import FORMAT_ONLY, MISSING, TTL_MISMATCH, TYPE_MISMATCH, VALUE_MISMATCH, ReportBuilder
from chalicelib.compare.core.binary import label
from chalicelib.compare.core.values import DEFAULT_MAX_PATHS, _key_path, as_text, compare_values, to_display, tolerated

from .config import CompareOptions
from .reader import KeyState

L1, L2 = "cluster1", "cluster2"


@dataclass
class MemberDiff:
    """Differences inside a collection: counts exact, samples capped."""
    max_samples: int = 20
    max_paths: int = DEFAULT_MAX_PATHS
    changed: list = field(default_factory=list)
    changed_count: int = 0
    only1: list = field(default_factory=list)
    only1_count: int = 0
    only2: list = field(default_factory=list)
    only2_count: int = 0
    paths: list = field(default_factory=list)
    paths_truncated: bool = False
    format_count: int = 0
    format_kinds: set = field(default_factory=set)
    format_paths: list = field(default_factory=list)

    def value(self, member: Any, path: str | None, a: Any, b: Any, opts: CompareOptions) -> None:
        """Compare one member's two values: equal, formatting only, or a change."""
        vc = compare_values(a, b, mode=opts.compare_mode, json_strings=opts.compare_json)
        if vc.equal:
            return
        if vc.format_only:
            self.format(path or "$", vc)
            return
        self.change(member, path, vc.json_paths)

    def format(self, path: str, vc) -> None:
        self.format_count += 1
        self.format_kinds.update(vc.format_kinds)
        for sp in (vc.json_paths or ["$"]):
            full = path + sp[1:]
            if len(self.format_paths) < self.max_paths and full not in self.format_paths:
                self.format_paths.append(full)

    def add_path(self, p: str) -> None:
        if len(self.paths) < self.max_paths:
            self.paths.append(p)
        else:
            self.paths_truncated = True

    def change(self, member: Any, path: str | None = None, subpaths: list | None = None, **info) -> None:
        self.changed_count += 1
        if len(self.changed) < self.max_samples:
            self.changed.append({"member": to_display(member), **info} if info else to_display(member))
        if path is not None:
            if subpaths:
                for sp in subpaths:
                    self.add_path(path + sp[1:])
            else:
                self.add_path(path)

    def only(self, side: int, member: Any, path: str | None = None) -> None:
        if side == 1:
            self.only1_count += 1
            if len(self.only1) < self.max_samples:
                self.only1.append(to_display(member))
        else:
            self.only2_count += 1
            if len(self.only2) < self.max_samples:
                self.only2.append(to_display(member))
        if path is not None:
            self.add_path(path)

    @property
    def any(self) -> bool:
        return bool(self.changed_count or self.only1_count or self.only2_count)

    def to_dict(self) -> dict:
        d: dict = {}
        if self.changed_count:
            d["changed"] = self.changed
            d["changed_count"] = self.changed_count
        if self.only1_count:
            d[f"only_in_{L1}"] = self.only1
            d[f"only_in_{L1}_count"] = self.only1_count
        if self.only2_count:
            d[f"only_in_{L2}"] = self.only2
            d[f"only_in_{L2}_count"] = self.only2_count
        return d


@dataclass
class Outcome:
    key: Any
    status: str                        # identical | different | skipped
    found1: bool = False
    found2: bool = False
    value_type: str | None = None
    difference_type: str | None = None
    value1: Any = None
    value2: Any = None
    hints1: dict | None = None
    hints2: dict | None = None
    paths: list = field(default_factory=list)
    paths_truncated: bool = False
    extra: dict = field(default_factory=dict)
    reason: str | None = None
    format_kinds: list = field(default_factory=list)
    format_paths: list = field(default_factory=list)
    paged: bool = False


def display_value(st: KeyState) -> Any:
    """JSON-friendly rendering of a read value (a preview when paged)."""
    v = st.value
    if st.type == "string":
        return as_text(v if v is not None else b"")
    if st.type == "hash":
        return {label(k): as_text(x) for k, x in (v or {}).items()}
    if st.type == "list":
        return [as_text(x) for x in (v or [])]
    if st.type == "set":
        return [as_text(x) for x in sorted(v or (), key=lambda m: m if isinstance(m, bytes) else str(m).encode())]
    if st.type == "zset":
        items = sorted((v or {}).items(), key=lambda kv: (kv[1], kv[0]))
        return [[as_text(m), s] for m, s in items]
    if st.type == "stream":
        return [{"id": as_text(i), "fields": {label(a): as_text(b) for a, b in (f or {}).items()}}
                for i, f in (v or [])]
    return None


def hints(st: KeyState) -> dict | None:
    if not st.paged or st.size is None:
        return None
    if st.type == "string":
        return {"size_bytes": st.size}
    return {"items": st.size}


def ttl_seconds(ms: int | None) -> float | None:
    if ms is None or ms < 0:
        return None
    return round(ms / 1000.0, 3)


def ttl_differs(t1: int | None, t2: int | None, tolerance_s: float) -> bool:
    if t1 is None or t2 is None:
        return False
    if (t1 < 0) != (t2 < 0):
        return True
    if t1 < 0:
        return False
    return abs(t1 - t2) > tolerance_s * 1000.0


def compare_inline(t: str | None, v1: Any, v2: Any, opts: CompareOptions) -> tuple[bool, MemberDiff | None, Any]:
    """(no real difference, member diff, value comparison for strings)."""
    if t == "string":
        vc = compare_values(v1, v2, mode=opts.compare_mode, json_strings=opts.compare_json)
        md = None
        if vc.format_only:
            md = MemberDiff(max_samples=0)
            md.format("$", vc)
        return vc.equal or vc.format_only, md, vc
    md = MemberDiff(max_samples=opts.max_member_samples)
    if v1 == v2:
        return True, None, None
    if t == "hash":
        for f, a in v1.items():
            path = _key_path("$", f)
            if f not in v2:
                md.only(1, f, path)
            elif a != v2[f]:
                md.value(f, path, a, v2[f], opts)
        for f in v2:
            if f not in v1:
                md.only(2, f, _key_path("$", f))
    elif t == "list":
        for i in range(max(len(v1), len(v2))):
            if i >= len(v2):
                md.only(1, i, f"$[{i}]")
            elif i >= len(v1):
                md.only(2, i, f"$[{i}]")
            elif v1[i] != v2[i]:
                md.value(i, f"$[{i}]", v1[i], v2[i], opts)
    elif t == "set":
        for m in v1 - v2:
            md.only(1, m)
        for m in v2 - v1:
            md.only(2, m)
    elif t == "zset":
        for m, s in v1.items():
            if m not in v2:
                md.only(1, m)
            elif v2[m] != s:
                md.change(m, None, None, **{f"{L1}_score": s, f"{L2}_score": v2[m]})
        for m in v2:
            if m not in v1:
                md.only(2, m)
    elif t == "stream":
        d1, d2 = dict(v1), dict(v2)
        for i, f in d1.items():
            if i not in d2:
                md.only(1, i)
            elif d2[i] != f:
                md.change(i)
        for i in d2:
            if i not in d1:
                md.only(2, i)
    else:
        return v1 == v2, None, None
    return (not md.any), md, None


def compare_key(key: Any, s1: KeyState, s2: KeyState, opts: CompareOptions, paged_cmp=None) -> Outcome:
    """Compare one key's two states. `paged_cmp(key, s1, s2)` handles paged values."""
    o = Outcome(key=key, status="different", found1=s1.exists, found2=s2.exists)
    if s1.error or s2.error:
        o.status = "skipped"
        o.reason = "; ".join(f"{lbl}: {st.error}" for lbl, st in ((L1, s1), (L2, s2)) if st.error)
        return o
    if not s1.exists and not s2.exists:
        o.difference_type = MISSING
        o.extra = {"missing_in": "both"}
        return o
    if not s1.exists or not s2.exists:
        present = s1 if s1.exists else s2
        o.difference_type = MISSING
        o.value_type = present.type
        o.extra = {"missing_in": L1 if not s1.exists else L2}
        if s1.exists:
            o.value1, o.hints1 = display_value(s1), hints(s1)
        else:
            o.value2, o.hints2 = display_value(s2), hints(s2)
        return o
    o.value_type = s1.type
    ttl_bad = opts.compare_ttl and ttl_differs(s1.ttl_ms, s2.ttl_ms, opts.ttl_tolerance_seconds)
    if opts.compare_ttl:
        o.extra[f"{L1}_ttl"] = ttl_seconds(s1.ttl_ms)
        o.extra[f"{L2}_ttl"] = ttl_seconds(s2.ttl_ms)
    if s1.type != s2.type:
        o.difference_type = TYPE_MISMATCH
        o.value1, o.hints1 = display_value(s1), hints(s1)
        o.value2, o.hints2 = display_value(s2), hints(s2)
        o.extra.update({f"{L1}_type": s1.type, f"{L2}_type": s2.type})
        o.value_type = f"{s1.type}/{s2.type}"
        return o

    if s1.paged or s2.paged:
        o.paged = True
        equal, md, paths, extra = paged_cmp(key, s1, s2)
        o.extra.update(extra or {})
        if md is not None:
            if md.any:
                o.extra["member_differences"] = md.to_dict()
            o.paths, o.paths_truncated = md.paths, md.paths_truncated
        if paths:
            o.paths = paths
    else:
        equal, md, vc = compare_inline(s1.type, s1.value, s2.value, opts)
        if vc is not None and not vc.format_only:
            o.paths, o.paths_truncated = vc.json_paths, vc.paths_truncated
        if md is not None and (md.any or md.changed_count):
            if md.any:
                o.extra["member_differences"] = md.to_dict()
            o.paths, o.paths_truncated = md.paths, md.paths_truncated
    if md is not None and md.format_count and equal:
        o.format_kinds, o.format_paths = sorted(md.format_kinds), md.format_paths

    if equal and not ttl_bad and not o.format_kinds:
        o.status = "identical"
        return o
    o.value1, o.hints1 = display_value(s1), hints(s1)
    o.value2, o.hints2 = display_value(s2), hints(s2)
    if equal and ttl_bad:
        o.difference_type = TTL_MISMATCH
    elif equal:
        o.difference_type = FORMAT_ONLY
    else:
        o.difference_type = VALUE_MISMATCH
        if ttl_bad:
            o.extra["ttl_mismatch"] = True
    if s1.paged or s2.paged:
        o.extra.setdefault("size", {L1: s1.size, L2: s2.size})
    return o


def emit(rb: ReportBuilder, o: Outcome, s1: KeyState | None = None, opts: CompareOptions | None = None) -> None:
    if o.paged:
        rb.note("paged_values")
    if o.status == "skipped":
        rb.add_skipped(o.key, o.reason or "unreadable")
        return
    if o.status == "identical":
        entry = None
        if rb.wants_identical_listing():
            entry = {}
            if s1 is not None:
                shown, info = rb.show(display_value(s1), **(hints(s1) or {}))
                entry["value"] = shown
                if info:
                    entry["truncated"] = {"value": info}
            if o.extra:
                entry.update(o.extra)
        rb.add_identical(o.key, entry, category=o.value_type)
        return
    if o.difference_type == MISSING:
        where = o.extra["missing_in"]
        if where == "both":
            rb.add_missing(o.key, "both", category=o.value_type)
        else:
            present_value = o.value1 if where == L2 else o.value2
            present_hints = o.hints1 if where == L2 else o.hints2
            rb.add_missing(o.key, where, present_value=present_value, present_hints=present_hints,
                           category=o.value_type)
        return
    extra = {k: v for k, v in o.extra.items()}
    if o.difference_type == FORMAT_ONLY:
        mode = opts.compare_mode if opts is not None else "exact"
        rb.add_format_only(o.key, left_value=o.value1, right_value=o.value2, kinds=o.format_kinds,
                           tolerated=tolerated(o.format_kinds, mode), category=o.value_type,
                           json_paths=o.format_paths, extra=extra or None)
        return
    if o.format_kinds:
        extra["format_kinds"] = o.format_kinds
    msg = None
    if o.difference_type == TTL_MISMATCH:
        msg = f"values equal, TTL differs ({extra.get(f'{L1}_ttl')}s vs {extra.get(f'{L2}_ttl')}s)"
    elif o.difference_type == TYPE_MISMATCH:
        msg = f"type differs ({extra.get(f'{L1}_type')} vs {extra.get(f'{L2}_type')})"
    rb.add_difference(
        o.key,
        left_value=o.value1,
        right_value=o.value2,
        left_hints=o.hints1,
        right_hints=o.hints2,
        difference_type=o.difference_type or VALUE_MISMATCH,
        category=o.value_type,
        json_paths=o.paths,
        paths_truncated=o.paths_truncated,
        message=msg,
        extra=extra,
    )
