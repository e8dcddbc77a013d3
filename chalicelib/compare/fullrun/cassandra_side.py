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
    w = compare_window(pro_rows, test_rows, pk + ck, fields, exclude)   # differing rows kept as outcomes
    recheck_window(w, pk + ck, rounds, delay, read)   # engine.recheck with PointReader reads of both sides
    result = window_result(w)                         # lasting differences, counts, notes

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


@dataclass
class Window:
    """One token window compared; the rows that differ wait here for their recheck."""
    outcomes: dict           # row identity -> KeyOutcome of a row that is not identical
    keys: dict               # row identity -> its primary key (driver values, pk + ck order)
    identical: int
    compared: int
    fields: list             # the fields compared
    cols: tuple              # (pro columns, test columns) as read
    mode: str
    read_at: float           # monotonic time both sides were read
    transient: int = 0       # differing rows that read identical again


def key_text(key: dict) -> str:
    return json.dumps(key, sort_keys=True, default=str, ensure_ascii=False, separators=(",", ":"))


def _ident(key: tuple, key_identity) -> Any:
    try:
        hash(key)
        return key
    except TypeError:  # frozen collections in the key
        return tuple(key_identity(v) for v in key)


def _outcome(key_cols: list[str], key: tuple, prow: dict | None, trow: dict | None, fields: list, cols: tuple,
             mode: str):
    from chalicelib.compare.cassandra.rows import compare_key
    from chalicelib.compare.cassandra.values import normalise
    from chalicelib.compare.core.values import to_display
    shown = {c: to_display(normalise(v)) for c, v in zip(key_cols, key, strict=True)}
    prn = {0: {c: normalise(v) for c, v in prow.items()}} if prow is not None else {}
    trn = {0: {c: normalise(v) for c, v in trow.items()}} if trow is not None else {}
    return compare_key(shown, [], fields, prn, trn, cols[0] or set(prn.get(0, {})), cols[1] or set(trn.get(0, {})),
                       [], mode)


def compare_window(pro: list, test: list, key_cols: list[str], fields: list[str], exclude: list[str],
                   mode: str = "exact", read_at: float | None = None) -> Window:
    """Rows of one token window on both sides, matched by full primary key.

    Rows equal as the driver returned them are identical without further
    work (the bulk of a run); the others are compared by the Cassandra
    engine's row comparison (normalised values, `mode`, formatting-only
    differences as their own class) and kept as outcomes, so that they can
    be read again (`recheck_window`) before `window_result` reports them."""
    import time

    from chalicelib.compare.cassandra.values import key_identity
    p = {_ident(key, key_identity): (key, row) for _, key, row in pro}
    t = {_ident(key, key_identity): (key, row) for _, key, row in test}
    cols = (set(pro[0][2]) if pro else set(), set(test[0][2]) if test else set())
    excluded = set(exclude) | set(key_cols)
    base = list(fields) or list(dict.fromkeys(list(pro[0][2] if pro else []) + list(test[0][2] if test else [])))
    cmp_fields = [f for f in base if f not in excluded]
    w = Window({}, {}, 0, len(p) + len(t) - len(p.keys() & t.keys()), cmp_fields, cols, mode,
               time.monotonic() if read_at is None else read_at)
    same_cols = cols[0] == cols[1]
    for ident in list(p) + [k for k in t if k not in p]:
        key, prow = p.get(ident, (None, None))
        tkey, trow = t.get(ident, (None, None))
        if prow is not None and trow is not None and same_cols and \
                all(prow.get(f) == trow.get(f) and type(prow.get(f)) is type(trow.get(f)) for f in cmp_fields):
            w.identical += 1
            continue
        key = key if key is not None else tkey
        outcome = _outcome(key_cols, key, prow, trow, cmp_fields, cols, mode)
        if outcome.status == "identical":
            w.identical += 1
            continue
        w.outcomes[ident], w.keys[ident] = outcome, key
    return w


def recheck_window(w: Window, key_cols: list[str], rounds: int, delay: float,
                   read: Callable[[dict], tuple[dict, dict]]) -> None:
    """The Cassandra engine's recheck (engine.recheck) on the window's differing rows:
    `read({ident: primary key})` answers ({ident: pro row or None}, {ident: test row or None})
    read again; rows that are identical now are counted identical (and transient)."""
    from chalicelib.compare.cassandra.engine import recheck

    def reread(pending: list) -> dict:
        pro, test = read({i: w.keys[i] for i in pending})
        return {i: _outcome(key_cols, w.keys[i], pro.get(i), test.get(i), w.fields, w.cols, w.mode) for i in pending}
    if not w.outcomes or rounds <= 0:
        return
    _, transient = recheck(w.outcomes, rounds, delay, reread, read_at=w.read_at)
    for i in [i for i, o in w.outcomes.items() if o.status == "identical"]:
        del w.outcomes[i]
        w.keys.pop(i, None)
    w.identical += transient
    w.transient += transient


def window_result(w: Window) -> WindowResult:
    """The window's lasting differences as the core ReportBuilder lists them (every field of every row)."""
    from chalicelib.compare.cassandra.rows import emit
    from chalicelib.compare.core import ReportBuilder
    rb = ReportBuilder("pro", "test", identical_name="identical_results",
                       max_listed=len(w.outcomes) * max(1, len(w.fields)) + 1, include_identical=False,
                       subject="row", compare_mode=w.mode)
    for outcome in w.outcomes.values():
        emit(rb, outcome)
    if w.transient:
        rb.note("transient_dropped", w.transient)
    answer = rb.build(total_keys=len(w.outcomes))
    return WindowResult(differences=list(answer["differences"]) + list(answer.get("format_only") or []),
                        identical=w.identical, compared=w.compared, notes=dict(answer["summary"].get("notes") or {}))


class PointReader:
    """Rows of one side by full primary key, read as the specified-mode comparison reads
    them (fetch.prepare_side / fetch_rows: `pk = ? AND ... AND last IN ?`, batched, at
    the side's consistency level); used to read differing rows again."""

    def __init__(self, side: str, cfg, key_cols: list[str], fields: list[str], consistency: str | None):
        from chalicelib.compare.cassandra.fetch import prepare_side
        if consistency and consistency != cfg.consistency_level:
            cfg = cfg.model_copy(update={"consistency_level": consistency})
        self.prep = prepare_side(side, cfg, key_cols, fields, [cfg.table], sharded=False)

    def rows(self, keys: dict) -> dict:
        """{ident: primary key} -> {ident: {column: value}} of the rows that exist."""
        from chalicelib.compare.cassandra.fetch import attach_typed, fetch_rows
        idents = list(keys)
        attach_typed(self.prep, {n: keys[i] for n, i in enumerate(idents)})
        got = fetch_rows(self.prep, list(range(len(idents))), lambda n: None, lambda level, message: None)
        out = {}
        for n, ident in enumerate(idents):
            for table, row in got.rows.get(n, {}).values():
                out[ident] = dict(zip(got.columns[table], row, strict=True))
        return out

    def close(self) -> None:
        self.prep.close()


def difference_row(item: dict) -> dict:
    return {"key": key_text(item["key"]), "field": item.get("field"), "difference_type": item.get("difference_type"),
            "value_type": None, "missing_in": item.get("missing_in"), "detail": item}
