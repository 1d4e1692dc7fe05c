"""What crosses the control plane's edges besides stored records: per-item failures, what
agents report, and the summaries the read operations return.

Plain frozen dataclasses beside the records of `model.py`; `convert.py` turns them into
protobuf messages and back, so neither it nor the doors depend on the resource modules.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from controlplane.model import Cluster, ContainerInstanceRecord
from skiffcore.status import TaskStatus

__all__ = ["ClusterSummary", "ContainerReport", "ContainerSecrets", "Failure", "InstanceView",
           "TaskStateReport"]


@dataclass(frozen=True)
class Failure:
    """One item of a batch call that was not done (ECS `failures[]`): its ARN or reference,
    a reason code such as MISSING, and a sentence for people."""

    arn: str
    reason: str
    detail: str = ""


@dataclass(frozen=True)
class ContainerReport:
    """What an agent observed of one container."""

    name: str
    status: TaskStatus
    exit_code: int | None = None
    reason: str = ""
    network_bindings: tuple[dict[str, Any], ...] = ()
    runtime_id: str = ""
    health_status: str = "UNKNOWN"  # HEALTHY | UNHEALTHY | UNKNOWN
    restart_count: int = 0


@dataclass(frozen=True)
class TaskStateReport:
    """What an agent observed of one task."""

    task_id: str
    status: TaskStatus
    containers: tuple[ContainerReport, ...] = ()
    stop_code: str = ""
    stopped_reason: str = ""
    health_status: str = "UNKNOWN"


@dataclass(frozen=True)
class ClusterSummary:
    """A cluster with the counts DescribeClusters reports."""

    cluster: Cluster
    registered_instances: int
    running_tasks: int
    pending_tasks: int


@dataclass(frozen=True)
class InstanceView:
    """A container instance with its agent's connection and its task counts."""

    record: ContainerInstanceRecord
    agent_connected: bool
    running_tasks: int
    pending_tasks: int


@dataclass(frozen=True)
class ContainerSecrets:
    """One container's secrets in clear, for its agent only (the assignment that starts the
    task): `environment` as (variable, value), `registry_login` as (username, password).
    Never logged: their repr shows the variables' names and nothing else."""

    environment: tuple[tuple[str, str], ...] = field(default=(), repr=False)
    registry_login: tuple[str, str] | None = field(default=None, repr=False)

    def __repr__(self) -> str:
        return (f"ContainerSecrets(variables={[name for name, _ in self.environment]}, "
                f"registry_login={self.registry_login is not None})")
