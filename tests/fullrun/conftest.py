"""Fixtures of the whole-dataset run tests: the comparison tests' real
redis-servers (two standalone, a 3-master cluster), the jobs tests' moto SQS
queues and in-process runner, and datasets with planted differences."""
from __future__ import annotations

import pytest

from tests.compare.conftest import (  # noqa: F401 - fixtures shared with the comparison tests
    cfg1, cfg2, cfg_cluster, cluster, env1, env2, redis_cluster_nodes, redis_env1, redis_env2, side_config,
)
from tests.jobs.conftest import inline_queue, moto_endpoint, sqs_env  # noqa: F401
from tests.fullrun.datasets import plant


@pytest.fixture
def planted(env1, env2):
    """env1 (cluster1) and env2 (cluster2) loaded; the expected differences."""
    return plant(env1, env2, n_identical=300)
