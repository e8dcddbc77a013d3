"""A run's summary in seed 003's shapes, from the journal's aggregates.

A whole-dataset run never holds its differences in memory, so the summary
is built from grouped counts (journal.difference_facts, journal.progress)
into the comparison core's `Facts`, and worded by the core's own rules
(`recommend`, `overview_text`, `rate`): the fields of a comparison answer's
summary (overview, compare_mode, percentages, counts, difference_types,
field_analysis, format_analysis, type_analysis, json_path_analysis, notes,
recommendations), every key in exactly one class.
"""
from __future__ import annotations

from collections import Counter

from chalicelib.compare.core import DIFFERENCE_TYPES, FORMAT_ONLY, MISSING, TTL_MISMATCH, rate
from chalicelib.compare.core.recommendations import Facts, recommend
from chalicelib.compare.core.summary import overview_text

from .redis_side import L1, L2


def build(prog: dict, agg: dict, left: str = L1, right: str = L2, subject: str = "key",
          compare_mode: str = "exact") -> dict:
    kinds: Counter = Counter()
    missing: Counter = Counter()
    categories: dict = {}
    for r in agg["by_kind"]:
        n = int(r["n"])
        kinds[r["difference_type"]] += n
        if r["difference_type"] == MISSING:
            missing[r["missing_in"]] += n
        if not r["value_type"] or r["difference_type"] == FORMAT_ONLY:
            continue
        c = categories.setdefault(r["value_type"], {"total": 0, "identical": 0, "different": 0, "missing": 0})
        c["total"] += n
        c["missing" if r["difference_type"] == MISSING else "different"] += n
    stats = agg["stats"]
    for cat, n in (stats.get("identical_by_type") or {}).items():
        c = categories.setdefault(cat, {"total": 0, "identical": 0, "different": 0, "missing": 0})
        c["total"] += n
        c["identical"] += n
    cls = agg["classes"]
    missing_keys = kinds.get(MISSING, 0)
    total = prog["identical"] + cls["keys"] + prog["skipped"]
    not_matching = cls["keys"] - cls["tolerated"]
    examples: dict = {left: [], right: []}
    for r in agg["examples"]:
        if r["missing_in"] in examples:
            examples[r["missing_in"]].append(r["key"])
    paths = {r["path"]: int(r["n"]) for r in agg["paths"]}
    f = Facts(
        left=left, right=right, subject=subject, total_keys=total, identical_keys=prog["identical"],
        different_keys=not_matching, value_different_keys=cls["value_different"],
        format_only_keys=cls["format_only"], format_only_tolerated=cls["tolerated"],
        format_kinds=agg["format_kinds"], compare_mode=compare_mode,
        missing={left: missing.get(left, 0), right: missing.get(right, 0)}, missing_both=0,
        missing_keys=missing_keys, missing_examples=examples, skipped=prog["skipped"],
        skipped_reasons=Counter(stats.get("skipped_reasons") or {}),
        present_both=max(0, total - missing_keys - prog["skipped"]), kinds_per_key=dict(kinds),
        only_ttl_keys=agg["ttl_only"] if kinds.get(TTL_MISMATCH) else [], field_counts=agg["fields"],
        only_field=agg["only_field"], only_path={}, path_counts=paths, categories=categories,
        notes=dict(stats.get("notes") or {}))
    out: dict = {
        "overview": overview_text(f),
        "compare_mode": compare_mode,
        "percentages": {"match_rate": rate(f.identical_keys + f.format_only_tolerated, total),
                        "diff_rate": rate(not_matching, total), "missing_rate": rate(missing_keys, total),
                        "format_only_rate": rate(f.format_only_keys, total)},
        "counts": {"total_keys": total, "identical_keys": f.identical_keys,
                   "different_keys": f.value_different_keys, "format_only_keys": f.format_only_keys,
                   f"missing_in_{left}": f.missing[left], f"missing_in_{right}": f.missing[right],
                   "missing_in_both": 0, "skipped_keys": f.skipped,
                   "matching_keys": f.identical_keys + f.format_only_tolerated, "not_matching_keys": not_matching,
                   "difference_entries": agg["entries"].get(False, 0),
                   "format_only_entries": agg["entries"].get(True, 0)},
        "difference_types": {k: kinds[k] for k in DIFFERENCE_TYPES if kinds.get(k)},
        "field_analysis": {name: {"diff_count": n, "diff_rate": rate(n, f.present_both)}
                           for name, n in sorted(agg["fields"].items(), key=lambda kv: (-kv[1], kv[0]))},
    }
    if f.format_kinds:
        out["format_analysis"] = dict(sorted(f.format_kinds.items()))
    if categories:
        out["type_analysis"] = {cat: {**c, "diff_rate": rate(c["different"] + c["missing"], c["total"])}
                                for cat, c in sorted(categories.items())}
    if paths:
        top = sorted(paths.items(), key=lambda kv: (-kv[1], kv[0]))[:50]
        out["json_path_analysis"] = {p: {"diff_count": n} for p, n in top}
    if f.notes:
        out["notes"] = dict(f.notes)
    out["recommendations"] = recommend(f)
    return out
