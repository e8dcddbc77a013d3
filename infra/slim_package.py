"""Keep the Lambda deployment.zip to runtime code, print its size, hold a budget.

`chalice package` zips requirements.txt's dependency closure. This step
rewrites the zip:

- build and test tools never belong in Lambda (pip, setuptools, wheel,
  pkg_resources, pytest, moto, cfn-lint, the chalice CLI): removed, as a
  safety net (requirements.txt does not list them; chalice, whose CLI pulls
  pip/setuptools/wheel/click/inquirer, is a dev dependency: Chalice adds its
  runtime, chalice/app.py, by itself);
- botocore's service models: only the services the app creates clients for
  (KEEP_BOTO_SERVICES; tests/infra checks chalicelib against it) and the
  shared files (endpoints, partitions, retry config). boto3 stays bundled so
  the SDK version is the pinned one the tests ran, not whatever the Lambda
  runtime carries; its ~400 other service models are 20 MB of the zip;
- babel's CLDR locale data (33 MB unzipped): python-liquid requires babel,
  but only its optional i18n filters use locale data, which the dynamic-API
  engines do not register; root, English and Chinese stay (KEEP_LOCALES).

Then it prints the zipped and unzipped sizes and the largest packages, and
exits 1 when the zip is above the budget (--budget-mb, default 40).

    python infra/slim_package.py dist/dev/deployment.zip [--budget-mb 40]
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import zipfile
from collections import Counter
from pathlib import Path

DEFAULT_BUDGET_MB = 40
# Top-level names (packages, modules, their .dist-info/.data) that are build or test tooling.
FORBIDDEN = ("pip", "setuptools", "wheel", "pkg_resources", "_distutils_hack", "distutils-precedence.pth",
             "pytest", "_pytest", "pluggy", "iniconfig", "moto", "cfnlint", "cfn_lint", "samtranslator",
             "inquirer", "blessed", "readchar", "editor", "runs", "xmod", "jinxed", "wcwidth", "click")
# The chalice runtime Chalice adds itself; anything else of chalice is its CLI.
CHALICE_RUNTIME = {"chalice/__init__.py", "chalice/app.py", "chalice/app.pyi"}
KEEP_BOTO_SERVICES = ("sqs", "secretsmanager", "sts")
KEEP_LOCALES = ("root", "en", "en_US", "en_US_POSIX", "zh", "zh_Hans", "zh_Hans_CN")
MB = 1_000_000


def _top(name: str) -> str:
    top = name.split("/", 1)[0]
    for suffix in (".dist-info", ".data"):
        if top.endswith(suffix):
            # "pip-26.2.1.dist-info" -> "pip"; "python_dateutil-2.9.0.dist-info" -> "python_dateutil"
            return top[: -len(suffix)].rsplit("-", 1)[0].lower().replace("-", "_")
    return top


def dropped(name: str) -> bool:
    """True when the zip entry `name` does not belong in the Lambda package."""
    top = _top(name)
    if top in FORBIDDEN or top.replace("_", "-") in FORBIDDEN:
        return True
    if name.startswith("chalice/") and name not in CHALICE_RUNTIME:
        return True
    if name.startswith("chalice-") and ".dist-info/" in name:
        return True
    if name.startswith("botocore/data/"):
        rest = name[len("botocore/data/"):]
        return "/" in rest and rest.split("/", 1)[0] not in KEEP_BOTO_SERVICES
    if name.startswith("babel/locale-data/"):
        return name.endswith(".dat") and Path(name).stem not in KEEP_LOCALES
    return False


def slim(zip_path: Path) -> dict:
    """Rewrite `zip_path` without the dropped entries; return sizes."""
    removed = 0
    with tempfile.NamedTemporaryFile(dir=zip_path.parent, suffix=".zip", delete=False) as tmp:
        tmp_path = Path(tmp.name)
    try:
        with zipfile.ZipFile(zip_path) as src, \
                zipfile.ZipFile(tmp_path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as out:
            for info in src.infolist():
                if dropped(info.filename):
                    removed += 1
                    continue
                with src.open(info) as fh_in, out.open(info, "w") as fh_out:
                    shutil.copyfileobj(fh_in, fh_out, 1 << 20)
        os.replace(tmp_path, zip_path)
    finally:
        tmp_path.unlink(missing_ok=True)
    report = sizes(zip_path)
    report["removed_entries"] = removed
    return report


def sizes(zip_path: Path) -> dict:
    unzipped, zipped = Counter(), Counter()
    with zipfile.ZipFile(zip_path) as zf:
        for info in zf.infolist():
            top = _top(info.filename)
            unzipped[top] += info.file_size
            zipped[top] += info.compress_size
    return {"zipped": zip_path.stat().st_size, "unzipped": sum(unzipped.values()),
            "largest": [(name, unzipped[name], zipped[name]) for name, _ in zipped.most_common(8)]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("zip", type=Path)
    parser.add_argument("--budget-mb", type=float, default=float(os.environ.get("PACKAGE_BUDGET_MB",
                                                                                 DEFAULT_BUDGET_MB)))
    args = parser.parse_args(argv)
    report = slim(args.zip)
    print(f"deployment.zip: {report['zipped'] / MB:.1f} MB zipped, {report['unzipped'] / MB:.1f} MB unzipped "
          f"(budget {args.budget_mb:g} MB zipped; {report['removed_entries']} entries removed)")
    for name, unz, z in report["largest"]:
        print(f"  {name:28s} {z / MB:6.1f} MB zipped {unz / MB:6.1f} MB unzipped")
    if report["zipped"] > args.budget_mb * MB:
        print(f"package over budget: {report['zipped'] / MB:.1f} MB > {args.budget_mb:g} MB", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
