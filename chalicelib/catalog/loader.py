"""Spec text -> dict, with limits enforced before and while parsing.

- size: checked on the raw bytes before anything else (PayloadTooLarge,
  pointing at the asynchronous import-url route);
- YAML: a streaming pass over libyaml's events (no nodes are built) checks
  nesting depth, alias count and how many nodes the aliases would expand
  to, so a billion-laughs document or a 100,000-deep one is refused in
  milliseconds with bounded memory *before* the composer (which recurses in
  C) sees it. Only then is the document loaded with the C-accelerated safe
  loader (pure-Python SafeLoader when libyaml is missing). The pass is
  skipped, with the same outcome, when the text cannot break a limit
  (`scan_needed`): no `&` (no anchor, so an alias can only be undefined,
  which the loader refuses before expanding anything) and fewer collection
  indicators `[ { - ? :` than `max_depth` (every nested collection opens
  with one of its own), which small specs usually meet. A larger text that
  cannot hold an anchor (no `&` after anything but a letter or digit) and
  whose nesting `nesting_within` bounds by COMPOSE_DEPTH levels (the
  composer's C stack stays small) is composed first and its node tree's
  depth checked instead: without anchors every alias is undefined (the
  composer refuses it), so only depth is left to check, and any doubt (a
  load error, too deep) runs the streaming pass, whose error comes first as
  before;
- JSON: the standard parser; its C decoder refuses nesting deeper than the
  interpreter's recursion limit (~1000) by itself, which we turn into a 400
  (a 10,000-deep document fails in microseconds). `max_depth` is applied to
  JSON only where the catalog's reference walk runs (see refs.RefIndex.check;
  a JSON spec whose references all resolve skips that walk for speed).

YAML values are made JSON-compatible: mapping keys keep their source text
(`200:` stays "200", `on:` stays "on"), timestamps and binary stay strings,
non-finite floats stay strings, recursive aliases are refused.
"""
from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass

import yaml
from yaml.constructor import ConstructorError
from yaml.events import (
    AliasEvent,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
)
from yaml.nodes import MappingNode, ScalarNode

from chalicelib.catalog.problems import spec_error, spec_invalid
from chalicelib.errors import PayloadTooLarge, ValidationError

DEFAULT_MAX_BYTES = 6 * 1024 * 1024
DEFAULT_MAX_DEPTH = 500
DEFAULT_MAX_ALIASES = 10_000
# Nodes that alias references may add on top of the document's own nodes.
DEFAULT_MAX_ALIAS_NODES = 1_000_000

IMPORT_URL_HINT = "POST /api/templates/import-url"

_BASE_LOADER = getattr(yaml, "CSafeLoader", None) or yaml.SafeLoader


# The base is chosen at run time (libyaml when present), which a type checker cannot follow.
class _SpecLoader(_BASE_LOADER):  # type: ignore[misc, valid-type]
    """Safe loader whose output is JSON-compatible (see module doc)."""

    def construct_mapping(self, node, deep=False):
        if not isinstance(node, MappingNode):
            raise ConstructorError(None, None, f"expected a mapping node, but found {node.id}", node.start_mark)
        self.flatten_mapping(node)
        mapping = {}
        construct = self.construct_object
        for key_node, value_node in node.value:
            if key_node.__class__ is not ScalarNode:
                raise ConstructorError("while constructing a mapping", node.start_mark,
                                       "found a mapping key that is not a scalar", key_node.start_mark)
            mapping[key_node.value] = construct(value_node, deep=deep)
        return mapping


def _construct_text(loader, node):
    return loader.construct_scalar(node)


def _construct_float(loader, node):
    value = yaml.constructor.SafeConstructor.construct_yaml_float(loader, node)
    return value if math.isfinite(value) else loader.construct_scalar(node)


_SpecLoader.add_constructor("tag:yaml.org,2002:timestamp", _construct_text)
_SpecLoader.add_constructor("tag:yaml.org,2002:binary", _construct_text)
_SpecLoader.add_constructor("tag:yaml.org,2002:float", _construct_float)


