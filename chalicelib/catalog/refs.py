"""Internal `$ref` handling.

Import never expands schemas: endpoints are stored with their `$ref`s, and
`RefIndex.check` walks every part of the spec an endpoint uses exactly once
(ref targets are shared across endpoints), reporting external and dangling
references and over-deep nesting with the JSON pointer where they occur.
Cycles cost nothing there (a target is walked once).

`resolve_inline` builds the expanded view for one endpoint on demand
(GET /api/endpoints/{id}): each reference is replaced by its target; a
reference met again while its own target is being expanded is a cycle and
stays as `{"$ref": ..., "x-circular": true}`; an expansion budget keeps a
pathological DAG (A -> 2x B -> 2x C ...) from growing exponentially.
"""
from __future__ import annotations

import re
from typing import Any, Callable
from urllib.parse import unquote

from chalicelib.catalog.problems import Problems, escape_token

# Values under these keys are data, not OpenAPI objects: never walked for refs.
DATA_KEYS = frozenset(("example", "examples", "x-example", "x-examples", "default", "enum", "const"))
# Keys whose value maps names to objects (a property may well be called "example").
NAME_MAP_KEYS = frozenset(("properties", "patternProperties", "definitions", "$defs", "dependentSchemas",
                           "schemas", "paths", "responses", "headers", "content", "requestBodies",
                           "securitySchemes", "callbacks", "links", "encoding", "pathItems", "webhooks",
                           "parameters"))

_MISSING = object()


class RefError(Exception):
    def __init__(self, ref: str, message: str):
        super().__init__(message)
        self.ref = ref
        self.message = message


def unescape_token(token: str) -> str:
    """One JSON-pointer reference token decoded (RFC 6901: ~1 is "/", then ~0 is "~");
    the inverse of `chalicelib.catalog.problems.escape_token`."""
    return token.replace("~1", "/").replace("~0", "~")


def ref_tokens(ref: str) -> list[str]:
    """'#/components/schemas/A~1B' -> ['components', 'schemas', 'A/B'].

    Raises RefError for anything that is not a local JSON pointer."""
    if not isinstance(ref, str):
        raise RefError(str(ref), f"$ref must be a string, found {type(ref).__name__}")
    if not ref.startswith("#"):
        raise RefError(ref, f"external $ref {ref!r} is not supported (only '#/...' references within the spec)")
    frag = ref[1:]
    if "%" in frag:
        frag = unquote(frag)
    if frag == "":
        return []
    if not frag.startswith("/"):
        raise RefError(ref, f"$ref {ref!r} is not a JSON pointer (anchors are not supported)")
    return [unescape_token(t) for t in frag[1:].split("/")]


_JSON_REF = re.compile(r'\$ref"\s*:\s*"([^"\\]*)"')


def json_refs_all_resolve(text: str, index: "RefIndex") -> bool:
    """Fast path for JSON text: True when every `"$ref": "..."` anywhere in
    the text is a local reference that resolves, so no walk can find a bad
    one. Returns False (walk needed) on any doubt: an unresolvable ref, a
    `$ref"` the pattern did not match (escapes, non-string values), or
    \\u escapes that could spell a "$ref" key the pattern would miss."""
    if "\\u" in text:
        return False
    found = _JSON_REF.findall(text)
    if len(found) != text.count('$ref"'):
        return False
    for ref in set(found):
        try:
            index.lookup(ref)
        except RefError:
            return False
    return True


