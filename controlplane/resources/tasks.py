"""ECS tasks: RunTask and StartTask (placement, group-committed), StopTask, DescribeTasks,
ListTasks, and why a task is placed where it is.

Placement decisions come from the pure scheduler: this module feeds it a snapshot of the
cluster and commits its plan together with the resource reservations on the instances, in
one transaction. Concurrent placements of one process share that transaction (see `place`).
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import uuid
from dataclasses import dataclass
from functools import partial
from typing import Iterable, Sequence

from controlplane.errors import InvalidParameter, NotFound
from controlplane.model import ContainerRecord, Keys, Reservation, TaskDefinitionRecord, TaskRecord
from controlplane.resources.clusters import Clusters, cluster_name
from controlplane.resources.instances import Instances
from controlplane.resources.taskdefs import TaskDefinitions
from controlplane.scheduler import (MAX_CONSTRAINTS, PlacementError, TaskRequest, explain,
                                    parse_constraints, parse_strategies, release_task, schedule)
from controlplane.store import ABSENT
from controlplane.taskdef import TaskDefinitionSpec
from controlplane.types import Failure
from controlplane.unit_of_work import UnitOfWork
from skiffcore.status import StopCode, TaskStatus

__all__ = ["MAX_BATCH_TASKS", "MAX_RUN_COUNT", "Tasks", "placement_rules", "task_id"]

log = logging.getLogger("skiff.controlplane")

MAX_RUN_COUNT = 10
MAX_BATCH_TASKS = 60  # tasks placed in one transaction (etcd allows 128 operations)


def placement_rules(constraints: Iterable[dict], strategies: Iterable[dict]) -> tuple[tuple, tuple]:
    """ECS JSON placement constraints and strategies, validated (errors name the field)."""
    try:
        return parse_constraints(list(constraints)), parse_strategies(list(strategies))
    except PlacementError as exc:
        raise InvalidParameter(exc.field, exc.detail) from exc


def task_id(reference: str) -> str:
    """A task's id from its id or ARN."""
    found = reference.rsplit("/", 1)[-1]
    if not found:
        raise InvalidParameter("task", "required")
    return found


def _mark_stopping(task: TaskRecord, stop_code: str, reason: str, now: int) -> None:
    """desiredStatus STOPPED; a stop code and reason already set stay (the first wins)."""
    task.desired_status = TaskStatus.STOPPED.name
    task.stop_code = task.stop_code or stop_code
    task.stopped_reason = task.stopped_reason or reason
    task.stopping_at_ms = now


@dataclass
class _PlacementJob:
    """One place() call waiting to be scheduled, possibly in another caller's batch."""

    cluster: str
    record: TaskDefinitionRecord
    spec: TaskDefinitionSpec
    requests: list[TaskRequest]
    group: str
    started_by: str
    fence: dict[str, int]
    tasks: list[TaskRecord] = dataclasses.field(default_factory=list)
    failures: list[Failure] = dataclasses.field(default_factory=list)
    error: Exception | None = None
    done: bool = False


