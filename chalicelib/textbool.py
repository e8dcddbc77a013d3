"""Boolean words in text: the one parser for settings, query parameters and imported values.

`parse_bool(text)` accepts, case-insensitively and ignoring surrounding spaces:
  true:  true, t, yes, y, on, 1
  false: false, f, no, n, off, 0
Any other text (including the empty string) raises ValueError whose message lists these words;
callers add the name of the field or setting the text came from.
"""
from __future__ import annotations

TRUE_WORDS = ("true", "t", "yes", "y", "on", "1")
FALSE_WORDS = ("false", "f", "no", "n", "off", "0")
_TRUE = frozenset(TRUE_WORDS)
_FALSE = frozenset(FALSE_WORDS)
ACCEPTED = f"one of {'/'.join(TRUE_WORDS)} or {'/'.join(FALSE_WORDS)}"


def parse_bool(text: str) -> bool:
    """`text` as a boolean; ValueError naming the accepted words when it is none of them."""
    word = text.strip().lower()
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    raise ValueError(f"not a boolean: {text!r} (expected {ACCEPTED})")
