"""The service layer: ECS's operations on clusters, task definitions, tasks and instances.

Every read-modify-write goes through `_retry`: read records with their versions, decide,
then `store.commit(..., expect=versions)`; on `Conflict` read again (design invariant 3).
Placement decisions come from the pure scheduler; this layer only feeds it a snapshot and
commits its plan together with the resource reservations, in one transaction.
"""

from __future__ import annotations

import dataclasses
import logging
import random
import re
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any, Callable, Iterable, TypeVar

from controlplane.cache import StateView
from controlplane.errors import Busy, InvalidParameter, NotFound
from controlplane.model import (Cluster, ContainerInstanceRecord, ContainerRecord, FamilyRecord,
                                Keys, Reservation, TaskDefinitionRecord, TaskRecord,
                                task_definition_arn)
from controlplane.sessions import Sessions
from controlplane.scheduler import (MAX_CONSTRAINTS, ClusterSnapshot, InstanceSnapshot,
                                    PlacementError, TaskRequest,
                                    explain, parse_constraints, parse_strategies, release_task,
                                    schedule)
from controlplane.store import ABSENT, Conflict, Store
from controlplane.types import (ClusterSummary, ContainerReport, Failure, InstanceView,
                                TaskStateReport)
from controlplane.taskdef import TaskDefinitionError, TaskDefinitionSpec, parse_task_definition
from skiffcore.status import StopCode, TaskStatus, advance

log = logging.getLogger("skiff.controlplane")

DEFAULT_CLUSTER = "default"
CLUSTER_NAME = re.compile(r"^[A-Za-z0-9_-]{1,255}$")
INSTANCE_ID = CLUSTER_NAME  # ids become etcd key segments: no "/"
MAX_RUN_COUNT = 10
MAX_BATCH_TASKS = 60  # tasks placed in one transaction (etcd allows 128 operations)

T = TypeVar("T")


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


