"""Nodes joining and leaving: Join (a join token and a CSR become a certificate naming a new
container instance), certificate renewal, and ECS DeregisterContainerInstance (which revokes).

A join makes a fresh instance id; the name the node asks for must not belong to another
instance of the cluster (`skiff node rm` it first), so no node can take over another's name.
The instance record itself is written when the agent registers over mutual TLS with the
certificate it got here; an agent registers only the instance its certificate names.
"""

from __future__ import annotations

import logging
import uuid

from controlplane.errors import InvalidParameter, NotFound
from controlplane.model import ContainerInstanceRecord, Keys, TaskRecord
from controlplane.resources.clusters import Clusters
from controlplane.resources.instances import Instances
from controlplane.trust import ClusterTrust
from controlplane.unit_of_work import UnitOfWork
from skiffcore.status import StopCode, TaskStatus

__all__ = ["Membership"]

log = logging.getLogger("skiff.controlplane")

MAX_NAME = 255
MAX_TASKS_PER_DEREGISTER = 100  # one transaction: etcd takes 128 operations


class Membership:
    def __init__(self, work: UnitOfWork, clusters: Clusters, instances: Instances,
                 trust: ClusterTrust) -> None:
        self.work = work
        self.clusters = clusters
        self.instances = instances
        self.trust = trust

    def join(self, cluster: str, name: str, join_token: str, csr_pem: bytes
             ) -> tuple[str, bytes, bytes]:
        """(instance id, certificate, CA certificate) for a node holding the join token."""
        self.trust.check_join_token(join_token)
        cluster = self.clusters.cluster(cluster).name
        if not name or len(name) > MAX_NAME:
            raise InvalidParameter("name", f"1 to {MAX_NAME} characters, got {len(name)}")
        taken = [r.instance_id for r in self.work.view.instances(cluster).values()
                 if r.name == name]
        if taken:
            raise InvalidParameter("name", f"container instance {taken[0]} in cluster {cluster} "
                                           f"is already named {name!r}: deregister it first "
                                           f"(`skiff node rm {taken[0]}`) or pick another name")
        instance_id = uuid.uuid4().hex
        certificate = self.trust.issue_agent_certificate(instance_id, csr_pem)
        log.info("node %s joined cluster %s as instance %s", name, cluster, instance_id)
        return instance_id, certificate, self.trust.ca().cert_pem

    def renew(self, instance_id: str, csr_pem: bytes) -> bytes:
        """A new certificate for an agent whose current one is still valid (checked at the door)."""
        return self.trust.issue_agent_certificate(instance_id, csr_pem)

    def deregister(self, cluster: str, reference: str, force: bool) -> ContainerInstanceRecord:
        """ECS DeregisterContainerInstance. Without `force`, an instance that still has tasks
        that are not STOPPED is refused; with it, those tasks are marked STOPPED (their agent
        can no longer report) and services replace them. Either way every certificate naming
        the instance is revoked in the same transaction."""
        cluster = self.clusters.cluster(cluster).name
        instance_id = reference.rsplit("/", 1)[-1]

        def attempt() -> ContainerInstanceRecord:
            key = Keys.instance(cluster, instance_id)
            record = self.work.get(ContainerInstanceRecord, key)
            if record is None:
                raise NotFound(f"container instance {instance_id} not found in cluster {cluster}")
            live = [t for t in self.work.view.instance_tasks(cluster, instance_id)
                    if t.status != TaskStatus.STOPPED]
            if live and not force:
                raise InvalidParameter("force", f"container instance {instance_id} still has "
                                                f"{len(live)} tasks; stop them or drain it "
                                                f"first, or deregister with force")
            if len(live) > MAX_TASKS_PER_DEREGISTER:
                raise InvalidParameter("force", f"container instance {instance_id} has "
                                                f"{len(live)} tasks; drain it first")
            now = self.work.now_ms()
            puts = self.trust.revoke_puts(cluster, instance_id)
            expect = {key: record.version}
            for task in live:
                stopped = _stopped_with_instance(task.copy(), now)
                task_key = Keys.task(cluster, task.task_id)
                puts[task_key], expect[task_key] = stopped.encode(), task.version
            self.work.commit(puts=puts, deletes=[key, Keys.session(cluster, instance_id)],
                             expect=expect)
            record.status = "INACTIVE"
            return record

        record = self.work.retry(attempt)
        log.info("container instance %s deregistered from %s; its certificates are revoked",
                 instance_id, cluster)
        return record


def _stopped_with_instance(task: TaskRecord, now: int) -> TaskRecord:
    task.desired_status = task.last_status = TaskStatus.STOPPED.name
    task.stop_code = task.stop_code or StopCode.USER_INITIATED
    task.stopped_reason = task.stopped_reason or "Container instance deregistered"
    task.stopping_at_ms = task.stopping_at_ms or now
    task.stopped_at_ms = now
    return task
