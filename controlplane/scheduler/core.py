"""`schedule(snapshot, tasks) -> Plan` and `explain(snapshot, task) -> Explanation`.

The entry points of the pure scheduler. The data types live in `model` and are re-exported
here (``from controlplane.scheduler.core import InstanceSnapshot`` keeps working); the
decisions come from `engine.Placer`, the words for rejections and explanations from
`pipeline`.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Sequence

from controlplane.scheduler.engine import Placer
from controlplane.scheduler.model import (ClusterSnapshot, DEFAULT_DYNAMIC_PORT_RANGE,
                                          DEFAULT_STRATEGIES, Explanation, FilterResult,
                                          InstanceExplanation, InstanceSnapshot, InstanceVerdict,
                                          Placement, Plan, Port, Rejection, StrategyScore,
                                          TaskRequest)
from controlplane.scheduler.filters import REASONS

__all__ = [
    "ClusterSnapshot", "DEFAULT_DYNAMIC_PORT_RANGE", "DEFAULT_STRATEGIES", "Explanation",
    "FilterResult", "InstanceExplanation", "InstanceSnapshot", "InstanceVerdict", "Placement",
    "Placer", "Plan", "Port", "REASONS", "Rejection", "StrategyScore", "TaskRequest", "explain",
    "release_task", "schedule",
]


def schedule(snapshot: ClusterSnapshot, tasks: Sequence[TaskRequest]) -> Plan:
    """Place `tasks` in order; each placement reduces what the next task of the batch sees.

    Every task ends up in exactly one of `placements` or `rejections` (with each instance's
    reason). The same snapshot and tasks always give the same plan.
    """
    placer = Placer(snapshot)
    placements: list[Placement] = []
    rejections: list[Rejection] = []
    for task in tasks:
        outcome = placer.place(task)
        if isinstance(outcome, Placement):
            placements.append(outcome)
        else:
            rejections.append(outcome)
    return Plan(tuple(placements), tuple(rejections))


def explain(snapshot: ClusterSnapshot, task: TaskRequest,
            batch_before: Sequence[TaskRequest] = ()) -> Explanation:
    """Explain `task` against every instance of `snapshot`: each filter passed or failed with
    its reason, and for feasible instances each strategy's score and the rank (rank 1 is
    where `schedule` puts it). `batch_before` are the tasks placed ahead of it in its batch.
    """
    placer = Placer(snapshot)
    for earlier in batch_before:
        placer.place(earlier)
    return placer.explain(task)


def release_task(snapshot: ClusterSnapshot, instance_id: str, task: TaskRequest) -> ClusterSnapshot:
    """The snapshot as it was before `task` took its resources on `instance_id`.

    For explaining a placed task: give back its CPU, memory, fixed ports and dynamic ports and
    one entry of its group, then `explain` it against the result.
    """
    instances = []
    for instance in snapshot.instances:
        if instance.instance_id == instance_id:
            groups = list(instance.task_groups)
            if task.group in groups:
                groups.remove(task.group)
            instance = replace(
                instance, remaining_cpu=instance.remaining_cpu + task.cpu,
                remaining_memory=instance.remaining_memory + task.memory,
                used_ports=instance.used_ports - frozenset(task.fixed_ports),
                reserved_dynamic_ports=max(0, instance.reserved_dynamic_ports - task.dynamic_ports),
                task_groups=tuple(groups))
        instances.append(instance)
    return ClusterSnapshot(tuple(instances))
