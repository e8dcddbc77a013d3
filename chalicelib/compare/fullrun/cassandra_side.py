"""The Cassandra engine as a whole-dataset run sees it: sessions, the
table's key columns, the ring, token-range reads and row comparison, all
through chalicelib.compare.cassandra's public pieces (get_session,
load_schema, cql_name, normalise, rows.compare_key/emit, the core
ReportBuilder).

    sess = connect(cfg, "pro")                      # cached session; sess.release()
    pk, ck = key_columns(sess, cfg)                 # the engine's load_schema
    ranges = split(ring_tokens(sess), split_count)  # [(start, end)] covering the ring, (start, end]
    reader = RangeReader(sess, cfg, pk, ck, fields, page_size, consistency)
    for token, key, row in reader.rows(start, end): ...
    result = compare_window(pro_rows, test_rows, pk + ck, fields, exclude)

Tokens are Murmur3 (Murmur3Partitioner), computed from each row's
serialised partition key as the driver does for routing.
"""
from __future__ import annotations

import json
import struct
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

MIN_TOKEN = -(2 ** 63)
MAX_TOKEN = 2 ** 63 - 1


def connect(cfg, side: str):
    from chalicelib.compare.cassandra.sessions import get_session
    return get_session(cfg, side)


def key_columns(sess, cfg) -> tuple[list[str], list[str]]:
    """(partition key, clustering columns), read by the Cassandra engine's schema loader."""
    from chalicelib.compare.cassandra.schema import load_schema
    schema = load_schema(sess.session, cfg.keyspace, cfg.table, timeout=cfg.request_timeout)
    return list(schema.partition_key), list(schema.clustering)


def ring_tokens(sess) -> list[int]:
    tokens: set = set()
    for q in ("SELECT tokens FROM system.local", "SELECT tokens FROM system.peers"):
        try:
            for r in sess.session.execute(q):
                tokens.update(int(t) for t in (r[0] or ()))
        except Exception:  # noqa: BLE001 - a server without peers: the local ring is enough
            continue
    return sorted(tokens)


def split(ring: list[int], count: int) -> list[tuple[int, int]]:
    """`count` ranges of equal width over (MIN, MAX], cut also at every ring
    token so that no range spans two owners."""
    width = (MAX_TOKEN - MIN_TOKEN) // count
    points = {MIN_TOKEN + i * width for i in range(count)} | {t for t in ring if MIN_TOKEN < t < MAX_TOKEN}
    points.add(MIN_TOKEN)
    edges = sorted(points) + [MAX_TOKEN]
    return [(a, b) for a, b in zip(edges, edges[1:], strict=False) if b > a]


def _routing_key(cells: list[bytes]) -> bytes:
    if len(cells) == 1:
        return cells[0]
    return b"".join(struct.pack(">H", len(c)) + c + b"\x00" for c in cells)


def token_of(cells: list[bytes]) -> int:
    from cassandra.metadata import Murmur3Token
    return int(Murmur3Token.hash_fn(_routing_key(cells)))


class RangeReader:
    """Prepared `token(pk) > ? AND token(pk) <= ?` reads of one side, page by page."""

    def __init__(self, sess, cfg, pk: list[str], ck: list[str], fields: list[str], page_size: int,
                 consistency: str | None = None, before_page: Callable[[int], Any] | None = None):
        from chalicelib.compare.cassandra.schema import cql_name
        self.sess, self.pk, self.ck, self.page_size = sess, pk, ck, page_size
        wanted = list(dict.fromkeys(pk + ck + list(fields)))
        cols = ", ".join(cql_name(c) for c in wanted) if fields else "*"
        toks = ", ".join(cql_name(c) for c in pk)
        self.text = (f"SELECT {cols} FROM {cql_name(cfg.keyspace)}.{cql_name(cfg.table)} "
                     f"WHERE token({toks}) > ? AND token({toks}) <= ?")
        self.prepared = sess.session.prepare(self.text)
        if consistency:
            from cassandra import ConsistencyLevel
            self.prepared.consistency_level = ConsistencyLevel.name_to_value[consistency]
        self.before_page = before_page or (lambda n: None)

    def rows(self, start: int, end: int) -> Iterator[tuple[int, tuple, dict]]:
        """(token, key tuple, {column: value}) in token order."""
        bound = self.prepared.bind((start, end))
        bound.fetch_size = self.page_size
        self.before_page(self.page_size)
        rs = self.sess.session.execute(bound)
        names = list(rs.column_names)
        types = list(rs.column_types)
        pidx = [names.index(c) for c in self.pk]
        kidx = [names.index(c) for c in self.pk + self.ck]
        proto = self.sess.session.cluster.protocol_version
        while True:
            for row in rs.current_rows:
                cells = [types[i].serialize(row[i], proto) for i in pidx]
                yield token_of(cells), tuple(row[i] for i in kidx), dict(zip(names, row, strict=True))
            if not rs.has_more_pages:
                return
            self.before_page(self.page_size)
            rs.fetch_next_page()


