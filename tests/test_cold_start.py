import subprocess
import sys

from tests.conftest import ROOT

HEAVY = ("boto3", "botocore", "cassandra", "redis", "moto", "requests")


def test_importing_app_does_not_import_heavy_libraries():
    code = ("import sys, app; heavy = %r; print(','.join(m for m in heavy if m in sys.modules))" % (HEAVY,))
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