@dataclass
class LoadedDocument:
    data: dict
    text: str
    content_type: str  # "json" | "yaml"
    size_bytes: int


def _too_large(size: int, max_bytes: int) -> PayloadTooLarge:
    return PayloadTooLarge(
        f"the spec is {size} bytes, above the {max_bytes}-byte limit of a synchronous import; "
        f"import large specs with {IMPORT_URL_HINT} (runs as a job)",
        details={"size_bytes": size, "max_bytes": max_bytes, "use": IMPORT_URL_HINT},
    )


def _parse_error(kind: str, message: str, line: int | None = None, column: int | None = None) -> ValidationError:
    where = f" (line {line}, column {column})" if line is not None else ""
    kind_type = re.sub(r"[^a-z0-9]+", "_", kind.lower()).strip("_")   # "YAML or JSON" -> yaml_or_json
    problem = spec_error("", f"not valid {kind}: {message}{where}", f"{kind_type}_invalid")
    return spec_invalid(f"the spec is not valid {kind}: {message}{where}", problem,
                        **({"line": line, "column": column} if line is not None else {}))


def _limit_error(message: str) -> ValidationError:
    return spec_invalid(f"the spec was refused: {message}", spec_error("", message, "spec_limit"))


def decode(content: bytes | str, max_bytes: int = DEFAULT_MAX_BYTES) -> tuple[str, int]:
    """Raw body -> (text, size in bytes); the size limit comes first."""
    if isinstance(content, str):
        size = len(content) if len(content) * 4 <= max_bytes else len(content.encode("utf-8", "surrogatepass"))
        if size > max_bytes:
            raise _too_large(size, max_bytes)
        text = content
    else:
        size = len(content)
        if size > max_bytes:
            raise _too_large(size, max_bytes)
        try:
            if content[:2] in (b"\xff\xfe", b"\xfe\xff"):
                text = content.decode("utf-16")
            else:
                text = content.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise _parse_error("UTF-8 text", f"undecodable byte at offset {exc.start}") from None
    if text[:1] == "\ufeff":
        text = text[1:]
    if "\x00" in text:
        raise _parse_error("text", "it contains NUL characters")
    return text, size


_FIRST_CHAR = re.compile(r"\s*(\S)")


def detect_content_type(text: str) -> str:
    """'json' when the first significant character opens a JSON value, else 'yaml'."""
    m = _FIRST_CHAR.match(text)
    return "json" if m and m.group(1) in "{[" else "yaml"


def normalize_content_type(value: str | None) -> str | None:
    """Accepts 'json'/'yaml' or a media type (application/json, text/yaml, ...)."""
    if not value:
        return None
    v = value.split(";")[0].strip().lower()
    if v in ("json", "yaml", "yml"):
        return "yaml" if v == "yml" else v
    if v.endswith("json"):
        return "json"
    if v.endswith("yaml") or v.endswith("yml"):
        return "yaml"
    return None