@dataclass
class WindowResult:
    differences: list = field(default_factory=list)   # ReportBuilder difference items (one per field)
    identical: int = 0
    compared: int = 0
    notes: dict = field(default_factory=dict)


def key_text(key: dict) -> str:
    return json.dumps(key, sort_keys=True, default=str, ensure_ascii=False, separators=(",", ":"))


def _ident(key: tuple, key_identity) -> Any:
    try:
        hash(key)
        return key
    except TypeError:  # frozen collections in the key
        return tuple(key_identity(v) for v in key)


def compare_window(pro: list, test: list, key_cols: list[str], fields: list[str], exclude: list[str],
                   mode: str = "exact") -> WindowResult:
    """Rows of one token window on both sides -> differences (every field of every row).

    Rows equal as the driver returned them are identical without further
    work (the bulk of a run); the others are compared by the Cassandra
    engine's row comparison (normalised values, `mode`, formatting-only
    differences as their own class), one full primary key at a time."""
    from chalicelib.compare.cassandra.rows import compare_key, emit
    from chalicelib.compare.cassandra.values import key_identity, normalise
    from chalicelib.compare.core import ReportBuilder
    from chalicelib.compare.core.values import to_display

    p = {_ident(key, key_identity): (key, row) for _, key, row in pro}
    t = {_ident(key, key_identity): (key, row) for _, key, row in test}
    p_cols = set(pro[0][2]) if pro else set()
    t_cols = set(test[0][2]) if test else set()
    excluded = set(exclude) | set(key_cols)
    base = list(fields) or list(dict.fromkeys(list(pro[0][2] if pro else []) + list(test[0][2] if test else [])))
    cmp_fields = [f for f in base if f not in excluded]
    n = len(p) + len(t) - len(p.keys() & t.keys())
    rb = ReportBuilder("pro", "test", identical_name="identical_results", max_listed=n * max(1, len(cmp_fields)) + 1,
                       include_identical=False, subject="row", compare_mode=mode)
    same_cols = p_cols == t_cols
    identical = 0
    for ident in list(p) + [k for k in t if k not in p]:
        key, prow = p.get(ident, (None, None))
        tkey, trow = t.get(ident, (None, None))
        if prow is not None and trow is not None and same_cols and \
                all(prow.get(f) == trow.get(f) and type(prow.get(f)) is type(trow.get(f)) for f in cmp_fields):
            identical += 1
            continue
        shown = {c: to_display(normalise(v)) for c, v in zip(key_cols, key if key is not None else tkey, strict=True)}
        prn = {0: {c: normalise(v) for c, v in prow.items()}} if prow is not None else {}
        trn = {0: {c: normalise(v) for c, v in trow.items()}} if trow is not None else {}
        outcome = compare_key(shown, [], cmp_fields, prn, trn, p_cols or set(prn.get(0, {})),
                              t_cols or set(trn.get(0, {})), [], mode)
        if outcome.status == "identical":
            identical += 1
            continue
        emit(rb, outcome)
    answer = rb.build(total_keys=n)
    return WindowResult(differences=list(answer["differences"]) + list(answer.get("format_only") or []),
                        identical=identical, compared=n, notes=dict(answer["summary"].get("notes") or {}))


def difference_row(item: dict) -> dict:
    return {"key": key_text(item["key"]), "field": item.get("field"), "difference_type": item.get("difference_type"),
            "value_type": None, "missing_in": item.get("missing_in"), "detail": item}
