"""Cold start: import time of `app` next to `chalice` alone (goal: <= 4x).

Measured twice: from source (what a read-only Lambda filesystem pays without
shipped bytecode) and precompiled, as `make package` ships it
(infra/precompile.py adds unchecked-hash .pyc files to deployment.zip).
"""
from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RUNS = 9


def _import_time(module: str, cwd: Path) -> float:
    code = f"import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    samples = []
    for _ in range(RUNS):
        out = subprocess.run([sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True, check=True, env=env)
        samples.append(float(out.stdout.strip()))
    return statistics.median(samples)


def _precompiled_copy(dest: Path) -> Path:
    shutil.copy(ROOT / "app.py", dest / "app.py")
    shutil.copytree(ROOT / "chalicelib", dest / "chalicelib", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / ".chalice", dest / ".chalice", ignore=shutil.ignore_patterns("deployments"))
    subprocess.run([sys.executable, "-m", "compileall", "-q", "--invalidation-mode", "unchecked-hash",
                    str(dest / "app.py"), str(dest / "chalicelib")], check=True)
    return dest


def main() -> None:
    chalice_s = _import_time("chalice", ROOT)
    with tempfile.TemporaryDirectory() as plain, tempfile.TemporaryDirectory() as tmp:
        shutil.copy(ROOT / "app.py", Path(plain) / "app.py")
        shutil.copytree(ROOT / "chalicelib", Path(plain) / "chalicelib", ignore=shutil.ignore_patterns("__pycache__"))
        source_s = _import_time("app", Path(plain))
        compiled_s = _import_time("app", _precompiled_copy(Path(tmp)))
    print(f"import chalice:                 {chalice_s * 1000:6.1f} ms (median of {RUNS})")
    print(f"import app, from source:        {source_s * 1000:6.1f} ms  ratio {source_s / chalice_s:.2f}x")
    print(f"import app, precompiled (zip):  {compiled_s * 1000:6.1f} ms  "
          f"ratio {compiled_s / chalice_s:.2f}x (goal <= 4x)")