def scan_yaml(text: str, max_depth: int = DEFAULT_MAX_DEPTH, max_aliases: int = DEFAULT_MAX_ALIASES,
              max_alias_nodes: int = DEFAULT_MAX_ALIAS_NODES) -> None:
    """Stream libyaml's events; refuse deep nesting and alias expansion.

    Holds only one counter per open collection and one size per anchor, so
    memory stays bounded whatever the document does."""
    loader = _BASE_LOADER(text)
    try:
        depth = 0
        counts = [0]        # nodes seen inside each open collection
        open_anchors = [None]
        anchor_sizes: dict[str, int] = {}
        open_set: set[str] = set()
        aliases = 0
        alias_nodes = 0
        get_event = loader.get_event
        while True:
            ev = get_event()
            if ev is None:
                break
            cls = ev.__class__
            if cls is ScalarEvent:
                counts[-1] += 1
                if ev.anchor is not None:
                    anchor_sizes[ev.anchor] = 1
            elif cls is MappingStartEvent or cls is SequenceStartEvent:
                depth += 1
                if depth > max_depth:
                    mark = ev.start_mark
                    raise _limit_error(f"nesting deeper than {max_depth} levels (line {mark.line + 1})")
                counts.append(1)
                open_anchors.append(ev.anchor)
                if ev.anchor is not None:
                    open_set.add(ev.anchor)
            elif cls is MappingEndEvent or cls is SequenceEndEvent:
                depth -= 1
                size = counts.pop()
                counts[-1] += size
                anchor = open_anchors.pop()
                if anchor is not None:
                    anchor_sizes[anchor] = size
                    open_set.discard(anchor)
            elif cls is AliasEvent:
                aliases += 1
                if ev.anchor in open_set:
                    raise _limit_error(f"recursive alias *{ev.anchor} (line {ev.start_mark.line + 1})")
                size = anchor_sizes.get(ev.anchor, 1)
                alias_nodes += size
                counts[-1] += size
                if aliases > max_aliases:
                    raise _limit_error(f"more than {max_aliases} YAML aliases")
                if alias_nodes > max_alias_nodes:
                    raise _limit_error(
                        f"YAML aliases would expand to more than {max_alias_nodes} nodes (alias bomb)")
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        raise _parse_error("YAML", str(exc.problem or exc.context),
                           mark.line + 1 if mark else None, mark.column + 1 if mark else None) from None
    except yaml.YAMLError as exc:
        raise _parse_error("YAML", str(exc)) from None
    finally:
        loader.dispose()


def scan_needed(text: str, max_depth: int = DEFAULT_MAX_DEPTH) -> bool:
    """False when skipping `scan_yaml` cannot let a limit be broken: `text` has no
    anchor (`&`; an alias `*x` can then only be undefined, refused by the loader
    before any expansion) and fewer collection indicators than `max_depth` levels
    (each sequence opens with `-` or `[`, each mapping with `{` or its first key's
    `:` or `?`). Syntax errors are then reported by the loader, as the scan would."""
    if "&" in text:
        return True
    count = text.count
    return count("-") + count(":") + count("[") + count("{") + count("?") >= max_depth


COMPOSE_DEPTH = 2000  # nesting the C composer may meet before the depth check (a few hundred KiB of stack)


def nesting_within(text: str, limit: int) -> bool:
    """True when the YAML nesting depth of `text` (of any prefix libyaml parses) cannot exceed `limit`.

    Block collections open at strictly increasing columns, each at most
    where a line's leading run of spaces, tabs and `- ? :` indicators ends (C),
    with at most one indentless sequence per level: 2 * (C + 1) levels. Flow
    collections open with a `[` or `{`, with at most one implicit single-pair
    mapping per flow sequence: 2 per such character."""
    flow = text.count("[") + text.count("{")
    widest = (limit - 1 - 2 * flow) // 2 - 1   # the largest C that keeps the bound within `limit`
    if widest < 0:
        return False
    breaks = r"[\n\r\x85\u2028\u2029]" if any(c in text for c in "\r\x85\u2028\u2029") else r"\n"
    return re.search(breaks + r"[ \t\ufeff?:-]{%d}" % (widest + 1), "\n" + text) is None


def _may_anchor(text: str) -> bool:
    """False when `text` cannot hold an anchor token: every `&` follows a letter
    or digit (inside a scalar, a tag, a comment, never where a node starts)."""
    at = text.find("&")
    while at >= 0:
        before = text[at - 1] if at else " "
        if not (before.isascii() and before.isalnum()):
            return True
        at = text.find("&", at + 1)
    return False


def _node_depth(root) -> int:
    """Collection nesting of a composed node tree (what scan_yaml counts; keys included)."""
    if root is None or root.__class__ is ScalarNode:
        return 0
    deepest = 0
    stack = [(root, 1)]
    pop, push = stack.pop, stack.append
    while stack:
        node, depth = pop()
        if depth > deepest:
            deepest = depth
        depth += 1
        if node.__class__ is MappingNode:
            for key, value in node.value:
                if key.__class__ is not ScalarNode:
                    push((key, depth))
                if value.__class__ is not ScalarNode:
                    push((value, depth))
        else:
            for value in node.value:
                if value.__class__ is not ScalarNode:
                    push((value, depth))
    return deepest


