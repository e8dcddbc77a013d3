import subprocess
import sys

from tests.conftest import ROOT

# Imported inside the functions that need them, never by `import app` (Lambda cold start).
HEAVY = ("boto3", "botocore", "cassandra", "redis", "moto", "requests",
         "yaml", "jsonschema", "jinja2", "liquid", "pymysql", "cryptography", "pg8000")

# Routes name their request models as strings, imported on the first request.
VALIDATION = ("pydantic", "pydantic_core")

# Registered when app.py is imported, so that any Lambda (SQS consumer) can run them.
JOB_TYPES = ("catalog.import_document", "catalog.import_url", "compare.cassandra", "compare.redis",
             "health_checks.run")


def _fresh_python(code: str) -> str:
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    return out.stdout.strip()


def test_importing_app_does_not_import_heavy_libraries():
    code = ("import sys, app; heavy = %r; print(','.join(m for m in heavy if m in sys.modules))" % (HEAVY,))
    assert _fresh_python(code) == ""


def test_importing_app_does_not_import_pydantic():
    code = ("import sys, app; mods = %r; print(','.join(m for m in mods if m in sys.modules))" % (VALIDATION,))
    assert _fresh_python(code) == ""


def test_every_route_model_reference_resolves_to_a_pydantic_model():
    code = ("import app\n"
            "from pydantic import BaseModel\n"
            "from chalicelib.web.api import ROUTES\n"
            "bad = [f'{m.method} {m.path}' for m in ROUTES for ref in (m.body, m.query)\n"
            "       if ref is not None and not (isinstance(ref, type) and issubclass(ref, BaseModel))]\n"
            "print(','.join(bad))")
    assert _fresh_python(code) == ""


def test_importing_app_registers_every_job_type():
    code = "import app; from chalicelib.jobs.registry import job_types; print(','.join(job_types()))"
    assert set(JOB_TYPES) <= set(_fresh_python(code).split(","))


def test_loading_the_route_models_builds_none_of_them():
    code = ("import app\n"
            "from chalicelib.web.api import ROUTES\n"
            "for m in ROUTES: m.body, m.query  # imports every route's model module\n"
            "from pydantic import BaseModel\n"
            "def subs(c):\n"
            "    for s in c.__subclasses__():\n"
            "        yield s\n"
            "        yield from subs(s)\n"
            "print(','.join(sorted({f'{c.__module__}.{c.__qualname__}' for c in subs(BaseModel)\n"
            "                       if c.__module__.startswith('chalicelib') and c.__pydantic_complete__})))")
    assert _fresh_python(code) == ""
