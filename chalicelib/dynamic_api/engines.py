"""Template engines that compile SQL templates into bound statements.

Seed 002's ITemplateEngine / TemplateEngineManager, made safe (DESIGN 4):
every output expression `{{ … }}` (and liquid's `{% echo %}`) writes a MARK
into the SQL text and appends its value to the bound values; a list value
becomes `(MARK, MARK, …)` for IN. `{% if %}`, `{% for %}`, `assign`/`set`
shape the SQL text, which therefore only ever contains the template's own
literal text. Tags that write text any other way (liquid `cycle`,
`increment`, `capture`, `tablerow`, `include`/`render`; jinja2 `macro`,
`call`, `filter` blocks, `include`/`import`/`extends`, block `set`) are not
registered / refused, function calls are refused, and attribute or item
names starting with `_` are refused before anything runs (the sandbox stays
as a second wall). Evaluation is bounded (`bounds`): string and list sizes,
loop iterations.

`dialects.Dialect.bind` then turns MARKs into the driver's placeholders.

This module is the registry (`engines.get_engine(name)`); the shared binding
compiler is `binding`, the engines `engine_jinja2` and `engine_liquid`, each
imported on its first use.
"""
from __future__ import annotations

from typing import Callable

from chalicelib.errors import invalid_input

from .binding import TemplateEngine


class TemplateEngineManager:
    """Seed 002 TemplateEngineManager: engines registered by name."""

    def __init__(self):
        self._engines: dict[str, TemplateEngine] = {}
        self._factories: dict[str, Callable[[], TemplateEngine]] = {}

    def register_engine(self, name: str, factory: Callable[[], TemplateEngine]) -> None:
        self._factories[name] = factory
        self._engines.pop(name, None)

    @property
    def names(self) -> list[str]:
        return sorted(self._factories)

    def get_engine(self, name: str) -> TemplateEngine:
        key = (name or "").strip().lower()
        engine = self._engines.get(key)
        if engine is None:
            factory = self._factories.get(key)
            if factory is None:
                raise invalid_input(["body", "template_engine"],
                                    f"unknown template_engine {name!r}; supported: {', '.join(self.names)}",
                                    supported=self.names)
            engine = self._engines[key] = factory()
        return engine


def _jinja2_engine() -> TemplateEngine:
    from .engine_jinja2 import Jinja2Engine
    return Jinja2Engine()


engines = TemplateEngineManager()
engines.register_engine("jinja2", _jinja2_engine)


def _liquid_engine() -> TemplateEngine:
    from .engine_liquid import LiquidEngine
    return LiquidEngine()


engines.register_engine("liquid", _liquid_engine)
