"""ECS clusters: CreateCluster, ListClusters, DescribeClusters, and cluster names.

The cluster `default` exists without being created, as in ECS.
"""

from __future__ import annotations

import re
from typing import Iterable

from controlplane.errors import InvalidParameter, NotFound
from controlplane.model import Cluster, Keys
from controlplane.store import ABSENT
from controlplane.types import ClusterSummary, Failure
from controlplane.unit_of_work import UnitOfWork
from skiffcore import bounded
from skiffcore.status import TaskStatus

__all__ = ["CLUSTER_NAME", "DEFAULT_CLUSTER", "Clusters", "cluster_name"]

DEFAULT_CLUSTER = "default"
CLUSTER_NAME = re.compile(r"^[A-Za-z0-9_-]{1,255}$")


def cluster_name(name: str) -> str:
    """A cluster's name from a name or ARN (empty: the default cluster), validated."""
    name = (name or DEFAULT_CLUSTER).rsplit("/", 1)[-1]
    if not CLUSTER_NAME.match(name):
        raise InvalidParameter("cluster", f"invalid cluster name {bounded.cut(name, 300)!r}")
    return name


class Clusters:
    def __init__(self, work: UnitOfWork):
        self.work = work

    def create_cluster(self, name: str) -> Cluster:
        """Create a cluster; creating an existing one returns it (as ECS does)."""
        name = name or DEFAULT_CLUSTER
        if not CLUSTER_NAME.match(name):
            raise InvalidParameter("clusterName", "up to 255 letters, numbers, hyphens and "
                                                  f"underscores, got {bounded.cut(name, 300)!r}")

        def attempt() -> Cluster:
            existing = self.work.get(Cluster, Keys.cluster(name))
            if existing:
                return existing
            cluster = Cluster(name, created_at_ms=self.work.now_ms())
            self.work.commit(puts={Keys.cluster(name): cluster.encode()},
                             expect={Keys.cluster(name): ABSENT})
            return cluster

        return self.work.retry(attempt)

    def cluster(self, name: str) -> Cluster:
        """The named cluster (a name or ARN); `default` exists without being created."""
        name = cluster_name(name)
        record = self.work.get(Cluster, Keys.cluster(name))
        if record:
            return record
        if name == DEFAULT_CLUSTER:
            return Cluster(DEFAULT_CLUSTER)
        raise NotFound(f"cluster {name!r} not found")

    def list_clusters(self) -> list[Cluster]:
        """Every cluster by name, `default` included."""
        clusters = {c.name: c for c in (Cluster.decode(e.value, e.mod_revision)
                                        for e in self.work.store.list(Keys.clusters()))}
        clusters.setdefault(DEFAULT_CLUSTER, Cluster(DEFAULT_CLUSTER))
        return sorted(clusters.values(), key=lambda c: c.name)

    def describe_clusters(self, names: Iterable[str]) -> tuple[list[ClusterSummary], list[Failure]]:
        """The clusters asked for (none: `default`) with their counts; unknown ones as
        MISSING failures."""
        view = self.work.view
        summaries, failures = [], []
        for name in list(names) or [DEFAULT_CLUSTER]:
            try:
                cluster = self.cluster(name)
            except NotFound:
                failures.append(Failure(name, "MISSING"))
                continue
            tasks = view.tasks(cluster.name)
            summaries.append(ClusterSummary(
                cluster, len(view.instances(cluster.name)),
                sum(1 for t in tasks if t.status == TaskStatus.RUNNING),
                sum(1 for t in tasks if t.status < TaskStatus.RUNNING)))
        return summaries, failures
