"""Redis comparison (seed 003 section 2.2.1). redis-py is imported lazily.

Public API:
    RedisCompareRequest, RedisSideConfig, SampleConfig, CompareOptions  (config)
    compare_redis(request, progress=None, log=None) -> answer dict        (engine)
    connect_side(label, config) -> Side                                   (topology)
"""
from .config import CompareOptions, RedisCompareRequest, RedisNode, RedisSideConfig, SampleConfig


def __getattr__(name: str):
    # The engine (and the comparison core) loads on first use, not with the
    # request models that app.py needs (Lambda cold start).
    if name in ("compare_redis", "run_comparison"):
        from . import engine
        return getattr(engine, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["CompareOptions", "RedisCompareRequest", "RedisNode", "RedisSideConfig", "SampleConfig",
           "compare_redis", "run_comparison"]
