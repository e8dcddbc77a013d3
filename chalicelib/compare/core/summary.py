"""The summary of a ReportBuilder: exact per-class counts, rates, analyses, advice.

Every compared key is in exactly one class: identical, different,
format_only, missing_in_<left>, missing_in_<right>, missing_in_both or
skipped, and the counts add up to total_keys. A key missing on both sides
is listed under both sides' `missing_in_*` listings (seed 003) but counted
once, as missing_in_both. `differences_count` is every key that does not
match: different, missing, and format_only keys whose formatting the
compare_mode does not tolerate.
"""
from __future__ import annotations

from collections import Counter, defaultdict
from typing import TYPE_CHECKING

from .recommendations import Facts, recommend

if TYPE_CHECKING:
    from .report import ReportBuilder


def rate(part: int, whole: int) -> float:
    return round(100.0 * part / whole, 2) if whole else 0.0


def facts(rb: "ReportBuilder", total_keys: int | None = None) -> Facts:
    from .report import FORMAT_ONLY, MISSING, TTL_MISMATCH

    classes = rb.class_counts()
    total = (total_keys if total_keys is not None
             else len(rb._keys_seen) + rb._identical_count + rb._skipped_count)
    kinds_per_key: Counter = Counter()
    only_ttl = []
    for kid, kinds in rb._diff_kinds.items():
        for k in kinds:
            kinds_per_key[k] += 1
        if kinds == {TTL_MISMATCH}:
            only_ttl.append(rb._key_display[kid])
    only_field: Counter = Counter()
    for kid, fields in rb._diff_fields.items():
        if len(fields) == 1 and rb._diff_kinds.get(kid, set()) - {MISSING, FORMAT_ONLY}:
            only_field[next(iter(fields))] += 1
    only_path: Counter = Counter()
    for paths in rb._diff_paths.values():
        if len(paths) == 1:
            only_path[next(iter(paths))] += 1
    categories: defaultdict[str, dict[str, int]] = defaultdict(
        lambda: {"total": 0, "identical": 0, "different": 0, "missing": 0})
    for kid, cat in rb._category_of.items():
        c = categories[cat]
        c["total"] += 1
        if kid in rb._missing_side:
            c["missing"] += 1
        elif rb._diff_kinds.get(kid):
            c["different"] += 1
    for cat, n in rb._category_identical.items():
        categories[cat]["total"] += n
        categories[cat]["identical"] += n
    missing_keys = classes["missing_in_left"] + classes["missing_in_right"] + classes["missing_in_both"]
    present_both = max(0, total - missing_keys - rb._skipped_count)
    return Facts(
        left=rb.left, right=rb.right, subject=rb.subject, total_keys=total,
        identical_keys=rb._identical_count,
        different_keys=rb.different_keys,
        value_different_keys=classes["different"],
        format_only_keys=classes["format_only"],
        format_only_tolerated=classes["format_only_tolerated"],
        format_kinds=dict(rb._format_kinds),
        compare_mode=rb.compare_mode,
        missing={rb.left: classes["missing_in_left"], rb.right: classes["missing_in_right"]},
        missing_both=classes["missing_in_both"],
        missing_keys=missing_keys,
        missing_examples={side: list(rb._missing[side][:200]) for side in (rb.left, rb.right)},
        skipped=rb._skipped_count,
        skipped_reasons=Counter(s["reason"] for s in rb._skipped),
        present_both=present_both,
        kinds_per_key=dict(kinds_per_key),
        only_ttl_keys=only_ttl,
        field_counts=dict(rb._field_counts),
        only_field=dict(only_field),
        only_path=dict(only_path),
        path_counts=dict(rb._path_counts),
        categories={k: dict(v) for k, v in categories.items()},
        notes=dict(rb._notes),
    )


