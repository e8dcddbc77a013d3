"""Redis comparison (seed 003 section 2.2.1). redis-py is imported lazily.

Public API:
    RedisCompareRequest, RedisSideConfig, SampleConfig, CompareOptions  (config)
    compare_redis(request, progress=None, log=None) -> answer dict        (engine)
    connect_side(label, config) -> Side                                   (topology)
"""
from .config import CompareOptions, RedisCompareRequest, RedisNode, RedisSideConfig, SampleConfig
from .engine import compare_redis, run_comparison

__all__ = ["CompareOptions", "RedisCompareRequest", "RedisNode", "RedisSideConfig", "SampleConfig",
           "compare_redis", "run_comparison"]
