"""Cold start: import time of `app` next to `chalice` alone (goal: <= 4x)."""
from __future__ import annotations

import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RUNS = 7


def _import_time(module: str) -> float:
    code = f"import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"
    samples = []
    for _ in range(RUNS):
        out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
        samples.append(float(out.stdout.strip()))
    return statistics.median(samples)


def main() -> None:
    chalice_s = _import_time("chalice")
    app_s = _import_time("app")
    print(f"import chalice: {chalice_s * 1000:.1f} ms (median of {RUNS})")
    print(f"import app:     {app_s * 1000:.1f} ms (median of {RUNS})")
    print(f"ratio app/chalice: {app_s / chalice_s:.2f}x (goal <= 4x)")
