"""What agents ask of the control plane: register their instance, heartbeat, report what
their tasks do, and hear which tasks they should run.

An agent acts only for the instance it registered. Its reports move statuses forward only
(design: tasks transition only forward); a task that reaches STOPPED gives its reservation
back on the instance in the same transaction.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from typing import Callable, Iterable

from controlplane.errors import Busy, InvalidParameter, NotFound, PermissionDenied
from controlplane.model import ContainerInstanceRecord, Keys, TaskRecord
from controlplane.registry_access import RegistryAccess
from controlplane.resources.clusters import Clusters, cluster_name
from controlplane.resources.instances import INSTANCE_ID, Instances, builtin_attribute
from controlplane.resources.secrets import Secrets, SecretUnavailable
from controlplane.resources.taskdefs import TaskDefinitions
from controlplane.resources.tasks import Tasks
from controlplane.sessions import Sessions
from controlplane.store import ABSENT
from controlplane.taskdef import TaskDefinitionSpec
from controlplane.types import ContainerReport, ContainerSecrets, Failure, TaskStateReport
from controlplane.unit_of_work import UnitOfWork
from skiffcore.status import StopCode, TaskStatus, advance

__all__ = ["Agents", "AssignmentSet"]

log = logging.getLogger("skiff.controlplane")


@dataclass(frozen=True)
class AssignmentSet:
    """Every task an instance's agent must run, and where the set was read: `epoch`, the
    leader key's create_revision, and `revision`, the etcd revision of the copy read. An agent
    ignores a set whose (epoch, revision) is smaller than that of one it acted on (design
    invariant 8): a process whose copy lags must not undo what a newer set made happen."""

    tasks: list[tuple[TaskRecord, TaskDefinitionSpec]]
    epoch: int
    revision: int


class Agents:
    def __init__(self, work: UnitOfWork, clusters: Clusters, taskdefs: TaskDefinitions,
                 instances: Instances, tasks: Tasks, sessions: Sessions, secrets: Secrets):
        self.work = work
        self.secrets = secrets
        self.clusters = clusters
        self.taskdefs = taskdefs
        self.instances = instances
        self.tasks = tasks
        self.sessions = sessions
        self.registry: RegistryAccess | None = None  # the bundled registry, when it has auth

    def registry_credentials(self, cluster: str, instance_id: str, image: str
                             ) -> tuple[str, str, int] | None:
        """(registry, pull token, expiry ms) for `image` on the bundled registry, or None when
        the image lives elsewhere (or the registry is open). An agent gets tokens only for the
        images of tasks placed on its instance."""
        if self.registry is None:
            return None
        cluster = self.clusters.cluster(cluster).name
        if not any(container.image == image
                   for task in self.work.view.instance_tasks(cluster, instance_id)
                   for container in task.containers):
            raise PermissionDenied(f"no task on instance {instance_id} runs image {image}")
        try:
            minted = self.registry.pull_token(image)
        except ValueError as exc:  # the auth file unreadable: the operator must fix it
            log.error("no registry token for instance %s: %s", instance_id, exc)
            raise NotFound(f"the control plane cannot sign registry tokens now: {exc}") from None
        if minted is None:
            return None
        token, expires_ms = minted
        return self.registry.address, token, expires_ms

    def register_instance(self, cluster: str, instance_id: str, name: str, cpu: int, memory: int,
                          attributes: dict[str, str], agent_version: str) -> ContainerInstanceRecord:
        """Register a new instance, or refresh a known one (its reservations are kept)."""
        cluster = self.clusters.cluster(cluster).name
        if cpu <= 0 or memory <= 0:
            raise InvalidParameter("totalResources", "CPU and MEMORY must be positive")
        if instance_id and not INSTANCE_ID.match(instance_id):
            raise InvalidParameter("instanceId", f"up to 255 letters, numbers, hyphens and "
                                                 f"underscores, got {instance_id!r}")
        instance_id = instance_id or uuid.uuid4().hex
        taken = [r.instance_id for r in self.work.view.instances(cluster).values()
                 if r.name == name and r.instance_id != instance_id]
        if taken:  # a name picks out one machine: no agent may take another's
            raise InvalidParameter("name", f"container instance {taken[0]} in cluster {cluster} "
                                           f"is already named {name!r}")

        def attempt() -> ContainerInstanceRecord:
            key = Keys.instance(cluster, instance_id)
            record = self.work.get(ContainerInstanceRecord, key)
            expected = record.version if record else ABSENT
            if record:
                record.name, record.registered_cpu, record.registered_memory = name, cpu, memory
                # The agent reports the built-ins; attributes users put stay.
                custom = {k: v for k, v in record.attributes.items() if not builtin_attribute(k)}
                record.attributes = {**custom, **attributes}
                record.agent_version = agent_version
            else:
                record = ContainerInstanceRecord(instance_id, cluster, name, cpu, memory,
                                                 attributes=attributes, agent_version=agent_version,
                                                 registered_at_ms=self.work.now_ms())
            self.work.commit(puts={key: record.encode()}, expect={key: expected})
            return record

        record = self.work.retry(attempt)
        log.info("container instance %s (%s) registered in %s", record.instance_id, name, cluster)
        return record

    def heartbeat(self, cluster: str, instance_id: str, registering: bool = False) -> None:
        """The instance's agent is alive: keep it connected to this process (see sessions.py)."""
        record = self.instances.instance(cluster, instance_id)  # NotFound: register again
        self.sessions.touch(record.cluster, record.instance_id, claim=registering)

    def agent_elsewhere(self, cluster: str, instance_id: str) -> str | None:
        """The API address of the other control-plane process the instance's agent is
        connected to, if it is connected to another one."""
        return self.sessions.peer_address(cluster_name(cluster), instance_id)

    def assignments(self, cluster: str, instance_id: str) -> AssignmentSet:
        """Every task placed on the instance that is not STOPPED yet, with its definition."""
        tasks, epoch, revision = self.work.view.instance_tasks_read(cluster_name(cluster),
                                                                   instance_id)
        return AssignmentSet([(t, self.taskdefs.spec(t.task_definition_arn))
                              for t in sorted(tasks, key=lambda t: t.task_id)], epoch, revision)

    def start_secrets(self, task: TaskRecord, spec: TaskDefinitionSpec
                      ) -> tuple[TaskRecord, dict[str, ContainerSecrets]]:
        """What the task's own agent is told of it (only the assignment stream asks): the task,
        and, while it is to be started (desired RUNNING, not RUNNING yet), its containers'
        secrets in clear. A running task is adopted, never created again: it needs none.

        A task whose secrets cannot be had is stopped here, TaskFailedToStart with ECS's
        ResourceInitializationError naming the secret, and returned as stopping (the agent
        then never starts it)."""
        if task.desired != TaskStatus.RUNNING or task.status >= TaskStatus.RUNNING:
            return task, {}
        try:
            return task, self.secrets.for_start(spec)
        except SecretUnavailable as exc:
            reason = f"ResourceInitializationError: unable to pull secrets or registry auth: {exc}"
            log.warning("task %s cannot start: %s", task.task_id, reason)
            try:
                return self.tasks.stop_task(task.cluster, task.task_id, reason,
                                            StopCode.TASK_FAILED_TO_START), {}
            except (Busy, NotFound) as error:  # told as stopping all the same: the agent
                # reports it STOPPED, and the next start of the task tries again
                log.warning("task %s: could not record that it cannot start: %s", task.task_id,
                            error)
                stopping = task.copy()
                stopping.desired_status = TaskStatus.STOPPED.name
                return stopping, {}

    def watch_assignments(self, cluster: str, instance_id: str, callback: Callable[[], None]
                          ) -> Callable[[], None]:
        """Call `callback` when what the instance's agent is told changes (`StateView.subscribe`);
        returns the unsubscribe function."""
        return self.work.view.subscribe(cluster_name(cluster), instance_id, callback)

    def report_task_state(self, cluster: str, instance_id: str, task_id: str, status: TaskStatus,
                          containers: Iterable[ContainerReport] = (), stop_code: str = "",
                          stopped_reason: str = "") -> TaskRecord:
        """One report; raises what `report_task_states` lists as a failure."""
        failures = self.report_task_states(cluster, instance_id, [TaskStateReport(
            task_id, status, tuple(containers), stop_code, stopped_reason)])
        if failures and failures[0].reason == "MISSING":
            raise NotFound(failures[0].detail)
        if failures:
            raise InvalidParameter("taskId", failures[0].detail)
        return self.tasks.task(cluster, task_id)

    def report_task_states(self, cluster: str, instance_id: str,
                           reports: Iterable[TaskStateReport]) -> list[Failure]:
        """Apply what an agent observed, for many tasks in one transaction. Statuses only move
        forward; a task reaching STOPPED frees its reservation on the instance. Reports for
        unknown tasks or tasks on another instance are returned as failures, changing nothing."""
        cluster = cluster_name(cluster)
        latest = {r.task_id: r for r in reports}  # a later report of a task supersedes

        def attempt() -> list[Failure]:
            now = self.work.now_ms()
            puts: dict[str, bytes] = {}
            expect: dict[str, int] = {}
            failures: list[Failure] = []
            instance: ContainerInstanceRecord | None = None
            for report in latest.values():
                current = self.work.view.task(cluster, report.task_id)
                if current is None:
                    current = self.work.get(TaskRecord, Keys.task(cluster, report.task_id))
                if current is None:
                    failures.append(Failure(report.task_id, "MISSING",
                                            f"task {report.task_id} not found in cluster {cluster}"))
                    continue
                if current.instance_id != instance_id:
                    failures.append(Failure(report.task_id, "WRONG_INSTANCE",
                                            f"task {report.task_id} is not on instance {instance_id}"))
                    continue
                if current.status == TaskStatus.STOPPED:
                    continue
                task = current.copy()
                _apply_report(task, report, now)
                key = Keys.task(cluster, task.task_id)
                puts[key], expect[key] = task.encode(), task.version
                if task.status == TaskStatus.STOPPED:
                    instance = instance or self.instances.instance(cluster, instance_id).copy()
                    instance.reservations.pop(task.task_id, None)
            if instance is not None:
                key = Keys.instance(cluster, instance_id)
                puts[key], expect[key] = instance.encode(), instance.version
            if puts:
                self.work.commit(puts=puts, expect=expect)
            return failures

        return self.work.retry(attempt)


