"""Engine-independent comparison core (used by the Redis and Cassandra engines).

- values: compare_values (JSON-aware, differing paths), shorten (truncate, keep size)
- report: ReportBuilder -> seed 003 answer (differences, identical, missing, summary)
- recommendations: Facts + rule functions
- progress: Progress (throttled callback for async jobs)
"""
from .progress import Progress, ProgressCallback
from .report import (DIFFERENCE_TYPES, MISSING, TTL_MISMATCH, TYPE_MISMATCH, VALUE_MISMATCH,
                     ReportBuilder, key_id, rate)
from .values import ValueComparison, compare_values, json_diff_paths, shorten, to_display

__all__ = [
    "Progress", "ProgressCallback", "ReportBuilder", "key_id", "rate",
    "DIFFERENCE_TYPES", "MISSING", "TTL_MISMATCH", "TYPE_MISMATCH", "VALUE_MISMATCH",
    "ValueComparison", "compare_values", "json_diff_paths", "shorten", "to_display",
]
