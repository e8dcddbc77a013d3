"""Comparing big values page by page, holding at most a few pages at once.

- string: read whole (one key at a time) up to json_max_bytes so JSON
  compares as JSON; bigger strings are compared in GETRANGE windows.
- hash / set / zset: scan side 1 in pages (HSCAN/SSCAN/ZSCAN) and look each
  page up on side 2 (HMGET/SMISMEMBER/ZMSCORE); then scan side 2 for
  members side 1 lacks. Like RedisFullCheck, a member returned twice by a
  scan during a rehash may be counted twice; counts are otherwise exact.
- list: LRANGE windows of both sides in step, compared index by index.
- stream: XRANGE pages of both sides merged by entry id.
"""
from __future__ import annotations

import time
from itertools import zip_longest
from typing import Any, Iterator

from chalicelib.compare.core.values import _key_path, as_text, compare_values

from .compare import MemberDiff
from .config import CompareOptions
from .reader import KeyState, NodeFailure
from .topology import Side


class PagedComparer:
    def __init__(self, side1: Side, side2: Side, opts: CompareOptions):
        self.side1, self.side2, self.opts = side1, side2, opts

    # ------------------------------------------------------------ I/O

    def _cmd(self, side: Side, node: str, *args) -> Any:
        import redis.exceptions as rex
        t0 = time.perf_counter()
        try:
            res = side.client(node).execute_command(*args)
        except (rex.ConnectionError, rex.TimeoutError, OSError) as exc:
            raise NodeFailure(node, side.scrub(exc)) from exc
        side.timed(time.perf_counter() - t0, _size(res))
        return res

    def __call__(self, key: Any, s1: KeyState, s2: KeyState):
        """(equal, MemberDiff | None, json paths | None, extra)."""
        t = s1.type
        return getattr(self, f"_{t}")(key, s1, s2)

    # ------------------------------------------------------------ types

    def _string(self, key, s1: KeyState, s2: KeyState):
        o = self.opts
        size1 = s1.size if s1.size is not None else len(s1.value or b"")
        size2 = s2.size if s2.size is not None else len(s2.value or b"")
        if o.compare_json and max(size1, size2) <= o.json_max_bytes:
            v1 = self._cmd(self.side1, _node(s1), "GET", key) if s1.paged else s1.value
            v2 = self._cmd(self.side2, _node(s2), "GET", key) if s2.paged else s2.value
            vc = compare_values(v1 or b"", v2 or b"", mode=o.compare_mode, json_strings=True,
                                json_max_bytes=o.json_max_bytes)
            md = MemberDiff(max_samples=0)
            if vc.format_only:
                md.format("$", vc)
                return True, md, None, {}
            md.paths, md.paths_truncated = vc.json_paths, vc.paths_truncated
            return vc.equal, md, vc.json_paths, {}
        chunk = max(o.inline_max_bytes, 64 * 1024)
        off, first_diff = 0, None
        common = min(size1, size2)
        while off < common:
            end = min(off + chunk, common) - 1
            c1 = self._cmd(self.side1, _node(s1), "GETRANGE", key, off, end)
            c2 = self._cmd(self.side2, _node(s2), "GETRANGE", key, off, end)
            if c1 != c2:
                i = next((j for j, (a, b) in enumerate(zip(c1, c2, strict=False)) if a != b), min(len(c1), len(c2)))
                first_diff = off + i
                break
            off = end + 1
        if first_diff is None and size1 != size2:
            first_diff = common
        extra = {"first_difference_at_byte": first_diff} if first_diff is not None else {}
        return first_diff is None, None, None, extra

    def _scan(self, side: Side, node: str, cmd: str, key) -> Iterator[list]:
        cursor = 0
        while True:
            cursor, page = self._cmd(side, node, cmd, key, cursor, "COUNT", self.opts.page_size)
            yield page
            if int(cursor) == 0:
                return

    def _hash(self, key, s1: KeyState, s2: KeyState):
        md = MemberDiff(max_samples=self.opts.max_member_samples)
        for page in self._scan(self.side1, _node(s1), "HSCAN", key):
            fields = list(page)
            if not fields:
                continue
            other = self._cmd(self.side2, _node(s2), "HMGET", key, *fields)
            for f, b in zip(fields, other, strict=False):
                path = _key_path("$", f)
                a = page[f]
                if b is None:
                    md.only(1, f, path)
                elif a != b:
                    md.value(f, path, a, b, self.opts)
        for page in self._scan(self.side2, _node(s2), "HSCAN", key):
            fields = list(page)
            if not fields:
                continue
            mine = self._cmd(self.side1, _node(s1), "HMGET", key, *fields)
            for f, a in zip(fields, mine, strict=False):
                if a is None:
                    md.only(2, f, _key_path("$", f))
        return not md.any, md, None, {}

    def _set(self, key, s1: KeyState, s2: KeyState):
        md = MemberDiff(max_samples=self.opts.max_member_samples)
        for side_no, (sa, na), (sb, nb) in ((1, (self.side1, _node(s1)), (self.side2, _node(s2))),
                                            (2, (self.side2, _node(s2)), (self.side1, _node(s1)))):
            for page in self._scan(sa, na, "SSCAN", key):
                if not page:
                    continue
                flags = self._cmd(sb, nb, "SMISMEMBER", key, *page)
                for m, present in zip(page, flags, strict=False):
                    if not int(present):
                        md.only(side_no, m)
        return not md.any, md, None, {}

    def _zset(self, key, s1: KeyState, s2: KeyState):
        md = MemberDiff(max_samples=self.opts.max_member_samples)
        for page in self._scan(self.side1, _node(s1), "ZSCAN", key):
            if not page:
                continue
            members = [m for m, _ in page]
            scores = self._cmd(self.side2, _node(s2), "ZMSCORE", key, *members)
            for (m, sc), other in zip(page, scores, strict=False):
                if other is None:
                    md.only(1, m)
                elif float(other) != float(sc):
                    md.change(m, None, None, cluster1_score=float(sc), cluster2_score=float(other))
        for page in self._scan(self.side2, _node(s2), "ZSCAN", key):
            if not page:
                continue
            members = [m for m, _ in page]
            scores = self._cmd(self.side1, _node(s1), "ZMSCORE", key, *members)
            for m, other in zip(members, scores, strict=False):
                if other is None:
                    md.only(2, m)
        return not md.any, md, None, {}

    def _list_iter(self, side: Side, node: str, key) -> Iterator[Any]:
        p = self.opts.page_size
        off = 0
        while True:
            page = self._cmd(side, node, "LRANGE", key, off, off + p - 1)
            yield from page
            if len(page) < p:
                return
            off += p

    def _list(self, key, s1: KeyState, s2: KeyState):
        md = MemberDiff(max_samples=self.opts.max_member_samples)
        gone = object()
        pairs = zip_longest(self._list_iter(self.side1, _node(s1), key),
                            self._list_iter(self.side2, _node(s2), key), fillvalue=gone)
        for i, (a, b) in enumerate(pairs):
            if b is gone:
                md.only(1, i, f"$[{i}]")
            elif a is gone:
                md.only(2, i, f"$[{i}]")
            elif a != b:
                md.value(i, f"$[{i}]", a, b, self.opts)
        return not md.any, md, None, {}

    def _stream_iter(self, side: Side, node: str, key) -> Iterator[tuple]:
        p = self.opts.page_size
        start: str | bytes = "-"
        while True:
            page = self._cmd(side, node, "XRANGE", key, start, "+", "COUNT", p)
            yield from page
            if len(page) < p:
                return
            start = b"(" + _b(page[-1][0])

    def _stream(self, key, s1: KeyState, s2: KeyState):
        md = MemberDiff(max_samples=self.opts.max_member_samples)
        it1 = self._stream_iter(self.side1, _node(s1), key)
        it2 = self._stream_iter(self.side2, _node(s2), key)
        a, b = next(it1, None), next(it2, None)
        while a is not None or b is not None:
            if b is None or (a is not None and _stream_id(a[0]) < _stream_id(b[0])):
                assert a is not None
                md.only(1, a[0])
                a = next(it1, None)
            elif a is None or _stream_id(b[0]) < _stream_id(a[0]):
                md.only(2, b[0])
                b = next(it2, None)
            else:
                if a[1] != b[1]:
                    md.change(a[0])
                a, b = next(it1, None), next(it2, None)
        return not md.any, md, None, {}


def _node(s: KeyState) -> str:
    """The node a key was read from: every key compared here exists on both sides."""
    if s.node is None:
        raise ValueError("a key compared member by member was not read from a node")
    return s.node


def _b(v) -> bytes:
    return v if isinstance(v, bytes) else str(v).encode()


def _stream_id(v) -> tuple[int, int]:
    ms, _, seq = as_text(v).partition("-")
    return int(ms), int(seq or 0)


def _size(res: Any) -> int:
    if isinstance(res, (bytes, str)):
        return len(res)
    if isinstance(res, (list, tuple)):
        return sum(_size(x) for x in res)
    if isinstance(res, dict):
        return sum(_size(k) + _size(v) for k, v in res.items())
    return 8 if isinstance(res, (int, float)) else 0
