"""ECS container instances: DescribeContainerInstances, ListContainerInstances,
UpdateContainerInstancesState, the attribute operations (PutAttributes, DeleteAttributes,
ListAttributes), and the instances as the scheduler sees them.

Registration and heartbeats come from agents (agents.py). Attributes whose names start with
`ecs.` or `skiff.` are the agent's own: users cannot put or delete them.
"""

from __future__ import annotations

import re
from functools import partial
from typing import Iterable

from controlplane.errors import InvalidParameter, NotFound
from controlplane.model import ContainerInstanceRecord, Keys
from controlplane.resources.clusters import CLUSTER_NAME, Clusters, cluster_name
from controlplane.scheduler import ClusterSnapshot, InstanceSnapshot
from controlplane.types import Failure, InstanceView
from controlplane.unit_of_work import UnitOfWork
from skiffcore.status import TaskStatus

__all__ = ["ATTRIBUTE_NAME", "ATTRIBUTE_VALUE", "INSTANCE_ID", "Instances", "builtin_attribute"]

INSTANCE_ID = CLUSTER_NAME  # ids become etcd key segments: no "/"
ATTRIBUTE_NAME = re.compile(r"^[A-Za-z0-9_./\\-]{1,128}$")
ATTRIBUTE_VALUE = re.compile(r"^[A-Za-z0-9_.@/\\:\- ]{1,128}$")


def builtin_attribute(name: str) -> bool:
    """Attributes the agent reports itself (ECS's `ecs.` names and Skiff's own)."""
    return name.startswith(("ecs.", "skiff."))


