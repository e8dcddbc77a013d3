"""Rule-based recommendations that name what they saw.

Each rule reads `Facts` (gathered by ReportBuilder.facts) and returns zero
or more sentences such as "12 keys differ only in TTL ...". Rules are
plain functions in RULES, in the order their advice is listed; an engine
adds its own with `ReportBuilder.recommend(text)`.
"""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable

_PREFIX = re.compile(r"^(.+?[:_./|#-])")


@dataclass
class Facts:
    left: str
    right: str
    subject: str = "key"
    total_keys: int = 0
    identical_keys: int = 0
    different_keys: int = 0                               # keys that do not match (see summary)
    value_different_keys: int = 0                         # class "different"
    format_only_keys: int = 0
    format_only_tolerated: int = 0
    format_kinds: dict = field(default_factory=dict)      # formatting kind -> keys
    compare_mode: str = "exact"
    missing: dict = field(default_factory=dict)           # side -> keys missing there only
    missing_both: int = 0
    missing_keys: int = 0                                 # keys missing on at least one side
    missing_examples: dict = field(default_factory=dict)  # side -> [key, ...]
    skipped: int = 0
    skipped_reasons: Counter = field(default_factory=Counter)
    present_both: int = 0
    kinds_per_key: dict = field(default_factory=dict)     # difference type -> keys
    only_ttl_keys: list = field(default_factory=list)
    field_counts: dict = field(default_factory=dict)      # field -> keys differing in it
    only_field: dict = field(default_factory=dict)        # field -> keys differing only in it
    only_path: dict = field(default_factory=dict)         # json path -> keys differing only there
    path_counts: dict = field(default_factory=dict)
    categories: dict = field(default_factory=dict)        # value type -> counts
    notes: dict = field(default_factory=dict)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _were(n: int) -> str:
    return "was" if n == 1 else "were"


def _v(n: int, one: str, many: str) -> str:
    return one if n == 1 else many


def dominant_prefix(keys: list[Any], min_share: float = 0.5) -> str | None:
    """'session:' when at least min_share of the (string) keys start with it."""
    prefixes: Counter[str] = Counter()
    n = 0
    for k in keys:
        if not isinstance(k, str):
            continue
        n += 1
        m = _PREFIX.match(k)
        if m:
            prefixes[m.group(1)] += 1
    if not n or not prefixes:
        return None
    p, c = prefixes.most_common(1)[0]
    return p if c / n >= min_share and c > 1 else None


def _nothing(f: Facts) -> list[str]:
    if f.total_keys == 0:
        return [f"No {f.subject}s were compared: check the key list, the sample pattern or the source side."]
    return []


def _all_identical(f: Facts) -> list[str]:
    if f.total_keys and f.different_keys == 0 and f.skipped == 0 and not f.format_only_keys:
        who = f"The only {f.subject} is" if f.total_keys == 1 else f"All {f.total_keys} {f.subject}s are"
        return [f"{who} identical in {f.left} and {f.right}; no action needed."]
    return []


def _missing(f: Facts) -> list[str]:
    out = []
    for side, other in ((f.right, f.left), (f.left, f.right)):
        n = f.missing.get(side, 0)
        if not n:
            continue
        text = (f"{_plural(n, f.subject)} {_v(n, 'exists', 'exist')} in {other} but "
                f"{_v(n, 'is', 'are')} missing in {side}")
        prefix = dominant_prefix(f.missing_examples.get(side, []))
        if prefix:
            text += f" (mostly '{prefix}*')"
        text += f": check that synchronisation from {other} to {side} covers them"
        if n == f.total_keys:
            text += f", and that {side} is the intended environment (nothing was found there)"
        out.append(text + ".")
    if f.missing_both:
        n = f.missing_both
        out.append(f"{_plural(n, f.subject)} {_v(n, 'exists', 'exist')} in neither {f.left} nor {f.right}: "
                   f"check the key values and the key columns or pattern.")
    return out


def _only_ttl(f: Facts) -> list[str]:
    n = len(f.only_ttl_keys)
    if not n:
        return []
    text = f"{_plural(n, f.subject)} {_v(n, 'differs', 'differ')} only in TTL"
    prefix = dominant_prefix(f.only_ttl_keys)
    if prefix:
        text += f" (mostly '{prefix}*')"
    return [text + ": check how each environment sets expiry (EXPIRE on write, copy tools that drop TTLs)."]


