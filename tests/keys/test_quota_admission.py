"""A key's quota admission (window count + concurrency slot, one round trip for a
key with both limits) refuses and counts exactly, in Redis and in PostgreSQL,
under concurrent callers; over the rate no slot is taken; slots come back."""
from __future__ import annotations

import threading
import uuid

import pytest

from chalicelib import limits
from chalicelib.errors import RateLimited
from chalicelib.keys import quotas
from chalicelib.keys.principal import Principal
from chalicelib.settings import reset_settings
from tests.conftest import REDIS_URL, base_settings

CALLERS = 20


@pytest.fixture(params=["postgresql", "redis"])
def store(request, db):
    settings = base_settings(redis_url=REDIS_URL if request.param == "redis" else None)
    reset_settings(settings)
    counter = limits.counter_for_settings()
    assert counter.name == request.param
    return settings, counter


@pytest.fixture(autouse=True)
def _an_hour_window(monkeypatch):
    """One window for the whole test (a minute's window could roll over mid-burst)."""
    monkeypatch.setattr(quotas, "WINDOW_S", 3600)
    token = quotas._ticket.set(None)   # admissions made here set the request's ticket: not left for others
    yield
    quotas._ticket.reset(token)


def principal(rate: int | None, conc: int | None) -> Principal:
    return Principal(str(uuid.uuid4()), "operator", rate_per_minute=rate, max_concurrent=conc)


def slots_held(counter, key_id: str) -> int:
    if counter.name == "redis":
        return int(counter.client.zcount(limits.SLOT_PREFIX + "{key:" + key_id + "}", "(0", "+inf"))
    from chalicelib.db import get_db
    return int(get_db().scalar("SELECT count(*) FROM concurrency_slots WHERE bucket = :b "
                               "AND expires_at > clock_timestamp()", b=f"key:{key_id}"))


