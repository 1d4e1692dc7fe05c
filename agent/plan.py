"""What the task engine is given and what it reports, as plain dataclasses: a `TaskPlan` per
assigned task in, a `TaskReport` per change out. The session converts them from and to the
wire (protobuf stops there); the engine sees only these. No I/O, no runtime here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from agent.decision import Dependency, HealthStatus, RestartPolicy
from agent.runtime.model import ContainerSpec
from skiffcore.status import TaskStatus

__all__ = ["ContainerPlan", "TaskPlan", "ContainerResult", "TaskReport", "Reporter"]


@dataclass(frozen=True)
class ContainerPlan:
    """One container of an assigned task, as the engine needs it. Its health check and stop
    timeout are in `spec` (Docker applies them)."""

    name: str
    essential: bool
    spec: ContainerSpec
    depends_on: tuple[Dependency, ...] = ()
    restart_policy: RestartPolicy | None = None


@dataclass(frozen=True)
class TaskPlan:
    """One task assigned to this instance, with what the control plane wants of it."""

    task_id: str
    desired: TaskStatus
    containers: tuple[ContainerPlan, ...]
    last_status: TaskStatus = TaskStatus.PENDING  # what the control plane has recorded


@dataclass(frozen=True)
class ContainerResult:
    """One container in a report; `network_bindings` as the wire's NetworkBinding fields."""

    name: str
    status: TaskStatus
    exit_code: int | None
    reason: str
    network_bindings: tuple[dict, ...]
    runtime_id: str
    health_status: HealthStatus = HealthStatus.UNKNOWN
    restart_count: int = 0  # restarts by its restartPolicy since this agent took the task


@dataclass(frozen=True)
class TaskReport:
    """A task's status as its worker observed it; the newest one per task is sent."""

    task_id: str
    status: TaskStatus
    containers: tuple[ContainerResult, ...]
    stop_code: str = ""
    stopped_reason: str = ""
    health_status: HealthStatus = HealthStatus.UNKNOWN


# Takes each report of a worker; called from the worker's thread, must not block long.
Reporter = Callable[[TaskReport], None]