def _apply_report(task: TaskRecord, report: TaskStateReport, now: int) -> None:
    """Fold one agent report into the task (forward-only statuses; first stop code wins)."""
    containers = {c.name: c for c in report.containers}
    for container in task.containers:
        seen = containers.get(container.name)
        if seen is None:
            continue
        container.last_status = advance(TaskStatus[container.last_status], seen.status).name
        if seen.exit_code is not None:
            container.exit_code = seen.exit_code
        container.reason = seen.reason or container.reason
        container.network_bindings = list(seen.network_bindings) or container.network_bindings
        container.runtime_id = seen.runtime_id or container.runtime_id
        container.health_status = seen.health_status
        # The agent counts from 0 again after it restarts: keep the highest count seen.
        container.restart_count = max(container.restart_count, seen.restart_count)
    task.health_status = report.health_status
    new_status = advance(task.status, report.status)
    task.last_status = new_status.name
    if report.status == TaskStatus.RUNNING and not task.started_at_ms:
        task.started_at_ms = now
    if new_status == TaskStatus.STOPPED:
        task.desired_status = TaskStatus.STOPPED.name
        task.stop_code = task.stop_code or report.stop_code
        task.stopped_reason = task.stopped_reason or report.stopped_reason
        task.stopped_at_ms = now
        task.stopping_at_ms = task.stopping_at_ms or now
