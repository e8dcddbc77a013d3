"""Add precompiled bytecode for app.py and chalicelib/ to a Chalice deployment.zip.

Lambda's filesystem is read-only, so without shipped .pyc files every cold
start compiles the app's sources again (~40 ms here). Unchecked-hash pycs
are used whatever the extracted files' mtimes are; they must be built by the
same Python minor version as the Lambda runtime (3.11).

    python infra/precompile.py dist/dev/deployment.zip
"""
from __future__ import annotations

import py_compile
import sys
import tempfile
import zipfile
from importlib.util import cache_from_source
from pathlib import Path


def precompile(zip_path: Path) -> int:
    with zipfile.ZipFile(zip_path) as zf:
        sources = [n for n in zf.namelist() if n.endswith(".py") and (n == "app.py" or n.startswith("chalicelib/"))]
        with tempfile.TemporaryDirectory() as tmp:
            zf.extractall(tmp, members=sources)
            compiled = []
            for name in sources:
                src = Path(tmp) / name
                pyc = Path(cache_from_source(str(src)))
                py_compile.compile(str(src), cfile=str(pyc), dfile=name, doraise=True,
                                   invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)
                compiled.append((pyc, str(pyc.relative_to(tmp))))
            with zipfile.ZipFile(zip_path, "a", compression=zipfile.ZIP_DEFLATED) as out:
                existing = set(out.namelist())
                for pyc, arcname in compiled:
                    if arcname not in existing:
                        out.write(pyc, arcname)
    return len(compiled)


if __name__ == "__main__":
    n = precompile(Path(sys.argv[1]))
    print(f"precompiled {n} modules")