def _load_yaml(text: str, max_depth: int | None = None):
    """The document; with `max_depth`, (document, True) or (None, False) when
    its node tree nests deeper (checked before anything is constructed)."""
    loader = _SpecLoader(text)
    try:
        if max_depth is None:
            return loader.get_single_data()
        node = loader.get_single_node()
        if _node_depth(node) > max_depth:
            return None, False
        return (loader.construct_document(node) if node is not None else None), True
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        raise _parse_error("YAML", str(exc.problem or exc.context),
                           mark.line + 1 if mark else None, mark.column + 1 if mark else None) from None
    except yaml.YAMLError as exc:
        raise _parse_error("YAML", str(exc)) from None
    finally:
        loader.dispose()


def load_yaml(text: str, max_depth: int = DEFAULT_MAX_DEPTH, max_aliases: int = DEFAULT_MAX_ALIASES,
              max_alias_nodes: int = DEFAULT_MAX_ALIAS_NODES):
    """YAML text -> data with the limits (module doc): the same answer, and the
    same first error, as `scan_yaml` followed by loading."""
    if not scan_needed(text, max_depth):
        return _load_yaml(text)
    if _may_anchor(text) or not nesting_within(text, max(COMPOSE_DEPTH, max_depth)):
        scan_yaml(text, max_depth, max_aliases, max_alias_nodes)
        return _load_yaml(text)
    try:
        data, within = _load_yaml(text, max_depth)
    except Exception:
        try:  # a limit (or the same syntax error) met earlier by the streaming pass comes first
            scan_yaml(text, max_depth, max_aliases, max_alias_nodes)
        except ValidationError as first:
            raise first from None
        raise
    if not within:
        scan_yaml(text, max_depth, max_aliases, max_alias_nodes)  # refuses it, with the line
        data = _load_yaml(text)
    return data


def _load_json(text: str):
    try:
        return json.loads(text, parse_constant=str)
    except RecursionError:
        raise _limit_error("nesting too deep") from None
    except json.JSONDecodeError as exc:
        raise _parse_error("JSON", exc.msg, exc.lineno, exc.colno) from None


def load(content: bytes | str, content_type: str | None = None, *, max_bytes: int = DEFAULT_MAX_BYTES,
         max_depth: int = DEFAULT_MAX_DEPTH, max_aliases: int = DEFAULT_MAX_ALIASES,
         max_alias_nodes: int = DEFAULT_MAX_ALIAS_NODES) -> LoadedDocument:
    """Parse a spec body. `content_type` ('json', 'yaml' or a media type) is
    a hint: a body that looks like JSON but is not, is retried as YAML when
    no type was given."""
    text, size = decode(content, max_bytes)
    if not text.strip():
        raise _parse_error("YAML or JSON", "the body is empty")
    declared = normalize_content_type(content_type)
    kind = declared or detect_content_type(text)
    if kind == "json":
        try:
            data = _load_json(text)
        except ValidationError as json_error:
            if declared == "json":
                raise
            try:  # `{a: 1}` is YAML flow style, not JSON
                data = load_yaml(text, max_depth, max_aliases, max_alias_nodes)
            except ValidationError:
                raise json_error from None
            kind = "yaml"
    else:
        data = load_yaml(text, max_depth, max_aliases, max_alias_nodes)
    return _checked(data, text, kind, size)


def _checked(data, text: str, kind: str, size: int) -> LoadedDocument:
    if not isinstance(data, dict):
        found = "nothing" if data is None else type(data).__name__
        raise spec_invalid(f"the spec must be a {kind.upper()} mapping (an OpenAPI or Swagger object), found {found}",
                           spec_error("", f"expected a mapping, found {found}"))
    return LoadedDocument(data=data, text=text, content_type=kind, size_bytes=size)
