"""Comparing the rows of one request key: matched by full primary key, compared field by field.

`compare_key(...)` returns a `KeyOutcome` (nothing is reported yet, so a
differing key can be read again first); `emit(rb, outcome)` feeds the
ReportBuilder. A key whose rows exist on one side only is missing there; a
row present on one side only (wide partitions) is a `missing_row`
difference that names its clustering key; matched rows are compared field
by field with the comparison core (exact / format_only / different).
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from chalicelib.compare.core import FORMAT_ONLY, MISSING_ROW, ReportBuilder
from chalicelib.compare.core.values import compare_values, to_display, tolerated

from .values import normalise

ROW_STATS = ("rows_compared", "rows_identical", "rows_different", "rows_format_only",
             "rows_missing_in_pro", "rows_missing_in_test")


@dataclass
class KeyOutcome:
    key: dict
    status: str                                   # identical | different | format_only | missing
    calls: list = field(default_factory=list)     # (ReportBuilder method, kwargs)
    rows: Counter = field(default_factory=Counter)


def row_dicts(found: dict, columns: dict) -> dict:
    """{row identity: {column: normalised value}} from fetch's {identity: (table, tuple)}."""
    return {ident: {c: normalise(v) for c, v in zip(columns[table], row, strict=False)}
            for ident, (table, row) in found.items()}


def _row_label(row: dict, row_columns: list) -> dict:
    return {c: to_display(row.get(c)) for c in row_columns}


def compare_key(key: dict, spellings: list, fields: list, pro_rows: dict, test_rows: dict,
                pro_cols: set, test_cols: set, row_columns: list, mode: str) -> KeyOutcome:
    extra = {"spellings": spellings} if len(spellings) > 1 else {}
    out = KeyOutcome(key, "identical")
    if not pro_rows or not test_rows:
        if not pro_rows and not test_rows:
            out.status = "missing"
            out.calls.append(("add_missing", {"missing_in": "both", "extra": extra or None}))
            return out
        side, present = ("pro", test_rows) if not pro_rows else ("test", pro_rows)
        first = next(iter(present.values()))
        out.status = "missing"
        out.calls.append(("add_missing", {"missing_in": side, "present_value": first,
                                          "extra": {**extra, "rows": len(present)}}))
        return out
    real = fmt = False
    for ident in list(pro_rows) + [i for i in test_rows if i not in pro_rows]:
        pr, tr = pro_rows.get(ident), test_rows.get(ident)
        where = {"row": _row_label(pr or tr or {}, row_columns)} if row_columns else {}
        if pr is None or tr is None:
            side = "pro" if pr is None else "test"
            out.rows[f"rows_missing_in_{side}"] += 1
            real = True
            out.calls.append(("add_difference", {
                "difference_type": MISSING_ROW, "left_value": pr, "right_value": tr,
                "message": f"row missing in {side}", "extra": {**where, "missing_in": side, **extra}}))
            continue
        out.rows["rows_compared"] += 1
        row_real = row_fmt = False
        for name in fields:
            if name not in pro_cols or name not in test_cols:
                missing_in = "pro" if name not in pro_cols else "test"
                row_real = True
                out.calls.append(("add_difference", {
                    "field": name, "left_value": pr.get(name), "right_value": tr.get(name),
                    "message": f"column missing in {missing_in}", "extra": {**where, **extra} or None}))
                continue
            a, b = pr.get(name), tr.get(name)
            if type(a) is type(b) and a == b:  # exact: decimals compare with their scale (ExactDecimal)
                continue
            vc = compare_values(a, b, mode=mode)
            if vc.equal:
                continue
            if vc.format_only:
                row_fmt = True
                out.calls.append(("add_format_only", {
                    "field": name, "left_value": a, "right_value": b, "kinds": vc.format_kinds,
                    "tolerated": tolerated(vc.format_kinds, mode), "json_paths": vc.json_paths,
                    "extra": {**where, **extra} or None}))
                continue
            row_real = True
            out.calls.append(("add_difference", {
                "field": name, "left_value": a, "right_value": b, "json_paths": vc.json_paths,
                "paths_truncated": vc.paths_truncated, "message": "field values differ",
                "extra": {**where, **extra} or None}))
        if row_real:
            out.rows["rows_different"] += 1
        elif row_fmt:
            out.rows["rows_format_only"] += 1
        else:
            out.rows["rows_identical"] += 1
        real, fmt = real or row_real, fmt or row_fmt
    if real:
        out.status = "different"
    elif fmt:
        out.status = FORMAT_ONLY
    else:
        first_p, first_t = next(iter(pro_rows.values())), next(iter(test_rows.values()))
        entry: dict[str, Any] = {"pro_fields": {f: first_p.get(f) for f in fields},
                                 "test_fields": {f: first_t.get(f) for f in fields}}
        if len(pro_rows) > 1:
            entry["rows"] = len(pro_rows)
        entry.update(extra)
        out.calls.append(("add_identical", {"entry": entry}))
    return out


def emit(rb: ReportBuilder, outcome: KeyOutcome) -> None:
    for method, kwargs in outcome.calls:
        if method == "add_identical":
            entry = kwargs["entry"] if rb.wants_identical_listing() else None
            rb.add_identical(outcome.key, to_display(entry) if entry else None)
        else:
            getattr(rb, method)(outcome.key, **kwargs)