class ControlPlaneService:
    def __init__(self, store: Store, now_ms: Callable[[], int] = lambda: int(time.time() * 1000),
                 max_attempts: int = 50, view: StateView | None = None,
                 session_timeout: float = 15.0, address: str = ""):
        self.store = store
        self.view = view or StateView(store).start()
        self.sessions = Sessions(store, timeout=session_timeout, address=address).start()
        self.now_ms = now_ms
        self.max_attempts = max_attempts
        # One placement at a time per process: concurrent RunTasks here would only conflict
        # on the same instances. Other replicas are kept honest by the transaction.
        self._placement = threading.Lock()
        self._pending: list[_PlacementJob] = []  # place() calls waiting for the lock
        self._pending_lock = threading.Lock()
        # (cluster, instance id) -> ((version, connected), InstanceSnapshot): a cache, rebuilt
        # per instance when its record changes, so placing costs O(changed instances).
        self._snapshots: dict[tuple[str, str], tuple[tuple[int, bool], InstanceSnapshot]] = {}
        # Task definitions are immutable: parsed specs can be cached by ARN forever.
        self._specs: dict[str, TaskDefinitionSpec] = {}

    def _retry(self, attempt: Callable[[], T]) -> T:
        """Run a read-decide-commit `attempt` until it commits without Conflict."""
        for n in range(self.max_attempts):
            try:
                return attempt()
            except Conflict:
                self._catch_up()
                time.sleep(random.uniform(0, 0.002 * (n + 1)))  # back off, de-synchronise
        raise Busy("too many concurrent updates; try again")

    def _catch_up(self) -> None:
        """After a Conflict the local copy may be behind: wait until it has what etcd has."""
        _, revision = self.store.snapshot(Keys.revision_probe())
        self.view.wait_for(revision)

    def _commit(self, **kwargs) -> int:
        """Commit and wait until the local copy has it, so this process reads its own writes."""
        revision = self.store.commit(**kwargs)
        if revision:
            self.view.wait_for(revision)
        return revision

    def close(self) -> None:
        self.sessions.close()
        self.view.close()

    # -- clusters -------------------------------------------------------------------------

    def create_cluster(self, name: str) -> Cluster:
        """Create a cluster; creating an existing one returns it (as ECS does)."""
        name = name or DEFAULT_CLUSTER
        if not CLUSTER_NAME.match(name):
            raise InvalidParameter("clusterName", "up to 255 letters, numbers, hyphens and "
                                                  f"underscores, got {name!r}")

        def attempt() -> Cluster:
            existing = self._cluster_record(name)
            if existing:
                return existing
            cluster = Cluster(name, created_at_ms=self.now_ms())
            self._commit(puts={Keys.cluster(name): cluster.encode()},
                              expect={Keys.cluster(name): ABSENT})
            return cluster

        return self._retry(attempt)

    def _cluster_record(self, name: str) -> Cluster | None:
        entry = self.store.get(Keys.cluster(name))
        return Cluster.decode(entry.value, entry.mod_revision) if entry else None

    def cluster(self, name: str) -> Cluster:
        """The named cluster; `default` exists without being created."""
        name = cluster_name(name)
        record = self._cluster_record(name)
        if record:
            return record
        if name == DEFAULT_CLUSTER:
            return Cluster(DEFAULT_CLUSTER)
        raise NotFound(f"cluster {name!r} not found")

    def list_clusters(self) -> list[Cluster]:
        clusters = {c.name: c for c in (Cluster.decode(e.value, e.mod_revision)
                                        for e in self.store.list(Keys.clusters()))}
        clusters.setdefault(DEFAULT_CLUSTER, Cluster(DEFAULT_CLUSTER))
        return sorted(clusters.values(), key=lambda c: c.name)

    def describe_clusters(self, names: Iterable[str]) -> tuple[list[ClusterSummary], list[Failure]]:
        summaries, failures = [], []
        for name in list(names) or [DEFAULT_CLUSTER]:
            try:
                cluster = self.cluster(name)
            except NotFound:
                failures.append(Failure(name, "MISSING"))
                continue
            tasks = self.view.tasks(cluster.name)
            summaries.append(ClusterSummary(
                cluster, len(self.view.instances(cluster.name)),
                sum(1 for t in tasks if t.status == TaskStatus.RUNNING),
                sum(1 for t in tasks if t.status < TaskStatus.RUNNING)))
        return summaries, failures

    # -- task definitions -----------------------------------------------------------------

    def register_task_definition(self, document: Any) -> TaskDefinitionRecord:
        """Validate and store the next revision of the document's family."""
        try:
            spec = parse_task_definition(document)
        except TaskDefinitionError as exc:
            raise InvalidParameter("", str(exc)) from exc

        def attempt() -> TaskDefinitionRecord:
            entry = self.store.get(Keys.family(spec.family))
            family = (FamilyRecord.decode(entry.value, entry.mod_revision) if entry
                      else FamilyRecord(spec.family))
            family.last_revision += 1
            record = TaskDefinitionRecord(spec.family, family.last_revision, document,
                                          list(spec.ignored_fields),
                                          registered_at_ms=self.now_ms())
            key = Keys.taskdef(spec.family, record.revision)
            self._commit(
                puts={Keys.family(spec.family): family.encode(), key: record.encode()},
                expect={Keys.family(spec.family): entry.mod_revision if entry else ABSENT,
                        key: ABSENT})
            return record

        return self._retry(attempt)

    def describe_task_definition(self, reference: str) -> TaskDefinitionRecord:
        """`family` (latest ACTIVE revision), `family:revision`, or an ARN."""
        family, revision = _parse_taskdef_reference(reference)
        if revision is None:
            active = [r for r in self._revisions(family) if r.status == "ACTIVE"]
            if not active:
                raise NotFound(f"no ACTIVE task definition in family {family!r}")
            return active[-1]
        entry = self.store.get(Keys.taskdef(family, revision))
        if entry is None:
            raise NotFound(f"task definition {family}:{revision} not found")
        return TaskDefinitionRecord.decode(entry.value, entry.mod_revision)

    def _revisions(self, family: str = "") -> list[TaskDefinitionRecord]:
        return [TaskDefinitionRecord.decode(e.value, e.mod_revision)
                for e in self.store.list(Keys.taskdefs(family))]

    def list_task_definitions(self, family_prefix: str = "", status: str = "ACTIVE") -> list[str]:
        status = (status or "ACTIVE").upper()
        if status not in ("ACTIVE", "INACTIVE", "ALL"):
            raise InvalidParameter("status", f"must be ACTIVE, INACTIVE or ALL, got {status!r}")
        return [r.arn for r in self._revisions()
                if r.family.startswith(family_prefix) and status in ("ALL", r.status)]

    def deregister_task_definition(self, reference: str) -> TaskDefinitionRecord:
        family, revision = _parse_taskdef_reference(reference)
        if revision is None:
            raise InvalidParameter("taskDefinition", "deregister needs family:revision or an ARN")

        def attempt() -> TaskDefinitionRecord:
            record = self.describe_task_definition(f"{family}:{revision}")
            if record.status == "INACTIVE":
                return record
            record.status = "INACTIVE"
            record.deregistered_at_ms = self.now_ms()
            self._commit(puts={Keys.taskdef(family, revision): record.encode()},
                              expect={Keys.taskdef(family, revision): record.version})
            return record

        return self._retry(attempt)

    def spec(self, arn_or_reference: str) -> TaskDefinitionSpec:
        spec = self._specs.get(arn_or_reference)
        if spec is None:
            record = self.describe_task_definition(arn_or_reference)
            spec = self._specs[record.arn] = parse_task_definition(record.document)
        return spec

    # -- tasks ----------------------------------------------------------------------------

    def run_task(self, cluster: str, task_definition: str, count: int = 1, group: str = "",
                 started_by: str = "", placement_constraints: list[dict] = (),
                 placement_strategy: list[dict] = ()) -> tuple[list[TaskRecord], list[Failure]]:
        """ECS RunTask: place `count` tasks, reserving their resources in one transaction."""
        count = count or 1
        if not 1 <= count <= MAX_RUN_COUNT:
            raise InvalidParameter("count", f"must be between 1 and {MAX_RUN_COUNT}, got {count}")
        constraints, strategies = placement_rules(placement_constraints, placement_strategy)
        cluster = self.cluster(cluster).name
        record = self._runnable(task_definition)
        return self.place(cluster, record, count, group, started_by, constraints, strategies)

    def start_task(self, cluster: str, task_definition: str, container_instances: list[str],
                   group: str = "", started_by: str = "") -> tuple[list[TaskRecord], list[Failure]]:
        """ECS StartTask: one task on each named instance (its constraints still checked)."""
        if not 1 <= len(container_instances) <= MAX_RUN_COUNT:
            raise InvalidParameter("containerInstances", f"between 1 and {MAX_RUN_COUNT} "
                                                         f"instances, got {len(container_instances)}")
        cluster = self.cluster(cluster).name
        record = self._runnable(task_definition)
        tasks, failures = [], []
        for reference in container_instances:
            placed, refused = self.place(cluster, record, 1, group, started_by,
                                         targets=(reference.rsplit("/", 1)[-1],))
            tasks += placed
            failures += refused
        return tasks, failures

    def _runnable(self, task_definition: str) -> TaskDefinitionRecord:
        if not task_definition:
            raise InvalidParameter("taskDefinition", "required")
        record = self.describe_task_definition(task_definition)
        if record.status != "ACTIVE":
            raise InvalidParameter("taskDefinition", f"{record.family}:{record.revision} is INACTIVE")
        return record

    def place(self, cluster: str, record: TaskDefinitionRecord, count: int, group: str = "",
              started_by: str = "", constraints: tuple = (), strategies: tuple = (),
              targets: tuple[str, ...] | None = None, fence: dict[str, int] | None = None
              ) -> tuple[list[TaskRecord], list[Failure]]:
        """Schedule `count` tasks of `record` against the current snapshot and commit the tasks
        with their reservations in one transaction (plus `fence` for leader-only callers).

        Concurrent calls are placed together (group commit): whoever holds the placement lock
        schedules every waiting call of the same cluster in one pass and one transaction, so
        the scheduler's set-up and etcd's round trip are paid once per batch, not per call."""
        spec = self.spec(record.arn)
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

    def _take_batch(self, job: "_PlacementJob") -> list["_PlacementJob"]:
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

    def _place_batch(self, jobs: list["_PlacementJob"]) -> None:
        cluster, fence = jobs[0].cluster, jobs[0].fence
        owner = {r.task_id: job for job in jobs for r in job.requests}
        requests = [r for job in jobs for r in job.requests]

        def attempt() -> None:
            instances = self.view.instances(cluster)
            plan = schedule(self.cluster_snapshot(cluster), requests)
            by_id = {r.task_id: r for r in requests}
            now = self.now_ms()
            placed: dict[str, list[TaskRecord]] = {id(job): [] for job in jobs}
            puts, expect = {}, dict(fence)
            for placement in plan.placements:
                request, job = by_id[placement.task_id], owner[placement.task_id]
                task = TaskRecord(
                    request.task_id, cluster, job.record.arn, placement.instance_id, request.cpu,
                    request.memory, [ContainerRecord(c.name, c.image, c.essential, c.cpu,
                                                     c.memory or 0, c.memory_reservation or 0)
                                     for c in job.spec.containers],
                    group=job.group, started_by=job.started_by, created_at_ms=now)
                instance = instances[placement.instance_id] = _writable(instances[placement.instance_id])
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
                self._commit(puts=puts, expect=expect)
            for job in jobs:
                job.tasks = placed[id(job)]
                job.failures = [Failure(job.record.arn, r.reason, r.detail)
                                for r in plan.rejections if owner[r.task_id] is job]

        try:
            self._retry(attempt)
        except Exception as exc:  # every caller of the batch hears about it
            for job in jobs:
                job.error = exc
        finally:
            for job in jobs:
                job.done = True

    def _instance_snapshot(self, record: ContainerInstanceRecord, connected: bool
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

    def task(self, cluster: str, reference: str) -> TaskRecord:
        cluster = cluster_name(cluster)
        task_id = _task_id(reference)
        entry = self.store.get(Keys.task(cluster, task_id))
        if entry is None:
            raise NotFound(f"task {task_id} not found in cluster {cluster}")
        return TaskRecord.decode(entry.value, entry.mod_revision)

    def stop_task(self, cluster: str, reference: str, reason: str = "",
                  stop_code: str = StopCode.USER_INITIATED,
                  fence: dict[str, int] | None = None) -> TaskRecord:
        """Set desiredStatus STOPPED; the agent stops the containers and reports STOPPED."""

        def attempt() -> TaskRecord:
            task = self.task(cluster, reference)
            if task.desired == TaskStatus.STOPPED:
                return task
            _mark_stopping(task, stop_code, reason or "Task stopped by user", self.now_ms())
            key = Keys.task(task.cluster, task.task_id)
            self._commit(puts={key: task.encode()}, expect={key: task.version, **(fence or {})})
            return task

        return self._retry(attempt)

    def stop_tasks(self, cluster: str, stops: list[tuple[str, str]], stop_code: str,
                   fence: dict[str, int] | None = None) -> list[str]:
        """Set desiredStatus STOPPED on many tasks in one transaction (the controller's way:
        a rollout stops tens at once). `stops` are (task id, reason); returns the ids changed."""
        cluster = cluster_name(cluster)

        def attempt(batch: list[tuple[str, str]]) -> list[str]:
            now = self.now_ms()
            puts, expect, changed = {}, dict(fence or {}), []
            for task_id, reason in batch:
                current = self.view.task(cluster, task_id)
                if current is None or current.desired == TaskStatus.STOPPED:
                    continue
                task = current.copy()
                _mark_stopping(task, stop_code, reason, now)
                key = Keys.task(cluster, task_id)
                puts[key], expect[key] = task.encode(), task.version
                changed.append(task_id)
            if puts:
                self._commit(puts=puts, expect=expect)
            return changed

        changed: list[str] = []
        for start in range(0, len(stops), MAX_BATCH_TASKS):  # etcd's 128-operation limit
            batch = stops[start:start + MAX_BATCH_TASKS]
            changed += self._retry(lambda: attempt(batch))
        return changed

    def describe_tasks(self, cluster: str, references: Iterable[str]
                       ) -> tuple[list[TaskRecord], list[Failure]]:
        """The tasks asked for, read together (one round trip, not one per task)."""
        cluster = cluster_name(cluster)
        references = list(references)
        keys = [Keys.task(cluster, _task_id(reference)) for reference in references]
        entries = self.store.get_many(keys)
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
        cluster = self.cluster(cluster).name
        instance_id = container_instance.rsplit("/", 1)[-1]
        return [t for t in self.view.tasks(cluster)
                if t.desired_status == desired
                and (not family or t.task_definition_arn.rsplit("/", 1)[-1].split(":")[0] == family)
                and (not instance_id or t.instance_id == instance_id)]

    # -- container instances --------------------------------------------------------------

    def instance_views(self, cluster: str, references: Iterable[str] | None = None
                       ) -> tuple[list[InstanceView], list[Failure]]:
        """Instances with their connection state and task counts (all when references is None)."""
        cluster = self.cluster(cluster).name
        records = self.view.instances(cluster)
        connected = self.view.connected(cluster)
        wanted = (list(records) if references is None
                  else [r.rsplit("/", 1)[-1] for r in references])
        views, failures = [], []
        for instance_id in wanted:
            record = records.get(instance_id)
            if record is None:
                failures.append(Failure(instance_id, "MISSING"))
                continue
            mine = self.view.instance_tasks(cluster, instance_id)
            views.append(InstanceView(
                record, instance_id in connected,
                sum(1 for t in mine if t.status == TaskStatus.RUNNING),
                sum(1 for t in mine if t.status < TaskStatus.RUNNING)))
        return views, failures

    def register_instance(self, cluster: str, instance_id: str, name: str, cpu: int, memory: int,
                          attributes: dict[str, str], agent_version: str) -> ContainerInstanceRecord:
        """Register a new instance, or refresh a known one (its reservations are kept)."""
        cluster = self.cluster(cluster).name
        if cpu <= 0 or memory <= 0:
            raise InvalidParameter("totalResources", "CPU and MEMORY must be positive")
        if instance_id and not INSTANCE_ID.match(instance_id):
            raise InvalidParameter("instanceId", f"up to 255 letters, numbers, hyphens and "
                                                 f"underscores, got {instance_id!r}")
        instance_id = instance_id or uuid.uuid4().hex

        def attempt() -> ContainerInstanceRecord:
            key = Keys.instance(cluster, instance_id)
            entry = self.store.get(key)
            if entry:
                record = ContainerInstanceRecord.decode(entry.value, entry.mod_revision)
                record.name, record.registered_cpu, record.registered_memory = name, cpu, memory
                # The agent reports the built-ins; attributes users put stay.
                custom = {k: v for k, v in record.attributes.items() if not _builtin(k)}
                record.attributes = {**custom, **attributes}
                record.agent_version = agent_version
            else:
                record = ContainerInstanceRecord(instance_id, cluster, name, cpu, memory,
                                                 attributes=attributes, agent_version=agent_version,
                                                 registered_at_ms=self.now_ms())
            self._commit(puts={key: record.encode()},
                              expect={key: entry.mod_revision if entry else ABSENT})
            return record

        record = self._retry(attempt)
        log.info("container instance %s (%s) registered in %s", record.instance_id, name, cluster)
        return record

    def update_instances_state(self, cluster: str, references: Iterable[str], status: str
                               ) -> tuple[list[ContainerInstanceRecord], list[Failure]]:
        """ECS UpdateContainerInstancesState: DRAINING takes no new tasks (the controller moves
        its service tasks); ACTIVE takes them again."""
        status = (status or "").upper()
        if status not in ("ACTIVE", "DRAINING"):
            raise InvalidParameter("status", f"must be ACTIVE or DRAINING, got {status!r}")
        cluster = self.cluster(cluster).name
        records, failures = [], []
        for reference in references:
            instance_id = reference.rsplit("/", 1)[-1]

            def attempt() -> ContainerInstanceRecord:
                record = _writable(self.instance(cluster, instance_id))
                if record.status != status:
                    record.status = status
                    key = Keys.instance(cluster, instance_id)
                    self._commit(puts={key: record.encode()}, expect={key: record.version})
                return record

            try:
                records.append(self._retry(attempt))
            except NotFound:
                failures.append(Failure(reference, "MISSING"))
        return records, failures

    def put_attributes(self, cluster: str, attributes: Iterable[tuple[str, str, str]]
                       ) -> list[tuple[str, str, str]]:
        """ECS PutAttributes on container instances: (name, value, target id) each."""
        return self._change_attributes(cluster, list(attributes), put=True)

    def delete_attributes(self, cluster: str, attributes: Iterable[tuple[str, str, str]]
                          ) -> list[tuple[str, str, str]]:
        return self._change_attributes(cluster, list(attributes), put=False)

    def _change_attributes(self, cluster: str, attributes: list[tuple[str, str, str]], put: bool
                           ) -> list[tuple[str, str, str]]:
        cluster = self.cluster(cluster).name
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
                record = _writable(self.instance(cluster, instance_id))
                for name, value in pairs:
                    if put:
                        record.attributes[name] = value
                    else:
                        record.attributes.pop(name, None)
                key = Keys.instance(cluster, instance_id)
                puts[key], expect[key] = record.encode(), record.version
            self._commit(puts=puts, expect=expect)

        self._retry(attempt)
        return attributes

    def list_attributes(self, cluster: str, name: str = "", value: str = ""
                        ) -> list[tuple[str, str, str]]:
        cluster = self.cluster(cluster).name
        return [(n, v, record.instance_id)
                for record in sorted(self.view.instances(cluster).values(),
                                     key=lambda r: r.instance_id)
                for n, v in sorted(record.attributes.items())
                if (not name or n == name) and (not value or v == value)]

    def explain_task(self, cluster: str, reference: str):
        """Why the task is where it is (or nowhere): the scheduler's explanation against the
        current snapshot, with the task's own resources given back first if it is placed."""
        task = self.task(cluster, reference)
        record = self.describe_task_definition(task.task_definition_arn)
        spec = self.spec(record.arn)
        request = TaskRequest(task.task_id, task.cpu, task.memory, tuple(spec.fixed_host_ports),
                              task.group)
        snapshot = self.cluster_snapshot(task.cluster)
        if task.instance_id and task.status != TaskStatus.STOPPED:
            snapshot = release_task(snapshot, task.instance_id, request)
        return explain(snapshot, request)

    def cluster_snapshot(self, cluster: str) -> ClusterSnapshot:
        """The cluster as the scheduler sees it now."""
        cluster = cluster_name(cluster)
        connected = self.view.connected(cluster)
        return ClusterSnapshot(tuple(self._instance_snapshot(i, i.instance_id in connected)
                                     for i in self.view.instances(cluster).values()))

    def instance(self, cluster: str, instance_id: str) -> ContainerInstanceRecord:
        """The instance as this process last saw it (read-only; stale at worst by a watch
        delay, which a write's version check catches)."""
        cluster = cluster_name(cluster)
        record = self.view.instance(cluster, instance_id)
        if record is None:
            entry = self.store.get(Keys.instance(cluster, instance_id))  # maybe just registered
            if entry is None:
                raise NotFound(f"container instance {instance_id} not found in cluster {cluster}")
            record = ContainerInstanceRecord.decode(entry.value, entry.mod_revision)
        return record

    def heartbeat(self, cluster: str, instance_id: str, registering: bool = False) -> None:
        """The instance's agent is alive: keep it connected to this process (see sessions.py)."""
        record = self.instance(cluster, instance_id)  # NotFound tells the agent to register again
        self.sessions.touch(record.cluster, record.instance_id, claim=registering)

    def agent_elsewhere(self, cluster: str, instance_id: str) -> str | None:
        """The API address of the other control-plane process the instance's agent is
        connected to, if it is connected to another one."""
        return self.sessions.peer_address(cluster_name(cluster), instance_id)

    def assignments(self, cluster: str, instance_id: str
                    ) -> list[tuple[TaskRecord, TaskDefinitionSpec]]:
        """Every task placed on the instance that is not STOPPED yet, with its definition."""
        tasks = self.view.instance_tasks(cluster_name(cluster), instance_id)
        return [(t, self.spec(t.task_definition_arn)) for t in sorted(tasks, key=lambda t: t.task_id)]

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
        return self.task(cluster, task_id)

    def report_task_states(self, cluster: str, instance_id: str,
                           reports: Iterable[TaskStateReport]) -> list[Failure]:
        """Apply what an agent observed, for many tasks in one transaction. Statuses only move
        forward; a task reaching STOPPED frees its reservation on the instance. Reports for
        unknown tasks or tasks on another instance are returned as failures, changing nothing."""
        cluster = cluster_name(cluster)
        latest = {r.task_id: r for r in reports}  # a later report of a task supersedes

        def attempt() -> list[Failure]:
            now = self.now_ms()
            puts: dict[str, bytes] = {}
            expect: dict[str, int] = {}
            failures: list[Failure] = []
            instance: ContainerInstanceRecord | None = None
            for report in latest.values():
                current = self.view.task(cluster, report.task_id)
                if current is None:
                    entry = self.store.get(Keys.task(cluster, report.task_id))
                    current = TaskRecord.decode(entry.value, entry.mod_revision) if entry else None
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
                    instance = instance or _writable(self.instance(cluster, instance_id))
                    instance.reservations.pop(task.task_id, None)
            if instance is not None:
                key = Keys.instance(cluster, instance_id)
                puts[key], expect[key] = instance.encode(), instance.version
            if puts:
                self._commit(puts=puts, expect=expect)
            return failures

        return self._retry(attempt)

    def watch_assignments(self, cluster: str, instance_id: str, callback: Callable[[], None]
                          ) -> Callable[[], None]:
        """Call `callback` when what the instance's agent is told changes (`StateView.subscribe`);
        returns the unsubscribe function."""
        return self.view.subscribe(cluster_name(cluster), instance_id, callback)


def _task_id(reference: str) -> str:
    """A task's id from its id or ARN."""
    task_id = reference.rsplit("/", 1)[-1]
    if not task_id:
        raise InvalidParameter("task", "required")
    return task_id


def _mark_stopping(task: TaskRecord, stop_code: str, reason: str, now: int) -> None:
    """desiredStatus STOPPED; a stop code and reason already set stay (the first wins)."""
    task.desired_status = TaskStatus.STOPPED.name
    task.stop_code = task.stop_code or stop_code
    task.stopped_reason = task.stopped_reason or reason
    task.stopping_at_ms = now


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


def placement_rules(constraints: Iterable[dict], strategies: Iterable[dict]) -> tuple[tuple, tuple]:
    """ECS JSON placement constraints and strategies, validated (errors name the field)."""
    try:
        return parse_constraints(list(constraints)), parse_strategies(list(strategies))
    except PlacementError as exc:
        raise InvalidParameter(exc.field, exc.detail) from exc


ATTRIBUTE_NAME = re.compile(r"^[A-Za-z0-9_./\\-]{1,128}$")
ATTRIBUTE_VALUE = re.compile(r"^[A-Za-z0-9_.@/\\:\- ]{1,128}$")


def _builtin(name: str) -> bool:
    """Attributes the agent reports itself (ECS's `ecs.` names and Skiff's own)."""
    return name.startswith(("ecs.", "skiff."))


def _check_attribute(path: str, name: str, value: str | None) -> None:
    """ECS limits: names 1-128 of letters, digits, - _ . / \\; values 1-128, also @ : and space."""
    if not isinstance(name, str) or not ATTRIBUTE_NAME.match(name):
        raise InvalidParameter(f"{path}.name", f"1-128 letters, numbers, hyphens, underscores, "
                                               f"periods or slashes, got {name!r}")
    if _builtin(name):
        raise InvalidParameter(f"{path}.name", f"{name!r} is reserved for built-in attributes")
    if value is not None and (not isinstance(value, str) or not ATTRIBUTE_VALUE.match(value)
                              or value != value.strip()):
        raise InvalidParameter(f"{path}.value", f"1-128 letters, numbers, hyphens, underscores, "
                                                f"periods, at signs, slashes, colons or spaces, "
                                                f"without leading or trailing space, got {value!r}")


def _writable(record: ContainerInstanceRecord) -> ContainerInstanceRecord:
    """A copy to change: records from the view are shared and read-only."""
    return dataclasses.replace(record, reservations=dict(record.reservations),
                               attributes=dict(record.attributes))


def cluster_name(name: str) -> str:
    """A cluster's name from a name or ARN (empty: the default cluster), validated."""
    name = (name or DEFAULT_CLUSTER).rsplit("/", 1)[-1]
    if not CLUSTER_NAME.match(name):
        raise InvalidParameter("cluster", f"invalid cluster name {name!r}")
    return name


TASKDEF_REFERENCE = re.compile(r"^(?:arn:[^/]+:task-definition/)?([A-Za-z0-9_-]{1,255})(?::(\d+))?$")


def _parse_taskdef_reference(reference: str) -> tuple[str, int | None]:
    match = TASKDEF_REFERENCE.match(reference or "")
    if not match:
        raise InvalidParameter("taskDefinition", f"expected family, family:revision or an ARN, "
                                                 f"got {reference!r}")
    family, revision = match.groups()
    return family, int(revision) if revision else None


__all__ = ["ControlPlaneService", "Failure", "ContainerReport", "TaskStateReport", "ClusterSummary",
           "InstanceView",
           "DEFAULT_CLUSTER", "task_definition_arn"]
