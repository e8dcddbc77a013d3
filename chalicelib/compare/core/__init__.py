"""Engine-independent comparison core (used by the Redis and Cassandra engines).

- values: compare_values (exact / format_only / different, compare modes, differing paths)
- display: to_display, shorten (truncate, keep size)
- binary: the one binary-safe form {"base64": ...} (display, requests, storage)
- report + summary: ReportBuilder -> seed 003 answer, every key in exactly one class
- recommendations: Facts + rule functions
- progress: Progress (throttled callback for async jobs)
"""
from .binary import display_bytes, from_binary_form, is_binary_form, key_from_request, storable, storable_text
from .progress import Progress, ProgressCallback
from .report import (
    DIFFERENCE_TYPES,
    FORMAT_ONLY,
    MISSING,
    MISSING_ROW,
    TTL_MISMATCH,
    TYPE_MISMATCH,
    VALUE_MISMATCH,
    ReportBuilder,
    key_id,
    rate,
)
from .values import MODES, ValueComparison, compare_values, json_diff_paths, shorten, to_display, tolerated

__all__ = [
    "Progress", "ProgressCallback", "ReportBuilder", "key_id", "rate",
    "DIFFERENCE_TYPES", "FORMAT_ONLY", "MISSING", "MISSING_ROW", "TTL_MISMATCH", "TYPE_MISMATCH", "VALUE_MISMATCH",
    "MODES", "ValueComparison", "compare_values", "json_diff_paths", "shorten", "to_display", "tolerated",
    "display_bytes", "from_binary_form", "is_binary_form", "key_from_request", "storable", "storable_text",
]