class Instances:
    def __init__(self, work: UnitOfWork, clusters: Clusters):
        self.work = work
        self.clusters = clusters
        # (cluster, instance id) -> ((version, connected), InstanceSnapshot): a cache, rebuilt
        # per instance when its record changes, so placing costs O(changed instances).
        self._snapshots: dict[tuple[str, str], tuple[tuple[int, bool], InstanceSnapshot]] = {}

    def instance(self, cluster: str, instance_id: str) -> ContainerInstanceRecord:
        """The instance as this process last saw it (read-only; stale at worst by a watch
        delay, which a write's version check catches)."""
        cluster = cluster_name(cluster)
        record = self.work.view.instance(cluster, instance_id)
        if record is None:  # maybe just registered
            record = self.work.get(ContainerInstanceRecord, Keys.instance(cluster, instance_id))
            if record is None:
                raise NotFound(f"container instance {instance_id} not found in cluster {cluster}")
        return record

    def instance_views(self, cluster: str, references: Iterable[str] | None = None
                       ) -> tuple[list[InstanceView], list[Failure]]:
        """Instances with their connection state and task counts (all when references is None)."""
        view = self.work.view
        cluster = self.clusters.cluster(cluster).name
        records = view.instances(cluster)
        connected = view.connected(cluster)
        wanted = (list(records) if references is None
                  else [r.rsplit("/", 1)[-1] for r in references])
        views, failures = [], []
        for instance_id in wanted:
            record = records.get(instance_id)
            if record is None:
                failures.append(Failure(instance_id, "MISSING"))
                continue
            mine = view.instance_tasks(cluster, instance_id)
            views.append(InstanceView(
                record, instance_id in connected,
                sum(1 for t in mine if t.status == TaskStatus.RUNNING),
                sum(1 for t in mine if t.status < TaskStatus.RUNNING)))
        return views, failures

    def update_instances_state(self, cluster: str, references: Iterable[str], status: str
                               ) -> tuple[list[ContainerInstanceRecord], list[Failure]]:
        """ECS UpdateContainerInstancesState: DRAINING takes no new tasks (the controller moves
        its service tasks); ACTIVE takes them again."""
        status = (status or "").upper()
        if status not in ("ACTIVE", "DRAINING"):
            raise InvalidParameter("status", f"must be ACTIVE or DRAINING, got {status!r}")
        cluster = self.clusters.cluster(cluster).name

        def attempt(instance_id: str) -> ContainerInstanceRecord:
            record = self.instance(cluster, instance_id).copy()
            if record.status != status:
                record.status = status
                key = Keys.instance(cluster, instance_id)
                self.work.commit(puts={key: record.encode()}, expect={key: record.version})
            return record

        records, failures = [], []
        for reference in references:
            try:
                records.append(self.work.retry(partial(attempt, reference.rsplit("/", 1)[-1])))
            except NotFound:
                failures.append(Failure(reference, "MISSING"))
        return records, failures

    def put_attributes(self, cluster: str, attributes: Iterable[tuple[str, str, str]]
                       ) -> list[tuple[str, str, str]]:
        """ECS PutAttributes on container instances: (name, value, target id) each."""
        return self._change_attributes(cluster, list(attributes), put=True)

    def delete_attributes(self, cluster: str, attributes: Iterable[tuple[str, str, str]]
                          ) -> list[tuple[str, str, str]]:
        """ECS DeleteAttributes: (name, value, target id) each; the value is not checked."""
        return self._change_attributes(cluster, list(attributes), put=False)

    def _change_attributes(self, cluster: str, attributes: list[tuple[str, str, str]], put: bool
                           ) -> list[tuple[str, str, str]]:
        cluster = self.clusters.cluster(cluster).name
        if not attributes:
            raise InvalidParameter("attributes", "at least one attribute")
        by_target: dict[str, list[tuple[str, str]]] = {}
        for n, (name, value, target) in enumerate(attributes):
            _check_attribute(f"attributes[{n}]", name, value if put else None)
            if not target:
                raise InvalidParameter(f"attributes[{n}].targetId", "required")
            by_target.setdefault(target.rsplit("/", 1)[-1], []).append((name, value))
        for instance_id in by_target:
            self.instance(cluster, instance_id)  # all targets exist, or nothing changes

        def attempt() -> None:
            puts, expect = {}, {}
            for instance_id, pairs in by_target.items():
                record = self.instance(cluster, instance_id).copy()
                for name, value in pairs:
                    if put:
                        record.attributes[name] = value
                    else:
                        record.attributes.pop(name, None)
                key = Keys.instance(cluster, instance_id)
                puts[key], expect[key] = record.encode(), record.version
            self.work.commit(puts=puts, expect=expect)

        self.work.retry(attempt)
        return attributes

    def list_attributes(self, cluster: str, name: str = "", value: str = ""
                        ) -> list[tuple[str, str, str]]:
        """ECS ListAttributes: (name, value, instance id) of every instance attribute,
        optionally only those with this name and value."""
        cluster = self.clusters.cluster(cluster).name
        return [(n, v, record.instance_id)
                for record in sorted(self.work.view.instances(cluster).values(),
                                     key=lambda r: r.instance_id)
                for n, v in sorted(record.attributes.items())
                if (not name or n == name) and (not value or v == value)]

    def cluster_snapshot(self, cluster: str) -> ClusterSnapshot:
        """The cluster as the scheduler sees it now."""
        cluster = cluster_name(cluster)
        connected = self.work.view.connected(cluster)
        return ClusterSnapshot(tuple(self.instance_snapshot(i, i.instance_id in connected)
                                     for i in self.work.view.instances(cluster).values()))

    def instance_snapshot(self, record: ContainerInstanceRecord, connected: bool
                          ) -> InstanceSnapshot:
        """What the scheduler sees of an instance; rebuilt only when the record changed."""
        key = (record.cluster, record.instance_id)
        cached = self._snapshots.get(key)
        if cached and cached[0] == (record.version, connected):
            return cached[1]
        snapshot = InstanceSnapshot(
            record.instance_id, record.remaining_cpu, record.remaining_memory, record.used_ports,
            record.status, connected, attributes=record.attributes,
            agent_version=record.agent_version, registered_at_ms=record.registered_at_ms,
            task_groups=tuple(r.group for r in record.reservations.values()),
            reserved_dynamic_ports=sum(r.dynamic_ports for r in record.reservations.values()),
            registered_cpu=record.registered_cpu, registered_memory=record.registered_memory)
        self._snapshots[key] = ((record.version, connected), snapshot)
        return snapshot


def _check_attribute(path: str, name: str, value: str | None) -> None:
    """ECS limits: names 1-128 of letters, digits, - _ . / \\; values 1-128, also @ : and space."""
    if not isinstance(name, str) or not ATTRIBUTE_NAME.match(name):
        raise InvalidParameter(f"{path}.name", f"1-128 letters, numbers, hyphens, underscores, "
                                               f"periods or slashes, got {name!r}")
    if builtin_attribute(name):
        raise InvalidParameter(f"{path}.name", f"{name!r} is reserved for built-in attributes")
    if value is not None and (not isinstance(value, str) or not ATTRIBUTE_VALUE.match(value)
                              or value != value.strip()):
        raise InvalidParameter(f"{path}.value", f"1-128 letters, numbers, hyphens, underscores, "
                                                f"periods, at signs, slashes, colons or spaces, "
                                                f"without leading or trailing space, got {value!r}")
