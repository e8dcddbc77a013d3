"""A run's summary in seed 003's shapes, from the journal's aggregates.

A whole-dataset run never holds its differences in memory, so the summary
is built from grouped counts (journal.difference_facts, journal.progress)
into the comparison core's `Facts`, and worded by the core's own rules
(`recommend`, `overview_text`, `rate`): the same sentences and fields as a
`/api/redis/compare` answer (overview, percentages, counts,
difference_types, type_analysis, json_path_analysis, notes,
recommendations).
"""
from __future__ import annotations

from collections import Counter

from chalicelib.compare.core import DIFFERENCE_TYPES, MISSING, TTL_MISMATCH, rate
from chalicelib.compare.core.recommendations import Facts, recommend
from chalicelib.compare.core.report import overview_text

from .redis_side import L1, L2


def build(prog: dict, agg: dict, left: str = L1, right: str = L2, subject: str = "key") -> dict:
    kinds: Counter = Counter()
    missing: Counter = Counter()
    categories: dict = {}
    for r in agg["by_kind"]:
        n = int(r["n"])
        kinds[r["difference_type"]] += n
        if r["difference_type"] == MISSING:
            missing[r["missing_in"]] += n
        if not r["value_type"]:
            continue
        c = categories.setdefault(r["value_type"], {"total": 0, "identical": 0, "different": 0, "missing": 0})
        c["total"] += n
        c["missing" if r["difference_type"] == MISSING else "different"] += n
    stats = agg["stats"]
    for cat, n in (stats.get("identical_by_type") or {}).items():
        c = categories.setdefault(cat, {"total": 0, "identical": 0, "different": 0, "missing": 0})
        c["total"] += n
        c["identical"] += n
    different = agg["different"]
    missing_keys = kinds.get(MISSING, 0)
    total = prog["identical"] + different + prog["skipped"]
    examples: dict = {left: [], right: []}
    for r in agg["examples"]:
        if r["missing_in"] in examples:
            examples[r["missing_in"]].append(r["key"])
    paths = {r["path"]: int(r["n"]) for r in agg["paths"]}
    f = Facts(
        left=left, right=right, subject=subject, total_keys=total, identical_keys=prog["identical"],
        different_keys=different, missing={left: missing.get(left, 0), right: missing.get(right, 0)},
        missing_keys=missing_keys, missing_examples=examples, skipped=prog["skipped"],
        skipped_reasons=Counter(stats.get("skipped_reasons") or {}),
        present_both=max(0, total - missing_keys - prog["skipped"]), kinds_per_key=dict(kinds),
        only_ttl_keys=agg["ttl_only"] if kinds.get(TTL_MISMATCH) else [], field_counts=agg["fields"],
        only_field=agg["only_field"],
        only_path={}, path_counts=paths, categories=categories, notes=dict(stats.get("notes") or {}))
    out: dict = {
        "overview": overview_text(f),
        "percentages": {"match_rate": rate(f.identical_keys, total), "diff_rate": rate(different, total),
                        "missing_rate": rate(missing_keys, total)},
        "counts": {"total_keys": total, "identical_keys": f.identical_keys, "different_keys": different,
                   f"missing_in_{left}": f.missing[left], f"missing_in_{right}": f.missing[right],
                   "skipped_keys": f.skipped, "difference_entries": agg["entries"]},
        "difference_types": {k: kinds[k] for k in DIFFERENCE_TYPES if kinds.get(k)},
        "field_analysis": {name: {"diff_count": n, "diff_rate": rate(n, f.present_both)}
                           for name, n in sorted(agg["fields"].items(), key=lambda kv: (-kv[1], kv[0]))},
    }
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