def build(rb: "ReportBuilder", total_keys: int | None = None) -> dict:
    from .report import DIFFERENCE_TYPES

    f = facts(rb, total_keys)
    total = f.total_keys
    counts = {
        "total_keys": total,
        "identical_keys": f.identical_keys,
        "different_keys": f.value_different_keys,
        "format_only_keys": f.format_only_keys,
        f"missing_in_{rb.left}": f.missing[rb.left],
        f"missing_in_{rb.right}": f.missing[rb.right],
        "missing_in_both": f.missing_both,
        "skipped_keys": f.skipped,
        "matching_keys": f.identical_keys + f.format_only_tolerated,
        "not_matching_keys": f.different_keys,
        "difference_entries": rb._difference_entries,
        "format_only_entries": rb._format_entries,
    }
    summary: dict = {
        "overview": overview_text(f),
        "compare_mode": rb.compare_mode,
        "percentages": {
            "match_rate": rate(f.identical_keys + f.format_only_tolerated, total),
            "diff_rate": rate(f.different_keys, total),
            "missing_rate": rate(f.missing_keys, total),
            "format_only_rate": rate(f.format_only_keys, total),
        },
        "counts": counts,
        "difference_types": {k: f.kinds_per_key[k] for k in DIFFERENCE_TYPES if f.kinds_per_key.get(k)},
        "field_analysis": {
            name: {"diff_count": n, "diff_rate": rate(n, f.present_both)}
            for name, n in sorted(rb._field_counts.items(), key=lambda kv: (-kv[1], kv[0]))
        },
    }
    if f.format_kinds:
        summary["format_analysis"] = dict(sorted(f.format_kinds.items()))
    if f.categories:
        summary["type_analysis"] = {
            cat: {**c, "diff_rate": rate(c["different"] + c["missing"], c["total"])}
            for cat, c in sorted(f.categories.items())
        }
    if rb._path_counts:
        top = sorted(rb._path_counts.items(), key=lambda kv: (-kv[1], kv[0]))[:50]
        summary["json_path_analysis"] = {p: {"diff_count": n} for p, n in top}
    if f.notes:
        summary["notes"] = dict(f.notes)
    summary["recommendations"] = recommend(f) + rb._extra_recommendations
    answer = {
        "total_keys": total,
        "differences": rb._differences,
        rb.identical_name: rb._identical,
        "format_only": rb._format_only,
        "field_diff_count": dict(rb._field_counts),
        f"missing_in_{rb.left}": rb._missing[rb.left],
        f"missing_in_{rb.right}": rb._missing[rb.right],
        "missing_in_both": rb._missing_both,
        "differences_count": f.different_keys,
        "identical_count": f.identical_keys,
        "format_only_count": f.format_only_keys,
        "summary": summary,
    }
    if rb._skipped_count:
        answer["skipped_keys"] = rb._skipped
    listed_cut = {
        "differences": rb._difference_entries > len(rb._differences),
        rb.identical_name: rb.include_identical and rb._identical_count > len(rb._identical),
        "missing": any(rb._missing_count[s] > len(rb._missing[s]) for s in rb._missing),
        "format_only": rb._format_entries > len(rb._format_only),
    }
    if any(listed_cut.values()):
        answer["listing_truncated"] = {k: v for k, v in listed_cut.items() if v}
        answer["max_listed"] = rb.max_listed
    return answer


def overview_text(f: Facts) -> str:
    noun = f.subject if f.total_keys == 1 else f.subject + "s"
    head = f"Compared {f.total_keys} {noun}"
    if f.total_keys == 0:
        return head + "."
    detail = [f"{f.identical_keys} identical"]
    if f.value_different_keys:
        detail.append(f"{f.value_different_keys} with differences")
    if f.format_only_keys:
        detail.append(f"{f.format_only_keys} differing only in formatting")
    for side, n in f.missing.items():
        if n:
            detail.append(f"{n} missing in {side} only")
    if f.missing_both:
        detail.append(f"{f.missing_both} missing in both")
    if f.skipped:
        detail.append(f"{f.skipped} not readable")
    text = f"{head}: " + ", ".join(detail) + "."
    if f.different_keys == 0 and f.skipped == 0:
        text += " No differences found." if not f.format_only_keys else \
            f" No differences beyond formatting tolerated by compare_mode '{f.compare_mode}'."
    else:
        text += f" Found {f.different_keys} {f.subject}{'' if f.different_keys == 1 else 's'} that differ."
    return text
