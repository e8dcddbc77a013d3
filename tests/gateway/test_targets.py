"""chalicelib.gateway.targets: the per-container cache of endpoint targets."""
from __future__ import annotations

import threading

from chalicelib.gateway import targets


def test_a_target_is_loaded_once_within_the_bound_and_again_after_forget_all():
    targets.forget_all()
    loads = []

    def load():
        loads.append(1)
        return object()

    first = targets.get("ep-1", load)
    assert targets.get("ep-1", load) is first and len(loads) == 1
    targets.forget_all()
    assert targets.get("ep-1", load) is not first and len(loads) == 2


def test_a_load_that_started_before_forget_all_is_not_kept():
    targets.forget_all()
    started, release = threading.Event(), threading.Event()

    def slow_old_row():
        started.set()
        release.wait(5)
        return "old"

    got = []
    reader = threading.Thread(target=lambda: got.append(targets.get("ep-2", slow_old_row)))
    reader.start()
    started.wait(5)
    targets.forget_all()          # a writer committed while the reader was loading
    release.set()
    reader.join(5)
    assert got == ["old"]         # the reader itself answers what it read
    assert targets.get("ep-2", lambda: "new") == "new"   # but nobody after it gets the old row


def test_a_target_older_than_the_bound_is_loaded_again(monkeypatch):
    targets.forget_all()
    monkeypatch.setattr(targets, "TARGET_CACHE_TTL_S", 0.0)
    assert targets.get("ep-3", lambda: "a") == "a"
    assert targets.get("ep-3", lambda: "b") == "b"
