"""Compiled templates cached per definition version (per Lambda container).

The key is (definition id, version): every update of a definition or its
parameters bumps `version`, so a stale compiled template is never used and
old versions simply age out of the LRU.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Iterable

from .binding import CompiledTemplate
from .engines import engines


class TemplateCache:
    def __init__(self, max_entries: int = 512):
        self.max_entries = max_entries
        self._data: OrderedDict[tuple, CompiledTemplate] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, definition_id: str, version: int, engine: str, source: str,
            declared: Iterable[str]) -> CompiledTemplate:
        key = (definition_id, version)
        with self._lock:
            compiled = self._data.get(key)
            if compiled is not None and compiled.engine == engine and compiled.source == source:
                self._data.move_to_end(key)
                self.hits += 1
                return compiled
        compiled = engines.get_engine(engine).compile(source, declared)
        with self._lock:
            self.misses += 1
            self._data[key] = compiled
            self._data.move_to_end(key)
            while len(self._data) > self.max_entries:
                self._data.popitem(last=False)
        return compiled

    def invalidate(self, definition_id: str) -> None:
        with self._lock:
            for key in [k for k in self._data if k[0] == definition_id]:
                del self._data[key]

    def clear(self) -> None:
        with self._lock:
            self._data.clear()
            self.hits = self.misses = 0


templates = TemplateCache()