class RefIndex:
    """Looks up local references in one spec, with a cache per reference."""

    def __init__(self, spec: dict, max_depth: int = 500):
        self.spec = spec
        self.max_depth = max_depth
        self._cache: dict[str, object] = {}
        self._walked: set[int] = set()
        self._depth_reported = False
        self.prevalidated = False  # set when json_refs_all_resolve() succeeded

    def lookup(self, ref: str):
        hit = self._cache.get(ref, _MISSING)
        if hit is not _MISSING:
            if isinstance(hit, RefError):
                raise hit
            return hit
        try:
            node = self.spec
            for token in ref_tokens(ref):
                if isinstance(node, dict):
                    if token not in node:
                        raise RefError(ref, f"$ref {ref!r} does not resolve (no {token!r})")
                    node = node[token]
                elif isinstance(node, list):
                    try:
                        node = node[int(token)]
                    except (ValueError, IndexError):
                        raise RefError(ref, f"$ref {ref!r} does not resolve (no item {token!r})") from None
                else:
                    raise RefError(ref, f"$ref {ref!r} does not resolve (nothing below a scalar)")
        except RefError as exc:
            self._cache[ref] = exc
            raise
        self._cache[ref] = node
        return node

    def deref(self, node, limit: int = 32):
        """Follow a chain of `$ref` objects to the first non-ref node."""
        seen = 0
        while isinstance(node, dict) and "$ref" in node:
            ref = node["$ref"]
            node = self.lookup(ref)
            seen += 1
            if seen > limit:
                raise RefError(ref, f"$ref {ref!r} is a reference loop")
        return node

    def check(self, root, root_pointer: str, problems: Problems) -> None:
        """Walk `root` (and, once each, every target it references),
        reporting bad refs and over-deep nesting into `problems`."""
        if self.prevalidated:
            return
        walked = self._walked
        max_depth = self.max_depth
        # entries: (node, depth, parent entry, key); pointers are built only on error
        stack: list[tuple[Any, int, Any, Any]] = [(root, root_pointer.count("/"), None, root_pointer)]
        while stack:
            entry = stack.pop()
            node, depth, _, _ = entry
            nid = id(node)
            if nid in walked:
                continue
            walked.add(nid)
            if depth > max_depth:
                if not self._depth_reported:
                    self._depth_reported = True
                    problems.problem(_entry_pointer(entry), f"nesting deeper than {max_depth} levels")
                continue
            if isinstance(node, list):
                d = depth + 1
                for i, v in enumerate(node):
                    if isinstance(v, (dict, list)):
                        stack.append((v, d, entry, i))
                continue
            name_map = entry[2] is not None and entry[3] in NAME_MAP_KEYS
            ref = None if name_map else node.get("$ref")
            if ref is not None:
                try:
                    target = self.lookup(ref)
                except RefError as exc:
                    problems.problem(_entry_pointer(entry) + "/$ref", exc.message)
                else:
                    if isinstance(target, (dict, list)) and id(target) not in walked:
                        stack.append((target, ref.count("/"), None, ref[1:] if ref.startswith("#") else ref))
            d = depth + 1
            for k, v in node.items():
                if isinstance(v, (dict, list)):
                    if name_map or (k not in DATA_KEYS and not k.startswith("x-")):
                        stack.append((v, d, entry, k))


def _entry_pointer(entry) -> str:
    tokens = []
    while entry is not None:
        _, _, parent, key = entry
        if parent is None:
            tokens.append(key)  # the root's own pointer, already escaped
            break
        tokens.append("/" + escape_token(key))
        entry = parent
    return "".join(reversed(tokens))


def resolve_inline(node, lookup: Callable[[str], object], budget: int = 20_000, max_depth: int = 64):
    """Expanded copy of `node` with references replaced by their targets.

    Cycles stay as {"$ref": r, "x-circular": true}; once `budget` nodes have
    been produced (or expansion nests `max_depth` references deep) remaining
    references stay as {"$ref": r, "x-unexpanded": true}; a reference that
    cannot be resolved stays as {"$ref": r, "x-unresolved": message}."""
    state = {"left": budget}
    active: list[str] = []

    def expand(n, in_name_map: bool):
        state["left"] -= 1
        if isinstance(n, list):
            return [expand(v, False) if isinstance(v, (dict, list)) else v for v in n]
        if not isinstance(n, dict):
            return n
        if not in_name_map and "$ref" in n:
            ref = n["$ref"]
            if ref in active:
                return {**n, "x-circular": True}
            if state["left"] <= 0 or len(active) >= max_depth:
                return {**n, "x-unexpanded": True}
            try:
                target = lookup(ref)
            except RefError as exc:
                return {**n, "x-unresolved": exc.message}
            active.append(ref)
            try:
                resolved = expand(target, False)
            finally:
                active.pop()
            if isinstance(resolved, dict) and len(n) > 1:  # 3.1 siblings of $ref win
                resolved = {**resolved, **{k: v for k, v in n.items() if k != "$ref"}}
            return resolved
        out = {}
        for k, v in n.items():
            if isinstance(v, (dict, list)) and (in_name_map or (k not in DATA_KEYS and not k.startswith("x-"))):
                out[k] = expand(v, (not in_name_map) and k in NAME_MAP_KEYS)
            else:
                out[k] = v
        return out

    return expand(node, False)
