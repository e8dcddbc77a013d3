"""infra/precompile.py ships bytecode so Lambda does not compile the app at
every cold start (its filesystem is read-only)."""
from __future__ import annotations

import importlib.util
import sys
import zipfile
from pathlib import Path

INFRA = Path(__file__).resolve().parents[2] / "infra"


def _load():
    spec = importlib.util.spec_from_file_location("precompile", INFRA / "precompile.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_precompile_adds_unchecked_hash_pycs_for_the_app_only(tmp_path):
    zpath = tmp_path / "deployment.zip"
    with zipfile.ZipFile(zpath, "w") as zf:
        zf.writestr("app.py", "X = 1\n")
        zf.writestr("chalicelib/__init__.py", "")
        zf.writestr("chalicelib/mod.py", "def f():\n    return 42\n")
        zf.writestr("requests/__init__.py", "")
    assert _load().precompile(zpath) == 3
    with zipfile.ZipFile(zpath) as zf:
        names = set(zf.namelist())
        tag = sys.implementation.cache_tag
        pyc = f"chalicelib/__pycache__/mod.{tag}.pyc"
        assert {f"__pycache__/app.{tag}.pyc", pyc} <= names
        assert not any(n.startswith("requests/__pycache__") for n in names)
        flags = int.from_bytes(zf.read(pyc)[4:8], "little")
        assert flags == 0b01  # hash-based, not checked against the source
