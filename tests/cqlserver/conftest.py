"""Fixtures for the CQL test server's own wire tests."""
import pytest

from tests.cqlserver import CqlTestServer


@pytest.fixture
def server():
    srv = CqlTestServer()
    srv.create_table("ks", "user_data", {"user_id": "int", "name": "text", "score": "double"},
                     primary_key=["user_id"])
    srv.insert_many("ks", "user_data",
                    ({"user_id": i, "name": f"user{i}", "score": i / 2} for i in range(1, 31)))
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture
def auth_server():
    srv = CqlTestServer(username="cassandra", password="s3cret")
    srv.create_table("ks", "t", {"k": "text", "v": "int"}, primary_key=["k"])
    srv.insert("ks", "t", {"k": "a", "v": 1})
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture
def connect():
    """connect(server, **cluster_kwargs) -> Session; every cluster is shut down afterwards."""
    from cassandra.cluster import EXEC_PROFILE_DEFAULT, Cluster, ExecutionProfile
    from cassandra.policies import DCAwareRoundRobinPolicy

    clusters = []

    def _connect(srv, keyspace=None, **kwargs):
        kwargs.setdefault("protocol_version", 4)
        profile = ExecutionProfile(load_balancing_policy=DCAwareRoundRobinPolicy(local_dc="datacenter1"))
        kwargs.setdefault("execution_profiles", {EXEC_PROFILE_DEFAULT: profile})
        kwargs.setdefault("connect_timeout", 5)
        cluster = Cluster([srv.host], port=srv.port, **kwargs)
        clusters.append(cluster)
        return cluster.connect(keyspace)

    yield _connect
    for cluster in clusters:
        cluster.shutdown()