class Tasks:
    def __init__(self, work: UnitOfWork, clusters: Clusters, taskdefs: TaskDefinitions,
                 instances: Instances):
        self.work = work
        self.clusters = clusters
        self.taskdefs = taskdefs
        self.instances = instances
        # One placement at a time per process: concurrent RunTasks here would only conflict
        # on the same instances. Other replicas are kept honest by the transaction.
        self._placement = threading.Lock()
        self._pending: list[_PlacementJob] = []  # place() calls waiting for the lock
        self._pending_lock = threading.Lock()

    def run_task(self, cluster: str, task_definition: str, count: int = 1, group: str = "",
                 started_by: str = "", placement_constraints: Sequence[dict] = (),
                 placement_strategy: Sequence[dict] = ()) -> tuple[list[TaskRecord], list[Failure]]:
        """ECS RunTask: place `count` tasks, reserving their resources in one transaction."""
        count = count or 1
        if not 1 <= count <= MAX_RUN_COUNT:
            raise InvalidParameter("count", f"must be between 1 and {MAX_RUN_COUNT}, got {count}")
        constraints, strategies = placement_rules(placement_constraints, placement_strategy)
        cluster = self.clusters.cluster(cluster).name
        record = self.taskdefs.runnable(task_definition)
        return self.place(cluster, record, count, group, started_by, constraints, strategies)

    def start_task(self, cluster: str, task_definition: str, container_instances: list[str],
                   group: str = "", started_by: str = "") -> tuple[list[TaskRecord], list[Failure]]:
        """ECS StartTask: one task on each named instance (its constraints still checked)."""
        if not 1 <= len(container_instances) <= MAX_RUN_COUNT:
            raise InvalidParameter("containerInstances", f"between 1 and {MAX_RUN_COUNT} "
                                                         f"instances, got {len(container_instances)}")
        cluster = self.clusters.cluster(cluster).name
        record = self.taskdefs.runnable(task_definition)
        tasks, failures = [], []
        for reference in container_instances:
            placed, refused = self.place(cluster, record, 1, group, started_by,
                                         targets=(reference.rsplit("/", 1)[-1],))
            tasks += placed
            failures += refused
        return tasks, failures

    def place(self, cluster: str, record: TaskDefinitionRecord, count: int, group: str = "",
              started_by: str = "", constraints: tuple = (), strategies: tuple = (),
              targets: tuple[str, ...] | None = None, fence: dict[str, int] | None = None
              ) -> tuple[list[TaskRecord], list[Failure]]:
        """Schedule `count` tasks of `record` against the current snapshot and commit the tasks
        with their reservations in one transaction (plus `fence` for leader-only callers).

        Concurrent calls are placed together (group commit): whoever holds the placement lock
        schedules every waiting call of the same cluster in one pass and one transaction, so
        the scheduler's set-up and etcd's round trip are paid once per batch, not per call."""
        spec = self.taskdefs.spec(record.arn)
        group = group or f"family:{spec.family}"
        dynamic_ports = sum(1 for c in spec.containers for p in c.port_mappings
                            if p.host_port == 0 and spec.network_mode == "bridge")
        constraints = tuple(spec.placement_constraints) + tuple(constraints)
        if len(constraints) > MAX_CONSTRAINTS:
            raise InvalidParameter("placementConstraints", f"at most {MAX_CONSTRAINTS} with the "
                                                           f"task definition's, got {len(constraints)}")
        requests = [TaskRequest(uuid.uuid4().hex, spec.required_cpu, spec.required_memory,
                                tuple(spec.fixed_host_ports), group, constraints,
                                tuple(strategies), dynamic_ports, targets)
                    for _ in range(count)]
        job = _PlacementJob(cluster, record, spec, requests, group, started_by, dict(fence or {}))
        with self._pending_lock:
            self._pending.append(job)
        with self._placement:
            if not job.done:
                self._place_batch(self._take_batch(job))
        if job.error is not None:
            raise job.error
        for task in job.tasks:
            log.info("task %s (%s) placed on %s", task.task_id, record.arn, task.instance_id)
        return job.tasks, job.failures

    def _take_batch(self, job: _PlacementJob) -> list[_PlacementJob]:
        """`job` and the waiting jobs it can share a transaction with (etcd caps a transaction
        at 128 operations: a task and its instance are two)."""
        with self._pending_lock:
            batch, size = [], 0
            for other in list(self._pending):
                if other is job or (other.cluster == job.cluster and other.fence == job.fence
                                    and size + len(other.requests) <= MAX_BATCH_TASKS):
                    batch.append(other)
                    size += len(other.requests)
                    self._pending.remove(other)
            return batch

    def _place_batch(self, jobs: list[_PlacementJob]) -> None:
        cluster, fence = jobs[0].cluster, jobs[0].fence
        owner = {r.task_id: job for job in jobs for r in job.requests}
        requests = [r for job in jobs for r in job.requests]

        def attempt() -> None:
            instances = self.work.view.instances(cluster)
            plan = schedule(self.instances.cluster_snapshot(cluster), requests)
            by_id = {r.task_id: r for r in requests}
            now = self.work.now_ms()
            placed: dict[int, list[TaskRecord]] = {id(job): [] for job in jobs}
            puts, expect = {}, {}
            for placement in plan.placements:
                request, job = by_id[placement.task_id], owner[placement.task_id]
                task = TaskRecord(
                    request.task_id, cluster, job.record.arn, placement.instance_id, request.cpu,
                    request.memory, [ContainerRecord(c.name, c.image, c.essential, c.cpu,
                                                     c.memory or 0, c.memory_reservation or 0)
                                     for c in job.spec.containers],
                    group=job.group, started_by=job.started_by, created_at_ms=now)
                instance = instances[placement.instance_id] = instances[placement.instance_id].copy()
                instance.reservations[task.task_id] = Reservation(
                    request.cpu, request.memory, [f"{p}/{proto}" for p, proto in request.fixed_ports],
                    job.group, request.dynamic_ports)
                key = Keys.task(cluster, task.task_id)
                puts[key], expect[key] = task.encode(), ABSENT
                placed[id(job)].append(task)
            for instance_id in {p.instance_id for p in plan.placements}:
                instance = instances[instance_id]
                key = Keys.instance(cluster, instance_id)
                puts[key], expect[key] = instance.encode(), instance.version
            if puts:
                self.work.commit(puts=puts, expect=expect, fence=fence)
            for job in jobs:
                job.tasks = placed[id(job)]
                job.failures = [Failure(job.record.arn, r.reason, r.detail)
                                for r in plan.rejections if owner[r.task_id] is job]

        try:
            self.work.retry(attempt)
        except Exception as exc:  # every caller of the batch hears about it
            for job in jobs:
                job.error = exc
        finally:
            for job in jobs:
                job.done = True

    def task(self, cluster: str, reference: str) -> TaskRecord:
        """The task (by id or ARN) as etcd has it now."""
        cluster = cluster_name(cluster)
        found = task_id(reference)
        task = self.work.get(TaskRecord, Keys.task(cluster, found))
        if task is None:
            raise NotFound(f"task {found} not found in cluster {cluster}")
        return task

    def stop_task(self, cluster: str, reference: str, reason: str = "",
                  stop_code: str = StopCode.USER_INITIATED,
                  fence: dict[str, int] | None = None) -> TaskRecord:
        """Set desiredStatus STOPPED; the agent stops the containers and reports STOPPED."""

        def attempt() -> TaskRecord:
            task = self.task(cluster, reference)
            if task.desired == TaskStatus.STOPPED:
                return task
            _mark_stopping(task, stop_code, reason or "Task stopped by user", self.work.now_ms())
            key = Keys.task(task.cluster, task.task_id)
            self.work.commit(puts={key: task.encode()}, expect={key: task.version}, fence=fence)
            return task

        return self.work.retry(attempt)

    def stop_tasks(self, cluster: str, stops: list[tuple[str, str]], stop_code: str,
                   fence: dict[str, int] | None = None) -> list[str]:
        """Set desiredStatus STOPPED on many tasks in one transaction (the controller's way:
        a rollout stops tens at once). `stops` are (task id, reason); returns the ids changed."""
        cluster = cluster_name(cluster)

        def attempt(batch: list[tuple[str, str]]) -> list[str]:
            now = self.work.now_ms()
            puts, expect, changed = {}, {}, []
            for stopped_id, reason in batch:
                current = self.work.view.task(cluster, stopped_id)
                if current is None or current.desired == TaskStatus.STOPPED:
                    continue
                task = current.copy()
                _mark_stopping(task, stop_code, reason, now)
                key = Keys.task(cluster, stopped_id)
                puts[key], expect[key] = task.encode(), task.version
                changed.append(stopped_id)
            if puts:
                self.work.commit(puts=puts, expect=expect, fence=fence)
            return changed

        changed: list[str] = []
        for start in range(0, len(stops), MAX_BATCH_TASKS):  # etcd's 128-operation limit
            batch = stops[start:start + MAX_BATCH_TASKS]
            changed += self.work.retry(partial(attempt, batch))
        return changed

    def describe_tasks(self, cluster: str, references: Iterable[str]
                       ) -> tuple[list[TaskRecord], list[Failure]]:
        """The tasks asked for, read together (one round trip, not one per task)."""
        cluster = cluster_name(cluster)
        references = list(references)
        keys = [Keys.task(cluster, task_id(reference)) for reference in references]
        entries = self.work.store.get_many(keys)
        tasks, failures = [], []
        for reference, key in zip(references, keys):
            entry = entries[key]
            if entry is None:
                failures.append(Failure(reference, "MISSING"))
            else:
                tasks.append(TaskRecord.decode(entry.value, entry.mod_revision))
        return tasks, failures

    def list_tasks(self, cluster: str, family: str = "", container_instance: str = "",
                   desired_status: str = "RUNNING") -> list[TaskRecord]:
        """ECS semantics: by default the tasks whose desiredStatus is RUNNING."""
        desired = (desired_status or "RUNNING").upper()
        if desired not in ("RUNNING", "PENDING", "STOPPED"):
            raise InvalidParameter("desiredStatus", f"must be RUNNING, PENDING or STOPPED, "
                                                    f"got {desired_status!r}")
        cluster = self.clusters.cluster(cluster).name
        instance_id = container_instance.rsplit("/", 1)[-1]
        return [t for t in self.work.view.tasks(cluster)
                if t.desired_status == desired
                and (not family or t.task_definition_arn.rsplit("/", 1)[-1].split(":")[0] == family)
                and (not instance_id or t.instance_id == instance_id)]

    def explain_task(self, cluster: str, reference: str):
        """Why the task is where it is (or nowhere): the scheduler's explanation against the
        current snapshot, with the task's own resources given back first if it is placed."""
        task = self.task(cluster, reference)
        record = self.taskdefs.describe_task_definition(task.task_definition_arn)
        spec = self.taskdefs.spec(record.arn)
        request = TaskRequest(task.task_id, task.cpu, task.memory, tuple(spec.fixed_host_ports),
                              task.group)
        snapshot = self.instances.cluster_snapshot(task.cluster)
        if task.instance_id and task.status != TaskStatus.STOPPED:
            snapshot = release_task(snapshot, task.instance_id, request)
        return explain(snapshot, request)
