"""The import-layer contract: which part of chalicelib may import which.

Every `import` and `from ... import` of every module counts, including the
ones inside functions (lazy imports still make a dependency). The layers,
lowest first:

    foundation  settings, errors, validation, models, jsontext, textbool, masking, secrets, aws, limits, db,
                observability, spans
    identity    keys
    net         net (the outbound client)
    edge        web (envelope, auth, request parsing, the local server)
    jobs        jobs (queue, store, dispatcher)
    domains     catalog, gateway, dynamic_api, compare, schedules, system, console
    entry       app.py, chalicelib.cli, the schedules' Lambda blueprint (schedules/lambdas.py)

A module may import its own package and any lower layer, never a higher
one. Two exceptions, by rule rather than by name:
- a routes module (`routes.py`, `*_routes.py`) and its request models
  (`models.py`, `*_models.py`) of any package may import web: that is where
  requests are read and answers shaped;
- domains import each other only along DOMAIN_EDGES (documented below); a
  new edge is a design decision, made by adding it here.
"""
from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PKG = ROOT / "chalicelib"

LAYERS = {
    "foundation": {"settings", "errors", "validation", "models", "jsontext", "textbool", "masking", "secrets", "aws",
                   "limits", "db", "observability", "spans", "__init__"},
    "identity": {"keys"},
    "net": {"net"},
    "edge": {"web"},
    "jobs": {"jobs"},
    "domains": {"catalog", "gateway", "dynamic_api", "compare", "schedules", "system", "console"},
    "entry": {"cli"},
}
ORDER = ["foundation", "identity", "net", "edge", "jobs", "domains", "entry"]
RANK = {pkg: ORDER.index(layer) for layer, pkgs in LAYERS.items() for pkg in pkgs}
ENTRY_MODULES = {"chalicelib.schedules.lambdas"}   # the Chalice blueprint of the schedules: it wires domains

# Domain -> domains it may import, and why.
DOMAIN_EDGES = {
    ("gateway", "catalog"): "invoke reads documents, endpoints and their resolved schemas",
    ("catalog", "gateway"): "documents validate their upstream configs with the gateway's config models on save",
    ("catalog", "schedules"): "a document's health-check config is validated by the health checker",
    ("dynamic_api", "schedules"): "invocation logs use the shared partition rollover",
    ("system", "catalog"): "init-db runs the catalog's endpoint-security backfill after the migrations",
}

# Crossings that exist today and are being removed; the list only shrinks.
KNOWN: dict[tuple[str, str], str] = {}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _package(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _imports(path: Path) -> set[str]:
    module = _module_name(path)
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".")
                keep = len(base) - node.level + (1 if path.name == "__init__.py" else 0)
                target = ".".join(base[:keep] + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.startswith("chalicelib"):
                out.add(target)
                # `from chalicelib import x` names the module chalicelib.x
                if target == "chalicelib":
                    out.update(f"chalicelib.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            out.update(a.name for a in node.names if a.name.startswith("chalicelib"))
    out.discard("chalicelib")
    return out


def _is_routes(path: Path) -> bool:
    return path.name in ("routes.py", "models.py") or path.name.endswith(("_routes.py", "_models.py"))


def crossings() -> list[tuple[str, str, str]]:
    """(module, imported module, why it is refused) for every import that breaks the contract."""
    bad = []
    for path in sorted(PKG.rglob("*.py")):
        module = _module_name(path)
        src = _package(module)
        if module in ENTRY_MODULES or src not in RANK:
            continue
        for target in sorted(_imports(path)):
            dst = _package(target)
            if dst == src or dst not in RANK:
                continue
            if (src, dst) in KNOWN:
                continue
            if dst == "web" and _is_routes(path):
                continue
            if RANK[src] == RANK[dst] == ORDER.index("domains"):
                if (src, dst) not in DOMAIN_EDGES:
                    bad.append((module, target, f"domain {src} -> domain {dst} is not a declared edge"))
                continue
            if RANK[dst] > RANK[src]:
                bad.append((module, target, f"{src} ({ORDER[RANK[src]]}) may not import {dst} ({ORDER[RANK[dst]]})"))
    return bad


def test_no_module_imports_a_higher_layer():
    assert crossings() == []


def test_every_package_has_a_layer():
    packages = {p.name for p in PKG.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    modules = {p.stem for p in PKG.glob("*.py")}
    assert (packages | modules) - set(RANK) == set()


def test_every_declared_domain_edge_is_used():
    """An edge nobody uses any more leaves DOMAIN_EDGES."""
    seen = set()
    for path in PKG.rglob("*.py"):
        src = _package(_module_name(path))
        for target in _imports(path):
            seen.add((src, _package(target)))
    assert set(DOMAIN_EDGES) - seen == set()


def test_the_known_crossings_still_exist():
    """A crossing that was removed must leave KNOWN too (the list only shrinks)."""
    seen = set()
    for path in PKG.rglob("*.py"):
        src = _package(_module_name(path))
        for target in _imports(path):
            seen.add((src, _package(target)))
    assert set(KNOWN) <= seen


def test_the_contract_catches_a_crossing(tmp_path, monkeypatch):
    """The checker itself: a foundation module importing a domain is refused."""
    fake = PKG / "settings.py"
    real = _imports
    monkeypatch.setattr(sys.modules[__name__], "_imports",
                        lambda p: real(p) | ({"chalicelib.catalog.service"} if p == fake else set()))
    assert any(m == "chalicelib.settings" and t == "chalicelib.catalog.service" for m, t, _ in crossings())
