"""The agent's pure decision: what a task's worker does next, from the desired status, the
last reported one and its containers as observed.

`next_action(desired, known, containers)` is a pure function, tested with tables
(tests/unit/test_engine.py); `agent.engine.TaskWorker` observes the runtime, applies the
action and reports. This module does no I/O and imports nothing from the container runtime.

The container features of a task definition, as ECS defines them:

* `dependsOn`: a created container starts only once each of its dependencies holds (START: the
  dependency started; COMPLETE: it exited; SUCCESS: it exited 0; HEALTHY: its health check
  passed). One that never can (SUCCESS but exited non-zero, HEALTHY but exited) stops the task;
  otherwise it waits, however long (as ECS without a `startTimeout`, which Skiff does not apply
  yet). On stop, dependents are stopped before the containers they depend on.
* `restartPolicy`: an exited container is started again in place (`should_restart`), and then
  does not stop the task even when it is essential.
* `healthCheck`: containers report ECS's `healthStatus`, the task reports `task_health` of its
  essential containers.

Whole assignment sets are ordered too: `older_set` tells the session which set to ignore
(design invariant 8), and a task's desired status only moves forward (`skiffcore.status.advance`).

    next_action(TaskStatus.RUNNING, TaskStatus.PENDING,
                [Observed("web", essential=True, phase=ContainerPhase.ABSENT)])  # Action.CREATE
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace
from typing import Iterable

from skiffcore.status import HealthStatus, TaskStatus

__all__ = ["Action", "ContainerPhase", "HealthStatus", "Dependency", "RestartPolicy", "Observed",
           "Resolution", "START", "COMPLETE", "SUCCESS", "HEALTHY", "resolve", "startable",
           "dependency_failure", "stop_order", "task_health", "should_restart", "next_action",
           "older_set"]


class ContainerPhase(enum.Enum):
    ABSENT = "absent"      # no Docker container yet
    CREATED = "created"    # created, never started
    RUNNING = "running"
    EXITED = "exited"


class Action(enum.Enum):
    CREATE = "create"                  # pull images and create the missing containers
    START = "start"                    # start created containers whose dependencies hold
    RESTART = "restart"                # start again exited containers their restartPolicy keeps
    REPORT_RUNNING = "report-running"
    WAIT = "wait"                      # nothing to do until something changes
    STOP = "stop"                      # stop running containers, dependents first
    REPORT_STOPPED = "report-stopped"
    DONE = "done"


START, COMPLETE, SUCCESS, HEALTHY = "START", "COMPLETE", "SUCCESS", "HEALTHY"


@dataclass(frozen=True)
class Dependency:
    """One `dependsOn` entry: start only once `container_name` reached `condition`."""

    container_name: str
    condition: str  # START | COMPLETE | SUCCESS | HEALTHY


@dataclass(frozen=True)
class RestartPolicy:
    """A container's `restartPolicy` (ECS ContainerRestartPolicy); the period is in seconds."""

    enabled: bool = True
    ignored_exit_codes: tuple[int, ...] = ()
    restart_attempt_period: float = 300.0


def should_restart(policy: RestartPolicy | None, exit_code: int | None,
                   ran_for: float | None) -> bool:
    """Whether an exited container is started again in place, as the ECS agent decides: its
    policy is enabled, its exit code is known and not ignored, and it ran at least
    `restart_attempt_period` seconds since it last (re)started; one that exits earlier is not
    restarted (so a crash loop ends the task instead of spinning)."""
    if policy is None or not policy.enabled or exit_code is None:
        return False
    if exit_code in policy.ignored_exit_codes:
        return False
    return ran_for is not None and ran_for >= policy.restart_attempt_period


@dataclass(frozen=True)
class Observed:
    """One container as the decision sees it."""

    name: str
    essential: bool
    phase: ContainerPhase
    exit_code: int | None = None
    health: HealthStatus = HealthStatus.UNKNOWN
    health_check: bool = False  # the task definition gives it one (ECS ignores the image's)
    depends_on: tuple[Dependency, ...] = ()
    restart: bool = False  # exited, and its restart policy starts it again (`should_restart`)


class Resolution(enum.Enum):
    MET = "met"
    WAIT = "wait"
    NEVER = "never"  # the condition can no longer hold