def _types(f: Facts) -> list[str]:
    n = f.kinds_per_key.get("type_mismatch", 0)
    if not n:
        return []
    return [f"{_plural(n, f.subject)} {_v(n, 'has', 'have')} a different data type on each side: the writers of "
            f"{f.left} and {f.right} do not use the same data model for them."]


def _fields(f: Facts) -> list[str]:
    out = []
    ranked = sorted(f.field_counts.items(), key=lambda kv: (-kv[1], kv[0]))
    for name, n in ranked[:3]:
        base = f.present_both or f.total_keys
        share = round(100.0 * n / base, 2) if base else 0.0
        only = f.only_field.get(name, 0)
        if base and n == base and base > 1:
            out.append(f"Field '{name}' differs in every compared {f.subject} ({n}): probably a systematic "
                       f"difference (format, time zone, default value or a column not synchronised).")
        elif only == n:
            out.append(f"{_plural(n, f.subject)} {_v(n, 'differs', 'differ')} only in field '{name}' "
                       f"({share}% of compared): check how '{name}' is synchronised.")
        else:
            out.append(f"Field '{name}' differs in {n} of {base} compared {f.subject}s ({share}%): "
                       f"check how '{name}' is synchronised.")
    return out


def _paths(f: Facts) -> list[str]:
    out = []
    ranked = sorted(f.only_path.items(), key=lambda kv: (-kv[1], kv[0]))
    for path, n in ranked[:3]:
        out.append(f"{_plural(n, f.subject)} {_v(n, 'differs', 'differ')} only at JSON path {path}.")
    return out


def _format_only(f: Facts) -> list[str]:
    n = f.format_only_keys
    if not n:
        return []
    kinds = ", ".join(f"{k} ({c})" for k, c in sorted(f.format_kinds.items(), key=lambda kv: (-kv[1], kv[0])))
    text = f"{_plural(n, f.subject)} {_v(n, 'differs', 'differ')} only in formatting ({kinds})"
    if f.format_only_tolerated == n:
        return [text + f": tolerated by compare_mode '{f.compare_mode}', so counted as matching."]
    return [text + f": compare_mode '{f.compare_mode}' counts {f.subject}s like these as not matching; use "
                   "'json' (JSON formatting) or 'normalized' (also whitespace and number spelling) if the "
                   "environments may format values differently."]


def _transient(f: Facts) -> list[str]:
    n = f.notes.get("transient_dropped", 0)
    if not n:
        return []
    return [f"{_plural(n, 'difference')} disappeared when re-read and {_were(n)} dropped as transient "
            f"(writes in flight or replication lag); raise recheck_rounds if results vary between runs."]


_FAILURE_ADVICE = (
    ("permission denied", "grant the user read access to these keys or tables"),
    ("noperm", "grant the user read access to these keys or tables"),
    ("unauthorized", "grant the user SELECT on these tables"),
    ("auth", "check the credentials of that environment"),
    ("does not exist", "create the missing table or fix the table name / sharding settings"),
    ("no timestamp", "give keys that carry a timestamp, or compare without sharding"),
    ("timed out", "retry with a smaller batch or a longer request timeout"),
    ("timeout", "retry with a smaller batch or a longer request timeout"),
    ("unreachable", "fix the unreachable nodes"),
    ("connection", "fix the unreachable nodes"),
    ("slot", "wait for the cluster to finish resharding"),
)


def failure_advice(reason: str) -> str:
    lowered = reason.lower()
    for marker, advice in _FAILURE_ADVICE:
        if marker in lowered:
            return advice
    return "fix the cause shown"


def _skipped(f: Facts) -> list[str]:
    if not f.skipped:
        return []
    top = f.skipped_reasons.most_common(3)
    reasons = ", ".join(f"{r} ({c})" for r, c in top)
    advice = list(dict.fromkeys(failure_advice(r) for r, _ in top)) or ["fix the cause shown"]
    return [f"{_plural(f.skipped, f.subject)} could not be read and {_were(f.skipped)} not compared"
            + (f": {reasons}" if reasons else "") + f"; {', and '.join(advice)}, then run again."]


def _paged(f: Facts) -> list[str]:
    n = f.notes.get("paged_values", 0)
    if not n:
        return []
    return [f"{_plural(n, 'large value')} {_were(n)} compared page by page; their listings show a preview "
            f"with the full size."]


RULES: list[Callable[[Facts], list[str]]] = [
    _nothing, _all_identical, _missing, _types, _only_ttl, _fields, _paths,
    _format_only, _transient, _skipped, _paged,
]


def recommend(f: Facts) -> list[str]:
    out: list[str] = []
    for rule in RULES:
        out.extend(rule(f))
    return out
