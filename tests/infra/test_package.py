"""The Lambda package: `infra/package.sh` (what `make package` runs) builds a
zip that holds runtime code only, within the size budget, and that works on
its own: the app and every runtime dependency import from the extracted zip
with no site-packages, and boto3 finds the service models the app uses.

The build downloads Lambda wheels through pip (cached after the first run).
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
INFRA = ROOT / "infra"
sys.path.insert(0, str(INFRA))
import slim_package  # noqa: E402

BUDGET_MB = 40
# Import names of requirements.txt's packages (the runtime dependencies).
RUNTIME_IMPORTS = ("pg8000.native", "pydantic", "requests", "jinja2.sandbox", "liquid", "yaml", "jsonschema",
                   "cryptography.fernet", "redis", "pymysql", "cassandra.cluster", "boto3")


@pytest.fixture(scope="module")
def package(tmp_path_factory) -> dict:
    out = tmp_path_factory.mktemp("dist")
    env = {**os.environ, "OUT": str(out), "VENV_BIN": str(Path(sys.executable).parent),
           "PYTHON": sys.executable, "PACKAGE_BUDGET_MB": str(BUDGET_MB)}
    proc = subprocess.run(["bash", str(INFRA / "package.sh"), "dev"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    zpath = out / "deployment.zip"
    with zipfile.ZipFile(zpath) as zf:
        names = zf.namelist()
        extracted = out / "extracted"
        zf.extractall(extracted)
    return {"zip": zpath, "names": names, "extracted": extracted, "stdout": proc.stdout}


def test_package_prints_its_zipped_and_unzipped_size_within_the_budget(package):
    match = re.search(r"deployment\.zip: ([\d.]+) MB zipped, ([\d.]+) MB unzipped", package["stdout"])
    assert match, package["stdout"]
    zipped, unzipped = float(match.group(1)), float(match.group(2))
    assert zipped <= BUDGET_MB
    assert abs(zipped - package["zip"].stat().st_size / 1e6) < 0.1
    assert unzipped > zipped


def test_the_real_package_fails_a_budget_below_its_size(package, tmp_path):
    import shutil
    copy = tmp_path / "deployment.zip"
    shutil.copy(package["zip"], copy)
    size_mb = copy.stat().st_size / 1e6
    assert slim_package.main([str(copy), "--budget-mb", f"{size_mb - 1:.1f}"]) == 1
    assert slim_package.main([str(copy), "--budget-mb", f"{size_mb + 1:.1f}"]) == 0


def test_package_holds_no_build_or_test_tools(package):
    tops = {slim_package._top(n) for n in package["names"]}
    assert not tops & set(slim_package.FORBIDDEN), tops & set(slim_package.FORBIDDEN)
    assert {n for n in package["names"] if n.startswith("chalice/")} <= slim_package.CHALICE_RUNTIME
    assert not any(n.startswith("tests/") or n.startswith("bench/") or n.startswith("infra/")
                   for n in package["names"])


def test_package_keeps_only_the_botocore_models_of_services_the_app_calls(package):
    services = {n.split("/")[2] for n in package["names"]
                if n.startswith("botocore/data/") and n.count("/") >= 3}
    assert services == set(slim_package.KEEP_BOTO_SERVICES)


def test_every_aws_service_the_app_calls_is_kept_in_the_package():
    called = set()
    for path in (ROOT / "chalicelib").rglob("*.py"):
        called |= set(re.findall(r"""\bclient\(\s*["']([a-z0-9-]+)["']""", path.read_text(encoding="utf-8")))
    assert called and called <= set(slim_package.KEEP_BOTO_SERVICES), called


def test_app_and_runtime_dependencies_import_from_the_zip_alone(package):
    code = (
        "import sys; sys.path[:0] = ['.']\n"
        "import app\n"
        f"for name in {RUNTIME_IMPORTS!r}: __import__(name)\n"
        "import boto3\n"
        "for service in ('sqs', 'secretsmanager'): boto3.client(service, region_name='us-east-1')\n"
        "import pydantic, boto3\n"
        "print(pydantic.__file__); print(boto3.__file__)\n"
    )
    env = {"PATH": os.environ.get("PATH", ""), "AWS_DEFAULT_REGION": "us-east-1"}
    # -S: no site-packages, so only the zip's contents (and the standard library) are importable.
    proc = subprocess.run([sys.executable, "-S", "-c", code], cwd=package["extracted"], env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert all(line.startswith(str(package["extracted"])) for line in proc.stdout.split())


@pytest.mark.parametrize("name, dropped", [
    ("pip/__init__.py", True),
    ("pip-26.2.1.dist-info/RECORD", True),
    ("setuptools/__init__.py", True),
    ("_distutils_hack/__init__.py", True),
    ("wheel/__init__.py", True),
    ("chalice/cli/__init__.py", True),
    ("chalice/app.py", False),
    ("botocore/data/ec2/2016-11-15/service-2.json.gz", True),
    ("botocore/data/sqs/2012-11-05/service-2.json.gz", False),
    ("botocore/data/endpoints.json", False),
    ("babel/locale-data/fr.dat", True),
    ("babel/locale-data/root.dat", False),
    ("pydantic_core/__init__.py", False),
    ("python_dateutil-2.9.0.post0.dist-info/METADATA", False),
])
def test_slimming_drops_tools_and_unused_data_and_keeps_runtime_code(name, dropped):
    assert slim_package.dropped(name) is dropped


def test_slimming_fails_a_package_above_the_budget(tmp_path):
    zpath = tmp_path / "deployment.zip"
    with zipfile.ZipFile(zpath, "w") as zf:
        zf.writestr("app.py", os.urandom(300_000))
        zf.writestr("pip/__init__.py", "")
    assert slim_package.main([str(zpath), "--budget-mb", "0.1"]) == 1
    with zipfile.ZipFile(zpath) as zf:
        assert zf.namelist() == ["app.py"]
    assert slim_package.main([str(zpath), "--budget-mb", "1"]) == 0
