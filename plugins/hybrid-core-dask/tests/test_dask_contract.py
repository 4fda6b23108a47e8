"""The dask executor passes hybrid_core's executor contract on one LocalCluster.

The cluster is started once for the class (a scheduler and one worker of several
threads, in this process); each test gets a fresh executor connected to it by address,
which the contract closes, so what it checks is what the executor itself starts and
leaves: its client, its threads, the calls it submitted.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from hybrid_core.testing import ExecutorContract

from hybrid_core_dask import DaskExecutor


@pytest.fixture(scope="class")
def cluster() -> Iterator[Any]:
    """One LocalCluster for the class: a scheduler and a worker of four threads."""
    from distributed import LocalCluster

    with LocalCluster(
        n_workers=1,
        threads_per_worker=4,
        processes=False,
        dashboard_address=None,
    ) as found:
        yield found


class TestDaskExecutor(ExecutorContract):
    # The workers are the cluster's, which outlives each executor on purpose.
    owns_workers = False
    # A cancelled call is released on the cluster; the driver stops waiting at once.
    cancel_timeout = 10.0

    @pytest.fixture
    def executor(self, cluster: Any) -> DaskExecutor:
        return DaskExecutor(address=cluster.scheduler_address, connect_timeout=20.0)