def resolve(dependency: Dependency, target: Observed | None) -> tuple[Resolution, str]:
    """Whether `dependency` holds given its target container; with NEVER, why not."""
    if target is None:
        return Resolution.NEVER, "it is not in the task"
    condition = dependency.condition
    if condition == HEALTHY and not target.health_check:
        return Resolution.NEVER, "it has no health check"
    phase = target.phase
    if phase == ContainerPhase.EXITED and target.restart:
        phase = ContainerPhase.RUNNING  # about to run again: not complete, not failed
    if condition == START:
        started = phase in (ContainerPhase.RUNNING, ContainerPhase.EXITED)
        return (Resolution.MET if started else Resolution.WAIT), ""
    if phase != ContainerPhase.EXITED:
        healthy = phase == ContainerPhase.RUNNING and target.health == HealthStatus.HEALTHY
        return (Resolution.MET if condition == HEALTHY and healthy else Resolution.WAIT), ""
    if condition == COMPLETE:
        return Resolution.MET, ""
    if condition == SUCCESS:
        if target.exit_code == 0:
            return Resolution.MET, ""
        ended = "it is gone" if target.exit_code is None else f"it exited with code {target.exit_code}"
        return Resolution.NEVER, ended
    if condition == HEALTHY:
        return Resolution.NEVER, "it exited before its health check passed"
    return Resolution.NEVER, f"unknown condition {condition!r}"


def startable(container: Observed, by_name: dict[str, Observed]) -> bool:
    """A created container whose every dependency holds."""
    return container.phase == ContainerPhase.CREATED and all(
        resolve(d, by_name.get(d.container_name))[0] == Resolution.MET for d in container.depends_on)


def dependency_failure(containers: Iterable[Observed]) -> str:
    """Why a created container can never start (a dependency that can no longer hold), or ""."""
    containers = list(containers)
    by_name = {c.name: c for c in containers}
    for container in containers:
        if container.phase != ContainerPhase.CREATED:
            continue
        for dependency in container.depends_on:
            resolution, why = resolve(dependency, by_name.get(dependency.container_name))
            if resolution == Resolution.NEVER:
                return (f"DependencyError: container {container.name} depends on "
                        f"{dependency.container_name} ({dependency.condition}), but {why}")
    return ""


def stop_order(containers: Iterable[Observed]) -> list[str]:
    """The running containers to stop now: those no running container depends on (ECS stops
    dependents first). Empty when nothing runs."""
    containers = list(containers)
    running = [c.name for c in containers if c.phase == ContainerPhase.RUNNING]
    needed = {d.container_name for c in containers if c.name in running for d in c.depends_on}
    return [name for name in running if name not in needed] or running  # a cycle: all at once


def task_health(containers: Iterable[Observed]) -> HealthStatus:
    """ECS task health, from its essential containers with a health check: UNHEALTHY if any is,
    else UNKNOWN if any is, else HEALTHY; UNKNOWN when none has a check."""
    statuses = [c.health for c in containers if c.essential and c.health_check]
    if not statuses:
        return HealthStatus.UNKNOWN
    if HealthStatus.UNHEALTHY in statuses:
        return HealthStatus.UNHEALTHY
    if HealthStatus.UNKNOWN in statuses:
        return HealthStatus.UNKNOWN
    return HealthStatus.HEALTHY


def older_set(offered: tuple[int, int], acted: tuple[int, int] | None) -> bool:
    """Whether an assignment set read at `offered`, a (leader epoch, etcd revision) pair, is
    older than the newest set acted on, `acted` (None: none yet): epochs compare first, then
    revisions. An older set is ignored whole: a control-plane process whose copy lags served
    it, and acting on it would undo the newer one (start again a task that was stopped, stop
    one the newer set has). The same pair again is not older: an unchanged set is resent."""
    return acted is not None and offered < acted


def next_action(desired: TaskStatus, known: TaskStatus, containers: list[Observed]) -> Action:
    """What the worker does next, from the desired status, the last reported one, and Docker."""
    if known == TaskStatus.STOPPED:
        return Action.DONE
    if known >= TaskStatus.RUNNING:
        # A container removed behind Skiff's back after the task ran is gone, not "to create":
        # recreating it would silently restart a task that already ran.
        containers = [replace(c, phase=ContainerPhase.EXITED, exit_code=None, restart=False)
                      if c.phase == ContainerPhase.ABSENT else c for c in containers]
    live = any(c.phase == ContainerPhase.RUNNING for c in containers)
    if desired == TaskStatus.STOPPED:
        return Action.STOP if live else Action.REPORT_STOPPED
    essential_ended = any(c.essential and c.phase == ContainerPhase.EXITED and not c.restart
                          for c in containers)
    if essential_ended or dependency_failure(containers):
        return Action.STOP if live else Action.REPORT_STOPPED
    if any(c.phase == ContainerPhase.EXITED and c.restart for c in containers):
        return Action.RESTART
    if any(c.phase == ContainerPhase.ABSENT for c in containers):
        return Action.CREATE
    by_name = {c.name: c for c in containers}
    if any(startable(c, by_name) for c in containers):
        return Action.START
    if any(c.phase == ContainerPhase.CREATED for c in containers):
        return Action.WAIT  # for dependencies
    if known < TaskStatus.RUNNING:
        return Action.REPORT_RUNNING
    return Action.WAIT
