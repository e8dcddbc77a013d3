"""Session-scoped Redis servers for the comparison tests.

env1: standalone, no password. env2: standalone with a password and an
ACL user. cluster: 3 masters. Each test gets them flushed.
"""
from __future__ import annotations

import pytest

from tests.compare import redis_servers as rs


@pytest.fixture(scope="session")
def redis_env1():
    srv = rs.start_server()
    yield srv
    srv.stop()


@pytest.fixture(scope="session")
def redis_env2():
    srv = rs.start_server(password=rs.PASSWORD, acl_user=True)
    yield srv
    srv.stop()


@pytest.fixture(scope="session")
def redis_cluster_nodes():
    nodes = rs.start_cluster(3)
    yield nodes
    for n in nodes:
        n.stop()


@pytest.fixture
def env1(redis_env1):
    c = redis_env1.client()
    c.flushall()
    yield c
    c.close()


@pytest.fixture
def env2(redis_env2):
    c = redis_env2.client()
    c.flushall()
    yield c
    c.close()


@pytest.fixture
def cluster(redis_cluster_nodes):
    for n in redis_cluster_nodes:
        n.client().flushall()
    c = rs.cluster_client(redis_cluster_nodes)
    yield c
    c.close()


def side_config(server_or_nodes, name="env", **kw) -> dict:
    """A cluster1_config/cluster2_config dict for a server or a list of cluster nodes."""
    servers = server_or_nodes if isinstance(server_or_nodes, list) else [server_or_nodes]
    cfg = {"name": name, "nodes": [{"host": "127.0.0.1", "port": s.port} for s in servers],
           "socket_timeout": 2, "socket_connect_timeout": 1}
    if servers[0].password:
        cfg["password"] = servers[0].password
    cfg.update(kw)
    return cfg


@pytest.fixture
def cfg1(redis_env1, env1):
    return side_config(redis_env1, "production")


@pytest.fixture
def cfg2(redis_env2, env2):
    return side_config(redis_env2, "test")


@pytest.fixture
def cfg_cluster(redis_cluster_nodes, cluster):
    return side_config(redis_cluster_nodes, "cluster")