def hammer(p: Principal, settings) -> tuple[list, list[RateLimited]]:
    """CALLERS concurrent admissions; the admitted keep their slot."""
    barrier = threading.Barrier(CALLERS)
    tickets, refused, other = [], [], []
    lock = threading.Lock()

    def caller():
        reset_settings(settings)
        barrier.wait()
        try:
            t = quotas.admit(p)
            with lock:
                tickets.append(t)
        except RateLimited as exc:
            with lock:
                refused.append(exc)
        except Exception as exc:  # pragma: no cover - reported below
            other.append(exc)

    threads = [threading.Thread(target=caller) for _ in range(CALLERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not other, other
    return tickets, refused


def test_the_concurrency_limit_holds_under_concurrent_callers_and_every_call_is_counted(store):
    settings, counter = store
    p = principal(1000, 3)
    tickets, refused = hammer(p, settings)
    assert len(tickets) == 3 and len(refused) == CALLERS - 3
    assert all(e.details["scope"] == "api_key_concurrency" and e.headers["Retry-After"] == "1" for e in refused)
    assert all(e.headers["RateLimit-Limit"] == "1000" and e.headers["RateLimit-Policy"] == "1000;w=3600"
               for e in refused)
    assert slots_held(counter, p.key_id) == 3
    # every call counted in the window, the refused ones too
    assert sorted(int(e.headers["RateLimit-Remaining"]) for e in refused)[0] == 1000 - CALLERS
    for t in tickets:
        quotas.release(t)
    assert slots_held(counter, p.key_id) == 0
    t = quotas.admit(p)
    assert t.remaining == 1000 - CALLERS - 1 and t.slot == f"key:{p.key_id}"
    quotas.release(t)


def test_over_the_rate_no_slot_is_taken(store):
    settings, counter = store
    p = principal(5, 100)
    tickets, refused = hammer(p, settings)
    assert len(tickets) == 5 and len(refused) == CALLERS - 5
    assert all(e.details["scope"] == "api_key" and 1 <= e.retry_after <= 3600 for e in refused)
    assert all(e.headers["Retry-After"] == str(e.retry_after) and e.headers["RateLimit-Remaining"] == "0"
               for e in refused)
    assert sorted(t.remaining for t in tickets) == [0, 1, 2, 3, 4]
    assert slots_held(counter, p.key_id) == 5
    for t in tickets:
        quotas.release(t)
    assert slots_held(counter, p.key_id) == 0


def test_a_sequence_counts_and_refuses_as_the_separate_calls_did(store):
    """rate 3, 2 at once: the third call in flight is refused by the concurrency (and
    counted); after a release the fourth is refused by the rate, and takes no slot."""
    _, counter = store
    p = principal(3, 2)
    a, b = quotas.admit(p), quotas.admit(p)
    with pytest.raises(RateLimited) as third:
        quotas.admit(p)
    assert third.value.details["scope"] == "api_key_concurrency"
    assert third.value.headers["RateLimit-Remaining"] == "0"
    quotas.release(a)
    with pytest.raises(RateLimited) as fourth:
        quotas.admit(p)
    assert fourth.value.details == {"limit": 3, "per_seconds": 3600, "retry_after_seconds": fourth.value.retry_after,
                                    "scope": "api_key"}
    assert slots_held(counter, p.key_id) == 1
    quotas.release(b)
    assert slots_held(counter, p.key_id) == 0


def test_a_released_slot_is_free_for_the_next_admission_at_once(store):
    _, counter = store
    p = principal(1000, 1)
    for _ in range(30):
        quotas.release(quotas.admit(p))
    assert slots_held(counter, p.key_id) == 0


@pytest.mark.parametrize("rate,conc", [(4, None), (None, 2)])
def test_a_key_with_one_limit_still_counts_it(store, rate, conc):
    p = principal(rate, conc)
    held = []
    with pytest.raises(RateLimited) as refused:
        for _ in range(5):
            held.append(quotas.admit(p))
    assert len(held) == (rate or conc)
    assert refused.value.details["scope"] == ("api_key" if rate else "api_key_concurrency")
    for t in held:
        quotas.release(t)


def busy_then_over(p) -> None:
    """A (rate 2, 1 in flight) key: the second call is refused for the slot, the third (slot free) by the rate."""
    t = quotas.admit(p)
    with pytest.raises(RateLimited) as busy:
        quotas.admit(p)
    assert busy.value.details["scope"] == "api_key_concurrency"
    quotas.release(t)
    with pytest.raises(RateLimited) as over:
        quotas.admit(p)
    assert over.value.details["scope"] == "api_key"
    assert slots_held(limits.PostgresCounter(), p.key_id) == 0


def test_unreachable_redis_admits_through_postgresql(db):
    reset_settings(base_settings(redis_url="redis://127.0.0.1:1/0"))
    p = principal(2, 1)
    busy_then_over(p)


class _Counting:
    """The store, with its calls (round trips) noted."""

    def __init__(self, inner):
        self.inner, self.calls = inner, []
        self.name = inner.name

    def __getattr__(self, op):
        def call(*args):
            self.calls.append(op)
            return getattr(self.inner, op)(*args)
        return call


def test_a_key_with_both_limits_is_admitted_in_one_call_to_the_store(store):
    _, counter = store
    counting = _Counting(counter)
    p = principal(100, 10)
    t = quotas.admit(p, counting)
    quotas.release(t, counting)
    assert counting.calls == ["hit_and_take", "give_slot"]
    assert slots_held(counter, p.key_id) == 0


def test_before_the_migration_the_postgresql_store_admits_in_two_statements(db, monkeypatch):
    """Code deployed ahead of init-db (no stepflow_quota_admit yet) still counts exactly."""
    reset_settings(base_settings())
    missing = limits._ADMIT_SQL.replace("stepflow_quota_admit(", "stepflow_quota_admit_not_there(")
    monkeypatch.setattr(limits, "_ADMIT_SQL", missing)
    p = principal(2, 1)
    busy_then_over(p)
