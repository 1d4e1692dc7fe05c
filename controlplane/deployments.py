"""ECS services: what the service controller should do next. Pure: no I/O, no clock.

`reconcile(service, tasks, now_ms)` looks at one service and the tasks it started and returns
a `Decision`: how many tasks to start for which deployment (or on which instances, for a
DAEMON), which tasks to stop and why, the service as it should be stored next (deployment
counts, rollout states, events), and nothing else. The controller applies it and calls again
after anything changes: level-triggered, so running it twice changes nothing twice.

Rolling deployments follow ECS: with desiredCount D, `maximumPercent` caps the service's
alive tasks at floor(D × max / 100) and `minimumHealthyPercent` keeps at least
ceil(D × min / 100) tasks serving while old tasks are stopped.

What counts toward that minimum (ECS: "a lower limit on the number of your service's tasks that
must remain in the RUNNING state during a deployment"):
- a task that is leaving (an older deployment's, or one on a draining instance) counts while it
  is RUNNING and not UNHEALTHY, however young it is and whether or not its health checks have
  passed yet: it is serving now, and stopping it would take the service below its minimum;
- a task of the primary deployment counts once it is healthy: RUNNING and its essential health
  checks pass, or, without health checks, once it has run for `healthy_after_ms` (ECS: 40 s).
  That grace keeps a replacement from counting before it has shown it stays up; it never makes
  an old, running task expendable;
- a leaving task that never got to RUNNING serves nobody and may go at once.

The circuit breaker fails a deployment after clamp(ceil(0.5 × D), 10, 200) failed tasks and,
with rollback, brings back the last deployment that completed. When none completed (the first
deployment was still settling), there is nothing to roll back to: the failed deployment starts
nothing more and the previous deployments' running tasks are kept, which the events say.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Iterable, TypeVar

from skiffcore.status import HealthStatus, StopCode, TaskStatus

PRIMARY, ACTIVE, INACTIVE = "PRIMARY", "ACTIVE", "INACTIVE"
IN_PROGRESS, COMPLETED, FAILED = "IN_PROGRESS", "COMPLETED", "FAILED"
REPLICA, DAEMON = "REPLICA", "DAEMON"
MAX_EVENTS = 100
SCHEDULER_STOP = "ServiceSchedulerInitiated"
MAX_BACKOFF_MS = 15 * 60 * 1000
BASE_BACKOFF_MS = 1000


@dataclass
class Deployment:
    id: str
    task_definition_arn: str
    status: str = PRIMARY
    rollout_state: str = IN_PROGRESS
    rollout_state_reason: str = ""
    created_at_ms: int = 0
    updated_at_ms: int = 0
    desired_count: int = 0
    running_count: int = 0  # LIVE_COUNTS: counted from the tasks on every read, never stored
    pending_count: int = 0
    failed_tasks: int = 0


# A service record is rewritten only when a decision changes it, not on every task report: the
# counts that move with each report are counted from the tasks whenever a service is read.
LIVE_COUNTS = ("running_count", "pending_count")


@dataclass
class ServiceEvent:
    id: str
    created_at_ms: int
    message: str


# Not frozen: built for every task on every pass and read, where a frozen dataclass costs
# three times as much to build. Nothing changes one after it is built.
@dataclass(slots=True)
class TaskView:
    """One task of the service, as the controller sees it."""

    task_id: str
    deployment_id: str
    instance_id: str
    status: TaskStatus
    desired: TaskStatus
    started_at_ms: int = 0
    stopped_at_ms: int = 0
    stop_code: str = ""
    health: HealthStatus = HealthStatus.UNKNOWN  # UNKNOWN: no health check, or not yet
    has_health_check: bool = False
    instance_draining: bool = False
    instance_lost: bool = False  # its agent has been gone longer than the grace period

    @property
    def alive(self) -> bool:
        """Counts toward the service: wanted RUNNING and not stopped."""
        return (self.desired != TaskStatus.STOPPED and self.status != TaskStatus.STOPPED
                and not self.instance_lost)

    @property
    def failed(self) -> bool:
        """Stopped without being asked to: counts toward the circuit breaker."""
        return self.status == TaskStatus.STOPPED and self.stop_code not in (
            StopCode.USER_INITIATED, SCHEDULER_STOP, "")


@dataclass(frozen=True)
class Placement:
    """Start `count` tasks of `deployment_id`; on `instance_id` only when given (DAEMON)."""

    deployment_id: str
    count: int
    instance_id: str = ""


@dataclass
class Decision:
    start: list[Placement] = field(default_factory=list)
    stop: list[tuple[str, str]] = field(default_factory=list)  # (task id, reason)
    changed: bool = False          # the service record must be written back
    backoff_until_ms: int = 0      # no new tasks before this time (failures keep happening)


@dataclass
class ServiceSpec:
    """The parts of a service record the decision needs (the record itself lives in model)."""

    name: str
    desired_count: int
    deployments: list[Deployment]
    events: list[ServiceEvent]
    scheduling_strategy: str = REPLICA
    minimum_healthy_percent: int = 100
    maximum_percent: int = 200
    circuit_breaker_enable: bool = False
    circuit_breaker_rollback: bool = False
    circuit_breaker_threshold: int = 0  # failed tasks that fail a deployment; 0: ECS's rule
    healthy_after_ms: int = 40_000
    last_completed_task_definition: str = ""
    event_counter: int = 0


def healthy(task: TaskView, now_ms: int, healthy_after_ms: int) -> bool:
    if task.status != TaskStatus.RUNNING or not task.alive:
        return False
    if task.has_health_check:
        return task.health == HealthStatus.HEALTHY
    return now_ms - task.started_at_ms >= healthy_after_ms


def failure_threshold(desired: int) -> int:
    """ECS: 0.5 × desiredCount, at least 10 and at most 200."""
    return min(200, max(10, math.ceil(0.5 * desired)))


def backoff_ms(failures: int, limit_ms: int = MAX_BACKOFF_MS) -> int:
    """Delay before the next start after `failures` consecutive failed tasks."""
    if failures <= 0:
        return 0
    return min(limit_ms, BASE_BACKOFF_MS * 2 ** min(failures - 1, 20))


def reconcile(service: ServiceSpec, tasks: Iterable[TaskView], now_ms: int,
              eligible_instances: Iterable[str] = (), new_deployment_id: str = "",
              max_backoff_ms: int = MAX_BACKOFF_MS) -> Decision:
    """The next step for one REPLICA or DAEMON service. `eligible_instances` are, for a DAEMON,
    the ACTIVE connected instances that meet its constraints. `new_deployment_id` names a
    rollback deployment if the circuit breaker creates one."""
    tasks = list(tasks)
    decision = Decision()
    primary = next((d for d in service.deployments if d.status == PRIMARY), None)
    if primary is None:
        return decision
    by_deployment = _by_deployment(tasks)

    # Unhealthy or lost tasks are replaced: stop them (lost ones are already not alive).
    for task in tasks:
        if task.alive and task.health == HealthStatus.UNHEALTHY:
            decision.stop.append((task.task_id, "Task failed container health checks"))
        elif task.instance_lost and task.desired != TaskStatus.STOPPED:
            decision.stop.append((task.task_id, "Task stopped because its container instance "
                                                "was lost"))
    stopping = {task_id for task_id, _ in decision.stop}
    alive = [t for t in tasks if t.alive and t.task_id not in stopping]

    _count(service, by_deployment, stopping, now_ms)
    failures = _trip_circuit_breaker(service, primary, tasks, now_ms, new_deployment_id, decision)
    primary = next(d for d in service.deployments if d.status == PRIMARY)
    if failures or primary.rollout_state == FAILED:
        # A failed deployment launches nothing more (ECS) and so makes no room for itself: the
        # tasks left keep running. A smaller desiredCount (or a deleted service) still applies.
        _scale_in(alive, service.desired_count, decision)
        return decision
    failed_primary = [t for t in by_deployment.get(primary.id, []) if t.failed]
    if failed_primary:
        last_failure = max(t.stopped_at_ms for t in failed_primary)
        recent = sum(1 for t in failed_primary if not any(
            healthy(o, now_ms, service.healthy_after_ms) for o in by_deployment.get(primary.id, [])
            if o.started_at_ms > t.stopped_at_ms))
        # The first `desired` failures are retried at once; the back-off grows after that.
        delay = backoff_ms(recent - service.desired_count, max_backoff_ms)
        decision.backoff_until_ms = last_failure + delay
        if decision.backoff_until_ms > now_ms:
            add_event(service, now_ms, f"(service {service.name}) {recent} tasks failed to start; "
                                       f"waiting {delay // 1000} s before starting more.")

    if service.scheduling_strategy == DAEMON:
        _daemon(service, primary, alive, set(eligible_instances), decision)
    else:
        _replica(service, primary, alive, now_ms, decision)
    _complete(service, primary, alive, now_ms, decision)
    return decision


def count_live(service: ServiceSpec, tasks: Iterable[TaskView]) -> None:
    """Set each deployment's LIVE_COUNTS from the service's tasks."""
    _count_live(service, _by_deployment(tasks), set())


def _by_deployment(tasks: Iterable[TaskView]) -> dict[str, list[TaskView]]:
    grouped: dict[str, list[TaskView]] = {}
    for task in tasks:
        grouped.setdefault(task.deployment_id, []).append(task)
    return grouped


def _count_live(service: ServiceSpec, by_deployment: dict[str, list[TaskView]],
                stopping: set[str]) -> None:
    for deployment in service.deployments:
        alive = [t for t in by_deployment.get(deployment.id, [])
                 if t.alive and t.task_id not in stopping]
        deployment.running_count = sum(1 for t in alive if t.status == TaskStatus.RUNNING)
        deployment.pending_count = sum(1 for t in alive if t.status < TaskStatus.RUNNING)


def _count(service: ServiceSpec, by_deployment: dict[str, list[TaskView]], stopping: set[str],
           now_ms: int) -> None:
    _count_live(service, by_deployment, stopping)
    for deployment in service.deployments:
        failed = sum(1 for t in by_deployment.get(deployment.id, []) if t.failed)
        desired = service.desired_count if deployment.status == PRIMARY else 0
        if (failed, desired) != (deployment.failed_tasks, deployment.desired_count):
            deployment.failed_tasks, deployment.desired_count = failed, desired
            deployment.updated_at_ms = now_ms


def _trip_circuit_breaker(service: ServiceSpec, primary: Deployment, tasks: list[TaskView],
                          now_ms: int, new_deployment_id: str, decision: Decision) -> bool:
    """Fail the primary deployment when too many of its tasks failed; maybe roll back."""
    if (not service.circuit_breaker_enable or primary.rollout_state != IN_PROGRESS
            or primary.failed_tasks < (service.circuit_breaker_threshold
                                        or failure_threshold(service.desired_count))):
        return False
    primary.rollout_state = FAILED
    primary.rollout_state_reason = (f"ECS deployment circuit breaker: tasks failed to start "
                                    f"({primary.failed_tasks} failed).")
    primary.updated_at_ms = now_ms
    decision.changed = True
    add_event(service, now_ms, f"(service {service.name}) (deployment {primary.id}) deployment "
                               f"failed: tasks failed to start.")
    if not service.circuit_breaker_rollback:
        return True
    if not service.last_completed_task_definition or not new_deployment_id:
        kept = sum(1 for t in tasks if t.deployment_id != primary.id and t.alive
                   and t.status == TaskStatus.RUNNING)
        add_event(service, now_ms, f"(service {service.name}) (deployment {primary.id}) could "
                                   f"not roll back: no earlier deployment reached COMPLETED; "
                                   f"keeping the {kept} running tasks of the previous "
                                   f"deployments.")
        return True
    primary.status = ACTIVE
    target = service.last_completed_task_definition
    service.deployments.insert(0, Deployment(
        new_deployment_id, target, PRIMARY, IN_PROGRESS, f"rolling back to {target}", now_ms,
        now_ms, service.desired_count))
    add_event(service, now_ms, f"(service {service.name}) rolling back to task definition "
                               f"{revision_name(target)} (deployment {new_deployment_id}).")
    return False


def revision_name(task_definition_arn: str) -> str:
    """`family:revision` from a task definition ARN (what a user typed to register it)."""
    return task_definition_arn.rsplit("/", 1)[-1]


def _replica(service: ServiceSpec, primary: Deployment, alive: list[TaskView], now_ms: int,
             decision: Decision) -> None:
    desired = service.desired_count
    max_alive = math.floor(desired * service.maximum_percent / 100)
    min_healthy = math.ceil(desired * service.minimum_healthy_percent / 100)
    # Tasks that must go: older deployments, and tasks on draining instances.
    leaving = [t for t in alive if t.deployment_id != primary.id or t.instance_draining]
    leaving_ids = {t.task_id for t in leaving}
    staying = [t for t in alive if t.task_id not in leaving_ids]
    # Serving tasks hold the minimum (see the module docstring): leaving tasks while RUNNING,
    # primary ones once healthy.
    serving = {t.task_id: (t.status == TaskStatus.RUNNING if t.task_id in leaving_ids
                           else healthy(t, now_ms, service.healthy_after_ms)) for t in alive}

    # Start replacements up to desired, never above the maximum.
    room = min(desired - len(staying), max(max_alive, 1 if desired else 0) - len(alive))
    if room > 0 and now_ms >= decision.backoff_until_ms:
        decision.start.append(Placement(primary.id, room))

    # Stop leaving tasks: those not serving at once; serving ones, oldest first, only while the
    # service keeps its minimum of serving tasks.
    spare = sum(serving.values()) - min_healthy
    for task in sorted(leaving, key=lambda t: (serving[t.task_id], t.started_at_ms)):
        if serving[task.task_id]:
            if spare <= 0:
                continue
            spare -= 1
        decision.stop.append((task.task_id, _leaving_reason(task, primary)))

    _scale_in(staying, desired, decision)


def _scale_in(tasks: list[TaskView], desired: int, decision: Decision) -> None:
    """Stop the tasks beyond `desired`, in `_scale_in_order`."""
    for task in _scale_in_order(tasks)[:max(0, len(tasks) - desired)]:
        decision.stop.append((task.task_id, "Task stopped to scale in the service"))


def _leaving_reason(task: TaskView, primary: Deployment) -> str:
    if task.instance_draining and task.deployment_id == primary.id:
        return "Task stopped because its container instance is draining"
    return f"Task stopped by the deployment {primary.id}"


def _scale_in_order(tasks: list[TaskView]) -> list[TaskView]:
    """Which tasks go first when scaling in: not yet running, then from the instance with the
    most tasks of the service (keeps the spread), newest first."""
    per_instance: dict[str, int] = {}
    for task in tasks:
        per_instance[task.instance_id] = per_instance.get(task.instance_id, 0) + 1
    remaining = list(tasks)
    order = []
    while remaining:
        task = min(remaining, key=lambda t: (t.status == TaskStatus.RUNNING,
                                             -per_instance[t.instance_id], -t.started_at_ms,
                                             t.task_id))
        order.append(task)
        remaining.remove(task)
        per_instance[task.instance_id] -= 1
    return order


def _daemon(service: ServiceSpec, primary: Deployment, alive: list[TaskView],
            eligible: set[str], decision: Decision) -> None:
    """One task of the primary deployment on every eligible instance, none elsewhere."""
    covered = set()
    for task in alive:
        if task.instance_id not in eligible or task.instance_draining:
            decision.stop.append((task.task_id, "Task stopped because its container instance "
                                                "is no longer eligible"))
        elif task.deployment_id != primary.id or task.instance_id in covered:
            decision.stop.append((task.task_id, f"Task stopped by the deployment {primary.id}"))
        else:
            covered.add(task.instance_id)
    old_on = {t.instance_id for t in alive if t.deployment_id != primary.id}
    for instance_id in sorted(eligible - covered):
        if instance_id not in old_on:  # DAEMON rolls per instance: stop the old one first
            decision.start.append(Placement(primary.id, 1, instance_id))
    service.desired_count = len(eligible)


def _complete(service: ServiceSpec, primary: Deployment, alive: list[TaskView], now_ms: int,
              decision: Decision) -> None:
    """Mark the rollout COMPLETED once only primary tasks are left, all healthy, as many as
    desired; older deployments then go INACTIVE."""
    stopping = {task_id for task_id, _ in decision.stop}
    staying = [t for t in alive if t.task_id not in stopping]
    steady = (not decision.start and len(staying) == service.desired_count
              and all(t.deployment_id == primary.id and not t.instance_draining
                      and healthy(t, now_ms, service.healthy_after_ms) for t in staying))
    if not steady:
        return
    if any(d.status == ACTIVE for d in service.deployments):
        service.deployments = [d for d in service.deployments if d.status == PRIMARY]
        decision.changed = True
    if primary.rollout_state == IN_PROGRESS:
        primary.rollout_state = COMPLETED
        primary.rollout_state_reason = "ECS deployment completed."
        primary.updated_at_ms = now_ms
        service.last_completed_task_definition = primary.task_definition_arn
        add_event(service, now_ms, f"(service {service.name}) has reached a steady state.")
        decision.changed = True


def add_event(service: ServiceSpec, now_ms: int, message: str) -> None:
    """Newest first, at most MAX_EVENTS; the same message twice in a row is kept once."""
    if service.events and service.events[0].message == message:
        return
    service.event_counter += 1
    service.events.insert(0, ServiceEvent(f"{service.event_counter}", now_ms, message))
    del service.events[MAX_EVENTS:]


S = TypeVar("S", bound=ServiceSpec)  # a ServiceRecord copies as a ServiceRecord


def copy_service(service: S) -> S:
    return dataclasses.replace(service,
                               deployments=[dataclasses.replace(d) for d in service.deployments],
                               events=list(service.events))
