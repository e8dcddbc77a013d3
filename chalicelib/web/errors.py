"""Compatibility name of chalicelib.errors (the typed errors are domain-neutral
and live there; new code imports chalicelib.errors)."""
from chalicelib.errors import *  # noqa: F403 - re-export for code written before the move
