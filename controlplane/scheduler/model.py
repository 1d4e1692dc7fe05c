"""The scheduler's plain data: what goes in (snapshot, task requests), what comes out (plan,
explanation). Frozen dataclasses; positional construction of the first fields is stable.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from controlplane.scheduler.expression import Constraint, Strategy

__all__ = [
    "ClusterSnapshot", "DEFAULT_DYNAMIC_PORT_RANGE", "DEFAULT_STRATEGIES", "Explanation",
    "FilterResult", "InstanceExplanation", "InstanceSnapshot", "InstanceVerdict", "Placement",
    "Plan", "Port", "Rejection", "StrategyScore", "TaskRequest",
]

Port = tuple[int, str]  # (host port, protocol)

# The ECS agent's default ephemeral host port range on Linux (ECS_DYNAMIC_HOST_PORT_RANGE).
DEFAULT_DYNAMIC_PORT_RANGE = (49153, 65535)

# Skiff's chain when a task names no strategy: binpack on memory, then on CPU, then the
# instance id. Deterministic and dense. (ECS services default to spread on
# attribute:ecs.availability-zone; the service layer passes that chain for services.)
DEFAULT_STRATEGIES = (Strategy("binpack", "memory"), Strategy("binpack", "cpu"))


@dataclass(frozen=True)
class InstanceSnapshot:
    """One container instance as the scheduler sees it.

    `task_groups` holds the task group of every task holding resources on the instance
    (pending or running); its length is `runningTasksCount` and it feeds `task:group`,
    `distinctInstance` and `spread`. `used_ports` are host ports bound or reserved;
    `reserved_dynamic_ports` counts dynamic ports promised to tasks whose actual port is not
    known yet. `registered_cpu`/`registered_memory` (0 = unknown) only feed utilisation
    figures in the simulator. `attributes` is read-only by contract.
    """

    instance_id: str
    remaining_cpu: int
    remaining_memory: int
    used_ports: frozenset[Port] = frozenset()
    status: str = "ACTIVE"
    agent_connected: bool = True
    attributes: Mapping[str, str] = field(default_factory=dict, hash=False)
    agent_version: str = ""
    registered_at_ms: int = 0
    task_groups: tuple[str, ...] = ()
    dynamic_port_range: tuple[int, int] = DEFAULT_DYNAMIC_PORT_RANGE
    reserved_dynamic_ports: int = 0
    registered_cpu: int = 0
    registered_memory: int = 0


@dataclass(frozen=True)
class ClusterSnapshot:
    instances: tuple[InstanceSnapshot, ...]


@dataclass(frozen=True)
class TaskRequest:
    """One task to place.

    `memory` is what to reserve (the service layer's memoryReservation-else-memory sum).
    `group` is the ECS task group (``family:<family>``, ``service:<name>`` or given at
    RunTask). `strategies` empty means `DEFAULT_STRATEGIES`. `dynamic_ports` counts host
    ports to take from the instance's dynamic range. `target_instances` restricts placement
    to those instance ids (StartTask); constraints are still checked.
    """

    task_id: str
    cpu: int
    memory: int
    fixed_ports: tuple[Port, ...] = ()
    group: str = ""
    constraints: tuple[Constraint, ...] = ()
    strategies: tuple[Strategy, ...] = ()
    dynamic_ports: int = 0
    target_instances: tuple[str, ...] | None = None

    @property
    def chain(self) -> tuple[Strategy, ...]:
        """The strategies in effect."""
        return self.strategies or DEFAULT_STRATEGIES


@dataclass(frozen=True)
class Placement:
    task_id: str
    instance_id: str


@dataclass(frozen=True)
class InstanceVerdict:
    """Why one instance refused one task: the first filter it failed."""

    instance_id: str
    reason: str  # ECS failure reason code, see `core.REASONS`
    detail: str  # "i-3: insufficient memory (need 512, free 256)"
    filter: str = ""  # "memory", "memberOf[0]", ...


@dataclass(frozen=True)
class Rejection:
    task_id: str
    reason: str  # ECS failure reason: RESOURCE:CPU, RESOURCE:MEMORY, RESOURCE:PORTS, AGENT, ...
    detail: str  # why each instance refused, in words; many alike are counted together
    per_instance: tuple[InstanceVerdict, ...] = ()


@dataclass(frozen=True)
class Plan:
    placements: tuple[Placement, ...] = ()
    rejections: tuple[Rejection, ...] = ()


# ---------------------------------------------------------------------------------------------
# Explanations (`skiff task why`).

@dataclass(frozen=True)
class FilterResult:
    """One filter on one instance. `reason` is the ECS code when it failed, else ""."""

    filter: str
    passed: bool
    reason: str
    detail: str


@dataclass(frozen=True)
class StrategyScore:
    """One strategy's score for one feasible instance: lower ranks first."""

    strategy: str
    score: int | float
    detail: str


@dataclass(frozen=True)
class InstanceExplanation:
    instance_id: str
    filters: tuple[FilterResult, ...]
    feasible: bool
    scores: tuple[StrategyScore, ...] = ()  # in chain order; empty when not feasible
    rank: int | None = None                 # 1 is where the task goes; None when not feasible

    def as_dict(self) -> dict[str, Any]:
        return {"instanceId": self.instance_id, "feasible": self.feasible, "rank": self.rank,
                "filters": [{"filter": f.filter, "passed": f.passed, "reason": f.reason,
                             "detail": f.detail} for f in self.filters],
                "scores": [{"strategy": s.strategy, "score": s.score, "detail": s.detail}
                           for s in self.scores]}


@dataclass(frozen=True)
class Explanation:
    """Every instance against one task: filters passed or failed, each strategy's score and
    the rank. Feasible instances come first by rank, then the others in snapshot order."""

    task_id: str
    group: str
    strategies: tuple[str, ...]
    constraints: tuple[str, ...]
    instances: tuple[InstanceExplanation, ...]
    chosen: str | None
    rejection: Rejection | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form for the API and ``skiff task why --json``."""
        return {"taskId": self.task_id, "group": self.group, "strategies": list(self.strategies),
                "constraints": list(self.constraints), "chosen": self.chosen,
                "reason": self.rejection.reason if self.rejection else "",
                "detail": self.rejection.detail if self.rejection else "",
                "instances": [i.as_dict() for i in self.instances]}

    def render(self) -> str:
        """Human-readable text for ``skiff task why``."""
        lines = [f"task {self.task_id} (group {self.group or '-'})",
                 f"strategies: {', '.join(self.strategies)}",
                 f"constraints: {', '.join(self.constraints) or 'none'}"]
        if self.chosen:
            lines.append(f"placed on: {self.chosen}")
        elif self.rejection is not None:
            lines.append(f"not placed ({self.rejection.reason}): {self.rejection.detail}")
        for item in self.instances:
            head = f"#{item.rank}" if item.rank is not None else "--"
            lines.append(f"{head:>5} {item.instance_id}")
            for result in item.filters:
                mark = "ok  " if result.passed else "FAIL"
                lines.append(f"        {mark} {result.filter}: {result.detail}")
            for score in item.scores:
                lines.append(f"        score {score.strategy} = {score.score} ({score.detail})")
        return "\n".join(lines)
