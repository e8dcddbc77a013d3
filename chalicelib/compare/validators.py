"""Config validators per group type: engines register theirs here,
chalicelib.compare.config_groups runs them.

A module of its own so that registering one (at import of an engine's
routes) does not load the config-group store, the database layer and the
secrets box (Lambda cold start).
"""
from __future__ import annotations

from typing import Any, Callable

_VALIDATORS: dict[str, Callable[[dict, str], Any]] = {}


def register_config_validator(group_type: str, fn: Callable[[dict, str], Any]) -> None:
    """fn(config: dict, field: str) raises ValidationError."""
    _VALIDATORS[group_type] = fn


def get_config_validator(group_type: str) -> Callable[[dict, str], Any] | None:
    return _VALIDATORS.get(group_type)
